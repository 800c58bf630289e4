"""A route guard decides on its own, on real servers (uvicorn with FastAPI and Starlette, gunicorn
with Flask and Django), each serving its example on a realm the examples alone seed: app acme/shop
with locked roles, where no rule allows DELETE to anyone, so each example's
``DELETE /books/{id}`` guarded by ``require(role="editor")`` is decided by that guard."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from baas_auth import Realm, SQLiteStore
from tests.conftest import FAST_HASHER
from tests.integration.flows import bearer
from tests.integration.test_framework_helpers import (  # noqa: F401 - fixtures, used by name
    _assert_role_refusal,
    _token,
    django_server,
    fastapi_server,
    flask_server,
    serve,
    starlette_server,
)

EXAMPLES = ["fastapi", "starlette", "flask", "django"]


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty realm file: the examples' own seed makes acme/shop, alice and bob."""
    path = tmp_path_factory.mktemp("realm") / "auth.db"
    Realm(SQLiteStore(path), password_hasher=FAST_HASHER).close()
    return path


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_guard_decides_what_no_rule_allows(
    example: str, request: pytest.FixtureRequest, client: httpx.Client, shared_realm: Realm
) -> None:
    server: str = request.getfixturevalue(f"{example}_server")
    alice = bearer(_token(shared_realm, "alice"))
    deleted = client.delete(f"{server}/books/1", headers=alice)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] == 1
    _assert_role_refusal(
        client.delete(f"{server}/books/1", headers=bearer(_token(shared_realm, "bob")))
    )


@pytest.mark.parametrize("example", EXAMPLES)
def test_nothing_else_opens(
    example: str, request: pytest.FixtureRequest, client: httpx.Client, shared_realm: Realm
) -> None:
    server: str = request.getfixturevalue(f"{example}_server")
    alice = bearer(_token(shared_realm, "alice"))
    assert client.delete(f"{server}/books/1", headers=alice).status_code == 200
    assert client.delete(f"{server}/books/1").status_code == 401  # the guest, as before
    shared_realm.create_app("acme", f"other-{example}")
    shared_realm.create_user("acme", f"other-{example}", "eve", password="wonderland")
    eve = shared_realm.password_token("acme", f"other-{example}", "eve", "wonderland")
    assert client.delete(f"{server}/books/1", headers=bearer(eve.access_token)).status_code == 401
    # No route, or a route without a guard, and no rule: refused as before.
    for method, path in (("DELETE", "/nowhere/1"), ("DELETE", "/books")):
        refused = client.request(method, f"{server}{path}", headers=alice)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["error"] == "unauthorized"


def test_flasks_signed_in_guard_decides(
    request: pytest.FixtureRequest, client: httpx.Client, shared_realm: Realm
) -> None:
    server: str = request.getfixturevalue("flask_server")
    answer = client.get(f"{server}/profile", headers=bearer(_token(shared_realm, "bob")))
    assert answer.status_code == 200, answer.text  # no rule names /profile: @require() decides
    assert answer.json() == {"user": "bob", "kind": "app_user"}
    assert client.get(f"{server}/profile").status_code == 401
