"""Folders laid out as the original's export tools write them, for the converter's tests.

``ExportApp -application org/app -outputDir DIR -writeThreads N`` writes, for each of its write
threads (named ``pool-1-thread-K`` by Java's fixed thread pool), ``org-app-K.entities`` and
``org-app-K.connections``: each line one JSON object in Jackson's compact form (no spaces, a
``\\n`` after each), the properties in the order of the writer's fields
(``organization``, ``application``, ``entity``, ``dictionaries``; ``connectionType``,
``sourceUuid``, ``targetUuid``). An entity is written as the original's ``Entity`` serializes:
``uuid``, ``type``, ``name``, ``created``, ``modified``, then its other properties (among them
the ``metadata`` the entity manager adds); empty dictionaries are left out. ``ExportAdmins
-outputDir DIR`` writes, with Jackson's default pretty printer,
``admin-users.usergrid-management.TIME.json`` (an array of the admin entities) and
``admin-user-metadata.usergrid-management.TIME.json`` (each admin's uuid: its ``organizations``
and ``dictionaries``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.usergrid_export import credentials, fixed_uuid, legacy_credentials

__all__ = ["AppExport", "admin_entity", "credentials_dictionary", "jackson_pretty",
           "write_admins", "write_app"]

CREATED = 1433331613479
EXPORT_TIME = 1433331614293


def credentials_dictionary(scheme: str, password: str) -> dict[str, Any]:
    """A ``credentials`` dictionary as the original's ``CredentialsInfo`` serializes it."""
    made = legacy_credentials(password) if scheme == "legacy" else credentials(scheme, password)
    record = made["password"]
    chain = record.get("cryptoChain")
    return {"password": {
        "recoverable": chain == ["plaintext"],
        "encrypted": chain != ["plaintext"],
        "secret": record["secret"],
        "hashType": record.get("hashType"),
        "created": CREATED,
        "cryptoChain": chain,
        **({"cipher": record["cipher"]} if "cipher" in record else {}),
    }}


def entity(kind: str, uuid: str, name: str | None, **properties: Any) -> dict[str, Any]:
    """An entity as the original writes it: its own properties first, then the others."""
    own: dict[str, Any] = {"uuid": uuid, "type": kind}
    if name is not None:
        own["name"] = name
    own.update(created=CREATED, modified=CREATED)
    return {**own, **properties}


def stored(item: dict[str, Any]) -> dict[str, Any]:
    """An entity as the entity manager hands it to ``ExportApp``: with the ``metadata`` its
    ``setSize`` adds among the other properties."""
    return {**item, "metadata": {"size": 512}}


@dataclass
class AppExport:
    """What one ``ExportApp`` run wrote: entity lines and connection lines of ``org/app``."""

    org: str
    app: str
    entities: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    connections: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, item: dict[str, Any], **dictionaries: Any) -> None:
        self.entities.append((stored(item), {k: v for k, v in dictionaries.items() if v}))

    def user(self, name: str, scheme: str | None, password: str = "", *,
             roles: tuple[str, ...] = (), rules: tuple[str, ...] = (), **flags: Any) -> str:
        uuid = fixed_uuid(f"user:{self.org}/{self.app}/{name}")
        state = {"activated": True, "disabled": False, **flags}
        self.add(
            entity("user", uuid, None, username=name, email=f"{name}@example.com", **state),
            credentials=credentials_dictionary(scheme, password) if scheme else None,
            rolenames={role: role for role in roles},
            permissions=dict.fromkeys(rules),
        )
        return uuid

    def role(self, name: str, inactivity: int = 0) -> str:
        uuid = fixed_uuid(f"role:{self.org}/{self.app}/{name}")
        self.add(entity("role", uuid, name, roleName=name, title=name, inactivity=inactivity))
        return uuid

    def group(self, path: str, *, roles: tuple[str, ...] = (), rules: tuple[str, ...] = ()) -> str:
        uuid = fixed_uuid(f"group:{self.org}/{self.app}/{path}")
        self.add(entity("group", uuid, None, path=path, title=path),
                 rolenames={role: role for role in roles}, permissions=dict.fromkeys(rules))
        return uuid


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def write_app(folder: Path, export: AppExport, threads: int = 2) -> list[Path]:
    """The files ``ExportApp`` writes for ``export``, its lines dealt to ``threads`` writers."""
    folder.mkdir(parents=True, exist_ok=True)
    application = f"{export.org}/{export.app}"
    base = application.replace("/", "-")
    files: dict[Path, list[str]] = {}
    for index, (item, dictionaries) in enumerate(export.entities):
        line = {"organization": export.org, "application": application, "entity": item,
                "dictionaries": dictionaries}
        files.setdefault(folder / f"{base}-{index % threads + 1}.entities", []).append(
            _compact(line))
    for index, (kind, source, target) in enumerate(export.connections):
        line = {"organization": export.org, "application": application,
                "connectionType": kind, "sourceUuid": source, "targetUuid": target}
        files.setdefault(folder / f"{base}-{index % threads + 1}.connections", []).append(
            _compact(line))
    for path, lines in files.items():
        path.write_bytes("".join(f"{line}\n" for line in lines).encode("utf-8"))
    return sorted(files)


def jackson_pretty(value: Any, depth: int = 0) -> str:
    """``value`` as Jackson's ``DefaultPrettyPrinter`` writes it: ``"key" : value``, objects one
    field a line indented by two spaces, arrays on one line (``[ a, b ]``, ``[ ]``)."""
    if isinstance(value, dict):
        if not value:
            return "{ }"
        inner = "  " * (depth + 1)
        fields = [f'{inner}{json.dumps(k)} : {jackson_pretty(v, depth + 1)}'
                  for k, v in value.items()]
        return "{\n" + ",\n".join(fields) + "\n" + "  " * depth + "}"
    if isinstance(value, list):
        if not value:
            return "[ ]"
        return "[ " + ", ".join(jackson_pretty(v, depth) for v in value) + " ]"
    return json.dumps(value, ensure_ascii=False)


def admin_entity(name: str, **flags: Any) -> dict[str, Any]:
    state = {"activated": True, "confirmed": True, "disabled": False, **flags}
    return entity("user", fixed_uuid(f"admin:{name}"), name, username=name,
                  email=f"{name}@example.com", **state)


def write_admins(
    folder: Path, admins: list[tuple[dict[str, Any], dict[str, Any] | None]]
) -> tuple[Path, Path]:
    """The two files ``ExportAdmins`` writes: each admin entity, and its metadata (None: the
    admin has no entry there)."""
    folder.mkdir(parents=True, exist_ok=True)
    users = folder / f"admin-users.usergrid-management.{EXPORT_TIME}.json"
    metadata = folder / f"admin-user-metadata.usergrid-management.{EXPORT_TIME}.json"
    users.write_text(jackson_pretty([admin for admin, _ in admins]), encoding="utf-8")
    entries = {admin["uuid"]: meta for admin, meta in admins if meta is not None}
    metadata.write_text(jackson_pretty(entries), encoding="utf-8")
    return users, metadata


def admin_metadata(
    orgs: list[tuple[str, str]], scheme: str | None, password: str = ""
) -> dict[str, Any]:
    """An ``admin-user-metadata`` entry: ``organizations`` (uuid, name), ``dictionaries``."""
    dictionaries = {"credentials": credentials_dictionary(scheme, password)} if scheme else {}
    return {
        "organizations": [{"uuid": uuid, "name": name} for name, uuid in orgs],
        "dictionaries": dictionaries,
    }
