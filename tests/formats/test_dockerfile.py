"""Dockerfiles in conftest's shape: [[{Cmd, SubCmd, JSON, Flags, Value, Stage}, ...]]."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle import formats
from socle.core.errors import InputError
from socle.formats import dockerfile

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "fixtures" / "formats"


def _commands(text: str) -> list[dict[str, object]]:
    obj = dockerfile.parse(text.encode(), "Dockerfile")[0].obj
    assert isinstance(obj, list) and len(obj) == 1  # conftest's list of one command list
    commands: list[dict[str, object]] = obj[0]
    return commands


def test_multi_stage_file() -> None:
    doc = dockerfile.parse((FIXTURES / "Dockerfile").read_bytes(), "Dockerfile")[0]
    cmds = doc.obj[0]
    assert doc.format == "dockerfile"
    # the "# syntax=" parser directive is no comment command (conftest drops it too)
    assert cmds[0] == {"Cmd": "arg", "SubCmd": "", "JSON": False, "Flags": [],
                       "Value": ["GO_VERSION=1.22"], "Stage": 0}
    env = next(c for c in cmds if c["Cmd"] == "env")
    assert env["Value"] == ["APP_ENV", "production", "=", "LOG_LEVEL", '"info"', "="]
    froms = [c for c in cmds if c["Cmd"] == "from"]
    assert froms[0] == {"Cmd": "from", "SubCmd": "", "JSON": False,
                        "Flags": ["--platform=$BUILDPLATFORM"],
                        "Value": ["golang:${GO_VERSION}-alpine", "AS", "build"], "Stage": 0}
    assert froms[1]["Stage"] == 1
    run_cache = next(c for c in cmds if c["Cmd"] == "run")
    assert run_cache["Flags"] == ["--mount=type=cache,target=/go/pkg/mod"]
    assert run_cache["Value"] == ["go mod download"]  # continuation joined, indentation kept
    copy_from = [c for c in cmds if c["Cmd"] == "copy"][-1]
    assert copy_from["Flags"] == ["--from=build", "--chown=10001:10001"]
    assert copy_from["Value"] == ["/out/app", "/usr/local/bin/app"]
    assert copy_from["Stage"] == 1
    entry = next(c for c in cmds if c["Cmd"] == "entrypoint")
    assert entry["JSON"] is True and entry["Value"] == ["/usr/local/bin/app"]
    onbuild = next(c for c in cmds if c["Cmd"] == "onbuild")
    assert onbuild["SubCmd"] == "RUN" and onbuild["Value"] == ['echo "extending"']
    health = next(c for c in cmds if c["Cmd"] == "healthcheck")
    assert health["Flags"] == ["--interval=30s", "--timeout=3s"]
    assert health["Value"] == ["CMD", "curl -fsS http://localhost:8080/healthz || exit 1"]
    # the comment before the first FROM belongs to stage 0, lines point at instructions
    assert [c["Value"][0] for c in cmds if c["Cmd"] == "comment"] == ["build stage"]
    assert doc.line_of([0, cmds.index(froms[1])]) == 13


def test_conftest_stage_numbers() -> None:
    # conftest's own multi-stage test: command 6 is in stage 1
    cmds = _commands("FROM golang:1.13-alpine as base\nCOPY go.mod .\nCOPY go.sum .\n"
                     "RUN go mod download\n\nCOPY . .\n\t\nFROM base as builder\n"
                     "RUN go build -o conftest")
    assert cmds[0]["Cmd"] == "from"
    assert cmds[1]["Stage"] == 0
    assert cmds[6]["Stage"] == 1 and cmds[6]["Cmd"] == "run"


def test_lower_case_and_empty_values() -> None:
    cmds = _commands("from scratch\nonbuild copy a b\n# trailing comments are dropped\n")
    assert [c["Cmd"] for c in cmds] == ["from", "onbuild"]
    assert cmds[1]["SubCmd"] == "copy" and cmds[1]["Value"] == ["a", "b"]
    assert cmds[1]["Flags"] == []


def test_heredoc_and_escape_directive() -> None:
    cmds = _commands("FROM a\nRUN <<EOF\napk add curl\nEOF\n")
    assert cmds[1]["Value"] == ["<<EOF"]
    cmds = _commands("# escape=`\nFROM a\nRUN echo `\n  hi\n")
    assert [c["Cmd"] for c in cmds] == ["from", "run"]  # the directive is no command
    assert cmds[1]["Value"] == ["echo   hi"]


def test_file_names() -> None:
    for name in ("Dockerfile", "build/Dockerfile.debug", "dev.Dockerfile", "dockerfile"):
        assert formats.name_for_path(name) == "dockerfile", name
    assert formats.name_for_path("Dockerfile-notes.md") is None


@pytest.mark.parametrize(("text", "line", "message"), [
    ("FROM a\nRUN x\nFOO bar\n", 3, "unknown instruction: FOO"),
    ("FROM a\nCOPY --bogus=1 a b\n", 2, "unknown flag: bogus"),
    ("FROM a\nENV X\n", 2, "ENV must have two arguments"),
    ("FROM a b\n", 1, "FROM requires either one or three arguments"),
    ("FROM a\nCOPY onlyone\n", 2, "COPY requires at least two arguments"),
    ("FROM a\n\nRUN <<EOF\nnever closed\n", 3, "unterminated heredoc"),
    ('FROM a\n\nRUN ["a", 1]\n', 3, "arrays must be comprised of strings only"),
    ("FROM a\nONBUILD FROM b\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("# only a comment\n", 1, "file with no instructions"),
])
def test_malformed(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as err:
        dockerfile.parse(text.encode(), "Dockerfile")
    assert err.value.line == line
    assert message in err.value.message


@pytest.mark.parametrize(("flags", "message"), [
    ("--interval=30", 'time: missing unit in duration "30"'),
    ("--interval=30s:", 'time: unknown unit "s:" in duration "30s:"'),
    ("--timeout=-", 'time: invalid duration "-"'),
    ("--interval=999us", 'Interval "interval" cannot be less than 1ms'),
    ("--timeout=-1s", 'Interval "timeout" cannot be less than 1ms'),
    ("--retries=x", 'strconv.ParseInt: parsing "x": invalid syntax'),
    ("--retries=99999999999", 'strconv.ParseInt: parsing "99999999999": value out of range'),
    ("--retries=-1", "--retries cannot be negative (-1)"),
    ("--interval=1s --interval=2s", "duplicate flag specified: --interval"),
])
def test_healthcheck_flag_values_are_checked_as_buildkit_checks_them(flags: str,
                                                                    message: str) -> None:
    text = f"FROM alpine:3.20\nHEALTHCHECK {flags} CMD true\n".encode()
    with pytest.raises(InputError) as err:
        dockerfile.parse(text, "Dockerfile")
    assert (err.value.line, err.value.message) == (2, message)


def test_healthcheck_flag_values_buildkit_takes() -> None:
    text = (b"FROM alpine:3.20\nHEALTHCHECK --interval=1m30s --timeout=.5s --start-period=0 "
            b"--start-interval=1ms --retries=+3 CMD true\n")
    [commands] = dockerfile.parse(text, "Dockerfile")[0].obj
    assert commands[1]["Flags"] == ["--interval=1m30s", "--timeout=.5s", "--start-period=0",
                                    "--start-interval=1ms", "--retries=+3"]


def test_text_after_a_json_array_makes_the_shell_form() -> None:
    # (BuildKit reads the whole as a shell command; the older parser took the array)
    text = (b'FROM alpine:3.20\nCMD   ["a"]  b  \nRUN --network=none ["x", "y"] z\n'
            b'ENTRYPOINT ["a"]\t\nONBUILD CMD ["c"] d\nCMD ["e", \\\n  "f"] \\\n  g\n')
    [commands] = dockerfile.parse(text, "Dockerfile")[0].obj
    assert [(c["JSON"], c["Value"]) for c in commands[1:]] == [
        (False, ['["a"]  b']), (False, ['["x", "y"] z']), (True, ["a"]), (False, ['["c"] d']),
        (False, ['["e",   "f"]   g'])]
    with pytest.raises(InputError, match="SHELL requires the arguments to be in JSON form"):
        dockerfile.parse(b'FROM alpine:3.20\nSHELL ["/bin/sh", "-c"] x\n', "Dockerfile")
