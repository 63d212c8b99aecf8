/* SPDX-License-Identifier: MIT */
/* mllp_ops.c: ed-mllp's /healthz, /readyz and /metrics (common/ops.h) on a port of its own.
 * Every ACK sent is counted by its trigger event and code, both read back from the ACK itself
 * (MSH-9.2, MSA-1): one place sees every answer, refusals on the poll loop and the worker's
 * alike, and an ACK holds no patient data. Each is also one log line (log_answered). */
#include "mllp_ops.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "ops.h"

/* Triggers A00-A99 by number; anything else (no trigger, a non-ADT refusal) as "other". */
#define TRIGGER_OTHER 100
static const char *const ack_codes[3] = {"AA", "AE", "AR"};
static struct ops_counter acks[TRIGGER_OTHER + 1][3];

/* Field n (1-based, MSH-1 being the separator itself) of the segment at seg, up to end. */
static const char *field(const char *seg, const char *end, char sep, int n, size_t *len)
{
    const char *p = seg + 3; /* at MSH-1 / the first separator */
    int at = seg[0] == 'M' && seg[1] == 'S' && seg[2] == 'H' ? 1 : 0;

    while (p < end && at < n) {
        if (*p == '\r')
            return NULL;
        if (*p == sep)
            at++;
        p++;
    }
    if (at != n)
        return NULL;
    *len = 0;
    while (p + *len < end && p[*len] != sep && p[*len] != '\r')
        (*len)++;
    return p;
}

/* One log line per message answered: an id made here (MSH-10 is the sender's identifier and
 * stays out of the log), the trigger event and the ACK code; never a field of the message. */
static void log_answered(int trigger, int code)
{
    unsigned char random[16];
    char id[33], event[8];

    if (getrandom(random, sizeof random, 0) != (ssize_t)sizeof random)
        memset(random, 0, sizeof random);
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", random[i]);
    if (trigger == TRIGGER_OTHER)
        snprintf(event, sizeof event, "other");
    else
        snprintf(event, sizeof event, "A%02d", trigger);
    log_fields(code == 0 ? "info" : "warn", "message answered", "message_id", id, "event", event,
               "ack", code >= 0 ? ack_codes[code] : LOG_NULL, (const char *)NULL);
}

void mllp_ops_count_ack(const char *ack, size_t len)
{
    const char *end = ack + len, *msh = NULL, *msa = NULL, *v;
    int trigger = TRIGGER_OTHER, code = -1;
    size_t n;
    char sep;

    for (const char *p = ack; p + 4 <= end; p++)
        if (p == ack || p[-1] == '\r' || p[-1] == '\x0b') {
            if (!msh && !strncmp(p, "MSH", 3))
                msh = p;
            else if (!msa && !strncmp(p, "MSA", 3))
                msa = p;
        }
    if (!msh || !msa)
        return;
    sep = msh[3];
    v = field(msh, end, sep, 9, &n); /* ACK^A04^ACK */
    if (v) {
        const char *hat = memchr(v, '^', n);
        if (hat && (size_t)(hat - v) + 4 <= n && hat[1] == 'A' && hat[2] >= '0' && hat[2] <= '9' &&
            hat[3] >= '0' && hat[3] <= '9' && ((size_t)(hat - v) + 4 == n || hat[4] == '^'))
            trigger = (hat[2] - '0') * 10 + (hat[3] - '0');
    }
    v = field(msa, end, sep, 1, &n);
    for (int i = 0; v && n == 2 && i < 3; i++)
        if (!strncmp(v, ack_codes[i], 2))
            code = i;
    if (code >= 0)
        ops_inc(&acks[trigger][code]);
    log_answered(trigger, code);
}

static void metrics(struct ops_text *t, void *user)
{
    char labels[64];

    (void)user;
    ops_family(t, "edlive_mllp_messages_total", "counter",
               "HL7 v2 messages answered, by trigger event (A01..A99, other) and ACK code");
    for (int trigger = 0; trigger <= TRIGGER_OTHER; trigger++)
        for (int code = 0; code < 3; code++) {
            uint64_t n = ops_read(&acks[trigger][code]);
            /* AA and AE of A04 always, so a dashboard has a series before the first message */
            if (!n && !(trigger == 4 && code < 2))
                continue;
            if (trigger == TRIGGER_OTHER)
                snprintf(labels, sizeof labels, "event=\"other\",ack=\"%s\"", ack_codes[code]);
            else
                snprintf(labels, sizeof labels, "event=\"A%02d\",ack=\"%s\"", trigger,
                         ack_codes[code]);
            ops_sample(t, "edlive_mllp_messages_total", labels, (double)n);
        }
}

bool mllp_ops_start(const char *pg, const char *iface, int port)
{
    const struct ops_service service = {.name = "ed-mllp", .pg = pg, .metrics = metrics};

    return ops_start(&service) && (port == 0 || ops_serve(iface, port));
}

void mllp_ops_stop(void)
{
    ops_stop();
}
