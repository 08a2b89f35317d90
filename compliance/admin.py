"""Admin Panel: data-subject requests, subject exports, erasure receipts, the
export of the whole organization; retention settings, the account's
cancellation or reactivation, and legal holds; the DPA request and the
sub-processor change notices."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from clozup import services as clozup_services
from clozup.admin import (
    OrganizationModelAdmin,
    ReadOnlyOrganizationModelAdmin,
    ReauthenticatedAdminMixin,
)
from clozup.decorators import allowed_while_read_only
from clozup.models import Membership
from clozup.signin.admin import SingletonAdminMixin
from clozup.signin.decorators import require_recent_authentication
from compliance import forms as compliance_forms
from compliance import selectors
from compliance.forms import LegalHoldForm, RetentionSettingsForm
from compliance.models import (
    NEARING_DAYS,
    ConsentEvent,
    DataSubjectRequest,
    DataSubjectRequestEvent,
    DpaRequest,
    ErasureReceipt,
    LegalHold,
    RetentionSettings,
    SubjectExport,
    SubProcessorNoticeSubscription,
)
from compliance.services import erasure, exports, lifecycle, org_export, transparency
from compliance.services import requests as services
from compliance.services import retention as retention_services


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


@admin.register(SubjectExport)
class SubjectExportAdmin(ReadOnlyOrganizationModelAdmin):
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
class ErasureReceiptAdmin(ReadOnlyOrganizationModelAdmin):
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


# Retention --------------------------------------------------------------------


ENTERPRISE_ONLY_HELP = "Enterprise plan: custom terms are negotiated with Clozup."


def _is_owner(request) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role == Membership.Role.OWNER


@admin.register(RetentionSettings)
class RetentionSettingsAdmin(
    ReauthenticatedAdminMixin, SingletonAdminMixin, OrganizationModelAdmin
):
    form = RetentionSettingsForm
    fields = RetentionSettingsForm.Meta.fields
    change_form_template = "compliance/admin/retention_change_form.html"

    def get_or_create_for(self, organization):
        row, _ = RetentionSettings.objects.get_or_create(organization=organization)
        return row

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if request.organization.plan != request.organization.Plan.ENTERPRISE:
            for name in retention_services.ENTERPRISE_TERMS:
                form.base_fields[name].disabled = True
                form.base_fields[name].help_text = ENTERPRISE_ONLY_HELP
        return form

    def save_model(self, request, obj, form, change):
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        retention_services.save_retention_settings(
            request.organization, changes=changes, actor=request.user, request=request
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        organization = request.organization
        now = timezone.now()
        waiting = selectors.list_waiting(organization, now=now)
        context = {
            "retention_table": selectors.get_effective_table(organization),
            "waiting": [
                {
                    "rule": item.rule,
                    "age_days": item.age_days(now),
                    "days_to_deadline": (item.deadline - now).total_seconds() / 86400,
                    "late": item.is_late(now),
                }
                for item in waiting
            ],
            "active_holds": list(selectors.list_active_holds(organization)),
            "purge_due_at": lifecycle.purge_due_at(organization),
            "is_owner": _is_owner(request),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "account/cancel/",
                wrap(self.cancel_view),
                name="compliance_retentionsettings_cancel",
            ),
            path(
                "account/reactivate/",
                allowed_while_read_only(wrap(self.reactivate_view)),
                name="compliance_retentionsettings_reactivate",
            ),
            *super().get_urls(),
        ]

    def cancel_view(self, request):
        return _change_account(request, clozup_services.cancel_organization)

    def reactivate_view(self, request):
        return _change_account(request, clozup_services.reactivate_organization)


@require_POST
def _change_account(request, change):
    """Cancel or reactivate: owners only, after a recent sign-in."""
    if not _is_owner(request):
        raise PermissionDenied("Only an owner can cancel or reactivate.")
    require_recent_authentication(request)
    try:
        change(request.organization, actor=request.user, request=request)
    except (
        clozup_services.OrganizationAlreadyCancelled,
        clozup_services.OrganizationNotCancelled,
        clozup_services.GracePeriodOver,
    ) as error:
        messages.error(request, str(error))
    else:
        if request.organization.is_active:
            messages.success(request, "The organization is active again.")
        else:
            due = lifecycle.purge_due_at(request.organization)
            messages.warning(
                request,
                "The organization is cancelled and read-only. Everything in it"
                f" will be deleted on {due:%d %B %Y} unless an owner reactivates"
                " it before then.",
            )
    return HttpResponseRedirect(
        reverse("admin:compliance_retentionsettings_changelist")
    )


@admin.register(LegalHold)
class LegalHoldAdmin(ReauthenticatedAdminMixin, OrganizationModelAdmin):
    form = LegalHoldForm
    list_display = ("__str__", "scope", "covers", "reason", "placed_at", "status")
    list_filter = ("scope",)
    readonly_fields = ("placed_by", "placed_at", "released_by", "released_at")
    actions = ["release_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("released_at", "-placed_at")

    @admin.display(description="Covers")
    def covers(self, hold):
        if hold.scope == LegalHold.Scope.RECORD:
            return f"{hold.record_type} #{hold.record_id}"
        if hold.scope == LegalHold.Scope.PERSON:
            return f"address hash {hold.address_hash[:12]}…"
        return "everything"

    @admin.display(description="Status")
    def status(self, hold):
        return "active" if hold.is_active else f"released {hold.released_at:%Y-%m-%d}"

    def has_change_permission(self, request, obj=None):
        # A hold is placed or released, never edited.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        if obj is None:
            return LegalHoldForm.Meta.fields
        return ("scope", "record_type", "record_id", "reason", *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            placed = retention_services.place_legal_hold(
                request.organization,
                scope=data["scope"],
                reason=data["reason"],
                email=data.get("email") or "",
                record_type=data.get("record_type") or "",
                record_id=data.get("record_id"),
                actor=request.user,
                request=request,
            )
        except retention_services.LegalHoldInvalid as error:
            raise PermissionDenied(str(error)) from None
        obj.pk = placed.pk

    def delete_model(self, request, obj):
        raise PermissionDenied("Legal holds are released, not deleted.")

    @admin.action(description="Release the selected holds")
    def release_selected(self, request, queryset):
        released = 0
        for hold in queryset.filter(released_at__isnull=True):
            retention_services.release_legal_hold(
                hold, actor=request.user, request=request
            )
            released += 1
        messages.success(request, f"{released} hold(s) released.")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        actions.pop("restore_selected", None)
        return actions


@admin.register(DpaRequest)
class DpaRequestAdmin(OrganizationModelAdmin):
    """Paid plans request a data processing agreement here; Clozup's privacy
    team is told and sends it for signature. A request is not edited."""

    list_display = ("created_at", "legal_name", "status", "requested_by")
    fields = (
        "legal_name",
        "company_address",
        "signatory_name",
        "signatory_title",
        "signatory_email",
        "status",
    )
    readonly_fields = ("status",)

    def has_add_permission(self, request):
        organization = getattr(request, "organization", None)
        paid = organization is not None and organization.plan in transparency.PAID_PLANS
        return paid and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied("a DPA request is not edited")
        fields = {name: form.cleaned_data[name] for name in self.fields[:-1]}
        try:
            saved = transparency.request_dpa(
                request.organization, actor=request.user, **fields
            )
        except transparency.DpaNeedsPaidPlan as error:
            raise PermissionDenied(str(error)) from None
        obj.pk = saved.pk
        messages.info(request, "We will send the DPA for signature to the signatory.")


@admin.register(SubProcessorNoticeSubscription)
class SubProcessorNoticeAdmin(OrganizationModelAdmin):
    """Adding the entry opts the organization's admins in to an email when the
    sub-processor list changes; deleting it opts them out."""

    list_display = ("__str__", "created_by", "created_at")
    # The entry has nothing to fill in: who asked is the admin who adds it.
    exclude = ("organization", "created_by")

    def has_add_permission(self, request):
        existing = SubProcessorNoticeSubscription.objects.exists()
        return not existing and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        transparency.set_sub_processor_notices(
            request.organization, subscribed=True, actor=request.user
        )
        obj.pk = SubProcessorNoticeSubscription.objects.get().pk

    def delete_model(self, request, obj):
        transparency.set_sub_processor_notices(
            request.organization, subscribed=False, actor=request.user
        )

    def delete_queryset(self, request, queryset):
        self.delete_model(request, None)


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyOrganizationModelAdmin):
    """The organization's consent ledger, read only: events are added by the
    services (forms, imports, unsubscribe links, admins on a record's page)."""

    list_display = (
        "occurred_at",
        "channel",
        "purpose",
        "action",
        "lawful_basis",
        "source",
        "lead",
        "contact",
        "actor_type",
    )
    list_filter = ("channel", "purpose", "action", "source")
    fields = (
        "address_hash",
        "lead",
        "contact",
        "channel",
        "purpose",
        "action",
        "lawful_basis",
        "source",
        "occurred_at",
        "text_shown",
        "actor_type",
        "actor_id",
        "actor_label",
        "recorded_at",
    )
    readonly_fields = fields
    list_select_related = ("lead", "contact")
