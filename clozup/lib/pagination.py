"""Keyset pagination: the next page starts after the last row shown.

Pages never count the table nor skip rows with OFFSET, so a deep page costs
what the first one does, given an index that matches the ordering. The
cursor is the last row's sort values, encoded in the URL.
"""

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q, QuerySet


class BadCursor(ValueError):
    pass


@dataclass
class Page:
    items: list
    next_cursor: str

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)


def encode_cursor(values: list) -> str:
    """The cursor of a row with these sort values (for links and benchmarks)."""

    def plain(value):
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        return value

    raw = json.dumps([plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, count: int) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise BadCursor("cursor: not a page position") from None
    if not isinstance(values, list) or len(values) != count:
        raise BadCursor("cursor: not a page position")
    return values


def keyset_page(
    queryset: QuerySet, ordering: list[str], *, cursor: str = "", size: int = 25
) -> Page:
    """One page of `queryset` ordered by `ordering` (the last key must be unique).

    `ordering` uses Django's syntax ("-created_at", "id"); the fields must be
    non-null columns or annotations of the queryset.
    """
    fields = [name.lstrip("-") for name in ordering]
    queryset = queryset.order_by(*ordering)
    if cursor:
        values = _decode(cursor, len(fields))
        queryset = queryset.filter(_after(ordering, fields, values, queryset))
    rows = list(queryset[: size + 1])
    next_cursor = ""
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = encode_cursor([_value(last, f) for f in fields])
    return Page(items=rows, next_cursor=next_cursor)


def _value(row, field: str):
    value = row
    for part in field.split("__"):
        value = getattr(value, part)
    return value


def _after(ordering, fields, values, queryset) -> Q:
    model = queryset.model
    parsed = []
    for field, value in zip(fields, values, strict=True):
        try:
            model_field = model._meta.get_field(field)
            parsed.append(model_field.to_python(value))
        except Exception:
            parsed.append(value)
    condition = Q()
    for i, name in enumerate(ordering):
        lookup = "lt" if name.startswith("-") else "gt"
        step = Q(**{f"{fields[i]}__{lookup}": parsed[i]})
        for j in range(i):
            step &= Q(**{fields[j]: parsed[j]})
        condition |= step
    return condition
