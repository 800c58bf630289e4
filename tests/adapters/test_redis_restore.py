"""A Redis server that loses acknowledged writes (behaviour §7, "the freshness check is part of the
decision"), on both adapters, with and without a bounded-staleness window.

The server is restarted from a copy of its append-only file taken earlier, as a restore from an
older backup (or a failover to a replica that lagged) does. The change stamp and the generation
then stand where they stood in the copy, and the next writes move them on. Before, both were
counters: a few writes brought them back to values a running middleware had remembered
decisions under (a recalled admission, a directory snapshot), and a token or a grant the
restored data does not hold was honoured again. Each value is now kept ahead of the server's
clock, so it never repeats.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters import test_redis_outage
from tests.adapters.test_redis_outage import (
    PREFIX,
    WINDOW_MS,
    Deployment,
    _recalled,
    _served,
    _token,
    deploy,
)
from tests.conftest import FakeClock
from tests.redis_server import RedisServer

server = test_redis_outage.server  # the fixture: a redis-server of the test's own

_AOF = "appendonlydir"


def _backup(server: RedisServer, to: Path) -> None:
    """A copy of the server's data as it stands (stopped for the copy, started again)."""
    server.kill()  # appendfsync always: every acknowledged write is in the file
    shutil.copytree(server.folder / _AOF, to)
    server.start()


def _restore(server: RedisServer, copy: Path) -> None:
    """Start the server again from ``copy``: every write made since is lost."""
    server.kill()
    shutil.rmtree(server.folder / _AOF)
    shutil.copytree(copy, server.folder / _AOF)
    server.start()


def _counter(server: RedisServer, name: str) -> int:
    with server.client() as raw:
        value = raw.get(f"{PREFIX}{name}")
    return 0 if value is None else int(value)


def _missing(remembered: int, restored: int) -> int:
    """How many writes take a counter from ``restored`` back to ``remembered`` (a few, in
    these tests; none, or a bounded few, once the values are kept ahead of the clock)."""
    return min(max(0, remembered - restored), 10)


def _write(deployment: Deployment, times: int) -> None:
    """Directory writes that move the stamp and the generation (one each, per write)."""
    for number in range(times):
        deployment.realm.create_org(f"filler{number}")


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def exact(
    request: pytest.FixtureRequest,
    server: RedisServer,
    clock: FakeClock,
) -> Iterator[Deployment]:
    yield from deploy(request.param, server, clock)


@pytest.fixture(params=["wsgi", "asgi", "asgi-async"])
def windowed(
    request: pytest.FixtureRequest,
    server: RedisServer,
    clock: FakeClock,
) -> Iterator[Deployment]:
    yield from deploy(request.param, server, clock, max_staleness_ms=WINDOW_MS)


def _token_of_a_lost_write(
    deployment: Deployment, server: RedisServer, tmp_path: Path
) -> tuple[str, int]:
    """Backup, three writes, then alice's token, used (and remembered), then revoked, then the
    backup restored: the token is in neither the restored data nor the revoked state. Returns
    the token and the stamp its admissions were remembered under."""
    _backup(server, tmp_path / "backup")
    _write(deployment, 3)
    alice = _token(deployment, "alice")
    _recalled(deployment, alice)
    remembered = _counter(server, "stamp")
    assert deployment.realm.revoke_token(alice)
    assert deployment.get(alice).status == 401
    _restore(server, tmp_path / "backup")
    return alice, remembered


def test_a_token_lost_with_a_restore_is_refused_under_a_window(
    windowed: Deployment, server: RedisServer, clock: FakeClock, tmp_path: Path
) -> None:
    alice, remembered = _token_of_a_lost_write(windowed, server, tmp_path)
    _write(windowed, _missing(remembered, _counter(server, "stamp")))
    clock.advance_ms(WINDOW_MS + 1)  # what was offered before the restore is out of date
    for _ in range(5):
        answer = windowed.get(alice)
        assert answer.status == 401, answer.body
    assert not windowed.calls
    assert _counter(server, "stamp") != remembered  # it never comes back


def test_a_token_lost_with_a_restore_is_refused(
    exact: Deployment, server: RedisServer, tmp_path: Path
) -> None:
    alice, remembered = _token_of_a_lost_write(exact, server, tmp_path)
    _write(exact, _missing(remembered, _counter(server, "stamp")))
    for _ in range(5):
        answer = exact.get(alice)
        assert answer.status == 401, answer.body
    assert not exact.calls
    assert _counter(server, "stamp") != remembered


def test_a_grant_lost_with_a_restore_is_not_honoured(
    exact: Deployment, server: RedisServer, tmp_path: Path
) -> None:
    """The directory snapshot a middleware holds is kept by generation: a restored generation
    that came back to the snapshot's would serve a grant the restored data does not hold."""
    alice = _token(exact, "alice")  # made before the backup: valid after the restore
    assert exact.get(None).status == 401  # the guest of shop may not read books
    _backup(server, tmp_path / "backup")
    exact.realm.grant("acme", "shop", "get:/books", role="guest")
    for _ in range(3):
        assert exact.get(None).status == 200
    remembered = _counter(server, "gen")
    _restore(server, tmp_path / "backup")
    _write(exact, _missing(remembered, _counter(server, "gen")))
    exact.calls.clear()
    for _ in range(3):
        answer = exact.get(None)
        assert answer.status == 401, answer.body
    assert not exact.calls
    assert _counter(server, "gen") != remembered
    _served(exact, alice, "alice")  # the restored data is served


def _introspect(deployment: Deployment, basic_value: str, token: str) -> dict[str, object]:
    headers = [
        ("Authorization", basic_value),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ]
    answer = deployment.send("POST", "/acme/shop/introspect", headers, f"token={token}".encode())
    assert answer.status == 200, answer.body
    found: dict[str, object] = answer.json()
    return found


def test_an_introspection_answer_lost_with_a_restore_is_found_afresh(
    exact: Deployment, server: RedisServer, tmp_path: Path
) -> None:
    """An active answer remembered under a stamp that the restore takes back: the token is
    in neither the restored data nor the revoked state, so it is inactive, however many
    writes bring the stamp back towards where it stood."""
    import base64

    creds = exact.realm.create_credentials("acme", "shop")
    pair = f"{creds.client_id}:{creds.client_secret}".encode()
    basic_value = "Basic " + base64.b64encode(pair).decode()
    _backup(server, tmp_path / "backup")
    _write(exact, 3)
    alice = _token(exact, "alice")
    for _ in range(2):  # found, then remembered
        assert _introspect(exact, basic_value, alice)["active"] is True
    remembered = _counter(server, "stamp")
    assert exact.realm.revoke_token(alice)
    _restore(server, tmp_path / "backup")
    _write(exact, _missing(remembered, _counter(server, "stamp")))
    for _ in range(3):
        assert _introspect(exact, basic_value, alice) == {"active": False}
    assert _counter(server, "stamp") != remembered
