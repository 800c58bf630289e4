"""The timing harness shared by every benchmark: warm-up, batch sizing, timed batches, median.

One measured thing is a ``run_batch(n)`` callable that makes ``n`` calls; the harness times whole
batches with ``perf_counter_ns`` after a ``gc.collect()`` and reports the median per-call time.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Report",
    "Result",
    "RunBatch",
    "Settings",
    "Timing",
    "cli",
    "measure",
    "repeat",
    "result",
]

RunBatch = Callable[[int], object]
# Fewer batches for slow calls keep the run short: 5 above 5 ms per call, 3 above 200 ms.
_SLOW = ((200_000_000, 3), (5_000_000, 5))
_WARMUP_BUDGET_NS = 100_000_000
_CALIBRATE_NS = 5_000_000


@dataclass(frozen=True, slots=True)
class Settings:
    """How hard to measure: the full run, or ``--quick``."""

    batches: int = 15
    target_ns: int = 50_000_000
    max_batch: int = 200_000
    warmup: int = 200

    @classmethod
    def pick(cls, quick: bool) -> Settings:
        return cls(batches=5, target_ns=20_000_000, warmup=50) if quick else cls()


@dataclass(frozen=True, slots=True)
class Timing:
    """The median per-call time of the timed batches, and what it was made of."""

    per_call_ns: float
    batch_size: int
    batch_ns: tuple[float, ...]
    """Per-call time of each batch, in the order they ran."""
    cpu_share: float
    """Process CPU time over wall time of the timed batches: well below 1, the machine was busy
    with other work (or the path waits on a thread or a lock)."""


@dataclass(frozen=True, slots=True)
class Result:
    """One measured variant, as written to JSON and aggregated by ``run.py``."""

    group: str
    name: str
    per_call_ns: float
    batch_size: int
    batches: int
    cpu_share: float
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _time_one(run_batch: RunBatch, n: int) -> int:
    start = time.perf_counter_ns()
    run_batch(n)
    return time.perf_counter_ns() - start


def _warm_up(run_batch: RunBatch, settings: Settings) -> int:
    """Run the warm-up (fewer calls when one call is slow); return the cost of the first call."""
    first = max(_time_one(run_batch, 1), 1)
    more = min(settings.warmup - 1, _WARMUP_BUDGET_NS // first)
    if more > 0:
        run_batch(more)
    return first


def _batch_size(run_batch: RunBatch, first_ns: int, settings: Settings) -> tuple[int, float]:
    """Grow a trial batch until it takes a few ms; size the real batch to ``target_ns``."""
    n, elapsed = 1, first_ns
    while elapsed < _CALIBRATE_NS and n < settings.max_batch:
        n = min(n * 8, settings.max_batch)
        elapsed = _time_one(run_batch, n)
    per_call = elapsed / n
    size = max(1, min(settings.max_batch, round(settings.target_ns / per_call)))
    return size, per_call


def measure(run_batch: RunBatch, settings: Settings) -> Timing:
    """Warm up, size the batches, then time ``settings.batches`` of them; median per call."""
    first = _warm_up(run_batch, settings)
    size, estimate = _batch_size(run_batch, first, settings)
    count = next((min(settings.batches, n) for ns, n in _SLOW if estimate > ns), settings.batches)
    samples: list[float] = []
    cpu = wall = 0
    for _ in range(count):
        gc.collect()
        cpu_start = time.process_time_ns()
        elapsed = _time_one(run_batch, size)
        cpu += time.process_time_ns() - cpu_start
        wall += elapsed
        samples.append(elapsed / size)
    return Timing(statistics.median(samples), size, tuple(samples), cpu / max(wall, 1))


def repeat(call: Callable[[], object]) -> RunBatch:
    """A ``run_batch`` that calls ``call`` n times."""

    def run_batch(n: int) -> None:
        for _ in range(n):
            call()

    return run_batch


def result(group: str, name: str, timing: Timing, **params: Any) -> Result:
    """A ``Result`` row for ``timing``."""
    return Result(
        group,
        name,
        timing.per_call_ns,
        timing.batch_size,
        len(timing.batch_ns),
        round(timing.cpu_share, 3),
        params,
    )


@dataclass(slots=True)
class Report:
    """What one benchmark module measured in one process, and what it could not measure."""

    results: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Result) -> None:
        self.results.append(row)
        print(
            f"  {row.group:12} {_human(row.per_call_ns):>12}  {row.name}",
            file=sys.stderr,
            flush=True,
        )

    def as_dict(self) -> dict[str, Any]:
        return {"results": [row.as_dict() for row in self.results], "notes": self.notes}


def _human(ns: float) -> str:
    if ns >= 1_000_000:
        return f"{ns / 1_000_000:,.2f} ms"
    return f"{ns / 1000:,.2f} us"


def cli(run: Callable[[Settings, Report], None]) -> None:
    """Run one benchmark module: ``--quick`` for a short run, ``--json PATH`` to save it."""
    parser = argparse.ArgumentParser(description=sys.modules["__main__"].__doc__)
    parser.add_argument("--quick", action="store_true", help="5 shorter batches per variant")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    args = parser.parse_args()
    report = Report()
    run(Settings.pick(args.quick), report)
    if args.json is not None:
        args.json.write_text(json.dumps(report.as_dict(), indent=1) + "\n")
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
