"""Django with ``django.contrib.auth`` and its admin behind baas_auth, on gunicorn, with httpx:
``@login_required`` sees a caller signed in through baas_auth (a ``PrincipalUser``, never
staff, never saved), an anonymous caller is still sent to the login page, the admin keeps its
own session login, and Django REST framework's classes answer 401 with the Bearer challenge,
403 for a missing role, and judge by the rules (``tests/integration/django_site.py``)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from baas_auth import Realm, SQLiteStore
from tests.conftest import FAST_HASHER
from tests.integration.conftest import ROOT, free_port, server_env, serving
from tests.integration.flows import bearer
from tests.integrations.conftest import PASSWORD
from tests.integrations.conftest import seed as seed_shop

ROOT_PASSWORD = "admin-only-in-tests"
TARGET = "tests.integration.django_site:app"


@pytest.fixture(scope="module")
def realm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("realm") / "auth.db"


@pytest.fixture(scope="module")
def realm(realm_file: Path) -> Iterator[Realm]:
    """acme/shop as the framework tests seed it; the admin's paths left to Django's login."""
    realm = Realm(SQLiteStore(realm_file), password_hasher=FAST_HASHER)
    seed_shop(realm)
    realm.grant("acme", "shop", "get,post:/admin/**", role="guest")
    realm.grant("acme", "shop", "get:/books/private,/books/api/**", role="guest")
    yield realm
    realm.close()


@pytest.fixture(scope="module")
def site(
    realm: Realm, realm_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("django")
    env = server_env(
        BAAS_REALM=f"sqlite:///{realm_file}",
        DJANGO_DB=str(directory / "django.db"),
        ROOT_PASSWORD=ROOT_PASSWORD,
    )
    subprocess.run(
        [sys.executable, "-m", "tests.integration.django_site", "setup"],
        cwd=ROOT, env=env, check=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
        "--graceful-timeout", "5", TARGET,
    ]  # fmt: skip
    with serving(command, env=env, log=directory / "gunicorn.log", port=port) as url:
        yield url


@pytest.fixture
def client(site: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site, timeout=20) as client:
        yield client


def _token(realm: Realm, username: str) -> dict[str, str]:
    return bearer(realm.password_token("acme", "shop", username, PASSWORD).access_token)


def test_login_required_sees_the_signed_in_caller(realm: Realm, client: httpx.Client) -> None:
    answer = client.get("/books/private", headers=_token(realm, "alice"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "class": "PrincipalUser",
        "username": "alice",
        "pk": None,
        "is_staff": False,
        "is_superuser": False,
    }


def test_an_anonymous_caller_is_sent_to_the_login_page(client: httpx.Client) -> None:
    answer = client.get("/books/private")
    assert answer.status_code == 302
    assert answer.headers["location"].startswith("/admin/login/?next=")


def test_the_signed_in_callers_user_cannot_be_saved(realm: Realm, client: httpx.Client) -> None:
    answer = client.get("/books/save-me", headers=_token(realm, "alice"))
    assert answer.json() == {"saved": False, "error": "NotImplementedError"}


def test_the_admin_keeps_its_session_login(client: httpx.Client) -> None:
    login = client.get("/admin/login/")
    assert login.status_code == 200, login.text
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert match is not None
    answer = client.post(
        "/admin/login/?next=/admin/",
        data={"username": "root", "password": ROOT_PASSWORD, "csrfmiddlewaretoken": match[1]},
        headers={"Referer": f"{client.base_url}admin/login/"},
    )
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"] == "/admin/"
    index = client.get("/admin/")
    assert index.status_code == 200
    assert "Site administration" in index.text
    assert client.get("/admin/auth/user/").status_code == 200


def test_a_token_does_not_open_the_admin(realm: Realm, client: httpx.Client) -> None:
    """Signed in through baas_auth, no rule of the caller's admits /admin/: the middleware
    refuses it before Django's admin is asked."""
    assert client.get("/admin/", headers=_token(realm, "alice")).status_code == 403


def test_drf_answers_a_token_and_challenges_its_absence(
    realm: Realm, client: httpx.Client
) -> None:
    answer = client.get("/books/api/me", headers=_token(realm, "carol"))
    assert answer.status_code == 200, answer.text
    assert (answer.json()["class"], answer.json()["auth"]) == ("PrincipalUser", "carol")
    anonymous = client.get("/books/api/me")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="acme/shop"'


def test_drf_role_permission(realm: Realm, client: httpx.Client) -> None:
    assert client.get("/books/api/editors", headers=_token(realm, "alice")).status_code == 200
    assert client.get("/books/api/editors", headers=_token(realm, "bob")).status_code == 403


def test_drf_rules_permission(realm: Realm, client: httpx.Client) -> None:
    assert client.get("/books/api/rules", headers=_token(realm, "bob")).status_code == 200
    preflight = {"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"}
    assert client.options("/books/api/rules", headers=preflight).status_code == 401
