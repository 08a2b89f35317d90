"""Reads of leads, contacts, companies and deals for lists and detail pages.

Row-level security has already limited every query to the current
organization; a foreign id is simply not found, hence 404.
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404

from clozup.lib.pagination import Page, keyset_page
from clozup.models import Membership, User
from compliance.selectors.consent import record_consent_summary
from crm.models import (
    Activity,
    Attachment,
    CallRecording,
    Company,
    Contact,
    Deal,
    Lead,
)

PAGE_SIZE = 25

LEAD_SORTS = {
    "recent": ["-created_at", "-id"],
    "oldest": ["created_at", "id"],
    "name": ["last_name", "first_name", "id"],
}
CONTACT_SORTS = {
    "name": ["last_name", "first_name", "id"],
    "recent": ["-created_at", "-id"],
}
COMPANY_SORTS = {"name": ["-sort_name", "-id"], "recent": ["-created_at", "-id"]}
DEAL_SORTS = {"recent": ["-created_at", "-id"]}


@dataclass
class LeadFilters:
    q: str = ""
    status: str = ""
    owner: int | None = None
    source: str = ""
    sort: str = "recent"
    deleted: bool = False


def _live_or_deleted(queryset: QuerySet, deleted: bool) -> QuerySet:
    return queryset.deleted() if deleted else queryset.live()


def _search(queryset: QuerySet, q: str, fields: list[str]) -> QuerySet:
    condition = Q()
    for word in q.split()[:5]:
        word_condition = Q()
        for field in fields:
            word_condition |= Q(**{f"{field}__icontains": word})
        condition &= word_condition
    return queryset.filter(condition)


def list_leads(filters: LeadFilters, *, cursor: str = "") -> Page:
    leads = _live_or_deleted(Lead.objects.all(), filters.deleted)
    if filters.q:
        leads = _search(
            leads, filters.q, ["first_name", "last_name", "email", "company_name"]
        )
    if filters.status:
        leads = leads.filter(status=filters.status)
    if filters.owner:
        leads = leads.filter(owner_id=filters.owner)
    if filters.source:
        leads = leads.filter(source=filters.source)
    leads = leads.select_related("owner", "company")
    ordering = LEAD_SORTS.get(filters.sort, LEAD_SORTS["recent"])
    return keyset_page(leads, ordering, cursor=cursor, size=PAGE_SIZE)


def list_lead_sources(limit: int = 200) -> list[str]:
    """The sources in use, for the filter.

    A loose index scan: one probe of the (organization, source) index per
    distinct source, so the cost follows the number of sources, not of leads.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE sources(source) AS (
                (SELECT source FROM crm_lead
                 WHERE source > '' AND deleted_at IS NULL
                 ORDER BY source LIMIT 1)
                UNION ALL
                SELECT (SELECT l.source FROM crm_lead l
                        WHERE l.source > sources.source AND l.deleted_at IS NULL
                        ORDER BY l.source LIMIT 1)
                FROM sources WHERE sources.source IS NOT NULL
            )
            SELECT source FROM sources WHERE source IS NOT NULL LIMIT %s
            """,
            [limit],
        )
        return [row[0] for row in cursor.fetchall()]


def list_owners() -> list[User]:
    """Members of the current organization, who may own records."""
    members = Membership.objects.select_related("user").order_by("user__email")
    return [membership.user for membership in members]


def get_lead(pk: int) -> Lead:
    """A lead of the current organization, deleted or not; else 404."""
    return get_object_or_404(
        Lead.objects.select_related("company", "owner", "contact"), pk=pk
    )


def list_contacts(*, q: str = "", sort: str = "name", deleted=False, cursor="") -> Page:
    contacts = _live_or_deleted(Contact.objects.all(), deleted)
    if q:
        contacts = _search(contacts, q, ["first_name", "last_name", "email"])
    contacts = contacts.select_related("company", "owner")
    ordering = CONTACT_SORTS.get(sort, CONTACT_SORTS["name"])
    return keyset_page(contacts, ordering, cursor=cursor, size=PAGE_SIZE)


def get_contact(pk: int) -> Contact:
    return get_object_or_404(Contact.objects.select_related("company", "owner"), pk=pk)


def list_companies(
    *, q: str = "", sort: str = "name", deleted=False, cursor=""
) -> Page:
    companies = _live_or_deleted(Company.objects.all(), deleted)
    if q:
        companies = _search(companies, q, ["name", "website"])
    companies = companies.annotate(sort_name=Lower("name")).select_related("owner")
    ordering = COMPANY_SORTS.get(sort, COMPANY_SORTS["name"])
    if sort == "name":
        # The index holds lower(name) descending; walk it backwards for A→Z.
        ordering = ["sort_name", "id"]
    return keyset_page(companies, ordering, cursor=cursor, size=PAGE_SIZE)


def get_company(pk: int) -> Company:
    return get_object_or_404(Company.objects.select_related("parent", "owner"), pk=pk)


def list_company_people(company: Company) -> dict[str, list]:
    return {
        "contacts": list(Contact.objects.live().filter(company=company)[:50]),
        "leads": list(Lead.objects.live().filter(company=company)[:50]),
        "deals": list(
            Deal.objects.live().filter(company=company).select_related("stage")[:50]
        ),
    }


def list_deals(
    *, q: str = "", stage: int | None = None, owner=None, deleted=False, cursor=""
) -> Page:
    deals = _live_or_deleted(Deal.objects.all(), deleted)
    if q:
        deals = _search(deals, q, ["title", "external_id"])
    if stage:
        deals = deals.filter(stage_id=stage)
    if owner:
        deals = deals.filter(owner_id=owner)
    deals = deals.select_related("stage", "owner", "company")
    return keyset_page(deals, DEAL_SORTS["recent"], cursor=cursor, size=PAGE_SIZE)


def get_deal(pk: int) -> Deal:
    return get_object_or_404(
        Deal.objects.select_related("stage", "owner", "company", "contact", "product"),
        pk=pk,
    )


# The record's surroundings -------------------------------------------------------


def _about(record) -> Q:
    return Q(**{record._meta.model_name: record})


def list_timeline(record, *, limit: int = 100) -> list[Activity]:
    """Activities about the record, newest first."""
    activities = Activity.objects.filter(_about(record)).select_related("author")
    return list(activities.order_by("-occurred_at", "-id")[:limit])


def list_files(record) -> dict[str, list]:
    about = _about(record)
    return {
        "attachments": list(
            Attachment.objects.live().filter(about).order_by("-created_at")
        ),
        "recordings": list(
            CallRecording.objects.live().filter(about).order_by("-recorded_at")
        ),
    }


def consent_status(record: Lead | Contact) -> dict:
    """The record's email and phone consent, derived from the consent ledger."""
    return record_consent_summary(record.organization, record)


def get_attachment(pk: int) -> Attachment:
    return get_object_or_404(Attachment.objects.live(), pk=pk)


def get_recording(pk: int) -> CallRecording:
    return get_object_or_404(CallRecording.objects.live(), pk=pk)


def get_activity(pk: int) -> Activity:
    return get_object_or_404(Activity, pk=pk)


def can_delete(membership: Membership, record) -> bool:
    """Admins delete and restore anything; reps what they own."""
    if membership.is_admin:
        return True
    return getattr(record, "owner_id", None) == membership.user_id
