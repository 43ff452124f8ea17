"""Administrative geography (INSEE COG) and named territories.

Codes are the INSEE COG codes and are the primary keys: they are what every official file uses to
join, so keeping them as keys makes imports idempotent and joins obvious.
"""

from __future__ import annotations

from django.db import models


class Region(models.Model):
    code = models.CharField("code INSEE", max_length=3, primary_key=True)
    name = models.CharField("nom", max_length=120)

    class Meta:
        ordering = ["code"]
        verbose_name = "région"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Departement(models.Model):
    code = models.CharField("code INSEE", max_length=3, primary_key=True)
    name = models.CharField("nom", max_length=120)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departements")

    class Meta:
        ordering = ["code"]
        verbose_name = "département"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Arrondissement(models.Model):
    code = models.CharField("code INSEE", max_length=4, primary_key=True)
    name = models.CharField("nom", max_length=120)
    departement = models.ForeignKey(
        Departement, on_delete=models.PROTECT, related_name="arrondissements"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "arrondissement"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Epci(models.Model):
    code = models.CharField("SIREN", max_length=9, primary_key=True)
    name = models.CharField("nom", max_length=200)
    kind = models.CharField("nature juridique", max_length=8, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "EPCI"
        verbose_name_plural = "EPCI"

    def __str__(self) -> str:
        return self.name


class Commune(models.Model):
    """A current commune (COG), with its légal population and, where shipped, its shape."""

    code = models.CharField("code INSEE", max_length=5, primary_key=True)
    name = models.CharField("nom", max_length=120, db_index=True)
    departement = models.ForeignKey(Departement, on_delete=models.PROTECT, related_name="communes")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="communes")
    arrondissement = models.ForeignKey(
        Arrondissement, null=True, blank=True, on_delete=models.PROTECT, related_name="communes"
    )
    epci = models.ForeignKey(
        Epci, null=True, blank=True, on_delete=models.SET_NULL, related_name="communes"
    )
    population = models.PositiveIntegerField("population municipale", default=0)
    postal_codes = models.CharField("codes postaux", max_length=200, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    geometry = models.JSONField("contour GeoJSON (WGS84)", null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "commune"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Territory(models.Model):
    """A named set of communes: the unit every report, map and indicator works on."""

    class Kind(models.TextChoices):
        REGION = "region", "Région"
        DEPARTEMENT = "departement", "Département"
        ARRONDISSEMENT = "arrondissement", "Arrondissement"
        EPCI = "epci", "EPCI"
        COMMUNE = "commune", "Commune"
        CPTS = "cpts", "CPTS"
        CLS = "cls", "CLS"
        CUSTOM = "custom", "Territoire personnalisé"

    slug = models.SlugField(max_length=120, unique=True)
    name = models.CharField("nom", max_length=200)
    kind = models.CharField("type", max_length=16, choices=Kind.choices)
    code = models.CharField(
        "code source",
        max_length=200,
        blank=True,
        help_text="Code COG, ou les territoires COG qui le composent (arrondissement:521,…).",
    )
    description = models.TextField(blank=True)
    communes = models.ManyToManyField(Commune, related_name="territories")
    predefined = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = "territoire"

    def __str__(self) -> str:
        return self.name
