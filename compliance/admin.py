"""Admin Panel: data-subject requests, subject exports, erasure receipts, and the
export of the whole organization."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from clozup.admin import OrganizationModelAdmin, ReauthenticatedAdminMixin
from clozup.signin.decorators import require_recent_authentication
from compliance import forms as compliance_forms
from compliance.models import (
    NEARING_DAYS,
    DataSubjectRequest,
    DataSubjectRequestEvent,
    ErasureReceipt,
    SubjectExport,
)
from compliance.services import erasure, exports, org_export
from compliance.services import requests as services


class DeadlineFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return (
            ("overdue", "Overdue"),
            ("nearing", f"Due within {NEARING_DAYS} days"),
            ("attention", "Overdue or due soon"),
        )

    def queryset(self, request, queryset):
        now = timezone.now()
        soon = now + timedelta(days=NEARING_DAYS)
        open_requests = queryset.filter(
            status__in=[
                DataSubjectRequest.Status.RECEIVED,
                DataSubjectRequest.Status.IN_PROGRESS,
            ]
        )
        if self.value() == "overdue":
            return open_requests.filter(due_at__lt=now)
        if self.value() == "nearing":
            return open_requests.filter(due_at__gte=now, due_at__lte=soon)
        if self.value() == "attention":
            return open_requests.filter(due_at__lte=soon)
        return queryset


class HistoryInline(admin.TabularInline):
    model = DataSubjectRequestEvent
    fk_name = "request"
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "from_status", "to_status", "who", "metadata")
    readonly_fields = fields
    ordering = ("created_at", "id")
    verbose_name = "history entry"
    verbose_name_plural = "history"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="By")
    def who(self, event):
        if event.actor_id:
            return event.actor.email
        return event.actor_label or "the person (public form)"


class RequestAddForm(forms.ModelForm):
    class Meta:
        model = DataSubjectRequest
        fields = (
            "kind",
            "email",
            "phone",
            "details",
            "received_at",
            "verification_method",
        )

    def clean_email(self):
        email = self.cleaned_data["email"]
        if not email:
            raise forms.ValidationError("email: the person's address is needed")
        return email


class RequestChangeForm(forms.ModelForm):
    class Meta:
        model = DataSubjectRequest
        fields = ("status", "verification_method")


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ReauthenticatedAdminMixin, OrganizationModelAdmin):
    list_display = (
        "__str__",
        "status",
        "channel",
        "received_at",
        "due_at",
        "deadline",
        "verified",
    )
    list_filter = (DeadlineFilter, "status", "kind", "channel")
    search_fields = ("=email", "=id")
    ordering = ("status", "due_at")
    inlines = (HistoryInline,)
    actions = ("export_subject", "erase_subject")
    change_list_template = "compliance/admin/datasubjectrequest_change_list.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = RequestChangeForm if obj is not None else RequestAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return RequestAddForm.Meta.fields
        return (
            "kind",
            "email",
            "phone",
            "details",
            "channel",
            "received_at",
            "due_at",
            "status",
            "verification_method",
            "verified_at",
            "verified_by",
            "closed_at",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        editable = {"status"} if obj.is_open else set()
        if obj.is_open and not obj.is_verified:
            editable.add("verification_method")
        return [f for f in self.get_fields(request, obj) if f not in editable]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = services.record_request(
                request.organization,
                kind=data["kind"],
                email=data["email"],
                phone=data.get("phone") or "",
                details=data.get("details") or "",
                received_at=data.get("received_at"),
                verification_method=data.get("verification_method") or "",
                actor=request.user,
                request=request,
            )
            obj.pk = created.pk
            return
        stored = DataSubjectRequest.objects.get(pk=obj.pk)
        if "verification_method" in form.changed_data and data["verification_method"]:
            stored = services.verify_identity(
                stored,
                method=data["verification_method"],
                actor=request.user,
                request=request,
            )
        if "status" in form.changed_data:
            try:
                services.change_status(
                    stored, status=data["status"], actor=request.user, request=request
                )
            except (ValueError, services.RequestClosed) as error:
                messages.error(request, str(error))

    def save_related(self, request, form, formsets, change):
        # The history is written by the services only.
        return None

    def has_delete_permission(self, request, obj=None):
        # A request is a record of what was asked and answered; it stays.
        return False

    @admin.display(description="Deadline")
    def deadline(self, dsr):
        if not dsr.is_open:
            return "closed"
        days = (dsr.due_at - timezone.now()).days
        if days < 0:
            return format_html(
                '<strong class="overdue">overdue by {} days</strong>', -days
            )
        if days <= NEARING_DAYS:
            return format_html("<strong>{} days left</strong>", days)
        return f"{days} days left"

    @admin.display(description="Identity verified", boolean=True)
    def verified(self, dsr):
        return dsr.is_verified

    @admin.action(description="Export the subject's data (zip, for you to download)")
    def export_subject(self, request, queryset):
        started = 0
        for dsr in queryset:
            if not dsr.email or not dsr.is_verified:
                messages.warning(
                    request,
                    f"{dsr}: verify the identity (and keep the address) first.",
                )
                continue
            exports.request_subject_export(
                request.organization,
                email=dsr.email,
                phone=dsr.phone,
                actor=request.user,
                dsr=dsr,
                request=request,
            )
            started += 1
        if started:
            messages.success(
                request,
                f"{started} export(s) started; find them under Subject exports.",
            )

    @admin.action(description="Erase the subject everywhere (asks to confirm)")
    def erase_subject(self, request, queryset):
        dsr_list = list(queryset)
        if len(dsr_list) != 1:
            messages.error(request, "Erase one request's subject at a time.")
            return None
        dsr = dsr_list[0]
        if not dsr.email or not dsr.is_verified:
            messages.error(request, f"{dsr}: verify the identity first.")
            return None
        if request.POST.get("confirmed") != "yes":
            plan = erasure.plan_subject_erasure(
                request.organization, email=dsr.email, phone=dsr.phone
            )
            return render(
                request,
                "compliance/admin/confirm_erasure.html",
                {
                    **self.admin_site.each_context(request),
                    "title": "Erase the subject?",
                    "dsr": dsr,
                    "plan": plan.as_dict(),
                    "action": "erase_subject",
                    "selected": [dsr.pk],
                },
            )
        try:
            receipt = erasure.erase_subject(
                request.organization,
                email=dsr.email,
                phone=dsr.phone,
                actor=request.user,
                dsr=dsr,
                request=request,
            )
        except erasure.NothingToErase:
            messages.warning(request, f"{dsr}: nothing here holds this address.")
            return None
        url = reverse("admin:compliance_erasurereceipt_change", args=[receipt.pk])
        return redirect(url)

    def get_urls(self):
        extra = [
            path(
                "organization-export/",
                self.admin_site.admin_view(self.organization_export_view),
                name="compliance_organization_export",
            )
        ]
        return extra + super().get_urls()

    def organization_export_view(self, request):
        """Owners and admins download the whole organization, streamed."""
        form = compliance_forms.OrganizationExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            require_recent_authentication(request)
            export_format = form.cleaned_data["format"]
            chunks = org_export.stream_organization_export(
                request.organization,
                export_format=export_format,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
            response = StreamingHttpResponse(chunks, content_type="application/zip")
            stamp = timezone.now().strftime("%Y%m%d-%H%M")
            filename = f"{request.organization.slug}-{stamp}-{export_format}.zip"
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        return render(
            request,
            "compliance/admin/organization_export.html",
            {
                **self.admin_site.each_context(request),
                "title": "Export the organization's data",
                "form": form,
            },
        )


class ReadOnlyAdmin(OrganizationModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SubjectExport)
class SubjectExportAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "request", "status", "created_at", "expires_at", "link")
    list_filter = ("status",)
    fields = (
        "request",
        "requested_by",
        "status",
        "counts",
        "size",
        "created_at",
        "finished_at",
        "expires_at",
        "downloaded_at",
        "link",
    )
    readonly_fields = fields

    @admin.display(description="Download")
    def link(self, export):
        if export.status != SubjectExport.Status.READY:
            return "-"
        url = reverse("compliance:export-download", args=[export.public_id])
        return format_html('<a href="{}">Open the download page</a>', url)


@admin.register(ErasureReceipt)
class ErasureReceiptAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "scope", "request", "created_at", "operator", "totals")
    list_filter = ("scope",)
    fields = ("scope", "request", "created_at", "operator", "reason", "rows", "files")
    readonly_fields = fields

    @admin.display(description="Operator")
    def operator(self, receipt):
        return receipt.actor.email if receipt.actor_id else receipt.actor_label

    @admin.display(description="Removed")
    def totals(self, receipt):
        return f"{receipt.total_rows} rows, {receipt.total_files} files"
