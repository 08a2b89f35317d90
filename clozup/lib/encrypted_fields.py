"""Model fields whose values the database only ever sees encrypted.

Declare a secret column like this::

    class WebhookEndpoint(OrganizationModel):
        id = PreallocatedBigAutoField(primary_key=True)
        signing_secret = EncryptedTextField()

Assign plain text (`endpoint.signing_secret = "..."`) and save: the value is
sealed with the key ring's newest key (`clozup.lib.keyring`), bound to the
table, column and row id. Reading the attribute gives a `Secret`, which prints
masked; `.reveal()` returns the text, so every use of a secret is explicit.
An empty value is stored as "" (nothing to hide) and reads back as "".

The row id is part of the associated data, and Django only learns an
auto-increment id after the INSERT. `PreallocatedBigAutoField` takes the id
from the table's sequence before the INSERT instead; a system check refuses a
model that has an encrypted field without it. `QuerySet.update()` cannot set
a secret (there is no row id to bind it to): save the instance.
"""

from django import forms
from django.core import checks
from django.db import connections, models, router
from django.db.models.query_utils import DeferredAttribute

from clozup.lib import keyring

MASK = "\u2022" * 8
# Values this long show their last four characters, so an admin can tell two
# keys apart; shorter ones would give away too large a share.
REVEAL_TAIL_FROM = 24


class MissingRowId(ValueError):
    """An encrypted value was about to be saved without its row id."""


class SealedToken(str):
    """A value as stored in the database, and the row it was sealed for."""

    row_id: int | None = None

    @classmethod
    def of(cls, token: str, row_id: int | None) -> "SealedToken":
        sealed = cls(token)
        sealed.row_id = row_id
        return sealed


class Secret:
    """A secret read from an encrypted field. Prints masked; reveal() to use it."""

    __slots__ = ("_context", "_plaintext", "_sealed")

    def __init__(self, *, plaintext=None, sealed=None, context=b""):
        self._plaintext = plaintext
        self._sealed = sealed
        self._context = context

    def reveal(self) -> str:
        if self._plaintext is not None:
            return self._plaintext
        return keyring.unseal(self._sealed, context=self._context).decode()

    def masked(self) -> str:
        value = self.reveal()
        if len(value) >= REVEAL_TAIL_FROM:
            return MASK + value[-4:]
        return MASK

    @property
    def key_id(self) -> str | None:
        """The id of the ring key that sealed it; None before the first save."""
        return keyring.key_id_of(self._sealed) if self._sealed is not None else None

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return "<Secret>"

    def __bool__(self) -> bool:
        return True


class EncryptedAttribute(DeferredAttribute):
    """Keeps the sealed token on the instance; hands out Secrets."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        raw = super().__get__(instance, cls)
        if raw is None or raw == "":
            return raw
        if isinstance(raw, SealedToken):
            row_id = instance.pk if raw.row_id is None else raw.row_id
            return Secret(sealed=raw, context=self.field.context(row_id))
        return Secret(plaintext=raw)

    def __set__(self, instance, value):
        attname = self.field.attname
        if isinstance(value, Secret):
            value = value._sealed if value._sealed is not None else value._plaintext
        elif isinstance(value, SealedToken) and value.row_id is None:
            # Read from the database as part of this row: bound to its id.
            pk = instance.__dict__.get(instance._meta.pk.attname)
            value = SealedToken.of(value, pk)
        elif value is not None and not isinstance(value, str):
            raise TypeError(f"{attname}: an encrypted field holds text, not {value!r}")
        instance.__dict__[attname] = value


class EncryptedTextField(models.TextField):
    descriptor_class = EncryptedAttribute

    def context(self, row_id) -> bytes:
        return f"{self.model._meta.db_table}\x1f{self.column}\x1f{row_id}".encode()

    def from_db_value(self, value, expression, connection):
        return SealedToken(value) if value else value

    def get_prep_value(self, value):
        if value is None or isinstance(value, SealedToken) or value == "":
            return value if value is None else str(value)
        raise TypeError(
            f"{self.name}: an encrypted value is written by saving the model"
            " instance, which binds it to its row; update() and filters on"
            " plain text cannot do that"
        )

    def pre_save(self, model_instance, add):
        raw = model_instance.__dict__.get(self.attname)
        if raw is None or raw == "":
            return raw
        row_id = model_instance.pk
        if row_id is None:
            raise MissingRowId(
                f"{self.model._meta.label}.{self.name}: no row id before saving;"
                " the model's id must be a PreallocatedBigAutoField"
            )
        if isinstance(raw, SealedToken):
            if raw.row_id in (None, row_id):
                return raw
            # A value copied from another row: open it there, seal it here.
            raw = keyring.unseal(raw, context=self.context(raw.row_id)).decode()

        token = keyring.seal(raw.encode(), context=self.context(row_id))
        sealed = SealedToken.of(token, row_id)
        model_instance.__dict__[self.attname] = sealed
        return sealed

    def formfield(self, **kwargs):
        # The browser never receives the value: the input starts empty, and an
        # empty submission keeps what is stored (see save_form_data).
        defaults = {
            "form_class": forms.CharField,
            "widget": forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password"}
            ),
            "strip": True,
        }
        defaults.update(kwargs)
        return super().formfield(**defaults)

    def save_form_data(self, instance, data):
        if data:
            setattr(instance, self.name, data)

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        if not isinstance(self.model._meta.pk, PreallocatedBigAutoField):
            errors.append(
                checks.Error(
                    f"{self.model._meta.label}.{self.name} is encrypted with its row"
                    " id as associated data, but the model's primary key is not a"
                    " PreallocatedBigAutoField.",
                    hint="Declare `id = PreallocatedBigAutoField(primary_key=True)`.",
                    obj=self,
                    id="clozup.E010",
                )
            )
        return errors


class PreallocatedBigAutoField(models.BigAutoField):
    """A bigint id taken from the table's sequence before the INSERT."""

    def get_pk_value_on_save(self, instance):
        using = instance._state.db or router.db_for_write(type(instance))
        connection = connections[using]
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s))", [table, self.column]
            )
            return cursor.fetchone()[0]


def encrypted_fields(model) -> list[EncryptedTextField]:
    return [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
