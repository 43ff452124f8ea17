"""The French catalogue of the interface (``locale/fr/LC_MESSAGES/django.po``), compiled when
the application starts.

The interface is written in French; the catalogue exists for what French needs beyond the
words: plural forms. French puts 0 and 1 in the singular ("0 résultat", "1 commune") where
gettext's default rule, and Django's ``pluralize``, say "0 résultats". Templates use
``{% blocktranslate count … %}`` and code ``ngettext``; the catalogue's ``Plural-Forms``
(``nplurals=2; plural=(n > 1);``) chooses the form. Only the source ``.po`` is kept in the
repository: the binary ``.mo`` that Django reads is written into the data folder
(``LOCALE_PATHS``) by :func:`compile_catalogues` whenever it is missing or older than its
source, with polib (no GNU gettext needed on the machine).
"""

from __future__ import annotations

from pathlib import Path

SOURCE = Path(__file__).resolve().parent / "locale"


def compile_catalogues(target: Path) -> list[Path]:
    """Compile every ``.po`` of :data:`SOURCE` into ``target`` (same tree, ``.mo``) when the
    compiled file is missing or stale; return the files written."""
    import polib

    written = []
    for po in sorted(SOURCE.rglob("*.po")):
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        tmp = mo.with_suffix(".mo.tmp")
        polib.pofile(str(po)).save_as_mofile(str(tmp))
        tmp.replace(mo)  # atomic: a process reading the catalogue never sees half a file
        written.append(mo)
    if written:
        # A catalogue read before this one existed (another app's start-up asking for a
        # translation) would stay cached without it: forget the loaded catalogues.
        from django.utils.translation import trans_real

        trans_real._translations = {}
        trans_real._default = None
    return written
