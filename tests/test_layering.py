"""The packages import one way, in the direction of the data (DESIGN §3):

    core  ←  index  ←  suggest  ←  eval  ←  app_parts, app.py

Every import is read with `ast` (module level and inside functions alike), so an upward import cannot hide in a
function body.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"core": 0, "index": 1, "suggest": 2, "eval": 3, "app_parts": 4, "app": 4}


def project_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level package) of every import of one of the project's packages in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in LAYERS]
    return found


def layer_of(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def source_files() -> list[Path]:
    files = [ROOT / "app.py"]
    for package in LAYERS:
        if (ROOT / package).is_dir():
            files += sorted((ROOT / package).rglob("*.py"))
    return files


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_upward_import(path: Path):
    here = layer_of(path)
    upward = [f"line {line}: imports {pkg}" for line, pkg in project_imports(path) if LAYERS[pkg] > LAYERS[here]]
    assert not upward, f"{path.relative_to(ROOT)} ({here}) imports a package above it: {upward}"


def test_core_imports_nothing_of_ours():
    for path in sorted((ROOT / "core").rglob("*.py")):
        assert {pkg for _, pkg in project_imports(path)} <= {"core"}, path


def test_the_checker_sees_imports_inside_functions(tmp_path: Path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\ndef f():\n    from suggest.pipeline import Copilot\n    import eval.run\n")
    assert project_imports(sample) == [(4, "suggest"), (5, "eval")]
