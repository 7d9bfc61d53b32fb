/* Digest: the RFC 2617 3.5 example, no qop and auth-int variants, AKAv1-MD5 (RFC 3310)
 * with the TS 35.208 set 1 RES as password and with a RES holding 0x00 bytes, argument
 * checks, constant-time comparison. Expected values not printed in an RFC were
 * computed independently with `openssl md5` on the shell. */
#include "digest.h"
#include "unit.h"

#include <errno.h>
#include <string.h>

/* RFC 2617 3.5. */
static const char mufasa_nonce[] = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
static const char mufasa_pw[] = "Circle Of Life";

/* AKAv1-MD5 fixtures: nonce = base64(RAND || AUTN) of TS 35.208 set 1 (RFC 3310 3.2). */
static const char aka_user[] = "001010000000001@ims.alpha.test";
static const char aka_realm[] = "ims.alpha.test";
static const char aka_nonce[] = "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=";

static void test_rfc2617_example(void)
{
	char ha1[DIGEST_HEX_SIZE], resp[DIGEST_HEX_SIZE];

	CU_ASSERT_EQUAL(
	    digest_ha1("Mufasa", "testrealm@host.com", mufasa_pw, strlen(mufasa_pw), ha1), 0);
	CU_ASSERT_STRING_EQUAL(ha1, "939e7578ed9e3c518a452acee763bce9");
	CU_ASSERT_EQUAL(digest_response(ha1, mufasa_nonce, "00000001", "0a4f113b", "auth", "GET",
	                                "/dir/index.html", NULL, 0, resp),
	                0);
	CU_ASSERT_STRING_EQUAL(resp, "6629fae49393a05397450978507c4ef1");
}

static void test_no_qop(void)
{
	char ha1[DIGEST_HEX_SIZE], resp[DIGEST_HEX_SIZE];

	CU_ASSERT_EQUAL_FATAL(
	    digest_ha1("Mufasa", "testrealm@host.com", mufasa_pw, strlen(mufasa_pw), ha1), 0);
	/* RFC 2069 compatibility: MD5(HA1:nonce:HA2); nc and cnonce are ignored. */
	CU_ASSERT_EQUAL(digest_response(ha1, mufasa_nonce, NULL, NULL, NULL, "GET",
	                                "/dir/index.html", NULL, 0, resp),
	                0);
	CU_ASSERT_STRING_EQUAL(resp, "670fd8c2df070c60b045671b8b24ff02");
	CU_ASSERT_EQUAL(digest_response(ha1, mufasa_nonce, "00000001", "0a4f113b", "", "GET",
	                                "/dir/index.html", NULL, 0, resp),
	                0);
	CU_ASSERT_STRING_EQUAL(resp, "670fd8c2df070c60b045671b8b24ff02");
}

static void test_auth_int(void)
{
	static const char body[] = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\n";
	char ha1[DIGEST_HEX_SIZE], resp[DIGEST_HEX_SIZE];

	CU_ASSERT_EQUAL_FATAL(
	    digest_ha1("Mufasa", "testrealm@host.com", mufasa_pw, strlen(mufasa_pw), ha1), 0);
	CU_ASSERT_EQUAL(digest_response(ha1, mufasa_nonce, "00000001", "0a4f113b", "auth-int",
	                                "INVITE", "sip:bob@ims.beta.test", body, strlen(body),
	                                resp),
	                0);
	CU_ASSERT_STRING_EQUAL(resp, "8c4936b522a232b15e811bafb9b73916");
	/* An empty body still contributes MD5("") to A2. */
	CU_ASSERT_EQUAL(digest_response(ha1, "abc", "00000002", "xyz", "auth-int", "OPTIONS",
	                                "sip:ims.alpha.test", NULL, 0, resp),
	                0);
	CU_ASSERT_STRING_EQUAL(resp, "6af98055400bcba30fa0d5c88e1c688d");
}

static void test_akav1_md5(void)
{
	/* TS 35.208 set 1 f2 output, RES = a54211d5e3ba50bf. */
	static const unsigned char res[8] = {0xa5, 0x42, 0x11, 0xd5, 0xe3, 0xba, 0x50, 0xbf};
	char ha1[DIGEST_HEX_SIZE], resp[DIGEST_HEX_SIZE];

	CU_ASSERT_EQUAL(digest_ha1(aka_user, aka_realm, res, sizeof(res), ha1), 0);
	CU_ASSERT_STRING_EQUAL(ha1, "e20aa9ae86d0fb635f3dd2f1582870c4");
	CU_ASSERT_EQUAL(digest_response(ha1, aka_nonce, "00000001", "0a4f113b", "auth", "REGISTER",
	                                "sip:ims.alpha.test", NULL, 0, resp),
	                0);
	CU_ASSERT_STRING_EQUAL(resp, "cc61f8562118ab01b67d613f232f0e4a");
}

/* RFC 3310 3.3: the password is RES as raw bytes; a 0x00 must not end it (the bug
 * that breaks SIPp on ~3% of vectors). */
static void test_res_with_zero(void)
{
	static const unsigned char res[8] = {0x00, 0x11, 0x00, 0x22, 0x33, 0x00, 0x44, 0x00};
	char ha1[DIGEST_HEX_SIZE], resp[DIGEST_HEX_SIZE];

	CU_ASSERT_EQUAL(digest_ha1(aka_user, aka_realm, res, sizeof(res), ha1), 0);
	CU_ASSERT_STRING_EQUAL(ha1, "ccfb15112472f6c4acd367f47b4808bd");
	/* What a strlen() on the password would give: must differ. */
	CU_ASSERT_STRING_NOT_EQUAL(ha1, "a7e49ecd807e44aa6990a8514c49b7b4");
	CU_ASSERT_EQUAL(digest_response(ha1, aka_nonce, "00000001", "0a4f113b", "auth", "REGISTER",
	                                "sip:ims.alpha.test", NULL, 0, resp),
	                0);
	CU_ASSERT_STRING_EQUAL(resp, "c5782d4a3a8c9e1df5f442b37cf7fb73");
	/* An empty password is legal and equals the truncated form. */
	CU_ASSERT_EQUAL(digest_ha1(aka_user, aka_realm, NULL, 0, ha1), 0);
	CU_ASSERT_STRING_EQUAL(ha1, "a7e49ecd807e44aa6990a8514c49b7b4");
}

static void test_bad_arguments(void)
{
	static const char ha1[DIGEST_HEX_SIZE] = "939e7578ed9e3c518a452acee763bce9";
	static const char short_ha1[DIGEST_HEX_SIZE] = "939e";
	char resp[DIGEST_HEX_SIZE];

	CU_ASSERT_EQUAL(
	    digest_response(ha1, "n", "00000001", "c", "auth-conf", "GET", "/", NULL, 0, resp),
	    -EINVAL);
	CU_ASSERT_EQUAL(digest_response(ha1, "n", NULL, "c", "auth", "GET", "/", NULL, 0, resp),
	                -EINVAL);
	CU_ASSERT_EQUAL(
	    digest_response(ha1, "n", "00000001", NULL, "auth", "GET", "/", NULL, 0, resp),
	    -EINVAL);
	CU_ASSERT_EQUAL(
	    digest_response(short_ha1, "n", NULL, NULL, NULL, "GET", "/", NULL, 0, resp), -EINVAL);
	CU_ASSERT_EQUAL(digest_response(ha1, NULL, NULL, NULL, NULL, "GET", "/", NULL, 0, resp),
	                -EINVAL);
	CU_ASSERT_EQUAL(digest_response(ha1, "n", "1", "c", "auth-int", "GET", "/", NULL, 5, resp),
	                -EINVAL);
	CU_ASSERT_EQUAL(digest_ha1("u", "r", NULL, 3, resp), -EINVAL);
	CU_ASSERT_EQUAL(digest_ha1(NULL, "r", "pw", 2, resp), -EINVAL);
}

static void test_equal(void)
{
	const char *good = "6629fae49393a05397450978507c4ef1";

	CU_ASSERT_TRUE(digest_equal(good, "6629fae49393a05397450978507c4ef1"));
	CU_ASSERT_TRUE(digest_equal(good, "6629FAE49393A05397450978507C4EF1"));
	CU_ASSERT_FALSE(digest_equal(good, "6629fae49393a05397450978507c4ef0"));
	CU_ASSERT_FALSE(digest_equal(good, "7629fae49393a05397450978507c4ef1"));
	CU_ASSERT_FALSE(digest_equal(good, "6629fae49393a05397450978507c4ef"));
	CU_ASSERT_FALSE(digest_equal(good, "6629fae49393a05397450978507c4ef11"));
	CU_ASSERT_FALSE(digest_equal(good, ""));
	CU_ASSERT_FALSE(digest_equal(good, NULL));
	CU_ASSERT_FALSE(digest_equal(NULL, good));
	/* Only A-F fold: '@' (0x40) | 0x20 is '`', which must not match. */
	CU_ASSERT_FALSE(digest_equal("`", "@"));
	CU_ASSERT_TRUE(digest_equal("", ""));
}

int test_digest_register(void)
{
	static CU_TestInfo tests[] = {
	    {"RFC 2617 3.5 example", test_rfc2617_example},
	    {"no qop (RFC 2069 form)", test_no_qop},
	    {"qop auth-int", test_auth_int},
	    {"AKAv1-MD5 with TS 35.208 RES", test_akav1_md5},
	    {"RES containing 0x00", test_res_with_zero},
	    {"bad arguments", test_bad_arguments},
	    {"constant-time equal", test_equal},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("digest", tests);
}
