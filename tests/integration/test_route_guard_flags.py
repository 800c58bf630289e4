"""A route guard decides on its own, and nothing else opens, on real servers (uvicorn with
FastAPI and Starlette, gunicorn with Flask and Django) with a real client: a handler that runs
leaves a file (``guard_apps``), so "refused before any code ran" is checked across processes.

The realm (locked roles: no rule allows anything) has alice, an editor, and bob."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from baas_auth import Realm, SQLiteStore
from tests.conftest import FAST_HASHER
from tests.integration.conftest import PASSWORD, free_port, python_module, server_env, serving
from tests.integration.flows import bearer

TARGETS = {
    "fastapi": ("uvicorn", "tests.integration.guard_apps:fastapi_app"),
    "starlette": ("uvicorn", "tests.integration.guard_apps:starlette_app"),
    "flask": ("gunicorn", "tests.integration.guard_apps:flask_app()"),
    "django": ("gunicorn", "tests.integration.guard_django_app:app"),
}
STATIC = "a static file, not for everyone"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Realm, Path]]:
    folder = tmp_path_factory.mktemp("guards")
    realm = Realm(SQLiteStore(folder / "auth.db"), password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_app("acme", "shop")
    realm.create_role("acme", "shop", "editor")
    for name in ("alice", "bob"):
        realm.create_user("acme", "shop", name, password=PASSWORD)
    realm.assign_role("acme", "shop", "editor", user="alice")
    realm.create_app("acme", "other")
    realm.create_user("acme", "other", "eve", password=PASSWORD)
    flags = folder / "flags"
    flags.mkdir()
    (flags / "hello.txt").write_text(STATIC)
    yield realm, flags
    realm.close()


@pytest.fixture(scope="module")
def servers(
    world: tuple[Realm, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    flags = world[1]
    database = flags.parent / "auth.db"
    with ExitStack() as stack:
        urls = {}
        for name, (server, target) in TARGETS.items():
            port = free_port()
            if server == "uvicorn":
                command = python_module(
                    "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
                    "--log-level", "warning",
                )
            else:
                command = python_module(
                    "gunicorn", "--workers", "1", "--bind", f"127.0.0.1:{port}", target
                )
            env = server_env(BAAS_REALM=f"sqlite:///{database}", GUARD_FLAGS=str(flags))
            log = tmp_path_factory.mktemp("logs") / f"{name}.log"
            urls[name] = stack.enter_context(serving(command, env=env, log=log, port=port))
        yield urls


def _bearer(realm: Realm, username: str, app: str = "shop") -> dict[str, str]:
    return bearer(realm.password_token("acme", app, username, PASSWORD).access_token)


@pytest.mark.parametrize("framework", list(TARGETS))
def test_the_guard_decides_and_nothing_else_opens(
    framework: str,
    servers: dict[str, str],
    world: tuple[Realm, Path],
    client: httpx.Client,
) -> None:
    realm, flags = world
    server = servers[framework]
    alice, bob = _bearer(realm, "alice"), _bearer(realm, "bob")
    refused = client.delete(f"{server}/shelves/1", headers=bob)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == "unauthorized"
    assert not (flags / f"{framework}-delete").exists()  # the guard refused before the view
    deleted = client.delete(f"{server}/shelves/1", headers=alice)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["deleted"] == 1
    assert (flags / f"{framework}-delete").exists()
    # Neither a guard nor a rule: refused, the handler never ran.
    secret = client.post(f"{server}/secret", headers=alice)
    assert secret.status_code == 403, secret.text
    assert not (flags / f"{framework}-secret").exists()
    # A mounted app or static files: not opened.
    static = client.get(f"{server}/files/hello.txt", headers=alice)
    assert static.status_code == 403, static.text
    assert STATIC not in static.text
    assert not (flags / f"{framework}-static").exists()
    # The guest, another app's token, a bad token: 401 as before.
    for headers in ({}, _bearer(realm, "eve", "other"), bearer("not-a-token")):
        assert client.delete(f"{server}/shelves/2", headers=headers).status_code == 401
        assert client.post(f"{server}/secret", headers=headers).status_code == 401
    assert not (flags / f"{framework}-secret").exists()
