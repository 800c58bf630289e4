"""Fixtures for the store tests: ``store`` runs a test once against every store backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from baas_auth.stores import MemoryStore, SQLiteStore, Store

# A new backend joins the contract suite by adding its name here and a branch to make_store.
STORE_KINDS = ["memory", "sqlite"]


def make_store(kind: str, tmp_path: Path) -> Store:
    """A fresh, empty store of the given kind."""
    if kind == "memory":
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(tmp_path / "store.db")
    raise ValueError(f"unknown store kind {kind!r}")


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = make_store(request.param, tmp_path)
    yield opened
    opened.close()
