/* SPDX-License-Identifier: MIT */
/* mllp_server.c: the poll() loop of ed-mllp (mllp_server.h). Logs name addresses, byte counts
 * and counters only: never anything of a message. */
#define _GNU_SOURCE
#include "mllp_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mllp_frame.h"

#define MLLP_READ_CHUNK    65536
#define MLLP_DEFAULT_CONNS 256
#define MLLP_DEFAULT_QUEUE 64
#define MLLP_ACCEPT_BURST  64
#define MLLP_HOUSEKEEPING  3600

struct allow_entry {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
};

/* One answer a connection is owed, in the order of its frames. An answer made on the loop is
 * DONE at once; one handed to the worker is QUEUED, RUNNING, then DONE. The connection's FIFO
 * is the loop's; state, orphan and the answer are under srv->lock while the worker may hold
 * the item. */
enum item_state { ITEM_QUEUED, ITEM_RUNNING, ITEM_DONE };

struct item {
    struct item *next;     /* the connection's FIFO (the loop's) */
    struct item *next_job; /* the worker's queue (under lock) */
    enum item_state state; /* under lock */
    bool orphan;           /* the connection closed: whoever holds the item frees it */
    void *work;            /* the handler's, for apply (NULL once consumed) */
    size_t bytes;          /* the frame's size: counts towards the connection's bound */
    uint8_t *framed;       /* the answer, framed; NULL: none */
    size_t framed_len;
    char peer[INET6_ADDRSTRLEN];
};

struct conn {
    int fd;
    struct mllp_decoder *dec;
    struct item *head, *tail; /* answers owed, oldest first */
    unsigned nitems;
    size_t item_bytes;
    uint8_t *out; /* replies not yet sent: out[out_off .. out_len) */
    size_t out_len, out_off, out_cap;
    bool eof;           /* the peer closed its side: flush, then close */
    bool failed;        /* close now */
    bool held;          /* not read from: too many answers owed (the worker is behind) */
    double last;        /* monotonic seconds of the last byte read or written */
    double frame_start; /* when the frame in progress started */
    uint64_t frames;    /* frames ended (any kind), to see a new one start */
    char peer[INET6_ADDRSTRLEN];
    struct mllp_server *srv;
};

struct mllp_server {
    struct mllp_server_opts opts;
    int fd;
    int port;
    int wake_fd; /* eventfd: the worker's "an answer is ready", and mllp_server_stop */
    struct allow_entry *allow;
    size_t nallow;
    struct conn **conns;
    size_t nconns;
    size_t out_max; /* stop reading from a peer that does not read its ACKs past this */
    /* The worker thread. Everything it shares with the loop is under lock: the queue, the
     * items' state, stopping. */
    pthread_t worker;
    bool worker_started;
    pthread_mutex_t lock;
    pthread_cond_t work_cond;
    struct item *jobs_head, *jobs_tail;
    bool worker_stop;
    atomic_bool stop_requested;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the allow-list ---- */

static bool parse_allow(struct mllp_server *srv, const char *list)
{
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[INET6_ADDRSTRLEN + 1];
        while (n > 0 && (*p == ' ' || *p == '\t'))
            p++, n--;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n > 0) {
            struct allow_entry e = {0};
            struct allow_entry *grown;
            if (n >= sizeof item) {
                log_error("EDLIVE_MLLP_ALLOW: an entry is too long for an address");
                return false;
            }
            memcpy(item, p, n);
            item[n] = '\0';
            if (inet_pton(AF_INET, item, e.addr) == 1)
                e.family = AF_INET;
            else if (inet_pton(AF_INET6, item, e.addr) == 1)
                e.family = AF_INET6;
            else {
                log_error("EDLIVE_MLLP_ALLOW: '%s' is not an IPv4 or IPv6 address", item);
                return false;
            }
            grown = realloc(srv->allow, (srv->nallow + 1) * sizeof *grown);
            if (!grown)
                return false;
            srv->allow = grown;
            srv->allow[srv->nallow++] = e;
        }
        if (!end)
            break;
        p = end + 1;
    }
    if (srv->nallow == 0) {
        log_error("EDLIVE_MLLP_ALLOW is empty: no sender could connect");
        return false;
    }
    return true;
}

/* True when the peer's address is on the list; its text in peer. An IPv4-mapped IPv6 address
 * is compared as the IPv4 address it maps. */
static bool peer_allowed(const struct mllp_server *srv, const struct sockaddr_storage *ss,
                         char *peer, size_t peer_size)
{
    int family;
    unsigned char addr[16];
    snprintf(peer, peer_size, "?");
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        family = AF_INET;
        memcpy(addr, &sin->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            family = AF_INET;
            memcpy(addr, &sin6->sin6_addr.s6_addr[12], 4);
        } else {
            family = AF_INET6;
            memcpy(addr, &sin6->sin6_addr, 16);
        }
    } else
        return false;
    inet_ntop(family, addr, peer, (socklen_t)peer_size);
    for (size_t i = 0; i < srv->nallow; i++)
        if (srv->allow[i].family == family &&
            memcmp(srv->allow[i].addr, addr, family == AF_INET ? 4 : 16) == 0)
            return true;
    return false;
}

/* ---- the listening socket ---- */

/* EDLIVE_LISTEN as a socket address: a literal, else the first IPv4 (then IPv6) address of
 * the interface of that name. */
static bool listen_address(const char *iface, int port, struct sockaddr_storage *ss,
                           socklen_t *sslen)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    struct ifaddrs *ifs, *ifa;
    bool found = false;

    memset(ss, 0, sizeof *ss);
    if (inet_pton(AF_INET, iface, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        *sslen = sizeof *sin;
        return true;
    }
    if (inet_pton(AF_INET6, iface, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        *sslen = sizeof *sin6;
        return true;
    }
    if (getifaddrs(&ifs) != 0)
        return false;
    for (int want = AF_INET; !found; want = AF_INET6) {
        for (ifa = ifs; ifa && !found; ifa = ifa->ifa_next) {
            if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != want ||
                strcmp(ifa->ifa_name, iface) != 0)
                continue;
            if (want == AF_INET) {
                memcpy(sin, ifa->ifa_addr, sizeof *sin);
                sin->sin_port = htons((uint16_t)port);
                *sslen = sizeof *sin;
            } else {
                memcpy(sin6, ifa->ifa_addr, sizeof *sin6);
                sin6->sin6_port = htons((uint16_t)port);
                *sslen = sizeof *sin6;
            }
            found = true;
        }
        if (want == AF_INET6)
            break;
    }
    freeifaddrs(ifs);
    return found;
}

struct mllp_server *mllp_server_new(const struct mllp_server_opts *opts)
{
    struct mllp_server *srv = calloc(1, sizeof *srv);
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    int one = 1;

    if (!srv)
        return NULL;
    srv->opts = *opts;
    srv->fd = -1;
    pthread_mutex_init(&srv->lock, NULL);
    pthread_cond_init(&srv->work_cond, NULL);
    atomic_init(&srv->stop_requested, false);
    /* The worker cannot wake poll() with a condition variable: it writes this eventfd, which
     * poll() watches beside the sockets. */
    srv->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (srv->wake_fd < 0)
        goto fail_errno;
    if (srv->opts.max_conns == 0)
        srv->opts.max_conns = MLLP_DEFAULT_CONNS;
    if (srv->opts.max_message == 0)
        srv->opts.max_message = MLLP_MAX_MESSAGE_DEFAULT;
    if (srv->opts.max_queue == 0)
        srv->opts.max_queue = MLLP_DEFAULT_QUEUE;
    if (srv->opts.housekeeping_s <= 0)
        srv->opts.housekeeping_s = MLLP_HOUSEKEEPING;
    srv->out_max = srv->opts.max_message + 65536;
    srv->conns = calloc(srv->opts.max_conns, sizeof *srv->conns);
    if (!srv->conns || !parse_allow(srv, opts->allow))
        goto fail;
    if (!listen_address(opts->iface, opts->port, &ss, &sslen)) {
        log_error("EDLIVE_LISTEN %s: no such address or interface", opts->iface);
        goto fail;
    }
    srv->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (srv->fd < 0)
        goto fail_errno;
    setsockopt(srv->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(srv->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(srv->fd, (struct sockaddr *)&ss, sslen) != 0 || listen(srv->fd, 128) != 0)
        goto fail_errno;
    sslen = sizeof ss;
    if (getsockname(srv->fd, (struct sockaddr *)&ss, &sslen) == 0)
        srv->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                  : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return srv;

fail_errno:
    log_error("cannot listen on %s:%d: %s", opts->iface, opts->port, strerror(errno));
fail:
    mllp_server_free(srv);
    return NULL;
}

int mllp_server_port(const struct mllp_server *srv)
{
    return srv->port;
}

/* ---- the worker thread ---- */

static void wake_loop(struct mllp_server *srv)
{
    uint64_t one = 1;
    /* Only fails when the counter is saturated: poll() is woken already. */
    if (write(srv->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn("eventfd: %s", strerror(errno));
}

static void item_free(struct mllp_server *srv, struct item *it)
{
    if (!it)
        return;
    if (it->work && srv->opts.discard)
        srv->opts.discard(srv->opts.ctx, it->work);
    free(it->framed);
    free(it);
}

/* Takes the queue in order. A job whose connection closed before it started is not applied
 * (no ACK was sent: the sender sends it again); one that finished after is dropped here. The
 * lock is not held during apply, so the loop never waits for the database. */
static void *worker_main(void *arg)
{
    struct mllp_server *srv = arg;
    double next_housekeeping = 0;

    pthread_mutex_lock(&srv->lock);
    for (;;) {
        struct item *it;
        char *reply;
        uint8_t *framed = NULL;
        size_t reply_len = 0, framed_len = 0;

        while (!srv->worker_stop && !srv->jobs_head && now_s() < next_housekeeping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&srv->work_cond, &srv->lock, &until);
        }
        if (srv->worker_stop)
            break;
        if (now_s() >= next_housekeeping) {
            next_housekeeping = now_s() + srv->opts.housekeeping_s;
            pthread_mutex_unlock(&srv->lock);
            if (srv->opts.housekeeping)
                srv->opts.housekeeping(srv->opts.ctx);
            pthread_mutex_lock(&srv->lock);
            continue;
        }
        it = srv->jobs_head;
        srv->jobs_head = it->next_job;
        if (!srv->jobs_head)
            srv->jobs_tail = NULL;
        if (it->orphan) {
            pthread_mutex_unlock(&srv->lock);
            item_free(srv, it);
            pthread_mutex_lock(&srv->lock);
            continue;
        }
        it->state = ITEM_RUNNING;
        pthread_mutex_unlock(&srv->lock);

        reply = srv->opts.apply(srv->opts.ctx, it->work, it->peer, &reply_len);
        it->work = NULL; /* consumed by apply */
        if (reply) {
            framed = mllp_encode(reply, reply_len, &framed_len);
            if (!framed)
                log_error("%s: out of memory for a reply", it->peer);
            free(reply);
        }

        pthread_mutex_lock(&srv->lock);
        if (it->orphan) {
            pthread_mutex_unlock(&srv->lock);
            free(framed);
            item_free(srv, it);
            pthread_mutex_lock(&srv->lock);
            continue;
        }
        it->framed = framed;
        it->framed_len = framed_len;
        it->state = ITEM_DONE;
        wake_loop(srv);
    }
    pthread_mutex_unlock(&srv->lock);
    return NULL;
}

/* ---- connections ---- */

/* Frees a connection. Its answers still with the worker become orphans the worker frees. */
static void conn_free(struct conn *c)
{
    struct mllp_server *srv;
    struct item *it, *next;

    if (!c)
        return;
    srv = c->srv;
    if (c->fd >= 0)
        close(c->fd);
    if (srv)
        pthread_mutex_lock(&srv->lock);
    for (it = c->head; it; it = next) {
        next = it->next;
        if (srv && srv->worker_started && it->state != ITEM_DONE)
            it->orphan = true;
        else
            item_free(srv, it);
    }
    if (srv)
        pthread_mutex_unlock(&srv->lock);
    mllp_decoder_free(c->dec);
    free(c->out);
    free(c);
}

static void conn_close(struct conn *c, const char *why)
{
    const struct mllp_stats *st = mllp_decoder_stats(c->dec);
    log_info("connection from %s closed (%s): %llu messages, %llu garbage bytes, %llu broken "
             "frames",
             c->peer, why, (unsigned long long)st->messages, (unsigned long long)st->garbage_bytes,
             (unsigned long long)(st->oversize + st->truncated + st->bad_end));
    c->failed = true;
}

static bool conn_queue(struct conn *c, const uint8_t *data, size_t len)
{
    if (c->out_off > 0) { /* keep the unsent part at the start */
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        uint8_t *grown;
        while (cap < c->out_len + len)
            cap *= 2;
        grown = realloc(c->out, cap);
        if (!grown)
            return false;
        c->out = grown;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return true;
}

/* Moves the answers that are ready, from the oldest, to the output: an answer waits for every
 * earlier one of its connection, so ACKs leave in the order of the messages. */
static void conn_flush_items(struct conn *c)
{
    struct mllp_server *srv = c->srv;

    pthread_mutex_lock(&srv->lock);
    while (c->head && c->head->state == ITEM_DONE && !c->failed) {
        struct item *it = c->head;
        c->head = it->next;
        if (!c->head)
            c->tail = NULL;
        c->nitems--;
        c->item_bytes -= it->bytes;
        if (it->framed && !conn_queue(c, it->framed, it->framed_len)) {
            log_error("%s: out of memory for a reply", c->peer);
            conn_close(c, "out of memory");
        }
        item_free(srv, it);
    }
    pthread_mutex_unlock(&srv->lock);
}

static struct item *item_new(struct conn *c, size_t bytes)
{
    struct item *it = calloc(1, sizeof *it);
    if (!it)
        return NULL;
    it->bytes = bytes;
    snprintf(it->peer, sizeof it->peer, "%s", c->peer);
    return it;
}

/* Appends to the connection's FIFO (and, for a work, to the worker's queue). */
static void conn_push_item(struct conn *c, struct item *it)
{
    struct mllp_server *srv = c->srv;

    pthread_mutex_lock(&srv->lock);
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    c->nitems++;
    c->item_bytes += it->bytes;
    if (it->state == ITEM_QUEUED) {
        if (srv->jobs_tail)
            srv->jobs_tail->next_job = it;
        else
            srv->jobs_head = it;
        srv->jobs_tail = it;
        pthread_cond_signal(&srv->work_cond);
    }
    pthread_mutex_unlock(&srv->lock);
}

/* An answer made on the loop: straight to the output when nothing is owed before it, else
 * in line behind the earlier answers. */
static void conn_answer_now(struct conn *c, char *reply, size_t reply_len)
{
    size_t framed_len = 0;
    uint8_t *framed = mllp_encode(reply, reply_len, &framed_len);
    struct item *it;

    free(reply);
    if (framed && !c->head) {
        if (!conn_queue(c, framed, framed_len))
            goto oom;
        free(framed);
        return;
    }
    if (!framed || !(it = item_new(c, 0)))
        goto oom;
    it->framed = framed;
    it->framed_len = framed_len;
    it->state = ITEM_DONE;
    conn_push_item(c, it);
    return;
oom:
    free(framed);
    log_error("%s: out of memory for a reply", c->peer);
    conn_close(c, "out of memory");
}

static void on_frame(void *ctx, enum mllp_event ev, const uint8_t *data, size_t len)
{
    struct conn *c = ctx;
    struct mllp_server *srv = c->srv;
    enum mllp_server_input kind;
    enum mllp_verdict verdict;
    char *reply = NULL;
    void *work = NULL;
    size_t reply_len = 0;
    struct item *it;

    switch (ev) {
    case MLLP_MESSAGE:
        kind = MLLP_INPUT_MESSAGE;
        break;
    case MLLP_OVERSIZE:
        log_warn("%s: a frame over %zu bytes refused", c->peer, srv->opts.max_message);
        kind = MLLP_INPUT_OVERSIZE;
        break;
    case MLLP_TRUNCATED:
        log_warn("%s: a frame of %zu bytes cut by a new start byte, dropped", c->peer, len);
        return;
    case MLLP_BAD_END:
    default:
        log_warn("%s: a frame of %zu bytes with 0x1C not followed by CR, dropped", c->peer, len);
        return;
    }
    if (c->failed)
        return;
    verdict = srv->opts.handler(srv->opts.ctx, kind, (const char *)data, len, c->peer, &reply,
                                &reply_len, &work);
    if (verdict == MLLP_VERDICT_REPLY && reply) {
        conn_answer_now(c, reply, reply_len);
    } else if (verdict == MLLP_VERDICT_APPLY) {
        it = srv->opts.apply ? item_new(c, len) : NULL;
        if (!it) {
            if (work && srv->opts.discard)
                srv->opts.discard(srv->opts.ctx, work);
            log_error("%s: out of memory for a message", c->peer);
            conn_close(c, "out of memory");
            return;
        }
        it->work = work;
        it->state = ITEM_QUEUED;
        conn_push_item(c, it);
    } else {
        free(reply);
    }
}

static void conn_read(struct conn *c, uint8_t *buf)
{
    const struct mllp_stats *st;
    bool was_in_frame = mllp_decoder_in_frame(c->dec);
    uint64_t frames;
    ssize_t n = recv(c->fd, buf, MLLP_READ_CHUNK, 0);

    if (n < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            conn_close(c, strerror(errno));
        return;
    }
    if (n == 0) {
        c->eof = true;
        return;
    }
    c->last = now_s();
    if (!mllp_decoder_feed(c->dec, buf, (size_t)n, on_frame, c))
        log_warn("%s: out of memory while decoding", c->peer);
    /* A frame that started in these bytes starts its deadline now. */
    st = mllp_decoder_stats(c->dec);
    frames = st->messages + st->oversize + st->truncated + st->bad_end;
    if (mllp_decoder_in_frame(c->dec) && (!was_in_frame || frames != c->frames))
        c->frame_start = c->last;
    c->frames = frames;
}

static void conn_write(struct conn *c)
{
    while (!c->failed && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                conn_close(c, strerror(errno));
            return;
        }
        c->out_off += (size_t)n;
        c->last = now_s();
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
}

static void accept_all(struct mllp_server *srv)
{
    for (int i = 0; i < MLLP_ACCEPT_BURST; i++) {
        struct sockaddr_storage ss;
        socklen_t sslen = sizeof ss;
        char peer[INET6_ADDRSTRLEN];
        struct conn *c;
        int fd = accept4(srv->fd, (struct sockaddr *)&ss, &sslen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_warn("accept: %s", strerror(errno));
            return;
        }
        if (!peer_allowed(srv, &ss, peer, sizeof peer)) {
            log_warn("connection from %s refused: not in EDLIVE_MLLP_ALLOW", peer);
            close(fd);
            continue;
        }
        if (srv->nconns >= srv->opts.max_conns) {
            log_warn("connection from %s refused: %u connections open already", peer,
                     srv->opts.max_conns);
            close(fd);
            continue;
        }
        c = calloc(1, sizeof *c);
        if (c)
            c->dec = mllp_decoder_new(srv->opts.max_message);
        if (!c || !c->dec) {
            log_error("out of memory for a connection from %s", peer);
            if (c)
                c->fd = -1;
            conn_free(c);
            close(fd);
            continue;
        }
        c->fd = fd;
        c->srv = srv;
        c->last = now_s();
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        srv->conns[srv->nconns++] = c;
        log_info("connection from %s", peer);
    }
}

/* Closes what is over: failed, flushed after the peer's end, stalled, or too slow. */
static void close_over(struct mllp_server *srv, double t)
{
    size_t kept = 0;

    for (size_t i = 0; i < srv->nconns; i++) {
        struct conn *c = srv->conns[i];
        bool pending = c->out_off < c->out_len;
        bool in_frame = mllp_decoder_in_frame(c->dec);
        if (c->held) {
            /* Not read from while the worker is behind: the sender is not the one late. */
            c->last = t;
            c->frame_start = t;
        }
        if (!c->failed) {
            if (c->eof && !pending && !c->head)
                conn_close(c, "closed by the peer");
            else if ((in_frame || pending) && t - c->last > srv->opts.idle_s)
                conn_close(c, pending ? "not reading its ACKs" : "idle inside a frame");
            else if (in_frame && srv->opts.frame_s > 0 && t - c->frame_start > srv->opts.frame_s)
                conn_close(c, "a frame not finished in time");
        }
        if (c->failed)
            conn_free(c);
        else
            srv->conns[kept++] = c;
    }
    srv->nconns = kept;
}

bool mllp_server_run(struct mllp_server *srv, volatile sig_atomic_t *stop)
{
    struct pollfd *pfds = calloc(srv->opts.max_conns + 2, sizeof *pfds);
    uint8_t *buf = malloc(MLLP_READ_CHUNK);
    sigset_t all, old;
    bool started;

    if (!pfds || !buf) {
        log_error("out of memory");
        free(pfds);
        free(buf);
        return false;
    }
    /* The worker blocks every signal (it inherits the mask): SIGTERM and SIGINT then reach
     * this thread, whose poll() they interrupt. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    started = pthread_create(&srv->worker, NULL, worker_main, srv) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started) {
        log_error("cannot start the worker thread");
        free(pfds);
        free(buf);
        return false;
    }
    srv->worker_started = true;
    while (!*stop && !atomic_load(&srv->stop_requested)) {
        pfds[0] = (struct pollfd){.fd = srv->fd, .events = POLLIN};
        pfds[1] = (struct pollfd){.fd = srv->wake_fd, .events = POLLIN};
        for (size_t i = 0; i < srv->nconns; i++) {
            struct conn *c = srv->conns[i];
            size_t pending = c->out_len - c->out_off;
            short ev = 0;
            if (pending > 0)
                ev |= POLLOUT;
            /* Bounded per connection: a peer not reading its ACKs, or one whose answers the
             * worker owes too many of, is not read from until that drains. */
            c->held = c->nitems >= srv->opts.max_queue || c->item_bytes >= srv->out_max;
            if (!c->eof && pending < srv->out_max && !c->held)
                ev |= POLLIN;
            pfds[i + 2] = (struct pollfd){.fd = c->fd, .events = ev};
        }
        if (poll(pfds, srv->nconns + 2, 1000) < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            break;
        }
        if (pfds[1].revents & POLLIN) {
            uint64_t n;
            if (read(srv->wake_fd, &n, sizeof n) < 0 && errno != EAGAIN)
                log_warn("eventfd: %s", strerror(errno));
        }
        for (size_t i = 0; i < srv->nconns; i++) {
            struct conn *c = srv->conns[i];
            short re = pfds[i + 2].revents;
            if (re & (POLLIN | POLLHUP | POLLERR))
                conn_read(c, buf);
            if (c->head)
                conn_flush_items(c);
            if (c->out_off < c->out_len && !c->failed)
                conn_write(c);
        }
        close_over(srv, now_s());
        if (pfds[0].revents & POLLIN)
            accept_all(srv);
        if (srv->opts.each_round)
            srv->opts.each_round(srv->opts.ctx);
    }
    free(pfds);
    free(buf);
    return true;
}

void mllp_server_stop(struct mllp_server *srv)
{
    atomic_store(&srv->stop_requested, true);
    wake_loop(srv);
}

void mllp_server_free(struct mllp_server *srv)
{
    if (!srv)
        return;
    if (srv->worker_started) {
        pthread_mutex_lock(&srv->lock);
        srv->worker_stop = true;
        pthread_cond_signal(&srv->work_cond);
        pthread_mutex_unlock(&srv->lock);
        pthread_join(srv->worker, NULL);
        srv->worker_started = false;
        /* What the worker never took: orphans are in no connection's FIFO any more. */
        for (struct item *it = srv->jobs_head, *next; it; it = next) {
            next = it->next_job;
            if (it->orphan)
                item_free(srv, it);
        }
        srv->jobs_head = srv->jobs_tail = NULL;
    }
    for (size_t i = 0; i < srv->nconns; i++)
        conn_free(srv->conns[i]);
    if (srv->fd >= 0)
        close(srv->fd);
    if (srv->wake_fd >= 0)
        close(srv->wake_fd);
    pthread_cond_destroy(&srv->work_cond);
    pthread_mutex_destroy(&srv->lock);
    free(srv->conns);
    free(srv->allow);
    free(srv);
}
