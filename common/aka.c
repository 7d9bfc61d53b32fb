/* UMTS AKA (TS 33.102 6.3, Annex C): vectors and resynchronisation on Milenage.
 * MAC comparisons use CRYPTO_memcmp so a forger learns nothing from timing; buffers
 * holding keys or MACs are wiped before returning. */
#include "aka.h"

#include "milenage.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

/* TS 33.102 6.3.3: the dummy AMF used in MAC-S of a resynchronisation. */
static const uint8_t aka_amf_resync[2] = {0x00, 0x00};

uint64_t aka_sqn_seq(uint64_t sqn)
{
	return (sqn & AKA_SQN_MAX) >> AKA_IND_BITS;
}

unsigned aka_sqn_ind(uint64_t sqn)
{
	return (unsigned)(sqn & (AKA_IND_COUNT - 1));
}

int aka_sqn_next(uint64_t sqn, uint64_t *next)
{
	uint64_t seq = aka_sqn_seq(sqn);

	if (sqn > AKA_SQN_MAX)
		return -EINVAL;
	if (seq >= AKA_SEQ_MAX)
		return -ERANGE;
	*next = (seq + 1) << AKA_IND_BITS | ((aka_sqn_ind(sqn) + 1) % AKA_IND_COUNT);
	return 0;
}

void aka_sqn_to_bytes(uint64_t sqn, uint8_t out[6])
{
	for (int i = 5; i >= 0; i--) {
		out[i] = (uint8_t)sqn;
		sqn >>= 8;
	}
}

uint64_t aka_sqn_from_bytes(const uint8_t in[6])
{
	uint64_t sqn = 0;

	for (int i = 0; i < 6; i++)
		sqn = sqn << 8 | in[i];
	return sqn;
}

int aka_vector_make(const uint8_t k[16], const uint8_t opc[16], const uint8_t amf[2], uint64_t sqn,
                    const uint8_t rand[16], struct aka_vector *out)
{
	uint8_t sqn_b[6], ak[6], mac_a[8];
	int rc;

	if (sqn > AKA_SQN_MAX)
		return -EINVAL;
	if (rand)
		memcpy(out->rand, rand, 16);
	else if (RAND_bytes(out->rand, 16) != 1)
		return -EIO;
	aka_sqn_to_bytes(sqn, sqn_b);
	rc = milenage_f1(k, opc, out->rand, sqn_b, amf, mac_a, NULL);
	if (rc < 0)
		goto out_wipe;
	rc = milenage_f2345(k, opc, out->rand, out->xres, out->ck, out->ik, ak, NULL);
	if (rc < 0)
		goto out_wipe;
	/* TS 33.102 6.3.2: AUTN = SQN xor AK || AMF || MAC. */
	for (int i = 0; i < 6; i++)
		out->autn[i] = sqn_b[i] ^ ak[i];
	memcpy(out->autn + 6, amf, 2);
	memcpy(out->autn + 8, mac_a, 8);
	out->sqn = sqn;
out_wipe:
	OPENSSL_cleanse(ak, sizeof(ak));
	OPENSSL_cleanse(mac_a, sizeof(mac_a));
	return rc;
}

int aka_autn_check(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                   const uint8_t autn[16], uint64_t *sqn, uint8_t res[8], uint8_t ck[16],
                   uint8_t ik[16])
{
	uint8_t r[8], c[16], i[16], ak[6], sqn_b[6], xmac[8];
	int rc;

	rc = milenage_f2345(k, opc, rand, r, c, i, ak, NULL);
	if (rc < 0)
		goto out_wipe;
	for (int j = 0; j < 6; j++)
		sqn_b[j] = autn[j] ^ ak[j];
	/* TS 33.102 6.3.3: XMAC = f1(SQN || RAND || AMF), AMF as received in AUTN. */
	rc = milenage_f1(k, opc, rand, sqn_b, autn + 6, xmac, NULL);
	if (rc < 0)
		goto out_wipe;
	if (CRYPTO_memcmp(xmac, autn + 8, 8) != 0) {
		/* Defined outputs for a careless caller: zeros, never the keys. */
		memset(r, 0, sizeof(r));
		memset(c, 0, sizeof(c));
		memset(i, 0, sizeof(i));
		rc = -EBADMSG;
	} else if (sqn) {
		*sqn = aka_sqn_from_bytes(sqn_b);
	}
	if (res)
		memcpy(res, r, 8);
	if (ck)
		memcpy(ck, c, 16);
	if (ik)
		memcpy(ik, i, 16);
out_wipe:
	OPENSSL_cleanse(r, sizeof(r));
	OPENSSL_cleanse(c, sizeof(c));
	OPENSSL_cleanse(i, sizeof(i));
	OPENSSL_cleanse(ak, sizeof(ak));
	OPENSSL_cleanse(xmac, sizeof(xmac));
	return rc;
}

int aka_auts_make(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                  uint64_t sqn_ms, uint8_t auts[AKA_AUTS_LEN])
{
	uint8_t sqn_b[6], ak_star[6];
	int rc;

	if (sqn_ms > AKA_SQN_MAX)
		return -EINVAL;
	aka_sqn_to_bytes(sqn_ms, sqn_b);
	rc = milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, ak_star);
	if (rc < 0)
		goto out_wipe;
	rc = milenage_f1(k, opc, rand, sqn_b, aka_amf_resync, NULL, auts + 6);
	if (rc < 0)
		goto out_wipe;
	for (int i = 0; i < 6; i++)
		auts[i] = sqn_b[i] ^ ak_star[i];
out_wipe:
	OPENSSL_cleanse(ak_star, sizeof(ak_star));
	return rc;
}

int aka_auts_verify(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                    const uint8_t auts[AKA_AUTS_LEN], uint64_t *sqn_ms)
{
	uint8_t sqn_b[6], ak_star[6], xmac_s[8];
	int rc;

	rc = milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, ak_star);
	if (rc < 0)
		goto out_wipe;
	for (int i = 0; i < 6; i++)
		sqn_b[i] = auts[i] ^ ak_star[i];
	rc = milenage_f1(k, opc, rand, sqn_b, aka_amf_resync, NULL, xmac_s);
	if (rc < 0)
		goto out_wipe;
	if (CRYPTO_memcmp(xmac_s, auts + 6, 8) != 0) {
		rc = -EBADMSG;
		goto out_wipe;
	}
	*sqn_ms = aka_sqn_from_bytes(sqn_b);
out_wipe:
	OPENSSL_cleanse(ak_star, sizeof(ak_star));
	OPENSSL_cleanse(xmac_s, sizeof(xmac_s));
	return rc;
}

bool aka_sqn_ms_accept(struct aka_sqn_ms *ms, uint64_t sqn)
{
	uint64_t seq = aka_sqn_seq(sqn);
	uint64_t highest = aka_sqn_seq(aka_sqn_ms_highest(ms));
	unsigned ind = aka_sqn_ind(sqn);

	if (sqn > AKA_SQN_MAX)
		return false;
	/* C.2.2: fresh only if newer than the last SEQ accepted with the same IND. */
	if (seq <= ms->seq[ind])
		return false;
	/* C.2.1: refuse a jump that would bring SEQ_MS near the end of its range. */
	if (seq > highest && seq - highest > AKA_SQN_DELTA)
		return false;
	ms->seq[ind] = seq;
	return true;
}

uint64_t aka_sqn_ms_highest(const struct aka_sqn_ms *ms)
{
	unsigned best = 0;

	for (unsigned i = 1; i < AKA_IND_COUNT; i++)
		if (ms->seq[i] > ms->seq[best])
			best = i;
	return (ms->seq[best] & AKA_SEQ_MAX) << AKA_IND_BITS | best;
}
