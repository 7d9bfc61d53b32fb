/* Text codecs for key material and SIP nonces: hex (keys, OPc, SQN in topology files
 * and the HSS store) and base64 (RFC 4648 section 4, standard alphabet with padding;
 * the AKA nonce is base64(RAND || AUTN || ...), RFC 3310 3.2).
 * Every call takes the size of its output buffer; none allocates. */
#ifndef IMS_CODEC_H
#define IMS_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Output size (with the NUL) needed to hex-encode n bytes. */
#define CODEC_HEX_SIZE(n) (2 * (size_t)(n) + 1)
/* Output size (with the NUL) needed to base64-encode n bytes. */
#define CODEC_B64_SIZE(n) (4 * (((size_t)(n) + 2) / 3) + 1)
/* Largest decoded size of a base64 text of n characters (padding not subtracted). */
#define CODEC_B64_DECODED_MAX(n) (3 * ((size_t)(n) / 4))

/* Writes in as lowercase hex plus a NUL into out (outsize bytes).
 * Returns the number of digits written (2 * len) or -ENOSPC when outsize is below
 * CODEC_HEX_SIZE(len) (out is then an empty string if outsize > 0). */
ssize_t codec_hex_encode(const uint8_t *in, size_t len, char *out, size_t outsize);

/* Decodes exactly hexlen characters of hex (no NUL needed; upper or lower case).
 * Returns the number of bytes written, -EINVAL for an odd length or a non-hex
 * character, -ENOSPC when the result does not fit in outsize bytes. */
ssize_t codec_hex_decode_len(const char *hex, size_t hexlen, uint8_t *out, size_t outsize);

/* Decodes the NUL-terminated hex into exactly outlen bytes: returns 0 only when hex
 * has exactly 2 * outlen hex digits, -EINVAL otherwise (out is then unspecified).
 * The usual way to read a 16-byte K or OPc from configuration. */
int codec_hex_decode(const char *hex, uint8_t *out, size_t outlen);

/* Writes base64(in) with '=' padding plus a NUL into out (outsize bytes).
 * Returns the number of characters written (without the NUL), -ENOSPC when outsize is
 * below CODEC_B64_SIZE(len), -EMSGSIZE when len is beyond what OpenSSL accepts. */
ssize_t codec_b64_encode(const uint8_t *in, size_t len, char *out, size_t outsize);

/* Decodes inlen characters of padded base64 (no NUL needed). The length must be a
 * multiple of 4, only the alphabet may appear, '=' only as the last one or two
 * characters; whitespace is refused. Returns the true decoded length (padding taken
 * into account), -EINVAL for invalid input, -ENOSPC when that length exceeds outsize,
 * -EMSGSIZE when inlen is beyond what OpenSSL accepts. */
ssize_t codec_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outsize);

#endif
