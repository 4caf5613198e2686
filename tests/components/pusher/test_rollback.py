"""rollback() and `estpipe rollback`: an older version served again as the newest one."""

import argparse
import os

import pytest

from components.artifacts import serving as serving_layout
from components.pusher.cli import add_rollback_command
from components.pusher.fingerprint import fingerprint
from components.pusher.history import read_history
from components.pusher.rollback import rollback
from components.pusher.versions import publish_version
from pipelines.cli import main
from tests.components.pusher.conftest import make_model_artifact


@pytest.fixture
def serving(exports, tmp_path):
    """`<serving>/taxi/1, 2, 3`: three different models."""
    base = str(tmp_path / "serving" / "taxi")
    for version, tag in enumerate("abc", 1):
        model = make_model_artifact(tmp_path, exports["good"], tag=tag)
        publish_version(os.path.join(model, "serving_model"), base, version)
    return str(tmp_path / "serving")


def test_default_is_the_version_before_the_latest(serving):
    base = serving_layout.model_base(serving, "taxi")
    result = rollback(serving, "taxi")
    assert (result.version, result.source_version, result.rolled_back_from) == (4, 2, 3)
    assert result.destination == os.path.join(base, "4")
    assert fingerprint(result.destination) == fingerprint(os.path.join(base, "2"))
    assert result.fingerprint == fingerprint(os.path.join(base, "2"))
    assert serving_layout.list_versions(base) == [1, 2, 3, 4]  # nothing deleted
    assert not [n for n in os.listdir(base) if n.startswith(serving_layout.STAGING_PREFIX)]
    (entry,) = read_history(base)
    assert (entry.event, entry.version, entry.source_version, entry.rolled_back_from) == (
        "rollback", 4, 2, 3)


def test_to_a_chosen_version_and_back_again(serving):
    assert rollback(serving, "taxi", to_version=1).version == 4
    assert rollback(serving, "taxi").source_version == 3  # undo: the one before the latest
    with pytest.raises(ValueError, match="same content as the latest version 5"):
        rollback(serving, "taxi", to_version=3)


@pytest.mark.parametrize("to_version, error, match", [
    (3, ValueError, r"Version 3 is already the latest version of 'taxi'; choose an earlier "
                    r"one of \[1, 2\]"),
    (9, ValueError, r"Version 9 of 'taxi' is not published; the versions under .* are "
                    r"\[1, 2, 3\]"),
    ("2", TypeError, "`to_version` must be an integer version, got '2'"),
])
def test_bad_target(serving, to_version, error, match):
    with pytest.raises(error, match=match):
        rollback(serving, "taxi", to_version=to_version)


def test_nothing_to_roll_back_to(exports, tmp_path):
    with pytest.raises(FileNotFoundError, match="has no published version"):
        rollback(str(tmp_path), "taxi")
    publish_version(exports["good"], str(tmp_path / "taxi"), 1)
    with pytest.raises(ValueError, match="has one version \\(1\\); there is no earlier"):
        rollback(str(tmp_path), "taxi")
    with pytest.raises(ValueError, match="Invalid model name"):
        rollback(str(tmp_path), "../taxi")


def test_the_command(serving, capsys):
    assert main(["rollback", "taxi", "--serving-base", serving, "--to", "1"]) == 0
    out = capsys.readouterr().out
    assert "Rolled back taxi: version 4 now serves the content of version 1 (the latest was 3)" \
        in out
    assert main(["rollback", "taxi", "--serving-base", serving, "--to", "8"]) == 2
    assert "estpipe rollback: Version 8 of 'taxi' is not published" in capsys.readouterr().err


def test_the_command_registers_on_any_parser():
    parser = argparse.ArgumentParser(prog="estpipe")
    add_rollback_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["rollback", "taxi", "--serving-base", "gs://b/serving"])
    assert (args.model, args.serving_base, args.to_version) == ("taxi", "gs://b/serving", None)
    with pytest.raises(SystemExit):
        parser.parse_args(["rollback", "taxi"])  # --serving-base is required
