"""Who may call the management API (``baas_auth.api.authorize``), on both adapters and every
store: one endpoint of each kind of access, by every caller of the matrix (``WHO``). Nothing a
refused caller sends changes the realm, and the wrapped app is never called."""

from __future__ import annotations

from typing import Any

import pytest

from tests.adapters.conftest import assert_error
from tests.api.conftest import WHO, Api

# status by caller: guest, alice, bob, ann, gus, shop-client, acme-client, vault-client,
# globex-client (acme/shop has the original's roles: its users' ``default`` role allows
# every verb on /**, its guest only posting users and devices).
RULES = [401, 200, 200, 200, 401, 200, 200, 401, 401]  # read: judged by the rules
EXPLICIT = [401, 403, 403, 200, 401, 200, 200, 401, 401]  # write: /** is not enough
ADMIN = [401, 403, 403, 200, 401, 200, 200, 401, 401]  # clients and org admins only
ORG_ADMIN = [401, 403, 403, 200, 403, 403, 200, 403, 403]  # the org's admins and client
# ``me`` names the calling app user; to a client or an admin it names no one (400)
ME = [401, 403, 403, 400, 401, 400, 400, 401, 401]

ENDPOINTS: list[tuple[str, str, dict[str, Any], list[int]]] = [
    ("GET", "/acme/shop/roles/default/permissions", {}, RULES),
    ("GET", "/acme/shop/users/bob/groups", {}, RULES),
    ("POST", "/acme/shop/roles", {"json": {"name": "writer"}}, EXPLICIT),
    ("DELETE", "/acme/shop/roles/guest", {}, EXPLICIT),
    ("POST", "/acme/shop/roles/default/permissions", {"json": {"permission": "get:/x"}}, EXPLICIT),
    (
        "DELETE",
        "/acme/shop/roles/default/permissions",
        {"params": {"permission": "get,put,post,delete:/**"}},
        EXPLICIT,
    ),
    ("POST", "/acme/shop/users/me/roles/admin", {}, ME),
    ("POST", "/acme/shop/roles/admin/users/bob", {}, EXPLICIT),
    ("POST", "/acme/shop/users/bob/permissions", {"json": {"permission": "get:/x"}}, EXPLICIT),
    ("GET", "/acme/shop/credentials", {}, ADMIN),
    ("POST", "/acme/shop/credentials", {}, ADMIN),
    ("PUT", "/acme/shop", {"json": {"accesstokenttl": 1000}}, ADMIN),
    ("GET", "/management/orgs/acme/credentials", {}, ORG_ADMIN),
    ("POST", "/management/organizations/acme/credentials", {}, ORG_ADMIN),
    ("GET", "/management/orgs/acme/apps/shop/credentials", {}, ORG_ADMIN),
    ("POST", "/management/orgs/acme/apps/shop/credentials", {}, ORG_ADMIN),
]
CASES = [
    pytest.param(method, url, sent, who, statuses[index], id=f"{method} {url} {who}")
    for method, url, sent, statuses in ENDPOINTS
    for index, who in enumerate(WHO)
]


def _state(api: Api) -> tuple[object, ...]:
    realm = api.world.realm
    return (
        realm.list_roles("acme", "shop"),
        realm.user_roles("acme", "shop", "alice"),
        realm.user_roles("acme", "shop", "bob"),
        realm.user_rules("acme", "shop", "bob"),
        realm.get_app("acme", "shop"),
        realm.list_credentials("acme"),
    )


@pytest.mark.parametrize(("method", "url", "sent", "who", "status"), CASES)
def test_matrix(
    api: Api, method: str, url: str, sent: dict[str, Any], who: str, status: int
) -> None:
    caller = api.caller()
    headers = api.headers(who)
    before = _state(api)
    response = caller.request(method, url, headers=headers, **sent)
    assert response.status_code == status, response.text
    assert not caller.called
    if status == 200:
        return
    assert _state(api) == before
    clock = api.world.clock
    if status == 400:
        assert_error(response, 400, "invalid_request", None, clock=clock)
    elif status == 403:
        assert_error(response, 403, "unauthorized", None, clock=clock)
    else:
        assert_error(response, 401, "unauthorized", None, clock=clock)


def test_usergrid_status_codes_answer_401(api: Api) -> None:
    caller = api.caller(usergrid_status_codes=True)
    response = caller.get("/acme/shop/credentials", headers=api.headers("alice"))
    assert_error(response, 401, "unauthorized", None, clock=api.world.clock)


def test_a_bad_credential_is_401_never_guest(api: Api) -> None:
    caller = api.caller()
    response = caller.get("/acme/sandbox/roles", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json()["error"] == "auth_bad_access_token"


def test_query_credentials_follow_the_option(api: Api) -> None:
    creds = api.world.shop_creds
    query = {"client_id": creds.client_id, "client_secret": creds.client_secret}
    assert api.caller().get("/acme/shop/credentials", params=query).status_code == 200
    refused = api.caller(allow_query_credentials=False)
    response = refused.get("/acme/shop/credentials", params=query)
    assert_error(response, 400, "invalid_request", None, clock=api.world.clock)
