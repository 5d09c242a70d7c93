"""The one door through the append-only guard of consent records and privacy events: once the
legal period of a closed account is over (``accounts.retention``, job ``accounts.erased``), its
minimal record goes, consent records and privacy events included.

The application role has no DELETE privilege on these tables (``manage.py grant_app_role``), and
keeps none. It may EXECUTE ``accounts_purge_erased_accounts``, a SECURITY DEFINER function owned
by the owner, which deletes only the rows of accounts closed (``erased_at``) before the cutoff it
is given. The triggers let a DELETE through only while that function has set its transaction-
local flag, and only for a row whose account is closed: the flag alone opens nothing for the
application role (no privilege), and for the owner nothing of an account still open."""

from django.db import migrations

TRIGGERS_SQL = """
CREATE OR REPLACE FUNCTION accounts_consentrecord_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
        AND current_setting('accounts.purge_erased', true) = 'on'
        AND EXISTS (SELECT 1 FROM accounts_user u
                     WHERE u.id = OLD.user_id AND u.erased_at IS NOT NULL)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'consent records are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION accounts_privacyevent_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
        AND current_setting('accounts.purge_erased', true) = 'on'
        AND EXISTS (SELECT 1 FROM accounts_user u
                     WHERE u.id = OLD.user_id AND u.erased_at IS NOT NULL)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'privacy events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

OLD_TRIGGERS_SQL = """
CREATE OR REPLACE FUNCTION accounts_consentrecord_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'consent records are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION accounts_privacyevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'privacy events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

# Each account in its own subtransaction, with the foreign keys checked at once: an account
# still referenced by a row that must stay (a closed staff account named in the audit log) keeps
# its stub and its consent records, and is counted as kept; the others go.
PURGE_SQL = """
CREATE FUNCTION accounts_purge_erased_accounts(
    user_ids bigint[],
    cutoff timestamptz,
    OUT accounts integer,
    OUT consent_records integer,
    OUT privacy_events integer,
    OUT kept integer
) LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    account bigint;
    consents integer;
    events integer;
BEGIN
    accounts := 0; consent_records := 0; privacy_events := 0; kept := 0;
    FOR account IN
        SELECT id FROM accounts_user
         WHERE id = ANY(user_ids) AND erased_at IS NOT NULL AND erased_at < cutoff
         ORDER BY id
           FOR UPDATE SKIP LOCKED
    LOOP
        BEGIN
            PERFORM set_config('accounts.purge_erased', 'on', true);
            SET CONSTRAINTS ALL IMMEDIATE;
            DELETE FROM accounts_consentrecord WHERE user_id = account;
            GET DIAGNOSTICS consents = ROW_COUNT;
            DELETE FROM accounts_privacyevent WHERE user_id = account;
            GET DIAGNOSTICS events = ROW_COUNT;
            DELETE FROM accounts_user WHERE id = account;
            accounts := accounts + 1;
            consent_records := consent_records + consents;
            privacy_events := privacy_events + events;
        EXCEPTION WHEN foreign_key_violation THEN
            kept := kept + 1;
        END;
    END LOOP;
    PERFORM set_config('accounts.purge_erased', '', true);
    SET CONSTRAINTS ALL DEFERRED;
END;
$$;
REVOKE ALL ON FUNCTION accounts_purge_erased_accounts(bigint[], timestamptz) FROM PUBLIC;
DO $$
BEGIN
    -- A SECURITY DEFINER function must not resolve names through a schema its caller controls.
    EXECUTE format(
        'ALTER FUNCTION accounts_purge_erased_accounts(bigint[], timestamptz) '
        'SET search_path = %I, pg_temp',
        current_schema()
    );
END
$$;
"""
DROP_PURGE_SQL = "DROP FUNCTION IF EXISTS accounts_purge_erased_accounts(bigint[], timestamptz);"


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_privacy_events_and_erasure")]

    operations = [
        migrations.RunSQL(TRIGGERS_SQL, OLD_TRIGGERS_SQL),
        migrations.RunSQL(PURGE_SQL, DROP_PURGE_SQL),
    ]
