"""Store backends: the ``Store`` protocol and its in-memory and SQLite implementations.

The Redis store lives in ``baas_auth.stores.redis``: importing this package never needs redis.
"""

from __future__ import annotations

from baas_auth.stores.memory import MemoryStore
from baas_auth.stores.protocols import AsyncStore, Store, TokenLookup
from baas_auth.stores.sqlite import SQLiteStore

__all__ = ["AsyncStore", "MemoryStore", "SQLiteStore", "Store", "TokenLookup"]
