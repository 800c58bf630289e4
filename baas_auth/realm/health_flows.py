"""Whether the store answers: the check behind ``Realm.ping()`` and the middleware's health
path (behaviour §10). One store read, within the store's own timeout; and, for a process that serves
a realm, the realm marker read again, so a store that answers but lost its realm (flushed,
emptied) is not reported healthy. Pure: no I/O here, the realm's driver runs the flow.
"""

from __future__ import annotations

from baas_auth.realm.marker import check_realm
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow, generation

__all__ = ["ping"]


def ping(state: RealmState) -> Flow[None]:
    """Raise ``StoreError`` (``RealmLostError`` for a lost realm) unless the store answers.
    Starts nothing and writes nothing: a health check must not set a store up."""
    yield from generation()
    if state.realm_id is not None:
        yield from check_realm(state)
