/* SPDX-License-Identifier: MIT */
/* config.h: every setting comes from the environment. Each service lists its settings once,
 * in a table (name, kind, default, help) indexed by its own enum; config_load reads and checks
 * them all at start-up, so a bad value stops the service with a message naming the setting,
 * and the same table prints `--help` and the README's settings table (deploy/settings-table). */
#ifndef EDLIVE_CONFIG_H
#define EDLIVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

enum config_kind {
    CONFIG_TEXT,           /* any string */
    CONFIG_INT,            /* an integer in [min, max] */
    CONFIG_PORT,           /* a TCP port 1-65535 */
    CONFIG_FLAG,           /* 0 or 1 */
    CONFIG_HOST_PORT,      /* host:port (the host up to 255 bytes) */
    CONFIG_LISTEN,         /* an IP address literal or a network interface of this machine */
    CONFIG_HOST_PORT_LIST, /* host:port,host:port,... (up to CONFIG_MAX_HOST_PORTS); "" = none */
    CONFIG_CIDR_LIST,      /* addresses or networks, IPv4 or IPv6: 10.0.0.0/8,::1 (config_cidr) */
};

struct config_setting {
    const char *name; /* the environment variable, EDLIVE_... */
    enum config_kind kind;
    const char *fallback; /* the default, as it would be written in the environment; NULL: unset */
    long min, max;        /* CONFIG_INT only */
    const char *help;     /* one line for --help and the README (Markdown allowed) */
    bool shared;          /* described in config.c's shared table (CONFIG_SHARED) */
};

struct config_value {
    const char *text; /* in force: the environment's value or the default; NULL when unset */
    long number;      /* CONFIG_INT, CONFIG_PORT, CONFIG_FLAG; the port of CONFIG_HOST_PORT */
    char host[256];   /* CONFIG_HOST_PORT */
};

struct config {
    const char *program;                   /* "ed-api" */
    const char *summary;                   /* one line for --help */
    const struct config_setting *settings; /* indexed by the service's own enum */
    size_t count;
    struct config_value *values; /* count entries, filled by config_load */
};

/* Reads and checks every setting. `--help` prints the program's settings and exits 0;
 * `--settings-tsv` prints name<TAB>default<TAB>help per line (for deploy/settings-table) and
 * exits 0; `--check-settings` checks every setting and exits 0 when all are good, else 2
 * (edlivectl doctor); any other argument, or a bad value, prints what is wrong, naming the
 * setting, and exits 2. extra_usage (may be NULL) is printed under the summary by --help. */
void config_load(struct config *cfg, int argc, char **argv, const char *extra_usage);

/* Only the settings check, for a program with arguments of its own (edlivectl): returns
 * false with the message logged instead of exiting. --help/--settings-tsv are not handled. */
bool config_check(struct config *cfg);

/* The description of cfg's setting i (for a shared setting, config.c's). */
const struct config_setting *config_describe(const struct config *cfg, size_t i);

/* Prints the settings section of --help to stderr. */
void config_print_help(const struct config *cfg);

/* The value in force (NULL when unset with no default) and its number. */
const char *config_text(const struct config *cfg, size_t setting);
long config_number(const struct config *cfg, size_t setting);
const char *config_host(const struct config *cfg, size_t setting);

/* One host:port of a CONFIG_HOST_PORT_LIST. */
#define CONFIG_MAX_HOST_PORTS 8
struct config_host_port {
    char host[256];
    int port;
};

/* Parses a comma-separated host:port list (blanks around an item are ignored), each item read as
 * CONFIG_HOST_PORT reads one (the port after the last ':'). "" and NULL are an empty list.
 * Returns how many it put in out, or -1 when an item is not host:port (that item, or "too many",
 * copied into bad) or the list has more than max items. */
int config_parse_host_port_list(const char *text, struct config_host_port *out, int max, char *bad,
                                size_t bad_size);

/* One address or network of a CONFIG_CIDR_LIST (an address alone: /32 or /128). */
#define CONFIG_MAX_CIDRS 32
struct config_cidr {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* network byte order, host bits cleared; 4 bytes for AF_INET */
    int prefix;             /* 0-32 or 0-128 */
};

/* Parses a comma-separated list of addresses and networks (10.0.0.0/8, 127.0.0.1, fd00::/8;
 * blanks around an item are ignored). Returns how many it put in out, or -1 when an item is
 * neither (that item copied into bad) or there are more than max. */
int config_parse_cidr_list(const char *text, struct config_cidr *out, int max, char *bad,
                           size_t bad_size);

/* True when addr, an IP address as text (an IPv4-mapped IPv6 address counts as the IPv4 one),
 * lies in one of the n networks of list. */
bool config_cidr_match(const struct config_cidr *list, int n, const char *addr);

/* 1 when iface (EDLIVE_LISTEN) is an IPv4 address literal such as 127.0.0.1. lws 4.1.6 built
 * with IPv6 opens an AF_INET6 socket and, failing to match an IPv4 literal on it, binds the
 * wildcard address (every interface); the services then turn IPv6 off so lws binds the IPv4
 * address itself. */
int config_listen_is_ipv4(const char *iface);

/* 1 when lws can listen on iface only; 0 (logged, the service then refuses to start) when the
 * network interfaces cannot be listed. lws 4.1.6 looks iface up among them (getifaddrs, a
 * netlink socket) before reading it as an address, and when it cannot list them (a sandbox
 * refusing netlink: systemd's RestrictAddressFamilies without AF_NETLINK) binds every address
 * while the service believes it listens on iface. */
int config_listen_honoured(const char *iface);

/* A number constant as the text of a default: CONFIG_NUMBER_TEXT(HUB_DEFAULT_STALL_S). */
#define CONFIG_NUMBER_TEXT(n)  CONFIG_NUMBER_TEXT_(n)
#define CONFIG_NUMBER_TEXT_(n) #n

/* A setting several programs read (EDLIVE_PG, EDLIVE_REDIS, EDLIVE_REDIS_SENTINELS,
 * EDLIVE_REDIS_MASTER, EDLIVE_LISTEN, EDLIVE_PROTO_DIR,
 * EDLIVE_ALLOWED_ORIGINS, EDLIVE_SESSION_IDLE_S, EDLIVE_SESSION_MAX_S, EDLIVE_TLS_CERT,
 * EDLIVE_TLS_KEY): a program's table names it and config.c describes it once. */
#define CONFIG_SHARED(env_name)          \
    {                                    \
        .name = env_name, .shared = true \
    }

#endif
