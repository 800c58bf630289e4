"""The servers' own access logs, set up as docs/logging.md says: secrets masked, every line kept.

Each server runs in a subprocess with the setup documented for it. The apps are trivial and use
no baas_auth middleware: the server writes its access line from the raw request, whatever the app.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import free_port, python_module, server_env, serving

SECRET = "AVziSd4VBkz-cdKIpuY6PCUbBF_99y3YFAAAAaJIknm"
REQUESTS = {  # the target asked for -> the target its access line must show
    f"/books?access_token={SECRET}&page=2": "/books?access_token=***&page=2",
    f"/books?client_id=x&client_secret={SECRET}": "/books?client_id=x&client_secret=***",
    "/books?page=2": "/books?page=2",
}
LOG_DEADLINE_S = 10  # gunicorn and Django write the line after the answer has gone out
POLL_S = 0.05

FILTER_IMPORTS = "import logging\nfrom baas_auth import RedactSecretsFilter\n"
ASGI_APP = '''
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (message := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
'''
WSGI_APP = '''
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
'''
UVICORN_LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "baas_auth.RedactSecretsFilter"}},
    "formatters": {
        "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
        "access": {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        },
    },
    "handlers": {
        "default": {"formatter": "default", "class": "logging.StreamHandler",
                    "stream": "ext://sys.stderr"},
        "access": {"formatter": "access", "class": "logging.StreamHandler",
                   "stream": "ext://sys.stdout"},
    },
    "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False,
                           "filters": ["redact_secrets"]},
    },
}
DJANGO_SETTINGS = '''
import copy

from django.http import HttpResponse
from django.urls import path
from django.utils.log import DEFAULT_LOGGING

SECRET_KEY = "only-for-this-test"
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = __name__
urlpatterns = [path("books", lambda request: HttpResponse("ok"))]

LOGGING = copy.deepcopy(DEFAULT_LOGGING)
LOGGING["filters"]["redact_secrets"] = {"()": "baas_auth.RedactSecretsFilter"}
LOGGING["loggers"]["django.server"]["filters"] = ["redact_secrets"]
'''


def _write(folder: Path, name: str, *parts: str) -> Path:
    path = folder / name
    path.write_text("\n".join(parts))
    return path


def _uvicorn(folder: Path, port: int) -> list[str]:
    _write(folder, "access_app.py", FILTER_IMPORTS, ASGI_APP,
           'logging.getLogger("uvicorn.access").addFilter(RedactSecretsFilter())')
    return python_module("uvicorn", "access_app:app", "--host", "127.0.0.1", "--port", str(port))


def _uvicorn_log_config(folder: Path, port: int) -> list[str]:
    _write(folder, "access_app.py", ASGI_APP)
    config = _write(folder, "uvicorn-log.json", json.dumps(UVICORN_LOG_CONFIG, indent=2))
    return python_module("uvicorn", "access_app:app", "--host", "127.0.0.1", "--port", str(port),
                         "--log-config", str(config))


def _hypercorn(folder: Path, port: int) -> list[str]:
    _write(folder, "access_app.py", FILTER_IMPORTS, ASGI_APP,
           'logging.getLogger("hypercorn.access").addFilter(RedactSecretsFilter())')
    # hypercorn logs no access line unless asked, and its default line leaves the query out
    return python_module("hypercorn", "access_app:app", "--bind", f"127.0.0.1:{port}",
                         "--access-logfile", "-", "--access-logformat", '%(h)s "%(R)s" %(s)s')


def _gunicorn_command(folder: Path, port: int, worker_class: str) -> list[str]:
    # uvicorn's workers log to "uvicorn.access" (through gunicorn's handlers), hence both names
    config = _write(folder, "gunicorn.conf.py", FILTER_IMPORTS, 'accesslog = "-"',
                    'for name in ("gunicorn.access", "uvicorn.access"):',
                    "    logging.getLogger(name).addFilter(RedactSecretsFilter())")
    return python_module("gunicorn", "-c", str(config), "--bind", f"127.0.0.1:{port}",
                         "--workers", "1", "--worker-class", worker_class,
                         "--graceful-timeout", "5", "access_app:app")


def _gunicorn(folder: Path, port: int) -> list[str]:
    _write(folder, "access_app.py", WSGI_APP)
    return _gunicorn_command(folder, port, "sync")


def _gunicorn_uvicorn_worker(folder: Path, port: int) -> list[str]:
    _write(folder, "access_app.py", ASGI_APP)
    return _gunicorn_command(folder, port, "uvicorn.workers.UvicornWorker")


def _werkzeug(folder: Path, port: int) -> list[str]:
    _write(folder, "access_app.py", WSGI_APP)
    script = _write(folder, "serve.py", "import sys", FILTER_IMPORTS,
                    "from werkzeug.serving import run_simple", "from access_app import app",
                    'logging.getLogger("werkzeug").addFilter(RedactSecretsFilter())',
                    'run_simple("127.0.0.1", int(sys.argv[1]), app)')
    return [sys.executable, str(script), str(port)]


def _django(folder: Path, port: int) -> list[str]:
    _write(folder, "access_settings.py", DJANGO_SETTINGS)
    return python_module("django", "runserver", "--noreload", f"127.0.0.1:{port}")


SERVERS: dict[str, Callable[[Path, int], list[str]]] = {
    "uvicorn": _uvicorn,
    "uvicorn-log-config": _uvicorn_log_config,
    "hypercorn": _hypercorn,
    "gunicorn": _gunicorn,
    "gunicorn-uvicorn-worker": _gunicorn_uvicorn_worker,
    "werkzeug": _werkzeug,
    "django-runserver": _django,
}


def _env(folder: Path) -> dict[str, str]:
    env = server_env(DJANGO_SETTINGS_MODULE="access_settings")
    env["PYTHONPATH"] = os.pathsep.join([str(folder), env["PYTHONPATH"]])
    return env


def _has_access_line(log: str, shown: str) -> bool:
    # logging's own error report quotes the record it failed to write ("Message: '...'"): that
    # quote is not an access line
    return any(f"GET {shown} " in line and '" 200' in line and not line.startswith("Message:")
               for line in log.splitlines())


def _wait_for_access_lines(log: Path) -> None:
    """Poll the log until every request has its line; past the deadline, let the asserts speak."""
    deadline = time.monotonic() + LOG_DEADLINE_S
    while not all(_has_access_line(log.read_text(), shown) for shown in REQUESTS.values()):
        if time.monotonic() > deadline:
            return
        time.sleep(POLL_S)


@pytest.mark.parametrize("server", list(SERVERS))
def test_access_lines_are_kept_with_secrets_masked(
    server: str, tmp_path: Path, client: httpx.Client
) -> None:
    port, log = free_port(), tmp_path / "server.log"
    command = SERVERS[server](tmp_path, port)
    with serving(command, env=_env(tmp_path), log=log, port=port) as base:
        for target in REQUESTS:
            assert client.get(base + target).status_code == 200
        _wait_for_access_lines(log)
    text = log.read_text()
    for shown in REQUESTS.values():
        assert _has_access_line(text, shown), f"no access line for {shown}:\n{text}"
    assert "--- Logging error ---" not in text
    assert "Traceback" not in text
    assert SECRET not in text
