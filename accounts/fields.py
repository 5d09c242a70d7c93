from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from .phone import normalize_phone


class PhoneNumberField(models.CharField):
    """A CharField that stores E.164. Values are normalised on the way into the database and in
    lookups, so ``User.objects.filter(phone="138 0013 8000")`` finds "+8613800138000"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 16)
        super().__init__(*args, **kwargs)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return None
        try:
            return normalize_phone(value)
        except ValidationError:
            # Left as given: the E.164 check constraint refuses it at the database.
            return value

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value in (None, ""):
            return None
        return normalize_phone(value)
