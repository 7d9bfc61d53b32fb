/* AKA: a vector from TS 35.208 set 1 inputs (AUTN, XRES, CK, IK as published), UE-side
 * AUTN check and tampering, AUTS round trip and forgeries, SQN arithmetic (SEQ/IND,
 * wrap refusal), the USIM freshness window, and a whole resynchronisation. */
#include "aka.h"
#include "codec.h"
#include "milenage.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

/* TS 35.208 4.3.1, test set 1. */
static const char set1_k[] = "465b5ce8b199b49faa5f0a2ee238a6bc";
static const char set1_opc[] = "cd63cb71954a9f4e48a5994e37a02baf";
static const char set1_rand[] = "23553cbe9637a89d218ae64dae47bf35";
static const uint64_t set1_sqn = UINT64_C(0xff9bb4d0b607);
static const uint8_t set1_amf[2] = {0xb9, 0xb9};

/* Decoded set 1 credentials. */
struct creds {
	uint8_t k[16];    /* K */
	uint8_t opc[16];  /* OPc */
	uint8_t rand[16]; /* RAND */
};

static void load_set1(struct creds *c)
{
	CU_ASSERT_EQUAL_FATAL(codec_hex_decode(set1_k, c->k, 16), 0);
	CU_ASSERT_EQUAL_FATAL(codec_hex_decode(set1_opc, c->opc, 16), 0);
	CU_ASSERT_EQUAL_FATAL(codec_hex_decode(set1_rand, c->rand, 16), 0);
}

static void assert_hex(const uint8_t *got, size_t len, const char *want)
{
	char hex[65];

	codec_hex_encode(got, len, hex, sizeof(hex));
	CU_ASSERT_STRING_EQUAL(hex, want);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* AUTN = (SQN xor AK) || AMF || MAC-A with the published f1, f2, f3, f4, f5 of set 1:
 * ff9bb4d0b607 xor aa689c648370 = 55f328b43577. */
static void test_vector_set1(void)
{
	struct aka_vector v;
	struct creds c;

	load_set1(&c);
	CU_ASSERT_EQUAL_FATAL(aka_vector_make(c.k, c.opc, set1_amf, set1_sqn, c.rand, &v), 0);
	assert_hex(v.rand, 16, set1_rand);
	assert_hex(v.autn, 16, "55f328b43577b9b94a9ffac354dfafb3");
	assert_hex(v.xres, 8, "a54211d5e3ba50bf");
	assert_hex(v.ck, 16, "b40ba9a3c58b2a05bbf0d987b21bf8cb");
	assert_hex(v.ik, 16, "f769bcd751044604127672711c6d3441");
	CU_ASSERT_EQUAL(v.sqn, set1_sqn);
	CU_ASSERT_EQUAL(aka_vector_make(c.k, c.opc, set1_amf, AKA_SQN_MAX + 1, c.rand, &v),
	                -EINVAL);
}

/* With rand NULL the RAND is drawn fresh, and the UE side accepts the result. */
static void test_vector_random(void)
{
	uint8_t res[8], ck[16], ik[16];
	struct aka_vector v1, v2;
	struct creds c;
	uint64_t sqn = 0;

	load_set1(&c);
	CU_ASSERT_EQUAL_FATAL(aka_vector_make(c.k, c.opc, set1_amf, 0x421, NULL, &v1), 0);
	CU_ASSERT_EQUAL_FATAL(aka_vector_make(c.k, c.opc, set1_amf, 0x442, NULL, &v2), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(v1.rand, v2.rand, 16), 0);
	CU_ASSERT_EQUAL(aka_autn_check(c.k, c.opc, v2.rand, v2.autn, &sqn, res, ck, ik), 0);
	CU_ASSERT_EQUAL(sqn, 0x442);
	CU_ASSERT_EQUAL(memcmp(res, v2.xres, 8), 0);
	CU_ASSERT_EQUAL(memcmp(ck, v2.ck, 16), 0);
	CU_ASSERT_EQUAL(memcmp(ik, v2.ik, 16), 0);
}

static void test_autn_check_set1(void)
{
	uint8_t autn[16], res[8], ck[16], ik[16];
	struct creds c;
	uint64_t sqn = 0;

	load_set1(&c);
	CU_ASSERT_EQUAL_FATAL(codec_hex_decode("55f328b43577b9b94a9ffac354dfafb3", autn, 16), 0);
	CU_ASSERT_EQUAL(aka_autn_check(c.k, c.opc, c.rand, autn, &sqn, res, ck, ik), 0);
	CU_ASSERT_EQUAL(sqn, set1_sqn);
	assert_hex(res, 8, "a54211d5e3ba50bf");
	assert_hex(ck, 16, "b40ba9a3c58b2a05bbf0d987b21bf8cb");
	assert_hex(ik, 16, "f769bcd751044604127672711c6d3441");
	/* Outputs are optional. */
	CU_ASSERT_EQUAL(aka_autn_check(c.k, c.opc, c.rand, autn, NULL, NULL, NULL, NULL), 0);
}

/* One flipped bit anywhere in AUTN (concealed SQN, AMF, MAC) or in RAND is refused,
 * and no key material comes out. */
static void test_autn_tampered(void)
{
	uint8_t autn[16], bad[16], rand[16], res[8], ck[16], ik[16];
	struct creds c;
	uint64_t sqn = 42;

	load_set1(&c);
	CU_ASSERT_EQUAL_FATAL(codec_hex_decode("55f328b43577b9b94a9ffac354dfafb3", autn, 16), 0);
	for (int bit = 0; bit < 128; bit++) {
		memcpy(bad, autn, 16);
		bad[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		memset(res, 0xee, sizeof(res));
		memset(ck, 0xee, sizeof(ck));
		memset(ik, 0xee, sizeof(ik));
		CU_ASSERT_EQUAL(aka_autn_check(c.k, c.opc, c.rand, bad, &sqn, res, ck, ik),
		                -EBADMSG);
		CU_ASSERT_TRUE(all_zero(res, 8) && all_zero(ck, 16) && all_zero(ik, 16));
	}
	CU_ASSERT_EQUAL(sqn, 42);
	memcpy(rand, c.rand, 16);
	rand[15] ^= 0x01;
	CU_ASSERT_EQUAL(aka_autn_check(c.k, c.opc, rand, autn, &sqn, res, ck, ik), -EBADMSG);
}

/* AUTS = (SQN_MS xor AK*) || MAC-S: with set 1, AK* = 451e8beca43b (TS 35.208), and
 * MAC-S is f1* over SQN_MS with AMF = 0000 (TS 33.102 6.3.3). */
static void test_auts_roundtrip(void)
{
	static const uint8_t amf0[2] = {0, 0};
	uint8_t auts[AKA_AUTS_LEN], sqn_b[6], mac_s[8];
	struct creds c;
	uint64_t sqn_ms = 0;

	load_set1(&c);
	CU_ASSERT_EQUAL_FATAL(aka_auts_make(c.k, c.opc, c.rand, set1_sqn, auts), 0);
	/* ff9bb4d0b607 xor 451e8beca43b */
	assert_hex(auts, 6, "ba853f3c123c");
	aka_sqn_to_bytes(set1_sqn, sqn_b);
	CU_ASSERT_EQUAL(milenage_f1(c.k, c.opc, c.rand, sqn_b, amf0, NULL, mac_s), 0);
	CU_ASSERT_EQUAL(memcmp(auts + 6, mac_s, 8), 0);
	CU_ASSERT_EQUAL(aka_auts_verify(c.k, c.opc, c.rand, auts, &sqn_ms), 0);
	CU_ASSERT_EQUAL(sqn_ms, set1_sqn);

	for (uint64_t s = 0; s < 3000; s += 97) {
		CU_ASSERT_EQUAL(aka_auts_make(c.k, c.opc, c.rand, s << 5 | (s % 32), auts), 0);
		CU_ASSERT_EQUAL(aka_auts_verify(c.k, c.opc, c.rand, auts, &sqn_ms), 0);
		CU_ASSERT_EQUAL(sqn_ms, s << 5 | (s % 32));
	}
	CU_ASSERT_EQUAL(aka_auts_make(c.k, c.opc, c.rand, AKA_SQN_MAX + 1, auts), -EINVAL);
}

static void test_auts_forged(void)
{
	uint8_t auts[AKA_AUTS_LEN], bad[AKA_AUTS_LEN], rand[16], k[16];
	struct creds c;
	uint64_t sqn_ms = 7;

	load_set1(&c);
	CU_ASSERT_EQUAL_FATAL(aka_auts_make(c.k, c.opc, c.rand, 0x123456, auts), 0);
	/* Every single-bit change, in the concealed SQN_MS (bits 0-47) and MAC-S. */
	for (int bit = 0; bit < 8 * AKA_AUTS_LEN; bit++) {
		memcpy(bad, auts, sizeof(auts));
		bad[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
		CU_ASSERT_EQUAL(aka_auts_verify(c.k, c.opc, c.rand, bad, &sqn_ms), -EBADMSG);
	}
	CU_ASSERT_EQUAL(sqn_ms, 7);
	/* Bound to the challenge's RAND and to K. */
	memcpy(rand, c.rand, 16);
	rand[0] ^= 0x40;
	CU_ASSERT_EQUAL(aka_auts_verify(c.k, c.opc, rand, auts, &sqn_ms), -EBADMSG);
	memcpy(k, c.k, 16);
	k[7] ^= 0x01;
	CU_ASSERT_EQUAL(aka_auts_verify(k, c.opc, c.rand, auts, &sqn_ms), -EBADMSG);
	CU_ASSERT_EQUAL(sqn_ms, 7);
}

static void test_sqn_bytes(void)
{
	uint8_t b[6];

	aka_sqn_to_bytes(UINT64_C(0x0123456789ab), b);
	assert_hex(b, 6, "0123456789ab");
	CU_ASSERT_EQUAL(aka_sqn_from_bytes(b), UINT64_C(0x0123456789ab));
	aka_sqn_to_bytes(AKA_SQN_MAX, b);
	assert_hex(b, 6, "ffffffffffff");
	CU_ASSERT_EQUAL(aka_sqn_from_bytes(b), AKA_SQN_MAX);
	CU_ASSERT_EQUAL(aka_sqn_seq(UINT64_C(0x0123456789ab)), UINT64_C(0x0123456789ab) >> 5);
	CU_ASSERT_EQUAL(aka_sqn_ind(UINT64_C(0x0123456789ab)), 0x0b);
}

/* Every vector gets SEQ + 1; IND cycles through 0..31 (Annex C.1.1, C.3.2). */
static void test_sqn_next(void)
{
	uint64_t sqn = 0, next = 0;

	CU_ASSERT_EQUAL(aka_sqn_next(0, &next), 0);
	CU_ASSERT_EQUAL(next, 0x21); /* SEQ 1, IND 1 */
	CU_ASSERT_EQUAL(aka_sqn_next(5 << 5 | 31, &next), 0);
	CU_ASSERT_EQUAL(aka_sqn_seq(next), 6);
	CU_ASSERT_EQUAL(aka_sqn_ind(next), 0);
	for (unsigned i = 1; i <= 70; i++) {
		CU_ASSERT_EQUAL_FATAL(aka_sqn_next(sqn, &next), 0);
		CU_ASSERT_EQUAL(aka_sqn_seq(next), i);
		CU_ASSERT_EQUAL(aka_sqn_ind(next), i % 32);
		CU_ASSERT(next > sqn);
		sqn = next;
	}
	next = 99;
	CU_ASSERT_EQUAL(aka_sqn_next(AKA_SQN_MAX + 1, &next), -EINVAL);
	CU_ASSERT_EQUAL(next, 99);
}

/* At the last SEQ the HSS must refuse rather than wrap to an SQN it issued before. */
static void test_sqn_wrap(void)
{
	uint64_t next = 0;

	CU_ASSERT_EQUAL(aka_sqn_next((AKA_SEQ_MAX - 1) << 5 | 30, &next), 0);
	CU_ASSERT_EQUAL(aka_sqn_seq(next), AKA_SEQ_MAX);
	CU_ASSERT_EQUAL(aka_sqn_ind(next), 31);
	CU_ASSERT_EQUAL(next, AKA_SQN_MAX);
	next = 1234;
	CU_ASSERT_EQUAL(aka_sqn_next(AKA_SQN_MAX, &next), -ERANGE);
	CU_ASSERT_EQUAL(aka_sqn_next(AKA_SEQ_MAX << 5, &next), -ERANGE);
	CU_ASSERT_EQUAL(next, 1234);
}

/* USIM freshness (Annex C.2): per-IND SEQ_MS, replay and reorder rules, delta. */
static void test_sqn_ms_accept(void)
{
	struct aka_sqn_ms ms = {{0}};
	uint64_t sqn1 = 0;

	CU_ASSERT_EQUAL_FATAL(aka_sqn_next(0, &sqn1), 0);
	CU_ASSERT_TRUE(aka_sqn_ms_accept(&ms, sqn1));
	CU_ASSERT_FALSE(aka_sqn_ms_accept(&ms, sqn1)); /* replay */
	CU_ASSERT_FALSE(aka_sqn_ms_accept(&ms, 0));    /* SEQ 0 is never fresh */

	CU_ASSERT_TRUE(aka_sqn_ms_accept(&ms, 10 << 5 | 3));
	CU_ASSERT_FALSE(aka_sqn_ms_accept(&ms, 10 << 5 | 3)); /* replay */
	CU_ASSERT_FALSE(aka_sqn_ms_accept(&ms, 9 << 5 | 3));  /* same IND, older SEQ */
	/* An older SEQ under another IND is a vector used out of order: fine. */
	CU_ASSERT_TRUE(aka_sqn_ms_accept(&ms, 9 << 5 | 4));
	CU_ASSERT_EQUAL(aka_sqn_ms_highest(&ms), 10 << 5 | 3);

	/* Delta: at most 2^28 ahead of the highest SEQ_MS (10). */
	CU_ASSERT_FALSE(aka_sqn_ms_accept(&ms, (10 + AKA_SQN_DELTA + 1) << 5 | 5));
	CU_ASSERT_EQUAL(ms.seq[5], 0);
	CU_ASSERT_TRUE(aka_sqn_ms_accept(&ms, (10 + AKA_SQN_DELTA) << 5 | 5));
	CU_ASSERT_EQUAL(aka_sqn_ms_highest(&ms), (10 + AKA_SQN_DELTA) << 5 | 5);
	CU_ASSERT_FALSE(aka_sqn_ms_accept(&ms, AKA_SQN_MAX + 1));
}

/* HSS far behind the USIM: UE refuses the SQN, sends AUTS with SQN_MS, the HSS
 * verifies it, restarts from SQN_MS, and its next vector is accepted. */
static void test_resync_flow(void)
{
	struct aka_sqn_ms ms = {{0}};
	uint8_t auts[AKA_AUTS_LEN];
	struct aka_vector v;
	struct creds c;
	uint64_t sqn_he = 0, sqn_ue = 0, sqn_ms = 0, ue_highest;

	load_set1(&c);
	ms.seq[7] = 5000;
	ms.seq[8] = 4999;
	CU_ASSERT_EQUAL_FATAL(aka_sqn_next(100 << 5 | 6, &sqn_he), 0);
	CU_ASSERT_EQUAL_FATAL(aka_vector_make(c.k, c.opc, set1_amf, sqn_he, NULL, &v), 0);
	CU_ASSERT_EQUAL(aka_autn_check(c.k, c.opc, v.rand, v.autn, &sqn_ue, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(sqn_ue, sqn_he);
	CU_ASSERT_FALSE(aka_sqn_ms_accept(&ms, sqn_ue));
	ue_highest = aka_sqn_ms_highest(&ms);
	CU_ASSERT_EQUAL(ue_highest, 5000 << 5 | 7);
	CU_ASSERT_EQUAL_FATAL(aka_auts_make(c.k, c.opc, v.rand, ue_highest, auts), 0);

	CU_ASSERT_EQUAL_FATAL(aka_auts_verify(c.k, c.opc, v.rand, auts, &sqn_ms), 0);
	CU_ASSERT_EQUAL(sqn_ms, ue_highest);
	CU_ASSERT_EQUAL_FATAL(aka_sqn_next(sqn_ms, &sqn_he), 0);
	CU_ASSERT_EQUAL_FATAL(aka_vector_make(c.k, c.opc, set1_amf, sqn_he, NULL, &v), 0);
	CU_ASSERT_EQUAL(aka_autn_check(c.k, c.opc, v.rand, v.autn, &sqn_ue, NULL, NULL, NULL), 0);
	CU_ASSERT_TRUE(aka_sqn_ms_accept(&ms, sqn_ue));
}

int test_aka_register(void)
{
	static CU_TestInfo tests[] = {
	    {"vector from TS 35.208 set 1", test_vector_set1},
	    {"vector with random RAND", test_vector_random},
	    {"AUTN check, set 1", test_autn_check_set1},
	    {"AUTN tampered", test_autn_tampered},
	    {"AUTS round trip", test_auts_roundtrip},
	    {"AUTS forged", test_auts_forged},
	    {"SQN bytes", test_sqn_bytes},
	    {"SQN next: SEQ+1, IND cycles", test_sqn_next},
	    {"SQN next refuses to wrap", test_sqn_wrap},
	    {"USIM SQN acceptance", test_sqn_ms_accept},
	    {"resynchronisation flow", test_resync_flow},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("aka", tests);
}
