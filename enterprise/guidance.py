"""What an enterprise admin is told about each rejection and what to fix."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from verification.guidance import GUIDANCE as PERSONAL_GUIDANCE
from verification.guidance import Guidance
from verification.providers.base import ReasonCode

from .models import ReviewReason

GUIDANCE: dict[str, Guidance] = {
    ReasonCode.COMPANY_MISMATCH: Guidance(
        _("The company name does not match the credit code in the business registry."),
        _(
            "Enter the company name exactly as on the licence, including parentheses, then try again."
        ),
        True,
    ),
    ReasonCode.LEGAL_REPRESENTATIVE_MISMATCH: Guidance(
        _("The legal representative does not match the business registry."),
        _(
            "Enter the legal representative's name exactly as on the current licence, then try again."
        ),
        True,
    ),
    ReasonCode.NO_SUCH_COMPANY: Guidance(
        _("The business registry has no company with this credit code."),
        _(
            "Check the 18-character code on the licence. A newly registered company can take a few days to appear."
        ),
        True,
    ),
    ReasonCode.COMPANY_NOT_OPERATING: Guidance(
        _("The business registry lists this company as no longer in business."),
        _(
            "Only a company in business (not deregistered, revoked, cancelled or suspended) can "
            "be verified. If the registry is wrong, ask the market regulation authority to "
            "correct it, then contact customer service."
        ),
        False,
    ),
    ReviewReason.LICENCE_UNREADABLE: Guidance(
        _("Our reviewer could not read the licence."),
        _("Upload a sharper photo or scan of the whole licence, in good light, without glare."),
        True,
    ),
    ReviewReason.LICENCE_MISMATCH: Guidance(
        _("The licence does not match the details you entered."),
        _(
            "Check the company name, credit code and legal representative against the licence, then submit again."
        ),
        True,
    ),
    ReviewReason.NOT_A_LICENCE: Guidance(
        _("The uploaded file is not a business licence."),
        _("Upload the company's business licence (营业执照), original or a stamped copy."),
        True,
    ),
    ReviewReason.LICENCE_INVALID: Guidance(
        _("The licence is expired, revoked or incomplete."),
        _(
            "Upload the current, complete licence. If the company's registration changed, verify with the new licence."
        ),
        True,
    ),
}


def guidance_for(reason_code: str) -> Guidance | None:
    return GUIDANCE.get(reason_code) or PERSONAL_GUIDANCE.get(reason_code)
