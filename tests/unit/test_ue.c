/* Unit tests of the test UE's logic: WWW-Authenticate parsing, the AKAv1-MD5 answer for
 * a TS 35.208 set 1 challenge checked against an MD5 computed here (RFC 2617 3.2.2),
 * the resynchronisation decision and AUTS (TS 33.102 6.3.3, 6.3.5), MAC failure,
 * Authorization values (checked with libosip2's parser too), and the 200 OK helpers. */
#include "unit.h"

#include "aka.h"
#include "codec.h"
#include "sip_msg.h"
#include "ue.h"

#include <openssl/evp.h>
#include <osipparser2/headers/osip_authorization.h>
#include <stdio.h>
#include <string.h>

/* TS 35.208 4.3 test set 1. */
static const char set1_k[] = "465b5ce8b199b49faa5f0a2ee238a6bc";
static const char set1_opc[] = "cd63cb71954a9f4e48a5994e37a02baf";
static const char set1_rand[] = "23553cbe9637a89d218ae64dae47bf35";
static const uint64_t set1_sqn = UINT64_C(0xff9bb4d0b607);
/* AUTN = SQN xor AK (aa689c648370) || AMF (b9b9) || MAC-A (f1 = 4a9ffac354dfafb3). */
static const char set1_autn[] = "55f328b43577b9b94a9ffac354dfafb3";
static const char set1_res[] = "a54211d5e3ba50bf";
/* AK* = f5* = 451e8beca43b. */
static const char set1_ak_star[] = "451e8beca43b";

#define IMPI  "alice@ims.alpha.test"
#define REALM "ims.alpha.test"
#define URI   "sip:ims.alpha.test"

static void hex(const char *h, uint8_t *out, size_t n)
{
	CU_ASSERT_FATAL(codec_hex_decode(h, out, n) == 0);
}

/* Independent MD5 hex of a byte string, with OpenSSL directly. */
static void md5_hex(const void *data, size_t len, char out[33])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	CU_ASSERT_FATAL(EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL) == 1);
	CU_ASSERT_FATAL(mdlen == 16);
	codec_hex_encode(md, 16, out, 33);
}

/* RFC 2617 3.2.2.1 with qop=auth, written out longhand: the reference the UE's
 * response must equal. pw is raw bytes (AKA: RES, RFC 3310 3.3). */
static void expected_response(const void *pw, size_t pwlen, const char *nonce, const char *cnonce,
                              char out[33])
{
	char a1[512], a2[512], kd[1024], ha1[33], ha2[33];
	size_t n = (size_t)snprintf(a1, sizeof(a1), "%s:%s:", IMPI, REALM);

	memcpy(a1 + n, pw, pwlen);
	md5_hex(a1, n + pwlen, ha1);
	md5_hex(a2, (size_t)snprintf(a2, sizeof(a2), "REGISTER:%s", URI), ha2);
	md5_hex(
	    kd,
	    (size_t)snprintf(kd, sizeof(kd), "%s:%s:00000001:%s:auth:%s", ha1, nonce, cnonce, ha2),
	    out);
}

/* An AKA challenge for set 1 with the given AUTN (hex) and extra server data bytes. */
static void set1_challenge(const char *autn_hex, size_t extra, struct ue_challenge *ch)
{
	uint8_t raw[48] = {0};
	char value[512], nonce[128];

	hex(set1_rand, raw, 16);
	hex(autn_hex, raw + 16, 16);
	memset(raw + 32, 0x5a, extra);
	CU_ASSERT_FATAL(codec_b64_encode(raw, 32 + extra, nonce, sizeof(nonce)) > 0);
	snprintf(value, sizeof(value),
	         "Digest realm=\"" REALM "\", nonce=\"%s\", algorithm=AKAv1-MD5, "
	         "ck=\"00112233445566778899aabbccddeeff\", qop=\"auth\"",
	         nonce);
	CU_ASSERT_FATAL(ue_auth_parse_challenge(value, strlen(value), ch) == 0);
}

static void test_parse_aka(void)
{
	/* The 401 of tests/fixtures/sip/401-ck-ik.sip. */
	static const char v[] = "Digest realm=\"ims.alpha.test\", "
	                        "nonce=\"3q2+7wAAAAAAAAAAAAAAAN6tvu8AAAAAAAAAAAAAAAA=\", "
	                        "algorithm=AKAv1-MD5, ck=\"00112233445566778899aabbccddeeff\", "
	                        "ik=\"ffeeddccbbaa99887766554433221100\", qop=\"auth\"";
	struct ue_challenge ch;

	CU_ASSERT_EQUAL(ue_auth_parse_challenge(v, strlen(v), &ch), 0);
	CU_ASSERT_EQUAL(ch.alg, UE_AUTH_AKAV1_MD5);
	CU_ASSERT_STRING_EQUAL(ch.realm, "ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(ch.nonce, "3q2+7wAAAAAAAAAAAAAAAN6tvu8AAAAAAAAAAAAAAAA=");
	CU_ASSERT_STRING_EQUAL(ch.qop, "auth");
	CU_ASSERT_FALSE(ch.has_opaque);
	CU_ASSERT_FALSE(ch.stale);
}

static void test_parse_md5_variants(void)
{
	struct ue_challenge ch;
	const char *v;

	v = "Digest realm=\"testrealm@host.com\", qop=\"auth-int,auth\", "
	    "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5c\\\"c\", stale=TRUE";
	CU_ASSERT_EQUAL(ue_auth_parse_challenge(v, strlen(v), &ch), 0);
	CU_ASSERT_EQUAL(ch.alg, UE_AUTH_MD5);
	CU_ASSERT_STRING_EQUAL(ch.qop, "auth");
	CU_ASSERT_TRUE(ch.has_opaque);
	CU_ASSERT_STRING_EQUAL(ch.opaque, "5c\"c");
	CU_ASSERT_TRUE(ch.stale);

	v = "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\", algorithm=MD5";
	CU_ASSERT_EQUAL(ue_auth_parse_challenge(v, strlen(v), &ch), 0);
	CU_ASSERT_STRING_EQUAL(ch.qop, "auth-int");

	/* RFC 2069 style: no qop; case-insensitive names; token values; folded spaces. */
	v = "digest  REALM=r ,\r\n NONCE=\"n\",ALGORITHM=akav1-md5";
	CU_ASSERT_EQUAL(ue_auth_parse_challenge(v, strlen(v), &ch), 0);
	CU_ASSERT_EQUAL(ch.alg, UE_AUTH_AKAV1_MD5);
	CU_ASSERT_STRING_EQUAL(ch.realm, "r");
	CU_ASSERT_STRING_EQUAL(ch.qop, "");
}

static void test_parse_errors(void)
{
	static const struct {
		const char *v;
		int ret;
	} cases[] = {
	    {"Basic realm=\"r\"", -ENOTSUP},
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess", -ENOTSUP},
	    {"Digest realm=\"r\", nonce=\"n\", algorithm=AKAv2-MD5", -ENOTSUP},
	    {"Digest realm=\"r\", nonce=\"n\", qop=\"auth-conf\"", -ENOTSUP},
	    {"Digest realm=\"r\"", -EBADMSG},
	    {"Digest nonce=\"n\"", -EBADMSG},
	    {"Digest realm=\"r\", realm=\"s\", nonce=\"n\"", -EBADMSG},
	    {"Digest realm=\"r, nonce=\"n\"", -EBADMSG},
	    {"Digest realm=\"r\" nonce=\"n\"", -EBADMSG},
	    {"Digest realm, nonce=\"n\"", -EBADMSG},
	    {"Digest realm=, nonce=\"n\"", -EBADMSG},
	    {"Digest realm=\"a\001b\", nonce=\"n\"", -EBADMSG},
	    {"Digest realm=\"r\", nonce=\"n\\", -EBADMSG},
	    {"", -EBADMSG},
	};
	struct ue_challenge ch;
	char big[600];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = ue_auth_parse_challenge(cases[i].v, strlen(cases[i].v), &ch);

		if (ret != cases[i].ret)
			fprintf(stderr, "\n  case %zu: %s -> %d\n", i, cases[i].v, ret);
		CU_ASSERT_EQUAL(ret, cases[i].ret);
	}
	/* A value longer than UE_AUTH_VALUE_MAX is refused, not truncated. */
	snprintf(big, sizeof(big), "Digest realm=\"r\", nonce=\"%0*d\"", 400, 7);
	CU_ASSERT_EQUAL(ue_auth_parse_challenge(big, strlen(big), &ch), -EMSGSIZE);
	/* Unknown directives of any length are skipped. */
	snprintf(big, sizeof(big), "Digest realm=\"r\", domain=\"%0*d\", nonce=\"n\"", 400, 7);
	CU_ASSERT_EQUAL(ue_auth_parse_challenge(big, strlen(big), &ch), 0);
}

static void test_aka_response_set1(void)
{
	uint8_t k[16], opc[16], res[8];
	struct aka_sqn_ms ms;
	struct ue_challenge ch;
	struct ue_aka aka;
	struct ue_credentials cr = {0};
	char expect[33];

	hex(set1_k, k, 16);
	hex(set1_opc, opc, 16);
	hex(set1_res, res, 8);
	set1_challenge(set1_autn, 0, &ch);
	/* A USIM that last accepted the SEQ just before set 1's. */
	ue_auth_sqn_ms_set(&ms, set1_sqn - AKA_IND_COUNT);
	CU_ASSERT_EQUAL_FATAL(ue_auth_aka(&ch, k, opc, &ms, &aka), 0);
	CU_ASSERT_EQUAL(aka.result, UE_AKA_OK);
	CU_ASSERT_EQUAL(aka.sqn, set1_sqn);
	CU_ASSERT_EQUAL(memcmp(aka.res, res, 8), 0);
	CU_ASSERT_EQUAL(ms.seq[aka_sqn_ind(set1_sqn)], aka_sqn_seq(set1_sqn));

	CU_ASSERT_EQUAL(
	    ue_auth_response(&ch, IMPI, aka.res, sizeof(aka.res), "REGISTER", URI, "0a4f113b", &cr),
	    0);
	expected_response(res, 8, ch.nonce, "0a4f113b", expect);
	CU_ASSERT_STRING_EQUAL(cr.response, expect);
	CU_ASSERT_STRING_EQUAL(cr.nc, "00000001");
	CU_ASSERT_STRING_EQUAL(cr.cnonce, "0a4f113b");
	CU_ASSERT_STRING_EQUAL(cr.auts, "");

	/* Server data after RAND || AUTN is allowed (RFC 3310 3.2). */
	set1_challenge(set1_autn, 8, &ch);
	ue_auth_sqn_ms_set(&ms, set1_sqn - AKA_IND_COUNT);
	CU_ASSERT_EQUAL(ue_auth_aka(&ch, k, opc, &ms, &aka), 0);
	CU_ASSERT_EQUAL(aka.result, UE_AKA_OK);
}

/* A RES with a 0x00 byte must still be used whole (the SIPp pitfall, FIELD-NOTES). */
static void test_response_res_with_nul(void)
{
	static const uint8_t res[8] = {0x12, 0x00, 0x34, 0x00, 0x56, 0x78, 0x9a, 0x00};
	struct ue_challenge ch;
	struct ue_credentials cr = {0};
	char expect[33], truncated[33];

	set1_challenge(set1_autn, 0, &ch);
	CU_ASSERT_EQUAL(ue_auth_response(&ch, IMPI, res, 8, "REGISTER", URI, "abc", &cr), 0);
	expected_response(res, 8, ch.nonce, "abc", expect);
	expected_response(res, 1, ch.nonce, "abc", truncated);
	CU_ASSERT_STRING_EQUAL(cr.response, expect);
	CU_ASSERT_STRING_NOT_EQUAL(cr.response, truncated);
}

static void test_resync_on_replay(void)
{
	uint8_t k[16], opc[16], rand[16], auts[AKA_AUTS_LEN], ak_star[6], sqn6[6];
	struct aka_sqn_ms ms;
	struct ue_challenge ch;
	struct ue_aka aka;
	struct ue_credentials cr = {0};
	uint64_t sqn_ms = 0;
	char expect[33];

	hex(set1_k, k, 16);
	hex(set1_opc, opc, 16);
	hex(set1_rand, rand, 16);
	hex(set1_ak_star, ak_star, 6);
	set1_challenge(set1_autn, 0, &ch);
	ue_auth_sqn_ms_set(&ms, set1_sqn - AKA_IND_COUNT);
	CU_ASSERT_EQUAL_FATAL(ue_auth_aka(&ch, k, opc, &ms, &aka), 0);
	CU_ASSERT_EQUAL(aka.result, UE_AKA_OK);

	/* The same challenge again: a replayed SQN -> synchronisation failure. */
	CU_ASSERT_EQUAL_FATAL(ue_auth_aka(&ch, k, opc, &ms, &aka), 0);
	CU_ASSERT_EQUAL(aka.result, UE_AKA_RESYNC);
	CU_ASSERT_EQUAL(aka.sqn, set1_sqn);
	CU_ASSERT_EQUAL(aka.sqn_ms, aka_sqn_ms_highest(&ms));
	CU_ASSERT_EQUAL(aka.sqn_ms, set1_sqn);
	/* AUTS = SQN_MS xor AK* || MAC-S; the HSS side recovers SQN_MS. */
	aka_sqn_to_bytes(set1_sqn, sqn6);
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(aka.auts[i], sqn6[i] ^ ak_star[i]);
	CU_ASSERT_EQUAL(aka_auts_verify(k, opc, rand, aka.auts, &sqn_ms), 0);
	CU_ASSERT_EQUAL(sqn_ms, set1_sqn);
	CU_ASSERT_EQUAL(codec_b64_decode(aka.auts_b64, strlen(aka.auts_b64), auts, sizeof(auts)),
	                AKA_AUTS_LEN);
	CU_ASSERT_EQUAL(memcmp(auts, aka.auts, AKA_AUTS_LEN), 0);

	/* RFC 3310 3.4: the response of a resync uses an empty password. */
	CU_ASSERT_EQUAL(ue_auth_response(&ch, IMPI, "", 0, "REGISTER", URI, "c1", &cr), 0);
	expected_response("", 0, ch.nonce, "c1", expect);
	CU_ASSERT_STRING_EQUAL(cr.response, expect);

	/* A fresh USIM refuses an SQN more than delta ahead (TS 33.102 C.2.1). */
	memset(&ms, 0, sizeof(ms));
	CU_ASSERT_EQUAL(ue_auth_aka(&ch, k, opc, &ms, &aka), 0);
	CU_ASSERT_EQUAL(aka.result, UE_AKA_RESYNC);
	CU_ASSERT_EQUAL(aka.sqn_ms, 0);
	CU_ASSERT_EQUAL(aka_auts_verify(k, opc, rand, aka.auts, &sqn_ms), 0);
	CU_ASSERT_EQUAL(sqn_ms, 0);
}

static void test_mac_failure(void)
{
	uint8_t k[16], opc[16];
	struct aka_sqn_ms ms, before;
	struct ue_challenge ch;
	struct ue_aka aka;
	char autn[33];

	hex(set1_k, k, 16);
	hex(set1_opc, opc, 16);
	snprintf(autn, sizeof(autn), "%s", set1_autn);
	autn[31] = autn[31] == '3' ? '2' : '3'; /* one bit of MAC-A */
	set1_challenge(autn, 0, &ch);
	ue_auth_sqn_ms_set(&ms, set1_sqn - AKA_IND_COUNT);
	before = ms;
	CU_ASSERT_EQUAL(ue_auth_aka(&ch, k, opc, &ms, &aka), 0);
	CU_ASSERT_EQUAL(aka.result, UE_AKA_MAC_FAILURE);
	CU_ASSERT_EQUAL(memcmp(&ms, &before, sizeof(ms)), 0);
	/* A wrong K is the same failure, seen from the UE. */
	k[0] ^= 1;
	set1_challenge(set1_autn, 0, &ch);
	CU_ASSERT_EQUAL(ue_auth_aka(&ch, k, opc, &ms, &aka), 0);
	CU_ASSERT_EQUAL(aka.result, UE_AKA_MAC_FAILURE);

	/* A nonce too short for RAND || AUTN, or not base64. */
	snprintf(ch.nonce, sizeof(ch.nonce), "3q2+7wAAAAAAAAAAAAAAAA==");
	CU_ASSERT_EQUAL(ue_auth_aka(&ch, k, opc, &ms, &aka), -EBADMSG);
	snprintf(ch.nonce, sizeof(ch.nonce), "not base64!");
	CU_ASSERT_EQUAL(ue_auth_aka(&ch, k, opc, &ms, &aka), -EBADMSG);
}

/* RFC 2617 3.5's example through the UE's MD5 path (method GET, as in the RFC). */
static void test_md5_rfc2617(void)
{
	static const char v[] = "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
	                        "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
	                        "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"";
	struct ue_challenge ch;
	struct ue_credentials cr = {0};
	char out[512];

	CU_ASSERT_EQUAL_FATAL(ue_auth_parse_challenge(v, strlen(v), &ch), 0);
	CU_ASSERT_EQUAL(ue_auth_response(&ch, "Mufasa", "Circle Of Life", 14, "GET",
	                                 "/dir/index.html", "0a4f113b", &cr),
	                0);
	CU_ASSERT_STRING_EQUAL(cr.response, "6629fae49393a05397450978507c4ef1");
	CU_ASSERT(ue_auth_header("Mufasa", NULL, "/dir/index.html", &ch, &cr, out, sizeof(out)) >
	          0);
	CU_ASSERT_STRING_EQUAL(out, "Digest username=\"Mufasa\", realm=\"testrealm@host.com\", "
	                            "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
	                            "uri=\"/dir/index.html\", "
	                            "response=\"6629fae49393a05397450978507c4ef1\", "
	                            "algorithm=MD5, cnonce=\"0a4f113b\", qop=auth, nc=00000001, "
	                            "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"");
}

/* Parses an Authorization value with libosip2 (an independent parser). */
static osip_authorization_t *osip_parse(const char *value)
{
	osip_authorization_t *a = NULL;

	if (osip_authorization_init(&a) != 0)
		return NULL;
	if (osip_authorization_parse(a, value) != 0) {
		osip_authorization_free(a);
		return NULL;
	}
	return a;
}

static void test_header(void)
{
	struct ue_challenge ch;
	struct ue_credentials cr = {0};
	osip_authorization_t *a;
	char out[1024];
	ssize_t n;

	/* TS 24.229 5.1.1.2.1: the first REGISTER. */
	n = ue_auth_header(IMPI, REALM, URI, NULL, NULL, out, sizeof(out));
	CU_ASSERT_EQUAL(n, (ssize_t)strlen(out));
	CU_ASSERT_STRING_EQUAL(out, "Digest username=\"alice@ims.alpha.test\", "
	                            "realm=\"ims.alpha.test\", nonce=\"\", "
	                            "uri=\"sip:ims.alpha.test\", response=\"\"");
	a = osip_parse(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->username, "\"alice@ims.alpha.test\"");
	/* libosip2 reads an empty quoted string as absent. */
	CU_ASSERT(!a->response || strcmp(a->response, "\"\"") == 0);
	osip_authorization_free(a);

	/* A resync answer: qop/nc/cnonce, algorithm, auts. */
	set1_challenge(set1_autn, 0, &ch);
	snprintf(cr.response, sizeof(cr.response), "%032d", 1);
	snprintf(cr.cnonce, sizeof(cr.cnonce), "0a4f113b");
	snprintf(cr.nc, sizeof(cr.nc), "00000001");
	snprintf(cr.auts, sizeof(cr.auts), "CjkyMzRmZGtqZmRr");
	n = ue_auth_header(IMPI, NULL, URI, &ch, &cr, out, sizeof(out));
	CU_ASSERT(n > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, ", algorithm=AKAv1-MD5, cnonce=\"0a4f113b\", qop=auth, "
	                                   "nc=00000001, auts=\"CjkyMzRmZGtqZmRr\""));
	a = osip_parse(out);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_STRING_EQUAL(a->response, "\"00000000000000000000000000000001\"");
	CU_ASSERT_STRING_EQUAL(a->nonce_count, "00000001");
	CU_ASSERT_STRING_EQUAL(a->message_qop, "auth");
	osip_authorization_free(a);

	/* Network authentication failed: empty response, no qop, no auts. */
	memset(&cr, 0, sizeof(cr));
	CU_ASSERT(ue_auth_header(IMPI, NULL, URI, &ch, &cr, out, sizeof(out)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "response=\"\", algorithm=AKAv1-MD5"));
	CU_ASSERT_PTR_NULL(strstr(out, "qop"));
	CU_ASSERT_PTR_NULL(strstr(out, "auts"));

	/* Quotes and backslashes from the network are escaped. */
	CU_ASSERT(ue_auth_header(IMPI, "a\"b\\c", URI, NULL, NULL, out, sizeof(out)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "realm=\"a\\\"b\\\\c\""));

	CU_ASSERT_EQUAL(ue_auth_header(IMPI, REALM, URI, NULL, NULL, out, 40), -ENOSPC);
	CU_ASSERT_EQUAL(ue_auth_header(IMPI, NULL, URI, NULL, NULL, out, sizeof(out)), -EINVAL);
}

static void test_sqn_ms_set(void)
{
	struct aka_sqn_ms ms;
	uint64_t sqn = UINT64_C(0x000000001234) << 5 | 7;

	ue_auth_sqn_ms_set(&ms, sqn);
	/* Every SEQ up to SEQ(sqn) counts as used, in every IND slot. */
	CU_ASSERT_FALSE(aka_sqn_ms_accept(&ms, (aka_sqn_seq(sqn) << 5) | 3));
	CU_ASSERT_FALSE(aka_sqn_ms_accept(&ms, sqn));
	CU_ASSERT_TRUE(aka_sqn_ms_accept(&ms, ((aka_sqn_seq(sqn) + 1) << 5) | 3));
	ue_auth_sqn_ms_set(&ms, 0);
	CU_ASSERT_TRUE(aka_sqn_ms_accept(&ms, 0x20));
}

static const char ok_200[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 127.0.1.100:5060;branch=z9hG4bKx;rport=5060;received=127.0.1.100\r\n"
    "From: <sip:alice@ims.alpha.test>;tag=a\r\n"
    "To: <sip:alice@ims.alpha.test>;tag=b\r\n"
    "Call-ID: c@127.0.1.100\r\n"
    "CSeq: 2 REGISTER\r\n"
    "Contact: <sip:alice@127.0.1.200:5060>;expires=3600, "
    "<sip:alice@127.0.1.100:5060;transport=udp>;expires=300\r\n"
    "%s"
    "Service-Route: <sip:orig@scscf.ims.alpha.test:5060;lr>\r\n"
    "Service-Route: <sip:second@example.test;lr>\r\n"
    "P-Associated-URI: <sip:alice@ims.alpha.test>, <tel:+15550001>\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static struct sip_msg *parse_200(const char *extra)
{
	char text[2048];
	struct sip_msg *m = NULL;
	int n = snprintf(text, sizeof(text), ok_200, extra);

	CU_ASSERT_FATAL(sip_msg_parse(text, (size_t)n, &m, NULL, 0) == 0);
	return m;
}

static void test_reg_200(void)
{
	char uris[UE_REG_URIS_MAX][UE_URI_MAX];
	struct sip_msg *m = parse_200("Expires: 1200\r\n");

	CU_ASSERT_EQUAL(ue_reg_granted(m, "sip:alice@127.0.1.100:5060;transport=udp", 600), 300);
	/* The registrar may drop our transport parameter: still our contact. */
	CU_ASSERT_EQUAL(ue_reg_granted(m, "sip:alice@127.0.1.100:5060;transport=tcp", 600), 300);
	/* Another UE's contact is not ours: Expires header. */
	CU_ASSERT_EQUAL(ue_reg_granted(m, "sip:alice@127.0.1.101:5060", 600), 1200);
	CU_ASSERT_EQUAL(ue_reg_values(m, "Service-Route", uris, UE_REG_URIS_MAX), 2);
	CU_ASSERT_STRING_EQUAL(uris[0], "<sip:orig@scscf.ims.alpha.test:5060;lr>");
	CU_ASSERT_STRING_EQUAL(uris[1], "<sip:second@example.test;lr>");
	CU_ASSERT_EQUAL(ue_reg_values(m, "P-Associated-URI", uris, 1), 1);
	CU_ASSERT_EQUAL(ue_reg_values(m, "P-Associated-URI", uris, UE_REG_URIS_MAX), 2);
	CU_ASSERT_STRING_EQUAL(uris[1], "<tel:+15550001>");
	CU_ASSERT_EQUAL(ue_reg_values(m, "Path", uris, UE_REG_URIS_MAX), 0);
	sip_msg_free(m);

	/* Neither our contact nor Expires: what we asked for. */
	m = parse_200("");
	CU_ASSERT_EQUAL(ue_reg_granted(m, "sip:alice@127.0.1.101:5060", 600), 600);
	sip_msg_free(m);
}

int test_ue_register(void)
{
	static CU_TestInfo tests[] = {
	    {"parse AKA challenge", test_parse_aka},
	    {"parse MD5 challenge variants", test_parse_md5_variants},
	    {"parse errors", test_parse_errors},
	    {"AKA response, TS 35.208 set 1", test_aka_response_set1},
	    {"RES with 0x00 bytes", test_response_res_with_nul},
	    {"resync on replayed SQN", test_resync_on_replay},
	    {"MAC failure", test_mac_failure},
	    {"MD5, RFC 2617 example", test_md5_rfc2617},
	    {"Authorization header", test_header},
	    {"SQN_MS start value", test_sqn_ms_set},
	    {"200 OK expiry and routes", test_reg_200},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("ue", tests);
}
