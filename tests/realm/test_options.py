"""The realm's keyword options are typed (``RealmOptions``): type checkers see each one and refuse
an unknown name or a wrong type, and at runtime an unknown name is still a ``TypeError`` naming
it, on ``Realm``, ``AsyncRealm`` and their ``open``."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable
from pathlib import Path

import pytest
from mypy import api as mypy_api

from baas_auth import AsyncRealm, MemoryStore, Realm, RealmOptions
from baas_auth.realm.state import RealmSettings
from baas_auth.stores.redis import AsyncRedisStore

UNUSED_REDIS = "redis://127.0.0.1:9/0"
"""Never connected to: the option check comes before the first operation."""


def test_the_options_are_the_settings_fields_and_builds_keywords() -> None:
    fields = {field.name for field in dataclasses.fields(RealmSettings)}
    keywords = set(inspect.signature(RealmSettings.build).parameters)
    hints = typing.get_type_hints(RealmOptions)
    assert set(hints) == fields == keywords
    assert RealmOptions.__optional_keys__ == fields, "every option is optional"


@pytest.mark.parametrize(
    "make",
    [
        lambda: Realm(MemoryStore(), clok=lambda: 0.0),  # type: ignore[call-arg]
        lambda: Realm.open("memory:", clok=lambda: 0.0),  # type: ignore[call-arg]
        lambda: AsyncRealm(AsyncRedisStore(UNUSED_REDIS), clok=lambda: 0.0),  # type: ignore[call-arg]
        lambda: AsyncRealm.open(UNUSED_REDIS, clok=lambda: 0.0),  # type: ignore[call-arg]
    ],
    ids=["Realm", "Realm.open", "AsyncRealm", "AsyncRealm.open"],
)
def test_an_unknown_option_is_a_type_error_naming_it(make: Callable[[], object]) -> None:
    with pytest.raises(TypeError, match=r"unknown realm option 'clok'; the options are .*clock"):
        make()


SNIPPET = """\
from baas_auth import AsyncRealm, MemoryStore, Realm, RealmOptions

realm = Realm(MemoryStore(), max_token_ttl_ms=60_000, login_throttle=None)
Realm(MemoryStore(), clok=None)
Realm.open("memory:", max_token_ttl_ms="60000")
AsyncRealm.open("redis://localhost/0", revoke_tokens_on_password_change=1)
options: RealmOptions = {"min_password_length": 12}
Realm(MemoryStore(), **options)
"""


def test_type_checkers_see_the_options(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(SNIPPET, encoding="utf-8")
    out, err, status = mypy_api.run(
        [str(snippet), "--no-incremental", "--no-error-summary", "--follow-imports=silent"]
    )
    errors = {int(line.split(":")[1]): line for line in out.splitlines() if ": error:" in line}
    assert sorted(errors) == [4, 5, 6], out + err
    assert '"clok"' in errors[4]
    assert "max_token_ttl_ms" in errors[5]
    assert "revoke_tokens_on_password_change" in errors[6]
    assert status == 1
