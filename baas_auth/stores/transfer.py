"""Copying a realm from one store to another, and to and from a backup file.

Everything the realm needs goes, byte for byte: every directory record (users with their
password hashes, clients with their secret hashes, the signing keys, the client-secret hashing
key, the realm marker ``meta:realm``, roles, groups, rules) and every live token record with its
principal, times and uses (``TokenTransfer``). Expired tokens stay behind; so do transient
records (login-throttle counters and pending reset, activation and confirmation tokens: short
lived, and not listed by the stores).

The destination ends as a copy of the source: records and tokens it holds that the source does
not are removed, those that differ are replaced, and nothing is written when it is a copy
already (running a copy twice gives the same destination, and writes nothing the second time).
A destination holding another realm, or records of no realm, is refused unless ``force``.

While it is being written, the destination holds no realm marker but ``meta:copying`` (the
realm being copied): a process serving it answers 503 (a lost store), and the marker comes
back last, in one write with the removal of ``meta:copying``, so such a process serves the
copied realm again without a restart. Every write moves the destination's generation and change
stamp on (never copied from the source), and a SQLite destination's counter leaps by 2**32
(``GenerationLeap``: its content may have gone back to an older copy, and its counter with it),
so nothing remembered before is recalled. A copy that fails half way leaves the destination
without a marker; running it again completes it.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from baas_auth.stores._backup_file import FORMAT, VERSION, TransferError, read_backup, write_backup
from baas_auth.stores.protocols import GenerationLeap, Store, TokenEntry, TokenTransfer
from baas_auth.stores.sqlite import SQLiteStore

__all__ = [
    "COPYING_KEY",
    "FORMAT",
    "REALM_KEY",
    "VERSION",
    "RealmSnapshot",
    "TransferError",
    "TransferReport",
    "backup_realm",
    "copy_realm",
    "read_snapshot",
    "restore_realm",
    "write_snapshot",
]

REALM_KEY = "meta:realm"
"""The realm marker's record (``baas_auth.realm.marker``)."""

COPYING_KEY = "meta:copying"
"""Held by a destination in place of the marker while a copy writes it: the realm copied."""

BATCH = 500
"""Records per atomic write: one Redis script holds the whole server while it runs."""


@dataclass(frozen=True)
class RealmSnapshot:
    """What a realm needs, as read from a store or a backup: its records sorted by key (the
    marker among them) and its live tokens sorted by id."""

    records: list[tuple[str, bytes]]
    tokens: list[TokenEntry]

    @property
    def realm(self) -> str:
        """The realm marker."""
        return dict(self.records)[REALM_KEY].decode("ascii", "replace")


@dataclass(frozen=True)
class TransferReport:
    """What a copy, backup or restore did: the realm; the records and tokens the destination
    holds now; how many of them it wrote, and how many it removed."""

    realm: str
    records: int
    tokens: int
    records_written: int = 0
    records_removed: int = 0
    tokens_written: int = 0
    tokens_removed: int = 0


def _now_ms() -> int:
    return int(time.time() * 1000)


def _live(tokens: Sequence[TokenEntry], now_ms: int) -> list[TokenEntry]:
    return [t for t in tokens if t.expires_at_ms is None or t.expires_at_ms > now_ms]


def _checked_source(records: list[tuple[str, bytes]], what: str) -> None:
    keys = {key for key, _ in records}
    if REALM_KEY in keys:
        return
    if not keys:
        raise TransferError(f"{what} holds no realm (it is empty)")
    if COPYING_KEY in keys:
        raise TransferError(f"{what} is an interrupted copy: complete that copy first")
    raise TransferError(
        f"{what} holds records but no realm marker (a store set up before markers): open it"
        " once with this version (baas-auth list-orgs --realm URL), then copy it"
    )


def _blocking(store: Store) -> Store:
    """``store``, refused when it is an ``AsyncStore`` (its calls would only make coroutines)."""
    if inspect.iscoroutinefunction(getattr(store, "scan", None)):
        raise TransferError(
            f"{type(store).__name__} is asynchronous: copy with its blocking twin (for"
            " AsyncRedisStore, a RedisStore on the same URL and prefix: the same records)"
        )
    return store


def read_snapshot(
    source: Store, *, tokens: bool = True, now_ms: int | None = None
) -> RealmSnapshot:
    """Everything the realm of ``source`` needs: its records, and its tokens live at
    ``now_ms`` (default: now), unless ``tokens`` is False."""
    if tokens and not isinstance(_blocking(source), TokenTransfer):
        raise TransferError(
            f"{type(source).__name__} cannot list its tokens: copy without them (--no-tokens)"
        )
    # SQLite: the records and the tokens read in one snapshot (other stores: one read each).
    reading = source.one_snapshot() if isinstance(source, SQLiteStore) else contextlib.nullcontext()
    with reading:
        records = source.scan("")
        _checked_source(records, "the source")
        listed = source.scan_tokens() if isinstance(source, TokenTransfer) and tokens else []
    return RealmSnapshot(records, _live(listed, _now_ms() if now_ms is None else now_ms))


def _check_destination(
    realm: str, present: dict[str, bytes], tokens: int, *, force: bool
) -> None:
    marker = present.get(REALM_KEY)
    copying = present.get(COPYING_KEY)
    if marker is not None and marker.decode("ascii", "replace") == realm:
        return  # the same realm: it becomes the copy
    if marker is None and copying is not None and copying.decode("ascii", "replace") == realm:
        return  # an interrupted copy of this realm: completed
    if force or (not present and not tokens):
        return
    if marker is not None:
        raise TransferError(
            f"the destination holds another realm ({marker.decode('ascii', 'replace')}; the"
            f" source's is {realm}): give --force to replace it, every record and token of it"
        )
    raise TransferError(
        f"the destination is not empty ({len(present)} records, {tokens} tokens, no realm"
        " marker): give --force to replace what it holds"
    )


def write_snapshot(
    snapshot: RealmSnapshot, destination: Store, *, force: bool = False
) -> TransferReport:
    """Make ``destination`` hold ``snapshot``'s realm exactly (see the module's docstring)."""
    realm = snapshot.realm
    present = dict(_blocking(destination).scan(""))
    present_tokens = _tokens_of(destination)
    _check_destination(realm, present, len(present_tokens), force=force)
    wanted = dict(snapshot.records)
    changed = [(k, v) for k, v in snapshot.records if present.get(k) != v and k != REALM_KEY]
    stale = [k for k in sorted(present) if k not in wanted and k not in (REALM_KEY, COPYING_KEY)]
    wanted_ids = {t.token_id for t in snapshot.tokens}
    new_tokens = [t for t in snapshot.tokens if present_tokens.get(t.token_id) != t]
    old_tokens = [t for t in present_tokens.values() if t.token_id not in wanted_ids]
    finished = present.get(REALM_KEY) == wanted[REALM_KEY] and COPYING_KEY not in present
    if finished and not (changed or stale or new_tokens or old_tokens):  # a copy already
        return TransferReport(realm, len(snapshot.records), len(snapshot.tokens))
    marker_written = present.get(REALM_KEY) != wanted[REALM_KEY]
    report = TransferReport(
        realm, len(snapshot.records), len(snapshot.tokens),
        len(changed) + marker_written, len(stale), len(new_tokens), len(old_tokens),
    )
    # The realm hidden first: a process serving the destination refuses (503) until it is whole.
    destination.transact(put={COPYING_KEY: wanted[REALM_KEY]}, delete=[REALM_KEY])
    if isinstance(destination, GenerationLeap):  # a counter: past every value it held
        destination.leap_generation()
    for start in range(0, len(changed), BATCH):
        destination.transact(put=dict(changed[start : start + BATCH]))
    for start in range(0, len(stale), BATCH):
        destination.transact(delete=stale[start : start + BATCH])
    _remove_tokens(destination, present_tokens, {t.token_id for t in old_tokens})
    _load_tokens(destination, new_tokens)
    destination.transact(put={REALM_KEY: wanted[REALM_KEY]}, delete=[COPYING_KEY])
    return report


def _tokens_of(store: Store) -> dict[str, TokenEntry]:
    """The tokens a destination holds (none known for a store that cannot list them)."""
    if not isinstance(store, TokenTransfer):
        return {}
    return {entry.token_id: entry for entry in store.scan_tokens()}


def _remove_tokens(store: Store, present: dict[str, TokenEntry], removed: set[str]) -> None:
    """Remove the tokens ``removed`` of those ``present``: all of a principal's at once where
    none of its tokens stays, else one by one."""
    by_owner: dict[str, list[str]] = defaultdict(list)
    for entry in present.values():
        by_owner[entry.principal_key].append(entry.token_id)
    for owner, ids in by_owner.items():
        gone = [token_id for token_id in ids if token_id in removed]
        if len(gone) == len(ids):
            store.delete_principal_tokens(owner)
        else:
            for token_id in gone:
                store.delete_token(token_id)


def _load_tokens(store: Store, entries: list[TokenEntry]) -> None:
    if isinstance(store, TokenTransfer):
        for start in range(0, len(entries), BATCH):
            store.load_tokens(entries[start : start + BATCH])
        return
    for entry in entries:  # a store that cannot load uses: each token as if never used
        store.put_token(
            entry.token_id, entry.principal_key, entry.record,
            created_ms=entry.created_ms, expires_at_ms=entry.expires_at_ms,
        )


def copy_realm(
    source: Store,
    destination: Store,
    *,
    force: bool = False,
    tokens: bool = True,
    now_ms: int | None = None,
) -> TransferReport:
    """Copy the realm of ``source`` into ``destination`` (``force``: even over another realm
    or records of none; ``tokens`` False: without tokens, so every user signs in again)."""
    _blocking(destination)  # before anything is read
    return write_snapshot(read_snapshot(source, tokens=tokens, now_ms=now_ms), destination,
                          force=force)


def backup_realm(
    source: Store,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    now_ms: int | None = None,
) -> TransferReport:
    """Write the realm of ``source`` to a backup file at ``path`` (``_backup_file`` says what
    it holds): mode 0600, atomically; an existing file is replaced only with ``overwrite``.
    From a SQLite store, by SQLite's online backup API."""
    at = _now_ms() if now_ms is None else now_ms
    if isinstance(source, SQLiteStore):
        marker = source.get(REALM_KEY)
        if marker is None:
            _checked_source(source.scan(""), "the source")
        realm = (marker or b"").decode("ascii", "replace")
        records, tokens = write_backup(
            source, path, records=None, tokens=(), realm=realm, overwrite=overwrite, now_ms=at
        )
    else:
        snapshot = read_snapshot(source, now_ms=at)
        records, tokens = write_backup(
            source, path, records=snapshot.records, tokens=snapshot.tokens,
            realm=snapshot.realm, overwrite=overwrite, now_ms=at,
        )
    written = RealmSnapshot(records, tokens)
    return TransferReport(written.realm, len(records), len(tokens), len(records), 0, len(tokens))


def read_backup_file(
    path: str | os.PathLike[str], *, tokens: bool = True, now_ms: int | None = None
) -> RealmSnapshot:
    """The realm in a backup file, checked whole (``TransferError`` otherwise), with the
    tokens still live at ``now_ms``."""
    records, entries = read_backup(path)
    _checked_source(records, f"the backup file {os.fspath(path)}")
    live = _live(entries, _now_ms() if now_ms is None else now_ms) if tokens else []
    return RealmSnapshot(records, live)


def restore_realm(
    path: str | os.PathLike[str],
    destination: Store,
    *,
    force: bool = False,
    tokens: bool = True,
    now_ms: int | None = None,
) -> TransferReport:
    """Restore the realm of a backup file into ``destination``: the file is checked whole
    before anything is written; then as ``copy_realm``."""
    snapshot = read_backup_file(path, tokens=tokens, now_ms=now_ms)
    return write_snapshot(snapshot, destination, force=force)
