-- 0010_editing.sql: issue 9 items 15 and 16 (editing).
-- Item 16: a result carries its value (a number with unit and reference range, or text), and
-- the abnormal flag is derived from the value and range by the server, not typed by hand.
-- (Item 14, per-field conflicts, needs no schema: it reads event.type and encounter_version.)

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

-- Where a numeric value lies against its reference range: 'low', 'high' or 'normal'; NULL
-- when no bound is known (the result then states no flag).
CREATE FUNCTION result_flag(p_value numeric, p_low numeric, p_high numeric) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_value IS NULL OR (p_low IS NULL AND p_high IS NULL) THEN NULL
                WHEN p_value < p_low THEN 'low'
                WHEN p_value > p_high THEN 'high'
                ELSE 'normal' END
$$;

-- Copied from 0005; adds 'result' (value, unit, reference range, text, flag).
CREATE OR REPLACE FUNCTION order_json(o clinical_order) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', o.id, 'encounter_id', o.encounter_id, 'kind', o.kind,
        'name', o.name, 'status', o.status, 'abnormal', o.abnormal,
        'ordered_at', utc_text(o.ordered_at), 'ordered_by', account_name(o.ordered_by),
        'collected_at', utc_text(o.collected_at), 'resulted_at', utc_text(o.resulted_at),
        'result_seen', o.result_seen_at IS NOT NULL, 'result_seen_at', utc_text(o.result_seen_at),
        'result_seen_by', account_name(o.result_seen_by),
        'result', CASE WHEN o.result_value IS NULL AND o.result_text IS NULL THEN NULL
                  ELSE jsonb_build_object(
                      'value', o.result_value, 'unit', o.result_unit,
                      'reference_range', CASE WHEN o.result_low IS NULL AND o.result_high IS NULL
                                              THEN NULL ELSE jsonb_build_object(
                                                  'low', o.result_low, 'high', o.result_high) END,
                      'text', o.result_text,
                      'flag', CASE WHEN o.result_value IS NOT NULL
                                   THEN result_flag(o.result_value, o.result_low, o.result_high)
                                   WHEN o.abnormal THEN 'abnormal'
                                   WHEN NOT o.abnormal THEN 'normal' END) END)
$$;

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

-- The patient as every row and event shows it. An unidentified one: "unidentified": true,
-- its temp_id and alias, and null MRN, names and birth date.
CREATE FUNCTION patient_json(p patient) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', p.id, 'mrn', p.mrn, 'family_name', p.family_name,
        'given_name', p.given_name, 'birth_date', to_char(p.birth_date, 'YYYY-MM-DD'),
        'age_years', date_part('year', age(current_date, p.birth_date))::int, 'sex', p.sex,
        'unidentified', p.temp_id IS NOT NULL, 'temp_id', p.temp_id, 'alias', p.alias)
$$;

-- As in 0008; the only change: 'patient' is patient_json(p) (adds unidentified,
-- temp_id, alias).
CREATE OR REPLACE FUNCTION encounter_row_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'encounter_id', e.id, 'version', e.version, 'department_id', e.department_id,
        'patient', patient_json(p),
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
                               THEN utc_text(coalesce(e.admit_decided_at, e.disposition_at)) END,
        'triaged_at', utc_text(e.triaged_at),
        'news2', coalesce(e.ews - 'last_complete', lv.detail),
        'spo2_scale', e.spo2_scale,
        'reassess_interval_min', e.reassess_interval_min,
        'monitoring', CASE WHEN e.ews IS NULL THEN NULL
                           WHEN (e.ews->>'reassess_min')::int = 0 THEN 'continuous'
                           ELSE 'interval' END,
        'reassess_due_at', CASE WHEN e.ews IS NULL THEN
                               utc_text(lv.taken_at + make_interval(mins =>
                                   coalesce(e.reassess_interval_min, lv.reassess_min)))
                           WHEN (e.ews->>'reassess_min')::int = 0 THEN NULL
                           ELSE utc_text(least(
                               (e.ews->>'base_at')::timestamptz + make_interval(mins =>
                                   least((e.ews->>'reassess_min')::int,
                                         coalesce(e.reassess_interval_min, 100000))),
                               (e.ews->>'floor_due_at')::timestamptz)) END,
        'similar_name', similar_name_ids(e.id))
    FROM encounter e JOIN patient p ON p.id = e.patient_id
    LEFT JOIN LATERAL (SELECT vitals_json(v) - 'news2' AS doc, news2_detail(v) AS detail,
                              v.taken_at, (v.news2->>'reassess_min')::int AS reassess_min
                       FROM vitals v WHERE v.encounter_id = e.id
                       ORDER BY v.taken_at DESC, v.id DESC LIMIT 1) lv ON true
    WHERE e.id = p_encounter_id
$$;
