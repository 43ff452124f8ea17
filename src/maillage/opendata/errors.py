"""The one error every reader raises on bad input.

A coordinator who feeds a file to maillage must learn at once *where* it is wrong: which file,
which line, which column, and what was expected there. Readers validate the whole file before
anything is written, so this error also means "nothing was imported".
"""

from __future__ import annotations

from pathlib import Path


class DataFormatError(ValueError):
    """A file does not follow the format its reader expects.

    ``line`` is 1-based and counts the header line as line 1 for CSV files; ``column`` is the
    column name as written in the file (or a JSON path for JSON files).
    """

    def __init__(
        self,
        path: str | Path,
        expected: str,
        *,
        line: int | None = None,
        column: str | None = None,
        found: object = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.column = column
        self.expected = expected
        self.found = found
        super().__init__(self._message())

    def _message(self) -> str:
        where = [Path(self.path).name]
        if self.line is not None:
            where.append(f"ligne {self.line}")
        if self.column is not None:
            where.append(f"colonne {self.column!r}")
        message = f"{', '.join(where)} : attendu {self.expected}"
        if self.found is not None:
            found = str(self.found)
            if len(found) > 60:
                found = found[:57] + "..."
            message += f" ; trouvé {found!r}"
        return message
