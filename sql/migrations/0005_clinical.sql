-- 0005_clinical.sql: the record underneath the screens of issue 5 (proto/README.md "Clinical
-- record"): append-only location history, orders, disposition and departure, board comment,
-- isolation, bed cleaning, the patient's allergies, home medications, problem list and coded
-- diagnoses, the NEWS2 SpO2 scale and reassessment interval, charge-nurse alert thresholds,
-- department-level events, every event's timeline line, and the metrics of ed-domain.md 3.3.
-- (0004 is reserved for the delivery work.)

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

CREATE FUNCTION location_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'encounter_location is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER location_no_update BEFORE UPDATE OR DELETE ON encounter_location
    FOR EACH ROW EXECUTE FUNCTION location_refuse_change();
CREATE TRIGGER location_no_truncate BEFORE TRUNCATE ON encounter_location
    FOR EACH STATEMENT EXECUTE FUNCTION location_refuse_change();

-- Whatever path changes an encounter's place (arrival, bed route, status route, departure),
-- the history follows. A writer that knows the real time of a move sets location_since with
-- the bed; otherwise the move is now. The first "seen by provider" is the provider contact.
CREATE FUNCTION encounter_before_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.location_since := coalesce(NEW.location_since, NEW.arrived_at);
        RETURN NEW;
    END IF;
    IF NEW.bed_id IS DISTINCT FROM OLD.bed_id
       AND NEW.location_since IS NOT DISTINCT FROM OLD.location_since THEN
        NEW.location_since := now();
    END IF;
    IF NEW.status = 'seen_by_provider' AND OLD.status <> 'seen_by_provider'
       AND NEW.provider_seen_at IS NULL THEN
        NEW.provider_seen_at := NEW.status_at;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER encounter_before_change BEFORE INSERT OR UPDATE ON encounter
    FOR EACH ROW EXECUTE FUNCTION encounter_before_change();

CREATE FUNCTION encounter_track_location() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR (NEW.bed_id IS DISTINCT FROM OLD.bed_id AND NEW.departed_at IS NULL) THEN
        INSERT INTO encounter_location (encounter_id, bed_id, area, started_at)
        VALUES (NEW.id, NEW.bed_id,
                coalesce((SELECT b.area FROM bed b WHERE b.id = NEW.bed_id), 'waiting_room'),
                NEW.location_since);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.departed_at IS NOT NULL AND OLD.departed_at IS NULL THEN
        INSERT INTO encounter_location (encounter_id, bed_id, area, started_at)
        VALUES (NEW.id, NULL, 'departed', NEW.departed_at);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER encounter_track_location AFTER INSERT OR UPDATE ON encounter
    FOR EACH ROW EXECUTE FUNCTION encounter_track_location();

-- Periods of the history: [started_at, ended_at), ended_at NULL while current.
CREATE FUNCTION encounter_locations_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'bed', (SELECT jsonb_build_object('id', b.id, 'label', b.label, 'area', b.area)
                       FROM bed b WHERE b.id = l.bed_id),
               'area', l.area, 'started_at', utc_text(l.started_at), 'ended_at', utc_text(l.ended_at))
               ORDER BY l.started_at, l.id), '[]'::jsonb)
    FROM (SELECT el.*, lead(el.started_at) OVER (ORDER BY el.started_at, el.id) AS ended_at
          FROM encounter_location el WHERE el.encounter_id = p_encounter_id) l
    WHERE l.area <> 'departed'
$$;

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

CREATE FUNCTION order_json(o clinical_order) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', o.id, 'encounter_id', o.encounter_id, 'kind', o.kind,
        'name', o.name, 'status', o.status, 'abnormal', o.abnormal,
        'ordered_at', utc_text(o.ordered_at), 'ordered_by', account_name(o.ordered_by),
        'collected_at', utc_text(o.collected_at), 'resulted_at', utc_text(o.resulted_at),
        'result_seen', o.result_seen_at IS NOT NULL, 'result_seen_at', utc_text(o.result_seen_at),
        'result_seen_by', account_name(o.result_seen_by))
$$;

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

CREATE FUNCTION allergies_json(p_patient_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p.allergies_recorded_at IS NULL THEN NULL ELSE
        (SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'substance', a.substance,
                 'reaction', a.reaction, 'severity', a.severity,
                 'recorded_at', utc_text(a.recorded_at)) ORDER BY a.id), '[]'::jsonb)
         FROM patient_allergy a WHERE a.patient_id = p.id) END
    FROM patient p WHERE p.id = p_patient_id
$$;

CREATE FUNCTION diagnoses_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'system', d.system, 'code', d.code,
               'display', d.display, 'recorded_at', utc_text(d.recorded_at)) ORDER BY d.id), '[]'::jsonb)
    FROM encounter_diagnosis d WHERE d.encounter_id = p_encounter_id
$$;

-- ---- charge-nurse alert thresholds ----

CREATE TABLE department_alert_threshold (
    department_id        bigint PRIMARY KEY REFERENCES department(id),
    waiting_longest_min  int NOT NULL DEFAULT 60 CHECK (waiting_longest_min BETWEEN 1 AND 1440),
    boarder_min          int NOT NULL DEFAULT 240 CHECK (boarder_min BETWEEN 1 AND 2880),
    esi12_unassigned     boolean NOT NULL DEFAULT true,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    updated_by           bigint REFERENCES account(id)
);

-- The department's thresholds; the defaults while the charge nurse has set none.
CREATE FUNCTION alert_thresholds_json(p_department_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('department_id', d.id,
        'waiting_longest_min', coalesce(t.waiting_longest_min, 60),
        'boarder_min', coalesce(t.boarder_min, 240),
        'esi12_unassigned', coalesce(t.esi12_unassigned, true),
        'updated_at', utc_text(t.updated_at), 'updated_by', account_name(t.updated_by))
    FROM department d LEFT JOIN department_alert_threshold t ON t.department_id = d.id
    WHERE d.id = p_department_id
$$;

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

CREATE FUNCTION news2_detail(v vitals) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('total', v.news2->'total', 'band', v.news2->'band',
        'any_three', v.news2->'any_single_3', 'complete', v.news2->'complete',
        'scale', (v.news2->>'scale')::int, 'reassess_min', v.news2->'reassess_min',
        'subscores', jsonb_build_object(
            'resp_rate', v.news2->'scores'->'resp_rate', 'spo2', v.news2->'scores'->'spo2',
            'air_or_oxygen', v.news2->'scores'->'on_oxygen',
            'systolic_bp', v.news2->'scores'->'systolic_bp',
            'heart_rate', v.news2->'scores'->'heart_rate',
            'consciousness', v.news2->'scores'->'consciousness',
            'temperature', v.news2->'scores'->'temperature_c'),
        'taken_at', utc_text(v.taken_at))
$$;

CREATE OR REPLACE FUNCTION vitals_json(v vitals) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', v.id, 'encounter_id', v.encounter_id, 'taken_at', utc_text(v.taken_at),
        'taken_by', staff_json(v.taken_by), 'entered_by', account_name(v.entered_by),
        'heart_rate', v.heart_rate, 'resp_rate', v.resp_rate,
        'systolic_bp', v.systolic_bp, 'diastolic_bp', v.diastolic_bp, 'spo2', v.spo2,
        'temperature_c', v.temperature_c, 'on_oxygen', v.on_oxygen,
        'consciousness', v.consciousness, 'pain', v.pain, 'news2', v.news2,
        'news2_detail', news2_detail(v))
$$;

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

-- Other active encounters of the department whose patient's name is alike: the same
-- family-name key and the same first letter of the given name.
CREATE FUNCTION similar_name_ids(p_encounter_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_agg(o.id ORDER BY o.id), '[]'::jsonb)
    FROM encounter e JOIN patient p ON p.id = e.patient_id
    JOIN patient q ON q.similar_key = p.similar_key AND q.id <> p.id
    JOIN encounter o ON o.patient_id = q.id AND o.department_id = e.department_id
        AND o.status NOT IN ('departed', 'left_without_being_seen')
    WHERE e.id = p_encounter_id
$$;

-- ---- beds ----

CREATE FUNCTION bed_json(p_bed_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', b.id, 'label', b.label, 'area', b.area,
        'status', CASE WHEN EXISTS (SELECT 1 FROM encounter e WHERE e.bed_id = b.id
                           AND e.status NOT IN ('departed', 'left_without_being_seen')) THEN 'occupied'
                       WHEN b.cleaning_since IS NOT NULL THEN 'cleaning' ELSE 'free' END,
        'cleaning_since', utc_text(b.cleaning_since))
    FROM bed b WHERE b.id = p_bed_id
$$;

-- ---- the board row ----

CREATE OR REPLACE FUNCTION encounter_row_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'encounter_id', e.id, 'version', e.version, 'department_id', e.department_id,
        'patient', jsonb_build_object('id', p.id, 'mrn', p.mrn, 'family_name', p.family_name,
            'given_name', p.given_name, 'birth_date', to_char(p.birth_date, 'YYYY-MM-DD'),
            'age_years', date_part('year', age(current_date, p.birth_date))::int, 'sex', p.sex),
        'bed', (SELECT jsonb_build_object('id', b.id, 'label', b.label, 'area', b.area)
                FROM bed b WHERE b.id = e.bed_id),
        'esi', e.esi, 'chief_complaint', e.chief_complaint, 'arrival_mode', e.arrival_mode,
        'arrived_at', utc_text(e.arrived_at), 'status', e.status,
        'attending', staff_json(e.attending_id), 'nurse', staff_json(e.nurse_id),
        'latest_vitals', lv.doc,
        'break_glass', (SELECT coalesce(jsonb_agg(jsonb_build_object('by', a.username,
                                'reason', bg.reason, 'until', utc_text(bg.expires_at))
                                ORDER BY bg.granted_at), '[]'::jsonb)
                        FROM break_glass bg JOIN account a ON a.id = bg.account_id
                        WHERE bg.patient_id = e.patient_id AND bg.expires_at > now()),
        'location_since', utc_text(e.location_since),
        'provider_seen_at', utc_text(e.provider_seen_at),
        'comment', e.board_comment,
        'isolation', e.isolation,
        'allergies', allergies_json(p.id),
        'orders', (SELECT coalesce(jsonb_agg(order_json(o) ORDER BY o.id), '[]'::jsonb)
                   FROM clinical_order o WHERE o.encounter_id = e.id),
        'disposition', CASE WHEN e.disposition IS NULL THEN NULL ELSE jsonb_build_object(
                           'kind', e.disposition, 'decided_at', utc_text(e.disposition_at),
                           'destination', e.disposition_destination,
                           'decided_by', staff_json(e.disposition_by)) END,
        'departed_at', utc_text(e.departed_at),
        'boarding_since', CASE WHEN e.disposition = 'admit' AND e.departed_at IS NULL
                               THEN utc_text(e.disposition_at) END,
        'news2', lv.detail,
        'spo2_scale', e.spo2_scale,
        'reassess_interval_min', e.reassess_interval_min,
        'reassess_due_at', utc_text(lv.taken_at + make_interval(mins =>
                               coalesce(e.reassess_interval_min, lv.reassess_min))),
        'similar_name', similar_name_ids(e.id))
    FROM encounter e JOIN patient p ON p.id = e.patient_id
    LEFT JOIN LATERAL (SELECT vitals_json(v) AS doc, news2_detail(v) AS detail, v.taken_at,
                              (v.news2->>'reassess_min')::int AS reassess_min
                       FROM vitals v WHERE v.encounter_id = e.id
                       ORDER BY v.taken_at DESC, v.id DESC LIMIT 1) lv ON true
    WHERE e.id = p_encounter_id
$$;

CREATE OR REPLACE FUNCTION board_json(p_department_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'department', jsonb_build_object('id', d.id, 'code', d.code, 'name', d.name,
                                         'timezone', d.timezone),
        'seq', s.last_seq,
        'beds', (SELECT coalesce(jsonb_agg(bed_json(b.id)
                     ORDER BY area_rank(b.area), b.sort_order, b.label), '[]'::jsonb)
                 FROM bed b WHERE b.department_id = d.id),
        'staff', (SELECT coalesce(jsonb_agg(staff_json(sd.staff_id) ORDER BY st.role, st.display_name), '[]'::jsonb)
                  FROM staff_department sd JOIN staff st ON st.id = sd.staff_id
                  WHERE sd.department_id = d.id AND st.active),
        'alert_thresholds', alert_thresholds_json(d.id),
        'lwbs_today', (SELECT count(*) FROM encounter e WHERE e.department_id = d.id
                       AND e.status = 'left_without_being_seen'
                       AND e.departed_at >= (date_trunc('day', now() AT TIME ZONE d.timezone) AT TIME ZONE d.timezone)),
        'encounters', (SELECT coalesce(jsonb_agg(encounter_row_json(e.id) ORDER BY e.id), '[]'::jsonb)
                       FROM encounter e WHERE e.department_id = d.id
                       AND e.status NOT IN ('departed', 'left_without_being_seen')))
    FROM department d JOIN department_seq s ON s.department_id = d.id
    WHERE d.id = p_department_id
$$;

-- ---- the chart ----

CREATE FUNCTION patient_record_json(p_patient_id bigint, p_encounter_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'allergies', allergies_json(p_patient_id),
        'medications', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', m.id, 'name', m.name,
                            'dose', m.dose, 'route', m.route, 'frequency', m.frequency,
                            'reconciled_at', utc_text(m.reconciled_at),
                            'reconciled_by', account_name(m.reconciled_by)) ORDER BY m.id), '[]'::jsonb)
                        FROM patient_medication m WHERE m.patient_id = p_patient_id),
        'problems', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', pr.id, 'system', pr.system,
                         'code', pr.code, 'display', pr.display,
                         'onset', to_char(pr.onset, 'YYYY-MM-DD')) ORDER BY pr.id), '[]'::jsonb)
                     FROM patient_problem pr WHERE pr.patient_id = p_patient_id),
        'prior_visits', (SELECT coalesce(jsonb_agg(jsonb_build_object('encounter_id', o.id,
                             'department', (SELECT d.name FROM department d WHERE d.id = o.department_id),
                             'arrived_at', utc_text(o.arrived_at), 'departed_at', utc_text(o.departed_at),
                             'chief_complaint', o.chief_complaint,
                             'disposition', coalesce(o.disposition,
                                 CASE WHEN o.status = 'left_without_being_seen' THEN 'lwbs' END),
                             'diagnoses', diagnoses_json(o.id)) ORDER BY o.arrived_at DESC), '[]'::jsonb)
                         FROM encounter o WHERE o.patient_id = p_patient_id AND o.id <> p_encounter_id
                         AND o.departed_at IS NOT NULL))
$$;

CREATE OR REPLACE FUNCTION chart_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'seq', s.last_seq,
        'encounter', encounter_row_json(e.id),
        'vitals', (SELECT coalesce(jsonb_agg(vitals_json(v) ORDER BY v.taken_at DESC, v.id DESC), '[]'::jsonb)
                   FROM vitals v WHERE v.encounter_id = e.id),
        'notes', (SELECT coalesce(jsonb_agg(note_json(n) ORDER BY n.written_at DESC, n.id DESC), '[]'::jsonb)
                  FROM note n WHERE n.encounter_id = e.id),
        'record', patient_record_json(e.patient_id, e.id),
        'diagnoses', diagnoses_json(e.id),
        'locations', encounter_locations_json(e.id),
        'timeline', (SELECT coalesce(jsonb_agg(ev.payload->'timeline'
                         ORDER BY ev.payload->'timeline'->>'at', ev.seq), '[]'::jsonb)
                     FROM event ev WHERE ev.encounter_id = e.id AND ev.payload ? 'timeline'))
    FROM encounter e JOIN department_seq s ON s.department_id = e.department_id
    WHERE e.id = p_encounter_id
$$;

-- ---- events: department-level events, and every event's timeline line ----

-- Bed cleaning and thresholds change no encounter: their events have no encounter.
ALTER TABLE event ALTER COLUMN encounter_id DROP NOT NULL;
ALTER TABLE event ALTER COLUMN encounter_version DROP NOT NULL;

-- Like append_event, for a change of the department itself (same gap-free seq under the
-- department_seq row lock); wakes listeners on channel edlive_events with the department id.
CREATE FUNCTION append_department_event(p_department_id bigint, p_type text, p_extra jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
BEGIN
    UPDATE department_seq SET last_seq = last_seq + 1 WHERE department_id = p_department_id
    RETURNING last_seq INTO v_seq;
    IF v_seq IS NULL THEN
        RAISE EXCEPTION 'append_department_event: department % not found', p_department_id;
    END IF;
    INSERT INTO event (department_id, seq, encounter_id, encounter_version, type, payload)
    VALUES (p_department_id, v_seq, NULL, NULL, p_type, coalesce(p_extra, '{}'::jsonb));
    PERFORM pg_notify('edlive_events', p_department_id::text);
    RETURN v_seq;
END
$$;

-- One human-readable line per event (the chart's timeline), with the time the change
-- happened (a move's, a vitals set's, a decision's real time when the writer gave one) and
-- who made it (the acting staff member, set by the service as edlive.staff_id for the
-- transaction). Never names the patient.
CREATE FUNCTION event_timeline(p_type text, p_payload jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r       jsonb := p_payload->'encounter';
    v       jsonb := p_payload->'vitals';
    o       jsonb := p_payload->'order';
    at      text;
    summary text;
    actor   bigint := nullif(current_setting('edlive.staff_id', true), '')::bigint;
BEGIN
    CASE p_type
    WHEN 'encounter.arrived' THEN
        at := r->>'arrived_at';
        summary := 'Arrived (' || replace(r->>'arrival_mode', '_', ' ') || '): ' || (r->>'chief_complaint');
    WHEN 'encounter.triaged' THEN
        summary := 'Triaged ESI ' || (r->>'esi');
    WHEN 'encounter.bed_assigned' THEN
        at := r->>'location_since';
        summary := CASE WHEN r->'bed' = 'null'::jsonb THEN 'Moved to the waiting room'
                        ELSE 'Moved to ' || (r->'bed'->>'label') || ' (' || replace(r->'bed'->>'area', '_', ' ') || ')' END;
    WHEN 'encounter.staff_assigned' THEN
        summary := 'Assigned: attending ' || coalesce(r->'attending'->>'name', 'none')
                   || ', nurse ' || coalesce(r->'nurse'->>'name', 'none');
    WHEN 'encounter.status_changed' THEN
        summary := 'Status: ' || replace(r->>'status', '_', ' ');
        IF r->>'status' IN ('departed', 'left_without_being_seen') THEN at := r->>'departed_at'; END IF;
    WHEN 'vitals.recorded' THEN
        at := v->>'taken_at';
        summary := 'Vitals' || coalesce(' HR ' || (v->>'heart_rate'), '') || coalesce(' RR ' || (v->>'resp_rate'), '')
                   || coalesce(' BP ' || (v->>'systolic_bp') || '/' || (v->>'diastolic_bp'), '')
                   || coalesce(' SpO2 ' || (v->>'spo2') || '%', '') || coalesce(' T ' || (v->>'temperature_c'), '')
                   || coalesce(' ' || (v->>'consciousness'), '')
                   || ' - NEWS2 ' || (v->'news2'->>'total');
    WHEN 'note.added' THEN
        summary := 'Note by ' || coalesce(p_payload->'note'->'author'->>'name', 'unknown');
    WHEN 'order.placed' THEN
        at := o->>'ordered_at';
        summary := initcap(o->>'kind') || ' ordered: ' || (o->>'name');
    WHEN 'order.status_changed' THEN
        at := coalesce(o->>'resulted_at', o->>'collected_at');
        summary := initcap(o->>'kind') || ' ' || (o->>'status') || ': ' || (o->>'name')
                   || CASE WHEN (o->>'abnormal')::boolean THEN ' (abnormal)' ELSE '' END;
    WHEN 'order.result_seen' THEN
        summary := 'Result seen: ' || (o->>'name');
    WHEN 'encounter.disposition' THEN
        at := r->'disposition'->>'decided_at';
        summary := 'Disposition: ' || (r->'disposition'->>'kind')
                   || coalesce(' to ' || (r->'disposition'->>'destination'), '');
    WHEN 'encounter.departed' THEN
        at := r->>'departed_at';
        summary := CASE WHEN r->>'status' = 'left_without_being_seen' THEN 'Left without being seen'
                        ELSE 'Departed the ED' END;
    WHEN 'encounter.comment' THEN
        summary := coalesce('Board comment: ' || (r->>'comment'), 'Board comment cleared');
    WHEN 'encounter.isolation' THEN
        summary := coalesce('Isolation: ' || replace(r->>'isolation', '_', ' + '), 'Isolation ended');
    WHEN 'encounter.news2_scale' THEN
        summary := 'NEWS2 SpO2 scale ' || (r->>'spo2_scale');
    WHEN 'encounter.reassessment' THEN
        summary := coalesce('Reassess every ' || (r->>'reassess_interval_min') || ' min',
                            'Reassessment interval from NEWS2');
    WHEN 'record.allergy' THEN
        summary := coalesce('Allergy: ' || (p_payload->'allergy'->>'substance')
                            || coalesce(' (' || (p_payload->'allergy'->>'severity') || ')', ''),
                            'No known allergies');
    WHEN 'record.medication' THEN
        summary := 'Home medication: ' || (p_payload->'medication'->>'name');
    WHEN 'record.problem' THEN
        summary := 'Problem: ' || (p_payload->'problem'->>'display');
    WHEN 'record.diagnosis' THEN
        summary := 'Diagnosis ' || upper(p_payload->'diagnosis'->>'system') || ' '
                   || (p_payload->'diagnosis'->>'code') || ' ' || (p_payload->'diagnosis'->>'display');
    WHEN 'bed.status' THEN
        summary := 'Bed ' || (p_payload->'beds'->0->>'label') || ': ' || (p_payload->'beds'->0->>'status');
    WHEN 'department.alert_thresholds' THEN
        summary := 'Alert thresholds changed';
    WHEN 'access.break_glass' THEN
        summary := 'Emergency access to the chart';
    ELSE
        summary := replace(p_type, '_', ' ');
    END CASE;
    RETURN jsonb_build_object('at', coalesce(at, utc_text(now())), 'type', p_type,
                              'summary', coalesce(summary, p_type), 'by', staff_json(actor));
END
$$;

-- Every event gets its timeline line; a move or a departure also carries the beds whose
-- state changed (clients replace them by id).
CREATE FUNCTION event_decorate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.payload ? 'timeline' THEN
        NEW.payload := NEW.payload || jsonb_build_object('timeline', event_timeline(NEW.type, NEW.payload));
    END IF;
    IF NEW.encounter_id IS NOT NULL AND NOT NEW.payload ? 'beds'
       AND NEW.type IN ('encounter.bed_assigned', 'encounter.status_changed', 'encounter.departed') THEN
        NEW.payload := NEW.payload || jsonb_build_object('beds',
            (SELECT coalesce(jsonb_agg(bed_json(x.bed_id) ORDER BY x.bed_id), '[]'::jsonb)
             FROM (SELECT DISTINCT l.bed_id FROM (SELECT el.bed_id FROM encounter_location el
                                                  WHERE el.encounter_id = NEW.encounter_id
                                                  ORDER BY el.started_at DESC, el.id DESC LIMIT 3) l
                   WHERE l.bed_id IS NOT NULL) x));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER event_decorate BEFORE INSERT ON event FOR EACH ROW EXECUTE FUNCTION event_decorate();

-- ---- metrics (ed-domain.md 3.3; definitions in proto/README.md "Metrics") ----

-- Median of minutes, one decimal; NULL when there is no case.
CREATE FUNCTION median_minutes(p_minutes double precision[]) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY m))::numeric, 1)
    FROM unnest(p_minutes) m
$$;

CREATE FUNCTION department_metrics_json(p_department_id bigint, p_date date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH d AS (
        SELECT dep.id, dep.timezone,
               (p_date::timestamp AT TIME ZONE dep.timezone) AS day_start,
               ((p_date + 1)::timestamp AT TIME ZONE dep.timezone) AS day_end
        FROM department dep WHERE dep.id = p_department_id
    ), arrived AS (
        SELECT e.* FROM encounter e, d WHERE e.department_id = d.id
            AND e.arrived_at >= d.day_start AND e.arrived_at < d.day_end
    ), departed AS (
        SELECT e.* FROM encounter e, d WHERE e.department_id = d.id
            AND e.departed_at >= d.day_start AND e.departed_at < d.day_end
    ), first_room AS (
        SELECT a.id, a.arrived_at, min(l.started_at) AS room_at
        FROM arrived a JOIN encounter_location l ON l.encounter_id = a.id
        WHERE l.area IN ('resus', 'acute', 'fast_track', 'hallway')
        GROUP BY a.id, a.arrived_at
    ), prior AS (
        -- The same weekday in each of the four weeks before.
        SELECT e.arrived_at FROM encounter e, d, generate_series(1, 4) w
        WHERE e.department_id = d.id
            AND e.arrived_at >= ((p_date - 7 * w)::timestamp AT TIME ZONE d.timezone)
            AND e.arrived_at < ((p_date - 7 * w + 1)::timestamp AT TIME ZONE d.timezone)
    )
    SELECT jsonb_build_object(
        'department_id', d.id, 'date', to_char(p_date, 'YYYY-MM-DD'), 'timezone', d.timezone,
        'door_to_provider_median_min', (SELECT median_minutes(array_agg(
                extract(epoch FROM a.provider_seen_at - a.arrived_at) / 60))
            FROM arrived a WHERE a.provider_seen_at IS NOT NULL),
        'door_to_provider_count', (SELECT count(*) FROM arrived a WHERE a.provider_seen_at IS NOT NULL),
        'los_discharged_median_min', (SELECT median_minutes(array_agg(
                extract(epoch FROM x.departed_at - x.arrived_at) / 60))
            FROM departed x WHERE x.disposition = 'discharge'),
        'los_discharged_count', (SELECT count(*) FROM departed x WHERE x.disposition = 'discharge'),
        'boarding_median_min', (SELECT median_minutes(array_agg(
                extract(epoch FROM x.departed_at - x.disposition_at) / 60))
            FROM departed x WHERE x.disposition = 'admit'),
        'boarding_count', (SELECT count(*) FROM departed x WHERE x.disposition = 'admit'),
        'arrival_to_room_median_min', (SELECT median_minutes(array_agg(
                extract(epoch FROM f.room_at - f.arrived_at) / 60)) FROM first_room f),
        'arrival_to_room_count', (SELECT count(*) FROM first_room),
        'lwbs', (SELECT count(*) FROM departed x WHERE x.status = 'left_without_being_seen'),
        'arrivals', (SELECT count(*) FROM arrived),
        'arrivals_by_hour', (SELECT jsonb_agg((SELECT count(*) FROM arrived a
                                 WHERE extract(hour FROM a.arrived_at AT TIME ZONE d.timezone) = h) ORDER BY h)
                             FROM generate_series(0, 23) h),
        'weekday_average_weeks', 4,
        'definitions', jsonb_build_object(
            'door_to_provider_median_min', 'Median minutes from arrival to first provider contact (first "seen by provider"), for patients who arrived this day and have been seen (EDBA door-to-provider).',
            'los_discharged_median_min', 'Median minutes from arrival to ED departure for patients discharged home who left this day (CMS OP-18 ED length of stay, discharged patients).',
            'boarding_median_min', 'Median minutes from the decision to admit to ED departure for admitted patients who left this day (CMS ED-2 boarding time).',
            'arrival_to_room_median_min', 'Median minutes from arrival to the first treatment space (resus, acute, fast track or hallway bed), from the location history, for patients who arrived this day (ECAT treatment-room interval).',
            'lwbs', 'Patients who left without being seen by a provider and departed this day (OP-22 numerator).',
            'arrivals', 'Patients who arrived this day (local day of the department).',
            'arrivals_by_hour', 'Arrivals this day in each local hour 0-23.',
            'weekday_average_by_hour', 'Average arrivals in each local hour on the same weekday over the four weeks before (sum of the four days divided by 4).'),
        'weekday_average_by_hour', (SELECT jsonb_agg(round((SELECT count(*) FROM prior x
                                 WHERE extract(hour FROM x.arrived_at AT TIME ZONE d.timezone) = h) / 4.0, 2) ORDER BY h)
                             FROM generate_series(0, 23) h))
    FROM d
$$;

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
