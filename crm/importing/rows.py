"""Reading a CSV file and cleaning its rows for one kind of record.

Nothing here touches the database except through the `Directory` the caller
builds once per import (members, stages, products): rows come out as plain
dicts ready for the staging table, or as rejections naming file, line,
column and reason.
"""

import csv
import functools
import io
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from crm.importing import values
from crm.importing.layouts import DETAILS, IGNORE, Kind, Layout
from crm.models import Lead

MAX_FIELD_LENGTH = {
    "first_name": 120,
    "last_name": 120,
    "title": 200,
    "company_name": 255,
    "name": 255,
    "city": 120,
    "industry": 120,
    "source": 120,
    "origin": 120,
    "family": 120,
    "region": 120,
    "agent_name": 200,
    "manager_name": 200,
    "owner": 200,
    "external_id": 100,
    "lead_number": 100,
}

PARSERS = {
    "email": values.email,
    "secondary_email": values.email,
    "phone": values.phone,
    "secondary_phone": values.phone,
    "website": values.website,
    "founded_year": values.year,
    "employee_count": values.integer,
    "annual_revenue": values.amount,
    "annual_revenue_millions": values.amount,
    "list_price": values.amount,
    "amount": values.amount,
    "currency": values.currency,
    "score": lambda raw: values.integer(raw, minimum=0, maximum=100),
    "engaged_on": values.day,
    "closed_on": values.day,
    "expected_close_date": values.day,
    "subscribed_on": values.day,
    "converted": values.boolean,
    "do_not_email": values.boolean,
    "do_not_call": values.boolean,
}

# Lead exports carry a sales stage per lead; it becomes the lead's status and
# the original word stays in details["stage"].
LEAD_STATUS_WORDS = {
    "new": Lead.Status.NEW,
    "new lead": Lead.Status.NEW,
    "open": Lead.Status.NEW,
    "contacted": Lead.Status.CONTACTED,
    "attempted to contact": Lead.Status.CONTACTED,
    "in progress": Lead.Status.CONTACTED,
    "on hold": Lead.Status.CONTACTED,
    "re engagement": Lead.Status.CONTACTED,
    "qualified": Lead.Status.QUALIFIED,
    "proposal sent": Lead.Status.QUALIFIED,
    "negotiation": Lead.Status.QUALIFIED,
    "closed won": Lead.Status.CONVERTED,
    "converted": Lead.Status.CONVERTED,
    "unqualified": Lead.Status.UNQUALIFIED,
    "disqualified": Lead.Status.UNQUALIFIED,
    "closed lost": Lead.Status.UNQUALIFIED,
    "bad timing": Lead.Status.UNQUALIFIED,
}

REJECTIONS_KEPT = 1000

# Columns a file may have. The mapping page shows a choice per column and
# posts them all back (Django refuses more than 1,000 fields per request); the
# widest shipped sample, X Education's leads, has 38.
MAX_COLUMNS = 200

# One encoder for every row: `json.dumps(..., sort_keys=True)` builds a new one
# per call.
DETAILS_JSON = json.JSONEncoder(sort_keys=True)

# Misspellings seen in real exports, corrected with a reported decision.
INDUSTRY_SPELLINGS = {"technolgy": "technology", "medcal": "medical"}


@dataclass
class Rejection:
    file: str
    line: int
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
        }


@dataclass
class Table:
    """An opened CSV: its header and an iterator of (line number, cells).

    `release()` hands the binary stream back to its owner, who closes it.
    """

    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]
    text: io.TextIOWrapper
    delimiter: str = ","

    def release(self) -> None:
        self.text.detach()


@dataclass
class Directory:
    """What rows are resolved against: members, sellers, stages, products."""

    owners: dict[str, int] = field(default_factory=dict)
    stages: dict[str, int] = field(default_factory=dict)
    stage_closed: dict[int, bool] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    product_names: dict[int, str] = field(default_factory=dict)

    def owner(self, name: str) -> tuple[int | None, str]:
        if not name:
            return None, ""
        user_id = self.owners.get(name.lower())
        return (user_id, "") if user_id else (None, name)

    def stage(self, name: str) -> int | None:
        return self.stages.get(name.lower()) or self.stages.get(
            values.text(name).lower().removeprefix("closed ").strip()
        )

    def product(self, name: str) -> tuple[int | None, bool]:
        """(product id, whether only the spelling-insensitive key matched)."""
        exact = self.products.get(name.lower())
        if exact:
            return exact, False
        loose = self.products.get(product_key(name))
        return loose, loose is not None


@functools.lru_cache(maxsize=1024)
def lead_status(word: str) -> str:
    """The lead status an export's stage word stands for (new if unknown)."""
    key = " ".join(word.lower().replace("-", " ").split())
    return LEAD_STATUS_WORDS.get(key, Lead.Status.NEW)


def product_key(name: str) -> str:
    return "~" + "".join(ch for ch in name.lower() if ch.isalnum())


class UnreadableFile(ValueError):
    """The file is not CSV text we can read; the message names file and line."""

    def __init__(self, filename: str, line: int, reason: str):
        super().__init__(f"{filename}, line {line}: {reason}")
        self.file = filename
        self.line = line
        self.reason = reason


# Starts of compressed archives and other binary files that are not CSV.
BINARY_SIGNATURES = {
    b"PK\x03\x04": "a ZIP archive",
    b"\x1f\x8b": "a gzip archive",
    b"BZh": "a bzip2 archive",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive",
    b"\xfd7zXZ\x00": "an xz archive",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Office document",
}


def open_table(stream, *, filename: str, max_rows: int = 0) -> Table:
    """Read CSV text from a binary stream: UTF-8 (BOM allowed), any line end.

    Cells are separated by commas, or by semicolons or tabs when the header
    line has no comma outside quotes and has those instead.

    Raises `UnreadableFile`, naming the line, for a binary or compressed
    file, text that is not UTF-8, a field longer than the csv module's limit,
    a NUL character, a quote never closed or followed by text, a header with
    more than `MAX_COLUMNS` columns or one that names a column twice or, with
    `max_rows`, more rows than that; the header is checked here, later lines
    as the rows are read.
    """
    if stream.seekable():
        head = stream.read(8)
        stream.seek(0)
        for signature, description in BINARY_SIGNATURES.items():
            if head.startswith(signature):
                raise UnreadableFile(filename, 1, f"{description}, not a CSV file")

    # Bytes that are not UTF-8 become lone surrogates, found below with the
    # line they are on (a strict decoder fails a whole chunk ahead of it).
    text = io.TextIOWrapper(
        stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
    )
    first_line = text.readline()
    delimiter = _delimiter(first_line)
    # Strict: a quote left open would otherwise take in the rest of the file
    # as one cell, and the rows after it would be lost without a word.
    lines = itertools.chain([first_line], text) if first_line else text
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    with _ReadErrors(filename, reader):
        try:
            headers = [h.strip() for h in next(reader)]
        except StopIteration:
            headers = []
    _check_text(filename, 1, headers)
    _check_headers(filename, headers)

    def rows():
        line = reader.line_num
        with _ReadErrors(filename, reader) as errors:
            errors.record_start = line + 1
            for count, cells in enumerate(reader, start=1):
                start, line = line + 1, reader.line_num
                errors.record_start = line + 1
                if max_rows and count > max_rows:
                    raise UnreadableFile(
                        filename, start, f"more than {max_rows:,} rows; split the file"
                    )
                _check_text(filename, start, cells)
                if any(map(str.strip, cells)):
                    yield start, cells

    return Table(headers=headers, rows=rows(), text=text, delimiter=delimiter)


# What spreadsheets set to a decimal comma save instead of commas, and what
# tab-separated exports use.
OTHER_DELIMITERS = (";", "\t")
QUOTED = re.compile(r'"[^"]*"')


def _delimiter(header_line: str) -> str:
    """The comma, or the more frequent of `;` and tab in a header without one."""
    bare = QUOTED.sub("", header_line)
    if "," in bare:
        return ","
    found = {other: bare.count(other) for other in OTHER_DELIMITERS}
    likeliest = max(found, key=found.__getitem__)
    return likeliest if found[likeliest] else ","


NOT_TEXT = re.compile("[\x00\udc80-\udcff]")


def _check_text(filename: str, line: int, cells: list[str]) -> None:
    found = NOT_TEXT.search("\x1f".join(cells))
    if found is None:
        return
    if found.group() == "\x00":
        raise UnreadableFile(filename, line, "binary data (a NUL byte), not text")
    raise UnreadableFile(filename, line, "not UTF-8 text (save the file as UTF-8)")


class _ReadErrors:
    """Turns CSV errors into `UnreadableFile` naming the line.

    `record_start` is the line the record being read starts on; the caller
    moves it on after each record.
    """

    def __init__(self, filename: str, reader):
        self.filename = filename
        self.reader = reader
        self.record_start = 1

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if not isinstance(error, csv.Error):
            return False
        message = str(error)
        # The end of the file inside a quote: the reader's line is the last
        # one, but the person needs the line where the quote opened.
        if message == "unexpected end of data":
            reason = "a quote opened on this line is never closed"
            raise UnreadableFile(self.filename, self.record_start, reason) from None
        # The reader has counted the line it failed on.
        line = max(self.reader.line_num, 1)
        raise UnreadableFile(self.filename, line, _csv_reason(message)) from None


def _csv_reason(message: str) -> str:
    if "field larger than field limit" in message:
        return f"a field longer than {csv.field_size_limit():,} characters"
    if "expected after" in message:
        return (
            "text after a closing quote (a quote inside a quoted cell is"
            ' written twice: "")'
        )
    return f"not valid CSV ({message})"


def _check_headers(filename: str, headers: list[str]) -> None:
    if len(headers) > MAX_COLUMNS:
        raise UnreadableFile(
            filename,
            1,
            f"{len(headers):,} columns; at most {MAX_COLUMNS} are accepted,"
            " so remove the columns you do not need",
        )
    seen: dict[str, int] = {}
    for position, header in enumerate(headers, start=1):
        if not header:
            continue
        earlier = seen.setdefault(header.lower(), position)
        if earlier != position:
            raise UnreadableFile(
                filename,
                1,
                f"the column {header!r} appears twice (columns {earlier} and"
                f" {position}); rename or remove one",
            )


@dataclass
class Cleaned:
    records: list[dict] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    rejected_count: int = 0
    warnings: dict[str, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    rows_read: int = 0

    def reject(self, rejection: Rejection) -> None:
        self.rejected_count += 1
        if len(self.rejections) < REJECTIONS_KEPT:
            self.rejections.append(rejection)

    def count(self, bucket: dict, message: str) -> None:
        bucket[message] = bucket.get(message, 0) + 1


class RowCleaner:
    """Turns the rows of one file into staging records for its kind."""

    def __init__(self, layout: Layout, directory: Directory, *, filename: str):
        self.layout = layout
        self.directory = directory
        self.filename = filename
        self.result = Cleaned()
        self._seen: dict[tuple[str, str], int] = {}
        # Two rows of one file may not share these (emails: people only).
        self._unique_keys = ("external_id",)
        if layout.kind in (Kind.LEADS, Kind.CONTACTS):
            self._unique_keys = ("external_id", "email")

    def clean(self, table: Table, progress=None) -> Cleaned:
        headers = table.headers
        width = len(headers)
        readers, detail_columns = self._readers(headers)
        finish = getattr(self, f"_finish_{self.layout.kind.value}")
        result = self.result
        for line, cells in table.rows:
            result.rows_read += 1
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            elif len(cells) > width and any(c.strip() for c in cells[width:]):
                self._reject(line, "", f"has {len(cells)} cells, the header {width}")
                continue
            self._clean_row(line, cells, readers, detail_columns, finish)
            if progress and result.rows_read % 2000 == 0:
                progress(result.rows_read)
        return result

    def _readers(self, headers):
        """Per mapped column, once per file: (index, header, field, parser).

        Also fills `self.columns` (field -> header, the last header wins as a
        row's value does) and returns the columns kept as lead details.
        """
        readers = []
        detail_columns = []
        self.columns = {}
        for index, header in enumerate(headers):
            target = self.layout.mapping.get(header, IGNORE) if header else IGNORE
            if target == IGNORE:
                continue
            if target == DETAILS:
                detail_columns.append((index, header))
                continue
            parse = PARSERS.get(target)
            if parse is None:
                parse = functools.partial(
                    values.text, max_length=MAX_FIELD_LENGTH.get(target, 0)
                )
            readers.append((index, header, target, parse))
            self.columns[target] = header
        return readers, detail_columns

    def _reject(self, line: int, column: str, reason: str) -> None:
        self.result.reject(Rejection(self.filename, line, column, reason))

    def _clean_row(self, line, cells, readers, detail_columns, finish) -> None:
        row: dict = {}
        for index, header, target, parse in readers:
            try:
                row[target] = parse(cells[index])
            except values.Invalid as error:
                self._reject(line, header, str(error))
                return
        details: dict = {}
        for index, header in detail_columns:
            if value := values.text(cells[index]):
                details[header] = value

        problem = finish(row, details, self.columns)
        if problem:
            self._reject(line, *problem)
            return
        duplicate = self._duplicate(line, row)
        if duplicate:
            self._reject(line, *duplicate)
            return
        row["line"] = line
        self.result.records.append(row)

    def _duplicate(self, line, row):
        for key in self._unique_keys:
            value = row.get(key)
            if not value:
                continue
            earlier = self._seen.setdefault((key, value.lower()), line)
            if earlier != line:
                column = self.layout.field_columns().get(key, key)
                return column, f"same {key.replace('_', ' ')} as line {earlier}"
        if self.layout.kind in (Kind.PRODUCTS, Kind.TEAMS, Kind.COMPANIES):
            name = row.get("name") or row.get("agent_name") or ""
            if self.layout.kind is Kind.COMPANIES and (
                row.get("external_id") or row.get("website")
            ):
                return None
            earlier = self._seen.setdefault(("name", name.lower()), line)
            if earlier != line:
                column = self.layout.field_columns().get("name") or "name"
                return column, f"same name as line {earlier}"
        return None

    def _country(self, row, columns, details) -> None:
        if "country" not in row:
            return
        code, unresolved = values.country(row["country"])
        row["country"] = code
        if unresolved:
            kept = ""
            if self.layout.kind is Kind.LEADS:
                details["country_as_given"] = unresolved
                kept = "kept in the lead's details, "
            self.result.count(
                self.result.warnings,
                f"{columns['country']}: {unresolved!r} is not a country we know; "
                f"{kept}country left empty",
            )

    def _owner(self, row) -> None:
        if "owner" in row:
            row["owner_id"], row["owner_name"] = self.directory.owner(row.pop("owner"))

    def _finish_companies(self, row, details, columns):
        if not row.get("name"):
            return columns.get("name", "name"), "a company needs a name"
        industry = row.get("industry", "")
        if industry.lower() in INDUSTRY_SPELLINGS:
            row["industry"] = INDUSTRY_SPELLINGS[industry.lower()]
            self.result.count(
                self.result.decisions,
                f"{columns['industry']}: {industry!r} read as {row['industry']!r}",
            )
        millions = row.pop("annual_revenue_millions", None)
        if millions is not None:
            row["annual_revenue"] = millions * 1_000_000
        self._country(row, columns, details)
        self._owner(row)
        row.pop("owner_name", None)
        return None

    def _finish_products(self, row, details, columns):
        if not row.get("name"):
            return columns["name"], "a product needs a name"
        return None

    def _finish_teams(self, row, details, columns):
        if not row.get("agent_name"):
            return columns["agent_name"], "a seller needs a name"
        return None

    def _finish_contacts(self, row, details, columns):
        if not any(row.get(k) for k in ("first_name", "last_name", "email")):
            return "", "a contact needs a first name, last name or email"
        self._country(row, columns, details)
        self._owner(row)
        row.pop("owner_name", None)
        return None

    def _finish_leads(self, row, details, columns):
        get = row.get
        if not (
            get("first_name")
            or get("last_name")
            or get("email")
            or get("company_name")
            or get("external_id")
        ):
            return "", "a lead needs a name, email, company or id"
        self._country(row, columns, details)
        self._owner(row)

        # Without a status column a re-import leaves each lead's status alone.
        status_word = row.pop("status", "")
        converted = row.pop("converted", None)
        if status_word:
            details["stage"] = status_word
            row["status"] = lead_status(status_word)
        if converted:
            row["status"] = Lead.Status.CONVERTED
        elif converted is False and not status_word:
            row["status"] = ""
        # An empty cell leaves a stored flag alone: a suppression survives.
        for flag in ("do_not_email", "do_not_call"):
            if row.get(flag) is not None:
                details[flag] = row[flag]
        if row.get("lead_number"):
            details["lead_number"] = row.pop("lead_number")
        row.pop("lead_number", None)
        row["details"] = DETAILS_JSON.encode(details)
        return None

    def _finish_deals(self, row, details, columns):
        stage_word = row.pop("stage", "")
        stage_id = self.directory.stage(stage_word) if stage_word else None
        if stage_id is None:
            column = columns.get("stage", "stage")
            return column, f"no stage named {stage_word!r} in the pipeline"
        row["stage_id"] = stage_id

        product = row.pop("product", "")
        if product:
            product_id, loose = self.directory.product(product)
            if product_id is None:
                return columns["product"], f"no product named {product!r}"
            if loose:
                chosen = self.directory.product_names[product_id]
                self.result.count(
                    self.result.decisions,
                    f"{columns['product']}: {product!r} read as the product "
                    f"{chosen!r} (same letters and digits)",
                )
            row["product_id"] = product_id
            row["product_name"] = self.directory.product_names[product_id]

        closed_on = row.pop("closed_on", None)
        if self.directory.stage_closed[stage_id]:
            row["closed_at"] = closed_on
        elif closed_on and not row.get("expected_close_date"):
            row["expected_close_date"] = closed_on
        if "amount" in row and row["amount"] is None:
            row["amount"] = None
        self._owner(row)
        if not row.get("title"):
            parts = [row.get("company_name") or "", row.get("product_name") or ""]
            row["title"] = " · ".join(p for p in parts if p) or row.get(
                "external_id", "Imported deal"
            )
        row.pop("product_name", None)
        row["stage_entered_at"] = closed_on or row.get("engaged_on")
        return None
