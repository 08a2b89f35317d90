"""Which kind of record a CSV holds, and which column feeds which field.

A header is recognised by its normalised name (lowercase, words only), so
`Email 1`, `email_1` and `EMAIL-1` are one name. The three sample layouts are
recognised exactly; other exports match through the aliases below, which
cover the names HubSpot, Salesforce and Pipedrive use. Whatever is left is
"unmapped" and the upload page asks the user what to do with it.
"""

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    COMPANIES = "companies"
    PRODUCTS = "products"
    TEAMS = "teams"
    CONTACTS = "contacts"
    LEADS = "leads"
    DEALS = "deals"


# The order files are loaded in: deals point at companies, products and the
# sales roster, so those come first.
LOAD_ORDER = list(Kind)

IGNORE = "ignore"
DETAILS = "details"  # leads only: kept in Lead.details under the column name

FIELDS: dict[Kind, dict[str, str]] = {
    Kind.COMPANIES: {
        "external_id": "External id",
        "name": "Name",
        "website": "Website",
        "industry": "Industry",
        "country": "Country",
        "city": "City",
        "founded_year": "Year founded",
        "employee_count": "Employees",
        "annual_revenue": "Annual revenue",
        "annual_revenue_millions": "Annual revenue (millions)",
        "description": "Description",
        "parent_name": "Parent company (name)",
        "owner": "Owner (name or email)",
    },
    Kind.PRODUCTS: {
        "name": "Name",
        "family": "Family",
        "list_price": "List price",
        "currency": "Currency",
    },
    Kind.TEAMS: {
        "agent_name": "Seller",
        "manager_name": "Manager",
        "region": "Region",
    },
    Kind.CONTACTS: {
        "external_id": "External id",
        "first_name": "First name",
        "last_name": "Last name",
        "email": "Email",
        "secondary_email": "Second email",
        "phone": "Phone",
        "secondary_phone": "Second phone",
        "title": "Job title",
        "company_name": "Company (name)",
        "website": "Company website",
        "country": "Country",
        "city": "City",
        "subscribed_on": "Subscription date",
        "owner": "Owner (name or email)",
    },
    Kind.LEADS: {
        "external_id": "External id",
        "lead_number": "Second external id",
        "first_name": "First name",
        "last_name": "Last name",
        "email": "Email",
        "secondary_email": "Second email",
        "phone": "Phone",
        "secondary_phone": "Second phone",
        "title": "Job title",
        "company_name": "Company (name)",
        "website": "Company website",
        "country": "Country",
        "city": "City",
        "source": "Source",
        "origin": "Origin",
        "status": "Status or stage",
        "converted": "Converted (yes/no)",
        "score": "Score (0–100)",
        "owner": "Owner (name or email)",
        "note": "Note",
        "do_not_email": "Do not email (yes/no)",
        "do_not_call": "Do not call (yes/no)",
    },
    Kind.DEALS: {
        "external_id": "External id",
        "title": "Title",
        "amount": "Amount",
        "currency": "Currency",
        "stage": "Stage",
        "owner": "Owner (name or email)",
        "company_name": "Company (name)",
        "product": "Product",
        "engaged_on": "Engaged on",
        "closed_on": "Close date",
        "expected_close_date": "Expected close date",
    },
}

REQUIRED = {
    Kind.COMPANIES: {"name"},
    Kind.PRODUCTS: {"name"},
    Kind.TEAMS: {"agent_name"},
    Kind.CONTACTS: set(),
    Kind.LEADS: set(),
    Kind.DEALS: {"stage"},
}

ALIASES: dict[Kind, dict[str, tuple[str, ...]]] = {
    Kind.COMPANIES: {
        "external_id": (
            "organization id",
            "company id",
            "account id",
            "org id",
            "record id",
            "external id",
            "id",
        ),
        "name": (
            "name",
            "company",
            "company name",
            "account",
            "account name",
            "organization",
            "organization name",
        ),
        "website": (
            "website",
            "web site",
            "website url",
            "domain",
            "company domain name",
        ),
        "industry": ("industry", "sector"),
        "country": ("country", "country region", "billing country", "office location"),
        "city": ("city", "billing city"),
        "founded_year": ("founded", "year founded", "year established"),
        "employee_count": (
            "employees",
            "number of employees",
            "employee count",
            "no of employees",
        ),
        "annual_revenue": ("annual revenue", "revenue"),
        "description": ("description", "about"),
        "parent_name": ("parent company", "parent account", "subsidiary of"),
        "owner": ("owner", "company owner", "account owner", "owner name"),
    },
    Kind.PRODUCTS: {
        "name": ("product", "product name", "name"),
        "family": ("series", "family", "product family", "category"),
        "list_price": ("sales price", "list price", "price", "unit price"),
        "currency": ("currency", "currency iso code"),
    },
    Kind.TEAMS: {
        "agent_name": ("sales agent", "agent", "seller", "sales rep", "user", "name"),
        "manager_name": ("manager", "sales manager", "team manager"),
        "region": ("regional office", "region", "office", "territory"),
    },
    Kind.CONTACTS: {
        "external_id": (
            "customer id",
            "contact id",
            "person id",
            "record id",
            "external id",
            "id",
        ),
        "first_name": ("first name", "firstname", "given name"),
        "last_name": ("last name", "lastname", "surname", "family name"),
        "email": (
            "email",
            "email 1",
            "email address",
            "e mail",
            "primary email",
            "work email",
            "email work",
        ),
        "secondary_email": ("email 2", "secondary email", "other email", "email home"),
        "phone": ("phone", "phone 1", "phone number", "work phone", "phone work"),
        "secondary_phone": ("phone 2", "mobile", "mobile phone", "mobile phone number"),
        "title": ("title", "job title", "position"),
        "company_name": (
            "company",
            "company name",
            "account name",
            "organization",
            "organization name",
            "associated company",
        ),
        "website": ("website", "web site", "website url"),
        "country": ("country", "country region", "mailing country"),
        "city": ("city", "mailing city"),
        "subscribed_on": ("subscription date", "subscribed on", "opt in date"),
        "owner": ("owner", "contact owner", "owner name", "assigned to"),
    },
    Kind.LEADS: {
        "external_id": (
            "prospect id",
            "lead id",
            "account id",
            "record id",
            "external id",
            "id",
        ),
        "lead_number": ("lead number",),
        "first_name": ("first name", "firstname", "given name"),
        "last_name": ("last name", "lastname", "surname", "family name"),
        "email": (
            "email",
            "email 1",
            "email address",
            "e mail",
            "primary email",
            "work email",
        ),
        "secondary_email": ("email 2", "secondary email", "other email"),
        "phone": ("phone", "phone 1", "phone number", "work phone"),
        "secondary_phone": ("phone 2", "mobile", "mobile phone", "mobile phone number"),
        "title": ("title", "job title", "position"),
        "company_name": (
            "company",
            "company name",
            "organization",
            "organization name",
        ),
        "website": ("website", "web site", "website url"),
        "country": ("country", "country region"),
        "city": ("city",),
        "source": ("source", "lead source", "original source"),
        "origin": ("lead origin", "origin"),
        "status": ("lead status", "status", "deal stage", "stage", "lifecycle stage"),
        "converted": ("converted", "is converted"),
        "score": ("score", "lead score", "hubspot score"),
        "owner": ("lead owner", "owner", "owner name", "assigned to"),
        "note": ("notes", "note", "description"),
        "do_not_email": (
            "do not email",
            "email opt out",
            "unsubscribed from all email",
        ),
        "do_not_call": ("do not call",),
    },
    Kind.DEALS: {
        "external_id": ("opportunity id", "deal id", "record id", "external id", "id"),
        "title": ("deal name", "opportunity name", "deal title", "title", "name"),
        "amount": ("amount", "close value", "deal value", "value"),
        "currency": ("currency", "deal currency code", "currency iso code"),
        "stage": ("deal stage", "stage", "stage name", "pipeline stage"),
        "owner": (
            "sales agent",
            "deal owner",
            "opportunity owner",
            "owner",
            "owner name",
        ),
        "company_name": (
            "account",
            "account name",
            "company",
            "company name",
            "organization",
            "associated company",
        ),
        "product": ("product", "product name"),
        "engaged_on": ("engage date", "engaged on"),
        "closed_on": ("close date", "closed date", "won time", "closed on"),
        "expected_close_date": ("expected close date", "expected close"),
    },
}

# Header sets of the sample files, recognised whole (see shared data README).
KNOWN_LAYOUTS: dict[str, tuple[Kind, frozenset[str], dict[str, str]]] = {}

FILENAME_HINTS = (
    ("lead", Kind.LEADS),
    ("contact", Kind.CONTACTS),
    ("customer", Kind.CONTACTS),
    ("people", Kind.CONTACTS),
    ("pipeline", Kind.DEALS),
    ("deal", Kind.DEALS),
    ("opportunit", Kind.DEALS),
    ("product", Kind.PRODUCTS),
    ("team", Kind.TEAMS),
    ("compan", Kind.COMPANIES),
    ("account", Kind.COMPANIES),
    ("organi", Kind.COMPANIES),
)

# Columns that only a lead export carries: they tip a person file to leads.
LEAD_SIGNS = {"lead owner", "lead source", "lead status", "lead origin", "prospect id"}


def normalise(header: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", header.lower()))


def _known(name, kind, headers, overrides=None):
    KNOWN_LAYOUTS[name] = (
        kind,
        frozenset(normalise(h) for h in headers.split(",")),
        overrides or {},
    )


_known(
    "Maven accounts",
    Kind.COMPANIES,
    "account,sector,year_established,revenue,employees,office_location,subsidiary_of",
    # Maven gives revenue in millions of US dollars.
    {"revenue": "annual_revenue_millions"},
)
_known("Maven products", Kind.PRODUCTS, "product,series,sales_price")
_known("Maven sales teams", Kind.TEAMS, "sales_agent,manager,regional_office")
_known(
    "Maven sales pipeline",
    Kind.DEALS,
    "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,"
    "close_value",
)
_known(
    "Datablist leads",
    Kind.LEADS,
    "Index,Account Id,Lead Owner,First Name,Last Name,Company,Phone 1,Phone 2,"
    "Email 1,Email 2,Website,Source,Deal Stage,Notes",
    {"index": IGNORE},
)
_known(
    "Datablist customers",
    Kind.CONTACTS,
    "Index,Customer Id,First Name,Last Name,Company,City,Country,Phone 1,Phone 2,"
    "Email,Subscription Date,Website",
    {"index": IGNORE},
)
_known(
    "Datablist organizations",
    Kind.COMPANIES,
    "Index,Organization Id,Name,Website,Country,Description,Founded,Industry,"
    "Number of employees",
    {"index": IGNORE},
)
_known(
    "X Education leads",
    Kind.LEADS,
    "Prospect ID,Lead Number,Lead Origin,Lead Source,Do Not Email,Do Not Call,"
    "Converted,TotalVisits,Total Time Spent on Website,Page Views Per Visit,"
    "Last Activity,Country,Specialization,How did you hear about X Education,"
    "What is your current occupation,What matters most to you in choosing a course,"
    "Search,Magazine,Newspaper Article,X Education Forums,Newspaper,"
    "Digital Advertisement,Through Recommendations,"
    "Receive More Updates About Our Courses,Tags,Lead Quality,"
    "Update me on Supply Chain Content,Get updates on DM Content,Lead Profile,City,"
    "Asymmetrique Activity Index,Asymmetrique Profile Index,"
    "Asymmetrique Activity Score,Asymmetrique Profile Score,"
    "I agree to pay the amount through cheque,"
    "A free copy of Mastering The Interview,Last Notable Activity",
)


@dataclass
class Layout:
    kind: Kind
    # Column header as written -> field name, IGNORE or DETAILS.
    mapping: dict[str, str]
    name: str = ""
    unmapped: list[str] = field(default_factory=list)

    def field_columns(self) -> dict[str, str]:
        """Field -> the column that feeds it."""
        return {
            target: column
            for column, target in self.mapping.items()
            if target not in (IGNORE, DETAILS)
        }

    def missing_required(self) -> list[str]:
        return sorted(REQUIRED[self.kind] - set(self.field_columns()))


def choices_for(kind: Kind) -> list[tuple[str, str]]:
    """What a column may be mapped to on the upload page."""
    keep = [(DETAILS, "Keep as a custom field")] if kind is Kind.LEADS else []
    return [(IGNORE, "Do not import"), *keep, *FIELDS[kind].items()]


def map_columns(kind: Kind, headers: list[str], overrides=None) -> Layout:
    """Match each header to a field of this kind, aliases before leftovers."""
    overrides = overrides or {}
    aliases = {alias: name for name, names in ALIASES[kind].items() for alias in names}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    unmapped = []
    for header in headers:
        key = normalise(header)
        target = overrides.get(key) or aliases.get(key)
        if target and target not in (IGNORE, DETAILS) and target in taken:
            target = None
        if target is None:
            unmapped.append(header)
            target = DETAILS if kind is Kind.LEADS else IGNORE
        mapping[header] = target
        taken.add(target)
    return Layout(kind=kind, mapping=mapping, unmapped=unmapped)


def detect(headers: list[str], *, filename: str = "") -> Layout:
    """The likeliest layout for a file, known sample layouts first."""
    keys = frozenset(normalise(h) for h in headers if h.strip())
    for name, (kind, known_keys, overrides) in KNOWN_LAYOUTS.items():
        if keys == known_keys:
            layout = map_columns(kind, headers, overrides)
            layout.name = name
            return layout

    hinted = next((k for hint, k in FILENAME_HINTS if hint in filename.lower()), None)
    best, best_score = None, -1.0
    for kind in LOAD_ORDER:
        layout = map_columns(kind, headers)
        score = len(layout.field_columns()) - 2 * len(layout.missing_required())
        if kind is hinted:
            score += 1.5
        if kind is Kind.LEADS and keys & LEAD_SIGNS:
            score += 3
        if score > best_score:
            best, best_score = layout, score
    return best
