"""Whether the files of a SQLite database are still the ones this process opened.

A running process keeps its handles on the database file, its ``-wal`` and its ``-shm`` (and
the mapping of the last). When one of them is deleted, moved or replaced under it (a cleanup
job matching ``*-shm``, ``mv other.db auth.db``), the process goes on with the files it holds
while every process started afterwards uses the new ones: the two never see each other's
commits again, so a revocation made by one never reaches the other. Only the directory tells
(each of those changes is a change of its entries); nothing in the mapped memory moves.

One ``stat`` of the directory per check: while its ``st_mtime_ns`` is the one seen last, none
of its entries changed. A directory timestamp comes from a coarse clock, so a change made in
the same tick as the one it records would leave it equal: a timestamp is trusted only once it
is ``_QUIET_NS`` older than the time it was seen at (as Git treats "racily clean" files); until
then, and whenever it moves, the three files are looked up by name and compared by
(``st_dev``, ``st_ino``) with the ones noted when the store's anchor connection opened.
"""

from __future__ import annotations

import os
import time

__all__ = ["DatabaseFiles"]

# Longer than any timestamp granularity of a local filesystem (1 s on some, 2 s on FAT) plus
# the lag of the kernel's coarse clock behind the one time.time_ns reads.
_QUIET_NS = 3_000_000_000

_Identity = tuple[int, int]
_SUFFIXES = ("", "-wal", "-shm")
_NAMES = ("the database file", "its -wal file", "its -shm file")


class DatabaseFiles:
    """The identities of one database's three files, noted once (``note``), then checked."""

    __slots__ = ("_directory", "_known", "_path", "_seen")

    def __init__(self, database_path: str) -> None:
        self._path = database_path
        self._directory = os.path.dirname(os.path.abspath(database_path))
        self._known: tuple[_Identity | None, ...] | None = None
        self._seen: tuple[int, int, int] | None = None

    def note(self) -> None:
        """Note the files there now; the caller holds a connection open from before this call
        for as long as it checks (SQLite deletes the ``-wal`` and ``-shm`` files only when the
        last connection closes). Notes nothing when the database file cannot be looked up."""
        found = self._identities()
        if found[0] is not None:
            self._known = found

    def forget(self) -> None:
        self._known = None
        self._seen = None

    def changed(self) -> str | None:
        """None while the files are the ones noted (or none were); else what became of them."""
        known = self._known
        if known is None:
            return None
        try:
            folder = os.stat(self._directory)
        except OSError as exc:
            return f"its folder cannot be looked up ({exc.strerror})"
        seen = (folder.st_dev, folder.st_ino, folder.st_mtime_ns)
        if seen == self._seen:
            return None
        problem = self._compare(known, self._identities())
        if problem is None and time.time_ns() - folder.st_mtime_ns > _QUIET_NS:
            self._seen = seen  # seen before the files were looked up: a later change moves it
        return problem

    def _compare(
        self, known: tuple[_Identity | None, ...], found: tuple[_Identity | None, ...]
    ) -> str | None:
        for name, was, now in zip(_NAMES, known, found, strict=True):
            if was is not None and was != now:
                return f"{name} was deleted" if now is None else f"{name} was replaced"
        return None

    def _identities(self) -> tuple[_Identity | None, ...]:
        return tuple(_identity(self._path + suffix) for suffix in _SUFFIXES)


def _identity(path: str) -> _Identity | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino
