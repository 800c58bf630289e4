"""Small apps for the route-guard tests on real servers, one per framework, on the realm
``$BAAS_REALM`` names (app acme/shop, seeded by the test): ``DELETE /shelves/{id}`` guarded by
``require(role="editor")``, ``POST /secret`` without a guard, and a mounted app or static files
under ``/files``. A handler that runs leaves a file in ``$GUARD_FLAGS`` (the test checks that a
refused request left none): FastAPI and Starlette for uvicorn, Flask for gunicorn; Django's is
``guard_django_app``."""

from __future__ import annotations

import os
from pathlib import Path

from baas_auth import Realm

FLAGS = Path(os.environ.get("GUARD_FLAGS", "."))


def _realm() -> Realm:
    return Realm.open(os.environ["BAAS_REALM"])


def ran(name: str) -> None:
    """Leave the trace of a handler that ran (a file, seen by the test in another process)."""
    (FLAGS / name).touch()


def fastapi_app():  # type: ignore[no-untyped-def]
    from fastapi import Depends, FastAPI
    from starlette.staticfiles import StaticFiles

    from baas_auth.integrations.fastapi import protect, require

    api = FastAPI()

    @api.delete("/shelves/{shelf_id}", dependencies=[Depends(require(role="editor"))])
    def delete_shelf(shelf_id: int) -> dict[str, object]:
        ran("fastapi-delete")
        return {"deleted": shelf_id}

    @api.post("/secret")
    def secret() -> dict[str, object]:
        ran("fastapi-secret")
        return {"secret": True}

    api.mount("/files", StaticFiles(directory=FLAGS))
    protect(api, _realm(), application="acme/shop")
    return api


def starlette_app():  # type: ignore[no-untyped-def]
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from baas_auth.integrations.starlette import protect, require

    @require(role="editor")
    async def delete_shelf(request: Request) -> JSONResponse:
        ran("starlette-delete")
        return JSONResponse({"deleted": request.path_params["shelf_id"]})

    async def secret(request: Request) -> JSONResponse:
        ran("starlette-secret")
        return JSONResponse({"secret": True})

    app = Starlette(
        routes=[
            Route("/shelves/{shelf_id:int}", delete_shelf, methods=["DELETE"]),
            Route("/secret", secret, methods=["POST"]),
            Mount("/files", app=StaticFiles(directory=FLAGS)),
        ]
    )
    protect(app, _realm(), application="acme/shop")
    return app


def flask_app():  # type: ignore[no-untyped-def]
    from flask import Flask, jsonify

    from baas_auth.integrations.flask import init_app, require

    app = Flask(__name__, static_folder=str(FLAGS), static_url_path="/files")

    @require(role="editor")  # above the route: either order guards it
    @app.delete("/shelves/<int:shelf_id>")
    def delete_shelf(shelf_id: int):  # type: ignore[no-untyped-def]
        ran("flask-delete")
        return jsonify(deleted=shelf_id)

    @app.post("/secret")
    def secret():  # type: ignore[no-untyped-def]
        ran("flask-secret")
        return jsonify(secret=True)

    init_app(app, _realm(), application="acme/shop")
    return app
