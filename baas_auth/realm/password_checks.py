"""Password grants under attack (behaviour §6.2), as flows: one check of an account's password at
a time per failure left before the lock, the others waiting their turn in order, and every
failure counted in the account's transient record.
"""

from __future__ import annotations

import secrets

from baas_auth.core import identifiers as ids
from baas_auth.core.hashing import keyed_digest
from baas_auth.core.legacy_hashes import verify_password
from baas_auth.core.throttle import Attempts
from baas_auth.errors import (
    InvalidGrantError,
    TooManyRequestsError,
)
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, announce, listen, offload, pause
from baas_auth.realm.token_commands import get_transient, swap_transient

__all__ = [
    "account_key",
    "check_password",
]


_TURN_STEPS = 20_000  # reads of one account's record by one grant, at most


_LOOK_AGAIN_MS = 50  # how often a waiting grant reads the record (other processes' changes)


def account_key(state: RealmState, scope: str, name: object, account_uuid: str | None) -> str:
    """Where an account's failed grants are counted: under its uuid, however it was named; an
    unknown name under a keyed hash of its folded form (so look-alike spellings share one
    count; it may be a password typed in the wrong box, and must not rest in the store as
    written)."""
    if account_uuid is not None:
        return f"throttle:{scope}:{account_uuid}"
    digest = keyed_digest(ids.fold(ids.text_or_empty(name)), state.ring().secret_key)
    return f"throttle:{scope}:#{digest}"


def check_password(
    state: RealmState, account: str, password: object, stored_hash: str | None
) -> Flow[None]:
    """Refuse a locked account (429), wait for a turn while the checks in flight take the
    budget, then check the password, in the same time whether the account exists or not; an
    unknown account (``stored_hash`` None) always fails."""
    ticket = yield from _take_turn(state, account)
    hasher = state.settings.password_hasher
    try:
        # An imported hash is checked under its own scheme, on the same pool as scrypt.
        given = ids.text_or_empty(password)
        matches = yield from offload(verify_password, hasher, given, stored_hash)
    except Exception:
        yield from _settle(state, account, ticket, succeeded=False)
        raise
    succeeded = matches and stored_hash is not None
    yield from _settle(state, account, ticket, succeeded=succeeded)
    if not succeeded:
        raise InvalidGrantError()


def _take_turn(state: RealmState, account: str) -> Flow[str | None]:
    """Reserve a check of the account's password (its ticket; None when nothing is
    throttled), waiting for the checks in flight when they take the budget (behaviour §6.2):
    woken when a grant of this process ends one, and looking again every few tens of
    milliseconds for those of other processes."""
    throttle = state.settings.login_throttle
    if throttle is None:
        return None
    ticket = secrets.token_urlsafe(12)
    waker = yield from listen(account)  # before the first read: no announcement is missed
    for _ in range(_TURN_STEPS):
        now = state.now_ms()
        raw = yield from get_transient(account)
        turn = throttle.take_turn(Attempts.decode(raw), ticket, now)
        changed = turn.state.encode()
        keep = throttle.keep_until_ms(now)
        if changed != raw and not (
            yield from swap_transient(account, raw, changed, expires_at_ms=keep)
        ):
            continue  # another grant changed the record meanwhile: decide again
        if turn.locked_ms:
            raise TooManyRequestsError(-(-turn.locked_ms // 1000))
        if turn.check:
            return ticket
        yield from pause(waker, _LOOK_AGAIN_MS)
    # Only a record that changed this often under one grant gets here.
    raise TooManyRequestsError(1)


def _settle(state: RealmState, account: str, ticket: str | None, *, succeeded: bool) -> Flow[None]:
    """Record how the check of ``ticket`` ended, and wake the grants waiting for it."""
    throttle = state.settings.login_throttle
    if throttle is None or ticket is None:
        return
    for _ in range(_TURN_STEPS):
        now = state.now_ms()
        raw = yield from get_transient(account)
        settled = throttle.settle(Attempts.decode(raw), ticket, now, succeeded=succeeded)
        changed = settled.encode()
        keep = throttle.keep_until_ms(now)
        if changed == raw or (yield from swap_transient(account, raw, changed, expires_at_ms=keep)):
            break
    yield from announce(account)
