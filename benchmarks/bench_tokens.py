"""Cost of tokens: verifying one (format, MAC, expiry), authenticating one through the Realm on
the memory and SQLite stores, refusing a tampered one, and issuing one with a password grant.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from _realms import COLD_POOL, FAST_HASHER, PASSWORD, Seeded, more_tokens, seeded, tampered
from _timing import Report, Settings, cli, measure, repeat, result

from baas_auth import InvalidTokenError, PasswordHasher
from baas_auth.core.tokens import SigningKey, issue_token, verify_token


class SanityError(RuntimeError):
    """A call answered wrongly; its timing would measure a broken path."""


def _refused(call: Callable[[], object]) -> Callable[[], None]:
    """``call``, which must raise ``InvalidTokenError`` every time."""

    def refused() -> None:
        try:
            call()
        except InvalidTokenError:
            return
        raise SanityError("a tampered or revoked token was accepted")

    return refused


def _add(
    report: Report, name: str, call: Callable[[], object], settings: Settings, **params: object
) -> None:
    report.add(result("tokens", name, measure(repeat(call), settings), **params))


def verify_rows(settings: Settings, report: Report) -> None:
    """The pure core: ``tokens.verify_token`` with one key, no store."""
    key = SigningKey.generate()
    keys = {key.kid_bytes: key}
    now = int(time.time() * 1000)
    token, token_id = issue_token(key, expires_at_ms=now + 3_600_000)
    if verify_token(token, keys, now_ms=now).token_id != token_id:
        raise SanityError("verify_token returned another token id")
    _add(
        report,
        "tokens.verify_token (format + MAC + expiry)",
        lambda: verify_token(token, keys, now_ms=now),
        settings,
        store="none",
    )
    bad = tampered(token)
    _add(
        report,
        "tokens.verify_token, tampered token (raises)",
        _refused(lambda: verify_token(bad, keys, now_ms=now)),
        settings,
        store="none",
    )


def realm_rows(kind: str, seed: Seeded, settings: Settings, report: Report) -> None:
    realm = seed.realm
    if realm.authenticate_token(seed.token).username != "alice":
        raise SanityError("authenticate_token returned another principal")
    _add(
        report,
        f"Realm.authenticate_token, valid, seen before, {kind} store",
        lambda: realm.authenticate_token(seed.token),
        settings,
        store=kind,
    )
    bad = tampered(seed.token)
    _add(
        report,
        f"Realm.authenticate_token, tampered (refused), {kind} store",
        _refused(lambda: realm.authenticate_token(bad)),
        settings,
        store=kind,
    )
    _add(
        report,
        f"Realm.authenticate_token, revoked (refused), {kind} store",
        _refused(lambda: realm.authenticate_token(seed.revoked_token)),
        settings,
        store=kind,
    )


def cold_rows(seed: Seeded, settings: Settings, report: Report) -> None:
    """A valid token this process has not seen (nor verified, nor decoded) before."""
    pool = itertools.cycle(more_tokens(seed, COLD_POOL))
    authenticate = seed.realm.authenticate_token
    _add(
        report,
        f"Realm.authenticate_token, valid, not seen before ({COLD_POOL:,} tokens), memory store",
        lambda: authenticate(next(pool)),
        settings,
        store="memory",
    )


def issue_rows(settings: Settings, report: Report) -> None:
    """The password grant: scrypt with the default cost, then with the lowered test cost."""
    for label, hasher in (
        (f"default PasswordHasher() (scrypt n={PasswordHasher().n}, r=8)", PasswordHasher()),
        ("lowered test hasher (n=16, r=1)", FAST_HASHER),
    ):
        _add(
            report,
            f"Realm.password_token, {label}",
            _password_grant(seeded("memory", hasher)),
            settings,
            store="memory",
            hasher=label,
        )


def _password_grant(seed: Seeded) -> Callable[[], object]:
    return lambda: seed.realm.password_token("acme", "shop", "alice", PASSWORD)


def run(settings: Settings, report: Report) -> None:
    verify_rows(settings, report)
    memory = seeded("memory")
    realm_rows("memory", memory, settings, report)
    realm_rows("sqlite", seeded("sqlite"), settings, report)
    issue_rows(settings, report)
    cold_rows(memory, settings, report)  # last: its many live tokens slow every collection


if __name__ == "__main__":
    cli(run)
