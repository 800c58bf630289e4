"""What the middleware remembers between requests never outlives what it depends on.

A request seen before skips the checks that depend on it alone, and a token seen before skips
its MAC; revocation, expiry, rule changes and deleted apps still apply to the very next request.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from baas_auth import MemoryStore, Realm, StoreError
from baas_auth.wsgi import AuthMiddleware
from tests.conftest import FAST_HASHER, FakeClock


def _inner(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"ok"]


@pytest.fixture
def setup(clock: FakeClock) -> tuple[Realm, AuthMiddleware]:
    realm = Realm(MemoryStore(), clock=clock, password_hasher=FAST_HASHER)
    realm.create_org("acme")
    realm.create_app("acme", "shop", roles="usergrid")
    realm.create_user("acme", "shop", "alice", password="pw-secret")
    return realm, AuthMiddleware(_inner, realm, application="acme/shop")


def _call(app: AuthMiddleware, path: str, authorization: str | None = None, query: str = "") -> str:
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query}
    if authorization is not None:
        environ["HTTP_AUTHORIZATION"] = authorization
    status: list[str] = []
    b"".join(app(environ, lambda s, h, e=None: status.append(s)))  # type: ignore[arg-type]
    return status[0]


def test_revocation_applies_to_a_request_seen_before(setup):
    realm, app = setup
    token = realm.password_token("acme", "shop", "alice", "pw-secret").access_token
    assert _call(app, "/books", f"Bearer {token}") == "200 OK"
    realm.revoke_token(token)
    assert _call(app, "/books", f"Bearer {token}").startswith("401")


@pytest.mark.parametrize(
    "paths", [("/books",) * 3, ("/books/1", "/books/2", "/books/3")], ids=["same", "new"]
)
def test_expiry_applies_to_a_token_seen_before(setup, clock: FakeClock, paths: tuple[str, ...]):
    """On the same path again, and on a path never seen (the token's validity remembered)."""
    realm, app = setup
    token = realm.password_token("acme", "shop", "alice", "pw-secret", ttl_ms=1000).access_token
    first, second, third = paths
    assert _call(app, first, f"Bearer {token}") == "200 OK"
    clock.advance_ms(999)
    assert _call(app, second, f"Bearer {token}") == "200 OK"
    clock.advance_ms(1)
    assert _call(app, third, f"Bearer {token}").startswith("401")


def test_rule_changes_apply_to_a_request_seen_before(setup):
    realm, app = setup
    token = realm.password_token("acme", "shop", "alice", "pw-secret").access_token
    assert _call(app, "/books", f"Bearer {token}") == "200 OK"
    realm.revoke_grant("acme", "shop", "get,put,post,delete:/**", role="default")
    assert _call(app, "/books", f"Bearer {token}").startswith("403")


def test_guest_rules_and_deleted_roles_apply_at_once(setup):
    realm, app = setup
    realm.grant("acme", "shop", "get:/public/**", role="guest")
    assert _call(app, "/public/x") == "200 OK"
    realm.delete_role("acme", "shop", "guest")
    assert _call(app, "/public/x").startswith("401")


def test_client_secrets_are_not_remembered(setup):
    realm, app = setup
    creds = realm.create_credentials("acme", "shop")
    query = f"client_id={creds.client_id}&client_secret={creds.client_secret}"
    assert _call(app, "/books", query=query) == "200 OK"
    assert not app.caches_hold(creds.client_secret)
    realm.regenerate_credentials(creds.client_id)
    assert _call(app, "/books", query=query).startswith("401")


def test_remembered_requests_are_bounded(setup):
    from baas_auth.middleware import freshness

    _, app = setup
    for index in range(freshness.CACHE_SIZE + 10):
        _call(app, f"/items/{index}")
    assert 0 < app.cache_figures().parsed <= freshness.CACHE_SIZE


def test_a_record_vanishing_mid_request_is_a_refusal_not_a_crash(setup, monkeypatch):
    from baas_auth.errors import NotFoundError

    realm, app = setup
    token = realm.password_token("acme", "shop", "alice", "pw-secret").access_token

    from baas_auth.realm import flows

    def vanished(*args: object, **kwargs: object) -> Iterator[object]:
        raise NotFoundError("no user 'alice' in acme/shop")
        yield  # a flow that fails at its first step

    monkeypatch.setattr(flows, "revoke_user_tokens", vanished)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "PUT",
        "PATH_INFO": "/users/me/revoketokens",
        "QUERY_STRING": "",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, e=None: status.append(s)))  # type: ignore[arg-type]
    assert status == ["404 Not Found"]
    assert b"service_resource_not_found" in body


# -- recalled admissions: the steady state of a client repeating a call ----------------------


def test_a_recalled_admission_ends_with_its_token(setup, clock: FakeClock):
    realm, app = setup
    token = realm.password_token("acme", "shop", "alice", "pw-secret", ttl_ms=1000).access_token
    assert _call(app, "/books", f"Bearer {token}") == "200 OK"
    clock.advance_ms(999)
    assert _call(app, "/books", f"Bearer {token}") == "200 OK"
    assert app.cache_figures().admitted, "the second request was recalled"
    clock.advance_ms(1)
    assert _call(app, "/books", f"Bearer {token}").startswith("401")


def test_roles_that_lapse_with_inactivity_are_judged_on_every_request(setup, clock: FakeClock):
    """Each request of such a user is a use the store must record, and the rules it gets
    depend on the time since the last one: never recalled."""
    realm, app = setup
    realm.revoke_grant("acme", "shop", "get,put,post,delete:/**", role="default")
    realm.create_role("acme", "shop", "reader", inactivity_ms=60_000)
    realm.grant("acme", "shop", "get:/books", role="reader")
    realm.assign_role("acme", "shop", "reader", user="alice")
    token = realm.password_token("acme", "shop", "alice", "pw-secret").access_token
    assert _call(app, "/books", f"Bearer {token}") == "200 OK"
    clock.advance_ms(30_000)
    assert _call(app, "/books", f"Bearer {token}") == "200 OK"
    assert not app.cache_figures().admitted
    clock.advance_ms(60_001)
    assert _call(app, "/books", f"Bearer {token}").startswith("403")


def test_client_secrets_are_never_recalled(setup):
    realm, app = setup
    creds = realm.create_credentials("acme", "shop")
    query = f"client_id={creds.client_id}&client_secret={creds.client_secret}"
    assert _call(app, "/books", query=query) == "200 OK"
    assert _call(app, "/books", query=query) == "200 OK"
    assert not app.cache_figures().admitted
    assert not app.caches_hold(creds.client_secret)


def test_recalled_admissions_are_reported_like_any_other(setup):
    realm, _ = setup
    events: list[Any] = []
    app = AuthMiddleware(_inner, realm, application="acme/shop", on_decision=events.append)
    token = realm.password_token("acme", "shop", "alice", "pw-secret").access_token
    for _ in range(3):
        assert _call(app, "/books", f"Bearer {token}") == "200 OK"
    assert [(e.decision, e.path, e.reason) for e in events] == [("allow", "/books", "rule")] * 3
    assert events[0].principal == events[2].principal


def test_recalled_admissions_are_bounded(setup):
    from baas_auth.middleware import freshness as recall

    realm, app = setup
    realm.grant("acme", "shop", "get:/**", role="guest")
    for index in range(recall.CACHE_SIZE + 10):
        assert _call(app, f"/items/{index}") == "200 OK"
    assert not app.cache_figures().admitted, "a request made once is not remembered"
    for index in range(recall.CACHE_SIZE + 10):
        assert _call(app, f"/again/{index}") == "200 OK"
        assert _call(app, f"/again/{index}") == "200 OK"
    assert 0 < app.cache_figures().admitted <= recall.CACHE_SIZE


def test_a_recalled_admission_ends_with_the_expiry_written_in_the_token(setup, clock: FakeClock):
    """Not the stored record's: a record rewritten with a later expiry behind the realm's
    back must not stretch what the token itself says."""
    import json

    realm, app = setup
    token = realm.password_token("acme", "shop", "alice", "pw-secret", ttl_ms=1000).access_token
    store = realm.store
    (key,) = list(store._tokens._entries)
    token_id = key.hex()
    record = json.loads(store.get_token(token_id).record)
    record["expires_at_ms"] += 3_600_000
    store.put_token(
        token_id, "user:acme/shop:x", json.dumps(record).encode(), created_ms=1, expires_at_ms=None
    )
    for _ in range(2):
        assert _call(app, "/books", f"Bearer {token}") == "200 OK"
    assert app.cache_figures().admitted
    clock.advance_ms(1000)
    assert _call(app, "/books", f"Bearer {token}").startswith("401")


# -- recalled refusals ------------------------------------------------------------------------


def _token(realm: Realm) -> str:
    return realm.password_token("acme", "shop", "alice", "pw-secret").access_token


@pytest.mark.parametrize(
    ("refusal", "status"),
    [("revoked", "401"), ("tampered", "401"), ("expired", "401"), ("forbidden", "403")],
)
def test_a_repeated_refusal_is_recalled_and_lifted_by_a_change(
    setup, clock: FakeClock, refusal: str, status: str
):
    realm, app = setup
    token = _token(realm)
    if refusal == "revoked":
        realm.revoke_token(token)
    elif refusal == "tampered":
        token = token[:12] + ("A" if token[12] != "A" else "B") + token[13:]
    elif refusal == "expired":
        token = realm.password_token("acme", "shop", "alice", "pw-secret", ttl_ms=10).access_token
        clock.advance_ms(10)
    else:
        realm.revoke_grant("acme", "shop", "get,put,post,delete:/**", role="default")
    for _ in range(3):
        assert _call(app, "/books", f"Bearer {token}").startswith(status)
    assert app.cache_figures().refused, "the third was recalled"
    if refusal == "forbidden":
        realm.grant("acme", "shop", "get:/books", role="default")
        assert _call(app, "/books", f"Bearer {token}") == "200 OK"


def test_a_recalled_refusal_reads_nothing_from_the_store(setup, monkeypatch):
    realm, app = setup
    token = _token(realm)
    realm.revoke_token(token)
    for _ in range(2):
        assert _call(app, "/books", f"Bearer {token}").startswith("401")
    reads: list[str] = []
    monkeypatch.setattr(realm.store, "get_token", lambda *a: reads.append("get_token"))
    assert _call(app, "/books", f"Bearer {token}").startswith("401")
    assert not reads


def test_a_token_of_a_key_the_ring_does_not_know_is_never_recalled(setup):
    """The ring reloads at most once a second: such a refusal may not hold a second later."""
    _, app = setup
    stranger = Realm(MemoryStore(), password_hasher=FAST_HASHER)
    stranger.create_org("acme")
    stranger.create_app("acme", "shop")
    stranger.create_user("acme", "shop", "alice", password="pw-secret")
    token = stranger.password_token("acme", "shop", "alice", "pw-secret").access_token
    for _ in range(3):
        assert _call(app, "/books", f"Bearer {token}").startswith("401")
    assert not app.cache_figures().refused


def test_a_guest_refusal_is_recalled_until_the_guest_role_changes(setup):
    realm, app = setup
    for _ in range(3):
        assert _call(app, "/public/x").startswith("401")
    assert app.cache_figures().refused
    realm.grant("acme", "shop", "get:/public/**", role="guest")
    assert _call(app, "/public/x") == "200 OK"


def test_recalled_refusals_are_reported_like_any_other(setup):
    realm, _ = setup
    events: list[Any] = []
    app = AuthMiddleware(_inner, realm, application="acme/shop", on_decision=events.append)
    token = _token(realm)
    realm.revoke_token(token)
    for _ in range(3):
        assert _call(app, "/books", f"Bearer {token}").startswith("401")
    assert [(e.decision, e.status, e.reason) for e in events] == [
        ("refuse", 401, "auth_invalid")
    ] * 3


# -- known tokens on paths never seen ---------------------------------------------------------


def _reads_of_tokens(realm: Realm, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every token record the store is asked for from now on."""
    reads: list[str] = []
    get_token = realm.store.get_token

    def recording(token_id: str) -> Any:
        reads.append(token_id)
        return get_token(token_id)

    monkeypatch.setattr(realm.store, "get_token", recording)
    return reads


def test_a_known_token_on_a_path_never_seen_reads_no_token_record(setup, monkeypatch):
    realm, app = setup
    token = _token(realm)
    assert _call(app, "/books/1", f"Bearer {token}") == "200 OK"
    reads = _reads_of_tokens(realm, monkeypatch)
    for index in range(2, 5):
        assert _call(app, f"/books/{index}", f"Bearer {token}") == "200 OK"
    assert not reads


@pytest.mark.parametrize("change", ["revoke-token", "disable-user", "delete-user"])
def test_a_known_token_on_a_path_never_seen_is_refused_after_a_revocation(setup, change: str):
    realm, app = setup
    token = _token(realm)
    assert _call(app, "/books/1", f"Bearer {token}") == "200 OK"
    if change == "revoke-token":
        realm.revoke_token(token)
    elif change == "disable-user":
        realm.update_user("acme", "shop", "alice", disabled=True)
    else:
        realm.delete_user("acme", "shop", "alice")
    assert _call(app, "/books/2", f"Bearer {token}").startswith("401")


def test_a_token_whose_roles_lapse_with_inactivity_is_read_on_every_path(
    setup, clock: FakeClock, monkeypatch
):
    """Each of its requests is a use the store records: its validity is never remembered."""
    realm, app = setup
    realm.revoke_grant("acme", "shop", "get,put,post,delete:/**", role="default")
    realm.create_role("acme", "shop", "reader", inactivity_ms=60_000)
    realm.grant("acme", "shop", "get:/books/*", role="reader")
    realm.assign_role("acme", "shop", "reader", user="alice")
    token = _token(realm)
    assert _call(app, "/books/1", f"Bearer {token}") == "200 OK"
    assert not app.cache_figures().tokens
    reads = _reads_of_tokens(realm, monkeypatch)
    clock.advance_ms(30_000)
    assert _call(app, "/books/2", f"Bearer {token}") == "200 OK"
    assert reads, "the token was read again"
    clock.advance_ms(60_001)
    assert _call(app, "/books/3", f"Bearer {token}").startswith("403")


def test_a_token_read_when_the_store_failed_is_not_remembered(setup, monkeypatch):
    realm, app = setup
    token = _token(realm)

    def failing(token_id: str) -> Any:
        raise StoreError("the store is down")

    with monkeypatch.context() as patched:
        patched.setattr(realm.store, "get_token", failing)
        assert _call(app, "/books/1", f"Bearer {token}").startswith("503")
    assert not app.cache_figures().tokens
    realm.revoke_token(token)
    assert _call(app, "/books/2", f"Bearer {token}").startswith("401")


def test_known_tokens_are_bounded(setup):
    from baas_auth.middleware import freshness as recall

    realm, app = setup
    tokens = [
        realm.issue_user_token("acme", "shop", "alice").access_token
        for _ in range(recall.CACHE_SIZE + 10)
    ]
    for index, token in enumerate(tokens):
        assert _call(app, f"/books/{index}", f"Bearer {token}") == "200 OK"
    assert 0 < app.cache_figures().tokens <= recall.CACHE_SIZE


def test_a_basic_secret_is_not_kept_with_the_parsed_bearer_headers(setup):
    realm, app = setup
    creds = realm.create_credentials("acme", "shop")
    pair = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
    for path in ("/books/1", "/books/2"):
        assert _call(app, path, f"Basic {pair}") == "200 OK"
    assert app.cache_figures().bearer_headers == 0
    assert not app.caches_hold(pair)
    assert not app.caches_hold(creds.client_secret)
