"""The admin lifecycle on every store: deleting an org, an app and an admin user (their tokens
refused at once), changing emails (claims moved, conflicts refused, tokens kept), and a page of
an app's users (limit, cursor, prefix and state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from baas_auth import Realm
from baas_auth.errors import (
    ConfigError,
    ConflictError,
    InvalidGrantError,
    NotFoundError,
    RevokedTokenError,
)
from baas_auth.stores.memory import MemoryStore
from baas_auth.stores.sqlite import SQLiteStore
from tests.conftest import FAST_HASHER


def _populated(realm: Realm) -> dict[str, str]:
    """acme (apps shop and other) and beta, each with users, roles, groups, credentials; an
    admin of acme and beta; a token of each kind."""
    realm.create_org("acme")
    realm.create_org("beta")
    realm.create_app("acme", "shop")
    realm.create_app("beta", "shop")
    realm.create_user("acme", "shop", "alice", password="wonderland", email="a@example.com")
    realm.create_user("beta", "shop", "alice", password="wonderland")
    realm.create_role("acme", "shop", "editor")
    realm.create_group("acme", "shop", "/staff")
    realm.add_to_group("acme", "shop", "/staff", "alice")
    realm.assign_role("acme", "shop", "editor", user="alice")
    org_creds = realm.create_credentials("acme")
    app_creds = realm.create_credentials("acme", "shop")
    realm.create_admin("root", password="administer", orgs=["acme", "beta"], email="r@x.io")
    return {
        "user": realm.password_token("acme", "shop", "alice", "wonderland").access_token,
        "beta_user": realm.password_token("beta", "shop", "alice", "wonderland").access_token,
        "org_client": realm.client_token(org_creds.client_id, org_creds.client_secret)
        .access_token,
        "app_client": realm.client_token(app_creds.client_id, app_creds.client_secret)
        .access_token,
        "admin": realm.admin_token("root", "administer").access_token,
    }


def test_delete_org_removes_everything_in_it_and_its_tokens(realm: Realm) -> None:
    tokens = _populated(realm)
    for token in tokens.values():  # seen once: remembered in this generation's view
        realm.authenticate_token(token)
    assert realm.delete_org("ACME") > 5
    for kind in ("user", "org_client", "app_client"):
        with pytest.raises(RevokedTokenError):
            realm.authenticate_token(tokens[kind])
    assert realm.authenticate_token(tokens["beta_user"]).username == "alice"
    assert realm.get_admin("root").orgs == ("beta",)
    assert realm.authenticate_token(tokens["admin"]).orgs == frozenset({"beta"})
    assert [org.name for org in realm.list_orgs()] == ["beta"]
    assert realm.list_credentials("beta") == []
    with pytest.raises(NotFoundError):
        realm.get_org("acme")
    # the names are free again, and nothing of the old org comes back with them
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    assert realm.list_users("acme", "shop") == []
    assert [role.name for role in realm.list_roles("acme", "shop")] == [
        "admin",
        "default",
        "guest",
    ]
    assert realm.list_groups("acme", "shop") == []


def test_delete_app_leaves_the_org_and_its_other_apps(realm: Realm) -> None:
    tokens = _populated(realm)
    realm.create_app("acme", "other")
    realm.create_user("acme", "other", "bob", password="builder1")
    realm.delete_app("acme", "shop")
    for kind in ("user", "app_client"):
        with pytest.raises(RevokedTokenError):
            realm.authenticate_token(tokens[kind])
    assert realm.authenticate_token(tokens["org_client"]).org == "acme"
    assert [app.name for app in realm.list_apps("acme")] == ["other", "sandbox"]
    assert [user.username for user in realm.list_users("acme", "other")] == ["bob"]
    with pytest.raises(NotFoundError):
        realm.get_app("acme", "shop")
    with pytest.raises(NotFoundError):
        realm.delete_app("acme", "shop")


def test_delete_admin_revokes_its_tokens_and_frees_its_names(realm: Realm) -> None:
    tokens = _populated(realm)
    realm.authenticate_token(tokens["admin"])
    realm.delete_admin("r@x.io")
    with pytest.raises(RevokedTokenError):
        realm.authenticate_token(tokens["admin"])
    with pytest.raises(InvalidGrantError):
        realm.admin_token("root", "administer")
    assert realm.list_admins() == []
    realm.create_admin("root2", password="administer", email="ROOT@example.com")
    realm.create_admin("root", password="administer", email="r@x.io")


def test_set_user_email_moves_the_claims_and_keeps_tokens(realm: Realm) -> None:
    tokens = _populated(realm)
    realm.create_user("acme", "shop", "bob", password="builder1", email="b@example.com")
    user = realm.set_user_email("acme", "shop", "alice", "Alice@New.example")
    assert user.email == "Alice@New.example"
    assert realm.get_user("acme", "shop", "alice@new.example").username == "alice"
    with pytest.raises(NotFoundError):
        realm.get_user("acme", "shop", "a@example.com")
    assert realm.authenticate_token(tokens["user"]).username == "alice"
    realm.create_user("acme", "shop", "carol", password="builder1", email="a@example.com")
    for taken in ("b@example.com", "A@EXAMPLE.COM"):
        with pytest.raises(ConflictError):
            realm.set_user_email("acme", "shop", "alice", taken)
    assert realm.get_user("acme", "shop", "alice").email == "Alice@New.example"
    assert realm.set_user_email("acme", "shop", "alice", None).email is None
    with pytest.raises(NotFoundError):
        realm.get_user("acme", "shop", "alice@new.example")
    assert realm.password_token("acme", "shop", "alice", "wonderland").principal.username


def test_set_admin_email_moves_the_claims(realm: Realm) -> None:
    tokens = _populated(realm)
    realm.create_admin("other", password="administer", email="o@x.io")
    assert realm.set_admin_email("root", "new@x.io").email == "new@x.io"
    assert realm.admin_token("new@x.io", "administer").principal.username == "root"
    with pytest.raises(InvalidGrantError):
        realm.admin_token("r@x.io", "administer")
    with pytest.raises(ConflictError):
        realm.set_admin_email("root", "O@X.IO")
    assert realm.authenticate_token(tokens["admin"]).username == "root"


def test_list_users_pages_with_limit_and_cursor(realm: Realm) -> None:
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    names = [f"user{n:02d}" for n in range(7)]
    for name in reversed(names):
        realm.create_user("acme", "shop", name, password="wonderland")
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):  # bounded: 7 users, 3 a page
        page, cursor = realm.list_users_page("acme", "shop", limit=3, cursor=cursor)
        seen += [user.username for user in page]
        if cursor is None:
            break
    assert seen == names
    everyone, last = realm.list_users_page("acme", "shop")
    assert len(everyone) == 7
    assert last is None
    with pytest.raises(ConfigError):
        realm.list_users_page("acme", "shop", limit=0)
    with pytest.raises(ConfigError):
        realm.list_users_page("acme", "shop", cursor="not a cursor!")


def test_list_users_filters_by_prefix_and_state(realm: Realm) -> None:
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    realm.create_user("acme", "shop", "alice", email="zed@example.com")
    realm.create_user("acme", "shop", "albert", activated=False)
    realm.create_user("acme", "shop", "bob")
    realm.update_user("acme", "shop", "bob", disabled=True)

    def names(**filters: str) -> list[str]:
        return [user.username for user in realm.list_users("acme", "shop", **filters)]  # type: ignore[arg-type]

    assert names(prefix="AL") == ["albert", "alice"]
    assert names(prefix="zed") == ["alice"]
    assert names(state="active") == ["alice"]
    assert names(state="unactivated") == ["albert"]
    assert names(state="disabled") == ["bob"]
    assert names(prefix="al", state="active") == ["alice"]
    with pytest.raises(ConfigError):
        names(state="asleep")


def test_a_delete_is_seen_at_once_by_another_realm_on_the_store(tmp_path: Path) -> None:
    one = Realm(SQLiteStore(tmp_path / "auth.db"), create=True, password_hasher=FAST_HASHER)
    tokens = _populated(one)
    other = Realm(SQLiteStore(tmp_path / "auth.db"), password_hasher=FAST_HASHER)
    assert other.authenticate_token(tokens["admin"]).username == "root"
    assert other.authenticate_token(tokens["user"]).username == "alice"
    one.delete_admin("root")
    one.delete_org("acme")
    with pytest.raises(RevokedTokenError):
        other.authenticate_token(tokens["admin"])
    with pytest.raises(RevokedTokenError):
        other.authenticate_token(tokens["user"])
    one.close()
    other.close()


def test_deleting_an_org_of_many_records(realm: Realm) -> None:
    realm.create_org("acme")
    for app in ("shop", "vault"):
        realm.create_app("acme", app)
        for n in range(40):
            realm.create_user("acme", app, f"user{n}", email=f"user{n}@example.com")
    tokens = [realm.issue_user_token("acme", "shop", f"user{n}").access_token for n in range(3)]
    assert realm.delete_org("acme") > 160
    for token in tokens:
        with pytest.raises(RevokedTokenError):
            realm.authenticate_token(token)
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    assert realm.list_users("acme", "shop") == []
    with pytest.raises(NotFoundError):
        realm.get_user("acme", "shop", "user1@example.com")


class _CountingStore(MemoryStore):
    """A memory store that counts its directory writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def put(self, key: str, value: bytes) -> None:
        self.writes.append("put")
        super().put(key, value)

    def delete(self, key: str) -> bool:
        self.writes.append("delete")
        return super().delete(key)

    def transact(self, **changes: Any) -> bool:
        self.writes.append("transact")
        return super().transact(**changes)


def test_a_delete_is_one_directory_write() -> None:
    """Every record goes in one ``transact`` (the generation moves once for the lot): no
    process ever sees half an org, an app without its roles or users without their app."""
    store = _CountingStore()
    realm = Realm(store, password_hasher=FAST_HASHER)
    _populated(realm)
    realm.create_app("acme", "other")
    for delete in (
        lambda: realm.delete_admin("root"),
        lambda: realm.delete_app("acme", "other"),
        lambda: realm.delete_org("acme"),
    ):
        store.writes.clear()
        delete()
        assert store.writes == ["transact"]
