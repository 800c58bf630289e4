"""Flask: ``init_app``, ``current_principal`` and ``@require`` (in process, Flask's test client)."""

from __future__ import annotations

import pytest
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from werkzeug.test import Client

from baas_auth import Realm
from baas_auth.integrations.flask import current_principal, init_app, require
from baas_auth.wsgi import AuthMiddleware
from tests.integrations.conftest import World


def _flask() -> Flask:
    app = Flask(__name__)

    @app.get("/books")
    def books() -> ResponseReturnValue:
        return jsonify(user=current_principal.display_name, kind=current_principal.kind)

    @app.post("/books")
    @require()
    def add_book() -> ResponseReturnValue:
        return jsonify(added_by=current_principal.username), 201

    @app.put("/books/<int:book_id>")
    @require(role="editor")
    def put_book(book_id: int) -> ResponseReturnValue:
        return jsonify(updated=book_id, by=current_principal.username)

    @app.put("/books/async")
    @require(role="editor")
    async def put_async() -> ResponseReturnValue:
        return jsonify(by=current_principal.username)

    @app.get("/books/report")
    @require(rule="put:/reports")
    def report() -> ResponseReturnValue:
        return jsonify(by=current_principal.username)

    return app


def _client(realm: Realm, **options: object):  # type: ignore[no-untyped-def]
    app = _flask()
    init_app(app, realm, application="acme/shop", **options)  # type: ignore[arg-type]
    return app.test_client()


def test_current_principal(world: World) -> None:
    client = _client(world.realm)
    assert client.get("/books", headers=world.bearer("bob")).json == {
        "user": "bob", "kind": "app_user"
    }
    world.realm.grant("acme", "shop", "get:/books", role="guest")
    assert client.get("/books").json == {"user": "guest", "kind": "guest"}


def test_require_refuses_the_guest_with_the_middlewares_401(world: World) -> None:
    client = _client(world.realm)
    world.realm.grant("acme", "shop", "post:/books", role="guest")  # the rules let it through
    answer = client.post("/books")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="acme/shop"'
    assert answer.headers["content-type"] == "application/json"
    assert answer.json is not None
    assert answer.json["error"] == "unauthorized"
    assert set(answer.json) == {"error", "error_description", "timestamp", "duration"}
    assert client.post("/books", headers=world.bearer("bob")).status_code == 201


@pytest.mark.parametrize(("username", "status"), [("alice", 200), ("carol", 200), ("bob", 403)])
def test_require_role(world: World, username: str, status: int) -> None:
    client = _client(world.realm)
    for path in ("/books/3", "/books/async"):
        answer = client.put(path, headers=world.bearer(username))
        assert answer.status_code == status, (path, answer.text)
        if status == 403:
            assert answer.json is not None
            assert answer.json["error"] == "unauthorized"
            assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
        else:
            assert answer.json is not None
            assert answer.json["by"] == username


def test_require_rule(world: World) -> None:
    client = _client(world.realm)
    assert client.get("/books/report", headers=world.bearer("alice")).json == {"by": "alice"}
    assert client.get("/books/report", headers=world.bearer("bob")).status_code == 403


def test_usergrid_status_codes_apply_to_require_too(world: World) -> None:
    client = _client(world.realm, usergrid_status_codes=True)
    assert client.put("/books/3", headers=world.bearer("bob")).status_code == 401


def test_a_wsgi_app_wrapped_by_hand_is_found(world: World) -> None:
    app = _flask()
    app.wsgi_app = AuthMiddleware(app.wsgi_app, world.realm, application="acme/shop")  # type: ignore[method-assign]
    client = app.test_client()
    assert client.put("/books/3", headers=world.bearer("carol")).status_code == 200
    assert client.put("/books/3", headers=world.bearer("bob")).status_code == 403


def test_wrapped_from_further_out_only_authentication_is_known(world: World) -> None:
    """``AuthMiddleware(flask_app, realm)`` served as the WSGI app: the views cannot see its
    realm, so ``@require()`` works and ``@require(role=…)`` says what is missing."""
    app = _flask()
    app.testing = True  # exceptions propagate
    client = Client(AuthMiddleware(app, world.realm, application="acme/shop"))
    world.realm.grant("acme", "shop", "post:/books", role="guest")
    refused = client.post("/books")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="baas"'
    assert client.post("/books", headers=world.bearer("bob")).status_code == 201
    with pytest.raises(RuntimeError, match="init_app"):
        client.put("/books/3", headers=world.bearer("alice"))


def test_without_the_middleware_current_principal_fails_loudly() -> None:
    app = _flask()
    app.testing = True
    with pytest.raises(RuntimeError, match="init_app"):
        app.test_client().get("/books")


def test_multi_tenant(world: World) -> None:
    app = Flask(__name__)

    @app.get("/<org>/<name>/report")
    @require(rule="put:/reports")
    def report(org: str, name: str) -> ResponseReturnValue:
        return jsonify(kind=current_principal.kind)

    init_app(app, world.realm)
    client = app.test_client()
    world.realm.grant("acme", "shop", "get:/report", role="default")
    assert client.get("/acme/shop/report", headers=world.admin_bearer()).json == {
        "kind": "admin_user"
    }
    assert client.get("/acme/shop/report", headers=world.bearer("alice")).status_code == 200
    assert client.get("/acme/shop/report", headers=world.bearer("bob")).status_code == 403


def _out_of_order(app: Flask) -> None:
    """Views with ``@require`` above ``@app.route``: Flask registered them unguarded."""

    @require(role="editor")
    @app.put("/shelves/<int:shelf>")
    def put_shelf(shelf: int) -> ResponseReturnValue:
        return jsonify(shelf=shelf, by=current_principal.username)

    @require()
    @app.post("/shelves")
    async def add_shelf() -> ResponseReturnValue:
        return jsonify(by=current_principal.username), 201


@pytest.mark.parametrize(("username", "status"), [("alice", 200), ("bob", 403)])
def test_the_order_of_require_and_route_does_not_matter(
    world: World, username: str, status: int
) -> None:
    app = _flask()
    _out_of_order(app)
    init_app(app, world.realm, application="acme/shop")
    for role in ("guest", "default"):  # the rules let everyone through: require decides
        world.realm.grant("acme", "shop", "post:/shelves", role=role)
        world.realm.grant("acme", "shop", "put:/shelves/*", role=role)
    client = app.test_client()
    answer = client.put("/shelves/2", headers=world.bearer(username))
    assert answer.status_code == status, answer.text
    assert client.post("/shelves").status_code == 401  # the guest passes the rules, not require
    assert client.post("/shelves", headers=world.bearer("bob")).status_code == 201


def test_views_without_require_are_left_alone(world: World) -> None:
    client = _client(world.realm)
    world.realm.grant("acme", "shop", "get:/books", role="guest")
    assert client.get("/books").status_code == 200
