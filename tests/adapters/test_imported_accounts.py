"""Accounts imported from API BaaS on both adapters: the original's users log in with their
passwords through the token endpoint, and its servers with their client credentials."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.adapters.conftest import Caller, World, basic, bearer
from tests.usergrid_export import client, export_document, fixed_uuid, user

PASSWORD = "their old password"


@pytest.fixture
def imported(world: World) -> World:
    users = [user("ivy", "sha-1", PASSWORD), user("igor", "bcrypt", PASSWORD)]
    report = world.realm.import_identities(export_document(users, org="initech"))
    # The world has an admin ann of its own: the exported one is not let in under her name.
    assert [(entry.kind, entry.name) for entry in report.skipped] == [("admin", "ann")]
    return world


@pytest.mark.parametrize("name", ["ivy", "igor", "ivy@example.com"])
def test_an_imported_user_gets_a_token_with_the_original_password(
    caller: Caller, imported: World, name: str
) -> None:
    grant = {"grant_type": "password", "username": name, "password": PASSWORD}
    response = caller.post("/initech/shop/token", data=grant)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["uuid"] == fixed_uuid(f"user:{body['user']['username']}")
    assert body["expires_in"] == 3600  # the exported accesstokenttl
    token = body["access_token"]
    assert caller.get("/initech/shop/books/1", headers=bearer(token)).status_code == 200
    assert caller.get("/initech/shop/secrets", headers=bearer(token)).status_code == 403
    wrong = caller.post("/initech/shop/token", data={**grant, "password": "guess"})
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")


def test_imported_client_credentials_work_in_every_place_a_client_sends_them(
    caller: Caller, imported: World
) -> None:
    pair = client("app", "initech/shop")
    grant = caller.post(
        "/initech/shop/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic((pair["client_id"], pair["client_secret"]))},
    )
    assert grant.status_code == 200, grant.text
    assert grant.json()["application"] == fixed_uuid("app:initech/shop")
    by_query = caller.get("/initech/shop/anything", params=pair)
    assert by_query.status_code == 200
    assert caller.last.principal is not None
    assert caller.last.principal.kind == "app_client"
    other_app = caller.get("/acme/shop/anything", params=pair)
    assert other_app.status_code == 401


def test_an_original_client_id_with_dashes_and_underscores_works_over_http(
    caller: Caller, imported: World
) -> None:
    # The original's ids and secrets are base64url: '-' and '_' must pass every parser.
    pair = {
        "client_id": "YXA6ab-_CDefGH12-_ijKLmnOp",
        "client_secret": "YXA6Zz-_0123456789-_abcdefghijk",
    }
    document = export_document(org="initech")
    document["organizations"][0]["applications"][0]["credentials"] = [pair]
    report = imported.realm.import_identities(document)
    assert [(e.name, e.outcome) for e in report.entries if e.kind == "credentials"] == [
        (client("org", "initech")["client_id"], "unchanged"),
        (pair["client_id"], "created"),
    ]
    grant = caller.post(
        "/initech/shop/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": basic((pair["client_id"], pair["client_secret"]))},
    )
    assert grant.status_code == 200, grant.text
    assert caller.get("/initech/shop/anything", params=pair).status_code == 200
    wrong = {**pair, "client_secret": pair["client_secret"][:-1]}
    assert caller.get("/initech/shop/anything", params=wrong).status_code == 401


def _sdk_token_request(caller: Caller, body: dict[str, object]) -> httpx.Response:
    """The token request of the Apache Usergrid Python SDK (``UsergridAuth.authenticate``):
    a JSON body posted with no Content-Type, asking for its default ttl of one day."""
    return caller.post("/initech/shop/token", content=json.dumps({**body, "ttl": 86_400_000}))


def test_the_python_sdks_app_auth_works_with_imported_credentials(
    caller: Caller, imported: World
) -> None:
    pair = client("app", "initech/shop")
    response = _sdk_token_request(caller, {"grant_type": "client_credentials", **pair})
    assert response.status_code == 200, response.text
    assert response.json()["expires_in"] == 86_400


def test_the_python_sdks_user_auth_meets_the_apps_ttl_ceiling_as_before(
    caller: Caller, imported: World
) -> None:
    # accesstokenttl (1 h) is the ceiling of user tokens: the SDK's one-day ttl is refused,
    # as the original refused it; a client asking for no more than the ceiling gets a token.
    body = {"grant_type": "password", "username": "ivy", "password": PASSWORD}
    refused = _sdk_token_request(caller, body)
    assert (refused.status_code, refused.json()["error"]) == (400, "illegal_argument")
    granted = caller.post("/initech/shop/token", content=json.dumps({**body, "ttl": 3_600_000}))
    assert granted.status_code == 200, granted.text
