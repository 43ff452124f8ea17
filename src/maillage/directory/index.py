"""The directory search index: one denormalised row per searchable entry.

Search must answer in milliseconds over a national directory (1.2 million practitioner roles),
on SQLite and PostgreSQL alike, and tolerate accents, case and typos. Joining practitioners,
roles, places and communes at query time cannot do that; this table is rebuilt from them
(``maillage.directory.search.reindex``) and is the only thing the search reads.
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
    text = models.TextField(help_text="normalised words: lowercase, no accents")
    profession_code = models.CharField(max_length=4, blank=True)
    specialty_code = models.CharField(max_length=8, blank=True)
    structure_kind = models.CharField(max_length=24, blank=True)
    commune = models.ForeignKey(
        "territory.Commune", null=True, on_delete=models.CASCADE, related_name="+"
    )
    latitude = models.FloatField(null=True)
    longitude = models.FloatField(null=True)
    accepts_new_patients = models.BooleanField(null=True)
    teleconsultation = models.BooleanField(default=False)
    languages = models.CharField(max_length=60, blank=True)
    location = models.ForeignKey(
        "directory.Location", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    synthetic = models.BooleanField(default=False)
    public = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("kind", "object_id", name="search_entry_object"),
        ]
        indexes = [
            models.Index(fields=["profession_code", "specialty_code"]),
            models.Index(fields=["commune"]),
            models.Index(fields=["latitude", "longitude"]),
        ]

    def __str__(self) -> str:
        return self.title
