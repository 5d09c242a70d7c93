"""Writes about accounts and consent. Views, forms and the adapter call these."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import legal
from .app_settings import app_settings
from .identity import identity_end_all
from .models import ConsentRecord, LegalDocument, PrivacyEvent, User
from .selectors import legal_document_current


def _record(
    *, user: User, document: LegalDocument, action: str, ip_address: str | None, user_agent: str
) -> ConsentRecord:
    return ConsentRecord.objects.create(
        user=user,
        document=document,
        document_version=document.version,
        content_hash=document.content_hash,
        action=action,
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:512],
    )


@transaction.atomic
def consent_accept(
    *, user: User, documents: Iterable[LegalDocument], ip_address: str | None, user_agent: str
) -> list[ConsentRecord]:
    """Record that ``user`` accepted each of ``documents`` (the exact versions shown)."""
    return [
        _record(
            user=user,
            document=document,
            action=ConsentRecord.Action.ACCEPTED,
            ip_address=ip_address,
            user_agent=user_agent,
        )
        for document in documents
    ]


@transaction.atomic
def consent_withdraw(
    *, user: User, slug: str, ip_address: str | None, user_agent: str
) -> ConsentRecord:
    """Withdraw consent to the face rules (no new face check) or to the real-name service
    description: the account's completed verification (personal or enterprise) ends, its
    personal values are erased, and the gate stays closed until the person accepts the
    description again and verifies again. The User Agreement and the Privacy Policy cannot be
    withdrawn on their own: without them there is no account (that is closing the account,
    ``account_erase``)."""
    if slug not in app_settings.WITHDRAWABLE_DOCUMENTS:
        raise ValidationError(
            _("This consent cannot be withdrawn on its own."), code="not_withdrawable"
        )
    document = legal_document_current(slug)
    if document is None:
        raise ValidationError(_("There is nothing to withdraw."), code="nothing_to_withdraw")
    if slug == app_settings.REALNAME_SERVICE_DOCUMENT:
        user_lock(user=user)
        identity_end_all(user=user)
    return _record(
        user=user,
        document=document,
        action=ConsentRecord.Action.WITHDRAWN,
        ip_address=ip_address,
        user_agent=user_agent,
    )


@transaction.atomic
def legal_document_publish(*, slug: str, version: int, effective_at: datetime) -> LegalDocument:
    """Publish version ``version`` of ``slug`` from the files shipped in accounts/legal/.
    From ``effective_at`` on, people are asked to accept it at their next use."""
    titles: dict[str, str] = {}
    bodies: dict[str, str] = {}
    for language in legal.LANGUAGES:
        titles[language], bodies[language] = legal.read_source(slug, version, language)
    return LegalDocument.objects.create(
        slug=slug,
        version=version,
        effective_at=effective_at,
        title_zh_hans=titles["zh-hans"],
        title_en=titles["en"],
        body_zh_hans=bodies["zh-hans"],
        body_en=bodies["en"],
        content_hash=legal.content_hash(slug=slug, version=version, titles=titles, bodies=bodies),
    )


def user_lock(*, user: User) -> None:
    """Lock the account's row until the surrounding transaction ends. Services that enforce a
    rule across tables for one account (a person or an enterprise, never both; attempts per
    day) take this lock first, so two concurrent requests of one account run one after the
    other and the second sees what the first wrote."""
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()


def privacy_event_record(*, user: User, kind: str, **detail: int | str) -> PrivacyEvent:
    """Record that ``user`` exercised a right; ``detail`` holds counts and names only."""
    return PrivacyEvent.objects.create(user=user, kind=kind, detail=detail)


@transaction.atomic
def account_erase(*, user: User) -> dict[str, int]:
    """Anonymise the account row: no phone (the number is free for a new account), no e-mail,
    no password, inactive, ``erased_at`` set. The row stays as the anchor of what the law keeps
    (consent records, that a verification passed). Returns counts for the erasure record.

    The verification apps' personal values are erased by their own services first (see
    ``realname.privacy.person_erase``, which runs the whole closing in one transaction)."""
    from allauth.account.models import EmailAddress

    user_lock(user=user)
    from allauth.mfa.models import Authenticator

    emails, _unused = EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    user.phone = None
    user.phone_verified = False
    user.email = ""
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.set_unusable_password()
    user.erased_at = timezone.now()
    user.save(
        update_fields=[
            "phone",
            "phone_verified",
            "email",
            "is_active",
            "is_staff",
            "is_superuser",
            "password",
            "erased_at",
        ]
    )
    user.groups.clear()
    user.user_permissions.clear()
    return {"email_addresses": emails}
