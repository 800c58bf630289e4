"""Imported (legacy) password hashes under the same guards as the realm's own (behaviour §6.2):
a fast md5 check must not tell a known account from an unknown one by its speed, the check runs
where the KDF runs (off the event loop), and the lock applies before the hash is looked at."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from baas_auth import MemoryStore, PasswordHasher, Realm
from baas_auth.core.legacy_hashes import verify_password
from baas_auth.errors import InvalidGrantError, TooManyRequestsError
from baas_auth.realm import flows
from baas_auth.realm.drivers import Driver
from baas_auth.realm.store_commands import Command, Offload
from tests.conftest import FakeClock
from tests.security.test_password_grants import CountingHasher
from tests.usergrid_export import export_document, user

PASSWORD = "legacy-password"
WRONG = "not-the-password"


class RecordingDriver(Driver):
    """The blocking driver, noting what each flow hands off as slow work."""

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.offloaded: list[object] = []

    def execute(self, command: Command) -> object:
        if isinstance(command, Offload):
            self.offloaded.append(command.function)
        return super().execute(command)


@pytest.fixture
def realm(clock: FakeClock) -> Realm:
    realm = Realm(MemoryStore(), clock=clock, password_hasher=CountingHasher(n=16, r=1, p=1))
    realm.import_identities(export_document([user("alice", "md5", PASSWORD)]))
    CountingHasher.checks = 0
    return realm


@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_a_legacy_check_costs_the_scrypt_an_unknown_account_costs(realm: Realm, username: str):
    with pytest.raises(InvalidGrantError):
        realm.password_token("acme", "shop", username, WRONG)
    assert CountingHasher.checks == 1


def test_a_legacy_check_is_slow_work_handed_to_the_driver(realm: Realm):
    driver = RecordingDriver(realm.store)
    driver.run(flows.password_token(realm.state, "acme", "shop", "alice", PASSWORD, 0))
    assert driver.offloaded[0] is verify_password
    assert driver.offloaded[1] == realm.password_hasher.hash  # the re-hash, off the loop too


def test_a_locked_legacy_account_is_refused_before_its_hash_is_checked(realm: Realm):
    for _ in range(5):
        with pytest.raises(InvalidGrantError):
            realm.password_token("acme", "shop", "alice", WRONG)
    checks = CountingHasher.checks
    with pytest.raises(TooManyRequestsError):
        realm.password_token("acme", "shop", "alice", PASSWORD)
    assert CountingHasher.checks == checks


def test_a_damaged_legacy_hash_matches_no_password():
    hasher = PasswordHasher(n=16, r=1, p=1)
    unreadable = base64.urlsafe_b64encode(b"$2a$99$x").decode().rstrip("=")  # "Invalid salt"
    damaged_bcrypt = f"usergrid$bcrypt$${unreadable}"
    for stored in ("usergrid$md5", "usergrid$md5$!!$x", "usergrid$rot13$$abc", "usergrid$md5$$",
                   damaged_bcrypt, "usergrid$bcrypt$$!!"):
        assert not verify_password(hasher, "", stored)
        assert not verify_password(hasher, PASSWORD, stored)
