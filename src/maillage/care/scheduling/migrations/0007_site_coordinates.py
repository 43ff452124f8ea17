"""The sites' coordinates copied onto Site (the finder reads the sites near a place through an
index), filled for the existing sites: the Location's when it has both, else the commune's
centroid (as :func:`maillage.care.scheduling.models.sync_coordinates`)."""

from django.conf import settings
from django.db import migrations, models


def fill(apps, schema_editor):
    Site = apps.get_model("scheduling", "Site")
    Location = apps.get_model("directory", "Location")
    Commune = apps.get_model("territory", "Commune")
    location = Location.objects.filter(
        pk=models.OuterRef("location_id"), latitude__isnull=False, longitude__isnull=False
    )
    commune = Commune.objects.filter(pk=models.OuterRef("commune_id"))
    Site.objects.update(
        **{
            name: models.Case(
                models.When(
                    models.Exists(location), then=models.Subquery(location.values(name)[:1])
                ),
                default=models.Subquery(commune.values(name)[:1]),
                output_field=models.FloatField(),
            )
            for name in ("latitude", "longitude")
        }
    )


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0006_action_source_date"),
        ("scheduling", "0006_merge_0004_booking_channels_0005_visit"),
        ("territory", "0002_remove_resolved_territories"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="site",
            name="latitude",
            field=models.FloatField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="site",
            name="longitude",
            field=models.FloatField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="site",
            index=models.Index(fields=["latitude", "longitude"], name="site_lat_lon"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
