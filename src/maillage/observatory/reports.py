"""Writing the diagnostic report files (HTML, PDF, XLSX) for a territory.

Each file is an export (:mod:`maillage.exports`): built once per territory and data version into
the data folder, then served (web) or copied (``maillage report``) from there.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from maillage.exports.cache import Export, Progress
from maillage.territory.models import Territory
from maillage.territory.services import (
    ResolvedTerritory,
    resolve,
    shapes_for,
    spec_of,
    stamp_of,
)

if TYPE_CHECKING:
    from maillage.observatory.report.pdf import PdfProcess

log = logging.getLogger(__name__)

FORMATS = ("html", "pdf", "xlsx")
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def render(
    territory: Territory | ResolvedTerritory,
    figures: dict,
    fmt: str,
    shapes: Mapping[str, Mapping] | None = None,
) -> bytes:
    """One report file's bytes (``shapes``: :func:`~maillage.territory.services.shapes_for`
    of the territory, read here when not given)."""
    from maillage.observatory import report

    if fmt in ("html", "pdf") and shapes is None:
        shapes = shapes_for(territory)
    if fmt == "html":
        return report.render_html(figures, shapes).encode("utf-8")
    if fmt == "pdf":
        return report.render_pdf(figures, shapes)
    if fmt == "xlsx":
        return report.render_xlsx(figures)
    raise ValueError(f"format inconnu : {fmt!r} (attendu : html, pdf, xlsx ou json)")


#: Up to this many communes a format is built during the request (about a second or less).
SYNC_MAX_COMMUNES = {"html": 60, "xlsx": 400, "pdf": 10}


def report_export(territory: Territory | ResolvedTerritory, fmt: str) -> Export:
    """The export of one report file of ``territory`` for the current data version."""
    from maillage.exports.versions import data_version

    if fmt not in FORMATS:
        raise ValueError(f"format inconnu : {fmt!r} (attendu : html, pdf, xlsx ou json)")
    return Export(
        kind="report",
        name=territory.slug,
        builder="maillage.observatory.reports:build_report",
        params={
            "territory": spec_of(territory),
            "territory_updated": stamp_of(territory),
            "format": fmt,
        },
        version=data_version(),
        ext=fmt,
        content_type=CONTENT_TYPES[fmt],
        filename=f"diagnostic-{territory.slug}.{fmt}",
        disposition="inline" if fmt == "html" else "attachment",
    )


def figures_export(territory: Territory | ResolvedTerritory) -> Export:
    """The diagnostic figures of ``territory`` for the current data version, as a JSON export.

    The three report files are built from them; keeping them per data version means that a
    report rebuilt after its files were removed (or a format asked for later, or by another
    process) neither recomputes them nor imports pandas and scipy to do so (~2 s of a cold
    ``maillage report``). Any import or edit bumps the data version, hence new figures.
    """
    from maillage.exports.versions import data_version

    return Export(
        kind="diagnostic",
        name=territory.slug,
        builder="maillage.observatory.reports:build_figures",
        params={"territory": spec_of(territory), "territory_updated": stamp_of(territory)},
        version=data_version(),
        ext="json",
        content_type=CONTENT_TYPES["json"],
        filename=f"diagnostic-{territory.slug}.json",
    )


def build_figures(params: Mapping[str, Any], path: Path, progress: Progress) -> None:
    """Builder of :func:`figures_export`."""
    from maillage.observatory.diagnostic import compute

    progress(0.05, "Calcul des indicateurs du territoire…")
    figures = compute(resolve(params["territory"]))
    path.write_text(json.dumps(figures, ensure_ascii=False), encoding="utf-8")


# The figures and shapes of the last territory built in this process: the CLI (or a worker)
# builds html, pdf and xlsx of one territory in a row and reads them once, keyed by the
# territory and the data version; the shapes being the same objects, the maps' path data is
# computed once too (svgmap's memo).
_last_figures: tuple[Any, dict] | None = None
_last_shapes: tuple[Any, dict] | None = None


def _figures(params: Mapping[str, Any], territory: Territory | ResolvedTerritory) -> dict:
    global _last_figures
    key = (params["territory"], params["territory_updated"], _version())
    if _last_figures is None or _last_figures[0] != key:
        from maillage.exports.cache import build_or_wait

        source = build_or_wait(figures_export(territory))
        _last_figures = (key, json.loads(source.read_text(encoding="utf-8")))
    return _last_figures[1]


def _shapes(params: Mapping[str, Any], territory: Territory | ResolvedTerritory) -> dict:
    global _last_shapes
    key = (params["territory"], params["territory_updated"], _version())
    if _last_shapes is None or _last_shapes[0] != key:
        _last_shapes = (key, shapes_for(territory))
    return _last_shapes[1]


def _version() -> str:
    from maillage.exports.versions import data_version

    return data_version()


def build_report(params: Mapping[str, Any], path: Path, progress: Progress) -> None:
    """Builder of :func:`report_export` (runs in a task, or inline for small territories)."""
    fmt = params["format"]
    helper = _pdf_helpers.pop(_helper_key(params), None) if fmt == "pdf" else None
    if helper is not None:  # started by write_reports: its PDF is being laid out already
        progress(0.4, "Mise en forme : le PDF…")
        try:
            path.write_bytes(helper.result())
            return
        except RuntimeError:
            log.exception("the PDF helper failed: the PDF is laid out in this process")
        finally:
            helper.close()
    territory = resolve(params["territory"])
    progress(0.05, "Calcul des indicateurs du territoire…")
    figures = _figures(params, territory)
    label = {"html": "la page", "pdf": "le PDF", "xlsx": "le classeur"}[fmt]
    progress(0.4, f"Mise en forme : {label}…")
    shapes = _shapes(params, territory) if fmt in ("html", "pdf") else None
    path.write_bytes(render(territory, figures, fmt, shapes))


# PDFs being laid out by a helper process (report.pdf.PdfProcess) that write_reports started,
# by their parameters and data version: build_report collects them.
_pdf_helpers: dict[tuple[str, str], PdfProcess] = {}


def _helper_key(params: Mapping[str, Any]) -> tuple[str, str]:
    return json.dumps(params, sort_keys=True), _version()


def _start_pdf(territory: Territory | ResolvedTerritory, export: Export) -> tuple[str, str]:
    """Start laying out ``export``'s PDF in a helper process; returns its key in _pdf_helpers.

    The helper is started first (it imports WeasyPrint meanwhile), then given the print HTML.
    """
    from maillage.observatory.report import pdf, render_html

    helper = pdf.take()
    try:
        figures = _figures(export.params, territory)
        helper.send(render_html(figures, _shapes(export.params, territory), for_print=True))
    except BaseException:
        helper.close()
        raise
    key = _helper_key(export.params)
    _pdf_helpers[key] = helper
    return key


def write_reports(
    territory: Territory | ResolvedTerritory, figures: dict | None, output: Path, formats: list[str]
) -> list[Path]:
    """Write ``diagnostic-<slug>.<fmt>`` files into ``output``; returns their paths.

    Each file comes from the export cache: built there first if the data changed since the last
    build (``figures``, when given, are those of the current data and spare computing them),
    then copied, so a second report of unchanged data is a file copy.
    """
    global _last_figures
    from maillage.exports.cache import build_or_wait

    exports = [report_export(territory, fmt) for fmt in formats]  # validates every format first
    if figures is not None and exports:
        params = exports[0].params
        _last_figures = ((params["territory"], params["territory_updated"], _version()), figures)
    output.mkdir(parents=True, exist_ok=True)
    # A PDF to build is laid out by a helper process while this one builds the other files
    # (the PDF is most of a cold report's time): it is started now and collected last.
    to_lay_out = {e.key: e for e in exports if e.ext == "pdf" and not e.path.exists()}
    started = [_start_pdf(territory, export) for export in to_lay_out.values()]
    paths: dict[str, Path] = {}
    try:
        for export in sorted(exports, key=lambda e: e.ext == "pdf"):
            source = build_or_wait(export)
            path = output / f"diagnostic-{territory.slug}.{export.ext}"
            tmp = path.with_suffix(path.suffix + ".part")
            shutil.copyfile(source, tmp)
            tmp.replace(path)  # never leave a half-written report behind
            paths[export.ext] = path
    finally:
        for key in started:  # not collected (another process built that PDF, or an error)
            helper = _pdf_helpers.pop(key, None)
            if helper is not None:
                helper.close()
    return [paths[export.ext] for export in exports]
