"""The management API's role, permission and membership endpoints, by an admin of
the org, on both adapters and every store: what each read lists, what each write changes
(read back through the realm), the answers' shape, and the 400s and 404s."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from baas_auth import Realm
from tests.adapters.conftest import assert_error
from tests.api.conftest import Api, assert_api_response, listed

READS = [
    ("/roles", ["admin", "default", "editor", "guest"]),
    ("/roles/editor", ["editor"]),
    ("/roles/EDITOR", ["editor"]),
    ("/roles/editor/permissions", ["get:/books/**"]),
    ("/roles/editor/users", ["bob"]),
    ("/roles/editor/users/bob", ["bob"]),
    ("/roles/editor/user/bob", ["bob"]),
    ("/roles/editor/groups", ["/staff"]),
    ("/roles/editor/groups/staff", ["/staff"]),
    ("/roles/default/users", []),
    ("/users/bob/roles", ["editor"]),
    ("/users/bob/roles/editor", ["editor"]),
    ("/users/alice/roles", []),
    ("/users/alice/permissions", ["get:/own/**"]),
    ("/users/alice@example.com/permissions", ["get:/own/**"]),
    ("/users/ALICE/groups", ["/staff"]),
    ("/users/bob/groups", []),
    ("/groups/staff/roles", ["editor"]),
    ("/groups/staff/roles/editor", ["editor"]),
    ("/groups/staff/permissions", ["put:/notes/*"]),
    ("/groups/staff/users", ["alice"]),
    ("/groups/staff/users/alice", ["alice"]),
    ("/groups/ops/users", []),
]


@pytest.mark.parametrize(("path", "expected"), READS)
def test_reads(model: Api, path: str, expected: list[str]) -> None:
    caller = model.caller()
    response = caller.get(f"/acme/shop{path}", headers=model.headers("ann"))
    body = assert_api_response(response, action="get", path=path, clock=model.world.clock)
    assert listed(body) == expected
    assert not caller.called


def test_users_by_uuid(model: Api) -> None:
    uuid = model.world.uuids["alice"]
    response = model.caller().get(f"/acme/shop/users/{uuid}/groups", headers=model.headers("ann"))
    assert listed(response.json()) == ["/staff"]
    response = model.caller().get(
        f"/acme/shop/roles/editor/users/{model.world.uuids['bob']}", headers=model.headers("ann")
    )
    assert response.json()["entities"][0]["uuid"] == model.world.uuids["bob"]


def test_user_entities_carry_no_secret(model: Api) -> None:
    response = model.caller().get("/acme/shop/groups/staff/users", headers=model.headers("ann"))
    (alice,) = response.json()["entities"]
    assert alice == {
        "uuid": model.world.uuids["alice"],
        "type": "user",
        "name": "alice",
        "username": "alice",
        "email": "alice@example.com",
        "activated": True,
        "disabled": False,
        "metadata": {"path": f"/users/{model.world.uuids['alice']}"},
    }


MISSING = [
    "/roles/nope",
    "/roles/nope/permissions",
    "/roles/nope/users",
    "/roles/editor/users/alice",
    "/roles/editor/users/nobody",
    "/roles/editor/groups/ops",
    "/users/nobody/roles",
    "/users/alice/roles/editor",
    "/groups/nope/users",
    "/groups/ops/users/alice",
]


@pytest.mark.parametrize("path", MISSING)
def test_missing_is_404(model: Api, path: str) -> None:
    caller = model.caller()
    response = caller.get(f"/acme/shop{path}", headers=model.headers("ann"))
    assert_error(response, 404, "service_resource_not_found", None, clock=model.world.clock)
    assert not caller.called


Check = Callable[[Realm], bool]

WRITES: list[tuple[str, str, dict[str, Any], Check]] = [
    (
        "POST",
        "/roles",
        {"json": {"name": "writer", "inactivity": 1000}},
        lambda r: r.get_role("acme", "shop", "writer").inactivity_ms == 1000,
    ),
    (
        "POST",
        "/roles",
        {"data": {"roleName": "writer", "inactivity": "5"}},
        lambda r: r.get_role("acme", "shop", "writer").inactivity_ms == 5,
    ),
    (
        "DELETE",
        "/roles/editor",
        {},
        lambda r: "editor" not in [role.name for role in r.list_roles("acme", "shop")],
    ),
    (
        "POST",
        "/roles/editor/permissions",
        {"json": {"permission": "post:/books"}},
        lambda r: "post:/books" in r.get_role("acme", "shop", "editor").rules,
    ),
    (
        "POST",
        "/roles/editor/permissions",
        {"data": {"permission": "GET,put:/films/*"}},
        lambda r: "get,put:/films/*" in r.get_role("acme", "shop", "editor").rules,
    ),
    (
        "DELETE",
        "/roles/editor/permissions",
        {"params": {"permission": "get:/books/**"}},
        lambda r: r.get_role("acme", "shop", "editor").rules == (),
    ),
    (
        "POST",
        "/roles/editor/users/alice",
        {},
        lambda r: r.user_roles("acme", "shop", "alice") == ("editor",),
    ),
    (
        "POST",
        "/roles/editor/user/alice",
        {},
        lambda r: r.user_roles("acme", "shop", "alice") == ("editor",),
    ),
    ("DELETE", "/roles/editor/users/bob", {}, lambda r: r.user_roles("acme", "shop", "bob") == ()),
    (
        "POST",
        "/roles/editor/groups/ops",
        {},
        lambda r: r.get_group("acme", "shop", "/ops").roles == ("editor",),
    ),
    (
        "DELETE",
        "/roles/editor/groups/staff",
        {},
        lambda r: r.get_group("acme", "shop", "/staff").roles == (),
    ),
    (
        "POST",
        "/users/alice/roles/editor",
        {},
        lambda r: r.user_roles("acme", "shop", "alice") == ("editor",),
    ),
    ("DELETE", "/users/bob/roles/editor", {}, lambda r: r.user_roles("acme", "shop", "bob") == ()),
    (
        "POST",
        "/users/alice/permissions",
        {"json": {"permission": "delete:/x"}},
        lambda r: r.user_rules("acme", "shop", "alice") == ("get:/own/**", "delete:/x"),
    ),
    (
        "DELETE",
        "/users/alice/permissions",
        {"params": {"permission": "get:/own/**"}},
        lambda r: r.user_rules("acme", "shop", "alice") == (),
    ),
    (
        "POST",
        "/groups/staff/roles/default",
        {},
        lambda r: r.get_group("acme", "shop", "/staff").roles == ("editor", "default"),
    ),
    (
        "DELETE",
        "/groups/staff/roles/editor",
        {},
        lambda r: r.get_group("acme", "shop", "/staff").roles == (),
    ),
    (
        "POST",
        "/groups/staff/permissions",
        {"json": {"permission": "get:/staff/**"}},
        lambda r: "get:/staff/**" in r.get_group("acme", "shop", "/staff").rules,
    ),
    (
        "DELETE",
        "/groups/staff/permissions",
        {"params": {"permission": "put:/notes/*"}},
        lambda r: r.get_group("acme", "shop", "/staff").rules == (),
    ),
    (
        "POST",
        "/groups/ops/users/bob",
        {},
        lambda r: r.user_groups("acme", "shop", "bob") == ("/ops",),
    ),
    (
        "POST",
        "/groups/ops/user/bob",
        {},
        lambda r: r.user_groups("acme", "shop", "bob") == ("/ops",),
    ),
    (
        "DELETE",
        "/groups/staff/users/alice",
        {},
        lambda r: r.user_groups("acme", "shop", "alice") == (),
    ),
]


@pytest.mark.parametrize(("method", "path", "sent", "check"), WRITES)
def test_writes(model: Api, method: str, path: str, sent: dict[str, Any], check: Check) -> None:
    caller = model.caller()
    response = caller.request(method, f"/acme/shop{path}", headers=model.headers("ann"), **sent)
    body = assert_api_response(response, action=method.lower(), path=path, clock=model.world.clock)
    assert check(model.world.realm)
    assert listed(body)  # what was made, changed or removed
    assert not caller.called


def test_revoking_rules_repeated_in_the_query(model: Api) -> None:
    model.world.realm.grant("acme", "shop", "post:/books", role="editor")
    query = "permission=get:/books/**&permission=post:/books&permission=put:/never"
    response = model.caller().request(
        "DELETE", f"/acme/shop/roles/editor/permissions?{query}", headers=model.headers("ann")
    )
    assert response.json()["data"] == ["get:/books/**", "post:/books"]
    assert model.world.realm.get_role("acme", "shop", "editor").rules == ()


def test_changes_apply_to_the_next_request_of_a_live_token(api: Api) -> None:
    """A rule granted or revoked over HTTP changes what a token already issued may do."""
    caller = api.caller()
    victor = api.headers("victor")
    assert caller.get("/acme/vault/secrets", headers=victor).status_code == 403
    grant = {"json": {"permission": "get:/secrets"}, "headers": api.headers("ann")}
    assert caller.post("/acme/vault/users/victor/permissions", **grant).status_code == 200
    assert caller.get("/acme/vault/secrets", headers=victor).status_code == 200
    revoke = "/acme/vault/users/victor/permissions?permission=get:/secrets"
    assert caller.request("DELETE", revoke, headers=api.headers("ann")).status_code == 200
    assert caller.get("/acme/vault/secrets", headers=victor).status_code == 403


def test_a_role_given_over_http_applies_at_once(api: Api) -> None:
    caller = api.caller()
    ann, victor = api.headers("ann"), api.headers("victor")
    assert caller.post("/acme/vault/roles", json={"name": "reader"}, headers=ann).status_code == 200
    rule = {"permission": "get:/reports/*"}
    assert (
        caller.post("/acme/vault/roles/reader/permissions", json=rule, headers=ann).status_code
        == 200
    )
    assert caller.get("/acme/vault/reports/q1", headers=victor).status_code == 403
    assert caller.post("/acme/vault/roles/reader/users/me", headers=ann).status_code == 400
    assert caller.post("/acme/vault/roles/reader/users/victor", headers=ann).status_code == 200
    assert caller.get("/acme/vault/reports/q1", headers=victor).status_code == 200
    assert caller.request("DELETE", "/acme/vault/roles/reader", headers=ann).status_code == 200
    assert caller.get("/acme/vault/reports/q1", headers=victor).status_code == 403


BAD: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "POST",
        "/roles/editor/permissions",
        {"json": {"permission": "get:/books/{id}"}},
        "illegal_argument",
    ),
    ("POST", "/roles/editor/permissions", {"json": {"permission": "get"}}, "illegal_argument"),
    ("POST", "/roles/editor/permissions", {"json": {"permission": "/a b"}}, "illegal_argument"),
    ("POST", "/roles/editor/permissions", {"json": {"permission": 5}}, "invalid_request"),
    ("POST", "/roles/editor/permissions", {"json": {}}, "invalid_request"),
    (
        "POST",
        "/roles/editor/permissions",
        {"json": {"permission": "get:/a"}, "params": {"permission": "get:/b"}},
        "invalid_request",
    ),
    (
        "POST",
        "/roles/editor/permissions",
        {"content": b"<permission/>", "headers": {"Content-Type": "text/xml"}},
        "invalid_request",
    ),
    (
        "POST",
        "/roles/editor/permissions",
        {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
        "invalid_request",
    ),
    (
        "POST",
        "/roles/editor/permissions",
        {"json": {"permission": "x" * 70_000}},
        "invalid_request",
    ),
    ("DELETE", "/roles/editor/permissions", {}, "invalid_request"),
    ("POST", "/roles", {"json": {"name": "Bad Name!"}}, "illegal_argument"),
    ("POST", "/roles", {"json": {}}, "invalid_request"),
    ("POST", "/roles", {"json": {"name": "editor"}}, "duplicate_unique_property_exists"),
    ("POST", "/roles", {"json": {"name": "x", "inactivity": -1}}, "illegal_argument"),
    ("POST", "/roles", {"json": {"name": "x", "inactivity": True}}, "illegal_argument"),
    ("POST", "/roles", {"json": {"name": ["x"]}}, "invalid_request"),
    ("POST", "/users/me/roles/editor", {}, "invalid_request"),
    ("POST", "/roles/editor/users/me", {}, "invalid_request"),
]


@pytest.mark.parametrize(("method", "path", "sent", "error"), BAD)
def test_bad_input_is_400(
    model: Api, method: str, path: str, sent: dict[str, Any], error: str
) -> None:
    caller = model.caller()
    headers = {**model.headers("ann"), **sent.pop("headers", {})}
    response = caller.request(method, f"/acme/shop{path}", headers=headers, **sent)
    assert_error(response, 400, error, None, clock=model.world.clock)
    assert model.world.realm.get_role("acme", "shop", "editor").rules == ("get:/books/**",)
    assert not caller.called
