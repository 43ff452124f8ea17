"""Create (or reset) an account of the professional space, for demonstrations and tests.

Accounts are normally created by an administrator in ``/admin/``; a demo or a browser test
needs one in a single command: ``maillage manage create_demo_user --role professional
--practitioner-rpps 10001234567 --username dr.martin --password …``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from maillage.accounts.models import Profile, Role
from maillage.directory.models import Practitioner


class Command(BaseCommand):
    help = "Crée ou met à jour un compte de l'espace professionnel (démonstration, tests)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--practitioner-rpps", help="RPPS de la fiche du professionnel")
        parser.add_argument(
            "--practitioner-id", type=int, help="identifiant interne de la fiche (sans RPPS)"
        )
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        practitioner = None
        if options["practitioner_rpps"]:
            practitioner = Practitioner.objects.filter(rpps=options["practitioner_rpps"]).first()
            if practitioner is None:
                raise CommandError(f"aucun professionnel de RPPS {options['practitioner_rpps']}")
        elif options["practitioner_id"]:
            practitioner = Practitioner.objects.filter(pk=options["practitioner_id"]).first()
            if practitioner is None:
                raise CommandError(
                    f"aucun professionnel d'identifiant {options['practitioner_id']}"
                )
        if options["role"] == Role.PROFESSIONAL and practitioner is None:
            raise CommandError(
                "un compte professionnel doit être relié à une fiche (--practitioner-rpps)"
            )
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=options["username"])
            user.set_password(options["password"])
            user.first_name = options["first_name"] or (
                practitioner.given_name if practitioner else ""
            )
            user.last_name = options["last_name"] or (
                practitioner.family_name if practitioner else ""
            )
            user.is_staff = options["role"] == Role.ADMINISTRATOR
            user.save()
            Profile.objects.update_or_create(
                user=user, defaults={"role": options["role"], "practitioner": practitioner}
            )
        verb = "créé" if created else "mis à jour"
        self.stdout.write(f"compte {user.username} ({options['role']}) {verb}")
