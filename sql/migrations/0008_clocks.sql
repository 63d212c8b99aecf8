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
-- Its functions, views and triggers are in sql/functions/ (sql/README.md).

ALTER TABLE encounter DROP CONSTRAINT encounter_disposition_check;
ALTER TABLE encounter ADD CONSTRAINT encounter_disposition_check
    CHECK (disposition IN ('discharge', 'admit', 'transfer', 'lwbs', 'ama', 'deceased', 'eloped',
                           'other', 'left_without_disposition'));
ALTER TABLE encounter ADD COLUMN admit_decided_at timestamptz;
ALTER TABLE encounter ADD COLUMN attending_since timestamptz;
ALTER TABLE encounter ADD COLUMN nurse_since timestamptz;
UPDATE encounter SET admit_decided_at = disposition_at WHERE disposition = 'admit';
