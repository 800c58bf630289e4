"""Reading the JSON values of an import document, each with ``where`` it stands for messages:
a wrong type refuses the whole document (``ImportDocumentError``); a name the realm refuses is
dropped from its list with the reason (``Dropped``). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from baas_auth.core.import_items import Data, Dropped, ImportDocumentError
from baas_auth.core.rules import Rule
from baas_auth.errors import ConfigError

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
T = TypeVar("T")


def read_object(value: object, where: str) -> Data:
    if not isinstance(value, dict):
        raise ImportDocumentError(f"{where}: expected a JSON object")
    return value


def read_each(item: Data, key: str, where: str, read: Callable[[Data, str], T]) -> list[T]:
    values = item.get(key, [])
    if not isinstance(values, list):
        raise ImportDocumentError(f"{where}.{key}: expected an array")
    return [read(read_object(v, f"{where}.{key}[{i}]"), f"{where}.{key}[{i}]")
            for i, v in enumerate(values)]


def read_text(item: Data, key: str, where: str) -> str | None:
    value = item.get(key)
    if value is not None and not isinstance(value, str):
        raise ImportDocumentError(f"{where}.{key}: expected a string")
    return value


def read_strings(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ImportDocumentError(f"{where}: expected an array of strings")
    return list(value)


def read_flag(item: Data, key: str, where: str, *, default: bool) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        raise ImportDocumentError(f"{where}.{key}: expected true or false")
    return value


def read_ttl(item: Data, where: str) -> int | None:
    """``accesstokenttl`` in ms; the original accepts a number or a numeric string."""
    value = item.get("accesstokenttl")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ImportDocumentError(f"{where}.accesstokenttl: milliseconds, a whole number >= 0")


def read_uuid(item: Data, where: str) -> tuple[str, str | None]:
    """The item's uuid (lower-case) and no problem, or the text given and what is wrong."""
    value = read_text(item, "uuid", where)
    if value is None:
        return "", "it has no uuid"
    if not _UUID.fullmatch(value):
        return value, f"the uuid {value!r} is malformed"
    return value.lower(), None


def read_optional_uuid(item: Data, where: str) -> tuple[str | None, str | None]:
    if item.get("uuid") is None:
        return None, None
    return read_uuid(item, where)


def read_rules(item: Data, where: str) -> tuple[tuple[str, ...], tuple[Dropped, ...]]:
    return read_names(item, "permissions", where, lambda text: str(Rule.parse(text)))


def read_names(
    item: Data, key: str, where: str, canonical: Callable[[str], str], *, name_key: str = ""
) -> tuple[tuple[str, ...], tuple[Dropped, ...]]:
    """A list of names (strings, or objects whose ``name_key`` is the name), each made
    canonical; those the realm refuses are dropped, with the reason."""
    kept: list[str] = []
    dropped: list[Dropped] = []
    values = item.get(key, [])
    if not isinstance(values, list):
        raise ImportDocumentError(f"{where}.{key}: expected an array")
    for index, value in enumerate(values):
        text = name_in(value, name_key, f"{where}.{key}[{index}]")
        problem = refusal(canonical, text)
        if problem is None:
            kept.append(canonical(text))
        else:
            dropped.append(Dropped(_SINGULAR[key], text, problem))
    return tuple(dict.fromkeys(kept)), tuple(dropped)


_SINGULAR = {"permissions": "permission", "roles": "role", "groups": "group",
             "organizations": "organization"}


def name_in(value: object, name_key: str, where: str) -> str:
    if name_key and isinstance(value, dict):
        value = value.get(name_key)
    if not isinstance(value, str):
        raise ImportDocumentError(f"{where}: expected a string")
    return value


def refusal(canonical: Callable[[str], object], value: str | None) -> str | None:
    """What the realm says is wrong with ``value`` (None: nothing, or no value)."""
    if value is None:
        return None
    try:
        canonical(value)
    except ConfigError as error:
        return str(error)
    return None


def canonical_or_kept(value: str, problem: str | None, canonical: Callable[[str], str]) -> str:
    return value if problem is not None else canonical(value)


def slashed_group_path(path: str) -> str:
    """The original writes a group's path without its leading slash (``staff/editors``)."""
    return path if path.startswith("/") or not path else "/" + path
