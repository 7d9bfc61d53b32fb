/* HTTP Digest with MD5 (RFC 2617 3.2.2) as SIP uses it (RFC 3261 22.4), including
 * AKAv1-MD5 (RFC 3310 3.3), whose "password" is the raw RES bytes: passwords are
 * byte strings with a length and may contain 0x00. Hashes are 32 lowercase hex
 * digits plus a NUL (DIGEST_HEX_SIZE bytes). Thread safe. */
#ifndef IMS_DIGEST_H
#define IMS_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define DIGEST_HEX_SIZE 33 /* 32 hex digits + NUL */

/* HA1 = MD5(user ":" realm ":" password) (RFC 2617 3.2.2.2, algorithm MD5).
 * pw is pwlen raw bytes. Returns 0, -EINVAL (NULL user or realm), -ENOMEM, or -EIO
 * (MD5 unavailable, e.g. a FIPS-only OpenSSL configuration). */
int digest_ha1(const char *user, const char *realm, const void *pw, size_t pwlen,
               char ha1[DIGEST_HEX_SIZE]);

/* request-digest (RFC 2617 3.2.2.1):
 *   qop NULL or "":  MD5(HA1 ":" nonce ":" HA2)
 *   qop "auth" or "auth-int":  MD5(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
 * with HA2 = MD5(method ":" uri) (no qop, auth) or MD5(method ":" uri ":" MD5(body))
 * (auth-int, RFC 2617 3.2.2.3; body may be NULL when body_len is 0).
 * Returns 0, -EINVAL (ha1 not 32 characters, another qop, nc or cnonce missing with a
 * qop, a NULL string), -ENOMEM or -EIO. */
int digest_response(const char ha1[DIGEST_HEX_SIZE], const char *nonce, const char *nc,
                    const char *cnonce, const char *qop, const char *method, const char *uri,
                    const void *body, size_t body_len, char out[DIGEST_HEX_SIZE]);

/* Compares a received response with the expected one in time independent of where
 * they differ. Hex letters compare case-insensitively (RFC 2617 asks for lowercase,
 * some clients send uppercase). False for NULL or different lengths. */
bool digest_equal(const char *a, const char *b);

#endif
