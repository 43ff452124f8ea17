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
from maillage.observatory.report.xlsx import render_xlsx

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
    """The report as an A4 PDF, laid out by WeasyPrint from :func:`render_html`.

    WeasyPrint is given a URL fetcher that refuses everything but ``data:`` URLs: the print HTML
    references only its own maps, and a report built from untrusted figures (a territory name, a
    source label) must not be able to make the server fetch a URL or read a local file.
    """
    import weasyprint

    html = render_html(figures, shapes, for_print=True)
    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_offline_fetcher())
    return document.write_pdf()


def _offline_fetcher() -> Any:
    """A WeasyPrint URL fetcher that serves ``data:`` URLs (the print maps) and nothing else."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # WeasyPrint < 66: fetchers are plain callables
        from weasyprint import default_url_fetcher

        def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
            if url.startswith("data:"):
                return default_url_fetcher(url, *args, **kwargs)
            raise ValueError(f"maillage reports fetch no resource (refused {url[:80]!r})")

        return fetch

    class OfflineFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            raise ValueError(f"maillage reports fetch no resource (refused {url[:80]!r})")

    return OfflineFetcher(allowed_protocols=("data",))
