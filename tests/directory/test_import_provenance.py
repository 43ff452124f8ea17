"""Re-importing FINESS keeps ids and the values coordinators published, unless the source
changed them: then the source wins and the entry's history says so (imports/provenance.py)."""

from __future__ import annotations

import gzip

from maillage.directory.imports.finess import import_finess, shipped_finess
from maillage.directory.models import Organization


def _haute_marne(tmp_path, replace: dict[str, str] | None = None):
    """The shipped FINESS file cut to Haute-Marne (real lines), optionally with edits."""
    with gzip.open(shipped_finess(), "rt", encoding="utf-8") as f:
        header = next(f)
        lines = [line for line in f if line.split(",")[6] == "52"]
    text = header + "".join(lines)
    for old, new in (replace or {}).items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "finess_52.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_finess_reimport_keeps_ids_and_published_values(demo_db, tmp_path):
    path = _haute_marne(tmp_path)
    import_finess(path)
    ids = dict(
        Organization.objects.filter(finess_et__startswith="52").values_list("finess_et", "id")
    )
    ch = Organization.objects.get(commune_id="52121", category_code="355")
    source_phone = ch.phone
    assert source_phone
    ch.phone = "03 25 00 11 22"  # published by a coordinator
    ch.save()

    import_finess(path)  # same file: the source did not change, the published phone stays
    again = dict(
        Organization.objects.filter(finess_et__startswith="52").values_list("finess_et", "id")
    )
    assert again == ids
    ch.refresh_from_db()
    assert ch.phone == "03 25 00 11 22"
    assert not ch.history.filter(history_change_reason__contains="remplacée").exists()


def test_finess_source_change_wins_and_history_says_so(demo_db, tmp_path):
    import_finess(_haute_marne(tmp_path))
    ch = Organization.objects.get(commune_id="52121", category_code="355")
    ids = dict(
        Organization.objects.filter(finess_et__startswith="52").values_list("finess_et", "id")
    )
    old_phone = ch.phone
    ch.phone = "03 25 00 11 22"
    ch.save()

    updated = _haute_marne(tmp_path, {f",{old_phone},": ",0325999999,"})
    import_finess(updated)
    ch.refresh_from_db()
    assert ch.phone == "0325999999"
    assert (
        dict(Organization.objects.filter(finess_et__startswith="52").values_list("finess_et", "id"))
        == ids
    )
    reasons = list(ch.history.values_list("history_change_reason", flat=True))
    assert any(
        r
        and r.startswith(
            "Téléphone : valeur publiée « 03 25 00 11 22 » remplacée par le FINESS (import du"
        )
        for r in reasons
    ), reasons
