"""A multi-tenant FastAPI app whose docs are public (``protect(…, public_docs=True)``), for
uvicorn: ``/{org}/{app}/books`` behind the middleware, on the realm ``$BAAS_REALM`` names."""

from __future__ import annotations

import os

from fastapi import FastAPI

from baas_auth import Realm
from baas_auth.integrations.fastapi import CurrentPrincipal, protect

app = FastAPI(title="tenants")


@app.get("/{org}/{application}/books")
def books(org: str, application: str, caller: CurrentPrincipal) -> dict[str, object]:
    return {"org": org, "app": application, "user": caller.display_name}


protect(app, Realm.open(os.environ["BAAS_REALM"]), public_docs=True)
