from django.shortcuts import get_object_or_404

from crm.models import Lead


def get_lead(pk: int) -> Lead:
    """A lead of the current organization; RLS makes any other one a 404."""
    return get_object_or_404(Lead.objects.select_related("company", "owner"), pk=pk)
