"""A person's rights over their data (PIPL Art. 44-47): see it, take a copy, close the account.

This lives in the project package because it reads every app: the account and its consents
(accounts), personal and enterprise verifications, and the support desk's audit of staff who
looked at the person's data. Each app keeps its own writes (``verification_erase_person``,
``enterprise_erase_person``, ``account_erase``); this module puts them together.

The export's schema is documented in docs/privacy/export.md; change ``EXPORT_VERSION`` with it."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.app_settings import app_settings as accounts_settings
from accounts.models import ConsentRecord, PrivacyEvent, User
from accounts.personkeys import shred_person
from accounts.phone import mask_phone
from accounts.selectors import consent_history
from accounts.services import account_erase, privacy_event_record, user_lock
from accounts.sms import backend_paths
from enterprise.app_settings import app_settings as enterprise_settings
from enterprise.models import EnterpriseVerification
from enterprise.selectors import enterprise_verifications_of
from enterprise.services import enterprise_erasable, enterprise_erase_person
from enterprise.storage import licence_read
from hostapi.models import AccountLink
from hostapi.selectors import platform_links_of
from support.models import AuditEntry
from verification.app_settings import app_settings as verification_settings
from verification.documents import mask_document_number, mask_name
from verification.models import Kind, PersonalVerification, VerificationBase
from verification.selectors import verifications_of
from verification.services import verification_erasable, verification_erase_person
from webhooks.services import event_record_account_erased

EXPORT_SCHEMA = "realname.personal-data-export"
EXPORT_VERSION = 1
#: How long each kind of data is kept: the periods come from the settings the retention jobs
#: enforce (docs/privacy/retention.md), so the page never promises what is not done.
UNTIL_CLOSED = gettext_lazy("Until you close the account.")


def _days(count: int) -> str:
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


def kept_after_closing() -> str:
    """What stays of a closed account's verifications, and for how long
    (``ACCOUNTS_RETENTION_ERASED_DAYS``, job ``accounts.erased``)."""
    return _(
        "After you close the account: only that a check ran (when, its outcome, the document "
        "type and the provider), with no readable personal data, for %(period)s; then it is "
        "deleted."
    ) % {"period": _days(accounts_settings.RETENTION_ERASED_DAYS)}


def kept_consents() -> str:
    return _(
        "Kept as evidence, also after you close the account: for %(period)s after closing, then "
        "deleted."
    ) % {"period": _days(accounts_settings.RETENTION_ERASED_DAYS)}


def kept_personal() -> str:
    """``VERIFICATION_RETENTION_FAILED_DAYS`` and ``..._ABANDONED_DAYS`` (verification.retention)."""
    periods = _(
        "A check that failed: its personal values are erased %(failed)s after it ended. A check "
        "left unfinished: ended and erased after %(abandoned)s without progress."
    ) % {
        "failed": _days(verification_settings.RETENTION_FAILED_DAYS),
        "abandoned": _days(verification_settings.RETENTION_ABANDONED_DAYS),
    }
    return f"{UNTIL_CLOSED} {periods} {kept_after_closing()}"


def kept_enterprise() -> str:
    """``ENTERPRISE_LICENCE_RETENTION_DAYS`` (enterprise.retention)."""
    licence = _("The business licence file is deleted %(licence)s after the decision.") % {
        "licence": _days(enterprise_settings.LICENCE_RETENTION_DAYS)
    }
    return f"{UNTIL_CLOSED} {licence} {kept_after_closing()}"


#: Audit actions in which staff saw a person's data.
STAFF_VIEW_ACTIONS = (AuditEntry.Action.REVEAL, AuditEntry.Action.LICENCE_VIEW)


def erase_person_keys(user: User) -> bool:
    """Crypto-shredding: destroy the person's own data key (``accounts.personkeys``), so that no
    copy of their ciphertext (a backup, a replica, a value the blanking missed) can be read
    again. Runs inside the closing's transaction, after the values are blanked; True when a key
    was destroyed now."""
    return shred_person(user.pk)


@dataclass
class Item:
    """One value shown on Your data: masked unless the person re-confirmed."""

    label: str
    value: str
    masked: str = ""

    def shown(self, revealed: bool) -> str:
        return self.value if revealed or not self.masked else self.masked


@dataclass
class Section:
    key: str
    title: str
    purpose: str
    sent_to: list[str]
    kept: str
    records: list[list[Item]] = field(default_factory=list)
    #: Shown instead of the records when there are none (default: "Nothing held.").
    empty: str = ""


def _when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _iso(value: datetime | date | None) -> str | None:
    return None if value is None else value.isoformat()


def _carriers() -> list[str]:
    return [path.rsplit(".", 2)[-2] if path.count(".") >= 2 else path for path in backend_paths()]


def _verification_keys(
    user: User,
) -> tuple[list[PersonalVerification], list[EnterpriseVerification]]:
    return verifications_of(user=user), enterprise_verifications_of(user=user)


def _sent_to(verifications: Iterable[VerificationBase]) -> list[str]:
    """Where the values of ``verifications`` were sent: each provider, from its first use."""
    return sorted(
        {
            _("%(provider)s, from %(when)s") % {"provider": v.provider, "when": _when(v.created_at)}
            for v in verifications
            if v.provider
        }
    )


def kept_platform_links() -> str:
    """Links go with the closed account's minimal record (``accounts.erased``, hostapi's
    purger): until then the platform can learn that the account was closed."""
    return _(
        "Until you close the account. After that, the link stays for %(period)s, so that the "
        "platform learns the account was closed; then it is deleted."
    ) % {"period": _days(accounts_settings.RETENTION_ERASED_DAYS)}


def _platforms_section(links: list[AccountLink]) -> Section:
    return Section(
        key="platforms",
        title=_("Host platforms"),
        purpose=_(
            "The platforms where you verified through us. Each may ask whether your account is "
            "verified (the kind, document type, provider and date; never your name, document "
            "number, date of birth or mobile number) and is told when that changes, for "
            "example when a verification ends or the account is closed."
        ),
        sent_to=sorted({link.client.name for link in links}),
        kept=kept_platform_links(),
        records=[
            [
                Item(_("Platform"), link.client.name),
                Item(_("Linked"), _when(link.created_at)),
            ]
            for link in links
        ],
        empty=_("None: your verification status is not shared with any platform."),
    )


def staff_views_of(*, user: User) -> list[AuditEntry]:
    """Every time support staff revealed ``user``'s personal data or viewed their licence."""
    personal, enterprise = _verification_keys(user)
    entries = list(
        AuditEntry.objects.filter(
            action__in=STAFF_VIEW_ACTIONS,
            kind=Kind.PERSONAL,
            verification_id__in=[v.pk for v in personal],
        ).select_related("actor")
    ) + list(
        AuditEntry.objects.filter(
            action__in=STAFF_VIEW_ACTIONS,
            kind=Kind.ENTERPRISE,
            verification_id__in=[v.pk for v in enterprise],
        ).select_related("actor")
    )
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def staff_role(entry: AuditEntry) -> str:
    """Who, as a role: the staff member's groups (the roles the operator defined), never their
    name or number, which are the staff member's own personal data."""
    names = sorted(entry.actor.groups.values_list("name", flat=True))
    return ", ".join(names) or _("Support staff")


def your_data(*, user: User) -> list[Section]:
    """Every category held about ``user``, for the Your data page."""
    personal, enterprise = _verification_keys(user)
    sections = [
        Section(
            key="account",
            title=_("Account"),
            purpose=_("To let you log in with your mobile number and to text you codes."),
            sent_to=[
                _("SMS carrier (%(carriers)s), with each code")
                % {"carriers": ", ".join(_carriers())}
            ],
            kept=str(UNTIL_CLOSED),
            records=[
                [
                    Item(_("Mobile number"), user.phone or "", mask_phone(user.phone)),
                    Item(_("E-mail address"), user.email or "—"),
                    Item(_("Joined"), _when(user.date_joined)),
                ]
            ],
        ),
        Section(
            key="consents",
            title=_("Consents"),
            purpose=_("Evidence of what you accepted or withdrew, which version, and when."),
            sent_to=[],
            kept=kept_consents(),
            records=[
                [
                    Item(_("Document"), str(record.document.title)),
                    Item(_("Version"), str(record.document_version)),
                    Item(_("Action"), str(record.get_action_display())),
                    Item(_("When"), _when(record.created_at)),
                ]
                for record in consent_history(user=user)
            ],
        ),
        Section(
            key="personal_verifications",
            title=_("Real-name verification"),
            purpose=_(
                "To confirm who is behind the account, as the law requires for real-name services."
            ),
            sent_to=_sent_to(personal),
            kept=kept_personal(),
            records=[
                [
                    Item(_("Status"), str(v.get_status_display())),
                    Item(_("Name"), v.name, mask_name(v.name)),
                    Item(_("Document type"), str(v.get_document_type_display())),
                    Item(
                        _("Document number"),
                        v.document_number,
                        mask_document_number(v.document_number),
                    ),
                    Item(_("Date of birth"), _when(v.birth_date), "****-**-**"),
                    Item(_("Provider"), v.provider or "—"),
                    Item(_("Submitted"), _when(v.created_at)),
                    Item(_("Completed"), _when(v.completed_at) or "—"),
                ]
                for v in personal
            ],
        ),
        Section(
            key="enterprise_verifications",
            title=_("Enterprise verification and business licence"),
            purpose=_(
                "To confirm that the account acts for a company: registry check and licence review."
            ),
            sent_to=_sent_to(enterprise),
            kept=kept_enterprise(),
            records=[
                [
                    Item(_("Status"), str(v.get_status_display())),
                    Item(_("Company"), v.company_name),
                    Item(_("Credit code"), v.credit_code),
                    Item(
                        _("Legal representative"),
                        v.legal_representative,
                        mask_name(v.legal_representative),
                    ),
                    Item(_("Licence file"), v.licence_content_type if v.licence_name else "—"),
                    Item(_("Submitted"), _when(v.created_at)),
                ]
                for v in enterprise
            ],
        ),
        _platforms_section(platform_links_of(user=user)),
        Section(
            key="staff_views",
            title=_("Staff who saw your data"),
            purpose=_(
                "Support staff reveal your data only with a stated reason; each time is recorded."
            ),
            sent_to=[],
            kept=str(UNTIL_CLOSED),
            records=[
                [
                    Item(_("Role"), staff_role(entry)),
                    Item(_("What"), str(entry.get_action_display())),
                    Item(_("When"), _when(entry.at)),
                    Item(_("Stated reason"), entry.reason or "—"),
                ]
                for entry in staff_views_of(user=user)
            ],
        ),
    ]
    return sections


def _licence(verification: EnterpriseVerification) -> dict[str, Any] | None:
    if not verification.licence_name:
        return None
    return {
        "content_type": verification.licence_content_type,
        "sha256": verification.licence_sha256,
        "content_base64": base64.b64encode(licence_read(verification.licence_name)).decode("ascii"),
    }


def export_build(*, user: User) -> dict[str, Any]:
    """Everything about ``user`` and nothing about anyone else (schema: docs/privacy/export.md).
    Values are decrypted; the licence is the file as stored, decrypted, in base64."""
    personal, enterprise = _verification_keys(user)
    return {
        "schema": EXPORT_SCHEMA,
        "version": EXPORT_VERSION,
        "generated_at": timezone.now().isoformat(),
        "account": {
            "id": str(user.public_id),
            "phone": user.phone,
            "email": user.email,
            "date_joined": _iso(user.date_joined),
        },
        "consents": [
            {
                "document": record.document.slug,
                "title": str(record.document.title),
                "version": record.document_version,
                "content_hash": record.content_hash,
                "action": record.action,
                "at": _iso(record.created_at),
                "ip_address": record.ip_address,
                "user_agent": record.user_agent,
            }
            for record in ConsentRecord.objects.filter(user=user)
            .select_related("document")
            .order_by("created_at", "id")
        ],
        "personal_verifications": [
            {
                "id": str(v.public_id),
                "status": v.status,
                "reason_code": v.reason_code,
                "document_type": v.document_type,
                "name": v.name,
                "document_number": v.document_number,
                "birth_date": _iso(v.birth_date),
                "phone": v.phone,
                "provider": v.provider,
                "submitted_at": _iso(v.created_at),
                "identity_checked_at": _iso(v.identity_checked_at),
                "completed_at": _iso(v.completed_at),
            }
            for v in personal
        ],
        "enterprise_verifications": [
            {
                "id": str(v.public_id),
                "status": v.status,
                "reason_code": v.reason_code,
                "company_name": v.company_name,
                "credit_code": v.credit_code,
                "legal_representative": v.legal_representative,
                "phone": v.phone,
                "provider": v.provider,
                "submitted_at": _iso(v.created_at),
                "reviewed_at": _iso(v.reviewed_at),
                "completed_at": _iso(v.completed_at),
                "licence": _licence(v),
            }
            for v in enterprise
        ],
        "platform_links": [
            {
                "platform": link.client.name,
                "reference": link.reference,
                "linked_at": _iso(link.created_at),
            }
            for link in platform_links_of(user=user)
        ],
        "staff_views": [
            {
                "role": staff_role(entry),
                "action": entry.action,
                "at": _iso(entry.at),
                "reason": entry.reason,
                "verification": str(entry.public_id),
            }
            for entry in staff_views_of(user=user)
        ],
        "privacy_events": [
            {"kind": event.kind, "at": _iso(event.at)}
            for event in PrivacyEvent.objects.filter(user=user).order_by("at", "id")
        ],
    }


def export_record(*, user: User, data: dict[str, Any], fmt: str) -> PrivacyEvent:
    """Record that ``user`` took an export: the format and how many records of each kind."""
    counts = {key: len(value) for key, value in data.items() if isinstance(value, list)}
    return privacy_event_record(user=user, kind=PrivacyEvent.Kind.EXPORTED, format=fmt, **counts)


def person_erasable(*, user: User) -> bool:
    return verification_erasable(user=user) and enterprise_erasable(user=user)


@transaction.atomic
def person_erase(*, user: User) -> PrivacyEvent:
    """Close ``user``'s account: blank every personal value, free the number, keep the minimal
    evidence (see docs/privacy/rights.md), and record it with counts only. The account's row
    is locked first, as a submission locks it, so a submission or an answer running meanwhile
    waits (same lock order everywhere: no deadlock) and the check below sees what it wrote."""
    user_lock(user=user)
    if not person_erasable(user=user):
        raise ValidationError(
            _(
                "A check of your details is still running at the provider. Please wait until it "
                "has finished (usually a minute), then close the account."
            ),
            code="check_running",
        )
    counts: dict[str, int] = {"personal_verifications": verification_erase_person(user=user)}
    counts.update(enterprise_erase_person(user=user))
    counts["person_keys_shredded"] = int(erase_person_keys(user))
    counts.update(account_erase(user=user))
    # Last, as every state change takes the account's webhook sequence after its own rows.
    event_record_account_erased(user=user)
    return privacy_event_record(user=user, kind=PrivacyEvent.Kind.ERASED, **counts)
