-- 0007_early_warning.sql: the early-warning score every screen shows, from the latest reading of
-- each parameter (proto/EARLY_WARNING.md).
-- * encounter.ews: the score as the write path computed it in C (services/common/ews.c) in the
--   vitals transaction: total, band, completeness, each input with its value, sub-score and
--   time, the missing ones, the interval and the time it counts from, and the last complete
--   score (kept for the floor: an incomplete score is never shown less urgent than it).
-- * department.ews_window_min: how old a reading may be and still count (default 4 h).
-- * The row's "news2" is encounter.ews (without last_complete); "monitoring" says continuous or
--   interval; "reassess_due_at" is null under continuous monitoring, else the earlier of the
--   shown interval (shortened, never lengthened, by a per-patient interval) and the last complete
--   score's due time. Encounters without a stored score yet (vitals from before this migration)
--   show their latest set's NEWS2 as before, until their next vitals.
-- * Vitals as EDs record them: systolic without diastolic (palpated), temperature down to 15 C;
--   and for children capillary refill, respiratory effort and oxygen flow (Bedside PEWS).
-- Its functions, views and triggers are in sql/functions/ (sql/README.md).

ALTER TABLE department ADD COLUMN ews_window_min integer NOT NULL DEFAULT 240
    CHECK (ews_window_min BETWEEN 15 AND 1440);
-- Which score a department's patients get: 'auto' is Bedside PEWS under 16 and NEWS2 from 16;
-- a paediatric ED sets 'pews', an adults-only one 'news2'.
ALTER TABLE department ADD COLUMN early_warning text NOT NULL DEFAULT 'auto'
    CHECK (early_warning IN ('auto', 'news2', 'pews'));

-- The Bedside PEWS items NEWS2 does not have (services/common/pews.h).
ALTER TABLE vitals ADD COLUMN cap_refill_s numeric(3,1) CHECK (cap_refill_s BETWEEN 0 AND 20);
ALTER TABLE vitals ADD COLUMN resp_effort text
    CHECK (resp_effort IN ('normal', 'mild', 'moderate', 'severe'));
ALTER TABLE vitals ADD COLUMN oxygen_l_min numeric(4,1) CHECK (oxygen_l_min BETWEEN 0 AND 60);
ALTER TABLE encounter ADD COLUMN ews jsonb;

ALTER TABLE vitals DROP CONSTRAINT vitals_temperature_c_check;
ALTER TABLE vitals ADD CONSTRAINT vitals_temperature_c_check
    CHECK (temperature_c BETWEEN 15.0 AND 45.0);
ALTER TABLE vitals ADD CONSTRAINT vitals_diastolic_needs_systolic
    CHECK (diastolic_bp IS NULL OR systolic_bp IS NOT NULL) NOT VALID;
