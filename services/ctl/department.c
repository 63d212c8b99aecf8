/* SPDX-License-Identifier: MIT */
/* department.c: `edlivectl department set|create|rename|retire|list` and
 * `edlivectl bed create|rename|retire|list` (services/ctl/README.md). The command line only:
 * the checks, the audited change and the board's department.layout event are the record's
 * (record_department_set, record_department_create, ..., record_bed_retire in record_admin.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "record.h"

void ctl_department_forms(void)
{
    size_t n;
    const struct record_department_setting *s = record_department_settings(&n);

    fprintf(stderr, "usage: edlivectl department list\n"
                    "       edlivectl department create <CODE> <name>\n"
                    "       edlivectl department rename <department-id> <name>\n"
                    "       edlivectl department retire <department-id>\n"
                    "       edlivectl department set <department-id> <key> <value>\n"
                    "keys:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  %-17s %s\n", s[i].key, s[i].help);
}

static int department_usage(void)
{
    ctl_department_forms();
    return 2;
}

void ctl_bed_forms(void)
{
    fprintf(stderr, "usage: edlivectl bed list <department-id>\n"
                    "       edlivectl bed create <department-id> <label> <area>\n"
                    "       edlivectl bed rename <bed-id> <label>\n"
                    "       edlivectl bed retire <bed-id>\n"
                    "areas: resus, acute, fast_track, hallway, waiting_room\n");
}

static int bed_usage(void)
{
    ctl_bed_forms();
    return 2;
}

/* A positive id from argument text, or 0 after saying which argument is wrong. */
static long long id_argument(const char *what, const char *text)
{
    char *end;
    long long id = strtoll(text, &end, 10);

    if (!*text || *end || id <= 0) {
        fprintf(stderr, "edlivectl: %s must be a positive integer, not %s\n", what, text);
        return 0;
    }
    return id;
}

/* The exit code of a refused change: 2 a bad argument, 1 anything else. */
static int refused(const struct ed_error *err)
{
    fprintf(stderr, "edlivectl: %s\n", err->message);
    return err->status == 422 ? 2 : 1;
}

static int list_departments(PGconn *conn)
{
    struct ed_error err = {0};
    json_t *rows = record_places_list(conn, 0, &err), *row;
    size_t i;

    if (!rows)
        return refused(&err);
    printf("%-6s %-16s %-5s %-24s %s\n", "id", "code", "beds", "retired", "name");
    json_array_foreach (rows, i, row) {
        const char *retired = json_string_value(json_object_get(row, "retired_at"));
        printf("%-6lld %-16s %-5lld %-24s %s\n",
               (long long)json_integer_value(json_object_get(row, "id")),
               json_string_value(json_object_get(row, "code")),
               (long long)json_integer_value(json_object_get(row, "beds")), retired ? retired : "-",
               json_string_value(json_object_get(row, "name")));
    }
    json_decref(rows);
    return 0;
}

static int list_beds(PGconn *conn, long long department_id)
{
    struct ed_error err = {0};
    json_t *rows = record_places_list(conn, department_id, &err), *row;
    size_t i;

    if (!rows)
        return refused(&err);
    printf("%-6s %-12s %-24s %s\n", "id", "area", "retired", "label");
    json_array_foreach (rows, i, row) {
        const char *retired = json_string_value(json_object_get(row, "retired_at"));
        printf("%-6lld %-12s %-24s %s\n", (long long)json_integer_value(json_object_get(row, "id")),
               json_string_value(json_object_get(row, "area")), retired ? retired : "-",
               json_string_value(json_object_get(row, "label")));
    }
    json_decref(rows);
    return 0;
}

static int department_setting(PGconn *conn, long long id, const char *key, const char *value)
{
    struct ed_error err = {0};
    char detail[160];

    if (!record_department_set(conn, id, key, value, detail, sizeof detail, &err)) {
        fprintf(stderr, "edlivectl: %s\n", err.message);
        if (err.status == 400)
            return department_usage();
        return err.status == 422 ? 2 : 1;
    }
    printf("%s\n", detail);
    return 0;
}

int ctl_department(PGconn *conn, int argc, char **argv)
{
    struct ed_error err = {0};
    long long id;
    const char *verb = argc > 0 ? argv[0] : "";

    if (argc == 1 && !strcmp(verb, "list"))
        return list_departments(conn);
    if (argc == 3 && !strcmp(verb, "create")) {
        if (!record_department_create(conn, argv[1], argv[2], &id, &err))
            return refused(&err);
        printf("department %lld (%s) created\n", id, argv[1]);
        return 0;
    }
    if (!((argc == 4 && !strcmp(verb, "set")) || (argc == 3 && !strcmp(verb, "rename")) ||
          (argc == 2 && !strcmp(verb, "retire"))))
        return department_usage();
    if (!(id = id_argument("department id", argv[1])))
        return 2;
    if (!strcmp(verb, "set"))
        return department_setting(conn, id, argv[2], argv[3]);
    if (!strcmp(verb, "rename") ? !record_department_rename(conn, id, argv[2], &err)
                                : !record_department_retire(conn, id, &err))
        return refused(&err);
    printf("department %lld %s\n", id, !strcmp(verb, "rename") ? "renamed" : "retired");
    return 0;
}

int ctl_bed(PGconn *conn, int argc, char **argv)
{
    struct ed_error err = {0};
    long long id, bed_id;
    const char *verb = argc > 0 ? argv[0] : "";

    if (!((argc == 2 && !strcmp(verb, "list")) || (argc == 4 && !strcmp(verb, "create")) ||
          (argc == 3 && !strcmp(verb, "rename")) || (argc == 2 && !strcmp(verb, "retire"))))
        return bed_usage();
    if (!(id = id_argument(strcmp(verb, "list") && strcmp(verb, "create") ? "bed id"
                                                                          : "department id",
                           argv[1])))
        return 2;
    if (!strcmp(verb, "list"))
        return list_beds(conn, id);
    if (!strcmp(verb, "create")) {
        if (!record_bed_create(conn, id, argv[2], argv[3], &bed_id, &err))
            return refused(&err);
        printf("bed %lld created in department %lld\n", bed_id, id);
        return 0;
    }
    if (!strcmp(verb, "rename") ? !record_bed_rename(conn, id, argv[2], &err)
                                : !record_bed_retire(conn, id, &err))
        return refused(&err);
    printf("bed %lld %s\n", id, !strcmp(verb, "rename") ? "renamed" : "retired");
    return 0;
}
