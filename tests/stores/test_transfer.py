"""Copying a realm between stores, and through a backup file (``baas_auth.stores.transfer``).

Real SQLite files and a real redis-server: every record and every live token arrives byte for
byte across SQLite → Redis → memory → SQLite; a copy made twice writes nothing the second time;
a destination holding another realm (or records of none) is refused and left untouched unless
forced; a copy that fails half way leaves the destination without its realm marker (a process
serving it refuses, one opening it does not claim it) and a re-run completes it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import pytest

from baas_auth import MemoryStore, Realm, SQLiteStore
from baas_auth.errors import RealmLostError, StoreError
from baas_auth.stores import Store
from baas_auth.stores.protocols import TokenEntry, TokenTransfer
from baas_auth.stores.transfer import (
    COPYING_KEY,
    REALM_KEY,
    TransferError,
    backup_realm,
    copy_realm,
    restore_realm,
)
from tests.conftest import FAST_HASHER, FakeClock, fresh_prefix
from tests.redis_server import RedisServer

PASSWORD = "correct horse battery"


def _tokens(store: Store) -> list[TokenEntry]:
    assert isinstance(store, TokenTransfer)
    return store.scan_tokens()


def _live(store: Store) -> list[TokenEntry]:
    """The tokens of the source fixture but its expired one."""
    return [entry for entry in _tokens(store) if entry.token_id != "e" * 64]


def _everything(store: Store) -> tuple[list[tuple[str, bytes]], list[TokenEntry]]:
    return store.scan(""), _tokens(store)


def seed(realm: Realm, clock: FakeClock) -> dict[str, str]:
    """A realm with users, a client, a role lapsing with inactivity, and tokens (one used)."""
    realm.create_org("acme")
    realm.create_app("acme", "shop")  # locked: the clerk role alone grants orders
    realm.create_role("acme", "shop", "clerk", inactivity_ms=600_000)
    realm.grant("acme", "shop", "get,put:/orders/**", role="clerk")
    realm.create_user("acme", "shop", "alice", password=PASSWORD, email="alice@example.com")
    realm.create_user("acme", "shop", "bob", password=PASSWORD)
    realm.assign_role("acme", "shop", "clerk", user="alice")
    creds = realm.create_credentials("acme", "shop")
    alice = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    bob = realm.password_token("acme", "shop", "bob", PASSWORD).access_token
    clock.advance_ms(5_000)
    assert realm.permits(
        realm.authenticate_token(alice), "PUT", "/orders/1", org="acme", app="shop"
    )
    return {"alice": alice, "bob": bob, "client_id": creds.client_id,
            "client_secret": creds.client_secret}


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def source(
    tmp_path: Path, clock: FakeClock, stack: ExitStack
) -> tuple[SQLiteStore, dict[str, str]]:
    store = stack.enter_context(closing(SQLiteStore(tmp_path / "source.db")))
    realm = Realm(store, clock=clock, password_hasher=FAST_HASHER)
    secrets = seed(realm, clock)
    # An expired token stays behind; the store has not collected it yet.
    store.put_token("e" * 64, "user:gone", b"expired", created_ms=1, expires_at_ms=clock.ms - 1)
    return store, secrets


def _redis(server: RedisServer, stack: ExitStack) -> Store:
    from baas_auth.stores.redis import RedisStore

    return stack.enter_context(closing(RedisStore(server.url, prefix=fresh_prefix())))


def test_records_and_live_tokens_arrive_byte_for_byte_across_every_store(
    source: tuple[SQLiteStore, dict[str, str]],
    redis_server: RedisServer,
    tmp_path: Path,
    clock: FakeClock,
    stack: ExitStack,
) -> None:
    store, _ = source
    records, tokens = _everything(store)
    live = [t for t in tokens if t.token_id != "e" * 64]
    assert len(live) == len(tokens) - 1
    assert any(t.accessed_ms != t.created_ms for t in live)  # a use, carried too
    assert REALM_KEY in dict(records)
    assert {"meta:signing_keys", "meta:client_secret_key"} <= set(dict(records))
    redis = _redis(redis_server, stack)
    memory = stack.enter_context(closing(MemoryStore()))
    back = stack.enter_context(closing(SQLiteStore(tmp_path / "back.db")))
    hops: list[Store] = [store, redis, memory, back]
    for origin, target in itertools.pairwise(hops):
        report = copy_realm(origin, target, now_ms=clock.ms)
        assert (report.records, report.tokens) == (len(records), len(live))
        assert _everything(target) == (records, live), type(target).__name__


def test_a_copied_realm_serves_the_same_users_clients_and_tokens(
    source: tuple[SQLiteStore, dict[str, str]],
    redis_server: RedisServer,
    clock: FakeClock,
    stack: ExitStack,
) -> None:
    store, secrets = source
    redis = _redis(redis_server, stack)
    copy_realm(store, redis, now_ms=clock.ms)
    copied = Realm(redis, clock=clock, password_hasher=FAST_HASHER)
    assert copied.authenticate_token(secrets["alice"]).username == "alice"
    assert copied.password_token("acme", "shop", "bob", PASSWORD).access_token
    assert copied.client_token(secrets["client_id"], secrets["client_secret"]).access_token
    clock.advance_ms(700_000)  # the clerk role lapses by alice's idle time, kept across
    principal = copied.authenticate_token(secrets["alice"])
    assert not copied.permits(principal, "PUT", "/orders/1", org="acme", app="shop")


def test_copying_twice_gives_the_same_destination_and_writes_nothing(
    source: tuple[SQLiteStore, dict[str, str]], clock: FakeClock, stack: ExitStack
) -> None:
    store, _ = source
    memory = stack.enter_context(closing(MemoryStore()))
    first = copy_realm(store, memory, now_ms=clock.ms)
    assert first.records_written == first.records
    generation, stamp = memory.generation(), memory.change_stamp()
    second = copy_realm(store, memory, now_ms=clock.ms)
    assert (second.records_written, second.records_removed) == (0, 0)
    assert (second.tokens_written, second.tokens_removed) == (0, 0)
    assert (memory.generation(), memory.change_stamp()) == (generation, stamp)
    assert copy_realm(store, store, now_ms=clock.ms).records_written == 0  # onto itself


def test_a_copy_onto_its_own_realm_brings_it_back_to_the_source(
    source: tuple[SQLiteStore, dict[str, str]], clock: FakeClock, stack: ExitStack
) -> None:
    store, secrets = source
    memory = stack.enter_context(closing(MemoryStore()))
    copy_realm(store, memory, now_ms=clock.ms)
    realm = Realm(memory, clock=clock, password_hasher=FAST_HASHER)
    realm.create_user("acme", "shop", "carol", password=PASSWORD)
    realm.password_token("acme", "shop", "carol", PASSWORD)
    realm.revoke_token(secrets["bob"])
    generation = memory.generation()
    report = copy_realm(store, memory, now_ms=clock.ms)
    assert report.records_removed > 0
    assert (report.tokens_written, report.tokens_removed) == (1, 1)
    assert _everything(memory) == (store.scan(""), _live(store))  # less the expired
    assert memory.generation() > generation  # moved on: nothing remembered is recalled


@pytest.mark.parametrize("occupant", ["another realm", "records of none", "tokens only"])
def test_a_destination_not_empty_is_refused_untouched_unless_forced(
    occupant: str, source: tuple[SQLiteStore, dict[str, str]], clock: FakeClock, stack: ExitStack
) -> None:
    store, _ = source
    memory = stack.enter_context(closing(MemoryStore()))
    if occupant == "another realm":
        other = Realm(memory, clock=clock, password_hasher=FAST_HASHER)
        seed(other, clock)
    elif occupant == "records of none":
        memory.put("stray:record", b"{}")
    else:
        memory.put_token("t", "user:1", b"r", created_ms=1, expires_at_ms=None)
    before = _everything(memory)
    with pytest.raises(TransferError, match="--force"):
        copy_realm(store, memory, now_ms=clock.ms)
    assert _everything(memory) == before
    copy_realm(store, memory, force=True, now_ms=clock.ms)
    assert _everything(memory) == (store.scan(""), _live(store))


def test_a_source_holding_no_realm_is_refused(stack: ExitStack) -> None:
    empty, memory = MemoryStore(), stack.enter_context(closing(MemoryStore()))
    with pytest.raises(TransferError, match="holds no realm"):
        copy_realm(empty, memory)
    empty.put("org:old", b"{}")
    with pytest.raises(TransferError, match="no realm marker"):
        copy_realm(empty, memory)
    assert memory.scan("") == []


def test_without_tokens_the_destination_keeps_none(
    source: tuple[SQLiteStore, dict[str, str]], clock: FakeClock, stack: ExitStack
) -> None:
    store, _ = source
    memory = stack.enter_context(closing(MemoryStore()))
    copy_realm(store, memory, now_ms=clock.ms)
    report = copy_realm(store, memory, tokens=False, now_ms=clock.ms)
    assert report.tokens == 0
    assert report.tokens_removed == 2
    assert _everything(memory) == (store.scan(""), [])


class FailingAfter:
    """A store whose directory writes fail (``StoreError``) after ``writes`` of them."""

    def __init__(self, inner: MemoryStore, writes: int) -> None:
        self.inner = inner
        self.writes = writes

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def transact(self, **changes: object) -> bool:
        if self.writes == 0:
            raise StoreError("memory store: failed on purpose")
        self.writes -= 1
        return self.inner.transact(**changes)  # type: ignore[arg-type]


def test_a_copy_failing_half_way_leaves_no_realm_and_a_re_run_completes_it(
    source: tuple[SQLiteStore, dict[str, str]], clock: FakeClock, stack: ExitStack
) -> None:
    store, secrets = source
    memory = stack.enter_context(closing(MemoryStore()))
    copy_realm(store, memory, now_ms=clock.ms)
    serving = Realm(memory, clock=clock, password_hasher=FAST_HASHER)
    assert serving.authenticate_token(secrets["alice"]).username == "alice"
    memory.put("stray:record", b"{}")  # something for the copy to undo
    with pytest.raises(StoreError, match="on purpose"):
        copy_realm(store, FailingAfter(memory, 1), now_ms=clock.ms)  # type: ignore[arg-type]
    assert memory.get(REALM_KEY) is None
    assert memory.get(COPYING_KEY) == store.get(REALM_KEY)
    with pytest.raises(RealmLostError):  # a process serving it refuses: 503
        serving.authenticate_token(secrets["alice"])
    opened = Realm(memory, clock=clock, password_hasher=FAST_HASHER)
    with pytest.raises(RealmLostError, match="copy"):  # one opening it does not claim it
        opened.list_orgs()
    assert memory.get(REALM_KEY) is None
    copy_realm(store, memory, now_ms=clock.ms)  # no --force needed: the same realm's copy
    assert _everything(memory) == (store.scan(""), _live(store))
    assert serving.authenticate_token(secrets["alice"]).username == "alice"  # no restart
    assert [org.name for org in opened.list_orgs()] == ["acme"]


def test_backup_and_restore_through_a_file(
    source: tuple[SQLiteStore, dict[str, str]],
    redis_server: RedisServer,
    tmp_path: Path,
    clock: FakeClock,
    stack: ExitStack,
) -> None:
    store, secrets = source
    path = tmp_path / "realm.backup"
    report = backup_realm(store, path, now_ms=clock.ms)  # SQLite: the online backup API
    assert (report.records, report.tokens) == (len(store.scan("")), 2)
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if "backup" in p.name) == [path.name]
    redis = _redis(redis_server, stack)
    restore_realm(path, redis, now_ms=clock.ms)
    assert _everything(redis) == (store.scan(""), _live(store))
    again = tmp_path / "from-redis.backup"
    backup_realm(redis, again, now_ms=clock.ms)  # record by record
    memory = stack.enter_context(closing(MemoryStore()))
    restore_realm(again, memory, now_ms=clock.ms)
    assert _everything(memory) == _everything(redis)
    realm = Realm(memory, clock=clock, password_hasher=FAST_HASHER)
    assert realm.authenticate_token(secrets["bob"]).username == "bob"


def test_a_backup_file_is_private_whatever_the_umask(
    source: tuple[SQLiteStore, dict[str, str]], tmp_path: Path, clock: FakeClock
) -> None:
    import os

    store, _ = source
    saved = os.umask(0)
    try:
        backup_realm(store, tmp_path / "open.backup", now_ms=clock.ms)
        os.umask(0o277)  # owner-read only: still written, then 0600
        backup_realm(store, tmp_path / "narrow.backup", now_ms=clock.ms)
    finally:
        os.umask(saved)
    for name in ("open.backup", "narrow.backup"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600


def test_an_existing_backup_file_is_replaced_only_when_asked(
    source: tuple[SQLiteStore, dict[str, str]], tmp_path: Path, clock: FakeClock
) -> None:
    store, _ = source
    path = tmp_path / "realm.backup"
    path.write_bytes(b"keep me")
    with pytest.raises(TransferError, match="exists"):
        backup_realm(store, path, now_ms=clock.ms)
    assert path.read_bytes() == b"keep me"
    backup_realm(store, path, overwrite=True, now_ms=clock.ms)
    assert path.stat().st_mode & 0o777 == 0o600


def _damage(path: Path, how: str) -> None:
    import sqlite3

    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "not a database":
        path.write_bytes(b"just some text\n" * 100)
    else:
        with closing(sqlite3.connect(path)) as conn, conn:
            if how == "a record changed":
                conn.execute("UPDATE records SET value = x'00' WHERE key = 'meta:signing_keys'")
            elif how == "a token added":
                conn.execute(
                    "INSERT INTO tokens VALUES ('x', 'user:x', x'00', 1, 1, 0, NULL)"
                )
            elif how == "another version":
                conn.execute("UPDATE backup SET value = '2' WHERE name = 'version'")
            elif how == "not a backup":
                conn.execute("DROP TABLE backup")


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", "not a readable"),
        ("not a database", "not a readable"),
        ("a record changed", "digest does not match"),
        ("a token added", "digest does not match"),
        ("another version", "format version 2"),
        ("not a backup", "not a baas-auth backup"),
    ],
)
def test_a_damaged_backup_is_refused_and_nothing_written(
    how: str,
    message: str,
    source: tuple[SQLiteStore, dict[str, str]],
    tmp_path: Path,
    clock: FakeClock,
    stack: ExitStack,
) -> None:
    store, _ = source
    path = tmp_path / "realm.backup"
    backup_realm(store, path, now_ms=clock.ms)
    _damage(path, how)
    memory = stack.enter_context(closing(MemoryStore()))
    with pytest.raises(TransferError, match=message):
        restore_realm(path, memory, now_ms=clock.ms)
    assert _everything(memory) == ([], [])


def test_a_missing_or_unreadable_backup_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(TransferError, match="no backup file"):
        restore_realm(tmp_path / "absent", MemoryStore())
    folder = tmp_path / "a folder.backup"
    folder.mkdir()
    with pytest.raises(TransferError, match="no backup file"):
        restore_realm(folder, MemoryStore())
    # File modes do not stop root (CI runs as root): the system's answer is what is replaced.
    locked = tmp_path / "locked.backup"
    locked.write_bytes(b"")
    monkeypatch.setattr("os.access", lambda path, mode: Path(path) != locked)
    with pytest.raises(TransferError, match="cannot be read"):
        restore_realm(locked, MemoryStore())


def test_the_copying_key_is_the_one_the_realm_checks() -> None:
    from baas_auth.realm import marker

    assert marker.REALM_KEY == REALM_KEY
    assert marker.COPYING_KEY == COPYING_KEY


def test_a_backup_that_cannot_be_written_is_a_transfer_error_and_leaves_nothing(
    source: tuple[SQLiteStore, dict[str, str]], tmp_path: Path, clock: FakeClock
) -> None:
    store, _ = source
    folder = tmp_path / "a folder"
    folder.mkdir()
    with pytest.raises(TransferError, match="cannot write"):
        backup_realm(store, folder, overwrite=True, now_ms=clock.ms)  # a folder, not a file
    with pytest.raises(TransferError, match="does not exist"):
        backup_realm(store, tmp_path / "absent" / "realm.backup", now_ms=clock.ms)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
    assert list(folder.iterdir()) == []


def test_an_async_store_is_refused_with_the_way_round() -> None:
    class AsyncMemory:
        async def scan(self, prefix: str) -> list[tuple[str, bytes]]:
            return []

    with pytest.raises(TransferError, match="RedisStore on the same URL"):
        copy_realm(AsyncMemory(), MemoryStore())  # type: ignore[arg-type]
    with pytest.raises(TransferError, match="RedisStore on the same URL"):
        copy_realm(MemoryStore(), AsyncMemory())  # type: ignore[arg-type]


def test_a_restore_never_brings_the_generation_back_to_one_a_process_served(
    tmp_path: Path, clock: FakeClock
) -> None:
    """SQLite's generation is a counter: a file whose content went back to an older copy, then
    restored with a few writes, could land on the very generation a process holds a directory
    snapshot of, and that process would go on granting a rule the restored store no longer
    holds. The restore moves the generation past every value the file held."""
    import sqlite3

    path = tmp_path / "auth.db"
    writer = Realm(SQLiteStore(path), clock=clock, password_hasher=FAST_HASHER)
    writer.create_org("acme")
    writer.create_app("acme", "shop")
    writer.create_user("acme", "shop", "alice", password=PASSWORD)
    writer.grant("acme", "shop", "get:/books", role="default")
    token = writer.password_token("acme", "shop", "alice", PASSWORD).access_token
    older = tmp_path / "older.db"
    with closing(sqlite3.connect(path)) as live, closing(sqlite3.connect(older)) as copy:
        live.backup(copy)  # the content at generation g
    writer.revoke_grant("acme", "shop", "get:/books", role="default")  # g + 1
    backup_realm(writer.store, tmp_path / "revoked.backup", now_ms=clock.ms)
    writer.grant("acme", "shop", "get:/books", role="default")  # g + 2
    writer.create_user("acme", "shop", "bob", password=PASSWORD)  # g + 3
    serving = Realm(SQLiteStore(path), clock=clock, password_hasher=FAST_HASHER)
    alice = serving.authenticate_token(token)
    assert serving.permits(alice, "GET", "/books", org="acme", app="shop")  # under g + 3
    with closing(sqlite3.connect(older)) as copy, closing(sqlite3.connect(path)) as live:
        copy.backup(live)  # the content goes back to generation g
    with closing(SQLiteStore(path)) as store:
        report = restore_realm(tmp_path / "revoked.backup", store, now_ms=clock.ms)
    assert report.records_written == 1  # the role: hide the marker, write, show: three writes
    alice = serving.authenticate_token(token)
    assert not serving.permits(alice, "GET", "/books", org="acme", app="shop")
    serving.close()
    writer.close()


def test_a_sqlite_source_is_read_as_one_snapshot(
    source: tuple[SQLiteStore, dict[str, str]],
    tmp_path: Path,
    clock: FakeClock,
    stack: ExitStack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What another process writes between the read of the records and that of the tokens is
    in neither: a user created then, and a token issued to it, never arrive half."""
    store, _ = source
    other = stack.enter_context(closing(SQLiteStore(tmp_path / "source.db")))
    listing = store.scan_tokens

    def meanwhile() -> list[TokenEntry]:
        other.put("stray:record", b"written meanwhile")
        other.put_token("f" * 64, "user:late", b"late", created_ms=1, expires_at_ms=None)
        return listing()

    monkeypatch.setattr(store, "scan_tokens", meanwhile)
    memory = stack.enter_context(closing(MemoryStore()))
    copy_realm(store, memory, now_ms=clock.ms)
    assert memory.get("stray:record") is None
    assert "f" * 64 not in {entry.token_id for entry in _tokens(memory)}
