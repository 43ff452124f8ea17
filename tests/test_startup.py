"""What a new process pays before doing anything: Django's set-up imports no numerical stack.

Every command (``maillage report``, a worker, the server) starts with ``django.setup()``; numpy,
pandas, pyarrow and scipy take about a second of processor time to import, and only the code
that computes with them should load them (the analytics, the open-data readers), on first use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("numpy", "pandas", "pyarrow", "scipy", "weasyprint", "openpyxl")


def test_django_setup_imports_no_numerical_stack(tmp_path):
    code = (
        "import json, os, sys\n"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'maillage.settings'\n"
        "import django\n"
        "django.setup()\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    env = {**os.environ, "MAILLAGE_HOME": str(tmp_path), "MAILLAGE_DATABASE_URL": ""}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_analytics_names_load_on_first_use():
    import maillage.analytics as analytics

    assert analytics.e2sfca.__module__ == "maillage.analytics.accessibility"
    assert "RoadGraph" in dir(analytics)
    assert set(analytics.__all__) >= {"CostMatrix", "e2sfca", "RoadGraph", "weighted_mean"}
