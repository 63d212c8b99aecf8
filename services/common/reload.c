/* SPDX-License-Identifier: MIT */
#include "reload.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define ENV_MAX_ENTRIES 256

struct env_entry {
    char *name;
    char *value;
};

struct env_files {
    struct env_entry entries[ENV_MAX_ENTRIES];
    int count;
};

static atomic_bool requested;
/* Under wake_lock: once reload_set_wake(NULL, NULL) returns, no wake is under way (the main
 * loop may then destroy what it woke, the lws context). */
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*wake_fn)(void *);
static void *wake_arg;

/* The one thread that takes SIGHUP (blocked everywhere else): no code runs in a handler. */
static void *wait_for_sighup(void *unused)
{
    sigset_t hup;
    int sig;

    (void)unused;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    for (;;) {
        if (sigwait(&hup, &sig) != 0)
            continue;
        atomic_store(&requested, true);
        pthread_mutex_lock(&wake_lock);
        if (wake_fn)
            wake_fn(wake_arg);
        pthread_mutex_unlock(&wake_lock);
    }
    return NULL;
}

static bool env_files_read(struct env_files *env, const char *list);

/* The files as they were at start (the main loop's alone after reload_init). */
static struct env_files at_start;

void reload_init(const char *env_files)
{
    sigset_t hup;
    pthread_t thread;

    if (env_files && env_files[0])
        env_files_read(&at_start, env_files);

    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, NULL);
    if (pthread_create(&thread, NULL, wait_for_sighup, NULL) != 0) {
        log_warn("cannot start the SIGHUP thread: SIGHUP is ignored (restart to reload)");
        return;
    }
    pthread_detach(thread);
}

void reload_set_wake(void (*wake)(void *arg), void *arg)
{
    pthread_mutex_lock(&wake_lock);
    wake_fn = wake;
    wake_arg = arg;
    pthread_mutex_unlock(&wake_lock);
}

bool reload_requested(void)
{
    return atomic_exchange(&requested, false);
}

/* ---- the env files (systemd's EnvironmentFile= syntax: KEY=VALUE, # or ; comments) ---- */

static void env_files_free(struct env_files *env)
{
    for (int i = 0; i < env->count; i++) {
        free(env->entries[i].name);
        free(env->entries[i].value);
    }
    env->count = 0;
}

/* The value of one line's right-hand side: quotes removed, blanks around trimmed. */
static void unquote(char *value)
{
    size_t len;

    while (*value == ' ' || *value == '\t')
        memmove(value, value + 1, strlen(value));
    len = strlen(value);
    while (len > 0 && strchr(" \t\r\n", value[len - 1]))
        value[--len] = '\0';
    if (len >= 2 && (value[0] == '"' || value[0] == '\'') && value[len - 1] == value[0]) {
        memmove(value, value + 1, len - 2);
        value[len - 2] = '\0';
    }
}

static bool env_file_read(struct env_files *env, const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];

    if (!f) {
        log_warn("EDLIVE_ENV_FILES: cannot read %s (%s): settings unchanged", path,
                 strerror(errno));
        return false;
    }
    while (fgets(line, sizeof line, f)) {
        char *start = line, *eq;
        size_t name_len;

        while (*start == ' ' || *start == '\t')
            start++;
        if (!*start || strchr("#;\r\n", *start) || !(eq = strchr(start, '=')))
            continue;
        name_len = (size_t)(eq - start);
        while (name_len > 0 && strchr(" \t", start[name_len - 1]))
            name_len--;
        unquote(eq + 1);
        /* A later line or file overrides an earlier one, as systemd reads them. */
        int i;
        for (i = 0; i < env->count; i++)
            if (strlen(env->entries[i].name) == name_len &&
                !strncmp(env->entries[i].name, start, name_len))
                break;
        if (i == env->count) {
            if (env->count == ENV_MAX_ENTRIES)
                continue;
            env->entries[i].name = strndup(start, name_len);
            env->entries[i].value = NULL;
            env->count++;
        }
        free(env->entries[i].value);
        env->entries[i].value = strdup(eq + 1);
    }
    fclose(f);
    return true;
}

/* Reads every file of the colon-separated list; false (with a warning) when one cannot be read. */
static bool env_files_read(struct env_files *env, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    bool ok = true;

    for (char *path = strtok_r(copy, ":", &save); path && ok; path = strtok_r(NULL, ":", &save))
        ok = env_file_read(env, path);
    free(copy);
    if (!ok)
        env_files_free(env);
    return ok;
}

/* The value the files give name (NULL: not in them). */
static const char *env_files_get(const struct env_files *env, const char *name)
{
    for (int i = 0; i < env->count; i++)
        if (!strcmp(env->entries[i].name, name))
            return env->entries[i].value;
    return NULL;
}

/* The names log_set_level takes (asked without changing anything). */
static bool log_level_ok(const char *name)
{
    return !strcmp(name, "debug") || !strcmp(name, "info") || !strcmp(name, "warn") ||
           !strcmp(name, "error");
}

static bool is_reloadable(const char *name)
{
    return !strcmp(name, "EDLIVE_LOG_LEVEL") || !strcmp(name, "EDLIVE_TLS_CERT") ||
           !strcmp(name, "EDLIVE_TLS_KEY") || !strcmp(name, "EDLIVE_ENV_FILES");
}

/* New certificate and key paths from the files, checked as at start: both or neither. */
static void reload_tls_paths(const struct env_files *env, struct reload_tls *tls)
{
    const char *cert = env_files_get(env, "EDLIVE_TLS_CERT");
    const char *key = env_files_get(env, "EDLIVE_TLS_KEY");
    bool want_tls = cert && cert[0];

    if (!cert && !key)
        return; /* not in the files: the same paths, re-read */
    if (want_tls != tls->on) {
        log_warn("EDLIVE_TLS_CERT: TLS was %s at start; turning it %s needs a restart",
                 tls->on ? "on" : "off", tls->on ? "off" : "on");
        return;
    }
    if (!want_tls)
        return;
    if (!key || !key[0]) {
        log_warn("EDLIVE_TLS_KEY: unset while EDLIVE_TLS_CERT is set: keeping the certificate "
                 "in force");
        return;
    }
    if (strlen(cert) >= sizeof tls->cert || strlen(key) >= sizeof tls->key) {
        log_warn("EDLIVE_TLS_CERT/EDLIVE_TLS_KEY: path too long: keeping the certificate in force");
        return;
    }
    snprintf(tls->cert, sizeof tls->cert, "%s", cert);
    snprintf(tls->key, sizeof tls->key, "%s", key);
}

void reload_apply(const struct config *cfg, const char *env_files, struct reload_tls *tls)
{
    struct env_files env = {.count = 0};

    log_reopen();
    if (!env_files || !env_files[0] || !env_files_read(&env, env_files)) {
        log_info("SIGHUP: log file reopened%s", tls && tls->on ? ", certificate re-read" : "");
        return;
    }
    const char *level = env_files_get(&env, "EDLIVE_LOG_LEVEL");
    if (level && level[0] && strcmp(level, log_level_name()) != 0) {
        char old[16];

        snprintf(old, sizeof old, "%s", log_level_name());
        /* Said at info under whichever of the two levels shows it (debug/info: the old). */
        bool said = !strcmp(old, "debug") || !strcmp(old, "info");
        if (said && log_level_ok(level))
            log_info("SIGHUP: EDLIVE_LOG_LEVEL %s -> %s", old, level);
        if (log_set_level(level)) {
            if (!said)
                log_info("SIGHUP: EDLIVE_LOG_LEVEL %s -> %s", old, level);
        } else
            log_warn("EDLIVE_LOG_LEVEL=%.40s: must be debug, info, warn or error: keeping %s",
                     level, old);
    }
    if (tls)
        reload_tls_paths(&env, tls);
    /* Everything else is read once at start: say which changed in the files since start (or,
     * when the files did not have it then, differs from the value in force), never the value
     * (a connection string may hold a password). */
    for (size_t i = 0; i < cfg->count; i++) {
        const struct config_setting *s = config_describe(cfg, i);
        const char *now = env_files_get(&at_start, s->name);
        const char *in_file = env_files_get(&env, s->name);

        if (!in_file || is_reloadable(s->name))
            continue;
        if (now && !now[0] && s->fallback)
            now = s->fallback;
        if (!now)
            now = cfg->values[i].text ? cfg->values[i].text : "";
        if (!in_file[0] && s->fallback)
            in_file = s->fallback;
        if (strcmp(in_file, now) != 0)
            log_warn("%s changed in EDLIVE_ENV_FILES: not reloaded, it takes effect at the next "
                     "restart",
                     s->name);
    }
    env_files_free(&env);
    log_info("SIGHUP: settings re-read from %s", env_files);
}

/* The first OpenSSL error, for the log line. */
static const char *openssl_reason(char *buf, size_t size)
{
    unsigned long e = ERR_get_error();

    if (!e)
        return "unknown error";
    ERR_error_string_n(e, buf, size);
    ERR_clear_error();
    return buf;
}

bool reload_tls_load(void *live_ssl_ctx, const struct reload_tls *tls)
{
    SSL_CTX *live = live_ssl_ctx, *fresh;
    STACK_OF(X509) *chain = NULL;
    char why[256];
    const char *failed = NULL;

    if (!tls || !tls->on)
        return true;
    if (!live) {
        log_warn("EDLIVE_TLS_CERT: no TLS context to reload (certificate unchanged)");
        return false;
    }
    ERR_clear_error();
    /* Everything is checked on a fresh context first: a half-written file, a key of another
     * certificate or an unreadable path leaves the certificate in force untouched. */
    fresh = SSL_CTX_new(TLS_server_method());
    if (!fresh)
        failed = "cannot create an SSL_CTX";
    /* The key first: loaded after the certificate, a key of another certificate would fail
     * as "cannot load" instead of failing the check below, which says what is wrong. */
    else if (SSL_CTX_use_PrivateKey_file(fresh, tls->key, SSL_FILETYPE_PEM) != 1)
        failed = "EDLIVE_TLS_KEY: cannot load the private key";
    else if (SSL_CTX_use_certificate_chain_file(fresh, tls->cert) != 1)
        failed = "EDLIVE_TLS_CERT: cannot load the certificate chain";
    else if (SSL_CTX_check_private_key(fresh) != 1)
        failed = "EDLIVE_TLS_KEY: the private key does not match EDLIVE_TLS_CERT";
    else if (SSL_CTX_get0_chain_certs(fresh, &chain) != 1)
        failed = "EDLIVE_TLS_CERT: cannot read the chain";
    /* The objects already parsed go onto the live context: no second read of files that may
     * be changing meanwhile. (Setting the certificate drops a key that no longer matches; the
     * new key follows at once, all on the service thread, so no handshake sees the gap.) */
    else if (SSL_CTX_use_certificate(live, SSL_CTX_get0_certificate(fresh)) != 1 ||
             SSL_CTX_use_PrivateKey(live, SSL_CTX_get0_privatekey(fresh)) != 1 ||
             SSL_CTX_set1_chain(live, chain) != 1 || SSL_CTX_check_private_key(live) != 1)
        failed = "cannot put the new certificate on the TLS context";
    if (failed)
        log_warn("%s (%s, %s: %s): keeping the certificate in force", failed, tls->cert, tls->key,
                 openssl_reason(why, sizeof why));
    else
        log_info("TLS certificate reloaded from %s (new connections; open ones keep theirs)",
                 tls->cert);
    SSL_CTX_free(fresh);
    return !failed;
}
