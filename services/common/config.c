/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

const char *config_str(const char *name, const char *fallback)
{
    const char *v = getenv(name);

    return v && v[0] ? v : fallback;
}

int config_port(const char *name, int fallback)
{
    const char *v = getenv(name);
    char *end;
    long port;

    if (!v || !v[0])
        return fallback;
    port = strtol(v, &end, 10);
    if (*end || port < 1 || port > 65535) {
        log_error("%s must be a TCP port 1-65535", name);
        exit(2);
    }
    return (int)port;
}

void config_redis(char *host, int *port)
{
    const char *v = config_str("EDLIVE_REDIS", "127.0.0.1:6379");
    const char *colon = strrchr(v, ':');
    char *end;
    long p;

    if (!colon || colon == v || (size_t)(colon - v) >= 256) {
        log_error("EDLIVE_REDIS must be host:port");
        exit(2);
    }
    p = strtol(colon + 1, &end, 10);
    if (*end || p < 1 || p > 65535) {
        log_error("EDLIVE_REDIS must be host:port");
        exit(2);
    }
    memcpy(host, v, (size_t)(colon - v));
    host[colon - v] = '\0';
    *port = (int)p;
}

int config_int(const char *name, int fallback, int min, int max)
{
    const char *v = getenv(name);
    char *end;
    long n;

    if (!v || !v[0])
        return fallback;
    n = strtol(v, &end, 10);
    if (*end || n < min || n > max) {
        log_error("%s must be an integer %d-%d", name, min, max);
        exit(2);
    }
    return (int)n;
}

int config_listen_is_ipv4(const char *iface)
{
    struct in_addr addr;

    return iface && inet_pton(AF_INET, iface, &addr) == 1;
}

const char *config_listen(void)
{
    const char *iface = config_str("EDLIVE_LISTEN", "127.0.0.1");
    struct in6_addr addr;

    /* lws 4.1.6 takes a name it cannot find as an interface that may come up later: it logs
     * "DOESN'T EXIST" and the service runs listening nowhere. A host name (localhost) is not
     * resolved at all. Refuse both at start-up instead. */
    if (inet_pton(AF_INET, iface, &addr) == 1 || inet_pton(AF_INET6, iface, &addr) == 1 ||
        if_nametoindex(iface) != 0)
        return iface;
    log_error("EDLIVE_LISTEN=%s is neither an IP address nor a network interface of this machine "
              "(for this machine only: 127.0.0.1)",
              iface);
    exit(2);
}
