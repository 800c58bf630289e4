"""The role and the group a management API path names, by name (a group by its path) or by
uuid, as the original addresses them: the parameters a handler is given (the name, whichever
way it was sent) and every spelling of the path the rules judge (as sent, by name, by uuid),
so that a rule about a role or a group holds however a caller names it (behaviour §5.2: the
rules judge the resource the handler acts on).

Looked up in the addressed app only: a uuid of another app's role or group names nothing here.
"""

from __future__ import annotations

from baas_auth.api.table import Match
from baas_auth.errors import ConfigError, NotFoundError
from baas_auth.realm import flows
from baas_auth.realm.store_commands import Flow

__all__ = ["addressed"]


def addressed(
    org: str, app: str | None, match: Match
) -> Flow[tuple[dict[str, str], tuple[str, ...]]]:
    """The row's parameters with a role and a group by name, and the paths to judge.

    A role or group that does not exist (or an app that does not) keeps the segment as sent,
    and only the path as sent is judged: what a caller may learn of it is what the rules on
    that path let it (the handler answers 404 after the check)."""
    params = dict(match.params)
    if match.row.area != "app" or app is None or not ({"role", "group"} & params.keys()):
        return params, (match.path,)
    by_uuid = dict(params)
    if "role" in params:
        found = yield from _role(org, app, params["role"])
        if found is not None:
            params["role"], by_uuid["role"] = found
    if "group" in params:
        found = yield from _group(org, app, params["group"])
        if found is not None:
            params["group"], by_uuid["group"] = found
    paths = (match.path, match.path_with(params), match.path_with(by_uuid))
    return params, tuple(dict.fromkeys(paths))


def _role(org: str, app: str, sent: str) -> Flow[tuple[str, str] | None]:
    """The role's name and uuid; None when ``sent`` names none."""
    try:
        role = yield from flows.get_role(org, app, sent)
    except (NotFoundError, ConfigError):
        return None
    return role.name, role.uuid


def _group(org: str, app: str, sent: str) -> Flow[tuple[str, str] | None]:
    """The group's path (without its leading ``/``, as the segment is) and uuid; None when
    ``sent`` names none."""
    try:
        group = yield from flows.get_group(org, app, "/" + sent)
    except (NotFoundError, ConfigError):
        return None
    return group.path.lstrip("/"), group.uuid
