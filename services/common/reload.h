/* SPDX-License-Identifier: MIT */
/* reload.h: SIGHUP reloads what can change without a restart: the log level and the TLS
 * certificate. A process cannot see a changed environment, so the settings are re-read from
 * the files EDLIVE_ENV_FILES names (the systemd units' EnvironmentFile= files); only
 * EDLIVE_LOG_LEVEL, EDLIVE_TLS_CERT and EDLIVE_TLS_KEY are taken from them, each checked as at
 * start-up (a bad value keeps the old one, with a warning naming the setting); any other
 * setting that changed is named in a warning: it needs a restart. Without EDLIVE_ENV_FILES a
 * SIGHUP still re-reads the certificate files at the same paths (certbot-style renewal) and
 * reopens the log file.
 *
 * No signal handler runs service code: reload_init blocks SIGHUP in every thread and one thread
 * waits for it (sigwait), raises a flag and wakes the main loop (reload_set_wake, e.g.
 * lws_cancel_service), which then calls reload_apply itself, between two rounds of its work. */
#ifndef EDLIVE_RELOAD_H
#define EDLIVE_RELOAD_H

#include <stdbool.h>

#include "config.h"

/* Right after config_load, before any other thread starts (they inherit the blocked SIGHUP).
 * Reads env_files (EDLIVE_ENV_FILES, may be empty) once: a later SIGHUP compares with them, so
 * what changed is what changed in the files since start. */
void reload_init(const char *env_files);

/* Called (from the waiting thread) after each SIGHUP, to wake the main loop; may be NULL. */
void reload_set_wake(void (*wake)(void *arg), void *arg);

/* True once per SIGHUP (or several close together): the main loop then calls reload_apply. */
bool reload_requested(void);

/* The TLS certificate and key in force. reload_apply fills them: when EDLIVE_ENV_FILES gives
 * new paths they replace these; on a bad value they stay. cert NULL: no TLS in this service. */
struct reload_tls {
    char cert[1024];
    char key[1024];
    bool on;
};

/* Re-reads EDLIVE_ENV_FILES (when set) against cfg, the program's settings in force: applies
 * EDLIVE_LOG_LEVEL, names each other changed setting of cfg in a warning (never its value),
 * updates tls (when not NULL) from EDLIVE_TLS_CERT/KEY, and reopens the log file. The caller
 * then loads tls's files (reload_tls_load). Never exits. */
void reload_apply(const struct config *cfg, const char *env_files, struct reload_tls *tls);

/* Loads tls's certificate chain and key into a fresh SSL_CTX and checks they match; only then
 * puts them on live (an OpenSSL SSL_CTX *: new connections get them, open ones keep theirs).
 * On any failure live is untouched and the reason is logged. */
bool reload_tls_load(void *live_ssl_ctx, const struct reload_tls *tls);

#endif
