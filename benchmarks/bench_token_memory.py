"""Bytes per live token in each store, at a million tokens (``--tokens`` to change it).

Tokens are issued round-robin to ``--users`` app users, with the records the realm writes
(a ``TokenRecord`` of an app user: uuid, key id, times, org, app, username) under ids of the
realm's form (64 hex digits). Measured:

- memory store: ``tracemalloc`` growth of the process while the tokens are put, per token;
- SQLite: growth of the database file per token (WAL checkpointed with ``TRUNCATE`` before and
  after, so the file holds every page);
- Redis: growth of ``INFO memory`` ``used_memory`` per token, in a database of its own on a
  ``redis-server`` this module starts on loopback (skipped with a note when it is not on PATH).
  The store's own ``put_token`` script is sent pipelined, 1,000 calls a round trip: the same
  keys and values as one call at a time, a million of them in seconds.

    PYTHONPATH=. python benchmarks/bench_token_memory.py [--tokens 1000000] [--users 10000]

``--grants N`` measures instead what a whole password grant leaves in each store through a
``Realm`` (lowered scrypt cost), with refresh tokens off and on: an access token's record; with
them on also the refresh token's record, the entry naming its family and the family's record
(behaviour §9). Per grant, on ``--users`` users:

    PYTHONPATH=. python benchmarks/bench_token_memory.py --grants 20000 --users 100
"""

from __future__ import annotations

import argparse
import gc
import secrets
import sqlite3
import sys
import tempfile
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

from bench_stores import start_redis

from baas_auth import MemoryStore, SQLiteStore, Store
from baas_auth.core import record_keys
from baas_auth.core import records as rec

_BATCH = 1_000
_NOW_MS = 1_800_000_000_000
_TTL_MS = 7 * 86_400_000


class Notes:
    """Stands in for ``_timing.Report`` where ``start_redis`` writes its notes."""

    def __init__(self) -> None:
        self.notes: list[str] = []


def app_users(count: int) -> list[tuple[str, str]]:
    """(uuid, username) of ``count`` users: they exist before their tokens, as in a realm."""
    return [(str(uuid.uuid4()), f"user{index:05d}") for index in range(count)]


def tokens(count: int, users: list[tuple[str, str]]) -> Iterator[tuple[str, str, bytes, int, int]]:
    """(token id, principal key, record, created ms, expires ms) of ``count`` tokens."""
    for index in range(count):
        subject, username = users[index % len(users)]
        created = _NOW_MS + index
        record = rec.TokenRecord(
            "app_user", subject, "u84jgi8M", created, created + _TTL_MS, "acme", "shop", username
        )
        yield (
            secrets.token_hex(32),
            record_keys.principal_key(record),
            rec.encode(record),
            created,
            created + _TTL_MS,
        )


def put_all(store: Store, count: int, users: int) -> None:
    for token_id, principal, record, created, expires in tokens(count, app_users(users)):
        store.put_token(token_id, principal, record, created_ms=created, expires_at_ms=expires)


def memory_store(count: int, users: int) -> float:
    """Each token's id, key and record are made inside the measured window, as the realm makes
    them for each grant: what stays allocated is what the store keeps of them."""
    store = MemoryStore()
    issued = tokens(count, app_users(users))
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for token_id, principal, record, created, expires in issued:
        store.put_token(token_id, principal, record, created_ms=created, expires_at_ms=expires)
    del token_id, principal, record, created, expires
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    store.close()
    return grown / count


def sqlite_file(count: int, users: int) -> float:
    path = Path(tempfile.mkdtemp(prefix="baas-auth-bench-")) / "tokens.db"
    store = SQLiteStore(path)
    store.close()
    before = _checkpointed_size(path)
    store = SQLiteStore(path)
    put_all(store, count, users)
    store.close()
    return (_checkpointed_size(path) - before) / count


def _checkpointed_size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def redis_memory(count: int, users: int, notes: Notes) -> float | None:
    server = start_redis(notes)  # type: ignore[arg-type]
    if server is None:
        return None
    from baas_auth.stores.redis import RedisStore

    try:
        store = RedisStore(server.url(3))
        store.generation()  # loads nothing; makes sure the server answers
        client = server.client(3)
        before = client.info("memory")["used_memory"]
        _pipelined_puts(store, client, count, users)
        after = client.info("memory")["used_memory"]
        store.close()
        client.close()
        return (after - before) / count
    finally:
        server.stop()


def _pipelined_puts(store: object, client: object, count: int, users: int) -> None:
    layout = store._layout  # type: ignore[attr-defined]
    first = True
    pipe = client.pipeline(transaction=False)  # type: ignore[attr-defined]
    for index, (token_id, principal, record, created, expires) in enumerate(
        tokens(count, app_users(users))
    ):
        call = layout.put_token(
            token_id, principal, record, created_ms=created, expires_at_ms=expires
        )
        if first:  # the script must be loaded once before EVALSHA finds it
            client.execute_command("SCRIPT", "LOAD", call.script.source)  # type: ignore[attr-defined]
            first = False
        pipe.execute_command(*call.command)
        if index % _BATCH == _BATCH - 1:
            pipe.execute()
    pipe.execute()


# -- whole grants through a Realm, refresh tokens off and on ----------------------------------


def _grants(realm: object, count: int, users: int) -> None:
    grant = realm.password_token  # type: ignore[attr-defined]
    for index in range(count):
        grant("acme", "shop", f"user{index % users:05d}", "wonderland")


def _seeded_realm(store: Store, users: int, refresh: bool) -> object:
    from baas_auth import PasswordHasher, Realm

    realm = Realm(store, password_hasher=PasswordHasher(n=16, r=1, p=1))
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    for index in range(users):
        realm.create_user("acme", "shop", f"user{index:05d}", password="wonderland")
    if refresh:
        realm.set_refresh_token_ttl("acme", "shop", 30 * 86_400_000)
    _grants(realm, users, users)  # every lazily made record exists before the measure
    return realm


def grants_memory(count: int, users: int, refresh: bool) -> float:
    realm = _seeded_realm(MemoryStore(), users, refresh)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    _grants(realm, count, users)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return grown / count


def grants_sqlite(count: int, users: int, refresh: bool) -> float:
    path = Path(tempfile.mkdtemp(prefix="baas-auth-bench-")) / "grants.db"
    realm = _seeded_realm(SQLiteStore(path), users, refresh)
    before = _checkpointed_size(path)
    _grants(realm, count, users)
    realm.close()  # type: ignore[attr-defined]
    return (_checkpointed_size(path) - before) / count


def grants_redis(count: int, users: int, refresh: bool, notes: Notes) -> float | None:
    server = start_redis(notes)  # type: ignore[arg-type]
    if server is None:
        return None
    from baas_auth.stores.redis import RedisStore

    try:
        realm = _seeded_realm(RedisStore(server.url(4)), users, refresh)
        client = server.client(4)
        before = client.info("memory")["used_memory"]
        _grants(realm, count, users)
        after = client.info("memory")["used_memory"]
        realm.close()  # type: ignore[attr-defined]
        client.close()
        return (after - before) / count
    finally:
        server.stop()


def grant_rows(count: int, users: int, only: str | None) -> None:
    notes = Notes()
    measures = {
        "memory store (tracemalloc)": lambda refresh: grants_memory(count, users, refresh),
        "SQLite (file growth)": lambda refresh: grants_sqlite(count, users, refresh),
        "Redis (INFO used_memory growth)": lambda r: grants_redis(count, users, r, notes),
    }
    print(f"\n{count:,} password grants, {users:,} users\n")
    print("| store | bytes per grant, refresh tokens off | on | a refresh token's share |")
    print("|---|---|---|---|")
    for name, measure in measures.items():
        if only is not None and not name.lower().startswith(only):
            continue
        off, on = measure(False), measure(True)
        if off is None or on is None:
            print(f"| {name} | skipped | skipped | |")
            continue
        print(f"| {name} | {off:.0f} | {on:.0f} | {on - off:.0f} |")
    for note in notes.notes:
        print(f"Note: {note}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--only", choices=("memory", "sqlite", "redis"))
    parser.add_argument("--grants", type=int, default=0, help="whole grants through a Realm")
    args = parser.parse_args()
    if args.grants:
        grant_rows(args.grants, args.users, args.only)
        return
    notes = Notes()
    rows: list[tuple[str, float | None]] = []
    if args.only in (None, "memory"):
        rows.append(("memory store (tracemalloc)", memory_store(args.tokens, args.users)))
    if args.only in (None, "sqlite"):
        rows.append(("SQLite (file growth)", sqlite_file(args.tokens, args.users)))
    if args.only in (None, "redis"):
        rows.append(
            ("Redis (INFO used_memory growth)", redis_memory(args.tokens, args.users, notes))
        )
    for note in notes.notes:
        print(f"Note: {note}", file=sys.stderr)
    print(f"\n{args.tokens:,} tokens, {args.users:,} users\n")
    print("| store | bytes per live token |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {'skipped' if value is None else f'{value:.0f}'} |")


if __name__ == "__main__":
    main()
