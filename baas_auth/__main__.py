"""``python -m baas_auth``: the same command line as ``baas-auth``."""

from __future__ import annotations

import sys

from baas_auth.cli import main

if __name__ == "__main__":
    sys.exit(main())
