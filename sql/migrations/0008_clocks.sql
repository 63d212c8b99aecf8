-- 0008_clocks.sql: clocks and metrics every visit counts in (issue 9, items 7-9, and the times
-- of triage and assignment).
-- * Boarding starts at the FIRST decision to admit: encounter.admit_decided_at is set by the
--   first admit disposition and kept while the decision stays admit (a revised ward keeps the
--   clock); a decision that is no longer admit clears it.
-- * Disposition kinds eloped and other, and left_without_disposition, which the server records
--   itself when a visit is ended with the status "departed" and no disposition, so every visit
--   counts in length of stay.
-- * Triage and assignment times (triaged_at given with "at"; attending_since, nurse_since).
-- * Metrics over any period: department_metrics_range_json(department, from, to, day); the day
--   (local, in department.timezone) and "last 24 h" both use it.

ALTER TABLE encounter DROP CONSTRAINT encounter_disposition_check;
ALTER TABLE encounter ADD CONSTRAINT encounter_disposition_check
    CHECK (disposition IN ('discharge', 'admit', 'transfer', 'lwbs', 'ama', 'deceased', 'eloped',
                           'other', 'left_without_disposition'));
ALTER TABLE encounter ADD COLUMN admit_decided_at timestamptz;
ALTER TABLE encounter ADD COLUMN attending_since timestamptz;
ALTER TABLE encounter ADD COLUMN nurse_since timestamptz;
UPDATE encounter SET admit_decided_at = disposition_at WHERE disposition = 'admit';

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

CREATE FUNCTION department_metrics_range_json(p_department_id bigint, p_start timestamptz,
                                              p_end timestamptz, p_date date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH d AS (
        SELECT dep.id, dep.timezone,
               p_start AS day_start, p_end AS day_end
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
            AND e.arrived_at >= d.day_start - make_interval(days => 7 * w)
            AND e.arrived_at < d.day_end - make_interval(days => 7 * w)
    )
    SELECT jsonb_build_object(
        'department_id', d.id, 'date', to_char(p_date, 'YYYY-MM-DD'), 'timezone', d.timezone,
        'period', CASE WHEN p_date IS NULL THEN 'last24h' ELSE 'day' END,
        'from', utc_text(p_start), 'to', utc_text(p_end),
        'los_median_min', (SELECT median_minutes(array_agg(
                extract(epoch FROM x.departed_at - x.arrived_at) / 60)) FROM departed x),
        'los_count', (SELECT count(*) FROM departed x),
        'door_to_provider_median_min', (SELECT median_minutes(array_agg(
                extract(epoch FROM a.provider_seen_at - a.arrived_at) / 60))
            FROM arrived a WHERE a.provider_seen_at IS NOT NULL),
        'door_to_provider_count', (SELECT count(*) FROM arrived a WHERE a.provider_seen_at IS NOT NULL),
        'los_discharged_median_min', (SELECT median_minutes(array_agg(
                extract(epoch FROM x.departed_at - x.arrived_at) / 60))
            FROM departed x WHERE x.disposition = 'discharge'),
        'los_discharged_count', (SELECT count(*) FROM departed x WHERE x.disposition = 'discharge'),
        'boarding_median_min', (SELECT median_minutes(array_agg(
                extract(epoch FROM x.departed_at - coalesce(x.admit_decided_at, x.disposition_at)) / 60))
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
            'boarding_median_min', 'Median minutes from the first decision to admit (a revised ward keeps the clock) to ED departure for admitted patients who left this day (CMS ED-2 boarding time).',
            'los_median_min', 'Median minutes from arrival to ED departure for every patient who left this day, whatever the disposition (a departure without one is recorded as left_without_disposition).',
            'arrival_to_room_median_min', 'Median minutes from arrival to the first treatment space (resus, acute, fast track or hallway bed), from the location history, for patients who arrived this day (ECAT treatment-room interval).',
            'lwbs', 'Patients who left without being seen by a provider and departed this day (OP-22 numerator).',
            'arrivals', 'Patients who arrived this day (local day of the department).',
            'arrivals_by_hour', 'Arrivals this day in each local hour 0-23.',
            'weekday_average_by_hour', 'Average arrivals in each local hour on the same weekday over the four weeks before (sum of the four days divided by 4).',
            'period', '"day": the department''s local day (its time zone); "last24h": the 24 hours before now, where "this day" above reads "in the last 24 hours".'),
        'weekday_average_by_hour', (SELECT jsonb_agg(round((SELECT count(*) FROM prior x
                                 WHERE extract(hour FROM x.arrived_at AT TIME ZONE d.timezone) = h) / 4.0, 2) ORDER BY h)
                             FROM generate_series(0, 23) h))
    FROM d
$$;

CREATE OR REPLACE FUNCTION department_metrics_json(p_department_id bigint, p_date date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT department_metrics_range_json(dep.id, p_date::timestamp AT TIME ZONE dep.timezone,
                                         (p_date + 1)::timestamp AT TIME ZONE dep.timezone, p_date)
    FROM department dep WHERE dep.id = p_department_id
$$;

GRANT EXECUTE ON FUNCTION department_metrics_range_json(bigint, timestamptz, timestamptz, date)
    TO edlive_app;
