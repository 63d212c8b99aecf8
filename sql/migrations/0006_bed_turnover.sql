-- 0006_bed_turnover.sql: bed turnover as EDs run it, and leaner event frames.
-- * A bed (or hallway space) a patient leaves needs cleaning before the next patient: moving
--   out of it or ending the encounter in it sets its cleaning_since to the time it was
--   vacated, in the same transaction. Environmental services mark it clean with
--   POST /beds/{id}/status "free" (0005). Waiting-room spaces are not cleaned.
-- * The NEWS2 result is sent once per object instead of up to five times per frame: a vitals
--   object keeps its stored "news2" and drops "news2_detail" (the same result in the row's
--   shape, derivable from "news2" and "taken_at"); a board row's "latest_vitals" drops both,
--   since the row's own "news2" is the NEWS2 of that same vitals set (proto/README.md).

-- ---- bed turnover ----

-- BEFORE UPDATE, so the vacated bed is locked before the encounter row changes (the order a
-- move into that bed takes it: store_bed locks the bed, then updates its encounter; this way a
-- move-in and a move-out of the same bed never wait on each other in opposite orders). It runs
-- after encounter_before_change (triggers of one kind fire in name order), which has set
-- NEW.location_since to the move's time. If the encounter's update then fails, the statement
-- fails and the bed change goes with it.
CREATE FUNCTION encounter_before_vacate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_departs boolean := NEW.status IN ('departed', 'left_without_being_seen');
BEGIN
    IF OLD.bed_id IS NOT NULL AND OLD.status NOT IN ('departed', 'left_without_being_seen')
       AND (NEW.bed_id IS DISTINCT FROM OLD.bed_id OR v_departs) THEN
        UPDATE bed SET cleaning_since = CASE WHEN v_departs
                                             THEN coalesce(NEW.departed_at, NEW.status_at, now())
                                             ELSE coalesce(NEW.location_since, now()) END
        WHERE id = OLD.bed_id AND area <> 'waiting_room';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER encounter_before_vacate BEFORE UPDATE ON encounter
    FOR EACH ROW EXECUTE FUNCTION encounter_before_vacate();

-- ---- leaner frames ----

CREATE OR REPLACE FUNCTION vitals_json(v vitals) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', v.id, 'encounter_id', v.encounter_id, 'taken_at', utc_text(v.taken_at),
        'taken_by', staff_json(v.taken_by), 'entered_by', account_name(v.entered_by),
        'heart_rate', v.heart_rate, 'resp_rate', v.resp_rate,
        'systolic_bp', v.systolic_bp, 'diastolic_bp', v.diastolic_bp, 'spo2', v.spo2,
        'temperature_c', v.temperature_c, 'on_oxygen', v.on_oxygen,
        'consciousness', v.consciousness, 'pain', v.pain, 'news2', v.news2)
$$;

-- As in 0005, except latest_vitals: the measurements only; its NEWS2 is the row's "news2".
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
    LEFT JOIN LATERAL (SELECT vitals_json(v) - 'news2' AS doc, news2_detail(v) AS detail,
                              v.taken_at, (v.news2->>'reassess_min')::int AS reassess_min
                       FROM vitals v WHERE v.encounter_id = e.id
                       ORDER BY v.taken_at DESC, v.id DESC LIMIT 1) lv ON true
    WHERE e.id = p_encounter_id
$$;

GRANT EXECUTE ON FUNCTION encounter_before_vacate() TO edlive_app;
