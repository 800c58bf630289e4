"""The Apache Usergrid Python SDK's calls on these endpoints, replayed as it sends them.

Each fixture is one call: the URL the SDK builds from its templates (``app_templates``,
``management_templates``), its method, and its body, which it sends as ``json.dumps(...)``
with no Content-Type. Notable: its ``assign_role`` names the link by the entity's *singular*
type (``/roles/{role}/user/{uuid}``) and sends DELETE (so it removes the role; the documented
assignment is a POST on the same URL); users are named by uuid, groups by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from baas_auth.model import ClientCredentials
from tests.api.conftest import Api

DAY_MS = 86_400 * 1000  # the SDK's default token_ttl_seconds (a day), in the ms it sends


@dataclass(frozen=True)
class SdkCall:
    """One request as the SDK makes it."""

    method: str
    url: str
    """The SDK's template filled in; ``{bob}`` is bob's uuid, ``{org_uuid}`` acme's."""
    body: dict[str, Any] | None = None

    def send(self, api: Api, token: str) -> Any:
        world = api.world
        url = self.url.format(
            bob=world.uuids["bob"],
            org_uuid=world.realm.get_org("acme").uuid,
            app_uuid=world.realm.get_app("acme", "shop").uuid,
        )
        content = b"" if self.body is None else json.dumps(self.body).encode()
        headers = {"Authorization": f"Bearer {token}"}
        return api.caller().request(self.method, url, content=content, headers=headers)


def _client_token(api: Api, creds: ClientCredentials, url: str) -> str:
    """UsergridOrgAuth and UsergridAppAuth: POST the grant as JSON without Content-Type."""
    body = {
        "grant_type": "client_credentials",
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "ttl": DAY_MS,
    }
    response = api.caller().post(url, content=json.dumps(body).encode())
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _org_token(api: Api) -> str:
    return _client_token(api, api.world.org_creds, "/management/token")


def _app_token(api: Api) -> str:
    return _client_token(api, api.world.shop_creds, "/acme/shop/token")


@pytest.mark.parametrize("token_of", [_org_token, _app_token], ids=["org-auth", "app-auth"])
def test_assign_role_as_the_sdk_sends_it(model: Api, token_of: Any) -> None:
    token = token_of(model)
    realm = model.world.realm
    # client.assign_role("editor", bob): DELETE …/roles/editor/user/<bob's uuid>
    removed = SdkCall("DELETE", "/acme/shop/roles/editor/user/{bob}").send(model, token)
    assert removed.status_code == 200, removed.text
    assert removed.json()["entities"][0]["uuid"] == model.world.uuids["bob"]
    assert realm.user_roles("acme", "shop", "bob") == ()
    # the documented assignment: POST on the same URL
    made = SdkCall("POST", "/acme/shop/roles/editor/user/{bob}").send(model, token)
    assert made.status_code == 200
    assert realm.user_roles("acme", "shop", "bob") == ("editor",)
    # a group entity is named by its name
    linked = SdkCall("POST", "/acme/shop/roles/admin/group/ops").send(model, token)
    assert linked.status_code == 200
    assert realm.get_group("acme", "shop", "/ops").roles == ("admin",)


def test_permissions_with_the_sdks_bodies(model: Api) -> None:
    token = _app_token(model)
    grant = SdkCall(
        "POST", "/acme/shop/roles/editor/permissions", {"permission": "get,put:/films/*"}
    )
    assert grant.send(model, token).json()["data"] == ["get,put:/films/*"]
    listed = SdkCall("GET", "/acme/shop/roles/editor/permissions").send(model, token)
    assert listed.json()["data"] == ["get:/books/**", "get,put:/films/*"]
    revoke = SdkCall("DELETE", "/acme/shop/roles/editor/permissions?permission=get,put:/films/*")
    assert revoke.send(model, token).status_code == 200
    assert model.world.realm.get_role("acme", "shop", "editor").rules == ("get:/books/**",)


MANAGEMENT_CALLS = [
    # management_org_url_template + /credentials
    "/management/organizations/acme/credentials",
    "/management/organizations/{org_uuid}/credentials",
    # management_app_url_template + /credentials
    "/management/organizations/acme/applications/shop/credentials",
    "/management/organizations/{org_uuid}/applications/{app_uuid}/credentials",
]


@pytest.mark.parametrize("url", MANAGEMENT_CALLS)
def test_management_templates(api: Api, url: str) -> None:
    token = _org_token(api)
    response = SdkCall("GET", url).send(api, token)
    assert response.status_code == 200, response.text
    assert "client_id" in response.json()["credentials"]


def test_app_url_template_put_accesstokenttl(api: Api) -> None:
    """app_url_template ({base}/{org}/{app}) with the SDK's PUT of JSON."""
    token = _org_token(api)
    response = SdkCall("PUT", "/acme/shop", {"accesstokenttl": 1_800_000}).send(api, token)
    assert response.status_code == 200
    assert api.world.realm.get_app("acme", "shop").access_token_ttl_ms == 1_800_000
