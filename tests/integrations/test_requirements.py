"""What a requirement means, checked against the realm directly (no framework): the guest, roles
held directly, through a group and by default, lapsed roles, rules, and the application judged."""

from __future__ import annotations

import anyio
import pytest

from baas_auth import Principal
from baas_auth.errors import AuthenticationError, ConfigError, ForbiddenError
from baas_auth.integrations import Guard, Requirement
from baas_auth.integrations.requirements import check, check_async
from baas_auth.middleware.decisions import GateOptions
from tests.integrations.conftest import AUDITOR_IDLE_MS, PASSWORD, World

SINGLE = GateOptions.build(application="acme/shop")
MULTI = GateOptions.build()


def _principal(world: World, username: str) -> Principal:
    return world.realm.authenticate_token(world.token(username))


def _guard(world: World, options: GateOptions = SINGLE) -> Guard:
    return Guard(world.realm, options)


def _verdict(world: World, requirement: Requirement, principal: Principal | None,
             path: str = "/books", options: GateOptions = SINGLE) -> int:
    try:
        check(_guard(world, options), requirement, principal, path)
    except (AuthenticationError, ForbiddenError) as error:
        return error.status_code
    return 200


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"role": "Editor!"}, "role"),
        ({"rule": "get:/books/*"}, "without"),
        ({"rule": "get:/users/${user}"}, "without"),
        ({"rule": "get:books"}, "'/'"),
        ({"rule": "fetch:/books"}, "verb"),
        ({"authenticated": "yes"}, "True or False"),
    ],
)
def test_bad_requirements_are_refused_when_declared(
    arguments: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Requirement.build(**arguments)  # type: ignore[arg-type]


def test_a_rule_names_every_verb_on_every_path() -> None:
    requirement = Requirement.build(rule="put,get:/a,/b")
    assert requirement.permissions == (("GET", "/a"), ("GET", "/b"), ("PUT", "/a"), ("PUT", "/b"))
    assert str(requirement) == "authenticated, GET /a, GET /b, PUT /a, PUT /b"


def test_the_guest_and_a_missing_principal_are_refused_with_401(world: World) -> None:
    guest = world.realm.guest("acme", "shop")
    assert _verdict(world, Requirement.build(), guest) == 401
    assert _verdict(world, Requirement.build(), None) == 401
    assert _verdict(world, Requirement.build(authenticated=False), guest) == 200
    assert _verdict(world, Requirement.build(authenticated=False, role="editor"), guest) == 401


@pytest.mark.parametrize(
    ("username", "role", "status"),
    [
        ("alice", "editor", 200),  # given to her
        ("carol", "editor", 200),  # through group /staff
        ("bob", "editor", 403),
        ("bob", "default", 200),  # every active user's
        ("bob", "nosuchrole", 403),
        ("dave", "auditor", 200),
    ],
)
def test_roles(world: World, username: str, role: str, status: int) -> None:
    principal = _principal(world, username)
    assert _verdict(world, Requirement.build(role=role), principal) == status


def test_a_deleted_role_is_no_ones(world: World) -> None:
    principal = _principal(world, "alice")
    world.realm.delete_role("acme", "shop", "editor")
    assert _verdict(world, Requirement.build(role="editor"), principal) == 403


def test_a_role_lapses_for_an_idle_token_as_its_rules_do(world: World) -> None:
    principal = _principal(world, "dave")
    requirement = Requirement.build(role="auditor")
    world.clock.advance_ms(AUDITOR_IDLE_MS - 1)
    assert _verdict(world, requirement, principal) == 200
    world.clock.advance_ms(AUDITOR_IDLE_MS + 1)
    assert _verdict(world, requirement, principal) == 403
    world.clock.advance_ms(1)  # the longest gap counts, not the latest one
    assert _verdict(world, requirement, principal) == 403


def test_clients_and_admins_hold_no_roles_but_pass_rules(world: World) -> None:
    admin = world.realm.authenticate_token(world.realm.admin_token("ann", PASSWORD).access_token)
    for creds in (world.app_client, world.org_client):
        client = world.realm.client_token(creds.client_id, creds.client_secret).access_token
        principal = world.realm.authenticate_token(client)
        assert _verdict(world, Requirement.build(role="editor"), principal) == 403
        assert _verdict(world, Requirement.build(rule="put:/reports"), principal) == 200
    assert _verdict(world, Requirement.build(role="default"), admin) == 403
    assert _verdict(world, Requirement.build(rule="put:/reports"), admin) == 200


def test_a_rule_is_judged_by_the_realm(world: World) -> None:
    requirement = Requirement.build(rule="put:/reports")
    assert _verdict(world, requirement, _principal(world, "alice")) == 200
    assert _verdict(world, requirement, _principal(world, "bob")) == 403
    both = Requirement.build(rule="get,put:/reports")
    assert _verdict(world, both, _principal(world, "carol")) == 200
    world.realm.revoke_grant("acme", "shop", "get:/whoami,/reports", role="default")
    assert _verdict(world, both, _principal(world, "carol")) == 403


def test_a_guest_may_pass_a_rule_when_authentication_is_not_required(world: World) -> None:
    guest = world.realm.guest("acme", "shop")
    requirement = Requirement.build(authenticated=False, rule="get:/catalog")
    assert _verdict(world, requirement, guest) == 401
    world.realm.grant("acme", "shop", "get:/catalog", role="guest")
    assert _verdict(world, requirement, guest) == 200


def test_multi_tenant_mode_judges_the_principals_app_or_the_paths(world: World) -> None:
    world.realm.create_app("acme", "other")
    admin = world.realm.authenticate_token(world.realm.admin_token("ann", PASSWORD).access_token)
    alice = _principal(world, "alice")
    role = Requirement.build(role="editor")
    rule = Requirement.build(rule="put:/reports")
    assert _verdict(world, role, alice, "/acme/shop/books", MULTI) == 200
    assert _verdict(world, rule, admin, "/acme/other/books", MULTI) == 200
    # Under /management no app's roles or rules apply.
    assert _verdict(world, rule, admin, "/management/orgs/acme", MULTI) == 403
    assert _verdict(world, rule, admin, "/", MULTI) == 403


def test_the_async_twin_agrees(world: World) -> None:
    guard = Guard(world.async_realm(), SINGLE)
    cases = [
        ("alice", Requirement.build(role="editor"), 200),
        ("carol", Requirement.build(role="editor"), 200),
        ("bob", Requirement.build(role="editor"), 403),
        ("alice", Requirement.build(rule="put:/reports"), 200),
        ("bob", Requirement.build(rule="put:/reports"), 403),
    ]

    async def verdict(principal: Principal, requirement: Requirement) -> int:
        try:
            await check_async(guard, requirement, principal, "/books")
        except (AuthenticationError, ForbiddenError) as error:
            return error.status_code
        return 200

    for username, requirement, status in cases:
        principal = _principal(world, username)
        assert anyio.run(verdict, principal, requirement) == status
        assert _verdict(world, requirement, principal) == status


def test_the_sync_and_async_checks_refuse_the_other_kind_of_realm(world: World) -> None:
    alice = _principal(world, "alice")
    requirement = Requirement.build(role="editor")
    with pytest.raises(TypeError):
        check(Guard(world.async_realm(), SINGLE), requirement, alice, "/books")
    with pytest.raises(TypeError):
        anyio.run(check_async, _guard(world), requirement, alice, "/books")


def test_a_guard_naming_a_role_the_app_lacks_says_so_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    requirement = Requirement.build(role="manager")
    with caplog.at_level("WARNING", logger="baas_auth"):
        for username in ("alice", "bob", "alice"):
            assert _verdict(world, requirement, _principal(world, username)) == 403
    told = [r.getMessage() for r in caplog.records if "require(role='manager')" in r.getMessage()]
    assert len(told) == 1
    assert "refuses every caller of acme/shop: the app has no role 'manager'" in told[0]
    assert "baas-auth create-role acme shop manager" in told[0]


def test_a_guard_naming_a_role_the_app_has_says_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING", logger="baas_auth"):
        assert _verdict(world, Requirement.build(role="editor"), _principal(world, "bob")) == 403
    assert not [r for r in caplog.records if "require(role=" in r.getMessage()]


def test_the_async_guard_says_so_too(world: World, caplog: pytest.LogCaptureFixture) -> None:
    guard = Guard(world.async_realm(), SINGLE)
    principal = _principal(world, "bob")

    async def refused() -> None:
        with pytest.raises(ForbiddenError):
            await check_async(guard, Requirement.build(role="manager"), principal, "/books")

    with caplog.at_level("WARNING", logger="baas_auth"):
        anyio.run(refused)
    assert any("the app has no role 'manager'" in r.getMessage() for r in caplog.records)
