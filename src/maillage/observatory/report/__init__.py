"""Render the territorial diagnostic (a figures dict) as HTML, PDF and XLSX.

The figures are computed once by :func:`maillage.observatory.diagnostic.compute`; everything here
is a pure function of ``(figures, shapes)`` so that the CLI, a background task and the tests all
produce byte-for-byte the same documents, without a database. ``shapes`` maps a commune code to
its WGS84 GeoJSON geometry; a commune without a shape is simply not drawn.

The HTML is self-contained (one ``<style>``, inline SVG maps and charts, no URL to fetch) because
reports are mailed, archived and opened offline; the PDF is that same HTML laid out by WeasyPrint
with print CSS (A4, running header and footer, page X / Y), so the two never diverge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maillage.observatory.report.context import build_context

__all__ = ["build_context", "render_html", "render_pdf", "render_xlsx"]

TEMPLATE = "observatory/report/report.html"


def render_html(
    figures: Mapping[str, Any], shapes: Mapping[str, Mapping], *, for_print: bool = False
) -> str:
    """The report as one self-contained HTML document (UTF-8 text).

    ``for_print`` is what :func:`render_pdf` uses: the same document with the communes table
    abridged for large territories (see :func:`build_context`).
    """
    from django.template.loader import render_to_string

    return render_to_string(TEMPLATE, build_context(figures, shapes, for_print=for_print))


def render_pdf(figures: Mapping[str, Any], shapes: Mapping[str, Mapping]) -> bytes:
    """The report as an A4 PDF, laid out by WeasyPrint (in this process) from
    :func:`render_html` ``for_print`` (see :mod:`~maillage.observatory.report.pdf`)."""
    from maillage.observatory.report.pdf import html_to_pdf

    return html_to_pdf(render_html(figures, shapes, for_print=True))


def render_xlsx(figures: Mapping[str, Any]) -> bytes:
    """The report's figures as an XLSX workbook (see :mod:`~maillage.observatory.report.xlsx`;
    imported on use: openpyxl loads numpy, which the HTML and the PDF do not need)."""
    from maillage.observatory.report import xlsx

    return xlsx.render_xlsx(figures)
