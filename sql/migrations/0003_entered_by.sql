-- 0003_entered_by.sql: who entered a vitals set or a note, from the session, beside who took
-- or wrote it (a scribe may enter for a colleague). Shown on the chart when they differ.

ALTER TABLE vitals ADD COLUMN entered_by bigint REFERENCES account(id);
ALTER TABLE note ADD COLUMN entered_by bigint REFERENCES account(id);

-- The account's staff name, else its username.
CREATE FUNCTION account_name(p_account_id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(s.display_name, a.username) FROM account a LEFT JOIN staff s ON s.id = a.staff_id
    WHERE a.id = p_account_id
$$;
GRANT EXECUTE ON FUNCTION account_name(bigint) TO edlive_app;

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

CREATE OR REPLACE FUNCTION note_json(n note) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', n.id, 'encounter_id', n.encounter_id,
        'author', staff_json(n.author_id), 'entered_by', account_name(n.entered_by),
        'text', n.body, 'written_at', utc_text(n.written_at))
$$;
