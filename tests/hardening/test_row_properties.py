"""Properties of the import row cleaner, over generated rows.

Whatever the cells hold, cleaning never raises: every row read becomes a
record or a rejection, a rejection names the file, its line and a column of
the file, and a record's values fit the columns they are stored in.
"""

import csv
import io
from decimal import Decimal

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from crm.importing import layouts, rows, values

# Each lead field with its header, and cells that stress its parser.
HEADERS = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Company",
    "Country",
    "Lead Score",
    "Do Not Email",
    "Annual Revenue",
    "Created Date",
    "Favourite Colour",
]
TRICKY = [
    "",
    " ",
    "NaN",
    "Infinity",
    "-1",
    "1e999999999",
    "99999999999999999999",
    "0x10",
    "2017-02-30",
    "2017-02-28T25:00",
    "yes",
    "N/A",
    "null",
    "a@b",
    "ada@example.com",
    "ADA@EXAMPLE.COM",
    "+44 (0) 20 7946 0958 ext 12",
    "=1+2",
    "x" * 300,
    "\u202e\u0000",
    "Zoë",
]
cell = st.one_of(st.sampled_from(TRICKY), st.text(max_size=40))
table_rows = st.lists(
    st.lists(cell, min_size=0, max_size=len(HEADERS) + 2), min_size=1, max_size=20
)
NUMERIC_LIMIT = Decimal("1e16")


def _clean(generated):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(generated)
    data = io.BytesIO(buffer.getvalue().encode("utf-8", "surrogatepass"))
    layout = layouts.map_columns(layouts.Kind.LEADS, HEADERS)
    cleaner = rows.RowCleaner(layout, rows.Directory(), filename="leads.csv")
    try:
        table = rows.open_table(data, filename="leads.csv")
    except rows.UnreadableFile as error:
        return None, error
    try:
        return cleaner.clean(table), None
    except rows.UnreadableFile as error:
        return None, error


@hypothesis_settings(
    deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
@given(table_rows)
def test_every_row_becomes_a_record_or_a_named_rejection(generated):
    cleaned, unreadable = _clean(generated)

    if unreadable is not None:
        # Only text a CSV cannot carry makes the file unreadable.
        assert unreadable.file == "leads.csv"
        assert any(
            "\x00" in c or "\ud800" <= c <= "\udfff" for r in generated for c in r
        )
        return
    assert cleaned.rows_read == len(cleaned.records) + cleaned.rejected_count
    for rejection in cleaned.rejections:
        assert rejection.file == "leads.csv"
        assert rejection.line >= 2
        assert rejection.column in ("", *HEADERS)
        assert rejection.reason
    for record in cleaned.records:
        for name, value in record.items():
            limit = rows.MAX_FIELD_LENGTH.get(name)
            if limit and isinstance(value, str):
                assert len(value) <= limit, name
            if isinstance(value, Decimal):
                assert value.is_finite() and 0 <= value < NUMERIC_LIMIT
        if record.get("email"):
            assert values.EMAIL.match(record["email"])
            assert record["email"] == record["email"].lower()
        if record.get("score") is not None:
            assert 0 <= record["score"] <= 100


@hypothesis_settings(deadline=None)
@given(st.one_of(st.sampled_from(TRICKY), st.text(max_size=30)))
def test_a_number_cell_is_a_bounded_number_or_a_named_refusal(raw):
    for parse in (values.integer, values.year, values.amount):
        try:
            number = parse(raw)
        except values.Invalid as error:
            assert str(error)
            continue
        assert number is None or abs(number) < NUMERIC_LIMIT
