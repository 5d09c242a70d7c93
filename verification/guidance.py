"""What a person is told about each outcome: the reason in plain words and what to do next."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .providers.base import ReasonCode


@dataclass(frozen=True)
class Guidance:
    reason: str | Promise
    next_step: str | Promise
    can_retry: bool  # whether a new attempt by the person can help


GUIDANCE: dict[str, Guidance] = {
    ReasonCode.NAME_NUMBER_MISMATCH: Guidance(
        _("The name does not match the document number in the authority's records."),
        _(
            "Check that the name is exactly as printed on the document (including any middle "
            "dot or spaces) and that every character of the number is right, then try again."
        ),
        True,
    ),
    ReasonCode.NO_SUCH_RECORD: Guidance(
        _("The authority has no record of this document."),
        _(
            "Check the document type and number. A newly issued or renewed document can take a "
            "few days to appear; if it still fails, contact customer service."
        ),
        True,
    ),
    ReasonCode.BIRTH_DATE_MISMATCH: Guidance(
        _("The date of birth does not match the authority's records."),
        _("Check the date of birth on your document and try again."),
        True,
    ),
    ReasonCode.LIVENESS_FAILED: Guidance(
        _("The face check did not pass."),
        _(
            "Use a well-lit place, face the camera without a hat, mask or glasses, follow the "
            "prompts on the face page, then try again. Only the document holder can pass."
        ),
        True,
    ),
    ReasonCode.LIVENESS_EXPIRED: Guidance(
        _("The face check was not finished in time."),
        _("Start a new attempt and complete the face check within 15 minutes."),
        True,
    ),
    ReasonCode.DAILY_LIMIT_REACHED: Guidance(
        _("This document has been checked too many times today."),
        _(
            "The identity provider allows only a few checks of one document a day, to protect "
            "its holder. Please try again tomorrow; if you did not start these checks "
            "yourself, contact customer service."
        ),
        True,
    ),
    ReasonCode.VENDOR_BUSY: Guidance(
        _("Our identity provider is busy."),
        _(
            "Nothing is lost: your request is kept and will be checked as soon as the provider "
            "can take it. You do not need to submit again."
        ),
        False,
    ),
    ReasonCode.TIMEOUT: Guidance(
        _("Our identity provider did not answer."),
        _(
            "Nothing is lost: your request is kept and our support staff have been alerted. "
            "We will retry it; you do not need to submit again."
        ),
        False,
    ),
    ReasonCode.VENDOR_ERROR: Guidance(
        _("Our identity provider had a problem."),
        _(
            "Nothing is lost: your request is kept and our support staff have been alerted. "
            "We will retry it; you do not need to submit again."
        ),
        False,
    ),
    ReasonCode.REJECTED_REQUEST: Guidance(
        _("Our identity provider refused our request."),
        _(
            "This is a problem on our side, not with your details. Our support staff have been "
            "alerted and will retry your request."
        ),
        False,
    ),
}


# Where the provider checks name, number and face in one step (Alipay), a failure may be any of
# them: the vendor does not say which.
_FAILED_TOGETHER = Guidance(
    _("The identity provider could not confirm your details and your face together."),
    _(
        "Either the name or number does not match the authority's records, or the face check "
        "did not pass. Check that the name and number are exactly as printed on the document, "
        "then try again in a well-lit place, facing the camera."
    ),
    True,
)


def guidance_for(reason_code: str, *, identity_deferred: bool = False) -> Guidance | None:
    if identity_deferred and reason_code == ReasonCode.LIVENESS_FAILED:
        return _FAILED_TOGETHER
    return GUIDANCE.get(reason_code)
