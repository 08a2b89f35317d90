from django import forms

from crm.models import Campaign, Lead

from .models import DpaRequest
from .models.consent import Channel, LawfulBasis, Purpose


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
