/* SPDX-License-Identifier: MIT */
/* mllp_frame.h: MLLP framing (HL7 v2 over TCP): <VT 0x0B> message <FS 0x1C><CR 0x0D>.
 * The decoder is fed the bytes of one connection in chunks of any size and reports each
 * complete message, and each broken frame, through a callback. Pure: no I/O. */
#ifndef EDLIVE_MLLP_FRAME_H
#define EDLIVE_MLLP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MLLP_START 0x0B
#define MLLP_END   0x1C
#define MLLP_CR    0x0D

#define MLLP_MAX_MESSAGE_DEFAULT (1024 * 1024)

enum mllp_event {
    MLLP_MESSAGE,   /* a complete message: data, len (without the framing bytes) */
    MLLP_OVERSIZE,  /* a frame longer than the cap ended (or was cut by a new start): data, len
                     * are its first max_message bytes, the rest was dropped unbuffered */
    MLLP_TRUNCATED, /* a start byte came before the end of the frame in progress: data, len are
                     * what had arrived; decoding goes on with the new frame */
    MLLP_BAD_END,   /* 0x1C not followed by 0x0D: data, len are the frame, which is dropped */
};

/* Called for each event; data is valid only during the call. */
typedef void (*mllp_cb)(void *ctx, enum mllp_event ev, const uint8_t *data, size_t len);

struct mllp_stats {
    uint64_t messages;      /* MLLP_MESSAGE events */
    uint64_t garbage_bytes; /* bytes outside any frame, skipped */
    uint64_t oversize, truncated, bad_end;
};

struct mllp_decoder;

/* A decoder for one connection; max_message 0 means MLLP_MAX_MESSAGE_DEFAULT. It never holds
 * more than max_message bytes. NULL when out of memory. */
struct mllp_decoder *mllp_decoder_new(size_t max_message);
void mllp_decoder_free(struct mllp_decoder *d);

/* Feeds len bytes; calls cb for every event they complete, in order. False only when memory
 * ran out (the frame in progress is then reported as MLLP_OVERSIZE and dropped). */
bool mllp_decoder_feed(struct mllp_decoder *d, const uint8_t *data, size_t len, mllp_cb cb,
                       void *ctx);

/* True while a frame has started and not ended (e.g. to time out a slow sender). */
bool mllp_decoder_in_frame(const struct mllp_decoder *d);

/* Bytes held for the frame in progress. */
size_t mllp_decoder_buffered(const struct mllp_decoder *d);

const struct mllp_stats *mllp_decoder_stats(const struct mllp_decoder *d);

/* mllp_encode: a new buffer holding msg[0..len) framed (len + 3 bytes, *out_len set), for a
 * reply. NULL when msg contains a framing byte (0x0B or 0x1C) or memory ran out. */
uint8_t *mllp_encode(const char *msg, size_t len, size_t *out_len);

#endif
