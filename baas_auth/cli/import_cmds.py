"""``import``: identities exported from API BaaS (Usergrid), brought into a realm.

``import FILE`` reads an import document (JSON; the format is in docs/migration.md), ``import
--from usergrid-export DIR`` the files the original's export tools wrote (converted first, what
they lack listed with ``-``), and creates what the realm lacks, keeping uuids, client secrets
and password hashes; what exists is never changed, so a second run reports everything
unchanged. Skipped items are listed with the reason (exit status 0: the import did what it
could; scripts read ``skipped`` from ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from baas_auth.cli.failures import CommandError, UsageError
from baas_auth.cli.output import Output, as_object
from baas_auth.cli.registry import Commands
from baas_auth.cli.usergrid_api_client import completed_conversion
from baas_auth.cli.usergrid_dir import convert_folder, given_uuids, write_document
from baas_auth.core.usergrid_files import Conversion
from baas_auth.model import ImportEntry, ImportReport
from baas_auth.realm import Realm

__all__ = ["register"]

_MARKS = {"created": "+", "unchanged": "=", "skipped": "!"}


def register(commands: Commands) -> None:
    text = (
        "bring in orgs, apps, credentials, roles, groups, users and admins exported from "
        "API BaaS (a JSON import document, or the folder its export tools wrote), keeping "
        "uuids, secrets and password hashes"
    )
    sub = commands.add("import", _import, text, creates=True)
    sub.add_argument(
        "file", help="the import document (JSON), - for standard input, or with --from "
        "usergrid-export the folder the original's ExportApp and ExportAdmins tools wrote")
    sub.add_argument(
        "--from", dest="source_format", choices=("document", "usergrid-export"),
        default="document", help="what FILE is: an import document (the default), or the "
        "folder of the original's export files, converted first")
    sub.add_argument(
        "--uuid", action="append", default=[], metavar="NAME=UUID",
        help="with --from usergrid-export: the uuid of an org or ORG/APP, which the export "
        "files do not hold (repeat for each)")
    sub.add_argument(
        "--api", metavar="URL",
        help="with --from usergrid-export: ask the original's REST API at URL for what the "
        "files lack (uuids, client credentials, accesstokenttl, role rules, group members); "
        "signs in with $BAAS_USERGRID_CLIENT_ID and $BAAS_USERGRID_CLIENT_SECRET (an org "
        "client) or uses $BAAS_USERGRID_TOKEN")
    sub.add_argument(
        "--write-document", metavar="OUT",
        help="with --from usergrid-export: also write the converted import document to OUT, "
        "readable by its owner only (it holds password hashes); with --dry-run, to review it")
    sub.add_argument("--dry-run", action="store_true", help="show what would be done, do nothing")
    sub.add_argument(
        "--require-strong",
        action="store_true",
        help="skip users and admins whose password hash is md5 or sha-1 (they would have to "
        "reset their passwords) rather than keep such hashes until their next login",
    )


def _import(realm: Realm, args: argparse.Namespace, out: Output) -> None:
    source = "standard input" if args.file == "-" else args.file
    converted: dict[str, object] = {}
    if args.source_format == "usergrid-export":
        document, converted = _converted(args, out)
    elif args.uuid or args.write_document or args.api:
        raise UsageError("--uuid, --api and --write-document go with --from usergrid-export")
    else:
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
            "entries": [as_object(entry) for entry in report.entries], **converted}
    out.done(_summary(report, counts, source), data)


Data = dict[str, object]


def _converted(args: argparse.Namespace, out: Output) -> tuple[Data, Data]:
    """The document the export folder holds, what it lacks printed with ``-``; and, for
    ``--json``, ``converted``: what was read, left out and ignored."""
    if args.file == "-":
        raise UsageError("--from usergrid-export reads a folder, not standard input")
    uuids = given_uuids(args.uuid)
    if args.api:
        conversion, other_files = completed_conversion(args.file, uuids, args.api, os.environ)
    else:
        conversion, other_files = convert_folder(args.file, uuids)
    if args.write_document:
        write_document(args.write_document, conversion.document)
    for line in _conversion_lines(conversion, other_files):
        out.text(line)
    return conversion.document, {"converted": {
        "files": dict(conversion.files),
        "other_files": other_files,
        "left_out": [as_object(item) for item in conversion.left_out],
        "ignored_entities": dict(conversion.ignored_types),
        "connections": conversion.connections,
        "document": args.write_document,
    }}


def _conversion_lines(conversion: Conversion, other_files: list[str]) -> list[str]:
    total = sum(count for _, count in conversion.files)
    kinds = ", ".join(f"{kind} {count}" for kind, count in conversion.files)
    lines = [f"read {_counted(total, 'export file')} ({kinds})"]
    lines += [f"- {item.kind} {item.name}: {item.reason}" for item in conversion.left_out]
    lines += [f"- {_counted(count, f'{kind} entity')}: not identities, not imported"
              for kind, count in conversion.ignored_types]
    if conversion.connections:
        lines.append(f"- {_counted(conversion.connections, 'connection')}: not identities, "
                     "not imported")
    lines += [f"- file {name}: not an export file, not read" for name in other_files]
    return lines


def _counted(count: int, noun: str) -> str:
    if count == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count} {plural}"


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
