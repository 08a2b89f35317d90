"""The sales records. Every model here belongs to one organization.

Foreign keys between these models are doubled in the migrations by composite
keys on (organization_id, ...), so the database refuses a row that points at
another organization's row. Owners must be members of the same organization.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from clozup.models import OrganizationModel, organization_constraints

ISO_COUNTRY = r"^([A-Z]{2})?$"
ISO_CURRENCY = r"^[A-Z]{3}$"


class SoftDeleteQuerySet(models.QuerySet):
    def live(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


def _fk(to, **kwargs):
    """A foreign key inside one organization: indexed with organization_id.

    Between organization tables the database checks the composite key
    (organization_id, x_id) that the migrations add, which its indexes serve;
    a plain key on x_id alone would be redundant, and every delete of the
    referenced row would scan the referencing table for it.
    """
    if to != settings.AUTH_USER_MODEL:
        kwargs.setdefault("db_constraint", False)
    kwargs.setdefault("on_delete", models.SET_NULL)
    if kwargs["on_delete"] is models.SET_NULL:
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
    return models.ForeignKey(to, db_index=False, related_name="+", **kwargs)


def _org_index(*fields, name):
    if all(isinstance(field, str) for field in fields):
        return models.Index(fields=["organization", *fields], name=name)
    return models.Index(models.F("organization"), *fields, name=name)


def _country_check(name):
    return models.CheckConstraint(
        condition=models.Q(country__regex=ISO_COUNTRY), name=name
    )


class Company(OrganizationModel):
    name = models.CharField(max_length=255)
    website = models.CharField(max_length=255, blank=True)
    industry = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=2, blank=True)
    city = models.CharField(max_length=120, blank=True)
    founded_year = models.PositiveSmallIntegerField(null=True, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(
        max_digits=18, decimal_places=2, null=True, blank=True
    )
    description = models.TextField(blank=True)
    parent = _fk("self")
    owner = _fk(settings.AUTH_USER_MODEL)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "companies"
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="company_external_id_unique",
            ),
            _country_check("company_country_iso"),
        )
        indexes = [
            _org_index(Lower("name").desc(), name="company_name_idx"),
            _org_index("parent", name="company_parent_idx"),
            _org_index("owner", name="company_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(OrganizationModel):
    first_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    secondary_email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    secondary_phone = models.CharField(max_length=50, blank=True)
    title = models.CharField(max_length=200, blank=True)
    company = _fk(Company)
    country = models.CharField(max_length=2, blank=True)
    city = models.CharField(max_length=120, blank=True)
    owner = _fk(settings.AUTH_USER_MODEL)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                "organization",
                Lower("email"),
                condition=~models.Q(email=""),
                name="contact_email_unique",
            ),
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="contact_external_id_unique",
            ),
            _country_check("contact_country_iso"),
        )
        indexes = [
            _org_index("last_name", "first_name", name="contact_name_idx"),
            _org_index("company", name="contact_company_idx"),
            _org_index("owner", name="contact_owner_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Lead(OrganizationModel):
    class Status(models.TextChoices):
        NEW = "new", "New"
        CONTACTED = "contacted", "Contacted"
        QUALIFIED = "qualified", "Qualified"
        UNQUALIFIED = "unqualified", "Unqualified"
        CONVERTED = "converted", "Converted"

    first_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120, blank=True)
    email = models.EmailField(blank=True)
    secondary_email = models.EmailField(blank=True)
    phone = models.CharField(max_length=50, blank=True)
    secondary_phone = models.CharField(max_length=50, blank=True)
    title = models.CharField(max_length=200, blank=True)
    company_name = models.CharField(max_length=255, blank=True)
    company = _fk(Company)
    contact = _fk(Contact)
    country = models.CharField(max_length=2, blank=True)
    city = models.CharField(max_length=120, blank=True)
    source = models.CharField(max_length=120, blank=True)
    origin = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    score = models.SmallIntegerField(null=True, blank=True)
    owner = _fk(settings.AUTH_USER_MODEL)
    # Imported owners that are not members (free text in many exports).
    owner_name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    details = models.JSONField(default=dict, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="lead_external_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(score__isnull=True)
                | models.Q(score__gte=0, score__lte=100),
                name="lead_score_0_to_100",
            ),
            _country_check("lead_country_iso"),
        )
        indexes = [
            _org_index("-created_at", "-id", name="lead_recent_idx"),
            _org_index("last_name", "first_name", "id", name="lead_name_idx"),
            _org_index("source", name="lead_source_idx"),
            _org_index(Lower("email"), name="lead_email_idx"),
            _org_index("status", name="lead_status_idx"),
            _org_index("owner", name="lead_owner_idx"),
            _org_index("company", name="lead_company_idx"),
            _org_index("contact", name="lead_contact_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.company_name or f"Lead {self.pk}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Stage(OrganizationModel):
    """A step of the organization's pipeline, with its chance of winning."""

    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(default=0)
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "name"], name="stage_name_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="stage_probability_pct"
            ),
            models.CheckConstraint(
                condition=~models.Q(is_won=True, is_lost=True),
                name="stage_not_won_and_lost",
            ),
        )

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class Product(OrganizationModel):
    name = models.CharField(max_length=200)
    family = models.CharField(max_length=120, blank=True)
    list_price = models.DecimalField(max_digits=18, decimal_places=2, null=True)
    currency = models.CharField(max_length=3, default="USD")

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "name"], name="product_name_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=ISO_CURRENCY),
                name="product_currency_iso",
            ),
        )

    def __str__(self) -> str:
        return self.name


class Deal(OrganizationModel):
    title = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    stage = _fk(Stage, on_delete=models.PROTECT)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    expected_close_date = models.DateField(null=True, blank=True)
    closed_at = models.DateField(null=True, blank=True)
    owner = _fk(settings.AUTH_USER_MODEL)
    company = _fk(Company)
    contact = _fk(Contact)
    lead = _fk(Lead)
    product = _fk(Product)
    # Imported owners that are not members, as for leads.
    owner_name = models.CharField(max_length=200, blank=True)
    # The day the deal entered its first active stage, when the source says.
    engaged_on = models.DateField(null=True, blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="deal_external_id_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(currency__regex=ISO_CURRENCY),
                name="deal_currency_iso",
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="deal_amount_not_negative"
            ),
        )
        indexes = [
            _org_index("stage", name="deal_stage_idx"),
            _org_index("owner", name="deal_owner_idx"),
            _org_index("expected_close_date", name="deal_close_date_idx"),
            _org_index("company", name="deal_company_idx"),
            _org_index("contact", name="deal_contact_idx"),
            _org_index("lead", name="deal_lead_idx"),
            _org_index("product", name="deal_product_idx"),
        ]

    def __str__(self) -> str:
        return self.title


class Activity(OrganizationModel):
    """Something that happened with a person or deal: the timeline's entries."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        CALL = "call", "Call"
        NOTE = "note", "Note"
        MEETING = "meeting", "Meeting"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    lead = _fk(Lead, on_delete=models.CASCADE, null=True, blank=True)
    contact = _fk(Contact, on_delete=models.CASCADE, null=True, blank=True)
    deal = _fk(Deal, on_delete=models.CASCADE, null=True, blank=True)
    author = _fk(settings.AUTH_USER_MODEL)
    due_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    # Text the rep kept from an AI assist answer; the timeline labels it. The
    # database default serves the importers, which insert with raw SQL.
    ai_generated = models.BooleanField("AI-generated", default=False, db_default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "activities"
        constraints = organization_constraints(
            models.CheckConstraint(
                condition=models.Q(lead__isnull=False)
                | models.Q(contact__isnull=False)
                | models.Q(deal__isnull=False),
                name="activity_has_subject_record",
            ),
        )
        indexes = [
            _org_index("lead", "-occurred_at", name="activity_lead_idx"),
            _org_index("contact", "-occurred_at", name="activity_contact_idx"),
            _org_index("deal", "-occurred_at", name="activity_deal_idx"),
            _org_index("author", "-occurred_at", name="activity_author_idx"),
        ]

    def __str__(self) -> str:
        return self.subject or self.get_kind_display()


class StoredFile(OrganizationModel):
    """A file kept in storage for a record; the bytes live in `storage_name`."""

    storage_name = models.CharField(max_length=500)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    lead = _fk(Lead, on_delete=models.CASCADE, null=True, blank=True)
    contact = _fk(Contact, on_delete=models.CASCADE, null=True, blank=True)
    deal = _fk(Deal, on_delete=models.CASCADE, null=True, blank=True)
    uploaded_by = _fk(settings.AUTH_USER_MODEL)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.filename


class Attachment(StoredFile):
    class Meta:
        constraints = organization_constraints()
        indexes = [
            _org_index("lead", name="attachment_lead_idx"),
            _org_index("contact", name="attachment_contact_idx"),
            _org_index("deal", name="attachment_deal_idx"),
        ]


class CallRecording(StoredFile):
    activity = _fk(Activity)
    recorded_at = models.DateTimeField(default=timezone.now)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = organization_constraints()
        indexes = [
            _org_index("recorded_at", name="recording_recorded_idx"),
            _org_index("lead", name="recording_lead_idx"),
            _org_index("contact", name="recording_contact_idx"),
            _org_index("deal", name="recording_deal_idx"),
            _org_index("activity", name="recording_activity_idx"),
        ]


class Campaign(OrganizationModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    created_by = _fk(settings.AUTH_USER_MODEL)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        constraints = organization_constraints()
        indexes = [_org_index("-created_at", name="campaign_recent_idx")]

    def __str__(self) -> str:
        return self.name


class SalesTeam(OrganizationModel):
    """A manager's team of sellers, in a sales region."""

    name = models.CharField(max_length=200)
    region = models.CharField(max_length=120, blank=True)
    manager_name = models.CharField(max_length=200, blank=True)
    manager = _fk(settings.AUTH_USER_MODEL)

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                "organization", Lower("name"), name="salesteam_name_unique"
            ),
        )
        indexes = [_org_index("manager", name="salesteam_manager_idx")]

    def __str__(self) -> str:
        return self.name


class SalesAgent(OrganizationModel):
    """A seller named by imported records, tied to a member when one matches.

    Exports name their owners as free text; a roster keeps those names, their
    team, and the member account once someone links it.
    """

    name = models.CharField(max_length=200)
    team = _fk(SalesTeam)
    user = _fk(settings.AUTH_USER_MODEL)

    class Meta:
        constraints = organization_constraints(
            models.UniqueConstraint(
                "organization", Lower("name"), name="salesagent_name_unique"
            ),
        )
        indexes = [
            _org_index("team", name="salesagent_team_idx"),
            _org_index("user", name="salesagent_user_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(OrganizationModel):
    """One upload of CSV files, from mapping through its result."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Imported"
        REJECTED = "rejected", "Nothing imported: rows were rejected"
        FAILED = "failed", "Failed"

    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    # One entry per uploaded file: its name as uploaded, storage name, layout,
    # header and the column mapping chosen on the upload page.
    files = models.JSONField(default=list)
    allow_partial = models.BooleanField(default=False)
    # Counts per record kind, rejected rows and decisions (see crm.importing).
    report = models.JSONField(default=dict, blank=True)
    created_by = _fk(settings.AUTH_USER_MODEL)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = organization_constraints()
        indexes = [_org_index("-created_at", "-id", name="importjob_recent_idx")]

    def __str__(self) -> str:
        return f"Import {self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (
            self.Status.SUCCEEDED,
            self.Status.REJECTED,
            self.Status.FAILED,
        )
