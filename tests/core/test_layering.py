"""The core does no I/O: its modules import nothing that reads the world (DESIGN rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "baas_auth"
CORE = ["http", "paths", "credentials", "tokens", "hashing", "permissions", "rules", "globs",
        "throttle", "decision", "policy", "records",
        "model", "errors", "legacy_hashes", "import_document"]
FORBIDDEN = {"asyncio", "threading", "time", "sqlite3", "redis", "logging", "wsgiref", "socket",
             "os", "subprocess", "baas_auth.wsgi", "baas_auth.asgi", "baas_auth.realm",
             "baas_auth.stores"}


def _imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_io(module: str):
    bad = {name for name in _imports(module)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)}
    assert not bad, f"{module} imports {sorted(bad)}"


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
