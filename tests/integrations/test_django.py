"""Django: ``AuthMiddleware`` named in MIDDLEWARE and configured by ``settings.BAAS_AUTH``,
``request.principal`` and ``request.user``, ``@require``, and static files (in process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import examples.django_app  # noqa: F401 - configures Django's settings if nothing has yet
from baas_auth import Realm, SQLiteStore
from baas_auth.integrations.django import PrincipalUser
from tests.conftest import FAST_HASHER
from tests.integrations.conftest import PASSWORD, World, seed

from django.contrib.staticfiles.handlers import StaticFilesHandler  # isort: skip
from django.core.exceptions import ImproperlyConfigured  # isort: skip
from django.core.handlers.wsgi import WSGIHandler  # isort: skip
from django.test import AsyncClient, Client, override_settings  # isort: skip

MIDDLEWARE = ["baas_auth.integrations.django.AuthMiddleware"]


def _settings(realm: object, **extra: Any) -> override_settings:
    baas_auth = {"REALM": realm, "APPLICATION": "acme/shop", **extra.pop("BAAS_AUTH", {})}
    return override_settings(
        ROOT_URLCONF="tests.integrations.django_urls",
        MIDDLEWARE=MIDDLEWARE,
        BAAS_AUTH=baas_auth,
        **extra,
    )


@pytest.fixture
def client(world: World) -> Iterator[Client]:
    with _settings(world.realm):
        yield Client()


def test_request_principal_and_user(world: World, client: Client) -> None:
    answer = client.get("/whoami", headers=world.bearer("alice"))
    assert answer.status_code == 200, answer.content
    assert answer.json() == {
        "principal": "alice",
        "kind": "app_user",
        "meta_principal": True,
        "user": "alice",
        "username": "alice",
        "user_is_authenticated": True,
        "user_is_anonymous": False,
        "query": {},
    }


def test_the_guests_user_is_anonymous(world: World, client: Client) -> None:
    world.realm.grant("acme", "shop", "get:/whoami", role="guest")
    body = client.get("/whoami").json()
    assert (body["kind"], body["user_is_authenticated"], body["user_is_anonymous"]) == (
        "guest", False, True
    )


def test_principal_user_has_no_django_permissions(world: World) -> None:
    user = PrincipalUser(world.realm.authenticate_token(world.token("alice")))
    assert user.pk is None  # no database user is it
    assert user.id is None
    assert user.uuid == user.principal.uuid
    assert not user.is_staff
    assert not user.is_superuser
    assert not user.has_perm("books.change_book")
    assert not user.has_perms(["books.change_book"])
    assert not user.has_module_perms("books")
    assert repr(user) == "<PrincipalUser app_user 'alice'>"


def test_with_django_contrib_auth_only_a_guests_user_is_left_alone(world: World) -> None:
    """See test_django_users.py for contrib.auth with its sessions and middleware."""
    apps = ["django.contrib.contenttypes", "django.contrib.auth"]
    world.realm.grant("acme", "shop", "get:/whoami", role="guest")
    with _settings(world.realm, INSTALLED_APPS=apps):
        signed_in = Client().get("/whoami", headers=world.bearer("alice")).json()
        guest = Client().get("/whoami").json()
    assert (signed_in["principal"], signed_in["user"]) == ("alice", "alice")
    assert (guest["kind"], guest["user"]) == ("guest", None)  # nobody set it


def test_refusals_are_the_middlewares(client: Client) -> None:
    answer = client.get("/whoami")
    assert answer.status_code == 401
    assert answer["content-type"] == "application/json"
    assert answer["www-authenticate"].startswith('Bearer realm="acme/shop"')
    assert answer.json()["error"] == "unauthorized"


def test_the_token_endpoint_is_served_through_django(world: World, client: Client) -> None:
    answer = client.post(
        "/token",
        f"grant_type=password&username=carol&password={PASSWORD}",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200, answer.content
    assert answer["cache-control"] == "no-store"
    token = answer.json()["access_token"]
    whoami = client.get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert whoami.json()["principal"] == "carol"


def test_a_query_token_is_scrubbed_and_its_answer_private(world: World, client: Client) -> None:
    answer = client.get(f"/whoami?access_token={world.token('bob')}&page=2")
    assert answer.status_code == 200
    assert answer.json()["query"] == {"page": "2"}
    assert "private" in answer["cache-control"]


@pytest.mark.parametrize(("username", "status"), [("alice", 200), ("carol", 200), ("bob", 403)])
def test_require_role(world: World, client: Client, username: str, status: int) -> None:
    answer = client.put("/books/edit", headers=world.bearer(username))
    assert answer.status_code == status
    if status == 403:
        assert answer.json()["error"] == "unauthorized"
        assert 'error="insufficient_scope"' in answer["www-authenticate"]


def test_require_on_a_class_based_view(world: World, client: Client) -> None:
    assert client.put("/books/shelf", headers=world.bearer("carol")).json() == {
        "shelved_by": "carol"
    }
    assert client.put("/books/shelf", headers=world.bearer("bob")).status_code == 403


def test_require_rule_and_authentication(world: World, client: Client) -> None:
    assert client.get("/books/report", headers=world.bearer("alice")).status_code == 200
    assert client.get("/books/report", headers=world.bearer("bob")).status_code == 403
    world.realm.grant("acme", "shop", "get:/books/signed-in", role="guest")
    assert client.get("/books/signed-in").status_code == 401
    assert client.get("/books/signed-in", headers=world.bearer("bob")).status_code == 200


def test_the_realm_by_its_url(tmp_path: Path) -> None:
    path = tmp_path / "auth.db"
    realm = Realm(SQLiteStore(path), password_hasher=FAST_HASHER)
    try:
        seed(realm)
        token = realm.password_token("acme", "shop", "bob", PASSWORD).access_token
        with _settings(f"sqlite:///{path}"):
            answer = Client().get("/whoami", headers={"Authorization": f"Bearer {token}"})
        assert answer.json()["principal"] == "bob"
    finally:
        realm.close()


def test_management_api_setting(world: World) -> None:
    """``MANAGEMENT_API`` is the middleware's ``management_api``: the middleware answers the
    management paths itself (off, they reach Django's URLconf, which has none of them)."""
    with _settings(world.realm, BAAS_AUTH={"MANAGEMENT_API": True}):
        answer = Client().get("/roles/editor/users", headers=world.admin_bearer())
    assert answer.status_code == 200, answer.content
    assert [user["username"] for user in answer.json()["entities"]] == ["alice"]
    with _settings(world.realm):
        assert Client().get("/roles/editor/users", headers=world.admin_bearer()).status_code == 404


@pytest.mark.parametrize(
    ("baas_auth", "message"),
    [
        (None, "BAAS_AUTH"),
        ({"APPLICATION": "acme/shop"}, "BAAS_AUTH"),
        ({"REALM": 42}, "REALM"),
        ({"REALM": "nosuch://x"}, "REALM"),
        ({"REALM": "memory:", "APPLICATION": "acme/shop"}, "no such application"),
        ({"REALM": "WORLD", "STRICT": "yes"}, "strict"),
        ({"REALM": "WORLD", "APPLICATON": "acme/shop"}, "unknown keys"),
    ],
)
def test_configuration_errors_are_improperly_configured(
    world: World, baas_auth: dict[str, object] | None, message: str
) -> None:
    if baas_auth is not None and baas_auth.get("REALM") == "WORLD":
        baas_auth = {**baas_auth, "REALM": world.realm}
    with override_settings(
        ROOT_URLCONF="tests.integrations.django_urls", MIDDLEWARE=MIDDLEWARE, BAAS_AUTH=baas_auth
    ), pytest.raises(ImproperlyConfigured, match=message):
        Client().get("/whoami")


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    (tmp_path / "app.css").write_text("body {}")
    return tmp_path


def test_runserver_static_files_bypass_the_middleware(world: World, static_dir: Path) -> None:
    """The gap, documented in docs/frameworks.md: runserver wraps the WSGI app in
    ``StaticFilesHandler``, which answers /static/… before any middleware runs."""
    with _settings(
        world.realm,
        INSTALLED_APPS=["django.contrib.staticfiles"],
        STATIC_URL="/static/",
        STATICFILES_DIRS=[str(static_dir)],
    ):
        handler = StaticFilesHandler(WSGIHandler())
        transport = httpx.WSGITransport(app=handler)
        with httpx.Client(transport=transport, base_url="http://testserver") as http:
            assert http.get("/static/app.css").status_code == 200  # no token, served anyway
            assert http.get("/whoami").status_code == 401  # the rest is behind the middleware


def test_static_files_served_by_a_view_are_behind_the_middleware(
    world: World, static_dir: Path
) -> None:
    with _settings(world.realm, STATICFILES_DIRS=[str(static_dir)]):
        client = Client()
        assert client.get("/assets/app.css").status_code == 401
        world.realm.grant("acme", "shop", "get:/assets/**", role="default")
        answer = client.get("/assets/app.css", headers=world.bearer("bob"))
        assert answer.status_code == 200
        assert b"".join(answer.streaming_content) == b"body {}"


def test_under_asgi_the_same_middleware_works(world: World) -> None:
    """Django's ASGI handler has no ``wsgi.input``: the token endpoint reads the request."""

    async def calls() -> list[tuple[int, object]]:
        client = AsyncClient()
        token = await client.post(
            "/token",
            f"grant_type=password&username=alice&password={PASSWORD}",
            content_type="application/x-www-form-urlencoded",
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        edit = await client.put("/books/edit", headers=headers)
        refused = await client.put("/books/edit", headers=world.bearer("bob"))
        anonymous = await client.get("/whoami")
        return [(token.status_code, None), (edit.status_code, edit.json()),
                (refused.status_code, None), (anonymous.status_code, None)]

    with _settings(world.realm):
        assert anyio.run(calls) == [(200, None), (200, {"by": "alice"}), (403, None), (401, None)]
