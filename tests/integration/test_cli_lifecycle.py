"""The admin lifecycle from the command line: delete-org, delete-app, delete-admin, set-email,
set-admin-email and list-users with --limit, --cursor, --prefix and --state, in words and
with --json; the tokens of what is deleted stop working at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from baas_auth.errors import RevokedTokenError
from tests.integration.cli_runner import Cli

PASSWORD = "wonderland"


@pytest.fixture
def shop(tmp_path: Path) -> Cli:
    cli = Cli(tmp_path)
    cli.ok("create-org", "acme")
    cli.ok("create-app", "acme", "shop")
    for name in ("alice", "bob", "carl"):
        cli.ok("create-user", "acme", "shop", name, "--email", f"{name}@example.com",
               "--password-stdin", stdin=PASSWORD + "\n")
    cli.ok("create-admin", "ann", "--org", "acme", "--password-stdin", stdin=PASSWORD + "\n")
    return cli


def test_list_users_pages_and_filters(shop: Cli) -> None:
    first = shop.json("list-users", "acme", "shop", "--limit", "2")
    assert [user["username"] for user in first["users"]] == ["alice", "bob"]
    second = shop.json("list-users", "acme", "shop", "--limit", "2", "--cursor", first["cursor"])
    assert ([user["username"] for user in second["users"]], second["cursor"]) == (["carl"], None)
    words = shop.ok("list-users", "acme", "shop", "--limit", "2")
    assert f"next page: --cursor {first['cursor']}" in words
    assert [u["username"] for u in shop.json("list-users", "acme", "shop", "--prefix", "B")] == [
        "bob"]
    shop.ok("disable-user", "acme", "shop", "carl")
    disabled = shop.json("list-users", "acme", "shop", "--state", "disabled")
    assert [user["username"] for user in disabled] == ["carl"]
    assert "limit" in shop.fails("list-users", "acme", "shop", "--limit", "0")


def test_set_email_and_set_admin_email(shop: Cli) -> None:
    realm = shop.open()
    token = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    changed = shop.json("set-email", "acme", "shop", "alice", "Alice@New.example")
    assert changed["email"] == "Alice@New.example"
    assert realm.authenticate_token(token).username == "alice"
    assert "already in use" in shop.fails("set-email", "acme", "shop", "alice", "bob@example.com")
    assert "email none" in shop.ok("set-email", "acme", "shop", "bob", "none")
    assert shop.json("set-admin-email", "ann", "ann@new.example")["email"] == "ann@new.example"
    assert realm.get_admin("ann@new.example").username == "ann"


def test_delete_admin_app_and_org(shop: Cli) -> None:
    realm = shop.open()
    admin_token = realm.admin_token("ann", PASSWORD).access_token
    user_token = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    assert shop.json("delete-admin", "ann")["deleted"] == "ann"
    with pytest.raises(RevokedTokenError):
        realm.authenticate_token(admin_token)
    assert "no admin user" in shop.fails("delete-admin", "ann")
    shop.ok("create-app", "acme", "other")
    assert "deleted application acme/shop" in shop.ok("delete-app", "acme", "shop")
    with pytest.raises(RevokedTokenError):
        realm.authenticate_token(user_token)
    assert [app["name"] for app in shop.json("list-apps", "acme")] == ["other", "sandbox"]
    gone = shop.json("delete-org", "acme")
    assert gone["deleted"] == "acme"
    assert gone["records"] > 0
    assert shop.json("list-orgs") == []
    assert "no organization" in shop.fails("delete-org", "acme")
