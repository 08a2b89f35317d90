"""The sales records in the Admin Panel, for owners and admins.

Reps work in the web UI; admins use these pages to find, correct, delete and
restore any record of their organization.
"""

from django.contrib import admin, messages
from django.shortcuts import render

from clozup.admin import OrganizationModelAdmin
from compliance.services import erasure

from .models import Company, Contact, Deal, Lead


class DeletedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("live", "Live"), ("deleted", "Deleted, awaiting purge"))

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.live()
        if self.value() == "deleted":
            return queryset.deleted()
        return queryset


class EraseRecordMixin:
    """An action erasing the selected people for good, after a confirmation."""

    @admin.action(description="Erase for good (GDPR erasure; asks to confirm)")
    def erase_permanently(self, request, queryset):
        records = list(queryset)
        kind = self.model._meta.verbose_name
        if request.POST.get("confirmed") != "yes":
            return render(
                request,
                "compliance/admin/confirm_erasure.html",
                {
                    **self.admin_site.each_context(request),
                    "title": f"Erase {len(records)} {kind}(s)?",
                    "plan": {
                        self.model._meta.verbose_name_plural: len(records),
                        "their activities, files and exports": "all",
                    },
                    "action": "erase_permanently",
                    "selected": [record.pk for record in records],
                },
            )
        receipts = [
            erasure.erase_record(record, actor=request.user, request=request)
            for record in records
        ]
        ids = ", ".join(str(receipt.pk) for receipt in receipts)
        messages.success(
            request, f"{len(receipts)} erased; erasure receipts {ids} are kept."
        )
        return None


@admin.register(Lead)
class LeadAdmin(EraseRecordMixin, OrganizationModelAdmin):
    list_display = (
        "__str__",
        "email",
        "company_name",
        "status",
        "source",
        "deleted_at",
    )
    list_filter = (DeletedFilter, "status", "source")
    search_fields = ("first_name", "last_name", "email", "company_name")
    show_full_result_count = False
    raw_id_fields = ("company", "contact")
    exclude = ("organization", "owner", "details")
    actions = ("erase_permanently",)


@admin.register(Contact)
class ContactAdmin(EraseRecordMixin, OrganizationModelAdmin):
    list_display = ("__str__", "email", "company", "deleted_at")
    list_filter = (DeletedFilter,)
    search_fields = ("first_name", "last_name", "email")
    show_full_result_count = False
    raw_id_fields = ("company",)
    exclude = ("organization", "owner")
    actions = ("erase_permanently",)


@admin.register(Company)
class CompanyAdmin(OrganizationModelAdmin):
    list_display = ("name", "website", "industry", "country", "deleted_at")
    list_filter = (DeletedFilter, "country")
    search_fields = ("name", "website")
    show_full_result_count = False
    raw_id_fields = ("parent",)
    exclude = ("organization", "owner")


@admin.register(Deal)
class DealAdmin(OrganizationModelAdmin):
    list_display = ("title", "amount", "currency", "stage", "expected_close_date")
    list_filter = (DeletedFilter, "stage", "currency")
    search_fields = ("title",)
    show_full_result_count = False
    raw_id_fields = ("company", "contact", "lead", "product")
    exclude = ("organization", "owner")
