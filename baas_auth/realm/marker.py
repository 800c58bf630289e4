"""Which realm a store holds: the realm marker, written once when a realm is set up, and the
checks that keep a process from serving a store that no longer holds its realm (behaviour §7,
"a lost store is a failure, not an empty realm").

A realm is set up by an explicit act only: ``Realm.open(url, create=True)``, or the first write
that creates something from nothing (the first org or admin user, an import, a key rotation).
Setting up stores the signing keys and the client-secret hashing key, brings the layout up to
date and writes the marker, a random id, last. A process remembers the marker of the realm it
serves (``RealmState.realm_id``) and reads it again whenever the store's generation moves; a
marker that is gone or different (the store emptied, flushed, restored without it, replaced by
another realm's data) is ``RealmLostError``: every request is refused with 503 until the realm
is back, and nothing is written meanwhile, so that a restore makes the process serve again
without a restart. A store set up before markers existed (keys, no marker) is marked when a
process opens it; one that a copy or restore is writing (``meta:copying`` in place of the
marker, ``baas_auth.stores.transfer``) is never claimed: it is refused as lost until the copy
puts the marker back. Pure: no I/O here.
"""

from __future__ import annotations

import secrets

from baas_auth.errors import RealmLostError, StoreError
from baas_auth.realm.keys import (
    holds_keys,
    load_key_ring,
    provisional_ring,
    store_keys,
)
from baas_auth.realm.layout import upgrade_layout
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, create, get, scan

__all__ = ["COPYING_KEY", "REALM_KEY", "check_realm", "open_realm", "set_up_realm"]

REALM_KEY = "meta:realm"
COPYING_KEY = "meta:copying"
"""Held in place of the marker by a store a copy or restore is writing: the realm copied."""


def open_realm(state: RealmState) -> Flow[None]:
    """A realm's first flow: serve the realm its store holds (upgrading a store written by 0.1,
    marking one set up before markers), or, in a store that holds none, set one up if the realm
    was opened with ``create``; else hold provisional keys in memory and write nothing."""
    marker = yield from get(REALM_KEY)
    if marker is None:
        yield from _not_being_copied()
    if marker is None and (yield from _holds_a_realm()):
        ring = provisional_ring(state.settings.signing_keys)
        yield from store_keys(ring, state.now_ms())  # any missing
        marker = yield from _mark()
    if marker is None:
        if state.create:
            yield from set_up_realm(state)
        elif state.keys is None:
            state.keys = provisional_ring(state.settings.signing_keys)
        return
    yield from upgrade_layout()
    state.keys = yield from load_key_ring(state.settings.signing_keys)
    state.realm_id = marker


def set_up_realm(state: RealmState) -> Flow[None]:
    """Set up a store that holds no realm, before a write that creates something from
    nothing. The keys held provisionally become the realm's; where another process set the
    realm up first, its keys and marker win, and this process serves that realm. A process
    that serves a realm only checks that the store still holds it (``RealmLostError``): it
    never writes into a store that lost its realm."""
    if state.realm_id is not None:
        yield from check_realm(state)
        return
    yield from _not_being_copied()
    ring = state.keys or provisional_ring(state.settings.signing_keys)
    yield from store_keys(ring, state.now_ms())
    yield from upgrade_layout()
    marker = yield from _mark()
    state.keys = yield from load_key_ring(state.settings.signing_keys)
    state.realm_id = marker


def check_realm(state: RealmState) -> Flow[None]:
    """Read the marker again (the generation moved, or a key id is unknown): the realm this
    process serves must still be there; a realm set up since by another process is served
    from now on."""
    marker = yield from get(REALM_KEY)
    if state.realm_id is None:
        if marker is not None:
            state.keys = yield from load_key_ring(state.settings.signing_keys)
            state.realm_id = marker
        return
    if marker != state.realm_id:
        cause = "its realm marker is gone" if marker is None else "it holds another realm"
        raise RealmLostError(
            f"the store no longer holds the realm this process was serving ({cause}: emptied,"
            " flushed or replaced); restore its data to serve again, no restart needed"
        )


def _not_being_copied() -> Flow[None]:
    """Refuse a store without a marker that a copy or restore is writing (or left half
    written): setting it up, or marking it as a store set up before markers, would give it a
    realm of its own, and the copy of the realm it is getting would then be refused."""
    if (yield from get(COPYING_KEY)) is not None:
        raise RealmLostError(
            "the store is being written by a copy or restore (or one was interrupted): it"
            " serves once that copy is complete (run it again to complete it)"
        )


def _holds_a_realm() -> Flow[bool]:
    """Whether a store without a marker holds a realm all the same: one set up before markers
    (its keys), or written by 0.1 (its orgs or admin users). Read once, when a process opens a
    store that has no marker."""
    if (yield from holds_keys()):
        return True
    return bool((yield from scan("org:"))) or bool((yield from scan("admin:")))


def _mark() -> Flow[bytes]:
    """Write the marker (a process that got there first wins) and return the one stored."""
    yield from create(REALM_KEY, secrets.token_hex(16).encode("ascii"))
    marker = yield from get(REALM_KEY)
    if marker is None:
        raise StoreError("the store lost the realm marker as it was written")
    return marker
