"""Nested groups and uuid addressing in the management API, on both adapters and every store:
a group by its path (slashes as they are, or encoded as ``%2F``) or by its uuid, a role by its
name or its uuid, the uuids in the entities, the paths that could be read two ways, a uuid of
another app (404, never a look into another tenant), and the rules judging the resource
whichever way it is named."""

from __future__ import annotations

import pytest

from baas_auth.errors import StoreError
from baas_auth.realm import grants
from baas_auth.realm.store_commands import Flow
from tests.api.conftest import Api, assert_api_response, listed


@pytest.fixture
def nested(model: Api) -> Api:
    """``model`` and the group ``/staff/managers`` of acme/shop (member alice, role editor);
    the group ``/staff/users`` (member bob), whose path holds a sub-resource's name."""
    realm = model.world.realm
    realm.create_group("acme", "shop", "/staff/managers")
    realm.add_to_group("acme", "shop", "/staff/managers", "alice")
    realm.assign_role("acme", "shop", "editor", group="/staff/managers")
    realm.create_group("acme", "shop", "/staff/users")
    realm.add_to_group("acme", "shop", "/staff/users", "bob")
    return model


def _uuid_of_group(api: Api, path: str) -> str:
    return api.world.realm.get_group("acme", "shop", path).uuid


def _get(api: Api, url: str, who: str = "ann") -> list[object]:
    caller = api.caller()
    response = caller.get(url, headers=api.headers(who))
    assert response.status_code == 200, response.text
    assert not caller.called
    return listed(response.json())


def _ann_changes(api: Api, method: str, url: str) -> list[object]:
    """What ann's POST or DELETE answers (200), the wrapped app not called."""
    caller = api.caller()
    response = caller.request(method, url, headers=api.headers("ann"))
    assert response.status_code == 200, response.text
    assert not caller.called
    return listed(response.json())


NESTED_READS = [
    ("/groups/staff/managers/users", ["alice"]),
    ("/groups/staff/managers/users/alice", ["alice"]),
    ("/groups/staff/managers/user/alice", ["alice"]),
    ("/groups/staff/managers/roles", ["editor"]),
    ("/groups/staff/managers/roles/editor", ["editor"]),
    ("/groups/staff/managers/permissions", []),
    ("/roles/editor/groups/staff/managers", ["/staff/managers"]),
]


@pytest.mark.parametrize(("path", "expected"), NESTED_READS)
def test_a_nested_group_by_its_path(nested: Api, path: str, expected: list[str]) -> None:
    caller = nested.caller()
    response = caller.get(f"/acme/shop{path}", headers=nested.headers("ann"))
    body = assert_api_response(response, action="get", path=path, clock=nested.world.clock)
    assert listed(body) == expected
    assert not caller.called
    response = caller.get("/acme/shop/groups/staff/managers", headers=nested.headers("ann"))
    assert response.status_code == 200  # a group itself is the wrapped app's entity
    assert caller.last.path == "/acme/shop/groups/staff/managers"


@pytest.mark.parametrize("encoded", ["staff%2Fmanagers", "staff%2fmanagers"])
def test_a_nested_group_by_its_encoded_path(nested: Api, encoded: str) -> None:
    assert _get(nested, f"/acme/shop/groups/{encoded}/users") == ["alice"]
    assert _get(nested, f"/acme/shop/roles/editor/groups/{encoded}") == ["/staff/managers"]
    caller = nested.caller()
    for url in (  # the API's own path, but no group's; another encoded byte; the wrapped app's
        "/acme/shop/books%2Fsecret",
        "/acme/shop/groups/staff%2Fmanagers",
        "/acme/shop/users/alice%2Fx/roles",
        "/acme/shop/groups/staff%2F..%2Fops/users",
        "/acme/shop/groups/staff%2Fmanagers%2E/users",
    ):
        response = caller.get(url, headers=nested.headers("ann"))
        assert response.status_code == 400, (url, response.text)
    assert not caller.called


def test_single_app_mode_reads_group_paths_alike(nested: Api) -> None:
    caller = nested.caller(application="acme/shop")
    uuid = _uuid_of_group(nested, "/staff/managers")
    for path in ("staff/managers", "staff%2Fmanagers", uuid):
        response = caller.get(f"/groups/{path}/users", headers=nested.headers("ann"))
        assert response.status_code == 200, (path, response.text)
        assert listed(response.json()) == ["alice"]
    assert caller.get("/books%2Fx", headers=nested.headers("ann")).status_code == 400
    assert not caller.called


def test_a_group_by_its_uuid(nested: Api) -> None:
    uuid = _uuid_of_group(nested, "/staff/managers")
    assert _get(nested, f"/acme/shop/groups/{uuid}/users") == ["alice"]
    assert _get(nested, f"/acme/shop/groups/{uuid.upper()}/roles") == ["editor"]
    assert _get(nested, f"/acme/shop/roles/editor/groups/{uuid}") == ["/staff/managers"]
    assert _ann_changes(nested, "POST", f"/acme/shop/groups/{uuid}/users/bob") == ["bob"]
    realm = nested.world.realm
    assert "/staff/managers" in realm.user_groups("acme", "shop", "bob")
    assert _ann_changes(nested, "DELETE", f"/acme/shop/groups/{uuid}/users/bob") == ["bob"]
    assert "/staff/managers" not in realm.user_groups("acme", "shop", "bob")


def test_a_role_by_its_uuid(nested: Api) -> None:
    realm = nested.world.realm
    uuid = realm.get_role("acme", "shop", "editor").uuid
    assert _get(nested, f"/acme/shop/roles/{uuid}") == ["editor"]
    assert _get(nested, f"/acme/shop/roles/{uuid}/permissions") == ["get:/books/**"]
    assert _get(nested, f"/acme/shop/roles/{uuid}/users") == ["bob"]
    assert _get(nested, f"/acme/shop/users/bob/roles/{uuid}") == ["editor"]
    assert _get(nested, f"/acme/shop/groups/staff/roles/{uuid}") == ["editor"]
    assert _ann_changes(nested, "POST", f"/acme/shop/roles/{uuid}/users/alice") == ["alice"]
    assert "editor" in realm.user_roles("acme", "shop", "alice")
    assert _ann_changes(nested, "DELETE", f"/acme/shop/users/alice/roles/{uuid}") == ["editor"]
    assert "editor" not in realm.user_roles("acme", "shop", "alice")
    assert _ann_changes(nested, "DELETE", f"/acme/shop/roles/{uuid}") == ["editor"]
    assert "editor" not in [role.name for role in realm.list_roles("acme", "shop")]


def test_entities_carry_the_uuids(nested: Api) -> None:
    realm = nested.world.realm
    editor = realm.get_role("acme", "shop", "editor")
    managers = realm.get_group("acme", "shop", "/staff/managers")
    caller = nested.caller()
    (role,) = caller.get("/acme/shop/roles/editor", headers=nested.headers("ann")).json()[
        "entities"
    ]
    assert role["uuid"] == editor.uuid
    response = caller.get("/acme/shop/roles/editor/groups", headers=nested.headers("ann"))
    by_path = {entity["path"]: entity for entity in response.json()["entities"]}
    assert by_path["/staff/managers"]["uuid"] == managers.uuid
    assert by_path["/staff/managers"]["name"] == "staff/managers"
    response = caller.get("/acme/shop/users/alice/groups", headers=nested.headers("ann"))
    uuids = {entity["path"]: entity["uuid"] for entity in response.json()["entities"]}
    assert uuids == {
        "/staff": realm.get_group("acme", "shop", "/staff").uuid,
        "/staff/managers": managers.uuid,
    }
    response = caller.get("/acme/shop/roles", headers=nested.headers("ann"))
    listed_uuids = {entity["name"]: entity["uuid"] for entity in response.json()["entities"]}
    assert listed_uuids == {role.name: role.uuid for role in realm.list_roles("acme", "shop")}
    assert len(set(listed_uuids.values())) == len(listed_uuids)


def test_a_path_read_one_way_only(nested: Api) -> None:
    """``/groups/staff/users/bob``: the members of ``/staff``, not the group ``/staff/users``
    (whose path holds ``users``, a sub-resource); that group is reached by its uuid. The first
    segment after ``/groups`` is always the group's: ``/groups/users/users`` lists the members
    of the group ``/users``; ``/groups/roles/roles/editor`` asks of its role."""
    realm = nested.world.realm
    realm.create_group("acme", "shop", "/users")
    realm.add_to_group("acme", "shop", "/users", "bob")
    realm.create_group("acme", "shop", "/roles")
    realm.assign_role("acme", "shop", "editor", group="/roles")
    assert _get(nested, "/acme/shop/groups/users/users") == ["bob"]
    assert _get(nested, "/acme/shop/groups/roles/roles/editor") == ["editor"]
    assert _get(nested, "/acme/shop/groups/roles/roles") == ["editor"]
    caller = nested.caller()
    response = caller.get("/acme/shop/groups/staff/users/bob", headers=nested.headers("ann"))
    assert response.status_code == 404, response.text  # bob is not in /staff
    assert _get(nested, "/acme/shop/groups/staff/users/alice") == ["alice"]
    assert _get(nested, "/acme/shop/groups/staff/users") == ["alice"]
    uuid = _uuid_of_group(nested, "/staff/users")
    assert _get(nested, f"/acme/shop/groups/{uuid}/users") == ["bob"]
    assert _get(nested, "/acme/shop/roles/editor/groups/staff/managers") == ["/staff/managers"]
    assert not caller.called


def test_a_uuid_of_another_app_names_nothing(nested: Api) -> None:
    realm = nested.world.realm
    realm.create_role("acme", "vault", "auditor")
    realm.create_group("acme", "vault", "/auditors")
    realm.create_role("globex", "store", "buyer")
    foreign_roles = [
        realm.get_role("acme", "vault", "auditor").uuid,
        realm.get_role("acme", "vault", "admin").uuid,
        realm.get_role("globex", "store", "buyer").uuid,
    ]
    foreign_group = realm.get_group("acme", "vault", "/auditors").uuid
    caller = nested.caller()
    for url in (
        *(f"/acme/shop/roles/{uuid}" for uuid in foreign_roles),
        *(f"/acme/shop/roles/{uuid}/users" for uuid in foreign_roles),
        f"/acme/shop/groups/{foreign_group}/users",
        f"/acme/shop/roles/editor/groups/{foreign_group}",
    ):
        response = caller.get(url, headers=nested.headers("ann"))
        assert response.status_code == 404, (url, response.text)
    response = caller.post(
        f"/acme/shop/roles/{foreign_roles[0]}/users/bob", headers=nested.headers("ann")
    )
    assert response.status_code == 404
    assert realm.user_roles("acme", "shop", "bob") == ("editor",)
    assert not caller.called


def test_the_same_role_in_two_apps_has_two_uuids(nested: Api) -> None:
    realm = nested.world.realm
    shop = realm.get_role("acme", "shop", "admin").uuid
    vault = realm.get_role("acme", "vault", "admin").uuid
    assert shop != vault


# -- the rules judge the resource, however it is named -----------------------------------------


@pytest.fixture
def vault(api: Api) -> Api:
    """acme/vault (locked roles) with the group ``/staff/managers`` (member victor) and the
    role ``auditor`` given to it."""
    realm = api.world.realm
    realm.create_group("acme", "vault", "/staff/managers")
    realm.add_to_group("acme", "vault", "/staff/managers", "victor")
    realm.create_role("acme", "vault", "auditor")
    realm.assign_role("acme", "vault", "auditor", group="/staff/managers")
    return api


def _victor_gets(api: Api, path: str) -> int:
    caller = api.caller()
    response = caller.get(f"/acme/vault{path}", headers=api.headers("victor"))
    assert not caller.called
    return response.status_code


def test_a_rule_on_the_nested_path(vault: Api) -> None:
    realm = vault.world.realm
    uuid = realm.get_group("acme", "vault", "/staff/managers").uuid
    assert _victor_gets(vault, "/groups/staff/managers/users") == 403
    assert _victor_gets(vault, f"/groups/{uuid}/users") == 403
    realm.grant("acme", "vault", "get:/groups/staff/managers/users", user="victor")
    assert _victor_gets(vault, "/groups/staff/managers/users") == 200
    assert _victor_gets(vault, f"/groups/{uuid}/users") == 200
    assert _victor_gets(vault, "/groups/staff/managers/roles") == 403
    assert _victor_gets(vault, f"/groups/{uuid}/roles") == 403


def test_a_rule_naming_the_uuid(vault: Api) -> None:
    realm = vault.world.realm
    group = realm.get_group("acme", "vault", "/staff/managers").uuid
    role = realm.get_role("acme", "vault", "auditor").uuid
    realm.grant("acme", "vault", f"get:/groups/{group}/**", user="victor")
    realm.grant("acme", "vault", f"get:/roles/{role}", user="victor")
    assert _victor_gets(vault, "/groups/staff/managers/users") == 200
    assert _victor_gets(vault, "/groups/staff%2Fmanagers/roles") == 200
    assert _victor_gets(vault, "/roles/auditor") == 200
    assert _victor_gets(vault, f"/roles/{role}") == 200
    assert _victor_gets(vault, "/roles/admin") == 403
    # A uuid that names nothing here: the path as sent is judged (403 without a rule), then
    # 404 for a caller the rules let ask.
    unknown = "00000000-0000-4000-8000-000000000000"
    assert _victor_gets(vault, f"/roles/{unknown}") == 403
    realm.grant("acme", "vault", "get:/roles/*", user="victor")
    assert _victor_gets(vault, f"/roles/{unknown}") == 404


def test_an_explicit_write_by_uuid_needs_the_exact_path(vault: Api) -> None:
    realm = vault.world.realm
    role = realm.get_role("acme", "vault", "auditor").uuid
    caller = vault.caller()
    realm.grant("acme", "vault", "post:/roles/*/users/victor", user="victor")
    response = caller.post(
        f"/acme/vault/roles/{role}/users/victor", headers=vault.headers("victor")
    )
    assert response.status_code == 403
    realm.grant("acme", "vault", "post:/roles/auditor/users/victor", user="victor")
    response = caller.post(
        f"/acme/vault/roles/{role}/users/victor", headers=vault.headers("victor")
    )
    assert response.status_code == 200, response.text
    assert realm.user_roles("acme", "vault", "victor") == ("auditor",)
    assert not caller.called


def test_a_store_failing_while_a_uuid_is_looked_up_is_503(
    nested: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan that finds a role or group by uuid fails: 503, never a refusal or an allow."""
    realm = nested.world.realm
    role = realm.get_role("acme", "shop", "editor").uuid
    group = _uuid_of_group(nested, "/staff/managers")

    def failing_scan(prefix: str) -> Flow[list[tuple[str, bytes]]]:
        raise StoreError(f"the store is down while scanning {prefix}")
        yield  # a flow, as the one it stands for

    monkeypatch.setattr(grants, "scan", failing_scan)
    caller = nested.caller()
    for path in (f"/roles/{role}", f"/groups/{group}/users", f"/roles/editor/groups/{group}"):
        response = caller.get(f"/acme/shop{path}", headers=nested.headers("ann"))
        assert response.status_code == 503, (path, response.text)
    assert not caller.called
