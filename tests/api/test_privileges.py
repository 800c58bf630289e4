"""Holes of the original's management API, closed (``docs/decisions.md``), each with its
regression test, on both adapters and every store.

In the original, the management paths were plain entity paths under the app's rules: its
``default`` role (``get,put,post,delete:/**``) let every signed-in user give itself any role
and any rule, and a rule such as ``post:/users/me/**`` meant to let users edit their profile
did the same. Here a write that hands out privileges needs a client, an admin of the org, or
a rule naming its exact path without wildcards; credentials and the token lifetime need a
client or an admin whatever the rules say; a link's singular spelling is checked as its plural.
"""

from __future__ import annotations

import pytest

from baas_auth.errors import ConfigError
from tests.api.conftest import Api

WIDE_RULES = [
    "post:/users/me/**",
    "post:/**",
    "*:/**",
    "post:/users/${user}/**",
    "post:/users/me/roles/*",
    "post:/users/*/roles/admin",
    "post:/users/me/ro?es/admin",
    "post:/users/me/*/admin",
]
SELF_PROMOTIONS = [
    "/acme/vault/users/me/roles/admin",
    "/acme/vault/users/victor/roles/admin",
    "/acme/vault/roles/admin/users/victor",
    "/acme/vault/roles/admin/user/victor",
]


def _grant_victor(api: Api, rule: str) -> None:
    api.world.realm.grant("acme", "vault", rule, user="victor")


@pytest.mark.parametrize("rule", WIDE_RULES)
@pytest.mark.parametrize("path", SELF_PROMOTIONS)
def test_a_wide_rule_never_lets_a_user_give_itself_a_role(api: Api, rule: str, path: str) -> None:
    _grant_victor(api, rule)
    caller = api.caller()
    response = caller.post(path, headers=api.headers("victor"))
    assert response.status_code == 403, response.text
    assert api.world.realm.user_roles("acme", "vault", "victor") == ()
    assert not caller.called


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ("post:/users/me/roles/admin", "/acme/vault/users/me/roles/admin"),
        ("post:/users/me/roles/admin", "/acme/vault/users/victor/roles/admin"),
        ("post:/users/${user}/roles/admin", "/acme/vault/users/victor/roles/admin"),
        ("post:/roles/admin/users/victor", "/acme/vault/roles/admin/user/victor"),
        ("post:/roles/admin/users/me", "/acme/vault/roles/admin/users/victor"),
    ],
)
def test_a_rule_naming_the_exact_path_does(api: Api, rule: str, path: str) -> None:
    _grant_victor(api, rule)
    response = api.caller().post(path, headers=api.headers("victor"))
    assert response.status_code == 200, response.text
    assert api.world.realm.user_roles("acme", "vault", "victor") == ("admin",)


def test_the_singular_spelling_is_checked_as_the_plural(api: Api) -> None:
    _grant_victor(api, "post:/roles/admin/user/victor")  # names a path the API never checks
    response = api.caller().post(
        "/acme/vault/roles/admin/user/victor", headers=api.headers("victor")
    )
    assert response.status_code == 403
    assert api.world.realm.user_roles("acme", "vault", "victor") == ()


@pytest.mark.parametrize(
    ("rule", "method", "path", "body"),
    [
        ("post:/users/me/**", "POST", "/acme/vault/users/me/permissions", {"permission": "*:/**"}),
        ("*:/**", "POST", "/acme/vault/roles/default/permissions", {"permission": "*:/**"}),
        ("*:/**", "DELETE", "/acme/vault/roles/guest", None),
        ("post:/groups/**", "POST", "/acme/vault/groups/staff/users/me", None),
        ("post:/**", "POST", "/acme/vault/roles", {"name": "mine"}),
    ],
)
def test_wide_rules_never_write_rules_roles_or_memberships(
    api: Api, rule: str, method: str, path: str, body: dict[str, str] | None
) -> None:
    realm = api.world.realm
    realm.create_group("acme", "vault", "/staff")
    _grant_victor(api, rule)
    before = (realm.list_roles("acme", "vault"), realm.user_rules("acme", "vault", "victor"))
    response = api.caller().request(method, path, json=body, headers=api.headers("victor"))
    assert response.status_code == 403, response.text
    after = (realm.list_roles("acme", "vault"), realm.user_rules("acme", "vault", "victor"))
    assert after == before
    assert realm.user_groups("acme", "vault", "victor") == ()


@pytest.mark.parametrize(
    ("rule", "method", "path", "body"),
    [
        ("get:/credentials", "GET", "/acme/vault/credentials", None),
        ("post:/credentials", "POST", "/acme/vault/credentials", None),
        ("put:/", "PUT", "/acme/vault", {"accesstokenttl": 0}),
        ("*:/**", "PUT", "/acme/vault/", {"accesstokenttl": 0}),
    ],
)
def test_no_rule_reaches_credentials_or_the_token_lifetime(
    api: Api, rule: str, method: str, path: str, body: dict[str, int] | None
) -> None:
    _grant_victor(api, rule)
    response = api.caller().request(method, path, json=body, headers=api.headers("victor"))
    assert response.status_code == 403
    assert api.world.vault_creds.client_id not in response.text
    assert api.world.realm.get_app("acme", "vault").access_token_ttl_ms == 3_600_000


def test_the_open_sandbox_guest_reads_but_never_writes(api: Api) -> None:
    caller = api.caller()
    assert caller.get("/acme/sandbox/roles/guest/permissions").status_code == 200
    response = caller.post("/acme/sandbox/roles/guest/permissions", json={"permission": "get:/x"})
    assert response.status_code == 401
    assert caller.request("DELETE", "/acme/sandbox/roles/default").status_code == 401
    assert caller.get("/acme/sandbox/credentials").status_code == 401
    roles = api.world.realm.list_roles("acme", "sandbox")
    assert [role.name for role in roles] == ["admin", "default", "guest"]


def test_another_orgs_admin_by_uuid_is_refused(api: Api) -> None:
    acme = api.world.realm.get_org("acme").uuid
    caller = api.caller()
    for who in ("gus", "globex-client"):
        url = f"/management/organizations/{acme}/credentials"
        assert caller.get(url, headers=api.headers(who)).status_code == 403


@pytest.mark.parametrize(
    "name", ["0f0e3f4a-5b6c-4d7e-8f90-a1b2c3d4e5f6", "0F0E3F4A5B6C4D7E8F90A1B2C3D4E5F6"]
)
def test_no_org_or_app_takes_the_form_of_a_uuid(api: Api, name: str) -> None:
    """A prefix segment is a name or a uuid without doubt."""
    with pytest.raises(ConfigError, match="uuid"):
        api.world.realm.create_org(name)
    with pytest.raises(ConfigError, match="uuid"):
        api.world.realm.create_app("acme", name)


def test_an_exact_rule_in_a_lapsed_role_no_longer_counts(api: Api) -> None:
    realm, clock = api.world.realm, api.world.clock
    realm.create_role("acme", "vault", "picker", inactivity_ms=1000)
    realm.grant("acme", "vault", "post:/users/me/roles/*,/users/me/roles/admin", role="picker")
    realm.assign_role("acme", "vault", "picker", user="victor")
    _grant_victor(api, "post:/**")  # the rules allow it; only the exact rule is missing
    caller, victor = api.caller(), api.headers("victor")
    assert caller.get("/acme/vault/books", headers=victor).status_code == 403  # a first use
    clock.advance_ms(2000)
    response = caller.post("/acme/vault/users/me/roles/admin", headers=victor)
    assert response.status_code == 403, response.text
    assert realm.user_roles("acme", "vault", "victor") == ("picker",)
    fresh = api.headers("victor")
    assert caller.post("/acme/vault/users/me/roles/admin", headers=fresh).status_code == 200
