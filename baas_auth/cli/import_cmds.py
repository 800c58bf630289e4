"""``import``: identities exported from API BaaS (Usergrid), brought into a realm.

``import FILE`` reads an import document (JSON; the format is in docs/migration.md) and creates
what the realm lacks, keeping uuids, client secrets and password hashes; what exists is never
changed, so a second run reports everything unchanged. Skipped items are listed with the reason
(exit status 0: the import did what it could; scripts read ``skipped`` from ``--json``).
"""

from __future__ import annotations

import argparse
import json
import sys

from baas_auth.cli.failures import CommandError
from baas_auth.cli.output import Output, as_object
from baas_auth.cli.registry import Commands
from baas_auth.model import ImportEntry, ImportReport
from baas_auth.realm import Realm

__all__ = ["register"]

_MARKS = {"created": "+", "unchanged": "=", "skipped": "!"}


def register(commands: Commands) -> None:
    text = (
        "bring in orgs, apps, credentials, roles, groups, users and admins exported from "
        "API BaaS (a JSON import document), keeping uuids, secrets and password hashes"
    )
    sub = commands.add("import", _import, text, creates=True)
    sub.add_argument("file", help="the import document (JSON), or - for standard input")
    sub.add_argument("--dry-run", action="store_true", help="show what would be done, do nothing")
    sub.add_argument(
        "--require-strong",
        action="store_true",
        help="skip users and admins whose password hash is md5 or sha-1 (they would have to "
        "reset their passwords) rather than keep such hashes until their next login",
    )


def _import(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    source = "standard input" if args.file == "-" else args.file
    document = _read(args.file, source)
    report = realm.import_identities(
        document, dry_run=args.dry_run, require_strong_hashes=args.require_strong
    )
    for entry in report.entries:
        out.text(_line(entry))
    counts = {
        "created": len(report.created),
        "unchanged": len(report.unchanged),
        "skipped": len(report.skipped),
    }
    data = {"dry_run": report.dry_run, **counts,
            "entries": [as_object(entry) for entry in report.entries]}
    out.done(_summary(report, counts, source), data)


def _summary(report: ImportReport, counts: dict[str, int], source: str) -> str:
    figures = ", ".join(f"{count} {outcome}" for outcome, count in counts.items())
    if report.dry_run:
        return f"dry run of {source}: {figures} (nothing was changed)"
    return f"imported {source}: {figures}"


def _line(entry: ImportEntry) -> str:
    where = f" in {entry.where}" if entry.where else ""
    uuid = f" ({entry.uuid})" if entry.uuid else ""
    reason = f": {entry.reason}" if entry.reason else ""
    return f"{_MARKS[entry.outcome]} {entry.kind} {entry.name}{uuid}{where}{reason}"


def _read(path: str, source: str) -> dict[str, object]:
    document = _parsed(path, source)
    if not isinstance(document, dict):
        raise CommandError(f"{source}: an import document is a JSON object")
    return document


def _parsed(path: str, source: str) -> object:
    try:
        if path == "-":
            if sys.stdin is None or sys.stdin.closed:
                raise CommandError("standard input is closed: no import document to read")
            return json.load(sys.stdin.buffer)
        with open(path, "rb") as stream:
            return json.load(stream)
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    except (ValueError, RecursionError) as error:  # JSONDecodeError and UnicodeDecodeError
        raise CommandError(f"{source}: not a JSON document: {error}") from None
