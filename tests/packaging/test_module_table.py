"""docs/design.md lists every module of the package, as the code says (scripts/module_table.py)."""

from __future__ import annotations

import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "module_table.py"


def test_the_design_page_lists_every_module_as_the_code_says() -> None:
    script = runpy.run_path(str(SCRIPT))
    text = script["DESIGN"].read_text(encoding="utf-8")
    assert script["with_table"](text) == text, "run: python scripts/module_table.py"


def test_every_module_of_the_package_has_a_row() -> None:
    script = runpy.run_path(str(SCRIPT))
    rows = script["table"]()
    package = script["PACKAGE"]
    for path in package.rglob("*.py"):
        assert f"| `{path.name}` |" in rows, path
