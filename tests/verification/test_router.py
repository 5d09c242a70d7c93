"""The router (verification.providers.router): routes by document type, circuits that fail
over to the next provider for new verifications, the provider recorded on each verification
and kept for its every call, the form that offers only what some provider covers, the system
checks, and ``manage.py check_provider``."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.factories import DEMO, MemberFactory
from tests.helpers import submit_demo
from verification import services
from verification.checks import check_provider
from verification.forms import PersonalVerificationForm
from verification.lifecycle import Failures, call_provider
from verification.providers import ENTERPRISE, get_provider, route, router
from verification.providers.base import (
    CheckResult,
    Identity,
    LivenessSession,
    ProviderTransientError,
    ReasonCode,
)
from verification.providers.sandbox import SandboxProvider

PROVIDERS = "tests.verification.test_router"


class _Fake(SandboxProvider):
    """A provider that never calls out: what the router reads is its class attributes."""

    def check_identity(self, *, request_id: str, identity: Identity) -> CheckResult:
        return CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref=self.name)

    def start_liveness(self, **kwargs: Any) -> LivenessSession:
        return LivenessSession(provider_ref=self.name, url="https://example.com/face")


class FirstVendor(_Fake):
    name = "first"
    document_types = frozenset({"cn_resident_id", "hk_mo_residence_permit"})
    checks_enterprises = False
    required_settings = ()


class SecondVendor(_Fake):
    name = "second"
    document_types = frozenset({"cn_resident_id", "tw_travel_permit"})
    checks_enterprises = True
    required_settings = ()


class NeedsKeys(_Fake):
    name = "needs_keys"
    document_types = frozenset({"cn_resident_id"})
    checks_enterprises = False
    required_settings = ("TEST_VENDOR_SECRET_KEY",)


@pytest.fixture
def two_vendors(settings: Any) -> Iterator[None]:
    settings.VERIFICATION_PROVIDERS = [f"{PROVIDERS}.FirstVendor", f"{PROVIDERS}.SecondVendor"]
    settings.VERIFICATION_ROUTES = {}
    settings.VERIFICATION_CIRCUIT_FAILURES = 3
    settings.VERIFICATION_CIRCUIT_COOL_DOWN = 60
    cache.delete_many([key for name in ("first", "second") for key in router._keys(name)])
    yield
    cache.delete_many([key for name in ("first", "second") for key in router._keys(name)])


def test_a_type_goes_to_every_configured_provider_covering_it_in_order(two_vendors):
    assert route("cn_resident_id") == ["first", "second"]
    assert route("hk_mo_residence_permit") == ["first"]
    assert route("tw_travel_permit") == ["second"]
    assert route(ENTERPRISE) == ["second"]
    assert route("foreign_permanent_resident_id") == []


def test_explicit_routes_decide_the_order_and_still_skip_what_a_provider_cannot_check(
    two_vendors, settings
):
    settings.VERIFICATION_ROUTES = {
        "cn_resident_id": ["second", "first"],
        "tw_travel_permit": ["first"],
    }
    assert route("cn_resident_id") == ["second", "first"]
    assert route("tw_travel_permit") == []


def test_the_circuit_opens_after_failures_in_a_row_and_new_work_fails_over(two_vendors):
    assert router.choose("cn_resident_id") == "first"
    router.record_failure("first")
    router.record_failure("first")
    assert router.circuit("first").state == router.CLOSED
    assert router.choose("cn_resident_id") == "first"

    router.record_failure("first")

    state = router.circuit("first")
    assert state.state == router.OPEN and state.failures == 3
    assert router.choose("cn_resident_id") == "second"
    # A type only the tripped provider covers still goes there: retries wait the outage out.
    assert router.choose("hk_mo_residence_permit") == "first"


def test_a_success_closes_the_circuit(two_vendors):
    for _ in range(3):
        router.record_failure("first")
    router.record_success("first")
    assert router.circuit("first") == router.CircuitState("first", router.CLOSED, 0, None)
    assert router.choose("cn_resident_id") == "first"


def test_a_half_open_circuit_lets_one_new_verification_through_as_a_trial(two_vendors):
    opened_at = 1_000_000.0
    for _ in range(3):
        router.record_failure("first", now=opened_at)
    cache.set(router._keys("first")[1], opened_at + 60 - 3600)  # the cool-down is long over
    assert router.circuit("first").state == router.HALF_OPEN

    assert router.choose("cn_resident_id") == "first"  # the trial
    assert router.choose("cn_resident_id") == "second"  # the others wait for its answer
    assert router.choose("cn_resident_id") == "second"

    router.record_success("first")
    assert router.choose("cn_resident_id") == "first"
    assert router.choose("cn_resident_id") == "first"


def test_after_the_cool_down_the_circuit_is_half_open_and_one_failure_reopens_it(two_vendors):
    opened_at = 1_000_000.0
    for _ in range(3):
        router.record_failure("first", now=opened_at)
    assert router.circuit("first", now=opened_at + 59).state == router.OPEN
    assert router.circuit("first", now=opened_at + 61).state == router.HALF_OPEN

    reopened = router.record_failure("first", now=opened_at + 61)

    assert reopened.state == router.OPEN
    assert reopened.reopens_at == opened_at + 61 + 60


def test_every_route_open_still_chooses_the_first(two_vendors):
    for name in ("first", "second"):
        for _ in range(3):
            router.record_failure(name)
    assert router.choose("cn_resident_id") == "first"


def test_a_broken_cache_reads_as_closed(two_vendors, monkeypatch):
    def down(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", down)
    monkeypatch.setattr(cache, "add", down)
    assert router.circuit("first").state == router.CLOSED
    assert router.record_failure("first").state == router.CLOSED
    assert router.choose("cn_resident_id") == "first"


class _Task:
    name = "verification.check_identity"
    request = SimpleNamespace(retries=0)

    def retry(self, *, countdown: float, exc: Exception) -> Retry:
        return Retry(exc=exc, when=countdown)


def test_worker_failures_count_on_the_provider_circuit_and_an_answer_resets_it(two_vendors):
    def unavailable() -> None:
        raise ProviderTransientError("down", reason_code=ReasonCode.VENDOR_ERROR)

    counted: list[ReasonCode] = []

    def count(reason: ReasonCode) -> Failures:
        counted.append(reason)
        return Failures(count=len(counted), since=timezone.now())

    for _ in range(3):
        with pytest.raises(Retry):
            call_provider(
                _Task(),
                call=unavailable,
                record_failure=count,
                mark_error=lambda reason: None,
                provider="first",
            )
    assert router.circuit("first").state == router.OPEN

    call_provider(
        _Task(),
        call=lambda: None,
        record_failure=count,
        mark_error=lambda reason: None,
        provider="first",
    )
    assert router.circuit("first").state == router.CLOSED


@pytest.mark.django_db
def test_the_chosen_provider_is_recorded_and_every_later_call_goes_there(two_vendors, monkeypatch):
    monkeypatch.setattr(services.personal, "enqueue", lambda task_name, verification_id: None)
    first = submit_demo(MemberFactory.create())
    assert first.provider == "first"

    for _ in range(3):
        router.record_failure("first")
    second = submit_demo(MemberFactory.create())
    assert second.provider == "second"

    # The first verification still finishes at the provider it started with.
    assert get_provider(first.provider).name == "first"
    assert get_provider(second.provider).name == "second"


@pytest.mark.django_db
def test_a_verification_failing_at_its_first_step_moves_when_its_provider_trips(
    two_vendors, monkeypatch
):
    from verification.models import VerificationEvent

    monkeypatch.setattr(services.personal, "enqueue", lambda task_name, verification_id: None)
    verification = submit_demo(MemberFactory.create())
    assert verification.provider == "first"

    services.personal.record_provider_failure(
        verification_id=verification.pk, reason_code=ReasonCode.TIMEOUT
    )
    verification.refresh_from_db()
    assert verification.provider == "first"  # one failure: the circuit is still closed

    for _ in range(3):
        router.record_failure("first")
    services.personal.record_provider_failure(
        verification_id=verification.pk, reason_code=ReasonCode.TIMEOUT
    )
    verification.refresh_from_db()
    assert verification.provider == "second"
    moved = VerificationEvent.objects.filter(verification_id=verification.pk).last()
    assert moved is not None
    assert moved.detail["moved_from"] == "first" and moved.detail["moved_to"] == "second"


@pytest.mark.django_db
def test_a_verification_past_its_first_step_never_moves(two_vendors, monkeypatch):
    from verification import tasks

    monkeypatch.setattr(services.personal, "enqueue", lambda task_name, verification_id: None)
    verification = submit_demo(MemberFactory.create())
    tasks._check_identity(verification)  # the identity answer is at "first" now
    for _ in range(3):
        router.record_failure("first")

    services.personal.record_provider_failure(
        verification_id=verification.pk, reason_code=ReasonCode.TIMEOUT
    )

    verification.refresh_from_db()
    assert verification.status == "in_progress" and verification.provider == "first"


@pytest.mark.django_db
def test_a_document_no_provider_covers_is_refused_next_to_its_field(two_vendors, monkeypatch):
    monkeypatch.setattr(services.personal, "enqueue", lambda task_name, verification_id: None)
    form = PersonalVerificationForm(
        data={
            "name": "SANDBOX DEMO",
            "document_type": "foreign_permanent_resident_id",
            "document_number": "911826198706159013",
        }
    )
    assert not form.is_valid()
    assert "no identity provider" in str(form.errors["document_type"])


def test_the_form_marks_uncovered_types_unavailable_and_says_why(two_vendors):
    html = str(PersonalVerificationForm()["document_type"])
    assert 'value="foreign_permanent_resident_id" disabled' in html
    assert "(not available)" in html
    assert 'value="cn_resident_id" selected' in html
    help_text = str(PersonalVerificationForm().fields["document_type"].help_text)
    assert help_text.startswith("Not available here: ")
    assert "Foreign Permanent Resident ID Card" in help_text
    assert "Resident Identity Card of the People's Republic of China" not in help_text


def test_with_every_type_covered_nothing_is_marked(settings):
    settings.VERIFICATION_PROVIDERS = ["sandbox"]
    settings.VERIFICATION_ROUTES = {}
    assert "(not available)" not in str(PersonalVerificationForm()["document_type"])


def _ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


def test_checks_report_uncovered_types_and_missing_credentials_without_values(settings):
    settings.VERIFICATION_PROVIDERS = [f"{PROVIDERS}.FirstVendor", f"{PROVIDERS}.NeedsKeys"]
    settings.VERIFICATION_ROUTES = {}
    settings.TEST_VENDOR_SECRET_KEY = ""
    messages = check_provider()
    assert "verification.E003" in _ids(messages)
    missing = next(m for m in messages if m.id == "verification.E003")
    assert "TEST_VENDOR_SECRET_KEY" in missing.msg and missing.hint
    uncovered = [m.msg for m in messages if m.id == "verification.W006"]
    assert any("tw_travel_permit" in msg for msg in uncovered)
    assert any("enterprise" in msg for msg in uncovered)
    assert not any("cn_resident_id" in msg for msg in uncovered)


def test_checks_refuse_routes_to_unknown_or_unsuitable_providers(settings):
    settings.VERIFICATION_PROVIDERS = [f"{PROVIDERS}.FirstVendor"]
    settings.VERIFICATION_ROUTES = {
        "cn_resident_id": ["aliyun"],
        "tw_travel_permit": ["first"],
        "passport": ["first"],
    }
    messages = [m for m in check_provider() if m.id == "verification.E005"]
    assert len(messages) == 3


def test_checks_refuse_an_unknown_provider_name(settings):
    settings.VERIFICATION_PROVIDERS = ["no_such_vendor"]
    assert _ids(check_provider()) == ["verification.E001"]


def test_check_provider_command_proves_the_sandbox_configuration(sandbox_settings_override):
    out = StringIO()
    call_command("check_provider", "sandbox", stdout=out)
    assert "sandbox: OK" in out.getvalue()


def test_check_provider_command_explains_a_wrong_secret(sandbox_settings_override, settings):
    settings.SANDBOX_PROVIDER_SECRET = "not-the-shared-secret"
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_provider", "sandbox", stderr=err)
    assert "REFUSED" in err.getvalue()
    assert "what to check:" in err.getvalue()
    assert "not-the-shared-secret" not in err.getvalue()


def test_check_provider_command_names_missing_settings_and_unknown_names(settings):
    settings.SANDBOX_PROVIDER_SECRET = ""
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_provider", "sandbox", "nonesuch", stderr=err)
    assert "sandbox: not configured: SANDBOX_PROVIDER_SECRET is empty" in err.getvalue()
    assert "nonesuch: no such provider" in err.getvalue()


def test_the_demo_identity_is_routable_by_default():
    assert route(DEMO["document_type"]) == ["sandbox"]


class WithFaceOnly(_Fake):
    """Like Alipay: name and number are checked together with the face."""

    name = "with_face"
    document_types = frozenset({"cn_resident_id"})
    checks_identity_separately = False
    required_settings = ()

    def check_identity(self, *, request_id: str, identity: Identity) -> CheckResult:
        raise AssertionError("a provider that checks identity with the face is never asked")


@pytest.mark.django_db
def test_a_provider_checking_identity_with_the_face_goes_straight_to_the_face_step(
    settings, monkeypatch
):
    from django.test import Client

    from verification import tasks
    from verification.models import VerificationEvent

    settings.VERIFICATION_PROVIDERS = [f"{PROVIDERS}.WithFaceOnly"]
    monkeypatch.setattr(services.personal, "enqueue", lambda task_name, verification_id: None)
    user = MemberFactory.create(face=True)
    verification = submit_demo(user)
    assert verification.provider == "with_face"

    tasks._check_identity(verification)
    tasks._check_identity(verification)  # a redelivered task changes nothing

    verification.refresh_from_db()
    assert verification.status == "in_progress"
    assert verification.identity_deferred and verification.identity_checked_at is None
    events = VerificationEvent.objects.filter(verification_id=verification.pk)
    assert [e.event for e in events].count(VerificationEvent.Event.IDENTITY_DEFERRED) == 1
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    page = client.get(verification.get_absolute_url()).content.decode()
    assert "checks your name and document together with your face" in page
    assert "Your name and document match" not in page


class NeverFinished(_Fake):
    """Like Aliyun after an abandoned session: "not finished" for ever."""

    name = "never_finished"
    document_types = frozenset({"cn_resident_id"})
    face_session_seconds = 30 * 60
    required_settings = ()

    def fetch_liveness_result(self, *, provider_ref: str) -> CheckResult | None:
        return None


@pytest.mark.django_db
def test_a_face_session_still_unfinished_after_the_timeout_is_recorded_as_expired(
    settings, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from verification import tasks

    settings.VERIFICATION_PROVIDERS = [f"{PROVIDERS}.NeverFinished"]
    settings.VERIFICATION_FACE_SESSION_GRACE = 60
    monkeypatch.setattr(services.personal, "enqueue", lambda task_name, verification_id: None)
    verification = submit_demo(MemberFactory.create(face=True))
    tasks._check_identity(verification)
    verification.refresh_from_db()
    services.verification_request_face(
        verification=verification,
        return_url="https://x.example/r",
        notify_url="https://x.example/n",
    )
    tasks._start_liveness(verification)
    verification.refresh_from_db()

    tasks._fetch_liveness_result(verification)
    verification.refresh_from_db()
    assert verification.status == "in_progress"  # within the timeout: still waiting

    verification.liveness_started_at = timezone.now() - timedelta(minutes=30, seconds=30)
    verification.save(update_fields=["liveness_started_at"])
    tasks._fetch_liveness_result(verification)
    verification.refresh_from_db()
    assert verification.status == "in_progress"  # the lifetime is over, not yet the grace

    verification.liveness_started_at = timezone.now() - timedelta(minutes=31, seconds=5)
    verification.save(update_fields=["liveness_started_at"])
    tasks._fetch_liveness_result(verification)
    verification.refresh_from_db()
    assert verification.status == "failed"
    assert verification.reason_code == ReasonCode.LIVENESS_EXPIRED


def test_a_failure_where_identity_and_face_were_checked_together_says_either_may_be_wrong():
    from verification.guidance import guidance_for

    together = guidance_for(ReasonCode.LIVENESS_FAILED, identity_deferred=True)
    alone = guidance_for(ReasonCode.LIVENESS_FAILED)
    assert together is not None and alone is not None
    assert "name or number" in str(together.next_step)
    assert "name or number" not in str(alone.next_step)
