"""Client credentials and the app's token lifetime over HTTP, on both adapters and
every store: GET shows client_ids only, POST regenerates a secret (shown once, in that answer)
and the old secret and its tokens stop working; PUT /{org}/{app} sets accesstokenttl for new
tokens only; management paths by name, uuid and the ``organizations`` spelling."""

from __future__ import annotations

from typing import Any

import pytest

from tests.adapters.conftest import PASSWORD, assert_error, basic, bearer
from tests.api.conftest import Api, assert_api_response


def test_get_app_credentials_shows_the_client_id_only(api: Api) -> None:
    creds = api.world.shop_creds
    caller = api.caller()
    response = caller.get("/acme/shop/credentials", headers=api.headers("ann"))
    body = assert_api_response(
        response, action="get application keys", path="/credentials", clock=api.world.clock
    )
    assert body["credentials"] == {"client_id": creds.client_id}
    assert body["list"] == [{"client_id": creds.client_id}]
    assert creds.client_secret not in response.text
    assert "client_secret" not in response.text
    assert response.headers["pragma"] == "no-cache"
    assert not caller.called


def test_post_regenerates_the_secret_and_retires_the_old_one(api: Api) -> None:
    world, caller = api.world, api.caller()
    old = world.shop_creds
    old_token = world.client_token(old)
    response = caller.post("/acme/shop/credentials", headers=api.headers("ann"))
    body = assert_api_response(
        response, action="generate application keys", path="/credentials", clock=world.clock
    )
    new = body["credentials"]
    assert new["client_id"] == old.client_id
    assert new["client_secret"] != old.client_secret
    books = "/acme/shop/books"
    assert caller.get(books, headers={"Authorization": basic(old)}).status_code == 401
    assert caller.get(books, headers=bearer(old_token)).status_code == 401
    fresh = {"Authorization": basic((new["client_id"], new["client_secret"]))}
    assert caller.get(books, headers=fresh).status_code == 200
    shown = caller.get("/acme/shop/credentials", headers=fresh)
    assert new["client_secret"] not in shown.text


def test_an_app_client_may_regenerate_its_own_secret(api: Api) -> None:
    caller = api.caller()
    response = caller.post("/acme/shop/credentials", headers=api.headers("shop-client"))
    secret = response.json()["credentials"]["client_secret"]
    assert api.world.realm.authenticate_client(api.world.shop_creds.client_id, secret)


def test_post_makes_credentials_where_there_are_none(api: Api) -> None:
    caller = api.caller()
    listed = caller.get("/acme/sandbox/credentials", headers=api.headers("ann")).json()
    assert listed["list"] == []
    assert "credentials" not in listed
    made = caller.post("/acme/sandbox/credentials", headers=api.headers("ann")).json()
    principal = api.world.realm.authenticate_client(
        made["credentials"]["client_id"], made["credentials"]["client_secret"]
    )
    assert (principal.kind, principal.org, principal.app) == ("app_client", "acme", "sandbox")


def test_several_pairs_need_a_client_id(api: Api) -> None:
    realm, caller, ann = api.world.realm, api.caller(), api.headers("ann")
    second = realm.create_credentials("acme", "shop")
    response = caller.post("/acme/shop/credentials", headers=ann)
    assert_error(response, 400, "invalid_request", None, clock=api.world.clock)
    listed = caller.get("/acme/shop/credentials", headers=ann).json()
    assert "credentials" not in listed
    assert sorted(item["client_id"] for item in listed["list"]) == sorted(
        [api.world.shop_creds.client_id, second.client_id]
    )
    chosen = caller.post(
        "/acme/shop/credentials", json={"client_id": second.client_id}, headers=ann
    )
    assert chosen.json()["credentials"]["client_id"] == second.client_id
    # the other pair is untouched
    shop = api.world.shop_creds
    assert realm.authenticate_client(shop.client_id, shop.client_secret).kind == "app_client"
    foreign = {"client_id": api.world.vault_creds.client_id}
    response = caller.post("/acme/shop/credentials", json=foreign, headers=ann)
    assert_error(response, 404, "service_resource_not_found", None, clock=api.world.clock)


MANAGEMENT = [
    ("/management/orgs/acme/credentials", "organization", "org"),
    ("/management/organizations/acme/credentials", "organization", "org"),
    ("/management/organizations/{org_uuid}/credentials", "organization", "org"),
    ("/management/orgs/acme/apps/shop/credentials", "application", "shop"),
    ("/management/organizations/ACME/applications/shop/credentials", "application", "shop"),
    ("/management/orgs/{org_uuid}/apps/{app_uuid}/credentials", "application", "shop"),
]


@pytest.mark.parametrize(("template", "what", "whose"), MANAGEMENT)
def test_management_credentials(api: Api, template: str, what: str, whose: str) -> None:
    world = api.world
    url = template.format(
        org_uuid=world.realm.get_org("acme").uuid,
        app_uuid=world.realm.get_app("acme", "shop").uuid,
    )
    caller = api.caller()
    path = url[len("/management") :]
    creds = world.org_creds if whose == "org" else world.shop_creds
    got = caller.get(url, headers=api.headers("acme-client"))
    body = assert_api_response(
        got, action=f"get {what} client credentials", path=path, clock=world.clock
    )
    assert body["credentials"] == {"client_id": creds.client_id}
    assert body["organization"] == "acme"
    assert body["uri"] == url
    assert creds.client_secret not in got.text
    made = caller.post(url, headers=api.headers("ann"))
    body = assert_api_response(
        made, action=f"generate {what} client credentials", path=path, clock=world.clock
    )
    assert body["credentials"]["client_id"] == creds.client_id
    assert world.realm.authenticate_client(creds.client_id, body["credentials"]["client_secret"])
    assert not caller.called


def test_an_unknown_org_or_app_is_404_to_those_who_may_ask(api: Api) -> None:
    caller = api.caller()
    response = caller.get("/management/orgs/acme/apps/nope/credentials", headers=api.headers("ann"))
    assert_error(response, 404, "service_resource_not_found", None, clock=api.world.clock)
    response = caller.get("/management/orgs/nope/credentials", headers=api.headers("ann"))
    assert response.status_code == 403  # not one of ann's orgs: nothing is said of it


# -- PUT /{org}/{app}: accesstokenttl --------------------------------------------------------


def _alice_token(api: Api) -> dict[str, Any]:
    realm = api.world.realm
    grant = realm.password_token("acme", "shop", "alice", PASSWORD)
    info = realm.token_info(grant.access_token)
    return {
        "expires_in": grant.expires_in,
        "expires_at_ms": info.expires_at_ms,
        "token": grant.access_token,
    }


@pytest.mark.parametrize(
    ("sent", "stored", "expires_in"),
    [
        ({"accesstokenttl": 3_600_000}, 3_600_000, 3600),
        ({"accesstokenttl": "60000"}, 60_000, 60),
        ({"accesstokenttl": 0}, 0, None),
        ({"accesstokenttl": 1_209_600_000}, 1_209_600_000, 1_209_600),
        ({"accesstokenttl": None}, None, 604_800),
    ],
)
def test_put_app_sets_accesstokenttl_for_new_tokens(
    api: Api, sent: dict[str, Any], stored: int | None, expires_in: int | None
) -> None:
    world, caller = api.world, api.caller()
    before = _alice_token(api)
    response = caller.put("/acme/shop", json=sent, headers=api.headers("ann"))
    body = assert_api_response(response, action="put", path="/", clock=world.clock)
    app = world.realm.get_app("acme", "shop")
    assert body["entities"] == [
        {
            "uuid": app.uuid,
            "type": "application",
            "name": "acme/shop",
            "applicationName": "shop",
            "accesstokenttl": stored,
            "refreshtokenttl": None,
            "refreshtokengrace": 0,
        }
    ]
    assert app.access_token_ttl_ms == stored
    assert _alice_token(api)["expires_in"] == expires_in
    # a token issued before keeps its life
    assert world.realm.token_info(before["token"]).expires_at_ms == before["expires_at_ms"]
    assert not caller.called


@pytest.mark.parametrize(
    "sent",
    [
        {"accesstokenttl": -1},
        {"accesstokenttl": "soon"},
        {"accesstokenttl": True},
        {"accesstokenttl": 1.5},
        {"accesstokenttl": 10, "name": "other"},
        {},
    ],
)
def test_put_app_bad_input(api: Api, sent: dict[str, Any]) -> None:
    caller = api.caller()
    response = caller.put("/acme/vault", json=sent, headers=api.headers("ann"))
    assert_error(response, 400, "illegal_argument", None, clock=api.world.clock)
    assert api.world.realm.get_app("acme", "vault").access_token_ttl_ms == 3_600_000
    assert not caller.called


def test_other_methods_on_the_app_root_reach_the_app(api: Api) -> None:
    caller = api.caller()
    assert caller.get("/acme/shop", headers=api.headers("ann")).status_code == 200
    assert caller.last.path == "/acme/shop"
    assert caller.post("/acme/shop/", headers=api.headers("ann")).status_code == 200


def test_single_app_mode(api: Api) -> None:
    caller = api.caller(application="acme/vault")
    ann = api.headers("ann")
    response = caller.put("/", json={"accesstokenttl": 5000}, headers=ann)
    assert response.status_code == 200
    assert api.world.realm.get_app("acme", "vault").access_token_ttl_ms == 5000
    shown = caller.get("/credentials", headers=ann).json()
    assert shown["credentials"] == {"client_id": api.world.vault_creds.client_id}
    assert caller.get("/", headers=ann).status_code == 200  # the wrapped app's
    assert len(caller.calls) == 1


def test_off_every_path_reaches_the_app(api: Api) -> None:
    caller = api.build()
    ann = api.headers("ann")
    assert caller.put("/acme/shop", json={"accesstokenttl": 1}, headers=ann).status_code == 200
    assert caller.post("/acme/shop/credentials", headers=ann).status_code == 200
    assert len(caller.calls) == 2
    assert api.world.realm.get_app("acme", "shop").access_token_ttl_ms is None
    shop = api.world.shop_creds
    assert api.world.realm.authenticate_client(shop.client_id, shop.client_secret)


# -- the refresh-token TTL next to accesstokenttl ---------------------------------------------


def test_put_app_sets_the_refresh_token_ttl_and_grace(api: Api) -> None:
    world, caller = api.world, api.caller()
    ann = api.headers("ann")
    sent = {"refreshtokenttl": 86_400_000, "refreshtokengrace": "5000"}
    body = caller.put("/acme/shop", json=sent, headers=ann).json()
    entity = body["entities"][0]
    assert (entity["accesstokenttl"], entity["refreshtokenttl"], entity["refreshtokengrace"]) == (
        None,
        86_400_000,
        5000,
    )
    app = world.realm.get_app("acme", "shop")
    assert (app.refresh_token_ttl_ms, app.refresh_grace_ms) == (86_400_000, 5000)
    assert world.realm.password_token("acme", "shop", "alice", PASSWORD).refresh_token
    both = {"accesstokenttl": 60_000, "refreshtokenttl": 3_600_000}  # the grace stays
    entity = caller.put("/acme/shop", json=both, headers=ann).json()["entities"][0]
    assert (entity["accesstokenttl"], entity["refreshtokenttl"], entity["refreshtokengrace"]) == (
        60_000,
        3_600_000,
        5000,
    )
    read = caller.get("/management/orgs/acme/apps/shop", headers=ann)
    assert read.status_code == 200, read.text
    assert read.json()["entities"] == [entity]
    off = caller.put("/acme/shop", json={"refreshtokenttl": None}, headers=ann).json()
    assert off["entities"][0]["refreshtokenttl"] is None
    assert world.realm.password_token("acme", "shop", "alice", PASSWORD).refresh_token is None
    assert not caller.called


@pytest.mark.parametrize(
    "sent",
    [
        {"refreshtokenttl": -1},
        {"refreshtokengrace": 60_001},
        {"refreshtokengrace": "soon"},
        {"refreshtokenttl": 1000, "refreshtokengrace": 60_001, "accesstokenttl": 5},
    ],
)
def test_put_app_bad_refresh_input_changes_nothing(api: Api, sent: dict[str, Any]) -> None:
    caller = api.caller()
    response = caller.put("/acme/vault", json=sent, headers=api.headers("ann"))
    assert_error(response, 400, "illegal_argument", None, clock=api.world.clock)
    app = api.world.realm.get_app("acme", "vault")
    assert (app.access_token_ttl_ms, app.refresh_token_ttl_ms) == (3_600_000, None)


def test_reading_an_app_takes_an_admin_of_its_org(api: Api) -> None:
    caller = api.caller()
    assert caller.get(
        "/management/orgs/acme/apps/shop", headers=api.headers("gus")
    ).status_code in (
        401,
        403,
    )
    assert (
        caller.get("/management/orgs/acme/apps/nope", headers=api.headers("ann")).status_code == 404
    )
