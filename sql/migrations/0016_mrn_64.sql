-- 0016_mrn_64.sql: an MRN may be 1-64 letters, digits or '-' (it was 1-32). Synthea's and many
-- other systems' identifiers are 36-character UUIDs (issue 12); 64 leaves room for a prefixed
-- one. The same limit is in proto/http/arrival.json, identify.json, proto/hl7/ADT_MAPPING.md
-- §3.1 and libedfhir. Widening a CHECK keeps every existing row valid.
ALTER TABLE patient DROP CONSTRAINT patient_mrn_check;
ALTER TABLE patient ADD CONSTRAINT patient_mrn_check CHECK (mrn ~ '^[A-Za-z0-9-]{1,64}$');
