-- 0007_early_warning.sql: the early-warning score every screen shows, from the latest reading of
-- each parameter (proto/EARLY_WARNING.md).
-- * encounter.ews: the score as the write path computed it in C (services/common/ews.c) in the
--   vitals transaction: total, band, completeness, each input with its value, sub-score and
--   time, the missing ones, the interval and the time it counts from, and the last complete
--   score (kept for the floor: an incomplete score is never shown less urgent than it).
-- * department.ews_window_min: how old a reading may be and still count (default 4 h).
-- * The row's "news2" is encounter.ews (without last_complete); "monitoring" says continuous or
--   interval; "reassess_due_at" is null under continuous monitoring, else the earlier of the
--   shown interval (shortened, never lengthened, by a per-patient interval) and the last complete
--   score's due time. Encounters without a stored score yet (vitals from before this migration)
--   show their latest set's NEWS2 as before, until their next vitals.
-- * Vitals as EDs record them: systolic without diastolic (palpated), temperature down to 15 C;
--   and for children capillary refill, respiratory effort and oxygen flow (Bedside PEWS).

ALTER TABLE department ADD COLUMN ews_window_min integer NOT NULL DEFAULT 240
    CHECK (ews_window_min BETWEEN 15 AND 1440);
-- Which score a department's patients get: 'auto' is Bedside PEWS under 16 and NEWS2 from 16;
-- a paediatric ED sets 'pews', an adults-only one 'news2'.
ALTER TABLE department ADD COLUMN early_warning text NOT NULL DEFAULT 'auto'
    CHECK (early_warning IN ('auto', 'news2', 'pews'));

-- The Bedside PEWS items NEWS2 does not have (services/common/pews.h).
ALTER TABLE vitals ADD COLUMN cap_refill_s numeric(3,1) CHECK (cap_refill_s BETWEEN 0 AND 20);
ALTER TABLE vitals ADD COLUMN resp_effort text
    CHECK (resp_effort IN ('normal', 'mild', 'moderate', 'severe'));
ALTER TABLE vitals ADD COLUMN oxygen_l_min numeric(4,1) CHECK (oxygen_l_min BETWEEN 0 AND 60);
ALTER TABLE encounter ADD COLUMN ews jsonb;

ALTER TABLE vitals DROP CONSTRAINT vitals_temperature_c_check;
ALTER TABLE vitals ADD CONSTRAINT vitals_temperature_c_check
    CHECK (temperature_c BETWEEN 15.0 AND 45.0);
ALTER TABLE vitals ADD CONSTRAINT vitals_diastolic_needs_systolic
    CHECK (diastolic_bp IS NULL OR systolic_bp IS NOT NULL) NOT VALID;

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

CREATE OR REPLACE FUNCTION vitals_json(v vitals) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', v.id, 'encounter_id', v.encounter_id, 'taken_at', utc_text(v.taken_at),
        'taken_by', staff_json(v.taken_by), 'entered_by', account_name(v.entered_by),
        'heart_rate', v.heart_rate, 'resp_rate', v.resp_rate,
        'systolic_bp', v.systolic_bp, 'diastolic_bp', v.diastolic_bp, 'spo2', v.spo2,
        'temperature_c', v.temperature_c, 'on_oxygen', v.on_oxygen,
        'consciousness', v.consciousness, 'pain', v.pain, 'news2', v.news2,
        'cap_refill_s', v.cap_refill_s, 'resp_effort', v.resp_effort,
        'oxygen_l_min', v.oxygen_l_min)
$$;
