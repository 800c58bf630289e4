"""The administrative subcommands of ``baas-auth``, run in-process on a SQLite realm file."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from baas_auth import Realm, SQLiteStore, __version__, cli
from baas_auth.errors import InvalidClientError, InvalidTokenError
from tests.conftest import FAST_HASHER
from tests.integration.conftest import server_env


class Shell:
    """Runs ``baas-auth`` commands against one realm file and captures what they print."""

    def __init__(
        self, path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        self.path = path
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        status = cli.main(["--realm", f"sqlite:///{self.path}", *argv])
        out, err = self.capsys.readouterr()
        return status, out, err

    def ok(self, *argv: str, stdin: str = "") -> str:
        status, out, err = self(*argv, stdin=stdin)
        assert status == 0, err
        return out

    def realm(self) -> Realm:
        return Realm(SQLiteStore(self.path), password_hasher=FAST_HASHER)


@pytest.fixture
def shell(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Shell:
    # The default scrypt cost is for production; these commands hash a few passwords.
    monkeypatch.setattr(cli, "open_realm", lambda url: Realm.open(url, password_hasher=FAST_HASHER))
    return Shell(tmp_path / "auth.db", capsys, monkeypatch)


@pytest.fixture
def shop(shell: Shell) -> Shell:
    shell.ok("create-org", "acme")
    shell.ok("create-app", "acme", "shop")
    shell.ok("create-user", "acme", "shop", "alice", "--password-stdin", stdin="wonderland\n")
    return shell


def test_directory_commands_build_a_working_realm(shop: Shell) -> None:
    assert "globex/sandbox" in shop.ok("create-org", "globex")
    shop.ok("create-role", "acme", "shop", "editor", "--inactivity-ms", "60000")
    assert "get,put:/books/**" in shop.ok(
        "grant", "acme", "shop", "get,put:/books/**", "--role", "editor"
    )
    shop.ok("create-app", "acme", "vault", "--locked", "--ttl-ms", "3600000")
    shop.ok("create-user", "acme", "vault", "victor", "--password-stdin", stdin="pw-victor\n")
    shop.ok("create-group", "acme", "vault", "/staff")
    shop.ok("add-to-group", "acme", "vault", "/staff", "victor")
    shop.ok("create-role", "acme", "vault", "reader")
    shop.ok("grant", "acme", "vault", "get:/reports/*", "--role", "reader")
    shop.ok("assign-role", "acme", "vault", "reader", "--group", "/staff")
    shop.ok("grant", "acme", "vault", "post:/notes", "--user", "victor")

    realm = shop.realm()
    victor = realm.authenticate_token(
        realm.password_token("acme", "vault", "victor", "pw-victor").access_token
    )
    assert realm.permits(victor, "GET", "/reports/q1", org="acme", app="vault")
    assert realm.permits(victor, "POST", "/notes", org="acme", app="vault")
    assert not realm.permits(victor, "DELETE", "/reports/q1", org="acme", app="vault")
    assert realm.get_app("acme", "vault").access_token_ttl_ms == 3_600_000
    assert realm.get_role("acme", "shop", "editor").inactivity_ms == 60_000
    realm.close()

    take_back = ("revoke-grant", "acme", "vault", "get:/reports/*", "--role", "reader")
    assert "revoked" in shop.ok(*take_back)
    assert "did not hold" in shop.ok(*take_back)
    realm = shop.realm()
    assert not realm.permits(victor, "GET", "/reports/q1", org="acme", app="vault")
    realm.close()


def test_token_and_revocations(shop: Shell) -> None:
    out = shop.ok("token", "acme", "shop", "alice", "--ttl-ms", "60000", "--password-stdin",
                  stdin="wonderland\n")
    answer = json.loads(out)
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 60
    realm = shop.realm()
    assert realm.authenticate_token(answer["access_token"]).username == "alice"

    assert "revoked" in shop.ok("revoke-token", stdin=answer["access_token"] + "\n")
    with pytest.raises(InvalidTokenError):
        realm.authenticate_token(answer["access_token"])
    assert "already revoked" in shop.ok("revoke-token", stdin=answer["access_token"] + "\n")

    kept = [realm.password_token("acme", "shop", "alice", "wonderland").access_token for _ in "ab"]
    assert "revoked 2 token(s)" in shop.ok("revoke-user-tokens", "acme", "shop", "alice")
    for token in kept:
        with pytest.raises(InvalidTokenError):
            realm.authenticate_token(token)
    realm.close()


def test_a_wrong_password_gets_no_token(shop: Shell) -> None:
    status, out, err = shop("token", "acme", "shop", "alice", "--password-stdin", stdin="nope\n")
    assert status == 2
    assert out == ""
    assert err.startswith("baas-auth: error: ")
    assert "nope" not in err


def test_credentials_are_shown_once_and_regenerated(shop: Shell) -> None:
    creds = json.loads(shop.ok("create-credentials", "acme", "shop"))
    assert creds["organization"] == "acme"
    assert creds["application"] == "shop"
    org_creds = json.loads(shop.ok("create-credentials", "acme"))
    assert org_creds["application"] is None

    realm = shop.realm()
    old = realm.client_token(creds["client_id"], creds["client_secret"]).access_token
    fresh = json.loads(shop.ok("regenerate-credentials", creds["client_id"]))
    assert fresh["client_id"] == creds["client_id"]
    assert fresh["client_secret"] != creds["client_secret"]
    with pytest.raises(InvalidClientError):
        realm.client_token(creds["client_id"], creds["client_secret"])
    with pytest.raises(InvalidTokenError):
        realm.authenticate_token(old)
    assert realm.client_token(fresh["client_id"], fresh["client_secret"]).principal.app == "shop"
    org_grant = realm.client_token(org_creds["client_id"], org_creds["client_secret"])
    assert org_grant.principal.kind == "org_client"
    realm.close()


def test_admin_ttl_and_key_rotation(shop: Shell) -> None:
    assert "admin of acme" in shop.ok(
        "create-admin", "ann", "--org", "acme", "--password-stdin", stdin="pw-ann-secret\n"
    )
    assert "0 ms" in shop.ok("ttl", "acme", "shop", "0")
    realm = shop.realm()
    assert realm.admin_token("ann", "pw-ann-secret").principal.orgs == frozenset({"acme"})
    forever = realm.password_token("acme", "shop", "alice", "wonderland")
    assert forever.expires_in is None
    realm.close()
    assert "removed" in shop.ok("ttl", "acme", "shop", "none")

    first_kid = shop.ok("rotate-key").split()[-1]
    realm = shop.realm()
    assert realm.authenticate_token(forever.access_token).username == "alice"  # older key
    signed_with_first = realm.password_token("acme", "shop", "alice", "wonderland").access_token
    realm.close()
    second_kid = shop.ok("rotate-key").split()[-1]
    assert second_kid != first_kid
    realm = shop.realm()
    signed_with_second = realm.password_token("acme", "shop", "alice", "wonderland").access_token
    realm.retire_signing_key(first_kid)  # the printed kid is the key that signed
    with pytest.raises(InvalidTokenError):
        realm.authenticate_token(signed_with_first)
    assert realm.authenticate_token(signed_with_second).username == "alice"
    realm.close()


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["create-org", "acme"], "", "exists"),
        (["create-app", "nowhere", "shop"], "", "no organization"),
        (["grant", "acme", "shop", "get:/a/***", "--role", "default"], "", ""),
        (["create-user", "acme", "shop", "bob", "--password-stdin"], "\n", "password is empty"),
        (["regenerate-credentials", "YXA6nothing"], "", "client_id"),
        (["revoke-token"], "not-a-token\n", ""),
        (["create-role", "acme", "shop", "bad name"], "", ""),
    ],
)
def test_errors_are_one_line_and_exit_2(
    shop: Shell, argv: list[str], stdin: str, message: str
) -> None:
    status, out, err = shop(*argv, stdin=stdin)
    assert status == 2
    assert out == ""
    assert err.startswith("baas-auth: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert message in err


@pytest.mark.parametrize(
    "argv",
    [
        ["create-user", "acme", "shop", "bob", "--password", "secret"],  # never from argv
        ["grant", "acme", "shop", "get:/x"],  # no target
        ["grant", "acme", "shop", "get:/x", "--role", "a", "--user", "b"],  # two targets
        ["ttl", "acme", "shop", "soon"],
        ["demo", "--host", "bad host"],
    ],
)
def test_usage_errors_exit_2(shell: Shell, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(argv)
    assert exited.value.code == 2
    assert "usage: baas-auth" in shell.capsys.readouterr().err


def test_realm_option_before_or_after_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "one.db", tmp_path / "two.db"
    assert cli.main(["--realm", f"sqlite:///{first}", "create-org", "acme"]) == 0
    assert cli.main(["create-org", "globex", "--realm", f"sqlite:///{second}"]) == 0
    capsys.readouterr()
    for path, present, absent in ((first, "acme", "globex"), (second, "globex", "acme")):
        realm = Realm(SQLiteStore(path))
        assert realm.get_org(present).name == present
        assert cli.main(["--realm", f"sqlite:///{path}", "create-app", absent, "x"]) == 2
        realm.close()


def test_realm_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "env.db"
    monkeypatch.setenv("BAAS_REALM", f"sqlite:///{path}")
    assert cli.main(["create-org", "acme"]) == 0
    realm = Realm(SQLiteStore(path))
    assert realm.get_org("acme").name == "acme"
    realm.close()


def test_module_and_console_script_run(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "baas_auth", "--version"],
        capture_output=True, text=True, env=server_env(), cwd=tmp_path, timeout=60, check=True,
    )
    assert done.stdout.strip() == f"baas-auth {__version__}"
    script = shutil.which("baas-auth")
    assert script, "the baas-auth console script is installed with the package"
    done = subprocess.run(
        [script, "--realm", f"sqlite:///{tmp_path / 'x.db'}", "create-org", "acme"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "created organization acme" in done.stdout
