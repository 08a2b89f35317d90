"""Purging: removing rows, what hangs off them and their stored files, for good.

Two entry points, used by the retention jobs and by erasure:

- `purge_records` removes chosen rows of one model, the rows that cascade
  from them (activities, attachments, recordings) and those rows' files.
- `purge_organization_data` empties an organization: every row of every
  organization table, its audit log and every file it stored.

Both work in batches, each its own short transaction inside the
organization's context (RLS), and both can be killed at any point and run
again: rows or files already gone are skipped, never an error. Files are
deleted before the rows that name them commit, so a crash leaves at worst a
row whose file is already gone, which the rerun removes; never a file that no
row leads to. Every batch is written to the backup journal before it commits
(see `clozup.backups.record_replay_entry`), so a restore repeats it.

A model whose rows name stored files declares them in `stored_file_fields`
(field name to storage alias); a `storage_name` column means the private
storage. Only ids and counts leave this module: `PurgeCounts` is what
erasure receipts and audit events are made of.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field

from django.apps import apps
from django.core.files.storage import storages
from django.db import connection, models
from django.db.models import QuerySet

from audit import services as audit
from audit.actions import Action
from clozup import backups
from clozup.encryption import destroy_organization_key
from clozup.models import Membership, Organization, OrganizationKey
from clozup.tenancy import org_context

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000
PRIVATE_STORAGE = "private"


class PurgeBlocked(RuntimeError):
    """A row to purge is still referenced by a row that protects it."""


class OrganizationNotEmpty(RuntimeError):
    """After a purge, some table still holds rows of the organization."""


@dataclass
class PurgeCounts:
    """What a purge removed: rows per table, files per storage location.

    Counts only, never ids of people or their data, so it may be shown in a
    receipt or stored in an audit event as it is.
    """

    rows: Counter = field(default_factory=Counter)
    files: Counter = field(default_factory=Counter)

    def add_rows(self, table: str, count: int) -> None:
        if count:
            self.rows[table] += count

    def add_files(self, location: str, count: int) -> None:
        if count:
            self.files[location] += count

    def merge(self, other: "PurgeCounts") -> "PurgeCounts":
        self.rows.update(other.rows)
        self.files.update(other.files)
        return self

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def total_files(self) -> int:
        return sum(self.files.values())

    def as_metadata(self) -> dict:
        """The counts as plain dicts, sorted, for audit metadata and JSON."""
        return {
            "rows": dict(sorted(self.rows.items())),
            "files": dict(sorted(self.files.items())),
        }

    def __bool__(self) -> bool:
        return bool(self.total_rows or self.total_files)


# Records --------------------------------------------------------------------


def purge_records(
    organization: Organization | int,
    model: type[models.Model],
    ids_or_queryset: QuerySet | list[int] | tuple[int, ...] | set[int],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor=None,
) -> PurgeCounts:
    """Remove these rows of `model`, what cascades from them and their files.

    Given a queryset, each batch re-applies its filter under a row lock, so a
    row that stopped matching (a record restored meanwhile) is left alone;
    rows locked by someone else are skipped until the next run. Given ids, the
    ids that no longer exist are skipped. Each batch records a
    `record.purged` audit event with its counts (`actor` None is the system).
    Raises PurgeBlocked when a protecting row (a deal's stage) still points at
    a row to purge; the batches before it stay done.
    """
    organization_id = getattr(organization, "pk", organization)
    counts = PurgeCounts()
    if isinstance(ids_or_queryset, QuerySet):
        if ids_or_queryset.model is not model:
            raise TypeError(
                f"ids_or_queryset: a queryset of {ids_or_queryset.model._meta.label},"
                f" not of {model._meta.label}"
            )
        after = None
        while True:
            with org_context(organization_id):
                ids = _lock_next(ids_or_queryset, organization_id, after, batch_size)
                if not ids:
                    break
                after = ids[-1]
                counts.merge(_purge_audited(organization_id, model, ids, actor))
    else:
        wanted = sorted(set(ids_or_queryset))
        for start in range(0, len(wanted), batch_size):
            with org_context(organization_id):
                ids = _lock_existing(model, wanted[start : start + batch_size])
                if ids:
                    counts.merge(_purge_audited(organization_id, model, ids, actor))

    logger.info(
        "records purged",
        extra={
            "model": model._meta.label_lower,
            "rows": counts.total_rows,
            "files": counts.total_files,
        },
    )
    return counts


def preview_records(
    organization: Organization | int,
    queryset: QuerySet,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> PurgeCounts:
    """What `purge_records` would remove for this queryset, changing nothing:
    rows per table and files per location (file rows that name a file)."""
    organization_id = getattr(organization, "pk", organization)
    model = queryset.model
    counts = PurgeCounts()
    after = None
    while True:
        with org_context(organization_id):
            page = queryset.filter(organization_id=organization_id)
            if after is not None:
                page = page.filter(pk__gt=after)
            ids = list(page.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                return counts
            after = ids[-1]
            plan = _Plan()
            _plan_deletion(organization_id, model, ids, plan, seen=set())
            for step_model, step_ids in plan.delete:
                counts.add_rows(step_model._meta.db_table, len(step_ids))
                names = _file_names(organization_id, step_model, step_ids)
                for location, name in names:
                    counts.add_files(location, 1 if name else 0)


def _lock_next(queryset, organization_id: int, after, batch_size: int) -> list:
    """The next ids the queryset matches, locked; rows someone else holds are
    skipped until the next run."""
    page = queryset.filter(organization_id=organization_id)
    if after is not None:
        page = page.filter(pk__gt=after)
    return list(
        page.order_by("pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", flat=True)[:batch_size]
    )


def _lock_existing(model, ids: list[int]) -> list:
    return list(
        model._base_manager.filter(pk__in=ids)
        .order_by("pk")
        .select_for_update(of=("self",))
        .values_list("pk", flat=True)
    )


def _purge_audited(organization_id: int, model, ids, actor) -> "PurgeCounts":
    batch = _purge_batch(organization_id, model, ids)
    audit.record_event(
        Action.RECORD_PURGED,
        organization=organization_id,
        actor=actor,
        metadata={"model": model._meta.label_lower, **batch.as_metadata()},
    )
    return batch


@dataclass
class _Plan:
    """The statements of one batch: pointers to clear, then rows to delete."""

    clear: list[tuple[type[models.Model], str, list[int]]] = field(default_factory=list)
    delete: list[tuple[type[models.Model], list[int]]] = field(default_factory=list)


def _purge_batch(organization_id: int, model, ids: list[int]) -> PurgeCounts:
    """Purge rows already locked in the current transaction."""
    plan = _Plan()
    _plan_deletion(organization_id, model, ids, plan, seen=set())

    backups.record_replay_entry(
        "records.purge",
        organization_id=organization_id,
        model=model._meta.label_lower,
        ids=ids,
    )
    counts = PurgeCounts()
    for step_model, step_ids in plan.delete:
        _delete_files(organization_id, step_model, step_ids, counts)
    with connection.cursor() as cursor:
        for step_model, column, step_ids in plan.clear:
            table = connection.ops.quote_name(step_model._meta.db_table)
            cursor.execute(
                f"UPDATE {table} SET {column} = NULL"
                f" WHERE organization_id = %s AND {column} = ANY(%s)",
                [organization_id, step_ids],
            )
        for step_model, step_ids in plan.delete:
            meta = step_model._meta
            cursor.execute(
                f"DELETE FROM {connection.ops.quote_name(meta.db_table)}"
                f" WHERE organization_id = %s AND {meta.pk.column} = ANY(%s)",
                [organization_id, step_ids],
            )
            counts.add_rows(meta.db_table, cursor.rowcount)
    return counts


def _dependents(model):
    """Relations pointing at `model` from other rows: (model, field) pairs."""
    return [
        (relation.related_model, relation.field)
        for relation in model._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and (relation.one_to_many or relation.one_to_one)
    ]


def _plan_deletion(organization_id, model, ids, plan: _Plan, *, seen) -> None:
    """Children first: what cascades is deleted before the rows it hangs off."""
    key = (model, tuple(ids))
    if key in seen:
        return
    seen.add(key)

    for child, fk in _dependents(model):
        on_delete = fk.remote_field.on_delete
        if on_delete is models.DO_NOTHING:
            continue
        if on_delete is models.SET_NULL:
            # An UPDATE that matches nothing costs less than asking first.
            plan.clear.append((child, fk.column, ids))
            continue
        limit = None if on_delete is models.CASCADE else 1
        pointing = _pointing_ids(organization_id, child, fk, ids, limit=limit)
        if on_delete is models.CASCADE:
            if pointing:
                _plan_deletion(organization_id, child, pointing, plan, seen=seen)
        elif pointing:
            raise PurgeBlocked(
                f"{model._meta.label_lower}: rows are still referenced by"
                f" {child._meta.label_lower}.{fk.name}"
            )

    plan.delete.append((model, ids))


def _pointing_ids(organization_id, child, fk, ids, *, limit=None) -> list[int]:
    """Ids of the child's rows whose `fk` points at one of `ids`.

    One array parameter rather than a thousand placeholders: the statement
    stays small and its plan uses the (organization_id, fk) index.
    """
    meta = child._meta
    table = connection.ops.quote_name(meta.db_table)
    sql = (
        f"SELECT {meta.pk.column} FROM {table}"
        f" WHERE organization_id = %s AND {fk.column} = ANY(%s)"
        f" ORDER BY {meta.pk.column}"
    )
    params = [organization_id, ids]
    if limit is not None:
        sql += " LIMIT %s"
        params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _file_fields(model) -> dict[str, str]:
    declared = getattr(model, "stored_file_fields", None)
    if declared is not None:
        return dict(declared)
    names = {f.name for f in model._meta.concrete_fields}
    return {"storage_name": PRIVATE_STORAGE} if "storage_name" in names else {}


def _file_names(organization_id, model, ids):
    """(storage alias, file name) of every file the rows name."""
    file_fields = _file_fields(model)
    if not file_fields:
        return
    rows = model._base_manager.filter(
        organization_id=organization_id, pk__in=ids
    ).values_list(*file_fields)
    for values in rows:
        for name, location in zip(values, file_fields.values(), strict=True):
            yield location, name


def _delete_files(organization_id, model, ids, counts: PurgeCounts) -> None:
    for location, name in _file_names(organization_id, model, ids):
        if name and _delete_file(storages[location], name):
            counts.add_files(location, 1)


def _delete_file(storage, name: str) -> bool:
    # A file already gone (a rerun after a crash) is not an error.
    if not storage.exists(name):
        return False
    storage.delete(name)
    return True


# Organizations --------------------------------------------------------------


def organization_models() -> list[type[models.Model]]:
    """Every model with an organization column, children before parents.

    A table is emptied only after every table whose rows point at it, so each
    batch commits with its foreign keys satisfied.
    """
    found = [
        model
        for model in apps.get_models()
        if model._meta.managed
        and not model._meta.proxy
        and any(f.name == "organization" for f in model._meta.concrete_fields)
    ]
    ordered: list = []
    visiting: set = set()

    def visit(model):
        if model in ordered or model in visiting:
            return
        visiting.add(model)
        for child, _fk in _dependents(model):
            if child in found and child is not model:
                visit(child)
        visiting.discard(model)
        ordered.append(model)

    for model in sorted(found, key=lambda m: m._meta.label):
        visit(model)
    # Records name their owners through keys on (organization_id, user_id)
    # into memberships, which clear those columns when a membership goes:
    # memberships last, so that no record is updated just before it is deleted.
    ordered.sort(key=lambda model: model is Membership)
    return ordered


def purge_organization_data(organization: Organization | int) -> PurgeCounts:
    """Remove every row and file the organization has; verify nothing is left.

    Destroys the organization's data key first, so its files are unreadable
    wherever a copy lies even if the run stops early. Then deletes its files,
    its append-only tables through their owners' functions (the audit log, the
    consent ledger), the rows of every other organization table (batches, one
    transaction each) and the key row. Raises
    OrganizationNotEmpty when any table with an organization_id column still
    holds a row of it. The Organization row itself (name, slug, plan) stays
    for the caller to remove or keep. Rerunnable.
    """
    organization_id = getattr(organization, "pk", organization)
    backups.record_replay_entry("organization.purge", organization_id=organization_id)
    counts = PurgeCounts()

    with org_context(organization_id):
        # An organization that never stored a file has no key to destroy.
        if OrganizationKey.objects.filter(organization_id=organization_id).exists():
            destroy_organization_key(organization_id)
    with org_context(organization_id):
        removed = storages[PRIVATE_STORAGE].delete_organization_files()
    counts.add_files(PRIVATE_STORAGE, removed)

    # Append-only tables first: the consent ledger points at leads and
    # contacts, so it must be gone before they are.
    for label, owner_purge in _owner_purges():
        with org_context(organization_id):
            counts.add_rows(label, owner_purge(organization_id))

    for model in organization_models():
        if not _app_may_delete(model) or model is OrganizationKey:
            continue
        # Append-only tables (the consent ledger) are emptied by their owner's
        # function beforehand; the app role may not DELETE from them.
        if "DELETE" not in getattr(model, "app_role_privileges", ("DELETE",)):
            continue
        _clear_self_references(organization_id, model)
        counts.add_rows(model._meta.db_table, _empty_table(organization_id, model))

    with org_context(organization_id):
        deleted, _ = OrganizationKey.objects.filter(
            organization_id=organization_id
        ).delete()
        counts.add_rows(OrganizationKey._meta.db_table, deleted)

    leftovers = count_organization_rows(organization_id)
    if leftovers:
        raise OrganizationNotEmpty(
            f"organization {organization_id}: rows left in "
            + ", ".join(f"{table} ({n})" for table, n in sorted(leftovers.items()))
        )
    logger.info(
        "organization data purged",
        extra={"rows": counts.total_rows, "files": counts.total_files},
    )
    return counts


def _owner_purges():
    """The owners' functions that empty the append-only tables of an
    organization, which the app role may not DELETE from: (label, function)."""
    from compliance.services.consent import purge_organization_consent

    return [
        ("audit_auditentry", audit.purge_organization_log),
        ("compliance_consentevent+compliance_suppression", purge_organization_consent),
    ]


def _app_may_delete(model) -> bool:
    return "DELETE" in getattr(model, "app_role_privileges", ("DELETE",))


def _clear_self_references(organization_id: int, model) -> None:
    """Rows of a table pointing at rows of the same table (a parent company)
    would stop a batch from committing when their target goes in an earlier
    batch: clear those pointers first."""
    columns = [
        fk.column for child, fk in _dependents(model) if child is model and fk.null
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    for column in columns:
        with org_context(organization_id), connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {column} = NULL"
                f" WHERE organization_id = %s AND {column} IS NOT NULL",
                [organization_id],
            )


def _empty_table(
    organization_id: int, model, *, batch_size: int = DEFAULT_BATCH_SIZE * 5
) -> int:
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    pk = meta.pk.column
    total = 0
    while True:
        with org_context(organization_id), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {table} WHERE organization_id = %s AND {pk} IN ("
                f" SELECT {pk} FROM {table} WHERE organization_id = %s"
                f" ORDER BY {pk} LIMIT %s)",
                [organization_id, organization_id, batch_size],
            )
            deleted = cursor.rowcount
        total += deleted
        if deleted < batch_size:
            return total


def count_organization_rows(organization_id: int) -> dict[str, int]:
    """Rows of the organization in every table that has an organization_id
    column, as the database lists them (not only Django's models); the tables
    holding none are left out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name FROM information_schema.columns c"
            " JOIN information_schema.tables t"
            " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema = current_schema()"
            " AND c.column_name = 'organization_id' AND t.table_type = 'BASE TABLE'"
            " ORDER BY c.table_name"
        )
        tables = [row[0] for row in cursor.fetchall()]
    found = {}
    with org_context(organization_id), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT count(*) FROM {connection.ops.quote_name(table)}"
                " WHERE organization_id = %s",
                [organization_id],
            )
            count = cursor.fetchone()[0]
            if count:
                found[table] = count
    return found
