/* SPDX-License-Identifier: MIT */
/* ed-mllp: HL7 v2 over MLLP (issue 11). Listens on EDLIVE_LISTEN:EDLIVE_MLLP_PORT for the
 * senders of EDLIVE_MLLP_ALLOW and answers each framed message with an ACK. On the poll loop
 * (on_frame): AR for one that does not parse (or is over the size cap), AR 200 for one that is
 * not ADT; every ADT message goes to the worker thread (on_apply), which owns the PostgreSQL
 * connection: a resend of an answered message gets the stored ACK; else record_hl7_apply in one
 * transaction (record_batch_*) with the ACK stored in it. Settings: the table below
 * (`ed-mllp --help`). Logs never hold message contents. */
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hl7.h"
#include "hl7_ack.h"
#include "log.h"
#include "mllp_ops.h"
#include "mllp_server.h"
#include "pg.h"
#include "record_hl7.h"
#include "reload.h"

/* A resend is answered from hl7_answered for this long (ADT_MAPPING.md §1 step 4). */
#define MLLP_ANSWERED_KEEP_DAYS 7
/* MSH-3.1, MSH-4.1 and MSH-10 longer than this are refused (AR 102): the key's columns. */
#define MLLP_KEY_MAX 199

static volatile sig_atomic_t interrupted;

enum mllp_setting {
    MLLP_PG,
    MLLP_LISTEN,
    MLLP_PORT,
    MLLP_OPS_PORT,
    MLLP_ALLOW,
    MLLP_IDLE_S,
    MLLP_FRAME_S,
    MLLP_DEPARTMENT,
    MLLP_STAFF,
    MLLP_TRAINING,
    MLLP_ENV_FILES,
    MLLP_SETTING_COUNT
};

static const struct config_setting mllp_settings[MLLP_SETTING_COUNT] = {
    [MLLP_PG] = CONFIG_SHARED("EDLIVE_PG"),
    [MLLP_LISTEN] = CONFIG_SHARED("EDLIVE_LISTEN"),
    [MLLP_PORT] = {"EDLIVE_MLLP_PORT", CONFIG_PORT, "8484", 0, 0,
                   "TCP port of the HL7 v2 MLLP listener (on `EDLIVE_LISTEN`)", false},
    [MLLP_OPS_PORT] = {"EDLIVE_MLLP_OPS_PORT", CONFIG_INT, "8489", 0, 65535,
                       "ed-mllp's operations port (on `EDLIVE_LISTEN`): `/healthz`, `/readyz`, "
                       "`/metrics`; `0`: none",
                       false},
    [MLLP_ALLOW] = {"EDLIVE_MLLP_ALLOW", CONFIG_TEXT, "127.0.0.1,::1", 0, 0,
                    "source addresses allowed to connect, comma-separated IPv4/IPv6 literals; "
                    "others are closed at accept",
                    false},
    [MLLP_IDLE_S] = {"EDLIVE_MLLP_IDLE_S", CONFIG_INT, "30", 1, 3600,
                     "a connection silent this long (seconds) inside a frame, or not reading "
                     "its ACKs, is closed",
                     false},
    [MLLP_FRAME_S] = {"EDLIVE_MLLP_FRAME_S", CONFIG_INT, "60", 1, 3600,
                      "a frame started must end within this many seconds, however steadily its "
                      "bytes come; else the connection is closed",
                      false},
    [MLLP_DEPARTMENT] = {"EDLIVE_MLLP_DEPARTMENT", CONFIG_TEXT, NULL, 0, 0,
                         "department code for an A04 whose `PV1-3.1` is empty; unset: such an "
                         "A04 gets AE 101",
                         false},
    [MLLP_STAFF] = {"EDLIVE_MLLP_STAFF", CONFIG_INT, NULL, 1, LONG_MAX,
                    "staff id of the interface (an active staff member, checked at start): "
                    "the audit rows' staff of what HL7 writes; unset: none",
                    false},
    [MLLP_TRAINING] = {"EDLIVE_MLLP_TRAINING", CONFIG_FLAG, "0", 0, 1,
                       "1: apply messages whose processing id (`MSH-11`) is `T` (training) as "
                       "well as `P`; 0: only `P` (others AR 202). Only for a training system",
                       false},
    [MLLP_ENV_FILES] = CONFIG_SHARED("EDLIVE_ENV_FILES"),
};

static struct config_value mllp_values[MLLP_SETTING_COUNT];
static struct config mllp_config = {"ed-mllp", "HL7 v2 ADT over MLLP", mllp_settings,
                                    MLLP_SETTING_COUNT, mllp_values};

struct mllp_app {
    unsigned long started; /* part of every ACK's control id */
    atomic_ulong count;    /* ACKs built, on the loop and the worker */
    PGconn *pg;            /* the worker's alone once the server runs */
    struct record_hl7_opts opts;
    bool staff_checked; /* the worker's: EDLIVE_MLLP_STAFF seen active */
    struct mllp_server *srv;
    volatile sig_atomic_t bad_staff; /* the worker found EDLIVE_MLLP_STAFF not active */
    bool training;                   /* EDLIVE_MLLP_TRAINING: MSH-11 T is applied too */
};

/* On the poll thread: a SIGHUP is seen within a second (the poll's timeout). */
static void on_round(void *ctx)
{
    (void)ctx;
    if (reload_requested())
        reload_apply(&mllp_config, config_text(&mllp_config, MLLP_ENV_FILES), NULL);
}

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void set_error(struct hl7_error *err, enum hl7_err_code code, const char *seg,
                      unsigned field, unsigned comp, const char *message)
{
    memset(err, 0, sizeof *err);
    err->code = code;
    snprintf(err->segment, sizeof err->segment, "%s", seg);
    err->seg_seq = seg[0] ? 1 : 0;
    err->field = field;
    err->comp = comp;
    snprintf(err->message, sizeof err->message, "%s", message);
}

static struct hl7_ack_opts ack_opts(struct mllp_app *app, char *control_id, size_t size)
{
    snprintf(control_id, size, "EDL%lx-%lu", app->started, atomic_fetch_add(&app->count, 1) + 1);
    return (struct hl7_ack_opts){control_id, time(NULL), "EDLIVE", "EDLIVE"};
}

static char *ack_error(struct mllp_app *app, const struct hl7_msg *msg, enum hl7_ack_code code,
                       const struct hl7_error *err, size_t *len)
{
    char control_id[48];
    struct hl7_ack_opts opts = ack_opts(app, control_id, sizeof control_id);
    return hl7_ack_build(msg, code, err, 1, &opts, len);
}

/* A value (not absent, not the null ""), or NULL. */
static const char *valued(const char *v)
{
    return v && !hl7_is_null(v) ? v : NULL;
}

static size_t text_len(const char *s)
{
    return s ? strlen(s) : 0;
}

/* The trigger for logs: a table value (A04, ...), never patient data. */
static const char *trigger_of(const struct hl7_msg *msg)
{
    const char *t = valued(hl7_get(msg, "MSH", 1, 9, 1, 2, 1));
    return t && strlen(t) == 3 ? t : "?";
}

/* ---- on the poll loop: no database ---- */

/* MSH-11.1 is P (production), or T (training) when the setting allows it. */
static bool processing_allowed(const struct mllp_app *app, const struct hl7_msg *msg)
{
    const char *p = valued(hl7_get(msg, "MSH", 1, 11, 1, 1, 1));
    return p && (!strcmp(p, "P") || (app->training && !strcmp(p, "T")));
}

static enum mllp_verdict on_frame(void *ctx, enum mllp_server_input kind, const char *data,
                                  size_t len, const char *peer, char **reply, size_t *reply_len,
                                  void **work)
{
    struct mllp_app *app = ctx;
    struct hl7_error err = {0};
    struct hl7_msg *msg = NULL;
    const char *type, *id;

    if (kind == MLLP_INPUT_OVERSIZE)
        set_error(&err, HL7_E_INTERNAL, "", 0, 0, "message exceeds the size limit");
    else
        msg = hl7_parse(data, len, NULL, &err);
    if (!msg) {
        char control_id[48];
        struct hl7_ack_opts opts = ack_opts(app, control_id, sizeof control_id);
        log_warn("%s: message refused (AR, %d: %s)", peer, (int)err.code, err.message);
        *reply = hl7_ack_reject(data, len, &err, &opts, reply_len);
        return MLLP_VERDICT_REPLY;
    }
    type = hl7_get(msg, "MSH", 1, 9, 1, 1, 1);
    id = hl7_get(msg, "MSH", 1, 10, 1, 1, 1);
    if (type && !strcmp(type, "ACK")) { /* an ACK is never answered (§1 step 3) */
        log_info("%s: an ACK sent to us, dropped", peer);
        hl7_free(msg);
        return MLLP_VERDICT_NONE;
    }
    if (!type || strcmp(type, "ADT") != 0) {
        set_error(&err, HL7_E_UNSUPPORTED_TYPE, "MSH", 9, 0, "only ADT messages are accepted");
        log_warn("%s: message refused (AR, 200: not ADT)", peer);
    } else if (!valued(hl7_get(msg, "MSH", 1, 9, 1, 2, 1))) {
        set_error(&err, HL7_E_REQUIRED_FIELD, "MSH", 9, 2, "no trigger event in MSH-9.2");
        log_warn("%s: message refused (AR, 101: no trigger)", peer);
    } else if (!processing_allowed(app, msg)) {
        /* A test or debug message must never change a live patient's record (§1 step 3). */
        set_error(&err, HL7_E_UNSUPPORTED_PROCESSING, "MSH", 11, 0,
                  app->training ? "processing id must be P or T" : "processing id must be P");
        log_warn("%s: message refused (AR, 202: processing id)", peer);
    } else if (!valued(id)) { /* the parser takes "" as valued; the answered key cannot */
        set_error(&err, HL7_E_REQUIRED_FIELD, "MSH", 10, 0, "no message control id (MSH-10)");
        log_warn("%s: message refused (AR, 101: no MSH-10)", peer);
    } else if (text_len(id) > MLLP_KEY_MAX ||
               text_len(hl7_get(msg, "MSH", 1, 3, 1, 1, 1)) > MLLP_KEY_MAX ||
               text_len(hl7_get(msg, "MSH", 1, 4, 1, 1, 1)) > MLLP_KEY_MAX) {
        set_error(&err, HL7_E_DATA_TYPE, "MSH", text_len(id) > MLLP_KEY_MAX ? 10 : 3, 0,
                  "MSH-3, MSH-4 or MSH-10 longer than 199 bytes");
        log_warn("%s: message refused (AR, 102: an id too long)", peer);
    } else {
        *work = msg; /* on_apply owns it now */
        return MLLP_VERDICT_APPLY;
    }
    *reply = ack_error(app, msg, HL7_ACK_AR, &err, reply_len);
    hl7_free(msg);
    return MLLP_VERDICT_REPLY;
}

/* on_frame, with its ACK counted (mllp_ops.c). */
static enum mllp_verdict on_frame_counted(void *ctx, enum mllp_server_input kind, const char *data,
                                          size_t len, const char *peer, char **reply,
                                          size_t *reply_len, void **work)
{
    enum mllp_verdict v = on_frame(ctx, kind, data, len, peer, reply, reply_len, work);

    if (v == MLLP_VERDICT_REPLY && *reply)
        mllp_ops_count_ack(*reply, *reply_len);
    return v;
}

static void on_discard(void *ctx, void *work)
{
    (void)ctx;
    hl7_free(work);
}

/* ---- on the worker thread: the database ---- */

/* EDLIVE_MLLP_STAFF, once, when PostgreSQL could not be asked at start. False: not now. */
static bool staff_ready(struct mllp_app *app)
{
    int r;

    if (app->staff_checked || app->opts.interface_staff_id == 0)
        return true;
    r = record_hl7_staff_check(app->pg, app->opts.interface_staff_id);
    if (r == 1)
        app->staff_checked = true;
    else if (r == 0) {
        log_error("EDLIVE_MLLP_STAFF=%lld: no active staff member has this id: stopping",
                  app->opts.interface_staff_id);
        app->bad_staff = 1;
        mllp_server_stop(app->srv);
    }
    return r == 1;
}

static char *unavailable(struct mllp_app *app, const struct hl7_msg *msg, const char *peer,
                         size_t *len)
{
    struct hl7_error err;
    set_error(&err, HL7_E_INTERNAL, "", 0, 0, "database unavailable: send again");
    log_warn("%s: ADT^%s not applied (AE, 207: database unavailable; not stored)", peer,
             trigger_of(msg));
    return ack_error(app, msg, HL7_ACK_AE, &err, len);
}

/* The ACK stored for key, read outside any transaction (after a copy won the race). */
static char *stored_ack(struct mllp_app *app, const struct hl7_msg *msg,
                        const struct record_hl7_key *key, const char *peer, size_t *len)
{
    char *ack = NULL;
    if (record_hl7_answered_get(app->pg, key, &ack, len) == 1) {
        log_info("%s: ADT^%s answered already: the stored ACK sent again", peer, trigger_of(msg));
        return ack;
    }
    free(ack);
    return unavailable(app, msg, peer, len);
}

/* One ADT message (ADT_MAPPING.md §1 steps 4 to 6): the stored ACK of a resend, else
 * record_hl7_apply in one transaction whose commit also stores the AA. An AE is rolled back
 * and then stored in a transaction of its own; an AE 207 (the database failed: a resend may
 * succeed), an AE 200 (not applied by this build) and an AR are not stored. */
static char *on_apply(void *ctx, void *work, const char *peer, size_t *len)
{
    struct mllp_app *app = ctx;
    struct hl7_msg *msg = work;
    struct record_hl7_key key = {valued(hl7_get(msg, "MSH", 1, 3, 1, 1, 1)),
                                 valued(hl7_get(msg, "MSH", 1, 4, 1, 1, 1)),
                                 hl7_get(msg, "MSH", 1, 10, 1, 1, 1)};
    struct record_hl7_result res;
    struct record_write w = {0};
    enum hl7_ack_code code;
    char control_id[48], *ack = NULL;
    struct hl7_ack_opts opts;
    int found, put;

    if (!staff_ready(app) || !record_batch_begin(app->pg)) {
        ack = unavailable(app, msg, peer, len);
        goto out;
    }
    found = record_hl7_answered_get(app->pg, &key, &ack, len);
    if (found != 0) {
        record_batch_rollback(app->pg);
        if (found < 0)
            ack = unavailable(app, msg, peer, len);
        else
            log_info("%s: ADT^%s answered already: the stored ACK sent again", peer,
                     trigger_of(msg));
        goto out;
    }
    code = record_hl7_apply(app->pg, msg, &app->opts, &res, &w);
    opts = ack_opts(app, control_id, sizeof control_id);
    if (code == HL7_ACK_AA) {
        ack = hl7_ack_build(msg, code, res.warnings, res.nwarnings, &opts, len);
        put = ack ? record_hl7_answered_put(app->pg, &key, "AA", ack, *len) : -1;
        if (put == 1 && record_batch_commit(app->pg)) {
            if (w.encounter_id)
                log_info("%s: ADT^%s applied (AA, encounter %lld)", peer, trigger_of(msg),
                         w.encounter_id);
            else
                log_info("%s: ADT^%s applied (AA, %u warnings)", peer, trigger_of(msg),
                         res.nwarnings);
            goto out;
        }
        record_batch_rollback(app->pg);
        free(ack);
        ack = put == 0 ? stored_ack(app, msg, &key, peer, len) : unavailable(app, msg, peer, len);
        goto out;
    }
    record_batch_rollback(app->pg);
    /* A copy of this message on another connection of the database (a second ed-mllp) may
     * have committed while this one ran into its rows (a unique key, a lock): its ACK is the
     * answer. */
    if (code == HL7_ACK_AE && record_hl7_answered_get(app->pg, &key, &ack, len) == 1) {
        log_info("%s: ADT^%s answered meanwhile by a copy: its stored ACK sent", peer,
                 trigger_of(msg));
        goto out;
    }
    free(ack);
    ack = hl7_ack_build(msg, code, &res.err, 1, &opts, len);
    log_warn("%s: ADT^%s not applied (%s, %d: %s)", peer, trigger_of(msg),
             code == HL7_ACK_AR ? "AR" : "AE", (int)res.err.code, res.err.message);
    /* Not stored: 207 (the database failed; code 0 reads as 207) and 200 (an event this
     * build does not apply yet): a resend of those is applied, not answered from the table. */
    if (ack && code == HL7_ACK_AE && res.err.code != 0 && res.err.code != HL7_E_INTERNAL &&
        res.err.code != HL7_E_UNSUPPORTED_TYPE) {
        put = record_hl7_answered_put(app->pg, &key, "AE", ack, *len);
        if (put == 0) {
            free(ack);
            ack = stored_ack(app, msg, &key, peer, len);
        } else if (put < 0)
            log_warn("%s: the AE could not be stored; a resend is applied again", peer);
    }
out:
    record_write_clear(&w);
    hl7_free(msg);
    return ack;
}

/* on_apply, with its ACK counted (mllp_ops.c). */
static char *on_apply_counted(void *ctx, void *work, const char *peer, size_t *len)
{
    char *ack = on_apply(ctx, work, peer, len);

    if (ack)
        mllp_ops_count_ack(ack, *len);
    return ack;
}

/* At start and hourly: the answered messages older than 7 days go. */
static void on_housekeeping(void *ctx)
{
    struct mllp_app *app = ctx;
    long long n = record_hl7_answered_purge(app->pg, MLLP_ANSWERED_KEEP_DAYS);

    if (n > 0)
        log_info("%lld answered messages older than %d days deleted", n, MLLP_ANSWERED_KEEP_DAYS);
    else if (n < 0)
        log_warn("answered messages not purged (database unavailable): next hour");
}

int main(int argc, char **argv)
{
    struct mllp_app app = {.started = (unsigned long)time(NULL)};
    struct mllp_server_opts opts = {0};
    int rc = 0;

    log_init("ed-mllp");
    config_load(&mllp_config, argc, argv, NULL);
    reload_init(config_text(&mllp_config, MLLP_ENV_FILES));
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    opts.iface = config_text(&mllp_config, MLLP_LISTEN);
    opts.port = (int)config_number(&mllp_config, MLLP_PORT);
    opts.allow = config_text(&mllp_config, MLLP_ALLOW);
    opts.idle_s = (int)config_number(&mllp_config, MLLP_IDLE_S);
    opts.frame_s = (int)config_number(&mllp_config, MLLP_FRAME_S);
    app.opts.default_department = config_text(&mllp_config, MLLP_DEPARTMENT);
    app.opts.interface_staff_id = config_number(&mllp_config, MLLP_STAFF);
    app.training = config_number(&mllp_config, MLLP_TRAINING) == 1;
    /* One connection, the worker thread's once the server runs; libpq's time limits (pg.h)
     * bound each statement, and the poll loop never waits for it. */
    app.pg = pg_connect_once(config_text(&mllp_config, MLLP_PG));
    if (!app.pg)
        return 1;
    if (PQstatus(app.pg) != CONNECTION_OK)
        log_warn("PostgreSQL unreachable for now: an ADT message gets AE 207 until it is back");
    else if (app.opts.interface_staff_id) {
        int r = record_hl7_staff_check(app.pg, app.opts.interface_staff_id);
        if (r == 0) {
            log_error("EDLIVE_MLLP_STAFF=%lld: no active staff member has this id",
                      app.opts.interface_staff_id);
            PQfinish(app.pg);
            return 2;
        }
        app.staff_checked = r == 1; /* else checked before the first message */
    }
    opts.handler = on_frame_counted;
    opts.apply = on_apply_counted;
    opts.discard = on_discard;
    opts.housekeeping = on_housekeeping;
    opts.each_round = on_round;
    opts.ctx = &app;
    app.srv = mllp_server_new(&opts);
    if (!app.srv || !mllp_ops_start(config_text(&mllp_config, MLLP_PG), opts.iface,
                                    (int)config_number(&mllp_config, MLLP_OPS_PORT))) {
        mllp_server_free(app.srv);
        PQfinish(app.pg);
        return 1;
    }
    log_info("listening for MLLP on %s:%d", opts.iface, mllp_server_port(app.srv));
    if (app.opts.interface_staff_id)
        log_info("writes audited as the interface's staff member %lld",
                 app.opts.interface_staff_id);
    if (!mllp_server_run(app.srv, &interrupted))
        rc = 1;
    mllp_server_free(app.srv); /* joins the worker: the connection is ours again */
    mllp_ops_stop();
    PQfinish(app.pg);
    if (app.bad_staff)
        rc = 2;
    log_info("stopped");
    return rc;
}
