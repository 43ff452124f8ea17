"""Writing the diagnostic report files (HTML, PDF, XLSX) for a territory."""

from __future__ import annotations

from pathlib import Path

from maillage.observatory.diagnostic import compute, shapes_for
from maillage.territory.models import Territory

FORMATS = ("html", "pdf", "xlsx")
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}


def render(territory: Territory, figures: dict, fmt: str) -> bytes:
    """One report file's bytes."""
    from maillage.observatory import report

    if fmt == "html":
        return report.render_html(figures, shapes_for(territory)).encode("utf-8")
    if fmt == "pdf":
        return report.render_pdf(figures, shapes_for(territory))
    if fmt == "xlsx":
        return report.render_xlsx(figures)
    raise ValueError(f"format inconnu : {fmt!r} (attendu : html, pdf, xlsx ou json)")


def write_reports(
    territory: Territory, figures: dict | None, output: Path, formats: list[str]
) -> list[Path]:
    """Write ``diagnostic-<slug>.<fmt>`` files into ``output``; returns their paths."""
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"format inconnu : {fmt!r} (attendu : html, pdf, xlsx ou json)")
    figures = figures or compute(territory)
    output.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        path = output / f"diagnostic-{territory.slug}.{fmt}"
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(render(territory, figures, fmt))
        tmp.replace(path)  # never leave a half-written report behind
        paths.append(path)
    return paths
