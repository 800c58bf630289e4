"""Every administrative command of ``baas-auth``, run as the console script runs it (in-process,
and as the real script in a subprocess where a process matters: see ``cli_runner``) on a SQLite
realm file: what it prints for people and with ``--json``, what it changes (read back
in-process), and its exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from baas_auth import __version__
from baas_auth.errors import InvalidClientError, InvalidGrantError, InvalidTokenError
from tests.integration.cli_runner import Cli
from tests.integration.conftest import server_env

PASSWORD = "wonderland"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def _shop(cli: Cli) -> Cli:
    cli.ok("create-org", "acme")
    cli.ok("create-app", "acme", "shop")
    cli.ok("create-user", "acme", "shop", "alice", "--email", "alice@example.com",
           "--password-stdin", stdin=PASSWORD + "\n")
    return cli


@pytest.fixture
def shop(cli: Cli) -> Cli:
    return _shop(cli)


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """One shop for the tests of failures, which change nothing."""
    return _shop(Cli(tmp_path_factory.mktemp("failing")))


def test_orgs_and_apps(cli: Cli) -> None:
    out = cli.ok("create-org", "Acme")
    assert out.startswith("created organization acme (")
    assert "acme/sandbox" in out
    assert "exists" in cli.fails("create-org", "acme")
    again = cli.json("create-org", "acme", "--exist-ok")
    assert again["name"] == "acme"
    assert again["created"] is False
    assert cli.json("create-org", "globex")["created"] is True
    assert [org["name"] for org in cli.json("list-orgs")] == ["acme", "globex"]
    table = cli.ok("list-orgs").splitlines()
    assert table[0].split() == ["NAME", "UUID"]
    assert table[1].startswith("acme ")

    app = cli.json("create-app", "acme", "shop", "--roles", "usergrid", "--ttl-ms", "60000")
    assert (app["org"], app["name"], app["access_token_ttl_ms"], app["created"]) == (
        "acme", "shop", 60000, True)
    assert "created application acme/vault" in cli.ok("create-app", "acme", "vault", "--locked")
    assert cli.json("create-app", "acme", "vault", "--exist-ok")["created"] is False
    assert [a["name"] for a in cli.json("list-apps", "acme")] == ["sandbox", "shop", "vault"]
    shown = cli.json("show-app", "acme", "shop")
    assert shown["roles"] == ["admin", "default", "guest"]
    assert (shown["groups"], shown["users"], shown["credentials"]) == ([], 0, [])
    org = cli.json("show-org", "acme")
    assert (org["apps"], org["admins"]) == (["sandbox", "shop", "vault"], [])
    assert "apps    sandbox" in cli.ok("show-org", "acme")

    assert "0 ms" in cli.ok("ttl", "acme", "shop", "0")
    assert cli.json("set-ttl", "acme", "shop", "none")["access_token_ttl_ms"] is None
    assert "removed" in cli.ok("ttl", "acme", "shop", "none")
    realm = cli.open()
    assert realm.get_app("acme", "shop").access_token_ttl_ms is None
    assert realm.get_role("acme", "shop", "default").rules == ("get,put,post,delete:/**",)
    assert realm.get_role("acme", "vault", "default").rules == ()
    realm.close()


def test_credentials(shop: Cli) -> None:
    done = shop("create-credentials", "acme", "shop")
    assert done.status == 0
    assert "never shown again" in done.err
    fields = dict(line.split(maxsplit=1) for line in done.out.splitlines())
    assert fields["org"] == "acme"
    assert fields["app"] == "shop"
    creds = shop.json("create-credentials", "acme", "shop")
    org_creds = shop.json("create-credentials", "acme")
    assert org_creds["app"] is None
    assert creds["client_secret"].startswith("YXA6")

    listed = shop.json("list-credentials", "acme")
    assert next(c["client_id"] for c in listed) == org_creds["client_id"]
    assert {c["client_id"] for c in listed} == {
        org_creds["client_id"], creds["client_id"], fields["client_id"]}
    assert all(set(c) == {"client_id", "org", "app"} for c in listed)
    assert len(shop.json("list-credentials", "acme", "shop")) == 2
    assert creds["client_secret"] not in shop.ok("list-credentials", "acme")

    token = shop.ok("client-token", creds["client_id"], "--secret-stdin",
                    stdin=creds["client_secret"] + "\n").strip()
    kept = shop.json("regenerate-credentials", creds["client_id"], "--keep-tokens")
    realm = shop.open()
    assert realm.authenticate_token(token).kind == "app_client"
    fresh = shop.json("regenerate-credentials", creds["client_id"])
    with pytest.raises(InvalidTokenError):
        realm.authenticate_token(token)
    with pytest.raises(InvalidClientError):
        realm.client_token(creds["client_id"], kept["client_secret"])
    assert realm.client_token(creds["client_id"], fresh["client_secret"]).principal.app == "shop"
    realm.close()

    assert shop.json("delete-credentials", creds["client_id"]) == {"deleted": creds["client_id"]}
    assert "no such client_id" in shop.fails("delete-credentials", creds["client_id"])
    assert len(shop.json("list-credentials", "acme", "shop")) == 1
    assert shop.ok("list-credentials", "acme", "sandbox").strip() == (
        "no credentials in acme/sandbox")


def test_users(shop: Cli) -> None:
    shop.ok("create-user", "acme", "shop", "bob", "--no-password", "--not-activated")
    assert shop.json("create-user", "acme", "shop", "bob", "--no-password", "--exist-ok")[
        "created"] is False
    assert "already in use" in shop.fails(
        "create-user", "acme", "shop", "carol", "--email", "ALICE@example.com", "--no-password",
        "--exist-ok")
    users = shop.json("list-users", "acme", "shop")
    assert [(u["username"], u["activated"]) for u in users] == [("alice", True), ("bob", False)]
    assert shop.ok("list-users", "acme", "shop").splitlines()[0].split() == [
        "USERNAME", "EMAIL", "ACTIVATED", "DISABLED", "UUID"]

    shown = shop.json("show-user", "acme", "shop", "alice@example.com")
    assert shown["username"] == "alice"
    assert shown["effective_rules"] == ["get:/users/me"]
    assert (shown["roles"], shown["groups"], shown["rules"], shown["lapsing_roles"]) == (
        [], [], [], {})

    assert shop.json("activate-user", "acme", "shop", "bob")["activated"] is True
    assert "not activated" in shop.ok("deactivate-user", "acme", "shop", "bob")
    assert shop.json("disable-user", "acme", "shop", "alice")["disabled"] is True
    realm = shop.open()
    with pytest.raises(InvalidGrantError):
        realm.password_token("acme", "shop", "alice", PASSWORD)
    assert "enabled, activated" in shop.ok("enable-user", "acme", "shop", "alice")

    shop.ok("set-password", "acme", "shop", "alice", "--password-stdin", stdin="new-secret-9\n")
    assert realm.password_token("acme", "shop", "alice", "new-secret-9").principal.username
    token = shop.ok("token", "acme", "shop", "alice", "--password-stdin", stdin="new-secret-9\n")
    assert realm.authenticate_token(token.strip()).username == "alice"
    grant = shop.json("token", "acme", "shop", "alice", "--ttl-ms", "60000", "--password-stdin",
                      stdin="new-secret-9\n")
    assert (grant["token_type"], grant["expires_in"]) == ("Bearer", 60)
    # Two tokens from the command line, one from the in-process password grant above.
    assert shop.json("revoke-user-tokens", "acme", "shop", "alice") == {"revoked": 3}

    assert "deleted user bob" in shop.ok("delete-user", "acme", "shop", "bob")
    assert "no user 'bob'" in shop.fails("delete-user", "acme", "shop", "bob")
    assert [u.username for u in realm.list_users("acme", "shop")] == ["alice"]
    realm.close()


def test_admins(shop: Cli) -> None:
    created = shop.json("create-admin", "ann", "--org", "acme", "--email", "ann@example.com",
                        "--password-stdin", stdin="pw-ann-secret\n")
    assert (created["orgs"], created["disabled"], created["created"]) == (["acme"], False, True)
    shop.ok("create-org", "globex")
    out = shop.ok("create-admin", "zed", "--no-password")
    assert "admin of no organization" in out
    assert [a["username"] for a in shop.json("list-admins")] == ["ann", "zed"]
    assert "ann@example.com" in shop.ok("list-admins")
    assert shop.json("show-admin", "ann@example.com")["username"] == "ann"
    assert "acme, globex" in shop.ok("add-admin-to-org", "ann", "globex")
    assert shop.json("show-org", "globex")["admins"] == ["ann"]

    shop.ok("set-admin-password", "ann", "--password-stdin", stdin="pw-ann-other\n")
    token = shop.ok("admin-token", "ann", "--password-stdin", stdin="pw-ann-other\n").strip()
    realm = shop.open()
    assert realm.authenticate_token(token).orgs == frozenset({"acme", "globex"})
    assert shop.json("disable-admin", "ann")["disabled"] is True
    with pytest.raises(InvalidTokenError):
        realm.authenticate_token(token)
    assert "enabled" in shop.ok("enable-admin", "ann")
    realm.admin_token("ann", "pw-ann-other")
    assert shop.json("revoke-admin-tokens", "ann") == {"revoked": 1}
    realm.close()


def test_roles_groups_and_rules(shop: Cli) -> None:
    role = shop.json("create-role", "acme", "shop", "editor", "--inactivity-ms", "60000")
    assert (role["name"], role["inactivity_ms"], role["rules"]) == ("editor", 60000, [])
    assert "exists" in shop.ok("create-role", "acme", "shop", "editor", "--exist-ok")
    granted = shop.json("grant", "acme", "shop", "GET,PUT:/books/**", "--role", "editor")
    assert granted == {"rule": "get,put:/books/**", "org": "acme", "app": "shop",
                       "role": "editor"}
    assert shop.json("show-role", "acme", "shop", "editor")["rules"] == ["get,put:/books/**"]
    assert "editor   60000" in shop.ok("list-roles", "acme", "shop")
    shop.ok("assign-role", "acme", "shop", "editor", "--user", "alice")
    shop.ok("grant", "acme", "shop", "delete:/mine", "--user", "alice")

    assert shop.json("create-group", "acme", "shop", "/Staff")["path"] == "/Staff"
    assert shop.json("create-group", "acme", "shop", "/staff", "--exist-ok")["created"] is False
    shop.ok("grant", "acme", "shop", "post:/notes", "--group", "/staff")
    shop.ok("create-role", "acme", "shop", "auditor")
    shop.ok("assign-role", "acme", "shop", "auditor", "--group", "/staff")
    assert "added alice to /staff" in shop.ok("add-to-group", "acme", "shop", "/staff", "alice")
    staff_uuid = shop.json("show-group", "acme", "shop", "/staff")["uuid"]
    assert shop.json("list-groups", "acme", "shop") == [
        {"path": "/Staff", "rules": ["post:/notes"], "roles": ["auditor"], "uuid": staff_uuid}]
    group = shop.json("show-group", "acme", "shop", "/staff")
    assert group["members"] == ["alice"]

    shown = shop.json("show-user", "acme", "shop", "alice")
    assert (shown["roles"], shown["groups"], shown["rules"]) == (
        ["editor"], ["/Staff"], ["delete:/mine"])
    assert shown["effective_rules"] == [
        "get:/users/me", "delete:/mine", "post:/notes", "get,put:/books/**"]
    assert shown["lapsing_roles"] == {"editor": 60000}
    assert "editor (after 60000 ms idle)" in shop.ok("show-user", "acme", "shop", "alice")

    realm = shop.open()
    alice = realm.authenticate_token(realm.password_token(
        "acme", "shop", "alice", PASSWORD).access_token)
    assert realm.permits(alice, "PUT", "/books/1", org="acme", app="shop")
    assert realm.permits(alice, "POST", "/notes", org="acme", app="shop")

    unassign = ("unassign-role", "acme", "shop", "editor", "--user", "alice")
    assert shop.json(*unassign)["changed"] is True
    assert "did not have role editor" in shop.ok(*unassign)
    revoke = ("revoke-grant", "acme", "shop", "post:/notes", "--group", "/staff")
    assert "revoked post:/notes" in shop.ok(*revoke)
    assert shop.json(*revoke)["changed"] is False
    leave = ("remove-from-group", "acme", "shop", "/staff", "alice")
    assert "took alice out of /staff" in shop.ok(*leave)
    assert shop.json(*leave)["changed"] is False
    assert not realm.permits(alice, "PUT", "/books/1", org="acme", app="shop")
    assert not realm.permits(alice, "POST", "/notes", org="acme", app="shop")

    assert shop.json("delete-group", "acme", "shop", "/staff")["deleted"] == "/staff"
    assert "no group" in shop.fails("show-group", "acme", "shop", "/staff")
    assert "deleted role editor" in shop.ok("delete-role", "acme", "shop", "editor")
    assert "no role 'editor'" in shop.fails("show-role", "acme", "shop", "editor")
    assert shop.ok("list-groups", "acme", "shop").strip() == "no groups in acme/shop"
    realm.close()


def test_roles_and_groups_show_their_uuids_and_are_named_by_them(shop: Cli) -> None:
    made = shop.json("create-role", "acme", "shop", "editor")
    shown = shop.json("show-role", "acme", "shop", "editor")
    realm = shop.open()
    editor = realm.get_role("acme", "shop", "editor")
    assert made["uuid"] == shown["uuid"] == editor.uuid != ""
    assert shop.json("show-role", "acme", "shop", editor.uuid)["name"] == "editor"
    assert f"uuid           {editor.uuid}" in shop.ok("show-role", "acme", "shop", "editor")
    roles = {role["name"]: role["uuid"] for role in shop.json("list-roles", "acme", "shop")}
    assert roles == {role.name: role.uuid for role in realm.list_roles("acme", "shop")}
    table = shop.ok("list-roles", "acme", "shop").splitlines()
    assert table[0].split() == ["NAME", "INACTIVITY_MS", "RULES", "UUID"]
    assert any(line.startswith("editor ") and editor.uuid in line for line in table)

    group = shop.json("create-group", "acme", "shop", "/staff/managers")
    managers = realm.get_group("acme", "shop", "/staff/managers")
    assert group["uuid"] == managers.uuid != ""
    shop.ok("add-to-group", "acme", "shop", managers.uuid, "alice")
    by_uuid = shop.json("show-group", "acme", "shop", managers.uuid)
    assert (by_uuid["path"], by_uuid["uuid"], by_uuid["members"]) == (
        "/staff/managers", managers.uuid, ["alice"])
    assert managers.uuid in shop.ok("show-group", "acme", "shop", "/staff/managers")
    assert [g["uuid"] for g in shop.json("list-groups", "acme", "shop")] == [managers.uuid]
    assert managers.uuid in shop.ok("list-groups", "acme", "shop")
    shop.ok("assign-role", "acme", "shop", editor.uuid, "--group", managers.uuid)
    assert realm.get_group("acme", "shop", "/staff/managers").roles == ("editor",)
    realm.close()


def test_refresh_settings_and_token_info_of_a_refresh_token(shop: Cli) -> None:
    assert shop.json("show-app", "acme", "shop")["refresh_token_ttl_ms"] is None
    done = shop.json("set-refresh-ttl", "acme", "shop", "86400000", "--grace-ms", "5000")
    assert (done["refresh_token_ttl_ms"], done["refresh_grace_ms"]) == (86_400_000, 5000)
    shown = shop.json("show-app", "acme", "shop")
    assert (shown["refresh_token_ttl_ms"], shown["refresh_grace_ms"]) == (86_400_000, 5000)
    assert "a family lives 86400000 ms" in shop.ok("set-refresh-ttl", "acme", "shop", "86400000")
    assert "REFRESH_TOKEN_TTL_MS" in shop.ok("list-apps", "acme")
    grant = shop.json("token", "acme", "shop", "alice", "--password-stdin",
                      stdin=PASSWORD + "\n")
    info = shop.json("token-info", stdin=grant["refresh_token"] + "\n")
    assert (info["active"], info["token_type"], info["username"]) == (
        True, "refresh_token", "alice")
    assert shop.json("show-admin-refresh-ttl") == {
        "refresh_token_ttl_ms": None, "refresh_grace_ms": 0}
    assert "off" in shop.ok("set-admin-refresh-ttl", "none")
    assert shop.json("set-admin-refresh-ttl", "3600000")["refresh_token_ttl_ms"] == 3_600_000
    shop.ok("create-admin", "ann", "--password-stdin", stdin=PASSWORD + "\n")
    admin = shop.json("admin-token", "ann", "--password-stdin", stdin=PASSWORD + "\n")
    info = shop.json("token-info", stdin=admin["refresh_token"] + "\n")
    assert (info["active"], info["baas_auth"]) == (True, {"kind": "admin_user"})
    assert shop.json("token-info", stdin="not-a-token\n") == {"active": False}
    assert "a refresh token was issued" in shop(
        "admin-token", "ann", "--password-stdin", stdin=PASSWORD + "\n").err
    assert "between 0 and 60000" in shop.fails(
        "set-refresh-ttl", "acme", "shop", "1000", "--grace-ms", "60001")
    assert shop.json("set-refresh-ttl", "acme", "shop", "none")["refresh_token_ttl_ms"] is None


def test_a_key_is_retired_only_after_the_longest_refresh_family(shop: Cli) -> None:
    shop.ok("set-refresh-ttl", "acme", "shop", str(30 * 86_400_000))
    first = shop.json("list-keys")[0]["kid"]
    shop.ok("rotate-key")
    older = shop.json("list-keys")[1]
    assert older["kid"] == first
    # a refresh token it signed lives as long as its family: 30 days, not the 7 of a token
    assert older["retire_after_ms"] == older["until_ms"] + 30 * 86_400_000
    shop.ok("set-refresh-ttl", "acme", "shop", "none")
    shop.ok("set-admin-refresh-ttl", str(10 * 86_400_000))
    older = shop.json("list-keys")[1]
    assert older["retire_after_ms"] == older["until_ms"] + 10 * 86_400_000


def test_tokens_and_keys(shop: Cli) -> None:
    token = shop.ok("token", "acme", "shop", "alice", "--ttl-ms", "60000", "--password-stdin",
                    stdin=PASSWORD + "\n").strip()
    info = shop.json("token-info", stdin=token + "\n")  # the introspection answer
    assert (info["active"], info["username"], info["iss"]) == (True, "alice", "acme/shop")
    assert info["exp"] - info["iat"] == 60
    assert info["baas_auth"] == {"kind": "app_user"}
    assert token not in json.dumps(info)
    human = shop.ok("token-info", stdin=token + "\n")
    assert "kind        app_user" in human
    assert "exp         " in human

    keys = shop.json("list-keys")
    assert len(keys) == 1
    assert keys[0]["current"] is True
    first = keys[0]["kid"]
    assert "the current signing key cannot be retired" in shop.fails("retire-key", first)
    second = shop.json("rotate-key")["kid"]
    assert [(k["kid"], k["current"]) for k in shop.json("list-keys")] == [
        (second, True), (first, False)]
    header = shop.ok("list-keys").splitlines()[0].split()
    assert header == ["KID", "CURRENT", "SIGNING_SINCE", "SIGNING_UNTIL", "RETIRE_AFTER"]
    older = shop.json("list-keys")[1]
    assert older["until_ms"] >= older["since_ms"]
    assert older["retire_after_ms"] == older["until_ms"] + 7 * 86_400_000  # the longest lifetime
    shop.ok("set-ttl", "acme", "shop", "0")  # this app's tokens never expire: no safe moment
    assert shop.json("list-keys")[1]["retire_after_ms"] is None
    assert shop.json("retire-key", first) == {"retired": first}
    assert "no signing key" in shop.fails("retire-key", first)
    retired = shop.json("token-info", stdin=token + "\n")  # signed with the retired key
    assert retired == {"active": False}

    token = shop.ok("token", "acme", "shop", "alice", "--password-stdin",
                    stdin=PASSWORD + "\n").strip()
    assert shop.ok("revoke-token", stdin=token + "\n").strip() == "revoked"
    assert shop.json("revoke-token", stdin=token + "\n") == {"revoked": False}
    assert shop.json("purge-expired") == {"purged": 0}
    assert "purged 0 expired" in shop.ok("purge-expired")


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["create-app", "nowhere", "shop"], "", "no organization"),
        (["grant", "acme", "shop", "get:/a/***", "--role", "default"], "", "whole segment"),
        (["grant", "acme", "shop", "get:/a", "--role", "nobody"], "", "no role"),
        (["regenerate-credentials", "YXA6nothing"], "", "client_id"),
        (["revoke-token"], "not-a-token\n", ""),
        (["create-role", "acme", "shop", "bad name"], "", "role names"),
        (["token", "acme", "shop", "alice", "--password-stdin"], "nope-nope\n", "invalid"),
        (["show-user", "acme", "shop", "nobody"], "", "no user"),
    ],
)
def test_failures_exit_1_with_one_line(
    failing: Cli, argv: list[str], stdin: str, message: str
) -> None:
    err = failing.fails(*argv, stdin=stdin)
    assert message in err
    assert "nope-nope" not in err
    report = json.loads(failing.fails("--json", *argv, stdin=stdin))
    assert set(report) == {"error", "message"}
    assert report["error"]


def test_json_error_codes(failing: Cli) -> None:
    shop = failing
    codes = {
        ("show-user", "acme", "shop", "nobody"): "not_found",
        ("create-org", "acme"): "conflict",
        ("create-role", "acme", "shop", "bad name"): "invalid",
    }
    for argv, code in codes.items():
        assert json.loads(shop.fails("--json", *argv))["error"] == code
    err = shop.fails("token", "acme", "shop", "alice", "--password-stdin", "--json",
                     stdin="wrong-wrong\n")
    assert json.loads(err)["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "argv",
    [
        ["create-user", "acme", "shop", "bob", "--password", "secret"],  # never from argv
        ["grant", "acme", "shop", "get:/x"],  # no target
        ["grant", "acme", "shop", "get:/x", "--role", "a", "--user", "b"],  # two targets
        ["ttl", "acme", "shop", "soon"],
        ["ttl", "acme", "shop", "-5"],
        ["demo", "--host", "bad host"],
        ["list-users", "acme"],
        ["no-such-command"],
        [],
    ],
)
def test_usage_errors_exit_2(cli: Cli, argv: list[str]) -> None:
    done = cli(*argv)
    assert done.status == 2
    assert "usage: baas-auth" in done.err
    assert done.out == ""


def test_realm_option_before_or_after_the_command(tmp_path: Path) -> None:
    cli = Cli(tmp_path, realm=None)
    assert cli.ok("--realm", "sqlite:///one.db", "create-org", "acme")
    assert cli.ok("create-org", "globex", "--realm", "sqlite:///two.db", "--json")
    assert json.loads(cli.ok("--json", "list-orgs", "--realm", "sqlite:///one.db")) == [
        {"uuid": json.loads(cli.ok("show-org", "acme", "--json", "--realm",
                                   "sqlite:///one.db"))["uuid"], "name": "acme"}]
    assert "no organization" in cli.fails("--realm", "sqlite:///two.db", "show-org", "acme")


def test_module_and_console_script_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "baas_auth", "--version"],
        capture_output=True, text=True, env=server_env(), cwd=tmp_path, timeout=60, check=True,
    )
    assert done.stdout.strip() == f"baas-auth {__version__}"
    real = Cli(tmp_path, in_process=False)  # the installed console script, in its own process
    assert "created organization acme" in real.ok("create-org", "acme")


def test_every_command_has_help_and_a_section_in_the_reference() -> None:
    from baas_auth.cli.parser import build_parser

    reference = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    parser = build_parser()
    names = [
        name for action in parser._subparsers._group_actions  # type: ignore[union-attr]
        for name in getattr(action, "choices", {})
    ]
    assert len(names) > 50
    for name in names:
        assert f"`{name}" in reference, f"docs/cli.md does not describe {name}"
        with pytest.raises(SystemExit) as exited:
            parser.parse_args([name, "--help"])
        assert exited.value.code == 0
