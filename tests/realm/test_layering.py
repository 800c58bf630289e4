"""Only the drivers touch a store: the realm's flows yield commands and never do I/O themselves.

Of ``baas_auth/realm/``, ``drivers.py`` and ``async_drivers.py`` run commands over a store, and
``sync.py`` and ``aio.py`` hold one; every other module is pure sequencing. Checked on the
source (``ast``): what each module imports (absolute, relative, or through ``importlib``), and
that none of them reaches for a ``store`` attribute.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REALM = Path(__file__).resolve().parents[2] / "baas_auth" / "realm"
PACKAGE = "baas_auth.realm"

DRIVERS = {"drivers", "async_drivers"}
REALMS = {"sync", "aio"}
MODULES = sorted(p.stem for p in REALM.glob("*.py"))
FLOW_MODULES = [m for m in MODULES if m not in DRIVERS | REALMS]

IO = {
    "asyncio",
    "concurrent.futures",
    "http.client",
    "importlib",
    "io",
    "multiprocessing",
    "os",
    "redis",
    "selectors",
    "shutil",
    "socket",
    "sqlite3",
    "ssl",
    "subprocess",
    "threading",
    "time",
    "urllib.request",
}
"""What a flow module may not import (``importlib`` and ``__import__`` would hide an import)."""

ALLOWED_IO = {"cache": {"threading"}, "state": {"time"}}
"""The exceptions: the cache's lock, and the default clock."""


def _imported(module: str) -> set[str]:
    """The fully qualified name of everything ``module`` imports: ``import a.b`` gives
    ``a.b``, ``from a import b`` (or a relative ``from .a import b``) gives ``a.b``; a call of
    ``__import__`` gives ``__import__``."""
    tree = ast.parse((REALM / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = PACKAGE.rsplit(".", node.level - 1)[0]
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            found.update(f"{origin}.{alias.name}" for alias in node.names)
        elif _calls(node, "__import__"):
            found.add("__import__")
    return found


def _under(name: str, parent: str) -> bool:
    return name == parent or name.startswith(parent + ".")


def _bad_store_imports(module: str, allowed: set[str]) -> set[str]:
    """What ``module`` imports from ``baas_auth.stores`` outside the ``allowed`` modules
    (``from baas_auth.stores import MemoryStore`` and ``import baas_auth.stores`` included)."""
    return {
        name
        for name in _imported(module)
        if _under(name, "baas_auth.stores") and not any(_under(name, a) for a in allowed)
    }


def _store_attributes(module: str) -> list[int]:
    """Lines that read or write ``something.store``, or name it to ``getattr`` and kin."""
    tree = ast.parse((REALM / f"{module}.py").read_text())
    lines = []
    for node in ast.walk(tree):
        named = (
            _calls(node, "getattr", "setattr", "hasattr", "delattr")
            and isinstance(node, ast.Call)
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value == "store"
        )
        if named or (isinstance(node, ast.Attribute) and node.attr == "store"):
            lines.append(getattr(node, "lineno", 0))
    return sorted(lines)


def _calls(node: ast.AST, *names: str) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names


def test_the_modules_are_known() -> None:
    """A new module of the realm lands in one of the lists below (flows by default)."""
    assert set(MODULES) >= DRIVERS | REALMS
    assert set(FLOW_MODULES) >= {"flows", "store_commands", "token_flows", "directory", "__init__"}


@pytest.mark.parametrize("module", FLOW_MODULES)
def test_flow_modules_import_no_io(module: str) -> None:
    imported = _imported(module)
    bad = {
        name
        for name in imported
        for forbidden in IO - ALLOWED_IO.get(module, set())
        if _under(name, forbidden)
    }
    assert not bad, f"baas_auth/realm/{module}.py imports {sorted(bad)}"
    assert "__import__" not in imported


@pytest.mark.parametrize("module", FLOW_MODULES)
def test_flow_modules_import_no_store_but_its_protocols(module: str) -> None:
    bad = _bad_store_imports(module, {"baas_auth.stores.protocols"})
    assert not bad, f"baas_auth/realm/{module}.py imports {sorted(bad)}"


@pytest.mark.parametrize("module", FLOW_MODULES)
def test_flow_modules_never_reach_for_a_store(module: str) -> None:
    assert _store_attributes(module) == [], f"baas_auth/realm/{module}.py touches a store"


@pytest.mark.parametrize("module", sorted(DRIVERS | REALMS))
def test_drivers_and_realms_import_only_the_store_modules_they_need(module: str) -> None:
    allowed = {"baas_auth.stores.protocols"}
    if module in REALMS:
        allowed.add("baas_auth.stores.urls")  # Realm.open, AsyncRealm.open
    bad = _bad_store_imports(module, allowed)
    assert not bad, f"baas_auth/realm/{module}.py imports {sorted(bad)}"


@pytest.mark.parametrize("module", sorted(REALMS))
def test_the_realms_do_no_io_of_their_own(module: str) -> None:
    """Realm and AsyncRealm hand flows to their driver: no event loop, thread or socket here."""
    bad = {name for name in _imported(module) for io in IO if _under(name, io)}
    assert not bad, f"baas_auth/realm/{module}.py imports {sorted(bad)}"


def test_the_checks_see_what_they_forbid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The helpers find each forbidden form (in a module written for the purpose)."""
    (tmp_path / "bad.py").write_text(
        "import asyncio\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from baas_auth.stores import MemoryStore\n"
        "from ..stores.redis import RedisStore\n"
        "import baas_auth.stores\n"
        "from baas_auth.stores.protocols import Store\n"
        "def f(realm):\n"
        "    realm.store.get('k')\n"
        "    return getattr(realm, 'store'), __import__('sqlite3')\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "REALM", tmp_path)
    imported = _imported("bad")
    assert {"asyncio", "concurrent.futures.ThreadPoolExecutor", "__import__"} <= imported
    assert _bad_store_imports("bad", {"baas_auth.stores.protocols"}) == {
        "baas_auth.stores.MemoryStore",
        "baas_auth.stores.redis.RedisStore",
        "baas_auth.stores",
    }
    assert _store_attributes("bad") == [8, 9]
