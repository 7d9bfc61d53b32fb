/* Tests for pcscf/pcscf_reg.c: the edits of a UE's REGISTER (Path, Require: path,
 * sec-agree and UE-supplied headers dropped, P-Visited-Network-ID) compared byte for
 * byte with a golden file, ck/ik taken out of a 401, and what a 200 OK registers (or
 * de-registers). Raw messages live in tests/fixtures/pcscf/; paths are relative to the
 * repository root, where make runs tests. */
#include "pcscf.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIXTURES "tests/fixtures/pcscf/"
#define PATH     "<sip:term@pcscf.ims.alpha.test:5060;lr>"
#define PVNI     "\"ims.alpha.test\""

/* The parsed fixture name, or NULL. */
static struct sip_msg *parse_fixture(const char *name)
{
	return unit_fixture_parse(FIXTURES, name);
}

/* The message with its edits, malloc'd and NUL-terminated. */
static char *render(const struct sip_msg *m)
{
	size_t len = sip_msg_render_len(m);
	char *out = malloc(len + 1);

	if (out && sip_msg_render(m, out, len + 1) != (ssize_t)len) {
		free(out);
		out = NULL;
	}
	return out;
}

static bool span_eq(struct sip_span v, const char *s)
{
	return v.len == strlen(s) && (v.len == 0 || memcmp(v.p, s, v.len) == 0);
}

static void test_edit_register(void)
{
	struct sip_msg *m = parse_fixture("register-ue.sip");
	size_t len = 0;
	char *want = unit_fixture_load(FIXTURES, "register-ue-forwarded.sip", &len), *got;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	CU_ASSERT_EQUAL(pcscf_reg_edit_request(m, PATH, PVNI), 0);
	got = render(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, want);
	/* What the UE sent stays readable; only the rendering changes. */
	CU_ASSERT_EQUAL(sip_msg_header_values(m, "Security-Client"), 1);
	free(got);
	free(want);
	sip_msg_free(m);
}

static void test_edit_without_supported_path(void)
{
	struct sip_msg *m = parse_fixture("register-nopath.sip"), *out = NULL;
	char *got;
	size_t len;
	const char *v;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(pcscf_reg_edit_request(m, PATH, PVNI), 0);
	got = render(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(got, strlen(got), &out, NULL, 0), 0);
	/* RFC 3327 5.2: no Require: path imposed on a UE that did not announce it. */
	CU_ASSERT_EQUAL(sip_msg_header_values(out, "Require"), 1);
	v = sip_msg_header(out, "Require", &len);
	CU_ASSERT(v && len == 5 && memcmp(v, "timer", 5) == 0);
	v = sip_msg_header(out, "Path", &len);
	CU_ASSERT(v && span_eq((struct sip_span){v, len}, PATH));
	v = sip_msg_header(out, "P-Visited-Network-ID", &len);
	CU_ASSERT(v && span_eq((struct sip_span){v, len}, PVNI));
	CU_ASSERT_PTR_NULL(strstr(got, "sec-agree"));
	sip_msg_free(out);
	free(got);
	sip_msg_free(m);
}

static void test_edit_refuses_bad_values(void)
{
	struct sip_msg *m = parse_fixture("register-nopath.sip");
	char *got;
	size_t len = 0;
	char *raw = unit_fixture_load(FIXTURES, "register-nopath.sip", &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	CU_ASSERT(pcscf_reg_edit_request(m, "<sip:x>\r\nEvil: 1", PVNI) < 0);
	/* A failed edit leaves the message as received. */
	got = render(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, raw);
	free(got);
	free(raw);
	sip_msg_free(m);
}

/* Replaced headers that are the last lines: removal and append meet at one offset. */
static void test_edit_last_lines(void)
{
	static const char text[] = "REGISTER sip:ims.alpha.test SIP/2.0\r\n"
	                           "Via: SIP/2.0/UDP 127.0.1.100;branch=z9hG4bK-1\r\n"
	                           "From: <sip:a@ims.alpha.test>;tag=1\r\n"
	                           "To: <sip:a@ims.alpha.test>\r\nCall-ID: x\r\n"
	                           "CSeq: 1 REGISTER\r\nContact: <sip:a@127.0.1.100>\r\n"
	                           "Supported: path\r\nP-Visited-Network-ID: forged\r\n"
	                           "Require: sec-agree\r\n\r\n";
	static const char want[] = "REGISTER sip:ims.alpha.test SIP/2.0\r\n"
	                           "Path: " PATH "\r\n"
	                           "Via: SIP/2.0/UDP 127.0.1.100;branch=z9hG4bK-1\r\n"
	                           "From: <sip:a@ims.alpha.test>;tag=1\r\n"
	                           "To: <sip:a@ims.alpha.test>\r\nCall-ID: x\r\n"
	                           "CSeq: 1 REGISTER\r\nContact: <sip:a@127.0.1.100>\r\n"
	                           "Supported: path\r\nRequire: path\r\n"
	                           "P-Visited-Network-ID: " PVNI "\r\n\r\n";
	struct sip_msg *m = NULL;
	char *got;

	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(text, sizeof(text) - 1, &m, NULL, 0), 0);
	CU_ASSERT_EQUAL(pcscf_reg_edit_request(m, PATH, PVNI), 0);
	got = render(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, want);
	free(got);
	sip_msg_free(m);
}

static void test_take_keys(void)
{
	static const uint8_t ck[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	                               0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const uint8_t ik[16] = {0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88,
	                               0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00};
	struct sip_msg *m = parse_fixture("401-aka.sip");
	struct pcscf_sa sa;
	char *got;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(pcscf_reg_take_keys(m, &sa), 2);
	CU_ASSERT(sa.set);
	CU_ASSERT_EQUAL(memcmp(sa.ck, ck, 16), 0);
	CU_ASSERT_EQUAL(memcmp(sa.ik, ik, 16), 0);
	got = render(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_PTR_NULL(strstr(got, "ck="));
	CU_ASSERT_PTR_NULL(strstr(got, "ik="));
	CU_ASSERT_PTR_NOT_NULL(strstr(
	    got, "WWW-Authenticate: Digest realm=\"ims.alpha.test\", "
	         "nonce=\"3q2+7wAAAAAAAAAAAAAAAN6tvu8AAAAAAAAAAAAAAAA=\", algorithm=AKAv1-MD5, "
	         "qop=\"auth\"\r\n"));
	free(got);
	sip_msg_free(m);
}

static void test_take_keys_md5(void)
{
	struct sip_msg *m = parse_fixture("401-md5.sip");
	size_t len = 0;
	char *raw = unit_fixture_load(FIXTURES, "401-md5.sip", &len), *got;
	struct pcscf_sa sa;

	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
	CU_ASSERT_EQUAL(pcscf_reg_take_keys(m, &sa), 0);
	CU_ASSERT_FALSE(sa.set);
	got = render(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got);
	CU_ASSERT_STRING_EQUAL(got, raw);
	free(got);
	free(raw);
	sip_msg_free(m);
}

static struct sockaddr_in ue_addr(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(5060)};

	inet_pton(AF_INET, "127.0.1.100", &a.sin_addr);
	return a;
}

static void test_binding_from_200(void)
{
	struct sip_msg *req = parse_fixture("register-ue.sip");
	struct sip_msg *resp = parse_fixture("200-register.sip");
	struct sockaddr_in src = ue_addr();
	struct pcscf_binding b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(resp);
	CU_ASSERT_EQUAL_FATAL(pcscf_reg_binding(req, resp, &src, SIP_PROTO_UDP, 0, &b), 1);
	CU_ASSERT(span_eq(b.impu, "sip:alice@ims.alpha.test"));
	CU_ASSERT(span_eq(b.impi, "alice@ims.alpha.test"));
	CU_ASSERT(span_eq(b.contact, "sip:alice@127.0.1.100:5060"));
	/* The UE's own binding (second Contact of the 200), not the first or the header. */
	CU_ASSERT_EQUAL(b.expires, 590);
	CU_ASSERT_EQUAL(b.ue.sin_port, htons(5060));
	CU_ASSERT_EQUAL_FATAL(b.n_assoc, 3);
	CU_ASSERT(span_eq(b.assoc[0], "sip:alice@ims.alpha.test"));
	CU_ASSERT(span_eq(b.assoc[1], "tel:+15550001"));
	CU_ASSERT(span_eq(b.assoc[2], "sip:alice-work@ims.alpha.test"));
	CU_ASSERT_EQUAL_FATAL(b.n_service_route, 2);
	CU_ASSERT(span_eq(b.service_route[0], "<sip:orig@scscf.ims.alpha.test:5060;lr>"));
	CU_ASSERT(span_eq(b.service_route[1], "<sip:orig2@scscf.ims.alpha.test:5060;lr>"));
	sip_msg_free(resp);
	sip_msg_free(req);
}

static void test_binding_gone(void)
{
	struct sip_msg *req = parse_fixture("register-ue.sip");
	struct sip_msg *dereg = parse_fixture("register-dereg.sip");
	struct sip_msg *gone = parse_fixture("200-gone.sip");
	struct sip_msg *ok = parse_fixture("200-register.sip");
	struct sockaddr_in src = ue_addr();
	struct pcscf_binding b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dereg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(gone);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
	/* The registrar dropped the UE's contact. */
	CU_ASSERT_EQUAL(pcscf_reg_binding(req, gone, &src, SIP_PROTO_UDP, 0, &b), 0);
	/* expires=0 asked: a de-registration whatever the 200 lists. */
	CU_ASSERT_EQUAL(pcscf_reg_binding(dereg, ok, &src, SIP_PROTO_UDP, 0, &b), 0);
	CU_ASSERT(span_eq(b.impu, "sip:alice@ims.alpha.test"));
	sip_msg_free(ok);
	sip_msg_free(gone);
	sip_msg_free(dereg);
	sip_msg_free(req);
}

static void test_binding_route_bound(void)
{
	char resp_text[4096];
	struct sip_msg *req = parse_fixture("register-ue.sip"), *resp = NULL;
	struct sockaddr_in src = ue_addr();
	struct pcscf_binding b;
	int n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	n = snprintf(resp_text, sizeof(resp_text),
	             "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.1.100:5060;branch=z9hG4bK-ue-1\r\n"
	             "From: <sip:alice@ims.alpha.test>;tag=ue-1\r\n"
	             "To: <sip:alice@ims.alpha.test>;tag=s\r\nCall-ID: reg-1@127.0.1.100\r\n"
	             "CSeq: 1 REGISTER\r\nContact: <sip:alice@127.0.1.100:5060>;expires=60\r\n");
	for (int i = 0; i <= PCSCF_ROUTE_MAX; i++)
		n += snprintf(resp_text + n, sizeof(resp_text) - (size_t)n,
		              "Service-Route: <sip:orig%d@scscf.ims.alpha.test;lr>\r\n", i);
	n += snprintf(resp_text + n, sizeof(resp_text) - (size_t)n, "Content-Length: 0\r\n\r\n");
	CU_ASSERT_EQUAL_FATAL(sip_msg_parse(resp_text, (size_t)n, &resp, NULL, 0), 0);
	CU_ASSERT_EQUAL(pcscf_reg_binding(req, resp, &src, SIP_PROTO_UDP, 0, &b), -EMSGSIZE);
	sip_msg_free(resp);
	sip_msg_free(req);
}

static void test_uri_and_impi(void)
{
	static const struct {
		const char *value; /* header value */
		const char *uri;   /* the URI expected ("" for none) */
	} cases[] = {
	    {"\"A <b>\" <sip:x@y>;tag=1", "sip:x@y"},
	    {"sip:x@y;tag=1", "sip:x@y"},
	    {"  <tel:+15550001>  ", "tel:+15550001"},
	    {"<sip:x@y", ""},
	    {"", ""},
	};
	struct sip_msg *m = parse_fixture("register-nopath.sip");
	struct sip_msg *ue = parse_fixture("register-ue.sip");
	struct sip_span impu = {"sip:carol@ims.alpha.test", 24};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sip_span v = {cases[i].value, strlen(cases[i].value)};

		CU_ASSERT(span_eq(sip_msg_addr_uri(v), cases[i].uri));
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ue);
	/* No Authorization: the IMPU without "sip:" (ims.md). */
	CU_ASSERT(span_eq(pcscf_reg_impi(m, impu), "carol@ims.alpha.test"));
	CU_ASSERT(span_eq(pcscf_reg_impi(ue, impu), "alice@ims.alpha.test"));
	sip_msg_free(ue);
	sip_msg_free(m);
}

int test_pcscf_reg_register(void)
{
	static CU_TestInfo tests[] = {
	    {"REGISTER edits match the golden file", test_edit_register},
	    {"no Require: path without Supported: path", test_edit_without_supported_path},
	    {"a failed edit leaves the message intact", test_edit_refuses_bad_values},
	    {"edits of headers on the last lines", test_edit_last_lines},
	    {"ck/ik taken from the 401 and stripped", test_take_keys},
	    {"MD5 401 untouched, no SA", test_take_keys_md5},
	    {"binding from a 200 with Service-Route and P-Associated-URI", test_binding_from_200},
	    {"de-registration and dropped contact", test_binding_gone},
	    {"Service-Route over the bound refused", test_binding_route_bound},
	    {"URI of a value, IMPI of a REGISTER", test_uri_and_impi},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("pcscf_reg", tests);
}
