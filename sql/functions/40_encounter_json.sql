-- 40_encounter_json.sql: one encounter's board row, the shape every board, chart and event
-- payload carries (proto/README.md).
-- Applied by `edlivectl migrate` after the migrations, every time, in file-name order; each
-- statement is idempotent (CREATE OR REPLACE). How to change one: sql/README.md.

-- latest_vitals holds the measurements only: the row's "news2" is the early-warning score the
-- write path stored (encounter.ews, without last_complete), or for an encounter without one the
-- latest set's NEWS2. "monitoring" and "reassess_due_at" follow from it (0007's notes);
-- boarding counts from the first decision to admit (0008).
CREATE OR REPLACE FUNCTION encounter_row_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT jsonb_build_object(
            'encounter_id', e.id, 'version', e.version, 'department_id', e.department_id,
            'patient', patient_json(p),
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
    );
END
$$;
