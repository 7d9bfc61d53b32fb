/* Tests for icscf/icscf_reg.c: the UAR built from REGISTER fixtures (identities, visited
 * network, de-registration) and the decision taken from a UAA: S-CSCF named or selected,
 * and the Cx-to-SIP error mapping of TS 24.229 5.3.1.2 / ims.md. */
#include "dia_call.h"
#include "icscf.h"
#include "sip_msg.h"
#include "topo.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES "tests/fixtures/icscf/"

/* The parsed fixture name, or NULL. */
static struct sip_msg *parse_fixture(const char *name)
{
	return unit_fixture_parse(FIXTURES, name);
}

static void test_uar(void)
{
	static const struct {
		const char *fixture;    /* REGISTER as the P-CSCF forwards it */
		const char *impu;       /* Public-Identity */
		const char *impi;       /* User-Name */
		const char *visited;    /* Visited-Network-Identifier */
		enum cx_auth_type type; /* User-Authorization-Type */
	} cases[] = {
	    {"register-pcscf.sip", "sip:alice@ims.alpha.test", "alice-impi@ims.alpha.test",
	     "ims.beta.test", CX_AUTH_REGISTRATION},
	    {"register-dereg.sip", "sip:bob@ims.alpha.test", "bob@ims.alpha.test", "ims.alpha.test",
	     CX_AUTH_DE_REGISTRATION},
	    {"register-mixed.sip", "sip:bob@ims.alpha.test", "bob@ims.alpha.test", "ims.gamma.test",
	     CX_AUTH_REGISTRATION},
	    {"register-star.sip", "sip:bob@ims.alpha.test", "bob@ims.alpha.test", "ims.alpha.test",
	     CX_AUTH_DE_REGISTRATION},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_msg *m = parse_fixture(cases[i].fixture);
		struct cx_uar q;

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		CU_ASSERT_EQUAL(icscf_reg_uar(m, "ims.alpha.test", "hss.ims.alpha.test", &q), 0);
		CU_ASSERT_STRING_EQUAL(q.public_identity, cases[i].impu);
		CU_ASSERT_STRING_EQUAL(q.user_name, cases[i].impi);
		CU_ASSERT_STRING_EQUAL(q.visited_network, cases[i].visited);
		CU_ASSERT_EQUAL(q.auth_type, cases[i].type);
		CU_ASSERT_STRING_EQUAL(q.hdr.dest_realm, "ims.alpha.test");
		CU_ASSERT_STRING_EQUAL(q.hdr.dest_host, "hss.ims.alpha.test");
		sip_msg_free(m);
	}
}

static void test_uar_bad_to(void)
{
	static const char text[] = "REGISTER sip:ims.alpha.test SIP/2.0\r\n"
	                           "Via: SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bK-x\r\n"
	                           "From: <sip:a@ims.alpha.test>;tag=1\r\n"
	                           "To: <sip:a@ims.alpha.test\r\n"
	                           "Call-ID: x\r\nCSeq: 1 REGISTER\r\n"
	                           "Contact: <sip:a@127.0.0.1>\r\nContent-Length: 0\r\n\r\n";
	struct sip_msg *m = NULL;
	struct cx_uar q;

	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(text, sizeof(text) - 1, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(icscf_reg_uar(m, "ims.alpha.test", "hss.ims.alpha.test", &q), -EBADMSG);
	sip_msg_free(m);
}

static const char lab[] =
    "{\"name\": \"reg\", \"domains\": ["
    " {\"name\": \"ims.alpha.test\", \"nodes\": ["
    "  {\"role\": \"hss\", \"name\": \"hss\", \"address\": \"127.0.44.10\","
    "   \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"scscf\", \"name\": \"scscf\", \"address\": \"127.0.44.3\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080,"
    "   \"capabilities\": [1]},"
    "  {\"role\": \"icscf\", \"name\": \"icscf\", \"address\": \"127.0.44.2\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"pcscf\", \"name\": \"pcscf\", \"address\": \"127.0.44.1\","
    "   \"sip_port\": 5060, \"rest_port\": 8080}],"
    " \"subscribers\": [{\"impi\": \"a@ims.alpha.test\","
    "   \"impus\": [\"sip:a@ims.alpha.test\"], \"password\": \"x\"}]}]}";

static void test_decide(void)
{
	static const char named[] = "sip:scscf.ims.alpha.test:5060";
	static const struct unit_cx_case cases[] = {
	    /* answers that lead to an S-CSCF */
	    {0, CX_FIRST_REGISTRATION, true, "", 0, 0, named},
	    {0, CX_FIRST_REGISTRATION, true, "", 1, 0, named},
	    {0, CX_FIRST_REGISTRATION, true, "sip:s2.ims.alpha.test", -1, 0,
	     "sip:s2.ims.alpha.test"},
	    {0, CX_SUBSEQUENT_REGISTRATION, true, named, -1, 0, named},
	    {0, DIA_SUCCESS, false, named, -1, 0, named},
	    /* TS 24.229 5.3.1.2: no S-CSCF fits -> 600 */
	    {0, CX_FIRST_REGISTRATION, true, "", 7, 600, NULL},
	    {0, CX_FIRST_REGISTRATION, true, "", -1, 600, NULL},
	    {0, CX_SUBSEQUENT_REGISTRATION, true, "", -1, 480, NULL},
	    /* Cx errors */
	    {0, CX_ERROR_USER_UNKNOWN, true, "", -1, 403, NULL},
	    {0, CX_ERROR_IDENTITIES_DONT_MATCH, true, "", -1, 403, NULL},
	    {0, CX_ERROR_ROAMING_NOT_ALLOWED, true, "", -1, 403, NULL},
	    {0, CX_ERROR_IDENTITY_NOT_REGISTERED, true, "", -1, 403, NULL},
	    {0, DIA_AUTHORIZATION_REJECTED, false, "", -1, 403, NULL},
	    {0, DIA_UNABLE_TO_COMPLY, false, "", -1, 403, NULL},
	    {0, DIA_UNABLE_TO_DELIVER, false, "", -1, 480, NULL},
	    {0, DIA_TOO_BUSY, false, "", -1, 480, NULL},
	    /* no answer */
	    {-ETIMEDOUT, 0, false, "", -1, 480, NULL},
	    {-EBADMSG, 0, false, "", -1, 480, NULL},
	};
	char err[256];
	struct topo *t = topo_parse(lab, strlen(lab), err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct unit_cx_case *c = &cases[i];
		struct cx_uaa *a = calloc(1, sizeof(*a));
		struct dia_call_result r = {.err = c->err, .answer = c->err ? NULL : a};
		struct icscf_decision d;

		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		unit_cx_answer(c, &a->result, a->server_name, sizeof(a->server_name),
		               &a->capabilities);
		icscf_reg_decide(t, &t->domains[0], &r, (unsigned)i, &d);
		unit_cx_check(i, c, &d);
		if (c->status == 403 && c->experimental)
			CU_ASSERT_PTR_NOT_NULL(d.reason);
		free(a);
	}
	topo_free(t);
}

int test_icscf_reg_register(void)
{
	static CU_TestInfo tests[] = {
	    {"UAR from REGISTER fixtures", test_uar},
	    {"UAR refused without a usable To", test_uar_bad_to},
	    {"UAA decisions and Cx-to-SIP mapping", test_decide},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("icscf_reg", tests);
}
