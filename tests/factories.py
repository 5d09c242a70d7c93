"""Made-up people, companies, files and records for the tests (factory_boy).

The demo identities are the sandbox's demo registries (sandbox/demo_registry.csv and
sandbox/demo_company_registry.csv, described in sandbox/README.md): the sandbox vendor passes
them. Every other identity is made up; nothing here is real personal data."""

from __future__ import annotations

import importlib
import io
from datetime import date
from typing import Any

import factory
from allauth.mfa.totp.internal.auth import TOTP
from django.apps import apps as django_apps
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from factory.django import DjangoModelFactory
from PIL import Image, ImageDraw
from stdnum.iso7064 import mod_11_2

from accounts.app_settings import app_settings as accounts_settings
from accounts.models import User
from accounts.selectors import legal_documents_current
from accounts.services import consent_accept
from enterprise import services as enterprise_services
from enterprise.models import EnterpriseVerification
from verification import services as personal_services
from verification.models import PersonalVerification
from verification.providers.base import CheckResult, ReasonCode

# --- the sandbox's demo identities -------------------------------------------------------------

DEMO: dict[str, Any] = {
    "name": "测试甲",
    "document_type": "cn_resident_id",
    "document_number": "110101199003079016",
    "birth_date": None,
}
DEMO_BIRTH_DATE = date(1990, 3, 7)  # as the number encodes it and the registry holds it
DEMO_MINOR_NUMBER = "110101201506019090"
DEMO_COMPANY: dict[str, Any] = {
    "company_name": "沙箱演示科技有限公司",
    "credit_code": "91110108MA0000901G",
    "legal_representative": "测试甲",
}

# A made-up TOTP secret for test staff; real secrets come from allauth's activation page.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


# --- what people type and upload ---------------------------------------------------------------


def resident_id(birth: str = "19900307", sequence: str = "001", region: str = "110105") -> str:
    """A made-up, well-formed resident ID number (valid GB 11643 check digit)."""
    base = f"{region}{birth}{sequence}"
    return base + mod_11_2.calc_check_digit(base)


def details(**overrides: Any) -> dict[str, Any]:
    """What a person submits for a personal verification (not in any registry)."""
    return {
        "name": "张三",
        "document_type": "cn_resident_id",
        "document_number": resident_id(),
        "birth_date": None,
        "today": date(2026, 11, 23),
        **overrides,
    }


def licence_png(width: int = 900, height: int = 640) -> bytes:
    """A made-up picture standing in for a business licence scan."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, width - 20, height - 20), outline="firebrick", width=8)
    draw.text((60, 60), "BUSINESS LICENCE (SAMPLE)", fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def licence_upload(content: bytes | None = None, name: str = "licence.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or licence_png(), content_type="image/png")


# --- accounts --------------------------------------------------------------------------------


class UserFactory(DjangoModelFactory[User]):
    """An account with a verified, made-up mobile number (+86 137…, a new one each time).

    ``consents`` are the slugs of the documents it accepted (their current versions): none by
    default; the ``signed_up`` trait accepts what sign-up asks for, the ``face`` trait adds the
    separate face rules."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        documents: tuple[str, ...] = ()
        face_documents: tuple[str, ...] = ()
        signed_up = factory.Trait(
            documents=factory.LazyFunction(lambda: accounts_settings.SIGNUP_DOCUMENTS)
        )
        face = factory.Trait(
            face_documents=factory.LazyFunction(lambda: (accounts_settings.FACE_DOCUMENT,))
        )

    phone = factory.Sequence(lambda n: f"+86{13700000000 + n}")
    phone_verified = True
    consents = factory.LazyAttribute(lambda user: (*user.documents, *user.face_documents))

    @classmethod
    def _create(
        cls, model_class: type[User], *args: Any, consents: tuple[str, ...] = (), **kwargs: Any
    ) -> User:
        user = model_class.objects.create_user(*args, **kwargs)
        if consents:
            consent_accept(
                user=user,
                documents=legal_documents_current(consents),
                ip_address=None,
                user_agent="",
            )
        return user


class MemberFactory(UserFactory):
    """A user with a verified mobile number who accepted the documents verification needs (the
    sign-up documents and the service description); ``face=True`` also the face rules."""

    class Params:
        documents = factory.LazyFunction(lambda: accounts_settings.VERIFICATION_DOCUMENTS)


def _ensure_desk_groups() -> None:
    """The groups come from a data migration; a transactional test's flush empties them."""
    if Group.objects.filter(name__in=["Support", "Support lead"]).count() < 2:
        migration = importlib.import_module("support.migrations.0002_support_groups")
        migration.create_groups(django_apps, None)


class StaffFactory(MemberFactory):
    """Support staff as the desk sees them: ``groups`` by name (Support unless given; ``[]`` for
    none) and an authenticator app with :data:`TOTP_SECRET` (``totp=False`` for none yet)."""

    is_staff = True

    @factory.post_generation
    def groups(user: User, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        if not create:
            return
        _ensure_desk_groups()
        for name in ["Support"] if extracted is None else extracted:
            user.groups.add(Group.objects.get(name=name))

    @factory.post_generation
    def totp(user: User, create: bool, extracted: bool | None, **kwargs: Any) -> None:
        if create and extracted is not False:
            TOTP.activate(user, TOTP_SECRET)


# --- verification rows, written straight to the table --------------------------------------


class PersonalVerificationFactory(DjangoModelFactory[PersonalVerification]):
    """A submitted personal verification of the demo identity, inserted as a row: no rule
    checked, nothing queued. For what the services would refuse or always enqueue (a
    constraint hit directly, a submission whose message the broker lost)."""

    class Meta:
        model = PersonalVerification

    user = factory.SubFactory(MemberFactory)
    phone = factory.LazyAttribute(lambda verification: str(verification.user.phone))
    name = DEMO["name"]
    document_type = DEMO["document_type"]
    document_number = DEMO["document_number"]
    document_number_hash = factory.LazyAttribute(
        lambda verification: personal_services.document_number_hash(verification.document_number)
    )
    birth_date = DEMO_BIRTH_DATE


class EnterpriseVerificationFactory(DjangoModelFactory[EnterpriseVerification]):
    """A submitted enterprise verification of the demo company, inserted as a row: no rule
    checked, no licence file stored, nothing queued."""

    class Meta:
        model = EnterpriseVerification

    user = factory.SubFactory(MemberFactory)
    phone = factory.LazyAttribute(lambda verification: str(verification.user.phone))
    company_name = DEMO_COMPANY["company_name"]
    credit_code = DEMO_COMPANY["credit_code"]
    legal_representative = DEMO_COMPANY["legal_representative"]
    licence_name = "licence.png"
    licence_content_type = "image/png"
    licence_sha256 = "0" * 64


# --- verifications made through the services, as the lifecycle makes them --------------------


def passed_personal(user: User, **values: Any) -> PersonalVerification:
    """A personal verification that passed at the sandbox provider (identity and face)."""
    now = timezone.now()
    return PersonalVerificationFactory.create(
        user=user,
        status=PersonalVerification.Status.PASSED,
        reason_code="ok",
        provider="sandbox",
        identity_checked_at=now,
        liveness_started_at=now,
        completed_at=now,
        **values,
    )


class FailedPersonalFactory(factory.Factory[PersonalVerification]):
    """A personal verification submitted through the services and failed by the provider's
    identity check (``reason_code``, a name that does not match the number unless given).
    Any other keyword changes what was submitted (see :func:`details`)."""

    class Meta:
        model = PersonalVerification

    user = factory.SubFactory(MemberFactory)
    reason_code = ReasonCode.NAME_NUMBER_MISMATCH

    @classmethod
    def _create(
        cls,
        model_class: type[PersonalVerification],
        *,
        user: User,
        reason_code: ReasonCode,
        **submitted: Any,
    ) -> PersonalVerification:
        verification = personal_services.verification_submit(user=user, **details(**submitted))
        return personal_services.verification_record_identity_result(
            verification_id=verification.pk,
            result=CheckResult(passed=False, reason_code=reason_code, provider_ref="r-1"),
        )


class ErroredPersonalFactory(factory.Factory[PersonalVerification]):
    """A personal verification the provider kept failing (vendor errors until the retries ran
    out): stopped in ``error`` for support staff."""

    class Meta:
        model = PersonalVerification

    user = factory.SubFactory(MemberFactory)

    @classmethod
    def _create(
        cls, model_class: type[PersonalVerification], *, user: User, **submitted: Any
    ) -> PersonalVerification:
        verification = personal_services.verification_submit(user=user, **details(**submitted))
        for _ in range(2):
            personal_services.personal.record_provider_failure(
                verification_id=verification.pk, reason_code=ReasonCode.VENDOR_ERROR
            )
        return personal_services.personal.mark_error(
            verification_id=verification.pk, reason_code=ReasonCode.VENDOR_ERROR
        )


class PendingEnterpriseFactory(factory.Factory[EnterpriseVerification]):
    """The demo company submitted with a licence through the services, its registry check
    passed: waiting for a reviewer in the support desk."""

    class Meta:
        model = EnterpriseVerification

    user = factory.SubFactory(MemberFactory)

    @classmethod
    def _create(
        cls, model_class: type[EnterpriseVerification], *, user: User, **submitted: Any
    ) -> EnterpriseVerification:
        verification = enterprise_services.enterprise_verification_submit(
            user=user, **{**DEMO_COMPANY, "licence": licence_upload(), **submitted}
        )
        return enterprise_services.enterprise_record_check_result(
            verification_id=verification.pk,
            result=CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="e-1"),
        )
