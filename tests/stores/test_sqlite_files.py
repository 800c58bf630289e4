"""Files deleted, moved or replaced under a running SQLite store (behaviour §7: a lost store is a
failure, not an empty realm).

A process keeps the database file, ``-wal`` and ``-shm`` it opened; once one of them is gone from
its name, processes started afterwards use other files and the two never see each other's
commits. The store then refuses every call (``StoreError``), answers no change stamp, and logs
the cause and the fix once. Files beside it coming and going change nothing.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from baas_auth.errors import StoreError
from baas_auth.stores import SQLiteStore
from tests.stores.sqlite_helpers import finish, python_process

LONG_AGO_NS = 3_600 * 10**9


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "auth.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SQLiteStore]:
    opened = SQLiteStore(db_path)
    opened.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=None)
    assert opened.change_stamp() is not None  # the files are noted from here on
    yield opened
    opened.close()


def make_quiet(folder: Path) -> int:
    """Date the folder's last change an hour back, so its timestamp is trusted; returns it."""
    then = time.time_ns() - LONG_AGO_NS
    os.utime(folder, ns=(then, then))
    return then


def delete_shm(path: Path) -> None:
    os.remove(f"{path}-shm")


def delete_wal_and_shm(path: Path) -> None:
    os.remove(f"{path}-wal")
    os.remove(f"{path}-shm")


def replace_database(path: Path) -> None:
    other = path.with_name("other.db")
    with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(other)) as target:
        source.backup(target)
    os.replace(other, path)


CHANGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "shm-deleted": (delete_shm, "its -shm file was deleted"),
    "wal-and-shm-deleted": (delete_wal_and_shm, "its -wal file was deleted"),
    "database-replaced": (replace_database, "the database file was replaced"),
}


def assert_lost(store: SQLiteStore, cause: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="baas_auth"):
        assert store.change_stamp() is None
        with pytest.raises(StoreError, match=cause):
            store.get_token("t1")
        with pytest.raises(StoreError, match="Stop every process"):
            store.delete_token("t1")
        assert store.change_stamp() is None
    errors = [r for r in caplog.records if r.name == "baas_auth" and r.levelno == logging.ERROR]
    assert len(errors) == 1, "logged once"
    assert cause in errors[0].getMessage()
    assert ".restore" in errors[0].getMessage()


@pytest.mark.parametrize("change", list(CHANGES))
@pytest.mark.parametrize("folder", ["quiet", "just-changed"])
def test_a_file_gone_from_its_name_fails_every_call_for_good(
    store: SQLiteStore,
    db_path: Path,
    caplog: pytest.LogCaptureFixture,
    change: str,
    folder: str,
) -> None:
    if folder == "quiet":
        make_quiet(db_path.parent)
        assert store.change_stamp() is not None  # the folder's timestamp is trusted now
    make, cause = CHANGES[change]
    make(db_path)
    assert_lost(store, cause, caplog)


def test_a_change_in_the_same_tick_as_the_folder_timestamp_is_still_seen(
    store: SQLiteStore, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder's timestamp comes from a coarse clock: a change made in the tick it records
    leaves it equal. A timestamp that recent is never trusted."""
    stamp = db_path.parent.stat().st_mtime_ns
    assert store.change_stamp() is not None
    delete_shm(db_path)
    os.utime(db_path.parent, ns=(stamp, stamp))  # the same tick
    assert_lost(store, "its -shm file was deleted", caplog)


def test_files_beside_it_coming_and_going_change_nothing(store: SQLiteStore, db_path: Path) -> None:
    make_quiet(db_path.parent)
    before = store.change_stamp()
    (db_path.parent / "auth.db.log").write_text("rotated")
    os.remove(db_path.parent / "auth.db.log")
    assert store.change_stamp() == before
    assert store.get_token("t1").record == b"record"


_REVOKER = """
import sys
from baas_auth.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
store.delete_token("t1")
store.close()
print("done")
"""


def test_a_revocation_by_a_process_started_after_the_files_were_deleted_is_never_missed(
    store: SQLiteStore, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The other process creates new ``-wal`` and ``-shm`` files and commits there: nothing
    this one has mapped or open ever moves. It refuses instead of answering from before."""
    make_quiet(db_path.parent)
    assert store.change_stamp() is not None
    delete_wal_and_shm(db_path)
    assert finish(python_process(_REVOKER, str(db_path))).strip() == "done"
    with caplog.at_level(logging.ERROR, logger="baas_auth"):
        assert store.change_stamp() is None
        with pytest.raises(StoreError):
            store.get_token("t1")


_READER = """
import sys
from baas_auth.stores import SQLiteStore
store = SQLiteStore(sys.argv[1])
print(store.get_token("t1").record is None)
store.close()
"""


def test_closing_the_store_afterwards_does_not_undo_what_the_new_files_hold(
    store: SQLiteStore, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite's last connection to close checkpoints its log into the database and deletes the
    ``-wal`` and ``-shm`` by name: here, its own stale log, and the new files holding the
    revocation another process made meanwhile. Once its files changed, the store keeps SQLite
    from doing that."""
    delete_wal_and_shm(db_path)
    assert finish(python_process(_REVOKER, str(db_path))).strip() == "done"
    with caplog.at_level(logging.ERROR, logger="baas_auth"):
        assert store.change_stamp() is None
    store.close()
    assert finish(python_process(_READER, str(db_path))).strip() == "True"


_LOST_AND_LEFT_OPEN = """
import os, subprocess, sys
from baas_auth.stores import SQLiteStore
path, revoker = sys.argv[1], sys.argv[2]
store = SQLiteStore(path)
store.put_token("t1", "user:a", b"record", created_ms=1, expires_at_ms=None)
assert store.change_stamp() is not None
os.remove(path + "-wal")
os.remove(path + "-shm")
subprocess.run([sys.executable, "-c", revoker, path], check=True, capture_output=True)
print(store.change_stamp() is None)
# never closed: the interpreter's end drops the store and its connections
"""


def test_a_process_ending_without_closing_the_store_does_not_undo_them_either(
    db_path: Path,
) -> None:
    assert finish(python_process(_LOST_AND_LEFT_OPEN, str(db_path), _REVOKER)).strip() == "True"
    assert finish(python_process(_READER, str(db_path))).strip() == "True"
