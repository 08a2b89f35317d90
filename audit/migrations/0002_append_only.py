from django.db import migrations

from clozup.lib.rls import EnableOrganizationRLS

APPEND_ONLY = """
CREATE FUNCTION audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Only the retention functions below, running as the table owner, may
    -- delete; they raise this flag for the length of their statement.
    IF TG_OP IN ('DELETE', 'TRUNCATE')
       AND current_setting('audit.removal_allowed', true) = 'on'
       AND current_user = (SELECT tableowner FROM pg_tables
                           WHERE schemaname = TG_TABLE_SCHEMA
                             AND tablename = TG_TABLE_NAME) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_entry_append_only
    BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entry_no_truncate
    BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_checkpoint_append_only
    BEFORE UPDATE ON audit_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();

-- Appends one entry to the organization's chain in a single round trip. The
-- caller computes the digest of the entry's contents; this links it to the
-- previous entry: hash = sha256(previous hash ":" seq ":" content_digest). The
-- chain head's row lock orders concurrent writers until the transaction ends.
-- Runs as the caller, under the caller's organization context.
CREATE FUNCTION audit_append(
    p_org bigint, p_created_at timestamptz, p_actor_type varchar,
    p_actor_id bigint, p_actor_label varchar, p_ip varchar, p_user_agent varchar,
    p_request_id varchar, p_action varchar, p_target_type varchar,
    p_target_id varchar, p_metadata jsonb, p_content_digest varchar
) RETURNS TABLE (entry_id bigint, entry_seq bigint, entry_hash varchar)
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
DECLARE
    v_seq bigint;
    v_hash varchar;
BEGIN
    UPDATE audit_auditchainhead
    SET last_seq = last_seq + 1,
        last_hash = encode(sha256(convert_to(
            last_hash || ':' || (last_seq + 1) || ':' || p_content_digest, 'UTF8'
        )), 'hex')
    WHERE organization_id = p_org
    RETURNING last_seq, last_hash INTO v_seq, v_hash;
    IF NOT FOUND THEN
        INSERT INTO audit_auditchainhead (organization_id, last_seq, last_hash)
        VALUES (p_org, 1, encode(sha256(convert_to(
            repeat('0', 64) || ':1:' || p_content_digest, 'UTF8'
        )), 'hex'))
        RETURNING last_seq, last_hash INTO v_seq, v_hash;
    END IF;

    INSERT INTO audit_auditentry (
        organization_id, seq, created_at, actor_type, actor_id, actor_label, ip,
        user_agent, request_id, action, target_type, target_id, metadata, hash
    ) VALUES (
        p_org, v_seq, p_created_at, p_actor_type, p_actor_id, p_actor_label, p_ip,
        p_user_agent, p_request_id, p_action, p_target_type, p_target_id,
        p_metadata, v_hash
    ) RETURNING id INTO entry_id;

    entry_seq := v_seq;
    entry_hash := v_hash;
    RETURN NEXT;
END
$$;

-- Removes the oldest entries created before p_cutoff (at most p_limit), as a
-- prefix of the chain that stops at the first newer entry, and records where
-- the remaining chain resumes.
CREATE FUNCTION audit_remove_entries_before(
    p_org bigint, p_cutoff timestamptz, p_limit integer
) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    candidate record;
    last_seq bigint;
    last_hash varchar;
    removed integer;
BEGIN
    IF NULLIF(current_setting('app.current_org_id', true), '')::bigint
       IS DISTINCT FROM p_org THEN
        RAISE EXCEPTION 'audit retention runs only inside organization % own context', p_org;
    END IF;

    FOR candidate IN
        SELECT seq, hash, created_at FROM audit_auditentry
        WHERE organization_id = p_org ORDER BY seq LIMIT p_limit
    LOOP
        EXIT WHEN candidate.created_at >= p_cutoff;
        last_seq := candidate.seq;
        last_hash := candidate.hash;
    END LOOP;
    IF last_seq IS NULL THEN
        RETURN 0;
    END IF;

    PERFORM set_config('audit.removal_allowed', 'on', true);
    DELETE FROM audit_auditentry WHERE organization_id = p_org AND seq <= last_seq;
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('audit.removal_allowed', 'off', true);

    INSERT INTO audit_auditcheckpoint (organization_id, seq, hash, removed_count, created_at)
    VALUES (p_org, last_seq, last_hash, removed, now());
    RETURN removed;
END
$$;

-- Removes everything the audit app holds for an organization that is being
-- purged; the organization row itself goes afterwards.
CREATE FUNCTION audit_purge_organization(p_org bigint) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    removed integer;
BEGIN
    IF NULLIF(current_setting('app.current_org_id', true), '')::bigint
       IS DISTINCT FROM p_org THEN
        RAISE EXCEPTION 'audit purge runs only inside organization % own context', p_org;
    END IF;
    PERFORM set_config('audit.removal_allowed', 'on', true);
    DELETE FROM audit_auditentry WHERE organization_id = p_org;
    GET DIAGNOSTICS removed = ROW_COUNT;
    DELETE FROM audit_auditcheckpoint WHERE organization_id = p_org;
    DELETE FROM audit_auditchainhead WHERE organization_id = p_org;
    PERFORM set_config('audit.removal_allowed', 'off', true);
    RETURN removed;
END
$$;

REVOKE ALL ON FUNCTION audit_append(bigint, timestamptz, varchar, bigint, varchar, varchar, varchar, varchar, varchar, varchar, varchar, jsonb, varchar) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_remove_entries_before(bigint, timestamptz, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION audit_purge_organization(bigint) FROM PUBLIC;
"""

REVERSE = """
DROP FUNCTION audit_purge_organization(bigint);
DROP FUNCTION audit_append(bigint, timestamptz, varchar, bigint, varchar, varchar, varchar, varchar, varchar, varchar, varchar, jsonb, varchar);
DROP FUNCTION audit_remove_entries_before(bigint, timestamptz, integer);
DROP TRIGGER audit_checkpoint_append_only ON audit_auditcheckpoint;
DROP TRIGGER audit_entry_no_truncate ON audit_auditentry;
DROP TRIGGER audit_entry_append_only ON audit_auditentry;
DROP FUNCTION audit_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_log")]

    operations = [
        EnableOrganizationRLS("audit_auditentry"),
        EnableOrganizationRLS("audit_auditchainhead"),
        EnableOrganizationRLS("audit_auditcheckpoint"),
        migrations.RunSQL(APPEND_ONLY, REVERSE),
    ]
