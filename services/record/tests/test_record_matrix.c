/* SPDX-License-Identifier: MIT */
/* test_record_matrix.c: with no database, the permission matrix is exactly the table in
 * proto/README.md, and Origin checks match exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

/* The matrix's columns in proto/README.md, in order. */
static const unsigned doc_roles[] = {ROLE_PHYSICIAN,    ROLE_NURSE, ROLE_CHARGE_NURSE,
                                     ROLE_REGISTRATION, ROLE_ADMIN, ROLE_SERVICE,
                                     ROLE_DISPLAY};
#define NROLES (sizeof doc_roles / sizeof doc_roles[0])

static char *read_contract(void)
{
    FILE *f = fopen(PROTO_DIR "/README.md", "r");
    static char text[256 * 1024];
    size_t n;

    assert_non_null(f);
    n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static enum record_action action_named(const char *name)
{
    for (int a = 0; a < ACT_COUNT; a++)
        if (!strcmp(record_action_name((enum record_action)a), name))
            return (enum record_action)a;
    fail_msg("proto/README.md names an action the code does not have: %s", name);
    return ACT_COUNT;
}

/* Each row "| `action` | routes | cell | ... |": a cell "–" denies; anything else ("yes",
 * "self only", "masked") allows, the narrowing being the route's own business. */
static void test_matrix_is_the_contract(void **state)
{
    char *text = read_contract();
    char *section = strstr(text, "### Permission matrix");
    bool documented[ACT_COUNT] = {false};
    int rows = 0;

    (void)state;
    assert_non_null(section);
    char *next_section = strstr(section + 1, "\n### ");

    for (char *line = strstr(section, "\n| `"); line && (!next_section || line < next_section);
         line = strstr(line + 1, "\n| `")) {
        char *end = strchr(line + 1, '\n'), *cell, name[64];
        enum record_action a;

        assert_int_equal(sscanf(line, "\n| `%63[^`]`", name), 1);
        a = action_named(name);
        assert_false(documented[a]); /* each action once */
        documented[a] = true;
        cell = strchr(line + 3, '|'); /* after the action */
        cell = strchr(cell + 1, '|'); /* after the routes */
        for (size_t r = 0; r < NROLES; r++) {
            struct principal who = {.roles = doc_roles[r]};
            char *bar = strchr(cell + 1, '|');
            char value[32];

            assert_non_null(bar);
            assert_true(bar < end);
            assert_int_equal(sscanf(cell + 1, " %31[^|]", value), 1);
            for (size_t k = strlen(value); k > 0 && value[k - 1] == ' '; k--)
                value[k - 1] = '\0';
            if (record_allows(&who, a) != (strcmp(value, "–") != 0))
                fail_msg("%s for role column %zu: the contract says \"%s\", the code %s", name,
                         r + 1, value, record_allows(&who, a) ? "allows" : "denies");
            cell = bar;
        }
        rows++;
    }
    for (int a = 0; a < ACT_COUNT; a++)
        if (!documented[a])
            fail_msg("action %s is not in proto/README.md's matrix",
                     record_action_name((enum record_action)a));
    assert_int_equal(rows, ACT_COUNT);
}

static void test_matrix_denies_by_default(void **state)
{
    struct principal nobody = {.roles = 0};

    (void)state;
    for (int a = 0; a < ACT_COUNT; a++)
        assert_false(record_allows(&nobody, (enum record_action)a));
    assert_false(record_allows(NULL, ACT_BOARD_READ));
    assert_false(record_allows(&(struct principal){.roles = ROLE_PHYSICIAN}, ACT_COUNT));
}

static void test_origin_exact_match_only(void **state)
{
    const char *allowed = "https://127.0.0.1:8443, https://localhost:8443";

    (void)state;
    assert_true(record_origin_allowed(allowed, "https://127.0.0.1:8443"));
    assert_true(record_origin_allowed(allowed, "https://localhost:8443"));
    assert_false(record_origin_allowed(allowed, "https://localhost:8443.evil.example"));
    assert_false(record_origin_allowed(allowed, "https://localhost"));
    assert_false(record_origin_allowed(allowed, "http://localhost:8443"));
    assert_false(record_origin_allowed(allowed, "https://127.0.0.1:844"));
    assert_false(record_origin_allowed(allowed, "null"));
    assert_false(record_origin_allowed(allowed, ""));
    assert_false(record_origin_allowed("", "https://localhost:8443"));
    assert_false(record_origin_allowed(NULL, "https://localhost:8443"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_is_the_contract),
        cmocka_unit_test(test_matrix_denies_by_default),
        cmocka_unit_test(test_origin_exact_match_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
