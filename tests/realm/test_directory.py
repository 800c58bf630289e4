"""Orgs, apps, credentials, users, admins, roles and groups through the Realm API."""

from __future__ import annotations

import pytest

from baas_auth import Realm
from baas_auth.errors import ConfigError, ConflictError, NotFoundError


def test_create_org_creates_sandbox_with_open_guest(realm: Realm):
    org = realm.create_org("Acme")
    assert org.name == "acme"
    sandbox = realm.get_app("acme", "sandbox")
    assert sandbox.full_name == "acme/sandbox"
    guest = realm.guest("acme", "sandbox")
    for method in ("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD"):
        assert realm.permits(guest, method, "/anything/at/all", org="acme", app="sandbox")


def test_new_app_has_the_three_default_roles_without_rules(realm: Realm):
    # behaviour §5.4: least privilege by default.
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    roles = {role.name: role.rules for role in realm.list_roles("acme", "shop")}
    assert roles == {"admin": (), "default": (), "guest": ()}


def test_usergrid_roles_are_the_original_defaults(realm: Realm):
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    roles = {role.name: role.rules for role in realm.list_roles("acme", "shop")}
    assert roles == {
        "admin": (),
        "default": ("get,put,post,delete:/**",),
        "guest": ("post:/users", "post:/devices", "put:/devices/*"),
    }


def test_default_roles_preset_is_deprecated_and_means_usergrid(realm: Realm):
    realm.create_org("acme")
    with pytest.warns(DeprecationWarning, match="usergrid"):
        realm.create_app("acme", "shop", roles="default")  # type: ignore[arg-type]
    roles = {role.name: role.rules for role in realm.list_roles("acme", "shop")}
    assert roles["default"] == ("get,put,post,delete:/**",)


def test_unknown_roles_preset_is_refused(realm: Realm):
    realm.create_org("acme")
    with pytest.raises(ConfigError, match="usergrid"):
        realm.create_app("acme", "shop", roles="open")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        realm.get_app("acme", "shop")


def test_a_new_app_lets_a_user_read_only_its_own_entity(realm: Realm):
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    realm.create_user("acme", "shop", "alice", password="pw-secret")
    token = realm.password_token("acme", "shop", "alice", "pw-secret").access_token
    alice = realm.authenticate_token(token)
    assert realm.permits(alice, "GET", "/users/me", org="acme", app="shop")
    for method, path in [("GET", "/books"), ("POST", "/books"), ("DELETE", "/users/me")]:
        assert not realm.permits(alice, method, path, org="acme", app="shop")
    guest = realm.guest("acme", "shop")
    assert not realm.permits(guest, "POST", "/users", org="acme", app="shop")


def test_usergrid_guest_may_register_but_not_read(realm: Realm):
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    guest = realm.guest("acme", "shop")
    assert realm.permits(guest, "POST", "/users", org="acme", app="shop")
    assert realm.permits(guest, "PUT", "/devices/d1", org="acme", app="shop")
    assert not realm.permits(guest, "PUT", "/devices", org="acme", app="shop")
    assert not realm.permits(guest, "GET", "/users", org="acme", app="shop")
    assert not realm.permits(guest, "DELETE", "/devices/d1", org="acme", app="shop")


def test_locked_app_grants_nothing(realm: Realm):
    realm.create_org("acme")
    realm.create_app("acme", "vault", roles="locked")
    realm.create_user("acme", "vault", "bob", password="pw-secret")
    assert not realm.permits(
        realm.guest("acme", "vault"), "POST", "/users", org="acme", app="vault"
    )
    token = realm.password_token("acme", "vault", "bob", "pw-secret").access_token
    bob = realm.authenticate_token(token)
    assert not realm.permits(bob, "GET", "/books", org="acme", app="vault")
    assert realm.permits(bob, "GET", "/users/me", org="acme", app="vault")
    assert realm.permits(bob, "GET", "/users/bob", org="acme", app="vault")
    assert not realm.permits(bob, "PUT", "/users/me", org="acme", app="vault")


@pytest.mark.parametrize(
    "name",
    ["", "-acme", "ac me", "acme/x", "a" * 65, "ünï", "*"],
    ids=["empty", "leading-dash", "space", "slash", "too-long", "unicode", "star"],
)
def test_bad_org_names_are_refused(realm: Realm, name: str):
    with pytest.raises(ConfigError):
        realm.create_org(name)


def test_management_org_is_reserved(realm: Realm):
    with pytest.raises(ConfigError, match="reserved"):
        realm.create_org("Management")


def test_org_and_app_names_are_case_insensitive(realm: Realm):
    realm.create_org("acme")
    with pytest.raises(ConflictError):
        realm.create_org("ACME")
    realm.create_app("ACME", "Shop")
    assert realm.get_app("acme", "SHOP").name == "shop"
    with pytest.raises(ConflictError):
        realm.create_app("acme", "shop")


def test_unknown_org_or_app(realm: Realm):
    with pytest.raises(NotFoundError):
        realm.create_app("nope", "shop")
    realm.create_org("acme")
    with pytest.raises(NotFoundError):
        realm.create_user("acme", "nope", "alice", password="pw-secret")


@pytest.mark.parametrize(
    "username",
    ["*", "**", "a*", "${user}", "{x}", "me", "ME", "", "a b", "a/b", "-x", "a:b", "?"],
    ids=[
        "star",
        "double-star",
        "glob",
        "user-var",
        "braces",
        "me",
        "ME",
        "empty",
        "space",
        "slash",
        "leading-dash",
        "colon",
        "question",
    ],
)
def test_usernames_that_could_act_as_wildcards_are_refused(realm: Realm, username: str):
    realm.create_org("acme")
    with pytest.raises(ConfigError):
        realm.create_user("acme", "sandbox", username, password="pw-secret")


def test_usernames_and_emails_are_unique_ignoring_case(shop: Realm):
    with pytest.raises(ConflictError):
        shop.create_user("acme", "shop", "ALICE", password="pw-secret")
    with pytest.raises(ConflictError):
        shop.create_user("acme", "shop", "alice2", password="pw-secret", email="ALICE@example.com")
    # the failed attempt left nothing behind: alice2 can be created without that email
    shop.create_user("acme", "shop", "alice2", password="pw-secret")


def test_user_lookup_by_username_email_or_uuid(shop: Realm):
    alice = shop.get_user("acme", "shop", "alice")
    assert shop.get_user("acme", "shop", "Alice@Example.com") == alice
    assert shop.get_user("acme", "shop", alice.uuid) == alice


def test_grant_rejects_bad_rules_at_grant_time(shop: Realm):
    with pytest.raises(ConfigError):
        shop.grant("acme", "shop", "fetch:/books", role="default")
    with pytest.raises(ConfigError):
        shop.grant("acme", "shop", "get:/books//x", role="default")


def test_grant_needs_exactly_one_target(shop: Realm):
    with pytest.raises(ConfigError):
        shop.grant("acme", "shop", "get:/x")
    with pytest.raises(ConfigError):
        shop.grant("acme", "shop", "get:/x", role="default", user="alice")


def test_grant_and_revoke_in_canonical_form(shop: Realm):
    assert (
        shop.grant("acme", "shop", " GET , put : /books/** ", role="guest") == "get,put:/books/**"
    )
    assert shop.get_role("acme", "shop", "guest").rules[-1] == "get,put:/books/**"
    assert shop.revoke_grant("acme", "shop", "put,get:/books/**", role="guest")
    assert not shop.revoke_grant("acme", "shop", "put,get:/books/**", role="guest")


def test_deleting_guest_role_refuses_anonymous_calls(realm: Realm):
    realm.create_org("acme")
    realm.delete_role("acme", "sandbox", "guest")
    guest = realm.guest("acme", "sandbox")
    assert not realm.permits(guest, "GET", "/x", org="acme", app="sandbox")


def test_credentials_secret_is_shown_once_and_hidden_in_repr(realm: Realm):
    realm.create_org("acme")
    creds = realm.create_credentials("acme")
    assert creds.client_id.startswith("b3U6")
    assert creds.client_secret not in repr(creds)
    app_creds = realm.create_credentials("acme", "sandbox")
    assert app_creds.client_id.startswith("YXA6")
    assert app_creds.app == "sandbox"


def test_admin_creation_and_orgs(realm: Realm):
    realm.create_org("acme")
    realm.create_org("globex")
    ann = realm.create_admin("ann", password="pw-secret", orgs=["acme"], email="ann@example.com")
    assert ann.orgs == ("acme",)
    assert realm.add_admin_to_org("ann", "globex").orgs == ("acme", "globex")
    with pytest.raises(ConflictError):
        realm.create_admin("ANN", password="pw-secret")
    with pytest.raises(NotFoundError):
        realm.create_admin("bob", password="pw-secret", orgs=["nope"])


@pytest.mark.parametrize("ttl", [-1, 1.5, "10", True], ids=["negative", "float", "string", "bool"])
def test_bad_access_token_ttl_is_a_config_error(realm: Realm, ttl: object):
    realm.create_org("acme")
    with pytest.raises(ConfigError):
        realm.set_access_token_ttl("acme", "sandbox", ttl)  # type: ignore[arg-type]


def test_role_and_group_names(shop: Realm):
    shop.create_role("acme", "shop", "Editor")
    assert shop.get_role("acme", "shop", "editor").name == "editor"
    with pytest.raises(ConflictError):
        shop.create_role("acme", "shop", "EDITOR")
    with pytest.raises(ConfigError):
        shop.create_role("acme", "shop", "a:b")
    with pytest.raises(ConfigError):
        shop.create_role("acme", "shop", "x", inactivity_ms=-5)
    shop.create_group("acme", "shop", "/staff")
    with pytest.raises(ConflictError):
        shop.create_group("acme", "shop", "/Staff")
    with pytest.raises(ConfigError):
        shop.create_group("acme", "shop", "staff")
