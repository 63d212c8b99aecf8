-- 30_record.sql: the patient and the clinical record as JSON: identity, allergies, diagnoses,
-- home medications and problems, orders and results, notes, similar names, location history.
-- Applied by `edlivectl migrate` after the migrations, every time, in file-name order; each
-- statement is idempotent (CREATE OR REPLACE). How to change one: sql/README.md.

-- The patient as every row and event shows it. An unidentified one: "unidentified": true,
-- its temp_id and alias, and null MRN, names and birth date.
CREATE OR REPLACE FUNCTION patient_json(p patient) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', p.id, 'mrn', p.mrn, 'family_name', p.family_name,
        'given_name', p.given_name, 'birth_date', to_char(p.birth_date, 'YYYY-MM-DD'),
        'age_years', date_part('year', age(current_date, p.birth_date))::int, 'sex', p.sex,
        'unidentified', p.temp_id IS NOT NULL, 'temp_id', p.temp_id, 'alias', p.alias)
$$;

CREATE OR REPLACE FUNCTION allergies_json(p_patient_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT CASE WHEN p.allergies_recorded_at IS NULL THEN NULL ELSE
            (SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'substance', a.substance,
                     'reaction', a.reaction, 'severity', a.severity,
                     'recorded_at', utc_text(a.recorded_at)) ORDER BY a.id), '[]'::jsonb)
             FROM patient_allergy a WHERE a.patient_id = p.id) END
        FROM patient p WHERE p.id = p_patient_id
    );
END
$$;

CREATE OR REPLACE FUNCTION diagnoses_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object('id', d.id, 'system', d.system, 'code', d.code,
                   'display', d.display, 'recorded_at', utc_text(d.recorded_at)) ORDER BY d.id), '[]'::jsonb)
        FROM encounter_diagnosis d WHERE d.encounter_id = p_encounter_id
    );
END
$$;

CREATE OR REPLACE FUNCTION patient_record_json(p_patient_id bigint, p_encounter_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
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
                             AND o.departed_at IS NOT NULL AND o.status <> 'entered_in_error'))
    );
END
$$;

-- An order, with its result when there is one: a value (unit, reference range, and the flag
-- result_flag derives) or a text; without a value the flag follows the abnormal mark.
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

CREATE OR REPLACE FUNCTION note_json(n note) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', n.id, 'encounter_id', n.encounter_id,
        'author', staff_json(n.author_id), 'entered_by', account_name(n.entered_by),
        'text', n.body, 'written_at', utc_text(n.written_at))
$$;

-- Other active encounters of the department whose patient's name is alike: the same
-- family-name key and the same first letter of the given name.
CREATE OR REPLACE FUNCTION similar_name_ids(p_encounter_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(o.id ORDER BY o.id), '[]'::jsonb)
        FROM encounter e JOIN patient p ON p.id = e.patient_id
        JOIN patient q ON q.similar_key = p.similar_key AND q.id <> p.id
        JOIN encounter o ON o.patient_id = q.id AND o.department_id = e.department_id
            AND o.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error')
        WHERE e.id = p_encounter_id
    );
END
$$;

-- Periods of the history: [started_at, ended_at), ended_at NULL while current.
CREATE OR REPLACE FUNCTION encounter_locations_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'bed', (SELECT jsonb_build_object('id', b.id, 'label', b.label, 'area', b.area)
                           FROM bed b WHERE b.id = l.bed_id),
                   'area', l.area, 'started_at', utc_text(l.started_at), 'ended_at', utc_text(l.ended_at))
                   ORDER BY l.started_at, l.id), '[]'::jsonb)
        FROM (SELECT el.*, lead(el.started_at) OVER (ORDER BY el.started_at, el.id) AS ended_at
              FROM encounter_location el WHERE el.encounter_id = p_encounter_id) l
        WHERE l.area <> 'departed'
    );
END
$$;
