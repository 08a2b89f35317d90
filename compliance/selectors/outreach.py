"""Reads of campaigns and their send logs."""

from django.db.models import Count
from django.shortcuts import get_object_or_404

from crm.models import Campaign

from ..models import CampaignSend


def list_campaigns():
    return Campaign.objects.live().order_by("-created_at", "-id")


def get_campaign(pk: int) -> Campaign:
    return get_object_or_404(Campaign.objects.live(), pk=pk)


def campaign_counts(campaign_id: int) -> dict[str, int]:
    """How many recipients of the campaign are in each send status."""
    rows = (
        CampaignSend.objects.filter(campaign_id=campaign_id)
        .values_list("status")
        .annotate(n=Count("id"))
    )
    counts = dict.fromkeys(CampaignSend.Status.values, 0)
    counts.update(dict(rows))
    return counts
