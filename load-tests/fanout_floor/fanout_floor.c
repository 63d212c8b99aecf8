/* SPDX-License-Identifier: MIT */
/* fanout_floor: the least a WebSocket hub can do to fan events out, for load-tests/run's fan-out
 * ceiling (issue 13, target 6). One epoll loop accepts clients, answers the upgrade, answers a
 * board `subscribe` with a tiny `snapshot`, and R times a second (over all departments, in turn)
 * writes one event frame shaped like ed-hub's (envelope first, `at` in milliseconds, ~2.4 KB) to
 * every subscriber of that event's department: one non-blocking write per socket, what the
 * socket does not take waits in that socket's pending buffer. No authentication, no ring, no
 * database, no heartbeats: any hub costs at least this much. Usage: load-tests/README.md. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define HANDSHAKE_MAX    4096
#define CLIENT_FRAME_MAX 4096
/* A client this far behind is closed: a floor must not grow without bound either. */
#define PENDING_MAX (1u << 20) /* ~350 event frames */
#define DEPTS_MAX   1000

struct conn {
    int fd;
    bool upgraded;
    int dept;      /* 0 until subscribed, else 1..D */
    int dept_slot; /* index in its department's subscriber list */
    char in[HANDSHAKE_MAX];
    size_t in_len;
    char *pending; /* bytes the socket has not taken yet */
    size_t pending_len, pending_off, pending_cap;
    bool want_out;
    bool closed;       /* freed after the current epoll batch, which may still name it */
    struct conn *next; /* on the list of closed connections */
};

struct dept {
    long long seq;
    struct conn **subs;
    int nsubs, cap;
};

static int epfd;
static struct dept depts[DEPTS_MAX + 1];
static int ndepts = 1;
static double rate = 10;
static volatile sig_atomic_t stopping;
static struct conn *closed_conns;
static struct {
    unsigned long long events, frames, bytes, closed_slow, clients;
} stats;

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fputs("fanout_floor: out of memory\n", stderr);
        abort();
    }
    return q;
}

static void set_out_interest(struct conn *c, bool want)
{
    if (c->want_out == want)
        return;
    c->want_out = want;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void conn_close(struct conn *c)
{
    if (c->closed) /* e.g. answering a CLOSE on a socket that has just failed */
        return;
    if (c->dept) {
        struct dept *d = &depts[c->dept];
        struct conn *last = d->subs[--d->nsubs];
        d->subs[c->dept_slot] = last;
        last->dept_slot = c->dept_slot;
    }
    c->dept = 0;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->closed = true;
    c->next = closed_conns;
    closed_conns = c;
    stats.clients--;
}

static void free_closed(void)
{
    while (closed_conns) {
        struct conn *c = closed_conns;
        closed_conns = c->next;
        free(c->pending);
        free(c);
    }
}

/* Writes what is pending; false when the connection was closed. */
static bool flush_pending(struct conn *c)
{
    while (c->pending_off < c->pending_len) {
        ssize_t n = write(c->fd, c->pending + c->pending_off, c->pending_len - c->pending_off);
        if (n > 0) {
            c->pending_off += (size_t)n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            set_out_interest(c, true);
            return true;
        }
        if (n < 0 && errno == EINTR)
            continue;
        conn_close(c);
        return false;
    }
    c->pending_len = c->pending_off = 0;
    set_out_interest(c, false);
    return true;
}

/* One frame to one socket: straight to the kernel when nothing waits, else behind what does. */
static bool send_bytes(struct conn *c, const char *buf, size_t len)
{
    size_t done = 0;
    if (c->pending_len == c->pending_off) {
        c->pending_len = c->pending_off = 0;
        while (done < len) {
            ssize_t n = write(c->fd, buf + done, len - done);
            if (n > 0) {
                done += (size_t)n;
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                break;
            } else {
                conn_close(c);
                return false;
            }
        }
        if (done == len)
            return true;
    }
    size_t rest = len - done;
    if (c->pending_len - c->pending_off + rest > PENDING_MAX) {
        stats.closed_slow++;
        conn_close(c);
        return false;
    }
    if (c->pending_off > 0 && c->pending_off == c->pending_len)
        c->pending_len = c->pending_off = 0;
    if (c->pending_len + rest > c->pending_cap) {
        c->pending_cap = (c->pending_len + rest) * 2;
        c->pending = xrealloc(c->pending, c->pending_cap);
    }
    memcpy(c->pending + c->pending_len, buf + done, rest);
    c->pending_len += rest;
    set_out_interest(c, true);
    return true;
}

/* A server frame (FIN, unmasked) of opcode op: header into hdr, returns its length. */
static size_t frame_header(unsigned char *hdr, int op, size_t len)
{
    hdr[0] = (unsigned char)(0x80 | op);
    if (len < 126) {
        hdr[1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xffff) {
        hdr[1] = 126;
        hdr[2] = (unsigned char)(len >> 8);
        hdr[3] = (unsigned char)len;
        return 4;
    }
    hdr[1] = 127;
    for (int i = 0; i < 8; i++)
        hdr[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

static bool send_frame(struct conn *c, int op, const char *payload, size_t len)
{
    char buf[CLIENT_FRAME_MAX + 16];
    if (len > CLIENT_FRAME_MAX)
        return true;
    size_t h = frame_header((unsigned char *)buf, op, len);
    memcpy(buf + h, payload, len);
    return send_bytes(c, buf, h + len);
}

/* ---- the upgrade ---------------------------------------------------------------------------- */

static const char *header_value(const char *req, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    for (const char *line = strstr(req, "\r\n"); line; line = strstr(line, "\r\n")) {
        line += 2;
        if (!strncasecmp(line, name, nlen) && line[nlen] == ':') {
            const char *v = line + nlen + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            if (!end)
                return NULL;
            while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
            *vlen = (size_t)(end - v);
            return v;
        }
    }
    return NULL;
}

/* Answers the HTTP upgrade once the request is whole; false when the connection was closed. */
static bool handshake(struct conn *c)
{
    c->in[c->in_len] = '\0';
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end) {
        if (c->in_len >= HANDSHAKE_MAX - 1) {
            conn_close(c);
            return false;
        }
        return true;
    }
    size_t klen = 0;
    const char *key = header_value(c->in, "Sec-WebSocket-Key", &klen);
    if (!key || klen == 0 || klen > 64) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: "
                                  "close\r\n\r\n";
        if (write(c->fd, bad, sizeof bad - 1) < 0) {
            /* closing anyway */
        }
        conn_close(c);
        return false;
    }
    char concat[128];
    snprintf(concat, sizeof concat, "%.*s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", (int)klen, key);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)concat, strlen(concat), digest);
    char accept[64];
    EVP_EncodeBlock((unsigned char *)accept, digest, SHA_DIGEST_LENGTH);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
                     "Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    /* Whatever followed the request (a client that sends its subscribe at once) stays. */
    size_t used = (size_t)(end + 4 - c->in);
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->upgraded = true;
    return send_bytes(c, resp, (size_t)n);
}

/* ---- client messages --------------------------------------------------------------------------
 */

static long long json_int_after(const char *text, size_t len, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = memmem(text, len, pat, strlen(pat));
    if (!p)
        return -1;
    p += strlen(pat);
    const char *end = text + len;
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return -1;
    long long v = 0;
    while (p < end && *p >= '0' && *p <= '9')
        v = v * 10 + (*p++ - '0');
    return v;
}

static bool on_text(struct conn *c, const char *text, size_t len)
{
    char buf[256];
    int n;
    if (memmem(text, len, "\"ping\"", 6))
        return send_frame(c, 1, "{\"type\":\"pong\"}", 15);
    if (!memmem(text, len, "\"subscribe\"", 11))
        return true;
    long long d = json_int_after(text, len, "department_id");
    if (d < 1 || d > ndepts) {
        n = snprintf(buf, sizeof buf,
                     "{\"type\":\"error\",\"code\":\"not_found\",\"field\":\"department_id\","
                     "\"message\":\"this floor serves departments 1 to %d\"}",
                     ndepts);
        return send_frame(c, 1, buf, (size_t)n);
    }
    struct dept *dp = &depts[d];
    if (!c->dept) {
        if (dp->nsubs == dp->cap) {
            dp->cap = dp->cap ? dp->cap * 2 : 256;
            dp->subs = xrealloc(dp->subs, (size_t)dp->cap * sizeof *dp->subs);
        }
        c->dept = (int)d;
        c->dept_slot = dp->nsubs;
        dp->subs[dp->nsubs++] = c;
    }
    /* The board as of the department's current seq: the next event is seq + 1. */
    n = snprintf(buf, sizeof buf,
                 "{\"type\":\"snapshot\",\"topic\":\"board\",\"department_id\":%lld,\"seq\":%lld,"
                 "\"board\":{\"department_id\":%lld,\"seq\":%lld,\"rows\":[]}}",
                 d, dp->seq, d, dp->seq);
    return send_frame(c, 1, buf, (size_t)n);
}

/* Reads the client's frames (masked, as RFC 6455 requires); false when it was closed. */
static bool on_frames(struct conn *c)
{
    size_t off = 0;
    for (;;) {
        unsigned char *b = (unsigned char *)c->in + off;
        size_t avail = c->in_len - off;
        if (avail < 2)
            break;
        int op = b[0] & 0x0f;
        bool masked = b[1] & 0x80;
        uint64_t len = b[1] & 0x7f;
        size_t h = 2;
        if (len == 126) {
            if (avail < 4)
                break;
            len = (uint64_t)b[2] << 8 | b[3];
            h = 4;
        } else if (len == 127) {
            if (avail < 10)
                break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | b[2 + i];
            h = 10;
        }
        if (!masked || len > CLIENT_FRAME_MAX - 16) {
            conn_close(c);
            return false;
        }
        if (avail < h + 4 + len)
            break;
        unsigned char *mask = b + h, *p = b + h + 4;
        for (uint64_t i = 0; i < len; i++)
            p[i] ^= mask[i & 3];
        off += h + 4 + (size_t)len;
        if (op == 8) { /* close: answer it and hang up */
            if (send_frame(c, 8, (const char *)p, len >= 2 ? 2 : 0))
                conn_close(c);
            return false;
        }
        if (op == 9 && !send_frame(c, 10, (const char *)p, (size_t)len))
            return false;
        if (op == 1 && !on_text(c, (const char *)p, (size_t)len))
            return false;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return true;
}

static void on_readable(struct conn *c)
{
    for (;;) {
        if (c->in_len >= sizeof c->in - 1) {
            conn_close(c);
            return;
        }
        ssize_t n = read(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            conn_close(c);
            return;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        c->in_len += (size_t)n;
        if (!c->upgraded && !handshake(c))
            return;
        if (c->upgraded && !on_frames(c))
            return;
    }
}

/* ---- events -----------------------------------------------------------------------------------
 */

/* The payload of a vitals event as ed-hub forwards it (the board row, the vitals, the timeline
 * line): one captured from ed-hub with its values made printf arguments; the whole frame is
 * ~2.8 KB, like ed-hub's. */
#define PAYLOAD_FMT                                                                             \
    "{\"vitals\": {\"id\": %lld, \"pain\": null, \"spo2\": null, \"news2\": {\"band\": \"low\"" \
    ", \"scale\": 1, \"total\": 0, \"scores\": {\"resp_rate\": 0, \"heart_rate\": 0}, \"compl"  \
    "ete\": false, \"any_single_3\": false, \"reassess_min\": 720}, \"taken_at\": \"%s\", \"t"  \
    "aken_by\": {\"id\": 8, \"name\": \"Ruth Adeyemi, RN\", \"role\": \"charge_nurse\"}, \"on"  \
    "_oxygen\": null, \"resp_rate\": %d, \"entered_by\": \"Ruth Adeyemi, RN\", \"heart_rate\""  \
    ": %d, \"resp_effort\": null, \"systolic_bp\": null, \"cap_refill_s\": null, \"diastolic_"  \
    "bp\": null, \"encounter_id\": %d, \"oxygen_l_min\": null, \"consciousness\": null, \"tem"  \
    "perature_c\": null}, \"timeline\": {\"at\": \"%s\", \"by\": {\"id\": 8, \"name\": \"Ruth"  \
    " Adeyemi, RN\", \"role\": \"charge_nurse\"}, \"type\": \"vitals.recorded\", \"summary\":"  \
    " \"Vitals HR %d RR %d - NEWS2 0\"}, \"encounter\": {\"bed\": null, \"esi\": null, \"news"  \
    "2\": {\"band\": \"low\", \"scale\": 1, \"total\": 0, \"inputs\": {\"resp_rate\": {\"scor"  \
    "e\": 0, \"value\": %d, \"taken_at\": \"%s\"}, \"heart_rate\": {\"score\": 0, \"value\": "  \
    "%d, \"taken_at\": \"%s\"}}, \"system\": \"news2\", \"base_at\": \"%s\", \"floored\": fal"  \
    "se, \"missing\": [\"spo2\", \"on_oxygen\", \"systolic_bp\", \"consciousness\", \"tempera"  \
    "ture_c\"], \"complete\": false, \"taken_at\": \"%s\", \"any_three\": false, \"subscores\"" \
    ": {\"resp_rate\": 0, \"heart_rate\": 0}, \"monitoring\": \"interval\", \"window_min\": 2"  \
    "40, \"floor_due_at\": null, \"reassess_min\": 720, \"oldest_input_at\": \"%s\"}, \"nurse"  \
    "\": null, \"orders\": [], \"status\": \"waiting\", \"comment\": null, \"patient\": {\"id"  \
    "\": %d, \"mrn\": \"EDLOAD-FLOOR-%d\", \"sex\": \"unknown\", \"alias\": null, \"temp_id\""  \
    ": null, \"age_years\": 56, \"birth_date\": \"1970-01-01\", \"given_name\": \"Loadgen\", "  \
    "\"family_name\": \"Edload\", \"unidentified\": false}, \"version\": %lld, \"allergies\":"  \
    " null, \"attending\": null, \"isolation\": null, \"arrived_at\": \"%s\", \"monitoring\":"  \
    " \"interval\", \"spo2_scale\": 1, \"triaged_at\": null, \"break_glass\": [], \"departed_"  \
    "at\": null, \"disposition\": null, \"arrival_mode\": \"walk_in\", \"encounter_id\": %d, "  \
    "\"similar_name\": [118, 119, 120, 122, 123, 124, 125], \"department_id\": %d, \"latest_v"  \
    "itals\": {\"id\": %lld, \"pain\": null, \"spo2\": null, \"taken_at\": \"%s\", \"taken_by"  \
    "\": {\"id\": 8, \"name\": \"Ruth Adeyemi, RN\", \"role\": \"charge_nurse\"}, \"on_oxygen"  \
    "\": null, \"resp_rate\": %d, \"entered_by\": \"Ruth Adeyemi, RN\", \"heart_rate\": %d, \"" \
    "resp_effort\": null, \"systolic_bp\": null, \"cap_refill_s\": null, \"diastolic_bp\": nu"  \
    "ll, \"encounter_id\": %d, \"oxygen_l_min\": null, \"consciousness\": null, \"temperature"  \
    "_c\": null}, \"boarding_since\": null, \"location_since\": \"%s\", \"chief_complaint\": "  \
    "\"fanout_floor\", \"reassess_due_at\": \"%s\", \"provider_seen_at\": null, \"reassess_in"  \
    "terval_min\": null}}"

static char frame_buf[8192];

static size_t build_event(int d, long long seq, const char *at)
{
    char *body = frame_buf + 4; /* room for a 16-bit length header */
    size_t cap = sizeof frame_buf - 5;
    int enc = 1000 * d + (int)(seq % 8) + 1, hr = 60 + (int)(seq % 40), rr = 12 + (int)(seq % 10);
    long long version = seq + 1;
    const char *arrived = "2026-12-04T13:19:59.000Z";
    int n = snprintf(body, cap,
                     "{\"type\": \"event\", \"department_id\": %d, \"seq\": %lld, "
                     "\"encounter_id\": %d, \"version\": %lld, \"event\": \"vitals.recorded\", "
                     "\"at\": \"%s\", \"payload\": ",
                     d, seq, enc, version, at);
    int m = snprintf(body + n, cap - (size_t)n, PAYLOAD_FMT, seq, at, rr, hr, enc, at, hr, rr, rr,
                     at, hr, at, at, at, at, enc, enc, version, arrived, enc, d, seq, at, rr, hr,
                     enc, arrived, at);
    size_t len = (size_t)n + (size_t)m;
    body[len++] = '}';
    return len;
}

static void now_iso_ms(char *out, size_t cap)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%.19s.%03dZ", base, (int)(ts.tv_nsec / 1000000) % 1000);
}

static int next_dept = 1;

static void send_event(void)
{
    int d = next_dept;
    next_dept = next_dept % ndepts + 1;
    struct dept *dp = &depts[d];
    long long seq = ++dp->seq;
    char at[40];
    now_iso_ms(at, sizeof at);
    size_t len = build_event(d, seq, at);
    unsigned char hdr[10];
    size_t h = frame_header(hdr, 1, len);
    char *frame = frame_buf + 4 - h;
    memcpy(frame, hdr, h);
    stats.events++;
    /* Backwards: a socket closed on the way is swapped with the last, already served. */
    for (int i = dp->nsubs - 1; i >= 0; i--) {
        if (i >= dp->nsubs)
            continue;
        if (send_bytes(dp->subs[i], frame, h + len)) {
            stats.frames++;
            stats.bytes += h + len;
        }
    }
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
    fputs("usage: fanout_floor --port P --rate R --departments D [--host 127.0.0.1]\n"
          "  R events/s in all, departments in turn; each event goes to every subscriber of its\n"
          "  department (deliveries/s = R x subscribers / D). Stops on SIGINT/SIGTERM.\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    int port = 0;
    const char *host = "127.0.0.1";
    static const struct option longopts[] = {{"port", 1, 0, 'p'},        {"rate", 1, 0, 'r'},
                                             {"departments", 1, 0, 'd'}, {"host", 1, 0, 'H'},
                                             {"help", 0, 0, 'h'},        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (o) {
        case 'p':
            port = atoi(optarg);
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 'd':
            ndepts = atoi(optarg);
            break;
        case 'H':
            host = optarg;
            break;
        default:
            return usage();
        }
    }
    if (port < 1 || port > 65535 || rate < 0 || ndepts < 1 || ndepts > DEPTS_MAX)
        return usage();

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "fanout_floor: bad --host %s\n", host);
        return 2;
    }
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0) {
        fprintf(stderr, "fanout_floor: cannot listen on %s:%d: %s\n", host, port, strerror(errno));
        return 1;
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
    /* A tick of 1/R s, at most 1000 a second; each tick sends the events due by then. */
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    static int timer_tag;
    if (rate > 0) {
        double tick = 1.0 / rate < 0.001 ? 0.001 : 1.0 / rate;
        struct itimerspec its = {
            .it_interval = {(time_t)tick, (long)((tick - (time_t)tick) * 1e9)}};
        its.it_value = its.it_interval;
        timerfd_settime(tfd, 0, &its, NULL);
        struct epoll_event tev = {.events = EPOLLIN, .data.ptr = &timer_tag};
        epoll_ctl(epfd, EPOLL_CTL_ADD, tfd, &tev);
    }
    printf("fanout_floor listening on ws://%s:%d/ws: %g events/s over %d department(s)\n", host,
           port, rate, ndepts);
    fflush(stdout);

    double start = mono_s();
    struct epoll_event evs[256];
    while (!stopping) {
        int n = epoll_wait(epfd, evs, 256, 1000);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = calloc(1, sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &cev);
                    stats.clients++;
                }
            } else if (evs[i].data.ptr == &timer_tag) {
                uint64_t expirations;
                if (read(tfd, &expirations, sizeof expirations) < 0) {
                    /* nothing due yet */
                }
                unsigned long long due = (unsigned long long)((mono_s() - start) * rate);
                while (stats.events < due)
                    send_event();
            } else {
                struct conn *c = evs[i].data.ptr;
                if (c->closed)
                    continue;
                if (evs[i].events & EPOLLOUT) {
                    if (!flush_pending(c))
                        continue;
                }
                if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
                    on_readable(c);
            }
        }
        free_closed();
    }
    fprintf(stderr,
            "fanout_floor: %llu events, %llu frames, %llu bytes written; %llu clients connected, "
            "%llu closed as too slow\n",
            stats.events, stats.frames, stats.bytes, stats.clients, stats.closed_slow);
    return 0;
}
