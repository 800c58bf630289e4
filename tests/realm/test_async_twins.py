"""``Realm`` (``sync.py``) is generated from ``AsyncRealm`` (``aio.py``) by
``scripts/generate_sync_realm.py``, so the twins cannot drift: the checked-in ``sync.py`` is
exactly what the script gives. Checked besides: what the script does to a method added to
``aio.py``, that it refuses an ``aio.py`` whose deliberate differences moved, that AsyncRealm's
operations are coroutines (generation cannot see a forgotten ``async``), and that each ``open``
names the URLs its opener takes (the one docstring that differs on purpose)."""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from baas_auth.errors import ConfigError
from baas_auth.realm import AsyncRealm, Realm
from baas_auth.stores.urls import open_async_store, open_store

ROOT = Path(__file__).resolve().parents[2]
AIO_SOURCE = (ROOT / "baas_auth" / "realm" / "aio.py").read_text(encoding="utf-8")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_sync_realm", ROOT / "scripts" / "generate_sync_realm.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


generator = _generator()


def test_sync_py_is_what_the_generator_gives() -> None:
    checked_in = (ROOT / "baas_auth" / "realm" / "sync.py").read_text(encoding="utf-8")
    assert generator.generate(AIO_SOURCE) == checked_in, "run scripts/generate_sync_realm.py"
    assert generator.main(["--check"]) == 0


def test_a_method_added_to_aio_py_comes_out_blocking() -> None:
    added = (
        "\n    async def first_org(self) -> Org:\n"
        "        return (await self._run(reads.list_orgs()))[0]\n"
        "\n    async def both(self, a: AsyncStore) -> int:\n"
        "        return (await self.count(a) + 1).bit_length()\n"
    )
    generated = generator.generate(AIO_SOURCE + added)
    assert generated.endswith(
        "\n    def first_org(self) -> Org:\n"
        "        return self._run(reads.list_orgs())[0]\n"
        "\n    def both(self, a: Store) -> int:\n"
        "        return (self.count(a) + 1).bit_length()\n"  # these parentheses hold a sum
    )


def test_the_generator_refuses_a_moved_difference() -> None:
    moved = AIO_SOURCE.replace("= AsyncDriver(store)", "= AsyncDriver(store=store)")
    with pytest.raises(generator.GenerationError, match="Realm starts at once"):
        generator.generate(moved)


def test_async_realm_operations_are_coroutines_and_realm_has_none() -> None:
    operations = {
        name: member
        for name, member in vars(AsyncRealm).items()
        if inspect.isfunction(member) and name not in {"__init__", "__repr__"}
    }  # open is a classmethod, the settings are properties: neither awaits
    assert len(operations) > 60
    assert [name for name, m in operations.items() if not inspect.iscoroutinefunction(m)] == []
    assert [name for name, m in vars(Realm).items() if inspect.iscoroutinefunction(m)] == []
    assert isinstance(inspect.getattr_static(AsyncRealm, "open"), classmethod)


_URL_LITERAL = re.compile(r"``([a-z]+):[^`]*``")
EXAMPLES = {
    "memory": "memory:",
    "sqlite": "sqlite:///x.db",
    "redis": "redis://h:1/0",
    "rediss": "rediss://h:1/0",
    "unix": "unix:///r.sock",
}


@pytest.mark.parametrize(
    ("realm", "opener", "schemes"),
    [
        (Realm, open_store, {"memory", "sqlite", "redis", "rediss", "unix"}),
        (AsyncRealm, open_async_store, {"redis", "rediss", "unix"}),
    ],
)
def test_each_open_names_exactly_the_urls_it_takes(
    realm: type[Realm] | type[AsyncRealm], opener: object, schemes: set[str]
) -> None:
    assert set(_URL_LITERAL.findall(inspect.getdoc(realm.open) or "")) == schemes
    assert callable(opener)
    for scheme in EXAMPLES.keys() - schemes:  # those taken are opened by the persistence tests
        with pytest.raises(ConfigError):
            opener(EXAMPLES[scheme])
