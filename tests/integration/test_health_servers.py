"""The health path behind real servers (gunicorn over a ``Realm``, uvicorn over an
``AsyncRealm``) on a real redis-server: 200, then 503 while the server is down, then 200 again
from the same worker once it is back; anything else still needs credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import free_port, python_module, server_env, serving
from tests.redis_server import RedisServer


def _command(adapter: str, port: int) -> list[str]:
    if adapter == "asgi":
        target = "tests.integration.health_app:asgi_app"
        return python_module(
            "uvicorn", target, "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off"
        )
    target = "tests.integration.health_app:wsgi_app"
    return python_module("gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1", target)


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder).start()
    yield server
    server.stop()


@pytest.mark.parametrize("adapter", ["wsgi", "asgi"])
def test_a_load_balancer_sees_the_store_go_and_come_back(
    adapter: str, redis: RedisServer, tmp_path: Path
) -> None:
    port = free_port()
    env = server_env(BAAS_REALM=f"{redis.url}?timeout=0.5", BAAS_ADAPTER=adapter)
    with (
        serving(_command(adapter, port), env=env, log=tmp_path / "server.log", port=port) as base,
        httpx.Client(timeout=20) as client,
    ):
        answer = client.get(f"{base}/healthz")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "ok"}
        assert answer.headers["cache-control"] == "no-store"
        assert client.head(f"{base}/healthz").status_code == 200
        assert client.get(f"{base}/acme/shop/books").status_code == 401
        redis.kill()
        answer = client.get(f"{base}/healthz")
        assert answer.status_code == 503, answer.text
        assert answer.json() == {"status": "unavailable"}
        redis.start()
        assert client.get(f"{base}/healthz").status_code == 200
