"""Importing identities exported from API BaaS, on every store: uuids,
client credentials and password hashes kept; legacy hashes verified at login and replaced by
scrypt; idempotent; clashes and bad items reported, never written over."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from baas_auth import ImportReport, Realm
from baas_auth.core.import_document import ImportDocumentError
from baas_auth.errors import (
    ConfigError,
    ForbiddenError,
    InvalidClientError,
    InvalidGrantError,
    StoreError,
    TooManyRequestsError,
)
from baas_auth.realm import import_flows as imports
from tests.usergrid_export import (
    SCHEMES,
    client,
    credentials,
    export_document,
    fixed_uuid,
    legacy_credentials,
    user,
)

PASSWORD = "fünf Äpfel 5"  # not ASCII: the original hashes UTF-8 bytes
WRONG = "not the password"


def _stored_hash(realm: Realm, name: str) -> str:
    uuid = realm.get_user("acme", "shop", name).uuid
    raw = realm.store.get(f"user:acme/shop:{uuid}")
    assert raw is not None
    import json

    stored: str = json.loads(raw)["password_hash"]
    return stored


def _outcomes(report: ImportReport) -> dict[tuple[str, str], str]:
    return {(entry.kind, entry.name): entry.outcome for entry in report.entries}


def _entry(report: ImportReport, kind: str, name: str, *, skipped: bool) -> str:
    """The reason of the last entry of that kind and name."""
    found = [e for e in report.entries if (e.kind, e.name) == (kind, name)]
    assert found
    assert (found[-1].outcome == "skipped") == skipped
    return found[-1].reason or ""


def _everything(realm: Realm) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for prefix in ("org:", "app:", "role:", "group:", "user:", "userid:", "admin", "client:"):
        found.update(realm.store.scan(prefix))
    return found


# -- passwords in every scheme the original wrote -------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_imported_user_logs_in_with_the_original_password(realm: Realm, scheme: str):
    report = realm.import_identities(export_document([user("alice", scheme, PASSWORD)]))
    assert _outcomes(report)[("user", "alice")] == "created"
    grant = realm.password_token("acme", "shop", "alice", PASSWORD)
    assert grant.principal.uuid == fixed_uuid("user:alice")
    assert grant.expires_in == 3600  # the app's accesstokenttl came along
    with pytest.raises(InvalidGrantError):
        realm.password_token("acme", "shop", "alice", WRONG)


def test_the_older_hashtype_and_cipher_record_is_read_as_the_original_reads_it(realm: Realm):
    alice = {**user("alice", "md5", PASSWORD), "credentials": legacy_credentials(PASSWORD)}
    realm.import_identities(export_document([alice]))
    assert realm.password_token("acme", "shop", "alice", PASSWORD).principal.username == "alice"


@pytest.mark.parametrize("scheme", ["md5", "sha-1", "bcrypt", "md5,bcrypt", "sha-1+salt"])
def test_first_login_replaces_a_legacy_hash_by_scrypt(realm: Realm, scheme: str):
    realm.import_identities(export_document([user("alice", scheme, PASSWORD)]))
    assert _stored_hash(realm, "alice").startswith("usergrid$")
    with pytest.raises(InvalidGrantError):
        realm.password_token("acme", "shop", "alice", WRONG)
    assert _stored_hash(realm, "alice").startswith("usergrid$")  # a failure changes nothing
    realm.password_token("acme", "shop", "alice", PASSWORD)
    assert _stored_hash(realm, "alice").startswith("scrypt$")
    realm.password_token("acme", "shop", "alice", PASSWORD)  # and it still works after
    with pytest.raises(InvalidGrantError):
        realm.password_token("acme", "shop", "alice", WRONG)


def test_a_plaintext_credential_is_never_stored_as_it_came(realm: Realm):
    realm.import_identities(export_document([user("alice", "plaintext", PASSWORD)]))
    assert _stored_hash(realm, "alice").startswith("scrypt$")
    assert not any(PASSWORD.encode() in raw for raw in _everything(realm).values())


def test_admins_keep_their_password_and_organizations(realm: Realm):
    realm.import_identities(export_document())
    grant = realm.admin_token("ann", "ann-password")
    assert grant.principal.uuid == fixed_uuid("admin:ann")
    assert grant.principal.orgs == frozenset({"acme"})


@pytest.mark.parametrize(
    ("states", "refusal", "message"),
    [
        ({"activated": True, "confirmed": False}, ForbiddenError, "confirmed"),
        ({"activated": False, "confirmed": True}, InvalidGrantError, "activated"),
    ],
)
def test_admin_states_are_kept(
    realm: Realm, states: dict[str, bool], refusal: type[Exception], message: str
):
    document = export_document()
    document["admins"][0].update(states)
    realm.import_identities(document)
    ann = realm.get_admin("ann")
    assert (ann.activated, ann.confirmed, ann.disabled) == (
        states["activated"],
        states["confirmed"],
        False,
    )
    with pytest.raises(refusal, match=message):
        realm.admin_token("ann", "ann-password")


def test_credentials_are_also_read_where_the_export_tools_write_them(realm: Realm):
    # ExportApp and ExportAdmins write an account's records under "dictionaries".
    alice = user("alice", "bcrypt", PASSWORD)
    alice["dictionaries"] = {"credentials": alice.pop("credentials")}
    realm.import_identities(export_document([alice]))
    assert realm.password_token("acme", "shop", "alice", PASSWORD).principal.username == "alice"


def test_legacy_failures_are_counted_by_the_throttle(realm: Realm):
    realm.import_identities(export_document([user("alice", "md5", PASSWORD)]))
    for _ in range(5):  # the default LoginThrottle locks after 5 failures
        with pytest.raises(InvalidGrantError):
            realm.password_token("acme", "shop", "alice", WRONG)
    with pytest.raises(TooManyRequestsError):
        realm.password_token("acme", "shop", "alice", PASSWORD)
    assert _stored_hash(realm, "alice").startswith("usergrid$")


# -- client credentials ---------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "owner"), [("org", "acme"), ("app", "acme/shop")])
def test_imported_client_credentials_grant_tokens(realm: Realm, kind: str, owner: str):
    realm.import_identities(export_document())
    pair = client(kind, owner)
    assert (len(pair["client_id"]), len(pair["client_secret"])) == (26, 31)  # the original's
    principal = realm.client_token(pair["client_id"], pair["client_secret"]).principal
    assert principal.kind == f"{kind}_client"
    assert (principal.org, principal.app) == ("acme", None if kind == "org" else "shop")
    with pytest.raises(InvalidClientError):
        realm.client_token(pair["client_id"], pair["client_secret"] + "x")
    assert not any(pair["client_secret"].encode() in raw for raw in _everything(realm).values())


# -- roles, groups and their rules ----------------------------------------------------------


def test_roles_groups_and_memberships_give_the_rules_they_gave(realm: Realm):
    alice = user("alice", "sha-1", PASSWORD, roles=["editor"], groups=["staff"],
                 permissions=["delete:/mine"])
    realm.import_identities(export_document([alice]))
    principal = realm.password_token("acme", "shop", "alice", PASSWORD).principal
    assert realm.user_roles("acme", "shop", "alice") == ("editor",)
    assert realm.user_groups("acme", "shop", "alice") == ("/staff",)

    def permits(method: str, path: str) -> bool:
        return realm.permits(principal, method, path, org="acme", app="shop")

    assert permits("GET", "/books/1")  # default
    assert permits("PUT", "/books/1")  # editor
    assert permits("GET", "/staff/x")  # the group's own rule
    assert permits("GET", "/audit/log")  # the group's role
    assert permits("DELETE", "/mine")  # the user's own rule
    assert not permits("DELETE", "/books/1")
    guest = realm.guest("acme", "shop")
    assert realm.permits(guest, "POST", "/users", org="acme", app="shop")
    assert realm.get_app("acme", "shop").uuid == fixed_uuid("app:acme/shop")
    assert realm.get_org("acme").uuid == fixed_uuid("org:acme")


def test_rules_and_names_the_realm_refuses_are_reported_and_left_out(realm: Realm):
    document = export_document([user("alice", "md5", PASSWORD, roles=["nosuch", "Bad Name"])])
    roles = document["organizations"][0]["applications"][0]["roles"]
    roles[0]["permissions"].append("get:/books/{id}")
    report = realm.import_identities(document)
    skipped = {(e.kind, e.name): e for e in report.skipped}
    assert "placeholders" in (skipped[("permission", "get:/books/{id}")].reason or "")
    assert skipped[("role", "nosuch")].where == "acme/shop user alice"
    assert skipped[("role", "Bad Name")].reason is not None
    assert realm.get_role("acme", "shop", "default").rules == ("get:/books/**",)
    assert realm.user_roles("acme", "shop", "alice") == ()


def test_a_second_import_reports_what_the_document_leaves_out_again(realm: Realm):
    document = export_document([user("alice", "md5", PASSWORD, roles=["Bad Name"])])
    roles = document["organizations"][0]["applications"][0]["roles"]
    roles[0]["permissions"].append("get:/books/{id}")
    first = realm.import_identities(document)
    second = realm.import_identities(document)
    left_out = {("permission", "get:/books/{id}"), ("role", "Bad Name")}
    assert {(e.kind, e.name) for e in first.skipped} == left_out
    assert {(e.kind, e.name) for e in second.skipped} == left_out
    assert second.created == ()


def test_a_built_in_role_that_is_skipped_is_still_made_empty(realm: Realm):
    document = export_document()
    document["organizations"][0]["applications"][0]["roles"][0]["uuid"] = "bad"
    report = realm.import_identities(document)
    assert _entry(report, "role", "default", skipped=True) == "the uuid 'bad' is malformed"
    assert realm.get_role("acme", "shop", "default").rules == ()


# -- idempotence and clashes ----------------------------------------------------------------


def test_importing_twice_changes_nothing_and_says_so(realm: Realm):
    document = export_document([user("alice", "sha-1", PASSWORD)])
    first = realm.import_identities(document)
    assert (first.skipped, first.unchanged) == ((), ())
    realm.password_token("acme", "shop", "alice", PASSWORD)  # re-hashed under scrypt
    before = _everything(realm)
    second = realm.import_identities(document)
    assert (second.created, second.skipped) == ((), ())
    assert {e.kind for e in second.unchanged} == {
        "organization", "application", "credentials", "role", "group", "user", "admin"
    }
    assert _everything(realm) == before  # the login's new hash was not put back
    assert _stored_hash(realm, "alice").startswith("scrypt$")


def test_dry_run_reports_what_an_import_would_do_and_writes_nothing(realm: Realm):
    document = export_document([user("alice", "plaintext", PASSWORD)])
    realm.create_org("globex")
    before = _everything(realm)
    dry = realm.import_identities(document, dry_run=True)
    assert dry.dry_run
    assert _everything(realm) == before
    real = realm.import_identities(document)
    assert [(e.kind, e.name, e.outcome) for e in dry.entries] == [
        (e.kind, e.name, e.outcome) for e in real.entries
    ]


def test_a_username_taken_by_another_user_is_skipped_not_overwritten(realm: Realm):
    realm.import_identities(export_document())
    other = realm.create_user("acme", "shop", "alice", password="her-own-password")
    report = realm.import_identities(export_document([user("alice", "md5", PASSWORD)]))
    entry = next(e for e in report.entries if e.kind == "user")
    assert entry.outcome == "skipped"
    assert "belongs to another user" in (entry.reason or "")
    assert realm.get_user("acme", "shop", "alice").uuid == other.uuid
    assert realm.password_token("acme", "shop", "alice", "her-own-password")


def test_an_email_or_uuid_of_another_user_is_a_clash(realm: Realm):
    bob = user("bob", "md5", PASSWORD)
    realm.import_identities(export_document([bob]))
    same_uuid = {**user("robert", "md5", PASSWORD), "uuid": bob["uuid"]}
    same_email = {**user("carol", "md5", PASSWORD), "email": "BOB@example.com"}
    report = realm.import_identities(export_document([same_uuid, same_email]))
    skipped = {e.name: e.reason or "" for e in report.skipped}
    assert "the uuid is the user 'bob'" in skipped["robert"]
    assert "'bob@example.com' belongs to another user" in skipped["carol"]
    assert [u.username for u in realm.list_users("acme", "shop")] == ["bob"]


def test_an_org_of_another_uuid_is_skipped_with_everything_in_it(realm: Realm):
    realm.create_org("acme")
    report = realm.import_identities(export_document([user("alice", "md5", PASSWORD)]))
    outcomes = _outcomes(report)
    assert outcomes[("organization", "acme")] == "skipped"
    assert outcomes[("application", "shop")] == "skipped"
    assert outcomes[("user", "alice")] == "skipped"
    assert outcomes[("admin", "ann")] == "created"
    assert realm.get_admin("ann").orgs == ()  # the org it named is not the exported one
    assert "has another uuid" in (_entry(report, "organization", "acme", skipped=True))
    assert {e.reason for e in report.skipped if e.kind == "user"} == {
        "its organization was skipped"
    }


def test_a_uuid_taken_by_another_org_or_app_is_skipped(realm: Realm):
    document = export_document()
    renamed = copy.deepcopy(document)
    renamed["organizations"][0]["name"] = "initech"
    realm.import_identities(document)
    report = realm.import_identities(renamed)
    entry = report.entries[0]
    assert (entry.kind, entry.outcome) == ("organization", "skipped")
    assert "the uuid is the organization 'acme'" in (entry.reason or "")


def test_a_client_id_with_another_secret_or_owner_is_skipped(realm: Realm):
    document = export_document()
    org = document["organizations"][0]
    org["credentials"].append({"client_id": "custom-id", "client_secret": "custom-secret"})
    realm.import_identities(document)
    org["credentials"][0]["client_secret"] = "b3U6another"
    org["applications"][0]["credentials"] = [
        {"client_id": "custom-id", "client_secret": "custom-secret"},
        client("org", "elsewhere"),
    ]
    report = realm.import_identities(document)
    reasons = [e.reason for e in report.entries if e.kind == "credentials"]
    assert reasons == [
        "the client_id exists with another secret",
        None,  # custom-id, unchanged
        "the client_id belongs to acme",
        "b3U6… is an org's client_id, listed under an app",
    ]
    pair = client("org", "acme")
    with pytest.raises(InvalidClientError):
        realm.client_token(pair["client_id"], "b3U6another")


# -- what is refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"uuid": "not-a-uuid"}, "the uuid 'not-a-uuid' is malformed"),
        ({"uuid": None}, "it has no uuid"),
        ({"username": fixed_uuid("x")}, "has the form of a uuid"),
        ({"username": "me"}, "is reserved"),
        ({"username": "a*b"}, "usernames match"),
        ({"credentials": {"password": {"cryptoChain": ["rot13"], "secret": "x"}}},
         "unknown password scheme 'rot13'"),
        ({"credentials": {"password": {"cryptoChain": ["sha-1"], "secret": "!!"}}},
         "not base64url"),
        ({"credentials": {"password": {"cryptoChain": ["md5"], "secret": "YWJj"}}},
         "the md5 secret has 3 bytes, not 32"),
        ({"credentials": {"password": {"cryptoChain": ["bcrypt"], "secret": "JDJhJDk5JHg"}}},
         "does not hold a $2a$ hash"),
    ],
)
def test_an_item_the_realm_cannot_take_is_skipped_with_the_reason(
    realm: Realm, changes: dict[str, Any], reason: str
):
    alice = {**user("alice", "md5", PASSWORD), **changes}
    report = realm.import_identities(export_document([alice]))
    entry = next(e for e in report.entries if e.kind == "user")
    assert entry.outcome == "skipped"
    assert reason in (entry.reason or "")
    assert realm.list_users("acme", "shop") == []


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "the document: expected a JSON object"),
        ({"version": 2}, "version 2"),
        ({"organizations": {}}, "the document.organizations: expected an array"),
        ({"organizations": ["acme"]}, "organizations[0]: expected a JSON object"),
        ({"organizations": [{"name": 5}]}, "organizations[0].name: expected a string"),
        ({"admins": [{"activated": "yes"}]}, "admins[0].activated: expected true or false"),
        ({"organizations": [{"applications": [{"accesstokenttl": -1}]}]}, "accesstokenttl"),
    ],
)
def test_a_document_of_the_wrong_shape_is_refused_whole(
    realm: Realm, document: Any, message: str
):
    before = _everything(realm)
    with pytest.raises(ImportDocumentError) as refused:
        realm.import_identities(document)
    assert message in str(refused.value)
    assert isinstance(refused.value, ConfigError)
    assert _everything(realm) == before


def test_bcrypt_hashes_without_the_package_are_refused_before_anything_is_written(
    realm: Realm, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(imports, "bcrypt_available", lambda: False)
    document = export_document([user("alice", "md5", PASSWORD), user("bob", "bcrypt", PASSWORD)])
    needs = r"^1 account has a bcrypt password hash, and bcrypt password hashes need the bcrypt"
    with pytest.raises(ImportDocumentError, match=needs + r" .*baas-auth\[bcrypt\]"):
        realm.import_identities(document)
    assert _everything(realm) == {}
    two = export_document([user("bob", "bcrypt", PASSWORD), user("carol", "md5,bcrypt", PASSWORD)])
    with pytest.raises(ImportDocumentError, match=r"^2 accounts have bcrypt password hashes, and"):
        realm.import_identities(two)


def test_require_strong_skips_md5_and_sha1_accounts_only(realm: Realm):
    users = [user(scheme.replace(",", "-").replace("+", "-"), scheme, PASSWORD)
             for scheme in ("md5", "sha-1", "bcrypt", "md5,bcrypt", "plaintext")]
    report = realm.import_identities(export_document(users), require_strong_hashes=True)
    outcomes = {e.name: e.outcome for e in report.entries if e.kind in ("user", "admin")}
    assert outcomes == {"md5": "skipped", "sha-1": "skipped", "bcrypt": "created",
                        "md5-bcrypt": "created", "plaintext": "created", "ann": "skipped"}


def test_a_bcrypt_hash_that_cannot_be_checked_at_login_fails_closed(
    realm: Realm, monkeypatch: pytest.MonkeyPatch
):
    realm.import_identities(export_document([user("alice", "bcrypt", PASSWORD)]))
    import importlib

    real = importlib.import_module

    def without_bcrypt(name: str, *args: Any) -> Any:
        if name == "bcrypt":
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_bcrypt)
    with pytest.raises(StoreError, match="baas-auth\\[bcrypt\\]"):
        realm.password_token("acme", "shop", "alice", PASSWORD)


def test_credentials_record_formats_are_refused_as_items_not_documents(realm: Realm):
    alice = {**user("alice", "md5", PASSWORD), "credentials": credentials("md5", PASSWORD)}
    alice["credentials"]["password"]["cryptoChain"] = []
    report = realm.import_identities(export_document([alice]))
    assert "names no scheme" in (report.skipped[0].reason or "")
