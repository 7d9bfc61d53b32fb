/* Milenage (TS 35.206 4.1) on OpenSSL AES-128-ECB. Each call opens one cipher context
 * keyed with K and runs all its blocks through it: no shared mutable state, so the
 * HSS may compute vectors on several freeDiameter threads at once. The cipher is
 * fetched once: an implicit fetch on every init would cost a locked method lookup. */
#include "milenage.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* TS 35.206 4.1: the rotation r_i (in bytes here, all are multiples of 8 bits) and the
 * last byte of the constant c_i (the other 15 bytes are zero) of OUT1..OUT5. */
static const struct {
	unsigned rot; /* r_i / 8 */
	uint8_t c;    /* c_i[15] */
} milenage_out[6] = {
    [1] = {8, 0x00},  /* r1 = 64, c1 = 0 */
    [2] = {0, 0x01},  /* r2 = 0, c2 = 1 */
    [3] = {4, 0x02},  /* r3 = 32, c3 = 2 */
    [4] = {8, 0x04},  /* r4 = 64, c4 = 4 */
    [5] = {12, 0x08}, /* r5 = 96, c5 = 8 */
};

static EVP_CIPHER *milenage_aes;
static pthread_once_t milenage_aes_once = PTHREAD_ONCE_INIT;

static void milenage_aes_fetch(void)
{
	milenage_aes = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
}

/* Sets *ctxp to a cipher context keyed with k (owned by the caller, free with
 * EVP_CIPHER_CTX_free). Returns 0, -ENOMEM, or -EIO when OpenSSL has no AES-128-ECB
 * (e.g. a provider configuration without it). */
static int aes_open(EVP_CIPHER_CTX **ctxp, const uint8_t k[16])
{
	EVP_CIPHER_CTX *ctx;

	if (pthread_once(&milenage_aes_once, milenage_aes_fetch) != 0 || !milenage_aes)
		return -EIO;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_EncryptInit_ex2(ctx, milenage_aes, k, NULL, NULL) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return -EIO;
	}
	*ctxp = ctx;
	return 0;
}

/* Encrypts n independent 16-byte blocks (ECB). Returns 0 or -EIO. */
static int aes_blocks(EVP_CIPHER_CTX *ctx, const uint8_t *in, uint8_t *out, int n)
{
	int outl = 0;

	if (EVP_EncryptUpdate(ctx, out, &outl, in, 16 * n) != 1 || outl != 16 * n)
		return -EIO;
	return 0;
}

static void xor16(uint8_t *dst, const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < 16; i++)
		dst[i] = a[i] ^ b[i];
}

/* dst = rot(src, r_i) xor c_i for OUT number i (TS 35.206 4.1: rot cycles left). */
static void rot_const(uint8_t dst[16], const uint8_t src[16], int i)
{
	for (unsigned j = 0; j < 16; j++)
		dst[j] = src[(j + milenage_out[i].rot) % 16];
	dst[15] ^= milenage_out[i].c;
}

/* TEMP = E[RAND xor OPc]_K (TS 35.206 4.1). Returns 0 or -EIO. */
static int milenage_temp(EVP_CIPHER_CTX *ctx, const uint8_t opc[16], const uint8_t rand[16],
                         uint8_t temp[16])
{
	uint8_t in[16];
	int rc;

	xor16(in, rand, opc);
	rc = aes_blocks(ctx, in, temp, 1);
	OPENSSL_cleanse(in, sizeof(in));
	return rc;
}

int milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
	EVP_CIPHER_CTX *ctx;
	uint8_t e[16];
	int rc;

	rc = aes_open(&ctx, k);
	if (rc < 0)
		return rc;
	rc = aes_blocks(ctx, op, e, 1);
	if (rc == 0)
		xor16(opc, e, op);
	OPENSSL_cleanse(e, sizeof(e));
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                const uint8_t sqn[6], const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8])
{
	uint8_t temp[16], in1[16], x[16], out1[16];
	EVP_CIPHER_CTX *ctx;
	int rc;

	rc = aes_open(&ctx, k);
	if (rc < 0)
		return rc;
	rc = milenage_temp(ctx, opc, rand, temp);
	if (rc < 0)
		goto out_wipe;
	/* IN1 = SQN || AMF || SQN || AMF;
	 * OUT1 = E[TEMP xor rot(IN1 xor OPc, r1) xor c1]_K xor OPc. */
	memcpy(in1, sqn, 6);
	memcpy(in1 + 6, amf, 2);
	memcpy(in1 + 8, in1, 8);
	xor16(in1, in1, opc);
	rot_const(x, in1, 1);
	xor16(x, x, temp);
	rc = aes_blocks(ctx, x, out1, 1);
	if (rc < 0)
		goto out_wipe;
	xor16(out1, out1, opc);
	/* f1 = OUT1[0..63], f1* = OUT1[64..127]. */
	if (mac_a)
		memcpy(mac_a, out1, 8);
	if (mac_s)
		memcpy(mac_s, out1 + 8, 8);
out_wipe:
	OPENSSL_cleanse(temp, sizeof(temp));
	OPENSSL_cleanse(in1, sizeof(in1));
	OPENSSL_cleanse(x, sizeof(x));
	OPENSSL_cleanse(out1, sizeof(out1));
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                   uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6],
                   uint8_t ak_star[6])
{
	/* OUT2 gives RES and AK, OUT3 CK, OUT4 IK, OUT5 AK*. */
	const bool want[6] = {
	    [2] = res || ak, [3] = ck != NULL, [4] = ik != NULL, [5] = ak_star != NULL};
	uint8_t temp[16], in[4][16], out[4][16];
	int slot[6] = {0};
	int n = 0, rc;
	EVP_CIPHER_CTX *ctx;

	if (!want[2] && !want[3] && !want[4] && !want[5])
		return 0;
	rc = aes_open(&ctx, k);
	if (rc < 0)
		return rc;
	rc = milenage_temp(ctx, opc, rand, temp);
	if (rc < 0)
		goto out_wipe;
	/* OUTi = E[rot(TEMP xor OPc, ri) xor ci]_K xor OPc, i = 2..5, run as one batch. */
	xor16(temp, temp, opc);
	for (int i = 2; i <= 5; i++) {
		if (!want[i])
			continue;
		slot[i] = n;
		rot_const(in[n++], temp, i);
	}
	rc = aes_blocks(ctx, in[0], out[0], n);
	if (rc < 0)
		goto out_wipe;
	for (int j = 0; j < n; j++)
		xor16(out[j], out[j], opc);
	/* f5 = OUT2[0..47], f2 = OUT2[64..127], f3 = OUT3, f4 = OUT4, f5* = OUT5[0..47]. */
	if (ak)
		memcpy(ak, out[slot[2]], 6);
	if (res)
		memcpy(res, out[slot[2]] + 8, 8);
	if (ck)
		memcpy(ck, out[slot[3]], 16);
	if (ik)
		memcpy(ik, out[slot[4]], 16);
	if (ak_star)
		memcpy(ak_star, out[slot[5]], 6);
out_wipe:
	OPENSSL_cleanse(temp, sizeof(temp));
	OPENSSL_cleanse(in, sizeof(in));
	OPENSSL_cleanse(out, sizeof(out));
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}
