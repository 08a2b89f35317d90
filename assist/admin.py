"""Admin Panel: the organization's AI switches and limits, and its usage log."""

from django import forms
from django.contrib import admin

from assist import selectors, services
from assist.models import AssistSettings, AssistUsage
from assist.provider import InsecureProviderURL, check_base_url
from clozup import integrations
from clozup.admin import (
    OrganizationModelAdmin,
    ReadOnlyOrganizationModelAdmin,
    ReauthenticatedAdminMixin,
)


class AssistSettingsForm(forms.ModelForm):
    base_url = forms.URLField(
        label="Provider base URL",
        max_length=300,
        required=False,
        assume_scheme="https",
        help_text=AssistSettings._meta.get_field("base_url").help_text,
    )

    class Meta:
        model = AssistSettings
        fields = (
            "summary_enabled",
            "follow_up_enabled",
            "monthly_token_budget",
            "user_monthly_token_cap",
            "base_url",
            "model",
            "api_key",
        )
        widgets = {"api_key": forms.PasswordInput(render_value=False)}

    def clean_base_url(self):
        url = self.cleaned_data["base_url"]
        if not url:
            return url
        try:
            check_base_url(url)
        except InsecureProviderURL as error:
            raise forms.ValidationError(str(error)) from None
        if url.startswith("https://"):
            # The same rule as webhooks: no requests into our own network.
            try:
                integrations.check_webhook_url(url)
            except integrations.InsecureWebhookURL as error:
                message = str(error).replace("url: ", "base URL: ", 1)
                raise forms.ValidationError(message) from None
        return url

    def clean(self):
        data = super().clean()
        own_provider = bool(data.get("base_url"))
        has_key = bool(data.get("api_key")) or bool(
            self.instance.pk and self.instance.api_key_text
        )
        if own_provider and not has_key:
            self.add_error("api_key", "api key: your own provider needs its key.")
        if own_provider and not data.get("model"):
            self.add_error("model", "model: name the model of your own provider.")
        return data


@admin.register(AssistSettings)
class AssistSettingsAdmin(ReauthenticatedAdminMixin, OrganizationModelAdmin):
    """AI stays off until an admin ticks a feature here. The API key is typed
    in and never shown again; an empty key field on change keeps it."""

    form = AssistSettingsForm
    list_display = (
        "summary_enabled",
        "follow_up_enabled",
        "monthly_token_budget",
        "user_monthly_token_cap",
        "provider",
        "updated_at",
    )

    def has_add_permission(self, request):
        exists = AssistSettings.objects.exists()
        return not exists and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        # Turning features off is the way to stop AI; the row keeps the limits.
        return False

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None and obj.api_key_text:
            form.base_fields[
                "api_key"
            ].help_text = f"Stored: {obj.api_key.masked()}. Leave empty to keep it."
        return form

    def save_model(self, request, obj, form, change):
        changed = list(form.changed_data)
        if change and not form.cleaned_data.get("api_key"):
            # An empty key field means "keep the stored key".
            obj.api_key = AssistSettings.objects.get(pk=obj.pk).api_key_text
            changed = [name for name in changed if name != "api_key"]
        if not change:
            obj.organization = request.organization
        services.save_assist_settings(
            obj, actor=request.user, changed=changed, request=request
        )

    @admin.display(description="Provider")
    def provider(self, assist_settings):
        return assist_settings.base_url or "Clozup default"


@admin.register(AssistUsage)
class AssistUsageAdmin(ReadOnlyOrganizationModelAdmin):
    """Who used AI, for what and at what cost; never the text."""

    list_display = (
        "created_at",
        "member_email",
        "feature",
        "model",
        "tokens_in",
        "tokens_out",
        "outcome",
    )
    list_filter = ("feature", "outcome")
    change_list_template = "assist/admin/assistusage_change_list.html"
    fields = list_display
    readonly_fields = list_display
    ordering = ("-created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def changelist_view(self, request, extra_context=None):
        assist_settings = selectors.get_settings()
        extra_context = {
            **(extra_context or {}),
            "tokens_used": selectors.tokens_used_this_month(),
            "token_budget": assist_settings.monthly_token_budget
            if assist_settings
            else 0,
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="Member", ordering="user__email")
    def member_email(self, usage):
        return usage.user.email if usage.user else "(former member)"
