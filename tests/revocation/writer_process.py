"""The other process of the revocation checker: makes one write on a shared store when told to.

Run as a child interpreter (``python -m tests.revocation.writer_process``). Each line of its
standard input is one JSON command: ``{"store": "sqlite" | "redis", "where": path or URL,
"prefix": Redis key prefix, "now_ms": the histories' clock, "write": [op, target, ttl_ms],
"names": Names.as_json(), "inject": [injection names], "reopen": bool}``, or ``{"forget":
true}`` at the end of a history. It makes the write
(``world.perform``) through a ``Realm`` on that store, kept from one command to the next as a
long-lived process keeps its realm (``reopen``: a new one, after the store was restarted), on a
clock set to ``now_ms``, and answers one JSON line, the names after the write, only once the
write is made (or ``{"error": …}``).
"""

from __future__ import annotations

import json
import sys
from contextlib import AbstractContextManager
from typing import Any

from baas_auth import Realm, SQLiteStore, Store
from tests.conftest import FAST_HASHER, FakeClock
from tests.revocation.injected import injection
from tests.revocation.world import Names, Write, perform

_injected: dict[str, AbstractContextManager[None]] = {}
_realms: dict[tuple[str, str, str], tuple[Realm, FakeClock]] = {}


def open_store(command: dict[str, Any]) -> Store:
    if command["store"] == "sqlite":
        return SQLiteStore(command["where"])
    from baas_auth.stores.redis import RedisStore

    return RedisStore(command["where"], prefix=command["prefix"])


def _inject_exactly(wanted: set[str]) -> None:
    """The known-bad code of this command's scenario, and none of another's."""
    for name in set(_injected) - wanted:
        _injected.pop(name).__exit__(None, None, None)
    for name in wanted - set(_injected):
        _injected[name] = injection(name)
        _injected[name].__enter__()


def run(command: dict[str, Any]) -> dict[str, object]:
    if command.get("forget"):  # a history is over: close what it opened
        for realm, _ in _realms.values():
            realm.close()
        _realms.clear()
        return {}
    _inject_exactly(set(command.get("inject", [])))
    realm, clock = _realm(command)
    clock.now = command["now_ms"] / 1000
    names = Names.from_json(command["names"])
    perform(realm, Write(*command["write"]), names)
    return names.as_json()


def _realm(command: dict[str, Any]) -> tuple[Realm, FakeClock]:
    where = (command["store"], command["where"], command.get("prefix", ""))
    if command.get("reopen"):
        for realm, _ in _realms.values():
            realm.close()
        _realms.clear()
    if where not in _realms:
        clock = FakeClock()
        realm = Realm(open_store(command), clock=clock, password_hasher=FAST_HASHER)
        _realms[where] = (realm, clock)
    return _realms[where]


def main() -> None:
    for line in sys.stdin:
        try:
            answer = run(json.loads(line))
        except Exception as error:  # reported to the checker, which fails with it
            answer = {"error": repr(error)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
