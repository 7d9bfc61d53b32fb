/* RFC 2617 Digest computations on OpenSSL EVP MD5. Every hash is fed as a list of
 * byte pieces (strings, ":" separators, raw passwords), so no input is copied into a
 * bounded buffer and a RES with 0x00 bytes hashes whole. */
#include "digest.h"

#include "codec.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* One input piece of a hash. */
struct piece {
	const void *p; /* bytes, borrowed */
	size_t len;    /* number of bytes */
};

#define STR(s)                                                                                     \
	{                                                                                          \
		(s), strlen(s)                                                                     \
	}
#define COLON                                                                                      \
	{                                                                                          \
		":", 1                                                                             \
	}
#define NPIECES(a) (sizeof(a) / sizeof((a)[0]))

static EVP_MD *digest_md5;
static pthread_once_t digest_md5_once = PTHREAD_ONCE_INIT;

static void digest_md5_fetch(void)
{
	digest_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
}

/* out = lowercase hex MD5 of the concatenated pieces. Returns 0, -ENOMEM or -EIO. */
static int md5_hex(const struct piece *pieces, size_t n, char out[DIGEST_HEX_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int rc = -EIO;

	if (pthread_once(&digest_md5_once, digest_md5_fetch) != 0 || !digest_md5)
		return -EIO;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestInit_ex2(ctx, digest_md5, NULL) != 1)
		goto out_free_ctx;
	for (size_t i = 0; i < n; i++)
		if (EVP_DigestUpdate(ctx, pieces[i].p, pieces[i].len) != 1)
			goto out_free_ctx;
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 16)
		goto out_free_ctx;
	codec_hex_encode(md, 16, out, DIGEST_HEX_SIZE);
	rc = 0;
out_free_ctx:
	OPENSSL_cleanse(md, sizeof(md));
	EVP_MD_CTX_free(ctx);
	return rc;
}

int digest_ha1(const char *user, const char *realm, const void *pw, size_t pwlen,
               char ha1[DIGEST_HEX_SIZE])
{
	if (!user || !realm || (!pw && pwlen > 0))
		return -EINVAL;

	const struct piece a1[] = {STR(user), COLON, STR(realm), COLON, {pw, pwlen}};

	return md5_hex(a1, NPIECES(a1), ha1);
}

int digest_response(const char ha1[DIGEST_HEX_SIZE], const char *nonce, const char *nc,
                    const char *cnonce, const char *qop, const char *method, const char *uri,
                    const void *body, size_t body_len, char out[DIGEST_HEX_SIZE])
{
	char hbody[DIGEST_HEX_SIZE], ha2[DIGEST_HEX_SIZE];
	bool auth_int;
	int rc;

	if (!ha1 || strnlen(ha1, DIGEST_HEX_SIZE) != 32 || !nonce || !method || !uri ||
	    (!body && body_len > 0))
		return -EINVAL;
	if (qop && qop[0] == '\0')
		qop = NULL;
	if (qop && strcmp(qop, "auth") != 0 && strcmp(qop, "auth-int") != 0)
		return -EINVAL;
	if (qop && (!nc || !cnonce))
		return -EINVAL;
	auth_int = qop && strcmp(qop, "auth-int") == 0;

	/* RFC 2617 3.2.2.3: A2 = Method ":" digest-uri [":" H(entity-body)]. */
	if (auth_int) {
		const struct piece b[] = {{body ? body : "", body_len}};

		rc = md5_hex(b, NPIECES(b), hbody);
		if (rc < 0)
			return rc;
	}
	const struct piece a2[] = {STR(method), COLON, STR(uri), COLON, {hbody, 32}};

	rc = md5_hex(a2, auth_int ? NPIECES(a2) : NPIECES(a2) - 2, ha2);
	if (rc < 0)
		return rc;

	/* RFC 2617 3.2.2.1: KD(H(A1), nonce [":" nc ":" cnonce ":" qop] ":" H(A2)). */
	if (qop) {
		const struct piece kd_qop[] = {{ha1, 32}, COLON, STR(nonce),  COLON,
		                               STR(nc),   COLON, STR(cnonce), COLON,
		                               STR(qop),  COLON, {ha2, 32}};

		return md5_hex(kd_qop, NPIECES(kd_qop), out);
	}
	const struct piece kd[] = {{ha1, 32}, COLON, STR(nonce), COLON, {ha2, 32}};

	return md5_hex(kd, NPIECES(kd), out);
}

/* Lowercases 'A'-'F' without a data-dependent branch; other bytes pass unchanged. */
static unsigned char hex_fold(unsigned char c)
{
	unsigned char upper_hex = (unsigned char)((unsigned)(c - 'A') <= 'F' - 'A');

	return c | (unsigned char)(upper_hex << 5);
}

bool digest_equal(const char *a, const char *b)
{
	unsigned char diff = 0;
	size_t len;

	if (!a || !b)
		return false;
	len = strlen(a);
	/* Lengths are public (always 32 for MD5), only the content must not leak. */
	if (strlen(b) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		diff |= hex_fold((unsigned char)a[i]) ^ hex_fold((unsigned char)b[i]);
	return diff == 0;
}
