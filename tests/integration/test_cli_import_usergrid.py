"""``baas-auth import --from usergrid-export DIR``: the folder the original's ``ExportApp`` and
``ExportAdmins`` tools write, converted and imported; users sign in with the hashes the original
wrote, roles, groups and rules decide as they did there, and what the files lack is said."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baas_auth.errors import InvalidGrantError
from tests.integration.cli_runner import Cli
from tests.usergrid_api_server import TOKEN, FakeApi, serving
from tests.usergrid_export import client, fixed_uuid
from tests.usergrid_export_files import (
    AppExport,
    admin_entity,
    admin_metadata,
    entity,
    write_admins,
    write_app,
)

PASSWORD = "an old password"
USERS = {"plaintext": "pat", "md5": "mel", "sha-1": "sam", "bcrypt": "bea",
         "md5,bcrypt": "max", "legacy": "leo"}
"""A user for each scheme the original wrote (``legacy``: ``hashType`` md5 then sha-1)."""
ORG = fixed_uuid("org:acme")
APP = fixed_uuid("app:acme/shop")
OTHER_ORG = fixed_uuid("org:widgets")


def shop_export() -> AppExport:
    shop = AppExport("acme", "shop")
    for name, inactivity in (("admin", 0), ("default", 0), ("guest", 0), ("editor", 0),
                             ("auditor", 600_000)):
        shop.role(name, inactivity)
    shop.group("staff", roles=("auditor",), rules=("get:/staff/**",))
    shop.group("staff/managers", rules=("put:/staff/**",))
    for scheme, name in USERS.items():
        shop.user(name, scheme, PASSWORD, roles=("editor",) if name == "mel" else ())
    shop.user("dora", "bcrypt", PASSWORD, disabled=True)
    shop.user("eve", "sha-1", PASSWORD, activated=False)
    frank = shop.user("frank", "md5", PASSWORD, rules=("get:/mine/**",))
    shop.add(entity("activity", fixed_uuid("activity:1"), None, verb="post"))
    for number in (1, 2):
        shop.add(entity("device", fixed_uuid(f"device:{number}"), f"phone-{number}"))
    shop.connections.append(("likes", frank, fixed_uuid("device:1")))
    return shop


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    export = tmp_path / "export"
    write_app(export, shop_export(), threads=2)
    write_admins(export, [
        (admin_entity("ann"), admin_metadata([("acme", ORG), ("widgets", OTHER_ORG)],
                                             "bcrypt", "ann-password")),
        (admin_entity("bob"), None),
    ])
    return Cli(tmp_path)


def _import(cli: Cli, *more: str) -> str:
    return cli.ok("import", "--from", "usergrid-export", "export", "--uuid", f"acme/shop={APP}",
                  *more)


def test_the_folder_is_laid_out_as_the_tools_write_it(cli: Cli) -> None:
    names = sorted(path.name for path in (cli.folder / "export").iterdir())
    assert names == [
        "acme-shop-1.connections", "acme-shop-1.entities", "acme-shop-2.entities",
        "admin-user-metadata.usergrid-management.1433331614293.json",
        "admin-users.usergrid-management.1433331614293.json",
    ]
    first = (cli.folder / "export" / "acme-shop-1.entities").read_text().splitlines()[0]
    assert first.startswith('{"organization":"acme","application":"acme/shop","entity":{"uuid":')


def test_users_sign_in_with_every_hash_the_original_wrote(cli: Cli) -> None:
    lines = _import(cli).splitlines()
    assert lines[0] == ("read 5 export files (admin-user-metadata 1, admin-users 1, "
                        "connections 1, entities 2)")
    assert f"+ user mel ({fixed_uuid('user:acme/shop/mel')}) in acme/shop" in lines
    assert "- 2 device entities: not identities, not imported" in lines
    assert "- 1 activity entity: not identities, not imported" in lines
    assert "- 1 connection: not identities, not imported" in lines
    assert any(line.startswith("- admin bob: no entry in admin-user-metadata") for line in lines)
    assert PASSWORD not in "\n".join(lines)
    realm = cli.open()
    try:
        for name in [*USERS.values(), "frank"]:
            grant = realm.password_token("acme", "shop", name, PASSWORD)
            assert grant.principal.username == name
        for refused in ("dora", "eve"):  # disabled; not activated
            with pytest.raises(InvalidGrantError):
                realm.password_token("acme", "shop", refused, PASSWORD)
        assert realm.get_user("acme", "shop", "mel").uuid == fixed_uuid("user:acme/shop/mel")
        assert realm.user_roles("acme", "shop", "mel") == ("editor",)
        assert realm.admin_token("ann", "ann-password").principal.orgs == frozenset(
            {"acme", "widgets"})
    finally:
        realm.close()


def test_a_users_own_rules_and_its_states_decide_as_in_the_original(cli: Cli) -> None:
    _import(cli)
    realm = cli.open()
    try:
        frank = realm.password_token("acme", "shop", "frank", PASSWORD).principal
        mine = realm.explain(frank, "GET", "/mine/notes", org="acme", app="shop")
        assert (mine.allowed, mine.rule) == (True, "get:/mine/**")
        assert not realm.explain(frank, "GET", "/staff/list", org="acme", app="shop").allowed
    finally:
        realm.close()


def test_what_the_files_lack_is_listed_and_the_app_needs_its_uuid(cli: Cli) -> None:
    out = cli.ok("import", "--from", "usergrid-export", "export")
    assert ("- application acme/shop: the export files do not hold an application's uuid: give "
            "it with --uuid acme/shop=UUID") in out
    assert "user mel" not in out
    assert f"+ organization acme ({ORG})" in out
    assert f"+ admin ann ({fixed_uuid('admin:ann')})" in out
    out = _import(cli)
    for lacking in ("- credentials acme: the export files do not hold the org's client id",
                    "- credentials acme/shop: the export files hold neither the app's client id",
                    "- role permissions acme/shop: ExportApp does not write a role's rules",
                    "- group memberships acme/shop: ExportApp does not write who is in"):
        assert lacking in out
    assert "= organization acme" in out  # a second run: what exists is unchanged


def test_the_written_document_completed_by_hand_gives_roles_and_groups_their_say(
    cli: Cli,
) -> None:
    written = cli.folder / "acme.json"
    written.write_text("an older copy")
    written.chmod(0o644)
    _import(cli, "--dry-run", "--write-document", "acme.json")
    assert stat.S_IMODE(written.stat().st_mode) == 0o600  # it holds password hashes
    assert not cli.path.exists()  # a dry run makes no realm
    document: dict[str, Any] = json.loads(written.read_text())
    app = document["organizations"][0]["applications"][0]
    assert app["uuid"] == APP
    roles = {role["name"]: role for role in app["roles"]}
    assert roles["auditor"]["inactivity"] == 600_000
    # What ExportApp does not write, added as the original's REST API lists it:
    roles["editor"]["permissions"] = ["put,post:/books/*"]
    roles["auditor"]["permissions"] = ["get:/audit/**"]
    sam = next(user for user in app["users"] if user["username"] == "sam")
    sam["groups"] = ["staff", "staff/managers"]
    written.write_text(json.dumps(document))
    cli.ok("import", "acme.json")
    realm = cli.open()
    try:
        mel = realm.password_token("acme", "shop", "mel", PASSWORD).principal
        books = realm.explain(mel, "PUT", "/books/1", org="acme", app="shop")
        assert (books.allowed, books.rule) == (True, "put,post:/books/*")
        sam_principal = realm.password_token("acme", "shop", "sam", PASSWORD).principal
        for method, path, rule in (("GET", "/staff/list", "get:/staff/**"),
                                   ("PUT", "/staff/list", "put:/staff/**"),
                                   ("GET", "/audit/log", "get:/audit/**")):
            decided = realm.explain(sam_principal, method, path, org="acme", app="shop")
            assert (decided.allowed, decided.rule) == (True, rule), (method, path)
        assert not realm.explain(mel, "GET", "/audit/log", org="acme", app="shop").allowed
    finally:
        realm.close()


def test_json_says_what_was_converted(cli: Cli) -> None:
    report: dict[str, Any] = cli.json("import", "--from", "usergrid-export", "export", "--uuid",
                                      f"acme/shop={APP}", "--dry-run")
    converted = report["converted"]
    assert converted["files"] == {"admin-user-metadata": 1, "admin-users": 1, "connections": 1,
                                  "entities": 2}
    assert converted["ignored_entities"] == {"activity": 1, "device": 2}
    assert converted["connections"] == 1
    assert {"kind": "admin", "name": "bob", "reason": "no entry in admin-user-metadata: "
            "imported without its password and its organizations"} in converted["left_out"]
    assert (report["dry_run"], report["skipped"]) == (True, 0)


def test_metadata_with_the_older_collections_is_read(cli: Cli) -> None:
    """Older ``ExportAdmins`` runs also wrote each admin's collections (``activities``,
    ``groups``, ``roles``…) in its metadata entry: they are not identities, and are passed by."""
    older = admin_metadata([("acme", ORG)], "md5", "ann-password")
    older = {"activities": [], "devices": [], "feed": [fixed_uuid("feed")],
             "groups": [ORG], "roles": [], "connections": {}, **older}
    write_admins(cli.folder / "export", [(admin_entity("ann"), older)])
    _import(cli)
    realm = cli.open()
    try:
        assert realm.admin_token("ann", "ann-password").principal.orgs == frozenset({"acme"})
    finally:
        realm.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: None, "export: no such directory"),
        (lambda folder: folder.write_text("x"), "export: not a directory"),
        (lambda folder: folder.mkdir(), "export: no files of the original's export tools"),
        (lambda folder: (folder.mkdir(), (folder / "a-b-1.entities").write_text("\n{")),
         "a-b-1.entities line 2: not JSON"),
        (lambda folder: (folder.mkdir(), (folder / "a-b-1.entities").write_bytes(b"\xff\n")),
         "a-b-1.entities line 1: not UTF-8 text"),
        (lambda folder: (folder.mkdir(), (folder / "admin-users.x.1.json").write_bytes(b"[\xff]")),
         "admin-users.x.1.json: not UTF-8 text"),
        (lambda folder: (folder.mkdir(), (folder / "admin-users.x.1.json").write_text("{}")),
         "admin-users.x.1.json: expected a JSON array of admin users"),
        (lambda folder: (folder.mkdir(), (folder / "a-b-1.entities").write_text(
            '{"organization":"a","application":"a/b","entity":{"type":"user","uuid":7}}\n')),
         "a-b-1.entities line 1: entity.uuid: expected a string"),
    ],
)
def test_a_folder_that_is_not_an_export_is_refused_with_the_file_named(
    tmp_path: Path, make: Any, message: str
) -> None:
    cli = Cli(tmp_path)
    make(tmp_path / "export")
    err = cli.fails("import", "--from", "usergrid-export", "export")
    assert message in err
    assert not cli.path.exists()


def test_usage_errors(cli: Cli) -> None:
    assert "--uuid acme/shop=nope" in cli.fails(
        "import", "--from", "usergrid-export", "export", "--uuid", "acme/shop=nope", status=2)
    assert "go with --from usergrid-export" in cli.fails(
        "import", "export.json", "--uuid", f"acme/shop={APP}", status=2)
    assert "not standard input" in cli.fails("import", "--from", "usergrid-export", "-",
                                             status=2)
    assert not cli.path.exists()


# -- --api: the original's REST API asked for what the files lack ------------------------------

ORG_CLIENT = client("org", "acme")
APP_CLIENT = client("app", "acme/shop")
ROLE_RULES = {"admin": ["get,put,post,delete:/**"], "default": ["get:/books/**"],
              "guest": ["post:/users"], "editor": ["put,post:/books/*"],
              "auditor": ["get:/audit/**"]}


def fake_api() -> FakeApi:
    """The original's answers for acme (shop) and widgets, in its response shapes."""
    api = FakeApi(ORG_CLIENT["client_id"], ORG_CLIENT["client_secret"])
    shop = shop_export()
    api.routes.update({
        "/management/orgs/acme": {"action": "get organization", "organization": {
            "uuid": ORG, "name": "acme", "applications": {"acme/shop": APP}, "users": {}}},
        "/management/orgs/acme/credentials": {"action": "get organization client credentials",
                                               "credentials": ORG_CLIENT},
        "/management/orgs/acme/apps": {"action": "get organization application",
                                       "data": {"acme/shop": APP}},
        "/management/orgs/widgets/apps": {"action": "get organization application", "data": {}},
        "/acme/shop": {"action": "get", "application": APP, "entities": [
            {"uuid": APP, "type": "application", "name": "acme/shop",
             "accesstokenttl": 3_600_000}]},
        "/acme/shop/credentials": {"action": "get application client credentials",
                                   "credentials": APP_CLIENT},
    })
    for role, rules in ROLE_RULES.items():
        api.routes[f"/acme/shop/roles/{role}/permissions"] = {"action": "get", "data": rules}
    members = {"staff": ["sam", "mel"], "staff/managers": ["sam"]}
    for item, _ in shop.entities:
        if item["type"] == "group":
            users = [{"uuid": fixed_uuid(f"user:acme/shop/{name}"), "type": "user",
                      "username": name} for name in members[item["path"]]]
            api.routes[f"/acme/shop/groups/{item['uuid']}/users"] = {"action": "get",
                                                                      "entities": users}
    return api


def _signed_in(secret: str = ORG_CLIENT["client_secret"]) -> dict[str, str]:
    return {"BAAS_USERGRID_CLIENT_ID": ORG_CLIENT["client_id"],
            "BAAS_USERGRID_CLIENT_SECRET": secret}


def test_the_api_gives_what_the_files_lack_and_the_roles_decide(cli: Cli) -> None:
    api = fake_api()
    api.forbidden = ("/management/orgs/widgets",)  # acme's client may not read widgets
    with serving(api) as url:
        out = cli.ok("import", "--from", "usergrid-export", "export", "--api", url,
                     env=_signed_in())
    assert f"+ application shop ({APP}) in acme" in out
    for gone in ("- application acme/shop", "- credentials acme", "- role permissions",
                 "- group memberships"):
        assert gone not in out
    assert "- credentials widgets: the export files do not hold" in out
    assert ("- api GET /management/orgs/widgets/credentials: client credentials: 403 Forbidden"
            in out)
    assert f"+ organization widgets ({OTHER_ORG})" in out  # its uuid came from the files
    assert ORG_CLIENT["client_secret"] not in out
    assert "/acme/shop/groups/" in "".join(api.asked)  # one page at a time, cursor followed
    realm = cli.open()
    try:
        assert realm.get_app("acme", "shop").access_token_ttl_ms == 3_600_000
        for pair, org in ((ORG_CLIENT, "acme"), (APP_CLIENT, "acme")):
            grant = realm.client_token(pair["client_id"], pair["client_secret"])
            assert grant.principal.org == org
        mel = realm.password_token("acme", "shop", "mel", PASSWORD).principal
        decided = realm.explain(mel, "PUT", "/books/1", org="acme", app="shop")
        assert (decided.allowed, decided.rule) == (True, "put,post:/books/*")
        assert sorted(realm.user_groups("acme", "shop", "sam")) == ["/staff", "/staff/managers"]
        sam = realm.password_token("acme", "shop", "sam", PASSWORD).principal
        for method, path, rule in (("PUT", "/staff/list", "put:/staff/**"),
                                   ("GET", "/audit/log", "get:/audit/**")):
            decided = realm.explain(sam, method, path, org="acme", app="shop")
            assert (decided.allowed, decided.rule) == (True, rule), (method, path)
        pat = realm.password_token("acme", "shop", "pat", PASSWORD).principal
        assert not realm.explain(pat, "GET", "/audit/log", org="acme", app="shop").allowed
    finally:
        realm.close()


def test_what_the_api_does_not_answer_is_listed(cli: Cli) -> None:
    api = fake_api()
    del api.routes["/acme/shop/roles/guest/permissions"]
    with serving(api) as url:  # a token of the original's, given as it is
        out = cli.ok("import", "--from", "usergrid-export", "export", "--api", url,
                     env={"BAAS_USERGRID_TOKEN": TOKEN})
    assert ("- api GET /acme/shop/roles/guest/permissions: the role's rules: 404 Not Found"
            in out)
    assert "- role permissions acme/shop: ExportApp does not write" in out
    assert f"+ user mel ({fixed_uuid('user:acme/shop/mel')}) in acme/shop" in out


def test_refused_credentials_stop_before_anything_is_written(cli: Cli) -> None:
    with serving(fake_api()) as url:
        err = cli.fails("import", "--from", "usergrid-export", "export", "--api", url,
                        env=_signed_in(secret="wrong"))
        assert "401" in err
        assert "wrong" not in err
        refused = cli.fails("import", "--from", "usergrid-export", "export", "--api", url,
                            env={"BAAS_USERGRID_TOKEN": "not-a-token"})
        assert "refused the token for every org asked (acme, widgets)" in refused
        missing = cli.fails("import", "--from", "usergrid-export", "export", "--api", url,
                            status=2)
        assert "$BAAS_USERGRID_CLIENT_ID" in missing
    assert not cli.path.exists()


def test_other_files_in_the_folder_are_listed_and_left_alone(cli: Cli) -> None:
    (cli.folder / "export" / "notes.txt").write_text("how we exported")
    (cli.folder / "export" / "older").mkdir()
    out = _import(cli, "--dry-run")
    assert "- file notes.txt: not an export file, not read" in out
    assert "- file older: not an export file, not read" in out


@settings(max_examples=25, deadline=None)  # each example runs the whole command
@given(garbage=st.binary(max_size=300), name=st.sampled_from(
    ["acme-shop-1.entities", "acme-shop-1.connections",
     "admin-users.usergrid-management.1433331614293.json",
     "admin-user-metadata.usergrid-management.1433331614293.json"]))
def test_garbage_in_any_file_fails_cleanly_or_imports(garbage: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cli = Cli(Path(folder))
        write_app(cli.folder / "export", shop_export(), threads=1)
        write_admins(cli.folder / "export", [(admin_entity("ann"), admin_metadata(
            [("acme", ORG)], "md5", "ann-password"))])
        (cli.folder / "export" / name).write_bytes(garbage)
        done = cli("import", "--from", "usergrid-export", "export", "--uuid", f"acme/shop={APP}",
                   "--dry-run")
        assert done.status in (0, 1), done.err
        assert "Traceback" not in done.err
        if done.status == 1:
            assert done.err.startswith(f"baas-auth: error: export{os.sep}{name}"), done.err
