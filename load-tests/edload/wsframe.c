/* SPDX-License-Identifier: MIT */
/* wsframe.c: RFC 6455 framing, client side (edload.h). */
#include "edload.h"

#include <openssl/evp.h>
#include <string.h>

int ws_frame_header(const uint8_t *buf, size_t len, struct ws_frame *frame)
{
    if (len < 2)
        return 0;
    uint8_t b0 = buf[0], b1 = buf[1];
    if (b0 & 0x70) /* RSV1-3: no extension was negotiated */
        return -1;
    if (b1 & 0x80) /* a server never masks */
        return -1;
    frame->fin = (b0 & 0x80) != 0;
    frame->opcode = b0 & 0x0f;
    switch (frame->opcode) {
    case WS_CONT:
    case WS_TEXT:
    case WS_BINARY:
        break;
    case WS_CLOSE:
    case WS_PING:
    case WS_PONG:
        if (!frame->fin || (b1 & 0x7f) > 125)
            return -1;
        break;
    default:
        return -1;
    }
    uint64_t plen = b1 & 0x7f;
    size_t hlen = 2;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = ((uint64_t)buf[2] << 8) | buf[3];
        hlen = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = (plen << 8) | buf[2 + i];
        if (plen >> 63)
            return -1;
        hlen = 10;
    }
    frame->header_len = hlen;
    frame->payload_len = plen;
    return 1;
}

size_t ws_frame_encode(uint8_t *out, int opcode, const void *payload, size_t len, uint32_t mask_key)
{
    size_t h = 0;
    out[h++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(len >> 8);
        out[h++] = (uint8_t)len;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    uint8_t mask[4] = {(uint8_t)(mask_key >> 24), (uint8_t)(mask_key >> 16),
                       (uint8_t)(mask_key >> 8), (uint8_t)mask_key};
    memcpy(out + h, mask, 4);
    h += 4;
    const uint8_t *p = payload;
    for (size_t i = 0; i < len; i++)
        out[h + i] = p[i] ^ mask[i & 3];
    return h + len;
}

void ws_accept_for(const char *key, char accept[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char joined[128];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    size_t klen = strlen(key);
    if (klen > sizeof joined - sizeof guid)
        klen = sizeof joined - sizeof guid;
    memcpy(joined, key, klen);
    memcpy(joined + klen, guid, sizeof guid - 1);
    EVP_Digest(joined, klen + sizeof guid - 1, digest, &dlen, EVP_sha1(), NULL);
    EVP_EncodeBlock((unsigned char *)accept, digest, (int)dlen); /* 20 bytes -> 28 chars + NUL */
}

void ws_key_encode(char *out, const uint8_t raw[16])
{
    EVP_EncodeBlock((unsigned char *)out, raw, 16);
}
