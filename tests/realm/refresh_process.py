"""One process of the cross-process refresh race: opens its own ``Realm`` on a shared store,
waits at the barrier with the others, refreshes with the one refresh token, and reports
``won`` or ``refused`` on the queue (run by ``multiprocessing`` with the spawn method)."""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from baas_auth import Realm, SQLiteStore, Store
from baas_auth.errors import InvalidGrantError


def _store(kind: str, where: str, prefix: str) -> Store:
    if kind == "sqlite":
        return SQLiteStore(where)
    from baas_auth.stores.redis import RedisStore

    return RedisStore(where, prefix=prefix)


def refresh_once(
    kind: str, where: str, prefix: str, token: str, barrier: Barrier, results: Queue[str]
) -> None:
    realm = Realm(_store(kind, where, prefix))
    try:
        realm.list_orgs()  # the realm's keys loaded before the race, not in it
        barrier.wait(timeout=60)
        try:
            realm.refresh_token("acme", "shop", token)
            results.put("won")
        except InvalidGrantError:
            results.put("refused")
    finally:
        realm.close()
