"""Every row of the management API, gathered from the modules that define them: a module
with endpoints of its own lists them in its ``ROWS`` and is added here, one line each."""

from __future__ import annotations

from baas_auth.api import client_credentials, lifecycle, roles, users
from baas_auth.api.table import ApiRow

__all__ = ["ROWS"]

ROWS: tuple[ApiRow, ...] = (
    *roles.ROWS,
    *client_credentials.ROWS,
    *users.ROWS,
    *lifecycle.ROWS,
)
