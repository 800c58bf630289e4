"""Who gets which rules (behaviour §5.3): default role, own rules, roles, groups, inactivity."""

from __future__ import annotations

import pytest

from baas_auth import Principal, Realm
from baas_auth.errors import BadRequestError
from tests.conftest import FakeClock


def _alice(realm: Realm) -> Principal:
    return realm.authenticate_token(
        realm.password_token("acme", "shop", "alice", "wonderland").access_token
    )


def _locked(realm: Realm) -> Realm:
    """acme/shop with an empty default role, so each test grants only what it checks."""
    realm.revoke_grant("acme", "shop", "get,put,post,delete:/**", role="default")
    return realm


def test_default_role_lets_a_signed_in_user_do_anything(shop: Realm):
    alice = _alice(shop)
    assert shop.permits(alice, "DELETE", "/books/1", org="acme", app="shop")
    assert not shop.permits(alice, "TRACE", "/books/1", org="acme", app="shop")


def test_guest_rules_do_not_apply_to_users(shop: Realm):
    _locked(shop)
    shop.grant("acme", "shop", "get:/public/**", role="guest")
    alice = _alice(shop)
    assert not shop.permits(alice, "GET", "/public/x", org="acme", app="shop")
    assert shop.permits(shop.guest("acme", "shop"), "GET", "/public/x", org="acme", app="shop")


def test_own_rules_roles_groups_and_group_roles_union(shop: Realm):
    _locked(shop)
    alice = _alice(shop)
    paths = {"own": "/own/1", "role": "/role/1", "group": "/group/1", "group-role": "/grouprole/1"}
    for path in paths.values():
        assert not shop.permits(alice, "GET", path, org="acme", app="shop")
    shop.grant("acme", "shop", "get:/own/*", user="alice")
    shop.create_role("acme", "shop", "reader")
    shop.grant("acme", "shop", "get:/role/*", role="reader")
    shop.assign_role("acme", "shop", "reader", user="alice")
    shop.create_group("acme", "shop", "/staff")
    shop.grant("acme", "shop", "get:/group/*", group="/staff")
    shop.create_role("acme", "shop", "staffer")
    shop.grant("acme", "shop", "get:/grouprole/*", role="staffer")
    shop.assign_role("acme", "shop", "staffer", group="/staff")
    shop.add_to_group("acme", "shop", "/staff", "alice")
    for path in paths.values():
        assert shop.permits(alice, "GET", path, org="acme", app="shop"), path
        assert not shop.permits(alice, "PUT", path, org="acme", app="shop"), path


def test_changes_apply_to_the_next_check(shop: Realm):
    _locked(shop)
    alice = _alice(shop)
    shop.grant("acme", "shop", "get:/books/**", user="alice")
    assert shop.permits(alice, "GET", "/books/1", org="acme", app="shop")
    shop.revoke_grant("acme", "shop", "get:/books/**", user="alice")
    assert not shop.permits(alice, "GET", "/books/1", org="acme", app="shop")
    shop.create_role("acme", "shop", "reader")
    shop.grant("acme", "shop", "get:/books/**", role="reader")
    shop.assign_role("acme", "shop", "reader", user="alice")
    assert shop.permits(alice, "GET", "/books/1", org="acme", app="shop")
    assert shop.unassign_role("acme", "shop", "reader", user="alice")
    assert not shop.permits(alice, "GET", "/books/1", org="acme", app="shop")
    shop.create_group("acme", "shop", "/staff")
    shop.assign_role("acme", "shop", "reader", group="/staff")
    shop.add_to_group("acme", "shop", "/staff", "alice")
    assert shop.permits(alice, "GET", "/books/1", org="acme", app="shop")
    assert shop.remove_from_group("acme", "shop", "/staff", "alice")
    assert not shop.permits(alice, "GET", "/books/1", org="acme", app="shop")
    shop.add_to_group("acme", "shop", "/staff", "alice")
    shop.delete_role("acme", "shop", "reader")
    assert not shop.permits(alice, "GET", "/books/1", org="acme", app="shop")


def test_own_entity_is_always_readable(shop: Realm):
    _locked(shop)
    alice = _alice(shop)
    for path in ("/users/me", "/users/alice", f"/users/{alice.uuid}"):
        assert shop.permits(alice, "GET", path, org="acme", app="shop"), path
        assert not shop.permits(alice, "DELETE", path, org="acme", app="shop"), path
    assert not shop.permits(alice, "GET", "/users/bob", org="acme", app="shop")
    assert not shop.permits(alice, "GET", "/users/me/secrets", org="acme", app="shop")


def test_me_rules_match_only_the_caller(shop: Realm):
    _locked(shop)
    shop.create_user("acme", "shop", "bob", password="pw-secret")
    shop.grant("acme", "shop", "get,put,post,delete:/users/me/**", role="default")
    alice = _alice(shop)
    for path in ("/users/me/likes", "/users/alice/likes", f"/users/{alice.uuid}/likes"):
        assert shop.permits(alice, "PUT", path, org="acme", app="shop"), path
    assert not shop.permits(alice, "PUT", "/users/bob/likes", org="acme", app="shop")


def test_put_rule_allows_patch_and_get_rule_allows_head_and_options(shop: Realm):
    _locked(shop)
    shop.grant("acme", "shop", "put,get:/books/*", user="alice")
    alice = _alice(shop)
    for method in ("PATCH", "HEAD", "OPTIONS", "GET", "PUT"):
        assert shop.permits(alice, method, "/books/1", org="acme", app="shop"), method
    for method in ("POST", "DELETE", "get", "TRACE", "CONNECT"):
        assert not shop.permits(alice, method, "/books/1", org="acme", app="shop"), method


def test_clients_and_admins_may_do_everything_in_their_scope(shop: Realm):
    shop.create_org("globex")
    org_client = shop.authenticate_client(*_creds(shop, "acme"))
    app_client = shop.authenticate_client(*_creds(shop, "acme", "shop"))
    shop.create_admin("ann", password="pw-secret", orgs=["acme"])
    admin = shop.authenticate_token(shop.admin_token("ann", "pw-secret").access_token)
    for principal in (org_client, admin):
        assert shop.permits(principal, "DELETE", "/x", org="acme", app="shop")
        assert shop.permits(principal, "DELETE", "/x", org="acme", app="sandbox")
        assert not shop.permits(principal, "GET", "/x", org="globex", app="sandbox")
    assert shop.permits(app_client, "DELETE", "/roles/guest", org="acme", app="shop")
    assert not shop.permits(app_client, "GET", "/x", org="acme", app="sandbox")


def _creds(realm: Realm, org: str, app: str | None = None) -> tuple[str, str]:
    creds = realm.create_credentials(org, app)
    return creds.client_id, creds.client_secret


def test_role_inactivity_drops_only_that_role(shop: Realm, clock: FakeClock):
    _locked(shop)
    shop.create_role("acme", "shop", "timed", inactivity_ms=2000)
    shop.grant("acme", "shop", "get:/timed/**", role="timed")
    shop.assign_role("acme", "shop", "timed", user="alice")
    shop.grant("acme", "shop", "get:/always/**", user="alice")
    alice = _alice(shop)
    clock.advance_ms(1500)
    assert shop.permits(alice, "GET", "/timed/1", org="acme", app="shop")
    clock.advance_ms(2000)  # exactly the limit: still in
    assert shop.permits(alice, "GET", "/timed/1", org="acme", app="shop")
    clock.advance_ms(2001)  # a gap longer than the limit
    assert not shop.permits(alice, "GET", "/timed/1", org="acme", app="shop")
    clock.advance_ms(1)  # gaps never shrink: the role stays lost for this token
    assert not shop.permits(alice, "GET", "/timed/1", org="acme", app="shop")
    assert shop.permits(alice, "GET", "/always/1", org="acme", app="shop")
    fresh = _alice(shop)  # signing in again restores it
    assert shop.permits(fresh, "GET", "/timed/1", org="acme", app="shop")


def test_inactivity_is_not_tracked_without_timed_roles(shop: Realm, clock: FakeClock):
    alice = _alice(shop)
    record_before = shop.store.get_token(alice.token_id or "")
    shop.permits(alice, "GET", "/x", org="acme", app="shop")
    assert shop.store.touch_token(alice.token_id or "", clock.ms) == 0
    assert record_before.record is not None


def test_multi_tenant_case_insensitive_matching(shop: Realm):
    _locked(shop)
    shop.grant("acme", "shop", "get:/Books/**", user="alice")
    alice = _alice(shop)
    assert not shop.permits(alice, "GET", "/books/x", org="acme", app="shop")
    assert shop.permits(alice, "GET", "/BOOKS/x", org="ACME", app="Shop", case_sensitive=False)


@pytest.mark.parametrize(
    "path",
    ["books", "/a//b", "/a/../b", "/a/./b", "/a;x", "/a%2fb"],
    ids=["relative", "empty-segment", "dotdot", "dot", "semicolon", "percent"],
)
def test_non_canonical_paths_are_bad_requests(shop: Realm, path: str):
    with pytest.raises(BadRequestError):
        shop.permits(_alice(shop), "GET", path, org="acme", app="shop")


def test_guest_of_unknown_app_is_refused(shop: Realm):
    from baas_auth.errors import AuthenticationError

    with pytest.raises(AuthenticationError):
        shop.guest("acme", "nope")


def test_unrelated_directory_writes_do_not_recompile_rules(shop: Realm, monkeypatch):
    from baas_auth.core import permissions

    compiled: list[int] = []
    original = permissions.compile_rules

    def counting(rules, *, case_sensitive=True):
        compiled.append(1)
        return original(rules, case_sensitive=case_sensitive)

    monkeypatch.setattr(permissions, "compile_rules", counting)
    for index in range(50):
        shop.grant("acme", "shop", f"get:/res{index}/*/items/*", role="default")
    alice = _alice(shop)
    assert shop.permits(alice, "GET", "/res7/x/items/y", org="acme", app="shop")
    before = len(compiled)
    shop.create_user("acme", "shop", "bob", password="pw-secret")  # a write: a new snapshot
    assert shop.permits(alice, "GET", "/res7/x/items/y", org="acme", app="shop")
    assert len(compiled) == before
    shop.grant("acme", "shop", "get:/extra", role="default")  # the rules changed: compile
    assert shop.permits(alice, "GET", "/extra", org="acme", app="shop")
    assert len(compiled) == before + 1
