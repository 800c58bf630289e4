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
"""

from __future__ import annotations

import mmap
import os

__all__ = ["WalIndexHeader"]

_HEADER_BYTES = 48


class WalIndexHeader:
    """The WAL-index header of one database file, mapped read-only by ``map``."""

    __slots__ = ("_map", "_path")

    def __init__(self, database_path: str) -> None:
        self._path = database_path
        self._map: mmap.mmap | None = None

    @property
    def mapped(self) -> bool:
        return self._map is not None

    def map(self) -> None:
        """Map the header; the caller holds a connection to the database open from before
        this call until ``close`` (see the module's docstring). Leaves it unmapped when the
        file cannot be mapped."""
        try:
            fd = os.open(self._path + "-shm", os.O_RDONLY)
        except OSError:
            return
        try:
            if os.fstat(fd).st_size >= 2 * _HEADER_BYTES:
                self._map = mmap.mmap(fd, 2 * _HEADER_BYTES, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            self._map = None
        finally:
            os.close(fd)

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
        """Stop reading without unmapping (after fork: the parent's mapping is the parent's)."""
        self._map = None

    def close(self) -> None:
        view, self._map = self._map, None
        if view is not None:
            view.close()
