"""Names as pages show them: "CENTRE HOSPITALIER DE CHAUMONT" reads "Centre Hospitalier de
Chaumont", "EHPAD SAINT AUGUSTIN" reads "EHPAD Saint Augustin", "CH DE ST-DIZIER" reads "CH de
St-Dizier".

The national registers write names in capitals without accents; the official spelling stays in
the database, the API and FHIR, and only pages use :func:`display_name`. A name that already has
lower-case letters is left as it is (someone wrote it that way). Words are restored from the
COG's own commune and département names (accents included) and from ``data/names.yaml``.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter, defaultdict
from importlib import resources
from typing import Any

import yaml

_TOKEN = re.compile(r"([^\W\d_]+)", re.UNICODE)
_VOWELS = set("AEIOUY")
_ARTICLES = {"LE", "LA", "LES", "L"}  # "EHPAD Les Tilleuls", but "CH de Langres"
_words: dict[str, str] | None = None


def _key(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).upper().replace("Œ", "OE")


@functools.cache
def _load_rules() -> dict[str, Any]:
    text = resources.files("maillage.directory").joinpath("data/names.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return {
        "acronyms": {_key(w) for w in data["acronyms"]},
        "lower": {_key(w): w for w in data["lower"]},
        "words": {_key(w): w for w in data["words"]},
    }


def _load_words() -> dict[str, str]:
    """Upper-case unaccented word -> its written form, from the COG names and names.yaml.
    Kept for the process once the COG is there (an empty database is asked again later)."""
    global _words
    if _words is not None:
        return _words
    from maillage.territory.models import Commune, Departement

    seen: dict[str, Counter[str]] = defaultdict(Counter)
    names = list(Commune.objects.values_list("name", flat=True))
    names += list(Departement.objects.values_list("name", flat=True))
    for name in names:
        for token in _TOKEN.findall(name):
            if len(token) > 1 and token[0].isupper() and not token.isupper():
                seen[_key(token)][token] += 1
    words = {key: forms.most_common(1)[0][0] for key, forms in seen.items()}
    if names:
        _words = words
    return words


def display_name(name: str) -> str:
    """``name`` as a page shows it (see the module's docstring)."""
    if not name or any(c.islower() for c in name):
        return name
    rules = _load_rules()
    words = _load_words()
    parts = _TOKEN.split(name)
    out: list[str] = []
    first, after_acronym = True, False
    for i, part in enumerate(parts):
        if i % 2 == 0:  # separators: spaces, hyphens, apostrophes, digits, punctuation
            out.append(part)
            continue
        key = _key(part)
        elided = i + 1 < len(parts) and parts[i + 1].startswith("'")  # d', l'
        acronym = key in rules["acronyms"]
        if acronym:
            out.append(part)
        elif key in rules["lower"] and not first and not (after_acronym and key in _ARTICLES):
            out.append(rules["lower"][key])
        elif key in rules["words"]:
            out.append(rules["words"][key])
        elif len(key) > 1 and not _VOWELS & set(key):
            out.append(part)  # CH, CMP, LBM, SSR…
            acronym = True
        elif key in words and not elided:
            out.append(words[key])
        else:
            out.append(part.capitalize())
        first, after_acronym = False, acronym
    return "".join(out)
