/* Tests for the S-CSCF's routing decisions (scscf/scscf_route.c) and the terminating
 * procedure for users without a registration (scscf_call.c), without sockets: targets of
 * originating requests classified against a two-domain topology (own and other domain,
 * tel numbers in and out of the ranges, unknown domains), the served user taken from
 * P-Asserted-Identity, the registration of a terminating Request-URI, the fork branches
 * built from a registration with two contacts and their Paths, and the SAR
 * UNREGISTERED_USER before 480, caught by a fake dia_call. */
#include "loop.h"
#include "scscf.h"
#include "sip_msg.h"
#include "topo.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The suite is added by test_scscf_reg_register (unit.h has no row for it). */
int test_scscf_route_register(void);

#define REALM    "ims.alpha.test"
#define IMPI     "alice@ims.alpha.test"
#define IMPU     "sip:alice@ims.alpha.test"
#define TEL      "tel:+15550001"
#define HIDDEN   "sip:alice.hidden@ims.alpha.test"
#define CONTACT1 "sip:alice@127.0.4.100:5060"
#define CONTACT2 "sip:alice@127.0.4.101:5062;transport=tcp"
#define CONTACT3 "sip:alice@127.0.4.102:5060"
#define PATH1    "<sip:term@pcscf.ims.alpha.test:5060;lr>"
#define PATH2                                                                                      \
	"<sip:term@pcscf2.ims.alpha.test:5070;lr>,  \"Edge, Proxy\" <sip:edge.ims.alpha.test;lr>"

static const char lab[] =
    "{\"name\": \"route\", \"domains\": ["
    " {\"name\": \"ims.alpha.test\", \"tel_prefixes\": [\"+1555\"], \"nodes\": ["
    "  {\"role\": \"hss\", \"name\": \"hss\", \"address\": \"127.0.45.10\","
    "   \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"scscf\", \"name\": \"scscf\", \"address\": \"127.0.45.3\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"icscf\", \"name\": \"icscf\", \"address\": \"127.0.45.2\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"pcscf\", \"name\": \"pcscf\", \"address\": \"127.0.45.1\","
    "   \"sip_port\": 5060, \"rest_port\": 8080}]},"
    " {\"name\": \"ims.beta.test\", \"tel_prefixes\": [\"+1666\"], \"nodes\": ["
    "  {\"role\": \"hss\", \"name\": \"hss\", \"address\": \"127.0.46.10\","
    "   \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"scscf\", \"name\": \"scscf\", \"address\": \"127.0.46.3\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"icscf\", \"name\": \"icscf\", \"address\": \"127.0.46.2\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"pcscf\", \"name\": \"pcscf\", \"address\": \"127.0.46.1\","
    "   \"sip_port\": 5060, \"rest_port\": 8080}]},"
    " {\"name\": \"ims.gamma.test\", \"tel_prefixes\": [\"+15559\"], \"nodes\": ["
    "  {\"role\": \"hss\", \"name\": \"hss\", \"address\": \"127.0.47.10\","
    "   \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"scscf\", \"name\": \"scscf\", \"address\": \"127.0.47.3\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"icscf\", \"name\": \"icscf\", \"address\": \"127.0.47.2\","
    "   \"sip_port\": 5060, \"diameter_port\": 3868, \"rest_port\": 8080},"
    "  {\"role\": \"pcscf\", \"name\": \"pcscf\", \"address\": \"127.0.47.1\","
    "   \"sip_port\": 5060, \"rest_port\": 8080}]}]}";

static struct topo *load_lab(void)
{
	char err[256];
	struct topo *t = topo_parse(lab, strlen(lab), err, sizeof(err));

	if (!t)
		fprintf(stderr, "topology: %s\n", err);
	return t;
}

static enum scscf_dest classify(const struct topo *t, const char *uri, const char **domain)
{
	const struct topo_domain *d;
	enum scscf_dest r = scscf_route_classify(t, uri, strlen(uri), &d);

	*domain = d ? d->name : "";
	return r;
}

static void test_classify(void)
{
	struct topo *t = load_lab();
	const char *d, *reason;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* Own domain: through its own I-CSCF all the same (calls.md). */
	CU_ASSERT_EQUAL(classify(t, "sip:bob@ims.alpha.test", &d), SCSCF_DEST_DOMAIN);
	CU_ASSERT_STRING_EQUAL(d, "ims.alpha.test");
	CU_ASSERT_EQUAL(classify(t, "sip:bob@IMS.Beta.Test:5060;user=phone", &d),
	                SCSCF_DEST_DOMAIN);
	CU_ASSERT_STRING_EQUAL(d, "ims.beta.test");
	CU_ASSERT_EQUAL(classify(t, "sips:bob@ims.beta.test", &d), SCSCF_DEST_DOMAIN);
	CU_ASSERT_STRING_EQUAL(d, "ims.beta.test");
	/* tel: ranges, the longest prefix wins, visual separators ignored. */
	CU_ASSERT_EQUAL(classify(t, "tel:+16660002", &d), SCSCF_DEST_DOMAIN);
	CU_ASSERT_STRING_EQUAL(d, "ims.beta.test");
	CU_ASSERT_EQUAL(classify(t, "tel:+1-555-000-1;foo=bar", &d), SCSCF_DEST_DOMAIN);
	CU_ASSERT_STRING_EQUAL(d, "ims.alpha.test");
	CU_ASSERT_EQUAL(classify(t, "tel:+1(555)9-0001", &d), SCSCF_DEST_DOMAIN);
	CU_ASSERT_STRING_EQUAL(d, "ims.gamma.test");
	/* Nowhere. */
	CU_ASSERT_EQUAL(classify(t, "tel:+4930123456", &d), SCSCF_DEST_NO_NUMBER);
	CU_ASSERT_STRING_EQUAL(d, "");
	CU_ASSERT_EQUAL(classify(t, "sip:carol@ims.delta.test", &d), SCSCF_DEST_NO_DOMAIN);
	CU_ASSERT_EQUAL(classify(t, "sip:carol@127.0.45.3", &d), SCSCF_DEST_NO_DOMAIN);
	CU_ASSERT_EQUAL(classify(t, "sip:scscf.ims.alpha.test", &d), SCSCF_DEST_NO_DOMAIN);
	CU_ASSERT_EQUAL(classify(t, "tel:1234;phone-context=ims.alpha.test", &d),
	                SCSCF_DEST_LOCAL_NUMBER);
	CU_ASSERT_EQUAL(classify(t, "tel:+", &d), SCSCF_DEST_BAD_URI);
	CU_ASSERT_EQUAL(classify(t, "tel:+1555x1", &d), SCSCF_DEST_BAD_URI);
	CU_ASSERT_EQUAL(classify(t, "mailto:carol@ims.alpha.test", &d), SCSCF_DEST_BAD_SCHEME);
	CU_ASSERT_EQUAL(classify(t, "not a uri", &d), SCSCF_DEST_BAD_URI);
	/* The answers. */
	CU_ASSERT_EQUAL(scscf_route_dest_status(SCSCF_DEST_DOMAIN, &reason), 0);
	CU_ASSERT_EQUAL(scscf_route_dest_status(SCSCF_DEST_NO_NUMBER, &reason), 604);
	CU_ASSERT_STRING_EQUAL(reason, "Does Not Exist Anywhere");
	CU_ASSERT_EQUAL(scscf_route_dest_status(SCSCF_DEST_NO_DOMAIN, &reason), 404);
	CU_ASSERT_EQUAL(scscf_route_dest_status(SCSCF_DEST_LOCAL_NUMBER, &reason), 404);
	CU_ASSERT_EQUAL(scscf_route_dest_status(SCSCF_DEST_BAD_SCHEME, &reason), 416);
	CU_ASSERT_EQUAL(scscf_route_dest_status(SCSCF_DEST_BAD_URI, &reason), 400);
	topo_free(t);
}

static int aor(const char *uri, char *out, size_t n)
{
	return scscf_route_aor(uri, strlen(uri), out, n);
}

static void test_aor_and_numbers(void)
{
	char out[SCSCF_URI_MAX], small[12];

	CU_ASSERT_EQUAL(aor("sip:alice@ims.alpha.test:5060;user=phone?subject=x", out, sizeof(out)),
	                0);
	CU_ASSERT_STRING_EQUAL(out, "sip:alice@ims.alpha.test");
	CU_ASSERT_EQUAL(aor("SIP:Alice@IMS.alpha.test", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "sip:Alice@IMS.alpha.test");
	CU_ASSERT_EQUAL(aor("tel:+1-555-0001;phone-context=x", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "tel:+15550001");
	CU_ASSERT_EQUAL(aor("tel:12*#;phone-context=ims.alpha.test", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "tel:12*#");
	CU_ASSERT_EQUAL(aor("sip:ims.alpha.test", out, sizeof(out)), -EDESTADDRREQ);
	CU_ASSERT_EQUAL(aor("mailto:x@y", out, sizeof(out)), -EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(aor("sip:alice@ims.alpha.test", small, sizeof(small)), -EMSGSIZE);
	CU_ASSERT_EQUAL(aor("tel:+", out, sizeof(out)), -EBADMSG);

	CU_ASSERT_EQUAL(scscf_route_tel_number("tel:+1.555.0001", 15, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "+15550001");
	CU_ASSERT_EQUAL(scscf_route_tel_number("tel:5550001", 11, out, sizeof(out)), -ENOENT);
	CU_ASSERT_STRING_EQUAL(out, "5550001");
	CU_ASSERT_EQUAL(scscf_route_tel_number("tel:;x=y", 8, out, sizeof(out)), -EBADMSG);
	CU_ASSERT_EQUAL(scscf_route_tel_number("tel:+1-", 7, out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(scscf_route_tel_number("tel:+-", 6, out, sizeof(out)), -EBADMSG);
	CU_ASSERT_EQUAL(scscf_route_tel_number("sip:+1555", 9, out, sizeof(out)), -EBADMSG);
	CU_ASSERT_EQUAL(scscf_route_tel_number("tel:+15550001", 13, small, 5), -EMSGSIZE);
	/* len bounds the scan: the text need not end there. */
	CU_ASSERT_EQUAL(scscf_route_tel_number("tel:+15550001>garbage", 13, out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "+15550001");
}

static void test_split(void)
{
	char list[] = " <sip:a;lr> ,\"x, <y>\" <sip:b>,<sip:c,d>,, \t";
	char two[] = "<sip:a>, <sip:b>, <sip:c>";
	const char *v[4];

	CU_ASSERT_EQUAL_FATAL(scscf_route_split(list, v, 4), 3);
	CU_ASSERT_STRING_EQUAL(v[0], "<sip:a;lr>");
	CU_ASSERT_STRING_EQUAL(v[1], "\"x, <y>\" <sip:b>");
	CU_ASSERT_STRING_EQUAL(v[2], "<sip:c,d>");
	CU_ASSERT_EQUAL(scscf_route_split(two, v, 2), -E2BIG);
	two[0] = '\0';
	CU_ASSERT_EQUAL(scscf_route_split(two, v, 2), 0);
}

/* A registration of alice's implicit set (the hidden identity barred) with bindings:
 * CONTACT1 (PATH1) registered first, CONTACT2 (PATH2) second, CONTACT3 without Path
 * third and already expired at time 5000. */
static struct scscf_reg *register_alice(struct scscf_regtab *t)
{
	static const struct scscf_identity ids[] = {
	    {IMPU, false},
	    {HIDDEN, true},
	    {TEL, false},
	};
	const struct scscf_binding b1 = {.uri = CONTACT1, .expires = 600},
	                           b2 = {.uri = CONTACT2, .expires = 600},
	                           b3 = {.uri = CONTACT3, .expires = 4};
	struct scscf_reg *r;
	int err;

	CU_ASSERT_EQUAL_FATAL(scscf_regtab_init(t, 16, NULL), 0);
	r = scscf_regtab_add(t, IMPI, ids, 3, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(scscf_regtab_bind(t, r, &b1, PATH1, "c1", 1, 1000), 0);
	CU_ASSERT_EQUAL(scscf_regtab_bind(t, r, &b2, PATH2, "c2", 1, 1000), 0);
	CU_ASSERT_EQUAL(scscf_regtab_bind(t, r, &b3, "", "c3", 1, 1000), 0);
	return r;
}

static struct sip_msg *parse(const char *text)
{
	struct sip_msg *m = NULL;
	char why[128];

	CU_ASSERT_EQUAL(sip_msg_parse(text, strlen(text), &m, why, sizeof(why)), 0);
	return m;
}

/* An INVITE to ruri with the P-Asserted-Identity lines pai ("" for none). */
static struct sip_msg *invite(const char *ruri, const char *pai)
{
	char text[2048];

	snprintf(text, sizeof(text),
	         "INVITE %s SIP/2.0\r\n"
	         "Via: SIP/2.0/UDP 127.0.4.1:5060;branch=z9hG4bK-1\r\n"
	         "Max-Forwards: 69\r\n"
	         "Route: <sip:orig@scscf.ims.alpha.test:5060;lr>\r\n"
	         "From: <sip:alice@ims.alpha.test>;tag=a1\r\n"
	         "To: <%s>\r\n"
	         "Call-ID: call-1\r\n"
	         "CSeq: 1 INVITE\r\n"
	         "%s"
	         "Contact: <" CONTACT1 ">\r\n"
	         "Content-Length: 0\r\n\r\n",
	         ruri, ruri, pai);
	return parse(text);
}

/* scscf_route_served_user on an INVITE with these P-Asserted-Identity lines. */
static int served(const struct scscf_regtab *t, const char *pai, char *impu, struct scscf_reg **reg)
{
	struct sip_msg *m = invite("sip:bob@ims.beta.test", pai);
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	rc = scscf_route_served_user(t, m, impu, SCSCF_URI_MAX, reg);
	sip_msg_free(m);
	return rc;
}

static void test_served_user(void)
{
	struct scscf_regtab t;
	struct scscf_reg *alice = register_alice(&t), *r;
	char impu[SCSCF_URI_MAX];

	CU_ASSERT_EQUAL(served(&t, "P-Asserted-Identity: <sip:alice@ims.alpha.test>\r\n", impu, &r),
	                0);
	CU_ASSERT_STRING_EQUAL(impu, IMPU);
	CU_ASSERT_PTR_EQUAL(r, alice);
	/* Display name, the tel identity of the set, separators. */
	CU_ASSERT_EQUAL(
	    served(&t, "P-Asserted-Identity: \"Alice\" <tel:+1-555-0001>\r\n", impu, &r), 0);
	CU_ASSERT_STRING_EQUAL(impu, TEL);
	CU_ASSERT_PTR_EQUAL(r, alice);
	/* RFC 3325: a sip and a tel value; the second one is registered. */
	CU_ASSERT_EQUAL(served(&t,
	                       "P-Asserted-Identity: <sip:mallory@ims.alpha.test>, "
	                       "<tel:+15550001>\r\n",
	                       impu, &r),
	                0);
	CU_ASSERT_STRING_EQUAL(impu, TEL);
	CU_ASSERT_EQUAL(served(&t,
	                       "P-Asserted-Identity: <sip:mallory@ims.alpha.test>\r\n"
	                       "P-Asserted-Identity: <sip:alice@ims.alpha.test;user=phone>\r\n",
	                       impu, &r),
	                0);
	CU_ASSERT_STRING_EQUAL(impu, IMPU);
	/* Refusals: 403 for each. */
	CU_ASSERT_EQUAL(served(&t, "", impu, &r), -ENOENT);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(served(&t, "P-Asserted-Identity: <sip:bob@ims.beta.test>\r\n", impu, &r),
	                -EACCES);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(served(&t, "P-Asserted-Identity: garbage <\r\n", impu, &r), -EACCES);
	CU_ASSERT_EQUAL(served(&t, "P-Asserted-Identity: <" HIDDEN ">\r\n", impu, &r), -EPERM);
	CU_ASSERT_PTR_NULL(r);
	/* Once the registration is gone, nothing is served. */
	scscf_regtab_remove(&t, alice);
	CU_ASSERT_EQUAL(served(&t, "P-Asserted-Identity: <sip:alice@ims.alpha.test>\r\n", impu, &r),
	                -EACCES);
	scscf_regtab_fini(&t);
}

static int callee(const struct scscf_regtab *t, const char *ruri, char *out, struct scscf_reg **reg)
{
	return scscf_route_callee(t, REALM, ruri, strlen(ruri), out, SCSCF_URI_MAX, reg);
}

static void test_callee(void)
{
	struct scscf_regtab t;
	struct scscf_reg *alice = register_alice(&t), *r;
	char out[SCSCF_URI_MAX];

	CU_ASSERT_EQUAL(callee(&t, "sip:alice@ims.alpha.test", out, &r), 0);
	CU_ASSERT_PTR_EQUAL(r, alice);
	CU_ASSERT_EQUAL(callee(&t, "sip:alice@IMS.ALPHA.TEST:5060;user=phone", out, &r), 0);
	CU_ASSERT_PTR_EQUAL(r, alice);
	/* The implicit set: the tel URI finds the same registration. */
	CU_ASSERT_EQUAL(callee(&t, "tel:+1-555-0001", out, &r), 0);
	CU_ASSERT_STRING_EQUAL(out, TEL);
	CU_ASSERT_PTR_EQUAL(r, alice);
	CU_ASSERT_EQUAL(callee(&t, HIDDEN, out, &r), -EPERM);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL(callee(&t, "sip:carol@ims.alpha.test", out, &r), -ENOENT);
	CU_ASSERT_STRING_EQUAL(out, "sip:carol@ims.alpha.test");
	CU_ASSERT_EQUAL(callee(&t, "tel:+15550009", out, &r), -ENOENT);
	CU_ASSERT_STRING_EQUAL(out, "tel:+15550009");
	CU_ASSERT_EQUAL(callee(&t, "sip:bob@ims.beta.test", out, &r), -EREMOTE);
	CU_ASSERT_EQUAL(callee(&t, "sip:ims.alpha.test", out, &r), -EDESTADDRREQ);
	CU_ASSERT_EQUAL(callee(&t, "mailto:alice@ims.alpha.test", out, &r), -EPROTONOSUPPORT);
	CU_ASSERT_EQUAL(callee(&t, "sip:", out, &r), -EBADMSG);
	scscf_regtab_fini(&t);
}

static void test_branches(void)
{
	struct scscf_regtab t;
	struct scscf_reg *alice = register_alice(&t);
	struct scscf_fork *f = malloc(sizeof(*f));
	const struct scscf_branch *b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	/* At 5000 the third binding (4 s from 1000) has expired: two branches, newest first. */
	CU_ASSERT_EQUAL_FATAL(scscf_route_branches(alice, 5000, f), 2);
	b = &f->b[0];
	CU_ASSERT_STRING_EQUAL(b->ruri, CONTACT2);
	CU_ASSERT_EQUAL_FATAL(b->n_routes, 2);
	CU_ASSERT_STRING_EQUAL(b->routes[0], "<sip:term@pcscf2.ims.alpha.test:5070;lr>");
	CU_ASSERT_STRING_EQUAL(b->routes[1], "\"Edge, Proxy\" <sip:edge.ims.alpha.test;lr>");
	CU_ASSERT_EQUAL(b->hop_len, strlen("sip:term@pcscf2.ims.alpha.test:5070;lr"));
	CU_ASSERT_NSTRING_EQUAL(b->hop, "sip:term@pcscf2.ims.alpha.test:5070;lr", b->hop_len);
	b = &f->b[1];
	CU_ASSERT_STRING_EQUAL(b->ruri, CONTACT1);
	CU_ASSERT_EQUAL_FATAL(b->n_routes, 1);
	CU_ASSERT_STRING_EQUAL(b->routes[0], PATH1);
	CU_ASSERT_NSTRING_EQUAL(b->hop, "sip:term@pcscf.ims.alpha.test:5060;lr", b->hop_len);
	CU_ASSERT_EQUAL(b->hop_len, strlen("sip:term@pcscf.ims.alpha.test:5060;lr"));

	/* Earlier, the binding without Path is a branch of its own: next hop the contact. */
	CU_ASSERT_EQUAL_FATAL(scscf_route_branches(alice, 2000, f), 3);
	b = &f->b[0];
	CU_ASSERT_STRING_EQUAL(b->ruri, CONTACT3);
	CU_ASSERT_EQUAL(b->n_routes, 0);
	CU_ASSERT_EQUAL(b->hop_len, strlen(CONTACT3));
	CU_ASSERT_NSTRING_EQUAL(b->hop, CONTACT3, b->hop_len);

	/* Much later every binding has expired: no branch (480). */
	CU_ASSERT_EQUAL(scscf_route_branches(alice, 1000 + 601 * 1000, f), 0);
	free(f);
	scscf_regtab_fini(&t);
}

static void test_branches_bad_path(void)
{
	struct scscf_regtab t;
	struct scscf_reg *alice = register_alice(&t);
	const struct scscf_binding b1 = {.uri = CONTACT1, .expires = 600};
	struct scscf_fork *f = malloc(sizeof(*f));
	char many[SCSCF_PATH_MAX];
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	/* More Path values than a branch carries: that binding is skipped. */
	for (int i = 0; i <= SCSCF_ROUTES_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%s<sip:p%d.test;lr>",
		                      i ? "," : "", i);
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, alice, &b1, many, "c1", 2, 1000), 0);
	CU_ASSERT_EQUAL_FATAL(scscf_route_branches(alice, 5000, f), 1);
	CU_ASSERT_STRING_EQUAL(f->b[0].ruri, CONTACT2);
	/* A Path value whose < is never closed: skipped too. */
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, alice, &b1, "<sip:p.test;lr", "c1", 3, 1000), 0);
	CU_ASSERT_EQUAL(scscf_route_branches(alice, 5000, f), 1);
	free(f);
	scscf_regtab_fini(&t);
}

/* RFC 3261 10.2.1.2, 16.6: the branches go highest q first; equal q newest first. */
static void test_branches_q(void)
{
	struct scscf_regtab t;
	struct scscf_reg *alice = register_alice(&t);
	/* Newest first in the list: CONTACT3, CONTACT2, CONTACT1. */
	struct scscf_binding b1 = {.uri = CONTACT1, .expires = 600},
	                     b2 = {.uri = CONTACT2, .expires = 600, .has_q = true, .q = 500},
	                     b3 = {.uri = CONTACT3, .expires = 600, .has_q = true, .q = 100};
	struct scscf_fork *f = malloc(sizeof(*f));

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, alice, &b1, PATH1, "c1", 2, 1000), 0);
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, alice, &b2, PATH2, "c2", 2, 1000), 0);
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, alice, &b3, "", "c3", 2, 1000), 0);
	CU_ASSERT_EQUAL_FATAL(scscf_route_branches(alice, 2000, f), 3);
	CU_ASSERT_STRING_EQUAL(f->b[0].ruri, CONTACT1);
	CU_ASSERT_STRING_EQUAL(f->b[1].ruri, CONTACT2);
	CU_ASSERT_STRING_EQUAL(f->b[2].ruri, CONTACT3);
	/* Each branch keeps its own Path and next hop after the reordering. */
	CU_ASSERT_EQUAL(f->b[0].n_routes, 1);
	CU_ASSERT_STRING_EQUAL(f->b[0].routes[0], PATH1);
	CU_ASSERT_EQUAL_FATAL(f->b[1].n_routes, 2);
	CU_ASSERT_STRING_EQUAL(f->b[1].routes[0], "<sip:term@pcscf2.ims.alpha.test:5070;lr>");
	CU_ASSERT_NSTRING_EQUAL(f->b[1].hop, "sip:term@pcscf2.ims.alpha.test:5070;lr",
	                        f->b[1].hop_len);
	CU_ASSERT_EQUAL(f->b[2].n_routes, 0);
	CU_ASSERT_NSTRING_EQUAL(f->b[2].hop, CONTACT3, f->b[2].hop_len);

	/* A tie (1.0 given and 1.0 by default): the newer binding first. */
	b2.q = 1000;
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, alice, &b2, PATH2, "c2", 3, 1000), 0);
	CU_ASSERT_EQUAL_FATAL(scscf_route_branches(alice, 2000, f), 3);
	CU_ASSERT_STRING_EQUAL(f->b[0].ruri, CONTACT2);
	CU_ASSERT_STRING_EQUAL(f->b[1].ruri, CONTACT1);
	CU_ASSERT_STRING_EQUAL(f->b[2].ruri, CONTACT3);

	/* q 0 still forks (RFC 3261 16.6: parallel regardless); it just comes last. */
	b3.q = 0;
	b1.has_q = true;
	b1.q = 250;
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, alice, &b3, "", "c3", 3, 1000), 0);
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, alice, &b1, PATH1, "c1", 3, 1000), 0);
	CU_ASSERT_EQUAL_FATAL(scscf_route_branches(alice, 2000, f), 3);
	CU_ASSERT_STRING_EQUAL(f->b[0].ruri, CONTACT2);
	CU_ASSERT_STRING_EQUAL(f->b[1].ruri, CONTACT1);
	CU_ASSERT_STRING_EQUAL(f->b[2].ruri, CONTACT3);

	/* An expired binding drops out whatever its q. */
	CU_ASSERT_EQUAL(
	    scscf_regtab_bind(
	        &t, alice,
	        &(struct scscf_binding){.uri = CONTACT2, .expires = 1, .has_q = true, .q = 1000},
	        PATH2, "c2", 4, 1000),
	    0);
	CU_ASSERT_EQUAL_FATAL(scscf_route_branches(alice, 2000, f), 2);
	CU_ASSERT_STRING_EQUAL(f->b[0].ruri, CONTACT1);
	CU_ASSERT_STRING_EQUAL(f->b[1].ruri, CONTACT3);
	free(f);
	scscf_regtab_fini(&t);
}

/* --- the terminating procedure for users without a registration ------------------------ */

/* What the fakes saw. */
static struct {
	int n_sar;         /* SARs sent */
	struct cx_sar sar; /* the last one */
	dia_call_fn cb;    /* where its answer goes */
	void *arg;         /* its argument */
	int fail_send;     /* next dia_call returns this when non-zero */
	int status;        /* last reply's status */
	char reason[64];   /* its reason */
	int n_replies;     /* replies so far */
} fx;

static struct scscf s;
static int req_token; /* stands for a struct sip_req: never looked into */
#define REQ ((struct sip_req *)&req_token)

static int fake_dia_call(struct loop *lp, enum cx_kind kind, const void *st, unsigned timeout_ms,
                         dia_call_fn cb, void *arg)
{
	if (fx.fail_send)
		return fx.fail_send;
	CU_ASSERT_EQUAL(kind, CX_SAR);
	fx.sar = *(const struct cx_sar *)st;
	fx.cb = cb;
	fx.arg = arg;
	fx.n_sar++;
	return 0;
}

static int fake_reply(struct sip_req *req, int status, const char *reason, const char *headers)
{
	CU_ASSERT_PTR_EQUAL(req, REQ);
	fx.status = status;
	snprintf(fx.reason, sizeof(fx.reason), "%s", reason ? reason : "");
	fx.n_replies++;
	return 0;
}

static int setup(void)
{
	memset(&fx, 0, sizeof(fx));
	memset(&s, 0, sizeof(s));
	s.loop = loop_new();
	if (!s.loop)
		return -1;
	s.realm = REALM;
	s.hss_fqdn = "hss.ims.alpha.test";
	snprintf(s.server_name, sizeof(s.server_name), "sip:scscf.ims.alpha.test:5060");
	s.io.dia_call = fake_dia_call;
	s.io.reply = fake_reply;
	return scscf_reg_init(&s);
}

static void teardown(void)
{
	scscf_reg_fini(&s);
	loop_free(s.loop);
	s.loop = NULL;
}

/* The terminating procedure on an INVITE to ruri; returns the context it kept. */
static struct scscf_txn *terminate(const char *ruri)
{
	struct sip_msg *m = invite(ruri, "");
	struct scscf_txn *t;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	t = scscf_call_terminating(&s, REQ, m);
	sip_msg_free(m);
	return t;
}

/* Answers the pending SAR: err (-ETIMEDOUT...) or a result code. */
static void answer_sar(int err, uint32_t code, bool experimental)
{
	static struct cx_saa saa;
	struct dia_call_result r = {.err = err, .answer = err ? NULL : &saa, .latency_us = 100};

	memset(&saa, 0, sizeof(saa));
	saa.result.code = code;
	saa.result.experimental = experimental;
	fx.cb(fx.arg, &r);
}

static void test_unregistered_callee(void)
{
	struct scscf_txn *t;

	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	/* No record: SAR UNREGISTERED_USER without User-Name, then 480. */
	t = terminate("sip:bob@ims.alpha.test;user=phone");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(fx.n_replies, 0);
	CU_ASSERT_EQUAL_FATAL(fx.n_sar, 1);
	CU_ASSERT_EQUAL(fx.sar.assignment_type, CX_SAT_UNREGISTERED_USER);
	CU_ASSERT_STRING_EQUAL(fx.sar.user_name, "");
	CU_ASSERT_EQUAL(fx.sar.n_public_identities, 1);
	CU_ASSERT_STRING_EQUAL(fx.sar.public_identities[0], "sip:bob@ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(fx.sar.server_name, "sip:scscf.ims.alpha.test:5060");
	CU_ASSERT_EQUAL(s.n_txns, 1);
	answer_sar(0, DIA_SUCCESS, false);
	CU_ASSERT_EQUAL(fx.n_replies, 1);
	CU_ASSERT_EQUAL(fx.status, 480);
	CU_ASSERT_EQUAL(s.n_txns, 0);
	CU_ASSERT_EQUAL(s.stats.term_requests, 1);
	CU_ASSERT_EQUAL(s.stats.term_unregistered, 1);
	CU_ASSERT_EQUAL(s.stats.cx_requests[SCSCF_CX_SAR], 1);

	/* A tel URI: the lookup form goes to the HSS; unknown there -> 404. */
	t = terminate("tel:+1-555-0009");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_STRING_EQUAL(fx.sar.public_identities[0], "tel:+15550009");
	answer_sar(0, CX_ERROR_USER_UNKNOWN, true);
	CU_ASSERT_EQUAL(fx.status, 404);

	/* Diameter timeout: 480 all the same. */
	CU_ASSERT_PTR_NOT_NULL(terminate("sip:bob@ims.alpha.test"));
	answer_sar(-ETIMEDOUT, 0, false);
	CU_ASSERT_EQUAL(fx.status, 480);

	/* The SAR cannot be sent: 480 at once, nothing kept. */
	fx.fail_send = -EAGAIN;
	CU_ASSERT_PTR_NULL(terminate("sip:bob@ims.alpha.test"));
	CU_ASSERT_EQUAL(fx.status, 480);
	CU_ASSERT_EQUAL(s.n_txns, 0);
	fx.fail_send = 0;

	/* The transaction goes (CANCEL, Timer C) while the HSS thinks: no answer later. */
	fx.n_replies = 0;
	t = terminate("sip:bob@ims.alpha.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	scscf_txn_gone(t);
	CU_ASSERT_FALSE(scscf_txn_settle(t));
	answer_sar(0, DIA_SUCCESS, false);
	CU_ASSERT_EQUAL(fx.n_replies, 0);
	CU_ASSERT_EQUAL(s.n_txns, 0);
	teardown();
}

static void test_terminating_refusals(void)
{
	struct scscf_reg *r;
	const struct scscf_identity ids[] = {{IMPU, false}, {HIDDEN, true}};
	int err;

	CU_ASSERT_EQUAL_FATAL(setup(), 0);
	r = scscf_regtab_add(&s.regs, IMPI, ids, 2, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	/* Barred identity, another domain, no user part: 404 without asking the HSS. */
	CU_ASSERT_PTR_NULL(terminate(HIDDEN));
	CU_ASSERT_EQUAL(fx.status, 404);
	CU_ASSERT_PTR_NULL(terminate("sip:bob@ims.beta.test"));
	CU_ASSERT_EQUAL(fx.status, 404);
	CU_ASSERT_PTR_NULL(terminate("sip:ims.alpha.test"));
	CU_ASSERT_EQUAL(fx.status, 404);
	CU_ASSERT_PTR_NULL(terminate("mailto:alice@ims.alpha.test"));
	CU_ASSERT_EQUAL(fx.status, 416);
	/* A record without a live binding: 480 at once (no SAR, the HSS has us). */
	CU_ASSERT_PTR_NULL(terminate(IMPU));
	CU_ASSERT_EQUAL(fx.status, 480);
	CU_ASSERT_EQUAL(fx.n_sar, 0);
	CU_ASSERT_EQUAL(s.stats.term_not_found, 4);
	CU_ASSERT_EQUAL(s.stats.term_unregistered, 1);
	teardown();
}

int test_scscf_route_register(void)
{
	static CU_TestInfo tests[] = {
	    {"originating targets: domains, tel ranges, 404, 604", test_classify},
	    {"lookup forms and tel numbers", test_aor_and_numbers},
	    {"splitting a stored Path", test_split},
	    {"served user from P-Asserted-Identity", test_served_user},
	    {"terminating lookup across the implicit set", test_callee},
	    {"fork branches: two contacts with Paths", test_branches},
	    {"fork branches: unusable Paths skipped", test_branches_bad_path},
	    {"fork branches: ordered by q, ties newest first", test_branches_q},
	    {"unregistered callee: SAR UNREGISTERED_USER, 480", test_unregistered_callee},
	    {"terminating refusals: barred, foreign, no contact", test_terminating_refusals},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("scscf_route", tests);
}
