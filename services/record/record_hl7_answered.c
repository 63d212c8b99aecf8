/* SPDX-License-Identifier: MIT */
/* record_hl7_answered.c: the messages ed-mllp has answered (table hl7_answered, migration
 * 0014; proto/hl7/ADT_MAPPING.md §1 step 4), and the check of its interface staff member. The
 * ACK is stored as bytea and read back in binary, so a resend gets the same bytes. Plain
 * statements: inside record_batch_begin they are part of the batch's transaction (the AA's
 * row commits with what it applied), outside it each is its own. Calls nothing else in the
 * record. */
#include <stdlib.h>
#include <string.h>

#include "pg.h"
#include "record_hl7.h"

#define PURGE_BATCH  5000 /* rows a DELETE removes at once: each statement stays short */
#define PURGE_ROUNDS 200  /* at most this many a call (a million rows); the next call goes on */

static const char *key_part(const char *s)
{
    return s ? s : "";
}

int record_hl7_answered_get(PGconn *conn, const struct record_hl7_key *key, char **ack, size_t *len)
{
    const char *params[] = {key_part(key->app), key_part(key->facility), key_part(key->control_id)};
    PGresult *r;
    int found;

    *ack = NULL;
    *len = 0;
    /* Result in binary: the bytea's bytes as they are. */
    r = PQexecParams(conn,
                     "SELECT ack FROM hl7_answered WHERE sending_app = $1 "
                     "AND sending_facility = $2 AND control_id = $3",
                     3, NULL, params, NULL, NULL, 1);
    if (!pg_ok(conn, r, "hl7 answered read")) {
        PQclear(r);
        return -1;
    }
    found = PQntuples(r) == 1;
    if (found) {
        size_t n = (size_t)PQgetlength(r, 0, 0);
        *ack = malloc(n + 1);
        if (!*ack) {
            PQclear(r);
            return -1;
        }
        memcpy(*ack, PQgetvalue(r, 0, 0), n);
        (*ack)[n] = '\0';
        *len = n;
    }
    PQclear(r);
    return found;
}

int record_hl7_answered_put(PGconn *conn, const struct record_hl7_key *key, const char *code,
                            const char *ack, size_t len)
{
    const char *params[] = {key_part(key->app), key_part(key->facility), key_part(key->control_id),
                            code, ack};
    int lengths[] = {0, 0, 0, 0, (int)len};
    int formats[] = {0, 0, 0, 0, 1}; /* the ACK in binary: no escaping, no text conversion */
    PGresult *r;
    int stored;

    if (len > (size_t)0x7fffffff)
        return -1;
    /* A row with this key committed meanwhile (or committing now: the INSERT waits for that
     * transaction) makes this a no-op: 0 rows, and the caller answers with the stored ACK. */
    r = PQexecParams(conn,
                     "INSERT INTO hl7_answered (sending_app, sending_facility, control_id, "
                     "ack_code, ack) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                     5, NULL, params, lengths, formats, 0);
    if (!pg_ok(conn, r, "hl7 answered insert")) {
        PQclear(r);
        return -1;
    }
    stored = atoi(PQcmdTuples(r)) == 1;
    PQclear(r);
    return stored;
}

long long record_hl7_answered_purge(PGconn *conn, int keep_days)
{
    char days[24], batch[24];
    const char *params[] = {pg_int_param(days, keep_days), pg_int_param(batch, PURGE_BATCH)};
    long long total = 0;

    if (!pg_ensure(conn))
        return -1;
    /* In batches by the answered_at index, each its own short statement. */
    for (int round = 0; round < PURGE_ROUNDS; round++) {
        PGresult *r = pg_query(conn,
                               "DELETE FROM hl7_answered WHERE ctid = ANY(ARRAY("
                               "SELECT ctid FROM hl7_answered WHERE answered_at < "
                               "now() - make_interval(days => $1::int) "
                               "ORDER BY answered_at LIMIT $2::int))",
                               2, params);
        long long n;
        if (!pg_ok(conn, r, "hl7 answered purge")) {
            PQclear(r);
            return -1;
        }
        n = atoll(PQcmdTuples(r));
        PQclear(r);
        total += n;
        if (n < PURGE_BATCH)
            break;
    }
    return total;
}

int record_hl7_staff_check(PGconn *conn, long long staff_id)
{
    char id[24];
    const char *params[] = {pg_int_param(id, staff_id)};
    PGresult *r;
    int active;

    if (!pg_ensure(conn))
        return -1;
    r = pg_query(conn, "SELECT active FROM staff WHERE id = $1", 1, params);
    if (!pg_ok(conn, r, "hl7 interface staff")) {
        PQclear(r);
        return -1;
    }
    active = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    return active;
}
