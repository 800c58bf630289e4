"""The converter of the original's export files (core/usergrid_files): which names are export
files, what a conversion keeps and leaves out, and that nothing in a file, however garbled,
raises anything but ``ExportFilesError`` or yields a document the import reader refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baas_auth.core.import_document import read_document
from baas_auth.core.usergrid_files import ExportFile, ExportFilesError, convert, kind_of
from tests.usergrid_export import SALT, fixed_uuid
from tests.usergrid_export_files import (
    AppExport,
    admin_entity,
    admin_metadata,
    credentials_dictionary,
    jackson_pretty,
)

ORG, APP = fixed_uuid("org:acme"), fixed_uuid("app:acme/shop")
UUIDS = {"acme/shop": APP}


def _line(export: AppExport, item: dict[str, Any], dictionaries: dict[str, Any]) -> str:
    return json.dumps({"organization": export.org, "application": f"{export.org}/{export.app}",
                       "entity": item, "dictionaries": dictionaries}, separators=(",", ":"))


def export_files() -> list[ExportFile]:
    return list(_FILES)


def _export_files() -> list[ExportFile]:
    shop = AppExport("acme", "shop")
    shop.role("editor", 60_000)
    shop.group("staff", roles=("editor",), rules=("get:/staff/**",))
    shop.user("mel", "md5", "pw", roles=("editor",), rules=("get:/mine/**",))
    lines = [_line(shop, item, dictionaries) for item, dictionaries in shop.entities]
    admin = admin_entity("ann")
    metadata = {admin["uuid"]: admin_metadata([("acme", ORG)], "sha-1", "pw")}
    return [
        ExportFile("acme-shop-1.entities", "".join(f"{line}\n" for line in lines)),
        ExportFile("acme-shop-1.connections", json.dumps(
            {"organization": "acme", "application": "acme/shop", "connectionType": "likes",
             "sourceUuid": fixed_uuid("a"), "targetUuid": fixed_uuid("b")}) + "\n"),
        ExportFile("admin-users.usergrid-management.1.json", jackson_pretty([admin])),
        ExportFile("admin-user-metadata.usergrid-management.1.json", jackson_pretty(metadata)),
    ]


_FILES = _export_files()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("acme-shop-1.entities", "entities"), ("my-org-my-app-17.connections", "connections"),
     ("admin-users.usergrid-management.1433331614293.json", "admin-users"),
     ("admin-user-metadata.usergrid-management.1433331614293.json", "admin-user-metadata"),
     ("acme-shop.entities", None), ("notes.txt", None), ("admin-users.json", None)],
)
def test_export_files_are_known_by_the_names_the_tools_give_them(
    name: str, kind: str | None
) -> None:
    assert kind_of(name) == kind


def test_a_conversion_keeps_uuids_states_hashes_roles_groups_and_rules() -> None:
    conversion = convert(export_files(), UUIDS)
    document = read_document(conversion.document)
    (org,) = document.orgs
    assert (org.uuid, org.name) == (ORG, "acme")
    (app,) = org.apps
    assert (app.uuid, app.name) == (APP, "shop")
    (role,) = app.roles
    assert (role.name, role.uuid, role.inactivity_ms) == (
        "editor", fixed_uuid("role:acme/shop/editor"), 60_000)
    (group,) = app.groups
    assert (group.path, group.rules, group.roles) == ("/staff", ("get:/staff/**",), ("editor",))
    (user,) = app.users
    assert (user.uuid, user.username, user.activated, user.disabled) == (
        fixed_uuid("user:acme/shop/mel"), "mel", True, False)
    assert (user.roles, user.rules) == (("editor",), ("get:/mine/**",))
    record = credentials_dictionary("md5", "pw")["password"]
    assert user.password is not None
    assert (user.password.chain, user.password.secret) == (("md5",), record["secret"])
    (admin,) = document.admins
    assert admin.orgs == (("acme", ORG),)
    assert admin.password is not None
    assert admin.password.chain == ("sha-1",)
    assert conversion.connections == 1


def test_an_org_without_a_uuid_in_the_files_is_left_out_unless_given() -> None:
    files = [file for file in export_files() if file.name.endswith(".entities")]
    conversion = convert(files, UUIDS)
    assert conversion.document["organizations"] == []
    assert conversion.left_out[0].kind == "organization"
    assert "--uuid acme=UUID" in conversion.left_out[0].reason
    given_too = convert(files, {**UUIDS, "acme": ORG})
    assert read_document(given_too.document).orgs[0].uuid == ORG


def test_a_second_entity_with_the_same_uuid_is_reported_and_the_first_kept() -> None:
    files = export_files()
    first = files[0].text.splitlines()[-1]
    twice = ExportFile("acme-shop-2.entities", first.replace('"mel"', '"mallory"') + "\n")
    conversion = convert([*files, twice], UUIDS)
    (user,) = read_document(conversion.document).orgs[0].apps[0].users
    assert user.username == "mel"
    assert any("a second entity with this uuid" in item.reason for item in conversion.left_out)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)


def _converted_or_refused(files: list[ExportFile]) -> None:
    """The documented outcomes: ExportFilesError, or a document the import reader takes."""
    try:
        conversion = convert(files, UUIDS)
    except ExportFilesError:
        return
    read_document(conversion.document)


@settings(max_examples=150)
@given(index=st.integers(0, 3), garbage=st.text(max_size=200))
def test_any_text_in_a_file_is_converted_or_refused(index: int, garbage: str) -> None:
    files = export_files()
    files[index] = ExportFile(files[index].name, garbage)
    _converted_or_refused(files)


def _set(value: Any, path: tuple[str, ...], new: Any) -> None:
    for key in path[:-1]:
        value = value.setdefault(key, {}) if isinstance(value, dict) else {}
    if isinstance(value, dict):
        value[path[-1]] = new


FIELDS = [("entity", "uuid"), ("entity", "type"), ("entity", "username"), ("entity", "email"),
          ("entity", "activated"), ("entity", "disabled"), ("entity", "inactivity"),
          ("entity", "path"), ("entity", "roleName"), ("dictionaries",),
          ("dictionaries", "rolenames"), ("dictionaries", "permissions"),
          ("dictionaries", "credentials"), ("dictionaries", "credentials", "password"),
          ("dictionaries", "credentials", "password", "cryptoChain"),
          ("dictionaries", "credentials", "password", "secret"),
          ("dictionaries", "credentials", "password", "salt"), ("organization",),
          ("application",)]


@settings(max_examples=200)
@given(line=st.integers(0, 2), field=st.sampled_from(FIELDS), value=JSON)
def test_any_json_value_in_any_field_is_converted_or_refused(
    line: int, field: tuple[str, ...], value: Any
) -> None:
    files = export_files()
    lines = [json.loads(text) for text in files[0].text.splitlines()]
    _set(lines[line], field, value)
    files[0] = ExportFile(files[0].name, "".join(json.dumps(item) + "\n" for item in lines))
    _converted_or_refused(files)


@settings(max_examples=100)
@given(field=st.sampled_from(["organizations", "dictionaries", "uuid", "name", "credentials"]),
       value=JSON)
def test_any_json_value_in_admin_metadata_is_converted_or_refused(field: str, value: Any) -> None:
    files = export_files()
    metadata = json.loads(files[3].text)
    (entry,) = metadata.values()
    if field in ("uuid", "name"):
        _set(entry, ("organizations",), [{"uuid": ORG, "name": "acme", field: value}])
    elif field == "credentials":
        _set(entry, ("dictionaries", "credentials"), value)
    else:
        entry[field] = value
    files[3] = ExportFile(files[3].name, json.dumps(metadata))
    _converted_or_refused(files)


def test_an_admin_written_by_two_runs_is_taken_from_the_later() -> None:
    files = export_files()
    later = json.loads(files[2].text)
    later[0]["email"] = "ann@new.example.com"
    again = ExportFile("admin-users.usergrid-management.2.json", jackson_pretty(later))
    conversion = convert([*files, again], UUIDS)
    (admin,) = read_document(conversion.document).admins
    assert admin.email == "ann@new.example.com"
    assert any("written again by a later run" in item.reason for item in conversion.left_out)


def test_a_salted_record_keeps_its_salt() -> None:
    shop = AppExport("acme", "shop")
    shop.user("sal", "md5+salt", "pw")
    (item, dictionaries), = shop.entities
    record = dictionaries["credentials"]["password"]
    record["salt"] = SALT  # where the deployment salted: added to the record by hand
    files = [ExportFile("acme-shop-1.entities", _line(shop, item, dictionaries) + "\n")]
    (user,) = read_document(convert(files, {"acme": ORG, **UUIDS}).document).orgs[0].apps[0].users
    assert user.password is not None
    assert (user.password.chain, user.password.salt) == (("md5",), SALT)
