from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import RequestLoginCodeForm as AllauthRequestLoginCodeForm
from allauth.core.exceptions import ImmediateHttpResponse
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpResponseRedirect
from django.utils.http import urlencode

from clozup.models import Membership
from clozup.signin import selectors
from clozup.signin.models import (
    MIN_IDLE_MINUTES,
    MIN_LIFETIME_HOURS,
    IdentityProvider,
    SecurityPolicy,
    SSODomain,
)


def _send_to_sso(email: str, request) -> None:
    """Hand an address of a single sign-on domain over to its provider.

    Runs before any password or code is checked, so the answer is the same
    whatever was typed and whether or not the account exists.
    """
    sso = selectors.get_sso_for_email(email)
    if sso is None:
        return
    url = sso.login_url
    next_url = ""
    if request is not None:
        next_url = request.POST.get("next") or request.GET.get("next") or ""
    if next_url:
        url = f"{url}?{urlencode({'next': next_url})}"
    raise ImmediateHttpResponse(HttpResponseRedirect(url))


class LoginForm(AllauthLoginForm):
    def clean(self):
        email = self.cleaned_data.get("login")
        if email:
            _send_to_sso(email, self.request)
        return super().clean()


class RequestLoginCodeForm(AllauthRequestLoginCodeForm):
    def clean_email(self):
        email = self.cleaned_data.get("email")
        if email:
            from allauth.core import context

            _send_to_sso(email, context.request)
        return super().clean_email()


class SSOStartForm(forms.Form):
    email = forms.EmailField(
        label="Work email",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self):
        email = self.cleaned_data["email"]
        self.sso = selectors.get_sso_for_email(email)
        if self.sso is None:
            raise ValidationError(
                "email: no single sign-on is set up for this address's domain."
            )
        return email


class SecurityPolicyForm(forms.ModelForm):
    class Meta:
        model = SecurityPolicy
        fields = ("require_mfa", "idle_timeout_minutes", "session_lifetime_hours")

    def __init__(self, *args, **kwargs):
        from django.conf import settings

        super().__init__(*args, **kwargs)
        self.max_idle_minutes = settings.SESSION_COOKIE_AGE // 60
        self.max_lifetime_hours = max(settings.SESSION_COOKIE_AGE // 3600, 1)
        idle = self.fields["idle_timeout_minutes"]
        idle.min_value = MIN_IDLE_MINUTES
        idle.max_value = self.max_idle_minutes
        idle.help_text += (
            f" Between {MIN_IDLE_MINUTES} and {self.max_idle_minutes} minutes;"
            " empty for the platform default."
        )
        lifetime = self.fields["session_lifetime_hours"]
        lifetime.help_text += (
            f" Between {MIN_LIFETIME_HOURS} and {self.max_lifetime_hours} hours;"
            " empty for the platform's longest."
        )

    def clean_idle_timeout_minutes(self):
        value = self.cleaned_data["idle_timeout_minutes"]
        if value is not None and not (
            MIN_IDLE_MINUTES <= value <= self.max_idle_minutes
        ):
            raise ValidationError(
                f"idle_timeout_minutes: between {MIN_IDLE_MINUTES} and "
                f"{self.max_idle_minutes} minutes."
            )
        return value

    def clean_session_lifetime_hours(self):
        value = self.cleaned_data["session_lifetime_hours"]
        if value is not None and not (
            MIN_LIFETIME_HOURS <= value <= self.max_lifetime_hours
        ):
            raise ValidationError(
                f"session_lifetime_hours: between {MIN_LIFETIME_HOURS} and "
                f"{self.max_lifetime_hours} hours."
            )
        return value


def https_formfield(db_field, **kwargs):
    """Form fields for a model's fields; URLs without a scheme become https."""
    if isinstance(db_field, models.URLField):
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class IdentityProviderForm(forms.ModelForm):
    """The admin's form; SAML metadata XML is read into the three SAML fields."""

    class Meta:
        model = IdentityProvider
        formfield_callback = https_formfield
        fields = (
            "protocol",
            "is_active",
            "default_role",
            "saml_metadata_xml",
            "saml_metadata_url",
            "saml_entity_id",
            "saml_sso_url",
            "saml_certificate",
            "oidc_server_url",
            "oidc_client_id",
            "oidc_client_secret",
        )
        widgets = {"oidc_client_secret": forms.PasswordInput(render_value=False)}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["default_role"].choices = [
            (Membership.Role.REP, Membership.Role.REP.label),
            (Membership.Role.ADMIN, Membership.Role.ADMIN.label),
        ]
        if self.instance.pk and self.instance.oidc_client_secret:
            self.fields[
                "oidc_client_secret"
            ].help_text = "Stored encrypted. Leave empty to keep it."

    def clean(self):
        data = super().clean()
        if data.get("protocol") == IdentityProvider.Protocol.SAML:
            self._clean_saml(data)
        elif data.get("protocol") == IdentityProvider.Protocol.OIDC:
            for name in ("oidc_server_url", "oidc_client_id"):
                if not data.get(name):
                    self.add_error(name, f"{name}: required for OpenID Connect.")
            if (
                not data.get("oidc_client_secret")
                and not self.instance.oidc_client_secret
            ):
                self.add_error(
                    "oidc_client_secret",
                    "oidc_client_secret: required for OpenID Connect.",
                )
        return data

    def _clean_saml(self, data) -> None:
        from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser

        xml = (data.get("saml_metadata_xml") or "").strip()
        if xml:
            try:
                parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)["idp"]
            except Exception:
                self.add_error(
                    "saml_metadata_xml", "saml_metadata_xml: not SAML IdP metadata."
                )
                return
            data["saml_entity_id"] = parsed.get("entityId", "")
            data["saml_sso_url"] = parsed.get("singleSignOnService", {}).get("url", "")
            data["saml_certificate"] = parsed.get("x509cert", "")
            data["saml_metadata_xml"] = ""
            for name in ("saml_entity_id", "saml_sso_url", "saml_certificate"):
                setattr(self.instance, name, data[name])
        if not data.get("saml_entity_id"):
            self.add_error("saml_entity_id", "saml_entity_id: required for SAML.")
        if not data.get("saml_metadata_url"):
            for name in ("saml_sso_url", "saml_certificate"):
                if not data.get(name):
                    self.add_error(
                        name, f"{name}: required unless a metadata URL is given."
                    )


class SSODomainForm(forms.ModelForm):
    class Meta:
        model = SSODomain
        fields = ("domain",)

    def clean_domain(self):
        domain = self.cleaned_data["domain"].strip().lower().rstrip(".")
        labels = domain.split(".")
        if len(labels) < 2 or not all(
            label and len(label) <= 63 and label.replace("-", "").isalnum()
            for label in labels
        ):
            raise ValidationError("domain: not a domain name, e.g. example.com.")
        if selectors.is_domain_claimed(domain):
            raise ValidationError(
                "domain: already claimed for single sign-on by an organization."
            )
        return domain
