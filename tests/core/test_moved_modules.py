"""Modules that moved keep their old import paths for one release, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import sys

import pytest

from baas_auth import _moved


@pytest.fixture(autouse=True)
def _forget_old_paths():
    """Each test imports an old path afresh (the warning is given when it is imported)."""
    yield
    for old in _moved.MOVED:
        sys.modules.pop(old, None)


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_an_old_path_warns_and_gives_the_same_objects(old: str):
    with pytest.warns(DeprecationWarning, match=rf"{old} moved to .*baas_auth\."):
        shim = importlib.import_module(old)
    homes = [importlib.import_module(home) for home in _moved.MOVED[old]]
    names = [name for home in homes for name in vars(home) if not name.startswith("__")]
    assert names, old
    for name in names:
        owner = next(home for home in homes if name in vars(home))
        assert getattr(shim, name) is getattr(owner, name), (old, name)


def test_the_split_records_module_answers_from_each_new_home():
    from baas_auth.core import identifiers, record_keys, records

    with pytest.warns(DeprecationWarning, match="moved to"):
        from baas_auth.records import UserRecord, fold, user_key  # type: ignore[import-not-found]
    assert (fold, UserRecord, user_key) == (
        identifiers.fold,
        records.UserRecord,
        record_keys.user_key,
    )


def test_a_name_that_never_existed_is_still_an_attribute_error():
    with pytest.warns(DeprecationWarning, match="moved to"):
        shim = importlib.import_module("baas_auth.gate")
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        shim.nothing_here  # noqa: B018 - the read is the test


def test_a_path_that_never_existed_is_not_found():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("baas_auth.never_was")


def test_new_paths_import_without_a_warning():
    for old in _moved.MOVED:
        for home in _moved.MOVED[old]:
            importlib.import_module(home)  # filterwarnings=error turns any warning into a failure
