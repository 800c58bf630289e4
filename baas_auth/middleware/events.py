"""Decision events: the ``on_decision`` hook and the ``baas_auth`` logger, fed by the gate.

One event per request, for audit trails and metrics. Refusals are logged at INFO with their
reason code, store failures at WARNING (a store that lost its realm at ERROR), allows and
endpoint answers at DEBUG; a message holds the method, the route path and the principal's kind
and uuid, never a token, a secret or the query string. While no hook is set and the logger is
not enabled for INFO, nothing is timed or built.
"""

from __future__ import annotations

import logging
import math
from time import perf_counter_ns
from typing import Literal

from baas_auth.core.http import RequestInfo
from baas_auth.core.routing import Route
from baas_auth.errors import RealmLostError, StoreError
from baas_auth.middleware.decisions import DecisionEvent, DecisionHook
from baas_auth.model import Principal
from baas_auth.redaction import redact

__all__ = ["LOGGER", "DecisionEvents"]

LOGGER = logging.getLogger("baas_auth")
_INFO, _DEBUG, _WARNING, _ERROR = logging.INFO, logging.DEBUG, logging.WARNING, logging.ERROR
_LONGEST_FIELD = 200  # a refused path can be long: enough of it to recognise, no more
_NS_PER_MS = 1_000_000
_UNKNOWN = float("nan")
# The methods a decision can pass: nothing to mask in them, so the common case skips redact.
_PLAIN_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "POST", "DELETE", "PATCH"})

Verdict = Literal["allow", "refuse", "answer"]


class DecisionEvents:
    """Where a gate reports its decisions: the hook (if any), then the logger."""

    __slots__ = ("_hook",)

    def __init__(self, hook: DecisionHook | None) -> None:
        self._hook = hook

    def start(self) -> int | None:
        """The start of a decision, or None when nobody would hear of it: then the gate skips
        the event altogether. One level check; the logger's level may change at any time."""
        if self._hook is None and not LOGGER.isEnabledFor(_INFO):
            return None
        return perf_counter_ns()

    def emit(
        self,
        started: int | None,
        request: RequestInfo | None,
        route: Route | None,
        principal: Principal | None,
        verdict: Verdict,
        status: int | None,
        reason: str,
        error: BaseException | None = None,
    ) -> None:
        """Report one decision that began at ``started``. None (nobody listened when it began)
        only for a store failure, which is logged at WARNING whatever else is logged."""
        event = DecisionEvent(
            principal,
            "" if request is None else request.method,
            "" if request is None else request.path,
            None if route is None else route.org,
            None if route is None else route.app,
            verdict,
            status,
            reason,
            _UNKNOWN if started is None else (perf_counter_ns() - started) / _NS_PER_MS,
        )
        # The hook's call and the allow's log check are inline: they run on every request.
        if self._hook is not None:
            try:
                self._hook(event)
            except (
                Exception
            ) as failure:  # the hook is the application's: it never changes a decision
                _hook_failed(event, failure)
        if verdict == "refuse":
            _log_refusal(event, error)
        elif LOGGER.isEnabledFor(_DEBUG):
            _write(_DEBUG, event, "allowed" if verdict == "allow" else "answered")


def _hook_failed(event: DecisionEvent, failure: Exception) -> None:
    # A refusal is reported while its error is being handled; that error is no part of the
    # hook's failure, and the traceback is clearer without it.
    failure.__suppress_context__ = True
    LOGGER.error(
        "the on_decision hook raised on %s %s; the decision stands",
        _clean_method(event.method),
        _clean(event.path),
        exc_info=(type(failure), failure, failure.__traceback__),
    )


def _log_refusal(event: DecisionEvent, error: BaseException | None) -> None:
    if isinstance(error, StoreError):
        # A store that lost the realm is an operator's emergency, not a passing outage.
        level = _ERROR if isinstance(error, RealmLostError) else _WARNING
        if not LOGGER.isEnabledFor(level):
            return
        # The error's text can quote the driver (a host, a port): masked like the rest.
        cause = f"{type(error).__name__}: {error}"
        _write(level, event, f"store failure ({_clean(cause)}), refused")
    elif LOGGER.isEnabledFor(_INFO):
        _write(_INFO, event, "refused")


def _write(level: int, event: DecisionEvent, what: str) -> None:
    safe = event._replace(method=_clean_method(event.method), path=_clean(event.path))
    status = "-" if safe.status is None else safe.status
    who = _who(safe.principal)
    extra = {"decision_event": safe}
    if math.isnan(safe.duration_ms):  # a store failure that began while nobody listened
        message = "%s %s %s: %s %s (%s)"
        LOGGER.log(level, message, what, safe.method, safe.path, status, safe.reason, who,
                   extra=extra)  # fmt: skip
        return
    LOGGER.log(
        level,
        "%s %s %s: %s %s (%s) in %.2f ms",
        what,
        safe.method,
        safe.path,
        status,
        safe.reason,
        who,
        safe.duration_ms,
        extra=extra,
    )


def _who(principal: Principal | None) -> str:
    """The principal by kind and uuid (a client's is its client_id): enough for an audit trail,
    with no username or email (personal data) in the log."""
    if principal is None:
        return "anonymous"
    return principal.kind if principal.uuid is None else f"{principal.kind} {principal.uuid}"


def _clean_method(method: str) -> str:
    return method if method in _PLAIN_METHODS else _clean(method)


def _clean(text: str) -> str:
    """``text`` fit for one log line: secrets masked, control characters escaped (a refused
    path may hold a decoded newline, which must not start a forged line), and cut short."""
    text = redact(text)
    if not text.isprintable():
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= _LONGEST_FIELD else text[:_LONGEST_FIELD] + "..."
