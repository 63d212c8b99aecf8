-- 0020_request_id.sql: the request that caused each audit row (issue 15, logs).
-- nginx's $request_id (X-Request-Id) or one ed-api made, also in ed-api's access-log line, so an
-- operator goes from a clinician's complaint (the id the page shows or the log line) to the
-- audit rows it wrote. Not part of the hash chain (audit_canonical): an operational pointer,
-- not evidence; rows before this migration have none.
ALTER TABLE audit_log ADD COLUMN request_id text;
