-- 60_events.sql: the event log's write side (append_event, append_department_event), the
-- WebSocket frame of an event, and each event's timeline line.
-- Applied by `edlivectl migrate` after the migrations, every time, in file-name order; each
-- statement is idempotent (CREATE OR REPLACE). How to change one: sql/README.md.

-- The rows a screen holds are ended by these statuses (off the board; board_model.js isEnded).
CREATE OR REPLACE FUNCTION is_ended_status(p_status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_status IN ('departed', 'left_without_being_seen', 'entered_in_error')
$$;

-- The encounter's row as its latest event sent it (NULL before its first event).
CREATE OR REPLACE FUNCTION last_sent_row(p_encounter_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT ev.payload->'encounter' FROM event ev
        WHERE ev.encounter_id = p_encounter_id ORDER BY ev.seq DESC LIMIT 1
    );
END
$$;

-- Appends the event for a change already made in this transaction: bumps the encounter's
-- version (unless this is its arrival), takes the department's next seq and stores the
-- payload with the encounter's row as it is now; written_at is the database clock's time (the
-- event's commit time as far as the writer can take it: append_event is a write's last change),
-- "at" the transaction's (0018).
-- Returns the seq.
--
-- Cross-row effects are events too: similar_name (a safety flag) lists the other active rows
-- of the department whose patient's name is alike, so an encounter coming on or off the board,
-- or changing patient (identification) or name, changes other rows' lists. When this row's
-- list or its being on the board differs from what its previous event sent, every other
-- active row it listed before or lists now whose list differs from the one its own latest
-- event sent gets an 'encounter.similar_name' event (its row, version bumped; in its own
-- department), after this one, in id order. Comparing with what was sent (not with a guess
-- of what changed) keeps clients that only apply events exact, whatever path made the change.
-- The department_seq row lock taken below orders this against concurrent writes of the
-- department: each statement after it reads what they committed.
CREATE OR REPLACE FUNCTION append_event(p_encounter_id bigint, p_type text, p_extra jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_department bigint;
    v_version    bigint;
    v_seq        bigint;
    v_before     jsonb;
    v_row        jsonb;
    v_others     bigint[];
    v_other      bigint;
BEGIN
    IF p_type = 'encounter.arrived' THEN
        SELECT department_id, version INTO v_department, v_version
        FROM encounter WHERE id = p_encounter_id;
    ELSE
        UPDATE encounter SET version = version + 1 WHERE id = p_encounter_id
        RETURNING department_id, version INTO v_department, v_version;
    END IF;
    IF v_department IS NULL THEN
        RAISE EXCEPTION 'append_event: encounter % not found', p_encounter_id;
    END IF;
    UPDATE department_seq SET last_seq = last_seq + 1 WHERE department_id = v_department
    RETURNING last_seq INTO v_seq;
    -- An arrival that raced `edlivectl department retire` (which takes this row lock first, 0019):
    -- read after the lock, the retirement is seen and the arrival refused.
    IF p_type = 'encounter.arrived'
       AND EXISTS (SELECT 1 FROM department WHERE id = v_department AND retired_at IS NOT NULL) THEN
        RAISE EXCEPTION 'department % is retired', v_department USING ERRCODE = 'check_violation';
    END IF;
    v_before := last_sent_row(p_encounter_id);
    v_row := encounter_row_json(p_encounter_id);
    INSERT INTO event (department_id, seq, encounter_id, encounter_version, type, payload, written_at)
    VALUES (v_department, v_seq, p_encounter_id, v_version, p_type,
            jsonb_build_object('encounter', v_row) || coalesce(p_extra, '{}'::jsonb), clock_timestamp());
    -- A similar_name event changes that row's list only: nothing further follows from it.
    IF p_type <> 'encounter.similar_name'
       AND ((v_before->'similar_name') IS DISTINCT FROM (v_row->'similar_name')
            OR coalesce(NOT is_ended_status(v_before->>'status'), false)
               <> NOT is_ended_status(v_row->>'status')) THEN
        SELECT array_agg(o.id ORDER BY o.id) INTO v_others
        FROM encounter o
        WHERE o.id IN (SELECT jsonb_array_elements_text(x)::bigint
                       FROM unnest(ARRAY[v_before->'similar_name', v_row->'similar_name']) x
                       WHERE jsonb_typeof(x) = 'array')
          AND o.id <> p_encounter_id
          AND NOT is_ended_status(o.status)
          AND similar_name_ids(o.id) IS DISTINCT FROM (last_sent_row(o.id)->'similar_name');
        FOREACH v_other IN ARRAY coalesce(v_others, '{}') LOOP
            PERFORM append_event(v_other, 'encounter.similar_name', NULL);
        END LOOP;
    END IF;
    RETURN v_seq;
END
$$;

-- Like append_event, for a change of the department itself (same gap-free seq under the
-- department_seq row lock); wakes listeners on channel edlive_events with the department id.
CREATE OR REPLACE FUNCTION append_department_event(p_department_id bigint, p_type text, p_extra jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_seq bigint;
BEGIN
    UPDATE department_seq SET last_seq = last_seq + 1 WHERE department_id = p_department_id
    RETURNING last_seq INTO v_seq;
    IF v_seq IS NULL THEN
        RAISE EXCEPTION 'append_department_event: department % not found', p_department_id;
    END IF;
    INSERT INTO event (department_id, seq, encounter_id, encounter_version, type, payload, written_at)
    VALUES (p_department_id, v_seq, NULL, NULL, p_type, coalesce(p_extra, '{}'::jsonb), clock_timestamp());
    PERFORM pg_notify('edlive_events', p_department_id::text);
    RETURN v_seq;
END
$$;

-- The WebSocket frame of one event, encoded once here and forwarded byte for byte by the hubs.
-- Text, not jsonb (which orders keys by length): the envelope comes first, in this order, so a
-- reader can route a frame from its first bytes, and "topic":"board" stays at a fixed offset
-- (ed-hub writes it as "chart" to chart subscribers: hub_client_queue.c). "at" is the event's
-- written_at in milliseconds (append_event; older events: the transaction's time).
CREATE OR REPLACE FUNCTION event_frame(p_department_id bigint, p_seq bigint) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
        SELECT '{"type":"event","topic":"board","department_id":' || ev.department_id
            || ',"seq":' || ev.seq
            || ',"encounter_id":' || coalesce(ev.encounter_id::text, 'null')
            || ',"version":' || coalesce(ev.encounter_version::text, 'null')
            || ',"event":' || to_json(ev.type)::text
            || ',"at":"' || utc_ms_text(coalesce(ev.written_at, ev.at)) || '"'
            || ',"payload":' || ev.payload::text || '}'
        FROM event ev WHERE ev.department_id = p_department_id AND ev.seq = p_seq
    );
END
$$;

-- One human-readable line per event (the chart's timeline), with the time the change
-- happened (a move's, a vitals set's, a decision's real time when the writer gave one) and
-- who made it (the acting staff member, set by the service as edlive.staff_id for the
-- transaction). Never names the patient.
CREATE OR REPLACE FUNCTION event_timeline(p_type text, p_payload jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r       jsonb := p_payload->'encounter';
    v       jsonb := p_payload->'vitals';
    o       jsonb := p_payload->'order';
    at      text;
    summary text;
    actor   bigint := nullif(current_setting('edlive.staff_id', true), '')::bigint;
BEGIN
    CASE p_type
    WHEN 'encounter.arrived' THEN
        at := r->>'arrived_at';
        summary := 'Arrived (' || replace(r->>'arrival_mode', '_', ' ') || '): ' || (r->>'chief_complaint');
    WHEN 'encounter.triaged' THEN
        summary := 'Triaged ESI ' || (r->>'esi');
    WHEN 'encounter.bed_assigned' THEN
        at := r->>'location_since';
        summary := CASE WHEN r->'bed' = 'null'::jsonb THEN 'Moved to the waiting room'
                        ELSE 'Moved to ' || (r->'bed'->>'label') || ' (' || replace(r->'bed'->>'area', '_', ' ') || ')' END;
    WHEN 'encounter.staff_assigned' THEN
        summary := 'Assigned: attending ' || coalesce(r->'attending'->>'name', 'none')
                   || ', nurse ' || coalesce(r->'nurse'->>'name', 'none');
    WHEN 'encounter.status_changed' THEN
        summary := 'Status: ' || replace(r->>'status', '_', ' ');
        IF r->>'status' IN ('departed', 'left_without_being_seen') THEN at := r->>'departed_at'; END IF;
    WHEN 'vitals.recorded' THEN
        at := v->>'taken_at';
        summary := 'Vitals' || coalesce(' HR ' || (v->>'heart_rate'), '') || coalesce(' RR ' || (v->>'resp_rate'), '')
                   || coalesce(' BP ' || (v->>'systolic_bp') || '/' || (v->>'diastolic_bp'), '')
                   || coalesce(' SpO2 ' || (v->>'spo2') || '%', '') || coalesce(' T ' || (v->>'temperature_c'), '')
                   || coalesce(' ' || (v->>'consciousness'), '')
                   || ' - NEWS2 ' || (v->'news2'->>'total');
    WHEN 'note.added' THEN
        summary := 'Note by ' || coalesce(p_payload->'note'->'author'->>'name', 'unknown');
    WHEN 'order.placed' THEN
        at := o->>'ordered_at';
        summary := initcap(o->>'kind') || ' ordered: ' || (o->>'name');
    WHEN 'order.status_changed' THEN
        at := coalesce(o->>'resulted_at', o->>'collected_at');
        summary := initcap(o->>'kind') || ' ' || (o->>'status') || ': ' || (o->>'name')
                   || CASE WHEN (o->>'abnormal')::boolean THEN ' (abnormal)' ELSE '' END;
    WHEN 'order.result_seen' THEN
        summary := 'Result seen: ' || (o->>'name');
    WHEN 'encounter.disposition' THEN
        at := r->'disposition'->>'decided_at';
        summary := 'Disposition: ' || (r->'disposition'->>'kind')
                   || coalesce(' to ' || (r->'disposition'->>'destination'), '');
    WHEN 'encounter.departed' THEN
        at := r->>'departed_at';
        summary := CASE WHEN r->>'status' = 'left_without_being_seen' THEN 'Left without being seen'
                        ELSE 'Departed the ED' END;
    WHEN 'encounter.disposition_cancelled' THEN
        at := p_payload->'withdrawn'->>'at';
        summary := 'Disposition withdrawn: ' || coalesce(p_payload->'withdrawn'->>'kind', 'admit')
                   || coalesce(' to ' || (p_payload->'withdrawn'->>'destination'), '');
    WHEN 'encounter.entered_in_error' THEN
        at := r->>'departed_at';
        summary := 'Registration entered in error: the visit is withdrawn';
    WHEN 'encounter.reopened' THEN
        at := r->>'location_since';
        summary := 'Departure withdrawn: reopened, '
                   || CASE WHEN r->'bed' = 'null'::jsonb OR r->'bed'->>'area' = 'waiting_room'
                           THEN 'in the waiting room'
                           ELSE 'back in ' || (r->'bed'->>'label') END;
    WHEN 'encounter.similar_name' THEN
        summary := CASE WHEN jsonb_array_length(r->'similar_name') = 0
                        THEN 'No other patient with a similar name on the board'
                        ELSE 'Similar name on the board: ' || jsonb_array_length(r->'similar_name')
                             || CASE WHEN jsonb_array_length(r->'similar_name') = 1
                                     THEN ' other patient' ELSE ' other patients' END END;
    WHEN 'encounter.comment' THEN
        summary := coalesce('Board comment: ' || (r->>'comment'), 'Board comment cleared');
    WHEN 'encounter.isolation' THEN
        summary := coalesce('Isolation: ' || replace(r->>'isolation', '_', ' + '), 'Isolation ended');
    WHEN 'encounter.news2_scale' THEN
        summary := 'NEWS2 SpO2 scale ' || (r->>'spo2_scale');
    WHEN 'encounter.reassessment' THEN
        summary := coalesce('Reassess every ' || (r->>'reassess_interval_min') || ' min',
                            'Reassessment interval from NEWS2');
    WHEN 'record.allergy' THEN
        summary := coalesce('Allergy: ' || (p_payload->'allergy'->>'substance')
                            || coalesce(' (' || (p_payload->'allergy'->>'severity') || ')', ''),
                            'No known allergies');
    WHEN 'record.medication' THEN
        summary := 'Home medication: ' || (p_payload->'medication'->>'name');
    WHEN 'record.problem' THEN
        summary := 'Problem: ' || (p_payload->'problem'->>'display');
    WHEN 'record.diagnosis' THEN
        summary := 'Diagnosis ' || upper(p_payload->'diagnosis'->>'system') || ' '
                   || (p_payload->'diagnosis'->>'code') || ' ' || (p_payload->'diagnosis'->>'display');
    WHEN 'bed.status' THEN
        summary := 'Bed ' || (p_payload->'beds'->0->>'label') || ': ' || (p_payload->'beds'->0->>'status');
    WHEN 'department.alert_thresholds' THEN
        summary := 'Alert thresholds changed';
    WHEN 'department.layout' THEN
        summary := coalesce(p_payload->'layout'->>'summary', 'Beds or department changed');
    WHEN 'access.break_glass' THEN
        summary := 'Emergency access to the chart';
    ELSE
        summary := replace(p_type, '_', ' ');
    END CASE;
    RETURN jsonb_build_object('at', coalesce(at, utc_text(now())), 'type', p_type,
                              'summary', coalesce(summary, p_type), 'by', staff_json(actor));
END
$$;
