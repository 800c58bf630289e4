"""The backup file of a realm: a SQLite database of its own format, written atomically, mode 0600.

A backup holds what a realm needs to be served again, and so every secret its store holds:
every directory record (orgs, apps, users with their password hashes, clients with their secret
hashes, roles, groups, rules, the signing keys, the client-secret hashing key, the realm marker)
and every live token record with its principal, times and uses. Tables:

- ``backup (name TEXT PRIMARY KEY, value TEXT)``: ``format`` (``baas-auth backup``), ``version``
  (``1``), ``realm`` (the realm marker), ``records`` and ``tokens`` (counts), ``digest`` (SHA-256
  of the records and tokens, in order, see ``digest``), ``created_ms``.
- ``records (key TEXT PRIMARY KEY, value BLOB)``: the directory, byte for byte.
- ``tokens (token_id, principal_key, record, created_ms, expires_at_ms, accessed_ms,
  inactive_ms)``: the tokens, byte for byte.

From a SQLite store the file is made by SQLite's online backup API (one consistent snapshot,
taken while the serving processes go on reading and writing), then the tables a backup does not
keep are dropped and the file vacuumed (no freed page keeps a deleted record); from any other
store it is written record by record. The file is made under a temporary name in the target's
folder, created 0600 whatever the umask, checked by reading it back, then renamed over the
target: a backup is either whole or absent. The digest detects a file damaged or truncated since;
it is a checksum, not a signature (whoever can write the file can write a new digest).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import quote

from baas_auth.errors import BaasAuthError
from baas_auth.stores.protocols import Store, TokenEntry

__all__ = ["FORMAT", "VERSION", "TransferError", "digest", "read_backup", "write_backup"]

FORMAT = "baas-auth backup"
VERSION = 1

_TABLES = """
CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    principal_key TEXT NOT NULL,
    record BLOB NOT NULL,
    created_ms INTEGER,
    accessed_ms INTEGER,
    inactive_ms INTEGER,
    expires_at_ms INTEGER NULL
);
CREATE TABLE backup (name TEXT PRIMARY KEY, value TEXT NOT NULL)
"""
_NOT_KEPT = ("transient", "meta")  # a SQLite store's tables a backup leaves out
_SIDE_FILES = ("-journal", "-wal", "-shm")
_SELECT_RECORDS = "SELECT key, value FROM records ORDER BY key"
_SELECT_TOKENS = (
    "SELECT token_id, principal_key, record, coalesce(created_ms, 0), expires_at_ms,"
    " coalesce(accessed_ms, created_ms, 0), coalesce(inactive_ms, 0)"
    " FROM tokens ORDER BY token_id"
)

Records = list[tuple[str, bytes]]


class TransferError(BaasAuthError):
    """A copy, backup or restore that cannot be made: a destination holding another realm (or
    records of no realm) without ``force``, a source holding no realm, a backup file that is
    missing, unreadable, of another version, damaged or truncated. Nothing was written."""


def digest(records: Records, tokens: Sequence[TokenEntry]) -> str:
    """SHA-256 (hex) of the records and tokens, in order, each field length-prefixed."""
    sha = hashlib.sha256()

    def field(value: bytes | str | int | None) -> None:
        data = value if isinstance(value, bytes) else str("" if value is None else value).encode()
        sha.update(len(data).to_bytes(8, "big"))
        sha.update(data)

    field(len(records))
    for key, value in records:
        field(key)
        field(value)
    field(len(tokens))
    for entry in tokens:
        for item in entry:
            field(item)
    return sha.hexdigest()


def write_backup(
    source: Store,
    path: str | os.PathLike[str],
    *,
    records: Records | None,
    tokens: Sequence[TokenEntry],
    realm: str,
    overwrite: bool,
    now_ms: int,
) -> tuple[Records, list[TokenEntry]]:
    """Write the backup file at ``path``: from ``records`` and ``tokens``, or (``records``
    None: a SQLite store) by the online backup API, keeping the tokens live at ``now_ms``.
    Returns what the file holds, as read back from it."""
    target = Path(path)
    if target.exists() and not overwrite:
        raise TransferError(f"{target} exists already: give --force to replace it")
    if not target.parent.is_dir():
        raise TransferError(f"the folder {target.parent} does not exist")
    temporary = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    try:
        _create_private(temporary)
        with _connected(temporary) as conn:
            if records is None:
                _copy_sqlite_store(source, conn, now_ms)
            else:
                _write_tables(conn, records, tokens)
            _seal(conn, realm, now_ms)
        written = read_backup(temporary)
        _sync(temporary)
        os.replace(temporary, target)
        _sync(target.parent)
    except OSError as exc:
        raise TransferError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except sqlite3.Error as exc:
        raise TransferError(f"cannot write {target}: {exc}") from exc
    finally:
        _remove(temporary)
    return written


def read_backup(path: str | os.PathLike[str]) -> tuple[Records, list[TokenEntry]]:
    """The records and tokens of a backup file, checked against its digest and counts."""
    source = Path(path)
    if not source.is_file():
        raise TransferError(f"no backup file at {source}")
    if not os.access(source, os.R_OK):
        raise TransferError(f"{source} cannot be read (permission denied)")
    try:
        with _connected(source, read_only=True) as conn:
            about = _about(conn, source)
            records, tokens = _contents(conn)
    except sqlite3.Error as exc:
        raise TransferError(f"{source} is not a readable {FORMAT} file ({exc})") from exc
    _check(source, about, records, tokens)
    return records, tokens


def _contents(conn: sqlite3.Connection) -> tuple[Records, list[TokenEntry]]:
    records = [(str(key), bytes(value)) for key, value in conn.execute(_SELECT_RECORDS)]
    tokens = [
        TokenEntry(str(i), str(p), bytes(r), int(c), None if e is None else int(e), int(a), int(n))
        for i, p, r, c, e, a, n in conn.execute(_SELECT_TOKENS)
    ]
    return records, tokens


def _about(conn: sqlite3.Connection, source: Path) -> dict[str, str]:
    try:
        about = {str(n): str(v) for n, v in conn.execute("SELECT name, value FROM backup")}
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise  # a damaged file: reported as unreadable
        raise TransferError(f"{source} is not a {FORMAT} file") from None
    if about.get("format") != FORMAT:
        raise TransferError(f"{source} is not a {FORMAT} file")
    if about.get("version") != str(VERSION):
        raise TransferError(
            f"{source} is a {FORMAT} of format version {about.get('version')}; this version of"
            f" baas-auth reads version {VERSION}"
        )
    return about


def _check(source: Path, about: dict[str, str], records: Records, tokens: list[TokenEntry]) -> None:
    damaged = f"{source} is damaged or was changed since it was written"
    if not hmac.compare_digest(about.get("digest", ""), digest(records, tokens)):
        raise TransferError(f"{damaged} (its digest does not match)")
    counts = (str(len(records)), str(len(tokens)))
    if (about.get("records"), about.get("tokens")) != counts:
        raise TransferError(f"{damaged} (its counts do not match)")
    if dict(records).get("meta:realm", b"").decode("ascii", "replace") != about.get("realm"):
        raise TransferError(f"{damaged} (its realm marker does not match)")


def _create_private(path: Path) -> None:
    """Create ``path`` readable and writable by its owner only, from the first instant: the
    mode given to ``open`` is narrowed by the umask, never widened, and set exactly after."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    try:
        os.fchmod(descriptor, 0o600)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def _connected(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    if read_only:
        uri = f"file:{quote(str(path.absolute()))}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None)
    else:
        conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def _copy_sqlite_store(source: Store, conn: sqlite3.Connection, now_ms: int) -> None:
    """The SQLite store's file, copied by the online backup API, less what a backup leaves
    out: transient records, the store's own counters, tokens expired at ``now_ms``."""
    backup_into = getattr(source, "backup_into")  # noqa: B009 - a SQLiteStore's method
    backup_into(conn)
    conn.execute("PRAGMA journal_mode = DELETE")  # the copy is in WAL mode, as its source
    for table in _NOT_KEPT:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        "DELETE FROM tokens WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?", (now_ms,)
    )
    for statement in _TABLES.split(";"):
        conn.execute(statement)


def _write_tables(conn: sqlite3.Connection, records: Records, tokens: Sequence[TokenEntry]) -> None:
    conn.execute("PRAGMA journal_mode = DELETE")
    for statement in _TABLES.split(";"):
        conn.execute(statement)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO records (key, value) VALUES (?, ?)", records)
    conn.executemany(
        "INSERT INTO tokens (token_id, principal_key, record, created_ms, expires_at_ms,"
        " accessed_ms, inactive_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        tokens,
    )
    conn.execute("COMMIT")


def _seal(conn: sqlite3.Connection, realm: str, now_ms: int) -> None:
    """Write the ``backup`` table (format, counts, digest of what the file holds), then
    vacuum: no page of the file keeps a record deleted from it."""
    records, tokens = _contents(conn)
    about = {
        "format": FORMAT,
        "version": str(VERSION),
        "realm": realm,
        "records": str(len(records)),
        "tokens": str(len(tokens)),
        "digest": digest(records, tokens),
        "created_ms": str(now_ms),
    }
    conn.executemany("INSERT INTO backup (name, value) VALUES (?, ?)", about.items())
    conn.execute("VACUUM")


def _sync(path: Path) -> None:
    """Flush ``path`` (a file or a folder) to disk, where the system allows it."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _remove(path: Path) -> None:
    for name in (str(path), *(f"{path}{suffix}" for suffix in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            os.remove(name)
