"""Which realm ``baas-auth`` opens, and that it never makes a realm file by accident: a SQLite
file is made only by create-org, create-admin and apply (or with ``--create``), and removed
again when that command fails; ``memory:`` is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from baas_auth import Realm, SQLiteStore
from tests.integration.cli_runner import Cli

READING_AND_CHANGING = [
    ["list-orgs"],
    ["list-users", "acme", "shop"],
    ["show-org", "acme"],
    ["grant", "acme", "shop", "get:/x", "--role", "default"],
    ["create-app", "acme", "shop"],
    ["rotate-key"],
    ["purge-expired"],
    ["export"],
]


def _files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


@pytest.mark.parametrize("argv", READING_AND_CHANGING)
def test_a_missing_realm_file_is_not_made(tmp_path: Path, argv: list[str]) -> None:
    cli = Cli(tmp_path)
    err = cli.fails(*argv)
    assert "no realm at realm.db" in err
    assert "--create" in err
    assert _files(tmp_path) == []


def test_the_default_realm_is_not_made_by_a_failed_command(tmp_path: Path) -> None:
    cli = Cli(tmp_path, realm=None)
    assert "no realm at baas.db" in cli.fails("create-app", "acme", "shop")
    assert "organization names" in cli.fails("create-org", "bad name!")
    assert "reserved" in cli.fails("create-org", "management")
    assert _files(tmp_path) == []
    assert cli.ok("create-org", "acme")  # a command that makes things makes the default file
    assert _files(tmp_path) == ["baas.db"]
    assert "acme" in cli.ok("list-orgs")


def test_creating_commands_make_the_file(tmp_path: Path) -> None:
    Cli(tmp_path, "sqlite:///one.db").ok("create-org", "acme")
    Cli(tmp_path, "sqlite:///two.db").ok("create-admin", "ann", "--no-password")
    Cli(tmp_path, "sqlite:///three.db").ok("rotate-key", "--create")
    (tmp_path / "realm.toml").write_text("[orgs.acme]\n")
    Cli(tmp_path, "sqlite:///four.db").ok("apply", "realm.toml")
    assert _files(tmp_path) == ["four.db", "one.db", "realm.toml", "three.db", "two.db"]
    assert Cli(tmp_path, "sqlite:///four.db").json("list-orgs")[0]["name"] == "acme"


def test_a_failed_creating_command_removes_the_file_it_made(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[orgs.acme.apps.shop.users.alice]\npassword_env = "NOPE"\n')
    cli = Cli(tmp_path)
    assert "$NOPE is not set" in cli.fails("apply", "bad.toml")
    assert "cannot read missing.toml" in cli.fails("apply", "missing.toml")
    assert "closed" in cli.fails("create-admin", "ann", "--password-stdin", stdin="")
    assert "no organization" in cli.fails("create-admin", "ann", "--org", "acme", "--no-password")
    assert _files(tmp_path) == ["bad.toml"]


def test_a_dry_run_against_a_missing_file_plans_from_an_empty_realm(tmp_path: Path) -> None:
    (tmp_path / "realm.toml").write_text("[orgs.acme.apps.shop]\n")
    out = Cli(tmp_path).ok("apply", "realm.toml", "--dry-run")
    assert "+ org acme" in out
    assert "+ app acme/shop" in out
    assert _files(tmp_path) == ["realm.toml"]


def test_an_existing_file_is_kept_when_a_command_fails(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.ok("create-org", "acme")
    cli.fails("create-org", "acme")
    cli.fails("create-app", "acme", "bad name!")
    assert cli.json("list-orgs")[0]["name"] == "acme"


@pytest.mark.parametrize("argv", [["create-org", "acme"], ["list-orgs"], ["apply", "x.toml"]])
def test_a_memory_realm_is_refused(tmp_path: Path, argv: list[str]) -> None:
    err = Cli(tmp_path, "memory:").fails(*argv, status=2)
    assert "keeps nothing" in err
    assert _files(tmp_path) == []


def test_the_realm_from_the_environment(tmp_path: Path) -> None:
    cli = Cli(tmp_path, realm=None, in_process=False)  # the environment of a process
    cli.ok("create-org", "acme", env={"BAAS_REALM": "sqlite:///env.db"})
    assert _files(tmp_path) == ["env.db"]
    assert "no realm at baas.db" in cli.fails("show-org", "acme")
    assert cli.json("show-org", "acme", env={"BAAS_REALM": "sqlite:///env.db"})["name"] == "acme"
    assert "keeps nothing" in cli.fails("list-orgs", status=2, env={"BAAS_REALM": "memory:"})


@pytest.mark.parametrize(
    ("realm", "message"),
    [
        ("bogus:thing", "store URLs start with"),
        ("sqlite:///", "sqlite URLs name a file"),
    ],
)
def test_a_bad_realm_url_is_a_usage_error(tmp_path: Path, realm: str, message: str) -> None:
    assert message in Cli(tmp_path, realm).fails("list-orgs", status=2)


def test_a_realm_in_a_missing_folder_fails(tmp_path: Path) -> None:
    err = Cli(tmp_path, "sqlite:///nowhere/realm.db").fails("create-org", "acme")
    assert "does not exist" in err
    assert _files(tmp_path) == []


def test_an_unreachable_redis_is_an_operation_failure(tmp_path: Path) -> None:
    err = Cli(tmp_path, "redis://127.0.0.1:1/0").fails("--json", "list-orgs")
    assert '"error": "store_unavailable"' in err


def test_create_sets_a_new_realm_up_at_once(tmp_path: Path) -> None:
    """``--create`` is the explicit act that sets up a store holding no realm (its keys and
    realm marker), before any command writes; the file then serves as a realm."""
    Cli(tmp_path, "sqlite:///made.db").ok("list-orgs", "--create")
    store = SQLiteStore(tmp_path / "made.db")
    assert store.get("meta:realm") is not None
    assert store.get("meta:signing_keys") is not None
    realm = Realm(store)
    realm.create_org("acme")
    assert [org.name for org in realm.list_orgs()] == ["acme"]
    realm.close()
