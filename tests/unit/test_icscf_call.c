/* Tests for icscf/icscf_call.c: the LIR built from initial requests (the Public-Identity
 * a Request-URI names, TS 24.229 5.3.2.1) and the decision taken from an LIA: the
 * S-CSCF named or selected, and the Cx-to-SIP mapping of calls.md (5001 -> 404,
 * everything else -> 480). */
#include "dia_call.h"
#include "icscf.h"
#include "sip_msg.h"
#include "topo.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An INVITE for ruri, parsed, or NULL. */
static struct sip_msg *invite(const char *ruri)
{
	char text[1024];
	struct sip_msg *m = NULL;
	int n = snprintf(text, sizeof(text),
	                 "INVITE %s SIP/2.0\r\n"
	                 "Via: SIP/2.0/UDP 127.0.44.3:5060;branch=z9hG4bK-s1\r\n"
	                 "Record-Route: <sip:scscf.ims.alpha.test:5060;lr>\r\n"
	                 "From: <sip:alice@ims.alpha.test>;tag=1\r\nTo: <%s>\r\n"
	                 "Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
	                 ruri, ruri);

	if (n < 0 || sip_msg_parse(text, (size_t)n, &m, NULL, 0) < 0)
		return NULL;
	return m;
}

static void test_lir(void)
{
	static const struct {
		const char *ruri; /* Request-URI */
		int rc;           /* icscf_call_lir's result */
		const char *impu; /* Public-Identity when rc is 0 */
	} cases[] = {
	    {"sip:bob@ims.beta.test", 0, "sip:bob@ims.beta.test"},
	    /* parameters, port and headers are not part of the identity */
	    {"sip:bob@ims.beta.test;user=phone", 0, "sip:bob@ims.beta.test"},
	    {"sip:bob@ims.beta.test:5060;transport=tcp", 0, "sip:bob@ims.beta.test"},
	    {"sip:bob@ims.beta.test?Subject=hi", 0, "sip:bob@ims.beta.test"},
	    {"sips:bob@ims.beta.test", 0, "sips:bob@ims.beta.test"},
	    {"sip:+16660002;npdi@ims.beta.test;user=phone", 0, "sip:+16660002;npdi@ims.beta.test"},
	    /* a tel URI as it is */
	    {"tel:+16660002", 0, "tel:+16660002"},
	    {"tel:+16660002;phone-context=ims.beta.test", 0,
	     "tel:+16660002;phone-context=ims.beta.test"},
	    /* nobody to locate */
	    {"sip:ims.beta.test", -EBADMSG, NULL},
	    {"sip:@ims.beta.test", -EBADMSG, NULL},
	    {"sip:bob@", -EBADMSG, NULL},
	    {"urn:service:sos", -EBADMSG, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_msg *m = invite(cases[i].ruri);
		struct cx_lir q;
		int rc;

		CU_ASSERT_PTR_NOT_NULL_FATAL(m);
		rc = icscf_call_lir(m, "ims.beta.test", "hss.ims.beta.test", &q);
		if (rc != cases[i].rc)
			fprintf(stderr, "case %zu (%s): %d\n", i, cases[i].ruri, rc);
		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc == 0 && cases[i].rc == 0) {
			CU_ASSERT_STRING_EQUAL(q.public_identity, cases[i].impu);
			CU_ASSERT_STRING_EQUAL(q.hdr.dest_realm, "ims.beta.test");
			CU_ASSERT_STRING_EQUAL(q.hdr.dest_host, "hss.ims.beta.test");
			CU_ASSERT_FALSE(q.originating);
			CU_ASSERT_EQUAL(q.auth_type, 0);
		}
		sip_msg_free(m);
	}
}

static void test_lir_too_long(void)
{
	char ruri[CX_ID_MAX + 32];
	struct sip_msg *m;
	struct cx_lir q;

	memcpy(ruri, "sip:", 4);
	memset(ruri + 4, 'b', CX_ID_MAX);
	snprintf(ruri + 4 + CX_ID_MAX, sizeof(ruri) - 4 - CX_ID_MAX, "@ims.beta.test");
	m = invite(ruri);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(icscf_call_lir(m, "ims.beta.test", "hss.ims.beta.test", &q), -EMSGSIZE);
	sip_msg_free(m);
}

static const char lab[] =
    "{\"name\": \"calls\", \"domains\": ["
    " {\"name\": \"ims.beta.test\", \"nodes\": ["
    "  {\"role\": \"hss\", \"name\": \"hss\", \"address\": \"127.0.45.10\","
    "   \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"scscf\", \"name\": \"scscf\", \"address\": \"127.0.45.3\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080,"
    "   \"capabilities\": [1]},"
    "  {\"role\": \"icscf\", \"name\": \"icscf\", \"address\": \"127.0.45.2\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"pcscf\", \"name\": \"pcscf\", \"address\": \"127.0.45.1\","
    "   \"sip_port\": 5060, \"rest_port\": 8080}],"
    " \"subscribers\": [{\"impi\": \"b@ims.beta.test\","
    "   \"impus\": [\"sip:b@ims.beta.test\"], \"password\": \"x\"}]}]}";

static void test_decide(void)
{
	static const char named[] = "sip:scscf.ims.beta.test:5060";
	static const struct unit_cx_case cases[] = {
	    /* registered: the serving S-CSCF */
	    {0, DIA_SUCCESS, false, named, -1, 0, named},
	    {0, DIA_SUCCESS, false, "sip:s9.ims.beta.test:5080", -1, 0,
	     "sip:s9.ims.beta.test:5080"},
	    /* unregistered with an S-CSCF holding the profile: that one */
	    {0, CX_UNREGISTERED_SERVICE, true, named, -1, 0, named},
	    /* unregistered, none assigned: selected from the capabilities */
	    {0, CX_UNREGISTERED_SERVICE, true, "", 0, 0, named},
	    {0, CX_UNREGISTERED_SERVICE, true, "", 1, 0, named},
	    /* none fits, or nothing to choose from */
	    {0, CX_UNREGISTERED_SERVICE, true, "", 7, 480, NULL},
	    {0, CX_UNREGISTERED_SERVICE, true, "", -1, 480, NULL},
	    {0, DIA_SUCCESS, false, "", -1, 480, NULL},
	    /* Cx errors */
	    {0, CX_ERROR_USER_UNKNOWN, true, "", -1, 404, NULL},
	    {0, CX_ERROR_IDENTITY_NOT_REGISTERED, true, "", -1, 480, NULL},
	    {0, DIA_UNABLE_TO_DELIVER, false, "", -1, 480, NULL},
	    {0, DIA_TOO_BUSY, false, "", -1, 480, NULL},
	    {0, DIA_UNABLE_TO_COMPLY, false, "", -1, 480, NULL},
	    /* a registration code in an LIA is nonsense: not forwarded */
	    {0, CX_FIRST_REGISTRATION, true, named, -1, 480, NULL},
	    /* no answer */
	    {-ETIMEDOUT, 0, false, "", -1, 480, NULL},
	    {-EBADMSG, 0, false, "", -1, 480, NULL},
	};
	char err[256];
	struct topo *t = topo_parse(lab, strlen(lab), err, sizeof(err));

	if (!t)
		fprintf(stderr, "lab: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct unit_cx_case *c = &cases[i];
		struct cx_lia *a = calloc(1, sizeof(*a));
		struct dia_call_result r = {.err = c->err, .answer = c->err ? NULL : a};
		struct icscf_decision d;

		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		unit_cx_answer(c, &a->result, a->server_name, sizeof(a->server_name),
		               &a->capabilities);
		icscf_call_decide(t, &t->domains[0], &r, (unsigned)i, &d);
		unit_cx_check(i, c, &d);
		if (c->status == 404)
			CU_ASSERT_PTR_NOT_NULL(d.reason);
		free(a);
	}
	topo_free(t);
}

int test_icscf_call_register(void)
{
	static CU_TestInfo tests[] = {
	    {"LIR Public-Identity from the Request-URI", test_lir},
	    {"LIR refused for an identity over CX_ID_MAX", test_lir_too_long},
	    {"LIA decisions and Cx-to-SIP mapping", test_decide},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("icscf_call", tests);
}
