-- 0019_retire.sql: departments and beds can be retired (issue 15, `edlivectl department retire`,
-- `edlivectl bed retire`). A retired row stays, with everything that refers to it (encounters,
-- location history, events, audit): the record's history is never deleted. It takes no new
-- encounter (department) or patient (bed): record_arrival and record_bed refuse it, and the
-- trigger encounter_refuse_retired (sql/functions/90_triggers.sql) stops any other path.
-- A retired bed leaves the board, and its label is free for a new bed: the label is unique only
-- among current beds.
ALTER TABLE department ADD COLUMN retired_at timestamptz;
ALTER TABLE bed ADD COLUMN retired_at timestamptz;
ALTER TABLE bed DROP CONSTRAINT bed_department_id_label_key;
CREATE UNIQUE INDEX bed_current_label_idx ON bed (department_id, label) WHERE retired_at IS NULL;
