"""``import --from usergrid-export DIR --api URL``: asking the original's REST API for what its
export files lack (core/usergrid_api says what and how it is used).

It signs in as the org's client (``$BAAS_USERGRID_CLIENT_ID`` and
``$BAAS_USERGRID_CLIENT_SECRET``, through ``POST /management/token``) or uses the access token
in ``$BAAS_USERGRID_TOKEN``: secrets come from the environment, never the command line. A path
the API does not answer (404, or 403 for another org than the client's) is reported and the
import goes on; a refused sign-in, a token refused for every org or an unreachable API stops the
command before anything is written.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode, urlsplit

from baas_auth.cli.failures import CommandError, UsageError
from baas_auth.cli.usergrid_dir import convert_folder
from baas_auth.core.usergrid_api import ApiFailure, api_uuids, app_paths, complete, org_paths
from baas_auth.core.usergrid_files import Conversion

__all__ = ["ApiClient", "completed_conversion"]

ENV_CLIENT_ID, ENV_CLIENT_SECRET = "BAAS_USERGRID_CLIENT_ID", "BAAS_USERGRID_CLIENT_SECRET"
ENV_TOKEN = "BAAS_USERGRID_TOKEN"  # noqa: S105 - the name of a variable, not a secret
TIMEOUT_S = 30
PAGE = 1000
MAX_PAGES = 10_000  # a cursor that never ends is the API's fault, not a reason to loop forever


class ApiClient:
    """GETs against the original's API with a bearer token."""

    def __init__(self, base: str, token: str) -> None:
        self.base = base.rstrip("/")
        self._token = token

    @classmethod
    def signed_in(cls, base: str, environ: Mapping[str, str]) -> ApiClient:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"--api {base}: expected the API's base URL, http(s)://host[:port]")
        token = environ.get(ENV_TOKEN)
        if token:
            return cls(base, token)
        client_id, secret = environ.get(ENV_CLIENT_ID), environ.get(ENV_CLIENT_SECRET)
        if not client_id or not secret:
            raise UsageError(f"--api needs ${ENV_TOKEN}, or ${ENV_CLIENT_ID} and "
                             f"${ENV_CLIENT_SECRET} (an org client's credentials)")
        body = {"grant_type": "client_credentials", "client_id": client_id,
                "client_secret": secret}
        answer = cls(base, "")._send("/management/token", json.dumps(body).encode())
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise CommandError(f"{base}: the token endpoint gave no access_token")
        return cls(base, token)

    def answers(self, paths: Iterable[str]) -> dict[str, object]:
        return {path: self.get(path) for path in dict.fromkeys(paths)}

    def get(self, path: str) -> object:
        """The JSON body of ``GET path`` (a list's pages joined), or an ApiFailure."""
        if not path.endswith("/users"):
            return self._send(path)
        entities: list[object] = []
        cursor = None
        for _ in range(MAX_PAGES):
            query = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
            page = self._send(f"{path}?{urlencode(query)}")
            if isinstance(page, ApiFailure) or not isinstance(page, dict):
                return page
            found = page.get("entities")
            entities += found if isinstance(found, list) else []
            cursor = page.get("cursor")
            if not isinstance(cursor, str) or not cursor:
                return {"entities": entities}
        return ApiFailure(f"more than {MAX_PAGES} pages")

    def _send(self, path: str, body: bytes | None = None) -> object:
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310 - http(s) only
        request.add_header("Accept", "application/json")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as error:
            if body is not None:  # the sign-in
                raise CommandError(f"{self.base}{path}: {error.code} {error.reason}: the API "
                                   "refused these client credentials") from None
            # An org client may read its own org only: another org's paths are listed, and
            # the import goes on without them.
            return ApiFailure(f"{error.code} {error.reason}", error.code)
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise CommandError(f"cannot reach {self.base}: {reason}") from None
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            return ApiFailure("the answer is not JSON")


def completed_conversion(
    folder: str, given: dict[str, str], base: str, environ: Mapping[str, str]
) -> tuple[Conversion, list[str]]:
    """The conversion of ``folder`` completed by the API at ``base``: the uuids of its orgs
    and apps first (``given`` ones win), then each app's credentials, ``accesstokenttl``, role
    rules and group members."""
    client = ApiClient.signed_in(base, environ)
    first, _ = convert_folder(folder, given)
    orgs = [name for name in first.names if "/" not in name]
    answers = client.answers(path for org in orgs for path in org_paths(org))
    if answers and all(isinstance(a, ApiFailure) and a.refused for a in answers.values()):
        raise CommandError(f"{base}: the API refused the token for every org asked "
                           f"({', '.join(orgs)})")
    conversion, others = convert_folder(folder, {**api_uuids(orgs, answers), **given})
    answers.update(client.answers(app_paths(conversion.document)))
    document, left_out = complete(conversion.document, conversion.left_out, answers)
    return dataclasses.replace(conversion, document=document, left_out=left_out), others
