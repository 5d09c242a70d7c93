"""Consent: versioned, recorded, asked again for a new version, append-only, withdrawable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import legal
from accounts.models import ConsentRecord, LegalDocument
from accounts.selectors import consent_missing
from accounts.services import consent_withdraw
from tests.helpers import current, first_record

pytestmark = pytest.mark.django_db

ACCOUNT_DOCS = ("user-agreement", "privacy-policy")


def publish_version_2(slug: str) -> LegalDocument:
    """A new version, in force now (same text, new version number: enough to ask again)."""
    v1 = LegalDocument.objects.get(slug=slug, version=1)
    titles = {"zh-hans": v1.title_zh_hans, "en": v1.title_en}
    bodies = {"zh-hans": v1.body_zh_hans + "\n\n（修订）", "en": v1.body_en + "\n\n(Revised.)"}
    return LegalDocument.objects.create(
        slug=slug,
        version=2,
        effective_at=timezone.now() - timedelta(seconds=1),
        title_zh_hans=titles["zh-hans"],
        title_en=titles["en"],
        body_zh_hans=bodies["zh-hans"],
        body_en=bodies["en"],
        content_hash=legal.content_hash(slug=slug, version=2, titles=titles, bodies=bodies),
    )


def test_a_new_version_is_asked_for_at_the_next_log_in(client, member):
    assert consent_missing(user=member, slugs=ACCOUNT_DOCS) == []
    v2 = publish_version_2("privacy-policy")
    assert consent_missing(user=member, slugs=ACCOUNT_DOCS) == [v2]
    client.logout()
    member.set_password("a long pass phrase 42")
    member.save()

    response = client.post(
        reverse("account_login"), {"login": member.phone, "password": "a long pass phrase 42"}
    )

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:consent"))
    page = client.get(response["Location"])
    assert 'name="consent_privacy-policy"' in page.content.decode()
    assert 'name="consent_user-agreement"' not in page.content.decode()  # still in force

    response = client.post(
        response["Location"], {"consent_privacy-policy": "on", "scope": "account"}
    )

    assert response.status_code == 302
    assert consent_missing(user=member, slugs=ACCOUNT_DOCS) == []
    versions = ConsentRecord.objects.filter(user=member, document__slug="privacy-policy")
    assert sorted(versions.values_list("document_version", flat=True)) == [1, 2]  # old record kept


def test_a_version_not_yet_in_force_is_not_asked_for(member):
    v2 = publish_version_2("user-agreement")
    v2.effective_at = timezone.now() + timedelta(days=30)
    v2.save()

    assert consent_missing(user=member, slugs=ACCOUNT_DOCS) == []


def test_consent_page_refuses_an_unticked_box(client, member):
    response = client.post(reverse("accounts:consent"), {})

    assert response.status_code == 200
    assert response.context["form"].errors["consent_realname-service"]
    assert consent_missing(user=member, slugs=("realname-service",))


def test_face_consent_is_separate_and_withdrawable(client, member):
    page = client.get(reverse("accounts:consent_face")).content.decode()
    assert 'name="consent_face-rules"' in page
    assert "consent_realname-service" not in page  # its own page, its own checkbox

    client.post(reverse("accounts:consent_face"), {"consent_face-rules": "on"})
    assert consent_missing(user=member, slugs=("face-rules",)) == []
    profile = client.get(reverse("accounts:profile"), headers={"accept-language": "en"})
    assert "Withdraw face consent" in profile.content.decode()

    response = client.post(reverse("accounts:consent_face_withdraw"))

    assert response.status_code == 302
    assert consent_missing(user=member, slugs=("face-rules",))
    actions = list(
        ConsentRecord.objects.filter(user=member, document__slug="face-rules")
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )
    assert actions == ["accepted", "withdrawn"]


def test_only_the_face_consent_can_be_withdrawn_on_its_own(member):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        consent_withdraw(user=member, slug="privacy-policy", ip_address=None, user_agent="")


def test_account_page_lists_consents_with_version_and_time(client, member):
    content = client.get(
        reverse("accounts:profile"), headers={"accept-language": "en"}
    ).content.decode()

    assert content.count('data-consent="') == 2
    assert 'href="/legal/privacy-policy/v1/"' in content
    assert "+86 138****8000" in content
    assert "13800138000" not in content


def test_consent_records_are_append_only_for_the_orm(member):
    record = first_record(member)
    record.action = ConsentRecord.Action.WITHDRAWN

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        record.save()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(user=member).delete()


def test_consent_records_are_append_only_for_raw_sql(member):
    for statement in (
        "UPDATE accounts_consentrecord SET action = 'withdrawn'",
        "DELETE FROM accounts_consentrecord",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement)
    assert ConsentRecord.objects.filter(user=member).count() == 2


@pytest.mark.parametrize("slug", legal.DOCUMENT_SLUGS)
def test_each_document_has_a_stable_url_in_both_languages(client, slug):
    document = current(slug)

    zh = client.get(f"/legal/{slug}/").content.decode()
    en = client.get(f"/legal/{slug}/v1/", headers={"accept-language": "en"}).content.decode()

    assert document.title_zh_hans in zh
    assert document.title_en in en
    assert "<h2>" in zh and "<h2>" in en
    assert document.content_hash[:12] in en


def test_unknown_document_or_version_is_404(client):
    assert client.get("/legal/no-such-thing/").status_code == 404
    assert client.get("/legal/privacy-policy/v99/").status_code == 404


def test_rendering_escapes_html():
    html = legal.render_html(
        "## <script>x</script>\n\nA **bold** <img src=x onerror=alert(1)>\n\n- item <b>"
    )

    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "<strong>bold</strong>" in html
    assert "<ul><li>item &lt;b&gt;</li></ul>" in html


def test_publish_command_publishes_a_new_version(tmp_path, settings, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setattr(legal, "LEGAL_DIR", tmp_path)
    (tmp_path / "face-rules").mkdir()
    (tmp_path / "face-rules" / "v2.zh-hans.md").write_text(
        "# 人脸规则\n\n## 一\n\n内容", encoding="utf-8"
    )
    (tmp_path / "face-rules" / "v2.en.md").write_text(
        "# Face rules\n\n## One\n\nText", encoding="utf-8"
    )

    call_command("publish_legal_document", "face-rules", "2")

    assert current("face-rules").version == 2
