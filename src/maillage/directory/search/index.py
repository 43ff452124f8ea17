"""The directory search index: one denormalised row per searchable entry, and a change log.

Search must answer in milliseconds over a national directory (1.2 million practitioner roles),
on SQLite and PostgreSQL alike, and tolerate accents, case and typos. Joining practitioners,
roles, places and communes at query time cannot do that; :class:`SearchEntry` rows are rebuilt
from them (:func:`.service.reindex_all`, ``reindex_objects``) and each process
holds them in memory as numpy columns (:mod:`.engine`) to answer queries.

:class:`SearchChange` records every write to the index, so that those processes can bring their
copy up to date at their next query (see ``docs/search.md``).
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
        db_index=False,  # search reads the table whole; deleting a commune is rare
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
    words = models.TextField(
        blank=True, help_text="the entry's name words, normalised, between spaces (searched)"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint("kind", "object_id", name="search_entry_object"),
        ]

    def __str__(self) -> str:
        return self.title


class SearchChange(models.Model):
    """One write to the index: a full rebuild, or entries of changed objects replaced (those
    removed are listed; those added have ids above every earlier one). Each process compares
    the last change it applied, by id and stamp, with this table before a search."""

    stamp = models.CharField(max_length=32, help_text="random: tells a rolled-back change")
    full = models.BooleanField(default=False)
    removed = models.TextField(blank=True, help_text="ids of the entries removed, comma-separated")
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{'full' if self.full else 'partial'} index change {self.pk}"


class SearchSnapshot(models.Model):
    """The in-memory engine of a full reindex, saved in parts (:meth:`Engine.dump`): a process
    loads it in about a second instead of rebuilding it from a million entries."""

    change = models.ForeignKey(SearchChange, on_delete=models.CASCADE, related_name="snapshot")
    part = models.CharField(max_length=40)
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint("change", "part", name="search_snapshot_part"),
        ]

    def __str__(self) -> str:
        return f"{self.part} of index change {self.change_id}"
