"""Admin Panel registrations for accounts: members and their roles."""

from django import forms
from django.contrib import admin, messages
from django.db import transaction

from clozup.models import Membership
from clozup.services import get_or_create_user
from clozup.signin import services as signin_services
from clozup.signin.decorators import require_recent_authentication


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

    def save_model(self, request, obj, form, change):
        if not change:
            obj.organization = request.organization
        super().save_model(request, obj, form, change)

    def log_addition(self, request, obj, message):
        return None

    def log_change(self, request, obj, message):
        return None

    def log_deletion(self, request, obj, object_repr):
        return None

    def log_deletions(self, request, queryset):
        return None


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
        help_text="The person's email address; an account is created if needed."
    )

    class Meta:
        model = Membership
        fields = ("role",)

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization

    def clean_email(self):
        email = self.cleaned_data["email"].lower()
        exists = Membership.objects.filter(
            organization=self.organization, user__email__iexact=email
        ).exists()
        if exists:
            raise forms.ValidationError("email: this person is already a member.")
        return email


@admin.register(Membership)
class MembershipAdmin(ReauthenticatedAdminMixin, OrganizationModelAdmin):
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
            form = MembershipAddForm

            class BoundForm(form):
                def __init__(inner, *args, **kw):
                    super().__init__(*args, organization=request.organization, **kw)

            return BoundForm
        kwargs["fields"] = ("role",)
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request, obj=None):
        return ("email", "role") if obj is None else ("role",)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        if not change:
            obj.user, _ = get_or_create_user(form.cleaned_data["email"])
        super().save_model(request, obj, form, change)

    @admin.display(description="Email", ordering="user__email")
    def member_email(self, membership):
        return membership.user.email

    @admin.display(description="Name", ordering="user__full_name")
    def member_name(self, membership):
        return membership.user.full_name
