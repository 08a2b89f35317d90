"""Admin Panel pages for retention: the effective table and the organization's
overrides, the account's cancellation or reactivation, and legal holds."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from clozup import services as clozup_services
from clozup.admin import OrganizationModelAdmin, ReauthenticatedAdminMixin
from clozup.decorators import allowed_while_read_only
from clozup.models import Membership
from clozup.signin.admin import SingletonAdminMixin
from clozup.signin.decorators import require_recent_authentication
from compliance import selectors
from compliance.forms import LegalHoldForm, RetentionSettingsForm
from compliance.models import LegalHold, RetentionSettings
from compliance.services import lifecycle
from compliance.services import retention as retention_services

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
