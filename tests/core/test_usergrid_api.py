"""What the original's REST API adds to a conversion (core/usergrid_api): the paths asked, the
answers used, and that no answer, whatever its shape, raises or yields a document the import
reader refuses."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from baas_auth.core.import_document import read_document
from baas_auth.core.usergrid_api import ApiFailure, api_uuids, app_paths, complete, org_paths
from baas_auth.core.usergrid_files import convert
from tests.core.test_usergrid_files import APP, JSON, ORG, UUIDS, export_files
from tests.usergrid_export import client, fixed_uuid

GROUP = fixed_uuid("group:acme/shop/staff")


def test_the_paths_asked_are_the_originals() -> None:
    assert org_paths("acme") == ["/management/orgs/acme", "/management/orgs/acme/credentials",
                                 "/management/orgs/acme/apps"]
    assert org_paths("a b") == ["/management/orgs/a%20b", "/management/orgs/a%20b/credentials",
                                "/management/orgs/a%20b/apps"]
    document = convert(export_files(), UUIDS).document
    assert app_paths(document) == ["/acme/shop", "/acme/shop/credentials",
                                   "/acme/shop/roles/editor/permissions",
                                   f"/acme/shop/groups/{GROUP}/users"]


def test_uuids_come_from_the_org_and_its_apps() -> None:
    answers = {"/management/orgs/acme": {"organization": {"uuid": ORG.upper(), "name": "acme"}},
               "/management/orgs/acme/apps": {"data": {"acme/Shop": APP, "acme/bad": "x"}}}
    assert api_uuids(["acme"], answers) == {"acme": ORG, "acme/shop": APP}


def test_answers_complete_the_document_and_what_they_supply_is_no_longer_listed() -> None:
    conversion = convert(export_files(), UUIDS)
    pairs = {"org": client("org", "acme"), "app": client("app", "acme/shop")}
    answers = {
        "/management/orgs/acme/credentials": {"credentials": pairs["org"]},
        "/acme/shop": {"entities": [{"uuid": APP, "accesstokenttl": 60_000}]},
        "/acme/shop/credentials": {"credentials": pairs["app"]},
        "/acme/shop/roles/editor/permissions": {"data": ["put:/books/*"]},
        f"/acme/shop/groups/{GROUP}/users": {"entities": [
            {"uuid": fixed_uuid("user:acme/shop/mel")}, {"uuid": fixed_uuid("someone else")}]},
    }
    document, left_out = complete(conversion.document, conversion.left_out, answers)
    assert left_out == ()
    app = read_document(document).orgs[0].apps[0]
    assert app.access_token_ttl_ms == 60_000
    assert [c.client_id for c in app.clients] == [pairs["app"]["client_id"]]
    assert app.roles[0].rules == ("put:/books/*",)
    assert app.users[0].groups == ("/staff",)
    assert conversion.document["organizations"][0]["applications"][0]["roles"][0][  # type: ignore[index]
        "permissions"] == []  # the conversion itself is left as it was


def test_a_failed_answer_is_listed_with_its_path() -> None:
    conversion = convert(export_files(), UUIDS)
    answers: dict[str, Any] = {"/acme/shop/roles/editor/permissions": ApiFailure("404 Not Found")}
    _, left_out = complete(conversion.document, conversion.left_out, answers)
    reasons = {item.name: item.reason for item in left_out if item.kind == "api"}
    assert reasons["GET /acme/shop/roles/editor/permissions"] == "the role's rules: 404 Not Found"
    assert reasons["GET /acme/shop/credentials"] == "client credentials: not asked"
    assert any(item.kind == "role permissions" for item in left_out)


ANSWER = JSON | st.builds(ApiFailure, st.text(max_size=5)) | st.fixed_dictionaries(
    {}, optional={"data": JSON, "entities": st.lists(JSON, max_size=3), "credentials": JSON})


CONVERSION = convert(export_files(), UUIDS)


@settings(max_examples=60)  # drawing the answers costs more than checking them
@given(answers=st.lists(ANSWER, min_size=5, max_size=5))
def test_any_answers_complete_a_document_the_import_reader_takes(answers: list[Any]) -> None:
    conversion = CONVERSION
    paths = ["/management/orgs/acme/credentials", *app_paths(conversion.document)]
    document, _ = complete(conversion.document, conversion.left_out, dict(zip(paths, answers,
                                                                              strict=True)))
    read_document(document)
    api_uuids(["acme"], {"/management/orgs/acme": answers[0],
                         "/management/orgs/acme/apps": answers[1]})
