"""Why a principal may or may not send a request (``Realm.explain``), as a flow.

The walk of ``access.permits`` once more, step for step, naming the rule that allowed the request
and where it came from, or why nothing did. Each rule is tested on its own (``explain_rules``),
so this is slower than ``permits`` and never runs on the request path, which stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from baas_auth.core import record_keys
from baas_auth.core import records as rec
from baas_auth.core.paths import check_route_path, rule_path
from baas_auth.core.permissions import verb_for_method
from baas_auth.core.policy import ALL_ACCESS_KINDS, explain_rules, guest_sources, rule_sources
from baas_auth.errors import ConfigError, StoreError
from baas_auth.model import Explanation, Principal
from baas_auth.realm.cache import Snapshot
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, get, get_many
from baas_auth.realm.token_commands import touch_token
from baas_auth.realm.views import fresh_view, roles_of

__all__ = ["explain"]

T = TypeVar("T")


def explain(
    state: RealmState,
    principal: Principal,
    method: str,
    path: str,
    org: str,
    app: str,
    case_sensitive: bool,
    visitor: tuple[rec.UserRecord, Sequence[rec.GroupRecord]] | None = None,
) -> Flow[Explanation]:
    """``permits`` with its reasons: the same checks in the same order, on the same generation.

    Like ``permits``, it records a use of the principal's token when its user has a role that
    lapses (that use is what tells whether the role still applies). ``visitor``: the record
    and groups of a provider token's caller who has no record in the store
    (``federated_users.federated_caller``).
    """
    check_route_path(path, allow_trailing_slash=True)
    view = yield from fresh_view(state)
    org, app = org.lower(), app.lower()
    verb = verb_for_method(method)
    if verb is None:
        return Explanation(allowed=False, reason="bad-method")
    if not principal.covers(org, app):
        return Explanation(allowed=False, reason="not-this-app", verb=verb)
    if principal.kind in ALL_ACCESS_KINDS:
        return Explanation(allowed=True, reason="all-access", source=principal.kind, verb=verb)
    checked = rule_path(path)
    if principal.kind == "guest":
        return (yield from _explain_guest(state, view, verb, checked, org, app, case_sensitive))
    if visitor is None:
        loaded = yield from _stored_user(org, app, principal.uuid or "")
        if isinstance(loaded, str):
            return Explanation(allowed=False, reason=loaded, verb=verb)
        visitor = loaded
    user, groups = visitor
    roles = yield from roles_of(view, org, app)
    sources = _stored(lambda: rule_sources(user, roles, groups, state.rules.parse))
    inactive = None
    if principal.token_id is not None and any(s.lapses_after_ms for s in sources):
        inactive = yield from touch_token(principal.token_id, state.now_ms())
        if inactive is None:  # revoked since it was authenticated
            return Explanation(allowed=False, reason="token-revoked", verb=verb)
    identity = (principal.uuid or "", principal.username or "")
    return explain_rules(sources, verb, checked, identity, inactive, case_sensitive=case_sensitive)


def _explain_guest(
    state: RealmState,
    view: Snapshot,
    verb: str,
    path: str,
    org: str,
    app: str,
    case_sensitive: bool,
) -> Flow[Explanation]:
    roles = yield from roles_of(view, org, app)
    sources = _stored(lambda: guest_sources(roles, state.rules.parse))
    if sources is None:
        return Explanation(allowed=False, reason="no-guest-role", verb=verb)
    # A guest has no name: no ``me`` or ``${user}`` segment matches for it.
    return explain_rules(sources, verb, path, (), None, case_sensitive=case_sensitive)


def _stored_user(
    org: str, app: str, uuid: str
) -> Flow[tuple[rec.UserRecord, list[rec.GroupRecord]] | str]:
    """The user and its groups, or why ``permits`` finds no policy for it."""
    raw = yield from get(record_keys.user_key(org, app, uuid))
    user = None if raw is None else rec.decode(rec.UserRecord, raw)
    unusable = _unusable(user, uuid)
    if user is None or unusable is not None:
        return unusable or "user-gone"
    keys = [record_keys.group_key(org, app, group) for group in user.groups]
    rows = (yield from get_many(keys)) if keys else []
    return user, [rec.decode(rec.GroupRecord, row) for row in rows if row]


def _unusable(user: rec.UserRecord | None, uuid: str) -> str | None:
    """Why ``permits`` finds no policy for this user (``views.user_policy_of``), or None."""
    if user is None or user.uuid != uuid:
        return "user-gone"
    if user.disabled:
        return "user-disabled"
    if not user.activated:
        return "user-not-activated"
    return None


def _stored(build: Callable[[], T]) -> T:
    """Rules were checked when granted: one that no longer parses was changed in the store
    behind the realm's back, which ``permits`` reports as a store failure too."""
    try:
        return build()
    except ConfigError as error:
        raise StoreError(f"a stored rule does not parse: {error}") from error
