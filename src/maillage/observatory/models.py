"""Official indicators stored as published, per commune, bassin de vie or département."""

from __future__ import annotations

from django.db import models

from maillage.territory.models import Commune, Departement


class AplValue(models.Model):
    """DREES APL to general practitioners for one commune and one year (real, official)."""

    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="apl_values")
    year = models.PositiveSmallIntegerField("millésime")
    apl = models.FloatField("APL (consultations/an/hab. standardisé)")
    apl_under65 = models.FloatField("APL, médecins de 65 ans ou moins", null=True)
    pop_standardised = models.FloatField("population standardisée")
    pop_total = models.PositiveIntegerField("population totale")
    pop_year = models.PositiveSmallIntegerField("année de population")

    class Meta:
        constraints = [models.UniqueConstraint("commune", "year", name="apl_commune_year")]
        verbose_name = "APL DREES"

    def __str__(self) -> str:
        return f"APL {self.year} {self.commune_id} = {self.apl:.2f}"


class BassinVieIndicator(models.Model):
    """CartoSanté indicators per bassin de vie (densities per 10,000 inhabitants)."""

    bv_code = models.CharField("code bassin de vie", max_length=5, primary_key=True)
    bv_name = models.CharField("bassin de vie", max_length=150)
    values = models.JSONField("indicateurs")

    class Meta:
        verbose_name = "indicateur CartoSanté"

    def __str__(self) -> str:
        return self.bv_name


class DepartementStat(models.Model):
    """INSEE 'statistiques locales' per département (BPE 2024 counts, population estimates)."""

    departement = models.OneToOneField(
        Departement, on_delete=models.CASCADE, primary_key=True, related_name="stats"
    )
    values = models.JSONField("indicateurs")

    class Meta:
        verbose_name = "statistique départementale INSEE"

    def __str__(self) -> str:
        return f"INSEE {self.departement_id}"
