/* Proxy core over real sockets on 127.0.0.1: one to three proxies run in-process on the
 * test's loop with small test roles (forward to a fixed target, reply, defer), and raw
 * UDP/TCP sockets play the UAC and the UAS. Checks the forwarded bytes, response relay,
 * retransmission absorption, Timers E/F/G, 408, 483, 482 (loop and spiral), 400/505,
 * CANCEL/487 and 2xx handling for INVITE, TCP for large requests, the transaction cap,
 * routing helpers, and measures the CPU cost of a REGISTER through three proxies. */
#include "loop.h"
#include "sip_msg.h"
#include "sip_proxy.h"
#include "topo.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define FIX     "tests/fixtures/proxy/"
#define BUF_MAX 8192
#define LOCAL   "127.0.0.1"
/* T1 of the tests that do not wait for timers: no retransmission gets in their way */
#define SLOW_T1 2000

enum role_mode {
	ROLE_FWD,   /* forward every request to target */
	ROLE_REPLY, /* answer status at once */
	ROLE_DEFER, /* hold the request; answer status after defer_ms (0: never) */
};

/* A test role: what it does and what it saw. */
struct role {
	enum role_mode mode;      /* behaviour */
	struct loop *lp;          /* the test loop */
	struct sip_target target; /* ROLE_FWD next hop */
	int status;               /* ROLE_REPLY/ROLE_DEFER answer */
	const char *body;         /* ROLE_REPLY body (text/plain), NULL for none */
	unsigned defer_ms;        /* ROLE_DEFER delay, 0: never answer */
	struct sip_req *held;     /* ROLE_DEFER request waiting */
	uint64_t timer;           /* ROLE_DEFER answer timer */
	int requests;             /* on_request calls */
	int responses;            /* on_response calls */
	int last_status;          /* status seen by the last on_response */
	int gone;                 /* on_gone calls */
	int forward_err;          /* last sip_req_forward result */
	int *freed;               /* incremented by the data free function */
};

/* The test bench: a loop, up to three proxies, a UAC and a UAS socket. */
struct env {
	struct loop *lp;         /* owned */
	struct sip_proxy *px[3]; /* owned */
	struct role roles[3];    /* role of each proxy */
	int uac, uas;            /* UDP sockets, owned */
	uint16_t uac_port;       /* their ports */
	uint16_t uas_port;       /* UAS port */
};

static int freed_count;

static void count_free(void *data)
{
	(*(int *)data)++;
}

static void role_answer(struct loop *lp, void *arg)
{
	struct role *ro = arg;

	ro->timer = 0;
	if (ro->held)
		sip_req_reply(ro->held, ro->status, NULL, NULL);
	ro->held = NULL;
}

static void role_on_request(void *app, struct sip_req *req)
{
	struct role *ro = app;

	ro->requests++;
	if (ro->freed)
		sip_req_set_data(req, ro->freed, count_free);
	switch (ro->mode) {
	case ROLE_FWD:
		ro->forward_err = sip_req_forward(req, &ro->target);
		if (ro->forward_err < 0)
			sip_req_reply(req, 503, NULL, NULL);
		break;
	case ROLE_REPLY:
		if (ro->body)
			sip_req_reply_body(req, ro->status, "Fine", "Content-Type: text/plain\r\n",
			                   ro->body, strlen(ro->body));
		else
			sip_req_reply(req, ro->status, NULL, NULL);
		break;
	case ROLE_DEFER:
		ro->held = req;
		if (ro->defer_ms)
			ro->timer = loop_timer_add(ro->lp, ro->defer_ms, role_answer, ro);
		break;
	}
}

static void role_on_response(void *app, struct sip_req *req, struct sip_msg *resp)
{
	struct role *ro = app;

	ro->responses++;
	ro->last_status = sip_msg_status(resp);
	CU_ASSERT_PTR_NOT_NULL(sip_req_msg(req));
}

static void role_on_gone(void *app, struct sip_req *req)
{
	struct role *ro = app;

	ro->gone++;
	if (ro->held == req) {
		ro->held = NULL;
		loop_timer_cancel(ro->lp, ro->timer);
		ro->timer = 0;
	}
}

static const struct sip_proxy_ops role_ops = {role_on_request, role_on_response, role_on_gone};

/* ---- sockets and the loop ---- */

static void stop(struct loop *lp, void *arg)
{
	loop_stop(lp);
}

static void run(struct loop *lp, uint64_t ms)
{
	uint64_t id = loop_timer_add(lp, ms, stop, NULL);

	loop_run(lp);
	loop_timer_cancel(lp, id);
}

static int udp_socket(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, LOCAL, &sa.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static struct sockaddr_in local_addr(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

	inet_pton(AF_INET, LOCAL, &sa.sin_addr);
	return sa;
}

static void send_to(int fd, uint16_t port, const char *msg, size_t len)
{
	struct sockaddr_in sa = local_addr(port);

	CU_ASSERT_EQUAL(sendto(fd, msg, len, 0, (struct sockaddr *)&sa, sizeof(sa)), (ssize_t)len);
}

static void send_str(int fd, uint16_t port, const char *msg)
{
	send_to(fd, port, msg, strlen(msg));
}

static void on_readable(struct loop *lp, int fd, uint32_t events, void *arg)
{
	loop_stop(lp);
}

/* Runs the loop until fd is readable or ms passed, then reads one datagram (or what a
 * stream has). Returns the length, or -1 when nothing came. */
static ssize_t await(struct loop *lp, int fd, char *buf, size_t cap, uint64_t ms)
{
	ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);

	if (n < 0) {
		uint64_t id = loop_timer_add(lp, ms, stop, NULL);

		loop_fd_add(lp, fd, EPOLLIN, on_readable, NULL);
		loop_run(lp);
		loop_fd_del(lp, fd);
		loop_timer_cancel(lp, id);
		n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	}
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* Reads fixture name into a NUL-terminated malloc'd buffer (aborts the test if absent). */
static char *load(const char *name)
{
	char path[256];
	char *buf = NULL;
	long n;
	FILE *f;

	snprintf(path, sizeof(path), FIX "%s", name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
		if (buf)
			buf[n] = '\0';
	}
	fclose(f);
	return buf;
}

/* Copy of s with every "from" replaced by "to" (malloc'd). */
static char *subst(const char *s, const char *from, const char *to)
{
	size_t fl = strlen(from), tl = strlen(to), n = 0, cap = strlen(s) + 1;
	const char *q;
	char *out;

	for (q = strstr(s, from); q; q = strstr(q + fl, from))
		cap += tl;
	out = malloc(cap);
	if (!out)
		return NULL;
	while ((q = strstr(s, from))) {
		memcpy(out + n, s, (size_t)(q - s));
		n += (size_t)(q - s);
		memcpy(out + n, to, tl);
		n += tl;
		s = q + fl;
	}
	memcpy(out + n, s, strlen(s) + 1);
	return out;
}

/* A response to the request in req (as the UAS would answer), NUL-terminated. */
static ssize_t respond(const char *req, int status, const char *tag, char *out, size_t cap)
{
	struct sip_msg *m;
	ssize_t n;

	if (sip_msg_parse(req, strlen(req), &m, NULL, 0) < 0)
		return -1;
	n = sip_msg_build_response(m, status, NULL, tag, NULL, out, cap);
	sip_msg_free(m);
	return n;
}

/* s without its first line starting with prefix (a header line), malloc'd. */
static char *drop_line(const char *s, const char *prefix)
{
	const char *l = strstr(s, prefix), *e;
	char *out = malloc(strlen(s) + 1);
	size_t n;

	if (!out)
		return NULL;
	if (!l || !(e = strstr(l, "\r\n"))) {
		memcpy(out, s, strlen(s) + 1);
		return out;
	}
	n = (size_t)(l - s);
	memcpy(out, s, n);
	memcpy(out + n, e + 2, strlen(e + 2) + 1);
	return out;
}

/* The branch of the first Via line of msg, into out (size cap). */
static void first_branch(const char *msg, char *out, size_t cap)
{
	const char *b = strstr(msg, "branch=");
	size_t n = 0;

	out[0] = '\0';
	if (!b)
		return;
	b += 7;
	while (b[n] && b[n] != ';' && b[n] != '\r' && n + 1 < cap)
		n++;
	memcpy(out, b, n);
	out[n] = '\0';
}

static struct sip_proxy *proxy_up(struct env *e, int i, enum role_mode mode, unsigned t1,
                                  unsigned max_txns)
{
	struct sip_proxy_conf conf = {
	    .address = LOCAL,
	    .port = 0,
	    .fqdn = "proxy.ims.alpha.test",
	    .ops = &role_ops,
	    .app = &e->roles[i],
	    .t1_ms = t1,
	    .max_txns = max_txns,
	};

	e->roles[i].mode = mode;
	e->roles[i].lp = e->lp;
	e->roles[i].target.addr = local_addr(e->uas_port);
	e->roles[i].target.proto = SIP_PROTO_UDP;
	e->px[i] = sip_proxy_new(e->lp, &conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->px[i]);
	return e->px[i];
}

static void env_up(struct env *e)
{
	memset(e, 0, sizeof(*e));
	e->lp = loop_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->lp);
	e->uac = udp_socket(&e->uac_port);
	e->uas = udp_socket(&e->uas_port);
	CU_ASSERT_FATAL(e->uac >= 0 && e->uas >= 0);
}

static void env_down(struct env *e)
{
	for (int i = 0; i < 3; i++) {
		loop_timer_cancel(e->lp, e->roles[i].timer);
		sip_proxy_free(e->px[i]);
	}
	close(e->uac);
	close(e->uas);
	loop_free(e->lp);
}

static uint16_t port_of(struct env *e, int i)
{
	return sip_proxy_port(e->px[i]);
}

/* ---- tests ---- */

/* RFC 3261 16.6: our Via on top, Max-Forwards minus one, received/rport on the UAC's
 * Via (RFC 3581 4), every other byte as sent; 16.7: the response with our Via popped,
 * every other byte as the UAS sent it. */
static void test_forward_and_relay(void)
{
	struct env e;
	char fwd[BUF_MAX], got[BUF_MAX], resp[BUF_MAX], via[128], rport[96];
	char *reg = load("register.sip"), *expect, *tmp, *relayed;
	size_t vlen;
	ssize_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	send_str(e.uac, port_of(&e, 0), reg);
	n = await(e.lp, e.uas, fwd, sizeof(fwd), 2000);
	CU_ASSERT_FATAL(n > 0);
	/* start line, then our Via */
	vlen = (size_t)snprintf(via, sizeof(via), "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK", LOCAL,
	                        port_of(&e, 0));
	tmp = strstr(fwd, "\r\n");
	CU_ASSERT_FATAL(tmp != NULL);
	CU_ASSERT_EQUAL(strncmp(tmp + 2, via, vlen), 0);
	tmp += 2 + vlen;
	for (int i = 0; i < 32; i++)
		CU_ASSERT(strchr("0123456789abcdef", tmp[i]) != NULL);
	CU_ASSERT_EQUAL(strncmp(tmp + 32, "\r\n", 2), 0);
	/* the rest: the UAC's bytes with the two edits */
	snprintf(rport, sizeof(rport), ";rport=%u;received=127.0.0.1\r\n", e.uac_port);
	tmp = subst(reg, ";rport\r\n", rport);
	expect = subst(tmp, "Max-Forwards: 70\r\n", "Max-Forwards: 69\r\n");
	free(tmp);
	tmp = drop_line(fwd, "Via: SIP/2.0/UDP 127.0.0.1:");
	CU_ASSERT_STRING_EQUAL(tmp, expect);
	free(tmp);
	free(expect);
	/* the UAS answers; the UAC gets it without the proxy's Via */
	n = respond(fwd, 200, "uas-tag", resp, sizeof(resp));
	CU_ASSERT_FATAL(n > 0);
	send_to(e.uas, port_of(&e, 0), resp, (size_t)n);
	n = await(e.lp, e.uac, got, sizeof(got), 2000);
	CU_ASSERT_FATAL(n > 0);
	relayed = drop_line(resp, "Via: SIP/2.0/UDP 127.0.0.1:");
	CU_ASSERT_STRING_EQUAL(got, relayed);
	free(relayed);
	CU_ASSERT_EQUAL(e.roles[0].requests, 1);
	CU_ASSERT_EQUAL(e.roles[0].responses, 1);
	CU_ASSERT_EQUAL(e.roles[0].last_status, 200);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->forwarded, 1);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->responses_in, 1);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->txns, 1); /* Timer J holds it */
	free(reg);
	env_down(&e);
}

/* RFC 3261 17.2.2: a retransmission before the answer is absorbed, after it gets the
 * same response again; the next hop sees the request once. */
static void test_retransmission(void)
{
	struct env e;
	char fwd[BUF_MAX], got[BUF_MAX], again[BUF_MAX], resp[BUF_MAX];
	char *reg = load("register.sip");
	ssize_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	send_str(e.uac, port_of(&e, 0), reg);
	send_str(e.uac, port_of(&e, 0), reg);
	CU_ASSERT(await(e.lp, e.uas, fwd, sizeof(fwd), 2000) > 0);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 100) < 0);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 50) < 0);
	n = respond(fwd, 200, "uas-tag", resp, sizeof(resp));
	send_to(e.uas, port_of(&e, 0), resp, (size_t)n);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	send_str(e.uac, port_of(&e, 0), reg);
	CU_ASSERT(await(e.lp, e.uac, again, sizeof(again), 2000) > 0);
	CU_ASSERT_STRING_EQUAL(got, again);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 100) < 0);
	CU_ASSERT_EQUAL(e.roles[0].requests, 1);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->retransmissions, 2);
	free(reg);
	env_down(&e);
}

/* RFC 3261 17.1.2.2: Timer E retransmits the same bytes (T1 doubling, capped at T2);
 * Timer F gives a 408 upstream, shown to the role first. */
static void test_timer_e_and_408(void)
{
	struct env e;
	char first[BUF_MAX], got[BUF_MAX];
	char *reg = load("register.sip");
	int copies = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, 20, 0);
	send_str(e.uac, port_of(&e, 0), reg);
	CU_ASSERT_FATAL(await(e.lp, e.uas, first, sizeof(first), 2000) > 0);
	run(e.lp, 64 * 20 + 300);
	while (recv(e.uas, got, sizeof(got) - 1, MSG_DONTWAIT) > 0) {
		copies++;
		CU_ASSERT_EQUAL(memcmp(got, first, strlen(first)), 0);
	}
	/* sent at 0, 20, 60, 140, 300, 460, ... 1260 ms: 10 retransmissions */
	CU_ASSERT(copies >= 6 && copies <= 11); /* fewer on a loaded machine */
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 500) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 408 Request Timeout\r\n", 29), 0);
	CU_ASSERT(strstr(got, "CSeq: 1 REGISTER\r\n") != NULL);
	CU_ASSERT(strstr(got, ";rport=") != NULL);
	CU_ASSERT_EQUAL(e.roles[0].responses, 1);
	CU_ASSERT_EQUAL(e.roles[0].last_status, 408);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->timeouts, 1);
	free(reg);
	env_down(&e);
}

/* RFC 3261 16.3 item 3: Max-Forwards 0 gets 483; 16.6 step 3: an absent one becomes 70. */
static void test_max_forwards(void)
{
	struct env e;
	char got[BUF_MAX];
	char *mf0 = load("register-mf0.sip"), *nomf = load("register-no-mf.sip");

	CU_ASSERT_PTR_NOT_NULL_FATAL(mf0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nomf);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	send_str(e.uac, port_of(&e, 0), mf0);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 483 Too Many Hops\r\n", 27), 0);
	CU_ASSERT(strstr(got, "To: <sip:alice@ims.alpha.test>;tag=") != NULL);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 100) < 0);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->replies_4xx_core, 1);
	CU_ASSERT_EQUAL(e.roles[0].requests, 0);
	send_str(e.uac, port_of(&e, 0), nomf);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT(strstr(got, "\r\nMax-Forwards: 70\r\n\r\n") != NULL);
	free(mf0);
	free(nomf);
	env_down(&e);
}

/* RFC 3261 16.3 item 4: our own request coming back unchanged is a loop (482); with a
 * new Request-URI it is a spiral and goes on. A proxy routing to itself sees the 482
 * come back as the response of its client transaction and relays it. */
static void test_loop_and_spiral(void)
{
	struct env e;
	char fwd[BUF_MAX], got[BUF_MAX], b1[128], b2[128];
	char *reg = load("register.sip"), *spiral;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	send_str(e.uac, port_of(&e, 0), reg);
	CU_ASSERT_FATAL(await(e.lp, e.uas, fwd, sizeof(fwd), 2000) > 0);
	send_str(e.uas, port_of(&e, 0), fwd);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 482 Loop Detected\r\n", 27), 0);
	CU_ASSERT_EQUAL(e.roles[0].requests, 1);
	spiral = subst(fwd, "REGISTER sip:ims.alpha.test ", "REGISTER sip:other.alpha.test ");
	send_str(e.uas, port_of(&e, 0), spiral);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "REGISTER sip:other.alpha.test SIP/2.0\r\n", 39), 0);
	first_branch(fwd, b1, sizeof(b1));
	first_branch(got, b2, sizeof(b2));
	/* same transaction part would be wrong: the spiral is a new transaction */
	CU_ASSERT_STRING_NOT_EQUAL(b1, b2);
	CU_ASSERT_EQUAL(e.roles[0].requests, 2);
	free(spiral);

	/* a proxy forwarding to itself */
	proxy_up(&e, 1, ROLE_FWD, SLOW_T1, 0);
	e.roles[1].target.addr = local_addr(port_of(&e, 1));
	send_str(e.uac, port_of(&e, 1), reg);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 482 Loop Detected\r\n", 27), 0);
	CU_ASSERT_EQUAL(e.roles[1].last_status, 482);
	free(reg);
	env_down(&e);
}

/* Malformed requests get 400 with the parse's reason, other versions 505; garbage and
 * responses nobody asked for are dropped and counted. */
static void test_malformed(void)
{
	struct env e;
	char got[BUF_MAX];
	char *nocid = load("register-no-callid.sip"), *sip3 = load("register-sip3.sip");
	static const char garbage[] = "\x01\x02 not sip at all\r\n\r\n";
	static const char stray[] = "SIP/2.0 200 OK\r\n"
	                            "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnothing\r\n"
	                            "From: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\n"
	                            "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

	CU_ASSERT_PTR_NOT_NULL_FATAL(nocid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sip3);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	send_str(e.uac, port_of(&e, 0), nocid);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 400 ", 12), 0);
	CU_ASSERT(strstr(got, "Call-ID") != NULL && strstr(got, "Call-ID") < strstr(got, "\r\n"));
	CU_ASSERT(strstr(got, "\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-uac-0001") !=
	          NULL);
	CU_ASSERT(strstr(got, "\r\nCSeq: 1 REGISTER\r\n") != NULL);
	send_str(e.uac, port_of(&e, 0), sip3);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 505 ", 12), 0);
	send_str(e.uac, port_of(&e, 0), garbage);
	send_str(e.uac, port_of(&e, 0), stray);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 200) < 0);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 10) < 0);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->dropped, 1);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->stray_responses, 1);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->replies_4xx_core, 1);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->replies_5xx_core, 1);
	CU_ASSERT_EQUAL(e.roles[0].requests, 0);
	free(nocid);
	free(sip3);
	env_down(&e);
}

/* An ACK for the INVITE's non-2xx, built by the UAC from the INVITE and the response. */
static char *make_ack(const char *invite, const char *resp)
{
	const char *to = strstr(resp, "\r\nTo: ");
	char *ack, *tmp, *cl, line[256];
	size_t n;

	if (!to || !strstr(invite, "Content-Type:"))
		return NULL;
	n = (size_t)(strstr(to + 2, "\r\n") - (to + 2));
	snprintf(line, sizeof(line), "%.*s", (int)n, to + 2);
	tmp = subst(invite, "To: <sip:bob@ims.alpha.test>", line);
	ack = subst(tmp, "INVITE", "ACK");
	free(tmp);
	/* no body: cut at Content-Type */
	cl = strstr(ack, "Content-Type:");
	if (cl)
		memcpy(cl, "Content-Length: 0\r\n\r\n", 22);
	return ack;
}

/* RFC 3261 9, 16.10, 17.1.1.3, 17.2.1: 100 at once, 180 relayed, CANCEL answered 200
 * and sent downstream on the INVITE's branch once a provisional came, 487 relayed,
 * hop-by-hop ACK sent downstream, the UAC's ACK absorbed. */
static void test_invite_cancel(void)
{
	struct env e;
	char fwd[BUF_MAX], got[BUF_MAX], resp[BUF_MAX], cancel_fwd[BUF_MAX], b1[128], b2[128];
	char *inv = load("invite.sip"), *can = load("cancel.sip"), *ack;
	ssize_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	CU_ASSERT_PTR_NOT_NULL_FATAL(can);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	send_str(e.uac, port_of(&e, 0), inv);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 100 Trying\r\n", 20), 0);
	CU_ASSERT_FATAL(await(e.lp, e.uas, fwd, sizeof(fwd), 2000) > 0);
	CU_ASSERT(strstr(fwd, "v=0\r\n") != NULL);
	/* a CANCEL before any provisional waits (9.1) */
	send_str(e.uac, port_of(&e, 0), can);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	CU_ASSERT(strstr(got, "CSeq: 10 CANCEL\r\n") != NULL);
	CU_ASSERT(await(e.lp, e.uas, cancel_fwd, sizeof(cancel_fwd), 100) < 0);
	/* 180 from downstream: relayed, and now the CANCEL goes */
	n = respond(fwd, 180, "uas-tag", resp, sizeof(resp));
	send_to(e.uas, port_of(&e, 0), resp, (size_t)n);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 180 Ringing\r\n", 21), 0);
	CU_ASSERT_FATAL(await(e.lp, e.uas, cancel_fwd, sizeof(cancel_fwd), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(cancel_fwd, "CANCEL sip:bob@ims.alpha.test SIP/2.0\r\n", 39), 0);
	CU_ASSERT(strstr(cancel_fwd, "\r\nCSeq: 10 CANCEL\r\n") != NULL);
	CU_ASSERT(strstr(cancel_fwd, "\r\nRoute: <sip:pcscf.ims.alpha.test;lr>\r\n") != NULL);
	CU_ASSERT(strstr(cancel_fwd, "z9hG4bK-uac-inv1") == NULL); /* our Via only */
	first_branch(fwd, b1, sizeof(b1));
	first_branch(cancel_fwd, b2, sizeof(b2));
	CU_ASSERT_STRING_EQUAL(b1, b2);
	/* downstream: 200 to the CANCEL, 487 to the INVITE */
	n = respond(cancel_fwd, 200, "uas-tag", resp, sizeof(resp));
	send_to(e.uas, port_of(&e, 0), resp, (size_t)n);
	n = respond(fwd, 487, "uas-tag", resp, sizeof(resp));
	send_to(e.uas, port_of(&e, 0), resp, (size_t)n);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 487 Request Terminated\r\n", 32), 0);
	CU_ASSERT(await(e.lp, e.uas, cancel_fwd, sizeof(cancel_fwd), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(cancel_fwd, "ACK sip:bob@ims.alpha.test SIP/2.0\r\n", 36), 0);
	CU_ASSERT(strstr(cancel_fwd, ";tag=uas-tag\r\n") != NULL);
	CU_ASSERT(strstr(cancel_fwd, "\r\nCSeq: 10 ACK\r\n") != NULL);
	first_branch(cancel_fwd, b2, sizeof(b2));
	CU_ASSERT_STRING_EQUAL(b1, b2);
	/* the 487 again from downstream: ACK again, nothing upstream */
	send_to(e.uas, port_of(&e, 0), resp, (size_t)n);
	CU_ASSERT(await(e.lp, e.uas, cancel_fwd, sizeof(cancel_fwd), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(cancel_fwd, "ACK ", 4), 0);
	/* the UAC's ACK ends the server transaction and goes nowhere */
	ack = make_ack(inv, got);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ack);
	send_str(e.uac, port_of(&e, 0), ack);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 700) < 0);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 10) < 0); /* no Timer G after ACK */
	CU_ASSERT_EQUAL(e.roles[0].requests, 1);
	CU_ASSERT_EQUAL(e.roles[0].responses, 2); /* 180, 487 */
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->cancels, 1);
	free(ack);
	free(inv);
	free(can);
	env_down(&e);
}

/* RFC 3261 16.7 step 5, RFC 6026: every 2xx to INVITE is relayed, retransmitted
 * INVITEs are absorbed, the ACK for the 2xx is a new request the role forwards. */
static void test_invite_2xx(void)
{
	struct env e;
	char fwd[BUF_MAX], got[BUF_MAX], resp[BUF_MAX];
	char *inv = load("invite.sip"), *ack, *tmp;
	ssize_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	send_str(e.uac, port_of(&e, 0), inv);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_FATAL(await(e.lp, e.uas, fwd, sizeof(fwd), 2000) > 0);
	n = respond(fwd, 200, "uas-tag", resp, sizeof(resp));
	send_to(e.uas, port_of(&e, 0), resp, (size_t)n);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	send_to(e.uas, port_of(&e, 0), resp, (size_t)n);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	send_str(e.uac, port_of(&e, 0), inv);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 100) < 0);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 10) < 0);
	tmp = make_ack(inv, resp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
	ack = subst(tmp, "z9hG4bK-uac-inv1", "z9hG4bK-uac-ack1");
	send_str(e.uac, port_of(&e, 0), ack);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "ACK sip:bob@ims.alpha.test SIP/2.0\r\nVia: SIP/2.0/UDP ", 53),
	                0);
	CU_ASSERT(strstr(got, "z9hG4bK-uac-ack1") != NULL);
	CU_ASSERT_EQUAL(e.roles[0].requests, 2);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->retransmissions, 1);
	free(tmp);
	free(ack);
	free(inv);
	env_down(&e);
}

/* RFC 3261 17.2.1: a non-2xx final to INVITE is retransmitted (Timer G) until the ACK. */
static void test_invite_timer_g(void)
{
	struct env e;
	char got[BUF_MAX], final[BUF_MAX];
	char *inv = load("invite.sip"), *ack;
	int copies = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	env_up(&e);
	proxy_up(&e, 0, ROLE_REPLY, 20, 0);
	e.roles[0].status = 486;
	send_str(e.uac, port_of(&e, 0), inv);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 100 Trying\r\n", 20), 0);
	CU_ASSERT(await(e.lp, e.uac, final, sizeof(final), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(final, "SIP/2.0 486 Busy Here\r\n", 23), 0);
	run(e.lp, 200);
	while (recv(e.uac, got, sizeof(got) - 1, MSG_DONTWAIT) > 0)
		copies++;
	CU_ASSERT(copies >= 2);
	ack = make_ack(inv, final);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ack);
	send_str(e.uac, port_of(&e, 0), ack);
	run(e.lp, 30);
	while (recv(e.uac, got, sizeof(got) - 1, MSG_DONTWAIT) > 0)
		; /* one may have crossed the ACK */
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 300) < 0);
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 10) < 0);
	free(ack);
	free(inv);
	env_down(&e);
}

/* RFC 3261 9.2: a CANCEL matching nothing gets 481. */
static void test_cancel_unknown(void)
{
	struct env e;
	char got[BUF_MAX];
	char *can = load("cancel-unknown.sip");

	CU_ASSERT_PTR_NOT_NULL_FATAL(can);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	send_str(e.uac, port_of(&e, 0), can);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 481 ", 12), 0);
	free(can);
	env_down(&e);
}

/* A role answering later (a Diameter round trip); a CANCEL while it holds an INVITE
 * gives on_gone and a 487 from the core; role data is freed with the transaction. */
static void test_deferred_and_gone(void)
{
	struct env e;
	char got[BUF_MAX];
	char *reg = load("register.sip"), *inv = load("invite.sip"), *can = load("cancel.sip");
	uint64_t t0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	CU_ASSERT_PTR_NOT_NULL_FATAL(can);
	freed_count = 0;
	env_up(&e);
	proxy_up(&e, 0, ROLE_DEFER, 0, 0);
	e.roles[0].status = 200;
	e.roles[0].defer_ms = 50;
	e.roles[0].freed = &freed_count;
	t0 = loop_clock_ms();
	send_str(e.uac, port_of(&e, 0), reg);
	run(e.lp, 10);
	send_str(e.uac, port_of(&e, 0), reg);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT(loop_clock_ms() - t0 >= 45);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	CU_ASSERT(strstr(got, "To: <sip:alice@ims.alpha.test>;tag=") != NULL);
	CU_ASSERT_EQUAL(e.roles[0].requests, 1);

	e.roles[0].defer_ms = 0;
	send_str(e.uac, port_of(&e, 0), inv);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0); /* 100 */
	CU_ASSERT_PTR_NOT_NULL(e.roles[0].held);
	send_str(e.uac, port_of(&e, 0), can);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 487 Request Terminated\r\n", 32), 0);
	CU_ASSERT_EQUAL(e.roles[0].gone, 1);
	CU_ASSERT_PTR_NULL(e.roles[0].held);
	CU_ASSERT_EQUAL(e.roles[0].responses, 0);
	env_down(&e);
	CU_ASSERT_EQUAL(freed_count, 2);
	free(reg);
	free(inv);
	free(can);
}

/* The cap on live transactions: 503 beyond it; freeing the proxy tells the role. */
static void test_overload(void)
{
	struct env e;
	char got[BUF_MAX];
	char *reg = load("register.sip"), *other;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	proxy_up(&e, 0, ROLE_DEFER, 0, 1);
	send_str(e.uac, port_of(&e, 0), reg);
	run(e.lp, 50);
	CU_ASSERT_PTR_NOT_NULL(e.roles[0].held);
	other = subst(reg, "z9hG4bK-uac-0001", "z9hG4bK-uac-0002");
	send_str(e.uac, port_of(&e, 0), other);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 503 ", 12), 0);
	sip_proxy_free(e.px[0]);
	e.px[0] = NULL;
	CU_ASSERT_EQUAL(e.roles[0].gone, 1);
	free(other);
	free(reg);
	env_down(&e);
}

/* RFC 3261 17.1.1.2: Timer A doubles, Timer B gives 408; RFC 3261 9.1: a CANCELled
 * INVITE downstream never answers, 64*T1 later the core sends 487 itself. */
static void test_invite_timeouts(void)
{
	struct env e;
	char got[BUF_MAX], fwd[BUF_MAX], resp[BUF_MAX];
	char *inv = load("invite.sip"), *can = load("cancel.sip"), *ack;
	int copies = 0, cancels = 0;
	ssize_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(inv);
	CU_ASSERT_PTR_NOT_NULL_FATAL(can);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, 20, 0);
	send_str(e.uac, port_of(&e, 0), inv);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0); /* 100 */
	run(e.lp, 64 * 20 + 200);
	while (recv(e.uas, got, sizeof(got) - 1, MSG_DONTWAIT) > 0)
		copies++;
	/* sent at 0, 20, 60, 140, 300, 620 and 1260 ms */
	CU_ASSERT(copies >= 4 && copies <= 7);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 500) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 408 Request Timeout\r\n", 29), 0);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->timeouts, 1);
	ack = make_ack(inv, got);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ack);
	send_str(e.uac, port_of(&e, 0), ack);
	free(ack);
	run(e.lp, 50);
	while (recv(e.uac, got, sizeof(got) - 1, MSG_DONTWAIT) > 0)
		; /* a Timer G copy may have crossed the ACK */

	/* second round: 180, CANCEL, then silence downstream */
	proxy_up(&e, 1, ROLE_FWD, 20, 0);
	send_str(e.uac, port_of(&e, 1), inv);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0); /* 100 */
	CU_ASSERT_FATAL(await(e.lp, e.uas, fwd, sizeof(fwd), 2000) > 0);
	n = respond(fwd, 180, "uas-tag", resp, sizeof(resp));
	send_to(e.uas, port_of(&e, 1), resp, (size_t)n);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0); /* 180 */
	send_str(e.uac, port_of(&e, 1), can);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	run(e.lp, 64 * 20 + 200);
	while (recv(e.uas, got, sizeof(got) - 1, MSG_DONTWAIT) > 0)
		if (strncmp(got, "CANCEL ", 7) == 0)
			cancels++;
	CU_ASSERT(cancels >= 5); /* Timer E on the CANCEL */
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 500) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 487 Request Terminated\r\n", 32), 0);
	CU_ASSERT_EQUAL(e.roles[1].last_status, 487);
	free(inv);
	free(can);
	env_down(&e);
}

/* RFC 3261 18.2.2: a request over TCP is answered on its connection; Timer J is 0 over
 * TCP, so the transaction is gone once the final response was relayed. */
static void test_tcp_upstream(void)
{
	struct env e;
	struct sockaddr_in sa;
	char fwd[BUF_MAX], got[BUF_MAX], resp[BUF_MAX];
	char *reg = load("register.sip"), *tcp;
	ssize_t n;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	sa = local_addr(port_of(&e, 0));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	tcp = subst(reg, "SIP/2.0/UDP 127.0.0.1:5999", "SIP/2.0/TCP 127.0.0.1:5999");
	CU_ASSERT_EQUAL(write(fd, tcp, strlen(tcp)), (ssize_t)strlen(tcp));
	CU_ASSERT_FATAL(await(e.lp, e.uas, fwd, sizeof(fwd), 2000) > 0);
	CU_ASSERT(strstr(fwd, "Via: SIP/2.0/UDP 127.0.0.1:") != NULL);
	n = respond(fwd, 200, "uas-tag", resp, sizeof(resp));
	send_to(e.uas, port_of(&e, 0), resp, (size_t)n);
	CU_ASSERT(await(e.lp, fd, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;", 48), 0);
	/* Timer J is 0: the same request again is a new one for the role */
	CU_ASSERT_EQUAL(write(fd, tcp, strlen(tcp)), (ssize_t)strlen(tcp));
	CU_ASSERT(await(e.lp, e.uas, fwd, sizeof(fwd), 2000) > 0);
	CU_ASSERT_EQUAL(e.roles[0].requests, 2);
	close(fd);
	free(tcp);
	free(reg);
	env_down(&e);
}

/* sip_req_reply_body: the body and its Content-Length replace the empty one. */
static void test_reply_body(void)
{
	struct env e;
	char got[BUF_MAX];
	char *reg = load("register.sip");

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	proxy_up(&e, 0, ROLE_REPLY, 0, 0);
	e.roles[0].status = 200;
	e.roles[0].body = "hello";
	send_str(e.uac, port_of(&e, 0), reg);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 Fine\r\n", 18), 0);
	CU_ASSERT(strstr(got, "\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello") !=
	          NULL);
	CU_ASSERT_EQUAL(strlen(strstr(got, "\r\n\r\n")), 4 + 5);
	free(reg);
	env_down(&e);
}

/* A TCP listener and the UAS's UDP socket on one port (as a SIP node has): the listener
 * picks a free port, UDP follows (a few tries, the UDP port may be taken). */
static int uas_tcp_listener(struct env *e)
{
	for (int tries = 0; tries < 16; tries++) {
		struct sockaddr_in sa = local_addr(0);
		socklen_t len = sizeof(sa);
		int fd = socket(AF_INET, SOCK_STREAM, 0), ufd;

		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || listen(fd, 4) < 0) {
			close(fd);
			return -1;
		}
		ufd = socket(AF_INET, SOCK_DGRAM, 0);
		if (ufd >= 0 && bind(ufd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(e->uas);
			e->uas = ufd;
			e->uas_port = ntohs(sa.sin_port);
			return fd;
		}
		close(ufd);
		close(fd);
	}
	return -1;
}

/* RFC 3261 18.1.1: a request over 1300 bytes goes over TCP (Via says TCP); the response
 * comes back on that connection and is relayed over UDP. */
static void test_tcp_for_large(void)
{
	struct env e;
	char pad[1500], got[BUF_MAX], resp[BUF_MAX], via[96];
	char *reg = load("register.sip"), *big;
	int lfd, cfd = -1;
	ssize_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	lfd = uas_tcp_listener(&e);
	CU_ASSERT_FATAL(lfd >= 0);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	memcpy(pad, "X-Pad: ", 7);
	memset(pad + 7, 'a', 1400);
	memcpy(pad + 1407, "\r\nContent-Length: 0\r\n", 22);
	big = subst(reg, "Content-Length: 0\r\n", pad);
	send_str(e.uac, port_of(&e, 0), big);
	n = await(e.lp, lfd, got, sizeof(got), 2000); /* readable listener: recv fails */
	cfd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(cfd >= 0);
	/* the whole request: read until its end */
	n = 0;
	for (int i = 0; i < 20 && !strstr(got, "\r\n\r\n"); i++) {
		ssize_t k = await(e.lp, cfd, got + n, sizeof(got) - (size_t)n, 200);

		if (k > 0)
			n += k;
		got[n] = '\0';
	}
	snprintf(via, sizeof(via), "Via: SIP/2.0/TCP %s:%u;branch=z9hG4bK", LOCAL, port_of(&e, 0));
	CU_ASSERT(strstr(got, via) != NULL);
	CU_ASSERT(strstr(got, "aaaa\r\nContent-Length: 0\r\n\r\n") != NULL);
	n = respond(got, 200, "uas-tag", resp, sizeof(resp));
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(write(cfd, resp, (size_t)n), n);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	CU_ASSERT(strstr(got, "TCP") == NULL);
	close(cfd);
	close(lfd);
	free(big);
	free(reg);
	env_down(&e);
}

/* RFC 3261 18.3: over TCP a request without Content-Length gets a 400 on its connection. */
static void test_tcp_malformed(void)
{
	struct env e;
	struct sockaddr_in sa;
	char got[BUF_MAX];
	char *reg = load("register.sip"), *nocl;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	sa = local_addr(port_of(&e, 0));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	nocl = subst(reg, "Content-Length: 0\r\n", "");
	CU_ASSERT_EQUAL(write(fd, nocl, strlen(nocl)), (ssize_t)strlen(nocl));
	CU_ASSERT(await(e.lp, fd, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 400 ", 12), 0);
	CU_ASSERT_EQUAL(e.roles[0].requests, 0);
	close(fd);
	free(nocl);
	free(reg);
	env_down(&e);
}

/* sip_proxy_uri, sip_proxy_is_us and sip_proxy_resolve against the valid topology. */
static void test_routing_helpers(void)
{
	char err[256], uri[128];
	struct topo *topo = topo_load("tests/fixtures/topo/valid.json", err, sizeof(err));
	struct loop *lp = loop_new();
	struct sip_proxy_conf conf = {
	    .address = LOCAL, .fqdn = "pcscf.ims.alpha.test", .topo = topo, .ops = &role_ops};
	struct sip_proxy *p;
	struct sip_target t;
	unsigned port;

	CU_ASSERT_PTR_NOT_NULL_FATAL(topo);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
	p = sip_proxy_new(lp, &conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	port = sip_proxy_port(p);
	snprintf(uri, sizeof(uri), "sip:pcscf.ims.alpha.test:%u;lr", port);
	CU_ASSERT_STRING_EQUAL(sip_proxy_uri(p), uri);
	CU_ASSERT(sip_proxy_is_us(p, uri, strlen(uri)));
	snprintf(uri, sizeof(uri), "sip:PCSCF.ims.alpha.test:%u", port);
	CU_ASSERT(sip_proxy_is_us(p, uri, strlen(uri)));
	snprintf(uri, sizeof(uri), "sip:term@127.0.0.1:%u;lr;orig", port);
	CU_ASSERT(sip_proxy_is_us(p, uri, strlen(uri)));
	snprintf(uri, sizeof(uri), "sip:pcscf.ims.alpha.test:%u;lr", port + 1);
	CU_ASSERT(!sip_proxy_is_us(p, uri, strlen(uri)));
	CU_ASSERT(!sip_proxy_is_us(p, "sip:pcscf.ims.alpha.test;lr", 27) || port == 5060);
	CU_ASSERT(!sip_proxy_is_us(p, "tel:+15550001", 13));

#define RESOLVE(u) sip_proxy_resolve(p, u, strlen(u), &t)
	CU_ASSERT_EQUAL(RESOLVE("sip:scscf.ims.alpha.test;lr"), 0);
	CU_ASSERT_EQUAL(t.addr.sin_addr.s_addr, inet_addr("127.0.1.3"));
	CU_ASSERT_EQUAL(ntohs(t.addr.sin_port), 5070);
	CU_ASSERT_EQUAL(t.proto, SIP_PROTO_UDP);
	CU_ASSERT_EQUAL(RESOLVE("sip:bob@ims.beta.test"), 0);
	CU_ASSERT_EQUAL(t.addr.sin_addr.s_addr, inet_addr("127.0.2.2"));
	CU_ASSERT_EQUAL(ntohs(t.addr.sin_port), 5060);
	CU_ASSERT_EQUAL(RESOLVE("sip:alice@ims.alpha.test;transport=TCP"), 0);
	CU_ASSERT_EQUAL(t.addr.sin_addr.s_addr, inet_addr("127.0.1.2"));
	CU_ASSERT_EQUAL(t.proto, SIP_PROTO_TCP);
	CU_ASSERT_EQUAL(RESOLVE("sip:x@scscf.ims.alpha.test:6000;lr"), 0);
	CU_ASSERT_EQUAL(ntohs(t.addr.sin_port), 6000);
	CU_ASSERT_EQUAL(RESOLVE("sip:127.0.0.9:5080"), 0);
	CU_ASSERT_EQUAL(t.addr.sin_addr.s_addr, inet_addr("127.0.0.9"));
	CU_ASSERT_EQUAL(ntohs(t.addr.sin_port), 5080);
	CU_ASSERT_EQUAL(RESOLVE("sip:nowhere.test"), -ENOENT);
	CU_ASSERT_EQUAL(RESOLVE("tel:+15550001"), -EBADMSG);
	CU_ASSERT_EQUAL(RESOLVE("sip:127.0.0.9;transport=sctp"), -EBADMSG);
	CU_ASSERT_EQUAL(RESOLVE("sip:127.0.0.9:99999"), -EBADMSG);
	CU_ASSERT_EQUAL(RESOLVE("sip:"), -EBADMSG);
#undef RESOLVE
	sip_proxy_free(p);
	loop_free(lp);
	topo_free(topo);
}

/* Keeps a window of REGISTERs in flight through the chain and counts the 200s. */
struct bench {
	struct loop *lp;  /* test loop */
	int fd;           /* UAC socket */
	uint16_t dst;     /* first proxy's port */
	const char *tmpl; /* register.sip */
	int total;        /* REGISTERs to complete */
	int window;       /* in flight at most */
	int sent;         /* sent so far */
	int done;         /* 200s received */
	int other;        /* other answers */
};

static void bench_fill(struct bench *b)
{
	char num[16];

	while (b->sent < b->total && b->sent - b->done < b->window) {
		char *msg;

		snprintf(num, sizeof(num), "%07d", b->sent++);
		msg = subst(b->tmpl, "0001", num);
		if (msg)
			send_str(b->fd, b->dst, msg);
		free(msg);
	}
}

static void bench_on_read(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct bench *b = arg;
	char buf[BUF_MAX];
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		if (strncmp(buf, "SIP/2.0 200 ", 12) == 0)
			b->done++;
		else
			b->other++;
	}
	bench_fill(b);
	if (b->done + b->other >= b->total)
		loop_stop(lp);
}

static double cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec * 1e6 + (double)ru.ru_utime.tv_usec +
	       (double)ru.ru_stime.tv_sec * 1e6 + (double)ru.ru_stime.tv_usec;
}

/* UAC -> P -> I -> S (answers 200): the UAC sees only its own Via; then a window of
 * REGISTERs measures the CPU per transaction and per proxy hop. */
static void test_three_proxies(void)
{
	struct env e;
	char got[BUF_MAX];
	char *reg = load("register.sip");
	struct bench b = {0};
	double cpu0, wall0;
	const char *env_n = getenv("SIP_PROXY_BENCH_N");

	CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
	env_up(&e);
	proxy_up(&e, 2, ROLE_REPLY, 0, 0);
	e.roles[2].status = 200;
	proxy_up(&e, 1, ROLE_FWD, SLOW_T1, 0);
	e.roles[1].target.addr = local_addr(port_of(&e, 2));
	proxy_up(&e, 0, ROLE_FWD, SLOW_T1, 0);
	e.roles[0].target.addr = local_addr(port_of(&e, 1));
	send_str(e.uac, port_of(&e, 0), reg);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	CU_ASSERT(strstr(got, "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-uac-0001;rport=") !=
	          NULL);
	CU_ASSERT_PTR_NULL(strstr(strstr(got, "Via:") + 4, "Via:"));
	CU_ASSERT_EQUAL(e.roles[0].responses, 1);
	CU_ASSERT_EQUAL(e.roles[1].responses, 1);
	CU_ASSERT(strstr(got, "Max-Forwards") == NULL);

	b.lp = e.lp;
	b.fd = e.uac;
	b.dst = port_of(&e, 0);
	b.tmpl = reg;
	b.total = env_n ? (int)strtol(env_n, NULL, 10) : 2000;
	b.window = 20;
	loop_fd_add(e.lp, e.uac, EPOLLIN, bench_on_read, &b);
	cpu0 = cpu_us();
	wall0 = (double)loop_clock_us();
	bench_fill(&b);
	run(e.lp, 60000);
	loop_fd_del(e.lp, e.uac);
	CU_ASSERT_EQUAL(b.done, b.total);
	if (b.done > 0) {
		double cpu = cpu_us() - cpu0, wall = (double)loop_clock_us() - wall0;

		fprintf(stderr,
		        "\n  sip_proxy bench: %d REGISTER through 3 proxies in %.0f ms (%.0f/s);"
		        " CPU %.1f us per transaction, %.1f us per proxy (request + response,"
		        " UAC included)\n",
		        b.done, wall / 1000, b.done / (wall / 1e6), cpu / b.done, cpu / b.done / 3);
	}
	free(reg);
	env_down(&e);
}

int test_sip_proxy_register(void)
{
	static CU_TestInfo tests[] = {
	    {"forward and relay", test_forward_and_relay},
	    {"retransmission absorbed", test_retransmission},
	    {"Timer E and 408", test_timer_e_and_408},
	    {"Max-Forwards", test_max_forwards},
	    {"loop and spiral", test_loop_and_spiral},
	    {"malformed, version, garbage", test_malformed},
	    {"INVITE CANCEL 487", test_invite_cancel},
	    {"INVITE 2xx and ACK", test_invite_2xx},
	    {"INVITE Timer G", test_invite_timer_g},
	    {"CANCEL unknown", test_cancel_unknown},
	    {"INVITE timeouts", test_invite_timeouts},
	    {"TCP upstream", test_tcp_upstream},
	    {"reply with body", test_reply_body},
	    {"deferred role and on_gone", test_deferred_and_gone},
	    {"overload 503", test_overload},
	    {"TCP for large requests", test_tcp_for_large},
	    {"TCP malformed", test_tcp_malformed},
	    {"routing helpers", test_routing_helpers},
	    {"three proxies and cost", test_three_proxies},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("sip_proxy", tests);
}
