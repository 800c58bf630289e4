"""The other process of the revocation suite: changes a shared store when told to, then says so.

Run as a child interpreter (``python -c "from tests.adapters.revoker_process import main;
main()"``). Each line of its standard input is one JSON command ``{"store": "sqlite" | "redis",
"where": path or URL, "prefix": Redis key prefix, "op": Realm method or "retire_current_key",
"args": [...], "kwargs": {...}}``; it opens a ``Realm`` on that store, runs the operation, closes
the realm, and answers one line, ``ok`` or ``error: …``, only once the change is made.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from baas_auth import Realm, SQLiteStore, Store


def open_store(command: dict[str, Any]) -> Store:
    if command["store"] == "sqlite":
        return SQLiteStore(command["where"])
    from baas_auth.stores.redis import RedisStore

    return RedisStore(command["where"], prefix=command["prefix"])


def retire_current_key(realm: Realm) -> None:
    """Rotate, then retire the key every token so far was signed with."""
    keys = realm.keys
    if keys is None:  # loaded by the first operation
        realm.list_orgs()
        keys = realm.keys
    assert keys is not None
    old = keys.current.kid
    realm.rotate_signing_key()
    realm.retire_signing_key(old)


def run(command: dict[str, Any]) -> None:
    realm = Realm(open_store(command))
    try:
        if command["op"] == "retire_current_key":
            retire_current_key(realm)
        else:
            getattr(realm, command["op"])(*command["args"], **command["kwargs"])
    finally:
        realm.close()


def main() -> None:
    for line in sys.stdin:
        try:
            run(json.loads(line))
        except Exception as error:  # reported to the test, which fails with it
            print(f"error: {error!r}", flush=True)
        else:
            print("ok", flush=True)
