from django import forms

from assist.models import Feature
from crm.models import Activity

TEXT_LIMIT = 20_000


class AskForm(forms.Form):
    feature = forms.ChoiceField(choices=Feature.choices)


class AssistedTextForm(forms.Form):
    """The rep's edited copy of an answer, to keep as a note or an email."""

    KINDS = [
        (Activity.Kind.NOTE, "Note"),
        (Activity.Kind.EMAIL, "Email"),
    ]

    kind = forms.ChoiceField(choices=KINDS, initial=Activity.Kind.NOTE)
    subject = forms.CharField(max_length=255, required=False)
    body = forms.CharField(
        label="Text",
        max_length=TEXT_LIMIT,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="Read and edit before you keep it. Nothing is saved until you do.",
        error_messages={"required": "text: there is nothing to keep."},
    )

    def __init__(self, *args, **kwargs):
        # The page also holds the timeline's activity form: ids must differ.
        kwargs.setdefault("auto_id", "assist-%s")
        super().__init__(*args, **kwargs)
