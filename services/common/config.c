/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static const char *const kind_words[] = {
    [CONFIG_TEXT] = "text",
    [CONFIG_INT] = "integer",
    [CONFIG_PORT] = "TCP port",
    [CONFIG_FLAG] = "0 or 1",
    [CONFIG_HOST_PORT] = "host:port",
    [CONFIG_LISTEN] = "address",
    [CONFIG_HOST_PORT_LIST] = "host:port list",
    [CONFIG_CIDR_LIST] = "address/network list",
};

/* The settings several programs read, each described once. One row a line (the help is
 * long) so the table reads as a table. */
/* clang-format off */
static const struct config_setting shared_settings[] = {
    {"EDLIVE_PG", CONFIG_TEXT, "dbname=edlive", 0, 0, "libpq connection string of the record, e.g. `host=127.0.0.1 port=55480 dbname=edlive user=edlive_app` (the services' role: no UPDATE/DELETE on the audit log); edlivectl runs as the owner `user=edlive` (`EDLIVE_PG_OWNER` in the env file)", false},
    {"EDLIVE_PG_REPLICA", CONFIG_TEXT, "", 0, 0, "libpq connection string of a streaming replica of `EDLIVE_PG`: ed-hub reads board snapshots and missed events there when it has the seq needed, else from `EDLIVE_PG`; e.g. `host=127.0.0.1,127.0.0.1 port=55481,55480 dbname=edlive user=edlive_app target_session_attrs=prefer-standby` (after a promotion it lands on the new primary by itself); empty: everything from `EDLIVE_PG`", false},
    {"EDLIVE_REDIS", CONFIG_HOST_PORT, "127.0.0.1:6379", 0, 0, "Redis host:port (the event streams); not used when `EDLIVE_REDIS_SENTINELS` is set", false},
    {"EDLIVE_REDIS_SENTINELS", CONFIG_HOST_PORT_LIST, NULL, 0, 0, "Redis Sentinels, comma-separated host:port, e.g. `127.0.0.1:26379,127.0.0.1:26380`: each (re)connect asks them for the primary of `EDLIVE_REDIS_MASTER` and follows a failover; empty: `EDLIVE_REDIS` only", false},
    {"EDLIVE_REDIS_MASTER", CONFIG_TEXT, "edlive", 0, 0, "the master name the Sentinels watch (`sentinel monitor <name> ...`); only with `EDLIVE_REDIS_SENTINELS`", false},
    {"EDLIVE_LISTEN", CONFIG_LISTEN, "127.0.0.1", 0, 0, "the one address the service listens on: an IPv4 or IPv6 address or an interface name (`lo`); anything else, a host name such as `localhost` included, stops it at start-up", false},
    {"EDLIVE_PROTO_DIR", CONFIG_TEXT, EDLIVE_DEFAULT_PROTO_DIR, 0, 0, "folder of the wire contract's JSON Schemas", false},
    {"EDLIVE_ALLOWED_ORIGINS", CONFIG_TEXT, "", 0, 0, "pages allowed to open the WebSocket and to write with the session cookie, comma-separated, e.g. `https://127.0.0.1:8443,https://localhost:8443`", false},
    {"EDLIVE_SESSION_IDLE_S", CONFIG_INT, "900", 1, 86400, "a session unused this long (seconds) is over", false},
    {"EDLIVE_SESSION_MAX_S", CONFIG_INT, "43200", 1, 2592000, "a session's absolute lifetime (seconds)", false},
    {"EDLIVE_TLS_CERT", CONFIG_TEXT, NULL, 0, 0, "PEM certificate: set it (and `EDLIVE_TLS_KEY`) to serve TLS 1.2+ from the service itself; unset behind nginx", false},
    {"EDLIVE_TLS_KEY", CONFIG_TEXT, NULL, 0, 0, "PEM private key of `EDLIVE_TLS_CERT`", false},
    {"EDLIVE_TRUSTED_PROXIES", CONFIG_CIDR_LIST, "127.0.0.1,::1", 0, 0, "the reverse proxies (nginx) whose `X-Real-IP` header is believed as the client's address (audit rows, sign-in back-off), comma-separated addresses or networks, IPv4 or IPv6, e.g. `127.0.0.1,::1,10.42.0.0/16`; from any other peer the header is ignored and the peer is the client", false},
    {"EDLIVE_ENV_FILES", CONFIG_TEXT, "", 0, 0, "env files re-read on SIGHUP, colon-separated (the systemd units: their `EnvironmentFile=` files): `EDLIVE_LOG_LEVEL`, `EDLIVE_TLS_CERT` and `EDLIVE_TLS_KEY` are taken from them, any other changed setting is named in a warning (it needs a restart); empty: SIGHUP re-reads the certificate files at the same paths and reopens the log file", false},
};
/* clang-format on */

/* The description of a program's row: its own, or the shared one it names. */
static const struct config_setting *described(const struct config_setting *row)
{
    if (!row->shared)
        return row;
    for (size_t i = 0; i < sizeof shared_settings / sizeof shared_settings[0]; i++)
        if (!strcmp(shared_settings[i].name, row->name))
            return &shared_settings[i];
    log_error("internal: %s is not one of the shared settings (config.c)", row->name);
    exit(2);
}

static bool parse_long(const char *text, long min, long max, long *out)
{
    char *end;
    long n;

    if (!text[0])
        return false;
    n = strtol(text, &end, 10);
    if (*end || n < min || n > max)
        return false;
    *out = n;
    return true;
}

/* One host:port of len bytes (the port after the last ':'); false when it is not one. */
static bool parse_host_port(const char *text, size_t len, char host[256], long *port)
{
    char item[256 + 8];
    const char *colon;

    if (len == 0 || len >= sizeof item)
        return false;
    memcpy(item, text, len);
    item[len] = '\0';
    colon = strrchr(item, ':');
    if (!colon || colon == item || (size_t)(colon - item) >= 256 ||
        !parse_long(colon + 1, 1, 65535, port))
        return false;
    memcpy(host, item, (size_t)(colon - item));
    host[colon - item] = '\0';
    return true;
}

int config_parse_host_port_list(const char *text, struct config_host_port *out, int max, char *bad,
                                size_t bad_size)
{
    int count = 0;

    if (!text)
        return 0;
    while (*text == ' ')
        text++;
    if (!*text)
        return 0;
    for (;;) {
        const char *end = strchr(text, ',');
        size_t len = end ? (size_t)(end - text) : strlen(text);
        long port;

        while (len > 0 && text[len - 1] == ' ')
            len--;
        if (count == max) {
            snprintf(bad, bad_size, "more than %d entries", max);
            return -1;
        }
        /* A blank or ';' inside an item is a mistyped separator, not part of a host name. */
        if (!parse_host_port(text, len, out[count].host, &port) ||
            strcspn(out[count].host, " \t;") != strlen(out[count].host)) {
            snprintf(bad, bad_size, "\"%.*s\" is not host:port", (int)(len > 200 ? 200 : len),
                     text);
            return -1;
        }
        out[count++].port = (int)port;
        if (!end)
            return count;
        text = end + 1;
        while (*text == ' ')
            text++;
    }
}

/* One address or address/prefix of len bytes; false when it is neither. */
static bool parse_cidr(const char *text, size_t len, struct config_cidr *out)
{
    char item[64];
    char *slash;
    long prefix;
    int bytes;

    if (len == 0 || len >= sizeof item)
        return false;
    memcpy(item, text, len);
    item[len] = '\0';
    slash = strchr(item, '/');
    if (slash)
        *slash = '\0';
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, item, out->addr) == 1) {
        out->family = AF_INET;
        bytes = 4;
    } else if (inet_pton(AF_INET6, item, out->addr) == 1) {
        out->family = AF_INET6;
        bytes = 16;
    } else
        return false;
    if (!slash)
        prefix = bytes * 8;
    else if (!parse_long(slash + 1, 0, bytes * 8, &prefix))
        return false;
    out->prefix = (int)prefix;
    /* Host bits are cleared (10.1.2.3/8 is 10.0.0.0/8), as nginx's set_real_ip_from does. */
    for (int bit = out->prefix; bit < bytes * 8; bit++)
        out->addr[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
    return true;
}

int config_parse_cidr_list(const char *text, struct config_cidr *out, int max, char *bad,
                           size_t bad_size)
{
    int count = 0;

    if (!text)
        return 0;
    for (;;) {
        const char *end;
        size_t len;

        while (*text == ' ')
            text++;
        end = strchr(text, ',');
        len = end ? (size_t)(end - text) : strlen(text);
        while (len > 0 && text[len - 1] == ' ')
            len--;
        if (!end && len == 0 && count == 0)
            return 0;
        if (count == max) {
            snprintf(bad, bad_size, "more than %d entries", max);
            return -1;
        }
        if (!parse_cidr(text, len, &out[count])) {
            snprintf(bad, bad_size, "\"%.*s\" is not an address or address/prefix",
                     (int)(len > 100 ? 100 : len), text);
            return -1;
        }
        count++;
        if (!end)
            return count;
        text = end + 1;
    }
}

bool config_cidr_match(const struct config_cidr *list, int n, const char *addr)
{
    static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    unsigned char bytes[16];
    int family;

    if (!addr)
        return false;
    if (inet_pton(AF_INET, addr, bytes) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, addr, bytes) == 1) {
        family = AF_INET6;
        if (!memcmp(bytes, v4_mapped, sizeof v4_mapped)) { /* ::ffff:127.0.0.1 */
            memmove(bytes, bytes + 12, 4);
            family = AF_INET;
        }
    } else
        return false;
    for (int i = 0; i < n; i++) {
        const struct config_cidr *c = &list[i];
        int whole = c->prefix / 8, rest = c->prefix % 8;

        if (c->family != family || memcmp(c->addr, bytes, (size_t)whole) != 0)
            continue;
        if (rest == 0 || ((bytes[whole] ^ c->addr[whole]) & (0xff00u >> rest) & 0xff) == 0)
            return true;
    }
    return false;
}

/* Fills value from text; false with a message naming the setting when text does not fit. */
static bool take(const struct config_setting *s, const char *text, struct config_value *value)
{
    struct in6_addr addr;
    struct config_host_port list[CONFIG_MAX_HOST_PORTS];
    struct config_cidr cidrs[CONFIG_MAX_CIDRS];
    char bad[256];

    value->text = text;
    if (!text)
        return true;
    switch (s->kind) {
    case CONFIG_TEXT:
        return true;
    case CONFIG_INT:
        if (parse_long(text, s->min, s->max, &value->number))
            return true;
        log_error("%s=%s: must be an integer %ld-%ld", s->name, text, s->min, s->max);
        return false;
    case CONFIG_PORT:
        if (parse_long(text, 1, 65535, &value->number))
            return true;
        log_error("%s=%s: must be a TCP port 1-65535", s->name, text);
        return false;
    case CONFIG_FLAG:
        if (parse_long(text, 0, 1, &value->number))
            return true;
        log_error("%s=%s: must be 0 or 1", s->name, text);
        return false;
    case CONFIG_HOST_PORT:
        if (parse_host_port(text, strlen(text), value->host, &value->number))
            return true;
        log_error("%s=%s: must be host:port", s->name, text);
        return false;
    case CONFIG_HOST_PORT_LIST:
        if (config_parse_host_port_list(text, list, CONFIG_MAX_HOST_PORTS, bad, sizeof bad) >= 0)
            return true;
        log_error("%s=%s: must be comma-separated host:port (at most %d): %s", s->name, text,
                  CONFIG_MAX_HOST_PORTS, bad);
        return false;
    case CONFIG_CIDR_LIST:
        if (config_parse_cidr_list(text, cidrs, CONFIG_MAX_CIDRS, bad, sizeof bad) >= 0)
            return true;
        log_error("%s=%s: must be comma-separated addresses or networks (at most %d), e.g. "
                  "127.0.0.1,::1,10.0.0.0/8: %s",
                  s->name, text, CONFIG_MAX_CIDRS, bad);
        return false;
    case CONFIG_LISTEN:
        /* lws 4.1.6 takes a name it cannot find as an interface that may come up later: it
         * logs "DOESN'T EXIST" and the service runs listening nowhere. A host name (localhost)
         * is not resolved at all. Refuse both at start-up instead. */
        if (inet_pton(AF_INET, text, &addr) == 1 || inet_pton(AF_INET6, text, &addr) == 1 ||
            if_nametoindex(text) != 0)
            return true;
        log_error("%s=%s is neither an IP address nor a network interface of this machine "
                  "(for this machine only: 127.0.0.1)",
                  s->name, text);
        return false;
    }
    return false;
}

/* The log's settings, read by every program (log.h) after its own. */
/* clang-format off */
static const struct config_setting log_settings[] = {
    {"EDLIVE_LOG_LEVEL", CONFIG_TEXT, "info", 0, 0, "the lowest level logged: `debug`, `info`, `warn` or `error` (SIGHUP takes a new one from `EDLIVE_ENV_FILES`)", false},
    {"EDLIVE_LOG_FORMAT", CONFIG_TEXT, "json", 0, 0, "`json`: one JSON object a line (`time`, `level`, `service`, `msg`, and fields such as `request_id`, `route`, `status`, `duration_ms`, `user_id`); `text`: one readable line", false},
    {"EDLIVE_LOG_FILE", CONFIG_TEXT, NULL, 0, 0, "append the log to this file (reopened on SIGHUP, for logrotate); unset: stderr (the journal under systemd, `docker logs`)", false},
};
/* clang-format on */
#define LOG_SETTING_COUNT (sizeof log_settings / sizeof log_settings[0])

static bool apply_log_settings(void)
{
    const char *level = getenv("EDLIVE_LOG_LEVEL"), *format = getenv("EDLIVE_LOG_FORMAT");
    const char *file = getenv("EDLIVE_LOG_FILE");
    bool ok = true;

    if (format && format[0] && !log_set_format(format)) {
        log_error("EDLIVE_LOG_FORMAT=%.40s: must be json or text", format);
        ok = false;
    }
    /* After the format: its own complaint is written in the format asked for. */
    if (level && level[0] && !log_set_level(level)) {
        log_error("EDLIVE_LOG_LEVEL=%.40s: must be debug, info, warn or error", level);
        ok = false;
    }
    if (file && file[0] && !log_set_file(file)) {
        log_error("EDLIVE_LOG_FILE=%s: cannot be opened for appending", file);
        ok = false;
    }
    return ok;
}

bool config_check(struct config *cfg)
{
    bool ok = apply_log_settings();

    for (size_t i = 0; i < cfg->count; i++) {
        const struct config_setting *s = described(&cfg->settings[i]);
        const char *env = getenv(s->name);

        memset(&cfg->values[i], 0, sizeof cfg->values[i]);
        ok &= take(s, env && env[0] ? env : s->fallback, &cfg->values[i]);
    }
    return ok;
}

const struct config_setting *config_describe(const struct config *cfg, size_t i)
{
    return described(&cfg->settings[i]);
}

void config_print_help(const struct config *cfg)
{
    fprintf(stderr, "settings (environment):\n");
    for (size_t i = 0; i < cfg->count + LOG_SETTING_COUNT; i++) {
        const struct config_setting *s =
            i < cfg->count ? described(&cfg->settings[i]) : &log_settings[i - cfg->count];

        fprintf(stderr, "  %-26s %s", s->name, kind_words[s->kind]);
        if (s->kind == CONFIG_INT)
            fprintf(stderr, " %ld-%ld", s->min, s->max);
        fprintf(stderr, ", default %s\n      %s\n", s->fallback ? s->fallback : "unset", s->help);
    }
}

void config_load(struct config *cfg, int argc, char **argv, const char *extra_usage)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fprintf(stderr, "%s: %s\n", cfg->program, cfg->summary);
        if (extra_usage)
            fputs(extra_usage, stderr);
        config_print_help(cfg);
        exit(0);
    }
    if (argc > 1 && !strcmp(argv[1], "--settings-tsv")) {
        for (size_t i = 0; i < cfg->count + LOG_SETTING_COUNT; i++) {
            const struct config_setting *s =
                i < cfg->count ? described(&cfg->settings[i]) : &log_settings[i - cfg->count];

            printf("%s\t%s\t%s\n", s->name, s->fallback ? s->fallback : "", s->help);
        }
        exit(0);
    }
    /* `edlivectl doctor` asks each service whether the environment suits it, without starting
     * it: the problems are logged (naming each setting), the exit code says. */
    if (argc > 1 && !strcmp(argv[1], "--check-settings"))
        exit(config_check(cfg) ? 0 : 2);
    if (argc > 1) {
        log_error("unknown argument %s (settings come from the environment: %s --help)", argv[1],
                  cfg->program);
        exit(2);
    }
    if (!config_check(cfg))
        exit(2);
}

const char *config_text(const struct config *cfg, size_t setting)
{
    return cfg->values[setting].text;
}

long config_number(const struct config *cfg, size_t setting)
{
    return cfg->values[setting].number;
}

const char *config_host(const struct config *cfg, size_t setting)
{
    return cfg->values[setting].host;
}

int config_listen_is_ipv4(const char *iface)
{
    struct in_addr addr;

    return iface && inet_pton(AF_INET, iface, &addr) == 1;
}

int config_listen_honoured(const char *iface)
{
    struct ifaddrs *interfaces;

    if (!iface || !iface[0])
        return 1; /* every address was asked for */
    if (getifaddrs(&interfaces) != 0) {
        log_error("cannot list the network interfaces (%s), so EDLIVE_LISTEN=%s could not be "
                  "honoured (every address would be): allow netlink sockets (systemd: "
                  "RestrictAddressFamilies=... AF_NETLINK)",
                  strerror(errno), iface);
        return 0;
    }
    freeifaddrs(interfaces);
    return 1;
}
