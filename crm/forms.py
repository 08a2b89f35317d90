from django import forms
from django.utils import timezone

from clozup.models import User
from crm.importing import layouts
from crm.models import Activity, Company, Contact, Deal, Lead, Product, Stage


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.full_name or obj.email


def _members(organization):
    return User.objects.filter(memberships__organization_id=organization.pk).order_by(
        "email"
    )


class OrganizationForm(forms.ModelForm):
    """A record form whose choices come from the current organization only."""

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if "owner" in self.fields:
            self.fields["owner"] = OwnerChoiceField(
                queryset=_members(organization), required=False
            )
            self.fields["owner"].initial = self.instance.owner_id


class CompanyNameMixin(forms.Form):
    """A company typed by name: an existing one is linked, a new one created."""

    company_name = forms.CharField(label="Company", required=False, max_length=255)

    def company(self) -> Company | None:
        name = self.cleaned_data.get("company_name", "").strip()
        if not name:
            return None
        return Company.objects.live().filter(name__iexact=name).order_by("id").first()


class LeadForm(OrganizationForm):
    class Meta:
        model = Lead
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "title",
            "company_name",
            "country",
            "city",
            "source",
            "status",
            "score",
            "owner",
        ]
        labels = {"company_name": "Company", "country": "Country (ISO code)"}

    def clean_country(self):
        return self.cleaned_data["country"].strip().upper()

    def clean(self):
        data = super().clean()
        if not any(data.get(f) for f in ("first_name", "last_name", "email")):
            raise forms.ValidationError(
                "A lead needs at least a first name, a last name or an email."
            )
        return data


class ContactForm(CompanyNameMixin, OrganizationForm):
    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "title",
            "country",
            "city",
            "owner",
        ]
        labels = {"country": "Country (ISO code)"}

    field_order = ["first_name", "last_name", "email", "phone", "title", "company_name"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.company_id:
            self.fields["company_name"].initial = self.instance.company.name

    def clean_country(self):
        return self.cleaned_data["country"].strip().upper()

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        taken = Contact.objects.filter(email__iexact=email).exclude(pk=self.instance.pk)
        if email and taken.exists():
            raise forms.ValidationError("Another contact has this email address.")
        return email


class CompanyForm(OrganizationForm):
    class Meta:
        model = Company
        fields = [
            "name",
            "website",
            "industry",
            "country",
            "city",
            "founded_year",
            "employee_count",
            "annual_revenue",
            "description",
            "owner",
        ]
        labels = {"country": "Country (ISO code)"}

    def clean_country(self):
        return self.cleaned_data["country"].strip().upper()


class DealForm(CompanyNameMixin, OrganizationForm):
    class Meta:
        model = Deal
        fields = [
            "title",
            "amount",
            "currency",
            "stage",
            "expected_close_date",
            "product",
            "owner",
        ]
        widgets = {"expected_close_date": forms.DateInput(attrs={"type": "date"})}

    field_order = ["title", "company_name", "amount", "currency", "stage"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.order_by("position")
        self.fields["stage"].empty_label = None
        self.fields["product"].queryset = Product.objects.order_by("name")
        if self.instance.company_id:
            self.fields["company_name"].initial = self.instance.company.name

    def clean_currency(self):
        currency = self.cleaned_data["currency"].strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError("Use a three-letter ISO code, like EUR or USD.")
        return currency


class ActivityForm(forms.ModelForm):
    class Meta:
        model = Activity
        fields = ["kind", "subject", "body", "due_at"]
        labels = {"kind": "Type", "body": "Details", "due_at": "Follow up by"}
        widgets = {
            "body": forms.Textarea(attrs={"rows": 3}),
            "due_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def clean(self):
        data = super().clean()
        if not data.get("subject") and not data.get("body"):
            raise forms.ValidationError("Write a subject or some details.")
        due = data.get("due_at")
        if due and due < timezone.now() - timezone.timedelta(days=1):
            self.add_error("due_at", "A follow-up date lies in the future.")
        return data


class UploadForm(forms.Form):
    ATTACHMENT = "attachment"
    RECORDING = "recording"

    kind = forms.ChoiceField(
        label="This file is",
        choices=[(ATTACHMENT, "A document or image"), (RECORDING, "A call recording")],
    )
    file = forms.FileField()


class ConvertLeadForm(forms.Form):
    deal_title = forms.CharField(
        label="Deal title",
        required=False,
        max_length=255,
        help_text="Leave empty to convert without a deal.",
    )
    amount = forms.DecimalField(
        min_value=0, max_digits=18, decimal_places=2, required=False
    )
    currency = forms.CharField(max_length=3, initial="USD")
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(
            is_won=False, is_lost=False
        ).order_by("position")

    def clean_currency(self):
        currency = self.cleaned_data["currency"].strip().upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError("Use a three-letter ISO code, like EUR or USD.")
        return currency


class LeadStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Lead.Status.choices)


class MoveDealForm(forms.Form):
    stage = forms.ModelChoiceField(queryset=Stage.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.all()


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": ".csv,text/csv"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)]


class ImportUploadForm(forms.Form):
    files = MultipleFileField(
        label="CSV files",
        help_text="Companies, contacts, leads, deals, products or sales teams;"
        " several files at once are loaded in the right order.",
    )
    allow_partial = forms.BooleanField(
        label="Import the valid rows even if some are rejected",
        required=False,
    )


class ImportMappingForm(forms.Form):
    """Per file: the kind of records, and where each column goes."""

    def __init__(self, *args, files: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.files = files
        kinds = [(k.value, k.value.capitalize()) for k in layouts.Kind]
        for index, entry in enumerate(files):
            # A posted kind that is not one falls back to the file's, and the
            # kind field's own validation names the error.
            posted = self.data.get(f"kind_{index}")
            valid = posted in {k.value for k in layouts.Kind}
            kind = layouts.Kind(posted if valid else entry["kind"])
            self.fields[f"kind_{index}"] = forms.ChoiceField(
                label=f"{entry['name']} holds", choices=kinds, initial=entry["kind"]
            )
            for column_index, header in enumerate(entry["headers"]):
                self.fields[f"column_{index}_{column_index}"] = forms.ChoiceField(
                    label=header,
                    choices=layouts.choices_for(kind),
                    initial=entry["mapping"].get(header, layouts.IGNORE),
                    required=False,
                )

    def file_groups(self):
        """The bound fields grouped by file, for the template."""
        groups = []
        for index, entry in enumerate(self.files):
            columns = [
                (header, self[f"column_{index}_{column_index}"])
                for column_index, header in enumerate(entry["headers"])
            ]
            groups.append((entry, self[f"kind_{index}"], columns))
        return groups

    def clean(self):
        data = super().clean()
        for index, entry in enumerate(self.files):
            kind = layouts.Kind(data.get(f"kind_{index}") or entry["kind"])
            allowed = {name for name, _ in layouts.choices_for(kind)}
            mapping = {}
            for column_index, header in enumerate(entry["headers"]):
                name = f"column_{index}_{column_index}"
                target = data.get(name) or layouts.IGNORE
                if target not in allowed:
                    self.add_error(name, f"Not a field of {kind.value}.")
                    continue
                if target not in (layouts.IGNORE, layouts.DETAILS) and target in (
                    mapping.values()
                ):
                    self.add_error(name, "Another column already goes to this field.")
                mapping[header] = target
            missing = layouts.REQUIRED[kind] - set(mapping.values())
            if missing:
                self.add_error(
                    f"kind_{index}",
                    f"{entry['name']}: map a column to "
                    + ", ".join(layouts.FIELDS[kind][m] for m in sorted(missing)),
                )
            entry["chosen"] = {"kind": kind.value, "mapping": mapping}
        return data

    def chosen(self) -> list[dict]:
        return [entry["chosen"] for entry in self.files]
