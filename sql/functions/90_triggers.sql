-- 90_triggers.sql: the triggers that keep the record consistent whatever path writes it:
-- department seq rows, event NOTIFY and decoration, the append-only location history, the
-- encounter's location and provider times, and bed turnover.
-- Applied by `edlivectl migrate` after the migrations, every time, in file-name order; each
-- statement is idempotent (CREATE OR REPLACE). How to change one: sql/README.md.

CREATE OR REPLACE FUNCTION department_seq_init() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO department_seq (department_id) VALUES (NEW.id);
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER department_seq_init AFTER INSERT ON department
    FOR EACH ROW EXECUTE FUNCTION department_seq_init();

CREATE OR REPLACE FUNCTION event_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Delivered at commit, and only then; several events of one transaction make one notice.
    PERFORM pg_notify('edlive_events', NEW.department_id::text);
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER event_notify AFTER INSERT ON event FOR EACH ROW EXECUTE FUNCTION event_notify();

-- The location history is append-only (refuse_change, 80_audit.sql).
CREATE OR REPLACE TRIGGER location_no_update BEFORE UPDATE OR DELETE ON encounter_location
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE OR REPLACE TRIGGER location_no_truncate BEFORE TRUNCATE ON encounter_location
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change();

-- Whatever path changes an encounter's place (arrival, bed route, status route, departure),
-- the history follows. A writer that knows the real time of a move sets location_since with
-- the bed; otherwise the move is now. The first "seen by provider" is the provider contact.
CREATE OR REPLACE FUNCTION encounter_before_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.location_since := coalesce(NEW.location_since, NEW.arrived_at);
        RETURN NEW;
    END IF;
    IF NEW.bed_id IS DISTINCT FROM OLD.bed_id
       AND NEW.location_since IS NOT DISTINCT FROM OLD.location_since THEN
        NEW.location_since := now();
    END IF;
    IF NEW.status = 'seen_by_provider' AND OLD.status <> 'seen_by_provider'
       AND NEW.provider_seen_at IS NULL THEN
        NEW.provider_seen_at := NEW.status_at;
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER encounter_before_change BEFORE INSERT OR UPDATE ON encounter
    FOR EACH ROW EXECUTE FUNCTION encounter_before_change();

-- A retired department takes no new encounter and a retired bed no patient (0019). The writes
-- check first and answer clearly (record_arrival, record_bed); this stops every other path
-- (HL7, FHIR, a hand-written statement). Existing encounters keep their place.
CREATE OR REPLACE FUNCTION encounter_refuse_retired() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND EXISTS (SELECT 1 FROM department d
                                     WHERE d.id = NEW.department_id AND d.retired_at IS NOT NULL) THEN
        RAISE EXCEPTION 'department % is retired', NEW.department_id USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.bed_id IS NOT NULL AND (TG_OP = 'INSERT' OR NEW.bed_id IS DISTINCT FROM OLD.bed_id)
       AND EXISTS (SELECT 1 FROM bed b WHERE b.id = NEW.bed_id AND b.retired_at IS NOT NULL) THEN
        RAISE EXCEPTION 'bed % is retired', NEW.bed_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER encounter_refuse_retired BEFORE INSERT OR UPDATE OF bed_id ON encounter
    FOR EACH ROW EXECUTE FUNCTION encounter_refuse_retired();

-- A reopened encounter (a departure withdrawn, 0013: departed_at cleared) appends where it is
-- again, from its location_since: the 'departed' row stays, the history only grows.
CREATE OR REPLACE FUNCTION encounter_track_location() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR (NEW.bed_id IS DISTINCT FROM OLD.bed_id AND NEW.departed_at IS NULL)
       OR (NEW.departed_at IS NULL AND OLD.departed_at IS NOT NULL) THEN
        INSERT INTO encounter_location (encounter_id, bed_id, area, started_at)
        VALUES (NEW.id, NEW.bed_id,
                coalesce((SELECT b.area FROM bed b WHERE b.id = NEW.bed_id), 'waiting_room'),
                NEW.location_since);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.departed_at IS NOT NULL AND OLD.departed_at IS NULL THEN
        INSERT INTO encounter_location (encounter_id, bed_id, area, started_at)
        VALUES (NEW.id, NULL, 'departed', NEW.departed_at);
    END IF;
    RETURN NULL;
END
$$;
CREATE OR REPLACE TRIGGER encounter_track_location AFTER INSERT OR UPDATE ON encounter
    FOR EACH ROW EXECUTE FUNCTION encounter_track_location();

-- BEFORE UPDATE, so the vacated bed is locked before the encounter row changes (the order a
-- move into that bed takes it: store_bed locks the bed, then updates its encounter; this way a
-- move-in and a move-out of the same bed never wait on each other in opposite orders). It runs
-- after encounter_before_change (triggers of one kind fire in name order), which has set
-- NEW.location_since to the move's time. If the encounter's update then fails, the statement
-- fails and the bed change goes with it. A registration entered in error (0013) frees its bed
-- without asking for cleaning: the visit did not happen.
CREATE OR REPLACE FUNCTION encounter_before_vacate() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_departs boolean := NEW.status IN ('departed', 'left_without_being_seen');
BEGIN
    IF OLD.bed_id IS NOT NULL
       AND OLD.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error')
       AND NEW.status <> 'entered_in_error'
       AND (NEW.bed_id IS DISTINCT FROM OLD.bed_id OR v_departs) THEN
        UPDATE bed SET cleaning_since = CASE WHEN v_departs
                                             THEN coalesce(NEW.departed_at, NEW.status_at, now())
                                             ELSE coalesce(NEW.location_since, now()) END
        WHERE id = OLD.bed_id AND area <> 'waiting_room';
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER encounter_before_vacate BEFORE UPDATE ON encounter
    FOR EACH ROW EXECUTE FUNCTION encounter_before_vacate();

-- Every event gets its timeline line; a move or a departure also carries the beds whose
-- state changed (clients replace them by id).
CREATE OR REPLACE FUNCTION event_decorate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT NEW.payload ? 'timeline' THEN
        NEW.payload := NEW.payload || jsonb_build_object('timeline', event_timeline(NEW.type, NEW.payload));
    END IF;
    IF NEW.encounter_id IS NOT NULL AND NOT NEW.payload ? 'beds'
       AND NEW.type IN ('encounter.bed_assigned', 'encounter.status_changed', 'encounter.departed',
                        'encounter.entered_in_error', 'encounter.reopened') THEN
        NEW.payload := NEW.payload || jsonb_build_object('beds',
            (SELECT coalesce(jsonb_agg(bed_json(x.bed_id) ORDER BY x.bed_id), '[]'::jsonb)
             FROM (SELECT DISTINCT l.bed_id FROM (SELECT el.bed_id FROM encounter_location el
                                                  WHERE el.encounter_id = NEW.encounter_id
                                                  ORDER BY el.started_at DESC, el.id DESC LIMIT 3) l
                   WHERE l.bed_id IS NOT NULL) x));
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE TRIGGER event_decorate BEFORE INSERT ON event FOR EACH ROW EXECUTE FUNCTION event_decorate();
