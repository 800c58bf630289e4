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
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate
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

Labels = tuple[str, str, str] | tuple[str, str, str, str]


def labels_of(event: DecisionEvent, by_app: bool) -> Labels:
    """``(decision, status, reason)``, and ``app`` with ``by_app``: what a decision is counted
    under. The app is ``-`` unless the request's principal was known (the app then exists)."""
    status = _NO_STATUS if event.status is None else str(event.status)
    if not by_app:
        return event.decision, status, event.reason
    known = event.principal is not None and event.org is not None and event.app is not None
    app = f"{event.org}/{event.app}" if known else _NO_APP
    return event.decision, status, event.reason, app


class PrometheusMetrics:
    """``baas_auth_decisions_total{decision,status,reason[,app]}`` and the histogram
    ``baas_auth_decision_duration_seconds{decision}``, registered in ``registry`` (default:
    prometheus_client's global one). One per process: expose it with prometheus_client's
    ``make_wsgi_app``/``make_asgi_app`` or ``start_http_server``.

    A collector of its own: a decision adds to plain counts under a lock (well under a
    microsecond), and the metric families are built only when Prometheus scrapes.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        by_app: bool = False,
        namespace: str = "baas_auth",
    ) -> None:
        from prometheus_client import REGISTRY

        self.by_app = by_app
        self._namespace = namespace
        self._lock = threading.Lock()
        self._counts: dict[Labels, int] = {}
        self._timings: dict[str, _Timings] = {}
        (REGISTRY if registry is None else registry).register(self)

    def __call__(self, event: DecisionEvent) -> None:
        labels = labels_of(event, self.by_app)
        duration_ms = event.duration_ms
        with self._lock:
            self._counts[labels] = self._counts.get(labels, 0) + 1
            if math.isnan(duration_ms):  # a store failure that began while nobody listened
                return
            timings = self._timings.get(event.decision)
            if timings is None:
                timings = self._timings[event.decision] = _Timings()
            timings.add(duration_ms)

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
            counts = list(self._counts.items())
            timings = [(decision, t.snapshot()) for decision, t in self._timings.items()]
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
    """One decision kind's durations: a count per bucket (the last: above every bound), and
    their sum. Updated under its owner's lock."""

    __slots__ = ("counts", "total_ms")

    def __init__(self) -> None:
        self.counts = [0] * (len(_BOUNDS_MS) + 1)
        self.total_ms = 0.0

    def add(self, duration_ms: float) -> None:
        self.counts[bisect_left(_BOUNDS_MS, duration_ms)] += 1
        self.total_ms += duration_ms

    def snapshot(self) -> tuple[list[tuple[str, float]], float]:
        """Cumulative ``(le, count)`` pairs, ``+Inf`` last, and the sum in seconds."""
        bounds = [*(repr(bound) for bound in DURATION_BUCKETS_S), "+Inf"]
        return list(zip(bounds, accumulate(self.counts), strict=True)), self.total_ms / _MS_PER_S


class OpenTelemetryMetrics:
    """The counter ``baas_auth.decisions`` (attributes ``decision``, ``status``, ``reason``,
    and ``app`` with ``by_app``) and the histogram ``baas_auth.decision.duration`` (seconds,
    attribute ``decision``), from the meter ``baas_auth`` of ``meter_provider`` (default: the
    global one, which your SDK set up).

    The SDK's own instruments take several microseconds per measurement, so a decision only
    adds to plain counts and a list of durations under a lock: the counts are reported by an
    observable counter, and its callback, run when the reader collects, hands the durations
    waiting to the histogram (they reach the exporter at that collection or the next). At most
    ``MAX_WAITING`` durations wait; past that a decision is counted but not timed.
    """

    MAX_WAITING = 100_000

    def __init__(
        self, meter_provider: MeterProvider | None = None, *, by_app: bool = False
    ) -> None:
        from opentelemetry import metrics

        from baas_auth import __version__

        meter = metrics.get_meter("baas_auth", __version__, meter_provider)
        self.by_app = by_app
        self._lock = threading.Lock()
        self._counts: dict[Labels, int] = {}
        self._waiting: list[tuple[str, float]] = []
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

    def __call__(self, event: DecisionEvent) -> None:
        labels = labels_of(event, self.by_app)
        duration_ms = event.duration_ms
        with self._lock:
            self._counts[labels] = self._counts.get(labels, 0) + 1
            if not math.isnan(duration_ms) and len(self._waiting) < self.MAX_WAITING:
                self._waiting.append((event.decision, duration_ms))

    def _observe(self, options: CallbackOptions) -> Iterator[Observation]:
        """At each collection: the counts so far, and the waiting durations recorded."""
        from opentelemetry.metrics import Observation

        with self._lock:
            counts = list(self._counts.items())
            waiting, self._waiting = self._waiting, []
        attributes: dict[str, dict[str, str]] = {}
        for decision, duration_ms in waiting:
            of = attributes.setdefault(decision, {"decision": decision})
            self.durations.record(duration_ms / _MS_PER_S, of)
        names = ("decision", "status", "reason", "app")
        for labels, count in counts:
            yield Observation(count, dict(zip(names, labels, strict=False)))
