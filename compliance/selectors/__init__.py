"""Reads of the compliance app, by sub-domain: consent, requests, subjects,
retention. The retention selectors are also reachable from here, as the
retention services and Admin Panel read them (`compliance.selectors.get_terms`)."""

from .retention import (  # noqa: F401 (re-exported for the retention code)
    DELETED_RECORD_MODELS,
    address_hash,
    deleted_recordings_due,
    deleted_records_due,
    exclude_held,
    expired_recordings_due,
    get_effective_table,
    get_holds,
    get_retention_settings,
    get_terms,
    is_organization_held,
    list_active_holds,
    list_waiting,
)
