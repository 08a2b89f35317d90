"""Creating, changing, deleting and restoring leads, contacts, companies, deals.

Deleting is soft: the record disappears from lists at once and keeps its
row until the retention purge. Each function runs in the request's
transaction (or its own) and names the fields it wrote.
"""

from django.db import transaction
from django.db.models import Model
from django.forms import ModelForm
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup.models import Organization, User
from clozup.services import ensure_writable
from crm.models import Company


class RecordDeleted(ValueError):
    """The record is deleted: restore it before changing it."""


class RecordNotDeleted(ValueError):
    """Only a deleted record can be restored."""


def record_change(action, record, *, actor, fields=(), request=None, **metadata):
    """The audit event of a change to a record: its type, id and field names."""
    if fields:
        metadata["fields"] = sorted(fields)
    audit.record_event(
        action,
        organization=record.organization_id,
        actor=actor,
        target=record,
        metadata=metadata,
        request=request,
    )


@transaction.atomic
def create_record(
    form: ModelForm, *, organization: Organization, actor: User, request=None
) -> Model:
    """Save a validated form as a new record of the organization; audited."""
    ensure_writable(organization)
    record = form.save(commit=False)
    record.organization = organization
    if hasattr(record, "owner_id") and record.owner_id is None:
        record.owner = actor
    record.save()
    form.save_m2m()

    filled = [name for name in form._meta.fields if form.cleaned_data.get(name)]
    record_change(
        Action.RECORD_CREATED, record, actor=actor, fields=filled, request=request
    )
    return record


@transaction.atomic
def update_record(
    form: ModelForm, *, actor: User, request=None
) -> tuple[Model, list[str]]:
    """Save the fields the form changed; returns the record and their names."""
    record = form.instance
    ensure_writable(record.organization_id)
    if getattr(record, "deleted_at", None) is not None:
        raise RecordDeleted(f"{record._meta.model_name} {record.pk} is deleted")
    model_fields = set(form._meta.fields or [])
    changed = [name for name in form.changed_data if name in model_fields]
    if changed:
        record = form.save(commit=False)
        record.save(update_fields=[*changed, "updated_at"])
        record_change(
            Action.RECORD_UPDATED, record, actor=actor, fields=changed, request=request
        )
    return record, changed


@transaction.atomic
def delete_record(record: Model, *, actor: User, request=None) -> Model:
    """Hide the record now; the retention purge removes it later. Audited."""
    ensure_writable(record.organization_id)
    if record.deleted_at is not None:
        return record
    record.deleted_at = timezone.now()
    record.save(update_fields=["deleted_at", "updated_at"])
    record_change(Action.RECORD_DELETED, record, actor=actor, request=request)
    return record


@transaction.atomic
def restore_record(record: Model, *, actor: User, request=None) -> Model:
    ensure_writable(record.organization_id)
    if record.deleted_at is None:
        raise RecordNotDeleted(f"{record._meta.model_name} {record.pk} is not deleted")
    record.deleted_at = None
    record.save(update_fields=["deleted_at", "updated_at"])
    record_change(Action.RECORD_RESTORED, record, actor=actor, request=request)
    return record


@transaction.atomic
def link_company_by_name(
    record: Model, name: str, *, actor: User, request=None
) -> Company | None:
    """Point a contact or deal at the company of that name, created if new.

    An empty name leaves the link alone; several companies of one name give
    the oldest, as the import does.
    """
    name = name.strip()
    if not name:
        return None
    company = Company.objects.live().filter(name__iexact=name).order_by("id").first()
    if company is None:
        company = Company.objects.create(
            organization_id=record.organization_id, name=name, owner=actor
        )
        record_change(
            Action.RECORD_CREATED,
            company,
            actor=actor,
            fields=["name", "owner"],
            request=request,
        )
    if record.company_id != company.pk:
        record.company = company
        record.save(update_fields=["company", "updated_at"])
        record_change(
            Action.RECORD_UPDATED,
            record,
            actor=actor,
            fields=["company"],
            request=request,
        )
    return company
