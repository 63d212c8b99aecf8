/* SPDX-License-Identifier: MIT */
#include "auth.h"

#include <argon2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <sys/random.h>

bool auth_password_hash(const char *password, char *out, size_t cap)
{
    unsigned char salt[16];

    if (getrandom(salt, sizeof salt, 0) != (ssize_t)sizeof salt)
        return false;
    return argon2id_hash_encoded(AUTH_ARGON2_T, AUTH_ARGON2_M_KIB, AUTH_ARGON2_P, password,
                                 strlen(password), salt, sizeof salt, 32, out, cap) == ARGON2_OK;
}

bool auth_password_verify(const char *encoded, const char *password)
{
    return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

/* Fetched once (auth_init): OpenSSL 3 otherwise looks the algorithm up in its provider on
 * every EVP_Digest. */
static EVP_MD *sha256_md;

bool auth_init(void)
{
    /* SHA-256("abc"), FIPS 180-2 appendix B.1: the known answer, checked once at start. */
    static const unsigned char abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                          0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                          0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                          0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    unsigned char out[32];

    if (!sha256_md)
        sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!sha256_md)
        return false;
    auth_sha256("abc", 3, out);
    return memcmp(out, abc, sizeof out) == 0;
}

void auth_sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;

    EVP_Digest(data, len, out, &n, sha256_md ? sha256_md : EVP_sha256(), NULL);
}

void auth_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

bool auth_token_new(char token[AUTH_TOKEN_CHARS + 1], unsigned char hash[32])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[32];
    uint32_t acc = 0;
    int bits = 0, n = 0;

    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return false;
    for (size_t i = 0; i < sizeof raw; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            token[n++] = alphabet[(acc >> (bits - 6)) & 63];
            bits -= 6;
        }
    }
    if (bits > 0)
        token[n++] = alphabet[(acc << (6 - bits)) & 63];
    token[n] = '\0';
    auth_sha256(token, (size_t)n, hash);
    return n == AUTH_TOKEN_CHARS;
}

int auth_base32_decode(const char *text, unsigned char *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    for (; *text && *text != '='; text++) {
        int v;
        char ch = *text;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (ch >= 'A' && ch <= 'Z')
            v = ch - 'A';
        else if (ch >= '2' && ch <= '7')
            v = ch - '2' + 26;
        else
            return -1;
        acc = (acc << 5) | (uint32_t)v;
        bits += 5;
        if (bits >= 8) {
            if (n == cap)
                return -1;
            out[n++] = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    return (int)n;
}

uint32_t auth_totp_code(const unsigned char *secret, size_t len, uint64_t step)
{
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    uint32_t binary;
    int offset;

    for (int i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(step & 0xff);
        step >>= 8;
    }
    HMAC(EVP_sha1(), secret, (int)len, msg, sizeof msg, mac, &mac_len);
    offset = mac[mac_len - 1] & 0x0f;
    binary = ((uint32_t)(mac[offset] & 0x7f) << 24) | ((uint32_t)mac[offset + 1] << 16) |
             ((uint32_t)mac[offset + 2] << 8) | (uint32_t)mac[offset + 3];
    return binary % 1000000;
}

uint64_t auth_totp_check(const char *secret_base32, const char *code, uint64_t now_step,
                         uint64_t last_step)
{
    unsigned char secret[AUTH_TOTP_SECRET_MAX];
    int len = auth_base32_decode(secret_base32, secret, sizeof secret);
    uint32_t given = 0;

    if (len <= 0 || strlen(code) != 6)
        return 0;
    for (int i = 0; i < 6; i++) {
        if (code[i] < '0' || code[i] > '9')
            return 0;
        given = given * 10 + (uint32_t)(code[i] - '0');
    }
    for (uint64_t step = now_step - 1; step <= now_step + 1; step++) {
        if (step > last_step && auth_totp_code(secret, (size_t)len, step) == given)
            return step;
    }
    return 0;
}
