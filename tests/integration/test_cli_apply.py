"""``baas-auth apply`` and ``export``: a realm declared in TOML, made idempotently, shown as a
diff with ``--dry-run``, pruned only with ``--prune``, and written back without secrets."""

from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import pytest

from tests.integration.cli_runner import Cli

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
ENV = {"ALICE_PASSWORD": "alice-secret-1", "ANN_PASSWORD": "ann-secret-12"}

DECLARED = """\
version = 1

[orgs.acme.apps.shop]
accesstokenttl = 3600000

[orgs.acme.apps.shop.roles.default]
rules = ["get:/books/**"]

[orgs.acme.apps.shop.roles.editor]
inactivity = 600000
rules = ["GET,PUT:/books/**", "post:/books"]

[orgs.acme.apps.shop.groups."/staff"]
rules = ["post:/staff/notes"]
roles = ["editor"]
members = ["bob"]

[orgs.acme.apps.shop.users.alice]
email = "alice@example.com"
password_env = "ALICE_PASSWORD"
roles = ["editor"]
groups = ["/staff"]
rules = ["delete:/mine"]

[orgs.acme.apps.shop.users.bob]
disabled = true

[orgs.acme.apps.legacy]
preset = "usergrid"

[admins.ann]
password_env = "ANN_PASSWORD"
orgs = ["acme"]
"""

PLANNED = """\
+ org acme (and its app acme/sandbox)
+ app acme/shop (preset locked, accesstokenttl 3600000)
+ rule get:/books/** to role default in acme/shop
+ role editor in acme/shop (lapses after 600000 ms idle)
+ rule get,put:/books/** to role editor in acme/shop
+ rule post:/books to role editor in acme/shop
+ group /staff in acme/shop
+ rule post:/staff/notes to group /staff in acme/shop
+ role editor to group /staff in acme/shop
+ user alice in acme/shop (password from $ALICE_PASSWORD)
+ rule delete:/mine to user alice in acme/shop
+ role editor to user alice in acme/shop
+ user bob in acme/shop (no password)
~ user bob in acme/shop: disabled no -> yes
+ alice to group /staff in acme/shop
+ bob to group /staff in acme/shop
+ app acme/legacy (preset usergrid)
+ admin user ann (admin of acme, password from $ANN_PASSWORD)
"""


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    (tmp_path / "realm.toml").write_text(DECLARED)
    return Cli(tmp_path)


def test_apply_twice_changes_nothing_the_second_time(cli: Cli) -> None:
    dry = cli.ok("apply", "realm.toml", "--dry-run", env=ENV)
    assert dry == PLANNED + "18 change(s) to make (dry run: nothing was changed)\n"
    assert not cli.path.exists()

    assert cli.ok("apply", "realm.toml", env=ENV) == PLANNED + "made 18 change(s) from realm.toml\n"
    again = cli.ok("apply", "realm.toml", env=ENV)
    assert again == "no changes: the realm already holds what realm.toml says\n"
    assert cli.json("apply", "realm.toml", env=ENV) == {
        "dry_run": False, "changed": False, "changes": []}
    assert cli.ok("apply", "realm.toml", "--dry-run", "--prune").startswith("no changes")

    realm = cli.open()
    alice = realm.authenticate_token(
        realm.password_token("acme", "shop", "alice", ENV["ALICE_PASSWORD"]).access_token)
    assert realm.permits(alice, "POST", "/staff/notes", org="acme", app="shop")
    assert realm.permits(alice, "PUT", "/books/1", org="acme", app="shop")
    assert realm.get_user("acme", "shop", "bob").disabled
    assert realm.admin_token("ann", ENV["ANN_PASSWORD"]).principal.orgs == frozenset({"acme"})
    assert realm.get_role("acme", "legacy", "default").rules == ("get,put,post,delete:/**",)
    realm.close()


def test_dry_run_in_json_shows_the_changes(cli: Cli) -> None:
    cli.ok("create-org", "acme")
    answer = cli.json("apply", "realm.toml", "--dry-run", env=ENV)
    assert answer["dry_run"] is True
    assert answer["changed"] is False
    lines = [f"{c['op']} {c['text']}" for c in answer["changes"]]
    assert lines == PLANNED.splitlines()[1:]
    assert answer["changes"][0]["kind"] == "app"
    assert [o["name"] for o in cli.json("list-orgs")] == ["acme"]
    assert cli.json("list-apps", "acme")
    assert len(cli.json("list-apps", "acme")) == 1


def test_prune_takes_away_only_what_the_file_s_apps_do_not_list(cli: Cli) -> None:
    cli.ok("apply", "realm.toml", env=ENV)
    cli.ok("grant", "acme", "shop", "get:/extra", "--user", "alice")
    cli.ok("create-role", "acme", "shop", "temp")
    cli.ok("assign-role", "acme", "shop", "temp", "--user", "alice")
    cli.ok("create-group", "acme", "shop", "/old")
    cli.ok("add-to-group", "acme", "shop", "/old", "alice")
    cli.ok("grant", "acme", "shop", "get:/guest", "--role", "guest")  # a built-in role: kept
    cli.ok("create-user", "acme", "shop", "carol", "--no-password")  # not in the file: kept
    cli.ok("grant", "acme", "shop", "get:/carol", "--user", "carol")
    cli.ok("grant", "acme", "sandbox", "get:/x", "--role", "default")  # not in the file: kept

    assert cli.ok("apply", "realm.toml").startswith("no changes")  # nothing without --prune
    dry = cli.ok("apply", "realm.toml", "--prune", "--dry-run").splitlines()
    assert dry == [
        "- rule get:/extra from user alice in acme/shop",
        "- role temp from user alice in acme/shop",
        "- alice from group /old in acme/shop",
        "- group /old in acme/shop",
        "- role temp in acme/shop",
        "5 change(s) to make (dry run: nothing was changed)",
    ]
    cli.ok("apply", "realm.toml", "--prune")
    assert cli.ok("apply", "realm.toml", "--prune").startswith("no changes")
    assert cli.json("show-role", "acme", "shop", "guest")["rules"] == ["get:/guest"]
    assert cli.json("show-user", "acme", "shop", "carol")["rules"] == ["get:/carol"]
    alice = cli.json("show-user", "acme", "shop", "alice")
    assert (alice["roles"], alice["groups"], alice["rules"]) == (
        ["editor"], ["/staff"], ["delete:/mine"])


def test_values_follow_the_file(cli: Cli) -> None:
    cli.ok("apply", "realm.toml", env=ENV)
    changed = (DECLARED.replace("inactivity = 600000", "inactivity = 5000")
               .replace("accesstokenttl = 3600000", "accesstokenttl = 0")
               .replace("disabled = true", "activated = false"))
    (cli.folder / "changed.toml").write_text(changed)
    assert cli.ok("apply", "changed.toml").splitlines() == [
        "~ app acme/shop: accesstokenttl 3600000 -> 0",
        "~ role editor in acme/shop: inactivity 600000 -> 5000 ms (deleted and made again, its "
        "rules kept)",
        "~ user bob in acme/shop: disabled yes -> no, activated yes -> no",
        "made 3 change(s) from changed.toml",
    ]
    role = cli.json("show-role", "acme", "shop", "editor")
    assert (role["inactivity_ms"], role["rules"]) == (5000, ["get,put:/books/**", "post:/books"])
    assert cli.json("show-user", "acme", "shop", "alice")["lapsing_roles"] == {"editor": 5000}
    assert cli.ok("apply", "changed.toml").startswith("no changes")


def test_export_then_apply_into_an_empty_realm(cli: Cli) -> None:
    cli.ok("apply", "realm.toml", env=ENV)
    cli.ok("create-user", "acme", "shop", "dan", "--no-password", "--not-activated")
    cli.ok("create-admin", "zed", "--no-password")
    cli.ok("disable-admin", "zed")
    cli.ok("create-org", "globex")
    exported = cli.ok("export")
    assert exported.startswith("# A baas-auth realm")
    for secret in ENV.values():
        assert secret not in exported
    data = tomllib.loads(exported)
    assert data == cli.json("export")
    users = data["orgs"]["acme"]["apps"]["shop"]["users"]
    assert users["alice"] == {"email": "alice@example.com", "roles": ["editor"],
                              "groups": ["/staff"], "rules": ["delete:/mine"]}
    assert users["bob"] == {"groups": ["/staff"], "disabled": True}
    assert users["dan"] == {"activated": False}
    assert data["admins"] == {"ann": {"orgs": ["acme"]}, "zed": {"disabled": True}}

    (cli.folder / "exported.toml").write_text(exported)
    copy = Cli(cli.folder, "sqlite:///copy.db")
    made = copy.ok("apply", "exported.toml")
    assert "+ org globex" in made
    assert "+ user dan in acme/shop (no password)" in made
    assert copy.ok("export") == exported
    assert copy.ok("apply", "exported.toml", "--prune").startswith("no changes")
    assert cli.ok("apply", "exported.toml", "--prune").startswith("no changes")


def test_export_of_some_orgs(cli: Cli) -> None:
    cli.ok("apply", "realm.toml", env=ENV)
    cli.ok("create-org", "globex")
    assert list(cli.json("export", "--org", "GLOBEX")["orgs"]) == ["globex"]
    assert set(cli.json("export", "--org", "globex", "--org", "acme")["orgs"]) == {
        "acme", "globex"}
    assert "no organization" in cli.fails("export", "--org", "nowhere")


def test_apply_from_standard_input(cli: Cli) -> None:
    out = cli.ok("apply", "-", stdin="[orgs.acme.apps.shop]\n")
    assert out.endswith("made 2 change(s) from standard input\n")


@pytest.fixture(scope="module")
def unchanging(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A realm that the bad files below must leave as it is: org acme, app acme/sandbox."""
    cli = Cli(tmp_path_factory.mktemp("bad-files"))
    cli.ok("create-org", "acme")
    return cli


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[orgs.acme]\nnope = 1\n", "orgs.acme: unknown key 'nope'"),
        ("[orgs.acme.apps.shop.roles.x]\nrules = ['get:/a/***']\n",
         "orgs.acme.apps.shop.roles.x.rules[0]: '**' must be a whole segment"),
        ("[orgs.acme.apps.shop.roles.x]\ninactivity = '5'\n", "inactivity: expected a whole"),
        ("[orgs.acme.apps.shop.roles.x]\ninactivity = -5\n", "milliseconds"),
        ("[orgs.acme.apps.shop.users.bob]\nroles = ['ghost']\n",
         "orgs.acme.apps.shop.users.bob.roles: no 'ghost' in the file or in acme/shop"),
        ("[orgs.acme.apps.shop.users.bob]\ngroups = ['/ghosts']\n", "no '/ghosts'"),
        ("[orgs.acme.apps.shop.groups.'/g']\nmembers = ['nobody']\n", "no 'nobody'"),
        ("[orgs.acme.apps.shop.users.bob]\n[orgs.acme.apps.shop.users.BOB]\n", "twice"),
        ("[orgs.acme.apps.shop]\npreset = 'open'\n", "preset: one of locked"),
        ("[orgs.management]\n", "reserved"),
        ("[orgs.'bad name']\n", "organization names"),
        ("[admins.ann]\norgs = ['ghost']\n", "admins.ann.orgs: no organization 'ghost'"),
        ("[admins.ann]\npassword_env = 'NOT SET'\n", "the name of an environment variable"),
        ("[admins.ann]\npassword_env = 'UNSET_PASSWORD_VARIABLE'\n", "is not set"),
        ("version = 2\n", "version 2"),
        ("orgs = [1]\n", "orgs: expected a table"),
        ("[orgs.acme\n", "not TOML"),
    ],
)
def test_a_bad_file_changes_nothing(unchanging: Cli, text: str, message: str) -> None:
    (unchanging.folder / "bad.toml").write_text(text)
    assert message in unchanging.fails("apply", "bad.toml")
    realm = unchanging.open()
    assert [org.name for org in realm.list_orgs()] == ["acme"]
    assert [app.name for app in realm.list_apps("acme")] == ["sandbox"]
    assert realm.list_admins() == []
    realm.close()


def test_an_existing_admin_gains_the_file_s_orgs(cli: Cli) -> None:
    cli.ok("create-org", "acme")
    cli.ok("create-admin", "ann", "--no-password")
    out = cli.ok("apply", "realm.toml", env=ENV).splitlines()
    assert "+ admin user ann to org acme" in out
    assert not any(line.startswith("+ admin user ann (") for line in out)  # not made again
    assert cli.json("show-admin", "ann")["orgs"] == ["acme"]


def test_prune_names_what_it_would_delete(cli: Cli) -> None:
    cli.ok("apply", "realm.toml", env=ENV)
    cli.ok("create-role", "acme", "shop", "temp")
    (cli.folder / "temp.toml").write_text("[orgs.acme.apps.shop.users.bob]\nroles = ['temp']\n")
    assert "+ role temp to user bob in acme/shop" in cli.ok("apply", "temp.toml")
    err = cli.fails("apply", "temp.toml", "--prune")
    assert "no 'temp' in the file (--prune deletes the others)" in err


def test_an_email_cannot_change(cli: Cli) -> None:
    cli.ok("apply", "realm.toml", env=ENV)
    (cli.folder / "moved.toml").write_text(DECLARED.replace("alice@example", "alice@elsewhere"))
    assert "an email cannot change" in cli.fails("apply", "moved.toml")


def test_a_failed_change_says_how_far_apply_got(cli: Cli) -> None:
    cli.ok("create-org", "acme")
    cli.ok("create-app", "acme", "shop")
    cli.ok("create-user", "acme", "shop", "eve", "--email", "alice@example.com", "--no-password")
    done = cli.real()("apply", "realm.toml", env=ENV)  # the status and streams of a process
    assert done.status == 1
    assert done.out.splitlines()[-1] == "+ role editor to group /staff in acme/shop"  # made
    assert done.err.startswith("baas-auth: error: + user alice in acme/shop (password from")
    assert "already in use" in done.err
    assert re.search(r"\(8 of 17 changes were made before", done.err)
    assert json.loads(cli.fails("--json", "apply", "realm.toml", env=ENV))["error"] == "failed"


def test_the_reference_example_applies(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOCS.read_text(), re.DOTALL)
    assert blocks, "docs/cli.md has a full example of a declaration file"
    (tmp_path / "example.toml").write_text(blocks[0])
    cli = Cli(tmp_path)
    env = {"ALICE_PASSWORD": "alice-secret-1", "BOB_PASSWORD": "bob-secret-12",
           "ANN_PASSWORD": "ann-secret-123"}
    assert "made" in cli.ok("apply", "example.toml", env=env)
    assert cli.ok("apply", "example.toml", "--prune", env=env).startswith("no changes")


def test_export_without_tomli_w_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from baas_auth.cli import main

    Cli(tmp_path).ok("create-org", "acme")
    monkeypatch.setitem(sys.modules, "tomli_w", None)  # as if the toml extra were not installed
    realm = f"sqlite:///{tmp_path / 'realm.db'}"
    assert main(["--realm", realm, "export"]) == 1
    assert "pip install 'baas-auth[toml]'" in capsys.readouterr().err
    assert main(["--realm", realm, "export", "--json"]) == 0  # JSON needs no extra
    assert "acme" in json.loads(capsys.readouterr().out)["orgs"]


def test_a_dry_run_needs_no_secret(cli: Cli) -> None:
    out = cli.ok("apply", "realm.toml", "--dry-run").splitlines()
    shown = "password from $ALICE_PASSWORD, not set now: apply needs it"
    assert f"+ user alice in acme/shop ({shown})" in out
    assert out[-1] == "18 change(s) to make (dry run: nothing was changed)"
    assert not cli.path.exists()
    assert "$ALICE_PASSWORD is not set" in cli.fails("apply", "realm.toml")
    assert cli.ok("apply", "realm.toml", env=ENV).endswith("made 18 change(s) from realm.toml\n")


def test_a_dry_run_still_refuses_a_short_password(cli: Cli) -> None:
    short = {**ENV, "ALICE_PASSWORD": "short"}
    assert "$ALICE_PASSWORD is shorter than" in cli.fails("apply", "realm.toml", "--dry-run",
                                                          env=short)


def test_refresh_token_settings_are_declared_applied_and_exported(cli: Cli) -> None:
    declared = DECLARED.replace(
        "accesstokenttl = 3600000",
        "accesstokenttl = 3600000\nrefreshtokenttl = 86400000\nrefreshtokengrace = 5000",
    )
    (cli.folder / "refresh.toml").write_text(declared)
    planned = cli.ok("apply", "refresh.toml", env=ENV).splitlines()
    assert "~ app acme/shop: refresh tokens off -> 86400000 ms, grace 5000 ms" in planned
    shop = cli.json("show-app", "acme", "shop")
    assert (shop["refresh_token_ttl_ms"], shop["refresh_grace_ms"]) == (86_400_000, 5000)
    assert cli.ok("apply", "refresh.toml", env=ENV).startswith("no changes")
    exported = cli.json("export")["orgs"]["acme"]["apps"]["shop"]
    assert (exported["refreshtokenttl"], exported["refreshtokengrace"]) == (86_400_000, 5000)
    assert "refreshtokenttl" not in cli.json("export")["orgs"]["acme"]["apps"]["legacy"]
    cli.ok("set-refresh-ttl", "acme", "shop", "1000")
    changed = cli.ok("apply", "refresh.toml", env=ENV).splitlines()
    assert changed[0] == "~ app acme/shop: refresh tokens 1000 ms -> 86400000 ms, grace 5000 ms"
    assert changed[1:] == ["made 1 change(s) from refresh.toml"]
    bad = declared.replace("refreshtokengrace = 5000", "refreshtokengrace = 60001")
    (cli.folder / "bad.toml").write_text(bad)
    assert "refreshtokengrace" in cli.fails("apply", "bad.toml", env=ENV)


def test_admin_refresh_tokens_are_declared_applied_and_exported(cli: Cli) -> None:
    declared = DECLARED + "\n[admin_tokens]\nrefreshtokenttl = 3600000\nrefreshtokengrace = 1000\n"
    (cli.folder / "admins.toml").write_text(declared)
    planned = cli.ok("apply", "admins.toml", env=ENV).splitlines()
    assert "~ admin users: refresh tokens off -> 3600000 ms, grace 1000 ms" in planned
    assert cli.json("show-admin-refresh-ttl") == {
        "refresh_token_ttl_ms": 3_600_000, "refresh_grace_ms": 1000}
    assert cli.ok("apply", "admins.toml", env=ENV).startswith("no changes")
    assert cli.json("export")["admin_tokens"] == {
        "refreshtokenttl": 3_600_000, "refreshtokengrace": 1000}
    # a file without [admin_tokens] leaves the realm's setting alone
    assert cli.ok("apply", "realm.toml", env=ENV).startswith("no changes")
    off = DECLARED + "\n[admin_tokens]\n"
    (cli.folder / "off.toml").write_text(off)
    assert "~ admin users: refresh tokens 3600000 ms, grace 1000 ms -> off" in cli.ok(
        "apply", "off.toml", env=ENV)
    assert "admin_tokens" not in cli.json("export")


# -- identity providers -------------------------------------------------------------------------

PROVIDERS = """\
version = 1

[[orgs.acme.identity_providers]]
issuer = "https://sso.example.com/realms/staff"
audience = "baas-management"
jwks_url = "https://sso.example.com/realms/staff/certs"

[orgs.acme.apps.shop]

[[orgs.acme.apps.shop.identity_providers]]
issuer = "https://sso.example.com/realms/acme"
audience = "shop-api"
jwks_url = "https://sso.example.com/realms/acme/certs"
username_claim = "preferred_username"
roles_claim = "realm_access.roles"
role_map = { "shop-editors" = "editor" }
provision = true

[[orgs.acme.apps.shop.identity_providers]]
issuer = "https://login.example.org/"
audience = "shop"
algorithms = ["ES256"]

[[orgs.acme.apps.shop.identity_providers.jwks.keys]]
kty = "EC"
crv = "P-256"
kid = "k"
x = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
y = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
"""


def test_providers_are_applied_and_exported_round_trip(tmp_path: Path) -> None:
    (tmp_path / "idps.toml").write_text(PROVIDERS)
    cli = Cli(tmp_path)
    made = cli.ok("apply", "idps.toml")
    assert "+ identity provider https://sso.example.com/realms/staff in org acme" in made
    assert "+ identity provider https://login.example.org/ in acme/shop" in made
    assert cli.ok("apply", "idps.toml", "--prune").startswith("no changes")
    [staff] = cli.json("list-idps", "acme")
    assert staff["username_claim"] == "email"  # an org's provider names admins by address
    exported = cli.ok("export")
    data = tomllib.loads(exported)
    shop = data["orgs"]["acme"]["apps"]["shop"]["identity_providers"]
    assert shop[1] == {"issuer": "https://sso.example.com/realms/acme", "audience": "shop-api",
                       "jwks_url": "https://sso.example.com/realms/acme/certs",
                       "username_claim": "preferred_username",
                       "roles_claim": "realm_access.roles",
                       "role_map": {"shop-editors": "editor"}, "provision": True}
    (tmp_path / "exported.toml").write_text(exported)
    copy = Cli(tmp_path, "sqlite:///copy.db")
    copy.ok("apply", "exported.toml")
    assert copy.ok("export") == exported
    assert cli.ok("apply", "exported.toml", "--prune").startswith("no changes")


def test_a_changed_provider_is_replaced_and_prune_removes_the_others(tmp_path: Path) -> None:
    (tmp_path / "idps.toml").write_text(PROVIDERS)
    cli = Cli(tmp_path)
    cli.ok("apply", "idps.toml")
    changed = PROVIDERS.replace('audience = "shop-api"', 'audience = "shop-api-2"')
    changed = changed[: changed.index("[[orgs.acme.apps.shop.identity_providers]]\nissuer = "
                                      '"https://login')]
    (tmp_path / "changed.toml").write_text(changed)
    out = cli.ok("apply", "changed.toml", "--prune")
    assert "~ identity provider https://sso.example.com/realms/acme in acme/shop: audience" in out
    assert "- identity provider https://login.example.org/ in acme/shop" in out
    [kept] = cli.json("list-idps", "acme", "shop")
    assert kept["audience"] == "shop-api-2"


def test_an_inline_key_set_never_keeps_a_private_member(tmp_path: Path) -> None:
    """Export never carries a secret: a private key member given by mistake is dropped."""
    leaky = PROVIDERS.replace('kid = "k"\n', 'kid = "k"\nd = "c2VjcmV0LWtleS1tYXRlcmlhbA"\n')
    (tmp_path / "idps.toml").write_text(leaky)
    cli = Cli(tmp_path)
    cli.ok("apply", "idps.toml")
    assert "c2VjcmV0" not in cli.ok("export")
    assert "c2VjcmV0" not in cli.ok("list-idps", "acme", "shop", "--json")


@pytest.mark.parametrize(("text", "message"), [
    ('[[orgs.acme.identity_providers]]\nissuer = "https://a/"\naudience = "x"\n'
     'jwks_url = "http://a.example/certs"\n', "https"),
    ('[[orgs.acme.identity_providers]]\nissuer = "https://a/"\naudience = "x"\n'
     'jwks_url = "https://a/c"\nnope = 1\n', "unknown key 'nope'"),
])
def test_a_bad_provider_in_the_file_changes_nothing(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "bad.toml").write_text(text)
    cli = Cli(tmp_path)
    assert message in cli.fails("apply", "bad.toml")
    assert not cli.path.exists()
