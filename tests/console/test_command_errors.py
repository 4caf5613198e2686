"""One line per command-line error, `<prog>: <cause>`, and the exit status of its kind."""

import pytest

from console import CommandParser, run_command


def _raise(error):
    def handler():
        raise error
    return handler


@pytest.mark.parametrize("error, status", [
    (ValueError("`image` 'Bad Image' is not a container image reference."), 2),
    (FileNotFoundError("The pipeline config 'x.yaml' does not exist."), 2),
    (LookupError("No push of version 9 is recorded."), 2),
    (RuntimeError("the step 'ingest' failed: EmptyInputError: matches no files."), 1),
])
def test_an_error_is_one_line_with_the_status_of_its_kind(error, status, capsys):
    assert run_command("estpipe compile", _raise(error)) == status
    captured = capsys.readouterr()
    assert captured.err == f"estpipe compile: {error}\n"
    assert captured.out == ""


def test_a_key_error_says_its_message_not_the_keys_repr(capsys):
    assert run_command("estpipe run", _raise(KeyError("no step 'x'"))) == 2
    assert capsys.readouterr().err == "estpipe run: no step 'x'\n"


def test_an_unexpected_error_is_one_line_unless_verbose(capsys):
    assert run_command("estpipe runs", _raise(TypeError("bad operand"))) == 1
    assert capsys.readouterr().err == ("estpipe runs: unexpected TypeError: bad operand "
                                       "(run with -v for the traceback)\n")
    with pytest.raises(TypeError, match="bad operand"):
        run_command("estpipe runs", _raise(TypeError("bad operand")), verbose=True)


def test_the_handlers_status_passes_through_and_ctrl_c_is_130(capsys):
    assert run_command("estpipe runs", lambda: 0) == 0
    assert run_command("estpipe runs", _raise(KeyboardInterrupt())) == 130
    assert capsys.readouterr().err == "estpipe runs: interrupted\n"


def test_a_usage_error_is_one_line_naming_the_subcommand(capsys):
    parser = CommandParser(prog="estpipe")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("compile").add_argument("--train-steps", type=int)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["compile", "--train-steps", "many"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("estpipe compile: argument --train-steps: invalid int "
                                       "value: 'many' (see `estpipe compile --help`)\n")
