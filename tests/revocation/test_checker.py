"""The revocation checker (``checker``): remembered decisions never admit what a fresh decision
refuses (behaviour §3, §5, §7), on every store, adapter and cache state, under threads, processes,
a staleness window and a Redis restored from an older snapshot.

* Every scenario hunts for its share of the budget (``BAAS_CHECKER_BUDGET_S``; CI's is fixed),
  in one process of their own, so that a crash of the served process (a signal) is a failure
  reported with the seed, not the end of the test session.
* Short histories written by hand pin what the hunt found on Redis restored from a snapshot.
* Known-bad code put back (``injected``) is found: the checker finds what it exists to find.
"""

from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.revocation.checker import (
    SCENARIOS,
    Report,
    Resources,
    Scenario,
    budget_s,
    child_env,
    first_seed,
    hunt,
    resources,
    run_history,
)
from tests.revocation.injected import (
    Gap,
    RacySQLiteStore,
    counter_only_bump,
    family_end_keeps_tokens,
)
from tests.revocation.world import History, Request, Step, StepKind, Write

REDIS_ADAPTERS = ["wsgi", "asgi", "asgi-async"]
INJECTED_HUNT_S = 30.0
"""Longest the hunt for an injected bug may take (it takes a few seconds)."""


def test_every_answer_agrees_with_a_fresh_decision() -> None:
    """Every scenario for its share of the budget, in one process of their own (the command
    prints each one's summary, and for a failure the seed and a minimal history)."""
    command = [sys.executable, "-W", "error", "-m", "tests.revocation"]
    command += ["--seconds", str(budget_s()), "--seed", str(first_seed())]
    command += ["--shrink-seconds", str(budget_s() / len(SCENARIOS))]
    done = subprocess.run(command, env=child_env(), capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    if done.returncode < 0:
        died = signal.Signals(-done.returncode).name
        pytest.fail(f"the checker's process died of {died} (seed {first_seed()}):\n{output}")
    assert done.returncode == 0, output


# -- a Redis restored from an older snapshot ------------------------------------------------------

K = Request("alice#0", "/books/1")
"""The request whose admission is remembered, then must be refused."""
OTHER = Request("bob#0", "/books/1")


def _step(kind: StepKind, write: Write | None = None, tick_ms: int = 0, *sent: Request) -> Step:
    """A step of a hand-written history: the first worker sends ``sent``, the second nothing."""
    return Step(kind, write, tick_ms, (sent, ()))


def _window_passes() -> Step:
    return _step("tick", None, 301)


ROLLBACK_THEN_REVOKE = (
    _step("snapshot"),
    _step("write", Write("unrelated", "extra1")),  # the stamp moves once
    _window_passes(),
    _step("tick", None, 0, K, K, K),  # admitted, remembered under the stamp
    _step("restart"),  # the stamp goes back to the snapshot's
    _step("write", Write("revoke_token", "alice#0")),  # ... and moves once again
    _window_passes(),
    _step("tick", None, 0, OTHER, K, K),  # the stamp read again: the one K was remembered under
)
"""The stamp a process remembered an admission under comes back after a restore, and with it
the admission of a token revoked since."""

ROLLBACK_OF_AN_ISSUED_TOKEN = (
    _step("snapshot"),
    _step("write", Write("issue", "alice#1")),  # after the snapshot: lost with the restore
    _step("tick", None, 0, Request("alice#1", "/books/1"), Request("alice#1", "/books/1")),
    _step("tick", None, 0, Request("alice#1", "/books/1")),
    _step("restart"),  # the token is gone with the writes after the snapshot
    _window_passes(),
    _step("tick", None, 0, OTHER, Request("alice#1", "/books/1"), Request("alice#1", "/books/1")),
)
"""A token issued after the snapshot, admitted and remembered, then lost with the restore: had
issuing moved no stamp, it would be remembered under the snapshot's stamp, which the restore
brings back with the token gone. Issuing moves the Redis stamp, so the admission is decided
afresh: behaviour §7, "whatever was remembered before the loss is decided afresh"."""


@pytest.fixture(scope="module")
def shared() -> Iterator[Resources]:
    """One redis-server and one writer process for the tests of this module."""
    with resources() as made:
        yield made


def _run_rollback(
    shared: Resources, scenario: Scenario, adapter: str, steps: tuple[Step, ...]
) -> list[str]:
    history = History(0, adapter, 300, steps)
    findings, _ = run_history(scenario, history, shared)
    return [finding.describe() for finding in findings]


@pytest.mark.parametrize("adapter", REDIS_ADAPTERS)
def test_a_revocation_after_a_restore_from_an_older_snapshot_applies(
    shared: Resources, adapter: str
) -> None:
    found = _run_rollback(shared, SCENARIOS["redis-rollback"], adapter, ROLLBACK_THEN_REVOKE)
    assert found == []


@pytest.mark.parametrize("adapter", REDIS_ADAPTERS)
def test_a_token_lost_with_a_restore_is_not_admitted_from_memory(
    shared: Resources, adapter: str
) -> None:
    scenario = SCENARIOS["redis-rollback"]
    assert _run_rollback(shared, scenario, adapter, ROLLBACK_OF_AN_ISSUED_TOKEN) == []


@pytest.mark.parametrize("adapter", REDIS_ADAPTERS)
def test_within_the_window_an_older_state_is_accepted_and_not_after(
    shared: Resources, adapter: str
) -> None:
    """The model's window, both ways, on the real code: at the window's edge the remembered
    admission is an answer the model accepts; a millisecond later it must be refused."""
    steps = (
        _window_passes(),
        _step("tick", None, 0, K, K, K),
        _step("write", Write("revoke_token", "alice#0")),
        _step("tick", None, 300, K),
        _step("tick", None, 1, K),
    )
    history = History(0, adapter, 300, steps)
    findings, sent = run_history(SCENARIOS["redis-window"], history, shared)
    assert findings == []
    assert sent == 5


# -- known-bad code is found ----------------------------------------------------------------------


def _violations(report: Report) -> list[str]:
    return [finding.describe() for finding in report.findings if finding.violation]


@pytest.fixture
def gap() -> Gap:
    return Gap()


def test_the_checker_finds_a_stamp_published_before_its_epoch_moves(
    shared: Resources, gap: Gap
) -> None:
    """``SQLiteStore.change_stamp`` once published the WAL-index header it had seen before it
    advanced its epoch: a second thread in between answered the old epoch, and a token revoked
    by another connection was admitted from memory."""
    scenario = SCENARIOS["sqlite-threads"]
    wsgi_only = dataclasses.replace(scenario.shape, adapters=("wsgi",))
    report = hunt(
        dataclasses.replace(scenario, shape=wsgi_only),
        seconds=INJECTED_HUNT_S,
        first_seed=first_seed(),
        served_sqlite=lambda path: RacySQLiteStore(path, gap),
        until_violation=True,
        shared=shared,
    )
    assert _violations(report), report.summary()
    assert gap.crossed, "a thread read the stamp between the two steps"


@pytest.mark.parametrize("adapter", REDIS_ADAPTERS)
def test_the_checker_finds_a_stamp_that_goes_back_with_a_restored_snapshot(
    shared: Resources, adapter: str
) -> None:
    """The Redis change stamp as a plain counter: restored from an older snapshot it goes back,
    and writes bring it to the value an admission was remembered under."""
    scenario = dataclasses.replace(SCENARIOS["redis-rollback"], injected=("counter-only-bump",))
    with counter_only_bump():
        found = _run_rollback(shared, scenario, adapter, ROLLBACK_THEN_REVOKE)
    assert any(line.startswith("VIOLATION") for line in found), found


@pytest.mark.parametrize("name", ["memory-threads", "sqlite-process", "redis-process"])
def test_the_checker_finds_a_refresh_family_that_ends_without_revoking_its_tokens(
    shared: Resources, name: str
) -> None:
    """A replay, revoke-all, disabling, deleting or a new password ends a family: every access
    token it issued must be refused from then on, in every process (behaviour §9)."""
    scenario = dataclasses.replace(SCENARIOS[name], injected=("family-end-keeps-tokens",))
    with family_end_keeps_tokens():
        report = hunt(
            scenario,
            seconds=INJECTED_HUNT_S,
            first_seed=first_seed(),
            until_violation=True,
            shared=shared,
        )
    assert _violations(report), report.summary()
