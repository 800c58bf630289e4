"""The management API's table, and rows added by another module (as ``baas_auth.api.rows``
gathers them): matching, the spellings, the ``self`` and ``anyone`` kinds of access."""

from __future__ import annotations

import pytest

from baas_auth.api import dispatch
from baas_auth.api.rows import ROWS
from baas_auth.api.table import ApiCall, ApiResult, ApiRow, RouteTable
from baas_auth.realm.store_commands import Flow
from tests.api.conftest import Api


def who_calls(call: ApiCall) -> Flow[ApiResult]:
    principal = call.principal
    yield from ()
    return ApiResult(data={"kind": principal.kind, "user": call.params.get("user")})


EXTRA = (
    ApiRow("GET", "/users/{user}/whoami", who_calls, access="self"),
    ApiRow("POST", "/users/{user}/hello", who_calls, access="anyone"),
    ApiRow("POST", "/users/{user}/hello", who_calls, access="anyone", area="management"),
    ApiRow("GET", "/users/{user}/whoami", who_calls, access="self", area="management"),
)


@pytest.fixture
def extended(api: Api, monkeypatch: pytest.MonkeyPatch) -> Api:
    monkeypatch.setattr(dispatch, "ROWS", (*ROWS, *EXTRA))
    return api


@pytest.mark.parametrize(
    ("who", "user", "status"),
    [
        ("alice", "alice", 200),
        ("alice", "me", 200),
        ("alice", "ALICE@example.com", 200),
        ("alice", "bob", 403),
        ("bob", "alice", 403),
        ("victor", "alice", 401),
        ("guest", "alice", 401),
        ("shop-client", "alice", 200),
        ("ann", "alice", 200),
        ("gus", "alice", 401),
    ],
)
def test_self_rows(extended: Api, who: str, user: str, status: int) -> None:
    caller = extended.caller()
    response = caller.get(f"/acme/shop/users/{user}/whoami", headers=extended.headers(who))
    assert response.status_code == status, response.text
    assert not caller.called


@pytest.mark.parametrize(
    ("who", "user", "status"),
    [
        ("ann", "ann", 200),
        ("ann", "me", 200),
        ("ann", "ann@example.com", 200),
        ("ann", "gus", 403),
        ("gus", "ann", 403),
        ("alice", "alice", 403),  # an app user is no admin, whatever its name
        ("acme-client", "ann", 403),
        ("guest", "ann", 401),
    ],
)
def test_self_rows_under_management(extended: Api, who: str, user: str, status: int) -> None:
    caller = extended.caller()
    response = caller.get(f"/management/users/{user}/whoami", headers=extended.headers(who))
    assert response.status_code == status, response.text
    if status == 200:
        assert "organization" not in response.json()
    assert not caller.called


def test_anyone_rows(extended: Api) -> None:
    caller = extended.caller()
    response = caller.post("/acme/shop/users/alice/hello")
    assert response.json()["data"] == {"kind": "guest", "user": "alice"}
    response = caller.post("/management/users/ann/hello")
    assert response.status_code == 200
    assert response.json()["data"] == {"kind": "guest", "user": "ann"}
    assert response.json()["uri"] == "/management/users/ann/hello"
    assert caller.post("/nope/shop/users/alice/hello").status_code == 401  # no such app
    assert not caller.called


def test_rows_are_off_with_the_option(extended: Api) -> None:
    caller = extended.build()
    assert caller.post("/acme/shop/users/alice/hello").status_code == 401  # the usual rules
    assert (
        caller.get("/acme/shop/users/alice/whoami", headers=extended.headers("alice")).status_code
        == 200
    )
    assert caller.called


# -- the table alone ----------------------------------------------------------------------------


TABLE = RouteTable(ROWS)


@pytest.mark.parametrize(
    ("area", "method", "path", "expected"),
    [
        ("app", "GET", "/roles", "/roles"),
        ("app", "POST", "/roles/r/user/u", "/roles/r/users/u"),
        ("app", "DELETE", "/groups/g/user/u", "/groups/g/users/u"),
        ("app", "GET", "/user/u/roles", None),  # the top segment is the wrapped app's
        ("app", "GET", "/Roles", None),
        ("app", "GET", "/roles/", "/roles"),
        ("app", "PUT", "/", "/"),
        ("app", "GET", "/", None),
        (
            "management",
            "GET",
            "/ORGANIZATIONS/acme/Applications/shop/credentials",
            "/orgs/acme/apps/shop/credentials",
        ),
        ("management", "GET", "/orgs/acme/credentials/x", None),
        ("management", "GET", "/roles", None),
        ("app", "GET", "/orgs/acme/credentials", None),
        ("app", "GET", "/groups/a/b/c/users", "/groups/a/b/c/users"),
        ("app", "DELETE", "/groups/a/b/user/u", "/groups/a/b/users/u"),
        ("app", "GET", "/groups/a/users/users", "/groups/a/users/users"),
        ("app", "GET", "/groups/users/users", "/groups/users/users"),
        ("app", "GET", "/groups/a/b/roles/r", "/groups/a/b/roles/r"),
        ("app", "GET", "/roles/r/groups/a/users/b", "/roles/r/groups/a/users/b"),
        ("app", "GET", "/groups/a/b", None),
        ("app", "GET", "/groups/users", None),
        ("app", "GET", "/groups/a/users/b/c", None),
    ],
)
def test_matching(area: str, method: str, path: str, expected: str | None) -> None:
    match = TABLE.match(area, method, path)  # type: ignore[arg-type]
    assert (None if match is None else match.path) == expected


@pytest.mark.parametrize(
    ("path", "group", "rest"),
    [
        ("/groups/a/b/c/users", "a/b/c", {}),
        ("/groups/a/users/users", "a", {"user": "users"}),  # never the group a/users
        ("/groups/users/roles/r", "users", {"role": "r"}),  # the first segment is the group's
        ("/groups/a/permissions", "a", {}),
        ("/roles/r/groups/a/users/b", "a/users/b", {"role": "r"}),  # at the end: the rest
    ],
)
def test_where_a_group_path_ends(path: str, group: str, rest: dict[str, str]) -> None:
    methods = ("GET", "DELETE")
    match = next(m for m in (TABLE.match("app", v, path) for v in methods) if m is not None)
    assert match.params == {"group": group, **rest}


def test_a_path_parameter_before_another_parameter_is_refused() -> None:
    row = ApiRow("GET", "/things/{path+}/{other}", who_calls)
    with pytest.raises(ValueError, match="come before a literal"):
        RouteTable((*ROWS, row))


def test_allowed_methods() -> None:
    assert TABLE.allowed("app", "/roles/r/permissions") == ("GET", "POST", "DELETE")
    assert TABLE.allowed("app", "/credentials") == ("GET", "POST")
    assert TABLE.allowed("app", "/") == ()  # the root is the wrapped app's but for PUT
    assert TABLE.allowed("app", "/books") == ()


def test_two_rows_for_one_endpoint_are_refused() -> None:
    row = ApiRow("GET", "/roles/{name}", who_calls)
    with pytest.raises(ValueError, match="two rows"):
        RouteTable((*ROWS, row))
