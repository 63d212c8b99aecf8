/* SPDX-License-Identifier: MIT */
/* hub_session_cache.c: one entry per distinct session with an open socket, shared by every
 * socket of that session (a wall's or a program's many boards): the principal is held once,
 * not once per connection, and the upgrade of a session the hub already holds needs no
 * database read. An entry ends when a session round finds it ended (hub_sessions.c); it then
 * stays as "ended" for a while, so an upgrade with that token is answered 401 from memory.
 * Lives on the lws thread only. */
#include <stdlib.h>
#include <string.h>

#include "hub_client.h"
#include "log.h"

#define BUCKETS 4096 /* a power of two */

static struct hub_session *buckets[BUCKETS];
static size_t live_count;

static unsigned bucket_of(const unsigned char hash[32])
{
    unsigned b;

    memcpy(&b, hash, sizeof b); /* a SHA-256: its first bytes are as good as any hash */
    return b & (BUCKETS - 1);
}

struct hub_session *hub_session_find(const unsigned char hash[32])
{
    for (struct hub_session *s = buckets[bucket_of(hash)]; s; s = s->next)
        if (!memcmp(s->who.token_hash, hash, 32))
            return s;
    return NULL;
}

struct hub_session *hub_session_take(const struct principal *who)
{
    struct hub_session *s = hub_session_find(who->token_hash);
    unsigned b = bucket_of(who->token_hash);

    if (s && s->ended) {
        /* The round's word is the newest: an ended session does not come back. */
        return NULL;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) {
            log_error("out of memory for a session");
            abort();
        }
        s->next = buckets[b];
        buckets[b] = s;
        live_count++;
    }
    memcpy(&s->who, who, sizeof *who);
    s->who.source_addr[0] = '\0'; /* each socket keeps its own (hub_client.addr) */
    s->checked_at = lws_now_usecs();
    s->refs++;
    return s;
}

void hub_session_release(struct hub_session *s)
{
    if (s && s->refs)
        s->refs--;
}

void hub_session_mark_ended(struct hub_session *s)
{
    if (!s->ended)
        live_count--;
    s->ended = true;
    s->ended_at = lws_now_usecs();
}

size_t hub_session_live(unsigned char (*hashes)[32], size_t cap)
{
    size_t n = 0;

    for (unsigned b = 0; b < BUCKETS; b++)
        for (struct hub_session *s = buckets[b]; s; s = s->next)
            if (!s->ended && s->refs && n < cap)
                memcpy(hashes[n++], s->who.token_hash, 32);
    return n;
}

size_t hub_session_count(void)
{
    return live_count;
}

void hub_session_sweep(lws_usec_t now)
{
    for (unsigned b = 0; b < BUCKETS; b++)
        for (struct hub_session **pp = &buckets[b]; *pp;) {
            struct hub_session *s = *pp;
            /* Unused live entries go (the next upgrade reads the session again); ended ones
             * once their 401s have had time to be seen (the session's own limits end the
             * token in PostgreSQL anyway). */
            bool drop = !s->refs &&
                        (!s->ended ||
                         now - s->ended_at > (lws_usec_t)HUB_SESSION_ENDED_KEEP_S * LWS_US_PER_SEC);
            if (drop) {
                if (!s->ended)
                    live_count--;
                *pp = s->next;
                free(s);
            } else
                pp = &s->next;
        }
}

void hub_session_clear(void)
{
    for (unsigned b = 0; b < BUCKETS; b++)
        while (buckets[b]) {
            struct hub_session *s = buckets[b];
            buckets[b] = s->next;
            free(s);
        }
    live_count = 0;
}
