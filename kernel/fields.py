"""Model fields that keep personal data encrypted at rest (see :mod:`kernel.crypto`).

Each value is encrypted in ``get_prep_value`` (so ``save()``, ``bulk_create``, ``bulk_update`` and
``QuerySet.update(field=value)`` all encrypt) and decrypted in ``from_db_value``; ``None`` stays
SQL NULL. The purpose bound to each ciphertext is ``"<app_label>.<Model>.<field name>"``:
renaming a model or field would make existing values unreadable, so pass the old purpose
explicitly (``purpose="verification.Old.name"``) when renaming.

Ciphertexts are randomised, so the database cannot compare them: the only lookup allowed is
``isnull`` (and ``=None``). To find a record by a value, store a :func:`kernel.crypto.blind_index`
next to it and filter on that. Ordering by these columns is meaningless. A query expression given
to ``update()`` (``F()``, ``Value()``) is written as it is, unencrypted: pass plain values.

Person keys (crypto-shredding): a field declared with ``owner="user_id"`` seals the values a
model instance saves under the person key of ``instance.user_id`` (in ``pre_save``, which sees
the instance). Writes that bypass ``pre_save`` (``QuerySet.update``, ``bulk_update``) and rows
whose owner is unset fall back to the master key; ``manage.py migrate_to_person_keys`` moves
such values to person keys later. A value whose person key was destroyed reads as
:data:`ERASED` text (or an empty :class:`ErasedJSON`), never an error page; saving the
instance again keeps the unreadable ciphertext as it is.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, ClassVar

from django import forms
from django.core import checks
from django.core.exceptions import FieldError, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models.lookups import Exact, Lookup, Transform
from django.utils.translation import gettext_lazy as _

from .crypto import PersonErased, decrypt_str, encrypt_str, primary_key_id

__all__ = [
    "ERASED",
    "EncryptedDateField",
    "EncryptedFieldMixin",
    "EncryptedJSONField",
    "EncryptedTextField",
    "Erased",
    "ErasedJSON",
    "encrypted_fields",
    "is_erased",
]

ERASED = "[erased]"


class Erased(str):
    """What an encrypted text or date field reads when its person's key was destroyed: the text
    ``[erased]`` (so templates, masks and the admin show it as such), carrying the unreadable
    ciphertext so that saving the instance again writes it back unchanged."""

    token: str

    def __new__(cls, token: str) -> Erased:
        value = super().__new__(cls, ERASED)
        value.token = token
        return value


class ErasedJSON(dict[str, Any]):
    """What an encrypted JSON field reads when its person's key was destroyed: empty."""

    token: str

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token


def is_erased(value: Any) -> bool:
    return isinstance(value, Erased | ErasedJSON)


class _Sealed(str):
    """A ciphertext made in ``pre_save`` under a person key: written as it is."""


class EncryptedNullExact(Exact):
    """``field=None`` (which Django turns into ``IS NULL``) is the only comparison allowed."""

    def get_prep_lookup(self) -> Any:
        if self.rhs is not None:
            raise FieldError(
                f"{type(self.lhs.output_field).__name__} values are encrypted with a random "
                "nonce and cannot be compared in the database; filter on a blind index instead."
            )
        return None


class EncryptedFieldMixin(models.Field):
    """Shared behaviour: serialise the Python value to text, encrypt it under the field's
    purpose, and refuse database lookups that cannot work on ciphertext."""

    description = _("Encrypted value")
    refused_options: ClassVar[tuple[str, ...]] = ("primary_key", "unique", "db_index")

    def __init__(
        self, *args: Any, purpose: str | None = None, owner: str | None = None, **kwargs: Any
    ) -> None:
        # The attribute of the instance holding the user id whose person key seals the value.
        # Not part of the schema, so not in migrations.
        self.owner = owner
        self._explicit_purpose = purpose
        self.purpose = purpose or ""
        super().__init__(*args, **kwargs)

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        if not self._explicit_purpose:
            self.purpose = f"{cls._meta.label}.{self.name}"

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self._explicit_purpose:
            kwargs["purpose"] = self._explicit_purpose
        return name, path, args, kwargs

    def get_internal_type(self) -> str:
        return "TextField"

    # Subclasses turn their Python value into text and back.
    def plaintext_from_value(self, value: Any) -> str:
        return str(value)

    def value_from_plaintext(self, text: str) -> Any:
        return text

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = super().pre_save(model_instance, add)
        if value is None or is_erased(value) or not self.owner:
            return value
        owner = getattr(model_instance, self.owner, None)
        if owner is None:
            return value
        if not self.purpose:
            raise FieldError("An encrypted field must belong to a model before it stores values.")
        plaintext = self.plaintext_from_value(self.to_python(value))
        # Django asks twice per insert (Model._save_table, then the insert compiler): the value
        # is sealed once, and again only if it, its owner or the primary key changed since.
        sealed_before = model_instance.__dict__.setdefault("_encrypted_fields_sealed", {})
        key = (self.attname, plaintext, owner, primary_key_id())
        cached = sealed_before.get(self.attname)
        if cached is not None and cached[0] == key:
            return cached[1]
        sealed = _Sealed(encrypt_str(plaintext, purpose=self.purpose, owner=owner))
        sealed_before[self.attname] = (key, sealed)
        return sealed

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, _Sealed):
            return str(value)
        if is_erased(value):
            return value.token
        if not self.purpose:
            raise FieldError("An encrypted field must belong to a model before it stores values.")
        return encrypt_str(self.plaintext_from_value(self.to_python(value)), purpose=self.purpose)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        try:
            return self.value_from_plaintext(decrypt_str(value, purpose=self.purpose))
        except PersonErased:
            return self.erased(value)

    def erased(self, token: str) -> Any:
        return Erased(token)

    def get_lookup(self, lookup_name: str) -> type[Lookup] | None:  # type: ignore[override]
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        if lookup_name == "exact":
            return EncryptedNullExact
        return None

    def get_transform(self, lookup_name: str) -> type[Transform] | None:  # type: ignore[override]
        return None

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        for option in self.refused_options:
            if getattr(self, option, False):
                errors.append(
                    checks.Error(
                        f"{type(self).__name__} cannot use {option}=True: ciphertexts are "
                        "randomised, so equal values never match.",
                        hint="Index or constrain a blind index column instead.",
                        obj=self,
                        id="realname.E017",
                    )
                )
        return errors


class EncryptedTextField(EncryptedFieldMixin, models.TextField):
    """Text (names, identity numbers) stored encrypted; the Python value is ``str``."""

    description = _("Encrypted text")

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return str(value)


class EncryptedDateField(EncryptedFieldMixin, models.TextField):
    # What django-stubs' mypy plugin reads as the attribute's types on model instances.
    _pyi_private_set_type: datetime.date | None  # type: ignore[assignment]
    _pyi_private_get_type: datetime.date  # type: ignore[assignment]
    """A date (of birth, of expiry) stored encrypted as ISO 8601 text; the Python value is a
    ``datetime.date``."""

    description = _("Encrypted date")
    default_error_messages = {
        "invalid": _("“%(value)s” is not a valid date: use the YYYY-MM-DD format."),
    }

    def to_python(self, value: Any) -> Any:
        if value is None or is_erased(value):
            return value
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValidationError(
            self.error_messages["invalid"], code="invalid", params={"value": value}
        )

    def plaintext_from_value(self, value: Any) -> str:
        return value.isoformat()

    def value_from_plaintext(self, text: str) -> Any:
        return datetime.date.fromisoformat(text)

    def value_to_string(self, obj: models.Model) -> str:
        value: Any = self.value_from_object(obj)
        if value is None:
            return ""
        return value if isinstance(value, str) else value.isoformat()

    def formfield(self, **kwargs: Any) -> Any:
        # Skip TextField's formfield: it adds max_length and a Textarea, wrong for a date.
        return models.Field.formfield(self, **{"form_class": forms.DateField, **kwargs})


class EncryptedJSONField(EncryptedFieldMixin, models.TextField):
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any
    """A JSON document (a provider's result payload) stored encrypted; the Python value is what
    ``json.loads`` returns (dict or list)."""

    description = _("Encrypted JSON")
    empty_strings_allowed = False

    def to_python(self, value: Any) -> Any:
        return value

    def plaintext_from_value(self, value: Any) -> str:
        try:
            return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
        except TypeError:
            raise ValidationError(_("Value is not JSON serialisable."), code="invalid") from None

    def value_from_plaintext(self, text: str) -> Any:
        return json.loads(text)

    def erased(self, token: str) -> Any:
        return ErasedJSON(token)

    def value_to_string(self, obj: models.Model) -> Any:
        return self.value_from_object(obj)

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.JSONField, **kwargs})


def encrypted_fields(model: type[models.Model]) -> list[EncryptedFieldMixin]:
    """The encrypted columns a model's own table holds (inherited parents' columns excluded)."""
    return [
        field
        for field in model._meta.local_concrete_fields
        if isinstance(field, EncryptedFieldMixin)
    ]
