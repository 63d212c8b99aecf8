/* SPDX-License-Identifier: MIT */
/* auth.h: the cryptography of sign-in, with no I/O: argon2id password hashes, session
 * tokens (256 random bits, stored only as SHA-256), TOTP (RFC 6238, HMAC-SHA1, 6 digits,
 * 30 s steps) and SHA-256 for the audit chain. */
#ifndef EDLIVE_AUTH_H
#define EDLIVE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_ARGON2_T        2
#define AUTH_ARGON2_M_KIB    19456 /* 19 MiB: OWASP / ASVS minimum for t=2 */
#define AUTH_ARGON2_P        1
#define AUTH_HASH_MAX        128 /* room for an encoded argon2id hash */
#define AUTH_TOKEN_CHARS     43  /* base64url of 32 random bytes */
#define AUTH_TOKEN_CHARS_MAX (AUTH_TOKEN_CHARS + 1)
#define AUTH_TOTP_STEP_S     30
#define AUTH_TOTP_SECRET_MAX 64 /* bytes of a decoded secret */

/* Encodes an argon2id hash of password into out (PHC string). False on failure. */
bool auth_password_hash(const char *password, char *out, size_t cap);

/* True when password matches the encoded hash (constant time inside libargon2). */
bool auth_password_verify(const char *encoded, const char *password);

/* A new session token (NUL-terminated, AUTH_TOKEN_CHARS long) and its SHA-256. */
bool auth_token_new(char token[AUTH_TOKEN_CHARS + 1], unsigned char hash[32]);

/* At start, before serving: loads OpenSSL's SHA-256 once (its library context, provider and
 * code: the first session check would otherwise do it, and in ed-hub it is ~2 MB of resident
 * pages that looked like per-connection memory) and checks a known answer. False: the service
 * must not start. */
bool auth_init(void);

/* SHA-256 of len bytes. */
void auth_sha256(const void *data, size_t len, unsigned char out[32]);

/* Lower-case hex of n bytes into out (2n+1 chars). */
void auth_hex(const unsigned char *bytes, size_t n, char *out);

/* Decodes RFC 4648 base32 (upper or lower case, no padding needed). Returns the byte count,
 * or -1 when invalid or longer than cap. */
int auth_base32_decode(const char *text, unsigned char *out, size_t cap);

/* The 6-digit TOTP code of secret at 30 s step `step`. */
uint32_t auth_totp_code(const unsigned char *secret, size_t len, uint64_t step);

/* Checks a 6-digit code against steps now-1..now+1 that are later than last_step (a code
 * already used is refused). Returns the matching step, or 0 when none matches. */
uint64_t auth_totp_check(const char *secret_base32, const char *code, uint64_t now_step,
                         uint64_t last_step);

#endif
