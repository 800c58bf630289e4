"""The house's folder rules (DESIGN rule 1): ``core/`` does no I/O and imports only ``core/``,
``errors`` and ``model``; the top of the package stays small; no module name means two things."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "baas_auth"
CORE = sorted(p.stem for p in (PACKAGE / "core").glob("*.py") if p.stem != "__init__")
OWN_ALLOWED = ("baas_auth.core", "baas_auth.errors", "baas_auth.model")
FORBIDDEN = {"asyncio", "threading", "time", "sqlite3", "redis", "logging", "wsgiref", "socket",
             "os", "subprocess", "urllib.request", "http.client"}
TOP_LEVEL_MODULES_AT_MOST = 8


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, f"{path.name}: relative import"
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names
                         if node.module == "baas_auth")
    return found


def _within(name: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io(module: str):
    imported = _imports(PACKAGE / "core" / f"{module}.py")
    bad = {name for name in imported if _within(name, FORBIDDEN)}
    assert not bad, f"core/{module} imports {sorted(bad)}"


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_only_core_errors_and_model(module: str):
    own = {name for name in _imports(PACKAGE / "core" / f"{module}.py")
           if _within(name, ("baas_auth",)) and name != "baas_auth"}
    outside = {name for name in own if not _within(name, OWN_ALLOWED)}
    assert not outside, f"core/{module} imports {sorted(outside)}"


def test_the_core_folder_holds_the_pure_modules():
    pure = {"http", "paths", "credentials", "rules", "permissions", "tokens", "records"}
    assert pure <= set(CORE)


def test_the_top_of_the_package_stays_small():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= TOP_LEVEL_MODULES_AT_MOST, top


def test_no_module_name_is_used_twice():
    names: dict[str, list[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.stem != "__init__":
            names.setdefault(path.stem, []).append(str(path.relative_to(PACKAGE)))
    assert {stem: paths for stem, paths in names.items() if len(paths) > 1} == {}


def test_public_names_are_sorted_and_importable():
    import baas_auth

    assert list(baas_auth.__all__) == sorted(baas_auth.__all__)
    for name in baas_auth.__all__:
        assert hasattr(baas_auth, name), name


def test_package_does_not_import_redis():
    import subprocess
    import sys

    code = "import sys, baas_auth; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
