"""Publishing is atomic (no partly visible version), numbering never reuses, pruning keeps N."""

import os
import shutil

import pytest
import tensorflow as tf

from components.artifacts import serving
from components.pusher.fingerprint import fingerprint
from components.pusher.history import HistoryEntry, HistoryEvent
from components.pusher.versions import (
    VersionExistsError,
    next_version,
    protected_versions,
    prune_versions,
    publish_version,
    remove_stale_staging,
)


def _entry(event, version, source_version=None):
    return HistoryEntry(event=HistoryEvent(event), version=version, fingerprint="sha256:x",
                        time="t", source_version=source_version)


def test_only_integer_folders_are_versions(tmp_path):
    for name in ("1", "12", "3", "_staging-13-abc", ".hidden", "latest", "7x"):
        (tmp_path / name).mkdir()
    (tmp_path / "5").write_text("a file, not a version folder")
    (tmp_path / serving.HISTORY_FILE).write_text("")
    assert serving.list_versions(str(tmp_path)) == [1, 3, 12]
    assert serving.list_versions(str(tmp_path / "missing")) == []


def test_staging_names_are_ignored_by_tf_serving(tmp_path):
    # TF Serving takes a child as a version only if its whole name parses as an integer.
    name = os.path.basename(serving.staging_dir(str(tmp_path), 4))
    assert name.startswith(serving.STAGING_PREFIX)
    for ignored in (name, serving.HISTORY_FILE):
        with pytest.raises(ValueError):
            int(ignored)


def test_publish_copies_the_whole_model_and_leaves_no_staging(exports, tmp_path):
    base = str(tmp_path / "taxi")
    destination = publish_version(exports["good"], base, 1)
    assert destination == os.path.join(base, "1")
    assert os.listdir(base) == ["1"]
    assert fingerprint(destination) == fingerprint(exports["good"])
    assert "serving_default" in tf.saved_model.load(destination).signatures


def test_a_killed_pushs_staging_folder_is_removed_by_the_next_push(exports, tmp_path, caplog):
    base = tmp_path / "taxi"
    killed = base / f"{serving.STAGING_PREFIX}2-0123456789ab"
    (killed / "variables").mkdir(parents=True)
    (killed / "variables" / "variables.data-00000-of-00001").write_bytes(b"x" * 1000)
    live = base / f"{serving.STAGING_PREFIX}3-ba9876543210"
    live.mkdir()
    (live / "saved_model.pb").write_bytes(b"y")
    old = os.path.getmtime(killed) - 2 * 3600
    for path in (killed, killed / "variables", killed / "variables" / "variables.data-00000-of-00001"):
        os.utime(path, (old, old))
    with caplog.at_level("WARNING"):
        publish_version(exports["good"], str(base), 4)
    assert sorted(os.listdir(base)) == ["4", live.name]  # the live copy is left alone
    assert "did not finish" in caplog.text and killed.name in caplog.text
    assert remove_stale_staging(str(base), older_than_seconds=0) == [str(live)]


def test_a_failed_copy_leaves_no_version_and_no_staging(exports, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(exports["good"], source)
    os.symlink(str(tmp_path / "gone"), source / "variables" / "zz_dangling")  # unreadable
    base = tmp_path / "taxi"
    with pytest.raises(tf.errors.NotFoundError):
        publish_version(str(source), str(base), 1)
    assert os.listdir(base) == []  # neither `1/` nor a `_staging-*` folder


def test_an_existing_version_is_never_overwritten(exports, tmp_path):
    base = tmp_path / "taxi"
    (base / "1").mkdir(parents=True)
    (base / "1" / "saved_model.pb").write_bytes(b"someone else's")
    with pytest.raises(VersionExistsError, match="already exists"):
        publish_version(exports["good"], str(base), 1)
    assert os.listdir(base) == ["1"]
    assert (base / "1" / "saved_model.pb").read_bytes() == b"someone else's"


def test_not_a_saved_model(tmp_path):
    (tmp_path / "source").mkdir()
    (tmp_path / "source" / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="is not a SavedModel folder"):
        publish_version(str(tmp_path / "source"), str(tmp_path / "taxi"), 1)
    assert os.listdir(tmp_path / "taxi") == []


def test_next_version_never_reuses_a_pruned_number(tmp_path):
    assert next_version(str(tmp_path / "new")) == 1
    (tmp_path / "4").mkdir()
    assert next_version(str(tmp_path)) == 5
    assert next_version(str(tmp_path), [_entry("push", 7)]) == 8


def test_prune_keeps_the_newest_and_the_protected(tmp_path):
    for version in range(1, 8):
        (tmp_path / str(version)).mkdir()
    assert prune_versions(str(tmp_path), keep=3, protect={2, 7}) == [1, 3, 4]
    assert serving.list_versions(str(tmp_path)) == [2, 5, 6, 7]
    assert prune_versions(str(tmp_path), keep=10) == []
    with pytest.raises(ValueError, match="`keep`"):
        prune_versions(str(tmp_path), keep=0)


def test_rollback_sources_are_protected_while_the_rollback_is_kept():
    history = [_entry("push", 1), _entry("push", 2), _entry("rollback", 3, source_version=1)]
    assert protected_versions(history, existing=[1, 2, 3]) == {1}
    assert protected_versions(history, existing=[1, 2]) == set()  # the rollback was pruned


def test_fingerprint_follows_content(exports, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(exports["good"], copy)
    assert fingerprint(str(copy)) == fingerprint(exports["good"])
    assert fingerprint(str(copy)).startswith("sha256:")
    (copy / "assets" / "vocab.txt").write_text("a")
    assert fingerprint(str(copy)) != fingerprint(exports["good"])
    with pytest.raises(FileNotFoundError, match="holds no file"):
        fingerprint(str(tmp_path / "empty"))


def test_publish_to_a_non_local_file_system(exports):
    # ram:// is TensorFlow's in-memory file system: like an object store, not a local path.
    base = "ram://pusher-test/serving/taxi"
    destination = publish_version(exports["good"], base, 1)
    assert destination == base + "/1"
    assert serving.list_versions(base) == [1]
    assert fingerprint(destination) == fingerprint(exports["good"])


def test_the_projects_model_server_sees_only_published_versions(exports, tmp_path):
    from serving.manager import list_versions

    base = str(tmp_path / "taxi")
    publish_version(exports["good"], base, 1)
    staging = serving.staging_dir(base, 2)
    shutil.copytree(exports["good"], staging)  # a push caught mid-copy
    (tmp_path / "taxi" / serving.HISTORY_FILE).write_text("")
    assert list_versions(base) == {1: os.path.join(base, "1")}
