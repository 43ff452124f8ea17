"""The demo login accounts: a coordinator, a professional, the CPTS's phone operator and
nurse, a hospital referent (the three demo hospitals of :mod:`maillage.demo.letters`) and a
CCAS agent of Saint-Dizier (the register of vulnerable people), with random passwords.

The professional is attached to a synthetic practitioner (see :mod:`maillage.demo.synthetic`);
the operator and the nurse serve both teleconsultation rooms of the demo (``Site.staff``; they
set up their second factor at first login). All are written to
``<data folder>/demo-accounts.txt`` so that ``maillage demo`` can say where to find them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.db import transaction

from maillage.demo.directory import _sync
from maillage.directory.models import Practitioner

DEMO_ACCOUNTS_FILE = "demo-accounts.txt"
COORDINATOR_USERNAME = "coordination"
PROFESSIONAL_USERNAME = "docteur.demo"
OPERATOR_USERNAME = "operateur.cpts"
NURSE_USERNAME = "infirmiere.cpts"
HOSPITAL_USERNAME = "referent.hopital"  # the demo hospitals' discharges (demo/letters.py)
#: A Saint-Dizier CCAS agent: the register of vulnerable people of that commune only.
CCAS_USERNAME = "ccas.saint-dizier"
CCAS_COMMUNE = "52448"  # Saint-Dizier
#: The sites the CPTS's operator and nurse serve (the two rooms of data/scheduling.yaml).
CPTS_SITES = ("teleconsultation-clos-mortier", "teleconsultation-la-noue")
DEMO_GP_COMMUNE = "52121"  # Chaumont
_FILE_HEADER = (
    "# Comptes de démonstration de maillage — mots de passe aléatoires, propres à cette base.\n"
    "# Ne pas utiliser en production. Format : identifiant<TAB>mot de passe\n"
)


def demo_accounts_path() -> Path:
    """Where the demo passwords are written (the data folder, readable by its owner only)."""
    from maillage.paths import data_home

    return data_home() / DEMO_ACCOUNTS_FILE


def _read_accounts(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    accounts = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or "\t" not in line:
            continue
        username, password = line.split("\t", 1)
        accounts[username.strip()] = password.strip()
    return accounts


def _write_accounts(path: Path, accounts: dict[str, str]) -> None:
    text = _FILE_HEADER + "".join(f"{u}\t{p}\n" for u, p in accounts.items())
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
    os.chmod(path, 0o600)  # also tightens a file created earlier with a looser mode


def demo_gp() -> Practitioner | None:
    """The synthetic GP of Chaumont the professional demo account is linked to.

    Chosen deterministically (the synthetic generation is seeded) so that re-running keeps the
    same link; ``None`` when the synthetic practitioners were not generated.
    """
    return (
        Practitioner.objects.filter(
            synthetic=True,
            roles__profession_code="10",
            roles__specialty_code="SM54",
            roles__location__commune_id=DEMO_GP_COMMUNE,
        )
        .order_by("family_name", "given_name", "pk")
        .first()
    )


def ensure_demo_accounts() -> dict[str, str]:
    """Create (once) the demo coordinator and professional accounts; return their passwords.

    Passwords are random per installation — a demo reachable on a network must not have a
    published password — and kept in ``<data folder>/demo-accounts.txt`` (mode 0600) so that
    ``maillage demo`` can say where to find them. Re-running keeps the existing passwords; an
    account whose password no longer matches the file gets a new one.
    """
    from django.contrib.auth import get_user_model

    from maillage.accounts.models import Profile, Role

    user_model = get_user_model()
    path = demo_accounts_path()
    known = _read_accounts(path)
    gp = demo_gp()
    wanted = [
        (COORDINATOR_USERNAME, Role.COORDINATOR, None),
        (PROFESSIONAL_USERNAME, Role.PROFESSIONAL, gp),
        (OPERATOR_USERNAME, Role.OPERATOR, None),
        (NURSE_USERNAME, Role.NURSE, None),
        (HOSPITAL_USERNAME, Role.HOSPITAL, None),
        (CCAS_USERNAME, Role.CCAS_AGENT, None),
    ]
    passwords: dict[str, str] = {}
    with transaction.atomic():
        for username, role, practitioner in wanted:
            password = known.get(username)
            user = user_model.objects.filter(username=username).first()
            if user is None:
                password = password or secrets.token_urlsafe(12)
                # a reserved domain (RFC 2606): password resets and notifications of the demo
                # land in <data folder>/courriels/, never in a real mailbox
                user = user_model.objects.create_user(
                    username=username, password=password, email=f"{username}@demo.example"
                )
            elif not password or not user.check_password(password):
                password = secrets.token_urlsafe(12)
                user.set_password(password)
                user.save(update_fields=["password"])
            _sync(
                Profile,
                {"user": user},
                {"role": role, "practitioner_id": practitioner.pk if practitioner else None},
            )
            passwords[username] = password
            if role in (Role.OPERATOR, Role.NURSE):
                _serve_cpts_sites(user)
            if role == Role.HOSPITAL:
                from maillage.demo.letters import demo_hospitals

                user.profile.organizations.set(demo_hospitals())
            if role == Role.CCAS_AGENT:
                _ccas_commune(user)
    _write_accounts(path, passwords)
    return passwords


def _ccas_commune(user) -> None:
    """The CCAS agent's territory: the commune of Saint-Dizier alone (when imported)."""
    from maillage.territory.models import Commune, Territory

    if not Commune.objects.filter(code=CCAS_COMMUNE).exists():
        return
    territory, _ = _sync(
        Territory,
        {"slug": "ccas-saint-dizier"},
        {"name": "CCAS de Saint-Dizier", "kind": Territory.Kind.COMMUNE},
    )
    territory.communes.set([CCAS_COMMUNE])
    user.profile.territories.add(territory)


def _serve_cpts_sites(user) -> None:
    """The CPTS's operator and nurse serve both rooms (when the demo agendas are loaded)."""
    from maillage.care.scheduling.models import Site

    for site in Site.objects.filter(slug__in=CPTS_SITES):
        site.staff.add(user)
