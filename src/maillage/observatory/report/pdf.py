"""The report's PDF: its print HTML laid out and drawn by WeasyPrint.

In this process (:func:`html_to_pdf`), or in a helper process (:class:`PdfProcess`) that a
command starts as soon as it knows a PDF must be built: the helper imports WeasyPrint and warms
it up (fonts, the user-agent stylesheet) while this process prepares the print HTML, then lays
the PDF out while this process writes the HTML and the XLSX. A cold ``maillage report`` then
takes about as long as its PDF on two cores instead of the sum of the three files.

The helper runs this module (``python -m``), which imports neither Django nor the database: it
reads the HTML on its standard input and writes the PDF on its standard output.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# A page using what the report uses (text, a table, an SVG image, page margin boxes), laid out
# by the helper while it waits for the report's HTML: WeasyPrint's first document pays for
# loading fonts and parsing its stylesheets (~0.1 s of processor time).
_WARM_UP = (
    "<html><head><style>@page { size: A4; @bottom-right { content: counter(page) } }"
    "body { font-family: 'Liberation Sans', sans-serif } table { border-collapse: collapse }"
    "</style></head><body><h1>É</h1><p>Été <strong>gras</strong></p>"
    "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"
    '<img alt="" src="data:image/svg+xml;charset=utf-8,<svg xmlns=%22http://www.w3.org/2000/svg%22'
    " viewBox=%220 0 9 9%22><path d=%22M0 0l9 9z%22 fill=%22%23abc%22/><text x=%221%22 y=%225%22"
    ' font-size=%223%22>a</text></svg>"></body></html>'
)


def html_to_pdf(html: str) -> bytes:
    """The PDF of a print HTML document, laid out by WeasyPrint in this process.

    WeasyPrint is given a URL fetcher that refuses everything but ``data:`` URLs: the print HTML
    references only its own maps, and a report built from untrusted figures (a territory name, a
    source label) must not be able to make the server fetch a URL or read a local file.
    """
    import weasyprint

    document = weasyprint.HTML(string=html, base_url=None, url_fetcher=offline_fetcher())
    return document.write_pdf()


def offline_fetcher() -> Any:
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


class PdfProcess:
    """A helper process that turns one print HTML document into a PDF.

    Start it early (it imports WeasyPrint meanwhile), :meth:`send` the HTML when it is ready,
    then :meth:`result` the PDF's bytes. :meth:`close` ends a helper whose result is not wanted.
    """

    def __init__(self) -> None:
        env = dict(os.environ)
        # The helper runs the code of this process (the same source tree), whatever the path.
        src = str(Path(__file__).resolve().parents[3])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
        self._errors = tempfile.TemporaryFile()  # a file: a chatty helper never blocks
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            env=env,
        )
        self._sent = False

    def send(self, html: str) -> None:
        """Give the helper its document (once)."""
        assert self._process.stdin is not None
        self._sent = True
        try:
            self._process.stdin.write(html.encode("utf-8"))
            self._process.stdin.close()
        except BrokenPipeError:  # the helper died: result() says why
            pass

    def result(self) -> bytes:
        """The PDF (waits for the helper); ``RuntimeError`` if the helper failed."""
        if not self._sent:
            raise RuntimeError("no document was sent to the PDF helper")
        assert self._process.stdout is not None
        pdf = self._process.stdout.read()
        code = self._process.wait()
        if code != 0 or not pdf.startswith(b"%PDF"):
            self._errors.seek(0)
            errors = self._errors.read().decode("utf-8", "replace").strip()
            raise RuntimeError(f"PDF helper failed (exit {code}): {errors[-500:]}")
        return pdf

    def close(self) -> None:
        """End the helper if it still runs (its result was not wanted) and release its pipes."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.wait()
        for pipe in (self._process.stdin, self._process.stdout, self._errors):
            if pipe is not None and not pipe.closed:
                pipe.close()


# A helper started before the command knew whether a PDF must be built (see start_early).
_early: PdfProcess | None = None


def start_early() -> None:
    """Start a helper now, for a command that will probably lay a PDF out: it imports WeasyPrint
    while the command sets Django up; :func:`take` hands it over, :func:`discard_early` ends it
    when no PDF was needed (the report was in the cache)."""
    global _early
    if _early is None:
        _early = PdfProcess()


def take() -> PdfProcess:
    """The helper :func:`start_early` started, else a new one."""
    global _early
    helper, _early = _early, None
    return helper if helper is not None else PdfProcess()


def discard_early() -> None:
    """End the helper :func:`start_early` started if nothing took it."""
    global _early
    helper, _early = _early, None
    if helper is not None:
        helper.close()


def _serve() -> None:
    """The helper: read the document (from the start, so that the parent never waits on a full
    pipe), import WeasyPrint meanwhile and warm it up if the document is not there yet, then
    lay the document out."""
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(sys.stdin.buffer.read()))
    reader.start()
    import weasyprint

    if reader.is_alive():
        weasyprint.HTML(string=_WARM_UP, url_fetcher=offline_fetcher()).write_pdf()
    reader.join()
    pdf = html_to_pdf(received[0].decode("utf-8"))
    sys.stdout.buffer.write(pdf)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)  # WeasyPrint's CSS warnings stay quiet
    _serve()
