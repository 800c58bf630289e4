"""The files the original's export tools write, turned into an import document.

``ExportApp -application org/app -outputDir DIR`` writes, per write thread ``N``,
``org-app-N.entities`` and ``org-app-N.connections``: one JSON object a line, an entity line
being ``{"organization", "application", "entity", "dictionaries"}`` (the user's ``credentials``,
``rolenames`` and ``permissions``; a group's ``rolenames`` and ``permissions``), a connection
line ``{"organization", "application", "connectionType", "sourceUuid", "targetUuid"}``.
``ExportAdmins -outputDir DIR`` writes ``admin-users.<app>.<time>.json``, a JSON array of the
admin user entities, and ``admin-user-metadata.<app>.<time>.json``, an object giving each admin's
uuid its ``organizations`` (uuid and name) and ``dictionaries`` (``credentials``).

What those files never hold is reported (``LeftOut``), not guessed: an application's uuid (give
it in ``uuids``), client credentials, ``accesstokenttl``, the rules of roles and who is in which
group. Entities of other types (activities, devices…) and connections are counted and left
out. A file that is not what the tools write is refused (``ExportFilesError``, naming it). Pure:
the caller reads the files and passes their text.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from baas_auth.core.usergrid_entities import (
    ITEM_READERS,
    Data,
    ExportFilesError,
    LeftOut,
    Where,
    admin_item,
    an_object,
    organizations_of,
    text,
)

__all__ = ["Conversion", "ExportFile", "ExportFilesError", "LeftOut", "convert", "kind_of"]

_KINDS = (
    ("admin-user-metadata", re.compile(r"admin-user-metadata\..+\.json")),
    ("admin-users", re.compile(r"admin-users\..+\.json")),
    ("entities", re.compile(r".+-\d+\.entities")),
    ("connections", re.compile(r".+-\d+\.connections")),
)


def kind_of(file_name: str) -> str | None:
    """Which export file a name is (``entities``, ``connections``, ``admin-users``,
    ``admin-user-metadata``), from the names the tools give them; None: not one of them."""
    return next((kind for kind, pattern in _KINDS if pattern.fullmatch(file_name)), None)


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A file's name and text; for the files of one JSON object a line, the text may be its
    lines as they are read (so that an app's millions of activities are never held at once)."""

    name: str
    text: str | Iterable[str] = field(repr=False)

    def whole(self) -> str:
        return self.text if isinstance(self.text, str) else "".join(self.text)


@dataclass(frozen=True, slots=True)
class Conversion:
    document: Data
    """The import document (``read_document`` reads it)."""
    left_out: tuple[LeftOut, ...]
    ignored_types: tuple[tuple[str, int], ...]
    """Entities that are not identities, by type, with how many there were."""
    connections: int
    files: tuple[tuple[str, int], ...]
    """How many files of each kind were read."""
    names: tuple[str, ...] = ()
    """Every org and ``org/app`` the files name, imported or not (lower case)."""


@dataclass
class _App:
    org: str
    name: str
    items: dict[str, list[Data]] = field(
        default_factory=lambda: {"role": [], "group": [], "user": []})
    uuids: set[str] = field(default_factory=set)


@dataclass
class _Reading:
    apps: dict[str, _App] = field(default_factory=dict)
    admins: dict[str, tuple[Data, Where]] = field(default_factory=dict)
    metadata: dict[str, tuple[Data, Where]] = field(default_factory=dict)
    org_uuids: dict[str, set[str]] = field(default_factory=dict)
    org_names: dict[str, str] = field(default_factory=dict)
    ignored: Counter[str] = field(default_factory=Counter)
    connections: int = 0
    left_out: list[LeftOut] = field(default_factory=list)


def convert(files: Sequence[ExportFile], uuids: Mapping[str, str] | None = None) -> Conversion:
    """The import document the files hold. ``uuids``: what the files lack, by ``org`` or
    ``org/app`` name (lower case). ExportFilesError: a file is not what the tools write."""
    given = {name.lower(): uuid for name, uuid in (uuids or {}).items()}
    reading = _Reading()
    counts: Counter[str] = Counter()
    for file in files:
        kind = kind_of(file.name)
        if kind is None:
            raise ExportFilesError(f"{file.name}: not a file the original's export tools write")
        counts[kind] += 1
        _READERS[kind](reading, file)
    orgs = _orgs(reading, given)
    admins = [_admin(reading, entity, where) for entity, where in reading.admins.values()]
    return Conversion(
        {"version": 1, "organizations": orgs, "admins": admins},
        tuple(reading.left_out),
        tuple(sorted(reading.ignored.items())),
        reading.connections,
        tuple(sorted(counts.items())),
        tuple(sorted({*reading.org_names, *reading.apps})),
    )


# -- reading each kind of file ------------------------------------------------------------------


def _lines(file: ExportFile) -> Iterator[tuple[Data, Where]]:
    """The JSON objects of a file written one a line (blank lines skipped)."""
    lines = file.text.split("\n") if isinstance(file.text, str) else file.text
    for number, line in enumerate(lines, start=1):
        if line.strip():
            where = Where(file.name, number)
            yield an_object(_parsed(line, where), where), where


def _parsed(text_: str, where: Where) -> object:
    try:
        return json.loads(text_)
    except (ValueError, RecursionError) as error:
        line = f" line {where.line}" if where.line is not None else ""
        raise ExportFilesError(f"{where.file}{line}: not JSON ({error})") from None


def _read_entities(reading: _Reading, file: ExportFile) -> None:
    for line, where in _lines(file):
        org, app_name = _app_of(line, where)
        entity = an_object(line.get("entity"), where.at("entity"))
        kind = text(entity, "type", where.at("entity"))
        if kind is None:
            raise where.at("entity.type").refuse("a string")
        reader = ITEM_READERS.get(kind)
        if reader is None:
            reading.ignored[kind] += 1
            continue
        dictionaries = line.get("dictionaries")
        if dictionaries is not None:
            dictionaries = an_object(dictionaries, where.at("dictionaries"))
        item = reader(entity, dictionaries or {}, where.at("entity"))
        app = reading.apps.setdefault(f"{org.lower()}/{app_name.lower()}", _App(org, app_name))
        reading.org_names.setdefault(org.lower(), org)
        uuid = str(item.get("uuid", "")).lower()
        if uuid and uuid in app.uuids:
            reading.left_out.append(LeftOut(kind, uuid, f"{where.file} line {where.line}: "
                                            "a second entity with this uuid (the first is kept)"))
            continue
        app.uuids.add(uuid)
        app.items[kind].append(item)


def _app_of(line: Data, where: Where) -> tuple[str, str]:
    """The org and app of a line: ``application`` is the name the tool was given (``org/app``),
    ``organization`` the app's org."""
    application = text(line, "application", where)
    org = text(line, "organization", where)
    if not application:
        raise where.at("application").refuse("the application's name")
    prefix, _, app = application.rpartition("/")
    org = org or prefix
    if not org or not app:
        raise where.at("organization").refuse("the organization's name")
    return org, app


def _read_connections(reading: _Reading, file: ExportFile) -> None:
    for line, where in _lines(file):
        _app_of(line, where)
        for key in ("connectionType", "sourceUuid", "targetUuid"):
            if not isinstance(line.get(key), str):
                raise where.at(key).refuse("a string")
        reading.connections += 1


def _read_admins(reading: _Reading, file: ExportFile) -> None:
    where = Where(file.name)
    admins = _parsed(file.whole(), where)
    if not isinstance(admins, list):
        raise where.refuse("a JSON array of admin users")
    for index, entity in enumerate(admins):
        at = where.at(f"[{index}]")
        uuid = (text(an_object(entity, at), "uuid", at) or f"{file.name}[{index}]").lower()
        if uuid in reading.admins:  # several runs in one folder: the newest (last) is kept
            reading.left_out.append(LeftOut("admin", uuid, f"{file.name}: written again by a "
                                            "later run, which is kept"))
        reading.admins[uuid] = (entity, at)


def _read_metadata(reading: _Reading, file: ExportFile) -> None:
    where = Where(file.name)
    metadata = an_object(_parsed(file.whole(), where), where)
    for uuid, entry in metadata.items():
        at = where.at(uuid)
        entry = an_object(entry, at)
        reading.metadata[uuid.lower()] = (entry, at)
        for org in organizations_of(entry, at):
            name = str(org["name"])
            reading.org_names.setdefault(name.lower(), name)
            if "uuid" in org:
                reading.org_uuids.setdefault(name.lower(), set()).add(str(org["uuid"]).lower())


_READERS = {"entities": _read_entities, "connections": _read_connections,
            "admin-users": _read_admins, "admin-user-metadata": _read_metadata}


# -- the document -------------------------------------------------------------------------------


def _admin(reading: _Reading, entity: Data, where: Where) -> Data:
    uuid = (text(entity, "uuid", where) or "").lower()
    metadata, meta_where = reading.metadata.get(uuid, ({}, where))
    item = admin_item(entity, metadata, where, meta_where)
    if uuid not in reading.metadata:
        reading.left_out.append(LeftOut(
            "admin", str(item["username"]), "no entry in admin-user-metadata: imported without "
            "its password and its organizations"))
    return item


def _orgs(reading: _Reading, given: Mapping[str, str]) -> list[Data]:
    orgs: list[Data] = []
    for key in sorted(reading.org_names):
        name = reading.org_names[key]
        apps = sorted(k for k in reading.apps if k.startswith(key + "/"))
        uuid = _org_uuid(reading, key, name, given, len(apps))
        if uuid is None:
            continue
        reading.left_out.append(LeftOut(
            "credentials", name, "the export files do not hold the org's client id and secret "
            f"(GET /management/orgs/{name}/credentials shows them): add them to the document, "
            "or make new ones"))
        orgs.append({"uuid": uuid, "name": name,
                     "applications": [a for a in (_app(reading, k, given) for k in apps) if a]})
    return orgs


def _org_uuid(
    reading: _Reading, key: str, name: str, given: Mapping[str, str], apps: int
) -> str | None:
    if key in given:
        return given[key]
    found = sorted(reading.org_uuids.get(key, ()))
    if len(found) == 1:
        return found[0]
    why = (f"the files give it {len(found)} uuids ({', '.join(found)})" if found
           else "no admin-user-metadata names its uuid")
    reading.left_out.append(LeftOut(
        "organization", name, f"{why}: give it with --uuid {key}=UUID (GET "
        f"/management/orgs/{name} shows it); left out with its {apps} application(s)"))
    return None


def _app(reading: _Reading, key: str, given: Mapping[str, str]) -> Data | None:
    app = reading.apps[key]
    if key not in given:
        reading.left_out.append(LeftOut(
            "application", key, "the export files do not hold an application's uuid: give it "
            f"with --uuid {key}=UUID (GET /management/orgs/{app.org}/apps lists them); left "
            "out with its roles, groups and users"))
        return None
    reading.left_out.append(LeftOut(
        "credentials", key, "the export files hold neither the app's client id and secret nor "
        f"its accesstokenttl (GET /{app.org}/{app.name}/credentials and GET "
        f"/{app.org}/{app.name} show them): the app gets the realm's default token lifetime"))
    roles, groups = app.items["role"], app.items["group"]
    if roles and not any(role["permissions"] for role in roles):
        reading.left_out.append(LeftOut(
            "role permissions", key, "ExportApp does not write a role's rules (the original "
            "keeps them apart from the role entity): the roles are imported without rules; "
            f"GET /{app.org}/{app.name}/roles/ROLE/permissions lists them"))
    if groups:
        reading.left_out.append(LeftOut(
            "group memberships", key, "ExportApp does not write who is in which group "
            "(collection entries, not connections): the groups are imported empty; "
            f"GET /{app.org}/{app.name}/groups/GROUP/users lists them"))
    document: Data = {"uuid": given[key], "name": f"{app.org}/{app.name}", "roles": roles,
            "groups": groups, "users": app.items["user"]}
    return document
