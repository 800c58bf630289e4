"""Whether anything was committed to a WAL database, read from shared memory, with no system call.

Every connection to a database in WAL mode maps its WAL index (the ``-shm`` file), whose first
bytes are a 48-byte header written twice by every commit: the second copy, then the first
(SQLite's file format, "the WAL-index header"). Both copies read equal give a header that no
commit is halfway through, and any commit since the last reading has changed it: its change
counter and last frame, or, once a checkpoint has restarted the WAL, its salts. ``PRAGMA
data_version`` tells the same but takes two ``fcntl`` calls (a read lock on the index, then its
release), which a server pays on every request; this reads two cache lines.

The mapping is trusted only while the file it maps is the one SQLite uses: SQLite deletes the
``-shm`` file only when the last connection of every process closes, so the store keeps a
connection of its own open for as long as the mapping lives (``anchor``). Whenever the header
cannot be read (no such file yet, a commit being written, a platform without ``mmap``), the
answer is None and the caller asks SQLite.

Closing any descriptor of a file releases every POSIX lock the process holds on it (``fcntl``
semantics), SQLite's included: its read lock on the ``-shm`` file's "dead man switch" byte tells
a process that opens the database that others use the index; one that finds no such lock
believes it is the first, truncates the file and rebuilds the index under the processes that
use it (they then crash on their mapping, or read an index that lost its commits). So each
``-shm`` file is opened once per process, shared by every store on it, and its descriptor and
mapping (which holds a duplicate of it) are closed only once the last of those stores has
closed its connections.
"""

from __future__ import annotations

import mmap
import os
import threading
from dataclasses import dataclass

__all__ = ["WalIndexHeader"]

_HEADER_BYTES = 48

_Identity = tuple[int, int]


@dataclass
class _OpenIndex:
    """One ``-shm`` file open in this process: its descriptor, its mapping once the file is
    large enough, and how many stores use them."""

    fd: int
    view: mmap.mmap | None = None
    users: int = 0

    def mapped(self) -> mmap.mmap | None:
        if self.view is None:
            try:
                if os.fstat(self.fd).st_size >= 2 * _HEADER_BYTES:
                    self.view = mmap.mmap(self.fd, 2 * _HEADER_BYTES, access=mmap.ACCESS_READ)
            except (OSError, ValueError):
                self.view = None
        return self.view


_OPEN: dict[_Identity, _OpenIndex] = {}
_OPEN_LOCK = threading.Lock()
_NEVER_CLOSED: list[int] = []  # a second descriptor opened in a race: closing it would unlock


def _new_lock_in_child() -> None:
    # Another thread of the parent may have held it at fork(); the child runs this alone.
    global _OPEN_LOCK
    _OPEN_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


def _acquire(shm_path: str) -> tuple[_Identity, _OpenIndex] | None:
    """The open index of ``shm_path``, one more user counted (lock held)."""
    try:
        found = os.stat(shm_path)
    except OSError:
        return None
    key = (found.st_dev, found.st_ino)
    if key not in _OPEN:  # opening changes no lock; only closing does
        try:
            fd = os.open(shm_path, os.O_RDONLY)
        except OSError:
            return None
        opened = os.fstat(fd)
        key = (opened.st_dev, opened.st_ino)
        if key in _OPEN:
            _NEVER_CLOSED.append(fd)
        else:
            _OPEN[key] = _OpenIndex(fd)
    entry = _OPEN[key]
    entry.users += 1
    return key, entry


def _release(key: _Identity) -> None:
    """One user fewer; the last one closes the mapping and the descriptor (lock held)."""
    entry = _OPEN[key]
    entry.users -= 1
    if entry.users > 0:
        return
    del _OPEN[key]
    if entry.view is not None:
        entry.view.close()
    os.close(entry.fd)


class WalIndexHeader:
    """The WAL-index header of one database file, mapped read-only by ``map``."""

    __slots__ = ("_key", "_map", "_path")

    def __init__(self, database_path: str) -> None:
        self._path = database_path
        self._map: mmap.mmap | None = None
        self._key: _Identity | None = None

    @property
    def mapped(self) -> bool:
        return self._map is not None

    def map(self) -> None:
        """Map the header; the caller holds a connection to the database open from before
        this call until ``close``, and calls ``close`` only after closing every connection
        of its own (see the module's docstring). Leaves it unmapped when the file cannot be
        mapped."""
        with _OPEN_LOCK:
            if self._key is not None:
                return
            acquired = _acquire(self._path + "-shm")
            if acquired is None:
                return
            self._key, entry = acquired
            self._map = entry.mapped()

    def read(self) -> bytes | None:
        """The header, or None when it cannot be read consistently now (unmapped, closed, or a
        commit is writing it)."""
        view = self._map
        if view is None:
            return None
        try:
            both = view[: 2 * _HEADER_BYTES]
        except ValueError:  # closed by another thread meanwhile
            return None
        first = both[:_HEADER_BYTES]
        return first if first == both[_HEADER_BYTES:] else None

    def forget(self) -> None:
        """Stop reading without closing anything (after fork: the connections the parent's
        stores left behind still hold their locks through the same file)."""
        self._map = None
        self._key = None

    def close(self) -> None:
        with _OPEN_LOCK:
            key, self._key, self._map = self._key, None, None
            if key is not None:
                _release(key)
