"""``Realm.explain``: the decision of ``permits``, the rule behind it and where that rule came from.

Every source a rule can come from (guest, the default role, the user's own rules, its roles, its
groups' rules and roles, its own entity), ``me``/``${user}``, roles lapsed by inactivity, the
principals that may do anything, and each reason for a refusal. Then the property that matters
most: over random rules, paths and principals, ``explain(...).allowed == permits(...)``. Runs on
the ``realm`` fixture: memory, SQLite, Redis and an ``AsyncRealm`` on Redis.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baas_auth import Explanation, Principal, Realm, SourcedRule
from baas_auth.core.permissions import Rule, compile_rules
from baas_auth.core.policy import RuleSource, explain_rules
from baas_auth.errors import BadRequestError, NotFoundError
from tests.conftest import FakeClock

PASSWORD = "wonderland"


def _signed_in(realm: Realm, name: str = "alice", app: str = "shop") -> Principal:
    grant = realm.password_token("acme", app, name, PASSWORD)
    return realm.authenticate_token(grant.access_token)


@pytest.fixture
def shop(realm: Realm) -> Realm:
    """acme/shop with locked roles (no rules), users alice and bob."""
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="locked")
    realm.create_user("acme", "shop", "alice", password=PASSWORD)
    realm.create_user("acme", "shop", "bob", password=PASSWORD)
    return realm


def _explain(realm: Realm, principal: Principal, method: str, path: str) -> Explanation:
    found = realm.explain(principal, method, path, org="acme", app="shop")
    assert found.allowed == realm.permits(principal, method, path, org="acme", app="shop")
    return found


# -- where the allowing rule came from ----------------------------------------------------------


def test_the_guest_role(shop: Realm):
    shop.grant("acme", "shop", "get:/public/**", role="guest")
    guest = shop.guest("acme", "shop")
    found = _explain(shop, guest, "GET", "/public/a")
    assert found == Explanation(
        allowed=True,
        reason="rule",
        rule="get:/public/**",
        source="role:guest",
        verb="get",
        matching=(SourcedRule("get:/public/**", "role:guest"),),
    )
    refused = _explain(shop, guest, "PUT", "/public/a")
    assert (refused.allowed, refused.reason, refused.verb) == (False, "no-rule-matched", "put")
    assert refused.considered == (SourcedRule("get:/public/**", "role:guest"),)


def test_guest_rules_do_not_apply_to_users(shop: Realm):
    shop.grant("acme", "shop", "get:/public/**", role="guest")
    found = _explain(shop, _signed_in(shop), "GET", "/public/a")
    assert (found.allowed, found.reason) == (False, "no-rule-matched")
    assert SourcedRule("get:/public/**", "role:guest") not in found.considered


def test_an_app_without_a_guest_role(shop: Realm):
    guest = shop.guest("acme", "shop")
    shop.delete_role("acme", "shop", "guest")
    found = _explain(shop, guest, "GET", "/public/a")
    assert found == Explanation(allowed=False, reason="no-guest-role", verb="get")


def test_the_default_role(shop: Realm):
    shop.grant("acme", "shop", "get,put:/books/**", role="default")
    found = _explain(shop, _signed_in(shop), "PUT", "/books/1")
    assert (found.allowed, found.reason) == (True, "rule")
    assert (found.rule, found.source) == ("get,put:/books/**", "role:default")


def test_the_users_own_rules(shop: Realm):
    shop.grant("acme", "shop", "post:/orders", user="alice")
    found = _explain(shop, _signed_in(shop), "POST", "/orders")
    assert (found.rule, found.source, found.reason) == ("post:/orders", "user", "rule")
    assert not _explain(shop, _signed_in(shop, "bob"), "POST", "/orders").allowed


def test_a_role_of_the_user(shop: Realm):
    shop.create_role("acme", "shop", "editor")
    shop.grant("acme", "shop", "put:/books/*", role="editor")
    shop.assign_role("acme", "shop", "editor", user="alice")
    found = _explain(shop, _signed_in(shop), "PATCH", "/books/1")  # put covers PATCH
    assert (found.rule, found.source, found.verb) == ("put:/books/*", "role:editor", "patch")


def test_a_groups_rules_and_a_groups_role(shop: Realm):
    shop.create_group("acme", "shop", "/staff")
    shop.grant("acme", "shop", "get:/staff/**", group="/staff")
    shop.create_role("acme", "shop", "reviewer")
    shop.grant("acme", "shop", "post:/reviews", role="reviewer")
    shop.assign_role("acme", "shop", "reviewer", group="/staff")
    shop.add_to_group("acme", "shop", "/staff", "alice")
    alice = _signed_in(shop)
    by_group = _explain(shop, alice, "GET", "/staff/rota")
    assert (by_group.rule, by_group.source) == ("get:/staff/**", "group:/staff")
    by_role = _explain(shop, alice, "POST", "/reviews")
    assert (by_role.rule, by_role.source) == ("post:/reviews", "group:/staff role:reviewer")


def test_a_role_held_directly_and_through_a_group_is_named_as_the_users_own(shop: Realm):
    shop.create_role("acme", "shop", "reviewer")
    shop.grant("acme", "shop", "post:/reviews", role="reviewer")
    shop.create_group("acme", "shop", "/staff")
    shop.assign_role("acme", "shop", "reviewer", group="/staff")
    shop.add_to_group("acme", "shop", "/staff", "alice")
    shop.assign_role("acme", "shop", "reviewer", user="alice")
    found = _explain(shop, _signed_in(shop), "POST", "/reviews")
    assert found.source == "role:reviewer"
    assert found.matching == (SourcedRule("post:/reviews", "role:reviewer"),)


def test_every_allowing_rule_is_listed_the_first_one_named(shop: Realm):
    shop.grant("acme", "shop", "get:/books/**", user="alice")
    shop.grant("acme", "shop", "get:/books/*", role="default")
    found = _explain(shop, _signed_in(shop), "GET", "/books/1")
    assert (found.rule, found.source) == ("get:/books/**", "user")
    assert found.matching == (
        SourcedRule("get:/books/**", "user"),
        SourcedRule("get:/books/*", "role:default"),
    )


def test_the_own_entity(shop: Realm):
    alice = _signed_in(shop)
    for path in ("/users/me", "/users/alice", f"/users/{alice.uuid}"):
        found = _explain(shop, alice, "GET", path)
        assert (found.allowed, found.reason, found.source) == (True, "own-entity", "own-entity")
        assert found.rule == "get:/users/me"
    refused = _explain(shop, alice, "GET", "/users/bob")
    assert (refused.allowed, refused.reason) == (False, "no-rule-matched")
    assert refused.considered == (SourcedRule("get:/users/me", "own-entity"),)


def test_me_and_user_variables_name_only_the_caller(shop: Realm):
    shop.grant("acme", "shop", "put:/users/me/likes", role="default")
    shop.grant("acme", "shop", "get:/files/${user}/**", role="default")
    alice = _signed_in(shop)
    for path in ("/users/me/likes", "/users/alice/likes", f"/users/{alice.uuid}/likes"):
        found = _explain(shop, alice, "PUT", path)
        assert (found.rule, found.source) == ("put:/users/me/likes", "role:default"), path
    assert not _explain(shop, alice, "PUT", "/users/bob/likes").allowed
    files = _explain(shop, alice, "GET", "/files/alice/a.txt")
    assert (files.rule, files.source) == ("get:/files/${user}/**", "role:default")
    refused = _explain(shop, alice, "GET", "/files/bob/a.txt")
    assert refused.reason == "no-rule-matched"
    assert SourcedRule("get:/files/${user}/**", "role:default") in refused.considered


def test_a_role_lapsed_by_inactivity(shop: Realm, clock: FakeClock):
    shop.create_role("acme", "shop", "timed", inactivity_ms=2000)
    shop.grant("acme", "shop", "get:/timed/**", role="timed")
    shop.assign_role("acme", "shop", "timed", user="alice")
    shop.grant("acme", "shop", "get:/always/**", user="alice")
    alice = _signed_in(shop)
    clock.advance_ms(1500)
    found = _explain(shop, alice, "GET", "/timed/1")
    assert (found.allowed, found.source, found.lapsed) == (True, "role:timed", ())
    clock.advance_ms(2001)
    lapsed = _explain(shop, alice, "GET", "/timed/1")
    assert (lapsed.allowed, lapsed.reason, lapsed.lapsed) == (False, "role-lapsed", ("timed",))
    assert (lapsed.rule, lapsed.source) == ("get:/timed/**", "role:timed")
    assert SourcedRule("get:/timed/**", "role:timed") not in lapsed.considered
    still = _explain(shop, alice, "GET", "/always/1")
    assert (still.allowed, still.source, still.lapsed) == (True, "user", ("timed",))
    nothing = _explain(shop, alice, "GET", "/other")
    assert (nothing.reason, nothing.lapsed) == ("no-rule-matched", ("timed",))


def test_the_default_role_never_lapses(shop: Realm, clock: FakeClock):
    shop.delete_role("acme", "shop", "default")
    shop.create_role("acme", "shop", "default", inactivity_ms=10)
    shop.grant("acme", "shop", "get:/books/**", role="default")
    alice = _signed_in(shop)
    clock.advance_ms(1000)
    found = _explain(shop, alice, "GET", "/books/1")
    assert (found.allowed, found.source, found.lapsed) == (True, "role:default", ())


def test_a_token_revoked_since_it_was_authenticated(shop: Realm):
    shop.create_role("acme", "shop", "timed", inactivity_ms=2000)
    shop.assign_role("acme", "shop", "timed", user="alice")
    alice = _signed_in(shop)
    shop.revoke_user_tokens("acme", "shop", "alice")
    found = _explain(shop, alice, "GET", "/users/me")
    assert (found.allowed, found.reason) == (False, "token-revoked")


# -- all-access principals, and refusals before any rule ----------------------------------------


def test_clients_and_admins_may_do_anything_in_their_scope(shop: Realm):
    shop.create_org("globex")
    org = shop.create_credentials("acme")
    app = shop.create_credentials("acme", "shop")
    shop.create_admin("ann", password=PASSWORD, orgs=["acme"])
    admin = shop.authenticate_token(shop.admin_token("ann", PASSWORD).access_token)
    principals = {
        "org_client": shop.authenticate_client(org.client_id, org.client_secret),
        "app_client": shop.authenticate_client(app.client_id, app.client_secret),
        "admin_user": admin,
    }
    for kind, principal in principals.items():
        found = _explain(shop, principal, "DELETE", "/anything")
        assert found == Explanation(allowed=True, reason="all-access", source=kind, verb="delete")
        elsewhere = shop.explain(principal, "GET", "/x", org="globex", app="sandbox")
        assert (elsewhere.allowed, elsewhere.reason) == (False, "not-this-app")


def test_a_principal_of_another_app(shop: Realm):
    shop.create_app("acme", "other", roles="sandbox")
    alice = _signed_in(shop)
    found = shop.explain(alice, "GET", "/users/me", org="acme", app="other")
    assert found == Explanation(allowed=False, reason="not-this-app", verb="get")
    assert not shop.permits(alice, "GET", "/users/me", org="acme", app="other")


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "get", ""])
def test_a_method_no_rule_can_allow(shop: Realm, method: str):
    found = _explain(shop, _signed_in(shop), method, "/users/me")
    assert found == Explanation(allowed=False, reason="bad-method")


@pytest.mark.parametrize(
    ("method", "verb"), [("HEAD", "get"), ("OPTIONS", "get"), ("PATCH", "patch")]
)
def test_the_verb_a_method_is_checked_as(shop: Realm, method: str, verb: str):
    assert _explain(shop, _signed_in(shop), method, "/x").verb == verb


def test_names_are_compared_ignoring_case_and_paths_as_asked(shop: Realm):
    shop.grant("acme", "shop", "get:/Books/**", role="default")
    alice = _signed_in(shop)
    assert shop.explain(alice, "GET", "/Books/1", org="ACME", app="Shop").allowed
    assert not _explain(shop, alice, "GET", "/books/1").allowed
    relaxed = shop.explain(alice, "GET", "/books/1", org="acme", app="shop", case_sensitive=False)
    assert (relaxed.allowed, relaxed.source) == (True, "role:default")


@pytest.mark.parametrize("path", ["books", "/a/../b", "/a//b", "/a/./b", ""])
def test_a_path_that_is_not_canonical_is_refused_as_permits_refuses_it(shop: Realm, path: str):
    alice = _signed_in(shop)
    with pytest.raises(BadRequestError):
        shop.explain(alice, "GET", path, org="acme", app="shop")
    with pytest.raises(BadRequestError):
        shop.permits(alice, "GET", path, org="acme", app="shop")


def test_a_disabled_unactivated_or_deleted_user(shop: Realm):
    shop.grant("acme", "shop", "get:/**", role="default")
    alice, bob = _signed_in(shop), _signed_in(shop, "bob")
    shop.update_user("acme", "shop", "alice", disabled=True)
    assert _explain(shop, alice, "GET", "/x").reason == "user-disabled"
    shop.update_user("acme", "shop", "bob", activated=False)
    assert _explain(shop, bob, "GET", "/x").reason == "user-not-activated"
    shop.delete_user("acme", "shop", "alice")
    assert _explain(shop, alice, "GET", "/x").reason == "user-gone"


def test_an_unknown_app(shop: Realm):
    with pytest.raises(NotFoundError):
        shop.get_app("acme", "nowhere")
    guest = Principal(kind="guest", org="acme", app="nowhere")
    found = shop.explain(guest, "GET", "/x", org="acme", app="nowhere")
    assert (found.allowed, found.reason) == (False, "no-guest-role")


# -- the same answer as permits -----------------------------------------------------------------

SEGMENTS = ["a", "b", "users", "me", "alice", "Alice", "x.txt"]
PATTERN_SEGMENTS = [*SEGMENTS, "*", "**", "${user}", "a*", "?", "*.txt", "ALICE"]
METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE", "TRACE", "get"]


@st.composite
def rules(draw: st.DrawFn) -> str:
    verbs = draw(st.sets(st.sampled_from(["get", "put", "post", "delete"]), min_size=1))
    patterns = draw(
        st.lists(
            st.lists(st.sampled_from(PATTERN_SEGMENTS), max_size=4).map(
                lambda s: "/" + "/".join(s)
            ),
            min_size=1,
            max_size=2,
        )
    )
    return f"{','.join(sorted(verbs))}:{','.join(patterns)}"


paths = st.lists(st.sampled_from(SEGMENTS), max_size=4).map(lambda s: "/" + "/".join(s))
rule_lists = st.lists(rules(), max_size=3)


@given(
    sources=st.lists(st.tuples(rule_lists, st.sampled_from([0, 0, 1000])), min_size=1, max_size=4),
    verb=st.sampled_from(["get", "put", "post", "delete", "patch"]),
    path=paths,
    identity=st.sampled_from([(), ("u-1", "alice"), ("u-1", "Alice"), ("alice",)]),
    inactive=st.sampled_from([None, 0, 1000, 1001]),
    case_sensitive=st.booleans(),
)
def test_explain_rules_allows_what_the_compiled_set_allows(
    sources: list[tuple[list[str], int]],
    verb: str,
    path: str,
    identity: tuple[str, ...],
    inactive: int | None,
    case_sensitive: bool,
):
    """The pure core: rule by rule, or all of them compiled into one trie, the same answer."""
    built = [
        RuleSource(f"role:r{index}", tuple(Rule.parse(t) for t in texts), f"r{index}", lapses)
        for index, (texts, lapses) in enumerate(sources)
    ]
    found = explain_rules(built, verb, path, identity, inactive, case_sensitive=case_sensitive)
    live = [
        rule
        for source in built
        if not (source.lapses_after_ms and inactive is not None and inactive > 1000)
        for rule in source.rules
    ]
    expected = compile_rules(live, case_sensitive=case_sensitive).permits(verb, path, identity)
    assert found.allowed == expected
    assert found.allowed == bool(found.matching)


_apps = itertools.count()


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, object]:
    return {
        "default": draw(rule_lists),
        "guest": draw(rule_lists),
        "no_guest": draw(st.booleans()),
        "role": draw(rule_lists),
        "timed": draw(rule_lists),
        "own": draw(rule_lists),
        "group": draw(rule_lists),
        "user_roles": draw(st.sets(st.sampled_from(["role", "timed"]))),
        "group_roles": draw(st.sets(st.sampled_from(["role", "timed"]))),
        "in_group": draw(st.booleans()),
        "idle_ms": draw(st.sampled_from([0, 1000, 1001])),
        "state": draw(st.sampled_from(["ok", "ok", "ok", "disabled", "unactivated", "deleted"])),
    }


def _grant_all(realm: Realm, app: str, texts: object, **where: str) -> None:
    assert isinstance(texts, list)
    for text in texts:
        realm.grant("acme", app, text, **where)


def _build(realm: Realm, clock: FakeClock, world: dict[str, object]) -> tuple[str, Principal]:
    """A fresh app of ``world``, and alice (signed in) in it."""
    app = f"app{next(_apps)}"
    realm.create_app("acme", app, roles="locked")
    realm.create_role("acme", app, "role")
    realm.create_role("acme", app, "timed", inactivity_ms=1000)
    for role in ("default", "guest", "role", "timed"):
        _grant_all(realm, app, world[role], role=role)
    realm.create_user("acme", app, "alice", password=PASSWORD)
    _grant_all(realm, app, world["own"], user="alice")
    realm.create_group("acme", app, "/g")
    _grant_all(realm, app, world["group"], group="/g")
    for role in world["user_roles"]:  # type: ignore[attr-defined]
        realm.assign_role("acme", app, role, user="alice")
    for role in world["group_roles"]:  # type: ignore[attr-defined]
        realm.assign_role("acme", app, role, group="/g")
    if world["in_group"]:
        realm.add_to_group("acme", app, "/g", "alice")
    if world["no_guest"]:
        realm.delete_role("acme", app, "guest")
    alice = _signed_in(realm, "alice", app)
    clock.advance_ms(int(world["idle_ms"]))  # type: ignore[call-overload]
    if world["state"] == "disabled":
        realm.update_user("acme", app, "alice", disabled=True)
    elif world["state"] == "unactivated":
        realm.update_user("acme", app, "alice", activated=False)
    elif world["state"] == "deleted":
        realm.delete_user("acme", app, "alice")
    return app, alice


@pytest.fixture
def acme(realm: Realm) -> Realm:
    realm.create_org("acme")
    realm.create_org("globex")
    return realm


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    world=worlds(),
    checks=st.lists(
        st.tuples(st.sampled_from(METHODS), paths, st.booleans(), st.sampled_from(range(5))),
        min_size=1,
        max_size=6,
    ),
)
def test_explain_allows_exactly_what_permits_allows(
    acme: Realm,
    clock: FakeClock,
    world: dict[str, object],
    checks: list[tuple[str, str, bool, int]],
):
    realm = acme
    app, alice = _build(realm, clock, world)
    creds = realm.create_credentials("acme", app)
    principals = [
        alice,
        Principal(kind="guest", org="acme", app=app),
        realm.authenticate_client(creds.client_id, creds.client_secret),
        Principal(kind="org_client", org="globex", uuid="c-1"),
        Principal(kind="app_user", org="acme", app="elsewhere", uuid=alice.uuid),
    ]
    for method, path, case_sensitive, who in checks:
        principal = principals[who]
        # permits first: a check is a use of the token, and a second use at the same moment
        # changes no idle gap, so explain then sees what permits saw.
        allowed = realm.permits(
            principal, method, path, org="acme", app=app, case_sensitive=case_sensitive
        )
        found = realm.explain(
            principal, method, path, org="acme", app=app, case_sensitive=case_sensitive
        )
        assert found.allowed == allowed, (method, path, principal.kind, found)
        assert found.allowed == (found.reason in ("rule", "own-entity", "all-access"))
