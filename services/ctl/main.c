/* SPDX-License-Identifier: MIT */
/* edlivectl: operator commands, one row of the command table each. `migrate` applies the
 * pending sql/migrations/NNNN_*.sql in order, then re-applies every sql/functions file, all in
 * one transaction (migrate.c); `seed-demo` creates the demo ED from sql/demo/demo-ed.json
 * through the same write path the API uses; departments, beds and accounts go through the
 * record's audited functions; `backup`/`restore` wrap pg_dump/pg_restore (backup.c); `doctor`
 * checks a deployment (doctor.c). Settings: the table below (`edlivectl --help`). */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ctl.h"
#include "log.h"
#include "pg.h"

static const struct config_setting ctl_settings[CTL_SETTING_COUNT] = {
    [CTL_PG] = CONFIG_SHARED("EDLIVE_PG"),
    [CTL_SQL_DIR] =
        {"EDLIVE_SQL_DIR", CONFIG_TEXT, EDLIVE_DEFAULT_SQL_DIR, 0, 0,
         "folder with the schema's `migrations/`, `functions/` and the demo ED (`demo/`)", false},
    [CTL_DEMO_PASSWORD] = {"EDLIVE_DEMO_PASSWORD", CONFIG_TEXT, "edlive-demo", 0, 0,
                           "`seed-demo`: the demo accounts' password", false},
    /* The demo admin's second factor is a published test secret: a demo, not a deployment. */
    [CTL_DEMO_ADMIN_TOTP] = {"EDLIVE_DEMO_ADMIN_TOTP", CONFIG_TEXT,
                             "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", 0, 0,
                             "`seed-demo`: the demo admin's TOTP secret (base32)", false},
    [CTL_PG_APP] = {"EDLIVE_PG_APP", CONFIG_TEXT, NULL, 0, 0,
                    "`doctor`: the services' connection string (the app role, their `EDLIVE_PG`) "
                    "to check besides the owner's; unset: not checked (a warning)",
                    false},
    [CTL_REDIS] = CONFIG_SHARED("EDLIVE_REDIS"),
    [CTL_TLS_CERT] = CONFIG_SHARED("EDLIVE_TLS_CERT"),
};

static struct config_value ctl_values[CTL_SETTING_COUNT];
struct config ctl_config = {"edlivectl", "operator commands", ctl_settings, CTL_SETTING_COUNT,
                            ctl_values};

static int cmd_migrate(PGconn *conn, int argc, char **argv)
{
    (void)argc, (void)argv;
    /* A migration may rewrite a large table: no statement limit, a longer wait for locks. */
    if (!pg_set_timeouts(conn, 0, PG_MIGRATE_LOCK_TIMEOUT_MS))
        return 1;
    return ctl_migrate(conn, config_text(&ctl_config, CTL_SQL_DIR));
}

static int cmd_migrate_status(PGconn *conn, int argc, char **argv)
{
    (void)argc, (void)argv;
    return ctl_migrate_status(conn, config_text(&ctl_config, CTL_SQL_DIR));
}

static int cmd_seed_demo(PGconn *conn, int argc, char **argv)
{
    (void)argc, (void)argv;
    return ctl_seed_demo(conn, config_text(&ctl_config, CTL_SQL_DIR),
                         config_text(&ctl_config, CTL_DEMO_PASSWORD),
                         config_text(&ctl_config, CTL_DEMO_ADMIN_TOTP));
}

static int cmd_audit_verify(PGconn *conn, int argc, char **argv)
{
    (void)argc, (void)argv;
    return ctl_audit_verify(conn);
}

struct ctl_command {
    const char *name;
    const char *sub;   /* a fixed second word ("verify"), or NULL */
    int nargs;         /* words after name (and sub); -1: the command checks its own forms */
    const char *usage; /* the arguments, for --help */
    const char *help;
    int (*run)(PGconn *conn, int argc, char **argv); /* argv starts after name (and sub) */
    bool connects_itself; /* run gets no connection (and settings not checked): doctor, backup */
};

static const struct ctl_command commands[] = {
    {"migrate", "status", 0, "", "list applied and pending migrations; exit 0 current, 3 pending",
     cmd_migrate_status, false},
    {"migrate", NULL, 0, "", "apply pending migrations, then every sql/functions file", cmd_migrate,
     false},
    {"seed-demo", NULL, 0, "", "create the demo ED and its accounts (no-op when it exists)",
     cmd_seed_demo, false},
    {"audit", "verify", 0, "", "check the audit log's hash chain", cmd_audit_verify, false},
    {"user", NULL, -1, "add|password|totp|disable|enable|list ...",
     "accounts (`edlivectl user` for the forms)", ctl_user, false},
    {"department", NULL, -1, "list|create|rename|retire|set ...",
     "departments and their settings (`edlivectl department` for the forms and keys)",
     ctl_department, false},
    {"bed", NULL, -1, "list|create|rename|retire ...",
     "beds of a department (`edlivectl bed` for the forms)", ctl_bed, false},
    {"staff", NULL, -1, "hl7-id <staff-id> <id|->",
     "set (or with - remove) the staff member's HL7 id (PV1-7, OBX-16)", ctl_staff, false},
    {"backup", NULL, 1, "<file>", "pg_dump the database (custom format) into a new file",
     ctl_backup, true},
    {"restore", NULL, -1, "<file> [--force]",
     "pg_restore a backup into an empty database (--force: replace what is there)", ctl_restore,
     true},
    {"doctor", NULL, -1, "[cert.pem ...]",
     "check settings, connections, clocks, migrations and certificates; exit 1 on a FAIL",
     ctl_doctor, true},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

static int usage(void)
{
    fprintf(stderr, "usage: edlivectl <command>\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        char words[64];

        snprintf(words, sizeof words, "%s%s%s %s", commands[i].name, commands[i].sub ? " " : "",
                 commands[i].sub ? commands[i].sub : "", commands[i].usage);
        fprintf(stderr, "  %-52s %s\n", words, commands[i].help);
    }
    fprintf(stderr, "\n");
    ctl_user_forms();
    fprintf(stderr, "\n");
    ctl_department_forms();
    fprintf(stderr, "\n");
    ctl_bed_forms();
    fprintf(stderr, "\n");
    config_print_help(&ctl_config);
    return 2;
}

/* The command row argv names, or NULL. */
static const struct ctl_command *find_command(int argc, char **argv)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const struct ctl_command *c = &commands[i];

        if (strcmp(argv[1], c->name))
            continue;
        if (c->sub && (argc < 3 || strcmp(argv[2], c->sub)))
            continue;
        return c;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const struct ctl_command *command;
    PGconn *conn;
    int nargs, rc;

    log_init("edlivectl");
    log_set_format("text"); /* a command an operator reads; EDLIVE_LOG_FORMAT=json still wins */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return argc < 2 ? usage() : (usage(), 0);
    if (!strcmp(argv[1], "--settings-tsv")) {
        config_load(&ctl_config, 2, argv, NULL); /* prints and exits */
        return 0;
    }
    command = find_command(argc, argv);
    if (!command)
        return usage();
    nargs = argc - 2 - (command->sub ? 1 : 0);
    if (command->nargs >= 0 && nargs != command->nargs)
        return usage();
    if (command->connects_itself) /* doctor reports bad settings itself */
        return command->run(NULL, nargs, argv + argc - nargs);
    if (command->nargs < 0 && nargs == 0) /* `edlivectl user`: its forms, no connection */
        return command->run(NULL, 0, argv + argc);
    if (!config_check(&ctl_config))
        return 2;
    conn = pg_connect(config_text(&ctl_config, CTL_PG), 10);
    if (!conn)
        return 1;
    rc = command->run(conn, nargs, argv + argc - nargs);
    PQfinish(conn);
    return rc;
}
