"""What a route requires of its caller, and the check of it against the principal the middleware
admitted: authenticated, an app role, and/or permission for a rule. No framework here.

The middleware has already authenticated the request and checked its own method and path against
the rules; a requirement adds to that, it never re-reads a credential. Refusals are ``AuthError``s
(401 for a guest or a missing principal, 403 otherwise) that the helpers render as the middleware
renders its own (``Guard.refusal``); a store failure is a ``StoreError`` (503), never "allow".
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass

from baas_auth.core import identifiers as ids
from baas_auth.core.paths import check_route_path
from baas_auth.core.rules import VERBS, Rule
from baas_auth.errors import (
    AuthenticationError,
    AuthError,
    BadRequestError,
    ConfigError,
    ForbiddenError,
)
from baas_auth.middleware.admission import Guard
from baas_auth.model import Principal, Role
from baas_auth.realm import AsyncRealm, Realm

__all__ = [
    "Requirement",
    "check",
    "check_async",
    "decides",
    "mark_guard",
    "refused",
    "screen",
]

_GUEST_REFUSED = "No application guest access authorized"  # the middleware's words (gate.py)
_LOGGER = logging.getLogger("baas_auth")
_MISSING_ROLES_TOLD: weakref.WeakKeyDictionary[Realm | AsyncRealm, set[tuple[str, str, str]]] = (
    weakref.WeakKeyDictionary()
)
"""Per realm, the (org, app, role) of guards already looked at for naming a role their app
lacks: looked at (and said) once each."""
_MISSING_ROLES_TOLD_AT_MOST = 1_000


@dataclass(frozen=True, slots=True)
class Requirement:
    """Build it with ``Requirement.build``; every field must hold for the caller to pass."""

    authenticated: bool = True
    role: str | None = None
    permissions: tuple[tuple[str, str], ...] = ()
    """``(method, path)`` pairs the realm must permit the caller, from ``rule=``."""

    @classmethod
    def build(
        cls, *, authenticated: bool = True, role: str | None = None, rule: str | None = None
    ) -> Requirement:
        """Check the arguments now, at import time of the route, not per request.

        Args:
            authenticated: refuse the guest (401). With False, a guest is judged by ``rule``.
            role: an app role the caller must hold (its own, a group's, or ``default``).
            rule: ``verbs:paths`` such as ``"put,delete:/books"``: the caller must be permitted
                every verb on every path (concrete paths: no ``*`` and no ``${user}``).

        Raises:
            ConfigError: a bad role name or rule text.
        """
        if not isinstance(authenticated, bool):
            raise ConfigError(f"authenticated is True or False, not {authenticated!r}")
        checked_role = None if role is None else ids.role_name(role)
        permissions = () if rule is None else _permissions(rule)
        return cls(authenticated, checked_role, permissions)

    def __str__(self) -> str:
        parts = ["authenticated" if self.authenticated else "anyone"]
        if self.role is not None:
            parts.append(f"role={self.role}")
        parts.extend(f"{method} {path}" for method, path in self.permissions)
        return ", ".join(parts)

    @property
    def needs_realm(self) -> bool:
        return self.role is not None or bool(self.permissions)

    @property
    def decides(self) -> bool:
        """Whether a route guarded by this requirement is decided by it when no rule allows an
        authenticated caller: it asks something of the caller. ``require(authenticated=False)``
        alone asks nothing (it hands out the caller, guest included): it decides nothing."""
        return self.authenticated or self.needs_realm


_GUARD_ATTRIBUTE = "__baas_auth_requirement__"
"""Set on the function a ``require`` makes (a guarded view, a FastAPI dependency): what the
framework helpers' ``route_guard`` looks for on the route that would answer a request."""


def mark_guard(function: object, requirement: Requirement) -> None:
    """Mark ``function`` (made by ``require``) as a guard enforcing ``requirement``."""
    setattr(function, _GUARD_ATTRIBUTE, requirement)


def decides(function: object) -> bool:
    """Whether ``function`` is a guard ``require`` made that decides (``Requirement.decides``),
    or a wrapper copying its attributes (``functools.wraps``)."""
    requirement = getattr(function, _GUARD_ATTRIBUTE, None)
    return isinstance(requirement, Requirement) and requirement.decides


def _permissions(rule: str) -> tuple[tuple[str, str], ...]:
    parsed = Rule.parse(rule)
    for path in parsed.patterns:
        if "*" in path or "${user}" in path:
            raise ConfigError(f"require(rule={rule!r}): name paths without * or ${{user}}")
        try:
            check_route_path(path)
        except BadRequestError as error:
            raise ConfigError(f"require(rule={rule!r}): {error.error_description}") from None
    verbs = [verb for verb in VERBS if verb in parsed.verbs]
    return tuple((verb.upper(), path) for verb in verbs for path in parsed.patterns)


def refused(principal: Principal | None) -> AuthError:
    """The refusal the middleware would give: 401 to a guest (or no principal), else 403."""
    if principal is None or not principal.is_authenticated:
        return AuthenticationError(_GUEST_REFUSED)
    return ForbiddenError()


def screen(requirement: Requirement, principal: Principal | None) -> None:
    """The part of the check that needs no realm: 401 for a guest where one is refused."""
    if principal is None:  # the middleware passed a CORS preflight through unauthenticated
        raise refused(None)
    if not principal.is_authenticated and (requirement.authenticated or requirement.role):
        raise refused(principal)


def _target(guard: Guard, principal: Principal, route_path: str) -> tuple[str, str]:
    target = guard.application(principal, route_path)
    if target is None:  # under /management there is no app whose roles or rules apply
        raise refused(principal)
    return target


def check(guard: Guard, requirement: Requirement, principal: Principal | None, path: str) -> None:
    """Raise the refusal unless ``principal`` meets ``requirement``; ``path`` is the request's
    route path (it names the application in multi-tenant mode). Blocks on a sync realm's store.

    Raises:
        AuthError: 401 or 403.
        StoreError: the store failed (503).
    """
    screen(requirement, principal)
    if principal is None or not requirement.needs_realm:
        return
    realm = guard.realm
    if not isinstance(realm, Realm):
        raise TypeError("check() takes a Guard over a Realm; use check_async for an AsyncRealm")
    org, app = _target(guard, principal, path)
    role = requirement.role
    if role is not None and not realm.holds_role(principal, role, org=org, app=app):
        if _untold(realm, org, app, role):
            _tell_if_missing(org, app, role, realm.list_roles(org, app))
        raise refused(principal)
    case_sensitive = guard.options.case_sensitive
    for method, rule_path in requirement.permissions:
        if not realm.permits(
            principal, method, rule_path, org=org, app=app, case_sensitive=case_sensitive
        ):
            raise refused(principal)


async def check_async(
    guard: Guard, requirement: Requirement, principal: Principal | None, path: str
) -> None:
    """``check`` for a Guard over an ``AsyncRealm`` (the twin of ``check``, awaiting)."""
    screen(requirement, principal)
    if principal is None or not requirement.needs_realm:
        return
    realm = guard.realm
    if not isinstance(realm, AsyncRealm):
        raise TypeError("check_async() takes a Guard over an AsyncRealm; use check for a Realm")
    org, app = _target(guard, principal, path)
    role = requirement.role
    if role is not None and not await realm.holds_role(principal, role, org=org, app=app):
        if _untold(realm, org, app, role):
            _tell_if_missing(org, app, role, await realm.list_roles(org, app))
        raise refused(principal)
    case_sensitive = guard.options.case_sensitive
    for method, rule_path in requirement.permissions:
        if not await realm.permits(
            principal, method, rule_path, org=org, app=app, case_sensitive=case_sensitive
        ):
            raise refused(principal)


def _untold(realm: Realm | AsyncRealm, org: str, app: str, role: str) -> bool:
    """Whether a guard refusing for want of ``role`` should look whether the app has it: once
    per (org, app, role) and realm, so a refusal costs one more read at most once. Noted now."""
    told = _MISSING_ROLES_TOLD.setdefault(realm, set())
    if (org, app, role) in told or len(told) >= _MISSING_ROLES_TOLD_AT_MOST:
        return False
    told.add((org, app, role))
    return True


def _tell_if_missing(org: str, app: str, role: str, roles: list[Role]) -> None:
    """A guard naming a role its app does not have refuses everyone: say so in the log."""
    if any(held.name == role for held in roles):
        return
    _LOGGER.warning(
        "require(role=%r) refuses every caller of %s/%s: the app has no role %r. Create it "
        "(realm.create_role(%r, %r, %r), or baas-auth create-role %s %s %s) or correct the name",
        role, org, app, role, org, app, role, org, app, role,
    )
