"""Django with ``django.contrib.auth`` installed (in process, Django's test client): the
signed-in caller is ``request.user`` (a ``PrincipalUser``, not a database user), so that
``@login_required`` sees it; an anonymous caller keeps Django's own user (a session login on
``/admin/``); Django REST framework's classes (``baas_auth.integrations.django_rest``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import anyio
import pytest

import examples.django_app  # noqa: F401 - configures Django's settings if nothing has yet
from baas_auth import DecisionEvent
from baas_auth.errors import ConfigError
from baas_auth.integrations.django import PrincipalUser
from tests.integrations.conftest import World

from django.test import Client, override_settings  # isort: skip

BAAS = "baas_auth.integrations.django.AuthMiddleware"
SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"


def contrib_auth_settings(realm: object, **baas_auth: Any) -> override_settings:
    """contrib.auth and sessions (signed cookies: no database), after baas_auth's entry."""
    return override_settings(
        ROOT_URLCONF="tests.integrations.django_rest_urls",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
        ],
        MIDDLEWARE=[BAAS, SESSIONS, AUTHENTICATION],
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        AUTHENTICATION_BACKENDS=["tests.integrations.django_rest_urls.StaffBackend"],
        LOGIN_URL="/accounts/login/",
        BAAS_AUTH={"REALM": realm, "APPLICATION": "acme/shop", **baas_auth},
    )


@pytest.fixture
def events() -> list[DecisionEvent]:
    return []


@pytest.fixture
def client(world: World, events: list[DecisionEvent]) -> Iterator[Client]:
    with contrib_auth_settings(world.realm, ON_DECISION=events.append):
        yield Client()


def staff_session(client: Client) -> None:
    """Log the ``StaffBackend``'s staff user in, as ``django.contrib.auth.login`` would."""
    from django.conf import settings
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    from tests.integrations.django_rest_urls import STAFF

    session = SessionStore()
    session["_auth_user_id"] = "7"
    session["_auth_user_backend"] = "tests.integrations.django_rest_urls.StaffBackend"
    session["_auth_user_hash"] = STAFF.get_session_auth_hash()
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key


# -- request.user and @login_required ------------------------------------------------------


def test_login_required_sees_the_signed_in_caller(world: World, client: Client) -> None:
    answer = client.get("/books/private", headers=world.bearer("alice"))
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "class": "PrincipalUser",
        "username": "alice",
        "is_authenticated": True,
        "is_staff": False,
    }


def test_under_asgi_too(world: World, client: Client) -> None:
    from django.test import AsyncClient

    async def calls() -> list[object]:
        http = AsyncClient()
        private = await http.get("/books/private", headers=world.bearer("carol"))
        user = await http.get("/books/async-user", headers=world.bearer("carol"))
        return [private.status_code, private.json()["class"], user.json()]

    assert anyio.run(calls) == [
        200, "PrincipalUser", {"class": "PrincipalUser", "username": "carol"}
    ]


def test_login_required_still_redirects_an_anonymous_caller(world: World, client: Client) -> None:
    world.realm.grant("acme", "shop", "get:/books/private", role="guest")
    answer = client.get("/books/private")
    assert answer.status_code == 302
    assert answer["location"].startswith("/accounts/login/?next=")


def test_a_session_login_keeps_its_user_on_admin_paths(world: World, client: Client) -> None:
    """The admin's paths are left to Django's session login: a guest rule admits the
    anonymous caller, and ``request.user`` stays the session's staff user."""
    world.realm.grant("acme", "shop", "get,post:/admin/**", role="guest")
    assert client.get("/admin/").status_code == 302  # no session: the admin's login page
    staff_session(client)
    answer = client.get("/admin/")
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "class": "User", "username": "root", "is_authenticated": True, "is_staff": True
    }


def test_a_token_is_never_the_session_users_staff(world: World, client: Client) -> None:
    """A baas_auth credential names the caller, whatever session cookie comes with it: the
    guest rule does not admit it, and where its own rules do, it is not staff, so the admin
    sends it to its login page."""
    world.realm.grant("acme", "shop", "get,post:/admin/**", role="guest")
    staff_session(client)
    assert client.get("/admin/", headers=world.bearer("alice")).status_code == 403
    world.realm.grant("acme", "shop", "get:/admin/**", role="default")
    answer = client.get("/admin/", headers=world.bearer("alice"))
    assert answer.status_code == 302
    assert answer["location"].startswith("/admin/login/")


def test_the_principal_user_is_no_database_user(world: World) -> None:
    principal = world.realm.authenticate_token(world.token("carol"))
    user = PrincipalUser(principal)
    assert user.pk is None
    assert user.id is None
    assert user.uuid == principal.uuid
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    assert not user.has_perm("auth.change_user")
    assert user.get_all_permissions() == set()
    for method, args in [("save", ()), ("delete", ()), ("set_password", ("x",))]:
        with pytest.raises(NotImplementedError, match="not a database user"):
            getattr(user, method)(*args)


def test_the_principal_user_reads_roles_and_groups(world: World, client: Client) -> None:
    from baas_auth.middleware.admission import Guard
    from baas_auth.middleware.decisions import GateOptions

    guard = Guard(world.realm, GateOptions.build(application="acme/shop"))
    carol = PrincipalUser(world.realm.authenticate_token(world.token("carol")), guard)
    assert carol.holds_role("editor")  # through /staff
    assert not carol.holds_role("auditor")
    assert carol.group_paths() == ("/staff",)
    assert carol.is_member("/staff")
    assert carol.is_member("/STAFF")  # group paths are names: their case does not matter
    assert not carol.is_member("/staff/editors")
    world.realm.delete_group("acme", "shop", "/staff")
    assert carol.group_paths() == ()
    assert not carol.is_member("/staff")


# -- Django REST framework -----------------------------------------------------------------


def test_drf_sees_the_signed_in_caller(world: World, client: Client) -> None:
    answer = client.get("/books/api/me", headers=world.bearer("alice"))
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "class": "PrincipalUser",
        "username": "alice",
        "is_authenticated": True,
        "is_staff": False,
        "auth": "alice",
        "user_is_request_user": True,
    }


def test_drf_answers_401_with_the_bearer_challenge(world: World, client: Client) -> None:
    world.realm.grant("acme", "shop", "get:/books/api/**", role="guest")
    answer = client.get("/books/api/me")
    assert answer.status_code == 401
    assert answer["www-authenticate"] == 'Bearer realm="acme/shop"'
    assert client.get("/books/api/signed-in").status_code == 401


def test_a_session_user_is_not_signed_in_through_baas_auth(world: World, client: Client) -> None:
    world.realm.grant("acme", "shop", "get:/books/api/**", role="guest")
    staff_session(client)
    assert client.get("/books/api/signed-in").status_code == 401


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/books/api/signed-in", {"alice", "bob", "carol", "dave"}),
        ("/books/api/editors", {"alice", "carol"}),
        ("/books/api/editors-and-auditors", set()),
        ("/books/api/staff", {"carol"}),
        ("/books/api/editors-or-staff", {"carol", "dave"}),
    ],
)
def test_drf_permissions(world: World, client: Client, url: str, allowed: set[str]) -> None:
    for username in ("alice", "bob", "carol", "dave"):
        answer = client.get(url, headers=world.bearer(username))
        expected = 200 if username in allowed else 403
        assert answer.status_code == expected, (username, answer.content)
        if expected == 200:
            assert answer.json() == {"by": username}


def test_drf_rules_permission(world: World) -> None:
    """The middleware has judged the request by the rules already; ``RulesAllow`` says the same
    of a request that reached the view otherwise: a CORS preflight let through, for one."""
    with contrib_auth_settings(world.realm, CORS_PREFLIGHT=True):
        client = Client()
        assert client.get("/books/api/rules", headers=world.bearer("bob")).status_code == 200
        preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
        assert client.options("/books/api/rules", headers=preflight).status_code == 401


def test_drf_refusals_are_reported_as_decisions(
    world: World, client: Client, events: list[DecisionEvent], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="baas_auth"):
        assert client.get("/books/api/editors", headers=world.bearer("bob")).status_code == 403
    assert [(e.decision, e.status, e.reason) for e in events] == [
        ("allow", None, "rule"), ("refuse", 403, "route_requirement")
    ]
    assert events[1].principal == world.realm.authenticate_token(world.token("bob"))
    assert "refused GET /books/api/editors: 403 route_requirement" in caplog.text


def test_a_refusal_overruled_by_or_is_not_reported(
    world: World, client: Client, events: list[DecisionEvent]
) -> None:
    """dave is no member of /staff, but holds auditor: the request is allowed, one event."""
    answer = client.get("/books/api/editors-or-staff", headers=world.bearer("dave"))
    assert answer.status_code == 200
    assert [e.decision for e in events] == ["allow"]


def test_a_store_failure_in_a_permission_is_503(
    world: World, client: Client, events: list[DecisionEvent], monkeypatch: pytest.MonkeyPatch
) -> None:
    from baas_auth.errors import StoreError

    headers = world.bearer("alice")

    def failing(*args: object, **kwargs: object) -> bool:
        raise StoreError("down")

    monkeypatch.setattr(type(world.realm), "holds_role", failing)
    answer = client.get("/books/api/editors", headers=headers)
    assert answer.status_code == 503
    assert answer["retry-after"] == "1"
    assert [(e.decision, e.status, e.reason) for e in events] == [
        ("allow", None, "rule"), ("refuse", 503, "service_unavailable")
    ]


def test_bad_permission_arguments_fail_when_declared() -> None:
    from baas_auth.integrations.django_rest import has_role, in_group

    for make, argument in [(has_role, "Editor!"), (in_group, "staff")]:
        with pytest.raises(ConfigError):
            make(argument)
    with pytest.raises(ConfigError):
        has_role()
