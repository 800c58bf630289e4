"""Django REST framework classes over ``baas_auth.integrations.django.AuthMiddleware``: an
authentication class that reads the caller the middleware admitted, and permission classes
(signed in, holds roles, in a group, the realm's rules allow the request) that compose with
DRF's ``&``, ``|`` and ``~``. Importing this module imports DRF; ``import baas_auth`` does not.

Nothing here reads a credential: the middleware authenticated the request before Django ran.
A permission that refuses notes its refusal on the request (``note_refusal``), and the
middleware reports it as a decision (``on_decision``, the ``baas_auth`` log) once the answer is
a 401 or 403: a permission on one side of an ``|`` may refuse while the request is allowed.
A store failure is reported at once and answered 503, never "allow".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]
from django.http import HttpRequest  # type: ignore[import-untyped]
from rest_framework import exceptions  # type: ignore[import-untyped]
from rest_framework.authentication import BaseAuthentication  # type: ignore[import-untyped]
from rest_framework.permissions import BasePermission  # type: ignore[import-untyped]

from baas_auth.core import identifiers as ids
from baas_auth.errors import AuthError, ConfigError, StoreError
from baas_auth.integrations.django import (
    PrincipalUser,
    guard_of,
    note_refusal,
    route_path,
)
from baas_auth.integrations.requirements import Requirement, check, refused, screen
from baas_auth.middleware.admission import Guard, unguarded_refusal
from baas_auth.model import Principal
from baas_auth.realm import Realm
from baas_auth.wsgi import PRINCIPAL_KEY

__all__ = [
    "BaasAuthentication",
    "IsSignedIn",
    "RulesAllow",
    "ServiceUnavailable",
    "has_role",
    "in_group",
]

_NO_MIDDLEWARE = "baas_auth needs baas_auth.integrations.django.AuthMiddleware in MIDDLEWARE"

Check = Callable[[Guard, Principal | None, HttpRequest], None]
"""Raises the refusal (``AuthError``) unless the caller passes; a ``StoreError`` on failure."""


class BaasAuthentication(BaseAuthentication):  # type: ignore[misc]
    """``authentication_classes = [BaasAuthentication]``: the caller the middleware admitted.

    A signed-in caller is ``(PrincipalUser, Principal)``: ``request.user`` and
    ``request.auth``. The guest (an anonymous caller whom guest rules let through) is nobody
    to DRF (``None``): the next authentication class may still recognise it (a session).
    Listed first, it makes DRF answer 401 with the middleware's ``Bearer`` challenge, not 403.
    """

    def authenticate(self, request: Any) -> tuple[PrincipalUser, Principal] | None:
        django_request: HttpRequest = request._request
        if PRINCIPAL_KEY not in django_request.META:
            raise ImproperlyConfigured(_NO_MIDDLEWARE)
        principal: Principal | None = django_request.META[PRINCIPAL_KEY]
        if principal is None or not principal.is_authenticated:
            return None
        return PrincipalUser(principal, guard_of(django_request)), principal

    def authenticate_header(self, request: Any) -> str:
        """The challenge of the middleware's own 401 (its ``realm=``)."""
        django_request: HttpRequest = request._request
        error = refused(None)
        guard = guard_of(django_request)
        if guard is None:
            response = unguarded_refusal(error)
        else:
            principal = django_request.META.get(PRINCIPAL_KEY) or Principal(kind="guest")
            target = guard.application(principal, route_path(django_request))
            response = guard.refusal(error, target)
        return dict(response.headers)["www-authenticate"]


class ServiceUnavailable(exceptions.APIException):  # type: ignore[misc]
    """The realm's store failed while a permission was checked: 503, never "allow"."""

    status_code = 503
    default_detail = "The authorization service is unavailable; try again later."
    default_code = "service_unavailable"
    wait = 1  # DRF's exception handler sends it as Retry-After, as the middleware does


class _RealmPermission(BasePermission):  # type: ignore[misc]
    """A permission judged by ``check`` against the caller the middleware admitted."""

    checks: ClassVar[tuple[Check, ...]]
    """Each must pass (a tuple: a function kept in a class attribute is not a method)."""
    message = "The caller may not do this."

    def has_permission(self, request: Any, view: Any) -> bool:
        django_request: HttpRequest = request._request
        guard = guard_of(django_request)
        if guard is None:
            raise ImproperlyConfigured(_NO_MIDDLEWARE)
        principal: Principal | None = getattr(django_request, "principal", None)
        started = guard.start()
        try:
            for check_caller in self.checks:
                check_caller(guard, principal, django_request)
        except AuthError as error:
            note_refusal(django_request, error, started)
            return False
        except StoreError as error:
            path = route_path(django_request)
            guard.refuse(error, principal, django_request.method or "", path, started)
            raise ServiceUnavailable from error
        return True


def _requirement(requirement: Requirement) -> Check:
    def check_requirement(guard: Guard, principal: Principal | None, request: HttpRequest) -> None:
        check(guard, requirement, principal, route_path(request))

    return check_requirement


def _rules_allow(guard: Guard, principal: Principal | None, request: HttpRequest) -> None:
    screen(Requirement(authenticated=False), principal)
    if principal is None:  # screen has refused it already
        raise refused(None)
    path = route_path(request)
    target = guard.application(principal, path)
    realm = _realm(guard)
    if target is None or not realm.permits(
        principal,
        request.method or "",
        path,
        org=target[0],
        app=target[1],
        case_sensitive=guard.options.case_sensitive,
    ):
        raise refused(principal)


class IsSignedIn(_RealmPermission):
    """The caller signed in through baas_auth (any principal but the guest); 401 otherwise.
    Unlike DRF's ``IsAuthenticated``, a Django session login does not count."""

    checks = (_requirement(Requirement.build()),)


class RulesAllow(_RealmPermission):
    """The realm's rules allow the caller this request's method on its path (the guest by
    the guest role's rules), as the middleware judges them."""

    checks = (_rules_allow,)


def has_role(*roles: str) -> type[BasePermission]:
    """A permission class: the caller is an app user holding every role named (its own, a
    group's, or ``default``). Any of several: ``has_role("a") | has_role("b")``.

    Raises:
        ConfigError: no role, or a bad role name (when the view is declared).
    """
    if not roles:
        raise ConfigError("has_role() names at least one role")
    requirements = [Requirement.build(role=role) for role in roles]
    name = "HasRole_" + "_".join(requirement.role or "" for requirement in requirements)
    return _permission_class(name, *map(_requirement, requirements))


def in_group(path: str) -> type[BasePermission]:
    """A permission class: the caller is an app user who is a member of the group ``path``
    itself (``/staff``; a member of ``/staff/editors`` only is not a member of ``/staff``).

    Raises:
        ConfigError: a bad group path (when the view is declared).
    """
    wanted = ids.group_path(path)

    def is_member(guard: Guard, principal: Principal | None, request: HttpRequest) -> None:
        screen(Requirement.build(), principal)
        if principal is None or not PrincipalUser(principal, guard).is_member(wanted):
            raise refused(principal)

    return _permission_class("InGroup" + path.replace("/", "_"), is_member)


def _permission_class(name: str, *checks: Check) -> type[BasePermission]:
    """A subclass made with DRF's metaclass, so that ``&``, ``|`` and ``~`` compose it."""
    return type(name, (_RealmPermission,), {"checks": checks})


def _realm(guard: Guard) -> Realm:
    if not isinstance(guard.realm, Realm):
        raise TypeError("the Django middleware judges with a Realm")
    return guard.realm
