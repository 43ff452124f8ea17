"""French plural forms through Django's i18n: 0 and 1 take the singular."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.template import Context, Template
from django.utils import translation
from django.utils.translation import ngettext

from maillage.i18n import compile_catalogues


def test_the_catalogue_is_compiled_into_the_data_folder_and_gives_french_plurals():
    target = Path(settings.LOCALE_PATHS[0])
    assert (target / "fr" / "LC_MESSAGES" / "django.mo").exists()  # compiled at start-up
    assert compile_catalogues(target) == []  # up to date: nothing rewritten
    with translation.override("fr"):
        forms = [ngettext("%(counter)s commune", "%(counter)s communes", n) for n in (0, 1, 2)]
        assert [f % {"counter": n} for f, n in zip(forms, (0, 1, 2), strict=True)] == [
            "0 commune",
            "1 commune",
            "2 communes",
        ]
        template = Template(
            "{% load i18n %}{% blocktranslate count counter=n trimmed %}"
            "<strong>{{ counter }}</strong> dispositif{% plural %}"
            "<strong>{{ counter }}</strong> dispositifs{% endblocktranslate %}"
        )
        assert template.render(Context({"n": 0})) == "<strong>0</strong> dispositif"
        assert template.render(Context({"n": 3})) == "<strong>3</strong> dispositifs"


def test_pages_say_zero_in_the_singular(client, demo_db):
    search = client.get("/annuaire/", {"q": "zzqxwvk"}, HTTP_HOST="127.0.0.1").content.decode()
    assert "<strong>0</strong> résultat" in search and "0</strong> résultats" not in search
    schemes = client.get(
        "/annuaire/dispositifs/", {"q": "zzqxwvk"}, HTTP_HOST="127.0.0.1"
    ).content.decode()
    assert "<strong>0</strong> dispositif" in schemes and "0</strong> dispositifs" not in schemes
