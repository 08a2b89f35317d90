"""The audit log's fixed vocabulary. Every event recorded is one of these.

docs/audit.md explains each action, who records it and what its metadata
holds. Add an action here, with its line in that document, before recording it.
"""

from django.db import models


class Action(models.TextChoices):
    # Sign-in and sessions
    SIGN_IN = "auth.sign_in", "Signed in"
    SIGN_IN_FAILED = "auth.sign_in_failed", "Sign-in failed"
    LOCKOUT = "auth.lockout", "Account locked out"
    LOCKOUT_LIFTED = "auth.lockout_lifted", "Lockout lifted"
    SIGN_OUT = "auth.sign_out", "Signed out"
    SESSION_ENDED = "auth.session_ended", "Session ended"
    FORCED_SIGN_OUT = "auth.forced_sign_out", "Forced sign-out"
    MFA_ADDED = "auth.mfa_added", "MFA method added"
    MFA_REMOVED = "auth.mfa_removed", "MFA method removed"
    PASSWORD_CHANGED = "auth.password_changed", "Password changed"
    REAUTHENTICATED = "auth.reauthenticated", "Re-authenticated"

    # Organization, members and settings
    ORGANIZATION_CREATED = "org.created", "Organization created"
    ORGANIZATION_CANCELLED = "org.cancelled", "Organization cancelled"
    ORGANIZATION_REACTIVATED = "org.reactivated", "Organization reactivated"
    MEMBER_INVITED = "member.invited", "Member invited"
    MEMBER_ADDED = "member.added", "Member added"
    MEMBER_ROLE_CHANGED = "member.role_changed", "Member role changed"
    MEMBER_REMOVED = "member.removed", "Member removed"
    SECURITY_SETTINGS_CHANGED = "settings.security_changed", "Security settings changed"
    RETENTION_SETTINGS_CHANGED = (
        "settings.retention_changed",
        "Retention settings changed",
    )
    LEGAL_HOLD_CHANGED = "settings.legal_hold_changed", "Legal hold changed"
    INTEGRATION_CHANGED = "settings.integration_changed", "Integration changed"
    AI_SETTINGS_CHANGED = "settings.ai_changed", "AI settings changed"

    # Records
    RECORD_CREATED = "record.created", "Record created"
    RECORD_UPDATED = "record.updated", "Record updated"
    RECORD_DELETED = "record.deleted", "Record deleted"
    RECORD_RESTORED = "record.restored", "Record restored"
    RECORD_PURGED = "record.purged", "Record purged"
    FILE_DOWNLOADED = "record.file_downloaded", "File downloaded"
    IMPORT_COMPLETED = "import.completed", "Import completed"
    IMPORT_FAILED = "import.failed", "Import failed"

    # Exports and data-subject rights
    EXPORT_REQUESTED = "export.requested", "Export requested"
    EXPORT_DOWNLOADED = "export.downloaded", "Export downloaded"
    EXPORT_COMPLETED = "export.completed", "Export completed"
    DSR_RECEIVED = "dsr.received", "Data-subject request received"
    DSR_UPDATED = "dsr.updated", "Data-subject request updated"
    DSR_FULFILLED = "dsr.fulfilled", "Data-subject request fulfilled"
    SUBJECT_ERASED = "dsr.subject_erased", "Data subject erased"
    CONSENT_GRANTED = "consent.granted", "Consent granted"
    CONSENT_WITHDRAWN = "consent.withdrawn", "Consent withdrawn"
    UNSUBSCRIBED = "consent.unsubscribed", "Unsubscribed"
    ADDRESS_SUPPRESSED = "consent.suppressed", "Address suppressed"
    CAMPAIGN_RECIPIENTS_CHOSEN = (
        "campaign.recipients_chosen",
        "Campaign recipients chosen",
    )
    CAMPAIGN_SEND_STARTED = "campaign.send_started", "Campaign sending started"
    CAMPAIGN_SEND_FINISHED = "campaign.send_finished", "Campaign sending finished"
    DPA_REQUESTED = "compliance.dpa_requested", "DPA requested"
    SUBPROCESSOR_NOTICES_CHANGED = (
        "settings.subprocessor_notices_changed",
        "Sub-processor notices changed",
    )

    # Operations
    SUPPORT_COMMAND_RUN = "support.command_run", "Support command run"
    RETENTION_SWEEP = "retention.sweep", "Retention sweep"
    AUDIT_ENTRIES_REMOVED = "retention.audit_entries_removed", "Audit entries removed"
    KEYS_ROTATED = "keys.rotated", "Keys rotated"
    BACKUP_TAKEN = "backup.taken", "Backup taken"
    BACKUP_RESTORED = "backup.restored", "Backup restored"
    AI_REQUESTED = "ai.requested", "AI assist requested"
