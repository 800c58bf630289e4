"""Seeded realms for the benchmarks: org ``acme``, app ``shop`` (default roles), user ``alice``.

Seeding uses a lowered scrypt cost; password hashing is not on the per-request path.
"""

from __future__ import annotations

import base64
import tempfile
from dataclasses import dataclass
from pathlib import Path

from baas_auth import MemoryStore, PasswordHasher, Realm, SQLiteStore, Store

__all__ = ["COLD_POOL", "FAST_HASHER", "Seeded", "more_tokens", "seeded", "tampered"]

FAST_HASHER = PasswordHasher(n=16, r=1, p=1)
PASSWORD = "wonderland"
COLD_POOL = 60_000
"""Tokens to cycle through so that each request is one the realm has not seen: more than any
of its per-process caches holds (4,096 parsed requests, 20,000 verified tokens, 50,000 token
records per directory generation)."""


@dataclass(frozen=True, slots=True)
class Seeded:
    """A realm with one user, a valid token of that user, a revoked one, and org credentials."""

    realm: Realm
    token: str
    revoked_token: str
    basic_header: str
    """``Basic …`` value of the org's client credentials."""


def new_store(kind: str, folder: Path) -> Store:
    """A fresh ``memory`` or ``sqlite`` store (the file goes in ``folder``)."""
    if kind == "memory":
        return MemoryStore()
    return SQLiteStore(folder / "bench.db")


def temp_folder() -> Path:
    """A temporary folder that lives as long as the process (benchmarks exit soon after)."""
    return Path(tempfile.mkdtemp(prefix="baas-auth-bench-"))


def seeded(kind: str, hasher: PasswordHasher = FAST_HASHER, store: Store | None = None) -> Seeded:
    """A realm on a new ``memory`` or ``sqlite`` store (or on ``store``, empty), seeded as the
    module docstring says."""
    realm = Realm(store or new_store(kind, temp_folder()), password_hasher=hasher)
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password=PASSWORD)
    token = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    revoked = realm.password_token("acme", "shop", "alice", PASSWORD).access_token
    realm.revoke_token(revoked)
    creds = realm.create_credentials("acme")
    pair = f"{creds.client_id}:{creds.client_secret}".encode()
    return Seeded(realm, token, revoked, "Basic " + base64.b64encode(pair).decode("ascii"))


def tampered(token: str) -> str:
    """The token with one character of its random part changed: well-formed, wrong MAC."""
    index = 12
    replacement = "A" if token[index] != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


def more_tokens(seed: Seeded, count: int) -> tuple[str, ...]:
    """``count`` more valid tokens of alice."""
    grant = seed.realm.password_token
    return tuple(grant("acme", "shop", "alice", PASSWORD).access_token for _ in range(count))
