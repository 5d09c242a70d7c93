"""The review desk at work: the queue and its search, masked details, audited reveals, and
each action's effect on what the user sees on their own status page."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection
from django.test import Client

from enterprise.models import EnterpriseVerification, LicenceAccess
from support import services
from support.models import AuditEntry, ReviewQueue, StaffNote
from tests.factories import (
    ErroredPersonalFactory,
    FailedPersonalFactory,
    MemberFactory,
    PendingEnterpriseFactory,
    StaffFactory,
    resident_id,
)
from tests.helpers import QUEUE, detail_url
from verification import services as personal_services
from verification.models import PersonalVerification
from verification.providers.base import CheckResult, ReasonCode

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}


def status_page(user, verification) -> str:
    client = Client(headers=EN)
    client.force_login(user)
    kind = "enterprise/" if isinstance(verification, EnterpriseVerification) else "personal/"
    return client.get(f"/verification/{kind}{verification.public_id}/").content.decode()


def queue_ids(client: Client, query: str = "") -> set[str]:
    response = client.get(f"{QUEUE}{query}")
    assert response.status_code == 200
    return {str(row.public_id) for row in response.context["cl"].result_list}


def test_the_queue_holds_what_needs_attention_newest_first(support, desk_client):
    failed, errored, pending = (
        FailedPersonalFactory.create(),
        ErroredPersonalFactory.create(),
        PendingEnterpriseFactory.create(),
    )
    open_one = personal_services.verification_submit(
        user=MemberFactory.create(),
        name="李四",
        document_type="cn_resident_id",
        document_number=resident_id(),
        birth_date=None,
    )
    client = desk_client(support)

    rows = client.get(QUEUE).context["cl"].result_list
    assert [str(row.public_id) for row in rows][:3] == [
        str(pending.public_id),
        str(errored.public_id),
        str(failed.public_id),
    ]
    assert str(open_one.public_id) not in queue_ids(client)
    assert queue_ids(client, "?kind__exact=enterprise") == {str(pending.public_id)}
    assert str(errored.public_id) in queue_ids(client, "?status__exact=error")
    assert str(failed.public_id) not in queue_ids(client, "?status__exact=error")
    assert queue_ids(client, "?reason_code__exact=name_number_mismatch") >= {str(failed.public_id)}
    assert str(failed.public_id) in queue_ids(client, "?provider=sandbox")


def test_search_finds_a_document_number_through_its_keyed_hash(support, desk_client):
    number = resident_id(sequence="101")  # check character X
    assert number.endswith("X")
    target = FailedPersonalFactory.create(document_number=number)
    FailedPersonalFactory.create()  # another person
    client = desk_client(support)

    # As people type it: spaces and a lower-case check letter.
    typed = " ".join([number[:6], number[6:14], number[14:].lower()])
    assert queue_ids(client, f"?q={typed}") == {str(target.public_id)}
    assert queue_ids(client, f"?q={number[:10]}") == set()  # no partial matches
    # The query compares the keyed hash, never the number.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM support_reviewqueue WHERE document_number_hash = %s", [number]
        )
        assert cursor.fetchone()[0] == 0


def test_search_by_mobile_number_and_credit_code(support, desk_client):
    pending = PendingEnterpriseFactory.create()
    failed = FailedPersonalFactory.create()
    client = desk_client(support)
    national = str(failed.phone).removeprefix("+86")

    assert queue_ids(client, f"?q={national[:3]} {national[3:7]} {national[7:]}") == {
        str(failed.public_id)
    }
    assert str(pending.public_id) in queue_ids(client, f"?q={pending.credit_code.lower()}")


def test_details_are_masked_by_default(support, desk_client):
    verification = FailedPersonalFactory.create(name="王小明")
    content = desk_client(support).get(detail_url(verification)).content.decode()

    assert "王**" in content
    assert verification.document_number not in content
    assert verification.document_number[-4:] in content  # masked, still recognisable
    assert str(verification.phone) not in content
    assert "王小明" not in content


def test_a_reveal_needs_a_reason_and_is_audited(lead, desk_client):
    verification = FailedPersonalFactory.create(name="王小明")
    client = desk_client(lead)

    refused = client.post(detail_url(verification), {"action": "reveal", "reason": "x"})
    assert "王小明" not in refused.content.decode()
    assert not AuditEntry.objects.exists()

    response = client.post(
        detail_url(verification),
        {"action": "reveal", "reason": "Ticket 4711: the user says the name is right"},
        REMOTE_ADDR="203.0.113.9",
    )

    content = response.content.decode()
    assert "王小明" in content and verification.document_number in content
    assert response["Cache-Control"].startswith("max-age=0")
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.public_id) == (
        lead,
        AuditEntry.Action.REVEAL,
        verification.public_id,
    )
    assert entry.reason == "Ticket 4711: the user says the name is right"
    assert entry.ip_address == "203.0.113.9"
    assert entry.detail == {"fields": ["birth_date", "document_number", "name", "phone"]}
    assert "王小明" not in str(entry.detail)
    # A reload shows the masks again: a reveal is for one response only.
    assert "王小明" not in client.get(detail_url(verification)).content.decode()


def test_reset_attempts_lets_a_locked_out_user_try_again(support, settings, desk_client):
    settings.VERIFICATION_MAX_ATTEMPTS_PER_DAY = 1
    user = MemberFactory.create()
    verification = FailedPersonalFactory.create(user=user)
    client = Client(headers=EN)
    client.force_login(user)
    assert (
        'data-verification-status="locked"'
        in client.get("/verification/personal/").content.decode()
    )

    desk_client(support).post(detail_url(verification), {"action": "reset_attempts"})

    assert (
        'data-verification-status="locked"'
        not in client.get("/verification/personal/").content.decode()
    )
    again = personal_services.verification_submit(
        user=user,
        name="张三",
        document_type="cn_resident_id",
        document_number=resident_id(),
        birth_date=None,
    )
    assert again.status == PersonalVerification.Status.SUBMITTED
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ATTEMPTS_RESET).count() == 1


def test_rerun_resumes_a_verification_stopped_in_error(
    support, django_capture_on_commit_callbacks, desk_client
):
    user = MemberFactory.create()
    verification = ErroredPersonalFactory.create(user=user)
    assert 'data-verification-status="error"' in status_page(user, verification)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        desk_client(support).post(detail_url(verification), {"action": "rerun"})

    verification.refresh_from_db()
    assert verification.status == PersonalVerification.Status.SUBMITTED
    assert len(queued) == 1  # the identity check, queued for a worker
    assert 'data-verification-status="submitted"' in status_page(user, verification)


def test_approve_makes_the_company_identity_verified(support, desk_client):
    user = MemberFactory.create()
    verification = PendingEnterpriseFactory.create(user=user)

    response = desk_client(support).post(detail_url(verification), {"action": "approve"})

    assert response.status_code == 302
    page = status_page(user, verification)
    assert 'data-verification-status="approved"' in page and "Identity Verified" in page
    assert AuditEntry.objects.get().action == AuditEntry.Action.LICENCE_APPROVE


def test_reject_shows_the_company_the_reason_and_what_to_fix(support, desk_client):
    user = MemberFactory.create()
    verification = PendingEnterpriseFactory.create(user=user)

    desk_client(support).post(
        detail_url(verification), {"action": "reject", "reason": "licence_unreadable"}
    )

    page = status_page(user, verification)
    assert 'data-verification-status="rejected"' in page
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.reason) == (AuditEntry.Action.LICENCE_REJECT, "licence_unreadable")


def test_staff_cannot_approve_their_own_companys_licence(desk_client):
    staff = StaffFactory.create()
    verification = PendingEnterpriseFactory.create(user=staff)

    response = desk_client(staff).post(detail_url(verification), {"action": "approve"})

    verification.refresh_from_db()
    assert verification.status == EnterpriseVerification.Status.PENDING_REVIEW
    assert "your own account" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_notes_are_kept_encrypted_and_shown_with_the_timeline(support, desk_client):
    verification = ErroredPersonalFactory.create()
    client = desk_client(support)

    client.post(detail_url(verification), {"action": "note", "text": "Called the user, 10:40."})
    page = client.get(detail_url(verification)).content.decode()

    assert "Called the user, 10:40." in page
    with connection.cursor() as cursor:
        cursor.execute("SELECT text FROM support_staffnote")
        assert "Called the user" not in cursor.fetchone()[0]
    assert StaffNote.objects.get().author == support
    # The timeline: submitted, two failed provider calls, the error, the note.
    for step in (
        "Submitted",
        "Provider call failed, will retry",
        "Stopped: needs attention",
        "Added a note",
    ):
        assert step in page


def test_bulk_approve_and_reset_from_the_queue(support, desk_client):
    first, second = PendingEnterpriseFactory.create(), PendingEnterpriseFactory.create()
    personal = FailedPersonalFactory.create()
    client = desk_client(support)

    client.post(
        QUEUE,
        {
            "action": "approve_licences",
            "_selected_action": [
                str(first.public_id),
                str(second.public_id),
                str(personal.public_id),
            ],
        },
    )
    client.post(QUEUE, {"action": "reset_attempts", "_selected_action": [str(personal.public_id)]})

    assert set(
        EnterpriseVerification.objects.filter(pk__in=[first.pk, second.pk]).values_list(
            "status", flat=True
        )
    ) == {"approved"}
    assert AuditEntry.objects.filter(action=AuditEntry.Action.LICENCE_APPROVE).count() == 2
    assert AuditEntry.objects.filter(action=AuditEntry.Action.ATTEMPTS_RESET).count() == 1
    assert not ReviewQueue.objects.filter(pk__in=[first.public_id, second.public_id]).exists()


def test_a_licence_view_by_staff_is_audited_and_recorded_as_an_access(support, desk_client):
    verification = PendingEnterpriseFactory.create()

    desk_client(support).get(f"{detail_url(verification)}licence/", REMOTE_ADDR="203.0.113.9")

    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.action, entry.public_id, entry.ip_address) == (
        support,
        AuditEntry.Action.LICENCE_VIEW,
        verification.public_id,
        "203.0.113.9",
    )
    access = LicenceAccess.objects.get()
    assert (access.verification, access.user, access.as_staff, access.ip_address) == (
        verification,
        support,
        True,
        "203.0.113.9",
    )


@pytest.mark.django_db(transaction=True)
def test_a_licence_view_is_recorded_in_both_logs_or_in_neither():
    """Real commits: the access record of a verification that is not in the database (gone
    between the page and the click) is refused at commit, and the audit entry goes with it."""
    staff = StaffFactory.create()
    verification = PendingEnterpriseFactory.create()
    gone = EnterpriseVerification.objects.get(pk=verification.pk)
    gone.pk = verification.pk + 1_000_000

    with pytest.raises(IntegrityError):
        services.licence_view(actor=staff, verification=gone, ip_address="203.0.113.9")

    assert not AuditEntry.objects.exists()
    assert not LicenceAccess.objects.exists()
    services.licence_view(actor=staff, verification=verification, ip_address="203.0.113.9")
    assert AuditEntry.objects.count() == LicenceAccess.objects.count() == 1


def test_the_error_reason_and_provider_are_recorded(support):
    verification = ErroredPersonalFactory.create()
    assert verification.provider == "sandbox"
    personal_services.verification_record_identity_result(
        verification_id=verification.pk,
        result=CheckResult(passed=True, reason_code=ReasonCode.OK, provider_ref="x"),
    )  # a late answer changes nothing: the record stays in error
    verification.refresh_from_db()
    assert verification.status == PersonalVerification.Status.ERROR


def test_each_action_answers_as_staff_expect(lead, desk_client):
    """Success: back to the page with a message. A form problem, or a service's problem with a
    field: the page again, the error next to the field. Anything else: a message on top."""
    verification = PendingEnterpriseFactory.create()
    client = desk_client(lead)

    done = client.post(detail_url(verification), {"action": "note", "text": "Rang the company."})
    assert done.status_code == 302 and done["Location"] == detail_url(verification)
    assert "Note added." in client.get(done["Location"]).content.decode()

    # Ten characters for the form, but not ten words' worth once the spaces are squeezed.
    squeezed = client.post(detail_url(verification), {"action": "reveal", "reason": "a    b    c"})
    field = squeezed.content.decode().split('id="reveal-form"')[1].split("</form>")[0]
    assert "Say why you need to see the full data" in field
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.REVEAL).exists()

    unknown = client.post(detail_url(verification), {"action": "reject", "reason": "no_such"})
    assert "Select a valid choice" in unknown.content.decode()

    client.post(detail_url(verification), {"action": "approve"})
    again = client.post(detail_url(verification), {"action": "reject", "reason": "not_a_licence"})
    assert again.status_code == 200
    assert "Only licences pending review can be rejected." in again.content.decode()
    verification.refresh_from_db()
    assert verification.status == EnterpriseVerification.Status.APPROVED


@pytest.mark.parametrize("posted", [{"action": "delete"}, {}])
def test_an_unknown_action_is_refused(support, posted, desk_client):
    response = desk_client(support).post(detail_url(FailedPersonalFactory.create()), posted)

    assert response.status_code == 403
    assert not AuditEntry.objects.exists()


def labels(html: str) -> list[str]:
    return [term.split("</dt>")[0] for term in html.split("<dt>")[1:]]


@pytest.mark.parametrize(
    ("language", "facts", "revealed"),
    [
        (
            "en",
            ["Name", "Document type", "Document number", "Status", "Reason", "Provider"],
            ["Name", "Document number", "Date of birth", "Mobile number"],
        ),
        (
            "zh-hans",
            ["姓名", "证件类型", "证件号码", "状态", "原因", "服务商"],
            ["姓名", "证件号码", "出生日期", "手机号"],
        ),
    ],
)
def test_facts_and_revealed_data_are_labelled_in_the_staffs_language(
    lead, language, facts, revealed, desk_client
):
    page = desk_client(lead).post(
        detail_url(FailedPersonalFactory.create()),
        {"action": "reveal", "reason": "Ticket 4711: the user says the name is right"},
        headers={"accept-language": language},
    )

    masked, full = page.content.decode().split('id="revealed"')
    assert labels(masked)[:6] == facts
    assert labels(full) == revealed


def test_an_enterprise_verifications_facts_are_labelled_in_chinese(support, desk_client):
    page = desk_client(support).get(
        detail_url(PendingEnterpriseFactory.create()), headers={"accept-language": "zh-hans"}
    )

    assert labels(page.content.decode())[:4] == [
        "企业名称",
        "统一社会信用代码",
        "法定代表人",
        "状态",
    ]


def test_the_queue_shows_each_providers_circuit_and_the_provider_of_each_row(
    support, desk_client, settings
):
    from django.core.cache import cache

    from verification.providers import router

    settings.VERIFICATION_PROVIDERS = ["sandbox"]
    settings.VERIFICATION_CIRCUIT_FAILURES = 2
    cache.delete_many(list(router._keys("sandbox")))
    failed = FailedPersonalFactory.create()
    client = desk_client(support)

    page = client.get(QUEUE).content.decode()
    assert "Identity providers" in page
    assert "closed: working" in page

    router.record_failure("sandbox")
    router.record_failure("sandbox")
    page = client.get(QUEUE).content.decode()
    assert "open: new verifications go to the next provider" in page
    cache.delete_many(list(router._keys("sandbox")))

    detail = client.get(detail_url(failed)).content.decode()
    assert failed.provider and failed.provider in detail
