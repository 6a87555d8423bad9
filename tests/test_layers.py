"""The package layout keeps the layers of shared/DESIGN.md: checked on the real import graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "infertel"
# "About 400 lines at most" per module; a little slack so a docstring does not fail the build.
MAX_MODULE_LINES = 450


def test_import_linter_contracts_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter)], capture_output=True, text=True, timeout=120,
                          cwd=SRC.parents[1], check=False)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_no_import_cycles_counting_type_checking_imports() -> None:
    graph = grimp.build_graph("infertel", exclude_type_checking_imports=False)
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.append((importer, *back))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles[:20])


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_module_is_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines"


def test_library_core_does_not_import_cli_dependencies() -> None:
    """`import infertel` (and configuring it) needs no typer, rich or duckdb: they are the `cli`
    extra's."""
    code = ("import sys, infertel; infertel.configure(exporter='none'); "
            "bad = [m for m in ('typer', 'rich', 'duckdb', 'click') if m in sys.modules]; "
            "print(','.join(bad))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == ""


def test_base_install_pulls_no_cli_dependencies() -> None:
    """`pip install infertel` (no extras) must not bring duckdb, typer or rich: they are the
    `cli` extra's, which `make demo` installs."""
    import tomllib

    project = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"]).lower()
    assert not [name for name in ("duckdb", "typer", "rich", "click") if name in base]
    demo_extras = [d for d in project["optional-dependencies"]["demo"] if d.startswith("infertel[")]
    assert any("cli" in d[len("infertel["):-1].split(",") for d in demo_extras), demo_extras
