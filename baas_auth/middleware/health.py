"""The health path (``health_path=``, behaviour §10): answered by the middleware itself, for load
balancers and orchestrators, without credentials.

200 ``{"status": "ok"}`` while the store answers within its timeout (``realm.health_flows.ping``,
what ``Realm.ping()`` runs), 503 ``{"status": "unavailable"}`` otherwise, both never cached and
saying nothing else (no error text: the probe may be reachable from outside). GET and HEAD
only. A health request is no decision: no credential is read, nothing is remembered, and no
event or log line is made (a probe every few seconds would bury the decisions, and a store
failure is already logged by the requests it refuses).
"""

from __future__ import annotations

from baas_auth.core.http import Response
from baas_auth.core.responses import json_response, method_not_allowed
from baas_auth.errors import StoreError
from baas_auth.realm.health_flows import ping
from baas_auth.realm.state import RealmState
from baas_auth.realm.store_commands import Flow

__all__ = ["HealthCheck"]

_METHODS = frozenset({"GET", "HEAD"})
_ALLOWED = "GET, HEAD"
_OK = json_response(200, {"status": "ok"})
_UNAVAILABLE = json_response(503, {"status": "unavailable"})


class HealthCheck:
    """The answer on ``path``, for one middleware over ``state``'s realm."""

    __slots__ = ("_state", "path")

    def __init__(self, state: RealmState, path: str) -> None:
        self._state = state
        self.path = path

    def answer(self, method: str) -> Flow[Response]:
        """The flow that answers a health request made with ``method``; never raises."""
        if method not in _METHODS:
            return method_not_allowed(_ALLOWED, now_ms=self._state.now_ms())
        try:
            yield from ping(self._state)
        except StoreError:
            response = _UNAVAILABLE
        else:
            response = _OK
        if method == "HEAD":  # the headers GET would have, its Content-Length too, no body
            return Response(response.status, response.headers, b"")
        return response
