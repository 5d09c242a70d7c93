"""Version 2 of the real-name service description says what withdrawing consent to it does
(the verification ends, status ``ended``, its personal details are erased at once, the host
platforms are told, the person may verify again after consenting again), in both languages
with the same structure; it states no retention period of its own, so it needs no
``.periods.json``; published (``manage.py publish_legal_document``), it is asked for again."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from accounts import legal
from accounts.models import ConsentRecord
from accounts.selectors import consent_missing, legal_documents_current
from accounts.services import consent_accept
from tests.factories import MemberFactory, passed_personal
from tests.helpers import current
from verification.models import PersonalVerification

pytestmark = pytest.mark.django_db
SLUG = "realname-service"
NEW_SECTION = {
    "en": "## 14. Withdrawing Consent to the Real-name Service",
    "zh-hans": "## 14. 撤回对实名认证服务的同意",
}
#: What the new section must say, in each language.
PROMISES = {
    "en": (
        'takes the status "ended"',
        "personal details are erased at once",
        "host platforms your verification status was shared with are told that it has ended",
        "You may verify again at any time:** accept this description again",
    ),
    "zh-hans": (
        "状态均变为“已终止”",
        "个人信息立即删除",
        "已共享您认证状态的宿主平台会收到认证已终止的通知",
        "您可以随时重新认证：**再次同意本说明后",
    ),
}


def section(body: str, heading: str) -> str:
    start = body.index(heading)
    end = body.find("\n## ", start + 1)
    return body[start : end if end != -1 else None]


def shape(body: str) -> list[str]:
    """The structure of a text: each line's kind (heading level, list item, paragraph) and
    how much bold it has, so two languages can be compared line by line."""
    kinds = []
    for line in body.splitlines():
        if not line.strip():
            continue
        kind = line.split(" ", 1)[0] if line.startswith(("#", "- ")) else "p"
        kinds.append(f"{kind}{line.count('**')}")
    return kinds


def test_version_2_is_version_1_plus_the_withdrawal_section_in_both_languages():
    titles = {}
    for language in legal.LANGUAGES:
        title, v1 = legal.read_source(SLUG, 1, language)
        titles[language], v2 = legal.read_source(SLUG, 2, language)
        assert titles[language] == title
        added = section(v2, NEW_SECTION[language])
        for promise in PROMISES[language]:
            assert promise in added
        # Everything of version 1 stays, but the old hint about withdrawing (now section 14)
        # and the numbers of the sections after it.
        old_lines = [line for line in v1.splitlines() if line.strip()]
        changed = [line for line in old_lines if line not in v2]
        assert len(changed) == 3, changed
        assert changed[0].startswith("- ")  # section 13: withdrawing, see section 14
        assert re.match(r"## 1[45]\. ", changed[1]) and re.match(r"## 1[45]\. ", changed[2])
        assert v2.count("\n## ") == v1.count("\n## ") + 1
        assert "section 14" in v2 or "第14条" in v2
    _, english = legal.read_source(SLUG, 2, "en")
    _, chinese = legal.read_source(SLUG, 2, "zh-hans")
    assert shape(english) == shape(chinese)
    assert [h.split(".")[0] for h in re.findall(r"^## \d+\.", english, re.M)] == [
        h.split(".")[0] for h in re.findall(r"^## \d+\.", chinese, re.M)
    ]


def test_it_states_no_retention_period_so_it_needs_no_periods_file():
    assert legal.stated_periods(SLUG, 2) == {}
    assert not (legal.LEGAL_DIR / SLUG / "v2.periods.json").exists()


def test_published_it_is_asked_again_and_withdrawing_it_ends_the_verification():
    person = MemberFactory.create(face=True)
    verification = passed_personal(person)
    client = Client(headers={"accept-language": "en"})
    client.force_login(person)
    assert client.get("/recharge/").status_code == 200
    assert current(SLUG).version == 1

    call_command(
        "publish_legal_document",
        SLUG,
        "2",
        "--effective-at",
        (timezone.now() - timedelta(seconds=1)).isoformat(),
        stdout=open("/dev/null", "w"),  # noqa: SIM115
    )
    v2 = current(SLUG)
    assert v2.version == 2
    # The text as shipped, in both languages, is what a person is shown and accepts.
    assert (v2.body_en, v2.body_zh_hans) == (
        legal.read_source(SLUG, 2, "en")[1],
        legal.read_source(SLUG, 2, "zh-hans")[1],
    )
    assert consent_missing(user=person, slugs=[SLUG]) == [v2]
    response = client.get("/recharge/")
    assert response.status_code == 302 and response["location"].startswith("/accounts/consent/")
    assert 'name="consent_realname-service"' in client.get(response["location"]).content.decode()

    consent_accept(
        user=person, documents=legal_documents_current((SLUG,)), ip_address=None, user_agent=""
    )
    assert client.get("/recharge/").status_code == 200

    client.post(f"/accounts/data/consent/{SLUG}/withdraw/")
    withdrawn = ConsentRecord.objects.get(user=person, action=ConsentRecord.Action.WITHDRAWN)
    assert (withdrawn.document.slug, withdrawn.document_version) == (SLUG, 2)
    verification.refresh_from_db()
    assert verification.status == PersonalVerification.Status.ENDED
    assert (verification.name, verification.document_number) == ("", "")
