"""Spoken languages of practitioners: ISO 639-1 codes (as stored on ``Practitioner.languages``)
and their French names, for the search filter, the entry pages and the professional's form."""

from __future__ import annotations

#: ISO 639-1 code -> French name. The languages most spoken in France besides French (INSEE,
#: enquête Trajectoires et Origines), the neighbours' languages and those of recent arrivals.
LANGUAGE_NAMES: dict[str, str] = {
    "fr": "français", "en": "anglais", "de": "allemand", "es": "espagnol", "it": "italien",
    "pt": "portugais", "nl": "néerlandais", "lb": "luxembourgeois", "ar": "arabe",
    "tr": "turc", "ru": "russe", "uk": "ukrainien", "pl": "polonais", "ro": "roumain",
    "bg": "bulgare", "sr": "serbe", "hr": "croate", "sq": "albanais", "el": "grec",
    "hu": "hongrois", "cs": "tchèque", "da": "danois", "sv": "suédois", "no": "norvégien",
    "fi": "finnois", "hy": "arménien", "ka": "géorgien", "ku": "kurde", "fa": "persan",
    "ps": "pachto", "he": "hébreu", "hi": "hindi", "ur": "ourdou", "bn": "bengali",
    "ta": "tamoul", "zh": "chinois", "vi": "vietnamien", "km": "khmer", "lo": "lao",
    "ja": "japonais", "ko": "coréen", "wo": "wolof", "bm": "bambara", "ff": "peul",
    "ln": "lingala", "sw": "swahili", "mg": "malgache",
}  # fmt: skip


def language_choices() -> list[tuple[str, str]]:
    """(code, name) pairs, French first, then by name."""
    rest = sorted((c, n) for c, n in LANGUAGE_NAMES.items() if c != "fr")
    return [("fr", LANGUAGE_NAMES["fr"]), *sorted(rest, key=lambda pair: pair[1])]
