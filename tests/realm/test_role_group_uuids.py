"""Role and group uuids in the Python reads, on every store (the ``realm`` fixture): each value
carries its uuid, stored with it, the same at every read and in every realm over the store; an
imported one keeps the original's; records written before uuids were kept get one on read; a
role or group is named by its uuid as by its name, in its own app only."""

from __future__ import annotations

import json

import pytest

from baas_auth import Realm
from baas_auth.errors import NotFoundError
from tests.conftest import FakeClock, make_realm_store
from tests.usergrid_export import export_document, fixed_uuid

UUID_LENGTH = 36


def test_every_read_carries_the_uuid(shop: Realm) -> None:
    made = shop.create_role("acme", "shop", "editor")
    group = shop.create_group("acme", "shop", "/staff/managers")
    shop.assign_role("acme", "shop", "editor", group="/staff/managers")
    role = shop.get_role("acme", "shop", "editor")
    assert len(made.uuid) == UUID_LENGTH
    assert made.uuid == role.uuid
    assert {r.name: r.uuid for r in shop.list_roles("acme", "shop")}["editor"] == role.uuid
    assert len(group.uuid) == UUID_LENGTH
    assert shop.get_group("acme", "shop", "/Staff/Managers").uuid == group.uuid
    assert [g.uuid for g in shop.list_groups("acme", "shop")] == [group.uuid]
    assert [g.uuid for g in shop.role_groups("acme", "shop", "editor")] == [group.uuid]
    uuids = [r.uuid for r in shop.list_roles("acme", "shop")]
    assert len(set(uuids)) == len(uuids)


def test_the_uuid_is_stored_and_a_new_role_of_the_same_name_has_another(shop: Realm) -> None:
    role = shop.create_role("acme", "shop", "editor")
    group = shop.create_group("acme", "shop", "/staff")
    admin = shop.get_role("acme", "shop", "admin")
    for key, uuid in (
        ("role:acme/shop:editor", role.uuid),
        ("group:acme/shop:/staff", group.uuid),
        ("role:acme/shop:admin", admin.uuid),
    ):
        raw = shop.store.get(key)
        assert raw is not None
        assert json.loads(raw)["uuid"] == uuid
    shop.delete_role("acme", "shop", "editor")
    shop.delete_group("acme", "shop", "/staff")
    assert shop.create_role("acme", "shop", "editor").uuid != role.uuid
    assert shop.create_group("acme", "shop", "/staff").uuid != group.uuid
    with pytest.raises(NotFoundError):
        shop.get_role("acme", "shop", role.uuid)


def test_the_same_name_in_two_apps_has_two_uuids(shop: Realm) -> None:
    shop.create_app("acme", "blog")
    assert (
        shop.get_role("acme", "shop", "admin").uuid != shop.get_role("acme", "blog", "admin").uuid
    )
    one, other = (shop.create_group("acme", app, "/staff") for app in ("shop", "blog"))
    assert one.uuid != other.uuid


def test_named_by_uuid(shop: Realm) -> None:
    role = shop.create_role("acme", "shop", "editor")
    group = shop.create_group("acme", "shop", "/staff/managers")
    assert shop.get_role("acme", "shop", role.uuid).name == "editor"
    assert shop.get_role("acme", "shop", role.uuid.upper()).name == "editor"
    assert shop.get_group("acme", "shop", group.uuid).path == "/staff/managers"
    assert shop.get_group("acme", "shop", "/" + group.uuid).path == "/staff/managers"
    shop.grant("acme", "shop", "get:/books/**", role=role.uuid)
    shop.grant("acme", "shop", "get:/staff/**", group=group.uuid)
    shop.assign_role("acme", "shop", role.uuid, group=group.uuid)
    shop.add_to_group("acme", "shop", group.uuid, "alice")
    assert shop.get_role("acme", "shop", "editor").rules == ("get:/books/**",)
    assert shop.get_group("acme", "shop", "/staff/managers").roles == ("editor",)
    assert shop.user_groups("acme", "shop", "alice") == ("/staff/managers",)
    assert shop.remove_from_group("acme", "shop", group.uuid, "alice") is True
    assert shop.unassign_role("acme", "shop", role.uuid, group=group.uuid) is True
    shop.delete_role("acme", "shop", role.uuid)
    shop.delete_group("acme", "shop", group.uuid)
    assert [r.name for r in shop.list_roles("acme", "shop")] == ["admin", "default", "guest"]
    assert shop.list_groups("acme", "shop") == []


def test_a_uuid_of_another_app_names_nothing(shop: Realm) -> None:
    shop.create_app("acme", "blog")
    shop.create_org("globex")
    shop.create_app("globex", "shop")
    foreign_role = shop.create_role("acme", "blog", "editor").uuid
    foreign_admin = shop.get_role("globex", "shop", "admin").uuid
    foreign_group = shop.create_group("acme", "blog", "/staff").uuid
    for uuid in (foreign_role, foreign_admin):
        with pytest.raises(NotFoundError):
            shop.get_role("acme", "shop", uuid)
        with pytest.raises(NotFoundError):
            shop.assign_role("acme", "shop", uuid, user="alice")
    with pytest.raises(NotFoundError):
        shop.get_group("acme", "shop", foreign_group)
    with pytest.raises(NotFoundError):
        shop.add_to_group("acme", "shop", foreign_group, "alice")


def test_an_import_keeps_the_originals_uuids(realm: Realm) -> None:
    realm.import_identities(export_document())
    assert realm.get_role("acme", "shop", "editor").uuid == fixed_uuid("role:editor")
    assert realm.get_group("acme", "shop", "/staff").uuid == fixed_uuid("group:staff")
    assert realm.get_role("acme", "shop", fixed_uuid("role:editor")).name == "editor"
    assert realm.get_group("acme", "shop", fixed_uuid("group:staff")).path == "/staff"
    auditor = realm.get_role("acme", "shop", "auditor")  # the document gave it none
    assert len(auditor.uuid) == UUID_LENGTH
    assert realm.get_role("acme", "shop", auditor.uuid).name == "auditor"
    again = realm.import_identities(export_document())  # its own uuid is not the document's
    assert again.skipped == ()
    assert realm.get_role("acme", "shop", "auditor").uuid == auditor.uuid


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
def test_records_written_before_uuids_get_one_on_read(
    kind: str, request: pytest.FixtureRequest, clock: FakeClock
) -> None:
    """A role or group record of an earlier version (no ``uuid`` field): read with a uuid, the
    same in a second realm over the store, and named by it; nothing rewritten."""
    store = make_realm_store(kind, None, request)
    first = Realm(store, clock=clock)
    first.create_org("acme")
    first.create_app("acme", "shop")
    old_role = json.dumps({"name": "legacy", "inactivity_ms": 0, "rules": ["get:/old"]})
    old_group = json.dumps({"path": "/old/timers", "rules": [], "roles": ["legacy"]})
    store.put("role:acme/shop:legacy", old_role.encode())
    store.put("group:acme/shop:/old/timers", old_group.encode())
    role = first.get_role("acme", "shop", "legacy")
    group = first.get_group("acme", "shop", "/old/timers")
    second = Realm(store, clock=clock)
    assert second.get_role("acme", "shop", "legacy").uuid == role.uuid
    assert second.get_group("acme", "shop", "/old/timers").uuid == group.uuid
    assert second.get_role("acme", "shop", role.uuid).rules == ("get:/old",)
    assert second.get_group("acme", "shop", group.uuid).roles == ("legacy",)
    assert store.get("role:acme/shop:legacy") == old_role.encode()
    first.close()
    second.close()
