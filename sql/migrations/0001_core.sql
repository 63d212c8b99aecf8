-- 0001_core.sql: departments, beds, staff, patients, encounters, vitals, notes and the event log.
-- Forward-only. Applied by `edlivectl migrate` inside one transaction and recorded in
-- schema_migrations.
-- Its functions, views and triggers are in sql/functions/ (sql/README.md).

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
