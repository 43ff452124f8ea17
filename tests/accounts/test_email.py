"""E-mail through a real SMTP server started by the test (aiosmtpd on loopback): password reset
with Django's own views, notifications of decisions on proposals, reminders of entries to
re-verify. A server that is down never undoes a decision."""

from __future__ import annotations

import re
import socket
from email import message_from_bytes, policy
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth import get_user_model
from django.test import Client

from maillage.accounts.models import Profile, Role
from maillage.directory import notify, review
from maillage.directory.changes import ChangeProposal
from maillage.directory.models import PractitionerRole

OLD_PASSWORD = "Ancien-mot-de-passe-2026"
NEW_PASSWORD = "Nouveau-mot-de-passe-2026"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append(
            (list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default))
        )
        return "250 Message accepted for delivery"

    def body(self, index: int = -1) -> str:
        return self.messages[index][1].get_body(preferencelist=("plain",)).get_content()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def inbox(settings):
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def member(demo_db):
    user = get_user_model().objects.create_user(
        "dr.courriel", email="dr.courriel@demo.example", password=OLD_PASSWORD
    )
    role = PractitionerRole.objects.filter(synthetic=True, location__isnull=False).first()
    Profile.objects.create(user=user, role=Role.PROFESSIONAL, practitioner=role.practitioner)
    return user


def test_password_reset_by_email_end_to_end(inbox, member):
    client = Client(HTTP_HOST="127.0.0.1")
    assert "Mot de passe oublié" in client.get("/connexion/").content.decode()
    page = client.get("/mot-de-passe-oublie/")
    assert page.status_code == 200 and "Adresse électronique" in page.content.decode()
    done = client.post("/mot-de-passe-oublie/", {"email": "dr.courriel@demo.example"})
    assert done.status_code == 302 and done["Location"] == "/mot-de-passe-oublie/envoye/"
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["dr.courriel@demo.example"]
    assert "mot de passe" in message["Subject"].lower()
    body = inbox.body()
    assert "Bonjour" in body and "dr.courriel" in body
    link = re.search(r"http://127\.0\.0\.1(/nouveau-mot-de-passe/\S+/)", body)[1]

    form = client.get(link, follow=True)
    assert form.status_code == 200 and "Nouveau mot de passe" in form.content.decode()
    form_url = form.redirect_chain[-1][0]
    weak = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200 and "trop court" in weak.content.decode()
    saved = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert saved.status_code == 302
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD) and not member.check_password(OLD_PASSWORD)
    again = Client(HTTP_HOST="127.0.0.1").get(link, follow=True)
    assert "plus valable" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(inbox, member):
    client = Client(HTTP_HOST="127.0.0.1")
    done = client.post("/mot-de-passe-oublie/", {"email": "personne@demo.example"})
    assert done.status_code == 302 and done["Location"] == "/mot-de-passe-oublie/envoye/"
    assert inbox.messages == []


@pytest.mark.parametrize("decision", ["publish", "reject"])
def test_the_author_hears_of_the_decision(
    inbox, member, decision, django_capture_on_commit_callbacks
):
    practitioner = member.profile.practitioner
    proposal = review.propose(member, practitioner, {"notes_pro": "Secret pro : code 1234"})
    coordinator = get_user_model().objects.create_user("coord.courriel", password=OLD_PASSWORD)
    Profile.objects.create(user=coordinator, role=Role.COORDINATOR)
    with django_capture_on_commit_callbacks(execute=True):
        getattr(review, decision)(coordinator, proposal, "Merci, vérifié par téléphone.")
    assert len(inbox.messages) == 1
    body = inbox.body()
    verb = "publiée" if decision == "publish" else "refusée"
    assert verb in inbox.messages[0][1]["Subject"] and verb in body
    assert str(practitioner) in body and "Merci, vérifié par téléphone." in body
    assert "Secret pro" not in body  # never the proposed values


def test_a_mail_server_that_is_down_does_not_undo_the_decision(
    settings, member, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    proposal = review.propose(member, member.profile.practitioner, {"languages": "en"})
    coordinator = get_user_model().objects.create_user("coord.panne", password=OLD_PASSWORD)
    Profile.objects.create(user=coordinator, role=Role.COORDINATOR)
    with django_capture_on_commit_callbacks(execute=True):
        review.publish(coordinator, proposal)
    proposal.refresh_from_db()
    assert proposal.status == ChangeProposal.Status.PUBLISHED
    assert "courriel non envoyé (proposition n°" in caplog.text
    assert "dr.courriel" not in caplog.text


def test_reminders_go_once_to_professionals_whose_entry_is_stale(inbox, member):
    practitioner = member.profile.practitioner
    practitioner.verified_on = None
    practitioner.save()
    first = notify.remind_stale(12)
    assert first["envoyés"] == 1 and first["échecs"] == 0
    assert inbox.messages[0][0] == ["dr.courriel@demo.example"]
    assert "/pro/ma-fiche/" in inbox.body() and "jamais" in inbox.body()
    second = notify.remind_stale(12)
    assert second["envoyés"] == 0 and second["déjà relancés"] == 1
    assert len(inbox.messages) == 1
