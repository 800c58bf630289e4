"""A store failure logged while nobody listened for events (no hook, the logger not enabled for
INFO) was not timed: its log line says nothing of a duration, rather than ``in ? ms``."""

from __future__ import annotations

import logging

import pytest

from tests.adapters.conftest import MakeCaller, World, bearer


def test_an_untimed_store_failure_states_no_duration(
    make: MakeCaller, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caller = make()
    token = world.token("alice")
    world.store.down = True
    with caplog.at_level(logging.WARNING, logger="baas_auth"):
        assert caller.get("/acme/shop/books", headers=bearer(token)).status_code == 503
    (line,) = [r.getMessage() for r in caplog.records if r.name == "baas_auth"]
    assert line.startswith("store failure (StoreError: the store is down), refused GET ")
    assert line.endswith(": 503 service_unavailable (anonymous)"), line
    assert "?" not in line


def test_a_timed_store_failure_states_its_duration(
    make: MakeCaller, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caller = make(on_decision=lambda event: None)
    world.store.down = True
    with caplog.at_level(logging.WARNING, logger="baas_auth"):
        assert caller.get("/acme/shop/books").status_code == 503
    (line,) = [r.getMessage() for r in caplog.records if r.name == "baas_auth"]
    assert line.endswith(" ms"), line
