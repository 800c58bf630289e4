"""The original's exported entities, turned into items of the import document: a user, role or
group of an application (with its dictionaries), an admin user (with its metadata).

Each value is checked for the type the original writes (a uuid is a string, ``activated`` a
boolean, ``inactivity`` a whole number, a dictionary an object); a value of another type means
the file is not what the export tools write, and is refused (``ExportFilesError``) with the file,
the line and the field named. Names the realm may refuse (a role name, a rule) are passed on: the
import reports them one by one. Pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from baas_auth.errors import ConfigError

__all__ = [
    "ITEM_READERS",
    "Data",
    "ExportFilesError",
    "LeftOut",
    "Where",
    "admin_item",
    "an_object",
    "organizations_of",
    "text",
]

Data = dict[str, object]


class ExportFilesError(ConfigError):
    """A file of the export is not what the original's tools write; the message names it."""


@dataclass(frozen=True, slots=True)
class LeftOut:
    """Something the import will not have, and why (with where to find it when it can)."""

    kind: str
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class Where:
    """A place in the export files, for messages: the file, its line, a field."""

    file: str
    line: int | None = None
    field: str = ""

    def at(self, field: str) -> Where:
        return Where(self.file, self.line, f"{self.field}.{field}" if self.field else field)

    def refuse(self, expected: str) -> ExportFilesError:
        line = f" line {self.line}" if self.line is not None else ""
        field = f" {self.field}:" if self.field else ""
        return ExportFilesError(f"{self.file}{line}:{field} expected {expected}")


# -- values, as the original's JSON writer spells them ------------------------------------------


def an_object(value: object, where: Where) -> Data:
    if not isinstance(value, dict):
        raise where.refuse("a JSON object")
    return value


def optional_object(item: Data, key: str, where: Where) -> Data:
    value = item.get(key)
    return {} if value is None else an_object(value, where.at(key))


def text(item: Data, key: str, where: Where) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise where.at(key).refuse("a string")
    return value


def flag(item: Data, key: str, where: Where) -> bool | None:
    value = item.get(key)
    if value is not None and not isinstance(value, bool):
        raise where.at(key).refuse("true or false")
    return value


def whole_number(item: Data, key: str, where: Where) -> int | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where.at(key).refuse("a whole number >= 0")
    return value


def keys_of(dictionaries: Data, name: str, where: Where) -> list[str]:
    """The entries of a set dictionary (``permissions``) or a map (``rolenames``): the original
    writes a set as an object whose keys are its members (values null or the key again)."""
    return list(optional_object(dictionaries, name, where.at("dictionaries")))


def strings(value: object, where: Where) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise where.refuse("an array of strings")
    return list(value)


# -- the credentials record ---------------------------------------------------------------------

_RECORD_TEXTS = ("secret", "salt", "hashType", "cipher")


def password_record(dictionaries: Data, where: Where) -> Data | None:
    """The ``credentials`` dictionary's ``password`` record (a ``CredentialsInfo``), keeping only
    what the import reads; None when the account has none."""
    at = where.at("dictionaries")
    credentials = optional_object(dictionaries, "credentials", at)
    if credentials.get("password") is None:
        return None
    at = at.at("credentials").at("password")
    record = an_object(credentials["password"], at)
    kept: Data = {}
    for key in _RECORD_TEXTS:
        value = text(record, key, at)
        if value is not None:
            kept[key] = value
    if record.get("cryptoChain") is not None:
        kept["cryptoChain"] = strings(record["cryptoChain"], at.at("cryptoChain"))
    return kept


# -- the items ----------------------------------------------------------------------------------


def _common(entity: Data, where: Where) -> Data:
    uuid = text(entity, "uuid", where)
    return {} if uuid is None else {"uuid": uuid}


def _flags(entity: Data, where: Where, names: tuple[str, ...]) -> Data:
    found = {name: flag(entity, name, where) for name in names}
    return {name: value for name, value in found.items() if value is not None}


def _account(entity: Data, dictionaries: Data, where: Where, flags: tuple[str, ...]) -> Data:
    item = _common(entity, where)
    item["username"] = text(entity, "username", where) or text(entity, "name", where) or ""
    email = text(entity, "email", where)
    if email:
        item["email"] = email
    item.update(_flags(entity, where, flags))
    record = password_record(dictionaries, where)
    if record is not None:
        item["credentials"] = {"password": record}
    return item


def user_item(entity: Data, dictionaries: Data, where: Where) -> Data:
    """A user: its names, states, password record, roles (``rolenames``) and own rules."""
    item = _account(entity, dictionaries, where, ("activated", "disabled"))
    item["roles"] = keys_of(dictionaries, "rolenames", where)
    item["permissions"] = keys_of(dictionaries, "permissions", where)
    return item


def role_item(entity: Data, dictionaries: Data, where: Where) -> Data:
    """A role: ``roleName`` (``name`` as it was given), ``inactivity`` and the ``permissions``
    it carries, if any (the original keeps a role's rules apart from its entity)."""
    item = _common(entity, where)
    item["name"] = text(entity, "roleName", where) or text(entity, "name", where) or ""
    inactivity = whole_number(entity, "inactivity", where)
    if inactivity is not None:
        item["inactivity"] = inactivity
    item["permissions"] = keys_of(dictionaries, "permissions", where)
    return item


def group_item(entity: Data, dictionaries: Data, where: Where) -> Data:
    """A group: its ``path``, its rules and its roles (``rolenames``)."""
    item = _common(entity, where)
    item["path"] = text(entity, "path", where) or text(entity, "name", where) or ""
    item["permissions"] = keys_of(dictionaries, "permissions", where)
    item["roles"] = keys_of(dictionaries, "rolenames", where)
    return item


def admin_item(entity: Data, metadata: Data, where: Where, meta_where: Where) -> Data:
    """An admin user of ``admin-users`` with its ``admin-user-metadata`` entry: its password
    record (``dictionaries``) and its ``organizations`` (each a name and a uuid)."""
    dictionaries = optional_object(metadata, "dictionaries", meta_where)
    item = _account(entity, {}, where, ("activated", "confirmed", "disabled"))
    record = password_record(dictionaries, meta_where)
    if record is not None:
        item["credentials"] = {"password": record}
    item["organizations"] = organizations_of(metadata, meta_where)
    return item


def organizations_of(metadata: Data, where: Where) -> list[Data]:
    """``organizations``: ``{"uuid", "name"}`` objects, as ``ExportAdmins`` writes them."""
    values = metadata.get("organizations")
    if values is None:
        return []
    if not isinstance(values, list):
        raise where.at("organizations").refuse("an array")
    found: list[Data] = []
    for index, value in enumerate(values):
        at = where.at(f"organizations[{index}]")
        org = an_object(value, at)
        name = text(org, "name", at)
        if name is None:
            raise at.at("name").refuse("a string")
        found.append({"name": name, **_common(org, at)})
    return found


ItemReader = Callable[[Data, Data, Where], Data]
ITEM_READERS: dict[str, ItemReader] = {"user": user_item, "role": role_item, "group": group_item}
"""The entity types that are identities, by the ``type`` the original gives them."""
