/* Tests for common/sip_msg.c: the index of raw messages in tests/fixtures/sip/ (compact
 * forms, folding, comma-separated values), typed views, the 400 reasons of broken
 * messages, forwarding edits compared byte for byte with the fixture plus hand-written
 * substitutions, and responses built from requests. Paths are relative to the
 * repository root, where make runs tests. */
#include "sip_msg.h"
#include "unit.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIP_FIXTURES "tests/fixtures/sip/"

/* A parsed fixture and its raw text. */
struct fx {
	char *raw;         /* owned; fixture bytes, NUL-terminated */
	size_t len;        /* bytes in raw */
	struct sip_msg *m; /* owned; parsed message */
};

static int fx_open(struct fx *fx, const char *name)
{
	char why[128];
	int r;

	fx->m = NULL;
	fx->raw = unit_fixture_load(SIP_FIXTURES, name, &fx->len);
	if (!fx->raw)
		return -ENOENT;
	r = sip_msg_parse(fx->raw, fx->len, &fx->m, why, sizeof(why));
	if (r < 0)
		fprintf(stderr, "\n%s: %s\n", name, why);
	return r;
}

static void fx_close(struct fx *fx)
{
	sip_msg_free(fx->m);
	free(fx->raw);
}

/* raw with each pair (pairs[2i] -> pairs[2i+1]) replaced at its first occurrence; a
 * missing pattern fails the test and yields NULL. */
static char *substitute(const char *raw, const char *const *pairs, size_t n_pairs)
{
	char *cur = strdup(raw);

	for (size_t i = 0; cur && i < n_pairs; i++) {
		const char *from = pairs[2 * i], *to = pairs[2 * i + 1];
		char *at = strstr(cur, from), *next;
		size_t head, flen = strlen(from), tlen = strlen(to), clen = strlen(cur);

		CU_ASSERT_PTR_NOT_NULL(at);
		if (!at) {
			free(cur);
			return NULL;
		}
		head = (size_t)(at - cur);
		next = malloc(clen - flen + tlen + 1);
		if (next) {
			memcpy(next, cur, head);
			memcpy(next + head, to, tlen);
			memcpy(next + head + tlen, at + flen, clen - head - flen + 1);
		}
		free(cur);
		cur = next;
	}
	return cur;
}

/* Fails with the offset of the first difference unless got[0, n) is exactly want. */
static void expect_bytes(const char *what, const char *got, size_t n, const char *want)
{
	size_t wlen = strlen(want), i = 0;
	char msg[512];

	while (i < n && i < wlen && got[i] == want[i])
		i++;
	snprintf(msg, sizeof(msg),
	         "%s: length %zu want %zu, first difference at %zu: got \"%.40s\"", what, n, wlen,
	         i, i < n ? got + i : "");
	CU_assertImplementation(n == wlen && i == n ? CU_TRUE : CU_FALSE, __LINE__, msg, __FILE__,
	                        "", CU_FALSE);
}

/* Renders m and compares it with want, also checking sip_msg_render_len. */
static void expect_render(const char *what, const struct sip_msg *m, const char *want)
{
	size_t need = sip_msg_render_len(m);
	char *out = malloc(need + 1);
	ssize_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	n = sip_msg_render(m, out, need + 1);
	CU_ASSERT_EQUAL(n, (ssize_t)need);
	if (n >= 0) {
		expect_bytes(what, out, (size_t)n, want);
		CU_ASSERT_EQUAL(out[n], '\0');
	}
	if (need > 0)
		CU_ASSERT_EQUAL(sip_msg_render(m, out, need - 1), -ENOSPC);
	free(out);
}

static void expect_subst(const char *what, struct fx *fx, const char *const *pairs, size_t n_pairs)
{
	char *want = substitute(fx->raw, pairs, n_pairs);

	if (want)
		expect_render(what, fx->m, want);
	free(want);
}

static int span_is(struct sip_span s, const char *text)
{
	return s.len == strlen(text) && memcmp(s.p, text, s.len) == 0;
}

static int header_is(const struct sip_msg *m, const char *name, const char *text)
{
	size_t len = 0;
	const char *v = sip_msg_header(m, name, &len);

	return v && len == strlen(text) && memcmp(v, text, len) == 0;
}

static int parse_text(const char *text, struct sip_msg **m, char *why, size_t whylen)
{
	return sip_msg_parse(text, strlen(text), m, why, whylen);
}

/* ---- the index and typed views ---- */

static void test_register_index(void)
{
	struct fx fx;
	struct sip_via via;
	struct sip_addr to;
	struct sip_contact c;
	struct sip_span s;
	uint32_t num, exp;
	char tag[64];

	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "register-ue.sip"), 0);
	CU_ASSERT_TRUE(sip_msg_is_request(fx.m));
	CU_ASSERT_EQUAL(sip_msg_method(fx.m), SIP_REGISTER);
	CU_ASSERT_TRUE(span_is(sip_msg_method_text(fx.m), "REGISTER"));
	CU_ASSERT_TRUE(span_is(sip_msg_ruri(fx.m), "sip:ims.alpha.test"));
	CU_ASSERT_EQUAL(sip_msg_status(fx.m), 0);
	CU_ASSERT_EQUAL(sip_msg_header_count(fx.m), 16);
	CU_ASSERT_EQUAL(sip_msg_body(fx.m).len, 0);
	CU_ASSERT_EQUAL(sip_msg_bytes(fx.m).len, fx.len);
	sip_msg_cseq(fx.m, &num, &s);
	CU_ASSERT_EQUAL(num, 1);
	CU_ASSERT_TRUE(span_is(s, "REGISTER"));
	CU_ASSERT_TRUE(span_is(sip_msg_call_id(fx.m), "reg-call-1@192.0.2.10"));
	CU_ASSERT_EQUAL(sip_msg_max_forwards(fx.m), 70);
	CU_ASSERT_EQUAL(sip_msg_expires(fx.m, &exp), 0);
	CU_ASSERT_EQUAL(exp, 600000);

	CU_ASSERT_EQUAL_FATAL(sip_msg_top_via(fx.m, &via), 0);
	CU_ASSERT_STRING_EQUAL(via.transport, "UDP");
	CU_ASSERT_STRING_EQUAL(via.host, "192.0.2.10");
	CU_ASSERT_EQUAL(via.port, 5060);
	CU_ASSERT_STRING_EQUAL(via.branch, "z9hG4bK-reg-1");
	CU_ASSERT_STRING_EQUAL(via.received, "");
	CU_ASSERT_TRUE(via.rport);
	CU_ASSERT_EQUAL(via.rport_value, 0);
	CU_ASSERT_TRUE(
	    span_is(via.value, "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-reg-1;rport"));
	CU_ASSERT_EQUAL(sip_msg_via(fx.m, 1, &via), -ENOENT);

	CU_ASSERT_EQUAL(sip_msg_from_tag(fx.m, tag, sizeof(tag)), 0);
	CU_ASSERT_STRING_EQUAL(tag, "ue-from-1");
	CU_ASSERT_EQUAL(sip_msg_from_tag(fx.m, tag, 5), -ENOSPC);
	CU_ASSERT_EQUAL(sip_msg_to_tag(fx.m, tag, sizeof(tag)), -ENOENT);
	CU_ASSERT_EQUAL(sip_msg_to(fx.m, &to), 0);
	CU_ASSERT_TRUE(span_is(to.uri, "sip:alice@ims.alpha.test"));
	CU_ASSERT_STRING_EQUAL(to.tag, "");

	CU_ASSERT_EQUAL_FATAL(sip_msg_contact(fx.m, 0, &c), 0);
	CU_ASSERT_FALSE(c.star);
	CU_ASSERT_TRUE(span_is(c.uri, "sip:alice@192.0.2.10:5060"));
	CU_ASSERT_EQUAL(c.expires, 600000);
	CU_ASSERT_EQUAL(sip_msg_param(c.value, "+SIP.instance", &s), 0);
	CU_ASSERT_TRUE(span_is(s, "\"<urn:gsma:imei:35209900-176148-0>\""));
	CU_ASSERT_EQUAL(sip_msg_param(c.value, "q", &s), -ENOENT);
	CU_ASSERT_EQUAL(sip_msg_contact(fx.m, 1, &c), -ENOENT);

	/* list headers split, others (auth) give the whole line; names are case-blind */
	CU_ASSERT_EQUAL(sip_msg_header_values(fx.m, "allow"), 6);
	CU_ASSERT_TRUE(header_is(fx.m, "ALLOW", "INVITE"));
	CU_ASSERT_EQUAL(sip_msg_header_values(fx.m, "Supported"), 2);
	CU_ASSERT_TRUE(
	    header_is(fx.m, "authorization",
	              "Digest username=\"alice@ims.alpha.test\",realm=\"ims.alpha.test\","
	              "nonce=\"\",uri=\"sip:ims.alpha.test\",response=\"\""));
	CU_ASSERT_TRUE(header_is(fx.m, "Security-Client",
	                         "ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1111;spi-s=2222;port-c=5062;"
	                         "port-s=5064"));
	CU_ASSERT_TRUE(header_is(fx.m, "User-Agent", "lab-ue/1.0"));
	CU_ASSERT_PTR_NULL(sip_msg_header(fx.m, "Route", NULL));
	CU_ASSERT_EQUAL(sip_msg_header_values(fx.m, "P-Asserted-Identity"), 0);
	fx_close(&fx);
}

static void test_compact_forms(void)
{
	struct fx fx;
	struct sip_header h;
	struct sip_contact c;
	struct sip_uri u;
	struct sip_via via;
	char tag[64];

	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "compact.sip"), 0);
	CU_ASSERT_EQUAL(sip_msg_method(fx.m), SIP_MESSAGE);
	CU_ASSERT_EQUAL_FATAL(sip_msg_header_at(fx.m, 0, &h), 0);
	CU_ASSERT_STRING_EQUAL(h.name, "Via");
	CU_ASSERT_TRUE(span_is(h.raw, "v"));
	CU_ASSERT_EQUAL_FATAL(sip_msg_header_at(fx.m, 7, &h), 0);
	CU_ASSERT_STRING_EQUAL(h.name, "Subject");
	CU_ASSERT_EQUAL(sip_msg_header_at(fx.m, 10, &h), -ENOENT);
	CU_ASSERT_TRUE(header_is(fx.m, "Via", "SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-cmp-1"));
	CU_ASSERT_TRUE(header_is(fx.m, "V", "SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK-cmp-1"));
	CU_ASSERT_TRUE(header_is(fx.m, "Call-ID", "cmp-call-1@192.0.2.10"));
	CU_ASSERT_TRUE(header_is(fx.m, "Content-Length", "5"));
	CU_ASSERT_TRUE(header_is(fx.m, "Content-Type", "text/plain"));
	CU_ASSERT_TRUE(header_is(fx.m, "Supported", "path"));
	CU_ASSERT_TRUE(header_is(fx.m, "Subject", "compact"));
	CU_ASSERT_TRUE(span_is(sip_msg_call_id(fx.m), "cmp-call-1@192.0.2.10"));
	CU_ASSERT_TRUE(span_is(sip_msg_body(fx.m), "v=0\r\n"));
	CU_ASSERT_EQUAL(sip_msg_max_forwards(fx.m), -ENOENT);
	CU_ASSERT_EQUAL(sip_msg_from_tag(fx.m, tag, sizeof(tag)), 0);
	CU_ASSERT_STRING_EQUAL(tag, "cmp-from");
	CU_ASSERT_EQUAL(sip_msg_top_via(fx.m, &via), 0);
	CU_ASSERT_STRING_EQUAL(via.transport, "TCP");
	CU_ASSERT_FALSE(via.rport);
	CU_ASSERT_EQUAL_FATAL(sip_msg_contact(fx.m, 0, &c), 0);
	CU_ASSERT_EQUAL(c.expires, -1);
	CU_ASSERT_EQUAL_FATAL(sip_msg_uri_parse(c.uri.p, c.uri.len, &u), 0);
	CU_ASSERT_STRING_EQUAL(u.transport, "tcp");
	CU_ASSERT_STRING_EQUAL(u.user, "alice");

	/* our Via goes before the compact one; an absent Max-Forwards is added at the end */
	CU_ASSERT_EQUAL(sip_msg_edit_push(fx.m, "v", "SIP/2.0/TCP 127.0.1.1;branch=z9hG4bK-x"), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_set(fx.m, "Max-Forwards", "70"), 0);
	{
		const char *pairs[] = {
		    "v: SIP",
		    "Via: SIP/2.0/TCP 127.0.1.1;branch=z9hG4bK-x\r\nv: SIP",
		    "l: 5\r\n",
		    "l: 5\r\nMax-Forwards: 70\r\n",
		};
		expect_subst("compact forward", &fx, pairs, 2);
	}
	fx_close(&fx);
}

static void test_folding(void)
{
	struct fx fx;
	struct sip_via via;
	struct sip_addr r;
	struct sip_span s;
	uint32_t num;
	char buf[64];
	size_t len;
	const char *v;

	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "folded.sip"), 0);
	CU_ASSERT_EQUAL(sip_msg_header_count(fx.m), 9);
	sip_msg_cseq(fx.m, &num, &s);
	CU_ASSERT_EQUAL(num, 3);
	CU_ASSERT_TRUE(span_is(s, "OPTIONS"));
	CU_ASSERT_EQUAL_FATAL(sip_msg_top_via(fx.m, &via), 0);
	CU_ASSERT_STRING_EQUAL(via.branch, "z9hG4bK-fold-1");
	CU_ASSERT_EQUAL(via.port, 5060);

	v = sip_msg_header(fx.m, "Subject", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	s.p = v;
	s.len = len;
	CU_ASSERT_TRUE(span_is(s, "first part,\r\n   second part"));
	CU_ASSERT_EQUAL(sip_msg_value_copy(s, buf, sizeof(buf)), 27);
	CU_ASSERT_STRING_EQUAL(buf, "first part,     second part");
	CU_ASSERT_EQUAL(sip_msg_value_copy(s, buf, 27), -ENOSPC);

	CU_ASSERT_EQUAL(sip_msg_header_values(fx.m, "Route"), 2);
	CU_ASSERT_EQUAL_FATAL(sip_msg_nameaddr(fx.m, "Route", 1, &r), 0);
	CU_ASSERT_TRUE(span_is(r.uri, "sip:p2.ims.alpha.test;lr"));

	/* the first Route value goes with its comma and the fold; the rest is untouched */
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Route", 1), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_set(fx.m, "Max-Forwards", "69"), 0);
	{
		const char *pairs[] = {
		    "Route: <sip:p1.ims.alpha.test;lr>,\r\n\t<sip:p2",
		    "Route: <sip:p2",
		    "Max-Forwards: 70",
		    "Max-Forwards: 69",
		};
		expect_subst("folded forward", &fx, pairs, 2);
	}
	fx_close(&fx);
}

static void test_comma_values(void)
{
	struct fx fx;
	struct sip_via via;
	struct sip_addr r;
	struct sip_value_iter it;
	struct sip_span v;
	unsigned mark, n = 0;

	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "comma-lists.sip"), 0);
	CU_ASSERT_EQUAL(sip_msg_header_values(fx.m, "Via"), 3);
	CU_ASSERT_EQUAL_FATAL(sip_msg_via(fx.m, 0, &via), 0);
	CU_ASSERT_STRING_EQUAL(via.host, "127.0.1.3");
	CU_ASSERT_STRING_EQUAL(via.branch, "z9hG4bK-s1");
	CU_ASSERT_EQUAL_FATAL(sip_msg_via(fx.m, 1, &via), 0);
	CU_ASSERT_STRING_EQUAL(via.branch, "z9hG4bK-p1");
	CU_ASSERT_EQUAL_FATAL(sip_msg_via(fx.m, 2, &via), 0);
	CU_ASSERT_STRING_EQUAL(via.received, "192.0.2.10");
	CU_ASSERT_TRUE(via.rport);
	CU_ASSERT_EQUAL(via.rport_value, 5060);

	/* commas inside quotes and <...> do not split */
	sip_msg_values(fx.m, "route", &it);
	while (sip_msg_values_next(&it, &v))
		n++;
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL_FATAL(sip_msg_nameaddr(fx.m, "Route", 1, &r), 0);
	CU_ASSERT_TRUE(span_is(r.uri, "sip:x.test;lr;tag=\"a,b\""));
	CU_ASSERT_EQUAL_FATAL(sip_msg_nameaddr(fx.m, "Route", 2, &r), 0);
	CU_ASSERT_TRUE(span_is(r.value, "\"Edge, Node\" <sip:edge.test;lr>"));
	CU_ASSERT_TRUE(span_is(r.uri, "sip:edge.test;lr"));
	CU_ASSERT_EQUAL(sip_msg_nameaddr(fx.m, "Route", 4, &r), -ENOENT);

	mark = sip_msg_edit_mark(fx.m);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Route", 1), 0);
	{
		const char *pairs[] = {"Route: <sip:scscf.ims.alpha.test;lr>, <sip:x",
		                       "Route: <sip:x"};
		expect_subst("pop one Route value", &fx, pairs, 1);
	}
	sip_msg_edit_rollback(fx.m, mark);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Route", 3), 0);
	{
		const char *pairs[] = {
		    "Route: <sip:scscf.ims.alpha.test;lr>, <sip:x.test;lr;tag=\"a,b\">, \"Edge, "
		    "Node\" <sip:edge.test;lr>\r\n",
		    ""};
		expect_subst("pop a whole Route line", &fx, pairs, 1);
	}
	sip_msg_edit_rollback(fx.m, mark);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Route", 5), -ENOENT);
	CU_ASSERT_EQUAL(sip_msg_edit_mark(fx.m), mark);
	expect_render("failed pop leaves nothing", fx.m, fx.raw);

	/* a response's top Via is the first value of a comma-separated line */
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Via", 1), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Via", 1), -EBUSY);
	{
		const char *pairs[] = {"Via: SIP/2.0/UDP 127.0.1.3:5060;branch=z9hG4bK-s1, ",
		                       "Via: "};
		expect_subst("pop one Via value", &fx, pairs, 1);
	}
	sip_msg_edit_rollback(fx.m, mark);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Via", 2), 0);
	{
		const char *pairs[] = {
		    "Via: SIP/2.0/UDP 127.0.1.3:5060;branch=z9hG4bK-s1, SIP/2.0/UDP "
		    "127.0.1.1:5060;branch=z9hG4bK-p1\r\n",
		    ""};
		expect_subst("pop two Via values", &fx, pairs, 1);
	}
	fx_close(&fx);
}

/* ---- broken input ---- */

static void expect_parse_error(const char *what, const char *buf, size_t len, int err,
                               const char *why_want)
{
	struct sip_msg *m = (struct sip_msg *)1;
	char why[128], msg[256];
	int r = sip_msg_parse(buf, len, &m, why, sizeof(why));

	snprintf(msg, sizeof(msg), "%s: got %d \"%s\", want %d \"%s\"", what, r, r < 0 ? why : "",
	         err, why_want);
	CU_assertImplementation(r == err && strcmp(why, why_want) == 0 ? CU_TRUE : CU_FALSE,
	                        __LINE__, msg, __FILE__, "", CU_FALSE);
	CU_ASSERT_PTR_NULL(m);
	if (r == 0)
		sip_msg_free(m);
}

static void test_broken_fixtures(void)
{
	static const struct {
		const char *fixture; /* file in tests/fixtures/sip/ */
		int err;             /* expected return */
		const char *why;     /* expected reason */
	} cases[] = {
	    {"missing-call-id.sip", -EBADMSG, "Missing Call-ID header"},
	    {"missing-via.sip", -EBADMSG, "Missing Via header"},
	    {"missing-cseq.sip", -EBADMSG, "Missing CSeq header"},
	    {"cseq-mismatch.sip", -EBADMSG, "CSeq method mismatch"},
	    {"cseq-malformed.sip", -EBADMSG, "Malformed CSeq"},
	    {"content-length-absurd.sip", -EBADMSG, "Content-Length exceeds body"},
	    {"content-length-short-body.sip", -EBADMSG, "Content-Length exceeds body"},
	    {"truncated.sip", -EBADMSG, "Missing empty line after headers"},
	    {"header-flood.sip", -EMSGSIZE, "Too many header lines"},
	    {"binary-garbage.sip", -EBADMSG, "Malformed start line"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		char *raw = unit_fixture_load(SIP_FIXTURES, cases[i].fixture, &len);

		CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
		expect_parse_error(cases[i].fixture, raw, len, cases[i].err, cases[i].why);
		free(raw);
	}
}

#define OPT_HEAD                                                                                   \
	"OPTIONS sip:b@x.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-1\r\n"          \
	"From: <sip:a@x.test>;tag=1\r\nTo: <sip:b@x.test>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n"

static void test_broken_inline(void)
{
	static const struct {
		const char *what; /* case name */
		const char *text; /* message */
		int err;          /* expected return */
		const char *why;  /* expected reason */
	} cases[] = {
	    {"empty", "", -EBADMSG, "Empty message"},
	    {"keepalive only", "\r\n\r\n", -EBADMSG, "Empty message"},
	    {"bare LF", "OPTIONS sip:b@x.test SIP/2.0\nVia: x\n\n", -EBADMSG,
	     "Malformed start line"},
	    {"no request URI", "OPTIONS  SIP/2.0\r\n\r\n", -EBADMSG, "Malformed Request-Line"},
	    {"URI without scheme", "OPTIONS bob SIP/2.0\r\n\r\n", -EBADMSG,
	     "Malformed Request-Line"},
	    {"bad method", "OPT{ONS sip:b@x SIP/2.0\r\n\r\n", -EBADMSG, "Malformed Request-Line"},
	    {"SIP/3.0 request", "OPTIONS sip:b@x SIP/3.0\r\n\r\n", -EPROTONOSUPPORT,
	     "Version Not Supported"},
	    {"SIP/3.0 response", "SIP/3.0 200 OK\r\n\r\n", -EPROTONOSUPPORT,
	     "Version Not Supported"},
	    {"status 700", "SIP/2.0 700 Odd\r\n\r\n", -EBADMSG, "Malformed Status-Line"},
	    {"status 99", "SIP/2.0 099 Odd\r\n\r\n", -EBADMSG, "Malformed Status-Line"},
	    {"status letters", "SIP/2.0 2x0 OK\r\n\r\n", -EBADMSG, "Malformed Status-Line"},
	    {"no colon", OPT_HEAD "Max-Forwards 70\r\n\r\n", -EBADMSG, "Malformed header line"},
	    {"space in name", OPT_HEAD "Max Forwards: 70\r\n\r\n", -EBADMSG,
	     "Malformed header line"},
	    {"fold first", "OPTIONS sip:b@x SIP/2.0\r\n Via: x\r\n\r\n", -EBADMSG,
	     "Malformed header line"},
	    {"NUL in header", OPT_HEAD "X-A: a\0b\r\n\r\n", -EBADMSG, "Malformed header line"},
	    {"duplicate To", OPT_HEAD "To: <sip:c@x.test>\r\n\r\n", -EBADMSG,
	     "Duplicate To header"},
	    {"two Content-Length", OPT_HEAD "l: 0\r\nContent-Length: 0\r\n\r\n", -EBADMSG,
	     "Duplicate Content-Length header"},
	    {"bad Content-Length", OPT_HEAD "Content-Length: 1x\r\n\r\n", -EBADMSG,
	     "Malformed Content-Length"},
	    {"negative Content-Length", OPT_HEAD "Content-Length: -1\r\n\r\n", -EBADMSG,
	     "Malformed Content-Length"},
	    {"empty Call-ID",
	     "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@x>\r\n"
	     "To: <sip:b@x>\r\nCall-ID:\r\nCSeq: 1 OPTIONS\r\n\r\n",
	     -EBADMSG, "Malformed Call-ID"},
	    {"CSeq too big",
	     "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@x>\r\n"
	     "To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 2147483648 OPTIONS\r\n\r\n",
	     -EBADMSG, "Malformed CSeq"},
	    {"CSeq without method",
	     "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@x>"
	     "\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1\r\n\r\n",
	     -EBADMSG, "Malformed CSeq"},
	    {"CSeq lower case",
	     "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@x>\r\n"
	     "To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 options\r\n\r\n",
	     -EBADMSG, "CSeq method mismatch"},
	    {"response without From",
	     "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nTo: <sip:b@x>\r\n"
	     "Call-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
	     -EBADMSG, "Missing From header"},
	    {"lone CR", OPT_HEAD "X-A: a\rb\r\n\r\n", -EBADMSG, "Malformed header line"},
	    {"ends in header CR", OPT_HEAD "X-A: a\r", -EBADMSG,
	     "Missing empty line after headers"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = strlen(cases[i].text);

		/* the NUL case: the length reaches past the embedded NUL */
		if (strcmp(cases[i].what, "NUL in header") == 0)
			len = sizeof(OPT_HEAD "X-A: a\0b\r\n\r\n") - 1;
		expect_parse_error(cases[i].what, cases[i].text, len, cases[i].err, cases[i].why);
	}
}

static void test_limits(void)
{
	size_t big = SIP_MSG_MAX_SIZE + 100, n;
	char *buf = malloc(big + 1);
	struct sip_msg *m;
	char why[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	/* a well-formed message over the size limit */
	n = (size_t)snprintf(buf, big + 1, OPT_HEAD "Content-Length: %zu\r\n\r\n",
	                     big - strlen(OPT_HEAD) - 28);
	memset(buf + n, 'x', big - n);
	buf[big] = '\0';
	expect_parse_error("oversize", buf, big, -EMSGSIZE, "Message too large");

	/* one header line over SIP_MSG_MAX_LINE, folded or not */
	n = (size_t)snprintf(buf, big, OPT_HEAD "X-Long: ");
	memset(buf + n, 'y', SIP_MSG_MAX_LINE);
	memcpy(buf + n + SIP_MSG_MAX_LINE, "\r\n\r\n", 5);
	expect_parse_error("long line", buf, strlen(buf), -EMSGSIZE, "Header line too long");
	for (size_t i = n + 100; i < n + SIP_MSG_MAX_LINE; i += 100)
		memcpy(buf + i, "\r\n ", 3);
	expect_parse_error("long folded line", buf, strlen(buf), -EMSGSIZE, "Header line too long");

	/* a line just under the limit is fine */
	n = (size_t)snprintf(buf, big, OPT_HEAD "X-Long: ");
	memset(buf + n, 'y', SIP_MSG_MAX_LINE - 10 - 2);
	memcpy(buf + n + SIP_MSG_MAX_LINE - 12, "\r\n\r\n", 5);
	CU_ASSERT_EQUAL(sip_msg_parse(buf, strlen(buf), &m, why, sizeof(why)), 0);
	sip_msg_free(m);

	/* exactly SIP_MSG_MAX_HEADERS lines parse, one more does not */
	n = (size_t)snprintf(buf, big, OPT_HEAD);
	for (int i = 5; i < SIP_MSG_MAX_HEADERS; i++)
		n += (size_t)snprintf(buf + n, big - n, "X-H: %d\r\n", i);
	n += (size_t)snprintf(buf + n, big - n, "\r\n");
	CU_ASSERT_EQUAL(sip_msg_parse(buf, n, &m, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(sip_msg_header_count(m), SIP_MSG_MAX_HEADERS);
	sip_msg_free(m);
	memcpy(buf + n - 2, "X-H: x\r\n\r\n", 11);
	expect_parse_error("129 headers", buf, n + 8, -EMSGSIZE, "Too many header lines");
	free(buf);
}

static void test_datagram_body(void)
{
	struct fx fx;
	struct sip_msg *m;
	char why[128];
	char *want;

	/* RFC 3261 18.3: bytes after Content-Length are dropped */
	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "content-length-long-body.sip"), 0);
	CU_ASSERT_TRUE(span_is(sip_msg_body(fx.m), "abc"));
	CU_ASSERT_EQUAL(sip_msg_bytes(fx.m).len, fx.len - 5);
	want = strndup(fx.raw, fx.len - 5);
	expect_render("truncated datagram", fx.m, want);
	free(want);
	fx_close(&fx);

	/* without Content-Length the body runs to the end; leading CRLFs are skipped */
	CU_ASSERT_EQUAL_FATAL(parse_text("\r\n\r\n" OPT_HEAD "\r\nhello", &m, why, sizeof(why)), 0);
	CU_ASSERT_TRUE(span_is(sip_msg_body(m), "hello"));
	expect_render("no Content-Length", m, OPT_HEAD "\r\nhello");
	sip_msg_free(m);
}

/* ---- forwarding edits ---- */

static void test_register_forward(void)
{
	struct fx fx;
	struct sip_via via;
	const char *pairs[] = {
	    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-reg-1;rport\r\n",
	    "Path: <sip:term@pcscf.ims.alpha.test;lr>\r\n"
	    "Via: SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bK-p-1\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-reg-1;rport=40000;"
	    "received=198.51.100.7\r\n",
	    "Max-Forwards: 70\r\n",
	    "Max-Forwards: 69\r\n",
	};

	/* P-CSCF: RFC 3581 4 stamping, RFC 3327 Path, our Via, Max-Forwards */
	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "register-ue.sip"), 0);
	CU_ASSERT_EQUAL_FATAL(sip_msg_top_via(fx.m, &via), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_via_received(fx.m, &via, "198.51.100.7", 40000), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_push(fx.m, "Path", "<sip:term@pcscf.ims.alpha.test;lr>"), 0);
	CU_ASSERT_EQUAL(
	    sip_msg_edit_push(fx.m, "Via", "SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bK-p-1"), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_set(fx.m, "Max-Forwards", "69"), 0);
	expect_subst("P-CSCF REGISTER", &fx, pairs, 2);
	/* accessors keep reading the received message */
	CU_ASSERT_EQUAL(sip_msg_max_forwards(fx.m), 70);
	CU_ASSERT_EQUAL(sip_msg_header_values(fx.m, "Via"), 1);
	fx_close(&fx);
}

static void test_via_received_rules(void)
{
	struct sip_msg *m;
	struct sip_via via;
	char why[128];

	/* sent-by equals the source and no rport: nothing to add (RFC 3261 18.2.1) */
	CU_ASSERT_EQUAL_FATAL(parse_text(OPT_HEAD "\r\n", &m, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL_FATAL(sip_msg_top_via(m, &via), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_via_received(m, &via, "192.0.2.1", 5060), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_mark(m), 0);
	/* another source address: received only */
	CU_ASSERT_EQUAL(sip_msg_edit_via_received(m, &via, "192.0.2.99", 5060), 0);
	expect_render("received only", m,
	              "OPTIONS sip:b@x.test SIP/2.0\r\nVia: SIP/2.0/UDP "
	              "192.0.2.1;branch=z9hG4bK-1;received=192.0.2.99\r\n"
	              "From: <sip:a@x.test>;tag=1\r\nTo: <sip:b@x.test>\r\nCall-ID: c1\r\n"
	              "CSeq: 1 OPTIONS\r\n\r\n");
	sip_msg_free(m);

	/* rport in the middle, a received already there: both rewritten in place */
	CU_ASSERT_EQUAL_FATAL(parse_text("OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h.test"
	                                 ";RPORT;received=1.1.1.1 ;branch=z9hG4bK-2\r\nFrom: "
	                                 "<sip:a@x>\r\nTo: <sip:b@x>\r\nCall-ID: c\r\n"
	                                 "CSeq: 1 OPTIONS\r\n\r\n",
	                                 &m, why, sizeof(why)),
	                      0);
	CU_ASSERT_EQUAL_FATAL(sip_msg_top_via(m, &via), 0);
	CU_ASSERT_TRUE(via.rport);
	CU_ASSERT_EQUAL(sip_msg_edit_via_received(m, &via, "10.0.0.1", 1234), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_via_param(m, "maddr", NULL), 0);
	expect_render("rport in the middle", m,
	              "OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h.test;RPORT=1234;"
	              "received=10.0.0.1 ;branch=z9hG4bK-2;maddr\r\nFrom: <sip:a@x>\r\n"
	              "To: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n");
	CU_ASSERT_EQUAL(sip_msg_edit_via_param(m, "ttl", "1;x"), -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_edit_via_param(m, "t l", "1"), -EINVAL);
	sip_msg_free(m);

	/* IPv6 sent-by written differently from the source address: same address */
	CU_ASSERT_EQUAL_FATAL(
	    parse_text("OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP "
	               "[2001:db8:0::1]:5060;branch=z9hG4bK-3\r\nFrom: <sip:a@x>"
	               "\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n",
	               &m, why, sizeof(why)),
	    0);
	CU_ASSERT_EQUAL_FATAL(sip_msg_top_via(m, &via), 0);
	CU_ASSERT_STRING_EQUAL(via.host, "2001:db8:0::1");
	CU_ASSERT_EQUAL(sip_msg_edit_via_received(m, &via, "2001:db8::1", 5060), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_mark(m), 0);
	sip_msg_free(m);
}

static void test_auts_survives(void)
{
	struct fx fx;
	struct sip_via via;
	const char *names[] = {"ck", "ik"};
	size_t len;
	const char *auth;
	const char *pairs[] = {
	    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-reg-2;rport\r\n",
	    "Via: SIP/2.0/UDP 127.0.1.2:5060;branch=z9hG4bK-i-2\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-reg-2;rport=5060;"
	    "received=192.0.2.10\r\n",
	    "Max-Forwards: 70\r\n",
	    "Max-Forwards: 69\r\n",
	};

	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "register-auts.sip"), 0);
	auth = sip_msg_header(fx.m, "Authorization", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(auth);
	CU_ASSERT_PTR_NOT_NULL(memmem(auth, len, "auts=\"CjkyMzRmZGtqZmRr\"", 23));
	CU_ASSERT_PTR_NOT_NULL(memmem(auth, len, "integrity-protected=\"no\"", 24));
	CU_ASSERT_EQUAL_FATAL(sip_msg_top_via(fx.m, &via), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_via_received(fx.m, &via, "192.0.2.10", 5060), 0);
	CU_ASSERT_EQUAL(
	    sip_msg_edit_push(fx.m, "Via", "SIP/2.0/UDP 127.0.1.2:5060;branch=z9hG4bK-i-2"), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_set(fx.m, "Max-Forwards", "69"), 0);
	/* names absent from the header: nothing removed */
	CU_ASSERT_EQUAL(sip_msg_edit_auth_remove(fx.m, "Authorization", names, 2), 0);
	expect_subst("REGISTER with auts", &fx, pairs, 2);
	fx_close(&fx);
}

static void test_401_ck_ik(void)
{
	struct fx fx;
	const char *names[] = {"ck", "ik"};
	const char *pairs[] = {
	    "Via: SIP/2.0/UDP 127.0.1.2:5060;branch=z9hG4bK-icscf-1\r\n",
	    "",
	    ("algorithm=AKAv1-MD5, ck=\"00112233445566778899aabbccddeeff\", "
	     "ik=\"ffeeddccbbaa99887766554433221100\", qop"),
	    "algorithm=AKAv1-MD5, qop",
	};

	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "401-ck-ik.sip"), 0);
	CU_ASSERT_FALSE(sip_msg_is_request(fx.m));
	CU_ASSERT_EQUAL(sip_msg_status(fx.m), 401);
	CU_ASSERT_TRUE(span_is(sip_msg_reason(fx.m), "Unauthorized"));
	CU_ASSERT_EQUAL(sip_msg_method(fx.m), SIP_OTHER);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Via", 1), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_auth_remove(fx.m, "www-authenticate", names, 2), 2);
	expect_subst("401 stripped", &fx, pairs, 2);
	fx_close(&fx);
}

/* Removes or sets auth params in "WWW-Authenticate: <value>" and checks the value. */
static void expect_auth_edit(const char *value, const char *set_name, const char *set_value,
                             int want_r, const char *want_value)
{
	static const char *const names[] = {"ck", "ik"};
	char in[512], want[512];
	struct sip_msg *m;
	char why[128];
	int r;

	snprintf(in, sizeof(in),
	         "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h\r\n"
	         "From: <sip:a@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\nCall-ID: c\r\n"
	         "CSeq: 1 REGISTER\r\nWWW-Authenticate: %s\r\n\r\n",
	         value);
	snprintf(want, sizeof(want),
	         "SIP/2.0 401 Unauthorized\r\nVia: SIP/2.0/UDP h\r\n"
	         "From: <sip:a@x>;tag=1\r\nTo: <sip:a@x>;tag=2\r\nCall-ID: c\r\n"
	         "CSeq: 1 REGISTER\r\nWWW-Authenticate: %s\r\n\r\n",
	         want_value);
	CU_ASSERT_EQUAL_FATAL(parse_text(in, &m, why, sizeof(why)), 0);
	if (set_name)
		r = sip_msg_edit_auth_set(m, "WWW-Authenticate", set_name, set_value);
	else
		r = sip_msg_edit_auth_remove(m, "WWW-Authenticate", names, 2);
	CU_ASSERT_EQUAL(r, want_r);
	expect_render(value, m, want);
	sip_msg_free(m);
}

static void test_auth_params(void)
{
	expect_auth_edit("Digest ck=\"1\", realm=\"r\", ik=\"2\"", NULL, NULL, 2,
	                 "Digest realm=\"r\"");
	expect_auth_edit("Digest CK=\"1\",IK=\"2\",realm=\"r\"", NULL, NULL, 2,
	                 "Digest realm=\"r\"");
	expect_auth_edit("Digest realm=\"r, ck=\\\"x\\\"\",\r\n ck=\"1\",\r\n nonce=\"n\"", NULL,
	                 NULL, 1, "Digest realm=\"r, ck=\\\"x\\\"\",\r\n nonce=\"n\"");
	expect_auth_edit("Digest ck=\"1\", ik=\"2\"", NULL, NULL, 2, "Digest");
	expect_auth_edit("Digest realm=\"r\", cka=\"1\"", NULL, NULL, 0,
	                 "Digest realm=\"r\", cka=\"1\"");
	expect_auth_edit("Digest realm=\"r\", nonce=\"old\", qop=auth", "nonce", "\"new\"", 1,
	                 "Digest realm=\"r\", nonce=\"new\", qop=auth");
	expect_auth_edit("Digest realm=\"r\", stale", "stale", "TRUE", 1,
	                 "Digest realm=\"r\", stale=TRUE");
	expect_auth_edit("Digest realm=\"r\"", "nonce", "\"n\"", -ENOENT, "Digest realm=\"r\"");
}

static void test_invite_forward(void)
{
	struct fx fx;
	struct sip_via via;
	struct sip_addr route;
	struct sip_uri u;
	unsigned mark;
	const char *common[] = {
	    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-inv-1;rport\r\n",
	    "Record-Route: <sip:mo@pcscf.ims.alpha.test:5060;lr>\r\n"
	    "Via: SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bK-p-9\r\n"
	    "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-inv-1;rport=5060;"
	    "received=192.0.2.10\r\n",
	    "Max-Forwards: 70\r\n",
	    "Max-Forwards: 69\r\n",
	    "Route: <sip:pcscf.ims.alpha.test:5060;lr>\r\n",
	    "",
	    "P-Preferred-Identity: <sip:alice@ims.alpha.test>\r\n",
	    "",
	    "Content-Length: 327\r\n",
	    "Content-Length: 327\r\nP-Asserted-Identity: <sip:alice@ims.alpha.test>\r\n",
	    "INVITE sip:bob@ims.beta.test SIP/2.0",
	    "INVITE sip:bob@192.0.2.20:5060 SIP/2.0",
	};
	char *want;

	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "invite-sdp.sip"), 0);
	CU_ASSERT_EQUAL(sip_msg_method(fx.m), SIP_INVITE);
	CU_ASSERT_EQUAL(sip_msg_body(fx.m).len, 327);
	CU_ASSERT_TRUE(sip_msg_body(fx.m).p == sip_msg_bytes(fx.m).p + fx.len - 327);
	CU_ASSERT_EQUAL(memcmp(sip_msg_body(fx.m).p, "v=0\r\no=alice", 12), 0);
	CU_ASSERT_EQUAL(sip_msg_header_values(fx.m, "Route"), 2);
	CU_ASSERT_EQUAL_FATAL(sip_msg_nameaddr(fx.m, "Route", 0, &route), 0);
	CU_ASSERT_EQUAL_FATAL(sip_msg_uri_parse(route.uri.p, route.uri.len, &u), 0);
	CU_ASSERT_STRING_EQUAL(u.host, "pcscf.ims.alpha.test");
	CU_ASSERT_EQUAL(u.port, 5060);
	CU_ASSERT_TRUE(u.lr);
	CU_ASSERT_EQUAL(sip_msg_header_values(fx.m, "Allow"), 10);
	CU_ASSERT_TRUE(header_is(fx.m, "X-Lab-Trace", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"));
	CU_ASSERT_TRUE(header_is(fx.m, "x-lab-trace", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"));

	/* P-CSCF, originating side (RFC 3261 16.6, RFC 3325): the edits of one hop */
	CU_ASSERT_EQUAL_FATAL(sip_msg_top_via(fx.m, &via), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_via_received(fx.m, &via, "192.0.2.10", 5060), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Route", 1), 0);
	CU_ASSERT_EQUAL(
	    sip_msg_edit_push(fx.m, "Record-Route", "<sip:mo@pcscf.ims.alpha.test:5060;lr>"), 0);
	CU_ASSERT_EQUAL(
	    sip_msg_edit_push(fx.m, "Via", "SIP/2.0/UDP 127.0.1.1:5060;branch=z9hG4bK-p-9"), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_set(fx.m, "Max-Forwards", "69"), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_remove(fx.m, "P-Preferred-Identity"), 1);
	CU_ASSERT_EQUAL(sip_msg_edit_remove(fx.m, "P-Asserted-Identity"), 0);
	CU_ASSERT_EQUAL(
	    sip_msg_edit_append(fx.m, "P-Asserted-Identity", "<sip:alice@ims.alpha.test>"), 0);
	expect_subst("P-CSCF INVITE", &fx, common, 5);

	/* forks: common edits, then one Request-URI per branch */
	mark = sip_msg_edit_mark(fx.m);
	CU_ASSERT_EQUAL(sip_msg_edit_ruri(fx.m, "sip:bob@192.0.2.20:5060"), 0);
	expect_subst("fork 1", &fx, common, 6);
	sip_msg_edit_rollback(fx.m, mark);
	CU_ASSERT_EQUAL(sip_msg_edit_ruri(fx.m, "sip:bob@192.0.2.30"), 0);
	{
		const char *pairs[] = {"INVITE sip:bob@ims.beta.test SIP/2.0",
		                       "INVITE sip:bob@192.0.2.30 SIP/2.0"};
		char *forked = substitute(fx.raw, common, 5);

		want = forked ? substitute(forked, pairs, 1) : NULL;
		if (want)
			expect_render("fork 2", fx.m, want);
		free(want);
		free(forked);
	}
	/* both Route lines at once */
	sip_msg_edit_rollback(fx.m, 0);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Route", 2), 0);
	{
		const char *pairs[] = {"Route: <sip:pcscf.ims.alpha.test:5060;lr>\r\n"
		                       "Route: <sip:orig@scscf.ims.alpha.test:5060;lr>\r\n",
		                       ""};
		expect_subst("pop two Route lines", &fx, pairs, 1);
	}
	fx_close(&fx);
}

static void test_edit_rules(void)
{
	struct fx fx;
	char value[1200];
	unsigned n;
	int r;

	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "register-ue.sip"), 0);
	/* the same bytes edited twice */
	CU_ASSERT_EQUAL(sip_msg_edit_set(fx.m, "Max-Forwards", "69"), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_set(fx.m, "Max-Forwards", "68"), -EBUSY);
	CU_ASSERT_EQUAL(sip_msg_edit_remove(fx.m, "Max-Forwards"), -EBUSY);
	/* header injection and bad names */
	CU_ASSERT_EQUAL(sip_msg_edit_push(fx.m, "Via", "x\r\nEvil: 1"), -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_edit_push(fx.m, "Bad Name", "x"), -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_edit_push(fx.m, "", "x"), -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_edit_append(fx.m, "X-A", "a\nb"), -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_edit_set(fx.m, "Expires", "1\r"), -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_edit_ruri(fx.m, "sip:a b"), -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_edit_ruri(fx.m, ""), -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Route", 1), -ENOENT);
	CU_ASSERT_EQUAL(sip_msg_edit_pop(fx.m, "Route", 0), 0);
	{
		const char *pairs[] = {"Max-Forwards: 70", "Max-Forwards: 69"};
		expect_subst("after refused edits", &fx, pairs, 1);
	}

	/* the edit space runs out cleanly */
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (n = 0; (r = sip_msg_edit_append(fx.m, "X-Big", value)) == 0; n++)
		;
	CU_ASSERT_EQUAL(r, -ENOSPC);
	CU_ASSERT_EQUAL(n, SIP_MSG_EDIT_SPACE / (sizeof(value) - 1 + 9));
	CU_ASSERT_EQUAL(sip_msg_render_len(fx.m), fx.len + n * (sizeof(value) - 1 + 9));
	sip_msg_edit_rollback(fx.m, 1);
	{
		const char *pairs[] = {"Max-Forwards: 70", "Max-Forwards: 69"};
		expect_subst("after rollback", &fx, pairs, 1);
	}
	/* and so does the edit count */
	for (n = 1; (r = sip_msg_edit_append(fx.m, "X-S", "1")) == 0; n++)
		;
	CU_ASSERT_EQUAL(r, -ENOSPC);
	CU_ASSERT_EQUAL(n, SIP_MSG_MAX_EDITS);
	sip_msg_edit_rollback(fx.m, 0);
	expect_render("everything rolled back", fx.m, fx.raw);
	fx_close(&fx);

	/* no Request-URI in a response */
	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "401-ck-ik.sip"), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_ruri(fx.m, "sip:x"), -EINVAL);
	fx_close(&fx);
}

static void test_numeric_headers(void)
{
	static const struct {
		const char *header; /* extra header line(s) */
		int mf;             /* sip_msg_max_forwards */
		int exp_r;          /* sip_msg_expires return */
		uint32_t exp;       /* its value when 0 */
	} cases[] = {
	    {"", -ENOENT, -ENOENT, 0},
	    {"Max-Forwards: 0\r\nExpires: 0\r\n", 0, 0, 0},
	    {"Max-Forwards: 255\r\nExpires: 4294967295\r\n", 255, 0, 4294967295u},
	    {"Max-Forwards: 2147483648\r\nExpires: 99999999999999\r\n", -EBADMSG, 0, 4294967295u},
	    {"Max-Forwards: 7a\r\nExpires: Thu, 01 Dec 1994 16:00:00 GMT\r\n", -EBADMSG, -EBADMSG,
	     0},
	    {"Max-Forwards:\r\nExpires:\r\n", -EBADMSG, -EBADMSG, 0},
	};
	char text[512], why[128];
	struct sip_msg *m;
	uint32_t exp;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), OPT_HEAD "%s\r\n", cases[i].header);
		CU_ASSERT_EQUAL_FATAL(parse_text(text, &m, why, sizeof(why)), 0);
		CU_ASSERT_EQUAL(sip_msg_max_forwards(m), cases[i].mf);
		exp = 12345;
		CU_ASSERT_EQUAL(sip_msg_expires(m, &exp), cases[i].exp_r);
		if (cases[i].exp_r == 0)
			CU_ASSERT_EQUAL(exp, cases[i].exp);
		sip_msg_free(m);
	}
}

static void test_typed_errors(void)
{
	struct sip_msg *m;
	struct sip_via via;
	struct sip_addr a;
	struct sip_contact c;
	char why[128], tag[32];

	CU_ASSERT_EQUAL_FATAL(
	    parse_text(
	        "REGISTER sip:x SIP/2.0\r\nVia: SIP/2.0/UDP\r\nVia: SIP/1.0/UDP h\r\n"
	        "From: nonsense <\r\nTo: <sip:a@x>;tag=" /* long tag */
	        "0123456789012345678901234567890123456789\r\nCall-ID: c\r\nCSeq: 1 REGISTER\r\n"
	        "Contact: *\r\nContact: <sip:a@h>;expires=99999999999, <sip:b@h>;expires=x\r\n"
	        "\r\n",
	        &m, why, sizeof(why)),
	    0);
	CU_ASSERT_EQUAL(sip_msg_via(m, 0, &via), -EBADMSG);
	CU_ASSERT_EQUAL(sip_msg_via(m, 1, &via), -EBADMSG);
	CU_ASSERT_EQUAL(sip_msg_from(m, &a), -EBADMSG);
	CU_ASSERT_EQUAL(sip_msg_from_tag(m, tag, sizeof(tag)), -EBADMSG);
	CU_ASSERT_EQUAL(sip_msg_to_tag(m, tag, sizeof(tag)), -ENOSPC);
	CU_ASSERT_EQUAL(sip_msg_to(m, &a), 0);
	CU_ASSERT_EQUAL_FATAL(sip_msg_contact(m, 0, &c), 0);
	CU_ASSERT_TRUE(c.star);
	CU_ASSERT_EQUAL_FATAL(sip_msg_contact(m, 1, &c), 0);
	CU_ASSERT_EQUAL(c.expires, 4294967295);
	CU_ASSERT_EQUAL(sip_msg_contact(m, 2, &c), -EBADMSG);
	CU_ASSERT_EQUAL(sip_msg_contact(m, 3, &c), -ENOENT);
	sip_msg_free(m);
}

static void test_uri_parse(void)
{
	static const struct {
		const char *uri;                              /* input */
		int r;                                        /* expected return */
		const char *scheme, *user, *host, *transport; /* expected fields */
		uint16_t port;                                /* expected port */
		bool lr;                                      /* expected lr */
	} cases[] = {
	    {"sip:pcscf.ims.alpha.test:5060;lr", 0, "sip", "", "pcscf.ims.alpha.test", "", 5060,
	     true},
	    {"SIP:alice@192.0.2.10;transport=TCP", 0, "sip", "alice", "192.0.2.10", "TCP", 0,
	     false},
	    {"sips:bob@[2001:db8::1]:5061", 0, "sips", "bob", "2001:db8::1", "", 5061, false},
	    {"tel:+15551234;phone-context=ims.alpha.test", 0, "tel", "+15551234", "", "", 0, false},
	    {"sip:h.test:99999", -EBADMSG, NULL, NULL, NULL, NULL, 0, false},
	    {"not a uri", -EBADMSG, NULL, NULL, NULL, NULL, 0, false},
	};
	struct sip_uri u;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = sip_msg_uri_parse(cases[i].uri, strlen(cases[i].uri), &u);

		CU_ASSERT_EQUAL(r, cases[i].r);
		if (r != 0 || cases[i].r != 0)
			continue;
		CU_ASSERT_STRING_EQUAL(u.scheme, cases[i].scheme);
		CU_ASSERT_STRING_EQUAL(u.user, cases[i].user);
		CU_ASSERT_STRING_EQUAL(u.host, cases[i].host);
		CU_ASSERT_STRING_EQUAL(u.transport, cases[i].transport);
		CU_ASSERT_EQUAL(u.port, cases[i].port);
		CU_ASSERT_EQUAL(u.lr, cases[i].lr);
	}
}

/* ---- responses ---- */

static void expect_response(const char *what, const struct sip_msg *req, int status,
                            const char *reason, const char *tag, const char *extra,
                            const char *want)
{
	char out[2048];
	ssize_t n = sip_msg_build_response(req, status, reason, tag, extra, out, sizeof(out));

	CU_ASSERT_TRUE(n > 0);
	if (n > 0) {
		expect_bytes(what, out, (size_t)n, want);
		CU_ASSERT_EQUAL(
		    sip_msg_build_response(req, status, reason, tag, extra, out, (size_t)n - 1),
		    -ENOSPC);
	}
}

static void test_build_response(void)
{
	struct fx fx;
	struct sip_via via;
	struct sip_msg *m;
	char why[128], out[512];

	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "register-ue.sip"), 0);
	expect_response("401", fx.m, 401, NULL, "t401",
	                "WWW-Authenticate: Digest realm=\"ims.alpha.test\", nonce=\"abc\", "
	                "algorithm=AKAv1-MD5\r\n",
	                "SIP/2.0 401 Unauthorized\r\n"
	                "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-reg-1;rport\r\n"
	                "From: <sip:alice@ims.alpha.test>;tag=ue-from-1\r\n"
	                "To: <sip:alice@ims.alpha.test>;tag=t401\r\n"
	                "Call-ID: reg-call-1@192.0.2.10\r\n"
	                "CSeq: 1 REGISTER\r\n"
	                "WWW-Authenticate: Digest realm=\"ims.alpha.test\", nonce=\"abc\", "
	                "algorithm=AKAv1-MD5\r\n"
	                "Content-Length: 0\r\n\r\n");
	/* RFC 3581 4: the response carries received/rport; our pushed Via stays out */
	CU_ASSERT_EQUAL_FATAL(sip_msg_top_via(fx.m, &via), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_via_received(fx.m, &via, "198.51.100.7", 40000), 0);
	CU_ASSERT_EQUAL(sip_msg_edit_push(fx.m, "Via", "SIP/2.0/UDP 127.0.1.1;branch=z9hG4bK-p"),
	                0);
	expect_response("100 after stamping", fx.m, 100, NULL, "ignored", NULL,
	                "SIP/2.0 100 Trying\r\n"
	                "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-reg-1;rport=40000;"
	                "received=198.51.100.7\r\n"
	                "From: <sip:alice@ims.alpha.test>;tag=ue-from-1\r\n"
	                "To: <sip:alice@ims.alpha.test>\r\n"
	                "Call-ID: reg-call-1@192.0.2.10\r\n"
	                "CSeq: 1 REGISTER\r\n"
	                "Content-Length: 0\r\n\r\n");
	/* refused arguments */
	CU_ASSERT_EQUAL(sip_msg_build_response(fx.m, 99, NULL, NULL, NULL, out, sizeof(out)),
	                -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_build_response(fx.m, 700, NULL, NULL, NULL, out, sizeof(out)),
	                -EINVAL);
	CU_ASSERT_EQUAL(
	    sip_msg_build_response(fx.m, 400, "Bad\r\nX: 1", NULL, NULL, out, sizeof(out)),
	    -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_build_response(fx.m, 400, NULL, "a;b", NULL, out, sizeof(out)),
	                -EINVAL);
	CU_ASSERT_EQUAL(sip_msg_build_response(fx.m, 400, NULL, NULL, "X: 1", out, sizeof(out)),
	                -EINVAL);
	CU_ASSERT_EQUAL(
	    sip_msg_build_response(fx.m, 400, NULL, NULL, "X: 1\r\n\r\nY: 2\r\n", out, sizeof(out)),
	    -EINVAL);
	CU_ASSERT_EQUAL(
	    sip_msg_build_response(fx.m, 400, NULL, NULL, "X: 1\nY: 2\r\n", out, sizeof(out)),
	    -EINVAL);
	fx_close(&fx);

	/* a response is not a request */
	CU_ASSERT_EQUAL_FATAL(fx_open(&fx, "401-ck-ik.sip"), 0);
	CU_ASSERT_EQUAL(sip_msg_build_response(fx.m, 200, NULL, NULL, NULL, out, sizeof(out)),
	                -EINVAL);
	fx_close(&fx);

	/* dialog-creating request: Record-Route echoed in 1xx/2xx (RFC 3261 12.1.1), the
	 * To tag kept when present, Timestamp only in 100 (8.2.6.1), every Via in order */
	CU_ASSERT_EQUAL_FATAL(
	    parse_text("INVITE sip:b@x SIP/2.0\r\nv: SIP/2.0/UDP p2;branch=z9hG4bK-b, SIP/2.0/UDP "
	               "p1;branch=z9hG4bK-a\r\nVia: SIP/2.0/UDP ue;branch=z9hG4bK-u\r\n"
	               "Record-Route: <sip:p2;lr>\r\nf: <sip:a@x>;tag=fa\r\nt: <sip:b@x>;tag=tb\r\n"
	               "Timestamp: 54\r\ni: c9\r\nCSeq: 5 INVITE\r\nContent-Length: 0\r\n\r\n",
	               &m, why, sizeof(why)),
	    0);
	expect_response("180", m, 180, NULL, "new", NULL,
	                "SIP/2.0 180 Ringing\r\n"
	                "v: SIP/2.0/UDP p2;branch=z9hG4bK-b, SIP/2.0/UDP p1;branch=z9hG4bK-a\r\n"
	                "Via: SIP/2.0/UDP ue;branch=z9hG4bK-u\r\n"
	                "Record-Route: <sip:p2;lr>\r\n"
	                "f: <sip:a@x>;tag=fa\r\n"
	                "t: <sip:b@x>;tag=tb\r\n"
	                "i: c9\r\n"
	                "CSeq: 5 INVITE\r\n"
	                "Content-Length: 0\r\n\r\n");
	expect_response("100", m, 100, NULL, NULL, NULL,
	                "SIP/2.0 100 Trying\r\n"
	                "v: SIP/2.0/UDP p2;branch=z9hG4bK-b, SIP/2.0/UDP p1;branch=z9hG4bK-a\r\n"
	                "Via: SIP/2.0/UDP ue;branch=z9hG4bK-u\r\n"
	                "f: <sip:a@x>;tag=fa\r\n"
	                "t: <sip:b@x>;tag=tb\r\n"
	                "Timestamp: 54\r\n"
	                "i: c9\r\n"
	                "CSeq: 5 INVITE\r\n"
	                "Content-Length: 0\r\n\r\n");
	expect_response("483", m, 483, "Too Many Hops", NULL, NULL,
	                "SIP/2.0 483 Too Many Hops\r\n"
	                "v: SIP/2.0/UDP p2;branch=z9hG4bK-b, SIP/2.0/UDP p1;branch=z9hG4bK-a\r\n"
	                "Via: SIP/2.0/UDP ue;branch=z9hG4bK-u\r\n"
	                "f: <sip:a@x>;tag=fa\r\n"
	                "t: <sip:b@x>;tag=tb\r\n"
	                "i: c9\r\n"
	                "CSeq: 5 INVITE\r\n"
	                "Content-Length: 0\r\n\r\n");
	sip_msg_free(m);

	CU_ASSERT_STRING_EQUAL(sip_msg_reason_phrase(408), "Request Timeout");
	CU_ASSERT_STRING_EQUAL(sip_msg_reason_phrase(499), "Client Error");
	CU_ASSERT_STRING_EQUAL(sip_msg_reason_phrase(1000), "Unknown");
}

/* ---- robustness ---- */

/* Parses buf and, when it parses, runs every view and a forward edit over it. */
static void poke(const char *buf, size_t len)
{
	struct sip_msg *m;
	struct sip_via via;
	struct sip_addr a;
	struct sip_contact c;
	struct sip_uri u;
	char why[128], tag[64], *out;
	const char *names[] = {"ck", "ik"};
	uint32_t exp;
	size_t need;
	int r = sip_msg_parse(buf, len, &m, why, sizeof(why));

	if (r < 0) {
		CU_ASSERT_TRUE(why[0] != '\0');
		return;
	}
	(void)sip_msg_max_forwards(m);
	(void)sip_msg_expires(m, &exp);
	(void)sip_msg_from_tag(m, tag, sizeof(tag));
	(void)sip_msg_to_tag(m, tag, sizeof(tag));
	(void)sip_msg_contact(m, 0, &c);
	if (sip_msg_nameaddr(m, "Route", 0, &a) == 0)
		(void)sip_msg_uri_parse(a.uri.p, a.uri.len, &u);
	if (sip_msg_top_via(m, &via) == 0)
		(void)sip_msg_edit_via_received(m, &via, "10.0.0.1", 5060);
	(void)sip_msg_edit_pop(m, sip_msg_is_request(m) ? "Route" : "Via", 1);
	(void)sip_msg_edit_push(m, "Via", "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-f");
	(void)sip_msg_edit_set(m, "Max-Forwards", "69");
	(void)sip_msg_edit_auth_remove(m, "WWW-Authenticate", names, 2);
	need = sip_msg_render_len(m);
	out = malloc(need + 1);
	if (out) {
		CU_ASSERT_EQUAL(sip_msg_render(m, out, need + 1), (ssize_t)need);
		if (sip_msg_is_request(m))
			(void)sip_msg_build_response(m, 400, NULL, "x", NULL, out, need + 1);
	}
	free(out);
	sip_msg_free(m);
}

static void test_robustness(void)
{
	static const char *const fixtures[] = {"invite-sdp.sip", "401-ck-ik.sip", "comma-lists.sip",
	                                       "folded.sip", "register-auts.sip"};
	static const char flips[] = {'\0', ',', '"', '<', '>', '\r',
	                             '\n', ' ', ';', ':', '=', '\\'};

	for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
		size_t len;
		char *raw = unit_fixture_load(SIP_FIXTURES, fixtures[f], &len), *copy;

		CU_ASSERT_PTR_NOT_NULL_FATAL(raw);
		copy = malloc(len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		/* every truncation; then every byte replaced by each troublesome one */
		for (size_t n = 0; n <= len; n++) {
			memcpy(copy, raw, n);
			poke(copy, n);
		}
		for (size_t i = 0; i < len; i++) {
			for (size_t k = 0; k < sizeof(flips); k++) {
				memcpy(copy, raw, len);
				copy[i] = flips[k];
				poke(copy, len);
			}
		}
		free(copy);
		free(raw);
	}
}

int test_sip_msg_register(void)
{
	static CU_TestInfo tests[] = {
	    {"register index and views", test_register_index},
	    {"compact forms", test_compact_forms},
	    {"folded lines", test_folding},
	    {"comma-separated values", test_comma_values},
	    {"broken fixtures", test_broken_fixtures},
	    {"broken inline", test_broken_inline},
	    {"limits", test_limits},
	    {"datagram body", test_datagram_body},
	    {"REGISTER forward", test_register_forward},
	    {"Via received and rport", test_via_received_rules},
	    {"auts survives", test_auts_survives},
	    {"401 ck ik stripped", test_401_ck_ik},
	    {"auth parameters", test_auth_params},
	    {"INVITE forward and forks", test_invite_forward},
	    {"edit rules", test_edit_rules},
	    {"numeric headers", test_numeric_headers},
	    {"typed errors", test_typed_errors},
	    {"URI parse", test_uri_parse},
	    {"build response", test_build_response},
	    {"robustness", test_robustness},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("sip_msg", tests);
}
