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

The descriptor the mapping is made from stays open until ``close``, which the store calls only
after closing its connections: POSIX record locks belong to a process and a file, and closing
*any* descriptor of the file drops all of them, SQLite's shared lock on the index included.
Without that lock another process opening the database believes it is alone and rebuilds the
index under this one's mappings (SIGBUS on reading it, "database disk image is malformed" in
SQLite). Other SQLite connections of this process to the same file lose their locks when it
closes: one store per database file and process.
"""

from __future__ import annotations

import mmap
import os

__all__ = ["WalIndexHeader"]

_HEADER_BYTES = 48


class WalIndexHeader:
    """The WAL-index header of one database file, mapped read-only by ``map``."""

    __slots__ = ("_fd", "_map", "_path")

    def __init__(self, database_path: str) -> None:
        self._path = database_path
        self._map: mmap.mmap | None = None
        self._fd: int | None = None  # kept open while mapped: see the module's docstring

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
        # Never closed before ``close``, even when the mapping fails: closing it would drop
        # SQLite's locks on the index (see the module's docstring).
        self._fd = fd
        try:
            if os.fstat(fd).st_size >= 2 * _HEADER_BYTES:
                self._map = mmap.mmap(fd, 2 * _HEADER_BYTES, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            self._map = None

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
        """Stop reading without unmapping or closing (after fork: the parent's mapping and
        descriptor are the parent's)."""
        self._map = None
        self._fd = None

    def unmap(self) -> None:
        """Stop reading: later reads answer None."""
        view, self._map = self._map, None
        if view is not None:
            view.close()

    def close(self) -> None:
        """Unmap and close the descriptor; only once the caller's connections are closed."""
        self.unmap()
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
