"""The helpers are optional: ``import baas_auth`` (and its adapters, and the shared helper code)
imports no web framework; each helper module imports only its own."""

from __future__ import annotations

import subprocess
import sys

import pytest

FRAMEWORKS = ("starlette", "fastapi", "flask", "werkzeug", "django", "rest_framework", "anyio")


def _imported_frameworks(statement: str) -> set[str]:
    code = (
        f"import sys\n{statement}\n"
        f"print(' '.join(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    "module", ["baas_auth", "baas_auth.asgi", "baas_auth.wsgi", "baas_auth.integrations"]
)
def test_the_package_imports_no_framework(module: str) -> None:
    assert _imported_frameworks(f"import {module}") == set()


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("starlette", {"starlette", "anyio"}),
        ("fastapi", {"fastapi", "starlette", "anyio"}),
        ("flask", {"flask", "werkzeug"}),
        ("django", {"django"}),
        ("django_rest", {"django", "rest_framework"}),
    ],
)
def test_each_helper_imports_its_own_framework_only(module: str, allowed: set[str]) -> None:
    statement = f"import baas_auth.integrations.{module}"
    if module.startswith("django"):
        statement = "from django.conf import settings; settings.configure()\n" + statement
    found = _imported_frameworks(statement)
    assert module.removesuffix("_rest") in found
    assert found <= allowed
