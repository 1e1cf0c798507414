"""CLI conventions: --version, -h, an example on every help page, flags shown as flags,
one name and default per limit, and messages that are never parsed as markup."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import driftdoc
from driftdoc.cli import command, main
from driftdoc.cli.examples import missing


def _walk(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found = [(path, cmd)]
    for name, sub in getattr(cmd, "commands", {}).items():
        if not sub.hidden:
            found += _walk(sub, (*path, name))
    return found


COMMANDS = [path for path, _ in _walk(command())]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"driftdoc {driftdoc.__version__}"


def test_every_command_has_an_example() -> None:
    assert missing(command()) == []


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "driftdoc")
def test_help_pages(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "-h"]) == 0
    text = capsys.readouterr().out
    assert "Usage: driftdoc" in text
    assert "Example" in text and "  driftdoc " in text.split("Example", 1)[1]
    assert "<bool>" not in text  # flags are shown as flags
    assert "-h, --help" in text


def test_help_text_is_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "str(values + [result])" in text


def _params(path: str) -> dict[str, Any]:
    cmd = command().commands[path]
    return {opt: p for p in cmd.params for opt in p.opts}


SHARED = ["--python", "--as-of", "--timeout", "--memory-mb", "--index-url", "--sandbox",
          "--quiet"]


@pytest.mark.parametrize("option", SHARED)
def test_limits_have_one_name_and_one_default(option: str) -> None:
    found = {name: _params(name).get(option) for name in ("run", "validate", "explain")}
    assert all(found.values()), f"{option} missing in {[k for k, v in found.items() if not v]}"
    defaults = {name: p.default for name, p in found.items()}
    if option != "--python":  # validate requires it; run and explain infer it
        assert len(set(map(repr, defaults.values()))) == 1, defaults


@pytest.mark.parametrize("option", ["--budget", "--time-limit", "--jobs", "--output",
                                    "--store", "--verbose"])
def test_search_options_match_between_run_and_explain(option: str) -> None:
    run, explain = _params("run").get(option), _params("explain").get(option)
    assert run is not None and explain is not None
    assert run.default == explain.default


def test_old_limit_names_are_gone() -> None:
    assert "--run-timeout" not in _params("run")
    assert "--run-timeout" not in _params("explain")


@pytest.mark.parametrize("argv", [
    ["run", "[/]"],
    ["run", "[bold]x[/bold].py"],
    ["inspect", "[/]"],
    ["explain", "[/]"],
    ["validate", "[/]", "-p", "3.11"],
    ["debug", "[/].json", "--oracle", "m:f"],
    ["run", "x.py", "--as-of", "[red]"],
    ["run", "x.py", "--format", "[/]"],
])
def test_messages_are_escaped(argv: list[str], capsys: pytest.CaptureFixture[str],
                              tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.py").write_text("print(1)\n")
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err
    odd = next((a for a in argv if "[" in a), "")
    assert odd.split(".")[0] in lines[0]  # shown as typed, not eaten as a tag


def test_status_line_counts_validations() -> None:
    from driftdoc.cli.run_cmd import RunReporter

    reporter = RunReporter(verbose=False, quiet=True, budget=24)
    reporter.count = 4
    assert reporter.status_line("trying older numpy (1.16.6)", upcoming=1) == \
        "validation 5 of ≤ 24: trying older numpy (1.16.6)"
    assert reporter.status_line("trying x", upcoming=2).startswith("validation 5-6 of ≤ 24")
