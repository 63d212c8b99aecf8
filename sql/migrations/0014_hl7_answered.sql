-- 0014_hl7_answered.sql: the HL7 v2 messages ed-mllp has answered (proto/hl7/ADT_MAPPING.md §1
-- step 4). A sender that got no ACK (a lost connection, its own time-out) sends the message
-- again with the same MSH-10; the key (MSH-3.1, MSH-4.1, MSH-10) seen before is answered with
-- the ACK stored here, byte for byte, and nothing is applied again. The row of an applied
-- message (AA) is inserted in the transaction that applies it, so two copies racing on two
-- connections cannot both apply: the second INSERT waits for the first transaction and then
-- conflicts. Rows are kept 7 days (ed-mllp deletes older ones at start and hourly).
CREATE TABLE hl7_answered (
    sending_app      text NOT NULL CHECK (length(sending_app) <= 199),      -- MSH-3.1, '' when empty
    sending_facility text NOT NULL CHECK (length(sending_facility) <= 199), -- MSH-4.1, '' when empty
    control_id       text NOT NULL CHECK (length(control_id) BETWEEN 1 AND 199), -- MSH-10
    ack_code         text NOT NULL CHECK (ack_code IN ('AA', 'AE', 'AR')),
    ack              bytea NOT NULL,                                         -- the ACK sent, unframed
    answered_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sending_app, sending_facility, control_id)
);
-- The hourly purge reads the oldest rows by this index only.
CREATE INDEX hl7_answered_at_idx ON hl7_answered (answered_at);

GRANT SELECT, INSERT, DELETE ON hl7_answered TO edlive_app;
