"""CSV output that spreadsheets cannot turn into formulas.

Every CSV Clozup writes goes through `csv_rows`: a cell that a spreadsheet
would read as a formula (starting with =, +, -, @, a tab or a carriage
return) is prefixed with a single quote, the usual neutralisation that keeps
the text visible and inert.
"""

import csv
import io
from collections.abc import Iterable, Iterator

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value) -> str:
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def csv_rows(rows: Iterable[Iterable]) -> Iterator[str]:
    """Encode rows as CSV lines, one string per row, ready to stream."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
