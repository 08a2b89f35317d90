from django import forms

from compliance.models import (
    MAX_CUSTOM_DAYS,
    MAX_RECORDING_MONTHS,
    DataSubjectRequest,
    DpaRequest,
    LegalHold,
    RetentionSettings,
)
from compliance.models.consent import Channel, LawfulBasis, Purpose
from crm.models import Campaign, Lead

DETAILS_MAX = 2000


class PublicRequestForm(forms.Form):
    """What a data subject sends through an organization's public page."""

    email = forms.EmailField(
        label="Your email address",
        help_text="We mail a link here; your request counts once you open it.",
    )
    kind = forms.ChoiceField(
        label="What you ask for", choices=DataSubjectRequest.Kind.choices
    )
    details = forms.CharField(
        label="Details (optional)",
        required=False,
        max_length=DETAILS_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For a rectification, say what is wrong and what it should be.",
    )


class OrganizationExportForm(forms.Form):
    FORMATS = (
        ("csv", "CSV (one file per table)"),
        ("json", "JSON lines (one file per table)"),
    )

    format = forms.ChoiceField(choices=FORMATS, initial="csv")
    reason = forms.CharField(
        max_length=300,
        help_text="Why the export is made (kept in the audit log; no personal data).",
    )


class RetentionSettingsForm(forms.ModelForm):
    """The organization's overrides; empty fields mean the default."""

    class Meta:
        model = RetentionSettings
        fields = (
            "call_recording_months",
            "deleted_records_days",
            "audit_log_days",
            "cancellation_grace_days",
        )

    def clean_call_recording_months(self):
        value = self.cleaned_data["call_recording_months"]
        if value is not None and not 1 <= value <= MAX_RECORDING_MONTHS:
            raise forms.ValidationError(
                f"Between 1 and {MAX_RECORDING_MONTHS} months, or empty for 12."
            )
        return value

    def _days(self, name, minimum):
        value = self.cleaned_data[name]
        if value is not None and not minimum <= value <= MAX_CUSTOM_DAYS:
            raise forms.ValidationError(
                f"Between {minimum} and {MAX_CUSTOM_DAYS} days, or empty for the"
                " default."
            )
        return value

    def clean_deleted_records_days(self):
        return self._days("deleted_records_days", 3)

    def clean_audit_log_days(self):
        return self._days("audit_log_days", 1)

    def clean_cancellation_grace_days(self):
        return self._days("cancellation_grace_days", 1)


class LegalHoldForm(forms.ModelForm):
    """A new hold: the person is given by address, which is hashed, not kept."""

    email = forms.EmailField(
        required=False, help_text="For a person: their email address (not stored)."
    )

    class Meta:
        model = LegalHold
        fields = ("scope", "email", "record_type", "record_id", "reason")

    def clean(self):
        cleaned = super().clean()
        scope = cleaned.get("scope")
        if scope == LegalHold.Scope.PERSON and not cleaned.get("email"):
            self.add_error("email", "A person is held by their email address.")
        if scope == LegalHold.Scope.RECORD and not (
            cleaned.get("record_type") and cleaned.get("record_id")
        ):
            self.add_error("record_id", "Give the record's type and id.")
        return cleaned


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["name", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 10})}

    def clean_subject(self):
        subject = self.cleaned_data["subject"].strip()
        if not subject:
            raise forms.ValidationError("subject: a campaign email needs a subject")
        if "\n" in subject or "\r" in subject:
            raise forms.ValidationError("subject: one line only")
        return subject

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError("body: write the message to send")
        return body


class RecipientsForm(forms.Form):
    """Which leads receive the campaign: all with an email, or a filter."""

    status = forms.ChoiceField(
        choices=[("", "Any status"), *Lead.Status.choices], required=False
    )
    source = forms.CharField(max_length=120, required=False, label="Lead source")

    def leads(self):
        leads = Lead.objects.all()
        if self.cleaned_data["status"]:
            leads = leads.filter(status=self.cleaned_data["status"])
        if self.cleaned_data["source"].strip():
            leads = leads.filter(source__iexact=self.cleaned_data["source"].strip())
        return leads


class DpaRequestForm(forms.ModelForm):
    class Meta:
        model = DpaRequest
        fields = [
            "legal_name",
            "company_address",
            "signatory_name",
            "signatory_title",
            "signatory_email",
        ]
        widgets = {"company_address": forms.Textarea(attrs={"rows": 3})}


class ConsentGrantForm(forms.Form):
    """An admin records a new lawful basis for contacting a person."""

    channel = forms.ChoiceField(choices=Channel.choices)
    purpose = forms.ChoiceField(choices=Purpose.choices)
    lawful_basis = forms.ChoiceField(
        choices=[c for c in LawfulBasis.choices if c[0] != LawfulBasis.NONE]
    )
    text_shown = forms.CharField(
        label="Evidence",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What the person agreed to, or why the basis applies.",
    )
