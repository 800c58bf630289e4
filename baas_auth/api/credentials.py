"""Client credentials and the app's token lifetime over HTTP (rows of the management API)."""

from __future__ import annotations

from baas_auth.api.table import ApiRow

__all__ = ["ROWS"]

ROWS: tuple[ApiRow, ...] = ()
