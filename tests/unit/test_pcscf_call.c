/* Tests for pcscf/pcscf_call.c, the decisions that need no daemon: the asserted identity
 * chosen for a UE (P-Preferred-Identity in the registered set, else the default), the
 * Route set checked against the stored Service-Route and replaced when it bypasses it
 * (compared byte for byte with golden files), URI equality for routing, and identity
 * privacy. Raw messages live in tests/fixtures/pcscf/. */
#include "pcscf.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES "tests/fixtures/pcscf/"
#define SR1      "<sip:orig@scscf.ims.alpha.test:5060;lr>"
#define SR2      "<sip:orig2@scscf.ims.alpha.test:5060;lr>"

static struct sip_msg *parse_text(const char *text)
{
	struct sip_msg *m = NULL;

	if (sip_msg_parse(text, strlen(text), &m, NULL, 0) < 0)
		return NULL;
	return m;
}

/* The parsed fixture name, or NULL. */
static struct sip_msg *parse_fixture(const char *name)
{
	return unit_fixture_parse(FIXTURES, name);
}

/* True when m rendered with its edits equals fixture golden. */
static bool renders_as(const struct sip_msg *m, const char *golden)
{
	size_t len = sip_msg_render_len(m), glen = 0;
	char *out = malloc(len + 1), *want = unit_fixture_load(FIXTURES, golden, &glen);
	bool same = out && want && sip_msg_render(m, out, len + 1) == (ssize_t)len && len == glen &&
	            memcmp(out, want, len) == 0;

	if (!same && out && want)
		fprintf(stderr, "\n--- rendered ---\n%.*s--- expected (%s) ---\n%s", (int)len, out,
		        golden, want);
	free(out);
	free(want);
	return same;
}

/* A registration as the store holds it: alice with a tel URI and a second SIP URI. */
static struct pcscf_reg alice(void)
{
	struct pcscf_reg r = {
	    .state = PCSCF_REGISTERED,
	    .impu = "sip:alice@ims.alpha.test",
	    .impi = "alice@ims.alpha.test",
	    .contact = "sip:alice@127.0.1.100:5060",
	    .assoc = {"sip:alice@ims.alpha.test", "tel:+15550001", "sip:alice-work@ims.alpha.test"},
	    .n_assoc = 3,
	    .service_route = {SR1},
	    .n_service_route = 1,
	};

	return r;
}

/* A request of alice's with the given extra header lines. */
static struct sip_msg *request(const char *extra)
{
	char text[2048];

	snprintf(text, sizeof(text),
	         "MESSAGE sip:bob@ims.beta.test SIP/2.0\r\n"
	         "Via: SIP/2.0/UDP 127.0.1.100:5060;branch=z9hG4bK-m1\r\n"
	         "From: <sip:alice@ims.alpha.test>;tag=1\r\nTo: <sip:bob@ims.beta.test>\r\n"
	         "Call-ID: m1\r\nCSeq: 1 MESSAGE\r\n%sContent-Length: 0\r\n\r\n",
	         extra);
	return parse_text(text);
}

static void test_identity(void)
{
	static const struct {
		const char *headers; /* extra header lines of the request */
		const char *want;    /* asserted identity */
	} cases[] = {
	    /* no preference: the default identity, first of P-Associated-URI */
	    {"", "sip:alice@ims.alpha.test"},
	    {"P-Preferred-Identity: <tel:+15550001>\r\n", "tel:+15550001"},
	    {"P-Preferred-Identity: \"Work\" <sip:alice-work@ims.alpha.test>\r\n",
	     "sip:alice-work@ims.alpha.test"},
	    /* case-insensitive like the store */
	    {"P-Preferred-Identity: <TEL:+15550001>\r\n", "tel:+15550001"},
	    /* not in the registered set: ignored */
	    {"P-Preferred-Identity: <sip:boss@ims.alpha.test>\r\n", "sip:alice@ims.alpha.test"},
	    /* the first value in the set wins */
	    {"P-Preferred-Identity: <sip:boss@ims.alpha.test>, <tel:+15550001>\r\n",
	     "tel:+15550001"},
	    /* a UE's own P-Asserted-Identity counts for nothing */
	    {"P-Asserted-Identity: <tel:+15550001>\r\n", "sip:alice@ims.alpha.test"},
	};
	struct pcscf_reg r = alice(), bare = alice();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_msg *m = request(cases[i].headers);

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_STRING_EQUAL(pcscf_call_identity(&r, m), cases[i].want);
		sip_msg_free(m);
	}
	/* Without P-Associated-URI the registered IMPU is the default. */
	bare.n_assoc = 0;
	bare.impu = "sip:alice-only@ims.alpha.test";
	{
		struct sip_msg *m = request("P-Preferred-Identity: <tel:+15550001>\r\n");

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_STRING_EQUAL(pcscf_call_identity(&bare, m),
		                       "sip:alice-only@ims.alpha.test");
		sip_msg_free(m);
	}
}

static void test_same_uri(void)
{
	static const struct {
		const char *a, *b;
		bool same;
	} cases[] = {
	    {"sip:orig@scscf.ims.alpha.test:5060;lr", "sip:orig@scscf.ims.alpha.test:5060;lr",
	     true},
	    {"sip:orig@SCSCF.ims.alpha.test:5060;lr", "sip:orig@scscf.ims.alpha.test;lr", true},
	    {"sip:orig@scscf.ims.alpha.test;lr;transport=udp", "sip:orig@scscf.ims.alpha.test",
	     true},
	    {"sip:orig@scscf.ims.alpha.test;transport=tcp", "sip:orig@scscf.ims.alpha.test", false},
	    {"sip:orig@scscf.ims.alpha.test:5070;lr", "sip:orig@scscf.ims.alpha.test;lr", false},
	    {"sip:ORIG@scscf.ims.alpha.test;lr", "sip:orig@scscf.ims.alpha.test;lr", false},
	    {"sip:scscf.ims.beta.test;lr", "sip:orig@scscf.ims.alpha.test;lr", false},
	    {"sips:orig@scscf.ims.alpha.test;lr", "sip:orig@scscf.ims.alpha.test:5061;lr", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_span a = {cases[i].a, strlen(cases[i].a)};
		struct sip_span b = {cases[i].b, strlen(cases[i].b)};

		if (pcscf_call_same_uri(a, b) != cases[i].same)
			fprintf(stderr, "case %zu: %s vs %s\n", i, cases[i].a, cases[i].b);
		CU_ASSERT_EQUAL(pcscf_call_same_uri(a, b), cases[i].same);
		CU_ASSERT_EQUAL(pcscf_call_same_uri(b, a), cases[i].same);
	}
}

static void test_routes_match(void)
{
	static const char *const sr[] = {SR1};
	static const char *const sr2[] = {SR1, SR2};
	struct sip_msg *good = parse_fixture("invite-ue.sip");
	struct sip_msg *bypass = parse_fixture("invite-ue-bypass.sip");
	struct sip_msg *none = parse_fixture("invite-ue-noroute.sip");
	struct sip_msg *only = request("Route: <sip:orig@scscf.ims.alpha.test;lr>\r\n");
	struct sip_msg *extra = request("Route: <sip:pcscf.ims.alpha.test:5060;lr>\r\n"
	                                "Route: " SR1 "\r\nRoute: <sip:evil.test;lr>\r\n");

	CU_ASSERT_PTR_NOT_NULL_FATAL(good);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bypass);
	CU_ASSERT_PTR_NOT_NULL_FATAL(none);
	CU_ASSERT_PTR_NOT_NULL_FATAL(only);
	CU_ASSERT_PTR_NOT_NULL_FATAL(extra);
	/* our Route, then exactly the Service-Route (one line, comma-separated) */
	CU_ASSERT_TRUE(pcscf_call_routes_match(good, 1, sr, 1));
	CU_ASSERT_FALSE(pcscf_call_routes_match(good, 0, sr, 1));
	CU_ASSERT_FALSE(pcscf_call_routes_match(good, 1, sr2, 2));
	/* a Route past the Service-Route toward another S-CSCF */
	CU_ASSERT_FALSE(pcscf_call_routes_match(bypass, 1, sr, 1));
	/* no Route at all (RFC 3608: the UE must preload it) */
	CU_ASSERT_FALSE(pcscf_call_routes_match(none, 0, sr, 1));
	CU_ASSERT_TRUE(pcscf_call_routes_match(none, 0, sr, 0));
	/* the UE sent straight to us with only the Service-Route (port 5060 implied) */
	CU_ASSERT_TRUE(pcscf_call_routes_match(only, 0, sr, 1));
	/* an extra hop after the Service-Route */
	CU_ASSERT_FALSE(pcscf_call_routes_match(extra, 1, sr, 1));
	sip_msg_free(good);
	sip_msg_free(bypass);
	sip_msg_free(none);
	sip_msg_free(only);
	sip_msg_free(extra);
}

static void test_replace_routes(void)
{
	static const char *const sr[] = {SR1};
	static const char *const sr2[] = {SR1, SR2};
	struct pcscf_reg r = alice(), tel_first = alice();
	struct sip_msg *bypass = parse_fixture("invite-ue-bypass.sip");
	struct sip_msg *none = parse_fixture("invite-ue-noroute.sip");

	CU_ASSERT_PTR_NOT_NULL_FATAL(bypass);
	CU_ASSERT_PTR_NOT_NULL_FATAL(none);
	/* Both Route lines go, the Service-Route takes the first one's place; the UE's
	 * P-Preferred-Identity is not in its set and its P-Asserted-Identity is dropped. */
	CU_ASSERT_EQUAL(pcscf_call_replace_routes(bypass, sr, 1), 0);
	CU_ASSERT_EQUAL(pcscf_call_edit_identity(bypass, pcscf_call_identity(&r, bypass)), 0);
	CU_ASSERT_TRUE(renders_as(bypass, "invite-ue-bypass-fixed.sip"));
	/* Without Route lines the values are appended; the body stays as it was. */
	tel_first.assoc[0] = "tel:+15550001";
	tel_first.assoc[1] = "sip:alice@ims.alpha.test";
	CU_ASSERT_EQUAL(pcscf_call_replace_routes(none, sr2, 2), 0);
	CU_ASSERT_EQUAL(pcscf_call_edit_identity(none, pcscf_call_identity(&tel_first, none)), 0);
	CU_ASSERT_TRUE(renders_as(none, "invite-ue-noroute-fixed.sip"));
	sip_msg_free(bypass);
	sip_msg_free(none);
}

static void test_edit_identity_too_long(void)
{
	char uri[PCSCF_URI_MAX + 8];
	struct sip_msg *m = request("P-Asserted-Identity: <sip:x@y>\r\n");
	unsigned mark;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memset(uri, 'a', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = '\0';
	mark = sip_msg_edit_mark(m);
	CU_ASSERT_EQUAL(pcscf_call_edit_identity(m, uri), -EMSGSIZE);
	CU_ASSERT_EQUAL(sip_msg_edit_mark(m), mark);
	sip_msg_free(m);
}

static void test_privacy(void)
{
	static const struct {
		const char *headers;
		bool id;
	} cases[] = {
	    {"", false},
	    {"Privacy: id\r\n", true},
	    {"Privacy: header;id\r\n", true},
	    {"Privacy: header; ID\r\n", true},
	    {"Privacy: none\r\n", false},
	    {"Privacy: user;header\r\n", false},
	    {"Privacy: idx\r\n", false},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_msg *m = request(cases[i].headers);

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_EQUAL(pcscf_call_privacy_id(m), cases[i].id);
		sip_msg_free(m);
	}
}

int test_pcscf_call_register(void)
{
	static CU_TestInfo tests[] = {
	    {"asserted identity from P-Preferred-Identity or default", test_identity},
	    {"URI equality for routing", test_same_uri},
	    {"Route set checked against the Service-Route", test_routes_match},
	    {"Route set replaced by the Service-Route (golden)", test_replace_routes},
	    {"identity too long leaves no edit", test_edit_identity_too_long},
	    {"Privacy: id", test_privacy},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("pcscf_call", tests);
}
