"""Report files of a territory are built from its figures of the current data version, kept in
the export cache (``exports/diagnostic/``): rebuilding a report file (its cache emptied, another
format, another process) does not compute them again, an import or an edit does."""

from __future__ import annotations

import json
import shutil

from maillage.exports.versions import bump
from maillage.observatory import diagnostic, reports
from maillage.territory.services import resolve

EPCI = "epci:200068666"  # CA du Grand Saint-Dizier, Der et Vallées: 60 communes


def test_report_files_reuse_the_figures_of_the_data_version(
    demo_db, export_root, tmp_path, monkeypatch
):
    computed: list[dict] = []
    compute = diagnostic.compute

    def counting(territory):
        computed.append(compute(territory))
        return computed[-1]

    monkeypatch.setattr(diagnostic, "compute", counting)
    territory = resolve(EPCI)

    def new_process_report(folder: str, formats: list[str]) -> None:
        monkeypatch.setattr(reports, "_last_figures", None)  # nothing kept in memory
        reports.write_reports(territory, None, tmp_path / folder, formats)

    new_process_report("a", ["xlsx"])
    assert len(computed) == 1
    cached = json.loads(reports.figures_export(territory).path.read_text(encoding="utf-8"))
    assert cached == computed[0]  # lossless: the files do not depend on where figures come from

    shutil.rmtree(export_root / "report")  # the report files' cache emptied
    new_process_report("b", ["xlsx"])
    assert len(computed) == 1, "the figures of this data version are read, not recomputed"
    assert (tmp_path / "b" / f"diagnostic-{territory.slug}.xlsx").stat().st_size > 5_000

    bump()  # what an import or a published edit does
    new_process_report("c", ["xlsx"])
    assert len(computed) == 2
    builds = list((export_root / "diagnostic").glob(f"{territory.slug}-*.json"))
    assert len(builds) == 1  # the figures of the old data version are removed


def test_a_cold_report_lays_its_pdf_out_in_a_helper_process(
    demo_db, export_root, tmp_path, monkeypatch
):
    from maillage.observatory.report import pdf as report_pdf

    def not_here(html: str) -> bytes:
        raise AssertionError("the PDF must be laid out by the helper process")

    monkeypatch.setattr(report_pdf, "html_to_pdf", not_here)  # this process only
    territory = resolve(EPCI)
    paths = reports.write_reports(territory, None, tmp_path / "a", ["pdf", "html"])
    assert [p.suffix for p in paths] == [".pdf", ".html"]
    assert paths[0].read_bytes().startswith(b"%PDF") and paths[0].stat().st_size > 20_000
    assert reports._pdf_helpers == {}  # collected and ended

    # A helper that fails: the PDF is laid out in this process instead.
    monkeypatch.undo()
    shutil.rmtree(export_root / "report")

    def failing(self) -> bytes:
        raise RuntimeError("helper lost")

    monkeypatch.setattr(report_pdf.PdfProcess, "result", failing)
    paths = reports.write_reports(territory, None, tmp_path / "b", ["pdf"])
    assert paths[0].read_bytes().startswith(b"%PDF")
    assert reports._pdf_helpers == {}


def test_a_helper_started_early_is_the_one_used_and_ended_when_unused(
    demo_db, export_root, tmp_path
):
    from maillage.observatory.report import pdf as report_pdf

    # Started before anything knows whether a PDF is needed (the CLI does it before Django).
    report_pdf.start_early()
    early = report_pdf._early
    assert early is not None and early._process.poll() is None
    territory = resolve(EPCI)
    paths = reports.write_reports(territory, None, tmp_path / "a", ["pdf"])
    assert paths[0].read_bytes().startswith(b"%PDF")
    assert report_pdf._early is None and early._process.returncode == 0  # it laid the PDF out

    # The PDF is in the cache now: a helper started early is not needed, and is ended.
    report_pdf.start_early()
    unused = report_pdf._early
    reports.write_reports(territory, None, tmp_path / "b", ["pdf"])
    assert report_pdf._early is unused  # write_reports did not take it
    report_pdf.discard_early()
    assert report_pdf._early is None and unused._process.poll() is not None
