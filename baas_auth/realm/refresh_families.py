"""Refresh-token families (behaviour §9): their record, where it is kept, and how one ends.

A family is a transient record (``refresh-family:<id>``) naming its current refresh token, the
one before it and every token it issued; ``refresh:<hash>`` names the family of each refresh
token it issued, so a spent one is still recognised. Ending a family marks its record ended
(kept until the family's end, so its spent tokens stay refused) and revokes every token in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from baas_auth.core import records as rec
from baas_auth.errors import InvalidGrantError
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow
from baas_auth.realm.token_commands import delete_token, get_transient, swap_transient

__all__ = [
    "MAX_LIVE_ACCESS",
    "REFUSED",
    "FamilyRecord",
    "end_family",
    "end_family_of",
    "family_key",
    "live_members",
    "member",
    "newest",
    "refresh_key",
    "replayed",
]

REFUSED = "The refresh token is invalid, expired or revoked"
MAX_LIVE_ACCESS = 16
"""The most access tokens a family keeps live: a refresh beyond revokes the oldest. A client
that refreshes far more often than its access tokens expire would otherwise grow the record
that every refresh reads, checks and writes back (a chain of 500 quick refreshes cost 2 ms
each in that alone)."""
_END_ATTEMPTS = 8  # compare-and-swap rounds to mark a family ended; each loses only to a change


@dataclass(slots=True)
class FamilyRecord:
    """Every token issued from one password grant, and which refresh token is current."""

    org: str
    app: str
    subject: str
    username: str
    ends_ms: int
    current: str
    """The hash of the only refresh token that may be used now."""
    previous: str = ""
    previous_spent_ms: int = 0
    tokens: list[str] = field(default_factory=list)
    """Every access and refresh token of the family that may still be live, each as
    ``<hash> <expiry ms>`` (``member``; expiry 0: never): the ones spent or expired are dropped
    at each refresh, so a long family's record stays small."""
    ended: bool = False
    password: str = ""
    kind: Literal["app_user", "admin_user"] = "app_user"
    """Whose family it is: an app user's (``org``/``app`` its app) or an admin user's (both
    empty: an admin belongs to the realm)."""
    """A digest of the user's password hash at the grant: any change of password ends it."""


def member(token_id: str, expires_at_ms: int | None) -> str:
    """A token's entry in ``FamilyRecord.tokens``."""
    return f"{token_id} {expires_at_ms or 0}"


def live_members(members: list[str], now_ms: int, spent_id: str) -> list[str]:
    """The entries of tokens that may still be live: not ``spent_id``, not expired."""
    kept = []
    for entry in members:
        token_id, _, expiry = entry.partition(" ")
        never = not expiry.isdigit() or expiry == "0"  # unreadable: kept, to be revoked
        if token_id != spent_id and (never or int(expiry) > now_ms):
            kept.append(entry)
    return kept


def newest(live: list[str]) -> tuple[list[str], list[str]]:
    """The entries of the ``MAX_LIVE_ACCESS`` newest live access tokens (entries are in the
    order they were issued), and the ids of the older ones, to revoke."""
    cut = max(0, len(live) - MAX_LIVE_ACCESS)
    return live[cut:], [entry.partition(" ")[0] for entry in live[:cut]]


def family_key(family_id: str) -> str:
    return "refresh-family:" + family_id


def refresh_key(token_id: str) -> str:
    return "refresh:" + token_id


def replayed(
    key: str, family: FamilyRecord, presented: str, grace: int, now: int
) -> Flow[None]:
    """A refresh token presented that is not the current one: refused, and the family ended,
    unless it is the immediately previous one within the grace window (``grace`` ms)."""
    if grace > 0 and presented == family.previous and now - family.previous_spent_ms <= grace:
        raise InvalidGrantError(REFUSED)
    yield from end_family(key)
    raise InvalidGrantError(REFUSED)


def end_family_of(state: RealmState, token_id: str) -> Flow[bool]:
    """End the family of the refresh token ``token_id`` (RFC 7009 revocation of a refresh
    token); False when it is none."""
    named = yield from get_transient(refresh_key(token_id))
    if named is None:
        return False
    yield from end_family(family_key(rec.decode_text(named, "refresh family id")))
    return True


def end_family(key: str) -> Flow[None]:
    """Mark the family ended (kept until its end, so its spent tokens stay recognised), then
    revoke every token it issued."""
    for _ in range(_END_ATTEMPTS):
        raw = yield from get_transient(key)
        if raw is None:
            return
        family = rec.decode(FamilyRecord, raw)
        ended = rec.encode(replace(family, ended=True))
        expiry = family.ends_ms
        if family.ended or (yield from swap_transient(key, raw, ended, expires_at_ms=expiry)):
            for entry in family.tokens:
                yield from delete_token(entry.partition(" ")[0])
            return
    raise InvalidGrantError(REFUSED)  # the family kept changing: refused, never granted
