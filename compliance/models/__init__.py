"""Compliance records: the consent ledger, campaign sends, transparency pages."""

from .consent import ConsentEvent, Suppression
from .outreach import CampaignSend
from .transparency import (
    DpaRequest,
    SubProcessor,
    SubProcessorChange,
    SubProcessorNoticeSubscription,
)

__all__ = [
    "CampaignSend",
    "ConsentEvent",
    "DpaRequest",
    "SubProcessor",
    "SubProcessorChange",
    "SubProcessorNoticeSubscription",
    "Suppression",
]
