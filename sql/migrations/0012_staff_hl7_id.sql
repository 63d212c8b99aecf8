-- 0012_staff_hl7_id.sql: the id a registration system gives a staff member (HL7 XCN.1, as in
-- PV1-7 attending and OBX-16 responsible observer), so ed-mllp can name the attending and who
-- took the vitals (proto/hl7/ADT_MAPPING.md §3.4, §4.6). Set with `edlivectl staff hl7-id`.
ALTER TABLE staff ADD COLUMN hl7_id text CHECK (length(hl7_id) BETWEEN 1 AND 64);
CREATE UNIQUE INDEX staff_hl7_id_idx ON staff (hl7_id) WHERE hl7_id IS NOT NULL;
