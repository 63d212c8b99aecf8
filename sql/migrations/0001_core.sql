-- 0001_core.sql: departments, beds, staff, patients, encounters, vitals, notes and the event log.
-- Forward-only. Applied by `edlivectl migrate` inside one transaction and recorded in
-- schema_migrations.

CREATE TABLE department (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_]{1,16}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per department; the writing transaction takes the next seq from here, so the row
-- lock orders commits: seq N commits before seq N+1 can be taken (gap-free, commit order).
CREATE TABLE department_seq (
    department_id bigint PRIMARY KEY REFERENCES department(id),
    last_seq      bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);

CREATE FUNCTION department_seq_init() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO department_seq (department_id) VALUES (NEW.id);
    RETURN NEW;
END
$$;
CREATE TRIGGER department_seq_init AFTER INSERT ON department
    FOR EACH ROW EXECUTE FUNCTION department_seq_init();

CREATE TABLE bed (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    department_id bigint NOT NULL REFERENCES department(id),
    label         text NOT NULL CHECK (length(label) BETWEEN 1 AND 32),
    area          text NOT NULL CHECK (area IN ('resus', 'acute', 'fast_track', 'hallway', 'waiting_room')),
    sort_order    int NOT NULL DEFAULT 0,
    UNIQUE (department_id, label)
);

CREATE TABLE staff (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    role          text NOT NULL CHECK (role IN ('physician', 'nurse', 'charge_nurse', 'registration')),
    active        boolean NOT NULL DEFAULT true
);

CREATE TABLE staff_department (
    staff_id      bigint NOT NULL REFERENCES staff(id),
    department_id bigint NOT NULL REFERENCES department(id),
    PRIMARY KEY (staff_id, department_id)
);

CREATE TABLE patient (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mrn          text NOT NULL UNIQUE CHECK (mrn ~ '^[A-Za-z0-9-]{1,32}$'),
    family_name  text NOT NULL CHECK (length(family_name) BETWEEN 1 AND 100),
    given_name   text NOT NULL CHECK (length(given_name) BETWEEN 1 AND 100),
    birth_date   date NOT NULL,
    sex          text NOT NULL CHECK (sex IN ('female', 'male', 'other', 'unknown')),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE encounter (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    department_id   bigint NOT NULL REFERENCES department(id),
    patient_id      bigint NOT NULL REFERENCES patient(id),
    version         bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    arrived_at      timestamptz NOT NULL,
    arrival_mode    text NOT NULL CHECK (arrival_mode IN ('walk_in', 'ambulance', 'helicopter', 'police', 'transfer', 'other')),
    chief_complaint text NOT NULL CHECK (length(chief_complaint) BETWEEN 1 AND 200),
    esi             smallint CHECK (esi BETWEEN 1 AND 5),
    triaged_at      timestamptz,
    status          text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'in_room', 'seen_by_provider',
                        'disposition_decided', 'departed', 'left_without_being_seen')),
    status_at       timestamptz NOT NULL DEFAULT now(),
    bed_id          bigint REFERENCES bed(id),
    attending_id    bigint REFERENCES staff(id),
    nurse_id        bigint REFERENCES staff(id),
    departed_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX encounter_active_idx ON encounter (department_id)
    WHERE status NOT IN ('departed', 'left_without_being_seen');
-- A bed holds at most one active encounter (hallway and waiting-room spaces are beds too).
CREATE UNIQUE INDEX encounter_bed_occupied_idx ON encounter (bed_id)
    WHERE bed_id IS NOT NULL AND status NOT IN ('departed', 'left_without_being_seen');

CREATE TABLE vitals (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    encounter_id   bigint NOT NULL REFERENCES encounter(id),
    taken_at       timestamptz NOT NULL,
    taken_by       bigint NOT NULL REFERENCES staff(id),
    heart_rate     smallint CHECK (heart_rate BETWEEN 0 AND 300),
    resp_rate      smallint CHECK (resp_rate BETWEEN 0 AND 80),
    systolic_bp    smallint CHECK (systolic_bp BETWEEN 0 AND 300),
    diastolic_bp   smallint CHECK (diastolic_bp BETWEEN 0 AND 250),
    spo2           smallint CHECK (spo2 BETWEEN 0 AND 100),
    temperature_c  numeric(3,1) CHECK (temperature_c BETWEEN 25.0 AND 45.0),
    on_oxygen      boolean,
    consciousness  char(1) CHECK (consciousness IN ('A', 'C', 'V', 'P', 'U')),
    pain           smallint CHECK (pain BETWEEN 0 AND 10),
    news2          jsonb NOT NULL,          -- computed by the service (services/common/news2.c)
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vitals_encounter_idx ON vitals (encounter_id, taken_at DESC, id DESC);

CREATE TABLE note (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    encounter_id  bigint NOT NULL REFERENCES encounter(id),
    author_id     bigint NOT NULL REFERENCES staff(id),
    body          text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    written_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX note_encounter_idx ON note (encounter_id, written_at DESC, id DESC);

-- The event log: one row per committed change, the outbox that Redis and the hubs cache.
CREATE TABLE event (
    department_id     bigint NOT NULL REFERENCES department(id),
    seq               bigint NOT NULL CHECK (seq >= 1),
    encounter_id      bigint NOT NULL REFERENCES encounter(id),
    encounter_version bigint NOT NULL,
    type              text NOT NULL,
    payload           jsonb NOT NULL,
    at                timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (department_id, seq)
);
CREATE INDEX event_encounter_idx ON event (encounter_id, seq);

-- JSON shapes shared by the board, the chart and every event payload (proto/README.md).
CREATE FUNCTION staff_json(p_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', s.id, 'name', s.display_name, 'role', s.role)
    FROM staff s WHERE s.id = p_id
$$;

CREATE FUNCTION utc_text(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE FUNCTION vitals_json(v vitals) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', v.id, 'encounter_id', v.encounter_id, 'taken_at', utc_text(v.taken_at),
        'taken_by', staff_json(v.taken_by),
        'heart_rate', v.heart_rate, 'resp_rate', v.resp_rate,
        'systolic_bp', v.systolic_bp, 'diastolic_bp', v.diastolic_bp, 'spo2', v.spo2,
        'temperature_c', v.temperature_c, 'on_oxygen', v.on_oxygen,
        'consciousness', v.consciousness, 'pain', v.pain, 'news2', v.news2)
$$;

CREATE FUNCTION note_json(n note) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('id', n.id, 'encounter_id', n.encounter_id,
        'author', staff_json(n.author_id), 'text', n.body, 'written_at', utc_text(n.written_at))
$$;

CREATE FUNCTION encounter_row_json(p_encounter_id bigint) RETURNS jsonb
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
        'latest_vitals', (SELECT vitals_json(v) FROM vitals v WHERE v.encounter_id = e.id
                          ORDER BY v.taken_at DESC, v.id DESC LIMIT 1))
    FROM encounter e JOIN patient p ON p.id = e.patient_id
    WHERE e.id = p_encounter_id
$$;

-- Appends the event for a change already made in this transaction: bumps the encounter's
-- version (unless this is its arrival), takes the department's next seq and stores the
-- payload with the encounter's row as it is now. Returns the seq.
CREATE FUNCTION append_event(p_encounter_id bigint, p_type text, p_extra jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_department bigint;
    v_version    bigint;
    v_seq        bigint;
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
    INSERT INTO event (department_id, seq, encounter_id, encounter_version, type, payload)
    VALUES (v_department, v_seq, p_encounter_id, v_version, p_type,
            jsonb_build_object('encounter', encounter_row_json(p_encounter_id)) || coalesce(p_extra, '{}'::jsonb));
    RETURN v_seq;
END
$$;

-- The WebSocket frame of one event, encoded once here and forwarded byte for byte by the hubs.
CREATE FUNCTION event_frame(p_department_id bigint, p_seq bigint) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('type', 'event', 'department_id', ev.department_id, 'seq', ev.seq,
        'encounter_id', ev.encounter_id, 'version', ev.encounter_version, 'event', ev.type,
        'at', utc_text(ev.at), 'payload', ev.payload)::text
    FROM event ev WHERE ev.department_id = p_department_id AND ev.seq = p_seq
$$;

CREATE FUNCTION area_rank(area text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT array_position(ARRAY['resus', 'acute', 'fast_track', 'hallway', 'waiting_room'], area)
$$;

-- A department's whole board at one seq. One statement reads one snapshot, so the rows and
-- the seq always agree.
CREATE FUNCTION board_json(p_department_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'department', jsonb_build_object('id', d.id, 'code', d.code, 'name', d.name),
        'seq', s.last_seq,
        'beds', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', b.id, 'label', b.label, 'area', b.area)
                     ORDER BY area_rank(b.area), b.sort_order, b.label), '[]'::jsonb)
                 FROM bed b WHERE b.department_id = d.id),
        'staff', (SELECT coalesce(jsonb_agg(staff_json(sd.staff_id) ORDER BY st.role, st.display_name), '[]'::jsonb)
                  FROM staff_department sd JOIN staff st ON st.id = sd.staff_id
                  WHERE sd.department_id = d.id AND st.active),
        'encounters', (SELECT coalesce(jsonb_agg(encounter_row_json(e.id) ORDER BY e.id), '[]'::jsonb)
                       FROM encounter e WHERE e.department_id = d.id
                       AND e.status NOT IN ('departed', 'left_without_being_seen')))
    FROM department d JOIN department_seq s ON s.department_id = d.id
    WHERE d.id = p_department_id
$$;

-- One encounter's chart, with the department seq it is current at.
CREATE FUNCTION chart_json(p_encounter_id bigint) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'seq', s.last_seq,
        'encounter', encounter_row_json(e.id),
        'vitals', (SELECT coalesce(jsonb_agg(vitals_json(v) ORDER BY v.taken_at DESC, v.id DESC), '[]'::jsonb)
                   FROM vitals v WHERE v.encounter_id = e.id),
        'notes', (SELECT coalesce(jsonb_agg(note_json(n) ORDER BY n.written_at DESC, n.id DESC), '[]'::jsonb)
                  FROM note n WHERE n.encounter_id = e.id))
    FROM encounter e JOIN department_seq s ON s.department_id = e.department_id
    WHERE e.id = p_encounter_id
$$;
