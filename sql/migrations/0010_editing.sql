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
