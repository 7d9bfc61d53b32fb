/* Tests for icscf/icscf_select.c: S-CSCF selection from Server-Capabilities against the
 * capabilities the topology gives each S-CSCF (TS 29.228 6.7): mandatory ones required,
 * optional ones preferred, round robin among equals, Server-Names of the HSS first. */
#include "icscf.h"
#include "topo.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char lab[] =
    "{\"name\": \"sel\", \"domains\": ["
    " {\"name\": \"ims.alpha.test\", \"nodes\": ["
    "  {\"role\": \"hss\", \"name\": \"hss\", \"address\": \"127.0.44.10\","
    "   \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"scscf\", \"name\": \"scscf1\", \"address\": \"127.0.44.3\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080,"
    "   \"capabilities\": [1, 2]},"
    "  {\"role\": \"scscf\", \"name\": \"scscf2\", \"address\": \"127.0.44.4\","
    "   \"sip_port\": 5070, \"diameter_port\": 3868, \"rest_port\": 8080,"
    "   \"capabilities\": [2, 3]},"
    "  {\"role\": \"scscf\", \"name\": \"scscf3\", \"address\": \"127.0.44.5\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"icscf\", \"name\": \"icscf\", \"address\": \"127.0.44.2\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"pcscf\", \"name\": \"pcscf\", \"address\": \"127.0.44.1\","
    "   \"sip_port\": 5060, \"rest_port\": 8080}],"
    " \"subscribers\": [{\"impi\": \"a@ims.alpha.test\","
    "   \"impus\": [\"sip:a@ims.alpha.test\"], \"password\": \"x\"}]}]}";

static struct topo *load_lab(void)
{
	char err[256];
	struct topo *t = topo_parse(lab, strlen(lab), err, sizeof(err));

	if (!t)
		fprintf(stderr, "topology: %s\n", err);
	return t;
}

/* Selects with the given capabilities into out; returns the result. */
static int sel(const struct topo *t, const struct cx_capabilities *c, unsigned turn, char *out)
{
	return icscf_select_scscf(t, &t->domains[0], c, turn, out, CX_ID_MAX);
}

static void test_from_topology(void)
{
	struct topo *t = load_lab();
	struct cx_capabilities c = {.present = true};
	char out[CX_ID_MAX];

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* Mandatory 1: only scscf1, whatever the turn. */
	c.mandatory[0] = 1;
	c.n_mandatory = 1;
	for (unsigned turn = 0; turn < 3; turn++) {
		CU_ASSERT_EQUAL(sel(t, &c, turn, out), 0);
		CU_ASSERT_STRING_EQUAL(out, "sip:scscf1.ims.alpha.test:5060");
	}
	/* Mandatory 2, optional 3: both qualify, scscf2 offers more. */
	c.mandatory[0] = 2;
	c.optional[0] = 3;
	c.n_optional = 1;
	CU_ASSERT_EQUAL(sel(t, &c, 0, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "sip:scscf2.ims.alpha.test:5070");
	/* Mandatory 2 alone: a tie, taken in turns. */
	c.n_optional = 0;
	CU_ASSERT_EQUAL(sel(t, &c, 0, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "sip:scscf1.ims.alpha.test:5060");
	CU_ASSERT_EQUAL(sel(t, &c, 1, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "sip:scscf2.ims.alpha.test:5070");
	CU_ASSERT_EQUAL(sel(t, &c, 2, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "sip:scscf1.ims.alpha.test:5060");
	/* Nothing required: all three, in turns. */
	c.n_mandatory = 0;
	CU_ASSERT_EQUAL(sel(t, &c, 2, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "sip:scscf3.ims.alpha.test:5060");
	/* Nobody offers 9. */
	c.mandatory[0] = 9;
	c.n_mandatory = 1;
	CU_ASSERT_EQUAL(sel(t, &c, 0, out), -ENOENT);
	/* Too small a buffer. */
	c.n_mandatory = 0;
	CU_ASSERT_EQUAL(icscf_select_scscf(t, &t->domains[0], &c, 0, out, 8), -ENOSPC);
	topo_free(t);
}

static void test_server_names(void)
{
	struct topo *t = load_lab();
	struct cx_capabilities c = {.present = true};
	char out[CX_ID_MAX];

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* The HSS prefers scscf2: used as written when it fits... */
	snprintf(c.server_names[0], CX_ID_MAX, "sip:scscf2.ims.alpha.test:5070");
	c.n_server_names = 1;
	c.mandatory[0] = 2;
	c.n_mandatory = 1;
	CU_ASSERT_EQUAL(sel(t, &c, 0, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "sip:scscf2.ims.alpha.test:5070");
	/* ...and not when it lacks a mandatory capability, even though scscf1 has it. */
	c.mandatory[0] = 1;
	CU_ASSERT_EQUAL(sel(t, &c, 0, out), -ENOENT);
	/* A name the topology does not know: fine without requirements only. */
	snprintf(c.server_names[1], CX_ID_MAX, "sip:other.example.test:5060");
	c.n_server_names = 2;
	CU_ASSERT_EQUAL(sel(t, &c, 0, out), -ENOENT);
	c.n_mandatory = 0;
	CU_ASSERT_EQUAL(sel(t, &c, 1, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "sip:other.example.test:5060");
	CU_ASSERT_EQUAL(sel(t, &c, 0, out), 0);
	CU_ASSERT_STRING_EQUAL(out, "sip:scscf2.ims.alpha.test:5070");
	topo_free(t);
}

int test_icscf_select_register(void)
{
	static CU_TestInfo tests[] = {
	    {"capabilities against the topology's S-CSCFs", test_from_topology},
	    {"Server-Names of the HSS", test_server_names},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("icscf_select", tests);
}
