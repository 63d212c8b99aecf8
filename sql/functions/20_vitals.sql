-- 20_vitals.sql: a vitals set as JSON, and its stored NEWS2 in the board row's shape.
-- Applied by `edlivectl migrate` after the migrations, every time, in file-name order; each
-- statement is idempotent (CREATE OR REPLACE). How to change one: sql/README.md.

CREATE OR REPLACE FUNCTION news2_detail(v vitals) RETURNS jsonb
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
        'cap_refill_s', v.cap_refill_s, 'resp_effort', v.resp_effort,
        'oxygen_l_min', v.oxygen_l_min)
$$;
