-- 0010_editing.sql: issue 9 items 15 and 16 (editing).
-- Item 16: a result carries its value (a number with unit and reference range, or text), and
-- the abnormal flag is derived from the value and range by the server, not typed by hand.
-- (Item 14, per-field conflicts, needs no schema: it reads event.type and encounter_version.)
-- Its functions, views and triggers are in sql/functions/ (sql/README.md).

-- ---- item 16: result values ----

ALTER TABLE clinical_order
    ADD COLUMN result_value numeric,
    ADD COLUMN result_unit  text CHECK (length(result_unit) BETWEEN 1 AND 20),
    ADD COLUMN result_low   numeric,
    ADD COLUMN result_high  numeric,
    ADD COLUMN result_text  text CHECK (length(result_text) BETWEEN 1 AND 2000),
    -- A value or a text, never both; a range only with a value, low <= high.
    ADD CONSTRAINT clinical_order_result_kind CHECK (result_value IS NULL OR result_text IS NULL),
    ADD CONSTRAINT clinical_order_result_range CHECK (
        (result_low IS NULL AND result_high IS NULL AND result_unit IS NULL) OR result_value IS NOT NULL),
    ADD CONSTRAINT clinical_order_result_order CHECK (result_low IS NULL OR result_high IS NULL
                                                      OR result_low <= result_high),
    ADD CONSTRAINT clinical_order_result_resulted CHECK (
        (result_value IS NULL AND result_text IS NULL) OR status = 'resulted');

-- ---- item 15: unidentified patients, and their merge with the real identity ----

-- An unidentified patient (a trauma arrival nobody can name yet) has no MRN, no name and no
-- birth date: a server-made temporary identifier ("Trauma-0042") and alias ("Unknown Male
-- Trauma-0042") stand in for them. Without names its similar_key is NULL, so it is never
-- "similar" to another patient. When the identity is known the alias patient is merged:
-- its encounters and its record move to the real patient (an existing MRN, or a new one made
-- from the identity given) and the alias stays, linked by merged_into, for the audit trail.
CREATE SEQUENCE trauma_alias_seq;
ALTER TABLE patient
    ALTER COLUMN mrn DROP NOT NULL,
    ALTER COLUMN family_name DROP NOT NULL,
    ALTER COLUMN given_name DROP NOT NULL,
    ALTER COLUMN birth_date DROP NOT NULL,
    ADD COLUMN temp_id text UNIQUE CHECK (temp_id ~ '^Trauma-[0-9]{4,}$'),
    ADD COLUMN alias text CHECK (length(alias) BETWEEN 1 AND 100),
    ADD COLUMN merged_into bigint REFERENCES patient(id),
    ADD COLUMN identified_at timestamptz,
    -- Either a registered identity, or an alias (which may since have been merged).
    ADD CONSTRAINT patient_identity CHECK (
        (temp_id IS NULL AND mrn IS NOT NULL AND family_name IS NOT NULL AND given_name IS NOT NULL
         AND birth_date IS NOT NULL)
        OR (temp_id IS NOT NULL AND alias IS NOT NULL AND mrn IS NULL AND family_name IS NULL
            AND given_name IS NULL AND birth_date IS NULL)),
    ADD CONSTRAINT patient_merged CHECK (merged_into IS NULL OR (temp_id IS NOT NULL AND identified_at IS NOT NULL));
GRANT USAGE ON SEQUENCE trauma_alias_seq TO edlive_app;
GRANT UPDATE ON patient_allergy, patient_medication, patient_problem TO edlive_app;
