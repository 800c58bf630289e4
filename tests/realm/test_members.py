"""Who holds what, read the other way round: ``role_users``, ``role_groups`` and
``group_users``, on every store kind (the ``realm`` fixture)."""

from __future__ import annotations

import pytest

from baas_auth import Group, Realm
from baas_auth.errors import NotFoundError


@pytest.fixture
def held(shop: Realm) -> Realm:
    shop.create_user("acme", "shop", "Bob", password="builder-pw")
    shop.create_user("acme", "shop", "carol", password="builder-pw")
    shop.create_role("acme", "shop", "editor")
    shop.assign_role("acme", "shop", "editor", user="carol")
    shop.assign_role("acme", "shop", "editor", user="bob")
    shop.create_group("acme", "shop", "/Staff")
    shop.create_group("acme", "shop", "/ops")
    shop.assign_role("acme", "shop", "editor", group="/staff")
    shop.add_to_group("acme", "shop", "/staff", "alice")
    shop.add_to_group("acme", "shop", "/staff", "carol")
    # a user of another app with the same names holds nothing here
    shop.create_app("acme", "shopping")
    shop.create_role("acme", "shopping", "editor")
    shop.create_user("acme", "shopping", "zed")
    shop.assign_role("acme", "shopping", "editor", user="zed")
    return shop


def test_role_users_by_username(held: Realm) -> None:
    users = held.role_users("acme", "shop", "EDITOR")
    assert [user.username for user in users] == ["Bob", "carol"]  # not alice: through a group
    assert held.role_users("acme", "shop", "default") == []


def test_role_groups(held: Realm) -> None:
    assert held.role_groups("acme", "shop", "editor") == [Group("/Staff", (), ("editor",))]
    assert held.role_groups("acme", "shop", "guest") == []


def test_group_users(held: Realm) -> None:
    assert [user.username for user in held.group_users("acme", "shop", "/STAFF")] == [
        "alice",
        "carol",
    ]
    assert held.group_users("acme", "shop", "/ops") == []


def test_what_was_taken_back_is_gone(held: Realm) -> None:
    held.unassign_role("acme", "shop", "editor", user="bob")
    held.remove_from_group("acme", "shop", "/staff", "alice")
    held.unassign_role("acme", "shop", "editor", group="/staff")
    assert [user.username for user in held.role_users("acme", "shop", "editor")] == ["carol"]
    assert [user.username for user in held.group_users("acme", "shop", "/staff")] == ["carol"]
    assert held.role_groups("acme", "shop", "editor") == []


@pytest.mark.parametrize(
    ("method", "name"),
    [("role_users", "nope"), ("role_groups", "nope"), ("group_users", "/nope")],
)
def test_unknown_is_not_found(held: Realm, method: str, name: str) -> None:
    with pytest.raises(NotFoundError):
        getattr(held, method)("acme", "shop", name)
