"""Remove the territories that page views saved while resolving a name (issue 7).

Until then, visiting ``/territoires/departement-971/`` or typing ``departement:971`` in the
picker saved a Territory row, and these rows filled the public "Territoires enregistrés" list
(some with no commune at all). Resolution is now pure, so these rows are deleted when they are:

- not predefined, and not referenced by a scheme (perimeter), an action or a coordinator's
  profile (a row something points at is kept, whatever it is), and
- either empty (no commune), or exactly what the resolver wrote: kind a COG kind, slug
  ``<kind>-<code>``, no description, and the COG name the resolver gave it ("Haute-Marne",
  "Arrondissement de Langres"): no name given by a user.

Territories saved by a coordinator under a name, the predefined ones and the demo's perimeters
are kept. Not reversible (the deleted rows are recomputed from the COG on every view).
"""

from django.db import migrations

COG_MODELS = {
    "region": "Region",
    "departement": "Departement",
    "arrondissement": "Arrondissement",
    "epci": "Epci",
    "commune": "Commune",
}


def _resolver_name(apps, kind: str, code: str) -> str | None:
    model = apps.get_model("territory", COG_MODELS[kind])
    obj = model.objects.filter(code=code).first()
    if obj is None:
        return None
    return f"Arrondissement de {obj.name}" if kind == "arrondissement" else obj.name


def remove_resolved(apps, schema_editor) -> None:
    Territory = apps.get_model("territory", "Territory")
    Scheme = apps.get_model("directory", "Scheme")
    Action = apps.get_model("directory", "Action")
    Profile = apps.get_model("accounts", "Profile")
    referenced = set(Scheme.objects.exclude(perimeter=None).values_list("perimeter_id", flat=True))
    referenced |= set(Action.objects.exclude(territory=None).values_list("territory_id", flat=True))
    referenced |= set(
        Profile.territories.through.objects.values_list("territory_id", flat=True)
    )
    doomed = []
    for t in Territory.objects.filter(predefined=False).exclude(pk__in=referenced):
        if not t.communes.exists():
            doomed.append(t.pk)
            continue
        if (
            t.kind in COG_MODELS
            and not t.description
            and t.slug == f"{t.kind}-{t.code}".lower()
            and t.name == _resolver_name(apps, t.kind, t.code)
        ):
            doomed.append(t.pk)
    Territory.objects.filter(pk__in=doomed).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("territory", "0001_initial"),
        ("directory", "0001_initial"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(remove_resolved, migrations.RunPython.noop)]
