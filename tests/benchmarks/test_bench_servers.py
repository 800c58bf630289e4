"""The real-server benchmark harness (benchmarks/bench_servers.py) runs end to end, and a target
that answers anything but 200 is reported as an error, never as a figure.

The end-to-end run is tiny (a fraction of a second per target, the Python client, no pinning):
it checks the report's shape and that every response was a 200, never how fast anything was.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"
HARNESS = BENCHMARKS / "bench_servers.py"
RUN_DEADLINE_S = 60  # the run takes a few seconds; a hung server must not hang the suite
TARGETS = (
    "uvicorn-asgi:bare",
    "uvicorn-asgi:memory",
    "uvicorn-asgi:memory-jwt",
    "gunicorn-wsgi:sqlite",
    "gunicorn-wsgi:sqlite-jwt",
)
"""A memory realm (seeded by the server, token handed over in a file) and a SQLite one (seeded
by the harness), on both servers, each also with an identity provider's JWT as the bearer;
gunicorn's bare app is not run, so its targets have no ratio."""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("bench") / "servers.json"
    only = [option for key in TARGETS for option in ("--only", key)]
    line = [sys.executable, str(HARNESS), *only, "--client", "python", "--no-pin"]
    line += ["--seconds", "0.3", "--warmup", "0.2", "--rounds", "2", "--connections", "2"]
    returncode, errors = _run([*line, "--json", str(out)])
    assert returncode == 0, errors
    loaded: dict[str, Any] = json.loads(out.read_text())
    return loaded


def _run(line: list[str]) -> tuple[int, str]:
    """Run the harness in a session of its own: past the deadline, it and the servers it
    started are killed together, none left behind."""
    harness = subprocess.Popen(
        line,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, errors = harness.communicate(timeout=RUN_DEADLINE_S)
    except subprocess.TimeoutExpired:
        os.killpg(harness.pid, signal.SIGKILL)
        _, errors = harness.communicate()
        pytest.fail(f"the harness did not finish within {RUN_DEADLINE_S} s:\n{errors}")
    return harness.returncode, errors


def test_the_report_has_the_shape_run_py_reads(report: dict[str, Any]) -> None:
    assert report["results"] == []  # run.py aggregates the in-process modules' rows only
    meta = report["servers"]["meta"]
    assert meta["client"] == "python http.client"
    assert meta["plan"] == {
        "seconds": 0.3,
        "warmup": 0.2,
        "rounds": 2,
        "connections": 2,
        "threads": 4,
    }
    assert meta["pinning"] == {"server_cpu": None, "client_cpu": None}
    assert {"uvicorn", "gunicorn"} <= set(meta["versions"])
    assert [row["key"] for row in report["servers"]["targets"]] == list(TARGETS)


def test_every_response_was_a_200(report: dict[str, Any]) -> None:
    for row in report["servers"]["targets"]:
        assert row["error"] is None, row
        samples = [row["warmup"], *row["rounds"]]
        assert len(samples) == 3
        for sample in samples:
            assert sample["requests"] > 0
            assert (sample["not_200"], sample["socket_errors"]) == (0, 0)
        assert row["requests"] == sum(sample["requests"] for sample in row["rounds"])


def test_ratios_are_to_the_bare_app_of_the_same_server(report: dict[str, Any]) -> None:
    rows = {row["key"]: row for row in report["servers"]["targets"]}
    assert rows["uvicorn-asgi:bare"]["ratio"] == 1.0
    wrapped, bare = rows["uvicorn-asgi:memory"], rows["uvicorn-asgi:bare"]
    expected = [
        mine["rate"] / theirs["rate"]
        for mine, theirs in zip(wrapped["rounds"], bare["rounds"], strict=True)
    ]
    assert wrapped["round_ratios"] == pytest.approx(expected, rel=1e-3)
    assert "ratio" not in rows["gunicorn-wsgi:sqlite"]  # no gunicorn bare app in this run
    assert rows["gunicorn-wsgi:sqlite"]["rate"] > 0


# -- the figures, without servers ------------------------------------------------------------------


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """bench_servers imported as the benchmarks import each other (benchmarks/ on sys.path)."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench_servers

    return bench_servers


def test_a_target_answering_other_than_200_has_an_error_and_no_figure(
    harness: ModuleType,
) -> None:
    bare, wrapped = harness.TARGETS[0], harness.TARGETS[1]
    good = harness.Sample(1000, 1.0, 0, 0, 500.0, 900.0, 0.9, 0.9)
    refused = harness.Sample(1000, 1.0, 3, 0, 500.0, 900.0, 0.9, 0.9)
    outcomes = [harness.Outcome(bare), harness.Outcome(wrapped)]
    for outcome, second in zip(outcomes, (good, refused), strict=True):
        for number, sample in enumerate((good, second), start=1):
            outcome.rounds.append(sample)
            outcome.check(sample, f"round {number}")
    rows = harness.summary(outcomes)
    assert rows[0]["error"] is None
    assert rows[0]["rate"] == 1000.0
    assert rows[1]["error"] == (
        "round 2: 3 answers other than 200, 0 socket errors, 1000 responses"
    )
    assert "rate" not in rows[1]
    assert "ratio" not in rows[1]
    assert "**error**: round 2" in harness.markdown(rows)


def test_a_dropped_connection_is_an_error_too(harness: ModuleType) -> None:
    outcome = harness.Outcome(harness.TARGETS[1])
    outcome.check(harness.Sample(1000, 1.0, 0, 1, 500.0, 900.0), "warm-up")
    assert outcome.error == "warm-up: 0 answers other than 200, 1 socket errors, 1000 responses"
    no_answer = harness.Outcome(harness.TARGETS[1])
    no_answer.check(harness.Sample(0, 1.0, 0, 0, 0.0, 0.0), "round 1")
    assert no_answer.error is not None
