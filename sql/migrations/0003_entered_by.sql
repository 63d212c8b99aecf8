-- 0003_entered_by.sql: who entered a vitals set or a note, from the session, beside who took
-- or wrote it (a scribe may enter for a colleague). Shown on the chart when they differ.
-- Its functions, views and triggers are in sql/functions/ (sql/README.md).

ALTER TABLE vitals ADD COLUMN entered_by bigint REFERENCES account(id);
ALTER TABLE note ADD COLUMN entered_by bigint REFERENCES account(id);
