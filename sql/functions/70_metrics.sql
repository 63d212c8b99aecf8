-- 70_metrics.sql: the metrics of ed-domain.md 3.3 (definitions in proto/README.md "Metrics"),
-- over a local day or any period. A visit entered in error (0013) counts in none of them.
-- Applied by `edlivectl migrate` after the migrations, every time, in file-name order; each
-- statement is idempotent (CREATE OR REPLACE). How to change one: sql/README.md.

-- Median of minutes, one decimal; NULL when there is no case.
CREATE OR REPLACE FUNCTION median_minutes(p_minutes double precision[]) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
    SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY m))::numeric, 1)
    FROM unnest(p_minutes) m
$$;

CREATE OR REPLACE FUNCTION department_metrics_range_json(p_department_id bigint, p_start timestamptz,
                                              p_end timestamptz, p_date date) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    WITH d AS (
        SELECT dep.id, dep.timezone,
               p_start AS day_start, p_end AS day_end
        FROM department dep WHERE dep.id = p_department_id
    ), arrived AS (
        SELECT e.* FROM encounter e, d WHERE e.department_id = d.id
            AND e.arrived_at >= d.day_start AND e.arrived_at < d.day_end
            AND e.status <> 'entered_in_error'
    ), departed AS (
        SELECT e.* FROM encounter e, d WHERE e.department_id = d.id
            AND e.departed_at >= d.day_start AND e.departed_at < d.day_end
            AND e.status <> 'entered_in_error'
    ), first_room AS (
        SELECT a.id, a.arrived_at, min(l.started_at) AS room_at
        FROM arrived a JOIN encounter_location l ON l.encounter_id = a.id
        WHERE l.area IN ('resus', 'acute', 'fast_track', 'hallway')
        GROUP BY a.id, a.arrived_at
    ), prior AS (
        -- The same weekday in each of the four weeks before.
        SELECT e.arrived_at FROM encounter e, d, generate_series(1, 4) w
        WHERE e.department_id = d.id AND e.status <> 'entered_in_error'
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
