"""E-mails to professionals about their entries: a proposal published or refused, an entry to
re-verify. Sent through Django's e-mail backend (SMTP with ``MAILLAGE_SMTP_HOST``, else files in
the data folder). A message names the entry and the decision, never pro-only values; a failed
sending never undoes the decision, and the log names the proposal, not the person."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from maillage.accounts.models import AuditEvent
from maillage.accounts.permissions import audit

log = logging.getLogger(__name__)

#: An entry is not reminded twice within this many days.
REMINDER_EVERY_DAYS = 30


def site_url() -> str:
    """The public address of the site, for links in e-mails (``MAILLAGE_SITE_URL``)."""
    return getattr(settings, "MAILLAGE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def _send(subject: str, body: str, to: str, what: str) -> bool:
    try:
        send_mail(subject, body, None, [to])
    except Exception as exc:  # an unreachable SMTP server must not undo a decision
        log.warning("courriel non envoyé (%s) : %s", what, type(exc).__name__)
        return False
    return True


def _entry_name(target_type: str, target_id: int) -> str:
    from maillage.directory.review import get_target

    try:
        target = get_target(target_type, target_id)
    except Exception:
        return "(fiche supprimée)"
    if target_type == "role":
        return str(target.practitioner)
    commune = getattr(target, "commune", None)
    return f"{target}, {commune.name}" if commune is not None else str(target)


def proposal_decided(proposal: Any) -> None:
    """Tell the author of ``proposal`` that it was published or refused (after the commit)."""
    author = proposal.proposed_by
    if not author.email:
        return
    published = proposal.status == "published"
    entry = _entry_name(proposal.target_type, proposal.target_id)
    verb = "publiée" if published else "refusée"
    lines = [
        "Bonjour,",
        "",
        f"Votre proposition n° {proposal.pk} sur la fiche « {entry} » a été {verb} par la "
        "coordination de l'annuaire.",
    ]
    if proposal.review_comment:
        lines += ["", f"Message de la coordination : « {proposal.review_comment} »"]
    lines += [
        "",
        f"Votre fiche et vos propositions : {site_url()}/pro/ma-fiche/",
        "",
        "maillage — annuaire et observatoire territorial de santé",
    ]
    subject = f"Votre proposition a été {verb}"
    transaction.on_commit(
        lambda: _send(subject, "\n".join(lines), author.email, f"proposition n° {proposal.pk}")
    )


def remind_stale(months: int = 12, today: dt.date | None = None) -> dict[str, int]:
    """E-mail each professional whose own entry was never verified or not for ``months``
    months, at most once every :data:`REMINDER_EVERY_DAYS` days. Returns counts."""
    from maillage.accounts.models import Profile
    from maillage.directory import review

    limit = review.months_ago(months, today)
    since = timezone.now() - dt.timedelta(days=REMINDER_EVERY_DAYS)
    recent = set(
        AuditEvent.objects.filter(action="stale_reminder", at__gte=since).values_list(
            "target_id", flat=True
        )
    )
    counts = {"envoyés": 0, "déjà relancés": 0, "sans adresse": 0, "échecs": 0}
    profiles = Profile.objects.filter(practitioner__isnull=False).select_related(
        "user", "practitioner"
    )
    for profile in profiles:
        practitioner = profile.practitioner
        verified = practitioner.verified_on
        if verified is not None and verified >= limit:
            continue
        if str(practitioner.pk) in recent:
            counts["déjà relancés"] += 1
            continue
        if not profile.user.email or not profile.user.is_active:
            counts["sans adresse"] += 1
            continue
        when = f"le {verified:%d/%m/%Y}" if verified else "jamais"
        body = "\n".join([
            "Bonjour,",
            "",
            f"Votre fiche de l'annuaire ({practitioner}) a été vérifiée pour la dernière fois : "
            f"{when}. Les patients et vos confrères s'y fient : pouvez-vous la relire et "
            "signaler ce qui a changé (adresse, téléphone, horaires, nouveaux patients) ?",
            "",
            f"Votre fiche : {site_url()}/pro/ma-fiche/",
            "",
            "maillage — annuaire et observatoire territorial de santé",
        ])  # fmt: skip
        if _send("Votre fiche est-elle à jour ?", body, profile.user.email, "relance"):
            audit(None, "stale_reminder", practitioner, months=months)
            counts["envoyés"] += 1
        else:
            counts["échecs"] += 1
    return counts
