"""Where maillage finds its shipped open data and keeps its own state.

Shipped data lives in ``data/`` at the root of a source checkout and is copied into the wheel as
``maillage/_data`` (see ``pyproject.toml``), so both an editable and a regular install find it.
The embedded database and generated reports live in the *data folder*: ``$MAILLAGE_HOME`` if set,
else ``$XDG_DATA_HOME/maillage``, else ``~/.local/share/maillage``.
"""

from __future__ import annotations

import os
from pathlib import Path


def shipped_data_dir() -> Path:
    """The folder holding the open data shipped with maillage."""
    packaged = Path(__file__).resolve().parent / "_data"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "data"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        "maillage's shipped data folder is missing: reinstall the package or run from a checkout"
    )


def data_home() -> Path:
    """The folder holding the embedded database and generated files (created on demand)."""
    if os.environ.get("MAILLAGE_HOME"):
        home = Path(os.environ["MAILLAGE_HOME"])
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        home = base / "maillage"
    home.mkdir(parents=True, exist_ok=True)
    return home
