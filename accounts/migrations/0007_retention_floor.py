"""A floor under the purge of closed accounts that the application cannot lower.

``accounts_purge_erased_accounts`` (migration 0006) took its cutoff from its caller, so a
compromised application role could purge closed accounts' evidence before the law allows by
passing a cutoff in the future. The owner now keeps the legal minimum in a one-row table,
``accounts_retention_floor``, which every other role may at most read (``manage.py
grant_app_role`` leaves the application role SELECT only), and the function never deletes an
account closed after ``now() - floor``, whatever cutoff it is given: the database's clock, not
the caller's. The floor is 1095 days (3 years), the period the privacy policy states
(``privacy-policy/v2.periods.json``); only a migration, run as the owner, may change it."""

from django.db import migrations

LEGAL_MINIMUM_DAYS = 3 * 365

FLOOR_SQL = f"""
CREATE TABLE accounts_retention_floor (
    one_row boolean PRIMARY KEY DEFAULT true CONSTRAINT accounts_retention_floor_one_row
        CHECK (one_row),
    min_erased_days integer NOT NULL CONSTRAINT accounts_retention_floor_not_negative
        CHECK (min_erased_days >= 0)
);
INSERT INTO accounts_retention_floor (min_erased_days) VALUES ({LEGAL_MINIMUM_DAYS});
COMMENT ON TABLE accounts_retention_floor IS
    'Legal minimum days a closed account''s record is kept; read-only for the application role.';
-- Default privileges (grant_app_role sets them) gave the application role row privileges on
-- this new table: take back everything but SELECT from every role other than the owner.
REVOKE ALL ON accounts_retention_floor FROM PUBLIC;
DO $$
DECLARE
    grantee regrole;
BEGIN
    FOR grantee IN
        SELECT DISTINCT acl.grantee::regrole
          FROM pg_class c, aclexplode(c.relacl) acl
         WHERE c.oid = 'accounts_retention_floor'::regclass
           AND acl.grantee <> c.relowner AND acl.grantee <> 0
    LOOP
        EXECUTE format(
            'REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER '
            'ON accounts_retention_floor FROM %s',
            grantee
        );
    END LOOP;
END
$$;
"""
DROP_FLOOR_SQL = "DROP TABLE IF EXISTS accounts_retention_floor;"

# CREATE OR REPLACE resets what ALTER FUNCTION set: the fixed search_path goes on again.
SEARCH_PATH_SQL = """
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

# As in 0006, with the cutoff clamped to the floor; no floor row, no purge (an error).
PURGE_SQL = """
CREATE OR REPLACE FUNCTION accounts_purge_erased_accounts(
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
    floor_days integer;
BEGIN
    SELECT min_erased_days INTO floor_days FROM accounts_retention_floor;
    IF floor_days IS NULL THEN
        RAISE EXCEPTION 'accounts_retention_floor has no row: nothing is purged'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    -- Never later than the legal minimum allows, by the database's clock.
    cutoff := least(cutoff, now() - make_interval(days => floor_days));
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
""" + SEARCH_PATH_SQL

# 0006's body, without the floor.
OLD_PURGE_SQL = """
CREATE OR REPLACE FUNCTION accounts_purge_erased_accounts(
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
""" + SEARCH_PATH_SQL


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_purge_erased_accounts")]

    operations = [
        # The function is replaced before the table goes on the way back.
        migrations.RunSQL(FLOOR_SQL, DROP_FLOOR_SQL),
        migrations.RunSQL(PURGE_SQL, OLD_PURGE_SQL),
    ]
