"""The directory search index: one denormalised row per searchable entry, plus token tables.

Search must answer in milliseconds over a national directory (1.2 million practitioner roles),
on SQLite and PostgreSQL alike, and tolerate accents, case and typos. Joining practitioners,
roles, places and communes at query time cannot do that; these tables are rebuilt from them
(:func:`maillage.directory.search.reindex_all`) and are the only thing the search reads.

How free text is matched (see ``docs/search.md``): a query word matches an entry when it is a
prefix of

* one of the entry's own name words (person's names, structure name…): :class:`SearchToken`,
  a narrow ``(token, entry)`` table whose B-tree answers ``token >= 'chaumon' AND token <
  'chaumoo'`` with a range scan instead of a ``LIKE '%…%'`` scan;
* a word of the entry's commune name, postal code or INSEE code: :class:`SearchCommuneToken`
  (about 35,000 communes, shared by every entry of a commune instead of repeating "saint dizier"
  on each of its rows);
* a profession or specialty word ("généraliste", "kiné", "cardiologie"…): mapped in Python to
  conditions on ``profession_code`` / ``specialty_code``, which are indexed columns.

Keeping commune and profession words out of the per-entry token table keeps it at about four
rows per practitioner role, i.e. a few million rows nationally.
"""

from __future__ import annotations

from django.db import models


class SearchEntry(models.Model):
    class Kind(models.TextChoices):
        ROLE = "role", "Professionnel"
        ORGANIZATION = "organization", "Structure"
        SCHEME = "scheme", "Dispositif"
        SERVICE = "service", "Service"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=250)
    subtitle = models.CharField(max_length=250, blank=True)
    title_norm = models.CharField(
        max_length=250, blank=True, help_text="normalised title: ranking and the naive peer"
    )
    text = models.TextField(help_text="normalised words: lowercase, no accents")
    profession_code = models.CharField(max_length=4, blank=True)
    specialty_code = models.CharField(max_length=8, blank=True)
    structure_kind = models.CharField(max_length=24, blank=True)
    # Derived data, rebuilt in bulk: no database-level foreign keys (their per-row checks would
    # dominate the load, and PostgreSQL refuses CREATE INDEX while deferred checks are pending).
    # Django still applies on_delete when a commune or location is deleted.
    commune = models.ForeignKey(
        "territory.Commune",
        null=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # covered by the composite indexes below
        db_constraint=False,
    )
    latitude = models.FloatField(null=True)
    longitude = models.FloatField(null=True)
    accepts_new_patients = models.BooleanField(null=True)
    teleconsultation = models.BooleanField(default=False)
    languages = models.CharField(
        max_length=60, blank=True, help_text='ISO 639-1 codes between commas: ",fr,en,"'
    )
    location = models.ForeignKey(
        "directory.Location",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    synthetic = models.BooleanField(default=False)
    public = models.BooleanField(default=True)
    weight = models.IntegerField(
        default=0, help_text="static ranking weight: the population of the entry's commune"
    )
    cell = models.IntegerField(
        null=True, help_text="0.1-degree grid cell of the position (search.cell_of)"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint("kind", "object_id", name="search_entry_object"),
        ]
        indexes = [
            models.Index(
                fields=["profession_code", "commune", "specialty_code"], name="search_entry_prof"
            ),
            models.Index(fields=["profession_code", "cell"], name="search_entry_prof_cell"),
            models.Index(fields=["commune", "kind"], name="search_entry_commune"),
            models.Index(fields=["cell"], name="search_entry_cell"),
            models.Index(fields=["structure_kind"], name="search_entry_structure"),
        ]

    def __str__(self) -> str:
        return self.title


class SearchToken(models.Model):
    """One normalised name word of an entry. Primary key aside, two covering indexes: by token
    (prefix range scans drive a search) and by entry (checking the other words of a query on a
    candidate is one index probe)."""

    entry = models.ForeignKey(
        SearchEntry,
        on_delete=models.CASCADE,
        related_name="tokens",
        db_index=False,
        db_constraint=False,
    )
    token = models.CharField(max_length=40)

    class Meta:
        indexes = [
            models.Index(fields=["token", "entry"], name="search_token_token"),
            models.Index(fields=["entry", "token"], name="search_token_entry"),
        ]

    def __str__(self) -> str:
        return self.token


class SearchTerm(models.Model):
    """The vocabulary of :class:`SearchToken` with entry counts, written by the reindex so that a
    process loads it in one read (typo correction, choosing the most selective query word)
    instead of grouping millions of token rows."""

    token = models.CharField(max_length=40, primary_key=True)
    entries = models.IntegerField()

    def __str__(self) -> str:
        return self.token


class SearchCommuneToken(models.Model):
    """A normalised word of a commune's name, one of its postal codes, or its INSEE code."""

    token = models.CharField(max_length=40)
    commune = models.ForeignKey(
        "territory.Commune",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        indexes = [models.Index(fields=["token", "commune"], name="search_commune_token")]

    def __str__(self) -> str:
        return self.token
