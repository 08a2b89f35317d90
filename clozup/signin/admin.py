"""Admin Panel pages for an organization's sign-in rules.

Every change here (and to members' roles) asks for a recent authentication
first: see `clozup.signin.decorators`.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from clozup.admin import OrganizationModelAdmin, ReauthenticatedAdminMixin
from clozup.signin import services
from clozup.signin.forms import IdentityProviderForm, SecurityPolicyForm, SSODomainForm
from clozup.signin.models import IdentityProvider, SecurityPolicy, SSODomain


def _is_enterprise_admin(model_admin, request) -> bool:
    """Single sign-on is an Enterprise feature: other plans do not see it."""
    organization = getattr(request, "organization", None)
    return (
        model_admin.admin_site.has_permission(request)
        and organization is not None
        and organization.plan == organization.Plan.ENTERPRISE
    )


class SingletonAdminMixin:
    """One row per organization: the list page opens that row's form."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":
            return super().changelist_view(request, extra_context)
        if not self.has_view_permission(request):
            raise PermissionDenied
        obj = self.get_or_create_for(request.organization)
        info = (self.model._meta.app_label, self.model._meta.model_name)
        return HttpResponseRedirect(
            reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
        )


@admin.register(SecurityPolicy)
class SecurityPolicyAdmin(
    ReauthenticatedAdminMixin, SingletonAdminMixin, OrganizationModelAdmin
):
    form = SecurityPolicyForm
    fields = ("require_mfa", "idle_timeout_minutes", "session_lifetime_hours")

    def get_or_create_for(self, organization):
        policy, _ = SecurityPolicy.objects.get_or_create(organization=organization)
        return policy

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if request.organization.plan != request.organization.Plan.ENTERPRISE:
            form.base_fields["require_mfa"].disabled = True
            form.base_fields["require_mfa"].help_text = (
                "Available on the Enterprise plan. Members may still turn on "
                "two-factor authentication for themselves."
            )
        return form

    def save_model(self, request, obj, form, change):
        services.save_security_settings(
            obj, changed=form.changed_data, actor=request.user, request=request
        )


@admin.register(IdentityProvider)
class IdentityProviderAdmin(
    ReauthenticatedAdminMixin, SingletonAdminMixin, OrganizationModelAdmin
):
    form = IdentityProviderForm
    fieldsets = (
        (None, {"fields": ("protocol", "is_active", "default_role")}),
        (
            "SAML",
            {
                "fields": (
                    "saml_metadata_xml",
                    "saml_metadata_url",
                    "saml_entity_id",
                    "saml_sso_url",
                    "saml_certificate",
                ),
                "description": (
                    "Give the metadata (XML or URL), or the entity id, sign-in URL "
                    "and certificate. Your provider needs this service's metadata, "
                    "at /accounts/saml/&lt;your organization's slug&gt;/metadata/."
                ),
            },
        ),
        (
            "OpenID Connect",
            {"fields": ("oidc_server_url", "oidc_client_id", "oidc_client_secret")},
        ),
    )

    def get_or_create_for(self, organization):
        provider, _ = IdentityProvider.objects.get_or_create(organization=organization)
        return provider

    def save_model(self, request, obj, form, change):
        services.save_security_settings(
            obj, changed=form.changed_data, actor=request.user, request=request
        )

    def has_module_permission(self, request):
        return _is_enterprise_admin(self, request)

    def has_view_permission(self, request, obj=None):
        return _is_enterprise_admin(self, request)

    def has_change_permission(self, request, obj=None):
        return _is_enterprise_admin(self, request)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(SSODomain)
class SSODomainAdmin(ReauthenticatedAdminMixin, OrganizationModelAdmin):
    form = SSODomainForm
    list_display = ("domain", "verified", "dns_record_name", "dns_record_value")
    readonly_fields = ("dns_record_name", "dns_record_value", "verified_at")
    actions = ["verify_domains"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.organization = request.organization
        services.save_security_settings(
            obj, changed=form.changed_data, actor=request.user, request=request
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("domain",)
        return ("domain", "dns_record_name", "dns_record_value", "verified_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("domain", *self.readonly_fields)

    def has_module_permission(self, request):
        return _is_enterprise_admin(self, request)

    def has_view_permission(self, request, obj=None):
        return _is_enterprise_admin(self, request)

    def has_add_permission(self, request):
        return _is_enterprise_admin(self, request)

    def has_change_permission(self, request, obj=None):
        return _is_enterprise_admin(self, request)

    def has_delete_permission(self, request, obj=None):
        return _is_enterprise_admin(self, request)

    @admin.display(boolean=True, description="Verified")
    def verified(self, domain):
        return domain.is_verified

    @admin.action(description="Check the DNS record of the selected domains")
    def verify_domains(self, request, queryset):
        verified = 0
        with transaction.atomic():
            for domain in queryset:
                verified += services.verify_sso_domain(
                    domain, actor=request.user, request=request
                )
        level = messages.SUCCESS if verified == queryset.count() else messages.WARNING
        self.message_user(
            request,
            f"{verified} of {queryset.count()} domains verified. Publish the TXT "
            "record shown for each domain, then check again.",
            level,
        )
