/* SPDX-License-Identifier: MIT */
/* edload: N WebSocket board clients across D departments and open- or closed-loop writers
 * through the REST API, in one epoll loop; write-to-screen latency per delivery, and proof that
 * every client got every event of its board once, in order. Usage: load-tests/README.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "edload_run.h"

struct options opt = {
    .user = "adeyemi",
    .password = NULL,
    .mix = "vitals",
    .encounters = 8,
    .api_conns = 128,
    .connect_inflight = 1000,
    .drain_seconds = 15,
    .connect_timeout = 120,
};
struct run run;

/* ---- clocks, counters, errors -------------------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Errors by kind ("connect_ECONNREFUSED", "vitals_http_409", "close_4408", ...). */
#define MAX_ERROR_KINDS 64
static struct {
    char kind[48];
    uint64_t count;
} errors[MAX_ERROR_KINDS];
static int nerrors;

static void count_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void count_error(const char *fmt, ...)
{
    char kind[48];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kind, sizeof kind, fmt, ap);
    va_end(ap);
    for (int i = 0; i < nerrors; i++)
        if (!strcmp(errors[i].kind, kind)) {
            errors[i].count++;
            return;
        }
    if (nerrors < MAX_ERROR_KINDS) {
        snprintf(errors[nerrors].kind, sizeof errors[nerrors].kind, "%s", kind);
        errors[nerrors++].count = 1;
    }
}

static struct {
    uint64_t delivered, duplicated, out_of_order, resubscribes, heartbeat_gaps, reconnects,
        snapshots, recovered, skipped_by_snapshot, foreign_events, full_parses, frames,
        ignored_while_resubscribing, unmatched_deliveries;
    uint64_t writes_sent, writes_ok, writes_refused, writes_failed, writes_late, bed_fallbacks;
    uint64_t writes_by_kind[3], ok_by_kind[3];
    int64_t max_send_lag_ns;
    int64_t first_delivery_ns, last_delivery_ns;
    /* edload's own cost per frame: wakes (epoll_wait returns with events), reads, and reads
     * that ended inside a frame (its rest copied aside until the next read). */
    uint64_t wakes, reads, split_reads;
} st;

static struct hist lat_write_screen, lat_commit_screen, lat_write, lat_connect;

/* ---- /proc figures of the hub and the API ---------------------------------------------------- */

static double proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    unsigned long utime = 0, stime = 0;
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static long proc_kb(int pid, const char *field)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    size_t fl = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') {
            kb = strtol(line + fl + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

struct proc_watch {
    int pid;
    double cpu_start, cpu_end;
    long rss_before_kb, rss_after_kb, rss_peak_kb, hwm_kb;
};
static struct proc_watch hub_watch, api_watch;

static void watch_start(struct proc_watch *w, int pid)
{
    w->pid = pid;
    if (pid <= 0)
        return;
    w->cpu_start = proc_cpu_s(pid);
    w->rss_before_kb = w->rss_peak_kb = proc_kb(pid, "VmRSS");
}

static void watch_sample(struct proc_watch *w)
{
    if (w->pid <= 0)
        return;
    long rss = proc_kb(w->pid, "VmRSS");
    if (rss > w->rss_peak_kb)
        w->rss_peak_kb = rss;
}

static void watch_end(struct proc_watch *w)
{
    if (w->pid <= 0)
        return;
    w->cpu_end = proc_cpu_s(w->pid);
    w->rss_after_kb = proc_kb(w->pid, "VmRSS");
    w->hwm_kb = proc_kb(w->pid, "VmHWM");
    watch_sample(w);
}

/* ---- the event loop ----------------------------------------------------------------------- */

static int epfd;
enum { TAG_CLIENT = 1, TAG_WRITER = 2 };
#define EV_DATA(tag, idx) (((uint64_t)(tag) << 32) | (uint32_t)(idx))

static uint32_t rng_state = 0x9e3779b9u;
static uint32_t rng(void)
{
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static int nonblocking_socket(const struct sockaddr_in *addr, int *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0 && errno != EINPROGRESS) {
        *err = errno;
        close(fd);
        return -1;
    }
    return fd;
}

static const char *errno_name(int e)
{
    switch (e) {
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case ECONNRESET:
        return "ECONNRESET";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EADDRNOTAVAIL:
        return "EADDRNOTAVAIL";
    case EMFILE:
        return "EMFILE";
    case ENFILE:
        return "ENFILE";
    case EPIPE:
        return "EPIPE";
    case EAGAIN:
        return "EAGAIN";
    default:
        return "other";
    }
}

/* ---- WebSocket clients ------------------------------------------------------------------- */

enum cstate { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_SUBSCRIBING, C_LIVE, C_DOWN };

/* Kept small: 10,000 of them. Buffers exist only while a frame is partial or a write waits. */
struct client {
    int fd;
    uint8_t state;
    bool resubscribing; /* a resubscribe is out: events are ignored until its answer */
    bool subscribed_once;
    uint8_t msg_op;
    uint16_t attempts;
    int dept;
    long long first_seq, last_seq, heartbeat_top;
    int64_t started_ns, retry_at_ns;
    char *in;
    uint32_t in_len, in_cap;
    char *msg;
    uint32_t msg_len, msg_cap;
    char *out;
    uint32_t out_len;
    char *accept; /* the Sec-WebSocket-Accept the hub must answer, during the handshake */
};

static struct client *clients;
static int nclients;
static int clients_subscribed; /* answered at least once */
static int clients_inflight;   /* connecting, handshaking or waiting for the subscribe answer */
static int next_to_open;
static int64_t connect_phase_start_ns, all_subscribed_ns;
static bool stopping;

static uint8_t rxbuf[256 * 1024];
static int64_t loop_now_ns, loop_real_ms;

static void client_close(struct client *c, bool reconnect);

/* Edge-triggered: a socket is reported once per arrival; level-triggered, epoll polls a
 * socket it reported again at the next wait, once more per frame at 50,000 frames/s on the
 * machine edload shares with the hub. client_readable therefore reads until a recv comes back
 * short. */
static void client_epoll(struct client *c, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET,
                             .data.u64 = EV_DATA(TAG_CLIENT, c - clients)};
    if (c->state == C_CONNECTING || c->out_len)
        ev.events |= EPOLLOUT;
    epoll_ctl(epfd, op, c->fd, &ev);
}

static void client_send_raw(struct client *c, const void *data, size_t len)
{
    if (c->out_len == 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
        if (n == (ssize_t)len)
            return;
        if (n < 0) {
            if (errno != EAGAIN) {
                count_error("ws_send_%s", errno_name(errno));
                client_close(c, true);
                return;
            }
            n = 0;
        }
        data = (const char *)data + n;
        len -= (size_t)n;
    }
    c->out = xrealloc(c->out, c->out_len + len);
    memcpy(c->out + c->out_len, data, len);
    c->out_len += (uint32_t)len;
    client_epoll(c, EPOLL_CTL_MOD);
}

static void client_send_frame(struct client *c, int opcode, const void *payload, size_t len)
{
    uint8_t frame[256];
    if (len > sizeof frame - 14)
        len = sizeof frame - 14;
    client_send_raw(c, frame, ws_frame_encode(frame, opcode, payload, len, rng()));
}

static void client_subscribe(struct client *c, long long since)
{
    char msg[160];
    int n = snprintf(
        msg, sizeof msg,
        "{\"type\":\"subscribe\",\"topic\":\"board\",\"department_id\":%lld,\"since\":%lld}",
        run.depts[c->dept].id, since);
    client_send_frame(c, WS_TEXT, msg, (size_t)n);
}

static void client_open(struct client *c)
{
    int err = 0;
    c->fd = nonblocking_socket(&run.hub_addr, &err);
    if (c->fd < 0) {
        count_error("connect_%s", errno_name(err));
        c->state = C_DOWN;
        c->retry_at_ns = loop_now_ns + 100000000LL * (c->attempts < 20 ? c->attempts + 1 : 20);
        c->attempts++;
        return;
    }
    c->state = C_CONNECTING;
    c->started_ns = loop_now_ns;
    clients_inflight++;
    client_epoll(c, EPOLL_CTL_ADD);
}

static void client_handshake(struct client *c)
{
    uint8_t raw[16];
    for (int i = 0; i < 16; i += 4) {
        uint32_t r = rng();
        memcpy(raw + i, &r, 4);
    }
    char key[32], req[768];
    ws_key_encode(key, raw);
    c->accept = xmalloc(29);
    ws_accept_for(key, c->accept);
    int n = snprintf(
        req, sizeof req,
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s%s%s\r\n",
        run.hub_path, run.hub_host, run.hub_port, key, run.token[0] ? "Authorization: Bearer " : "",
        run.token, run.token[0] ? "\r\n" : "");
    c->state = C_HANDSHAKE;
    client_epoll(c, EPOLL_CTL_MOD);
    client_send_raw(c, req, (size_t)n);
}

static void client_close(struct client *c, bool reconnect)
{
    if (c->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    if (c->state == C_CONNECTING || c->state == C_HANDSHAKE || c->state == C_SUBSCRIBING)
        clients_inflight--;
    c->fd = -1;
    free(c->in);
    free(c->msg);
    free(c->out);
    free(c->accept);
    c->in = c->msg = c->out = c->accept = NULL;
    c->in_len = c->in_cap = c->msg_len = c->msg_cap = c->out_len = 0;
    c->resubscribing = false;
    c->state = C_DOWN;
    c->retry_at_ns = reconnect && !stopping ? loop_now_ns + 200000000LL : INT64_MAX;
    if (reconnect && !stopping)
        st.reconnects++;
}

/* A write's send time for (department, seq), or 0 when unknown (not ours, or not answered yet). */
static int64_t sent_ns_of(struct dept *d, long long seq)
{
    long long i = seq - d->base_seq;
    if (i < 0 || (size_t)i >= d->sent_cap)
        return 0;
    return d->sent_ns[i];
}

static void set_sent_ns(struct dept *d, long long seq, int64_t t)
{
    long long i = seq - d->base_seq;
    if (i < 0)
        return;
    if ((size_t)i >= d->sent_cap) {
        size_t cap = d->sent_cap ? d->sent_cap : 1024;
        while (cap <= (size_t)i)
            cap *= 2;
        d->sent_ns = xrealloc(d->sent_ns, cap * sizeof *d->sent_ns);
        memset(d->sent_ns + d->sent_cap, 0, (cap - d->sent_cap) * sizeof *d->sent_ns);
        d->sent_cap = cap;
    }
    d->sent_ns[i] = t;
}

/* Deliveries that came before their write's answer: matched once the answer names the seq. */
struct pending {
    int dept;
    long long seq;
    int64_t recv_ns;
};
static struct pending *pending;
static size_t npending, pending_cap;
static bool answers_since_match;

static void match_pending(bool final)
{
    size_t keep = 0;
    for (size_t i = 0; i < npending; i++) {
        struct pending *p = &pending[i];
        int64_t sent = sent_ns_of(&run.depts[p->dept], p->seq);
        if (sent)
            hist_add(&lat_write_screen, (p->recv_ns - sent) / 1000);
        else if (final)
            st.unmatched_deliveries++;
        else
            pending[keep++] = *p;
    }
    npending = final ? 0 : keep;
    answers_since_match = false;
}

static void on_delivery(struct client *c, const struct envelope *env)
{
    struct dept *d = &run.depts[c->dept];
    if (env->seq <= c->last_seq) {
        st.duplicated++;
        return;
    }
    if (env->seq != c->last_seq + 1) {
        /* A gap: the contract says resubscribe with the last seq applied. */
        st.out_of_order++;
        st.resubscribes++;
        c->resubscribing = true;
        client_subscribe(c, c->last_seq);
        return;
    }
    c->last_seq = env->seq;
    st.delivered++;
    if (!st.first_delivery_ns)
        st.first_delivery_ns = loop_now_ns;
    st.last_delivery_ns = loop_now_ns;
    if (env->seq > d->seen_top)
        d->seen_top = env->seq;
    int64_t sent = sent_ns_of(d, env->seq);
    if (sent) {
        hist_add(&lat_write_screen, (loop_now_ns - sent) / 1000);
    } else if (!opt.no_api) {
        if (npending == pending_cap) {
            pending_cap = pending_cap ? pending_cap * 2 : 4096;
            pending = xrealloc(pending, pending_cap * sizeof *pending);
        }
        pending[npending++] = (struct pending){c->dept, env->seq, loop_now_ns};
    }
    if (env->have & ENV_AT) {
        if (d->at_seq != env->seq) {
            d->at_seq = env->seq;
            if (!rfc3339_ms(env->at, &d->at_ms, &d->at_has_ms))
                d->at_has_ms = false;
        }
        if (d->at_has_ms)
            hist_add(&lat_commit_screen, (loop_real_ms - d->at_ms) * 1000);
    }
}

static void on_subscribe_answer(struct client *c, const struct envelope *env, bool snapshot)
{
    long long seq = snapshot ? env->seq : env->since;
    if (snapshot)
        st.snapshots++;
    else
        st.recovered++;
    if (!c->subscribed_once) {
        c->subscribed_once = true;
        c->first_seq = c->last_seq = seq;
        clients_subscribed++;
        hist_add(&lat_connect, (loop_now_ns - c->started_ns) / 1000);
        if (clients_subscribed == nclients)
            all_subscribed_ns = loop_now_ns;
    } else if (snapshot) {
        if (seq >= c->last_seq) {
            st.skipped_by_snapshot += (uint64_t)(seq - c->last_seq);
        } else { /* the hub's state is behind what this client had: those come again */
            count_error("snapshot_behind_client");
            st.delivered -= (uint64_t)(c->last_seq - seq);
        }
        c->last_seq = seq;
    } else if (seq != c->last_seq) {
        count_error("recovered_since_mismatch");
    }
    if (c->state == C_SUBSCRIBING) {
        clients_inflight--;
        c->state = C_LIVE;
        c->attempts = 0;
    }
    c->resubscribing = false;
    c->heartbeat_top = 0;
}

static void on_message(struct client *c, const char *text, size_t len)
{
    char top_key[32];
    struct envelope env;
    st.frames++;
    snprintf(top_key, sizeof top_key, "board:%lld", run.depts[c->dept].id);
    unsigned want = ENV_TYPE | ENV_DEPT | ENV_SEQ | ENV_ENC | ENV_VERSION | ENV_AT;
    if (!envelope_parse(text, len, want, top_key, &env) || !(env.have & ENV_TYPE)) {
        count_error("ws_not_json");
        return;
    }
    if (env.full_parse)
        st.full_parses++;
    if (!strcmp(env.type, "event")) {
        if (opt.no_api && c->state == C_SUBSCRIBING && (env.have & ENV_SEQ)) {
            /* A server that streams without answering the subscribe (a minimal fan-out
             * server): its first event stands for the answer. */
            struct envelope answer = env;
            answer.seq = env.seq - 1;
            on_subscribe_answer(c, &answer, true);
            st.snapshots--;
        }
        if (c->state != C_LIVE || c->resubscribing) {
            st.ignored_while_resubscribing++;
            return;
        }
        if (!(env.have & ENV_SEQ) || !(env.have & ENV_DEPT)) {
            count_error("event_without_seq");
            return;
        }
        if (env.department_id != run.depts[c->dept].id) {
            st.foreign_events++;
            return;
        }
        on_delivery(c, &env);
        return;
    }
    /* Anything else is rare: read the fields it has, in any order. */
    envelope_parse(text, len, ENV_TYPE | ENV_SEQ | ENV_MODE | ENV_CODE | ENV_TOPS | ENV_SINCE,
                   top_key, &env);
    if (!strcmp(env.type, "heartbeat")) {
        struct dept *d = &run.depts[c->dept];
        if (env.top > d->seen_top)
            d->seen_top = env.top;
        if (c->state != C_LIVE || c->resubscribing)
            return;
        /* A top the previous heartbeat announced that no event has filled since: resubscribe. */
        if (c->heartbeat_top > c->last_seq) {
            st.heartbeat_gaps++;
            st.resubscribes++;
            c->resubscribing = true;
            client_subscribe(c, c->last_seq);
            return;
        }
        c->heartbeat_top = env.top > c->last_seq ? env.top : 0;
    } else if (!strcmp(env.type, "snapshot")) {
        on_subscribe_answer(c, &env, true);
    } else if (!strcmp(env.type, "subscribed")) {
        on_subscribe_answer(c, &env, false);
    } else if (!strcmp(env.type, "error")) {
        count_error("ws_error_%s", (env.have & ENV_CODE) ? env.code : "?");
    } else if (strcmp(env.type, "pong") != 0) {
        count_error("ws_unknown_type");
    }
}

/* Frames in buf; returns how many bytes were used (the rest is a partial frame), or -1 after
 * closing the client. */
static long client_frames(struct client *c, uint8_t *buf, size_t len)
{
    size_t off = 0;
    for (;;) {
        struct ws_frame f;
        int rc = ws_frame_header(buf + off, len - off, &f);
        if (rc < 0) {
            count_error("ws_protocol");
            client_close(c, true);
            return -1;
        }
        if (rc == 0 || len - off - f.header_len < f.payload_len)
            return (long)off;
        uint8_t *payload = buf + off + f.header_len;
        size_t plen = (size_t)f.payload_len;
        off += f.header_len + plen;
        switch (f.opcode) {
        case WS_TEXT:
        case WS_BINARY:
            if (c->msg) {
                count_error("ws_protocol");
                client_close(c, true);
                return -1;
            }
            if (f.fin) {
                on_message(c, (const char *)payload, plen);
            } else {
                c->msg_cap = (uint32_t)(plen + 4096);
                c->msg = xmalloc(c->msg_cap);
                memcpy(c->msg, payload, plen);
                c->msg_len = (uint32_t)plen;
                c->msg_op = (uint8_t)f.opcode;
            }
            break;
        case WS_CONT:
            if (!c->msg) {
                count_error("ws_protocol");
                client_close(c, true);
                return -1;
            }
            if (c->msg_len + plen > c->msg_cap) {
                c->msg_cap = (uint32_t)(c->msg_len + plen) * 2;
                c->msg = xrealloc(c->msg, c->msg_cap);
            }
            memcpy(c->msg + c->msg_len, payload, plen);
            c->msg_len += (uint32_t)plen;
            if (f.fin) {
                char *m = c->msg;
                c->msg = NULL;
                on_message(c, m, c->msg_len);
                free(m);
                c->msg_len = c->msg_cap = 0;
            }
            break;
        case WS_PING:
            client_send_frame(c, WS_PONG, payload, plen);
            break;
        case WS_PONG:
            break;
        case WS_CLOSE: {
            int code = plen >= 2 ? (payload[0] << 8) | payload[1] : 1005;
            if (!stopping)
                count_error("close_%d", code);
            client_send_frame(c, WS_CLOSE, payload, plen >= 2 ? 2 : 0);
            client_close(c, true);
            return -1;
        }
        }
        if (c->fd < 0)
            return -1;
    }
}

static void client_handshake_answer(struct client *c, size_t *used)
{
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    *used = 0;
    if (!end) {
        if (c->in_len > 8192) {
            count_error("upgrade_too_long");
            client_close(c, true);
        }
        return;
    }
    *end = '\0';
    int status = 0;
    sscanf(c->in, "HTTP/1.1 %d", &status);
    if (status != 101) {
        count_error("upgrade_http_%d", status);
        client_close(c, true);
        return;
    }
    char *acc = strcasestr(c->in, "\r\nSec-WebSocket-Accept:");
    if (acc) {
        acc += 23;
        while (*acc == ' ')
            acc++;
    }
    if (!acc || strncmp(acc, c->accept, 28) != 0) {
        count_error("upgrade_bad_accept");
        client_close(c, true);
        return;
    }
    free(c->accept);
    c->accept = NULL;
    *used = (size_t)(end + 4 - c->in);
    c->state = C_SUBSCRIBING;
    client_subscribe(c, c->subscribed_once ? c->last_seq : 0);
}

static bool client_read_once(struct client *c);

/* Reads until the socket is dry (edge-triggered: no second report for what is left). A recv
 * shorter than the buffer emptied the receive queue; whatever arrives later is a new edge. */
static void client_readable(struct client *c)
{
    while (client_read_once(c))
        ;
}

/* One recv and the frames in it; true when the buffer came back full (more may wait). */
static bool client_read_once(struct client *c)
{
    ssize_t n = recv(c->fd, rxbuf, sizeof rxbuf, 0);
    st.reads++;
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return false;
        if (!stopping)
            count_error(n == 0 ? "ws_eof" : "ws_recv_%s", errno_name(errno));
        client_close(c, true);
        return false;
    }
    bool full = n == (ssize_t)sizeof rxbuf;
    loop_now_ns = mono_ns();
    loop_real_ms = real_ms();
    uint8_t *data = rxbuf;
    size_t len = (size_t)n;
    /* With nothing left over, frames are read straight from the shared buffer. */
    if (c->in_len || c->state == C_HANDSHAKE) {
        if (c->in_len + len > c->in_cap) {
            c->in_cap = (uint32_t)(c->in_len + len + 1);
            c->in = xrealloc(c->in, c->in_cap);
        }
        memcpy(c->in + c->in_len, rxbuf, len);
        c->in_len += (uint32_t)len;
        if (c->state == C_HANDSHAKE) {
            size_t used;
            client_handshake_answer(c, &used);
            if (c->fd < 0 || c->state == C_HANDSHAKE)
                return c->fd >= 0 && full;
            memmove(c->in, c->in + used, c->in_len - used);
            c->in_len -= (uint32_t)used;
        }
        data = (uint8_t *)c->in;
        len = c->in_len;
    }
    long used = client_frames(c, data, len);
    if (used < 0)
        return false;
    size_t rest = len - (size_t)used;
    if (data == (uint8_t *)c->in) {
        if (rest == 0) {
            free(c->in);
            c->in = NULL;
            c->in_len = c->in_cap = 0;
        } else {
            memmove(c->in, c->in + used, rest);
            c->in_len = (uint32_t)rest;
        }
    } else if (rest) {
        st.split_reads++;
        c->in_cap = (uint32_t)(rest + 4096);
        c->in = xmalloc(c->in_cap);
        memcpy(c->in, data + used, rest);
        c->in_len = (uint32_t)rest;
    }
    return full && c->fd >= 0;
}

static void client_event(struct client *c, uint32_t events)
{
    if (c->state == C_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            count_error("connect_%s", errno_name(err));
            client_close(c, false);
            c->attempts++;
            c->retry_at_ns = loop_now_ns + 100000000LL * (c->attempts < 20 ? c->attempts : 20);
            return;
        }
        client_handshake(c);
        return;
    }
    if ((events & EPOLLOUT) && c->out_len) {
        ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            count_error("ws_send_%s", errno_name(errno));
            client_close(c, true);
            return;
        }
        if (n > 0) {
            memmove(c->out, c->out + n, c->out_len - (size_t)n);
            c->out_len -= (uint32_t)n;
            if (!c->out_len) {
                free(c->out);
                c->out = NULL;
                client_epoll(c, EPOLL_CTL_MOD);
            }
        }
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
        client_readable(c);
}

/* Opens what may be opened now: paced by --connect-rate, at most --connect-inflight at once,
 * and clients whose retry time has come. */
static void clients_open_due(void)
{
    if (stopping)
        return;
    while (next_to_open < nclients && clients_inflight < opt.connect_inflight) {
        if (opt.connect_rate > 0) {
            double allowed =
                (double)(loop_now_ns - connect_phase_start_ns) / 1e9 * opt.connect_rate + 1;
            if (next_to_open >= allowed)
                break;
        }
        client_open(&clients[next_to_open++]);
    }
    static int64_t last_retry_scan;
    if (loop_now_ns - last_retry_scan < 50000000LL)
        return;
    last_retry_scan = loop_now_ns;
    for (int i = 0; i < next_to_open && clients_inflight < opt.connect_inflight; i++) {
        struct client *c = &clients[i];
        if (c->state == C_DOWN && c->retry_at_ns <= loop_now_ns) {
            if (c->attempts > 50) {
                count_error("gave_up");
                c->retry_at_ns = INT64_MAX;
                continue;
            }
            client_open(c);
        }
    }
}

/* ---- writers --------------------------------------------------------------------------------- */

enum wkind { W_VITALS, W_STATUS, W_BED };
static const char *const kind_names[] = {"vitals", "status", "bed"};
static int mix[3], nmix;

enum wstate { W_CONNECTING, W_IDLE, W_BUSY, W_DEAD };

struct writer {
    int fd;
    int state;
    bool closed_loop;
    int dept, enc, kind;
    int fixed_dept, fixed_enc; /* closed loop: its own encounter */
    int64_t sent_ns;
    char req[1024];
    size_t req_len, req_off;
    char *buf;
    size_t len, cap;
    uint32_t registered; /* the epoll events asked for now */
};

static struct writer *writers;
static int nwriters, writers_cap;
static long long writes_due, writes_scheduled; /* open loop: how many are due by now / in all */
static long long writes_backlog;               /* due but no connection free */
static int64_t write_phase_start_ns, write_phase_end_ns, last_answer_ns;
static bool write_phase_on;
static int writes_in_flight;

/* EPOLLOUT only while connecting or with a request part unsent: the writers are
 * level-triggered, and a writer left asking for EPOLLOUT once its request was out made every
 * epoll_wait return at once. That spin (any writer connected with a write waiting: one added
 * when all were busy, one the API had closed, every closed-loop writer) took up to half of a
 * core during load-tests scenario 2, on the machine the hub shares. A MOD that changes nothing
 * is skipped. */
static void writer_epoll(struct writer *w, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
                             .data.u64 = EV_DATA(TAG_WRITER, w - writers)};
    if (w->state == W_CONNECTING || w->req_off < w->req_len)
        ev.events |= EPOLLOUT;
    if (op == EPOLL_CTL_MOD && ev.events == w->registered)
        return;
    w->registered = ev.events;
    epoll_ctl(epfd, op, w->fd, &ev);
}

static bool writer_connect(struct writer *w)
{
    int err = 0;
    w->fd = nonblocking_socket(&run.api_addr, &err);
    if (w->fd < 0) {
        count_error("api_connect_%s", errno_name(err));
        w->state = W_DEAD;
        return false;
    }
    w->state = W_CONNECTING;
    writer_epoll(w, EPOLL_CTL_ADD);
    return true;
}

static struct writer *writer_new(void)
{
    if (nwriters == writers_cap) {
        writers_cap = writers_cap ? writers_cap * 2 : 64;
        writers = xrealloc(writers, (size_t)writers_cap * sizeof *writers);
    }
    struct writer *w = &writers[nwriters++];
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->fixed_dept = w->fixed_enc = -1;
    return w;
}

/* Chooses the next write (department, encounter, kind) and formats its request. A bed write
 * needs an encounter with a bed of its own and no bed write in flight; failing that it becomes
 * a vitals write (counted). */
static void write_compose(struct writer *w, long long n)
{
    int di, ei, kind;
    if (w->fixed_dept >= 0) {
        di = w->fixed_dept;
        ei = w->fixed_enc;
        kind = mix[n % nmix];
    } else {
        di = (int)(n % run.ndepts);
        kind = mix[(n / run.ndepts) % nmix];
        struct dept *d = &run.depts[di];
        ei = d->next_enc++ % d->nencs;
    }
    struct dept *d = &run.depts[di];
    if (kind == W_BED) {
        int found = -1;
        for (int k = 0; k < d->nencs; k++) {
            int cand = (ei + k) % d->nencs;
            if (d->encs[cand].bed_phase != BED_NONE && !d->encs[cand].busy) {
                found = cand;
                break;
            }
            if (w->fixed_dept >= 0)
                break; /* a closed-loop writer keeps to its own encounter */
        }
        if (found < 0) {
            st.bed_fallbacks++;
            kind = W_VITALS;
        } else {
            ei = found;
        }
    }
    struct enc *e = &d->encs[ei];
    char path[96], body[256];
    int bl;
    switch (kind) {
    case W_STATUS: {
        static const char *const cycle[] = {"in_room", "seen_by_provider", "waiting"};
        snprintf(path, sizeof path, "/api/v1/encounters/%lld/status", e->id);
        bl = snprintf(body, sizeof body, "{\"status\":\"%s\"}", cycle[e->status_step++ % 3]);
        break;
    }
    case W_BED:
        e->busy = true;
        if (e->bed_phase == BED_CLEANING) {
            snprintf(path, sizeof path, "/api/v1/beds/%lld/status", e->bed_id);
            bl = snprintf(body, sizeof body, "{\"status\":\"free\"}");
        } else {
            snprintf(path, sizeof path, "/api/v1/encounters/%lld/bed", e->id);
            if (e->bed_phase == BED_WAITING)
                bl = snprintf(body, sizeof body, "{\"bed_id\":%lld}", e->bed_id);
            else
                bl = snprintf(body, sizeof body, "{\"bed_id\":null}");
        }
        break;
    default:
        snprintf(path, sizeof path, "/api/v1/encounters/%lld/vitals", e->id);
        bl = snprintf(body, sizeof body,
                      "{\"taken_by\":%lld,\"heart_rate\":%lld,\"resp_rate\":%lld}", run.staff_id,
                      60 + n % 60, 12 + n % 10);
        break;
    }
    w->dept = di;
    w->enc = ei;
    w->kind = kind;
    int hl = snprintf(w->req, sizeof w->req,
                      "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                      path, run.api_host, run.token, bl, body);
    w->req_len = (size_t)hl;
    w->req_off = 0;
}

static long long write_counter;

/* Sends the composed request (now, or once the connection is up). */
static void writer_send(struct writer *w)
{
    if (w->state == W_CONNECTING)
        return; /* sent when the connection is up; sent_ns is taken then */
    w->state = W_BUSY;
    w->sent_ns = mono_ns();
    st.writes_sent++;
    st.writes_by_kind[w->kind]++;
    ssize_t n = send(w->fd, w->req, w->req_len, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN)
        n = 0; /* the read side will see the close */
    w->req_off = n > 0 ? (size_t)n : 0;
    writer_epoll(w, EPOLL_CTL_MOD); /* EPOLLOUT while part is unsent, and only then */
}

static void writer_start_write(struct writer *w, int64_t due_ns)
{
    write_compose(w, write_counter++);
    writes_in_flight++;
    if (w->state == W_DEAD && !writer_connect(w)) {
        writes_in_flight--;
        st.writes_failed++;
        return;
    }
    writer_send(w);
    int64_t lag = loop_now_ns - due_ns;
    if (due_ns && lag > st.max_send_lag_ns)
        st.max_send_lag_ns = lag;
    if (due_ns && lag > 5000000)
        st.writes_late++;
}

/* Open loop: every write due by now goes out on a free connection (a new one while fewer
 * than --api-conns exist); with none free it waits in the backlog and goes out late. */
static void open_loop_due(void)
{
    if (!write_phase_on || opt.writers_closed > 0 || opt.rate <= 0)
        return;
    double elapsed = (double)(loop_now_ns - write_phase_start_ns) / 1e9;
    long long due = (long long)floor(elapsed * opt.rate) + 1;
    if (due > writes_scheduled)
        due = writes_scheduled;
    if (due > writes_due) {
        writes_backlog += due - writes_due;
        writes_due = due;
    }
    while (writes_backlog > 0) {
        struct writer *w = NULL;
        for (int i = 0; i < nwriters; i++)
            if (writers[i].state == W_IDLE || writers[i].state == W_DEAD) {
                w = &writers[i];
                break;
            }
        if (!w && nwriters < opt.api_conns) {
            w = writer_new();
            w->state = W_DEAD;
        }
        if (!w)
            break;
        long long index = writes_due - writes_backlog;
        int64_t due_ns = write_phase_start_ns + (int64_t)((double)index / opt.rate * 1e9);
        writes_backlog--;
        writer_start_write(w, due_ns);
    }
}

static void writer_dead(struct writer *w, const char *why)
{
    if (w->fd >= 0) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, w->fd, NULL);
        close(w->fd);
    }
    w->fd = -1;
    if (w->state == W_BUSY || (w->state == W_CONNECTING && w->req_len)) {
        count_error("%s_%s", kind_names[w->kind], why);
        st.writes_failed++;
        writes_in_flight--;
        run.depts[w->dept].encs[w->enc].busy = false;
    }
    w->state = W_DEAD;
    w->req_len = w->req_off = 0;
    w->len = 0;
}

static void writer_answer(struct writer *w, const struct http_response *resp)
{
    int64_t now = mono_ns();
    struct dept *d = &run.depts[w->dept];
    struct enc *e = &d->encs[w->enc];
    writes_in_flight--;
    last_answer_ns = now;
    hist_add(&lat_write, (now - w->sent_ns) / 1000);
    if (w->kind == W_BED)
        e->busy = false;
    if (resp->status == 200 || resp->status == 201) {
        struct envelope env;
        if (envelope_parse(w->buf + resp->body_off, resp->body_len, ENV_SEQ, NULL, &env) &&
            (env.have & ENV_SEQ)) {
            set_sent_ns(d, env.seq, w->sent_ns);
            if (env.seq > d->answered_top)
                d->answered_top = env.seq;
            answers_since_match = true;
        } else {
            count_error("%s_answer_without_seq", kind_names[w->kind]);
        }
        st.writes_ok++;
        st.ok_by_kind[w->kind]++;
        if (w->kind == W_BED)
            e->bed_phase = e->bed_phase == BED_WAITING ? BED_IN
                           : e->bed_phase == BED_IN    ? BED_CLEANING
                                                       : BED_WAITING;
    } else {
        st.writes_refused++;
        count_error("%s_http_%d", kind_names[w->kind], resp->status);
        /* A bed move refused because the bed is being cleaned: clean it next. */
        if (w->kind == W_BED && resp->status == 409)
            e->bed_phase = e->bed_phase == BED_WAITING    ? BED_CLEANING
                           : e->bed_phase == BED_CLEANING ? BED_IN
                                                          : BED_WAITING;
    }
}

static void writer_event(struct writer *w, uint32_t events)
{
    if (w->state == W_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            count_error("api_connect_%s", errno_name(err));
            writer_dead(w, "connect");
            return;
        }
        w->state = W_IDLE;
        if (w->req_len) /* a write was waiting for this connection */
            writer_send(w);
        else
            writer_epoll(w, EPOLL_CTL_MOD);
        return;
    }
    if ((events & EPOLLOUT) && w->req_off < w->req_len) {
        ssize_t n = send(w->fd, w->req + w->req_off, w->req_len - w->req_off, MSG_NOSIGNAL);
        if (n > 0)
            w->req_off += (size_t)n;
        if (w->req_off == w->req_len)
            writer_epoll(w, EPOLL_CTL_MOD);
    }
    if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)))
        return;
    if (w->cap - w->len < 16384) {
        w->cap = w->cap ? w->cap * 2 : 32768;
        w->buf = xrealloc(w->buf, w->cap);
    }
    ssize_t n = recv(w->fd, w->buf + w->len, w->cap - w->len - 1, 0);
    if (n <= 0) {
        if (n < 0 && errno == EAGAIN)
            return;
        writer_dead(w, n == 0 ? "closed_by_api" : "recv_error");
        return;
    }
    w->len += (size_t)n;
    struct http_response resp;
    int rc = http_response_parse(w->buf, w->len, &resp);
    if (rc == 0)
        return;
    if (rc < 0 || w->state != W_BUSY) {
        count_error("api_bad_response");
        writer_dead(w, "bad_response");
        return;
    }
    writer_answer(w, &resp);
    size_t rest = w->len - resp.total_len;
    memmove(w->buf, w->buf + resp.total_len, rest);
    w->len = rest;
    w->req_len = w->req_off = 0;
    w->state = W_IDLE;
    if (resp.close_after)
        writer_dead(w, "close");
    /* Closed loop: the next write at once, on the same encounter. */
    if (w->closed_loop && write_phase_on && loop_now_ns < write_phase_end_ns) {
        loop_now_ns = mono_ns();
        writer_start_write(w, 0);
    } else if (w->closed_loop && w->state == W_IDLE) {
        writer_epoll(w, EPOLL_CTL_MOD);
    }
}

/* ---- the loop --------------------------------------------------------------------------- */

static void loop_once(int timeout_ms)
{
    struct epoll_event events[512];
    int n = epoll_wait(epfd, events, 512, timeout_ms);
    st.wakes += n > 0;
    loop_now_ns = mono_ns();
    loop_real_ms = real_ms();
    for (int i = 0; i < n; i++) {
        uint32_t tag = (uint32_t)(events[i].data.u64 >> 32);
        uint32_t idx = (uint32_t)events[i].data.u64;
        if (tag == TAG_CLIENT) {
            if (clients[idx].fd >= 0)
                client_event(&clients[idx], events[i].events);
        } else if (tag == TAG_WRITER) {
            if (writers[idx].fd >= 0)
                writer_event(&writers[idx], events[i].events);
        }
        if ((i & 63) == 63) { /* a long batch of deliveries must not make a write late */
            loop_now_ns = mono_ns();
            open_loop_due();
        }
    }
    loop_now_ns = mono_ns();
    clients_open_due();
    open_loop_due();
    if (answers_since_match)
        match_pending(false);
    static int64_t last_sample;
    if (loop_now_ns - last_sample > 100000000LL) {
        last_sample = loop_now_ns;
        watch_sample(&hub_watch);
        watch_sample(&api_watch);
    }
}

/* Runs the loop until done() or the deadline; false when the deadline came first. */
static bool run_until(bool (*done)(void), int64_t deadline_ns)
{
    while (!done()) {
        if (loop_now_ns >= deadline_ns)
            return false;
        int64_t wait_ns = deadline_ns - loop_now_ns;
        if (write_phase_on && opt.writers_closed == 0 && opt.rate > 0 &&
            writes_due < writes_scheduled) { /* wake for the next open-loop write */
            int64_t next = write_phase_start_ns + (int64_t)((double)writes_due / opt.rate * 1e9);
            if (next - loop_now_ns < wait_ns)
                wait_ns = next - loop_now_ns;
        }
        /* epoll_wait counts whole milliseconds: round up, so a due write is never early */
        int64_t wait = (wait_ns + 999999) / 1000000;
        loop_once(wait > 5 ? 5 : (int)(wait < 0 ? 0 : wait));
    }
    return true;
}

static bool all_subscribed(void)
{
    return clients_subscribed == nclients && clients_inflight == 0;
}
static bool never(void)
{
    return false;
}
static bool writes_done(void)
{
    if (opt.writers_closed > 0)
        return loop_now_ns >= write_phase_end_ns && writes_in_flight == 0;
    return writes_due >= writes_scheduled && writes_backlog == 0 && writes_in_flight == 0;
}
static int clients_behind(void)
{
    int behind = 0;
    for (int i = 0; i < nclients; i++) {
        struct client *c = &clients[i];
        if (c->last_seq < run.depts[c->dept].final_top || c->state != C_LIVE || c->resubscribing)
            behind++;
    }
    return behind;
}
static bool all_caught_up(void)
{
    static int64_t last_check;
    if (loop_now_ns - last_check < 10000000LL)
        return false;
    last_check = loop_now_ns;
    return clients_behind() == 0;
}

static void raise_fd_limit(int need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if ((long long)rl.rlim_cur < need + 64)
        fprintf(stderr, "edload: warning: the open-file limit is %llu, %d connections asked\n",
                (unsigned long long)rl.rlim_cur, need);
}

/* ---- the reconnect storm --------------------------------------------------------------- */

static struct {
    bool done;
    int new_pid;
    double kill_to_listen_s, listen_to_caught_up_s;
    long long recovered, snapshots, caught_up;
    bool timed_out;
} storm;

static bool hub_listening(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = connect(fd, (struct sockaddr *)&run.hub_addr, sizeof run.hub_addr) == 0;
    close(fd);
    return ok;
}

static void restart_storm(void)
{
    if (opt.hub_pid <= 0) {
        fprintf(stderr, "edload: --restart-cmd needs --hub-pid\n");
        return;
    }
    uint64_t rec0 = st.recovered, snap0 = st.snapshots;
    int64_t t_kill = mono_ns();
    kill(opt.hub_pid, SIGKILL);
    for (int i = 0; i < 500 && kill(opt.hub_pid, 0) == 0; i++)
        usleep(10000);
    /* Every client notices the dead hub (EOF or reset) and comes back with since = last seq;
     * closing them here does the same without waiting for each socket's error. */
    stopping = true;
    for (int i = 0; i < nclients; i++)
        client_close(&clients[i], false);
    stopping = false;
    /* One write per department while the hub is down, so catching up means replaying. */
    for (int i = 0; i < run.ndepts && !opt.no_api; i++) {
        struct dept *d = &run.depts[i];
        char path[96];
        int status;
        snprintf(path, sizeof path, "/api/v1/encounters/%lld/vitals", d->encs[0].id);
        json_t *body = json_pack("{s:I, s:i}", "taken_by", run.staff_id, "heart_rate", 77);
        json_t *ans = api_call("POST", path, body, &status);
        json_decref(body);
        long long seq = json_integer_value(json_object_get(ans, "seq"));
        json_decref(ans);
        if (seq > d->answered_top)
            d->answered_top = seq;
    }
    FILE *p = popen(opt.restart_cmd, "r");
    char line[256], last[256] = "";
    while (p && fgets(line, sizeof line, p))
        if (strspn(line, " \t\r\n") != strlen(line))
            snprintf(last, sizeof last, "%s", line);
    if (!p || pclose(p) != 0)
        count_error("restart_cmd_failed");
    storm.new_pid = atoi(last);
    int64_t t_listen = 0;
    for (int i = 0; i < 3000; i++) {
        if (hub_listening()) {
            t_listen = mono_ns();
            break;
        }
        usleep(2000);
    }
    if (!t_listen) {
        count_error("hub_not_listening_after_restart");
        storm.timed_out = true;
        return;
    }
    storm.kill_to_listen_s = (double)(t_listen - t_kill) / 1e9;
    if (storm.new_pid > 0) {
        opt.hub_pid = storm.new_pid;
        watch_start(&hub_watch, storm.new_pid);
    }
    for (int i = 0; i < run.ndepts; i++)
        run.depts[i].final_top = run.depts[i].answered_top > run.depts[i].seen_top
                                     ? run.depts[i].answered_top
                                     : run.depts[i].seen_top;
    loop_now_ns = mono_ns();
    for (int i = 0; i < nclients; i++)
        clients[i].retry_at_ns = loop_now_ns, clients[i].attempts = 0;
    storm.timed_out = !run_until(all_caught_up, loop_now_ns + (int64_t)(opt.connect_timeout * 1e9));
    storm.listen_to_caught_up_s = (double)(mono_ns() - t_listen) / 1e9;
    storm.recovered = (long long)(st.recovered - rec0);
    storm.snapshots = (long long)(st.snapshots - snap0);
    storm.caught_up = nclients - clients_behind();
    storm.done = true;
}

/* ---- the report --------------------------------------------------------------------------- */

static json_t *hist_json(const struct hist *h)
{
    return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f, s:f}", "count", (json_int_t)h->n, "p50_ms",
                     hist_quantile(h, 0.50) / 1000.0, "p90_ms", hist_quantile(h, 0.90) / 1000.0,
                     "p99_ms", hist_quantile(h, 0.99) / 1000.0, "p999_ms",
                     hist_quantile(h, 0.999) / 1000.0, "max_ms", h->max_us / 1000.0, "mean_ms",
                     h->n ? h->sum_us / (double)h->n / 1000.0 : 0.0);
}

static json_t *watch_json(const struct proc_watch *w)
{
    if (w->pid <= 0)
        return json_null();
    return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f}", "pid", w->pid, "cpu_s",
                     w->cpu_end - w->cpu_start, "rss_before_mb", w->rss_before_kb / 1024.0,
                     "rss_after_mb", w->rss_after_kb / 1024.0, "rss_peak_mb",
                     w->rss_peak_kb / 1024.0, "vmhwm_mb", w->hwm_kb / 1024.0);
}

static void print_hist(const char *name, const struct hist *h)
{
    if (!h->n) {
        printf("%-26s –\n", name);
        return;
    }
    printf("%-26s p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f ms  (%llu samples)\n", name,
           hist_quantile(h, 0.5) / 1000.0, hist_quantile(h, 0.9) / 1000.0,
           hist_quantile(h, 0.99) / 1000.0, hist_quantile(h, 0.999) / 1000.0, h->max_us / 1000.0,
           (unsigned long long)h->n);
}

struct idle_figures {
    bool measured;
    long rss_before_kb, rss_connected_kb, rss_after_idle_kb;
    double cpu_s, seconds;
};
static struct idle_figures idle;

static int usage(void)
{
    fprintf(
        stderr,
        "usage: edload --hub ws://HOST:PORT/ws --api http://HOST:PORT [--user adeyemi] "
        "[--password P]\n"
        "              --clients N --departments D --rate R --seconds S [--mix vitals,status,bed]\n"
        "              [--writers-closed C] [--hub-pid PID] [--api-pid PID] [--idle-seconds S]\n"
        "              [--restart-cmd CMD] [--no-api] [--label NAME] [--json FILE]\n"
        "              [--connect-rate K] [--token-env VAR] [--pg CONNINFO] [--encounters E]\n"
        "              [--api-conns K] [--connect-inflight K] [--drain-seconds S]\n"
        "              [--connect-timeout S]\n"
        "(load-tests/README.md, \"edload\")\n");
    return 2;
}

static bool parse_mix(void)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", opt.mix);
    nmix = 0;
    for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k = -1;
        for (int i = 0; i < 3; i++)
            if (!strcmp(tok, kind_names[i]))
                k = i;
        if (k < 0 || nmix == 3)
            return false;
        mix[nmix++] = k;
    }
    return nmix > 0;
}

int main(int argc, char **argv)
{
    enum {
        O_HUB = 256,
        O_API,
        O_USER,
        O_PASSWORD,
        O_CLIENTS,
        O_DEPTS,
        O_RATE,
        O_SECONDS,
        O_MIX,
        O_CLOSED,
        O_HUBPID,
        O_APIPID,
        O_IDLE,
        O_RESTART,
        O_NOAPI,
        O_LABEL,
        O_JSON,
        O_CRATE,
        O_TOKENENV,
        O_PG,
        O_ENCS,
        O_APICONNS,
        O_INFLIGHT,
        O_DRAIN,
        O_CTIMEOUT
    };
    static const struct option longopts[] = {{"hub", 1, 0, O_HUB},
                                             {"api", 1, 0, O_API},
                                             {"user", 1, 0, O_USER},
                                             {"password", 1, 0, O_PASSWORD},
                                             {"clients", 1, 0, O_CLIENTS},
                                             {"departments", 1, 0, O_DEPTS},
                                             {"rate", 1, 0, O_RATE},
                                             {"seconds", 1, 0, O_SECONDS},
                                             {"mix", 1, 0, O_MIX},
                                             {"writers-closed", 1, 0, O_CLOSED},
                                             {"hub-pid", 1, 0, O_HUBPID},
                                             {"api-pid", 1, 0, O_APIPID},
                                             {"idle-seconds", 1, 0, O_IDLE},
                                             {"restart-cmd", 1, 0, O_RESTART},
                                             {"no-api", 0, 0, O_NOAPI},
                                             {"label", 1, 0, O_LABEL},
                                             {"json", 1, 0, O_JSON},
                                             {"connect-rate", 1, 0, O_CRATE},
                                             {"token-env", 1, 0, O_TOKENENV},
                                             {"pg", 1, 0, O_PG},
                                             {"encounters", 1, 0, O_ENCS},
                                             {"api-conns", 1, 0, O_APICONNS},
                                             {"connect-inflight", 1, 0, O_INFLIGHT},
                                             {"drain-seconds", 1, 0, O_DRAIN},
                                             {"connect-timeout", 1, 0, O_CTIMEOUT},
                                             {"help", 0, 0, 'h'},
                                             {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (o) {
        case O_HUB:
            opt.hub = optarg;
            break;
        case O_API:
            opt.api = optarg;
            break;
        case O_USER:
            opt.user = optarg;
            break;
        case O_PASSWORD:
            opt.password = optarg;
            break;
        case O_CLIENTS:
            opt.clients = atoi(optarg);
            break;
        case O_DEPTS:
            opt.departments = atoi(optarg);
            break;
        case O_RATE:
            opt.rate = atof(optarg);
            break;
        case O_SECONDS:
            opt.seconds = atof(optarg);
            break;
        case O_MIX:
            opt.mix = optarg;
            break;
        case O_CLOSED:
            opt.writers_closed = atoi(optarg);
            break;
        case O_HUBPID:
            opt.hub_pid = atoi(optarg);
            break;
        case O_APIPID:
            opt.api_pid = atoi(optarg);
            break;
        case O_IDLE:
            opt.idle_seconds = atof(optarg);
            break;
        case O_RESTART:
            opt.restart_cmd = optarg;
            break;
        case O_NOAPI:
            opt.no_api = true;
            break;
        case O_LABEL:
            opt.label = optarg;
            break;
        case O_JSON:
            opt.json_path = optarg;
            break;
        case O_CRATE:
            opt.connect_rate = atof(optarg);
            break;
        case O_TOKENENV:
            opt.token_env = optarg;
            break;
        case O_PG:
            opt.pg = optarg;
            break;
        case O_ENCS:
            opt.encounters = atoi(optarg);
            break;
        case O_APICONNS:
            opt.api_conns = atoi(optarg);
            break;
        case O_INFLIGHT:
            opt.connect_inflight = atoi(optarg);
            break;
        case O_DRAIN:
            opt.drain_seconds = atof(optarg);
            break;
        case O_CTIMEOUT:
            opt.connect_timeout = atof(optarg);
            break;
        default:
            return usage();
        }
    }
    if (!opt.password)
        opt.password =
            getenv("EDLIVE_DEMO_PASSWORD") ? getenv("EDLIVE_DEMO_PASSWORD") : "edlive-demo";
    if (!opt.hub || (!opt.api && !opt.no_api) || opt.clients < 0 || opt.departments < 1 ||
        opt.departments > HUB_DEPTS_MAX || opt.encounters < 1 || opt.api_conns < 1 ||
        opt.connect_inflight < 1 || opt.rate < 0 || opt.seconds < 0 || !parse_mix())
        return usage();
    if (opt.no_api)
        opt.rate = 0, opt.writers_closed = 0;
    if (!parse_targets())
        return 2;
    rng_state ^= (uint32_t)getpid() ^ (uint32_t)time(NULL);
    raise_fd_limit(opt.clients + opt.api_conns + opt.writers_closed);
    signal(SIGPIPE, SIG_IGN);

    if (!setup_run())
        return 1;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    nclients = opt.clients;
    clients = xcalloc((size_t)(nclients ? nclients : 1), sizeof *clients);
    for (int i = 0; i < nclients; i++) {
        clients[i].fd = -1;
        clients[i].dept = i % run.ndepts; /* round-robin over the boards */
        clients[i].retry_at_ns = INT64_MAX;
        run.depts[i % run.ndepts].nclients++;
    }
    loop_now_ns = mono_ns();
    watch_start(&hub_watch, opt.hub_pid);
    watch_start(&api_watch, opt.api_pid);
    idle.rss_before_kb = hub_watch.rss_before_kb;
    double hub_cpu_before_connect = hub_watch.cpu_start;

    /* Connect and subscribe every client. */
    connect_phase_start_ns = loop_now_ns;
    bool connected = run_until(all_subscribed, loop_now_ns + (int64_t)(opt.connect_timeout * 1e9));
    double connect_s =
        (double)((connected ? all_subscribed_ns : loop_now_ns) - connect_phase_start_ns) / 1e9;
    if (!connected)
        fprintf(stderr, "edload: only %d of %d clients subscribed within %.0f s\n",
                clients_subscribed, nclients, opt.connect_timeout);
    double hub_cpu_connect = opt.hub_pid > 0 ? proc_cpu_s(opt.hub_pid) - hub_cpu_before_connect : 0;

    if (opt.idle_seconds > 0) {
        idle.measured = true;
        idle.rss_connected_kb = opt.hub_pid > 0 ? proc_kb(opt.hub_pid, "VmRSS") : -1;
        double cpu0 = opt.hub_pid > 0 ? proc_cpu_s(opt.hub_pid) : 0;
        int64_t t0 = mono_ns();
        run_until(never, t0 + (int64_t)(opt.idle_seconds * 1e9));
        idle.seconds = (double)(mono_ns() - t0) / 1e9;
        idle.cpu_s = opt.hub_pid > 0 ? proc_cpu_s(opt.hub_pid) - cpu0 : 0;
        idle.rss_after_idle_kb = opt.hub_pid > 0 ? proc_kb(opt.hub_pid, "VmRSS") : -1;
    }

    if (opt.restart_cmd)
        restart_storm();

    /* Writes: open loop at --rate, or --writers-closed closed-loop writers. */
    writes_scheduled = (long long)llround(opt.rate * opt.seconds);
    /* Open loop: a few connections up before the first write is due, so it is not late. */
    for (int i = 0; opt.writers_closed == 0 && opt.rate > 0 && i < opt.api_conns && i < 4; i++) {
        struct writer *w = writer_new();
        writer_connect(w);
    }
    run_until(never, mono_ns() + 50000000LL);
    loop_now_ns = mono_ns();
    write_phase_start_ns = loop_now_ns;
    write_phase_end_ns = loop_now_ns + (int64_t)(opt.seconds * 1e9);
    write_phase_on = true;
    double hub_cpu_writes0 = opt.hub_pid > 0 ? proc_cpu_s(opt.hub_pid) : 0;
    double api_cpu_writes0 = opt.api_pid > 0 ? proc_cpu_s(opt.api_pid) : 0;
    if (opt.writers_closed > 0) {
        for (int i = 0; i < opt.writers_closed; i++) {
            struct writer *w = writer_new();
            w->closed_loop = true;
            w->fixed_dept = i % run.ndepts;
            w->fixed_enc = (i / run.ndepts) % run.depts[w->fixed_dept].nencs;
            w->state = W_DEAD;
            writer_start_write(w, 0);
        }
    }
    if (opt.writers_closed > 0 || opt.no_api)
        run_until(never, write_phase_end_ns);
    run_until(writes_done, write_phase_end_ns + 30 * 1000000000LL);
    write_phase_on = false;
    int64_t writes_end_ns = last_answer_ns ? last_answer_ns : mono_ns();

    /* Drain: every client must reach its department's last seq. */
    for (int i = 0; i < run.ndepts; i++) {
        struct dept *d = &run.depts[i];
        d->final_top = d->answered_top > d->seen_top ? d->answered_top : d->seen_top;
    }
    loop_now_ns = mono_ns();
    bool caught_up = run_until(all_caught_up, loop_now_ns + (int64_t)(opt.drain_seconds * 1e9));
    int behind = clients_behind();
    match_pending(true);
    double hub_cpu_writes = opt.hub_pid > 0 ? proc_cpu_s(opt.hub_pid) - hub_cpu_writes0 : 0;
    double api_cpu_writes = opt.api_pid > 0 ? proc_cpu_s(opt.api_pid) - api_cpu_writes0 : 0;
    double writes_wall_s = (double)(mono_ns() - write_phase_start_ns) / 1e9;
    watch_end(&hub_watch);
    watch_end(&api_watch);

    /* Figures. */
    long long expected = 0, expected_from_writes = 0;
    for (int i = 0; i < nclients; i++) {
        struct client *c = &clients[i];
        if (!c->subscribed_once)
            continue;
        long long top = run.depts[c->dept].final_top;
        if (c->last_seq > top)
            top = c->last_seq;
        expected += top - c->first_seq;
    }
    for (int i = 0; i < run.ndepts; i++)
        expected_from_writes += 0; /* filled below from the answers per department */
    uint64_t ok_total = st.writes_ok;
    expected_from_writes = 0;
    for (int i = 0; i < run.ndepts; i++) {
        struct dept *d = &run.depts[i];
        long long ours = 0;
        for (size_t k = 0; k < d->sent_cap; k++)
            ours += d->sent_ns[k] != 0;
        expected_from_writes += ours * d->nclients;
    }
    long long lost = expected - (long long)st.delivered;
    if (lost < 0)
        lost = 0;
    double write_s = (double)(writes_end_ns - write_phase_start_ns) / 1e9;
    if (write_s < opt.seconds)
        write_s = opt.seconds; /* the last write is due just before the end */
    /* From the write phase's start, or the first delivery if one came before it (--no-api). */
    int64_t delivery_from = st.first_delivery_ns && st.first_delivery_ns < write_phase_start_ns
                                ? st.first_delivery_ns
                                : write_phase_start_ns;
    double delivery_s = st.last_delivery_ns > delivery_from
                            ? (double)(st.last_delivery_ns - delivery_from) / 1e9
                            : 0;
    double offered = opt.writers_closed > 0 ? 0 : opt.rate;
    double achieved = write_s > 0 ? (double)ok_total / write_s : 0;
    double deliveries_per_s = delivery_s > 0 ? (double)st.delivered / delivery_s : 0;
    double idle_bytes =
        idle.measured && nclients && idle.rss_before_kb > 0
            ? (double)(idle.rss_after_idle_kb - idle.rss_before_kb) * 1024.0 / nclients
            : -1;

    json_t *errs = json_object();
    for (int i = 0; i < nerrors; i++)
        json_object_set_new(errs, errors[i].kind, json_integer((json_int_t)errors[i].count));
    json_t *by_kind = json_object();
    for (int k = 0; k < 3; k++)
        json_object_set_new(by_kind, kind_names[k],
                            json_pack("{s:I, s:I}", "sent", (json_int_t)st.writes_by_kind[k], "ok",
                                      (json_int_t)st.ok_by_kind[k]));
    json_t *depts = json_array();
    for (int i = 0; i < run.ndepts; i++)
        json_array_append_new(depts, json_pack("{s:I, s:s, s:i, s:I, s:I}", "id",
                                               (json_int_t)run.depts[i].id, "code",
                                               run.depts[i].code, "clients", run.depts[i].nclients,
                                               "first_seq", (json_int_t)run.depts[i].base_seq,
                                               "final_seq", (json_int_t)run.depts[i].final_top));
    json_t *out = json_pack("{s:s?, s:s, s:s?, s:i, s:i, s:f, s:f, s:s, s:i, s:b, s:o}", "label",
                            opt.label, "hub", opt.hub, "api", opt.no_api ? NULL : opt.api,
                            "clients", nclients, "departments", run.ndepts, "rate", opt.rate,
                            "seconds", opt.seconds, "mix", opt.mix, "writers_closed",
                            opt.writers_closed, "no_api", opt.no_api, "department_list", depts);
    json_object_set_new(out, "connect",
                        json_pack("{s:i, s:f, s:b, s:f, s:o}", "subscribed", clients_subscribed,
                                  "all_subscribed_s", connect_s, "complete", connected, "hub_cpu_s",
                                  hub_cpu_connect, "per_client", hist_json(&lat_connect)));
    json_object_set_new(out, "writes",
                        json_pack("{s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:o, s:o}",
                                  "offered_per_s", offered, "achieved_per_s", achieved, "sent",
                                  (json_int_t)st.writes_sent, "ok", (json_int_t)st.writes_ok,
                                  "refused", (json_int_t)st.writes_refused, "failed",
                                  (json_int_t)st.writes_failed, "late", (json_int_t)st.writes_late,
                                  "max_send_lag_ms", st.max_send_lag_ns / 1e6, "bed_fallbacks",
                                  (json_int_t)st.bed_fallbacks, "by_kind", by_kind, "latency",
                                  hist_json(&lat_write)));
    json_object_set_new(
        out, "deliveries",
        json_pack("{s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:i}", "expected",
                  (json_int_t)expected, "expected_from_writes", (json_int_t)expected_from_writes,
                  "delivered", (json_int_t)st.delivered, "per_s", deliveries_per_s, "lost",
                  (json_int_t)lost, "duplicated", (json_int_t)st.duplicated, "out_of_order",
                  (json_int_t)st.out_of_order, "resubscribes", (json_int_t)st.resubscribes,
                  "heartbeat_gaps", (json_int_t)st.heartbeat_gaps, "skipped_by_snapshot",
                  (json_int_t)st.skipped_by_snapshot, "reconnects", (json_int_t)st.reconnects,
                  "all_caught_up", caught_up, "clients_behind", behind));
    json_object_set_new(out, "latency",
                        json_pack("{s:o, s:o}", "write_to_screen", hist_json(&lat_write_screen),
                                  "commit_to_screen", hist_json(&lat_commit_screen)));
    json_object_set_new(out, "frames",
                        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "received",
                                  (json_int_t)st.frames, "full_parses", (json_int_t)st.full_parses,
                                  "snapshots", (json_int_t)st.snapshots, "recovered",
                                  (json_int_t)st.recovered, "foreign_events",
                                  (json_int_t)st.foreign_events, "unmatched_deliveries",
                                  (json_int_t)st.unmatched_deliveries));
    json_object_set_new(out, "hub", watch_json(&hub_watch));
    json_object_set_new(out, "api_process", watch_json(&api_watch));
    json_object_set_new(out, "write_phase",
                        json_pack("{s:f, s:f, s:f}", "wall_s", writes_wall_s, "hub_cpu_s",
                                  hub_cpu_writes, "api_cpu_s", api_cpu_writes));
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    json_object_set_new(out, "edload",
                        json_pack("{s:f, s:f, s:I, s:I, s:I}", "cpu_s",
                                  (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
                                      (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6,
                                  "rss_peak_mb", self.ru_maxrss / 1024.0, "wakes",
                                  (json_int_t)st.wakes, "reads", (json_int_t)st.reads,
                                  "split_reads", (json_int_t)st.split_reads));
    if (idle.measured)
        json_object_set_new(out, "idle",
                            json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "seconds", idle.seconds,
                                      "rss_before_mb", idle.rss_before_kb / 1024.0,
                                      "rss_connected_mb", idle.rss_connected_kb / 1024.0,
                                      "rss_after_idle_mb", idle.rss_after_idle_kb / 1024.0,
                                      "bytes_per_connection", idle_bytes, "hub_cpu_s", idle.cpu_s));
    else
        json_object_set_new(out, "idle", json_null());
    if (storm.done || opt.restart_cmd)
        json_object_set_new(out, "storm",
                            json_pack("{s:i, s:f, s:f, s:I, s:I, s:I, s:b}", "new_hub_pid",
                                      storm.new_pid, "kill_to_listening_s", storm.kill_to_listen_s,
                                      "listening_to_caught_up_s", storm.listen_to_caught_up_s,
                                      "recovered", (json_int_t)storm.recovered, "snapshots",
                                      (json_int_t)storm.snapshots, "caught_up",
                                      (json_int_t)storm.caught_up, "timed_out", storm.timed_out));
    else
        json_object_set_new(out, "storm", json_null());
    json_object_set_new(out, "errors", errs);

    /* One human table. */
    printf("edload %s: %d clients, %d department(s), %s\n", opt.label ? opt.label : "", nclients,
           run.ndepts,
           opt.no_api               ? "no API (receive only)"
           : opt.writers_closed > 0 ? "closed-loop writers"
           : writes_scheduled > 0   ? "open-loop writes"
                                    : "no writes");
    printf("%-26s %d/%d in %.2f s%s\n", "connected+subscribed", clients_subscribed, nclients,
           connect_s, connected ? "" : " (INCOMPLETE)");
    if (!opt.no_api)
        printf("%-26s offered %.1f/s  achieved %.1f/s  ok %llu  refused %llu  failed %llu  late "
               "%llu\n",
               "writes", offered, achieved, (unsigned long long)st.writes_ok,
               (unsigned long long)st.writes_refused, (unsigned long long)st.writes_failed,
               (unsigned long long)st.writes_late);
    printf(
        "%-26s %llu of %lld expected (%.0f/s)  lost %lld  dup %llu  ooo %llu  resubscribes %llu\n",
        "deliveries", (unsigned long long)st.delivered, expected, deliveries_per_s, lost,
        (unsigned long long)st.duplicated, (unsigned long long)st.out_of_order,
        (unsigned long long)st.resubscribes);
    print_hist("write-to-screen", &lat_write_screen);
    print_hist("commit-to-screen (at)", &lat_commit_screen);
    print_hist("write (request to answer)", &lat_write);
    print_hist("connect (per client)", &lat_connect);
    if (hub_watch.pid > 0)
        printf("%-26s cpu %.2f s  rss %.1f → %.1f MB (peak %.1f)\n", "hub",
               hub_watch.cpu_end - hub_watch.cpu_start, hub_watch.rss_before_kb / 1024.0,
               hub_watch.rss_after_kb / 1024.0, hub_watch.rss_peak_kb / 1024.0);
    if (api_watch.pid > 0)
        printf("%-26s cpu %.2f s  rss %.1f → %.1f MB (peak %.1f)\n", "api",
               api_watch.cpu_end - api_watch.cpu_start, api_watch.rss_before_kb / 1024.0,
               api_watch.rss_after_kb / 1024.0, api_watch.rss_peak_kb / 1024.0);
    if ((hub_watch.pid > 0 || api_watch.pid > 0) &&
        (writes_scheduled > 0 || opt.writers_closed > 0))
        printf("%-26s %.1f s wall: hub cpu %.2f s, api cpu %.2f s\n", "writes + drain",
               writes_wall_s, hub_cpu_writes, api_cpu_writes);
    printf("%-26s cpu %.2f s  rss peak %.1f MB  wakes %llu  reads %llu (%llu ended mid-frame)\n",
           "edload itself",
           (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec) +
               (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec) / 1e6,
           self.ru_maxrss / 1024.0, (unsigned long long)st.wakes, (unsigned long long)st.reads,
           (unsigned long long)st.split_reads);
    if (idle.measured)
        printf("%-26s %.0f bytes/connection  hub cpu %.2f s over %.1f s\n", "idle", idle_bytes,
               idle.cpu_s, idle.seconds);
    if (storm.done)
        printf("%-26s kill→listening %.2f s  listening→caught up %.2f s  recovered %lld  snapshot "
               "%lld  caught up %lld/%d\n",
               "restart storm", storm.kill_to_listen_s, storm.listen_to_caught_up_s,
               storm.recovered, storm.snapshots, storm.caught_up, nclients);
    for (int i = 0; i < nerrors; i++)
        printf("%-26s %s: %llu\n", i == 0 ? "errors" : "", errors[i].kind,
               (unsigned long long)errors[i].count);
    if (!caught_up)
        printf("%-26s %d client(s) did not reach their department's last seq within %.0f s\n",
               "NOT CAUGHT UP", behind, opt.drain_seconds);

    if (opt.json_path && json_dump_file(out, opt.json_path, JSON_INDENT(1)) != 0) {
        fprintf(stderr, "edload: cannot write %s\n", opt.json_path);
        return 1;
    }
    json_decref(out);
    stopping = true;
    for (int i = 0; i < nclients; i++)
        if (clients[i].fd >= 0) {
            client_send_frame(&clients[i], WS_CLOSE, "\x03\xe8", 2);
            client_close(&clients[i], false);
        }
    return 0;
}
