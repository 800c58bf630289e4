"""The management API's frame: off by default, which requests it takes, how it answers
(Usergrid's ApiResponse, no-store), 405s, and GET /roles through every way of addressing the
app, by every caller of the matrix, on both adapters and every store."""

from __future__ import annotations

import pytest

from tests.adapters.conftest import assert_error
from tests.api.conftest import WHO, Api, assert_api_response

ROLES_OF_SHOP = ["admin", "default", "guest"]

# GET /roles is judged by the app's rules: acme/shop has the original's roles, so a signed-in
# user may read it (``default``: get,put,post,delete:/**) and a guest may not; its clients
# and acme's admins may; everyone of another app or org is a stranger (401).
GET_ROLES = {
    "guest": 401,
    "alice": 200,
    "bob": 200,
    "ann": 200,
    "gus": 401,
    "shop-client": 200,
    "acme-client": 200,
    "vault-client": 401,
    "globex-client": 401,
}


def test_off_by_default_the_wrapped_app_gets_the_path(api: Api) -> None:
    caller = api.build()
    response = caller.get("/acme/shop/roles", headers=api.headers("ann"))
    assert response.status_code == 200
    assert caller.last.path == "/acme/shop/roles"


def test_off_explicitly(api: Api) -> None:
    caller = api.caller(management_api=False)
    assert caller.get("/acme/shop/roles", headers=api.headers("ann")).status_code == 200
    assert caller.called


@pytest.mark.parametrize("who", WHO)
def test_get_roles_authorization(api: Api, who: str) -> None:
    caller = api.caller()
    response = caller.get("/acme/shop/roles", headers=api.headers(who))
    assert response.status_code == GET_ROLES[who], response.text
    assert not caller.called
    if response.status_code == 200:
        body = assert_api_response(response, action="get", path="/roles", clock=api.world.clock)
        assert [role["name"] for role in body["entities"]] == ROLES_OF_SHOP
    else:
        assert_error(response, 401, "unauthorized", None, clock=api.world.clock)


def test_get_roles_answer_shape(api: Api) -> None:
    response = api.caller().get("/acme/shop/roles?limit=5", headers=api.headers("ann"))
    body = assert_api_response(response, action="get", path="/roles", clock=api.world.clock)
    shop = api.world.realm.get_app("acme", "shop")
    assert body["application"] == shop.uuid
    assert body["organization"] == "acme"
    assert body["applicationName"] == "shop"
    assert body["uri"] == "/acme/shop/roles"
    assert body["params"] == {"limit": ["5"]}
    assert body["count"] == 3
    admin = api.world.realm.get_role("acme", "shop", "admin")
    assert body["entities"][0] == {
        "uuid": admin.uuid,
        "type": "role",
        "name": "admin",
        "roleName": "admin",
        "title": "admin",
        "inactivity": 0,
        "metadata": {"path": "/roles/admin"},
    }


def test_credentials_in_the_query_are_not_echoed(api: Api) -> None:
    creds = api.world.shop_creds
    query = f"client_id={creds.client_id}&client_secret={creds.client_secret}&ql=x"
    response = api.caller().get(f"/acme/shop/roles?{query}")
    body = assert_api_response(response, action="get", path="/roles", clock=api.world.clock)
    assert body["params"] == {"ql": ["x"]}
    assert creds.client_secret not in response.text


@pytest.mark.parametrize(
    "prefix", ["org-uuid/app-uuid", "org/app-uuid", "org-uuid/app", "ACME/Shop"]
)
def test_the_app_addressed_by_uuid_or_any_case(api: Api, prefix: str) -> None:
    org, app = api.world.realm.get_org("acme"), api.world.realm.get_app("acme", "shop")
    names = {"org-uuid": org.uuid, "app-uuid": app.uuid, "org": "acme", "app": "shop"}
    first, second = prefix.split("/")
    url = f"/{names.get(first, first)}/{names.get(second, second)}/roles"
    response = api.caller().get(url, headers=api.headers("alice"))
    body = assert_api_response(response, action="get", path="/roles", clock=api.world.clock)
    assert body["application"] == app.uuid


def test_an_unknown_uuid_is_no_app(api: Api) -> None:
    url = "/00000000-0000-4000-8000-000000000000/shop/roles"
    response = api.caller().get(url, headers=api.headers("ann"))
    assert response.status_code == 401


def test_another_method_on_an_api_path_is_405(api: Api) -> None:
    caller = api.caller()
    response = caller.request("PATCH", "/acme/shop/roles", headers=api.headers("ann"))
    assert response.status_code == 405
    assert "GET" in response.headers["allow"]
    assert not caller.called


def test_other_paths_still_reach_the_app(api: Api) -> None:
    caller = api.caller()
    assert caller.get("/acme/shop/books", headers=api.headers("alice")).status_code == 200
    assert caller.last.path == "/acme/shop/books"
    assert caller.get("/acme/shop/roles/x/y/z", headers=api.headers("alice")).status_code == 200


def test_single_app_mode(api: Api) -> None:
    caller = api.caller(application="acme/shop")
    response = caller.get("/roles", headers=api.headers("shop-client"))
    body = assert_api_response(response, action="get", path="/roles", clock=api.world.clock)
    assert body["uri"] == "/acme/shop/roles"
    assert not caller.called


def test_a_failing_store_is_503(api: Api) -> None:
    caller = api.caller()
    headers = api.headers("ann")
    api.world.store.down = True
    try:
        response = caller.get("/acme/shop/roles", headers=headers)
    finally:
        api.world.store.down = False
    assert response.status_code == 503
    assert not caller.called
