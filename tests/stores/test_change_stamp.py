"""``change_stamp``, the freshness check behind the adapters' recalled admissions (behaviour §7).

It must move after every write that can change a decision, whoever made it: this process on
the same thread (on SQLite: the same connection, whose own commits do not move its
``data_version``), another thread, another store object on the same file, another process;
it must stay put while nothing is written, and answer None (never raise) once the store cannot.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from baas_auth.stores import MemoryStore, SQLiteStore, Store
from baas_auth.stores._sqlite_wal_index import WalIndexHeader
from baas_auth.stores.protocols import ChangeStamped
from tests.stores.sqlite_helpers import PausedBetweenTheTwoSteps, finish, python_process
from tests.threads import run_threads

Write = Callable[[Store], object]

DECISIVE_WRITES: dict[str, Write] = {
    "put": lambda s: s.put("role:x", b"changed"),
    "create": lambda s: s.create("role:new", b"new"),
    "delete": lambda s: s.delete("role:x"),
    "transact": lambda s: s.transact(put={"role:x": b"again"}),
    "delete_token": lambda s: s.delete_token("t1"),
    "delete_principal_tokens": lambda s: s.delete_principal_tokens("user:a"),
    "purge_expired": lambda s: s.purge_expired(10_000),
    "replace_token": lambda s: s.put_token("t1", "user:a", b"other", created_ms=1, expires_at_ms=5),
}


@pytest.fixture(params=["memory", "sqlite"])
def stamped(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    store: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    store.put("role:x", b"v")
    store.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=5)
    yield store
    store.close()


def stamp(store: Store) -> int | None:
    assert isinstance(store, ChangeStamped)
    return store.change_stamp()


def test_the_stamp_stays_while_nothing_is_written(stamped: Store) -> None:
    first = stamp(stamped)
    assert first is not None
    stamped.get("role:x")
    stamped.get_token("t1")
    stamped.generation()
    assert stamp(stamped) == first


@pytest.mark.parametrize("write", list(DECISIVE_WRITES))
def test_every_decisive_write_on_the_same_thread_moves_it(stamped: Store, write: str) -> None:
    before = stamp(stamped)
    DECISIVE_WRITES[write](stamped)
    assert stamp(stamped) != before


def test_a_write_on_another_thread_moves_it(stamped: Store) -> None:
    before = stamp(stamped)
    run_threads(1, lambda _: stamped.delete_token("t1"))
    assert stamp(stamped) != before


def test_memory_issuing_a_token_changes_no_decision(tmp_path: Path) -> None:
    """Issuing a token or counting a login attempt makes no admission untrue."""
    store = MemoryStore()
    before = store.change_stamp()
    store.put_token("t2", "user:b", b"r", created_ms=1, expires_at_ms=None)
    store.swap_transient("throttle:x", None, b"1", expires_at_ms=10)
    assert store.change_stamp() == before


def test_sqlite_a_write_through_another_connection_moves_it(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    served, other = SQLiteStore(path), SQLiteStore(path)
    served.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=None)
    before = served.change_stamp()
    other.delete_token("nothing")  # changes nothing in the file
    assert served.change_stamp() == before
    other.delete_token("t1")
    assert served.change_stamp() != before
    served.close()
    other.close()


_REVOKER = """
import sys
from baas_auth.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
store.delete_token("t1")
store.close()
print("done")
"""


def test_sqlite_a_write_in_another_process_moves_it_on_every_thread(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=None)
    stamps: dict[int, int | None] = {}
    run_threads(1, lambda i: stamps.update({i: store.change_stamp()}))  # a thread that looked
    before = store.change_stamp()
    assert finish(python_process(_REVOKER, str(path))).strip() == "done"
    assert store.change_stamp() != before
    run_threads(1, lambda i: stamps.update({i + 1: store.change_stamp()}))
    assert stamps[1] not in (stamps[0], before)
    store.close()


def test_sqlite_a_stamp_read_while_a_statement_is_open_still_sees_later_commits(
    tmp_path: Path,
) -> None:
    """A read left unfinished on the thread's connection would pin its snapshot (and its
    data_version): the stamp has a cursor of its own, and the store drains every read."""
    path = tmp_path / "s.db"
    store, other = SQLiteStore(path), SQLiteStore(path)
    store.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=None)
    store.get_token("t1")
    before = store.change_stamp()
    other.delete_token("t1")
    assert store.change_stamp() != before
    assert store.get_token("t1").record is None
    store.close()
    other.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_a_closed_store_answers_none(kind: str, tmp_path: Path) -> None:
    store: Store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "s.db")
    assert stamp(store) is not None
    store.close()
    assert stamp(store) is None


def test_sqlite_reads_the_wal_index_in_shared_memory_without_asking_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The header of the ``-shm`` file, mapped once: no statement, no lock, and still every
    commit of another process seen."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=None)
    store.change_stamp()

    def never(*args: object) -> None:
        raise AssertionError("PRAGMA data_version was asked")

    monkeypatch.setattr(store, "_stamp_by_pragma", never)
    before = store.change_stamp()
    assert store.change_stamp() == before
    assert finish(python_process(_REVOKER, str(path))).strip() == "done"
    assert store.change_stamp() != before
    monkeypatch.undo()
    store.close()
    assert store.change_stamp() is None


def test_sqlite_a_header_being_written_sends_the_check_to_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two copies that differ (a commit halfway through writing them) read as "cannot tell
    here": ``PRAGMA data_version`` answers instead, and still sees the commit."""
    path = tmp_path / "s.db"
    store, other = SQLiteStore(path), SQLiteStore(path)
    store.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=None)
    before = store.change_stamp()
    monkeypatch.setattr(WalIndexHeader, "read", lambda self: None)
    other.delete_token("t1")
    assert store.change_stamp() != before
    store.close()
    other.close()


def test_sqlite_a_thread_halfway_through_noting_a_commit_never_hands_out_the_old_stamp(
    tmp_path: Path,
) -> None:
    """Thread A has seen the commit and is halfway through noting it; thread B, whose request
    starts now (after the commit), must not be given the stamp that answers remembered before
    the commit were filed under."""
    path = tmp_path / "s.db"
    store, other = PausedBetweenTheTwoSteps(path), SQLiteStore(path)
    store.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=None)
    before = store.change_stamp()
    assert store.change_stamp() == before, "the header is read from shared memory"
    other.delete_token("t1")  # the revocation, committed by another connection
    stamps: dict[str, int | None] = {}
    thread_a = threading.Thread(target=lambda: stamps.update(a=store.change_stamp()))
    store.arm(thread_a)
    thread_a.start()
    assert store.paused.wait(timeout=60)
    try:
        stamps["b"] = store.change_stamp()
    finally:
        store.resume.set()
        thread_a.join()
    assert stamps["b"] != before
    assert stamps["a"] != before
    store.close()
    other.close()


# Asked from another process: is a read lock held on the "dead man switch" byte of the -shm
# file (offset 128 in SQLite's unix VFS)? A process that opens the database and finds none
# takes itself for the first user and rebuilds the index under everyone using it.
_DEAD_MAN_SWITCH = """
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
probe = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 128, 1, 0)
found = struct.unpack("hhqqi", fcntl.fcntl(fd, fcntl.F_GETLK, probe))[0]
print("held" if found != fcntl.F_UNLCK else "free")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="struct flock as on Linux")
def test_sqlite_mapping_the_index_keeps_sqlites_locks_on_it(tmp_path: Path) -> None:
    """Closing any descriptor of a file releases every POSIX lock the process holds on it:
    mapping the ``-shm`` (and a second store on the file closing) must close none while
    SQLite's connections of this process use it."""
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    store.put("k", b"v")
    assert store.change_stamp() is not None
    other = SQLiteStore(path)
    assert other.change_stamp() is not None
    other.close()
    check = python_process(_DEAD_MAN_SWITCH, f"{path}-shm")
    assert finish(check).strip() == "held"
    store.close()
