-- 0005_clinical.sql: the record underneath the screens of issue 5 (proto/README.md "Clinical
-- record"): append-only location history, orders, disposition and departure, board comment,
-- isolation, bed cleaning, the patient's allergies, home medications, problem list and coded
-- diagnoses, the NEWS2 SpO2 scale and reassessment interval, charge-nurse alert thresholds,
-- department-level events, every event's timeline line, and the metrics of ed-domain.md 3.3.
-- (0004 is reserved for the delivery work.)
-- Its functions, views and triggers are in sql/functions/ (sql/README.md).
-- name_key stays here: the generated column patient.similar_key is computed with it.

-- ---- department, bed ----

-- "Today" for metrics is the department's local day (an IANA zone name).
ALTER TABLE department ADD COLUMN timezone text NOT NULL DEFAULT 'UTC';

-- A bed a patient left is cleaned before the next one: set by the charge nurse or a nurse.
ALTER TABLE bed ADD COLUMN cleaning_since timestamptz;

-- ---- encounter ----

ALTER TABLE encounter
    ADD COLUMN location_since timestamptz,       -- start of the current location (history below)
    ADD COLUMN provider_seen_at timestamptz,     -- first practitioner contact (EDBA, 3.3)
    ADD COLUMN board_comment text CHECK (length(board_comment) BETWEEN 1 AND 200),
    ADD COLUMN isolation text CHECK (isolation IN ('contact', 'droplet', 'airborne',
                   'contact_droplet', 'contact_airborne', 'protective')),
    ADD COLUMN spo2_scale smallint NOT NULL DEFAULT 1 CHECK (spo2_scale IN (1, 2)),
    ADD COLUMN reassess_interval_min int CHECK (reassess_interval_min BETWEEN 5 AND 720),
    ADD COLUMN disposition text CHECK (disposition IN ('discharge', 'admit', 'transfer', 'lwbs',
                   'ama', 'deceased')),
    ADD COLUMN disposition_at timestamptz,       -- decision time; for admit the boarding clock
    ADD COLUMN disposition_destination text CHECK (length(disposition_destination) BETWEEN 1 AND 100),
    ADD COLUMN disposition_by bigint REFERENCES staff(id);
ALTER TABLE encounter ADD CONSTRAINT encounter_disposition_complete
    CHECK ((disposition IS NULL) = (disposition_at IS NULL));
UPDATE encounter SET location_since = CASE WHEN bed_id IS NULL THEN arrived_at ELSE status_at END;
ALTER TABLE encounter ALTER COLUMN location_since SET NOT NULL;
CREATE INDEX encounter_patient_idx ON encounter (patient_id, arrived_at);
CREATE INDEX encounter_arrived_idx ON encounter (department_id, arrived_at);
CREATE INDEX encounter_departed_idx ON encounter (department_id, departed_at);

-- ---- location history (append-only) ----

-- One row per place the patient was put: written on arrival, on every bed, hallway or
-- waiting-room move, and on departure (area 'departed'). A row's end is the next row's start,
-- so nothing is ever updated: the history is exact and can only grow (ECAT reads
-- Encounter.location periods, ed-domain.md 3.3).
CREATE TABLE encounter_location (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    encounter_id  bigint NOT NULL REFERENCES encounter(id),
    bed_id        bigint REFERENCES bed(id),
    area          text NOT NULL CHECK (area IN ('resus', 'acute', 'fast_track', 'hallway',
                      'waiting_room', 'departed')),
    started_at    timestamptz NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX encounter_location_idx ON encounter_location (encounter_id, started_at, id);

INSERT INTO encounter_location (encounter_id, bed_id, area, started_at)
SELECT e.id, NULL, 'waiting_room', e.arrived_at FROM encounter e;
INSERT INTO encounter_location (encounter_id, bed_id, area, started_at)
SELECT e.id, e.bed_id, b.area, e.location_since FROM encounter e JOIN bed b ON b.id = e.bed_id;
INSERT INTO encounter_location (encounter_id, bed_id, area, started_at)
SELECT e.id, NULL, 'departed', e.departed_at FROM encounter e WHERE e.departed_at IS NOT NULL;

-- ---- orders (status only, no order entry) ----

CREATE TABLE clinical_order (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    encounter_id    bigint NOT NULL REFERENCES encounter(id),
    kind            text NOT NULL CHECK (kind IN ('lab', 'imaging', 'consult')),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    status          text NOT NULL DEFAULT 'ordered' CHECK (status IN ('ordered', 'collected', 'resulted')),
    abnormal        boolean,
    ordered_at      timestamptz NOT NULL,
    ordered_by      bigint REFERENCES account(id),
    collected_at    timestamptz,
    resulted_at     timestamptz,
    result_seen_at  timestamptz,
    result_seen_by  bigint REFERENCES account(id),
    CHECK ((status = 'resulted') = (resulted_at IS NOT NULL)),
    CHECK (result_seen_at IS NULL OR resulted_at IS NOT NULL)
);
CREATE INDEX clinical_order_encounter_idx ON clinical_order (encounter_id, id);

-- ---- the whole patient: allergies, home medications, problems; diagnoses per visit ----

-- NULL: allergies never recorded; set with no allergy rows: "no known allergies".
ALTER TABLE patient ADD COLUMN allergies_recorded_at timestamptz;

CREATE TABLE patient_allergy (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id    bigint NOT NULL REFERENCES patient(id),
    substance     text NOT NULL CHECK (length(substance) BETWEEN 1 AND 100),
    reaction      text CHECK (length(reaction) BETWEEN 1 AND 200),
    severity      text NOT NULL CHECK (severity IN ('mild', 'moderate', 'severe', 'unknown')),
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    recorded_by   bigint REFERENCES account(id)
);
CREATE INDEX patient_allergy_idx ON patient_allergy (patient_id, id);

CREATE TABLE patient_medication (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id     bigint NOT NULL REFERENCES patient(id),
    name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
    dose           text CHECK (length(dose) BETWEEN 1 AND 60),
    route          text CHECK (length(route) BETWEEN 1 AND 40),
    frequency      text CHECK (length(frequency) BETWEEN 1 AND 60),
    reconciled_at  timestamptz NOT NULL DEFAULT now(),
    reconciled_by  bigint REFERENCES account(id)
);
CREATE INDEX patient_medication_idx ON patient_medication (patient_id, id);

CREATE TABLE patient_problem (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    patient_id   bigint NOT NULL REFERENCES patient(id),
    system       text NOT NULL CHECK (system IN ('icd10', 'icd9', 'snomed')),
    code         text NOT NULL CHECK (length(code) BETWEEN 1 AND 20),
    display      text NOT NULL CHECK (length(display) BETWEEN 1 AND 200),
    onset        date,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    recorded_by  bigint REFERENCES account(id)
);
CREATE INDEX patient_problem_idx ON patient_problem (patient_id, id);

-- Diagnoses of a visit. New ones are ICD-10 (the API refuses others); ICD-9 codes of records
-- from before are kept exactly as they were coded.
CREATE TABLE encounter_diagnosis (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    encounter_id  bigint NOT NULL REFERENCES encounter(id),
    system        text NOT NULL CHECK (system IN ('icd10', 'icd9')),
    code          text NOT NULL CHECK (length(code) BETWEEN 1 AND 20),
    display       text NOT NULL CHECK (length(display) BETWEEN 1 AND 200),
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    recorded_by   bigint REFERENCES account(id)
);
CREATE INDEX encounter_diagnosis_idx ON encounter_diagnosis (encounter_id, id);

-- ---- charge-nurse alert thresholds ----

CREATE TABLE department_alert_threshold (
    department_id        bigint PRIMARY KEY REFERENCES department(id),
    waiting_longest_min  int NOT NULL DEFAULT 60 CHECK (waiting_longest_min BETWEEN 1 AND 1440),
    boarder_min          int NOT NULL DEFAULT 240 CHECK (boarder_min BETWEEN 1 AND 2880),
    esi12_unassigned     boolean NOT NULL DEFAULT true,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           bigint REFERENCES account(id)
);

-- ---- vitals: NEWS2 as the service stored it, in the board's shape ----

-- Rows stored before this migration have no band: give them the one news2.c computes
-- (chart 4, ed-domain.md 3.2), so every row has the same shape.
UPDATE vitals SET news2 = news2 || jsonb_build_object(
    'band', CASE WHEN (news2->>'total')::int >= 7 THEN 'high'
                 WHEN (news2->>'total')::int >= 5 THEN 'medium'
                 WHEN (news2->>'any_single_3')::boolean THEN 'low_medium' ELSE 'low' END,
    'reassess_min', CASE WHEN (news2->>'total')::int >= 7 THEN 15
                 WHEN (news2->>'total')::int >= 5 OR (news2->>'any_single_3')::boolean THEN 60
                 WHEN (news2->>'total')::int >= 1 THEN 240 ELSE 720 END,
    'scale', 1)
WHERE NOT news2 ? 'band';

-- ---- similar names ----

-- A crude sound-alike key (for a warning only, never for matching records): lower case,
-- letters only, first letter kept, later vowels and h/w/y dropped, doubled letters merged.
-- "Johnson" and "Jonsson" give "jnsn"; "Haddad" and "Hadad" give "hd".
CREATE FUNCTION name_key(p_name text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT left(n, 1) || regexp_replace(regexp_replace(substr(n, 2), '[aeiouyhw]', '', 'g'),
                                        '(.)\1+', '\1', 'g')
    FROM (SELECT regexp_replace(regexp_replace(lower(p_name), '[^a-z]', '', 'g'),
                                '(.)\1+', '\1', 'g') AS n) x
$$;

-- The key, kept with the patient and indexed: the similar-name check runs in every board
-- row, so it must be an index lookup, not a regular expression over every current patient.
ALTER TABLE patient ADD COLUMN similar_key text
    GENERATED ALWAYS AS (name_key(family_name) || ':' || left(lower(given_name), 1)) STORED;
CREATE INDEX patient_similar_key_idx ON patient (similar_key);

-- ---- events: department-level events ----

-- Bed cleaning and thresholds change no encounter: their events have no encounter.
ALTER TABLE event ALTER COLUMN encounter_id DROP NOT NULL;
ALTER TABLE event ALTER COLUMN encounter_version DROP NOT NULL;

-- ---- what the services may do ----

GRANT SELECT ON encounter_location TO edlive_app;
GRANT INSERT ON encounter_location TO edlive_app;
REVOKE UPDATE, DELETE, TRUNCATE ON encounter_location FROM edlive_app;
GRANT UPDATE (cleaning_since) ON bed TO edlive_app;
GRANT SELECT, INSERT, UPDATE ON clinical_order TO edlive_app;
GRANT SELECT, INSERT ON patient_allergy, patient_medication, patient_problem, encounter_diagnosis
    TO edlive_app;
GRANT SELECT, INSERT, UPDATE ON department_alert_threshold TO edlive_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO edlive_app;
