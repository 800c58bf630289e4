"""The verifier is core (no I/O, nothing of the request shell); the key fetching is shell, and
neither reaches into the realm, the stores or the adapters."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "baas_auth"
CORE_MODULES = ["identity_providers", "jwk", "jwt_parts", "jwt_tokens"]
IO_MODULES = {"asyncio", "threading", "time", "sqlite3", "redis", "logging", "wsgiref", "socket",
              "os", "subprocess", "http", "urllib.request", "ssl"}
CORE_MAY_IMPORT = ("baas_auth.errors", "baas_auth.model", "baas_auth.core.")
SHELL_MAY_NOT = ("baas_auth.realm", "baas_auth.stores", "baas_auth.wsgi", "baas_auth.asgi",
                 "baas_auth.middleware", "baas_auth.cli")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _within(name: str, prefixes: set[str] | tuple[str, ...]) -> bool:
    return any(name == p.rstrip(".") or name.startswith(p.rstrip(".") + ".") for p in prefixes)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_the_verifier_does_no_io(module: str):
    imports = _imports(PACKAGE / "core" / f"{module}.py")
    assert not {name for name in imports if _within(name, IO_MODULES)}
    ours = {name for name in imports if name.startswith("baas_auth")}
    assert all(_within(name, CORE_MAY_IMPORT) for name in ours), ours


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "federation").glob("*.py")), ids=lambda path: path.name
)
def test_the_key_fetching_shell_stays_out_of_the_request_path_for_now(path: Path):
    assert not {name for name in _imports(path) if _within(name, SHELL_MAY_NOT)}
