"""Which realm a command works on, and the rule that no realm file is ever made by accident.

The realm is ``--realm URL``, else ``$BAAS_REALM``, else ``sqlite:///baas.db``. ``memory:`` is
refused: nothing would be kept once the command ends. A SQLite file that does not exist is made
only by a command that creates things (``create-org``, ``create-admin``, ``apply``) or with
``--create``, and is removed again if that command fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from baas_auth.cli.failures import CommandError, UsageError
from baas_auth.errors import ConfigError
from baas_auth.realm import Realm

__all__ = ["DEFAULT_REALM", "open_realm", "opened_realm", "realm_url"]

DEFAULT_REALM = "sqlite:///baas.db"
_SQLITE = "sqlite:///"
_SIDE_FILES = ("-wal", "-shm", "-journal")


def realm_url(args: argparse.Namespace) -> str:
    return getattr(args, "realm", None) or os.environ.get("BAAS_REALM") or DEFAULT_REALM


def open_realm(url: str, *, create: bool = False) -> Realm:
    """The realm at ``url`` (``create``: set up at once if the store holds none); a URL of no
    known kind is a usage error."""
    try:
        return Realm.open(url, create=create)
    except ConfigError as error:
        raise UsageError(f"--realm {url}: {error}") from None


@contextlib.contextmanager
def opened_realm(args: argparse.Namespace) -> Iterator[Realm]:
    """The command's realm, closed at the end; a file this command made is removed if the
    command fails. ``apply --dry-run`` on a file that does not exist plans against an empty
    realm in memory and makes nothing."""
    url = realm_url(args)
    if url == "memory:":
        raise UsageError(
            "--realm memory: keeps nothing once the command ends; name a realm that lasts "
            "(sqlite:///auth.db, redis://host:6379/0)"
        )
    path = _sqlite_path(url)
    new_file = path if path is not None and not path.exists() else None
    if new_file is not None and getattr(args, "dry_run", False):
        url = "memory:"
    elif new_file is not None and not (args.creates or args.create):
        raise CommandError(
            f"no realm at {new_file}: give --realm (or $BAAS_REALM), or --create to make a new "
            "one (create-org, create-admin, apply and import make it without)"
        )
    # --create sets up a store that holds no realm at once (its keys and realm marker); the
    # commands that create things set it up with their first write. A file that does not
    # exist yet is made (and set up) only where this command may: as Realm.open, with create.
    create = bool(getattr(args, "create", False)) or (new_file is not None and url != "memory:")
    realm = _open_new(url, new_file, create=create)
    try:
        yield realm
    except BaseException:
        _close(realm)
        if new_file is not None and url != "memory:":
            _remove(new_file)
        raise
    realm.close()


def _open_new(url: str, new_file: Path | None, *, create: bool) -> Realm:
    try:
        return open_realm(url, create=create)
    except BaseException:
        if new_file is not None and url != "memory:":
            _remove(new_file)
        raise


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith(_SQLITE) or not url[len(_SQLITE) :]:
        return None
    return Path(unquote(url[len(_SQLITE) :]))


def _close(realm: Realm) -> None:
    with contextlib.suppress(Exception):  # the command's own error is the one to report
        realm.close()


def _remove(path: Path) -> None:
    """Remove a realm file this command made (and SQLite's files beside it)."""
    for name in (str(path), *(f"{path}{suffix}" for suffix in _SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError):
            os.remove(name)
