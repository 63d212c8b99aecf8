/* SPDX-License-Identifier: MIT */
/* config.h: every setting comes from the environment (documented in README.md, Settings). */
#ifndef EDLIVE_CONFIG_H
#define EDLIVE_CONFIG_H

/* The variable's value, or fallback when unset or empty. */
const char *config_str(const char *name, const char *fallback);

/* The variable as a TCP port; exits with a message naming the variable when invalid. */
int config_port(const char *name, int fallback);

/* EDLIVE_REDIS "host:port" split; exits with a message when invalid. host has room for 256. */
void config_redis(char *host, int *port);

/* An integer setting in [min, max]; exits with a message naming it when malformed. */
int config_int(const char *name, int fallback, int min, int max);

/* EDLIVE_LISTEN (default 127.0.0.1): an IPv4 or IPv6 address or the name of a network
 * interface of this machine; exits with a message naming it otherwise (e.g. "localhost"). */
const char *config_listen(void);

/* 1 when iface (EDLIVE_LISTEN) is an IPv4 address literal such as 127.0.0.1. lws 4.1.6 built
 * with IPv6 opens an AF_INET6 socket and, failing to match an IPv4 literal on it, binds the
 * wildcard address (every interface); the services then turn IPv6 off so lws binds the IPv4
 * address itself. */
int config_listen_is_ipv4(const char *iface);

#endif
