"""Form helpers every app may use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError


class ServiceErrorsMixin(forms.BaseForm):
    """For forms whose input a service checks again: the service's errors are keyed by the
    form's field names, so people see them next to the field, as the form's own errors."""

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's ValidationError next to the fields it names, the rest on top."""
        if hasattr(error, "error_dict"):
            for field, errors in error.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, error)

    def call_service[T](self, service: Callable[..., T], **arguments: Any) -> T | None:
        """``service(**arguments)``, or None when it refuses: its ValidationError is then shown
        next to the fields (``add_service_errors``). Callers pass ``**form.cleaned_data``: the
        form's field names are the service's keyword arguments, by design."""
        try:
            return service(**arguments)
        except ValidationError as error:
            self.add_service_errors(error)
            return None
