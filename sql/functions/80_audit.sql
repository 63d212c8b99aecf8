-- 80_audit.sql: the hash-chained, append-only audit log: the canonical text of a row, the
-- trigger that links each row to the chain, and the triggers that refuse changes.
-- Applied by `edlivectl migrate` after the migrations, every time, in file-name order; each
-- statement is idempotent (CREATE OR REPLACE). How to change one: sql/README.md.

-- The exact text each hash covers; edlivectl audit verify recomputes it independently.
CREATE OR REPLACE FUNCTION audit_canonical(a audit_log) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_array(a.seq,
        to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        a.account_id, a.username, a.role, a.action, a.patient_id, a.encounter_id, a.category,
        a.source_addr, a.outcome, a.severity, a.detail)::text
$$;

CREATE OR REPLACE FUNCTION audit_link() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    head audit_chain;
BEGIN
    SELECT * INTO head FROM audit_chain WHERE id = 1 FOR UPDATE;
    NEW.seq := head.last_seq + 1;
    NEW.at := clock_timestamp();
    NEW.prev_hash := head.last_hash;
    NEW.hash := sha256(head.last_hash || convert_to(audit_canonical(NEW), 'UTF8'));
    UPDATE audit_chain SET last_seq = NEW.seq, last_hash = NEW.hash WHERE id = 1;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER audit_link BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_link();

-- Refuses any change to an append-only table (the audit log here, the location history in
-- 90_triggers.sql), naming the table: "audit_log is append-only".
CREATE OR REPLACE FUNCTION refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();
