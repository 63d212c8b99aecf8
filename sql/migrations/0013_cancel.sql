-- 0013_cancel.sql: withdrawals a registration system makes (HL7 A11 and A13, issue 11;
-- proto/hl7/ADT_MAPPING.md §2, record.h record_*_cancel).
-- * A new status, entered_in_error: a visit registered in error (no clinical entry) ends with
--   it. Like departed and left_without_being_seen it ends the encounter (departed_at is the
--   time it was withdrawn), so it is off every board and its bed is free; unlike them it is
--   out of every metric (census, LOS, LWBS, arrivals, acuity mix, door-to-X: functions/70)
--   and is no prior visit. A withdrawn registration asks for no bed cleaning.
-- * The partial indexes that mean "open" (one open encounter per bed, the department's open
--   encounters) leave it out, as they leave out the other ended statuses.
-- * Event types encounter.disposition_cancelled, encounter.entered_in_error and
--   encounter.reopened need nothing here (event.type is free text); their timeline lines, bed
--   lists and the reopened location row are in functions/60 and 90. The location history
--   stays append-only (0011): a reopened encounter appends its new place, never rewrites one.
-- Its functions, views and triggers are in sql/functions/ (sql/README.md).

ALTER TABLE encounter DROP CONSTRAINT encounter_status_check;
ALTER TABLE encounter ADD CONSTRAINT encounter_status_check
    CHECK (status IN ('waiting', 'in_room', 'seen_by_provider', 'disposition_decided', 'departed',
                      'left_without_being_seen', 'entered_in_error'));

DROP INDEX encounter_active_idx;
CREATE INDEX encounter_active_idx ON encounter (department_id)
    WHERE status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error');
-- A bed holds at most one open encounter (hallway and waiting-room spaces are beds too).
DROP INDEX encounter_bed_occupied_idx;
CREATE UNIQUE INDEX encounter_bed_occupied_idx ON encounter (bed_id)
    WHERE bed_id IS NOT NULL AND status NOT IN ('departed', 'left_without_being_seen',
                                                'entered_in_error');
