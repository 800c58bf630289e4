"""Runs seeded histories against a served middleware and checks every answer against a fresh one.

One history (``world.History``): a realm seeded on a store; a middleware (WSGI, ASGI over a
``Realm``, or ASGI over an ``AsyncRealm``) serving it with every memory it has (recalled
decisions, known tokens); ``workers`` threads sending requests; and a writer, on a thread of its
own with a ``Realm`` of its own, or in another process, making one change per step while the
workers send that step's requests. After each change, the writer asks a *fresh* decision of every
request that may be judged on the new state: a new ``Realm`` and a new WSGI middleware over the
same store, seen through ``Forgetful`` (no change stamp, so nothing is remembered, not even for
one request). Nothing else writes, so that answer is the state's.

The model (behaviour §7): a request that started after step k returned is judged on state k+1 or a
later one, up to the last step that had begun when it ended. With a window
(``max_staleness_ms``), a state no older than the window: every step that returned before
``start - window`` on the histories' fake clock must be seen. An answer outside the fresh answers
of the states a request may be judged on is a finding; an admission (200) where every one of
them refuses is a *violation* (a revocation not applied). Three refusals are accepted where
the fresh decision differs: during a write that refuses, another refusal (a write is several
commits: a user deactivated, then its tokens removed); a store failure (503) in the scenario
that restarts Redis; and a token signed with a key made elsewhere less than the key ring's
reload interval ago (401, as docs/decisions.md allows).

Threads meet at a barrier at each step's start and end (no sleeps); every wait has a deadline.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from baas_auth import AsyncRealm, MemoryStore, Realm, SQLiteStore, Store
from baas_auth.asgi import AuthMiddleware as AsgiAuth
from baas_auth.asgi import Receive, Scope, Send
from baas_auth.realm.keys import RELOAD_INTERVAL_MS
from baas_auth.wsgi import AuthMiddleware as WsgiAuth
from tests.adapters.conftest import Answer, call_asgi, call_wsgi, http_scope, wsgi_environ
from tests.conftest import FAST_HASHER, FakeClock
from tests.realm_facade import BlockingRealm
from tests.redis_server import RedisServer
from tests.revocation.world import (
    APP,
    ORG,
    History,
    Names,
    Request,
    Shape,
    Step,
    Write,
    generate,
    perform,
    seed_realm,
)
from tests.stores.blocking_facade import LoopThread

ROOT = Path(__file__).resolve().parents[2]
STEP_DEADLINE_S = 60.0
"""Longest a thread waits at a step's barrier: a hang is reported, never waited out."""

StoreKind = Literal["memory", "sqlite", "redis"]
WriterKind = Literal["thread", "process"]


@dataclass(frozen=True)
class Scenario:
    """A store, who writes to it (a thread with its own ``Realm``, or another process), and the
    histories it gets. ``injected``: known-bad code put back (``injected.py``), to show the
    checker finds it."""

    name: str
    store: StoreKind
    writer: WriterKind
    shape: Shape
    injected: tuple[str, ...] = ()
    switch_interval_s: float = 0.0
    """The interpreter's thread switch interval while it runs (0: unchanged). A short one
    switches threads between almost any two statements, so that races show."""

    @property
    def tolerates_store_failures(self) -> bool:
        return self.shape.rollback


ADAPTERS = ("wsgi", "asgi")
REDIS_ADAPTERS = ("wsgi", "asgi", "asgi-async")
ROLLBACK_WINDOW_MS = 300

SCENARIOS = {
    scenario.name: scenario
    for scenario in (
        Scenario("memory-threads", "memory", "thread", Shape(3, ADAPTERS), switch_interval_s=1e-5),
        Scenario(
            "sqlite-threads",
            "sqlite",
            "thread",
            Shape(3, ("wsgi", "wsgi", "asgi")),
            switch_interval_s=1e-5,
        ),
        Scenario("sqlite-process", "sqlite", "process", Shape(2, ADAPTERS)),
        Scenario("redis-process", "redis", "process", Shape(2, REDIS_ADAPTERS)),
        Scenario("redis-window", "redis", "process", Shape(2, REDIS_ADAPTERS, windows=(300,))),
        Scenario(
            "redis-rollback",
            "redis",
            "process",
            # Signing keys are left alone: a key ring restored to an older set is another
            # question than the change stamp (a key retired after the snapshot comes back).
            Shape(
                2,
                REDIS_ADAPTERS,
                windows=(ROLLBACK_WINDOW_MS,),
                rollback=True,
                retire_keys=False,
                min_steps=12,
                max_steps=18,
            ),
        ),
    )
}


# -- findings and reports -------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One answer no fresh decision of the states it may be judged on gives."""

    step: int
    worker: int
    request: Request
    status: int | str
    acceptable: frozenset[int]
    states: tuple[int, int]

    @property
    def violation(self) -> bool:
        """An admission every fresh decision refuses: a revocation not applied."""
        return self.status == 200 and 200 not in self.acceptable

    def describe(self) -> str:
        kind = "VIOLATION" if self.violation else "mismatch"
        low, high = self.states
        return (
            f"{kind} at step {self.step}, worker {self.worker}: {self.request} answered "
            f"{self.status}; a fresh decision on the states it may be judged on "
            f"({low}..{high}) answers {sorted(self.acceptable)}"
        )


@dataclass
class Report:
    """What a hunt found: histories run, the first failing one and its minimal form."""

    scenario: str
    histories: int = 0
    requests: int = 0
    seconds: float = 0.0
    failing: History | None = None
    findings: list[Finding] = field(default_factory=list)
    minimal: History | None = None
    minimal_runs: tuple[int, int] = (0, 0)

    @property
    def ok(self) -> bool:
        return self.failing is None

    def summary(self) -> str:
        head = (
            f"revocation checker, scenario {self.scenario}: {self.histories} histories, "
            f"{self.requests} requests, {self.seconds:.1f} s"
        )
        history = self.failing
        if history is None:
            return head + ": every answer agrees with a fresh decision"
        lines = [
            head + ": FAILED",
            f"  seed {history.seed} (adapter {history.adapter}, window {history.window_ms} ms)",
            *(f"  {finding.describe()}" for finding in self.findings[:5]),
        ]
        minimal = self.minimal or history
        failed, tried = self.minimal_runs
        lines.append(
            f"  minimal history ({len(minimal.steps)} of {len(history.steps)} steps"
            + (f", failed {failed} of {tried} runs" if tried else "")
            + "), after seeding:"
        )
        lines += [f"    {index:>2}  {step.describe()}" for index, step in enumerate(minimal.steps)]
        lines.append(
            f"  replay: python -m tests.revocation --scenario {self.scenario} "
            f"--seed {history.seed} --histories 1"
        )
        return "\n".join(lines)


# -- the fresh decision ---------------------------------------------------------------------------


class Forgetful:
    """A store seen without its change stamp: a middleware over it remembers nothing (every
    request is decided on the store), and closing it leaves the store open."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "change_stamp":
            raise AttributeError(name)
        return getattr(self._inner, name)

    def close(self) -> None:
        """The store is the checker's, not this view's."""


def _inner_wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"admitted"]


async def _inner_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"admitted"})


def _headers(request: Request, names: Names) -> list[tuple[str, str]] | None:
    """The request's headers, or None when its token was never issued (it is not sent)."""
    if request.caller == "guest":
        return []
    token = names.bearer(request.caller)
    return None if token is None else [("Authorization", f"Bearer {token}")]


def _full_path(request: Request) -> str:
    return f"/{ORG}/{APP}{request.path}"


def fresh_answers(
    store: object, clock: FakeClock, requests: Iterable[Request], names: Names
) -> dict[Request, int]:
    """A fresh decision of each request (whose token exists) on the store as it is now."""
    realm = Realm(Forgetful(store), clock=clock, password_hasher=FAST_HASHER)
    app = WsgiAuth(_inner_wsgi, realm)
    answers: dict[Request, int] = {}
    for request in requests:
        headers = _headers(request, names)
        if headers is not None:
            environ = wsgi_environ("GET", _full_path(request), headers=headers)
            status = call_wsgi(app, environ).status
            # The model (behaviour §9): a token of a family that has ended is refused, whatever
            # the store says; a store that admits it is a hole the fresh decision cannot see.
            answers[request] = (
                ENDED if status == 200 and names.must_refuse(request.caller) else status
            )
    return answers


# -- what a history runs on -----------------------------------------------------------------------


class SnapshotRedisServer(RedisServer):
    """A redis-server whose data lives in an RDB file (no append-only file): ``snapshot``
    saves it aside, ``restart_from_snapshot`` kills the server and starts it on that file, as a
    restore from an older backup (or a failover to a replica that lagged) would."""

    restarts = 0

    def _command_line(self) -> list[str]:
        line = [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
        line += ["--save", "", "--appendonly", "no", "--dbfilename", "dump.rdb"]
        line += ["--dir", str(self.folder), "--logfile", str(self.folder / "redis.log")]
        return [*line, "--daemonize", "no"]

    def snapshot(self) -> None:
        with self.client() as client:
            client.save()
        shutil.copyfile(self.folder / "dump.rdb", self.folder / "snapshot.rdb")

    def restart_from_snapshot(self) -> None:
        self.kill()
        shutil.copyfile(self.folder / "snapshot.rdb", self.folder / "dump.rdb")
        self.start()
        self.restarts += 1


def _restarts(server: SnapshotRedisServer | None) -> int:
    return 0 if server is None else server.restarts


def child_env() -> dict[str, str]:
    """The environment of a child interpreter that imports this checkout's packages."""
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


class WriterProcess:
    """The child interpreter that makes a history's writes (``writer_process``)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.revocation.writer_process"],
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, command: dict[str, Any]) -> dict[str, Any]:
        """Make one write there; return once it is made (the child answers after it)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"the writer process failed: {answer['error']}")
        return answer

    def stop(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)
        self.process.stdout.close()


class Resources:
    """What a scenario's histories share: a folder, a redis-server, the writer process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._redis: SnapshotRedisServer | None = None
        self._writer: WriterProcess | None = None
        self._prefixes = itertools.count()

    @property
    def redis(self) -> SnapshotRedisServer:
        if self._redis is None:
            redis_folder = self.folder / "redis"
            redis_folder.mkdir()
            self._redis = SnapshotRedisServer(redis_folder)
            self._redis.start()
        return self._redis

    @property
    def writer(self) -> WriterProcess:
        if self._writer is None:
            self._writer = WriterProcess()
        return self._writer

    def prefix(self) -> str:
        return f"h{next(self._prefixes)}:"

    def close(self) -> None:
        if self._writer is not None:
            self._writer.stop()
        if self._redis is not None:
            self._redis.stop()


@contextmanager
def resources() -> Iterator[Resources]:
    with tempfile.TemporaryDirectory(prefix="revocation-") as folder:
        shared = Resources(Path(folder))
        try:
            yield shared
        finally:
            shared.close()


ServedStoreFactory = Callable[[Path], Store]
"""Makes the served store on a SQLite file (an injected store, for the tests that inject)."""


@dataclass
class Stage:
    """One history's store, served middleware and writer, built by ``_stage``."""

    clock: FakeClock
    names: Names
    send: Callable[[str, list[tuple[str, str]]], Answer]
    write: Callable[[Write], None]
    oracle_store: Callable[[], tuple[object, Callable[[], None]]]
    redis: SnapshotRedisServer | None
    close: Callable[[], None]


def _stage(
    scenario: Scenario,
    history: History,
    shared: Resources,
    served_sqlite: ServedStoreFactory | None,
) -> Stage:
    clock = FakeClock()
    names = Names(model=not scenario.shape.rollback)  # a restore forgets what the model knows
    closing = ExitStack()
    redis_server: SnapshotRedisServer | None = None
    oracle_store: Callable[[], tuple[object, Callable[[], None]]]
    if scenario.store == "memory":
        memory = MemoryStore()
        served: object = memory
        writer_store: Store | None = memory
        oracle_store = lambda: (memory, lambda: None)  # noqa: E731
        where: dict[str, Any] = {}
    elif scenario.store == "sqlite":
        path = shared.folder / f"{shared.prefix().rstrip(':')}.db"
        setup = SQLiteStore(path)
        closing.callback(setup.close)
        served = (served_sqlite or SQLiteStore)(path)
        writer_store = SQLiteStore(path) if scenario.writer == "thread" else None
        oracle_store = lambda: (setup, lambda: None)  # noqa: E731
        where = {"store": "sqlite", "where": str(path)}
    else:
        from baas_auth.stores.redis import AsyncRedisStore, RedisStore

        redis_server = shared.redis
        prefix = shared.prefix()
        url = redis_server.url

        oracle_redis = _Reconnecting(lambda: RedisStore(url, prefix=prefix), redis_server)
        closing.callback(oracle_redis.close)
        oracle_store = oracle_redis.get
        window_ms = history.window_ms
        if history.adapter == "asgi-async":
            served = lambda: AsyncRedisStore(  # noqa: E731
                url, prefix=prefix, max_staleness_ms=window_ms, clock=clock
            )
        else:
            served = RedisStore(url, prefix=prefix, max_staleness_ms=window_ms, clock=clock)
        writer_store = None
        where = {"store": "redis", "where": url, "prefix": prefix}
    # Seed through a realm of the checker's own, then serve.
    seed_store, release = oracle_store()
    seeding = Realm(Forgetful(seed_store), clock=clock, password_hasher=FAST_HASHER)
    seed_realm(seeding, names)
    release()
    send = _serve(history.adapter, served, clock, closing)
    if writer_store is not None:
        writer_realm = Realm(writer_store, clock=clock, password_hasher=FAST_HASHER)
        if scenario.store != "memory":
            closing.callback(writer_realm.close)

        def write(change: Write) -> None:
            perform(writer_realm, change, names)

    else:
        restarts_seen = [_restarts(redis_server)]

        def write(change: Write) -> None:
            # After a restart the writer's connections are dead: it opens its realm again.
            restarted = _restarts(redis_server) != restarts_seen[0]
            restarts_seen[0] = _restarts(redis_server)
            command = {
                **where,
                "now_ms": clock.ms,
                "write": [change.op, change.target, change.ttl_ms],
                "names": names.as_json(),
                "inject": list(scenario.injected),
                "reopen": restarted,
            }
            names.update(Names.from_json(shared.writer.send(command)))

        closing.callback(shared.writer.send, {"forget": True})
    return Stage(clock, names, send, write, oracle_store, redis_server, closing.close)


class _Reconnecting:
    """The checker's own Redis store, made again after each restart of the server (its
    connections would fail once each)."""

    def __init__(self, make: Callable[[], Store], server: SnapshotRedisServer) -> None:
        self._make = make
        self._server = server
        self._store: Store | None = None
        self._restarts = -1

    def get(self) -> tuple[object, Callable[[], None]]:
        restarts = self._server.restarts
        if self._store is None or restarts != self._restarts:
            self.close()
            self._store, self._restarts = self._make(), restarts
        return self._store, lambda: None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _serve(
    adapter: str, served: object, clock: FakeClock, closing: ExitStack
) -> Callable[[str, list[tuple[str, str]]], Answer]:
    """The served middleware, as a function of one request's path and headers to its answer."""
    if adapter == "wsgi":
        realm = Realm(served, clock=clock, password_hasher=FAST_HASHER)  # type: ignore[arg-type]
        closing.callback(realm.close)
        wsgi = WsgiAuth(_inner_wsgi, realm)

        def send_wsgi(path: str, headers: list[tuple[str, str]]) -> Answer:
            return call_wsgi(wsgi, wsgi_environ("GET", path, headers=headers))

        return send_wsgi
    if adapter == "asgi-async":
        assert callable(served)
        factory = served
        facade = BlockingRealm(
            lambda: AsyncRealm(factory(), clock=clock, password_hasher=FAST_HASHER)
        )
        closing.callback(facade.close)
        app = AsgiAuth(_inner_asgi, facade.inner)
        loop = facade.loop
    else:
        realm = Realm(served, clock=clock, password_hasher=FAST_HASHER)  # type: ignore[arg-type]
        closing.callback(realm.close)
        app = AsgiAuth(_inner_asgi, realm)
        loop = LoopThread()
        closing.callback(loop.stop)

    def send_asgi(path: str, headers: list[tuple[str, str]]) -> Answer:
        scope = http_scope("GET", path, headers=headers)
        return loop.run(call_asgi(app, scope, [b""]))

    return send_asgi


# -- running one history --------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One answer, and what the request knew when it started and ended: how many steps had
    returned, the clock, how many steps had begun by its end."""

    step: int
    worker: int
    request: Request
    status: int | str
    error: str
    returned: int
    start_ms: int
    begun: int


class Progress:
    """The writer's progress, read by the workers (plain ints: one writer, the GIL)."""

    def __init__(self) -> None:
        self.begun = 0
        self.returned = 0


def needed_states(history: History) -> list[set[Request]]:
    """For each state (0: seeded; k+1: after step k), the requests that may be judged on it:
    those of rounds k-1 and k, and with a window those of every later round whose start may lie
    within the window of the state's end."""
    steps = history.steps
    needed: list[set[Request]] = [set() for _ in range(len(steps) + 1)]
    ends = list(itertools.accumulate(step.tick_ms for step in steps))  # clock when step j returns
    for index, step in enumerate(steps):
        low = index
        if history.window_ms:
            start = ends[index - 1] if index else 0
            low = sum(1 for end in ends[:index] if end < start - history.window_ms)
        requests = {request for round_ in step.rounds for request in round_}
        for state in range(low, index + 2):
            needed[state] |= requests
    return needed


def run_history(
    scenario: Scenario,
    history: History,
    shared: Resources,
    served_sqlite: ServedStoreFactory | None = None,
) -> tuple[list[Finding], int]:
    """Run ``history``; its findings (empty: every answer agrees) and how many requests it sent."""
    stage = _stage(scenario, history, shared, served_sqlite)
    try:
        observations, expected, returned_at = _run(stage, history)
    finally:
        stage.close()
    findings = [
        finding
        for observation in observations
        if (finding := _judge(observation, expected, returned_at, history, scenario)) is not None
    ]
    return findings, len(observations)


def _fresh(stage: Stage, requests: set[Request]) -> dict[Request, int]:
    store, release = stage.oracle_store()
    try:
        return fresh_answers(store, stage.clock, sorted(requests, key=str), stage.names)
    finally:
        release()


def _run(
    stage: Stage, history: History
) -> tuple[list[Observation], list[dict[Request, int]], list[int]]:
    steps = history.steps
    workers = len(steps[0].rounds) if steps else 0
    needed = needed_states(history)
    expected = [_fresh(stage, needed[0])]
    returned_at: list[int] = []
    progress = Progress()
    barrier = threading.Barrier(workers + 1, timeout=STEP_DEADLINE_S)
    observations: list[Observation] = []

    def work(worker: int) -> None:
        for index, step in enumerate(steps):
            barrier.wait()
            for request in step.rounds[worker]:
                headers = _headers(request, stage.names)
                if headers is None:  # its token was never issued (a refused issue)
                    continue
                returned, start_ms = progress.returned, stage.clock.ms  # before it starts
                try:
                    answer = stage.send(_full_path(request), headers)
                    status: int | str = answer.status
                    code = _error_code(answer)
                except Exception as error:  # a finding, never a crash of the checker
                    status, code = f"raised {error!r}", ""
                seen = Observation(
                    index, worker, request, status, code, returned, start_ms, progress.begun
                )
                observations.append(seen)
            barrier.wait()

    threads = [threading.Thread(target=_quietly(work), args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for index, step in enumerate(steps):
            barrier.wait()
            progress.begun += 1
            _apply(stage, step)
            returned_at.append(stage.clock.ms)
            progress.returned += 1
            expected.append(_fresh(stage, needed[index + 1]))
            barrier.wait()
    except BaseException:
        barrier.abort()
        raise
    finally:
        for thread in threads:
            thread.join(STEP_DEADLINE_S)
    return observations, expected, returned_at


def _quietly(work: Callable[[int], None]) -> Callable[[int], None]:
    """A worker that stops when the writer gave up (the writer reports why)."""

    def run(worker: int) -> None:
        with suppress(threading.BrokenBarrierError):
            work(worker)

    return run


def _apply(stage: Stage, step: Step) -> None:
    if step.kind == "write":
        assert step.write is not None
        stage.write(step.write)
    elif step.kind == "tick":
        stage.clock.advance_ms(step.tick_ms)
    else:
        assert stage.redis is not None, "snapshots and restarts are Redis steps"
        if step.kind == "snapshot":
            stage.redis.snapshot()
        else:
            stage.redis.restart_from_snapshot()


ENDED = 401
"""The model's answer for a token of a refresh family that has ended."""

UNKNOWN_KEY = "auth_bad_access_token"
"""The error of a token signed with a key the ring does not hold (yet)."""


def _error_code(answer: Answer) -> str:
    if answer.status == 200:
        return ""
    try:
        return str(json.loads(answer.body).get("error", ""))
    except ValueError:
        return ""


def _rotated_lately(seen: Observation, history: History, returned_at: list[int]) -> bool:
    """Whether a signing key was made elsewhere less than the ring's reload interval before
    the request started (or while it ran): until then, tokens it signs may be refused."""
    return any(
        step.write is not None
        and step.write.op == "retire_key"
        and (index >= len(returned_at) or seen.start_ms - returned_at[index] < RELOAD_INTERVAL_MS)
        for index, step in enumerate(history.steps[: seen.begun])
    )


def _judge(
    seen: Observation,
    expected: list[dict[Request, int]],
    returned_at: list[int],
    history: History,
    scenario: Scenario,
) -> Finding | None:
    low = seen.returned
    if history.window_ms:
        horizon = seen.start_ms - history.window_ms
        low = min(low, sum(1 for at in returned_at[: seen.returned] if at < horizon))
    high = seen.begun
    # A token not issued yet in a state is one the store does not know: 401.
    acceptable = frozenset(expected[s].get(seen.request, 401) for s in range(low, high + 1))
    if seen.status in acceptable:
        return None
    if seen.status in (401, 403) and low < high and acceptable - {200}:
        return None  # during a write that refuses, half made (user first, then its tokens)
    if seen.status == 503 and scenario.tolerates_store_failures:
        return None  # a store restarting: refused, never admitted
    if seen.error == UNKNOWN_KEY and _rotated_lately(seen, history, returned_at):
        return None  # docs/decisions.md: a key made elsewhere is known within a second
    return Finding(seen.step, seen.worker, seen.request, seen.status, acceptable, (low, high))


# -- hunting, and the minimal history -------------------------------------------------------------


def hunt(
    scenario: Scenario,
    *,
    seconds: float,
    first_seed: int,
    histories: int | None = None,
    served_sqlite: ServedStoreFactory | None = None,
    shrink_seconds: float = 0.0,
    max_histories: int = 1_000_000,
    until_violation: bool = False,
    shared: Resources | None = None,
) -> Report:
    """Run the histories of seeds ``first_seed``, ``first_seed + 1``, … for ``seconds`` (or
    exactly ``histories`` of them); stop at the first that fails (``until_violation``: at the
    first with a violation), and shrink it for at most ``shrink_seconds``. ``shared``: the
    redis-server and writer process to use (None: its own)."""
    if shared is None:
        with resources() as made:
            return hunt(
                scenario,
                seconds=seconds,
                first_seed=first_seed,
                histories=histories,
                served_sqlite=served_sqlite,
                shrink_seconds=shrink_seconds,
                max_histories=max_histories,
                until_violation=until_violation,
                shared=made,
            )
    with _switching_every(scenario.switch_interval_s):
        return _hunt(
            scenario,
            seconds,
            first_seed,
            histories,
            served_sqlite,
            shrink_seconds,
            max_histories if histories is None else histories,
            until_violation,
            shared,
        )


@contextmanager
def _switching_every(interval_s: float) -> Iterator[None]:
    if not interval_s:
        yield
        return
    before = sys.getswitchinterval()
    sys.setswitchinterval(interval_s)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _hunt(
    scenario: Scenario,
    seconds: float,
    first_seed: int,
    histories: int | None,
    served_sqlite: ServedStoreFactory | None,
    shrink_seconds: float,
    limit: int,
    until_violation: bool,
    shared: Resources,
) -> Report:
    report = Report(scenario.name)
    started = time.monotonic()
    for seed in range(first_seed, first_seed + limit):
        if histories is None and time.monotonic() - started >= seconds:
            break
        history = generate(seed, scenario.shape)
        findings, sent = run_history(scenario, history, shared, served_sqlite)
        report.histories += 1
        report.requests += sent
        if findings and (not until_violation or any(f.violation for f in findings)):
            report.failing, report.findings = history, findings
            break
    if report.failing is not None and shrink_seconds > 0:
        shrinker = _Shrinker(scenario, shared, served_sqlite, shrink_seconds)
        report.minimal, report.minimal_runs = shrinker.shrink(report.failing, report.findings)
    report.seconds = time.monotonic() - started
    return report


class _Shrinker:
    """Removes steps, then whole rounds, while the history still fails (each candidate run up to
    ``TRIES`` times: the threads interleave differently each run), within a deadline."""

    TRIES = 3

    def __init__(
        self,
        scenario: Scenario,
        shared: Resources,
        served_sqlite: ServedStoreFactory | None,
        seconds: float,
    ) -> None:
        self.scenario = scenario
        self.shared = shared
        self.served_sqlite = served_sqlite
        self.deadline = time.monotonic() + seconds

    def fails(self, history: History) -> bool:
        for _ in range(self.TRIES):
            if run_history(self.scenario, history, self.shared, self.served_sqlite)[0]:
                return True
        return False

    def shrink(self, history: History, findings: list[Finding]) -> tuple[History, tuple[int, int]]:
        last = min(finding.step for finding in findings)
        current = history
        truncated = replace(history, steps=history.steps[: last + 1])
        if self.fails(truncated):
            current = truncated
        index = 0
        while index < len(current.steps) - 1 and time.monotonic() < self.deadline:
            steps = current.steps[:index] + current.steps[index + 1 :]
            if _valid(steps) and self.fails(replace(current, steps=steps)):
                current = replace(current, steps=steps)
            else:
                index += 1
        current = self._fewer_rounds(current)
        runs = 2 * self.TRIES
        failed = sum(
            bool(run_history(self.scenario, current, self.shared, self.served_sqlite)[0])
            for _ in range(runs)
        )
        return current, (failed, runs)

    def _fewer_rounds(self, history: History) -> History:
        for index, step in enumerate(history.steps):
            for worker, round_ in enumerate(step.rounds):
                if not round_ or time.monotonic() >= self.deadline:
                    continue
                rounds = (*step.rounds[:worker], (), *step.rounds[worker + 1 :])
                steps = list(history.steps)
                steps[index] = replace(step, rounds=rounds)
                candidate = replace(history, steps=tuple(steps))
                if self.fails(candidate):
                    history = candidate
        return history


def _valid(steps: tuple[Step, ...]) -> bool:
    """A restart needs a snapshot before it."""
    snapshot_seen = False
    for step in steps:
        snapshot_seen = snapshot_seen or step.kind == "snapshot"
        if step.kind == "restart" and not snapshot_seen:
            return False
    return True


# -- the budget -----------------------------------------------------------------------------------

CI_BUDGET_S = 30.0
"""The scenarios' share of CI's minute (on two cores): the injected-bug tests take the rest."""
DEV_BUDGET_S = 12.0
DEFAULT_SEED = 20_260_000


def budget_s() -> float:
    """Seconds for all the scenarios together: ``BAAS_CHECKER_BUDGET_S``, else CI's fixed
    budget under ``CI=true``, else a short one."""
    override = os.environ.get("BAAS_CHECKER_BUDGET_S")
    if override:
        return float(override)
    return CI_BUDGET_S if os.environ.get("CI") else DEV_BUDGET_S


def first_seed() -> int:
    """``BAAS_CHECKER_SEED``, else the same seeds on every run (a CI failure reproduces)."""
    return int(os.environ.get("BAAS_CHECKER_SEED", DEFAULT_SEED))
