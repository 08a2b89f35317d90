from datetime import date

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import OuterRef, Subquery
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone

from clozup.admin import ReadOnlyOrganizationModelAdmin
from clozup.lib.csv import csv_rows
from clozup.models import Membership, User

from .models import AuditEntry

EXPORT_COLUMNS = (
    "seq",
    "created_at",
    "actor_type",
    "actor_id",
    "actor_email",
    "actor_label",
    "ip",
    "user_agent",
    "request_id",
    "action",
    "target_type",
    "target_id",
    "metadata",
    "hash",
)


class DateRangeFilter(admin.ListFilter):
    """Entries from one date to another, both inclusive (`?from=...&to=...`)."""

    title = "date range"
    template = "audit/admin/date_range_filter.html"
    parameters = ("from", "to")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.values = {}
        for name in self.parameters:
            raw = params.pop(name, [""])
            raw = raw[-1] if isinstance(raw, list) else raw
            try:
                self.values[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                raise IncorrectLookupParameters(
                    f"{name}: {raw!r} is not a date (YYYY-MM-DD)"
                ) from None
        self.other_params = {
            key: value[-1] if isinstance(value, list) else value
            for key, value in request.GET.lists()
            if key not in self.parameters
        }

    def has_output(self):
        return True

    def expected_parameters(self):
        return list(self.parameters)

    def choices(self, changelist):
        return []

    def queryset(self, request, queryset):
        if self.values["from"]:
            queryset = queryset.filter(created_at__date__gte=self.values["from"])
        if self.values["to"]:
            queryset = queryset.filter(created_at__date__lte=self.values["to"])
        return queryset


class ActorFilter(admin.SimpleListFilter):
    """A member of this organization, the support operators, or the system."""

    title = "actor"
    parameter_name = "actor"

    def lookups(self, request, model_admin):
        members = Membership.objects.select_related("user").order_by("user__email")
        return [
            ("system", "System jobs"),
            ("operator", "Support operators"),
            *((str(m.user_id), m.user.email) for m in members),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value in ("system", "operator"):
            return queryset.filter(actor_type=value)
        if value and value.isdigit():
            return queryset.filter(actor_type="user", actor_id=int(value))
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyOrganizationModelAdmin):
    list_display = ("seq", "created_at", "actor", "action", "target", "ip")
    list_filter = (DateRangeFilter, ActorFilter, "action", "target_type")
    search_fields = ("=target_id", "=request_id", "=actor_id")
    ordering = ("-seq",)
    list_per_page = 100
    show_full_result_count = False
    change_list_template = "audit/admin/auditentry_change_list.html"
    readonly_fields = [field for field in EXPORT_COLUMNS if field != "actor_email"]
    fields = readonly_fields

    def get_queryset(self, request):
        actor_email = User.objects.filter(pk=OuterRef("actor_id")).values("email")
        return super().get_queryset(request).annotate(actor_email=Subquery(actor_email))

    @admin.display(description="Actor")
    def actor(self, entry):
        return entry.actor_email or entry.actor_label or f"user {entry.actor_id}"

    @admin.display(description="Target")
    def target(self, entry):
        return f"{entry.target_type} {entry.target_id}".strip()

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_csv)
        return [
            path("export.csv", export, name="audit_auditentry_export"),
            *super().get_urls(),
        ]

    def export_csv(self, request):
        """The entries the current filters select, as CSV, streamed."""
        changelist = self.get_changelist_instance(request)
        entries = changelist.get_queryset(request).order_by("seq")

        def rows():
            yield EXPORT_COLUMNS
            for entry in entries.iterator(chunk_size=2000):
                yield [getattr(entry, column) for column in EXPORT_COLUMNS]

        response = StreamingHttpResponse(csv_rows(rows()), content_type="text/csv")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = (
            f'attachment; filename="audit-log-{stamp}.csv"'
        )
        return response
