/* SPDX-License-Identifier: MIT */
/* record_batch.c: where every record transaction begins and ends, so that several writes can
 * share one (record_batch_begin, record.h). An HL7 message is one transaction however many
 * writes it makes (arrival, bed, triage, vitals, ...): inside a batch each write's BEGIN is a
 * savepoint, its COMMIT releases the savepoint and its ROLLBACK returns to it, and nothing is
 * visible (no event is sent) until record_batch_commit. The bottom of the record's layering:
 * it calls nothing else in the record. */
#include "record_internal.h"

#include "pg.h"

/* The connection with a batch open on this thread: a service uses a connection from one
 * thread at a time, so the state lives with the thread. */
static _Thread_local PGconn *batch_conn;

const char *record_tx_begin_sql(PGconn *conn)
{
    return conn == batch_conn ? "SAVEPOINT record_write" : "BEGIN";
}

const char *record_tx_commit_sql(PGconn *conn)
{
    return conn == batch_conn ? "RELEASE SAVEPOINT record_write" : "COMMIT";
}

bool record_tx_begin(PGconn *conn)
{
    return pg_command(conn, record_tx_begin_sql(conn));
}

bool record_tx_commit(PGconn *conn)
{
    return pg_command(conn, record_tx_commit_sql(conn));
}

bool record_tx_rollback(PGconn *conn)
{
    return pg_command(conn, conn == batch_conn ? "ROLLBACK TO SAVEPOINT record_write" : "ROLLBACK");
}

bool record_batch_begin(PGconn *conn)
{
    bool was_up = PQstatus(conn) == CONNECTION_OK;

    if (batch_conn)
        return false;
    /* A connection whose server restarted looks up until its first command fails: then
     * reconnect and begin once more (nothing was sent yet), so the first message after a
     * PostgreSQL restart is applied rather than answered "try again". A connection that was
     * already down is tried once: a server that does not answer is not waited for twice. */
    if ((pg_ensure(conn) && pg_command(conn, "BEGIN")) ||
        (was_up && PQstatus(conn) == CONNECTION_BAD && pg_ensure(conn) &&
         pg_command(conn, "BEGIN"))) {
        batch_conn = conn;
        return true;
    }
    return false;
}

bool record_batch_commit(PGconn *conn)
{
    bool ok = conn == batch_conn && PQtransactionStatus(conn) == PQTRANS_INTRANS &&
              pg_command(conn, "COMMIT");
    if (!ok && PQtransactionStatus(conn) != PQTRANS_IDLE)
        pg_command(conn, "ROLLBACK");
    batch_conn = NULL;
    return ok;
}

void record_batch_rollback(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        pg_command(conn, "ROLLBACK");
    if (conn == batch_conn)
        batch_conn = NULL;
}
