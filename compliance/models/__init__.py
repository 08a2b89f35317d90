"""Compliance records: the consent ledger, campaign sends, transparency pages,
data-subject requests, subject exports and erasure receipts, retention settings
and legal holds."""

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
from .retention import (
    MAX_CUSTOM_DAYS,
    MAX_RECORDING_MONTHS,
    LegalHold,
    LifecycleNotice,
    RetentionSettings,
)
from .transparency import (
    DpaRequest,
    SubProcessor,
    SubProcessorChange,
    SubProcessorNoticeSubscription,
)

__all__ = [
    "MAX_CUSTOM_DAYS",
    "MAX_RECORDING_MONTHS",
    "LegalHold",
    "LifecycleNotice",
    "RetentionSettings",
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
