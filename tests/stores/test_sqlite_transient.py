"""SQLite-only behaviour of schema version 2: the upgrade from version 1, transient records and
``transact`` across processes, the periodic sweep of old transient records, failing closed."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from baas_auth.errors import StoreError
from baas_auth.stores import SQLiteStore, Store
from baas_auth.stores import sqlite as sqlite_module
from tests.stores.sqlite_helpers import finish, python_process
from tests.threads import run_threads

DAY_MS = 86_400_000

# The schema of version 1, as baas_auth wrote it before the transient table (commit c1d0bb9).
_SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    principal_key TEXT NOT NULL,
    record BLOB NOT NULL,
    created_ms INTEGER,
    accessed_ms INTEGER,
    inactive_ms INTEGER,
    expires_at_ms INTEGER NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_principal ON tokens (principal_key);
CREATE INDEX IF NOT EXISTS tokens_by_expiry ON tokens (expires_at_ms);
INSERT OR IGNORE INTO meta (name, value) VALUES ('generation', 0);
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', 1)
"""


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "auth.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(db_path)
    yield opened
    opened.close()


def _raw_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """Rows read straight from the file, beside the store's own connections."""
    raw = sqlite3.connect(path)
    try:
        return raw.execute(sql).fetchall()
    finally:
        raw.close()


def _schema(path: Path) -> list[tuple[object, ...]]:
    return _raw_rows(path, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name")


def _meta(path: Path) -> dict[object, object]:
    return {row[0]: row[1] for row in _raw_rows(path, "SELECT name, value FROM meta")}


def _transient_keys(path: Path) -> list[object]:
    return [key for (key,) in _raw_rows(path, "SELECT key FROM transient ORDER BY key")]


# Schema versions


def _make_version_1(path: Path) -> None:
    """A file as version 1 of the store left it: WAL, no transient table, some data."""
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute("PRAGMA journal_mode = WAL")
        raw.executescript(_SCHEMA_V1)
        raw.execute("INSERT INTO records (key, value) VALUES ('user:1', x'00ff01')")
        raw.execute("INSERT INTO records (key, value) VALUES ('role:a', x'61646d696e')")
        raw.execute(
            "INSERT INTO tokens VALUES ('t1', 'user:1', x'7265636f7264', 1000, 1500, 500, NULL)"
        )
        raw.execute("UPDATE meta SET value = 7 WHERE name = 'generation'")
    finally:
        raw.close()


def test_version_1_file_is_upgraded_in_place(db_path: Path) -> None:
    _make_version_1(db_path)
    assert "transient" not in {name for _, name, _ in _schema(db_path)}
    upgraded = SQLiteStore(db_path)
    try:
        assert _meta(db_path) == {"generation": 7, "schema_version": 2}
        names = {name for _, name, _ in _schema(db_path)}
        assert {"transient", "transient_by_expiry"} <= names
        # The records, the tokens and their use history, and the generation are kept.
        assert upgraded.scan("") == [("role:a", b"admin"), ("user:1", b"\x00\xff\x01")]
        assert upgraded.get_token("t1") == (b"record", 7)
        assert upgraded.touch_token("t1", 1_600) == 500
        # The new table works, and transient writes leave the old generation alone.
        assert upgraded.get_transient("n") is None
        assert upgraded.swap_transient("n", None, b"v", expires_at_ms=10_000)
        assert upgraded.transact(create={"new": b"x"}, delete=["role:a"])
        assert upgraded.generation() == 8
    finally:
        upgraded.close()
    schema = _schema(db_path)
    reopened = SQLiteStore(db_path)  # an upgraded file opens as any version-2 file
    try:
        assert _schema(db_path) == schema
        assert _meta(db_path) == {"generation": 8, "schema_version": 2}
        assert reopened.get_transient("n") == b"v"
        assert reopened.scan("") == [("new", b"x"), ("user:1", b"\x00\xff\x01")]
    finally:
        reopened.close()


def test_version_1_file_opened_by_many_at_once(db_path: Path) -> None:
    # Every opener runs the upgrade; BEGIN IMMEDIATE makes them take turns, and all succeed.
    _make_version_1(db_path)
    opened: list[SQLiteStore] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        one = SQLiteStore(db_path)
        with lock:
            opened.append(one)
        assert one.swap_transient(f"n{i}", None, b"v", expires_at_ms=10_000)

    try:
        run_threads(6, work)
    finally:
        for one in opened:
            one.close()
    assert _meta(db_path) == {"generation": 7, "schema_version": 2}
    assert _transient_keys(db_path) == [f"n{i}" for i in range(6)]


def test_new_file_reports_version_2(store: SQLiteStore, db_path: Path) -> None:
    assert sqlite_module.SCHEMA_VERSION == 2
    meta = _meta(db_path)
    generation = meta["generation"]
    assert meta == {"generation": generation, "schema_version": 2}
    assert isinstance(generation, int)
    assert 0 <= generation < 2**52  # a random start: see sqlite.py


def test_version_3_file_is_refused_and_left_alone(db_path: Path) -> None:
    made = SQLiteStore(db_path)
    made.put("k", b"v")
    made.close()
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("UPDATE meta SET value = 3 WHERE name = 'schema_version'")
    raw.execute("DROP TABLE transient")  # a later version may well have reshaped it
    raw.close()
    schema, meta = _schema(db_path), _meta(db_path)
    with pytest.raises(StoreError, match="schema version 3"):
        SQLiteStore(db_path)
    # Refusing the file must not write this version's tables into it.
    assert _schema(db_path) == schema
    assert _meta(db_path) == meta


# Other processes

_OBSERVER = """
import sys
from baas_auth.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
print(store.get_transient("n").decode(), store.generation())
assert store.swap_transient("n", b"parent", b"child", expires_at_ms=10**9)
assert store.swap_transient("gone", b"x", None, expires_at_ms=10**9)
assert not store.transact(create={"taken": b"child", "never": b"child"})
assert store.transact(create={"c": b"child"}, put={"p": b"child"}, delete=["d"])
store.close()
"""


def test_transient_and_transact_seen_by_another_process(store: SQLiteStore, db_path: Path) -> None:
    assert store.swap_transient("n", None, b"parent", expires_at_ms=10**9)
    assert store.swap_transient("gone", None, b"x", expires_at_ms=10**9)
    store.put("taken", b"parent")
    store.put("d", b"doomed")
    before = store.generation()
    out = finish(python_process(_OBSERVER, str(db_path)))
    assert out.split() == ["parent", str(before)]
    # The parent's open connections see the child's writes at once.
    assert store.get_transient("n") == b"child"
    assert store.get_transient("gone") is None
    assert store.scan("") == [("c", b"child"), ("p", b"child"), ("taken", b"parent")]
    assert store.generation() == before + 1  # one transact; transient writes bump nothing


_RACER = """
import sys, threading
from baas_auth.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
tag, threads, rounds = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
won = []
def work(i):
    if store.transact(create={"claim:x": tag.encode(), f"rec:{tag}/{i}": b"r"}):
        won.append(i)
    for _ in range(rounds):
        while True:
            raw = store.get_transient("counter")
            count = 0 if raw is None else int(raw)
            if store.swap_transient("counter", raw, str(count + 1).encode(), expires_at_ms=10**9):
                break
workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
store.close()
print(len(won))
"""


def test_transact_and_swap_race_across_processes(store: SQLiteStore, db_path: Path) -> None:
    before = store.generation()
    threads, rounds = 3, 30
    children = [
        python_process(_RACER, str(db_path), tag, str(threads), str(rounds)) for tag in ("p1", "p2")
    ]
    won: list[int] = []

    def work(i: int) -> None:
        if store.transact(create={"claim:x": b"parent", f"rec:parent/{i}": b"r"}):
            won.append(i)
        for _ in range(rounds):
            while True:
                raw = store.get_transient("counter")
                count = 0 if raw is None else int(raw)
                if store.swap_transient(
                    "counter", raw, str(count + 1).encode(), expires_at_ms=10**9
                ):
                    break

    run_threads(threads, work)
    wins = len(won) + sum(int(finish(child)) for child in children)
    assert wins == 1  # one transact claimed the key, in all three processes together
    claimed = store.get("claim:x")
    assert claimed in (b"parent", b"p1", b"p2")
    records = store.scan("rec:")
    assert len(records) == 1
    assert records[0][0].startswith(f"rec:{claimed.decode()}/")
    assert store.get_transient("counter") == str(3 * threads * rounds).encode()  # none lost
    assert store.generation() == before + 1


# The periodic sweep of transient records


def _fill_for_sweep(store: SQLiteStore, ends: int, tag: str = "") -> None:
    """Records that ended more than a day before ``ends``, one that ended exactly a day before,
    and a recent one: 6 swaps."""
    for n in range(4):
        old = ends - DAY_MS - 1 - n
        assert store.swap_transient(f"{tag}old/{n}", None, b"v", expires_at_ms=old)
    assert store.swap_transient(f"{tag}edge", None, b"v", expires_at_ms=ends - DAY_MS)
    assert store.swap_transient(f"{tag}recent", None, b"v", expires_at_ms=ends - 1_000)


def test_sweep_after_1024_swaps(store: SQLiteStore, db_path: Path) -> None:
    assert sqlite_module._TRANSIENT_SWEEP_EVERY == 1024
    ends = 100 * DAY_MS
    _fill_for_sweep(store, ends)
    for n in range(1024 - 6 - 1):
        expected = None if n == 0 else str(n - 1).encode()
        assert store.swap_transient("busy", expected, str(n).encode(), expires_at_ms=ends)
    assert len(_transient_keys(db_path)) == 4 + 3  # 1,023 swaps: not yet swept
    assert store.swap_transient("busy", b"1016", b"last", expires_at_ms=ends)
    assert _transient_keys(db_path) == ["busy", "edge", "recent"]
    # The sweep kept the live records usable.
    assert store.get_transient("recent") == b"v"
    assert store.swap_transient("recent", b"v", None, expires_at_ms=ends)


def test_sweep_runs_again_and_again(
    store: SQLiteStore, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "_TRANSIENT_SWEEP_EVERY", 8)
    for cycle in range(1, 4):
        ends, tag = cycle * 10 * DAY_MS, f"{cycle}/"
        _fill_for_sweep(store, ends, tag)
        # Failed swaps are not writes: they do not count towards the sweep.
        assert not store.swap_transient(f"{tag}recent", b"wrong", b"x", expires_at_ms=ends)
        assert store.swap_transient(f"{tag}tick", None, b"1", expires_at_ms=ends)
        assert set(_transient_keys(db_path)) >= {f"{tag}old/{n}" for n in range(4)}  # 7 swaps
        assert store.swap_transient(f"{tag}tick", b"1", b"2", expires_at_ms=ends)
        # This cycle's old records went, and so did every record of the cycle before.
        assert _transient_keys(db_path) == [f"{tag}edge", f"{tag}recent", f"{tag}tick"]


def test_sweep_ignores_records_of_the_directory_and_tokens(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_module, "_TRANSIENT_SWEEP_EVERY", 2)
    store.put("k", b"v")
    store.put_token("t", "user:1", b"r", created_ms=0, expires_at_ms=1)
    before = store.generation()
    assert store.swap_transient("old", None, b"v", expires_at_ms=1)
    assert store.swap_transient("new", None, b"v", expires_at_ms=10 * DAY_MS)
    assert store.get_transient("old") is None
    assert store.get("k") == b"v"
    assert store.get_token("t").record == b"r"  # only purge_expired collects tokens
    assert store.generation() == before


# Failing closed


NEW_OPERATIONS: list[Callable[[Store], object]] = [
    lambda s: s.transact(put={"k": b"v"}),
    lambda s: s.transact(create={"k": b"v"}),
    lambda s: s.transact(delete=["k"]),
    lambda s: s.get_transient("n"),
    lambda s: s.swap_transient("n", None, b"v", expires_at_ms=1),
    lambda s: s.purge_expired(1),
]


@pytest.mark.parametrize("operation", NEW_OPERATIONS)
def test_new_operations_fail_closed(
    store: SQLiteStore, db_path: Path, operation: Callable[[Store], object]
) -> None:
    raw = sqlite3.connect(db_path, isolation_level=None)
    for table in ("records", "transient", "meta"):
        raw.execute(f"DROP TABLE {table}")
    raw.close()
    with pytest.raises(StoreError) as caught:
        operation(store)
    assert isinstance(caught.value.__cause__, sqlite3.Error)


@pytest.mark.parametrize(
    "write",
    [
        lambda s: s.swap_transient("n", None, b"v", expires_at_ms=10**9),
        lambda s: s.transact(create={"c": b"v"}, put={"p": b"v"}),
    ],
    ids=["swap_transient", "transact"],
)
def test_busy_database_times_out_and_recovers(
    db_path: Path, write: Callable[[Store], bool]
) -> None:
    quick = SQLiteStore(db_path, timeout=0.05)
    raw = sqlite3.connect(db_path, isolation_level=None)
    try:
        raw.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        with pytest.raises(StoreError, match="locked"):
            write(quick)
        assert quick.get_transient("n") is None  # readers are not blocked in WAL mode
        raw.execute("ROLLBACK")
        assert write(quick) is True  # the failed write left no transaction open
    finally:
        raw.close()
        quick.close()
