"""The SQLite store: one file shared by the threads and processes of one host (WAL mode).

Stdlib ``sqlite3`` only; one connection per thread, explicit transactions (``BEGIN IMMEDIATE``
for every write, so writers of all processes serialise), and every driver error re-raised as
``StoreError``. WAL does not work on network filesystems: keep the file on a local disk. The
files it opened are checked on every call (``_sqlite_files``): once one was deleted or replaced
under the process, every call fails.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import partial

from baas_auth.errors import StoreError
from baas_auth.stores._sqlite_files import DatabaseFiles
from baas_auth.stores._sqlite_wal_index import WalIndexHeader
from baas_auth.stores.protocols import TokenEntry, TokenLookup

__all__ = ["SQLiteStore"]

SCHEMA_VERSION = 2  # files of version 1 are upgraded in place; any other version is refused

_SCHEMA = """
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
CREATE TABLE IF NOT EXISTS transient (
    key TEXT PRIMARY KEY,
    value BLOB NOT NULL,
    expires_at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS transient_by_expiry ON transient (expires_at_ms);
INSERT OR IGNORE INTO meta (name, value) VALUES ('generation', {random_start});
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', 2);
UPDATE meta SET value = 2 WHERE name = 'schema_version' AND value = 1
"""

# A new file's generation starts from a random value rather than 0, so that a file replaced by
# another realm's (or by a new one) does not show a generation a process holds a directory
# snapshot of: the process then checks that the file still holds its realm (realm.marker).
_SCHEMA = _SCHEMA.replace("{random_start}", "abs(random() % 4503599627370496)")
_BUMP = "UPDATE meta SET value = value + 1 WHERE name = 'generation'"
_LEAP = "UPDATE meta SET value = value + 4294967296 WHERE name = 'generation'"

# Stay well below SQLITE_MAX_VARIABLE_NUMBER (999 before SQLite 3.32).
_CHUNK = 500

_TRANSIENT_SWEEP_EVERY = 1024
_TRANSIENT_HORIZON_MS = 86_400_000  # LoginThrottle keeps its records at most a day

_HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 0)

_LOGGER = logging.getLogger("baas_auth")

# The highest code point, and the surrogates that UTF-8 (and so SQLite text) cannot hold.
_MAX_CHAR = 0x10FFFF
_SURROGATES = range(0xD800, 0xE000)


def _upper_bound(prefix: str) -> str | None:
    """The least string above every string that starts with ``prefix`` (None: no bound).

    SQLite compares TEXT by its UTF-8 bytes, which orders like code points, so
    ``prefix <= key < bound`` selects exactly the keys with that prefix, with no wildcard.
    """
    chars = list(prefix)
    while chars and ord(chars[-1]) == _MAX_CHAR:
        chars.pop()
    if not chars:
        return None
    following = ord(chars[-1]) + 1
    if following in _SURROGATES:
        following = _SURROGATES.stop
    chars[-1] = chr(following)
    return "".join(chars)


@contextmanager
def _failing_closed(action: str) -> Iterator[None]:
    """Re-raise any driver error as ``StoreError``, chained to the original."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite store: {action} failed: {exc}") from exc


def _create_private_file(path: str) -> None:
    """Create the database file readable by its owner only, unless it exists already."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise StoreError(f"SQLite store: the folder {folder!r} does not exist")
    if os.path.isdir(path):
        raise StoreError(f"SQLite store: {path!r} is a directory, not a database file")
    try:
        # O_EXCL: never change the mode of a file someone else made; an empty file is an
        # empty database to SQLite, and its -wal and -shm files copy this file's mode.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"SQLite store: cannot create {path!r}: {exc.strerror}") from exc
    os.close(fd)
    os.chmod(path, 0o600)  # the umask may have narrowed it: password hashes live here


# Connections of stores whose files changed, where SQLite could not be told not to checkpoint
# on close: kept open until the process ends (see _may_close_without_checkpoint).
_KEPT_OPEN: list[sqlite3.Connection] = []


def _may_close_without_checkpoint(conn: sqlite3.Connection) -> bool:
    """Keep SQLite from checkpointing when ``conn`` closes; whether it may be closed now.

    The last connection of a process to close checkpoints its WAL into the database file,
    then deletes the ``-wal`` and ``-shm`` files by name. With the files changed under the
    process, that would write its stale log over the database and delete the new files, and
    with them what processes started since wrote there (a revocation undone). Python 3.12 on
    can tell SQLite not to; before, the connection is never closed nor freed (its reference
    count raised for good), so the process's end only releases its descriptors."""
    setconfig = getattr(conn, "setconfig", None)
    option = getattr(sqlite3, "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE", None)
    if setconfig is not None and option is not None:
        with contextlib.suppress(sqlite3.Error):
            setconfig(option, True)
            return True
    _KEPT_OPEN.append(conn)
    with contextlib.suppress(ImportError, AttributeError):
        import ctypes

        ctypes.pythonapi.Py_IncRef(ctypes.py_object(conn))  # never freed, not even at exit
    return False


def _forget_in_child(store_ref: weakref.ref[SQLiteStore]) -> None:
    store = store_ref()
    if store is not None:
        store._forget_in_child()


class SQLiteStore:
    """A ``Store`` in one SQLite file, shared by the threads and processes of one host."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 5.0) -> None:
        self._path = os.fspath(path)
        if self._path == ":memory:" or self._path == "":
            # Each thread's connection would see its own private database.
            raise StoreError("SQLite store: needs a file path; use MemoryStore for memory")
        self._timeout = timeout
        self._lock = threading.Lock()
        self._closed = False
        self._writes_since_sweep = 0
        # change_stamp's answer: a fresh number from _epochs whenever this process writes, or
        # a thread's connection sees that another connection has written (PRAGMA data_version).
        self._epochs = itertools.count(1)
        self._epoch = 0
        self._wal_index = WalIndexHeader(self._path)
        self._last_header: bytes | None = None
        self._anchor: sqlite3.Connection | None = None
        self._wal_index_tried = False
        # The files the anchor holds, checked on every use once noted; a change is for good.
        self._files = DatabaseFiles(self._path)
        self._lost: str | None = None
        self._closable: dict[int, bool] = {}  # once lost: which connections may be closed
        self._local = threading.local()
        self._opened: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=partial(_forget_in_child, weakref.ref(self)))
        _create_private_file(self._path)
        try:
            with _failing_closed("opening"):
                self._create_schema()
            # Now, not at the first stamp read: the files noted are the ones this store's
            # connections have open, however long before its first request they opened.
            self._map_wal_index()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    # Connections

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        if self._closed:
            raise StoreError("SQLite store: the store is closed")
        if not self._files_are_ours():
            raise StoreError(f"SQLite store: {self._lost}")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _open(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise StoreError("SQLite store: the store is closed")
            if self._lost is not None:  # checked under the lock _lose holds: none escapes it
                raise StoreError(f"SQLite store: {self._lost}")
            self._close_dead_threads()
            conn = self._connect()
            self._opened.append((weakref.ref(threading.current_thread()), conn))
        return self._configured(conn)

    def _connect(self) -> sqlite3.Connection:
        # timeout= is SQLite's busy timeout; check_same_thread=False only lets close() close
        # every thread's connection.
        return sqlite3.connect(
            self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
        )

    def _configured(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        try:
            self._configure(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _configure(self, conn: sqlite3.Connection) -> None:
        (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(mode).lower() != "wal":
            raise StoreError(f"SQLite store: WAL mode refused for {self._path!r} (got {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")

    def _create_schema(self) -> None:
        with self._transaction() as txn:
            for statement in _SCHEMA.split(";"):
                txn.execute(statement)
            (version,) = txn.execute(
                "SELECT value FROM meta WHERE name = 'schema_version'"
            ).fetchone()
            if version != SCHEMA_VERSION:  # raised inside: the rollback leaves the file alone
                raise StoreError(
                    f"SQLite store: unknown schema version {version} in {self._path!r}"
                )

    def _close_dead_threads(self) -> None:
        """Close the connections of threads that have ended (lock held)."""
        alive = []
        for thread_ref, conn in self._opened:
            thread = thread_ref()
            if thread is not None and thread.is_alive():
                alive.append((thread_ref, conn))
            else:
                conn.close()
        self._opened = alive

    def _forget_in_child(self) -> None:
        # A connection must not cross fork(): the child abandons (never uses or closes) them.
        # The child runs this alone, before any other of its threads exists.
        self._lock = threading.Lock()
        self._local = threading.local()
        self._opened = []
        self._wal_index.forget()
        self._anchor = None
        self._wal_index_tried = False
        self._last_header = None
        self._files.forget()

    def _execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        """One statement on this thread's connection, in autocommit (atomic by itself)."""
        return self._connection().execute(sql, params)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; IMMEDIATE takes the write lock up front, so writers queue."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.rollback()
            raise
        finally:
            self._wrote()

    def _write(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        """One writing statement in autocommit; ``change_stamp`` moves once it has run."""
        try:
            return self._execute(sql, params)
        finally:
            self._wrote()

    def _wrote(self) -> None:
        # This connection's own commits do not move its data_version: move the stamp here,
        # after the commit, so that no answer given before it can match afterwards.
        self._epoch = next(self._epochs)

    def change_stamp(self) -> int | None:
        """Moves whenever anything was committed to the file since the last answer, by this
        process or any other: the WAL-index header in shared memory changes with every commit
        (``_sqlite_wal_index``); where it cannot be read, ``PRAGMA data_version`` of this
        thread's connection. Plus this process's own writes (``_wrote``). None once the files
        are not the ones this process opened (``_files_are_ours``): every call fails then."""
        if not self._files_are_ours():
            return None
        header = self._wal_header()
        if header is None:
            return self._stamp_by_pragma()
        if header == self._last_header:
            return self._epoch
        # A commit since the last reading (or the first reading): every answer given so far,
        # by any thread, is stale. A fresh number first, the header it answers for second:
        # a thread that finds this header already noted (the line above) then reads a number
        # stored after this header was read, so after the commit; a number stored is never
        # stored again, so none of them was handed out before the commit. The other order
        # let a thread see the header noted and still read the number from before it.
        epoch = next(self._epochs)
        self._epoch = epoch
        self._last_header = header
        return epoch

    def _wal_header(self) -> bytes | None:
        if self._closed:
            return None
        if not self._wal_index_tried:
            self._map_wal_index()
        return self._wal_index.read()

    def _map_wal_index(self) -> None:
        """Open the connection that keeps the ``-wal`` and ``-shm`` files SQLite's own while
        they are noted and mapped (SQLite deletes them only when the last connection closes),
        note them (``DatabaseFiles``), then map the ``-shm``. At opening, and once again in a
        forked child; until it succeeds, the stamp is asked of SQLite."""
        if self._anchor is None:
            try:
                anchor = self._configured(self._connect())
            except (sqlite3.Error, StoreError):
                return
            spare: sqlite3.Connection | None = anchor
            with self._lock:
                if self._anchor is None and not self._closed:
                    self._anchor, spare = anchor, None
            if spare is not None:  # another thread was first, or the store closed
                spare.close()
        with self._lock:
            if self._closed or self._wal_index_tried or self._anchor is None:
                return
            self._wal_index_tried = True  # one try: a file that cannot be mapped stays so
            self._files.note()
            self._wal_index.map()

    def _files_are_ours(self) -> bool:
        """Whether the database's files are still the ones the anchor holds (``DatabaseFiles``):
        once one was deleted, moved or replaced, this process and those started afterwards no
        longer see each other's commits (a revocation made there would never apply here), so
        every later call fails, for good, and the cause is logged once."""
        if self._lost is not None:
            return False
        problem = self._files.changed()
        if problem is None:
            return True
        self._lose(problem)
        return False

    def _lose(self, problem: str) -> None:
        with self._lock:
            if self._lost is not None:
                return
            connections = [conn for _, conn in self._opened]
            if self._anchor is not None:
                connections.append(self._anchor)
            self._closable = {
                id(conn): _may_close_without_checkpoint(conn) for conn in connections
            }
            self._lost = (
                f"{problem} while this process had {self._path!r} open: it no longer shares"
                " the database with processes started since (their changes never reach it), so"
                " it refuses every call. Stop every process that uses the file and start them"
                " again; never delete the -wal and -shm files of a database in use, and restore"
                ' a backup through SQLite (sqlite3 FILE ".restore BACKUP"), not by replacing files'
            )
        _LOGGER.error("SQLite store: %s", self._lost)

    def _stamp_by_pragma(self) -> int | None:
        local = self._local
        try:
            cursor = getattr(local, "stamp_cursor", None)
            if cursor is None:
                cursor = local.stamp_cursor = self._connection().cursor()
            (version,) = cursor.execute("PRAGMA data_version").fetchone()
        except (sqlite3.Error, StoreError):
            return None  # cannot tell: the caller reads the store, which reports the failure
        if version == getattr(local, "data_version", None):
            return self._epoch
        # Another connection committed since this thread last looked (or it never looked):
        # every answer given so far, by any thread, is stale. The same order as above (the
        # version noted is this thread's own, but the number is every thread's).
        epoch = next(self._epochs)
        self._epoch = epoch
        local.data_version = version
        return epoch

    # Directory

    def get(self, key: str) -> bytes | None:
        with _failing_closed("get"):
            row = self._execute("SELECT value FROM records WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        with _failing_closed("get_many"):
            found = self._fetch_all(self._connection(), wanted)
        return [found.get(key) for key in keys]

    def _fetch_all(self, conn: sqlite3.Connection, keys: list[str]) -> dict[str, bytes]:
        if len(keys) <= _CHUNK:
            return self._fetch_chunk(conn, keys)
        found: dict[str, bytes] = {}
        conn.execute("BEGIN")  # one read transaction: every chunk sees the same snapshot
        try:
            for start in range(0, len(keys), _CHUNK):
                found.update(self._fetch_chunk(conn, keys[start : start + _CHUNK]))
        finally:
            conn.rollback()
        return found

    @staticmethod
    def _fetch_chunk(conn: sqlite3.Connection, keys: list[str]) -> dict[str, bytes]:
        marks = ", ".join("?" * len(keys))
        sql = f"SELECT key, value FROM records WHERE key IN ({marks})"  # noqa: S608 - marks only
        return {key: bytes(value) for key, value in conn.execute(sql, keys)}

    def put(self, key: str, value: bytes) -> None:
        with _failing_closed("put"), self._transaction() as txn:
            txn.execute("INSERT OR REPLACE INTO records (key, value) VALUES (?, ?)", (key, value))
            txn.execute(_BUMP)

    def create(self, key: str, value: bytes) -> bool:
        with _failing_closed("create"), self._transaction() as txn:
            cursor = txn.execute(
                "INSERT OR IGNORE INTO records (key, value) VALUES (?, ?)", (key, value)
            )
            if cursor.rowcount == 1:
                txn.execute(_BUMP)
        return cursor.rowcount == 1

    def delete(self, key: str) -> bool:
        with _failing_closed("delete"), self._transaction() as txn:
            cursor = txn.execute("DELETE FROM records WHERE key = ?", (key,))
            if cursor.rowcount == 1:
                txn.execute(_BUMP)
        return cursor.rowcount == 1

    def transact(
        self,
        *,
        create: Mapping[str, bytes] | None = None,
        put: Mapping[str, bytes] | None = None,
        delete: Sequence[str] = (),
    ) -> bool:
        created = list((create or {}).items())
        with _failing_closed("transact"), self._transaction() as txn:
            # BEGIN IMMEDIATE holds the write lock: nobody can create a key between the check
            # and the inserts.
            if created and self._fetch_chunk(txn, [key for key, _ in created]):
                return False
            written = [*created, *(put or {}).items()]
            txn.executemany("INSERT OR REPLACE INTO records (key, value) VALUES (?, ?)", written)
            removed = txn.executemany(
                "DELETE FROM records WHERE key = ?", [(key,) for key in delete]
            ).rowcount
            if written or removed > 0:
                txn.execute(_BUMP)
        return True

    def scan(self, prefix: str) -> list[tuple[str, bytes]]:
        bound = _upper_bound(prefix)
        sql = "SELECT key, value FROM records WHERE key >= ?"
        params: tuple[str, ...] = (prefix,)
        if bound is not None:
            sql, params = sql + " AND key < ?", (prefix, bound)
        with _failing_closed("scan"):
            rows = self._execute(sql + " ORDER BY key", params).fetchall()
        return [(key, bytes(value)) for key, value in rows]

    def generation(self) -> int:
        with _failing_closed("generation"):
            row = self._execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()
        if row is None:
            raise StoreError("SQLite store: the generation row is missing")
        return int(row[0])

    # Tokens

    def put_token(
        self,
        token_id: str,
        principal_key: str,
        record: bytes,
        *,
        created_ms: int,
        expires_at_ms: int | None,
    ) -> None:
        with _failing_closed("put_token"):
            self._write(
                "INSERT OR REPLACE INTO tokens (token_id, principal_key, record, created_ms,"
                " accessed_ms, inactive_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, 0, ?)",
                (token_id, principal_key, record, created_ms, created_ms, expires_at_ms),
            )

    def get_token(self, token_id: str) -> TokenLookup:
        with _failing_closed("get_token"):
            # One statement, so the record and the generation come from one snapshot.
            generation, record = self._execute(
                "SELECT (SELECT value FROM meta WHERE name = 'generation'),"
                " (SELECT record FROM tokens WHERE token_id = ?)",
                (token_id,),
            ).fetchone()
        if generation is None:
            raise StoreError("SQLite store: the generation row is missing")
        return TokenLookup(None if record is None else bytes(record), int(generation))

    def touch_token(self, token_id: str, now_ms: int) -> int | None:
        with _failing_closed("touch_token"):
            if _HAS_RETURNING:
                return self._touch_returning(token_id, now_ms)
            return self._touch_in_transaction(token_id, now_ms)

    def _touch_returning(self, token_id: str, now_ms: int) -> int | None:
        # SET expressions all read the row as it was before the update.
        try:
            rows = self._execute(
                "UPDATE tokens SET inactive_ms = max(inactive_ms, ? - accessed_ms),"
                " accessed_ms = ? WHERE token_id = ? RETURNING inactive_ms",
                (now_ms, now_ms, token_id),
            ).fetchall()  # drain the cursor so the autocommit statement finishes now
        finally:
            self._wrote()
        return int(rows[0][0]) if rows else None

    def _touch_in_transaction(self, token_id: str, now_ms: int) -> int | None:
        with self._transaction() as txn:
            row = txn.execute(
                "SELECT max(inactive_ms, ? - accessed_ms) FROM tokens WHERE token_id = ?",
                (now_ms, token_id),
            ).fetchone()
            if row is None:
                return None
            txn.execute(
                "UPDATE tokens SET inactive_ms = ?, accessed_ms = ? WHERE token_id = ?",
                (row[0], now_ms, token_id),
            )
        return int(row[0])

    def delete_token(self, token_id: str) -> bool:
        with _failing_closed("delete_token"):
            cursor = self._write("DELETE FROM tokens WHERE token_id = ?", (token_id,))
        return cursor.rowcount == 1

    def delete_principal_tokens(self, principal_key: str) -> int:
        with _failing_closed("delete_principal_tokens"):
            cursor = self._write("DELETE FROM tokens WHERE principal_key = ?", (principal_key,))
        return cursor.rowcount

    def purge_expired(self, now_ms: int) -> int:
        with _failing_closed("purge_expired"):
            cursor = self._write(
                "DELETE FROM tokens WHERE expires_at_ms IS NOT NULL AND expires_at_ms < ?",
                (now_ms,),
            )
            self._write("DELETE FROM transient WHERE expires_at_ms < ?", (now_ms,))
        return cursor.rowcount

    # Listing and loading tokens (TokenTransfer), and the file's online backup

    def scan_tokens(self) -> list[TokenEntry]:
        with _failing_closed("scan_tokens"):
            rows = self._execute(
                "SELECT token_id, principal_key, record, coalesce(created_ms, 0), expires_at_ms,"
                " coalesce(accessed_ms, created_ms, 0), coalesce(inactive_ms, 0)"
                " FROM tokens ORDER BY token_id"
            ).fetchall()
        return [
            TokenEntry(token_id, owner, bytes(record), created, expires, accessed, inactive)
            for token_id, owner, record, created, expires, accessed, inactive in rows
        ]

    def load_tokens(self, entries: Sequence[TokenEntry]) -> None:
        rows = [
            (e.token_id, e.principal_key, bytes(e.record), e.created_ms, e.accessed_ms,
             e.inactive_ms, e.expires_at_ms)
            for e in entries
        ]
        with _failing_closed("load_tokens"), self._transaction() as txn:
            txn.executemany(
                "INSERT OR REPLACE INTO tokens (token_id, principal_key, record, created_ms,"
                " accessed_ms, inactive_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

    @contextmanager
    def one_snapshot(self) -> Iterator[None]:
        """The reads this thread makes inside the block all see one snapshot of the file (one
        read transaction: in WAL mode other connections go on writing meanwhile); a copy of
        the realm reads its records and its tokens so."""
        with _failing_closed("snapshot"):
            conn = self._connection()
            conn.execute("BEGIN")
        try:
            yield
        finally:
            if conn.in_transaction:
                with _failing_closed("snapshot"):
                    conn.rollback()

    def leap_generation(self) -> None:
        """The generation moved on by 2**32 (``GenerationLeap``): a copy or restore writing into
        this file never lands on a generation a process remembers from before a loss."""
        with _failing_closed("leap_generation"), self._transaction() as txn:
            txn.execute(_LEAP)

    def backup_into(self, target: sqlite3.Connection) -> None:
        """Copy the whole database into ``target`` with SQLite's online backup API: one
        consistent snapshot, taken while other connections go on reading and writing."""
        with _failing_closed("backup"):
            self._connection().backup(target)

    # Transient records

    def get_transient(self, key: str) -> bytes | None:
        with _failing_closed("get_transient"):
            row = self._execute("SELECT value FROM transient WHERE key = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def swap_transient(
        self, key: str, expected: bytes | None, new: bytes | None, *, expires_at_ms: int
    ) -> bool:
        with _failing_closed("swap_transient"), self._transaction() as txn:
            row = txn.execute("SELECT value FROM transient WHERE key = ?", (key,)).fetchone()
            if (None if row is None else bytes(row[0])) != expected:
                return False
            if new is None:
                txn.execute("DELETE FROM transient WHERE key = ?", (key,))
            else:
                txn.execute(
                    "INSERT OR REPLACE INTO transient (key, value, expires_at_ms) VALUES (?, ?, ?)",
                    (key, new, expires_at_ms),
                )
            self._sweep_transient(txn, expires_at_ms)
        return True

    def _sweep_transient(self, txn: sqlite3.Connection, expires_at_ms: int) -> None:
        """Now and then, collect transient records that ended long ago: their keys may come from
        attackers (unknown usernames), so the table must not grow without bound."""
        self._writes_since_sweep += 1
        if self._writes_since_sweep < _TRANSIENT_SWEEP_EVERY:
            return
        self._writes_since_sweep = 0
        # No clock here: a record written now expires at most a day from now, so one that
        # ended a day before this one's end is certainly dead.
        txn.execute(
            "DELETE FROM transient WHERE expires_at_ms < ?",
            (expires_at_ms - _TRANSIENT_HORIZON_MS,),
        )

    def close(self) -> None:
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
            anchor, self._anchor = self._anchor, None
        connections = [conn for _, conn in opened] + ([] if anchor is None else [anchor])
        kept_open = [conn for conn in connections if not self._closable.get(id(conn), True)]
        try:
            with _failing_closed("close"):
                for conn in connections:
                    if conn not in kept_open:
                        conn.close()
        finally:
            if not kept_open:  # after the connections, and never under them: _sqlite_wal_index
                self._wal_index.close()
