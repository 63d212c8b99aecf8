/* SPDX-License-Identifier: MIT */
/* audit_verify.c: `edlivectl audit verify` walks the audit log in seq order and recomputes
 * each row's hash here, with OpenSSL, from the previous row's hash and the row's canonical
 * text (SQL audit_canonical), so a row edited, inserted or removed behind the services'
 * back is named: the first row whose hash or link does not hold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "ctl.h"
#include "log.h"
#include "pg.h"

#define BATCH 5000

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "\x0a1b..." (bytea hex output) -> 32 bytes. */
static bool unhex32(const char *text, unsigned char out[32])
{
    if (strncmp(text, "\\x", 2) != 0 || strlen(text) != 66)
        return false;
    for (int i = 0; i < 32; i++) {
        int hi = hexval(text[2 + 2 * i]), lo = hexval(text[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return true;
}

int ctl_audit_verify(PGconn *conn)
{
    static const char sql[] =
        "SELECT a.seq, audit_canonical(a), a.prev_hash, a.hash FROM audit_log a "
        "WHERE a.seq > $1 ORDER BY a.seq LIMIT "
        "5000";
    static const char head_sql[] = "SELECT last_seq FROM audit_chain WHERE id = 1";
    unsigned char expected_prev[32] = {0}, prev[32], hash[32], computed[32];
    long long last = 0, rows = 0, head;
    char lastbuf[24];
    PGresult *res;

    res = PQexec(conn, head_sql);
    if (!pg_ok(conn, res, "audit head") || PQntuples(res) != 1) {
        PQclear(res);
        fprintf(stderr, "audit verify: cannot read the chain head\n");
        return 1;
    }
    head = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    for (;;) {
        const char *params[] = {pg_int_param(lastbuf, last)};
        int n;

        res = pg_query(conn, sql, 1, params);
        if (!pg_ok(conn, res, "audit rows")) {
            PQclear(res);
            return 1;
        }
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
            long long seq = atoll(PQgetvalue(res, i, 0));
            const char *canonical = PQgetvalue(res, i, 1);
            size_t clen = strlen(canonical);
            unsigned char *buf = malloc(32 + clen);

            if (seq != last + 1) {
                printf("audit verify: FAILED at row %lld: row(s) %lld..%lld are missing\n",
                       last + 1, last + 1, seq - 1);
                PQclear(res);
                free(buf);
                return 3;
            }
            if (!buf || !unhex32(PQgetvalue(res, i, 2), prev) ||
                !unhex32(PQgetvalue(res, i, 3), hash)) {
                printf("audit verify: FAILED at row %lld: unreadable hash\n", seq);
                PQclear(res);
                free(buf);
                return 3;
            }
            memcpy(buf, prev, 32);
            memcpy(buf + 32, canonical, clen);
            auth_sha256(buf, 32 + clen, computed);
            free(buf);
            if (memcmp(prev, expected_prev, 32) != 0) {
                printf("audit verify: FAILED at row %lld: its link to row %lld is broken\n", seq,
                       seq - 1);
                PQclear(res);
                return 3;
            }
            if (memcmp(computed, hash, 32) != 0) {
                printf("audit verify: FAILED at row %lld: its content was altered\n", seq);
                PQclear(res);
                return 3;
            }
            memcpy(expected_prev, hash, 32);
            last = seq;
            rows++;
        }
        PQclear(res);
        if (n < BATCH)
            break;
    }
    if (last != head) {
        printf("audit verify: FAILED at row %lld: the chain head says %lld rows, found %lld\n",
               last + 1, head, last);
        return 3;
    }
    printf("audit verify: OK, %lld rows, chain intact\n", rows);
    return 0;
}
