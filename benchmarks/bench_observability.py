"""What seeing decisions costs: the ASGI middleware with and without an ``on_decision`` hook
(single-app mode, a valid bearer token on ``/users/me``, the memory store), with the metrics
hooks of ``baas_auth.integrations.metrics`` (Prometheus, OpenTelemetry: where their packages
are installed), and ``Realm.explain`` for an allow and a refusal.

Run: ``python benchmarks/bench_observability.py [--quick] [--json PATH]``. Each row prints as it
is measured; the hook rows are measured one after the other in the same process, so compare
their difference rather than the absolute figures.
"""

from __future__ import annotations

import asyncio
from typing import Any

from _realms import PASSWORD, Seeded, seeded
from _timing import Report, Settings, cli, measure, repeat, result
from bench_middleware import asgi_answer, asgi_batch, asgi_scope

from baas_auth import DecisionEvent
from baas_auth.asgi import AuthMiddleware

EXTRA_RULES = 30
"""Rules granted to the default role besides the seeded ones, so ``explain`` has some to walk."""
PATH = f"/shelf{EXTRA_RULES - 1}/a"
"""Readable under the last extra rule; no rule lets it be deleted."""


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _metrics_hooks() -> list[tuple[str, Any]]:
    """The metrics hooks whose packages are installed, each on a registry or provider of its
    own (the process's global ones are left alone)."""
    hooks: list[tuple[str, Any]] = []
    try:
        from prometheus_client import CollectorRegistry

        from baas_auth.integrations.metrics import PrometheusMetrics
    except ImportError:
        pass
    else:
        hooks.append(("PrometheusMetrics", PrometheusMetrics(CollectorRegistry())))
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        from baas_auth.integrations.metrics import OpenTelemetryMetrics
    except ImportError:
        pass
    else:
        provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
        hooks.append(("OpenTelemetryMetrics (SDK)", OpenTelemetryMetrics(provider)))
    return hooks


def hook_rows(seed: Seeded, settings: Settings, report: Report) -> None:
    """The same request through a middleware without a hook, then with one that keeps events,
    then with each metrics hook."""
    events: list[DecisionEvent] = []
    loop = asyncio.new_event_loop()
    variants: list[tuple[str, Any]] = [
        ("no on_decision hook", None),
        ("on_decision=list.append", events.append),
        *((f"on_decision={name}", hook) for name, hook in _metrics_hooks()),
    ]
    try:
        for name, hook in variants:
            label = f"ASGI valid token, {name}"
            app = AuthMiddleware(_ok, seed.realm, application="acme/shop", on_decision=hook)
            scope = asgi_scope(f"Bearer {seed.token}")
            status, _ = asgi_answer(loop, app, scope)
            if status != 200:
                raise RuntimeError(f"{label}: status {status}, not 200")
            timing = measure(asgi_batch(loop, app, [scope]), settings)
            report.add(result("observability", label, timing, store="memory"))
            events.clear()
    finally:
        loop.close()


def explain_rows(seed: Seeded, settings: Settings, report: Report) -> None:
    """``Realm.explain`` of a GET (allowed) and a DELETE (refused) of ``PATH``, for a user of a
    least-privilege app whose default role holds the extra rules."""
    realm = seed.realm
    realm.create_app("acme", "library")
    realm.create_user("acme", "library", "bob", password=PASSWORD)
    for number in range(EXTRA_RULES):
        realm.grant("acme", "library", f"get:/shelf{number}/**", role="default")
    grant = realm.password_token("acme", "library", "bob", PASSWORD)
    bob = realm.authenticate_token(grant.access_token)
    for label, method in (("allowed", "GET"), ("refused", "DELETE")):
        expected = method == "GET"

        def explain(method: str = method, expected: bool = expected) -> None:
            found = realm.explain(bob, method, PATH, org="acme", app="library")
            if found.allowed is not expected:
                raise RuntimeError(f"explain {method} {PATH}: allowed={found.allowed}")

        timing = measure(repeat(explain), settings)
        report.add(result("observability", f"Realm.explain, {label}", timing, rules=EXTRA_RULES))


def run(settings: Settings, report: Report) -> None:
    seed = seeded("memory")
    hook_rows(seed, settings, report)
    explain_rows(seed, settings, report)


if __name__ == "__main__":
    cli(run)
