"""Platform-wide configuration read from the environment, importable by every layer.

It imports nothing from maillage, so that any module (the directory's search, the observatory's
views, ``bootstrap``) can read it without creating an import cycle.
"""

from __future__ import annotations

import os

#: The territory the platform serves: the demo is generated there and search ranks it first.
DEFAULT_TERRITORY: str = os.environ.get("MAILLAGE_DEFAULT_TERRITORY", "departement:52")
