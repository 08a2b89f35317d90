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


def _sql_literal(character: str) -> str:
    return f"'{character}'" if character.isprintable() else f"chr({ord(character)})"


def neutralise_sql(expression: str) -> str:
    """SQL applying `neutralise` to a text expression, for CSVs made by COPY.

    Built from FORMULA_TRIGGERS, so the rule stays the one above.
    """
    triggers = ", ".join(_sql_literal(character) for character in FORMULA_TRIGGERS)
    return (
        f"CASE WHEN left({expression}, 1) IN ({triggers})"
        f" THEN '''' || {expression} ELSE {expression} END"
    )
