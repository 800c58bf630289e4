"""Shared fixtures: a fake clock, and realms over every store kind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from baas_auth import MemoryStore, PasswordHasher, Realm, SQLiteStore

settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

FAST_HASHER = PasswordHasher(n=16, r=1, p=1)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, ms: int) -> None:
        self.now += ms / 1000

    @property
    def ms(self) -> int:
        return int(self.now * 1000)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
def realm(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> Iterator[Realm]:
    store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "auth.db")
    realm = Realm(store, clock=clock, password_hasher=FAST_HASHER)
    yield realm
    realm.close()


@pytest.fixture
def shop(realm: Realm) -> Realm:
    """A realm with org acme, app shop (default roles) and user alice (password 'wonderland')."""
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password="wonderland", email="alice@example.com")
    return realm
