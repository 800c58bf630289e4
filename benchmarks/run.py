"""Run every benchmark in fresh processes, aggregate, print Markdown tables, save JSON.

Each of ``--processes`` rounds (default 3) runs each benchmark module in its own new process;
a figure is the median of the per-process medians, with their min-max. ``--quick`` is one
round of short batches, to check that everything runs. The real servers (``bench_servers.py``)
run once, after the others: they interleave rounds of their own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODULES = ("middleware", "permissions", "tokens", "stores", "servers")
ROUNDED_INSIDE = ("servers",)
"""Modules run once per run: they interleave their own rounds (and start servers)."""
PEERS = (
    "starlette",
    "fastapi",
    "anyio",
    "pydantic",
    "Flask",
    "Werkzeug",
    "Authlib",
    "Flask-HTTPAuth",
    "pycasbin",
    "simpleeval",
    "wcmatch",
)
Row = dict[str, Any]
TIMES = "\N{MULTIPLICATION SIGN}"
DASH = "\N{EN DASH}"
RANGE = f"min{DASH}max of runs"


# -- running --------------------------------------------------------------------------------------


def run_module(module: str, quick: bool) -> dict[str, Any]:
    """One fresh process running ``bench_<module>.py``; its JSON report, and its exit status
    (a module that measured but found errors, e.g. a server answering other than 200, still
    writes its report and exits 1)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.json"
        command = [sys.executable, str(HERE / f"bench_{module}.py"), "--json", str(out)]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        done = subprocess.run([*command, *(["--quick"] if quick else [])], env=env, check=False)  # noqa: S603
        if not out.exists():
            raise subprocess.CalledProcessError(done.returncode, command)
        report: dict[str, Any] = json.loads(out.read_text())
    return {**report, "returncode": done.returncode}


def run_all(modules: Iterable[str], rounds: int, quick: bool) -> list[dict[str, Any]]:
    """Every module in every round; rounds interleave so a slow minute spreads over modules.
    The modules that round inside themselves run once, at the end."""
    chosen = list(modules)
    reports = []
    for number in range(1, rounds + 1):
        for module in chosen:
            if module not in ROUNDED_INSIDE:
                reports.append(_timed_run(module, quick, number, rounds))
    for module in chosen:
        if module in ROUNDED_INSIDE:
            reports.append(_timed_run(module, quick, 1, 1))
    return reports


def _timed_run(module: str, quick: bool, number: int, rounds: int) -> dict[str, Any]:
    print(f"[round {number}/{rounds}] bench_{module}.py", file=sys.stderr, flush=True)
    started = time.perf_counter()
    report = run_module(module, quick)
    seconds = round(time.perf_counter() - started, 1)
    return {"round": number, "module": module, "seconds": seconds, **report}


def aggregate(reports: list[dict[str, Any]]) -> list[Row]:
    """One row per (group, name): median of the per-process medians, and their min and max."""
    rows: dict[tuple[str, str], Row] = {}
    for report in reports:
        for item in report["results"]:
            row = rows.setdefault((item["group"], item["name"]), {**item, "runs": [], "cpu": []})
            row["runs"].append(item["per_call_ns"])
            row["cpu"].append(item["cpu_share"])
    for row in rows.values():
        runs = row.pop("runs")
        row.update(
            ns=statistics.median(runs),
            min_ns=min(runs),
            max_ns=max(runs),
            per_process_ns=runs,
            cpu_share=row.pop("cpu"),
        )
        del row["per_call_ns"]
    return list(rows.values())


def cpu_summary(rows: list[Row]) -> str:
    """How much of the timed wall time this process had the CPU (1.0: an idle machine)."""
    shares = sorted(share for row in rows for share in row["cpu_share"])
    return f"median {statistics.median(shares):.2f}, lowest {shares[0]:.2f}"


# -- describing the run ---------------------------------------------------------------------------


def _dist(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    import baas_auth

    return {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "cpu": _cpu(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "baas_auth": baas_auth.__version__,
        "peers": {name: v for name in PEERS if (v := _dist(name)) is not None},
    }


# -- Markdown -------------------------------------------------------------------------------------


def us(ns: float) -> str:
    """A per-call time for a table: µs, or ms from 1 ms up."""
    if ns >= 1_000_000:
        return f"{ns / 1_000_000:,.1f} ms"
    value = ns / 1000
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def span(row: Row) -> str:
    return f"{us(row['min_ns'])}{DASH}{us(row['max_ns'])}"


def ratio(value: float) -> str:
    return f"{value:,.1f}{TIMES}" if value < 100 else f"{value:,.0f}{TIMES}"


def table(header: list[str], lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(line) + " |" for line in lines]
    return "\n".join(out)


def _block(row: Row) -> int:
    """Table order: the bare app, then baas_auth's rows, then the others (stable within)."""
    params = row["params"]
    if params["library"] == "baseline":
        return 0
    return 1 if params["library"] == "baas_auth" and not params.get("relative_to") else 2


def overhead_table(rows: list[Row], group: str) -> str:
    """ASGI or WSGI: each variant against the bare app, and against its plain framework."""
    mine = sorted((row for row in rows if row["group"] == group), key=_block)
    by_name = {row["name"]: row for row in mine}
    bare = by_name[mine[0]["params"]["baseline"]]["ns"]
    lines = []
    for row in mine:
        plain = by_name.get(row["params"].get("relative_to") or "")
        added = "" if row["ns"] == bare else f"{(row['ns'] - bare) / 1000:+,.2f}"
        lines.append(
            [
                row["name"],
                row["params"]["library"],
                us(row["ns"]),
                span(row),
                ratio(row["ns"] / bare),
                added,
                ratio(row["ns"] / plain["ns"]) if plain else "",
            ]
        )
    header = [
        "Variant",
        "Library",
        "µs/call",
        RANGE,
        f"{TIMES} bare",
        "added µs",
        f"{TIMES} plain framework",
    ]
    return table(header, lines)


def _cell(rows: list[Row], impl: str, n: int, case: str | None) -> Row | None:
    for row in rows:
        params = row["params"]
        if (params.get("impl"), params.get("rules"), params.get("case")) == (impl, n, case):
            return row
    return None


def permission_table(rows: list[Row]) -> str:
    """Rules down, implementation and request across; µs per check."""
    impls = ("Realm.permits", "Matcher.permits", "pycasbin")
    cases = ("first", "last", "deny")
    sizes = sorted({row["params"]["rules"] for row in rows if row["group"] == "permissions"})
    header = ["Rules"] + [f"{impl} {case}" for impl in impls for case in cases]
    header.append("pycasbin ÷ Realm.permits (deny)")
    lines = []
    for n in sizes:
        cells = [_cell(rows, impl, n, case) for impl in impls for case in cases]
        line = [f"{n:,}"] + [us(c["ns"]) if c else "n/a" for c in cells]
        mine, theirs = cells[2], cells[8]
        line.append(ratio(theirs["ns"] / mine["ns"]) if mine and theirs else "n/a")
        lines.append(line)
    return table(header, lines)


def compile_table(rows: list[Row]) -> str:
    """Rules down; what it costs to parse, compile and change rule sets."""
    impls = ("Rule.parse", "compile_rules", "Realm.permits cold", "pycasbin load", "Realm.grant")
    groups = ("compile", "grant")
    sizes = sorted({row["params"]["rules"] for row in rows if row["group"] in groups})
    header = [
        "Rules",
        "Rule.parse (all)",
        "compile_rules",
        "Realm.permits after a write",
        "pycasbin Enforcer load",
        "Realm.grant of one more rule",
    ]
    lines = []
    for n in sizes:
        cells = [_cell(rows, impl, n, None) for impl in impls]
        lines.append([f"{n:,}"] + [us(c["ns"]) if c else "n/a" for c in cells])
    return table(header, lines)


def simple_table(rows: list[Row], group: str) -> str:
    mine = [row for row in rows if row["group"] == group]
    return table(
        ["Variant", "µs/call", RANGE], [[row["name"], us(row["ns"]), span(row)] for row in mine]
    )


# -- stores (bench_stores.py) ---------------------------------------------------------------------

STORES = ("memory", "sqlite", "redis", "redis-async")


def _find(rows: list[Row], group: str, **want: Any) -> Row | None:
    for row in rows:
        if row["group"] == group and all(row["params"].get(k) == v for k, v in want.items()):
            return row
    return None


def _rate(row: Row | None) -> str:
    """Validations a second (all workers), from the wall time per validation."""
    return "n/a" if row is None else f"{1e9 / row['ns']:,.0f}"


def _rate_span(row: Row | None) -> str:
    return "" if row is None else f"{1e9 / row['max_ns']:,.0f}{DASH}{1e9 / row['min_ns']:,.0f}"


def _us_or_na(row: Row | None, scale: float = 1.0) -> str:
    return "n/a" if row is None else us(row["ns"] * scale)


def _bytes(row: Row | None) -> str:
    return "n/a" if row is None else f"{row['ns']:,.0f} B"


def stores_validation_table(rows: list[Row]) -> str:
    """One worker: the same token every call, then a never-seen token every call."""
    lines = []
    for store in STORES:
        if _find(rows, "stores", store=store) is None:
            continue  # not measured (no redis-server)
        cells = []
        for scenario in ("steady", "first sightings"):
            find = {"store": store, "scenario": scenario, "workers": 1}
            rate = _find(rows, "stores", stat="per_call", **find)
            p50 = _find(rows, "stores", stat="p50", **find)
            p99 = _find(rows, "stores", stat="p99", **find)
            cells += [_rate(rate), _rate_span(rate), _us_or_na(p50), _us_or_na(p99)]
        server = _find(rows, "stores", store=store, stat="server")
        lines.append([store, *cells, _us_or_na(server) if server else ""])
    header = ["Store", "steady: validations/s", RANGE, "p50 µs", "p99 µs"]
    header += ["first sightings: validations/s", RANGE, "p50 µs", "p99 µs"]
    return table([*header, "redis-server CPU µs/validation"], lines)


def stores_concurrency_table(rows: list[Row]) -> str:
    """Steady state with N workers (threads, or tasks on the async realm), each its own token;
    a bare redis-py GET under the same workers, for scale."""
    lines = []
    for store in (*STORES[:3], "redis-py GET", "redis-async", "redis.asyncio GET"):
        mine = [
            row
            for row in rows
            if row["group"] == "stores"
            and row["params"]["store"] == store
            and row["params"]["scenario"] != "first sightings"
            and row["params"]["stat"] == "per_call"
        ]
        for rate in sorted(mine, key=lambda row: row["params"]["workers"]):
            find = {key: rate["params"][key] for key in ("store", "scenario", "workers")}
            lines.append(
                [
                    store,
                    str(find["workers"]),
                    _rate(rate),
                    ratio(mine[0]["ns"] / rate["ns"]),
                    _us_or_na(_find(rows, "stores", stat="p50", **find)),
                    _us_or_na(_find(rows, "stores", stat="p99", **find)),
                    f"{statistics.median(rate['cpu_share']):.2f}",
                ]
            )
    header = ["Store", "workers", "validations/s", f"{TIMES} 1 worker", "p50 µs", "p99 µs"]
    return table([*header, "CPU share"], lines)


def stores_revoke_table(rows: list[Row]) -> str:
    lines = []
    for store in STORES:
        issue = _find(rows, "stores-revoke", store=store, stat="issue")
        if issue is None:
            continue
        count = issue["params"]["tokens"]
        revoke = _find(rows, "stores-revoke", store=store, stat="revoke")
        server = _find(rows, "stores-revoke", store=store, stat="server")
        throttled = _find(rows, "stores-revoke", store=store, stat="throttled")
        lines.append(
            [
                store,
                f"{count:,}",
                us(issue["ns"]),
                f"{issue['ns'] * count / 1e9:,.1f} s",
                _us_or_na(throttled),
                _us_or_na(revoke),
                _us_or_na(revoke, 1 / count),
                _us_or_na(server) if server else "",
            ]
        )
    header = ["Store", "tokens", "issue: µs/token", "issue: all", "grant with LoginThrottle µs"]
    header += ["revoke-all", "µs per token revoked", "redis-server CPU"]
    return table(header, lines)


def stores_memory_table(rows: list[Row]) -> str:
    lines = []
    labels = {
        "used_memory": "`INFO memory` used_memory growth",
        "file": "database file growth, WAL checkpointed",
        "traced": "tracemalloc growth of the process (the store's records)",
        "caches": "tracemalloc: the realm's caches once each token is seen (bounded)",
    }
    for row in rows:
        stat = row["params"].get("stat")
        if row["group"] != "stores-memory" or stat not in labels:
            continue
        params = row["params"]
        ten_million = row["ns"] * 10_000_000 / 2**30
        lines.append(
            [
                params["store"],
                f"{params['tokens']:,}",
                f"{params['per_user']:,}",
                _bytes(row),
                labels[stat],
                f"{ten_million:,.1f} GiB" if stat != "caches" else "",
            ]
        )
    header = ["Store", "live tokens", "tokens per user", "bytes per token", "measured as"]
    return table([*header, "10 M tokens"], lines)


def stores_redis_keys_table(rows: list[Row]) -> str:
    """The parts of one token in Redis, against the growth of ``used_memory``."""
    stats = ("record length", "token hash", "owner set", "expiry index per token", "used_memory")
    sizes = sorted({row["params"]["tokens"] for row in rows if row["group"] == "stores-memory"})
    lines = []
    for tokens in sizes:
        found = [_find(rows, "stores-memory", store="redis", tokens=tokens, stat=s) for s in stats]
        parts = [part for part in found if part is not None]
        if len(parts) < len(stats):
            continue
        record, hashed, owner, index, used = (part["ns"] for part in parts)
        per_user = parts[-1]["params"]["per_user"]
        summed = hashed + owner / per_user + index
        cells = [f"{value:,.0f} B" for value in (record, hashed, owner, index, summed, used)]
        lines.append([f"{tokens:,}", f"{per_user:,}", *cells])
    header = ["live tokens", "per user", "record (`r` field)", "token hash"]
    header += ["owner's set (per user)", "expiry index, per token", "sum per token"]
    return table([*header, "used_memory growth per token"], lines)


def stores_parts(rows: list[Row]) -> list[str]:
    parts = [
        "## Stores: token validations, one worker",
        stores_validation_table(rows),
        "## Stores: concurrent workers (steady state)",
        stores_concurrency_table(rows),
        "## Stores: issuing and revoke-all",
        stores_revoke_table(rows),
        "## Stores: memory per live token",
        stores_memory_table(rows),
    ]
    if _find(rows, "stores-memory", store="redis") is not None:
        parts += ["Redis `MEMORY USAGE` (SAMPLES 0) of one token's keys:"]
        parts += [stores_redis_keys_table(rows)]
    return parts


def servers_parts(reports: list[dict[str, Any]]) -> list[str]:
    """The real-server table of ``bench_servers.py``, as it printed it."""
    import bench_servers

    found = [report["servers"] for report in reports if "servers" in report]
    if not found:
        return []
    meta = found[0]["meta"]
    plan = meta["plan"]
    return [
        "## Real servers: requests per second on loopback",
        f"Load: {meta['client']}, {plan['connections']} connections, {plan['rounds']} rounds of"
        f" {plan['seconds']:g} s per target after {plan['warmup']:g} s of warm-up; pinning"
        f" {meta['pinning']}.",
        bench_servers.markdown(found[0]["targets"]),
    ]


def markdown(rows: list[Row], meta: dict[str, Any], reports: list[dict[str, Any]]) -> str:
    groups = {row["group"] for row in rows}
    shares = f", CPU share of the timed batches {cpu_summary(rows)}" if rows else ""
    parts = [
        f"Machine: {meta['cpus']} {TIMES} {meta['cpu']}, {meta['python']}, load average at "
        f"start {meta['load_average']}{shares}. "
        f"baas_auth {meta['baas_auth']}; peers: "
        + ", ".join(f"{k} {v}" for k, v in meta["peers"].items())
        + "."
    ]
    if "asgi" in groups:
        parts += ["## ASGI per-request overhead", overhead_table(rows, "asgi")]
    if "wsgi" in groups:
        parts += ["## WSGI per-request overhead", overhead_table(rows, "wsgi")]
    if "permissions" in groups:
        parts += [
            "## Permission check vs rule count (µs per check)",
            permission_table(rows),
            "## Compiling and granting rules",
            compile_table(rows),
        ]
    if "tokens" in groups:
        parts += ["## Tokens", simple_table(rows, "tokens")]
    if "stores" in groups:
        parts += stores_parts(rows)
    parts += servers_parts(reports)
    return "\n\n".join(parts) + "\n"


# -- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one round of short batches")
    parser.add_argument("--processes", type=int, help="rounds of fresh processes (default 3)")
    parser.add_argument("--only", action="append", choices=MODULES, help="run only these")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="JSON folder")
    args = parser.parse_args()
    rounds = args.processes or (1 if args.quick else 3)
    meta = machine()
    started = time.time()
    reports = run_all(args.only or MODULES, rounds, args.quick)
    rows = aggregate(reports)
    meta.update(
        rounds=rounds,
        quick=args.quick,
        seconds=round(time.time() - started, 1),
        load_average_end=[round(x, 2) for x in os.getloadavg()],
    )
    notes = sorted({note for report in reports for note in report["notes"]})
    text = markdown(rows, meta, reports) + "".join(f"\nNote: {note}" for note in notes)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    payload = {"meta": meta, "notes": notes, "rows": rows, "reports": reports}
    (args.out / f"bench-{stamp}.json").write_text(json.dumps(payload, indent=1) + "\n")
    (args.out / f"bench-{stamp}.md").write_text(text)
    print(f"\nSaved {args.out / f'bench-{stamp}.json'} ({meta['seconds']} s)", file=sys.stderr)
    failed = [report["module"] for report in reports if report["returncode"] != 0]
    if failed:
        sys.exit(f"errors in {', '.join(failed)}: see the notes")


if __name__ == "__main__":
    main()
