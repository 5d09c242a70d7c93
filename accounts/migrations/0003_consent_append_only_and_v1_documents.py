"""Consent records become append-only at the database, and version 1 of the four legal
documents is published from the texts shipped in accounts/legal/."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db import migrations

from accounts import legal

APPEND_ONLY_SQL = """
CREATE FUNCTION accounts_consentrecord_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consent records are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER accounts_consentrecord_append_only
    BEFORE UPDATE OR DELETE ON accounts_consentrecord
    FOR EACH ROW EXECUTE FUNCTION accounts_consentrecord_append_only();
"""
DROP_APPEND_ONLY_SQL = """
DROP TRIGGER IF EXISTS accounts_consentrecord_append_only ON accounts_consentrecord;
DROP FUNCTION IF EXISTS accounts_consentrecord_append_only();
"""
EFFECTIVE_AT = datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Shanghai"))


def publish_first_versions(apps, schema_editor):
    LegalDocument = apps.get_model("accounts", "LegalDocument")
    for slug in legal.DOCUMENT_SLUGS:
        titles, bodies = {}, {}
        for language in legal.LANGUAGES:
            titles[language], bodies[language] = legal.read_source(slug, 1, language)
        LegalDocument.objects.get_or_create(
            slug=slug,
            version=1,
            defaults={
                "effective_at": EFFECTIVE_AT,
                "title_zh_hans": titles["zh-hans"],
                "title_en": titles["en"],
                "body_zh_hans": bodies["zh-hans"],
                "body_en": bodies["en"],
                "content_hash": legal.content_hash(slug=slug, version=1, titles=titles, bodies=bodies),
            },
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_legal_documents_and_consent")]

    operations = [
        migrations.RunSQL(APPEND_ONLY_SQL, DROP_APPEND_ONLY_SQL),
        migrations.RunPython(publish_first_versions, migrations.RunPython.noop),
    ]
