"""Compliance records: the consent ledger, campaign sends, transparency pages,
data-subject requests, subject exports and erasure receipts."""

from .consent import ConsentEvent, Suppression
from .outreach import CampaignSend
from .requests import (
    EXPORT_LINK_DAYS,
    NEARING_DAYS,
    RESPONSE_DAYS,
    DataSubjectRequest,
    DataSubjectRequestEvent,
    ErasureReceipt,
    SubjectExport,
)
from .transparency import (
    DpaRequest,
    SubProcessor,
    SubProcessorChange,
    SubProcessorNoticeSubscription,
)

__all__ = [
    "EXPORT_LINK_DAYS",
    "NEARING_DAYS",
    "RESPONSE_DAYS",
    "CampaignSend",
    "ConsentEvent",
    "DataSubjectRequest",
    "DataSubjectRequestEvent",
    "ErasureReceipt",
    "SubjectExport",
    "DpaRequest",
    "SubProcessor",
    "SubProcessorChange",
    "SubProcessorNoticeSubscription",
    "Suppression",
]
