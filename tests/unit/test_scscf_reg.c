/* Tests for the S-CSCF registrar (scscf/scscf_reg.c, scscf_regtab.c, scscf_txn.c,
 * scscf_cx.c) without sockets: REGISTERs are parsed from text, Cx requests are caught by
 * a fake dia_call and answered by hand (vectors from aka_vector_make, User-Data as our
 * HSS writes it), answers are caught by a fake reply. Covers the AKA registration, re-
 * and de-registration, stale nonces, wrong responses, resync, bad input, Cx failures,
 * transactions that vanish while the HSS thinks, RFC 3261 10.3 binding rules and the
 * expiry that ends with SAR TIMEOUT_DEREGISTRATION. */
#include "aka.h"
#include "codec.h"
#include "digest.h"
#include "loop.h"
#include "scscf.h"
#include "sip_msg.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REALM     "ims.alpha.test"
#define IMPI      "alice@ims.alpha.test"
#define IMPU      "sip:alice@ims.alpha.test"
#define TEL       "tel:+15550001"
#define HIDDEN    "sip:alice.hidden@ims.alpha.test"
#define CONTACT   "sip:alice@127.0.4.100:5060"
#define CONTACT2  "sip:alice@127.0.4.101:5060"
#define PATH      "<sip:term@pcscf.ims.alpha.test:5060;lr>"
#define SERVER    "sip:scscf.ims.alpha.test:5060"
#define MAX_CALLS 8
/* The UE's first Authorization (TS 24.229 5.1.1.2.1): username, empty nonce and response. */
#define INIT_AUTH                                                                                  \
	"Authorization: Digest username=\"" IMPI "\", realm=\"" REALM                              \
	"\", nonce=\"\", uri=\"sip:" REALM "\", response=\"\"\r\n"

static const uint8_t k1[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
                               0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
static const uint8_t opc1[16] = {0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e,
                                 0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf};
static const uint8_t amf1[2] = {0x80, 0x00};

static char user_data[] = "<?xml version=\"1.0\"?><IMSSubscription><PrivateID>" IMPI
                          "</PrivateID><ServiceProfile><PublicIdentity><Identity>" IMPU
                          "</Identity></PublicIdentity><PublicIdentity><BarringIndication>1"
                          "</BarringIndication><Identity>" HIDDEN
                          "</Identity></PublicIdentity><PublicIdentity><Identity>" TEL
                          "</Identity></PublicIdentity></ServiceProfile></IMSSubscription>";

/* A Cx request the fake caught. */
struct call {
	enum cx_kind kind; /* CX_MAR or CX_SAR */
	struct cx_mar mar; /* the request, when an MAR */
	struct cx_sar sar; /* the request, when an SAR */
	dia_call_fn cb;    /* where the answer goes */
	void *arg;         /* its argument */
};

/* Everything the fakes saw. */
static struct {
	struct call calls[MAX_CALLS]; /* Cx requests not answered yet, oldest first */
	size_t n_calls;               /* entries in calls */
	int fail_send;                /* next dia_call returns this when non-zero */
	int status;                   /* last reply's status */
	char reason[64];              /* its reason */
	char headers[16384];          /* its extra headers */
	int n_replies;                /* replies so far */
	uint64_t sqn;                 /* SQN of the next vector */
} fx;

/* tests/unit/test_scscf_route.c: the routing suite, added with this one. */
int test_scscf_route_register(void);

static struct scscf s;
static int req_token; /* stands for a struct sip_req: never looked into */
#define REQ ((struct sip_req *)&req_token)

static int fake_dia_call(struct loop *lp, enum cx_kind kind, const void *st, unsigned timeout_ms,
                         dia_call_fn cb, void *arg)
{
	struct call *c;

	if (fx.fail_send) {
		int rc = fx.fail_send;

		fx.fail_send = 0;
		return rc;
	}
	CU_ASSERT_FATAL(fx.n_calls < MAX_CALLS);
	c = &fx.calls[fx.n_calls++];
	c->kind = kind;
	if (kind == CX_MAR)
		c->mar = *(const struct cx_mar *)st;
	else
		c->sar = *(const struct cx_sar *)st;
	c->cb = cb;
	c->arg = arg;
	return 0;
}

static int fake_reply(struct sip_req *req, int status, const char *reason, const char *headers)
{
	CU_ASSERT_PTR_EQUAL(req, REQ);
	fx.status = status;
	snprintf(fx.reason, sizeof(fx.reason), "%s", reason ? reason : "");
	snprintf(fx.headers, sizeof(fx.headers), "%s", headers ? headers : "");
	fx.n_replies++;
	return 0;
}

static int setup(void)
{
	memset(&fx, 0, sizeof(fx));
	fx.sqn = 0x20;
	memset(&s, 0, sizeof(s));
	s.loop = loop_new();
	if (!s.loop)
		return -1;
	s.realm = REALM;
	s.hss_fqdn = "hss.ims.alpha.test";
	snprintf(s.server_name, sizeof(s.server_name), SERVER);
	snprintf(s.service_route, sizeof(s.service_route),
	         "<sip:orig@scscf.ims.alpha.test:5060;lr>");
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

/* Takes the oldest pending Cx request. */
static struct call take(void)
{
	struct call c = fx.calls[0];

	CU_ASSERT_FATAL(fx.n_calls > 0);
	memmove(&fx.calls[0], &fx.calls[1], (fx.n_calls - 1) * sizeof(fx.calls[0]));
	fx.n_calls--;
	return c;
}

static void answer(const struct call *c, int err, const void *ans)
{
	struct dia_call_result r = {.err = err, .answer = err ? NULL : ans, .latency_us = 250};

	c->cb(c->arg, &r);
}

/* Answers an MAR with a fresh vector; *v gets it (may be NULL). */
static void answer_mar(const struct call *c, struct aka_vector *v)
{
	static struct cx_maa maa;
	struct aka_vector tmp;
	struct cx_auth_item *it = &maa.items[0];

	if (!v)
		v = &tmp;
	CU_ASSERT_EQUAL_FATAL(c->kind, CX_MAR);
	CU_ASSERT_FATAL(aka_vector_make(k1, opc1, amf1, fx.sqn, NULL, v) == 0);
	fx.sqn += 32;
	memset(&maa, 0, sizeof(maa));
	maa.result.code = DIA_SUCCESS;
	maa.n_items = 1;
	snprintf(it->scheme, sizeof(it->scheme), CX_SCHEME_AKAV1_MD5);
	memcpy(it->authenticate, v->rand, 16);
	memcpy(it->authenticate + 16, v->autn, 16);
	it->authenticate_len = 32;
	memcpy(it->authorization, v->xres, 8);
	it->authorization_len = 8;
	memcpy(it->ck, v->ck, 16);
	it->ck_len = 16;
	memcpy(it->ik, v->ik, 16);
	it->ik_len = 16;
	answer(c, 0, &maa);
}

static void answer_result(const struct call *c, uint32_t code, bool experimental)
{
	static struct cx_maa maa;
	static struct cx_saa saa;

	memset(&maa, 0, sizeof(maa));
	memset(&saa, 0, sizeof(saa));
	maa.result.code = saa.result.code = code;
	maa.result.experimental = saa.result.experimental = experimental;
	answer(c, 0, c->kind == CX_MAR ? (const void *)&maa : (const void *)&saa);
}

static void answer_sar(const struct call *c, enum cx_sat type, bool with_data)
{
	static struct cx_saa saa;

	CU_ASSERT_EQUAL_FATAL(c->kind, CX_SAR);
	CU_ASSERT_EQUAL(c->sar.assignment_type, type);
	memset(&saa, 0, sizeof(saa));
	saa.result.code = DIA_SUCCESS;
	if (with_data) {
		saa.user_data = user_data;
		saa.user_data_len = strlen(user_data);
	}
	answer(c, 0, &saa);
}

/* Parses a REGISTER from text with the given header lines (each ending in CRLF). */
static struct sip_msg *make_register(const char *to, unsigned cseq, const char *headers)
{
	char buf[4096], why[128];
	struct sip_msg *m = NULL;
	int n;

	n = snprintf(buf, sizeof(buf),
	             "REGISTER sip:" REALM " SIP/2.0\r\n"
	             "Via: SIP/2.0/UDP 127.0.5.1:5060;branch=z9hG4bK-%u\r\n"
	             "Max-Forwards: 69\r\n"
	             "From: <%s>;tag=ue1\r\n"
	             "To: <%s>\r\n"
	             "Call-ID: reg-1@127.0.4.100\r\n"
	             "CSeq: %u REGISTER\r\n"
	             "%s"
	             "Content-Length: 0\r\n\r\n",
	             cseq, to, to, cseq, headers);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(buf));
	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(buf, (size_t)n, &m, why, sizeof(why)), 0);
	return m;
}

/* Sends one REGISTER to the registrar; returns the context left waiting, or NULL. */
static struct scscf_txn *send_register(const char *to, unsigned cseq, const char *headers)
{
	struct sip_msg *m = make_register(to, cseq, headers);
	struct scscf_txn *t = scscf_reg_on_register(&s, REQ, m);

	sip_msg_free(m);
	return t;
}

/* The nonce="..." of the last 401. */
static void last_nonce(char *out, size_t outlen)
{
	const char *p = strstr(fx.headers, "nonce=\"");
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p += 7;
	n = strcspn(p, "\"");
	CU_ASSERT_FATAL(n < outlen);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* An Authorization line answering nonce with res (RFC 3310 3.3). */
static void authorization(char *out, size_t outlen, const char *nonce, const uint8_t *res,
                          size_t res_len)
{
	char ha1[DIGEST_HEX_SIZE], resp[DIGEST_HEX_SIZE];

	CU_ASSERT_EQUAL(digest_ha1(IMPI, REALM, res, res_len, ha1), 0);
	CU_ASSERT_EQUAL(digest_response(ha1, nonce, "00000001", "0a4f113b", "auth", "REGISTER",
	                                "sip:" REALM, NULL, 0, resp),
	                0);
	snprintf(out, outlen,
	         "Authorization: Digest username=\"" IMPI "\", realm=\"" REALM "\", "
	         "nonce=\"%s\", uri=\"sip:" REALM "\", response=\"%s\", algorithm=AKAv1-MD5, "
	         "qop=auth, nc=00000001, cnonce=\"0a4f113b\"\r\n",
	         nonce, resp);
}

/* Challenge round: REGISTER -> MAR -> 401; returns the vector and the nonce. */
static void challenge(const char *to, unsigned cseq, const char *headers, struct aka_vector *v,
                      char *nonce, size_t nonce_len)
{
	struct call c;

	CU_ASSERT_PTR_NOT_NULL(send_register(to, cseq, headers));
	c = take();
	answer_mar(&c, v);
	CU_ASSERT_EQUAL_FATAL(fx.status, 401);
	last_nonce(nonce, nonce_len);
}

/* A complete registration with the header lines lines (Contact, Expires, ...), ending
 * in 200 once the SAR of type sat is answered (User-Data when with_data). */
static void register_lines(const char *lines, unsigned *cseq, enum cx_sat sat, bool with_data)
{
	char hdrs[2048], nonce[64], auth[1024];
	struct aka_vector v;
	struct call c;

	challenge(IMPU, (*cseq)++, lines, &v, nonce, sizeof(nonce));
	authorization(auth, sizeof(auth), nonce, v.xres, 8);
	snprintf(hdrs, sizeof(hdrs), "%s%s", lines, auth);
	CU_ASSERT_PTR_NOT_NULL(send_register(IMPU, (*cseq)++, hdrs));
	c = take();
	answer_sar(&c, sat, with_data);
	CU_ASSERT_EQUAL(fx.status, 200);
}

/* A complete registration of contact with expires (the Expires header). */
static void register_fully(const char *contact, unsigned expires, unsigned *cseq, enum cx_sat sat,
                           bool with_data)
{
	char lines[512];

	snprintf(lines, sizeof(lines), "Contact: <%s>\r\nExpires: %u\r\nPath: " PATH "\r\n",
	         contact, expires);
	register_lines(lines, cseq, sat, with_data);
}

static void test_aka_registration(void)
{
	char hdrs[2048], nonce[64], auth[1024];
	struct aka_vector v;
	struct scscf_reg *r;
	struct call c;

	CU_ASSERT_FATAL(setup() == 0);
	/* First REGISTER: no Authorization, IMPI derived from the IMPU. */
	CU_ASSERT_PTR_NOT_NULL(
	    send_register(IMPU, 1, "Contact: <" CONTACT ">\r\nExpires: 600\r\nPath: " PATH "\r\n"));
	CU_ASSERT_EQUAL(fx.n_replies, 0);
	CU_ASSERT_EQUAL(s.n_txns, 1);
	c = take();
	CU_ASSERT_EQUAL(c.kind, CX_MAR);
	CU_ASSERT_STRING_EQUAL(c.mar.user_name, IMPI);
	CU_ASSERT_STRING_EQUAL(c.mar.public_identity, IMPU);
	CU_ASSERT_STRING_EQUAL(c.mar.item.scheme, CX_SCHEME_UNKNOWN);
	CU_ASSERT_STRING_EQUAL(c.mar.server_name, SERVER);
	CU_ASSERT_STRING_EQUAL(c.mar.hdr.dest_realm, REALM);
	CU_ASSERT_STRING_EQUAL(c.mar.hdr.dest_host, "hss.ims.alpha.test");
	CU_ASSERT_EQUAL(c.mar.number_auth_items, 1);
	answer_mar(&c, &v);
	CU_ASSERT_EQUAL(fx.status, 401);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "algorithm=AKAv1-MD5"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "realm=\"" REALM "\""));
	CU_ASSERT_PTR_NULL(strstr(fx.headers, "stale"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "ck=\""));
	CU_ASSERT_EQUAL(s.n_txns, 0);
	last_nonce(nonce, sizeof(nonce));
	{
		uint8_t raw[32];

		CU_ASSERT_EQUAL(codec_b64_decode(nonce, strlen(nonce), raw, sizeof(raw)), 32);
		CU_ASSERT_EQUAL(memcmp(raw, v.rand, 16), 0);
		CU_ASSERT_EQUAL(memcmp(raw + 16, v.autn, 16), 0);
	}

	/* Second REGISTER with the response: SAR REGISTRATION, then 200. */
	authorization(auth, sizeof(auth), nonce, v.xres, 8);
	snprintf(hdrs, sizeof(hdrs),
	         "Contact: <" CONTACT ">;expires=600\r\nPath: " PATH "\r\nSupported: path\r\n%s",
	         auth);
	CU_ASSERT_PTR_NOT_NULL(send_register(IMPU, 2, hdrs));
	c = take();
	CU_ASSERT_EQUAL(c.kind, CX_SAR);
	CU_ASSERT_EQUAL(c.sar.assignment_type, CX_SAT_REGISTRATION);
	CU_ASSERT_EQUAL(c.sar.user_data_available, CX_USER_DATA_NOT_AVAILABLE);
	CU_ASSERT_STRING_EQUAL(c.sar.user_name, IMPI);
	CU_ASSERT_STRING_EQUAL(c.sar.public_identities[0], IMPU);
	CU_ASSERT_STRING_EQUAL(c.sar.server_name, SERVER);
	CU_ASSERT_PTR_NULL(scscf_regtab_find(&s.regs, IMPU));
	answer_sar(&c, CX_SAT_REGISTRATION, true);
	CU_ASSERT_EQUAL(fx.status, 200);
	CU_ASSERT_STRING_EQUAL(fx.headers,
	                       "Contact: <" CONTACT ">;expires=600\r\n"
	                       "Expires: 600\r\n"
	                       "Path: " PATH "\r\n"
	                       "Service-Route: <sip:orig@scscf.ims.alpha.test:5060;lr>\r\n"
	                       "P-Associated-URI: <" IMPU ">, <" TEL ">\r\n");
	/* The whole implicit set finds the one record; the barred identity too. */
	r = scscf_regtab_find(&s.regs, IMPU);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_EQUAL(scscf_regtab_find(&s.regs, TEL), r);
	CU_ASSERT_PTR_EQUAL(scscf_regtab_find(&s.regs, "SIP:Alice@IMS.alpha.test"), r);
	CU_ASSERT_PTR_EQUAL(scscf_regtab_find(&s.regs, HIDDEN), r);
	CU_ASSERT_EQUAL(r->n_contacts, 1);
	CU_ASSERT_STRING_EQUAL(r->contacts->path, PATH);
	CU_ASSERT_EQUAL(r->contacts->cseq, 2);
	CU_ASSERT_NOT_EQUAL(r->timer, 0);
	CU_ASSERT_EQUAL(s.stats.reg_attempts[SCSCF_REG_INIT], 2);
	CU_ASSERT_EQUAL(s.stats.reg_success[SCSCF_REG_INIT], 1);
	CU_ASSERT_EQUAL(s.stats.challenges, 1);
	CU_ASSERT_EQUAL(s.stats.cx_requests[SCSCF_CX_MAR], 1);
	CU_ASSERT_EQUAL(s.stats.cx_latency_n[SCSCF_CX_SAR], 1);
	CU_ASSERT_EQUAL(s.n_txns, 0);
	CU_ASSERT_EQUAL(scscf_auth_count(s.auth), 0);
	{
		json_t *j = scscf_rest_reg_json(&s, r, TEL, loop_now(s.loop));
		char *txt = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

		CU_ASSERT_STRING_EQUAL(
		    txt,
		    "{\"associated_uris\":[\"" IMPU "\",\"" TEL "\"],\"barred_uris\":[\"" HIDDEN
		    "\"],\"contacts\":[{\"call_id\":\"reg-1@127.0.4.100\",\"cseq\":2,"
		    "\"expires_in\":600,\"path\":[\"" PATH "\"],\"q\":1.0,\"uri\":\"" CONTACT
		    "\"}],"
		    "\"impi\":\"" IMPI "\",\"impu\":\"" TEL "\",\"scscf\":\"" SERVER "\","
		    "\"service_route\":[\"<sip:orig@scscf.ims.alpha.test:5060;lr>\"],"
		    "\"state\":\"registered\"}");
		free(txt);
		json_decref(j);
	}
	teardown();
}

static void test_reregistration_and_bindings(void)
{
	unsigned cseq = 1;
	struct scscf_reg *r;

	CU_ASSERT_FATAL(setup() == 0);
	register_fully(CONTACT, 600, &cseq, CX_SAT_REGISTRATION, true);
	/* Re-registration: the profile is kept (User-Data-Already-Available). */
	register_fully(CONTACT, 1200, &cseq, CX_SAT_RE_REGISTRATION, false);
	r = scscf_regtab_find(&s.regs, IMPU);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->n_impus, 3);
	CU_ASSERT_EQUAL(r->n_contacts, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "Contact: <" CONTACT ">;expires=1200\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "P-Associated-URI: <" IMPU ">, <" TEL ">"));
	CU_ASSERT_EQUAL(s.stats.reg_success[SCSCF_REG_RE], 1);
	/* A second contact; over the maximum, expiry is cut to SCSCF_EXPIRES_MAX. */
	register_fully(CONTACT2, 99999, &cseq, CX_SAT_RE_REGISTRATION, false);
	CU_ASSERT_EQUAL(r->n_contacts, 2);
	CU_ASSERT_EQUAL(s.regs.n_contacts, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "Contact: <" CONTACT2 ">;expires=3600\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "Contact: <" CONTACT ">;expires=1200\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "Expires: 3600\r\n"));
	teardown();
}

static void test_deregistration(void)
{
	char hdrs[2048], nonce[64], auth[1024];
	unsigned cseq = 1;
	struct aka_vector v;
	struct call c;

	CU_ASSERT_FATAL(setup() == 0);
	register_fully(CONTACT, 600, &cseq, CX_SAT_REGISTRATION, true);
	register_fully(CONTACT2, 600, &cseq, CX_SAT_RE_REGISTRATION, false);
	/* Removing one binding of two: no Cx, 200 with the other. */
	challenge(IMPU, cseq++, "Contact: <" CONTACT2 ">;expires=0\r\n", &v, nonce, sizeof(nonce));
	authorization(auth, sizeof(auth), nonce, v.xres, 8);
	snprintf(hdrs, sizeof(hdrs), "Contact: <" CONTACT2 ">;expires=0\r\n%s", auth);
	CU_ASSERT_PTR_NULL(send_register(IMPU, cseq++, hdrs));
	CU_ASSERT_EQUAL(fx.status, 200);
	CU_ASSERT_EQUAL(fx.n_calls, 0);
	CU_ASSERT_STRING_EQUAL(fx.headers, "Contact: <" CONTACT ">;expires=600\r\n");
	CU_ASSERT_EQUAL(s.regs.n_contacts, 1);
	/* Contact: * with Expires: 0 (RFC 3261 10.2.2) from the tel identity: the set goes. */
	challenge(TEL, cseq++, "Contact: *\r\nExpires: 0\r\n" INIT_AUTH, &v, nonce, sizeof(nonce));
	CU_ASSERT_EQUAL(s.stats.challenges, 4);
	authorization(auth, sizeof(auth), nonce, v.xres, 8);
	snprintf(hdrs, sizeof(hdrs), "Contact: *\r\nExpires: 0\r\n%s", auth);
	CU_ASSERT_PTR_NOT_NULL(send_register(TEL, cseq++, hdrs));
	/* TS 24.229 5.4.1.4: the table is emptied first, the 200 waits for the SAA. */
	CU_ASSERT_PTR_NULL(scscf_regtab_find(&s.regs, IMPU));
	CU_ASSERT_EQUAL(s.regs.n_regs, 0);
	c = take();
	CU_ASSERT_STRING_EQUAL(c.sar.public_identities[0], TEL);
	answer_sar(&c, CX_SAT_USER_DEREGISTRATION, false);
	CU_ASSERT_EQUAL(fx.status, 200);
	CU_ASSERT_STRING_EQUAL(fx.headers, "");
	CU_ASSERT_EQUAL(s.stats.reg_success[SCSCF_REG_DE], 2);
	CU_ASSERT_EQUAL(s.n_txns, 0);
	teardown();
}

static void test_stale_wrong_resync(void)
{
	char hdrs[2048], nonce[64], auth[1024], auts_b64[32];
	uint8_t auts[AKA_AUTS_LEN], bad[8], zero[8] = {0};
	unsigned cseq = 1;
	struct aka_vector v;
	struct call c;

	CU_ASSERT_FATAL(setup() == 0);
	/* An unknown nonce: a fresh challenge says stale=true. */
	authorization(auth, sizeof(auth), "bm90LW91cnM=", zero, 8);
	snprintf(hdrs, sizeof(hdrs), "Contact: <" CONTACT ">\r\n%s", auth);
	CU_ASSERT_PTR_NOT_NULL(send_register(IMPU, cseq++, hdrs));
	c = take();
	answer_mar(&c, &v);
	CU_ASSERT_EQUAL(fx.status, 401);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "stale=true"));
	CU_ASSERT_EQUAL(s.stats.stale_challenges, 1);

	/* A wrong response: 403 and SAR AUTHENTICATION_FAILURE. */
	last_nonce(nonce, sizeof(nonce));
	memcpy(bad, v.xres, 8);
	bad[0] ^= 1;
	authorization(auth, sizeof(auth), nonce, bad, 8);
	snprintf(hdrs, sizeof(hdrs), "Contact: <" CONTACT ">\r\n%s", auth);
	CU_ASSERT_PTR_NULL(send_register(IMPU, cseq++, hdrs));
	CU_ASSERT_EQUAL(fx.status, 403);
	CU_ASSERT_EQUAL(s.stats.auth_failures, 1);
	c = take();
	CU_ASSERT_EQUAL(c.kind, CX_SAR);
	CU_ASSERT_EQUAL(c.sar.assignment_type, CX_SAT_AUTHENTICATION_FAILURE);
	answer_result(&c, DIA_SUCCESS, false);
	/* The vector is spent: the right answer now is stale. */
	authorization(auth, sizeof(auth), nonce, v.xres, 8);
	snprintf(hdrs, sizeof(hdrs), "Contact: <" CONTACT ">\r\n%s", auth);
	CU_ASSERT_PTR_NOT_NULL(send_register(IMPU, cseq++, hdrs));
	c = take();
	CU_ASSERT_EQUAL(c.kind, CX_MAR);
	answer_mar(&c, &v);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "stale=true"));

	/* Resync (TS 33.203 6.1.2): MAR with RAND||AUTS, then a new 401. */
	last_nonce(nonce, sizeof(nonce));
	CU_ASSERT_EQUAL(aka_auts_make(k1, opc1, v.rand, 0x5000, auts), 0);
	codec_b64_encode(auts, sizeof(auts), auts_b64, sizeof(auts_b64));
	snprintf(hdrs, sizeof(hdrs),
	         "Contact: <" CONTACT ">\r\nAuthorization: Digest username=\"" IMPI
	         "\", realm=\"" REALM "\", nonce=\"%s\", uri=\"sip:" REALM "\", "
	         "response=\"\", auts=\"%s\", algorithm=AKAv1-MD5\r\n",
	         nonce, auts_b64);
	CU_ASSERT_PTR_NOT_NULL(send_register(IMPU, cseq++, hdrs));
	c = take();
	CU_ASSERT_EQUAL(c.kind, CX_MAR);
	CU_ASSERT_STRING_EQUAL(c.mar.item.scheme, CX_SCHEME_AKAV1_MD5);
	CU_ASSERT_EQUAL(c.mar.item.authorization_len, 30);
	CU_ASSERT_EQUAL(memcmp(c.mar.item.authorization, v.rand, 16), 0);
	CU_ASSERT_EQUAL(memcmp(c.mar.item.authorization + 16, auts, AKA_AUTS_LEN), 0);
	CU_ASSERT_EQUAL(s.stats.resyncs, 1);
	/* The HSS rejects the AUTS (MAC-S): 403. */
	answer_result(&c, DIA_AUTHENTICATION_REJECTED, false);
	CU_ASSERT_EQUAL(fx.status, 403);
	CU_ASSERT_EQUAL(s.n_txns, 0);
	teardown();
}

static void expect_refusal(const char *to, const char *headers, int status, const char *reason)
{
	int before = fx.n_replies;

	CU_ASSERT_PTR_NULL(send_register(to, 1, headers));
	CU_ASSERT_EQUAL(fx.n_replies, before + 1);
	CU_ASSERT_EQUAL(fx.status, status);
	if (reason)
		CU_ASSERT_STRING_EQUAL(fx.reason, reason);
	CU_ASSERT_EQUAL(fx.n_calls, 0);
}

static void test_bad_input(void)
{
	CU_ASSERT_FATAL(setup() == 0);
	expect_refusal(IMPU, "", 400, "Missing Contact header");
	expect_refusal(IMPU, "Contact: <" CONTACT ">\r\nExpires: 30\r\n", 423,
	               "Interval Too Brief");
	CU_ASSERT_STRING_EQUAL(fx.headers, "Min-Expires: 60\r\n");
	expect_refusal(IMPU, "Contact: <" CONTACT ">;expires=59\r\n", 423, NULL);
	expect_refusal(IMPU, "Contact: *\r\nExpires: 5\r\n", 400,
	               "Contact * needs Expires 0 and no other Contact");
	expect_refusal(IMPU, "Contact: *\r\nContact: <" CONTACT ">\r\nExpires: 0\r\n", 400, NULL);
	expect_refusal(IMPU, "Contact: <" CONTACT ">\r\nExpires: soon\r\n", 400,
	               "Bad Expires header");
	expect_refusal(IMPU, "Contact: <" CONTACT ">\r\nAuthorization: Digest realm=\"x\r\n", 400,
	               "Malformed Authorization header");
	expect_refusal("http://alice@ims.alpha.test", "Contact: <" CONTACT ">\r\n", 400,
	               "Unsupported To URI scheme");
	expect_refusal(IMPU,
	               "Contact: <sip:a@1>, <sip:b@1>, <sip:c@1>, <sip:d@1>, <sip:e@1>, <sip:f@1>, "
	               "<sip:g@1>, <sip:h@1>, <sip:i@1>\r\n",
	               400, "Too Many Contacts");
	/* RFC 3261 20.10: q is 0 to 1 with at most three decimals, a token. */
	expect_refusal(IMPU, "Contact: <" CONTACT ">;q=2\r\n", 400, "Bad q parameter in Contact");
	expect_refusal(IMPU, "Contact: <" CONTACT ">;q=0.1234\r\n", 400,
	               "Bad q parameter in Contact");
	expect_refusal(IMPU, "Contact: <" CONTACT ">;q=abc\r\n", 400, "Bad q parameter in Contact");
	expect_refusal(IMPU, "Contact: <" CONTACT ">, <" CONTACT2 ">;expires=600;q\r\n", 400,
	               "Bad q parameter in Contact");
	CU_ASSERT_EQUAL(s.stats.reg_rejected, 13);
	CU_ASSERT_EQUAL(s.n_txns, 0);
	teardown();
}

static void test_cx_failures(void)
{
	struct call c;

	CU_ASSERT_FATAL(setup() == 0);
	/* TS 29.229 DIAMETER_ERROR_USER_UNKNOWN: 403. */
	CU_ASSERT_PTR_NOT_NULL(send_register(IMPU, 1, "Contact: <" CONTACT ">\r\n"));
	c = take();
	answer_result(&c, CX_ERROR_USER_UNKNOWN, true);
	CU_ASSERT_EQUAL(fx.status, 403);
	/* No answer in time: 480, as the I-CSCF answers. */
	CU_ASSERT_PTR_NOT_NULL(send_register(IMPU, 2, "Contact: <" CONTACT ">\r\n"));
	c = take();
	answer(&c, -ETIMEDOUT, NULL);
	CU_ASSERT_EQUAL(fx.status, 480);
	for (size_t k = 0; k < SCSCF_CX_RESULTS; k++)
		if (strcmp(scscf_cx_result_label(k), "timeout") == 0)
			CU_ASSERT_EQUAL(s.stats.cx_answers[SCSCF_CX_MAR][k], 1);
	/* freeDiameter's own 3002 (no route to the HSS): 480. */
	CU_ASSERT_PTR_NOT_NULL(send_register(IMPU, 3, "Contact: <" CONTACT ">\r\n"));
	c = take();
	answer_result(&c, DIA_UNABLE_TO_DELIVER, false);
	CU_ASSERT_EQUAL(fx.status, 480);
	/* The request cannot even be sent: 500. */
	fx.fail_send = -ENOMEM;
	CU_ASSERT_PTR_NULL(send_register(IMPU, 4, "Contact: <" CONTACT ">\r\n"));
	CU_ASSERT_EQUAL(fx.status, 500);
	CU_ASSERT_EQUAL(s.stats.reg_failures[SCSCF_REG_INIT], 4);
	CU_ASSERT_EQUAL(s.n_txns, 0);
	teardown();
}

static void test_transaction_gone(void)
{
	char hdrs[2048], nonce[64], auth[1024];
	struct scscf_txn *t;
	struct aka_vector v;
	struct call c;
	int replies;

	CU_ASSERT_FATAL(setup() == 0);
	/* Gone while the MAR is out: the answer touches nothing, the context goes once. */
	t = send_register(IMPU, 1, "Contact: <" CONTACT ">\r\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	scscf_txn_gone(t);
	CU_ASSERT_FALSE(scscf_txn_settle(t));
	CU_ASSERT_EQUAL(s.n_txns, 1);
	replies = fx.n_replies;
	c = take();
	answer_mar(&c, &v);
	CU_ASSERT_EQUAL(fx.n_replies, replies);
	CU_ASSERT_EQUAL(s.n_txns, 0);
	CU_ASSERT_EQUAL(scscf_auth_count(s.auth), 0);

	/* Gone while the SAR is out: the registration is stored anyway (the HSS has it). */
	challenge(IMPU, 2, "Contact: <" CONTACT ">\r\n", &v, nonce, sizeof(nonce));
	authorization(auth, sizeof(auth), nonce, v.xres, 8);
	snprintf(hdrs, sizeof(hdrs), "Contact: <" CONTACT ">\r\n%s", auth);
	t = send_register(IMPU, 3, hdrs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	scscf_txn_gone(t);
	scscf_txn_settle(t);
	replies = fx.n_replies;
	c = take();
	answer_sar(&c, CX_SAT_REGISTRATION, true);
	CU_ASSERT_EQUAL(fx.n_replies, replies);
	CU_ASSERT_PTR_NOT_NULL(scscf_regtab_find(&s.regs, IMPU));
	CU_ASSERT_EQUAL(s.n_txns, 0);
	teardown();
}

static void test_out_of_order(void)
{
	char hdrs[2048], nonce[64], auth[1024];
	unsigned cseq = 10;
	struct aka_vector v;

	CU_ASSERT_FATAL(setup() == 0);
	register_fully(CONTACT, 600, &cseq, CX_SAT_REGISTRATION, true);
	/* RFC 3261 10.3 step 7: same Call-ID, CSeq not above the binding's (11): refused. */
	challenge(IMPU, 5, "Contact: <" CONTACT ">\r\n", &v, nonce, sizeof(nonce));
	authorization(auth, sizeof(auth), nonce, v.xres, 8);
	snprintf(hdrs, sizeof(hdrs), "Contact: <" CONTACT ">\r\n%s", auth);
	CU_ASSERT_PTR_NULL(send_register(IMPU, 11, hdrs));
	CU_ASSERT_EQUAL(fx.status, 500);
	CU_ASSERT_EQUAL(fx.n_calls, 0);
	CU_ASSERT_EQUAL(scscf_regtab_find(&s.regs, IMPU)->contacts->cseq, 11);
	teardown();
}

static void test_expiry(void)
{
	unsigned cseq = 1;
	struct scscf_reg *r;
	struct call c;
	uint64_t now;

	CU_ASSERT_FATAL(setup() == 0);
	register_fully(CONTACT, 600, &cseq, CX_SAT_REGISTRATION, true);
	register_fully(CONTACT2, 60, &cseq, CX_SAT_RE_REGISTRATION, false);
	r = scscf_regtab_find(&s.regs, IMPU);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	now = loop_now(s.loop);
	CU_ASSERT_EQUAL(r->timer_due, now + 60000);
	/* The short binding goes, the registration stays, the timer moves on. */
	scscf_reg_expire(&s, r, now + 60000);
	CU_ASSERT_EQUAL(r->n_contacts, 1);
	CU_ASSERT_EQUAL(r->timer_due, now + 600000);
	CU_ASSERT_EQUAL(fx.n_calls, 0);
	/* The last one: SAR TIMEOUT_DEREGISTRATION and the set is gone. */
	scscf_reg_expire(&s, r, now + 600000);
	CU_ASSERT_EQUAL(s.regs.n_regs, 0);
	CU_ASSERT_PTR_NULL(scscf_regtab_find(&s.regs, TEL));
	c = take();
	CU_ASSERT_EQUAL(c.kind, CX_SAR);
	CU_ASSERT_EQUAL(c.sar.assignment_type, CX_SAT_TIMEOUT_DEREGISTRATION);
	CU_ASSERT_STRING_EQUAL(c.sar.user_name, IMPI);
	CU_ASSERT_STRING_EQUAL(c.sar.public_identities[0], IMPU);
	answer_result(&c, DIA_SUCCESS, false);
	CU_ASSERT_EQUAL(s.stats.bindings_expired, 2);
	CU_ASSERT_EQUAL(s.stats.regs_expired, 1);
	teardown();
}

static void test_regtab(void)
{
	struct scscf_identity ids[2] = {{"sip:a@x", false}, {"tel:+1", true}};
	struct scscf_identity other[1] = {{"sip:A@X", false}};
	struct scscf_binding b = {.uri = "sip:a@1", .expires = 100};
	struct scscf_regtab t;
	struct scscf_reg *r, *r2;
	int err;

	CU_ASSERT_EQUAL_FATAL(scscf_regtab_init(&t, 2, NULL), 0);
	r = scscf_regtab_add(&t, "a@x", ids, 2, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(scscf_regtab_default_impu(r), "sip:a@x");
	/* An IMPU already indexed stays with its first registration. */
	r2 = scscf_regtab_add(&t, "b@x", other, 1, &err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
	CU_ASSERT_PTR_EQUAL(scscf_regtab_find(&t, "sip:a@x"), r);
	CU_ASSERT_PTR_NULL(scscf_regtab_add(&t, "c@x", ids, 1, &err));
	CU_ASSERT_EQUAL(err, -ENOSPC);
	scscf_regtab_remove(&t, r2);

	/* Add, refresh (Call-ID/CSeq), remove. */
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, r, &b, "", "c1", 1, 1000), 0);
	CU_ASSERT_EQUAL(r->contacts->expires_ms, 101000);
	CU_ASSERT_FALSE(scscf_regtab_in_order(r, "sip:a@1", "c1", 1));
	CU_ASSERT_TRUE(scscf_regtab_in_order(r, "sip:a@1", "c1", 2));
	CU_ASSERT_TRUE(scscf_regtab_in_order(r, "sip:a@1", "c2", 1));
	CU_ASSERT_TRUE(scscf_regtab_in_order(r, "sip:other@1", "c1", 1));
	b.expires = 200;
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, r, &b, PATH, "c1", 2, 2000), 0);
	CU_ASSERT_EQUAL(r->n_contacts, 1);
	CU_ASSERT_EQUAL(r->contacts->expires_ms, 202000);
	CU_ASSERT_STRING_EQUAL(r->contacts->path, PATH);
	CU_ASSERT_EQUAL(scscf_regtab_next_expiry(r), 202000);
	/* Beyond SCSCF_CONTACTS_MAX the binding closest to expiry makes room. */
	for (unsigned i = 0; i < SCSCF_CONTACTS_MAX; i++) {
		struct scscf_binding bi = {.uri = "", .expires = 300 + i};

		snprintf(bi.uri, sizeof(bi.uri), "sip:n%u@1", i);
		CU_ASSERT_EQUAL(scscf_regtab_bind(&t, r, &bi, "", "c9", 1, 2000), 0);
	}
	CU_ASSERT_EQUAL(r->n_contacts, SCSCF_CONTACTS_MAX);
	CU_ASSERT_PTR_NULL(scscf_regtab_contact(r, "sip:a@1"));
	CU_ASSERT_PTR_NOT_NULL(scscf_regtab_contact(r, "SIP:N0@1"));
	b.expires = 0;
	snprintf(b.uri, sizeof(b.uri), "sip:n3@1");
	CU_ASSERT_EQUAL(scscf_regtab_bind(&t, r, &b, "", "c9", 2, 3000), 0);
	CU_ASSERT_EQUAL(r->n_contacts, SCSCF_CONTACTS_MAX - 1);
	CU_ASSERT_EQUAL(t.n_contacts, SCSCF_CONTACTS_MAX - 1);
	CU_ASSERT_EQUAL(scscf_regtab_expire(&t, r, 2000 + 302000), 3);
	scscf_regtab_unbind_all(&t, r);
	CU_ASSERT_EQUAL(t.n_contacts, 0);
	CU_ASSERT_EQUAL(scscf_regtab_next_expiry(r), 0);
	/* A new implicit set re-indexes. */
	scscf_regtab_set_identities(&t, r, other, 1);
	CU_ASSERT_PTR_NULL(scscf_regtab_find(&t, "tel:+1"));
	CU_ASSERT_PTR_EQUAL(scscf_regtab_find(&t, "sip:a@x"), r);
	scscf_regtab_fini(&t);
}

static void test_expiry_policy(void)
{
	struct scscf bad = {.expiry = {.min = 100, .max = 50}};

	CU_ASSERT_EQUAL(scscf_reg_init(&bad), -EINVAL);
	CU_ASSERT_FATAL(setup() == 0);
	CU_ASSERT_EQUAL(s.expiry.min, SCSCF_EXPIRES_MIN);
	CU_ASSERT_EQUAL(s.expiry.max, SCSCF_EXPIRES_MAX);
	CU_ASSERT_EQUAL(s.expiry.dflt, SCSCF_EXPIRES_DEFAULT);
	/* --min-expires 2 (the e2e tests' setting). */
	s.expiry.min = 2;
	expect_refusal(IMPU, "Contact: <" CONTACT ">\r\nExpires: 1\r\n", 423, NULL);
	CU_ASSERT_STRING_EQUAL(fx.headers, "Min-Expires: 2\r\n");
	CU_ASSERT_PTR_NOT_NULL(send_register(IMPU, 2, "Contact: <" CONTACT ">\r\nExpires: 2\r\n"));
	answer_result(&fx.calls[0], CX_ERROR_USER_UNKNOWN, true);
	fx.n_calls = 0;
	teardown();
}

static void test_qvalue(void)
{
	static const struct {
		const char *text; /* the q parameter's value */
		int q;            /* thousandths, -1 when invalid */
	} cases[] = {
	    {"1", 1000},    {"0.5", 500},   {"0.125", 125}, {"1.0", 1000},   {"1.000", 1000},
	    {"0", 0},       {"0.", 0},      {"1.", 1000},   {"0.05", 50},    {"0.999", 999},
	    {"2", -1},      {"0.1234", -1}, {"abc", -1},    {"", -1},        {"1.5", -1},
	    {"1.0001", -1}, {".5", -1},     {"0,5", -1},    {"\"0.5\"", -1}, {"-0.5", -1},
	    {"01", -1},     {"0.5x", -1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint16_t q = 4242;
		int rc = scscf_reg_qvalue(cases[i].text, strlen(cases[i].text), &q);

		if (cases[i].q < 0) {
			CU_ASSERT_EQUAL(rc, -EINVAL);
			CU_ASSERT_EQUAL(q, 4242);
		} else {
			CU_ASSERT_EQUAL(rc, 0);
			CU_ASSERT_EQUAL(q, cases[i].q);
		}
	}
}

/* RFC 3261 10.2.1.2: q stored per binding, 1.0 when absent, echoed when given, shown in
 * the REST view; a refresh without q returns the binding to 1.0. */
static void test_q_registration(void)
{
	const struct scscf_contact *c;
	struct scscf_reg *r;
	unsigned cseq = 1;
	json_t *j, *list;

	CU_ASSERT_FATAL(setup() == 0);
	register_lines("Contact: <" CONTACT ">;q=0.5;expires=600, <" CONTACT2 ">\r\n"
	               "Contact: <sip:alice@127.0.4.102:5060>;q=0.125\r\n"
	               "Expires: 600\r\nPath: " PATH "\r\n",
	               &cseq, CX_SAT_REGISTRATION, true);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "Contact: <" CONTACT ">;expires=600;q=0.5\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "Contact: <" CONTACT2 ">;expires=600\r\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(fx.headers, "Contact: <sip:alice@127.0.4.102:5060>;expires=600;q=0.125\r\n"));
	r = scscf_regtab_find(&s.regs, IMPU);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->n_contacts, 3);
	c = scscf_regtab_contact(r, CONTACT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->q, 500);
	CU_ASSERT_TRUE(c->has_q);
	c = scscf_regtab_contact(r, CONTACT2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->q, SCSCF_Q_DEFAULT);
	CU_ASSERT_FALSE(c->has_q);

	j = scscf_rest_reg_json(&s, r, IMPU, loop_now(s.loop));
	list = json_object_get(j, "contacts");
	CU_ASSERT_EQUAL_FATAL(json_array_size(list), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *e = json_array_get(list, i);
		const char *uri = json_string_value(json_object_get(e, "uri"));
		double q = json_real_value(json_object_get(e, "q"));

		CU_ASSERT_PTR_NOT_NULL_FATAL(uri);
		CU_ASSERT_TRUE(json_is_real(json_object_get(e, "q")));
		CU_ASSERT_DOUBLE_EQUAL(q,
		                       strcmp(uri, CONTACT) == 0    ? 0.5
		                       : strcmp(uri, CONTACT2) == 0 ? 1.0
		                                                    : 0.125,
		                       1e-9);
	}
	json_decref(j);

	/* A refresh that gives q=1.0 is echoed as given; one without q goes back to 1.0. */
	register_lines("Contact: <" CONTACT ">;q=1.0\r\nContact: <" CONTACT2 ">;q=0\r\n"
	               "Expires: 600\r\nPath: " PATH "\r\n",
	               &cseq, CX_SAT_RE_REGISTRATION, false);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "Contact: <" CONTACT ">;expires=600;q=1.0\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "Contact: <" CONTACT2 ">;expires=600;q=0.0\r\n"));
	CU_ASSERT_EQUAL(scscf_regtab_contact(r, CONTACT2)->q, 0);
	register_fully(CONTACT, 600, &cseq, CX_SAT_RE_REGISTRATION, false);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx.headers, "Contact: <" CONTACT ">;expires=600\r\n"));
	CU_ASSERT_EQUAL(scscf_regtab_contact(r, CONTACT)->q, SCSCF_Q_DEFAULT);
	CU_ASSERT_FALSE(scscf_regtab_contact(r, CONTACT)->has_q);
	teardown();
}

static void test_impi_from_impu(void)
{
	char out[64];

	CU_ASSERT_EQUAL(
	    scscf_reg_impi_from_impu("sip:alice@ims.alpha.test:5060;user=phone", out, sizeof(out)),
	    0);
	CU_ASSERT_STRING_EQUAL(out, "alice@ims.alpha.test");
	CU_ASSERT_EQUAL(scscf_reg_impi_from_impu("tel:+15550001;phone-context=x", out, sizeof(out)),
	                0);
	CU_ASSERT_STRING_EQUAL(out, "+15550001");
	CU_ASSERT_EQUAL(scscf_reg_impi_from_impu("sips:bob@[::1]:5061", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "bob@[::1]");
	CU_ASSERT_EQUAL(scscf_reg_impi_from_impu("mailto:x@y", out, sizeof(out)), -EINVAL);
	CU_ASSERT_EQUAL(scscf_reg_impi_from_impu("sip:", out, sizeof(out)), -EINVAL);
}

int test_scscf_reg_register(void)
{
	static CU_TestInfo tests[] = {
	    {"AKA registration: MAR, 401, SAR, 200", test_aka_registration},
	    {"re-registration and several bindings", test_reregistration_and_bindings},
	    {"de-registration of a binding, then Contact *", test_deregistration},
	    {"stale nonce, wrong response, resync", test_stale_wrong_resync},
	    {"bad input: 400 and 423", test_bad_input},
	    {"Cx failures: 403, 480, 500", test_cx_failures},
	    {"transaction gone during MAR and SAR", test_transaction_gone},
	    {"out-of-order CSeq (RFC 3261 10.3 step 7)", test_out_of_order},
	    {"binding expiry and SAR TIMEOUT_DEREGISTRATION", test_expiry},
	    {"registrations table", test_regtab},
	    {"expiry policy (--min-expires)", test_expiry_policy},
	    {"IMPI derived from the IMPU", test_impi_from_impu},
	    {"qvalue syntax (RFC 3261 20.10)", test_qvalue},
	    {"q of each binding: stored, echoed, shown", test_q_registration},
	    CU_TEST_INFO_NULL,
	};
	int rc = unit_add_suite("scscf_reg", tests);

	/* The routing suite rides along until unit.h lists it. */
	return rc == CUE_SUCCESS ? test_scscf_route_register() : rc;
}
