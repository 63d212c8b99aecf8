-- 0011_append_only.sql: audit_log and encounter_location refuse changes through one trigger
-- function, refuse_change() (sql/functions/80_audit.sql), instead of two copies of it. The
-- copies go, with the triggers that call them; migrate re-creates those triggers on
-- refuse_change() from sql/functions in the same transaction, so the tables are never open.
DROP TRIGGER IF EXISTS audit_no_update ON audit_log;
DROP TRIGGER IF EXISTS audit_no_truncate ON audit_log;
DROP TRIGGER IF EXISTS location_no_update ON encounter_location;
DROP TRIGGER IF EXISTS location_no_truncate ON encounter_location;
DROP FUNCTION IF EXISTS audit_refuse_change();
DROP FUNCTION IF EXISTS location_refuse_change();
