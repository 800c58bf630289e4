"""SQLite-only behaviour: the file, WAL, other processes, threads, and failing closed."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from baas_auth.errors import StoreError
from baas_auth.stores import SQLiteStore, Store, TokenLookup
from baas_auth.stores import sqlite as sqlite_module
from tests.stores.sqlite_helpers import finish, python_process
from tests.threads import run_threads


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "auth.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(db_path)
    yield opened
    opened.close()


# The file


def test_data_persists_across_reopen(db_path: Path) -> None:
    first = SQLiteStore(db_path)
    first.put("k", b"v")
    first.create("c", b"w")
    first.put_token("t1", "user:a", b"rec", created_ms=0, expires_at_ms=None)
    assert first.touch_token("t1", 700) == 700
    generation = first.generation()
    first.close()
    second = SQLiteStore(db_path)
    try:
        assert second.get_many(["k", "c"]) == [b"v", b"w"]
        assert second.get_token("t1").record == b"rec"
        assert second.generation() == generation
        assert second.touch_token("t1", 800) == 700  # the use history persisted too
    finally:
        second.close()


def test_wal_mode_is_on(store: SQLiteStore, db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@POSIX_ONLY
def test_created_file_is_private(store: SQLiteStore, db_path: Path) -> None:
    store.put("k", b"v")
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    wal = db_path.with_name(db_path.name + "-wal")
    assert stat.S_IMODE(wal.stat().st_mode) == 0o600


@POSIX_ONLY
def test_existing_file_keeps_its_mode(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    db_path.chmod(0o640)
    SQLiteStore(db_path).close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o640


def test_close_closes_every_thread_connection(store: SQLiteStore, db_path: Path) -> None:
    run_threads(4, lambda i: store.put(f"k{i}", b"v"))
    store.close()
    # SQLite removes the WAL file when the last connection to the database closes.
    assert not db_path.with_name(db_path.name + "-wal").exists()


# Other processes

_READER = """
import sys
from baas_auth.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
lookup = store.get_token("t1")
print(lookup.record.decode(), lookup.generation, store.get("dir").decode())
assert store.delete_token("t1")
store.put_token("t2", "user:b", b"from child", created_ms=5, expires_at_ms=None)
store.put("child", b"was here")
store.close()
"""


def test_second_process_sees_writes_at_once(store: SQLiteStore, db_path: Path) -> None:
    store.put("dir", b"parent")
    store.put_token("t1", "user:a", b"from parent", created_ms=1, expires_at_ms=None)
    before = store.generation()
    out = finish(python_process(_READER, str(db_path)))
    assert out.split() == ["from", "parent", str(before), "parent"]
    # The parent's connections, still open, see the child's writes.
    assert store.get_token("t1").record is None
    assert store.get_token("t2") == TokenLookup(b"from child", before + 1)
    assert store.get("child") == b"was here"
    assert store.generation() == before + 1


_WRITER = """
import sys, threading
from baas_auth.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
tag, threads, count = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
won = []
def work(i):
    for n in range(count):
        store.put(f"{tag}/{i}/{n}", b"v")
    if store.create("shared", tag.encode()):
        won.append(tag)
workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
for w in workers: w.start()
for w in workers: w.join()
store.close()
print(len(won))
"""


def test_concurrent_writers_lose_no_generation(store: SQLiteStore, db_path: Path) -> None:
    before = store.generation()
    children = [python_process(_WRITER, str(db_path), tag, "4", "40") for tag in ("p1", "p2")]

    def work(i: int) -> None:
        for n in range(40):
            store.put(f"parent/{i}/{n}", b"v")

    run_threads(3, work)
    wins = sum(int(finish(child)) for child in children)
    assert wins == 1  # create is atomic across processes too
    assert store.get("shared") in (b"p1", b"p2")
    writes = 2 * 4 * 40 + 3 * 40 + wins
    assert store.generation() == before + writes
    assert len(store.scan("p1/")) == len(store.scan("p2/")) == 160


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_opens_its_own_connection(store: SQLiteStore) -> None:
    store.put("before", b"fork")
    pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        try:
            store.put("child", b"forked")
            os._exit(0 if store.get("before") == b"fork" else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert store.get("child") == b"forked"


# Threads


def test_threads_share_one_store(store: SQLiteStore) -> None:
    def work(i: int) -> None:
        for n in range(25):
            store.put(f"t{i}/{n}", str(n).encode())
            store.put_token(f"tok{i}/{n}", f"user:{i}", b"r", created_ms=0, expires_at_ms=None)
            assert store.get_token(f"tok{i}/{n}").record == b"r"
            assert store.touch_token(f"tok{i}/{n}", n) == n
        assert len(store.scan(f"t{i}/")) == 25

    before = store.generation()
    run_threads(8, work)
    assert store.generation() == before + 8 * 25
    assert sum(store.delete_principal_tokens(f"user:{i}") for i in range(8)) == 8 * 25


def test_touch_without_returning(store: SQLiteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "_HAS_RETURNING", False)
    store.put_token("t1", "user:a", b"r", created_ms=1_000, expires_at_ms=None)
    assert [store.touch_token("t1", now) for now in [1_500, 1_600, 2_400, 2_300]] == [
        500,
        500,
        800,
        800,
    ]
    assert store.touch_token("missing", 1) is None


# Failing closed


def test_directory_path_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        SQLiteStore(tmp_path)


def test_missing_folder_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        SQLiteStore(tmp_path / "absent" / "auth.db")
    assert not (tmp_path / "absent").exists()


@pytest.mark.parametrize("path", [":memory:", ""])
def test_memory_path_is_refused(path: str) -> None:
    with pytest.raises(StoreError):
        SQLiteStore(path)


def _open_and_read(path: Path) -> None:
    opened = SQLiteStore(path)
    try:
        opened.scan("")
        opened.get_token("t1")
    finally:
        opened.close()


@pytest.mark.parametrize(
    "garbage", [b"not a database\n" * 500, bytes(range(256)) * 40, b"\x00" * 4096]
)
def test_garbage_file_is_a_store_error(db_path: Path, garbage: bytes) -> None:
    db_path.write_bytes(garbage)
    with pytest.raises(StoreError) as caught:
        _open_and_read(db_path)
    assert isinstance(caught.value.__cause__, sqlite3.Error)


def test_corrupted_store_is_a_store_error(db_path: Path) -> None:
    made = SQLiteStore(db_path)
    for n in range(200):
        made.put(f"k{n}", b"v" * 100)
    made.close()
    data = bytearray(db_path.read_bytes())
    data[100:] = b"\xa5" * (len(data) - 100)  # keep the header, ruin every page
    db_path.write_bytes(bytes(data))
    with pytest.raises(StoreError):
        _open_and_read(db_path)


def test_unknown_schema_version_is_refused(db_path: Path) -> None:
    SQLiteStore(db_path).close()
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute("UPDATE meta SET value = 99 WHERE name = 'schema_version'")
    raw.close()
    with pytest.raises(StoreError, match="schema version"):
        SQLiteStore(db_path)


OPERATIONS: list[Callable[[Store], object]] = [
    lambda s: s.get("k"),
    lambda s: s.get_many(["k"]),
    lambda s: s.put("k", b"v"),
    lambda s: s.create("k", b"v"),
    lambda s: s.delete("k"),
    lambda s: s.scan("k"),
    lambda s: s.generation(),
    lambda s: s.put_token("t", "p", b"r", created_ms=0, expires_at_ms=None),
    lambda s: s.get_token("t"),
    lambda s: s.touch_token("t", 1),
    lambda s: s.delete_token("t"),
    lambda s: s.delete_principal_tokens("p"),
    lambda s: s.purge_expired(1),
]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_fails_closed(
    store: SQLiteStore, db_path: Path, operation: Callable[[Store], object]
) -> None:
    raw = sqlite3.connect(db_path, isolation_level=None)
    raw.execute("DROP TABLE records")
    raw.execute("DROP TABLE tokens")
    raw.execute("DROP TABLE meta")
    raw.close()
    with pytest.raises(StoreError) as caught:
        operation(store)
    assert isinstance(caught.value.__cause__, sqlite3.Error)


def test_busy_database_times_out_as_store_error_and_recovers(db_path: Path) -> None:
    quick = SQLiteStore(db_path, timeout=0.05)
    raw = sqlite3.connect(db_path, isolation_level=None)
    try:
        raw.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
        with pytest.raises(StoreError, match="locked"):
            quick.put("k", b"v")
        assert quick.get("k") is None  # readers are not blocked in WAL mode
        raw.execute("ROLLBACK")
        quick.put("k", b"v")  # the failed write left no transaction open
        assert quick.get("k") == b"v"
    finally:
        raw.close()
        quick.close()


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [
        ("", None),
        ("a", "b"),
        ("a/", "a0"),
        ("a\U0010ffff", "b"),
        ("\U0010ffff\U0010ffff", None),
        ("\ud7ff", "\ue000"),
        ("\uffff", "\U00010000"),
    ],
)
def test_upper_bound(prefix: str, bound: str | None) -> None:
    assert sqlite_module._upper_bound(prefix) == bound
