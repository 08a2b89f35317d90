"""Admin Panel: the DPA request and the sub-processor change notices."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from clozup.admin import OrganizationModelAdmin

from .models import ConsentEvent, DpaRequest, SubProcessorNoticeSubscription
from .services import transparency as services


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
        paid = organization is not None and organization.plan in services.PAID_PLANS
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
            saved = services.request_dpa(
                request.organization, actor=request.user, **fields
            )
        except services.DpaNeedsPaidPlan as error:
            raise PermissionDenied(str(error)) from None
        obj.pk = saved.pk
        messages.info(request, "We will send the DPA for signature to the signatory.")


@admin.register(SubProcessorNoticeSubscription)
class SubProcessorNoticeAdmin(OrganizationModelAdmin):
    """Adding the entry opts the organization's admins in to an email when the
    sub-processor list changes; deleting it opts them out."""

    list_display = ("__str__", "created_by", "created_at")
    fields = ()

    def has_add_permission(self, request):
        existing = SubProcessorNoticeSubscription.objects.exists()
        return not existing and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.set_sub_processor_notices(
            request.organization, subscribed=True, actor=request.user
        )
        obj.pk = SubProcessorNoticeSubscription.objects.get().pk

    def delete_model(self, request, obj):
        services.set_sub_processor_notices(
            request.organization, subscribed=False, actor=request.user
        )

    def delete_queryset(self, request, queryset):
        self.delete_model(request, None)


@admin.register(ConsentEvent)
class ConsentEventAdmin(OrganizationModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
