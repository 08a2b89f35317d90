from django import forms

from compliance.models import DataSubjectRequest

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
