"""Reading the model back: lists of users, groups, admins and clients, and what a user holds and
what applies to it; on every store kind (the ``realm`` fixture)."""

from __future__ import annotations

import pytest

from baas_auth import AdminUser, ClientInfo, Group, Org, Realm, User
from baas_auth.errors import ConfigError, NotFoundError
from tests.conftest import FakeClock


def test_list_orgs(realm: Realm) -> None:
    assert realm.list_orgs() == []
    globex, acme = realm.create_org("Globex"), realm.create_org("acme")
    assert realm.list_orgs() == [acme, globex]
    assert all(isinstance(org, Org) for org in realm.list_orgs())


def test_list_users_by_username_without_secrets(shop: Realm) -> None:
    bob = shop.create_user("acme", "shop", "Bob", password="builder-pw")
    carol = shop.create_user("acme", "shop", "carol", activated=False)
    shop.update_user("acme", "shop", "bob", disabled=True)
    users = shop.list_users("acme", "shop")
    assert [user.username for user in users] == ["alice", "Bob", "carol"]
    assert users[1] == User(bob.uuid, "Bob", None, activated=True, disabled=True)
    assert users[2] == carol
    assert users[0].email == "alice@example.com"
    assert shop.list_users("acme", "sandbox") == []


def test_list_users_of_one_app_only(shop: Realm) -> None:
    # "shop" is a prefix of "shopping": the scan keeps to the app's own key range.
    shop.create_app("acme", "shopping")
    shop.create_user("acme", "shopping", "zed")
    assert [user.username for user in shop.list_users("acme", "shop")] == ["alice"]
    assert [user.username for user in shop.list_users("acme", "shopping")] == ["zed"]


@pytest.mark.parametrize(
    ("org", "app"), [("acme", "nowhere"), ("nowhere", "shop"), ("bad name", "shop")]
)
def test_reads_of_a_missing_app_fail(shop: Realm, org: str, app: str) -> None:
    for read in (shop.list_users, shop.list_groups):
        with pytest.raises(ConfigError):  # NotFoundError, or a name no app can have
            read(org, app)


def test_list_and_get_groups_with_rules_and_roles(shop: Realm) -> None:
    shop.create_group("acme", "shop", "/Staff")
    shop.create_group("acme", "shop", "/staff/editors")
    shop.create_group("acme", "shop", "/authors")
    shop.create_role("acme", "shop", "editor")
    shop.grant("acme", "shop", "GET,PUT:/books/**", group="/staff")
    shop.assign_role("acme", "shop", "editor", group="/staff")
    staff = Group("/Staff", ("get,put:/books/**",), ("editor",))
    assert shop.list_groups("acme", "shop") == [
        Group("/authors"),
        staff,
        Group("/staff/editors"),
    ]
    assert shop.get_group("acme", "shop", "/STAFF") == staff
    with pytest.raises(NotFoundError, match="/nobody"):
        shop.get_group("acme", "shop", "/nobody")
    with pytest.raises(ConfigError):
        shop.get_group("acme", "shop", "staff")  # not a path


def test_list_admins(realm: Realm) -> None:
    assert realm.list_admins() == []
    realm.create_org("acme")
    zoe = realm.create_admin("zoe", email="zoe@example.com")
    ann = realm.create_admin("Ann", orgs=["acme"])
    realm.update_admin("zoe", disabled=True)
    admins = realm.list_admins()
    assert admins == [ann, AdminUser(zoe.uuid, "zoe", "zoe@example.com", (), disabled=True)]
    assert realm.get_admin("zoe").disabled
    assert admins[0].orgs == ("acme",)


def test_list_credentials_never_holds_a_secret(shop: Realm) -> None:
    shop.create_org("globex")
    shop.create_app("acme", "vault")
    org_creds = shop.create_credentials("acme")
    shop_creds = shop.create_credentials("acme", "shop")
    vault_creds = shop.create_credentials("acme", "vault")
    shop.create_credentials("globex")
    every = shop.list_credentials("acme")
    assert every == [
        ClientInfo(org_creds.client_id, "acme", None),
        ClientInfo(shop_creds.client_id, "acme", "shop"),
        ClientInfo(vault_creds.client_id, "acme", "vault"),
    ]
    assert shop.list_credentials("ACME", "Shop") == [every[1]]
    assert shop.list_credentials("acme", "sandbox") == []
    assert not any(hasattr(info, "client_secret") for info in every)
    shop.delete_credentials(shop_creds.client_id)
    assert shop.list_credentials("acme", "shop") == []
    with pytest.raises(NotFoundError):
        shop.list_credentials("acme", "nowhere")
    with pytest.raises(NotFoundError):
        shop.list_credentials("nowhere")


def test_what_a_user_holds_itself(shop: Realm) -> None:
    assert shop.user_roles("acme", "shop", "alice") == ()
    assert shop.user_groups("acme", "shop", "alice") == ()
    assert shop.user_rules("acme", "shop", "alice") == ()
    shop.create_role("acme", "shop", "editor")
    shop.create_group("acme", "shop", "/Staff")
    shop.assign_role("acme", "shop", "editor", user="alice")
    shop.assign_role("acme", "shop", "guest", group="/staff")
    shop.add_to_group("acme", "shop", "/staff", "alice")
    shop.grant("acme", "shop", "post:/notes", user="alice@example.com")
    assert shop.user_roles("acme", "shop", "ALICE") == ("editor",)  # not the group's guest
    assert shop.user_groups("acme", "shop", "alice") == ("/Staff",)
    assert shop.user_rules("acme", "shop", "alice") == ("post:/notes",)
    uuid = shop.get_user("acme", "shop", "alice").uuid
    assert shop.user_rules("acme", "shop", uuid) == ("post:/notes",)


def test_a_deleted_group_is_still_listed_as_a_membership(shop: Realm) -> None:
    shop.create_group("acme", "shop", "/Staff")
    shop.add_to_group("acme", "shop", "/Staff", "alice")
    shop.delete_group("acme", "shop", "/Staff")
    assert shop.user_groups("acme", "shop", "alice") == ("/staff",)
    assert "get:/staff" not in shop.effective_rules("acme", "shop", "alice")


def test_reads_of_a_missing_user_fail(shop: Realm) -> None:
    reads = (shop.user_roles, shop.user_groups, shop.user_rules, shop.effective_rules)
    for read in reads:
        with pytest.raises(NotFoundError, match="bob"):
            read("acme", "shop", "bob")


def test_effective_rules_are_the_union_the_policy_assembles(realm: Realm) -> None:
    realm.create_org("acme")
    realm.create_app("acme", "shop")  # locked: its roles have no rules
    realm.create_user("acme", "shop", "alice")
    assert realm.effective_rules("acme", "shop", "alice") == ("get:/users/me",)

    realm.grant("acme", "shop", "get:/books/**", role="default")
    realm.create_role("acme", "shop", "editor")
    realm.grant("acme", "shop", "put:/books/*", role="editor")
    realm.create_role("acme", "shop", "auditor")
    realm.grant("acme", "shop", "get:/audit", role="auditor")
    realm.create_group("acme", "shop", "/staff")
    realm.grant("acme", "shop", "post:/staff/notes", group="/staff")
    realm.grant("acme", "shop", "get:/books/**", group="/staff")  # the same as default's
    realm.assign_role("acme", "shop", "auditor", group="/staff")
    realm.assign_role("acme", "shop", "editor", user="alice")
    realm.grant("acme", "shop", "delete:/mine", user="alice")
    realm.add_to_group("acme", "shop", "/staff", "alice")
    assert realm.effective_rules("acme", "shop", "alice") == (
        "get:/users/me",
        "delete:/mine",
        "post:/staff/notes",
        "get:/books/**",
        "put:/books/*",
        "get:/audit",
    )
    # A role that is gone no longer counts; the assignment stays on the user.
    realm.delete_role("acme", "shop", "auditor")
    assert "get:/audit" not in realm.effective_rules("acme", "shop", "alice")
    assert realm.user_roles("acme", "shop", "alice") == ("editor",)


def test_effective_rules_leave_out_lapsed_roles(shop: Realm, clock: FakeClock) -> None:
    shop.create_role("acme", "shop", "editor", inactivity_ms=60_000)
    shop.grant("acme", "shop", "put:/books/*", role="editor")
    shop.assign_role("acme", "shop", "editor", user="alice")
    shop.grant("acme", "shop", "get:/shelf", role="default")
    every = shop.effective_rules("acme", "shop", "alice")
    assert every[-1] == "put:/books/*"  # the rules of roles that lapse come last
    assert shop.effective_rules("acme", "shop", "alice", inactive_ms=60_000) == every
    lapsed = shop.effective_rules("acme", "shop", "alice", inactive_ms=60_001)
    assert lapsed == tuple(rule for rule in every if rule != "put:/books/*")
    assert "get:/shelf" in lapsed  # default never lapses

    # The same answer as the decision gives a token idle for that long.
    shop.revoke_grant("acme", "shop", "get,put,post,delete:/**", role="default")
    token = shop.password_token("acme", "shop", "alice", "wonderland").access_token
    principal = shop.authenticate_token(token)
    assert shop.permits(principal, "PUT", "/books/1", org="acme", app="shop")
    clock.advance_ms(60_001)
    assert not shop.permits(principal, "PUT", "/books/1", org="acme", app="shop")
    for bad in (-1, True, 1.5):
        with pytest.raises(ConfigError):
            shop.effective_rules("acme", "shop", "alice", inactive_ms=bad)  # type: ignore[arg-type]


def test_effective_rules_of_a_disabled_user_are_listed(shop: Realm) -> None:
    shop.update_user("acme", "shop", "alice", disabled=True)
    assert shop.effective_rules("acme", "shop", "alice")[0] == "get:/users/me"


def test_holds_role_counts_own_group_and_default_roles(shop: Realm) -> None:
    from baas_auth.model import Principal

    shop.create_role("acme", "shop", "editor")
    shop.create_role("acme", "shop", "reviewer")
    shop.create_group("acme", "shop", "/staff")
    shop.assign_role("acme", "shop", "reviewer", group="/staff")
    alice = shop.authenticate_token(
        shop.password_token("acme", "shop", "alice", "wonderland").access_token
    )
    assert shop.holds_role(alice, "default", org="acme", app="shop")
    assert not shop.holds_role(alice, "editor", org="acme", app="shop")
    shop.assign_role("acme", "shop", "editor", user="alice")
    assert shop.holds_role(alice, "editor", org="acme", app="shop")
    assert not shop.holds_role(alice, "reviewer", org="acme", app="shop")
    shop.add_to_group("acme", "shop", "/staff", "alice")
    assert shop.holds_role(alice, "Reviewer", org="ACME", app="shop")
    shop.delete_role("acme", "shop", "editor")  # a role that no longer exists is no one's
    assert not shop.holds_role(alice, "editor", org="acme", app="shop")
    assert not shop.holds_role(alice, "default", org="acme", app="blog")
    guest = Principal(kind="guest", org="acme", app="shop")
    assert not shop.holds_role(guest, "default", org="acme", app="shop")
