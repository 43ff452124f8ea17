"""What the seeds' services (``demo/data/services.yaml``) add to the demo loader.

On a copy of an initialised database (``MAILLAGE_HOME`` with ``maillage.sqlite3``; the copy is
thrown away), each run removes the demo's services, their places and the non-FINESS structures,
then times ``load_demo_directory()`` in processor time (``time.process_time``, user + sys of
this process, so the load of other processes matters less than for wall time):

* ``with``: the loader as shipped — first load (services created), then a second load (nothing
  to write);
* ``without``: the same loader with ``services.yaml`` read as empty (the loader before the
  services existed, on the same database and code path).

The two variants alternate run by run; medians over ``--runs``. The loaded rows are checked
(48 services after a ``with`` load, none after a ``without`` one).

    MAILLAGE_HOME=~/.maillage python benchmarks/bench_demo_services.py --runs 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    source = Path(os.environ["MAILLAGE_HOME"])
    home = Path(tempfile.mkdtemp(prefix="bench-services-"))
    for name in ("maillage.sqlite3", "secret_key"):
        if (source / name).exists():
            shutil.copy(source / name, home / name)
    os.environ["MAILLAGE_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    import django

    django.setup()
    from maillage.demo import directory as demo
    from maillage.directory.models import HealthcareService, Location, Organization

    real_read = demo._read_services

    def clear() -> None:
        manual = Organization.objects.filter(source="manual", finess_et__isnull=True)
        HealthcareService.objects.filter(slug__isnull=False).delete()
        Location.objects.filter(source="manual", organization__in=manual).delete()
        manual.delete()

    def load(variant: str) -> float:
        demo._read_services = real_read if variant == "with" else (lambda: ([], []))
        start = time.process_time()
        demo.load_demo_directory()
        return time.process_time() - start

    times: dict[str, list[float]] = {"with": [], "with, second load": [], "without": []}
    for _ in range(args.runs):
        for variant in ("without", "with"):
            clear()
            times[variant].append(load(variant))
            expected = 48 if variant == "with" else 0
            assert HealthcareService.objects.filter(slug__isnull=False).count() == expected
            if variant == "with":
                times["with, second load"].append(load("with"))
    shutil.rmtree(home)
    for label, values in times.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{label:>18}: median {statistics.median(values):.2f} s CPU ({runs})")


if __name__ == "__main__":
    main()
