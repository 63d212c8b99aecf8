-- 50_board.sql: a department's board (beds, staff, thresholds, current encounters) and one
-- encounter's chart, each with the department seq it is current at.
-- Applied by `edlivectl migrate` after the migrations, every time, in file-name order; each
-- statement is idempotent (CREATE OR REPLACE). How to change one: sql/README.md.

CREATE OR REPLACE FUNCTION bed_json(p_bed_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT jsonb_build_object('id', b.id, 'label', b.label, 'area', b.area,
            'status', CASE WHEN EXISTS (SELECT 1 FROM encounter e WHERE e.bed_id = b.id
                               AND e.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error')) THEN 'occupied'
                           WHEN b.cleaning_since IS NOT NULL THEN 'cleaning' ELSE 'free' END,
            'cleaning_since', utc_text(b.cleaning_since))
        FROM bed b WHERE b.id = p_bed_id
    );
END
$$;

-- The department's thresholds; the defaults while the charge nurse has set none.
CREATE OR REPLACE FUNCTION alert_thresholds_json(p_department_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT jsonb_build_object('department_id', d.id,
            'waiting_longest_min', coalesce(t.waiting_longest_min, 60),
            'boarder_min', coalesce(t.boarder_min, 240),
            'esi12_unassigned', coalesce(t.esi12_unassigned, true),
            'updated_at', utc_text(t.updated_at), 'updated_by', account_name(t.updated_by))
        FROM department d LEFT JOIN department_alert_threshold t ON t.department_id = d.id
        WHERE d.id = p_department_id
    );
END
$$;

-- Patients of the department who left without being seen this local day (the board's
-- lwbs_today; also carried by an encounter.reopened event, whose count it may lower).
CREATE OR REPLACE FUNCTION lwbs_today(p_department_id bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT count(*) FROM encounter e JOIN department d ON d.id = e.department_id
        WHERE d.id = p_department_id AND e.status = 'left_without_being_seen'
          AND e.departed_at >= (date_trunc('day', now() AT TIME ZONE d.timezone) AT TIME ZONE d.timezone)
    );
END
$$;

CREATE OR REPLACE FUNCTION board_json(p_department_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT jsonb_build_object(
            'department', jsonb_build_object('id', d.id, 'code', d.code, 'name', d.name,
                                             'timezone', d.timezone),
            'seq', s.last_seq,
            'beds', (SELECT coalesce(jsonb_agg(bed_json(b.id)
                         ORDER BY area_rank(b.area), b.sort_order, b.label), '[]'::jsonb)
                     FROM bed b WHERE b.department_id = d.id AND b.retired_at IS NULL),
            'staff', (SELECT coalesce(jsonb_agg(staff_json(sd.staff_id) ORDER BY st.role, st.display_name), '[]'::jsonb)
                      FROM staff_department sd JOIN staff st ON st.id = sd.staff_id
                      WHERE sd.department_id = d.id AND st.active),
            'alert_thresholds', alert_thresholds_json(d.id),
            'lwbs_today', lwbs_today(d.id),
            'encounters', (SELECT coalesce(jsonb_agg(encounter_row_json(e.id) ORDER BY e.id), '[]'::jsonb)
                           FROM encounter e WHERE e.department_id = d.id
                           AND e.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error')))
        FROM department d JOIN department_seq s ON s.department_id = d.id
        WHERE d.id = p_department_id
    );
END
$$;

CREATE OR REPLACE FUNCTION chart_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
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
    );
END
$$;
