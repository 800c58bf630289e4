"""Decision metrics (behaviour §10): ``PrometheusMetrics`` and ``OpenTelemetryMetrics`` as
``on_decision`` hooks, on both adapters: decisions counted by outcome, status and reason code,
with durations; bounded labels (no path, token, username or query value; the app only when asked
for, and only for a known principal); health requests not counted. Read back with
prometheus_client's own registry and OpenTelemetry's in-memory metric reader.
"""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, generate_latest

from baas_auth.integrations.metrics import OpenTelemetryMetrics, PrometheusMetrics
from tests.adapters.conftest import MakeCaller, World, bearer
from tests.threads import run_threads

COUNTER = "baas_auth_decisions_total"
DURATIONS = "baas_auth_decision_duration_seconds_count"


def _traffic(make: MakeCaller, world: World, hook: Any) -> None:
    """One allow, one 401 before authentication, one 403, a 503, and health probes."""
    caller = make(on_decision=hook, health_path="/healthz")
    alice = world.token("alice")
    me = caller.get("/acme/shop/users/me?secret_query=zz", headers=bearer(alice))
    assert me.status_code == 200
    assert caller.get("/acme/shop/books", headers=bearer("nonsense-token")).status_code == 401
    victor = world.token("victor")
    deleted = caller.request("DELETE", "/acme/vault/Books/1", headers=bearer(victor))
    assert deleted.status_code == 403
    assert caller.get("/nosuchorg/nosuchapp/x").status_code in (401, 404)
    assert caller.get("/healthz").status_code == 200
    world.store.down = True
    assert caller.get("/acme/shop/users/me", headers=bearer(alice)).status_code == 503
    assert caller.get("/healthz").status_code == 503
    world.store.down = False


def test_prometheus_counts_by_outcome_status_and_reason(make: MakeCaller, world: World) -> None:
    registry = CollectorRegistry()
    _traffic(make, world, PrometheusMetrics(registry))
    value = registry.get_sample_value
    assert value(COUNTER, {"decision": "allow", "status": "-", "reason": "rule"}) == 1
    assert value(COUNTER, {"decision": "refuse", "status": "403", "reason": "unauthorized"}) == 1
    assert value(COUNTER, {"decision": "refuse", "status": "503",
                           "reason": "service_unavailable"}) == 1  # fmt: skip
    total = sum(
        sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == COUNTER
    )
    assert total == 5  # the two health probes are not decisions
    assert value(DURATIONS, {"decision": "allow"}) == 1
    assert value(DURATIONS, {"decision": "refuse"}) == 4
    text = generate_latest(registry).decode()
    for unbounded in ("alice", "victor", "/acme", "Books", "secret_query", "nosuchorg", "healthz"):
        assert unbounded not in text


def test_prometheus_by_app_names_only_apps_of_known_principals(
    make: MakeCaller, world: World
) -> None:
    registry = CollectorRegistry()
    _traffic(make, world, PrometheusMetrics(registry, by_app=True))
    value = registry.get_sample_value
    allow = {"decision": "allow", "status": "-", "reason": "rule", "app": "acme/shop"}
    assert value(COUNTER, allow) == 1
    forbidden = {"decision": "refuse", "status": "403", "reason": "unauthorized"}
    forbidden["app"] = "acme/vault"
    assert value(COUNTER, forbidden) == 1
    assert "nosuchorg" not in generate_latest(registry).decode()


def test_opentelemetry_counts_alike(make: MakeCaller, world: World) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    _traffic(make, world, OpenTelemetryMetrics(provider))
    reader.get_metrics_data()  # durations recorded at one collection are read at the next
    data = reader.get_metrics_data()
    metrics = {
        metric.name: metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    counts = {
        tuple(sorted(point.attributes.items())): point.value
        for point in metrics["baas_auth.decisions"].data.data_points
    }
    assert counts[(("decision", "allow"), ("reason", "rule"), ("status", "-"))] == 1
    assert counts[(("decision", "refuse"), ("reason", "unauthorized"), ("status", "403"))] == 1
    assert sum(counts.values()) == 5
    durations = metrics["baas_auth.decision.duration"]
    assert durations.unit == "s"
    assert sum(point.count for point in durations.data.data_points) == 5
    for attributes, _ in counts.items():
        assert {name for name, _ in attributes} == {"decision", "status", "reason"}
    provider.shutdown()


@pytest.mark.parametrize("by_app", [False, True])
def test_a_route_guards_refusal_is_counted(world: World, by_app: bool) -> None:
    """Through the hook: the middleware's allow, then the route's ``route_requirement``."""
    from flask import Flask

    from baas_auth.integrations.flask import init_app, require

    registry = CollectorRegistry()
    app = Flask(__name__)

    @app.put("/edit")
    @require(role="no-such-role")
    def edit() -> str:
        return "edited"

    init_app(app, world.realm, application="acme/shop",
             on_decision=PrometheusMetrics(registry, by_app=by_app))  # fmt: skip
    assert app.test_client().put("/edit", headers=bearer(world.token("alice"))).status_code == 403
    labels = {"decision": "refuse", "status": "403", "reason": "route_requirement"}
    if by_app:
        labels["app"] = "acme/shop"
    assert registry.get_sample_value(COUNTER, labels) == 1


def _event(decision: str, duration_ms: float) -> Any:
    from baas_auth import DecisionEvent

    return DecisionEvent(None, "GET", "/x", None, None, decision, None, "rule", duration_ms)  # type: ignore[arg-type]


def test_prometheus_durations_fall_in_their_buckets() -> None:
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    for duration_ms in (0.05, 1.0, 3.0, 400.0, float("nan")):
        metrics(_event("allow", duration_ms))
    bucket = "baas_auth_decision_duration_seconds_bucket"
    value = registry.get_sample_value
    assert value(bucket, {"decision": "allow", "le": "0.0001"}) == 1
    assert value(bucket, {"decision": "allow", "le": "0.001"}) == 2  # a bound is inclusive
    assert value(bucket, {"decision": "allow", "le": "0.005"}) == 3
    assert value(bucket, {"decision": "allow", "le": "0.25"}) == 3
    assert value(bucket, {"decision": "allow", "le": "+Inf"}) == 4  # NaN: counted, not timed
    assert value(DURATIONS, {"decision": "allow"}) == 4
    assert value("baas_auth_decision_duration_seconds_sum", {"decision": "allow"}) == (
        pytest.approx(0.40405)
    )
    assert value(COUNTER, {"decision": "allow", "status": "-", "reason": "rule"}) == 5


def test_two_in_one_registry_are_refused() -> None:
    registry = CollectorRegistry()
    PrometheusMetrics(registry)
    with pytest.raises(ValueError, match="Duplicated"):
        PrometheusMetrics(registry)


@pytest.mark.parametrize("fold_at", [7, 4096])
def test_no_decision_is_lost_between_threads_and_folds(fold_at: int) -> None:
    """Decisions append without a lock and are counted in batches: with eight threads deciding
    at once, batches folded while others append (a fold every 7 decisions) and scrapes in the
    middle, every decision is counted once and timed once."""
    registry = CollectorRegistry()
    metrics = PrometheusMetrics(registry)
    metrics.FOLD_AT = fold_at
    per_thread = 500

    def decide(index: int) -> None:
        for step in range(per_thread):
            metrics(_event("refuse" if index % 2 else "allow", 0.5))
            if index == 0 and step % 100 == 0:
                registry.get_sample_value(COUNTER, {})  # a scrape while others decide

    run_threads(8, decide)
    value = registry.get_sample_value
    for decision in ("allow", "refuse"):
        assert value(COUNTER, {"decision": decision, "status": "-", "reason": "rule"}) == 2000
        assert value(DURATIONS, {"decision": decision}) == 2000
        assert value("baas_auth_decision_duration_seconds_sum", {"decision": decision}) == (
            pytest.approx(2000 * 0.0005)
        )


def test_decisions_are_folded_without_a_read_so_memory_stays_bounded() -> None:
    metrics = PrometheusMetrics(CollectorRegistry())
    metrics.FOLD_AT = 10
    for _ in range(25):
        metrics(_event("allow", 1.0))
    assert len(metrics._keys) == 5  # two folds of ten happened on the request path
    assert len(metrics._durations["allow"]) == 5


def test_opentelemetry_hands_every_waiting_duration_to_the_histogram() -> None:
    reader = InMemoryMetricReader()
    metrics = OpenTelemetryMetrics(MeterProvider(metric_readers=[reader]))
    metrics.FOLD_AT = 3
    for duration_ms in (1.0, 2.0, 3.0, 4.0, float("nan")):
        metrics(_event("allow", duration_ms))
    reader.get_metrics_data()  # the durations waiting at one collection reach the next
    points = {
        metric.name: list(metric.data.data_points)
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert sum(point.value for point in points["baas_auth.decisions"]) == 5
    (histogram,) = points["baas_auth.decision.duration"]
    assert histogram.count == 4  # NaN: counted, not timed
    assert histogram.sum == pytest.approx(0.010)
