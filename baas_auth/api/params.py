"""Reading a management API call's parameters: the user, role and group its path names, the
rules its body or query carries, whole numbers. Each bad value is a 400 that says why."""

from __future__ import annotations

import re

from baas_auth.api.table import ApiCall
from baas_auth.core.rules import Rule
from baas_auth.errors import BadRequestError, IllegalArgumentError

__all__ = ["group_path", "role_name", "rules_sent", "text_arg", "user_name", "whole_number"]

_DIGITS = re.compile(r"[0-9]{1,19}")


def user_name(call: ApiCall) -> str:
    """The ``{user}`` segment: a username, email or uuid; ``me`` is the calling app user."""
    name = call.params["user"]
    if name.lower() != "me":
        return name
    principal = call.principal
    if principal.kind != "app_user" or not principal.covers(call.org, call.app or ""):
        raise BadRequestError("'me' names an app user; this caller is not one")
    return principal.uuid or ""


def role_name(call: ApiCall) -> str:
    return call.params["role"]


def group_path(call: ApiCall) -> str:
    """The ``{group}`` segment as the group's path (``staff`` is the group ``/staff``)."""
    return "/" + call.params["group"]


def text_arg(call: ApiCall, name: str, *, required: bool = True) -> str | None:
    value = call.arg(name)
    if value is None or value == "":
        if required:
            raise BadRequestError(f"The parameter {name!r} is required")
        return None
    if not isinstance(value, str):
        raise BadRequestError(f"The parameter {name!r} must be a string")
    return value


def rules_sent(call: ApiCall, *, one: bool) -> list[str]:
    """The ``permission`` parameters (one for a grant; one or more for a revoke, as the
    original's repeated ``?permission=``), each checked with the strict rule grammar."""
    values = call.args.get("permission", ())
    if not values or (one and len(values) > 1):
        count = "exactly one" if one else "at least one"
        raise BadRequestError(f"Send {count} 'permission' rule, such as get:/books/**")
    texts = []
    for value in values:
        if not isinstance(value, str):
            raise BadRequestError("A 'permission' is a rule in a string, such as get:/books/**")
        texts.append(str(Rule.parse(value)))  # a ConfigError answers 400 with its hint
    return texts


def whole_number(value: object, name: str) -> int:
    """A number of milliseconds: a whole number >= 0, or one in a string."""
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise IllegalArgumentError(f"{name} must be a whole number >= 0")
