"""A heatwave campaign over HTTP on PostgreSQL: 10,000 registered people, 20 agents calling at
once (issue 10, item 7).

The script makes a PostgreSQL database of its own (``bench_campaign_<pid>``, dropped at the
end unless ``--keep``), migrates it and imports the communes (COG, what ``maillage init`` does
first; the directory's data is not needed and not imported). It then registers ``--people``
synthetic people (flagged ``synthetic``, invented names, phone numbers in ARCEP's range for
fiction, 01 99 00 xx xx) in the 60 communes of the CA du Grand Saint-Dizier Der et Vallées
(Haute-Marne, EPCI 200068666), weighted by population, through the register's own service
(:func:`maillage.care.register.services.registrations.register_person`: identity matching,
consent, encrypted address and contacts, audit; 500 per transaction), and makes ``--agents``
CCAS agents of a territory holding those communes, each with a confirmed TOTP device.

It serves the site as ``maillage serve`` does once the database is prepared
(:func:`maillage.bootstrap.serve`: waitress, 8 threads; the first-start check is skipped since
only the communes were imported), rate limits as configured. Each agent is one HTTP client
thread with its own keep-alive connection, logged in through ``/connexion/`` and
``/connexion/code/`` (password, then the TOTP code): a real session past the second factor.

Per run, agent 0 opens a red heatwave campaign on the 60 communes through the campaigns page
(3 calls before a home visit), then every agent loops on the call screen as a browser does:
``POST …/appel/`` ("Personne suivante", then the redirect's GET showing the person) and
``POST …/appel/<call>/`` (the outcome, then the redirect's GET saying "Résultat enregistré.").
What happens on a call is the person's fate, drawn once per person (seeded): 65 % reached and
fine, 15 % need help, 10 % answer the second call, 4 % answer the third (needing help), 6 %
never answer (escalated to the home-visit list after 3 calls). ``--replay`` (2 %) of the
outcomes are sent a second time right after (a double click, a retry after a timeout): the app
must refuse the second and count nothing. An acknowledged outcome is one whose page said
"Résultat enregistré.".

Checks, from the database, after each run:

- *called twice*: the audit log of the campaign's calls replayed in order: a person handed to
  an agent (``view`` by ``next_call`` or the call screen) while another agent held them (their
  ``view`` not yet followed by their outcome); and, from the clients' logs, a call id held by
  two agents over overlapping times, or the same (call, attempt) handed out twice;
- *lost*: acknowledged outcomes against the audit log's outcome events and the calls' rows:
  each person's attempts and final outcome as the acknowledged outcomes say; *counted twice*:
  the other way round (an attempt or an outcome event that no client was told of);
- every person in a final state (reached, needs help, escalated), each as their fate says;
  the home-visit list (:func:`~maillage.care.register.services.campaigns.home_visits`) is
  exactly the people who never answered;
- HTTP statuses other than 200/302 (a 500 is a failure).

Printed: outcomes per second, p50/p99 of the "next call" and "outcome" steps (each the POST and
the redirect's GET, what the agent waits for), wall time, the server's memory (VmRSS, VmHWM),
the load (``uptime``) before and after. The run's campaign is closed before the next one opens
(same people, a new campaign).

    python benchmarks/bench_campaign.py [--people 10000] [--agents 20] [--runs 3]
    python benchmarks/bench_campaign.py --people 500 --runs 1   # a quick check

``MAILLAGE_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``) names the
server where the database is made; its database is only used to create and drop ours.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import http.client
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlparse, urlunparse

EPCI = "200068666"  # CA du Grand Saint-Dizier Der et Vallées (60 communes, 55,381 inhabitants)
PASSWORD = "Banc-Canicule-2026-x"
SYLLABLES = [
    "ba", "be", "bo", "da", "de", "do", "fa", "fe", "ga", "la", "le", "li", "lo", "ma", "me",
    "mi", "mo", "na", "ne", "no", "pa", "pe", "ra", "re", "ri", "ro", "sa", "ta", "te", "va",
]  # fmt: skip
FIRST_NAMES = [
    "Jeanne", "Marie", "Simone", "Paulette", "Germaine", "Yvonne", "Odette", "Lucienne",
    "Marcel", "René", "Roger", "André", "Henri", "Georges", "Lucien", "Raymond",
]  # fmt: skip
#: (share, outcomes of the successive calls): the person's fate
FATES = [
    (0.65, ("reached_fine",)),
    (0.15, ("needs_help",)),
    (0.10, ("not_reached", "reached_fine")),
    (0.04, ("not_reached", "not_reached", "needs_help")),
    (0.06, ("not_reached", "not_reached", "not_reached")),
]
NOTES = {
    "reached_fine": "",
    "needs_help": "Besoin d'eau et de courses, prévenir la fille",
    "not_reached": "Messagerie",
}
ACK = "Résultat enregistré."


# --- the synthetic people ----------------------------------------------------------------------


def family_name(i: int) -> str:
    """A made-up family name, one per index (30³ = 27,000; a fourth syllable beyond)."""
    n = len(SYLLABLES)
    parts = [SYLLABLES[i % n], SYLLABLES[i // n % n], SYLLABLES[i // n // n % n]]
    if i >= n**3:
        parts.append(SYLLABLES[i // n**3 % n])
    return "".join(parts).capitalize() + "ux"


def fate(i: int, max_attempts: int) -> tuple[str, ...]:
    """The outcomes person ``i``'s calls will have (seeded), cut at ``max_attempts``."""
    draw = int(hashlib.sha256(f"fate{i}".encode()).hexdigest()[:8], 16) / 2**32
    for share, outcomes in FATES:
        if draw < share:
            return outcomes[:max_attempts]
        draw -= share
    return FATES[-1][1][:max_attempts]


def expected_final(outcomes: tuple[str, ...], max_attempts: int) -> tuple[str, int, bool]:
    """(outcome, attempts, escalated) of a person once every call of their fate is made."""
    attempts = sum(1 for o in outcomes if o == "not_reached")
    return outcomes[-1], attempts, attempts >= max_attempts


def register_people(count: int, communes: list[tuple[str, int]]) -> dict[str, int]:
    """Register ``count`` synthetic people through the register's service; their registration
    ids by family name."""
    import datetime as dt

    from django.db import transaction

    from maillage.care.register.services.registrations import register_person

    rng = random.Random(52)
    codes = [c for c, _ in communes]
    weights = [max(p, 1) for _, p in communes]
    ids: dict[str, int] = {}
    for start in range(0, count, 500):
        with transaction.atomic():
            for i in range(start, min(count, start + 500)):
                commune = rng.choices(codes, weights)[0]
                alone = rng.random() < 0.45
                reg = register_person(
                    None,
                    traits={
                        "birth_name": family_name(i),
                        "first_names": rng.choice(FIRST_NAMES),
                        "sex": rng.choice("FM"),
                        "birth_date": dt.date(1925, 1, 1) + dt.timedelta(days=rng.randrange(13000)),
                        "phone": f"01 99 00 {i // 100 % 100:02d} {i % 100:02d}",
                    },
                    commune_id=commune,
                    details={
                        "address": f"{1 + i % 120} rue de l'Essai (synthétique)",
                        "emergency_contacts": "" if alone else "Un voisin, 01 99 00 99 99",
                        "living_alone": alone,
                        "mobility": rng.choice(["autonomous", "autonomous", "aid", "wheelchair"]),
                        "power_devices": rng.random() < 0.05,
                    },
                    registered_by=rng.choice(["self", "relative", "professional", "agent"]),
                    consent=True,
                    synthetic=True,
                )  # fmt: skip
                ids[family_name(i).upper()] = reg.pk
    return ids


# --- the server and the clients ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


SERVE = (
    "import sys; from maillage.cli import _setup_django; _setup_django(); "
    "from maillage.bootstrap import serve; serve('127.0.0.1', int(sys.argv[1]), progress=print)"
)


class Server:
    """``maillage serve`` on a prepared database (:func:`maillage.bootstrap.serve`)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.log = log

    def start(self) -> float:
        began = time.monotonic()
        # its output to a file: a pipe nobody reads fills up (64 KiB of waitress's "task queue
        # depth" warnings) and blocks the server's main thread on its next write
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SERVE, str(self.port)], env=self.env,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        while time.monotonic() - began < 300:
            if self.proc.poll() is not None:
                raise SystemExit("the server stopped: " + self.log.read_text()[-3000:])
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/connexion/", headers={"Host": "127.0.0.1"})
                if conn.getresponse().status == 200:
                    return time.monotonic() - began
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the server did not answer")

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


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CALL_FORM = re.compile(r'action="/soins/registre/campagnes/(\d+)/appel/(\d+)/"')
CALL_NAME = re.compile(r'<section class="call" data-testid="call">\s*<h2>([^<]+?)[ <]')
ATTEMPTS = re.compile(
    r"Appels sans réponse jusqu&#x27;ici : (\d+) /|Appels sans réponse jusqu'ici : (\d+) /"
)
MESSAGE = re.compile(r'<li class="message ([a-z ]*)" role="status">([^<]*)</li>')


class Agent:
    """One agent's browser: a keep-alive connection, its cookies, the page it shows."""

    def __init__(self, port: int, username: str) -> None:
        self.port = port
        self.username = username
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}
        self.statuses: Counter[int] = Counter()

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, str]:
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                if attempt or method == "POST":  # a POST is never sent twice behind our back
                    self.statuses[0] += 1
                    return 0, "", ""
        for header in response.msg.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        self.statuses[response.status] += 1
        return response.status, response.getheader("Location", ""), text

    def submit(self, path: str, page: str, form: dict) -> tuple[int, str]:
        """POST a form of ``page`` and follow the redirect as a browser does: (status of the
        POST, the page shown after)."""
        token = CSRF.search(page)
        status, location, text = self.request(
            "POST", path, {**form, "csrfmiddlewaretoken": token.group(1) if token else ""}
        )
        if status == 302:
            target = urlparse(location)
            _, _, text = self.request(
                "GET", target.path + (f"?{target.query}" if target.query else "")
            )
        return status, text

    def login(self, totp_key: str) -> None:
        from binascii import unhexlify

        from django_otp.oath import TOTP

        _, _, page = self.request("GET", "/connexion/")
        status, page = self.submit(
            "/connexion/", page, {"username": self.username, "password": PASSWORD}
        )
        if "id_code" not in page:
            raise SystemExit(f"{self.username}: no TOTP step after the password ({status})")
        code = f"{TOTP(unhexlify(totp_key)).token():06d}"
        status, page = self.submit("/connexion/code/", page, {"code": code})
        if status != 302:
            raise SystemExit(f"{self.username}: TOTP code refused ({status})")


@dataclass
class Log:
    """What one agent's client saw."""

    next_ms: list[float] = field(default_factory=list)
    outcome_ms: list[float] = field(default_factory=list)
    empty_polls: int = 0
    #: (call id, name shown, attempts shown, outcome, acknowledged, taken at, answered at)
    calls: list[tuple[int, str, int, str, bool, float, float]] = field(default_factory=list)
    replays: list[tuple[int, str, str]] = field(default_factory=list)  # (call, outcome, message)
    messages: Counter = field(default_factory=Counter)
    error: str = ""


def work(agent: Agent, campaign: int, fates: dict, log: Log, *rest: object) -> None:
    try:
        _work(agent, campaign, fates, log, *rest)
    except Exception as exc:  # noqa: BLE001 - printed by the main thread
        log.error = repr(exc)[:300]


def _work(
    agent: Agent, campaign: int, fates: dict[str, tuple[str, ...]], log: Log, done: threading.Event,
    replay_share: float, rng: random.Random, gate: threading.Barrier,
) -> None:  # fmt: skip
    screen = f"/soins/registre/campagnes/{campaign}/appel/"
    try:
        _, _, page = agent.request("GET", screen)
    finally:
        gate.wait()
    idle_since = None
    while not done.is_set():
        began = time.perf_counter()
        status, page = agent.submit(screen, page, {})
        taken = time.perf_counter()
        form = CALL_FORM.search(page)
        if form is None:
            log.empty_polls += 1
            idle_since = idle_since or taken
            if taken - idle_since > 15:  # nothing handed out for 15 s: the rest is held or lost
                return
            time.sleep(0.2)
            continue
        idle_since = None
        log.next_ms.append((taken - began) * 1000)
        call = int(form.group(2))
        name = html.unescape(CALL_NAME.search(page).group(1)).split()[0]
        shown = ATTEMPTS.search(page)
        attempts = int(shown.group(1) or shown.group(2))
        outcomes = fates[name]
        outcome = outcomes[min(attempts, len(outcomes) - 1)]
        path = f"/soins/registre/campagnes/{campaign}/appel/{call}/"
        form_page = page
        began = time.perf_counter()
        status, page = agent.submit(path, form_page, {"outcome": outcome, "note": NOTES[outcome]})
        answered = time.perf_counter()
        said = MESSAGE.findall(page)
        acknowledged = status == 302 and any(text == ACK for _, text in said)
        for _, text in said:
            log.messages[text] += 1
        log.outcome_ms.append((answered - began) * 1000)
        log.calls.append((call, name, attempts, outcome, acknowledged, taken, answered))
        if rng.random() < replay_share:
            _, again = agent.submit(path, form_page, {"outcome": outcome, "note": NOTES[outcome]})
            texts = [html.unescape(text) for _, text in MESSAGE.findall(again)]
            log.replays.append((call, outcome, " / ".join(texts)))
            page = again


# --- the checks --------------------------------------------------------------------------------


def check(
    campaign_id: int, logs: list[Log], fates_by_reg: dict[int, tuple[str, ...]], max_attempts: int
) -> dict:
    from maillage.accounts.models import AuditEvent
    from maillage.care.register.models import CallAssignment, Campaign
    from maillage.care.register.services.campaigns import home_visits

    rows = {
        c.pk: c
        for c in CallAssignment.objects.filter(campaign_id=campaign_id).only(
            "pk", "registration_id", "agent_id", "attempts", "outcome", "escalated"
        )
    }
    # called twice, from the audit log: who holds each call, event by event
    events = AuditEvent.objects.filter(
        target_type="register.callassignment",
        target_id__in=[str(pk) for pk in rows],
        purpose="register_campaign",
    ).order_by("pk")
    holder: dict[int, int | None] = {}
    twice_audit = 0
    outcome_events = 0
    for e in events.values_list("target_id", "user_id", "action"):
        pk, user, action = int(e[0]), e[1], e[2]
        if action == "view":
            if holder.get(pk) not in (None, user):
                twice_audit += 1
            holder[pk] = user
        elif action == "update":
            outcome_events += 1
            holder[pk] = None
    # called twice, from the clients: the same call held by two agents at overlapping times,
    # or the same (call, attempt) handed out twice
    spans = defaultdict(list)
    handed = Counter()
    for a, log in enumerate(logs):
        for call, _, attempts, _, _, taken, answered in log.calls:
            spans[call].append((taken, answered, a))
            handed[(call, attempts)] += 1
    overlaps = 0
    for items in spans.values():
        items.sort()
        for (_, end1, a1), (start2, _, a2) in zip(items, items[1:], strict=False):
            if a1 != a2 and start2 < end1:
                overlaps += 1
    twice_client = sum(n - 1 for n in handed.values() if n > 1)
    # lost: each person's acknowledged outcomes against their row
    acked = defaultdict(list)
    for log in logs:
        for call, _, _, outcome, ok, _, answered in log.calls:
            if ok:
                acked[call].append((answered, outcome))
    acknowledged = sum(len(v) for v in acked.values())
    lost = 0  # acknowledged, not (all) in the row
    extra = 0  # in the row, never acknowledged (an outcome counted twice)
    wrong_state = 0
    not_final = 0
    escalated = set()
    for pk, row in rows.items():
        seen = [o for _, o in sorted(acked.get(pk, []))]
        attempts = sum(1 for o in seen if o == "not_reached")
        final = seen[-1] if seen and seen[-1] != "not_reached" else None
        if row.attempts < attempts or (final is not None and row.outcome != final):
            lost += 1
        elif row.attempts > attempts or (not seen and row.outcome != "pending"):
            extra += 1
        if row.outcome in ("pending", "not_reached") and not row.escalated:
            not_final += 1
        if row.escalated:
            escalated.add(row.registration_id)
        want = expected_final(fates_by_reg[row.registration_id], max_attempts)
        if (row.outcome, row.attempts, row.escalated) != want:
            wrong_state += 1
    should = {reg for reg, f in fates_by_reg.items() if expected_final(f, max_attempts)[2]} & {
        r.registration_id for r in rows.values()
    }
    campaign = Campaign.objects.get(pk=campaign_id)
    listed = {v.registration_id for v in home_visits(campaign, None)}
    return {
        "calls": len(rows),
        "twice_audit": twice_audit,
        "twice_client": twice_client + overlaps,
        "acknowledged": acknowledged,
        "outcome_events": outcome_events,
        "lost": lost + max(0, acknowledged - outcome_events),
        "counted_twice": extra + max(0, outcome_events - acknowledged),
        "not_final": not_final,
        "wrong_state": wrong_state,
        "escalated": len(escalated),
        "escalation_ok": escalated == should == listed,
    }


# --- main ----------------------------------------------------------------------------------------


def _uptime() -> str:
    """``uptime`` (UTC: Django sets ``TZ`` to the site's time zone in this process)."""
    env = {**os.environ, "TZ": "UTC"}
    return subprocess.run(["uptime"], capture_output=True, text=True, env=env).stdout.strip()


def _with_db(url: str, name: str) -> str:
    u = urlparse(url)
    return urlunparse(u._replace(path=f"/{name}"))


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3, help="campaigns, one after the other")
    parser.add_argument("--max-attempts", type=int, default=3)
    parser.add_argument("--replay", type=float, default=0.02, help="share of outcomes sent twice")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the database (and its data folder, the keys) at the end",
    )
    parser.add_argument(
        "--reuse",
        nargs=2,
        metavar=("DATABASE", "HOME"),
        help="a database and data folder this script made and kept: no set-up, new campaigns",
    )
    args = parser.parse_args()

    admin_url = os.environ.get(
        "MAILLAGE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
    )
    if not admin_url.startswith("postgres"):
        raise SystemExit("MAILLAGE_DATABASE_URL must name a PostgreSQL server")
    if args.reuse:
        name, home = args.reuse[0], Path(args.reuse[1])
    else:
        name = f"bench_campaign_{os.getpid()}"
        home = Path(tempfile.mkdtemp(prefix="bench-campaign-"))
        _admin(admin_url, f"CREATE DATABASE {name}")
    os.environ.update(
        MAILLAGE_DATABASE_URL=_with_db(admin_url, name), MAILLAGE_HOME=str(home),
        DJANGO_SETTINGS_MODULE="maillage.settings",
    )  # fmt: skip
    os.environ.pop("MAILLAGE_CARE_KEYS", None)
    server = None
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from maillage.accounts.models import Profile, Role
        from maillage.bootstrap import migrate
        from maillage.care.register.models import Campaign, Registration
        from maillage.territory.models import Commune, Territory
        from maillage.territory.services import import_geography

        print(
            f"database {name}, {args.people} people, {args.agents} agents, nproc={os.cpu_count()}"
        )
        print(f"uptime before: {_uptime()}")
        if not args.reuse:
            t = time.perf_counter()
            migrate()
            print(f"migrations {time.perf_counter() - t:.1f} s; {import_geography()}")
        communes = list(Commune.objects.filter(epci_id=EPCI).values_list("code", "population"))
        if not args.reuse:
            territory = Territory.objects.create(
                slug="cias-banc-canicule", name="CIAS du Grand Saint-Dizier (banc d'essai)",
                kind=Territory.Kind.EPCI, code=f"epci:{EPCI}",
            )  # fmt: skip
            territory.communes.set([c for c, _ in communes])
            for a in range(args.agents):
                user = get_user_model().objects.create_user(
                    f"agent-banc-{a:02d}", password=PASSWORD
                )
                Profile.objects.create(user=user, role=Role.CCAS_AGENT).territories.add(territory)
                TOTPDevice.objects.create(user=user, name="banc", confirmed=True)
            t = time.perf_counter()
            register_people(args.people, communes)
            took = time.perf_counter() - t
            print(
                f"{args.people} people registered in {len(communes)} communes through "
                f"register_person in {took:.0f} s ({took / max(1, args.people) * 1000:.1f} ms each)"
            )
        keys = [
            TOTPDevice.objects.get(user__username=f"agent-banc-{a:02d}", name="banc").key
            for a in range(args.agents)
        ]
        reg_by_name = dict(
            Registration.objects.filter(synthetic=True, removed_at__isnull=True).values_list(
                "person__birth_name", "pk"
            )
        )
        fates = {family_name(i).upper(): fate(i, args.max_attempts) for i in range(args.people)}
        if set(fates) != set(reg_by_name):
            raise SystemExit(f"{len(reg_by_name)} people in the database, {len(fates)} expected")
        fates_by_reg = {reg_by_name[n]: f for n, f in fates.items()}
        expected = Counter(expected_final(f, args.max_attempts)[0:3:2] for f in fates.values())
        print(f"fates: {dict(expected)}; calls to make {sum(len(f) for f in fates.values())}")
        connection.close()

        server = Server({**os.environ}, home / "server.log")
        print(f"server ready in {server.start():.1f} s, memory {server.memory()} MiB")
        agents = [Agent(server.port, f"agent-banc-{a:02d}") for a in range(args.agents)]
        t = time.perf_counter()
        for agent, key in zip(agents, keys, strict=True):
            agent.login(key)
        print(
            f"{len(agents)} agents logged in (password + TOTP) in {time.perf_counter() - t:.1f} s"
        )

        results = []
        previous = (
            Campaign.objects.filter(closed_at__isnull=True).values_list("pk", flat=True).first()
        )
        connection.close()
        for run in range(args.runs):
            boss = agents[0]
            if previous is not None:  # close the previous campaign from its page
                path = f"/soins/registre/campagnes/{previous}/"
                _, _, page = boss.request("GET", path)
                boss.submit(path, page, {"close": "1"})
            _, _, page = boss.request("GET", "/soins/registre/campagnes/")
            t = time.perf_counter()
            token = CSRF.search(page).group(1)
            status, location, _ = boss.request(
                "POST", "/soins/registre/campagnes/",
                {"csrfmiddlewaretoken": token, "kind": "heatwave", "level": "red",
                 "communes": [c for c, _ in communes], "max_attempts": str(args.max_attempts)},
            )  # fmt: skip
            opened = time.perf_counter() - t
            if status != 302:
                raise SystemExit(f"campaign not opened: {status}")
            campaign = int(re.search(r"/campagnes/(\d+)/", location).group(1))
            previous = campaign
            load = _uptime()
            for agent in agents:
                agent.statuses.clear()
            logs = [Log() for _ in agents]
            done = threading.Event()
            gate = threading.Barrier(len(agents) + 1)
            threads = [
                threading.Thread(
                    target=work,
                    args=(
                        agent,
                        campaign,
                        fates,
                        log,
                        done,
                        args.replay,
                        random.Random(run * 1000 + a),
                        gate,
                    ),
                )  # fmt: skip
                for a, (agent, log) in enumerate(zip(agents, logs, strict=True))
            ]
            for th in threads:
                th.start()
            gate.wait()
            began = time.monotonic()
            total_calls = sum(len(f) for f in fates.values())
            while any(th.is_alive() for th in threads):
                made = sum(len(log.calls) for log in logs)
                if made >= total_calls:
                    done.set()
                time.sleep(0.2)
            for th in threads:
                th.join()
            wall = time.monotonic() - began
            connection.close()
            figures = check(campaign, logs, fates_by_reg, args.max_attempts)
            connection.close()
            rss, hwm = server.memory()
            statuses = sum((agent.statuses for agent in agents), Counter())
            next_ms = [x for log in logs for x in log.next_ms]
            outcome_ms = [x for log in logs for x in log.outcome_ms]
            replays = [r for log in logs for r in log.replays]
            replay_said = Counter(r[2] for r in replays)
            row = {
                **figures, "wall": wall, "per_s": figures["acknowledged"] / wall,
                "next_p50": _pct(next_ms, 0.5), "next_p99": _pct(next_ms, 0.99),
                "outcome_p50": _pct(outcome_ms, 0.5), "outcome_p99": _pct(outcome_ms, 0.99),
                "rss": rss, "hwm": hwm, "opened": opened,
                "bad_status": {s: n for s, n in statuses.items() if s not in (200, 302)},
                "replays": len(replays),
                "replays_accepted": sum(1 for r in replays if ACK in r[2]),
                "empty_polls": sum(log.empty_polls for log in logs),
                "per_agent": sorted(len(log.calls) for log in logs),
            }  # fmt: skip
            results.append(row)
            print(
                f"\nrun {run + 1}: campaign {campaign} opened in {opened:.2f} s ({figures['calls']}"
                f" calls); load before: {load}\n"
                f"  {figures['acknowledged']} outcomes in {wall:.1f} s = {row['per_s']:.1f}/s; "
                f"next call p50 {row['next_p50']:.0f} ms p99 {row['next_p99']:.0f} ms; outcome "
                f"p50 {row['outcome_p50']:.0f} ms p99 {row['outcome_p99']:.0f} ms\n"
                f"  called twice: audit {figures['twice_audit']}, clients "
                f"{figures['twice_client']}; lost {figures['lost']}; counted twice "
                f"{figures['counted_twice']} (acknowledged "
                f"{figures['acknowledged']}, outcome events {figures['outcome_events']}); not "
                f"final {figures['not_final']}; not as their fate {figures['wrong_state']}; "
                f"escalated {figures['escalated']} (list correct: {figures['escalation_ok']})\n"
                f"  statuses other than 200/302: {row['bad_status']}; replays {len(replays)} "
                f"(accepted again: {row['replays_accepted']}) {dict(replay_said)}\n"
                f"  calls per agent {row['per_agent'][0]}–{row['per_agent'][-1]}; empty polls "
                f"{row['empty_polls']}; server VmRSS {rss} MiB (VmHWM {hwm})"
            )
            for a, log in enumerate(logs):
                if log.error:
                    print(f"  agent {a}: {log.error}")
        print(f"\nuptime after: {_uptime()}")
        if len(results) > 1:

            def med(key: str) -> float:
                return statistics.median(r[key] for r in results)

            print(
                f"medians over {len(results)} runs: {med('per_s'):.1f} outcomes/s, wall "
                f"{med('wall'):.1f} s, next call p50 {med('next_p50'):.0f} / p99 "
                f"{med('next_p99'):.0f} ms, outcome p50 {med('outcome_p50'):.0f} / p99 "
                f"{med('outcome_p99'):.0f} ms, opening {med('opened'):.2f} s"
            )
        print(
            "totals: called twice "
            f"{sum(r['twice_audit'] + r['twice_client'] for r in results)}, lost "
            f"{sum(r['lost'] for r in results)}, counted twice "
            f"{sum(r['counted_twice'] for r in results)}, not final "
            f"{sum(r['not_final'] for r in results)}"
            f", not as their fate {sum(r['wrong_state'] for r in results)}, bad statuses "
            f"{sum(sum(r['bad_status'].values()) for r in results)}, replays accepted again "
            f"{sum(r['replays_accepted'] for r in results)}"
        )
    finally:
        if server is not None:
            server.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up
            pass
        if not args.keep:
            _admin(admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            shutil.rmtree(home, ignore_errors=True)
        else:
            print(f"kept: MAILLAGE_DATABASE_URL={_with_db(admin_url, name)} MAILLAGE_HOME={home}")


if __name__ == "__main__":
    main()
