"""A SQLite file deleted or replaced under a serving process is a failure, never a remembered
admission (behaviour §7: a lost store is a failure, not an empty realm).

A cleanup job deletes the ``-wal`` and ``-shm`` files under the middleware's process; another
process (a child interpreter) then revokes alice's tokens, in new files the serving process
never sees. Or the database file is replaced by another (``mv``, a copy of a backup). Either
way every request afterwards is 503, on a path seen before and on a new one, and the inner
app is not called. A backup restored through SQLite instead is an ordinary commit: no restart,
and every remembered decision is made afresh.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.adapters.test_revocation_across_processes import (
    OTHER_PATH,
    PASSWORD,
    PATH,
    REVOCATIONS,
    Served,
    revoker,
    serve,
    warm,
)
from tests.conftest import FakeClock

__all__ = ["revoker"]  # the child interpreter, one per module (a fixture)


@pytest.fixture(params=["wsgi", "asgi"])
def served(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Served]:
    yield from serve("sqlite", request.param, tmp_path, request, clock)


def database(tmp_path: Path) -> Path:
    return tmp_path / "auth.db"


def backup(tmp_path: Path) -> Path:
    """A copy of the database as it is now, taken through SQLite."""
    copy = tmp_path / "backup.db"
    with closing(sqlite3.connect(database(tmp_path))) as src, closing(sqlite3.connect(copy)) as dst:
        src.backup(dst)
    return copy


def delete_wal_and_shm(tmp_path: Path) -> None:
    """What a cleanup job matching ``*-wal`` and ``*-shm`` does, after a checkpoint has put
    everything in the database file (or the other process would not even find alice)."""
    with closing(sqlite3.connect(database(tmp_path))) as conn:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0
    os.remove(f"{database(tmp_path)}-wal")
    os.remove(f"{database(tmp_path)}-shm")


def assert_refused_everywhere(served: Served) -> None:
    calls = len(served.caller.calls)
    for path in (PATH, OTHER_PATH, PATH):
        answer = served.get(path)
        assert answer.status == 503, (path, answer.status, answer.body)
    assert len(served.caller.calls) == calls, "the inner app was called"


@pytest.mark.parametrize("warmed", ["cold", "token-known", "steady"])
def test_a_revocation_in_new_files_after_a_cleanup_job_is_never_answered_from_before(
    served: Served, tmp_path: Path, warmed: str
) -> None:
    warm(served, warmed)
    delete_wal_and_shm(tmp_path)
    served.change_elsewhere(REVOCATIONS["revoke-user-tokens"], served.token)
    assert_refused_everywhere(served)


MOVES: dict[str, Callable[[Path, Path], None]] = {
    "moved-over": lambda copy, target: os.replace(copy, target),
    "deleted-then-copied": lambda copy, target: (os.remove(target), copy.rename(target)),
}


@pytest.mark.parametrize("move", list(MOVES))
@pytest.mark.parametrize("warmed", ["token-known", "steady"])
def test_a_database_file_replaced_under_the_process_is_refused(
    served: Served, tmp_path: Path, warmed: str, move: str
) -> None:
    copy = backup(tmp_path)
    warm(served, warmed)
    MOVES[move](copy, database(tmp_path))
    assert_refused_everywhere(served)


def test_a_backup_restored_through_sqlite_is_decided_afresh_without_a_restart(
    served: Served, tmp_path: Path
) -> None:
    """The copy was taken before a second token was issued: restored, that token is unknown
    at once, and the one from before the copy is admitted again, by the same process."""
    copy = backup(tmp_path)
    before_the_copy = served.token
    served.token = served.realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    warm(served, "steady")
    with closing(sqlite3.connect(copy)) as src, closing(sqlite3.connect(database(tmp_path))) as dst:
        src.backup(dst)
    assert served.get(PATH).status == 401
    served.token = before_the_copy
    assert served.get(PATH).status == 200
