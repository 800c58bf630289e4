"""``baas-auth copy``, ``backup`` and ``restore`` on real SQLite files and a real redis-server.

A realm moved from SQLite to Redis serves the same users through the WSGI adapter: a password
grant, and a token issued on the source before the move. Copying twice changes nothing; a
destination holding another realm is refused (exit 1, untouched) unless ``--force``; a backup
file is 0600 and a damaged one is refused before anything is written; a copy failing half way
exits 1 with the store's message and a re-run completes it. Nothing secret is ever printed.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from baas_auth import Realm, SQLiteStore
from baas_auth.errors import StoreError
from baas_auth.stores.redis import RedisStore
from baas_auth.stores.transfer import COPYING_KEY, REALM_KEY
from tests.adapters.conftest import Caller, bearer
from tests.conftest import FAST_HASHER, fresh_prefix
from tests.integration.cli_runner import Cli
from tests.redis_server import RedisServer

PASSWORD = "correct horse battery"


def _seed(folder: Path) -> dict[str, str]:
    """realm.db in ``folder``: acme/shop, alice, a client, alice's token."""
    realm = Realm(SQLiteStore(folder / "realm.db"), password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password=PASSWORD)
    creds = realm.create_credentials("acme", "shop")
    token = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    realm.close()
    return {"token": token, "client_id": creds.client_id, "client_secret": creds.client_secret}


def _redis_url(server: RedisServer) -> tuple[str, str]:
    prefix = fresh_prefix()
    return f"{server.url}?prefix={prefix}", prefix


def _secrets_in(folder: Path, extra: dict[str, str]) -> list[str]:
    """What must never be printed: every record value of the realm (password hashes, secret
    hashes, keys) but the realm marker (its id, printed), the client secret, the token."""
    with closing(sqlite3.connect(folder / "realm.db")) as conn:
        values = [bytes(v) for (v,) in conn.execute(
            "SELECT value FROM records WHERE key != 'meta:realm'")]
    found = [value.decode("latin-1") for value in values if len(value) >= 16]
    found += [base64.b64encode(value).decode() for value in values if len(value) >= 16]
    return [*found, extra["client_secret"], extra["token"]]


def _no_secret(text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def test_a_realm_moved_from_sqlite_to_redis_serves_the_same_users(
    cli: Cli, tmp_path: Path, redis_server: RedisServer
) -> None:
    secrets = _seed(tmp_path)
    url, prefix = _redis_url(redis_server)
    done = cli("--json", "copy", "sqlite:///realm.db", url)
    assert done.status == 0, done.err
    report = json.loads(done.out)
    assert report["tokens"] == 1
    assert report["records"] == report["records_written"] > 5
    _no_secret(done.out + done.err, [*_secrets_in(tmp_path, secrets), prefix, redis_server.url])
    store = RedisStore(redis_server.url, prefix=prefix)
    realm = Realm(store, password_hasher=FAST_HASHER)
    caller = Caller("wsgi", realm)
    answer = caller.get("/acme/shop/books", headers=bearer(secrets["token"]))
    assert answer.status_code == 200, answer.text  # a token issued on the source
    grant = caller.post(
        "/acme/shop/token",
        data={"grant_type": "password", "username": "alice", "password": PASSWORD},
    )
    assert grant.status_code == 200, grant.text
    answer = caller.get("/acme/shop/books", headers=bearer(grant.json()["access_token"]))
    assert answer.status_code == 200
    assert realm.client_token(secrets["client_id"], secrets["client_secret"]).access_token
    realm.close()
    again = cli.json("copy", "sqlite:///realm.db", url)  # twice: nothing to write
    assert (again["records_written"], again["tokens_written"]) == (0, 0)
    assert "nothing written" in cli.ok("copy", "sqlite:///realm.db", url)


def test_another_realm_is_refused_untouched_unless_forced(cli: Cli, tmp_path: Path) -> None:
    secrets = _seed(tmp_path)
    other = Realm(SQLiteStore(tmp_path / "other.db"), password_hasher=FAST_HASHER)
    other.create_org("globex")
    other.close()
    err = cli.fails("copy", "sqlite:///realm.db", "sqlite:///other.db")
    assert "holds another realm" in err
    assert "--force" in err
    with closing(SQLiteStore(tmp_path / "other.db")) as store:
        assert [k for k, _ in store.scan("org:")] == ["org:globex"]
    out = cli.json("copy", "--force", "sqlite:///realm.db", "sqlite:///other.db")
    assert out["records_removed"] >= 1
    with closing(SQLiteStore(tmp_path / "other.db")) as store:
        assert [k for k, _ in store.scan("org:")] == ["org:acme"]
    _no_secret(err, _secrets_in(tmp_path, secrets))


def test_memory_and_missing_sources_are_refused(cli: Cli, tmp_path: Path) -> None:
    _seed(tmp_path)
    assert "memory:" in cli.fails("copy", "memory:", "sqlite:///new.db", status=2)
    assert "memory:" in cli.fails("copy", "sqlite:///realm.db", "memory:", status=2)
    assert "no realm at absent.db" in cli.fails("copy", "sqlite:///absent.db", "sqlite:///n.db")
    assert "store URLs" in cli.fails("copy", "sqlite:///realm.db", "ftp://x", status=2)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("n.", "absent"))) == []


def test_backup_then_restore_into_a_new_store(cli: Cli, tmp_path: Path) -> None:
    secrets = _seed(tmp_path)
    done = cli("backup", "realm.backup")
    assert done.status == 0, done.err
    assert "readable by its owner only" in done.out
    _no_secret(done.out + done.err, _secrets_in(tmp_path, secrets))
    assert (tmp_path / "realm.backup").stat().st_mode & 0o777 == 0o600
    assert "exists already" in cli.fails("backup", "realm.backup")
    assert cli.json("backup", "--force", "realm.backup")["records"] > 5
    restored = Cli(tmp_path, "sqlite:///restored.db")
    report = restored.json("restore", "realm.backup")
    assert report["tokens"] == 1
    assert "alice" in restored.ok("list-users", "acme", "shop")
    with closing(SQLiteStore(tmp_path / "realm.db")) as a, closing(
        SQLiteStore(tmp_path / "restored.db")
    ) as b:
        assert a.scan("") == b.scan("")
        assert a.scan_tokens() == b.scan_tokens()
    realm = Realm(SQLiteStore(tmp_path / "restored.db"), password_hasher=FAST_HASHER)
    assert realm.authenticate_token(secrets["token"]).username == "alice"
    realm.close()


def test_a_damaged_backup_is_refused_and_no_store_is_made(cli: Cli, tmp_path: Path) -> None:
    _seed(tmp_path)
    cli.ok("backup", "realm.backup")
    data = (tmp_path / "realm.backup").read_bytes()
    (tmp_path / "realm.backup").write_bytes(data[: len(data) // 2])
    restored = Cli(tmp_path, "sqlite:///restored.db")
    assert "realm.backup" in restored.fails("restore", "realm.backup")
    assert not (tmp_path / "restored.db").exists()
    err = restored.fails("--json", "restore", "absent.backup")
    assert "no backup file" in json.loads(err)["message"]


def test_a_copy_failing_half_way_exits_1_and_a_re_run_completes_it(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from baas_auth.cli import transfer_cmds
    from baas_auth.stores.urls import open_store

    _seed(tmp_path)
    destination = SQLiteStore(tmp_path / "dest.db")
    destination.close()
    writes = {"left": 2}

    class Failing(SQLiteStore):
        def transact(self, **changes: object) -> bool:
            if writes["left"] == 0:
                raise StoreError("SQLite store: transact failed: disk I/O error")
            writes["left"] -= 1
            return super().transact(**changes)  # type: ignore[arg-type]

    def opening(url: str) -> object:
        if url.endswith("dest.db"):
            return Failing(tmp_path / "dest.db")
        return open_store(url)

    monkeypatch.setattr(transfer_cmds, "open_store", opening)
    err = cli.fails("copy", "sqlite:///realm.db", "sqlite:///dest.db")
    assert "disk I/O error" in err
    with closing(SQLiteStore(tmp_path / "dest.db")) as store:
        assert store.get(REALM_KEY) is None
        assert store.get(COPYING_KEY) is not None
    writes["left"] = 10**6
    cli.ok("copy", "sqlite:///realm.db", "sqlite:///dest.db")  # no --force needed
    with closing(SQLiteStore(tmp_path / "realm.db")) as a, closing(
        SQLiteStore(tmp_path / "dest.db")
    ) as b:
        assert a.scan("") == b.scan("")


def test_the_commands_run_as_the_console_script(cli: Cli, tmp_path: Path) -> None:
    _seed(tmp_path)
    real = cli.real()
    done = real("--json", "backup", "realm.backup")
    assert done.status == 0, done.err
    assert (tmp_path / "realm.backup").stat().st_mode & 0o777 == 0o600
    assert real("copy", "sqlite:///realm.db", "memory:").status == 2


def test_restore_refuses_another_realm_unless_forced(cli: Cli, tmp_path: Path) -> None:
    secrets = _seed(tmp_path)
    cli.ok("backup", "realm.backup")
    other = Cli(tmp_path, "sqlite:///other.db")
    other.ok("create-org", "globex")
    err = other.fails("restore", "realm.backup")
    assert "holds another realm" in err
    assert "globex" in other.ok("list-orgs")
    done = other("restore", "--force", "--no-tokens", "realm.backup")
    assert done.status == 0, done.err
    _no_secret(done.out + done.err + err, _secrets_in(tmp_path, secrets))
    assert "globex" not in other.ok("list-orgs")
    with closing(SQLiteStore(tmp_path / "other.db")) as store:
        assert store.scan_tokens() == []
