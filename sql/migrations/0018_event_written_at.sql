-- 0018_event_written_at.sql: the database clock when an event row is written (issue 13), the
-- "at" of its WebSocket frame in milliseconds (SQL event_frame()). append_event writes it as the
-- write's last change, so it is as close to the commit as the writer can take it. The column
-- "at" stays the transaction's time (now()): events of one transaction share it, which is how
-- the reopening of a departure (record_cancel.c) tells a disposition of the departure's own
-- batch from one decided before. Nullable without a default: adding it rewrites no row; frames
-- of older events fall back to "at".
ALTER TABLE event ADD COLUMN written_at timestamptz;
