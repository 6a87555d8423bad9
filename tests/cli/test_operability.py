"""What a new user meets first: ``--version``, install hints that survive printing, the ``all``
extra, the LICENSE, and output through a pipe."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[2]
# The extras that are tooling for infertel's own development, not something a user installs.
NOT_IN_ALL = {"all", "dev", "bench"}


def cli(*args: str, block: tuple[str, ...] = (), cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line in a fresh process, its output through pipes. ``block`` names
    top-level modules made unimportable, as for a user who did not install that extra."""
    code = ("import sys\n"
            f"for name in {list(block)!r}: sys.modules[name] = None\n"
            f"sys.argv = ['infertel', *{list(args)!r}]\n"
            "from infertel.cli._entry import main\n"
            "main()\n")
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, text=True, capture_output=True,
                          timeout=300, check=False,
                          env={**os.environ, "COLUMNS": "60", **(env or {})})


def test_version() -> None:
    done = cli("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"infertel {importlib.metadata.version('infertel')}"


@pytest.mark.parametrize(("args", "block", "hint"), [
    (("scan", "--detection", "ner", "{store}"), ("spacy",), "pip install 'infertel[ner]'"),
    (("doctor", "--ner"), ("spacy",), "pip install 'infertel[ner]'"),
    (("demo", "--seconds", "1", "--local-dir", "{store}"), ("sklearn",),
     "pip install 'infertel[demo]'"),
    (("query",), ("typer",), "pip install 'infertel[cli]'"),
])
def test_install_hints_are_printed_literally(tmp_path: Path, args: tuple[str, ...],
                                             block: tuple[str, ...], hint: str) -> None:
    """rich markup would read ``[ner]`` as a tag and print ``pip install 'infertel'``."""
    store = tmp_path / "store"
    (store / "logs").mkdir(parents=True)
    (store / "logs" / "l.jsonl").write_text('{"resourceLogs": []}\n', encoding="utf-8")
    done = cli(*(a.replace("{store}", str(store)) for a in args), block=block, cwd=tmp_path)
    assert done.returncode != 0
    assert hint in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_paths_with_brackets_survive_collector_messages(tmp_path: Path) -> None:
    missing = tmp_path / "[collector]" / "rotel"
    done = cli("collector", "start", "--out", str(tmp_path / "out"), "--binary", str(missing))
    assert done.returncode == 1
    assert f"rotel binary not found: {missing}" in done.stderr


def test_the_all_extra_means_all() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    [entry] = extras["all"]
    named = set(re.fullmatch(r"infertel\[(.*)\]", entry).group(1).split(","))  # type: ignore[union-attr]
    assert named == set(extras) - NOT_IN_ALL


def _closure(extras: dict[str, list[str]], name: str) -> list[str]:
    """Every requirement ``infertel[name]`` pulls in, its self-references expanded."""
    out: list[str] = []
    for requirement in extras[name]:
        inner = re.fullmatch(r"infertel\[(.*)\]", requirement)
        if inner:
            for extra in inner.group(1).split(","):
                out += _closure(extras, extra.strip())
        else:
            out.append(requirement)
    return out


def test_the_all_extra_pulls_every_extras_requirements_and_they_are_installed() -> None:
    """What ``pip install -e .[all]`` asks for is every extra's requirements (whatever extras
    exist when this runs), and ``make test``'s venv satisfies each of them."""
    from packaging.requirements import Requirement

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    in_all = {Requirement(r).name for r in _closure(extras, "all")}
    for extra in set(extras) - NOT_IN_ALL:
        assert {Requirement(r).name for r in _closure(extras, extra)} <= in_all, extra
    for text in _closure(extras, "all"):
        requirement = Requirement(text)
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{requirement.name} (from the all extra) is not installed")
        assert requirement.specifier.contains(version, prereleases=True), (text, version)


def test_license_is_the_declared_apache_2_0_text() -> None:
    text = (ROOT / "LICENSE").read_bytes()
    # The Apache Software Foundation's LICENSE-2.0.txt, byte for byte.
    assert hashlib.md5(text).hexdigest() == "3b83ef96387f14655fc854ddc3c6bd57"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "Apache-2.0"
    assert text.decode().split()[:4] == ["Apache", "License", "Version", "2.0,"]


def test_scan_json_through_a_pipe_is_parseable_and_dated_in_utc(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "l.jsonl").write_text(json.dumps({"resourceLogs": [{"scopeLogs": [{
        "logRecords": [{"body": {"stringValue": "nothing personal"}}]}]}]}) + "\n")
    done = cli("scan", str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", report["scanned_at"])
