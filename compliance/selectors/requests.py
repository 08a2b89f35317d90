"""Reads about data-subject requests and exports used by views and the admin."""

from datetime import timedelta

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from clozup.models import Organization, User
from compliance.models import NEARING_DAYS, DataSubjectRequest, SubjectExport


def get_public_organization(slug: str) -> Organization:
    """An active organization by slug, for its public pages; else 404."""
    organization = Organization.objects.filter(
        slug=slug, status=Organization.Status.ACTIVE
    ).first()
    if organization is None:
        raise Http404("no such organization")
    return organization


def list_exports_of(user: User) -> QuerySet:
    """Subject exports the member asked for, in the current organization."""
    return SubjectExport.objects.filter(requested_by=user)


def list_requests_near_deadline(*, now=None) -> QuerySet:
    """Open requests due within NEARING_DAYS days or already overdue."""
    now = now or timezone.now()
    return DataSubjectRequest.objects.filter(
        status__in=[
            DataSubjectRequest.Status.RECEIVED,
            DataSubjectRequest.Status.IN_PROGRESS,
        ],
        due_at__lte=now + timedelta(days=NEARING_DAYS),
    ).order_by("due_at")
