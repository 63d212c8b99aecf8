/* SPDX-License-Identifier: MIT */
/* test_redis_target.c: EDLIVE_REDIS_SENTINELS as ed-relay and ed-hub read it at start-up
 * (config.c's host:port list) and what redis_target makes of it; the -READONLY check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "redis_target.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_list_accepted(void **state)
{
    struct config_host_port list[CONFIG_MAX_HOST_PORTS];
    char bad[256] = "";

    (void)state;
    assert_int_equal(config_parse_host_port_list("", list, CONFIG_MAX_HOST_PORTS, bad, sizeof bad),
                     0);
    assert_int_equal(
        config_parse_host_port_list(NULL, list, CONFIG_MAX_HOST_PORTS, bad, sizeof bad), 0);
    assert_int_equal(config_parse_host_port_list("127.0.0.1:26379", list, CONFIG_MAX_HOST_PORTS,
                                                 bad, sizeof bad),
                     1);
    assert_string_equal(list[0].host, "127.0.0.1");
    assert_int_equal(list[0].port, 26379);

    /* Blanks after a comma (as people write lists) are not part of the host. */
    assert_int_equal(config_parse_host_port_list("127.0.0.1:56715, 127.0.0.1:56716 ,redis-s3:1",
                                                 list, CONFIG_MAX_HOST_PORTS, bad, sizeof bad),
                     3);
    assert_string_equal(list[0].host, "127.0.0.1");
    assert_int_equal(list[0].port, 56715);
    assert_string_equal(list[1].host, "127.0.0.1");
    assert_int_equal(list[1].port, 56716);
    assert_string_equal(list[2].host, "redis-s3");
    assert_int_equal(list[2].port, 1);

    /* The port is after the last ':', as EDLIVE_REDIS reads it: an IPv6 literal works. */
    assert_int_equal(
        config_parse_host_port_list("::1:65535", list, CONFIG_MAX_HOST_PORTS, bad, sizeof bad), 1);
    assert_string_equal(list[0].host, "::1");
    assert_int_equal(list[0].port, 65535);
}

static void test_list_refused(void **state)
{
    static const char *const refused[] = {
        "127.0.0.1",                               /* no port */
        "127.0.0.1:",                              /* empty port */
        ":26379",                                  /* no host */
        "127.0.0.1:0",                             /* port out of range */
        "127.0.0.1:65536",                         /* port out of range */
        "127.0.0.1:263x9",                         /* not a number */
        "127.0.0.1:26379,",                        /* an empty item */
        ",127.0.0.1:26379", "a:1,,b:2", "a:1;b:2", /* the separator is a comma */
        "a:1 b:2",
    };
    struct config_host_port list[CONFIG_MAX_HOST_PORTS];
    int failures = 0;

    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(refused); i++) {
        char bad[256] = "";
        int n =
            config_parse_host_port_list(refused[i], list, CONFIG_MAX_HOST_PORTS, bad, sizeof bad);
        if (n != -1 || !strstr(bad, "is not host:port")) {
            print_error("\"%s\": expected refused, got %d (%s)\n", refused[i], n, bad);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_list_too_long(void **state)
{
    struct config_host_port list[CONFIG_MAX_HOST_PORTS];
    char text[512] = "", bad[256] = "";

    (void)state;
    for (int i = 0; i < CONFIG_MAX_HOST_PORTS; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "%sh%d:%d", i ? "," : "", i,
                 26379 + i);
    assert_int_equal(
        config_parse_host_port_list(text, list, CONFIG_MAX_HOST_PORTS, bad, sizeof bad),
        CONFIG_MAX_HOST_PORTS);
    assert_string_equal(list[CONFIG_MAX_HOST_PORTS - 1].host, "h7");
    strcat(text, ",h8:1");
    assert_int_equal(
        config_parse_host_port_list(text, list, CONFIG_MAX_HOST_PORTS, bad, sizeof bad), -1);
    assert_non_null(strstr(bad, "more than 8"));
}

/* The rows ed-relay and ed-hub have, checked as at their start-up. */
enum { S_REDIS, S_SENTINELS, S_MASTER, S_COUNT };
static const struct config_setting settings[S_COUNT] = {
    [S_REDIS] = CONFIG_SHARED("EDLIVE_REDIS"),
    [S_SENTINELS] = CONFIG_SHARED("EDLIVE_REDIS_SENTINELS"),
    [S_MASTER] = CONFIG_SHARED("EDLIVE_REDIS_MASTER"),
};
static struct config_value values[S_COUNT];
static struct config cfg = {"test", "test", settings, S_COUNT, values};

static void test_startup_check(void **state)
{
    (void)state;
    unsetenv("EDLIVE_REDIS");
    unsetenv("EDLIVE_REDIS_SENTINELS");
    unsetenv("EDLIVE_REDIS_MASTER");
    assert_true(config_check(&cfg));
    assert_null(config_text(&cfg, S_SENTINELS)); /* unset: not used */
    assert_string_equal(config_text(&cfg, S_MASTER), "edlive");

    setenv("EDLIVE_REDIS_SENTINELS", "127.0.0.1:56715,127.0.0.1:56716,127.0.0.1:56717", 1);
    setenv("EDLIVE_REDIS_MASTER", "ed-east", 1);
    assert_true(config_check(&cfg));
    assert_string_equal(config_text(&cfg, S_MASTER), "ed-east");

    setenv("EDLIVE_REDIS_SENTINELS", "127.0.0.1:56715,127.0.0.1", 1); /* stops the service */
    assert_false(config_check(&cfg));
    setenv("EDLIVE_REDIS_SENTINELS", "127.0.0.1:56715,127.0.0.1:99999", 1);
    assert_false(config_check(&cfg));
    unsetenv("EDLIVE_REDIS_SENTINELS");
    unsetenv("EDLIVE_REDIS_MASTER");
}

static void test_target(void **state)
{
    struct redis_target *t;

    (void)state;
    t = redis_target_new("127.0.0.1", 6379, "", "edlive");
    assert_non_null(t);
    assert_false(redis_target_uses_sentinels(t));
    assert_string_equal(redis_target_name(t), "127.0.0.1:6379");
    assert_int_equal(redis_target_retry_ms(t), REDIS_RETRY_MS);
    redis_target_free(t);

    t = redis_target_new("127.0.0.1", 6379, "127.0.0.1:56715, 127.0.0.1:56716", "edlive");
    assert_non_null(t);
    assert_true(redis_target_uses_sentinels(t));
    assert_string_equal(redis_target_name(t), "master edlive of 2 Sentinel(s)");
    assert_int_equal(redis_target_retry_ms(t), REDIS_SENTINEL_RETRY_MS);
    redis_target_free(t);

    assert_null(redis_target_new("127.0.0.1", 6379, "127.0.0.1", "edlive"));
}

static void test_readonly_reply(void **state)
{
    char readonly[] = "READONLY You can't write against a read only replica.";
    char other[] = "ERR syntax error";
    char equal[] =
        "ERR The ID specified in XADD is equal or smaller than the target stream top item";
    redisReply reply = {.type = REDIS_REPLY_ERROR, .str = readonly, .len = strlen(readonly)};

    (void)state;
    assert_true(redis_reply_is_readonly(&reply));
    reply.str = other;
    assert_false(redis_reply_is_readonly(&reply));
    reply.str = equal;
    assert_false(redis_reply_is_readonly(&reply));
    reply.type = REDIS_REPLY_STATUS; /* "+READONLY" would not be a refusal */
    reply.str = readonly;
    assert_false(redis_reply_is_readonly(&reply));
    assert_false(redis_reply_is_readonly(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_accepted), cmocka_unit_test(test_list_refused),
        cmocka_unit_test(test_list_too_long), cmocka_unit_test(test_startup_check),
        cmocka_unit_test(test_target),        cmocka_unit_test(test_readonly_reply),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
