"""``import --from usergrid-export DIR``: reading the folder the original's export tools wrote
(``ExportApp``'s ``*.entities`` and ``*.connections``, ``ExportAdmins``' ``admin-users.*`` and
``admin-user-metadata.*``), converting it (core/usergrid_files), and writing the converted
document for review, readable by its owner only: it holds password hashes.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from baas_auth.cli.failures import CommandError, UsageError
from baas_auth.core.usergrid_files import (
    Conversion,
    ExportFile,
    ExportFilesError,
    convert,
    kind_of,
)

__all__ = ["convert_folder", "given_uuids", "write_document"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_EXPECTED = ("ORG-APP-N.entities, ORG-APP-N.connections, admin-users.*.json, "
             "admin-user-metadata.*.json")


def given_uuids(values: list[str]) -> dict[str, str]:
    """``--uuid NAME=UUID`` values, by lower-case name (an org, or ``org/app``)."""
    found: dict[str, str] = {}
    for value in values:
        name, _, uuid = value.partition("=")
        if not name or name.count("/") > 1 or not _UUID.fullmatch(uuid):
            raise UsageError(f"--uuid {value}: expected ORG=UUID or ORG/APP=UUID")
        found[name.lower()] = uuid.lower()
    return found


def convert_folder(folder: str, uuids: dict[str, str]) -> tuple[Conversion, list[str]]:
    """The conversion of the export files in ``folder``, and the names of the other files
    there (left alone)."""
    path = Path(folder)
    if not path.is_dir():
        reason = "not a directory" if path.exists() else "no such directory"
        raise CommandError(f"{folder}: {reason} (the folder the export tools wrote)")
    try:
        names = sorted(entry.name for entry in path.iterdir())
    except OSError as error:
        raise CommandError(f"cannot read {folder}: {error.strerror or error}") from None
    wanted = [name for name in names if kind_of(name) and (path / name).is_file()]
    others = [name for name in names if name not in wanted]
    if not wanted:
        raise CommandError(f"{folder}: no files of the original's export tools ({_EXPECTED})")
    files = [ExportFile(name, _read(path / name)) for name in wanted]
    try:
        return convert(files, uuids), others
    except ExportFilesError as error:
        raise CommandError(f"{path}{os.sep}{error}") from None


def _read(path: Path) -> str | Iterator[str]:
    """The text of an admin file; the lines of an app's file, read as they are converted."""
    if path.suffix in (".entities", ".connections"):
        return _lines(path)
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise CommandError(f"{path}: not UTF-8 text (byte {error.start})") from None


def _lines(path: Path) -> Iterator[str]:
    try:
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, start=1):
                try:
                    yield raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise CommandError(f"{path} line {number}: not UTF-8 text (byte "
                                       f"{error.start})") from None
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None


def write_document(file: str, document: dict[str, object]) -> None:
    """Write the converted document, mode 0600 (it holds password hashes)."""
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        descriptor = os.open(file, flags, 0o600)
        os.fchmod(descriptor, 0o600)  # a file that was there keeps its mode otherwise
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(document, stream, indent=2)
            stream.write("\n")
    except OSError as error:
        raise CommandError(f"cannot write {file}: {error.strerror or error}") from None
