-- 10_format.sql: small shared formatters (times as UTC text, a staff member, an account's
-- name, bed-area order, a result's flag) used by the JSON shapes below.
-- Applied by `edlivectl migrate` after the migrations, every time, in file-name order; each
-- statement is idempotent (CREATE OR REPLACE). How to change one: sql/README.md.

CREATE OR REPLACE FUNCTION utc_text(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

-- The same with milliseconds (truncated), for an event's commit time ("at" of its frame).
CREATE OR REPLACE FUNCTION utc_ms_text(t timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

CREATE OR REPLACE FUNCTION staff_json(p_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT jsonb_build_object('id', s.id, 'name', s.display_name, 'role', s.role)
        FROM staff s WHERE s.id = p_id
    );
END
$$;

-- The account's staff name, else its username.
CREATE OR REPLACE FUNCTION account_name(p_account_id bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT coalesce(s.display_name, a.username) FROM account a LEFT JOIN staff s ON s.id = a.staff_id
        WHERE a.id = p_account_id
    );
END
$$;

CREATE OR REPLACE FUNCTION area_rank(area text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_position(ARRAY['resus', 'acute', 'fast_track', 'hallway', 'waiting_room'], area)
$$;

-- Where a numeric value lies against its reference range: 'low', 'high' or 'normal'; NULL
-- when no bound is known (the result then states no flag).
CREATE OR REPLACE FUNCTION result_flag(p_value numeric, p_low numeric, p_high numeric) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_value IS NULL OR (p_low IS NULL AND p_high IS NULL) THEN NULL
                WHEN p_value < p_low THEN 'low'
                WHEN p_value > p_high THEN 'high'
                ELSE 'normal' END
$$;
