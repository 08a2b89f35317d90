"""Turning one CSV cell into a clean value, or saying exactly why not.

Every parser takes the raw text and returns the value to store; a cell that
cannot be read raises `Invalid` with a reason the upload page shows next to
the file, line and column. Placeholders that web forms and exports write for
"nothing chosen" read as empty everywhere.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import pycountry
from django.utils import timezone

# Compared after lowercasing and trimming.
PLACEHOLDERS = frozenset(
    {"select", "unknown", "n/a", "na", "none", "null", "nil", "-", "--", "?"}
    | {"not provided", "not specified", "not available"}
)

# Names that exports use and pycountry does not know, checked before it.
COUNTRY_ALIASES = {
    "korea": "KR",
    "south korea": "KR",
    "north korea": "KP",
    "macedonia": "MK",
    "micronesia": "FM",
    "palestinian territory": "PS",
    "palestine": "PS",
    "philipines": "PH",
    "pitcairn islands": "PN",
    "reunion": "RE",
    "saint barthelemy": "BL",
    "saint helena": "SH",
    "saint martin": "MF",
    "svalbard & jan mayen islands": "SJ",
    "swaziland": "SZ",
    "turkey": "TR",
    "united states virgin islands": "VI",
    "cape verde": "CV",
    "cote d'ivoire": "CI",
    "ivory coast": "CI",
    "libyan arab jamahiriya": "LY",
    "usa": "US",
    "u.s.": "US",
    "u.s.a.": "US",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "russia": "RU",
    "vietnam": "VN",
    "holy see (vatican city state)": "VA",
}

EMAIL = re.compile(
    r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
PHONE_CHARACTERS = re.compile(
    r"^[0-9+().\-\s/]+(?:\s*(?:x|ext\.?|extension)\s*\d+)?$", re.I
)
DROP_ASCII_DIGITS = str.maketrans("", "", "0123456789")
TRUE_WORDS = frozenset({"yes", "y", "true", "1", "t"})
FALSE_WORDS = frozenset({"no", "n", "false", "0", "f"})


class Invalid(ValueError):
    """A cell that cannot become a value; the message says why."""


def text(raw: str, *, max_length: int = 0) -> str:
    value = raw.strip()
    if value.lower() in PLACEHOLDERS:
        return ""
    if max_length and len(value) > max_length:
        raise Invalid(f"longer than {max_length} characters")
    return value


def email(raw: str) -> str:
    value = text(raw)
    if not value:
        return ""
    if len(value) > 254 or not EMAIL.match(value):
        raise Invalid(f"{value!r} is not an email address")
    return value.lower()


def phone(raw: str) -> str:
    """The number as written, once it looks like one (at least 7 digits).

    Exports mix formats and extensions; the raw text is kept so nothing is lost.
    """
    value = text(raw)
    if not value:
        return ""
    if len(value) > 50 or not PHONE_CHARACTERS.match(value):
        raise Invalid(f"{value!r} is not a phone number")
    if value.isascii():
        digits = len(value) - len(value.translate(DROP_ASCII_DIGITS))
    else:
        digits = sum(map(str.isdigit, value))
    if digits < 7:
        raise Invalid(f"{value!r} is not a phone number")
    return value


def amount(raw: str) -> Decimal | None:
    value = text(raw).replace(",", "").replace(" ", "").lstrip("$€£")
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"{raw.strip()!r} is not an amount") from None
    if not number.is_finite() or number < 0:
        raise Invalid(f"{raw.strip()!r} is not a positive amount")
    if number >= Decimal("1e16"):
        raise Invalid(f"{raw.strip()!r} is too large")
    return number.quantize(Decimal("0.01"))


def integer(raw: str, *, minimum: int = 0, maximum: int = 2**31 - 1) -> int | None:
    value = text(raw).replace(",", "")
    if not value:
        return None
    try:
        exact = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"{raw.strip()!r} is not a whole number") from None
    # Checked before int(): "1e999999999" would build a billion-digit number.
    if not exact.is_finite() or exact.adjusted() >= 16:
        raise Invalid(f"{raw.strip()!r} is not a whole number in range")
    number = int(exact)
    if not minimum <= number <= maximum:
        raise Invalid(f"{number} is outside {minimum}–{maximum}")
    return number


def year(raw: str) -> int | None:
    return integer(raw, minimum=1000, maximum=timezone.now().year + 1)


def day(raw: str) -> date | None:
    """An ISO date (`2017-03-01`); a timestamp keeps its date part."""
    value = text(raw)
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        raise Invalid(f"{value!r} is not a date (expected YYYY-MM-DD)") from None


def boolean(raw: str) -> bool | None:
    value = text(raw).lower()
    if not value:
        return None
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise Invalid(f"{raw.strip()!r} is not yes or no")


def currency(raw: str) -> str:
    value = text(raw).upper()
    if not value:
        return ""
    if pycountry.currencies.get(alpha_3=value) is None:
        raise Invalid(f"{value!r} is not an ISO 4217 currency code")
    return value


@lru_cache(maxsize=4096)
def country(raw: str) -> tuple[str, str]:
    """(ISO 3166 alpha-2 code, unresolved text): one of the two is empty.

    A name no table knows comes back as unresolved, so that the caller keeps
    the text and reports it rather than dropping the row.
    """
    value = text(raw)
    if not value:
        return "", ""
    key = value.lower()
    if key in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[key], ""
    # Faker writes qualifiers in brackets: "Slovakia (Slovak Republic)".
    candidates = [value, re.sub(r"\s*\(.*\)\s*$", "", value)]
    for candidate in candidates:
        try:
            return pycountry.countries.lookup(candidate).alpha_2, ""
        except LookupError:
            continue
    return "", value


def website(raw: str) -> str:
    """A site address with a scheme and a lowercased host."""
    value = text(raw)
    if not value:
        return ""
    if "://" not in value:
        value = "https://" + value
    scheme, rest = value.split("://", 1)
    host, _, path = rest.partition("/")
    if not host or " " in host or "." not in host:
        raise Invalid(f"{raw.strip()!r} is not a web address")
    return f"{scheme.lower()}://{host.lower()}/{path}"[:255]
