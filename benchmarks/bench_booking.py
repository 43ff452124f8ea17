"""Bookings through HTTP on PostgreSQL, beside pgbench's ceiling (issue 9, item 10).

``--clients`` (50) concurrent clients over loopback book DISTINCT slots through
``POST /fhir/Appointment`` (bearer token, one ``Idempotency-Key`` per booking, a contained
Patient) served by ``maillage serve`` as in production (waitress, the threads it is configured
for). Each client keeps its HTTP/1.1 connection open. Per run: bookings per second, p50/p99
latency, and afterwards, in the database, doubles (a slot with more than one booking of the
run) and losses (a 201 whose booking is not in the database). The server's resident memory
(VmRSS, and its peak VmHWM) is read from /proc after each run.

The peer, in the same session against the same database, is ``pgbench`` (``--clients``
clients, same duration) running the same INSERT into ``scheduling_booking`` with its partial
unique index, its trigger and its foreign keys: the ceiling of one statement per booking. Ours
and the peer alternate run by run; the first run of ours after the server's start is reported
as cold, the others as warm (medians). The load average is recorded before each run.

Two ways to load it. Closed loop (the default): each client books again as soon as it has
its answer; the throughput is the server's ceiling, and the latency is only Little's law
(clients / throughput: 50 clients at 150/s wait 333 ms on average whatever the server does).
Open loop (``--rate R``): R bookings a second are offered in all, the clients taking turns, and
each latency counts from when the booking was due (a client still waiting for its previous
answer adds that wait, so a stalled server is not hidden): the latency at a given load, which
is what "p99 ≤ 300 ms at 150 bookings/s" asks. pgbench then runs at the same rate (``-R``), its
schedule lag counted in its latency the same way.

The database must be one that ``maillage init`` prepared (``maillage serve`` would otherwise
start its first-start import). Rate limits are OFF in the served process
(``MAILLAGE_RATE_LIMITS_ENABLED=0``): the default "api" rule allows 300 requests a minute per
address (×5 for a logged-in user), far below a benchmark's load from one address.

    MAILLAGE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_booking \\
        python benchmarks/bench_booking.py --runs 4 --duration 10
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

PEER_SCRIPT = """\
INSERT INTO scheduling_booking (seat, status, reference, access_digest, channel, reason,
  created_at, synthetic, person_id, slot_id)
VALUES (0, 'booked', substr(md5(random()::text), 1, 9), md5(random()::text || clock_timestamp()),
  'api', '', now(), true, :person, nextval('bench_peer_slot'));
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _person_traits(i: int) -> tuple[str, str]:
    """A family name and a birth date per booking, as varied as real callers' (the identity
    matching of care.people looks for people with the same birth date and a similar name)."""
    import datetime as dt
    import hashlib

    letters = hashlib.sha256(str(i).encode()).digest()
    family = "".join(chr(65 + b % 26) for b in letters[:9])
    born = dt.date(1930, 1, 1) + dt.timedelta(days=(i * 7919) % 30000)
    return family, born.isoformat()


def _body(slot_id: int, i: int) -> bytes:
    family, born = _person_traits(i)
    return json.dumps(
        {
            "resourceType": "Appointment",
            "status": "booked",
            "slot": [{"reference": f"Slot/{slot_id}"}],
            "contained": [
                {
                    "resourceType": "Patient",
                    "id": "p",
                    "name": [{"use": "official", "family": family, "given": ["Paul"]}],
                    "birthDate": born,
                    "gender": "male",
                    "telecom": [{"system": "phone", "value": f"01 99 00 {i % 10000:04d}"}],
                }
            ],
            "participant": [{"actor": {"reference": "#p"}, "status": "accepted"}],
        }
    ).encode()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        began = time.monotonic()
        # its output to a file: a pipe nobody reads fills up and blocks the server mid-run
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "maillage.cli", "serve", "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=self.log,
        )  # fmt: skip
        while time.monotonic() - began < 300:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise SystemExit("maillage serve stopped: " + self.log.read()[-4000:].decode())
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/fhir/metadata", headers={"Host": "127.0.0.1"})
                if conn.getresponse().status == 200:
                    return time.monotonic() - began
            except OSError:
                time.sleep(0.2)
        raise SystemExit("maillage serve did not answer")

    def memory(self) -> tuple[int, int]:
        """(VmRSS, VmHWM) in MiB."""
        fields = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                fields[name] = int(value.split()[0]) // 1024
        return fields["VmRSS"], fields["VmHWM"]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _make_slots(schedule, count: int) -> list[int]:
    import datetime as dt

    from django.utils import timezone

    from maillage.care.scheduling.models import Slot

    # beyond the generation horizon: the server's slot generation (a task run at its start)
    # deletes the free slots of a schedule without rules inside the horizon
    last = Slot.objects.filter(schedule=schedule).order_by("-start").first()
    start = last.end if last else timezone.now().replace(second=0, microsecond=0)
    start = max(start, timezone.now().replace(second=0, microsecond=0) + dt.timedelta(days=1100))
    created = Slot.objects.bulk_create(
        Slot(
            schedule=schedule,
            start=start + dt.timedelta(minutes=15 * i),
            end=start + dt.timedelta(minutes=15 * (i + 1)),
            capacity=1,
        )
        for i in range(count)
    )
    return [s.pk for s in created]


def run_ours(
    ports: list[int],
    token: str,
    slot_ids: list[int],
    clients: int,
    duration: float,
    rate: float = 0.0,
) -> dict:
    """Closed loop (``rate`` 0: each client books again as soon as it has its answer, so the
    throughput is the server's ceiling and the latency is Little's law's clients/throughput),
    or open loop at ``rate`` bookings per second in all (the k-th booking is due at k/rate,
    the clients taking turns; its latency counts from when it was due, so a client still
    waiting for its previous answer adds that wait: no coordinated omission)."""
    feed = iter(slot_ids)
    feed_lock = threading.Lock()
    results: list[list[tuple[float, int, int, int]]] = [[] for _ in range(clients)]
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(c: int) -> None:
        port = ports[c % len(ports)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        out = results[c]
        start_gate.wait()
        k = 0
        while time.monotonic() < stop_at[0]:
            if rate:
                due = stop_at[0] - duration + (k * clients + c) / rate
                k += 1
                if due >= stop_at[0]:
                    break
                time.sleep(max(0.0, due - time.monotonic()))
            with feed_lock:
                slot_id = next(feed)
            headers = {
                "Host": "127.0.0.1", "Authorization": f"Bearer {token}",
                "Content-Type": "application/fhir+json", "Idempotency-Key": str(uuid.uuid4()),
            }  # fmt: skip
            began = due if rate else time.monotonic()
            try:
                conn.request(
                    "POST", "/fhir/Appointment", body=_body(slot_id, slot_id), headers=headers
                )
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status, payload = 0, b""
            elapsed = time.monotonic() - began
            booking = int(json.loads(payload)["id"]) if status == 201 else 0
            out.append((elapsed, status, slot_id, booking))
        conn.close()

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + duration
    began = time.monotonic()
    cpu = time.process_time()
    start_gate.wait()
    for t in threads:
        t.join()
    wall = time.monotonic() - began
    cpu = time.process_time() - cpu
    rows = [r for out in results for r in out]
    ok = [r for r in rows if r[1] == 201]
    latencies = [r[0] * 1000 for r in ok]
    return {
        "wall": wall,
        "attempts": len(rows),
        "ok": len(ok),
        "errors": dict(
            sorted(
                (str(s), sum(1 for r in rows if r[1] == s)) for s in {r[1] for r in rows} - {201}
            )
        ),
        "per_s": len(ok) / wall,
        "p50": _pct(latencies, 0.50),
        "p99": _pct(latencies, 0.99),
        "acknowledged": [(r[2], r[3]) for r in ok],
        "client_cpu_ms": cpu * 1000 / max(len(rows), 1),
    }


def check_database(acknowledged: list[tuple[int, int]], slot_ids: list[int]) -> tuple[int, int]:
    """(doubles, losses) among the run's slots, from the database."""
    from collections import Counter

    from maillage.care.scheduling.models import ACTIVE_STATUSES, Booking

    rows = dict(
        Booking.objects.filter(slot_id__in=slot_ids, status__in=ACTIVE_STATUSES).values_list(
            "pk", "slot_id"
        )
    )
    per_slot = Counter(rows.values())
    doubles = sum(n - 1 for n in per_slot.values() if n > 1)
    losses = sum(1 for slot_id, booking in acknowledged if rows.get(booking) != slot_id)
    return doubles, losses


def run_peer(
    url: str, person_id: int, clients: int, duration: float, workdir: Path, rate: float = 0.0
) -> dict:
    script = workdir / "booking.sql"
    script.write_text(PEER_SCRIPT)
    logs = workdir / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    from urllib.parse import urlparse

    u = urlparse(url)
    cmd = [
        shutil.which("pgbench") or "/usr/bin/pgbench", "-n", "-h", u.hostname or "127.0.0.1",
        "-p", str(u.port or 5432), "-U", u.username or "postgres",
        "-c", str(clients), "-j", "2", "-T", str(int(duration)), "-f", str(script),
        "-D", f"person={person_id}", "-l", "--log-prefix", str(logs / "tx"), u.path.lstrip("/"),
    ]  # fmt: skip
    if rate:
        cmd[1:1] = ["-R", f"{rate:g}"]
    env = {**os.environ, **({"PGPASSWORD": u.password} if u.password else {})}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit("pgbench: " + done.stderr[-2000:])
    tps = float(
        next(
            line.split("=")[1].split()[0]
            for line in done.stdout.splitlines()
            if line.startswith("tps =")
        )
    )
    latencies = []
    failed = 0
    for log in logs.iterdir():
        for line in log.read_text().splitlines():
            parts = line.split()
            if parts[2] in ("failed", "skipped"):
                failed += 1
            else:
                # with -R, the schedule lag (7th field) counts too, as in our open loop
                lag = int(parts[6]) if rate and len(parts) > 6 else 0
                latencies.append((int(parts[2]) + lag) / 1000)
    return {
        "per_s": tps,
        "ok": len(latencies),
        "failed": failed,
        "p50": _pct(latencies, 0.5),
        "p99": _pct(latencies, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=4, help="runs of each, per server start")
    parser.add_argument("--starts", type=int, default=1, help="server starts (one cold run each)")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="maillage serve processes (on as many ports, as behind a reverse proxy's upstream)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="open loop: bookings per second offered in all (0: closed loop, the ceiling); "
        "pgbench then runs at the same rate (-R), its latency counted from the schedule too",
    )
    parser.add_argument("--slots-per-run", type=int, default=8000)
    parser.add_argument("--peer-slots", type=int, default=60000)
    args = parser.parse_args()

    url = os.environ.get("MAILLAGE_DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("MAILLAGE_DATABASE_URL must name a PostgreSQL database prepared by init")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "maillage.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from maillage.accounts.models import Profile, Role
    from maillage.accounts.tokens import create_token
    from maillage.care.people.models import Person
    from maillage.care.scheduling.models import Booking, Schedule, Site

    tag = uuid.uuid4().hex[:6]
    site = Site.objects.create(
        slug=f"banc-{tag}", name="Salle banc d'essai", kind="teleconsultation_room",
        commune_id="52448",
    )  # fmt: skip
    ours_schedule = Schedule.objects.create(site=site, name="Agenda banc (maillage)")
    peer_schedule = Schedule.objects.create(site=site, name="Agenda banc (pgbench)")
    user = get_user_model().objects.create_user(f"banc-{tag}", password=uuid.uuid4().hex)
    Profile.objects.create(user=user, role=Role.PROFESSIONAL)
    _, token = create_token(user.username, name="bench_booking")
    person = Person.objects.create(
        birth_name="BANC", first_names="Pair", birth_date="1970-01-01", sex="M", synthetic=True
    )
    peer_slots = _make_slots(peer_schedule, args.peer_slots)
    if peer_slots[-1] - peer_slots[0] + 1 != len(peer_slots):
        raise SystemExit("peer slots are not contiguous ids: pgbench's sequence needs them")
    with connection.cursor() as cur:
        cur.execute("DROP SEQUENCE IF EXISTS bench_peer_slot")
        cur.execute(f"CREATE SEQUENCE bench_peer_slot START {peer_slots[0]}")
    connection.close()

    env = {**os.environ, "MAILLAGE_RATE_LIMITS_ENABLED": "0"}
    workdir = Path(tempfile.mkdtemp(prefix="bench-booking-"))
    print(
        f"{args.clients} clients, {args.duration:g} s per run, {args.runs} runs of each per "
        f"start, {args.starts} start(s); nproc={os.cpu_count()}"
    )
    cold, warm, peers = [], [], []
    try:
        for start in range(args.starts):
            servers = [Server(env) for _ in range(args.processes)]
            try:
                ready = max(server.start() for server in servers)
                print(
                    f"start {start + 1}: {args.processes} process(es) served in {ready:.1f} s, "
                    f"memory {[server.memory() for server in servers]} MiB"
                )
                for run in range(args.runs):
                    load = os.getloadavg()[0]
                    slot_ids = _make_slots(ours_schedule, args.slots_per_run)
                    connection.close()
                    ours = run_ours(
                        [server.port for server in servers],
                        token,
                        slot_ids,
                        args.clients,
                        args.duration,
                        args.rate,
                    )
                    doubles, losses = check_database(ours["acknowledged"], slot_ids)
                    connection.close()
                    rss = sum(server.memory()[0] for server in servers)
                    hwm = sum(server.memory()[1] for server in servers)
                    ours.update(doubles=doubles, losses=losses, load=load, rss=rss, hwm=hwm)
                    (cold if run == 0 else warm).append(ours)
                    print(
                        f"  ours {'cold' if run == 0 else 'warm'}: {ours['per_s']:.0f}/s "
                        f"p50 {ours['p50']:.0f} ms p99 {ours['p99']:.0f} ms ok {ours['ok']} "
                        f"errors {ours['errors']} doubles {doubles} losses {losses} "
                        f"load {load:.2f} rss {rss} MiB (peak {hwm}); client CPU "
                        f"{ours['client_cpu_ms']:.1f} ms/request"
                    )
                    load = os.getloadavg()[0]
                    peer = run_peer(url, person.pk, args.clients, args.duration, workdir, args.rate)
                    peer["load"] = load
                    peers.append(peer)
                    print(
                        f"  pgbench: {peer['per_s']:.0f}/s p50 {peer['p50']:.1f} ms "
                        f"p99 {peer['p99']:.1f} ms failed {peer['failed']} load {load:.2f}"
                    )
                    Booking.objects.filter(slot__schedule=peer_schedule).delete()
                    with connection.cursor() as cur:
                        cur.execute(f"ALTER SEQUENCE bench_peer_slot RESTART {peer_slots[0]}")
                    connection.close()
            finally:
                for server in servers:
                    server.stop()

        def med(rows: list[dict], key: str) -> float:
            return statistics.median(r[key] for r in rows) if rows else float("nan")

        print("\nmedians")
        for name, rows in (("ours cold", cold), ("ours warm", warm), ("pgbench", peers)):
            print(
                f"  {name}: {med(rows, 'per_s'):.0f}/s p50 {med(rows, 'p50'):.1f} ms "
                f"p99 {med(rows, 'p99'):.1f} ms over {len(rows)} run(s), "
                f"load {med(rows, 'load'):.2f}"
            )
        total = cold + warm
        print(
            f"  doubles {sum(r['doubles'] for r in total)}, losses "
            f"{sum(r['losses'] for r in total)}, errors "
            f"{sum(sum(r['errors'].values()) for r in total)}; server peak "
            f"{max((r['hwm'] for r in total), default=0)} MiB"
        )
        if warm and peers:
            print(f"  ours warm / pgbench: {med(warm, 'per_s') / med(peers, 'per_s'):.3f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        with connection.cursor() as cur:
            cur.execute("DROP SEQUENCE IF EXISTS bench_peer_slot")


if __name__ == "__main__":
    main()
