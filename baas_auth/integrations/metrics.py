"""Decision metrics for Prometheus and OpenTelemetry (behaviour §10): ``on_decision`` hooks
that count decisions by outcome, status and reason code, and time them.

``PrometheusMetrics`` needs ``prometheus_client`` (``pip install 'baas-auth[prometheus]'``),
``OpenTelemetryMetrics`` needs ``opentelemetry-api`` (``'baas-auth[otel]'``); each is imported
only when its class is used. Both are plain callables of a ``DecisionEvent``: pass one as
``on_decision=``, or call it from your own hook. Labels are bounded: ``decision`` (3 values),
``status`` (the few the middleware answers, ``-`` for an allow) and ``reason`` (a fixed set of
codes); never a path, a token, a username or a query value. The application (``org/app``) is a
label only when asked for (``by_app=True``), and only for a request whose principal was known,
so a scanner naming apps that do not exist adds no series. Health requests are no decisions
and are not counted (``docs/observability.md``, "Metrics").
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from baas_auth.middleware.decisions import DecisionEvent

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

__all__ = ["DURATION_BUCKETS_S", "OpenTelemetryMetrics", "PrometheusMetrics", "labels_of"]

DURATION_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
"""A decision takes tens of microseconds when remembered, milliseconds with a store round
trip, and more only for a password grant's hash or a slow store."""
_NO_APP = "-"
_NO_STATUS = "-"
_MS_PER_S = 1000.0
_DECISIONS = ("allow", "refuse", "answer")

Labels = tuple[str, str, str] | tuple[str, str, str, str]


def labels_of(event: DecisionEvent, by_app: bool) -> Labels:
    """``(decision, status, reason)``, and ``app`` with ``by_app``: what a decision is counted
    under. The app is ``-`` unless the request's principal was known (the app then exists)."""
    return _labels(_key_of(event, by_app))


Key = tuple[str, int | None, str] | tuple[str, int | None, str, str]
"""What a decision is counted under while counting: the status as the event has it (text only
when the counts are read, which is rarer than a decision)."""


class _DecisionTally:
    """The counting both exporters share, kept off the request path's critical work.

    A decision appends its key and its duration to lists, without a lock (a list's append is
    one atomic step); every ``FOLD_AT`` decisions, and before every read, the lists are folded
    into the counts under the lock, by C code (``Counter.update``, a sort). A fold takes the
    first ``n`` items and deletes exactly those, so a decision appended meanwhile waits for the
    next fold rather than being lost. The exporters' own objects are built only when read.
    """

    FOLD_AT = 4096
    """Decisions appended before a fold: bounds what waits (a few hundred KiB)."""

    def __init__(self, by_app: bool) -> None:
        self.by_app = by_app
        self._lock = threading.Lock()
        self._counts: Counter[Key] = Counter()
        self._keys: list[Key] = []
        self._durations: dict[str, list[float]] = {decision: [] for decision in _DECISIONS}

    def __call__(self, event: DecisionEvent) -> None:
        # Unpacked at once, not attribute by attribute: this runs on every request.
        principal, _method, _path, org, app, decision, status, reason, duration_ms = event
        key: Key
        if not self.by_app:
            key = (decision, status, reason)
        elif principal is None or org is None or app is None:
            key = (decision, status, reason, _NO_APP)
        else:
            key = (decision, status, reason, f"{org}/{app}")
        keys = self._keys
        keys.append(key)
        if duration_ms == duration_ms:  # NaN: a store failure that began while nobody listened
            self._durations[decision].append(duration_ms)
        if len(keys) >= self.FOLD_AT:
            with self._lock:
                self._fold()

    def _fold(self) -> None:
        """Move what was appended into the counts; called under the lock."""
        keys = self._keys
        taken = len(keys)
        self._counts.update(keys[:taken])
        del keys[:taken]
        for decision, waiting in self._durations.items():
            taken = len(waiting)
            if taken:
                batch = waiting[:taken]
                del waiting[:taken]
                self._timed(decision, batch)

    def _timed(self, decision: str, durations_ms: list[float]) -> None:
        """Keep a batch of one decision kind's durations; called under the lock."""
        raise NotImplementedError

    def _counted(self) -> list[tuple[Labels, int]]:
        """Every count so far, by its labels; called under the lock, so that what a reader
        takes with the counts (the durations) is of the same decisions."""
        self._fold()
        return [(_labels(key), count) for key, count in self._counts.items()]


def _key_of(event: DecisionEvent, by_app: bool) -> Key:
    principal, _method, _path, org, app, decision, status, reason, _duration = event
    if not by_app:
        return decision, status, reason
    if principal is None or org is None or app is None:
        return decision, status, reason, _NO_APP
    return decision, status, reason, f"{org}/{app}"


def _labels(key: Key) -> Labels:
    status = _NO_STATUS if key[1] is None else str(key[1])
    if len(key) == 3:
        return key[0], status, key[2]
    return key[0], status, key[2], key[3]


class PrometheusMetrics(_DecisionTally):
    """``baas_auth_decisions_total{decision,status,reason[,app]}`` and the histogram
    ``baas_auth_decision_duration_seconds{decision}``, registered in ``registry`` (default:
    prometheus_client's global one). One per process: expose it with prometheus_client's
    ``make_wsgi_app``/``make_asgi_app`` or ``start_http_server``.

    A collector of its own: a decision appends to two lists, which are counted in batches and
    at each scrape, when the metric families are built.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        by_app: bool = False,
        namespace: str = "baas_auth",
    ) -> None:
        from prometheus_client import REGISTRY

        super().__init__(by_app)
        self._namespace = namespace
        self._timings = {decision: _Timings() for decision in _DECISIONS}
        (REGISTRY if registry is None else registry).register(self)

    def _timed(self, decision: str, durations_ms: list[float]) -> None:
        self._timings[decision].add(durations_ms)

    def describe(self) -> Iterator[Metric]:
        """The families, without samples: lets the registry refuse a second one by name."""
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        names = ["decision", "status", "reason", *(["app"] if self.by_app else [])]
        yield CounterMetricFamily(f"{self._namespace}_decisions", "", labels=names)
        yield HistogramMetricFamily(
            f"{self._namespace}_decision_duration_seconds", "", labels=["decision"]
        )

    def collect(self) -> Iterator[Metric]:
        """The metric families, for prometheus_client's registry (at each scrape)."""
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        with self._lock:
            counts = self._counted()
            timings = [(decision, t.snapshot()) for decision, t in self._timings.items() if t.seen]
        names = ["decision", "status", "reason", *(["app"] if self.by_app else [])]
        decisions = CounterMetricFamily(
            f"{self._namespace}_decisions", "Requests decided by the middleware", labels=names
        )
        for labels, count in counts:
            decisions.add_metric(list(labels), count)
        yield decisions
        durations = HistogramMetricFamily(
            f"{self._namespace}_decision_duration_seconds",
            "Time to decide a request",
            labels=["decision"],
        )
        for decision, (buckets, total_s) in timings:
            durations.add_metric([decision], buckets, total_s)
        yield durations


_BOUNDS_MS = tuple(bound * _MS_PER_S for bound in DURATION_BUCKETS_S)


class _Timings:
    """One decision kind's durations: how many fell at or under each bound (cumulative, as a
    histogram reports them), how many in all, and their sum. Updated under its owner's lock."""

    __slots__ = ("at_most", "seen", "total_ms")

    def __init__(self) -> None:
        self.at_most = [0] * len(_BOUNDS_MS)
        self.seen = 0
        self.total_ms = 0.0

    def add(self, durations_ms: list[float]) -> None:
        durations_ms.sort()  # then each bound's count is one bisection of the batch
        for index, bound in enumerate(_BOUNDS_MS):
            self.at_most[index] += bisect_right(durations_ms, bound)
        self.seen += len(durations_ms)
        self.total_ms += math.fsum(durations_ms)

    def snapshot(self) -> tuple[list[tuple[str, float]], float]:
        """Cumulative ``(le, count)`` pairs, ``+Inf`` last, and the sum in seconds."""
        bounds = [*(repr(bound) for bound in DURATION_BUCKETS_S), "+Inf"]
        counts = [*self.at_most, self.seen]
        return list(zip(bounds, counts, strict=True)), self.total_ms / _MS_PER_S


class OpenTelemetryMetrics(_DecisionTally):
    """The counter ``baas_auth.decisions`` (attributes ``decision``, ``status``, ``reason``,
    and ``app`` with ``by_app``) and the histogram ``baas_auth.decision.duration`` (seconds,
    attribute ``decision``), from the meter ``baas_auth`` of ``meter_provider`` (default: the
    global one, which your SDK set up).

    The SDK's own instruments take several microseconds per measurement, so a decision only
    appends to two lists: the counts are reported by an observable counter, and its callback,
    run when the reader collects, hands the durations waiting to the histogram (they reach the
    exporter at that collection or the next). At most ``MAX_WAITING`` durations wait; past
    that a decision is counted but not timed.
    """

    MAX_WAITING = 100_000

    def __init__(
        self, meter_provider: MeterProvider | None = None, *, by_app: bool = False
    ) -> None:
        from opentelemetry import metrics

        from baas_auth import __version__

        super().__init__(by_app)
        meter = metrics.get_meter("baas_auth", __version__, meter_provider)
        self._waiting: dict[str, list[float]] = {decision: [] for decision in _DECISIONS}
        self._room = self.MAX_WAITING
        self.durations = meter.create_histogram(
            "baas_auth.decision.duration", unit="s", description="Time to decide a request",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS_S),
        )  # fmt: skip
        self.decisions = meter.create_observable_counter(
            "baas_auth.decisions",
            callbacks=[self._observe],
            unit="{request}",
            description="Requests decided",
        )

    def _timed(self, decision: str, durations_ms: list[float]) -> None:
        kept = durations_ms[: self._room]
        self._waiting[decision].extend(kept)
        self._room -= len(kept)

    def _observe(self, options: CallbackOptions) -> Iterator[Observation]:
        """At each collection: the counts so far, and the waiting durations recorded."""
        from opentelemetry.metrics import Observation

        with self._lock:
            counts = self._counted()
            waiting = self._waiting
            self._waiting = {decision: [] for decision in _DECISIONS}
            self._room = self.MAX_WAITING
        for decision, durations_ms in waiting.items():
            of = {"decision": decision}
            for duration_ms in durations_ms:
                self.durations.record(duration_ms / _MS_PER_S, of)
        names = ("decision", "status", "reason", "app")
        for labels, count in counts:
            yield Observation(count, dict(zip(names, labels, strict=False)))
