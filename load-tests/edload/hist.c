/* SPDX-License-Identifier: MIT */
/* hist.c: the log-bucketed latency histogram (edload.h). */
#include "edload.h"

#include <math.h>

/* Bucket of a value: 0..63 as themselves; above, 32 buckets per power of two. */
static int bucket_of(uint64_t v)
{
    if (v < 64)
        return (int)v;
    int msb = 63 - __builtin_clzll(v); /* >= 6 */
    int shift = msb - HIST_SUB_BITS;   /* >= 1 */
    int top = (int)(v >> shift);       /* 32..63 */
    int idx = 64 + (shift - 1) * 32 + (top - 32);
    return idx < HIST_BUCKETS ? idx : HIST_BUCKETS - 1;
}

/* The largest value that falls in bucket idx. */
static uint64_t bucket_upper(int idx)
{
    if (idx < 64)
        return (uint64_t)idx;
    int shift = (idx - 64) / 32 + 1;
    uint64_t top = (uint64_t)((idx - 64) % 32 + 32);
    return ((top + 1) << shift) - 1;
}

void hist_add(struct hist *h, int64_t us)
{
    if (us < 0)
        us = 0;
    h->counts[bucket_of((uint64_t)us)]++;
    h->n++;
    h->sum_us += (double)us;
    if (us > h->max_us)
        h->max_us = us;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (int i = 0; i < HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->n += from->n;
    into->sum_us += from->sum_us;
    if (from->max_us > into->max_us)
        into->max_us = from->max_us;
}

int64_t hist_quantile(const struct hist *h, double q)
{
    if (h->n == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)h->n);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            int64_t upper = (int64_t)bucket_upper(i);
            return upper < h->max_us ? upper : h->max_us;
        }
    }
    return h->max_us;
}
