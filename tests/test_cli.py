"""The ``maillage`` command as a new user runs it: a fresh data folder, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MAILLAGE = [sys.executable, "-m", "maillage.cli"]


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory) -> Path:
    """A data folder of this module's own: the first command must find it empty."""
    return tmp_path_factory.mktemp("cli-home")


def run(args: list[str], home: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "MAILLAGE_HOME": str(home), "MAILLAGE_DATABASE_URL": ""}
    return subprocess.run(
        [*MAILLAGE, *args], env=env, capture_output=True, text=True, timeout=600, **kw
    )


def test_report_json_initialises_a_fresh_install(cli_home):
    result = run(["report", "epci:200068666", "--format", "json"], cli_home)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["communes"] == 60
    assert figures["population"] > 50_000
    assert set(figures["apl_drees"]) == {"2022", "2023"}
    gp = figures["offer"]["medecin_generaliste"]
    assert {"count", "density_10k", "share_60_plus"} <= set(gp)
    assert "Initialisation" in result.stderr  # first use built the database
    assert (cli_home / "maillage.sqlite3").exists()


def test_report_files(cli_home, tmp_path):
    result = run(["report", "cpts-saint-dizier-der-blaise", "--output", str(tmp_path)], cli_home)
    assert result.returncode == 0, result.stderr
    for ext, magic in (("html", b"<!DOCTYPE html"), ("pdf", b"%PDF"), ("xlsx", b"PK")):
        path = tmp_path / f"diagnostic-cpts-saint-dizier-der-blaise.{ext}"
        assert path.read_bytes()[:14].upper().startswith(magic.upper())
    assert not list(tmp_path.glob("*.part"))


def test_unknown_territory_is_a_clear_error(cli_home):
    result = run(["report", "departement:00", "--format", "json"], cli_home)
    assert result.returncode == 2
    assert "departement:00" in result.stderr
    assert "Traceback" not in result.stderr


def test_report_of_an_overseas_departement_says_what_is_missing(cli_home, tmp_path):
    result = run(["report", "departement:971", "--format", "json"], cli_home)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["communes"] == 32 and figures["population"] > 300_000
    assert figures["accessibility"]["value"] is None
    assert any("Pas de coordonnées" in m for m in figures["missing"])
    result = run(["report", "departement:972", "--format", "html", "--output", str(tmp_path)],
                 cli_home)  # fmt: skip
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "diagnostic-departement-972.html").read_text(encoding="utf-8")
    assert "Pas de coordonnées pour les communes de ce territoire" in html


def test_report_of_a_collectivity_without_communes_is_one_french_line(cli_home):
    result = run(["report", "departement:975", "--format", "json"], cli_home)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "aucune commune" in result.stderr
    assert result.stdout == ""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_accessibility_on_user_files(tmp_path):
    # Hand-computed E2SFCA: two communes A (100 people) and B (300), one practice P (2 GPs).
    # A–P 5 min (weight 1), B–P 12 min (weight 2/3 = 0.6667 as given).
    # R_P = 2 / (100*1 + 300*0.6667) = 2 / 300.01 ; A_A = R_P * 1 ; A_B = R_P * 0.6667
    demand = _write(tmp_path / "d.csv", "id,population\nA,100\nB,300\n")
    supply = _write(tmp_path / "s.csv", "id,capacity\nP,2\n")
    costs = _write(tmp_path / "c.csv", "origin,destination,minutes\nA,P,5\nB,P,12\n")
    out = tmp_path / "out.csv"
    result = run(
        ["accessibility", "--demand", str(demand), "--supply", str(supply), "--costs",
         str(costs), "--weights", "10:1,15:0.6667,20:0.3333", "--output", str(out)],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "id,accessibility"
    values = {line.split(",")[0]: float(line.split(",")[1]) for line in lines[1:]}
    r = 2 / (100 + 300 * 0.6667)
    assert values["A"] == pytest.approx(r, rel=1e-12)
    assert values["B"] == pytest.approx(r * 0.6667, rel=1e-12)


def test_accessibility_bad_file_names_line_and_column(tmp_path):
    demand = _write(tmp_path / "d.csv", "id,population\nA,100\nB,lots\n")
    supply = _write(tmp_path / "s.csv", "id,capacity\nP,2\n")
    costs = _write(tmp_path / "c.csv", "origin,destination,minutes\nA,P,5\n")
    out = tmp_path / "out.csv"
    result = run(
        ["accessibility", "--demand", str(demand), "--supply", str(supply), "--costs",
         str(costs), "--output", str(out)],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert "d.csv, ligne 3, colonne 'population'" in result.stderr
    assert not out.exists()


def test_fhir_bundle_of_a_territory(cli_home, tmp_path):
    from maillage.opendata import read_annuaire_bundle

    out = tmp_path / "cpts.json"
    result = run(["fhir-bundle", "cpts-saint-dizier-der-blaise", "--output", str(out)], cli_home)
    assert result.returncode == 0, result.stderr
    bundle = json.loads(out.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert len(read_annuaire_bundle(out).practitioners) > 20


def test_import_missing_path_or_directory_is_one_line(tmp_path):
    """A wrong path is a one-line French error (exit 2), not a traceback."""
    missing = run(["import", "rpps", str(tmp_path / "absent.txt")], tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "n'existe pas" in missing.stderr
    folder = run(["import", "rpps", str(tmp_path)], tmp_path)
    assert folder.returncode == 2
    assert folder.stderr.strip().count("\n") == 0 and "est un dossier" in folder.stderr
    assert "Traceback" not in missing.stderr + folder.stderr


def test_care_summary_prints_the_three_parts_for_a_territory(cli_home):
    result = run(["care", "summary", "departement:52", "--format", "json"], cli_home)
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["territory"]["communes"] > 400
    assert figures["waiting"]["people"] == 0  # a fresh install has no request
    assert figures["waiting"]["median_wait_days"] is None
    assert figures["letters"]["hospitals"] == [] and figures["letters"]["discharges"] == 0
    assert figures["register"]["people"] == 0 and figures["register"]["campaigns"] == 0
    assert not any(figures[k]["synthetic"] for k in ("waiting", "register", "letters"))
    text = run(["care", "summary", "departement:52"], cli_home)
    assert text.returncode == 0 and text.stdout.startswith("Haute-Marne (")
    assert "\nwaiting:\n  people: 0\n" in text.stdout and "  hospitals: aucun\n" in text.stdout
    unknown = run(["care", "summary", "departement:00"], cli_home)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
