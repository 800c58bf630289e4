"""``copy``, ``backup`` and ``restore``: a realm moved between stores, or kept in a file.

They work on stores, not on an opened realm (opening one may write to it): ``copy SRC DST``
names both, ``backup FILE`` reads the realm of ``--realm`` and ``restore FILE`` writes into it.
Store URLs are never printed (one may hold a password); nor is anything secret the realm holds.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from baas_auth.cli.failures import CommandError, UsageError
from baas_auth.cli.opening import realm_url
from baas_auth.cli.output import Output
from baas_auth.cli.registry import Commands
from baas_auth.errors import ConfigError
from baas_auth.stores.protocols import Store
from baas_auth.stores.transfer import TransferReport, backup_realm, copy_realm, restore_realm
from baas_auth.stores.urls import open_store

__all__ = ["register"]

_SQLITE = "sqlite:///"
_SIDE_FILES = ("-wal", "-shm", "-journal")


def register(commands: Commands) -> None:
    copy = commands.parser(
        "copy", "copy a realm (every record, every live token) from one store to another"
    )
    copy.add_argument("source", metavar="SRC_URL", help="the store holding the realm")
    copy.add_argument("destination", metavar="DST_URL", help="the store to make a copy of it")
    _add_force(copy, "replace a destination holding another realm, or records of none")
    _add_no_tokens(copy)
    copy.set_defaults(standalone=_copy)

    backup = commands.parser(
        "backup", "write the realm of --realm to a backup file (mode 0600, written atomically)"
    )
    backup.add_argument("file", metavar="FILE")
    _add_force(backup, "replace FILE if it exists")
    backup.set_defaults(standalone=_backup)

    restore = commands.parser("restore", "restore a backup file into the store of --realm")
    restore.add_argument("file", metavar="FILE")
    _add_force(restore, "replace a store holding another realm, or records of none")
    _add_no_tokens(restore)
    restore.set_defaults(standalone=_restore)


def _add_force(sub: argparse.ArgumentParser, text: str) -> None:
    sub.add_argument("--force", action="store_true", help=text)


def _add_no_tokens(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--no-tokens",
        dest="tokens",
        action="store_false",
        help="leave the tokens behind (the destination keeps none: every user signs in again)",
    )


def _copy(args: argparse.Namespace, out: Output) -> None:
    with _store(args.source, "SRC_URL", creates=False) as source, _store(
        args.destination, "DST_URL", creates=True
    ) as destination:
        report = copy_realm(source, destination, force=args.force, tokens=args.tokens)
    _done(out, "Copied", report)


def _backup(args: argparse.Namespace, out: Output) -> None:
    with _store(realm_url(args), "--realm", creates=False) as source:
        report = backup_realm(source, args.file, overwrite=args.force)
    data = {"realm": report.realm, "records": report.records, "tokens": report.tokens,
            "file": str(args.file)}
    out.done(
        f"Backed up realm {report.realm} to {args.file}: {report.records} records, "
        f"{report.tokens} tokens. The file is readable by its owner only; it holds password "
        "hashes, client-secret hashes and signing keys: keep it as safe as the store.",
        data,
    )


def _restore(args: argparse.Namespace, out: Output) -> None:
    with _store(realm_url(args), "--realm", creates=True) as destination:
        report = restore_realm(args.file, destination, force=args.force, tokens=args.tokens)
    _done(out, "Restored", report)


def _done(out: Output, verb: str, report: TransferReport) -> None:
    data = dataclasses.asdict(report)
    held = f"{report.records} records, {report.tokens} tokens"
    changes = (report.records_written, report.records_removed, report.tokens_written,
               report.tokens_removed)
    if not any(changes):
        sentence = f"The destination holds realm {report.realm} already ({held}): nothing written."
    else:
        sentence = (
            f"{verb} realm {report.realm}: the destination holds {held} ("
            f"{report.records_written} records written, {report.records_removed} removed; "
            f"{report.tokens_written} tokens written, {report.tokens_removed} removed)."
        )
    out.done(sentence, data)


@contextlib.contextmanager
def _store(url: str, role: str, *, creates: bool) -> Iterator[Store]:
    """The store at ``url``, closed at the end. A SQLite file is made only for a destination,
    and removed again when the command fails (a re-run starts afresh)."""
    if url == "memory:":
        raise UsageError(
            f"{role} memory: holds nothing beyond this command; name a store that lasts "
            "(sqlite:///auth.db, redis://host:6379/0)"
        )
    path = _sqlite_path(url)
    new_file = path if path is not None and not path.exists() else None
    if new_file is not None and not creates:
        raise CommandError(f"no realm at {new_file} ({role})")
    try:
        store = open_store(url)
    except ConfigError as error:
        _remove(new_file)
        raise UsageError(f"{role}: {error}") from None
    except BaseException:
        _remove(new_file)
        raise
    try:
        yield store
    except BaseException:
        with contextlib.suppress(Exception):  # the command's own error is the one to report
            store.close()
        _remove(new_file)
        raise
    store.close()


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith(_SQLITE) or not url[len(_SQLITE) :]:
        return None
    return Path(unquote(url[len(_SQLITE) :]))


def _remove(path: Path | None) -> None:
    if path is None:
        return
    for name in (str(path), *(f"{path}{suffix}" for suffix in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            os.remove(name)
