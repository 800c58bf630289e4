"""Whether an app user holds a role: the one place the helpers read directory records themselves.

A stopgap until ``Realm`` has a public read of a user's *effective* roles (its own, its groups',
``default``, less those lapsed for inactivity); ``Realm.user_roles`` lists only the roles given to
the user itself. When that read exists, ``holds_role`` should become a call to it. Written as a
flow, so that the same code runs over a ``Store`` and an ``AsyncStore``.
"""

from __future__ import annotations

from baas_auth import records as rec
from baas_auth.model import Principal
from baas_auth.realm.commands import Flow, get, get_many, touch_token

__all__ = ["holds_role"]

_DEFAULT_ROLE = "default"  # every active user has it (baas_auth.policy)


def holds_role(principal: Principal, org: str, app: str, role: str, now_ms: int) -> Flow[bool]:
    """Whether ``principal`` is an active app user of ``org/app`` holding ``role`` (given to it,
    through a group, or ``default``), the role exists, and it has not lapsed for this token.

    Only app users hold roles: clients and admin users are refused a role requirement."""
    if principal.kind != "app_user" or principal.uuid is None or not principal.covers(org, app):
        return False
    raw = yield from get(rec.user_key(org, app, principal.uuid))
    user = None if raw is None else rec.decode(rec.UserRecord, raw)
    if user is None or user.uuid != principal.uuid or user.disabled or not user.activated:
        return False
    group_keys = [rec.group_key(org, app, path) for path in user.groups]
    role_raw, *groups = yield from get_many([rec.role_key(org, app, role), *group_keys])
    if role_raw is None:  # a role that does not exist is no one's, whatever a record still says
        return False
    names = {_DEFAULT_ROLE, *user.roles}
    for group in groups:
        if group is not None:
            names.update(rec.decode(rec.GroupRecord, group).roles)
    if role not in names:
        return False
    return (yield from _still_live(principal, rec.decode(rec.RoleRecord, role_raw), now_ms))


def _still_live(principal: Principal, role: rec.RoleRecord, now_ms: int) -> Flow[bool]:
    """A role with ``inactivity_ms`` lapses for a token idle longer than that (behaviour §5.3);
    the token's longest idle gap is what ``touch_token`` reports, as the gate reads it."""
    if role.inactivity_ms <= 0 or role.name == _DEFAULT_ROLE:
        return True
    if principal.token_id is None:
        return False
    inactive = yield from touch_token(principal.token_id, now_ms)
    return inactive is not None and inactive <= role.inactivity_ms
