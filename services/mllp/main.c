/* SPDX-License-Identifier: MIT */
/* ed-mllp: HL7 v2 over MLLP (issue 11). Listens on EDLIVE_LISTEN:EDLIVE_MLLP_PORT for the
 * senders of EDLIVE_MLLP_ALLOW and answers each framed message with an ACK: AR for one that
 * does not parse (or is over the size cap), AA for an A04 applied (record_hl7.c), AE for one
 * that cannot be, AE 200 for the ADT events not applied by this build yet. Settings: the table
 * below (`ed-mllp --help`). Logs never hold message contents. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "hl7.h"
#include "hl7_ack.h"
#include "log.h"
#include "mllp_server.h"
#include "pg.h"
#include "record_hl7.h"

static volatile sig_atomic_t interrupted;

enum mllp_setting {
    MLLP_PG,
    MLLP_LISTEN,
    MLLP_PORT,
    MLLP_ALLOW,
    MLLP_IDLE_S,
    MLLP_DEPARTMENT,
    MLLP_SETTING_COUNT
};

static const struct config_setting mllp_settings[MLLP_SETTING_COUNT] = {
    [MLLP_PG] = CONFIG_SHARED("EDLIVE_PG"),
    [MLLP_LISTEN] = CONFIG_SHARED("EDLIVE_LISTEN"),
    [MLLP_PORT] = {"EDLIVE_MLLP_PORT", CONFIG_PORT, "8484", 0, 0,
                   "TCP port of the HL7 v2 MLLP listener (on `EDLIVE_LISTEN`)", false},
    [MLLP_ALLOW] = {"EDLIVE_MLLP_ALLOW", CONFIG_TEXT, "127.0.0.1,::1", 0, 0,
                    "source addresses allowed to connect, comma-separated IPv4/IPv6 literals; "
                    "others are closed at accept",
                    false},
    [MLLP_IDLE_S] = {"EDLIVE_MLLP_IDLE_S", CONFIG_INT, "30", 1, 3600,
                     "a connection silent this long (seconds) inside a frame, or not reading "
                     "its ACKs, is closed",
                     false},
    [MLLP_DEPARTMENT] = {"EDLIVE_MLLP_DEPARTMENT", CONFIG_TEXT, NULL, 0, 0,
                         "department code for an A04 whose `PV1-3.1` is empty; unset: such an "
                         "A04 gets AE 101",
                         false},
};

static struct config_value mllp_values[MLLP_SETTING_COUNT];
static struct config mllp_config = {"ed-mllp", "HL7 v2 ADT over MLLP", mllp_settings,
                                    MLLP_SETTING_COUNT, mllp_values};

struct mllp_app {
    unsigned long started; /* part of every ACK's control id */
    unsigned long count;
    PGconn *pg;
    const char *department;
};

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void set_error(struct hl7_error *err, enum hl7_err_code code, const char *message)
{
    memset(err, 0, sizeof *err);
    err->code = code;
    snprintf(err->message, sizeof err->message, "%s", message);
}

/* The ACK of one message (mllp_server_handler). */
static char *on_message(void *ctx, enum mllp_server_input kind, const char *data, size_t len,
                        const char *peer, size_t *reply_len)
{
    struct mllp_app *app = ctx;
    struct hl7_error err = {0};
    struct hl7_msg *msg = NULL;
    char control_id[32], *ack;
    const char *type, *trigger;
    struct hl7_ack_opts opts = {control_id, time(NULL), "EDLIVE", "EDLIVE"};

    snprintf(control_id, sizeof control_id, "EDL%lx-%lu", app->started, ++app->count);
    if (kind == MLLP_INPUT_OVERSIZE)
        set_error(&err, HL7_E_INTERNAL, "message exceeds the size limit");
    else
        msg = hl7_parse(data, len, NULL, &err);
    if (!msg) {
        log_warn("%s: message refused (AR, %d: %s)", peer, (int)err.code, err.message);
        return hl7_ack_reject(data, len, &err, &opts, reply_len);
    }
    type = hl7_get(msg, "MSH", 1, 9, 1, 1, 1);
    trigger = hl7_get(msg, "MSH", 1, 9, 1, 2, 1);
    if (!type || strcmp(type, "ADT") != 0) {
        set_error(&err, HL7_E_UNSUPPORTED_TYPE, "only ADT messages are accepted");
        ack = hl7_ack_build(msg, HL7_ACK_AR, &err, 1, &opts, reply_len);
        log_warn("%s: message refused (AR, 200: not ADT)", peer);
    } else if (trigger && !strcmp(trigger, "A04")) {
        struct record_hl7_result res;
        struct record_write w = {0};
        enum hl7_ack_code code = record_hl7_a04(app->pg, msg, app->department, &res, &w);
        if (code == HL7_ACK_AA) {
            ack = hl7_ack_build(msg, code, res.warnings, res.nwarnings, &opts, reply_len);
            if (w.encounter_id)
                log_info("%s: ADT^A04 applied (AA, encounter %lld)", peer, w.encounter_id);
            else
                log_info("%s: ADT^A04 not an ED visit, skipped (AA)", peer);
        } else {
            ack = hl7_ack_build(msg, code, &res.err, 1, &opts, reply_len);
            log_warn("%s: ADT^A04 not applied (AE, %d: %s)", peer, (int)res.err.code,
                     res.err.message);
        }
        record_write_clear(&w);
    } else {
        set_error(&err, HL7_E_UNSUPPORTED_TYPE, "message type not yet applied by this build");
        ack = hl7_ack_build(msg, HL7_ACK_AE, &err, 1, &opts, reply_len);
        /* The trigger is a table value (A04, ...), not patient data. */
        log_info("%s: ADT^%.3s not applied (AE, 200)", peer,
                 trigger && !hl7_is_null(trigger) ? trigger : "?");
    }
    hl7_free(msg);
    return ack;
}

int main(int argc, char **argv)
{
    struct mllp_app app = {.started = (unsigned long)time(NULL)};
    struct mllp_server_opts opts = {0};
    struct mllp_server *srv;

    log_init("ed-mllp");
    config_load(&mllp_config, argc, argv, NULL);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    opts.iface = config_text(&mllp_config, MLLP_LISTEN);
    opts.port = (int)config_number(&mllp_config, MLLP_PORT);
    opts.allow = config_text(&mllp_config, MLLP_ALLOW);
    opts.idle_s = (int)config_number(&mllp_config, MLLP_IDLE_S);
    app.department = config_text(&mllp_config, MLLP_DEPARTMENT);
    /* One connection, used in the poll loop: libpq's time limits (pg.h) bound each call. */
    app.pg = pg_connect_once(config_text(&mllp_config, MLLP_PG));
    if (!app.pg)
        return 1;
    if (PQstatus(app.pg) != CONNECTION_OK)
        log_warn("PostgreSQL unreachable for now: an A04 gets AE 207 until it is back");
    opts.handler = on_message;
    opts.ctx = &app;
    srv = mllp_server_new(&opts);
    if (!srv) {
        PQfinish(app.pg);
        return 1;
    }
    log_info("listening for MLLP on %s:%d", opts.iface, mllp_server_port(srv));
    mllp_server_run(srv, &interrupted);
    mllp_server_free(srv);
    PQfinish(app.pg);
    log_info("stopped");
    return 0;
}
