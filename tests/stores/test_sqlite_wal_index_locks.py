"""Reading the WAL index from shared memory leaves SQLite's locks on it in place.

POSIX record locks belong to a process and a file: closing *any* descriptor of the file drops
every lock the process holds on it, SQLite's included. SQLite holds a shared lock on the
``-shm`` file's "DMS" byte for as long as a connection is open; a process that opens the
database and can take that byte exclusively believes it is alone, and truncates and rebuilds
the WAL index, under the mappings of every other process (SIGBUS in the ones that read it, and
"database disk image is malformed" in their SQLite). The store maps the index for its change
stamp: it must keep its descriptor open for as long as its connections are.
"""

from __future__ import annotations

from pathlib import Path

from baas_auth import SQLiteStore
from tests.stores.sqlite_helpers import finish, python_process

# The DMS byte: SQLite's unix VFS locks byte 128 of the -shm file (UNIX_SHM_DMS) while it
# has the index open.
_DMS_PROBE = """
import fcntl, os, sys
try:
    fd = os.open(sys.argv[1] + "-shm", os.O_RDWR)
except FileNotFoundError:  # SQLite deleted it: the last connection closed
    print("free")
    sys.exit()
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 128)
except OSError:
    print("held")
else:
    print("free")
"""


def _dms_lock(path: Path) -> str:
    """``held`` while another process has SQLite's WAL index open, ``free`` otherwise."""
    return finish(python_process(_DMS_PROBE, str(path))).strip()


def test_a_store_that_read_its_stamp_keeps_sqlites_lock_on_the_wal_index(tmp_path: Path) -> None:
    path = tmp_path / "auth.db"
    store = SQLiteStore(path)
    store.put("k", b"v")
    assert _dms_lock(path) == "held"
    assert store.change_stamp() is not None  # maps the WAL index
    assert _dms_lock(path) == "held", "another process would rebuild the index under this one"
    store.close()
    assert _dms_lock(path) == "free"


def test_a_write_in_another_process_after_the_stamp_is_read_keeps_the_index(
    tmp_path: Path,
) -> None:
    """The other process opens the database as one of several, not as the only one: the
    index it finds is this one's (the stamp moves once, the data is intact)."""
    path = tmp_path / "auth.db"
    store = SQLiteStore(path)
    store.put("k", b"v")
    before = store.change_stamp()
    writer = "from baas_auth import SQLiteStore; s = SQLiteStore(__import__('sys').argv[1]); "
    writer += "s.put('k2', b'x'); s.close(); print('done')"
    assert finish(python_process(writer, str(path))).strip() == "done"
    assert store.change_stamp() != before
    assert store.get("k") == b"v"
    assert store.get("k2") == b"x"
    assert _dms_lock(path) == "held"
    store.close()
