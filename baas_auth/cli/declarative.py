"""``apply`` and ``export``: the realm as a declaration file (TOML), read and written.

``apply FILE`` makes the realm hold what the file says (idempotent: run twice, the second run
changes nothing and says so); ``--dry-run`` shows the changes without making them. ``export``
writes the same format (with tomli-w, the ``toml`` extra), never a secret.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import BinaryIO

from baas_auth.cli.changes import Change
from baas_auth.cli.failures import CommandError
from baas_auth.cli.manifest import read_manifest
from baas_auth.cli.output import Output
from baas_auth.cli.plan import Planner
from baas_auth.cli.registry import Commands
from baas_auth.cli.snapshot import exportable, read_realm
from baas_auth.cli.spec import RealmSpec, file_data
from baas_auth.errors import BaasAuthError
from baas_auth.realm import Realm

__all__ = ["register"]

_HEADER = """\
# A baas-auth realm: `baas-auth apply FILE` makes a realm hold it (see docs/cli.md).
# No secret is exported: to set passwords of users and admins made by apply, give each a
# password_env = "NAME" (the environment variable that holds its password).

"""


def register(commands: Commands) -> None:
    text = "make the realm hold what a TOML declaration file says (idempotent)"
    sub = commands.add("apply", _apply, text, creates=True)
    sub.add_argument("file", help="the declaration file, or - for standard input")
    sub.add_argument("--dry-run", action="store_true", help="show the changes, make none")
    sub.add_argument(
        "--prune",
        action="store_true",
        help="also take away rules, roles, groups, assignments and memberships that the "
        "file's apps do not list (never users, admins, orgs or apps)",
    )
    text = "write the realm as a declaration file for apply (TOML; never a secret)"
    sub = commands.add("export", _export, text)
    sub.add_argument("--org", action="append", help="only this organization (repeatable)")


def _apply(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    desired = _read(args.file)
    changes = plan(realm, desired, prune=args.prune, dry_run=args.dry_run)
    if not args.dry_run:
        _make(realm, changes, out)
    elif not out.json:
        for change in changes:
            out.text(change.line)
    source = "standard input" if args.file == "-" else args.file
    if not changes:
        summary = f"no changes: the realm already holds what {source} says"
    elif args.dry_run:
        summary = f"{len(changes)} change(s) to make (dry run: nothing was changed)"
    else:
        summary = f"made {len(changes)} change(s) from {source}"
    data = {
        "dry_run": args.dry_run,
        "changed": bool(changes) and not args.dry_run,
        "changes": [{"op": c.op, "kind": c.kind, "text": c.text} for c in changes],
    }
    out.done(summary, data)


def plan(realm: Realm, desired: RealmSpec, *, prune: bool, dry_run: bool = False) -> list[Change]:
    """The changes that make ``realm`` hold ``desired`` (none: it does already). A dry run
    needs no secret: a password variable that is not set is shown as such."""
    existing = {org.name for org in realm.list_orgs()}
    current = read_realm(realm, desired.orgs)
    planner = Planner(
        current,
        prune=prune,
        environ=os.environ,
        min_password_length=realm.min_password_length,
        secrets_needed=not dry_run,
    )
    return planner.plan(desired, existing)


def _make(realm: Realm, changes: list[Change], out: Output) -> None:
    for done, change in enumerate(changes):
        try:
            change.run(realm)
        except BaasAuthError as error:
            raise CommandError(
                f"{change.line}: {error} ({done} of {len(changes)} changes were made before; "
                "apply again once fixed)"
            ) from error
        out.text(change.line)


def _read(path: str) -> RealmSpec:
    if path == "-":
        return read_manifest(_stdin(), "standard input")
    try:
        with open(path, "rb") as stream:
            return read_manifest(stream, path)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None


def _stdin() -> BinaryIO:
    if sys.stdin is None or sys.stdin.closed:
        raise CommandError("standard input is closed: no declaration to read")
    return sys.stdin.buffer


def _export(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    names = None if args.org is None else [realm.get_org(org).name for org in args.org]
    data = file_data(exportable(read_realm(realm, names)))
    if out.json:
        out.record(data)
        return
    try:
        import tomli_w
    except ImportError:
        raise CommandError(
            "export writes TOML with tomli-w: pip install 'baas-auth[toml]' (or use --json)"
        ) from None
    out.text(_HEADER + tomli_w.dumps(data).rstrip("\n"))
