/* Hex and base64 codecs. Base64 leans on OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock for
 * the conversion, but EVP_DecodeBlock is lenient (skips surrounding whitespace, takes
 * '=' anywhere as a zero sextet) and counts padding as data, so the input is validated
 * here first and the true length is computed from the padding. */
#include "codec.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

static const char hex_digits[] = "0123456789abcdef";

/* Returns the value of one hex digit, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t codec_hex_encode(const uint8_t *in, size_t len, char *out, size_t outsize)
{
	if (len > (SIZE_MAX - 1) / 2 || outsize < CODEC_HEX_SIZE(len)) {
		if (outsize > 0)
			out[0] = '\0';
		return -ENOSPC;
	}
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex_digits[in[i] >> 4];
		out[2 * i + 1] = hex_digits[in[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return (ssize_t)(2 * len);
}

ssize_t codec_hex_decode_len(const char *hex, size_t hexlen, uint8_t *out, size_t outsize)
{
	if (hexlen % 2 != 0)
		return -EINVAL;
	if (hexlen / 2 > outsize)
		return -ENOSPC;
	for (size_t i = 0; i < hexlen / 2; i++) {
		int hi = hex_value(hex[2 * i]);
		int lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (ssize_t)(hexlen / 2);
}

int codec_hex_decode(const char *hex, uint8_t *out, size_t outlen)
{
	/* strnlen bounds the scan: a longer string is wrong whatever follows. */
	size_t hexlen = strnlen(hex, 2 * outlen + 1);

	if (hexlen != 2 * outlen)
		return -EINVAL;
	return codec_hex_decode_len(hex, hexlen, out, outlen) < 0 ? -EINVAL : 0;
}

ssize_t codec_b64_encode(const uint8_t *in, size_t len, char *out, size_t outsize)
{
	int n;

	/* EVP_EncodeBlock takes an int length and writes 4 characters per 3 bytes. */
	if (len > (size_t)INT_MAX / 4 * 3 - 3)
		return -EMSGSIZE;
	if (outsize < CODEC_B64_SIZE(len)) {
		if (outsize > 0)
			out[0] = '\0';
		return -ENOSPC;
	}
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	if (n < 0)
		return -EINVAL;
	return n;
}

/* True for the 64 characters of the RFC 4648 table 1 alphabet. */
static bool b64_is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

/* Returns the number of '=' (0-2) ending in[0..len), len a non-zero multiple of 4,
 * or -EINVAL when a character is outside the alphabet or '=' is misplaced. */
static int b64_check(const char *in, size_t len)
{
	int pad = 0;

	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - (size_t)pad; i++)
		if (!b64_is_alpha(in[i]))
			return -EINVAL;
	return pad;
}

ssize_t codec_b64_decode(const char *in, size_t inlen, uint8_t *out, size_t outsize)
{
	uint8_t last[3];
	size_t head, total;
	int pad;

	if (inlen > INT_MAX)
		return -EMSGSIZE;
	if (inlen % 4 != 0)
		return -EINVAL;
	if (inlen == 0)
		return 0;
	pad = b64_check(in, inlen);
	if (pad < 0)
		return pad;
	total = CODEC_B64_DECODED_MAX(inlen) - (size_t)pad;
	if (total > outsize)
		return -ENOSPC;
	/* All quads but the last decode in place; the last goes through a scratch block
	 * because EVP_DecodeBlock writes 3 bytes even when padding makes it 1 or 2. */
	head = inlen - 4;
	if (head > 0 &&
	    EVP_DecodeBlock(out, (const unsigned char *)in, (int)head) != (int)(head / 4 * 3))
		return -EINVAL;
	if (EVP_DecodeBlock(last, (const unsigned char *)in + head, 4) != 3)
		return -EINVAL;
	memcpy(out + head / 4 * 3, last, 3 - (size_t)pad);
	return (ssize_t)total;
}
