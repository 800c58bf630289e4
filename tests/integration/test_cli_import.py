"""``baas-auth import``: an export of API BaaS brought into a realm by the command line,
idempotently, shown first with ``--dry-run``, refused whole when it is not a document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.cli_runner import Cli
from tests.usergrid_export import client, export_document, fixed_uuid, user

PASSWORD = "an old password"
USERS = [
    user("alice", "md5", PASSWORD, roles=["editor"]),
    user("bob", "bcrypt", PASSWORD),
    user("carol", "plaintext", PASSWORD),
    {**user("mallory", "md5", PASSWORD), "uuid": "not-a-uuid"},
]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    (tmp_path / "export.json").write_text(json.dumps(export_document(USERS)))
    return Cli(tmp_path)


def test_import_makes_a_realm_where_the_original_credentials_work(cli: Cli) -> None:
    out = cli.ok("import", "export.json")
    lines = out.splitlines()
    assert f"+ organization acme ({fixed_uuid('org:acme')})" in lines
    assert f"+ user alice ({fixed_uuid('user:alice')}) in acme/shop" in lines
    assert "! user mallory (not-a-uuid) in acme/shop: the uuid 'not-a-uuid' is malformed" in lines
    assert lines[-1] == "imported export.json: 13 created, 0 unchanged, 1 skipped"
    assert PASSWORD not in out
    for kind, owner in (("org", "acme"), ("app", "acme/shop")):
        assert client(kind, owner)["client_secret"] not in out
    realm = cli.open()
    for name in ("alice", "bob", "carol"):
        assert realm.password_token("acme", "shop", name, PASSWORD).principal.username == name
    assert realm.user_roles("acme", "shop", "alice") == ("editor",)
    pair = client("org", "acme")
    assert realm.client_token(pair["client_id"], pair["client_secret"]).principal.org == "acme"
    assert realm.admin_token("ann", "ann-password").principal.orgs == frozenset({"acme"})
    realm.close()


def test_a_second_import_changes_nothing(cli: Cli) -> None:
    cli.ok("import", "export.json")
    second: dict[str, Any] = cli.json("import", "export.json")
    assert (second["created"], second["unchanged"], second["skipped"]) == (0, 13, 1)
    assert second["dry_run"] is False
    entry = second["entries"][0]
    assert entry == {"kind": "organization", "name": "acme", "outcome": "unchanged",
                     "uuid": fixed_uuid("org:acme"), "where": None, "reason": None}


def test_dry_run_makes_no_realm_file_and_says_what_it_would_do(cli: Cli) -> None:
    report: dict[str, Any] = cli.json("import", "--dry-run", "export.json")
    assert (report["dry_run"], report["created"], report["skipped"]) == (True, 13, 1)
    assert not cli.path.exists()
    out = cli.ok("import", "--dry-run", "export.json")
    assert out.splitlines()[-1] == (
        "dry run of export.json: 13 created, 0 unchanged, 1 skipped (nothing was changed)"
    )


def test_import_reads_standard_input_and_can_require_strong_hashes(cli: Cli) -> None:
    document = (cli.folder / "export.json").read_text()
    real = cli.real()  # a process reading a pipe
    report: dict[str, Any] = real.json("import", "-", "--require-strong", stdin=document)
    skipped = {entry["name"]: entry["reason"] for entry in report["entries"]
               if entry["outcome"] == "skipped"}
    assert set(skipped) == {"alice", "mallory", "ann"}  # md5, a bad uuid, sha-1
    assert "require_strong" in skipped["alice"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "export.json: not a JSON document"),
        ("[]", "export.json: an import document is a JSON object"),
        ('{"version": 7}', "version 7: this baas-auth reads version 1"),
        ('{"organizations": [{"applications": 1}]}', "applications: expected an array"),
    ],
)
def test_a_file_that_is_not_an_import_document_is_refused_whole(
    cli: Cli, content: str, message: str
) -> None:
    (cli.folder / "export.json").write_text(content)
    err = cli.fails("import", "export.json")
    assert message in err
    assert not cli.path.exists()  # the realm file this command would have made is gone again


def test_errors_are_json_with_json(cli: Cli) -> None:
    (cli.folder / "export.json").write_text('{"version": 7}')
    err = json.loads(cli.fails("--json", "import", "export.json"))
    assert err["error"] == "invalid"
    assert cli.fails("import", "missing.json").startswith("baas-auth: error: cannot read")
