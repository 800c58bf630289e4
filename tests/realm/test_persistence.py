"""A SQLite realm: secrets at rest, sharing one file between processes, failing closed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from baas_auth import Realm, SQLiteStore
from baas_auth.errors import RevokedTokenError, StoreError
from tests.conftest import FAST_HASHER, FakeClock

ROOT = Path(__file__).resolve().parents[2]

_CHILD = """
import json, sys
from baas_auth import Realm, SQLiteStore, PasswordHasher
realm = Realm(SQLiteStore(sys.argv[1]), password_hasher=PasswordHasher(n=16, r=1, p=1))
action, token = sys.argv[2], sys.argv[3]
if action == "check":
    try:
        principal = realm.authenticate_token(token)
        allowed = realm.permits(principal, "GET", "/books/1", org="acme", app="shop")
        print(json.dumps({"user": principal.username, "allowed": allowed}))
    except Exception as exc:
        print(json.dumps({"error": getattr(exc, "error", type(exc).__name__)}))
elif action == "revoke":
    print(json.dumps({"revoked": realm.revoke_token(token)}))
elif action == "issue":
    print(json.dumps({"token": realm.password_token("acme", "shop", "alice", token).access_token}))
"""


def _child(db: Path, action: str, arg: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db), action, arg],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


@pytest.fixture
def sqlite_realm(tmp_path: Path) -> Realm:
    realm = Realm(SQLiteStore(tmp_path / "auth.db"), password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user(
        "acme", "shop", "alice", password="wonderland-password", email="a@example.com"
    )
    return realm


def test_file_holds_no_secret_password_or_token(sqlite_realm: Realm, tmp_path: Path):
    creds = sqlite_realm.create_credentials("acme", "shop")
    grants = [
        sqlite_realm.password_token("acme", "shop", "alice", "wonderland-password"),
        sqlite_realm.client_token(creds.client_id, creds.client_secret),
    ]
    sqlite_realm.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("auth.db"))
    assert creds.client_id.encode() in raw  # the file was really read
    for secret in [creds.client_secret, "wonderland-password", *(g.access_token for g in grants)]:
        assert secret.encode() not in raw
        assert secret.encode("utf-16-le") not in raw


def test_issue_in_one_process_validate_and_revoke_in_another(sqlite_realm: Realm, tmp_path: Path):
    db = tmp_path / "auth.db"
    grant = sqlite_realm.password_token("acme", "shop", "alice", "wonderland-password")
    assert _child(db, "check", grant.access_token) == {"user": "alice", "allowed": True}
    sqlite_realm.revoke_grant("acme", "shop", "get,put,post,delete:/**", role="default")
    assert _child(db, "check", grant.access_token) == {"user": "alice", "allowed": False}
    assert _child(db, "revoke", grant.access_token) == {"revoked": True}
    with pytest.raises(RevokedTokenError):
        sqlite_realm.authenticate_token(grant.access_token)
    issued = _child(db, "issue", "wonderland-password")["token"]
    assert sqlite_realm.authenticate_token(str(issued)).username == "alice"


def test_signing_key_is_created_once_and_shared(sqlite_realm: Realm, tmp_path: Path):
    second = Realm(SQLiteStore(tmp_path / "auth.db"), password_hasher=FAST_HASHER)
    grant = second.password_token("acme", "shop", "alice", "wonderland-password")
    assert sqlite_realm.authenticate_token(grant.access_token).username == "alice"


def test_rotation_in_one_realm_is_seen_by_another(sqlite_realm: Realm, tmp_path: Path):
    second = Realm(SQLiteStore(tmp_path / "auth.db"), password_hasher=FAST_HASHER)
    old = second.password_token("acme", "shop", "alice", "wonderland-password")
    old_kid = sqlite_realm.keys.current.kid
    sqlite_realm.rotate_signing_key()
    new = sqlite_realm.password_token("acme", "shop", "alice", "wonderland-password")
    assert second.authenticate_token(new.access_token).username == "alice"
    sqlite_realm.retire_signing_key(old_kid)
    with pytest.raises(Exception, match="corrupt"):
        second.authenticate_token(old.access_token)


class _BrokenStore:
    """A store whose every call fails, as a store that is down does."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.down = False

    def __getattr__(self, name: str) -> object:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: object, **kwargs: object) -> object:
            if self.down:
                raise StoreError("store is down")
            return attr(*args, **kwargs)

        return call


def test_a_store_that_is_down_raises_store_error_never_a_principal(clock: FakeClock):
    from baas_auth import MemoryStore

    store = _BrokenStore(MemoryStore())
    realm = Realm(store, clock=clock, password_hasher=FAST_HASHER)  # type: ignore[arg-type]
    realm.create_org("acme")
    realm.create_user("acme", "sandbox", "u", password="pw-secret")
    grant = realm.password_token("acme", "sandbox", "u", "pw-secret")
    principal = realm.authenticate_token(grant.access_token)
    store.down = True
    with pytest.raises(StoreError):
        realm.authenticate_token(grant.access_token)
    with pytest.raises(StoreError):
        realm.permits(principal, "GET", "/x", org="acme", app="sandbox")
    with pytest.raises(StoreError):
        realm.guest("acme", "sandbox")
    with pytest.raises(StoreError):
        realm.password_token("acme", "sandbox", "u", "pw-secret")


def test_open_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from baas_auth.errors import ConfigError

    assert type(Realm.open("memory:").store).__name__ == "MemoryStore"
    monkeypatch.chdir(tmp_path)
    Realm.open("sqlite:///relative.db", create=True).close()
    assert (tmp_path / "relative.db").exists()
    Realm.open("sqlite:///relative.db").close()  # an existing file needs no create=True
    absolute = tmp_path / "abs.db"
    Realm.open(f"sqlite:///{absolute}", create=True).close()
    assert absolute.exists()
    for bad in ("postgres://x", "sqlite://", "sqlite:///", ""):
        with pytest.raises(ConfigError):
            Realm.open(bad)


def test_open_refuses_to_make_a_sqlite_file_without_create(tmp_path: Path) -> None:
    """Setting up an empty store is an explicit act (behaviour §7), for ``Realm.open`` as for
    the command line: a missing file is a ConfigError that says how, and no file is made."""
    from baas_auth.errors import ConfigError

    missing = tmp_path / "new.db"
    with pytest.raises(ConfigError, match=r"create=True"):
        Realm.open(f"sqlite:///{missing}")
    assert not missing.exists()
    realm = Realm.open(f"sqlite:///{missing}", create=True)
    assert realm.list_orgs() == []
    realm.close()
    assert missing.exists()
