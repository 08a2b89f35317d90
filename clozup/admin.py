"""Admin Panel registrations for accounts: members and their roles;
integration credentials and webhooks."""

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from audit import services as audit
from audit.actions import Action
from clozup import integrations, invitations, services
from clozup.models import (
    IntegrationCredential,
    Membership,
    WebhookDelivery,
    WebhookEndpoint,
)
from clozup.signin import services as signin_services
from clozup.signin.decorators import require_recent_authentication

TIMESTAMP_FIELDS = {"created_at", "updated_at", "deleted_at", "converted_at"}


class OrganizationModelAdmin(admin.ModelAdmin):
    """Admin for a model of the current organization.

    Permissions come from the member's role, not from Django's per-user
    permissions; new rows get the current organization. Django's own admin
    log (`LogEntry`) is not written: it would keep record names outside any
    organization's RLS. The audit log records admin changes instead.
    """

    exclude = ("organization",)

    def _is_org_admin(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def has_module_permission(self, request):
        return self._is_org_admin(request)

    def has_view_permission(self, request, obj=None):
        return self._is_org_admin(request)

    def has_add_permission(self, request):
        return self._is_org_admin(request)

    def has_change_permission(self, request, obj=None):
        return self._is_org_admin(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_org_admin(request)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        if not change:
            obj.organization = request.organization
        super().save_model(request, obj, form, change)
        audit.record_event(
            Action.RECORD_UPDATED if change else Action.RECORD_CREATED,
            organization=request.organization,
            actor=request.user,
            target=obj,
            metadata={"fields": sorted(form.changed_data), "via": "admin"},
            request=request,
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._offer_members_only(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._offer_members_only(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    @staticmethod
    def _offer_members_only(db_field, request, kwargs) -> None:
        # People are not rows of one organization, so row-level security does
        # not narrow them: a choice of user offers this organization's members.
        user_model = get_user_model()
        if db_field.related_model is user_model and "queryset" not in kwargs:
            kwargs["queryset"] = user_model.objects.filter(
                memberships__organization=request.organization
            )

    def get_readonly_fields(self, request, obj=None):
        # Timestamps record what happened; nobody edits them by hand.
        stamps = [
            field.name
            for field in self.model._meta.fields
            if field.name in TIMESTAMP_FIELDS
        ]
        return [*super().get_readonly_fields(request, obj), *stamps]

    def _soft_deletes(self) -> bool:
        return any(field.name == "deleted_at" for field in self.model._meta.fields)

    @transaction.atomic
    def delete_model(self, request, obj):
        # Records with `deleted_at` are hidden now and purged later by the
        # retention job; the others go at once.
        self._record_deletion(request, obj)
        if self._soft_deletes():
            obj.deleted_at = timezone.now()
            obj.save(update_fields=["deleted_at"])
        else:
            super().delete_model(request, obj)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if self._soft_deletes() and self.has_change_permission(request):
            restore = type(self).restore_selected
            actions["restore_selected"] = (
                restore,
                "restore_selected",
                restore.short_description,
            )
        return actions

    @admin.action(description="Restore the selected deleted records")
    def restore_selected(self, request, queryset):
        restored = 0
        with transaction.atomic():
            for obj in queryset.filter(deleted_at__isnull=False):
                obj.deleted_at = None
                obj.save(update_fields=["deleted_at"])
                audit.record_event(
                    Action.RECORD_RESTORED,
                    organization=request.organization,
                    actor=request.user,
                    target=obj,
                    metadata={"via": "admin"},
                    request=request,
                )
                restored += 1
        messages.success(request, f"{restored} record(s) restored.")

    def _record_deletion(self, request, obj):
        audit.record_event(
            Action.RECORD_DELETED,
            organization=request.organization,
            actor=request.user,
            target=obj,
            metadata={"via": "admin"},
            request=request,
        )

    # The audit log replaces Django's LogEntry (see the class docstring).
    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletion(self, request, obj, object_repr):
        return None

    def log_deletions(self, request, queryset):
        return None


class ReadOnlyOrganizationModelAdmin(OrganizationModelAdmin):
    """For rows only the product writes: admins look, nobody edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReauthenticatedAdminMixin:
    """Changes (saving, deleting, running an action) need a recent sign-in.

    Reading stays free; a POST older than the re-authentication timeout is
    suspended, the person re-authenticates, and the POST is replayed.
    """

    def changeform_view(self, request, *args, **kwargs):
        if request.method == "POST":
            require_recent_authentication(request)
        return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        if request.method == "POST":
            require_recent_authentication(request)
        return super().delete_view(request, *args, **kwargs)

    def changelist_view(self, request, *args, **kwargs):
        if request.method == "POST":
            require_recent_authentication(request)
        return super().changelist_view(request, *args, **kwargs)


class MembershipAddForm(forms.ModelForm):
    email = forms.EmailField(
        help_text=(
            "The person's email address. A new address gets an account and the"
            " membership at once; an existing account is sent an invitation to"
            " accept."
        )
    )

    class Meta:
        model = Membership
        fields = ("role",)

    def __init__(self, *args, organization=None, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.actor = actor

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        exists = Membership.objects.filter(
            organization=self.organization, user__email__iexact=email
        ).exists()
        if exists:
            raise forms.ValidationError("email: this person is already a member.")
        return email

    def clean_role(self):
        role = self.cleaned_data["role"]
        try:
            services.check_membership_change(
                self.organization.pk, actor=self.actor, roles={role}
            )
        except services.MembershipChangeRefused as error:
            raise forms.ValidationError(str(error)) from None
        return role


class MembershipChangeForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("role",)

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor

    def clean_role(self):
        # The instance still holds the stored role here: the form copies the
        # cleaned values onto it after cleaning.
        role = self.cleaned_data["role"]
        if role == self.instance.role:
            return role
        try:
            services.check_membership_change(
                self.instance.organization_id,
                actor=self.actor,
                roles={self.instance.role, role},
            )
        except services.MembershipChangeRefused as error:
            raise forms.ValidationError(str(error)) from None
        demoting = role != Membership.Role.OWNER
        if demoting and services.is_last_owner(self.instance):
            raise forms.ValidationError(
                "The organization must keep at least one owner."
            )
        return role


def _with_arguments(form_class, **arguments):
    """The form class, constructed with these keyword arguments added."""

    class Bound(form_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **arguments, **kwargs)

    return Bound


@admin.register(Membership)
class MembershipAdmin(ReauthenticatedAdminMixin, OrganizationModelAdmin):
    """Members and their roles. Only owners touch the owner role (the service
    layer refuses the rest); an address that already has an account is
    invited rather than added (`clozup.invitations`)."""

    list_display = ("member_email", "member_name", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__email", "user__full_name")
    ordering = ("user__email",)
    actions = ["sign_out_everywhere", "lift_sign_in_lockout"]

    @admin.action(description="Sign out of every session (on their next request)")
    def sign_out_everywhere(self, request, queryset):
        members = list(queryset.select_related("user"))
        for membership in members:
            signin_services.force_sign_out(
                membership, actor=request.user, request=request
            )
        self.message_user(
            request, f"{len(members)} members signed out everywhere.", messages.SUCCESS
        )

    @admin.action(description="Lift a sign-in lockout")
    def lift_sign_in_lockout(self, request, queryset):
        members = list(queryset.select_related("user"))
        lifted = sum(
            signin_services.lift_lockout(
                membership, actor=request.user, request=request
            )
            for membership in members
        )
        self.message_user(
            request,
            f"{lifted} of {len(members)} were locked out; they may sign in again.",
            messages.SUCCESS,
        )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            return _with_arguments(
                MembershipAddForm,
                organization=request.organization,
                actor=request.user,
            )
        kwargs["form"] = MembershipChangeForm
        kwargs["fields"] = ("role",)
        form = super().get_form(request, obj, change, **kwargs)
        return _with_arguments(form, actor=request.user)

    def get_fields(self, request, obj=None):
        return ("email", "role") if obj is None else ("role",)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        if change:
            services.change_member_role(
                obj, role=obj.role, actor=request.user, request=request
            )
            return
        membership = invitations.add_or_invite_member(
            request.organization,
            form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            actor=request.user,
            build_url=request.build_absolute_uri,
            request=request,
        )
        if membership is None:
            obj.invited_email = form.cleaned_data["email"]
            return
        obj.pk, obj.user, obj.created_at = (
            membership.pk,
            membership.user,
            membership.created_at,
        )

    def response_add(self, request, obj, post_url_continue=None):
        invited_email = getattr(obj, "invited_email", None)
        if invited_email is None:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"Invitation sent to {invited_email}: they become a member once they"
            " accept it.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:clozup_membership_changelist"))

    def has_delete_permission(self, request, obj=None):
        if obj is not None:
            try:
                services.check_membership_change(
                    obj.organization_id, actor=request.user, roles={obj.role}
                )
            except services.MembershipChangeRefused:
                return False
            if services.is_last_owner(obj):
                return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.remove_member(obj, actor=request.user, request=request)

    def delete_queryset(self, request, queryset):
        try:
            with transaction.atomic():
                for membership in queryset:
                    services.remove_member(
                        membership, actor=request.user, request=request
                    )
        except services.MembershipChangeRefused as error:
            messages.error(request, str(error))

    @admin.display(description="Email", ordering="user__email")
    def member_email(self, membership):
        return membership.user.email

    @admin.display(description="Name", ordering="user__full_name")
    def member_name(self, membership):
        return membership.user.full_name


# Integration credentials and webhooks -------------------------------------------


class IntegrationCredentialForm(forms.ModelForm):
    class Meta:
        model = IntegrationCredential
        fields = ("provider", "label", "kind", "secret", "refresh_token", "expires_at")


@admin.register(IntegrationCredential)
class IntegrationCredentialAdmin(OrganizationModelAdmin):
    """Credentials are typed in and never shown again: the list and the form
    show a mask; an empty secret input on change keeps the stored value."""

    form = IntegrationCredentialForm
    list_display = ("provider", "label", "kind", "masked_secret", "updated_at")
    list_filter = ("provider", "kind")
    ordering = ("provider", "label")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None:
            form.base_fields["secret"].required = False
            form.base_fields[
                "secret"
            ].help_text = f"Stored: {obj.secret.masked()}. Leave empty to keep it."
        return form

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "provider", "kind"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            integrations.update_integration_credential(
                obj,
                actor=request.user,
                request=request,
                label=data["label"],
                secret=data.get("secret") or "",
                refresh_token=data.get("refresh_token") or "",
                expires_at=data.get("expires_at"),
            )
            return
        created = integrations.add_integration_credential(
            request.organization.pk,
            actor=request.user,
            request=request,
            provider=data["provider"],
            label=data["label"],
            kind=data["kind"],
            secret=data["secret"],
            refresh_token=data.get("refresh_token") or "",
            expires_at=data.get("expires_at"),
        )
        obj.pk = created.pk

    def delete_model(self, request, obj):
        integrations.remove_integration_credential(
            obj, actor=request.user, request=request
        )

    def delete_queryset(self, request, queryset):
        for credential in queryset:
            integrations.remove_integration_credential(
                credential, actor=request.user, request=request
            )

    @admin.display(description="Secret")
    def masked_secret(self, credential):
        return credential.secret.masked()


class EventNamesField(forms.CharField):
    """Event names, comma separated; empty means every event."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        names = [name.strip() for name in (value or "").split(",") if name.strip()]
        for name in names:
            if not EVENT_NAME.match(name):
                raise forms.ValidationError(
                    f"events: {name!r} is not an event name like deal.won"
                )
        return names


EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        max_length=500, assume_scheme="https", help_text="Must start with https://."
    )
    events = EventNamesField(
        required=False,
        help_text="Comma separated, e.g. deal.won, lead.created. Empty: all events.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "is_active")

    def clean_url(self):
        try:
            return integrations.check_webhook_url(self.cleaned_data["url"])
        except integrations.InsecureWebhookURL as error:
            raise forms.ValidationError(str(error)) from None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationModelAdmin):
    """The signing secret is shown once, when the endpoint is made or its
    secret rotated, for the admin to set at the receiving end."""

    form = WebhookEndpointForm
    list_display = ("url", "description", "is_active", "masked_secret", "updated_at")
    readonly_fields = ("masked_secret",)
    actions = ("send_test_event", "rotate_signing_secret")

    def delete_model(self, request, obj):
        integrations.delete_webhook_endpoint(obj, actor=request.user, request=request)

    def get_fields(self, request, obj=None):
        fields = ("url", "description", "events", "is_active")
        return fields + ("masked_secret",) if obj is not None else fields

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            integrations.update_webhook_endpoint(
                obj,
                actor=request.user,
                request=request,
                url=data["url"],
                events=data["events"],
                description=data["description"],
                is_active=data["is_active"],
            )
            return
        endpoint, signing_secret = integrations.create_webhook_endpoint(
            request.organization.pk,
            actor=request.user,
            request=request,
            url=data["url"],
            events=data["events"],
            description=data["description"],
        )
        obj.pk = endpoint.pk
        _show_secret_once(request, signing_secret)

    @admin.display(description="Signing secret")
    def masked_secret(self, endpoint):
        return endpoint.signing_secret.masked() if endpoint.pk else "-"

    @admin.action(description="Send a test event")
    def send_test_event(self, request, queryset):
        for endpoint in queryset:
            integrations.send_test_event(endpoint)
        self.message_user(
            request, f"Test event queued for {len(queryset)} endpoint(s)."
        )

    @admin.action(description="Rotate the signing secret")
    def rotate_signing_secret(self, request, queryset):
        for endpoint in queryset:
            _show_secret_once(
                request,
                integrations.rotate_webhook_secret(
                    endpoint, actor=request.user, request=request
                ),
            )


def _show_secret_once(request, signing_secret: str) -> None:
    messages.warning(
        request,
        f"Signing secret, shown this once: {signing_secret} — set it at the "
        "receiving end now; it cannot be displayed again.",
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OrganizationModelAdmin):
    list_display = ("event", "endpoint", "status", "attempts", "response_status")
    list_filter = ("status", "event")
    fields = (
        "event",
        "endpoint",
        "status",
        "attempts",
        "response_status",
        "error",
        "created_at",
        "finished_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
