/* Proxy core over real sockets on 127.0.0.1: one to three proxies run in-process on the
 * test's loop with small test roles (forward to a fixed target, reply, defer), and raw
 * UDP/TCP sockets play the UAC and the UAS. Checks the forwarded bytes, response relay,
 * retransmission absorption, Timers E/F/G, 408, 483, 482 (loop and spiral), 400/505,
 * CANCEL/487 and 2xx handling for INVITE, TCP for large requests, the transaction cap,
 * routing helpers, Route popping (loose and strict), Record-Route, next hop, parallel
 * forking with response selection, CANCEL and Timer C per branch, the stateless ACK,
 * dialogs and session counters, and measures the CPU cost of a REGISTER through three
 * proxies. */
#include "loop.h"
#include "sip_msg.h"
#include "sip_proxy.h"
#include "topo.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
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
	ROLE_ROUTE, /* pop our Route values, next hop, forward (role_route) */
	ROLE_FORK,  /* initial requests: Record-Route and fork to branches; in-dialog and
	               ACK: as ROLE_ROUTE */
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
	/* ROLE_ROUTE / ROLE_FORK */
	bool rr;                       /* ROLE_ROUTE: sip_req_record_route(rr_user) */
	const char *rr_user;           /* its user part, NULL for none */
	const char *push;              /* a Route value the role pushes itself, or NULL */
	const char *const *set;        /* sip_req_set_routes values when n_set > 0 */
	size_t n_set;                  /* entries in set */
	int popped;                    /* last sip_req_pop_routes result */
	char user[32];                 /* the user part it gave */
	int hop_err;                   /* last sip_req_next_hop result */
	struct sip_target hop;         /* the next hop it gave */
	struct sip_branch branches[2]; /* ROLE_FORK branches */
	size_t n_branches;             /* entries in branches */
};

/* The test bench: a loop, up to three proxies, a UAC and a UAS socket. */
struct env {
	struct loop *lp;         /* owned */
	struct sip_proxy *px[3]; /* owned */
	struct role roles[3];    /* role of each proxy */
	int uac, uas, uas2;      /* UDP sockets, owned */
	uint16_t uac_port;       /* their ports */
	uint16_t uas_port;       /* UAS port */
	uint16_t uas2_port;      /* second UAS (forking) */
	unsigned timer_c_ms;     /* Timer C of the proxies started next, 0: default */
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

static void role_route(struct role *ro, struct sip_req *req);
static void role_fork(struct role *ro, struct sip_req *req);

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
	case ROLE_ROUTE:
		role_route(ro, req);
		break;
	case ROLE_FORK:
		role_fork(ro, req);
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

/* RFC 3261 16.4, 16.6: pop, (Record-Route), next hop, forward; 404 without a hop. */
static void role_route(struct role *ro, struct sip_req *req)
{
	ro->popped = sip_req_pop_routes(req, ro->user, sizeof(ro->user));
	if (ro->push)
		CU_ASSERT_EQUAL(sip_msg_edit_push(sip_req_msg(req), "Route", ro->push), 0);
	if (ro->n_set)
		CU_ASSERT_EQUAL(sip_req_set_routes(req, ro->set, ro->n_set), 0);
	if (ro->rr)
		CU_ASSERT_EQUAL(sip_req_record_route(req, ro->rr_user), 0);
	ro->hop_err = sip_req_next_hop(req, &ro->hop);
	if (ro->hop_err < 0) {
		sip_req_reply(req, 404, NULL, NULL);
		return;
	}
	ro->forward_err = sip_req_forward(req, &ro->hop);
	if (ro->forward_err < 0)
		sip_req_reply(req, 503, NULL, NULL);
}

static void role_fork(struct role *ro, struct sip_req *req)
{
	struct sip_msg *m = sip_req_msg(req);
	char tag[64];

	if (sip_msg_method(m) == SIP_ACK || sip_msg_to_tag(m, tag, sizeof(tag)) == 0) {
		role_route(ro, req);
		return;
	}
	ro->popped = sip_req_pop_routes(req, ro->user, sizeof(ro->user));
	CU_ASSERT_EQUAL(sip_req_record_route(req, NULL), 0);
	ro->forward_err = sip_req_fork(req, ro->branches, ro->n_branches);
	if (ro->forward_err < 0)
		sip_req_reply(req, 503, NULL, NULL);
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

/* Reads fixture name into a NUL-terminated malloc'd buffer; NULL when unreadable. */
static char *load(const char *name)
{
	return unit_fixture_load(FIX, name, NULL);
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
	    .timer_c_ms = e->timer_c_ms,
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
	e->uas2 = udp_socket(&e->uas2_port);
	CU_ASSERT_FATAL(e->uac >= 0 && e->uas >= 0 && e->uas2 >= 0);
}

static void env_down(struct env *e)
{
	for (int i = 0; i < 3; i++) {
		loop_timer_cancel(e->lp, e->roles[i].timer);
		sip_proxy_free(e->px[i]);
	}
	close(e->uac);
	close(e->uas);
	close(e->uas2);
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

/* ---- routing, forking, dialogs ---- */

/* tmpl with each KEY of the NULL-terminated (key, value) pairs replaced, then "{px}",
 * "{uas}" and "{uas2}" replaced by the ports of proxy 0 and of the UAS sockets.
 * malloc'd. */
static char *fill(struct env *e, const char *tmpl, ...)
{
	const char *marks[] = {"{px}", "{uas}", "{uas2}"};
	unsigned ports[] = {port_of(e, 0), e->uas_port, e->uas2_port};
	char *cur = strdup(tmpl), *next, port[8];
	const char *k, *v;
	va_list ap;

	va_start(ap, tmpl);
	while (cur && (k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		next = subst(cur, k, v);
		free(cur);
		cur = next;
	}
	va_end(ap);
	for (int i = 0; cur && i < 3; i++) {
		snprintf(port, sizeof(port), "%u", ports[i]);
		next = subst(cur, marks[i], port);
		free(cur);
		cur = next;
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(cur);
	return cur;
}

/* An initial INVITE from the UAC (invite-route.sip) with this Request-URI, Route lines
 * ("" for none), Via branch and Call-ID. */
static char *invite(struct env *e, const char *tmpl, const char *ruri, const char *routes,
                    const char *branch, const char *call_id)
{
	return fill(e, tmpl, "RURI", ruri, "ROUTES\r\n", routes, "BRANCH", branch, "CALLID",
	            call_id, NULL);
}

/* An in-dialog request from the UAC (in-dialog.sip). */
static char *in_dialog(struct env *e, const char *method, const char *ruri, const char *routes,
                       const char *to_tag, const char *cseq, const char *branch,
                       const char *call_id)
{
	char *tmpl = load("in-dialog.sip"), *msg;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmpl);
	msg = fill(e, tmpl, "METHOD", method, "RURI", ruri, "ROUTES\r\n", routes, "TOTAG", to_tag,
	           "CSEQ", cseq, "BRANCH", branch, "CALLID", call_id, NULL);
	free(tmpl);
	return msg;
}

/* Reads and drops whatever is queued on fd. */
static void drain(int fd)
{
	char buf[BUF_MAX];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Answers the request req (as received by a UAS) with status and To tag, from fd. */
static void answer(struct env *e, int fd, const char *req, int status, const char *tag)
{
	char resp[BUF_MAX];
	ssize_t n = respond(req, status, tag, resp, sizeof(resp));

	CU_ASSERT_FATAL(n > 0);
	send_to(fd, port_of(e, 0), resp, (size_t)n);
}

/* A formatted string contained in msg. */
static bool has(const char *msg, const char *fmt, ...)
{
	char want[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	return strstr(msg, want) != NULL;
}

/* RFC 3261 16.4: our Route values are popped (one, or two of ours in a row on two
 * lines) and the user part says which of our URIs was addressed; a strict router's
 * request (our URI as Request-URI) gets the last Route value as Request-URI; 16.6
 * step 7: the next hop is the first remaining Route value, else the Request-URI; a tel:
 * Request-URI has none. The body goes through untouched. */
static void test_pop_routes(void)
{
	struct env e;
	char got[BUF_MAX];
	char *tmpl = load("invite-route.sip"), *msg;
	struct role *ro;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmpl);
	env_up(&e);
	proxy_up(&e, 0, ROLE_ROUTE, SLOW_T1, 0);
	ro = &e.roles[0];

	msg = invite(
	    &e, tmpl, "sip:bob@ims.alpha.test",
	    "Route: <sip:orig@proxy.ims.alpha.test:{px};lr>, <sip:127.0.0.1:{uas};lr;x=1>\r\n",
	    "z9hG4bK-rt-1", "rt-1");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT_FATAL(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(ro->popped, 1);
	CU_ASSERT_STRING_EQUAL(ro->user, "orig");
	CU_ASSERT_EQUAL(ntohs(ro->hop.addr.sin_port), e.uas_port);
	CU_ASSERT_EQUAL(strncmp(got, "INVITE sip:bob@ims.alpha.test SIP/2.0\r\n", 39), 0);
	CU_ASSERT(has(got, "\r\nRoute: <sip:127.0.0.1:%u;lr;x=1>\r\n", e.uas_port));
	CU_ASSERT(!has(got, "orig@"));
	CU_ASSERT(has(got, "\r\nContent-Length: 114\r\n\r\nv=0\r\n"));
	CU_ASSERT(has(got, "a=rtpmap:0 PCMU/8000\r\n"));

	msg = invite(&e, tmpl, "sip:bob@ims.alpha.test",
	             "Route: <sip:127.0.0.1:{px};lr>\r\n"
	             "Route: <sip:term@PROXY.ims.alpha.test:{px};lr>,<sip:127.0.0.1:{uas2};lr>\r\n",
	             "z9hG4bK-rt-2", "rt-2");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT_FATAL(await(e.lp, e.uas2, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(ro->popped, 2);
	CU_ASSERT_STRING_EQUAL(ro->user, "term");
	CU_ASSERT(has(got, "\r\nRoute: <sip:127.0.0.1:%u;lr>\r\nFrom: ", e.uas2_port));
	CU_ASSERT(!has(got, "Route: <sip:127.0.0.1:%u", port_of(&e, 0)));

	/* strict router: our URI in the Request-URI, the target last in Route */
	msg = invite(&e, tmpl, "sip:proxy.ims.alpha.test:{px};lr",
	             "Route: <sip:127.0.0.1:{uas};lr>, <sip:bob@127.0.0.1:{uas}>\r\n",
	             "z9hG4bK-rt-3", "rt-3");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT_FATAL(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(ro->popped, 1);
	CU_ASSERT(has(got, "INVITE sip:bob@127.0.0.1:%u SIP/2.0\r\n", e.uas_port));
	CU_ASSERT(has(got, "\r\nRoute: <sip:127.0.0.1:%u;lr>\r\nFrom: ", e.uas_port));
	CU_ASSERT(!has(got, "Route: <sip:bob@"));

	/* no Route at all: the Request-URI */
	msg = invite(&e, tmpl, "sip:bob@127.0.0.1:{uas2}", "", "z9hG4bK-rt-4", "rt-4");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT_FATAL(await(e.lp, e.uas2, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(ro->popped, 0);
	CU_ASSERT_STRING_EQUAL(ro->user, "");
	CU_ASSERT(has(got, "INVITE sip:bob@127.0.0.1:%u SIP/2.0\r\n", e.uas2_port));

	/* a tel: Request-URI and no Route left: no next hop */
	run(e.lp, 20);
	drain(e.uac);
	msg = invite(&e, tmpl, "tel:+15550001", "Route: <sip:proxy.ims.alpha.test:{px};lr>\r\n",
	             "z9hG4bK-rt-5", "rt-5");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0); /* 100 */
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 404 ", 12), 0);
	CU_ASSERT_EQUAL(ro->popped, 1);
	CU_ASSERT_EQUAL(ro->hop_err, -EBADMSG);
	free(tmpl);
	env_down(&e);
}

/* The role's own edits count: a Route it pushes is the next hop (the received
 * Request-URI resolves nowhere); sip_req_set_routes replaces what the pop left. */
static void test_next_hop_role_edits(void)
{
	struct env e;
	char got[BUF_MAX], push[64], set0[64];
	char *tmpl = load("invite-route.sip"), *msg;
	const char *set[1] = {set0};
	struct role *ro;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmpl);
	env_up(&e);
	proxy_up(&e, 0, ROLE_ROUTE, SLOW_T1, 0);
	ro = &e.roles[0];
	snprintf(push, sizeof(push), "<sip:127.0.0.1:%u;lr>", e.uas2_port);
	ro->push = push;
	msg = invite(&e, tmpl, "sip:bob@nowhere.test",
	             "Route: <sip:proxy.ims.alpha.test:{px};lr>\r\n", "z9hG4bK-nh-1", "nh-1");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT_FATAL(await(e.lp, e.uas2, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(ro->popped, 1);
	CU_ASSERT(has(got, "\r\nRoute: %s\r\nFrom: ", push));
	CU_ASSERT(!has(got, "proxy.ims.alpha.test"));

	/* Service-Route enforcement: the remaining Route set is replaced */
	ro->push = NULL;
	snprintf(set0, sizeof(set0), "sip:127.0.0.1:%u;lr", e.uas_port);
	ro->set = set;
	ro->n_set = 1;
	msg = invite(&e, tmpl, "sip:bob@nowhere.test",
	             "Route: <sip:proxy.ims.alpha.test:{px};lr>, <sip:nowhere.test;lr>\r\n",
	             "z9hG4bK-nh-2", "nh-2");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT_FATAL(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT(has(got, "\r\nRoute: <%s>\r\nFrom: ", set0));
	CU_ASSERT(!has(got, "nowhere.test;lr"));
	CU_ASSERT(!has(got, "proxy.ims.alpha.test"));
	free(tmpl);
	env_down(&e);
}

/* RFC 3261 16.6 step 4: our Record-Route on top of those already there, with the user
 * part asked for; over TCP with ;transport=tcp. */
static void test_record_route(void)
{
	struct env e;
	struct sockaddr_in sa;
	char got[BUF_MAX];
	char *tmpl = load("invite-route.sip"), *msg, *tcp;
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmpl);
	env_up(&e);
	proxy_up(&e, 0, ROLE_ROUTE, SLOW_T1, 0);
	e.roles[0].rr = true;
	e.roles[0].rr_user = "orig";
	msg = invite(&e, tmpl, "sip:bob@127.0.0.1:{uas}", "Record-Route: <sip:up.example;lr>\r\n",
	             "z9hG4bK-rr-1", "rr-1");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT_FATAL(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT(has(got,
	              "\r\nRecord-Route: <sip:orig@proxy.ims.alpha.test:%u;lr>\r\n"
	              "Record-Route: <sip:up.example;lr>\r\n",
	              port_of(&e, 0)));

	e.roles[0].rr_user = NULL;
	msg = invite(&e, tmpl, "sip:bob@127.0.0.1:{uas}", "", "z9hG4bK-rr-2", "rr-2");
	tcp = subst(msg, "SIP/2.0/UDP 127.0.0.1:5999", "SIP/2.0/TCP 127.0.0.1:5999");
	sa = local_addr(port_of(&e, 0));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CU_ASSERT_FATAL(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CU_ASSERT_EQUAL(write(fd, tcp, strlen(tcp)), (ssize_t)strlen(tcp));
	CU_ASSERT_FATAL(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT(has(got, "\r\nRecord-Route: <sip:proxy.ims.alpha.test:%u;lr;transport=tcp>\r\n",
	              port_of(&e, 0)));
	close(fd);
	free(tcp);
	free(msg);
	free(tmpl);
	env_down(&e);
}

/* Proxy 0 forks to the two UAS sockets: branch 0 with the Request-URI of the UAS,
 * branch 1 with its own Request-URI and a Route value pushed (a Path). */
static void fork_setup(struct env *e, char *ruri0, char *ruri1, size_t cap)
{
	static const char *const path[] = {"sip:pcscf.test:5060;lr"};
	struct role *ro = &e->roles[0];

	proxy_up(e, 0, ROLE_FORK, SLOW_T1, 0);
	snprintf(ruri0, cap, "sip:bob@127.0.0.1:%u", e->uas_port);
	snprintf(ruri1, cap, "sip:bob@127.0.0.1:%u;ob", e->uas2_port);
	memset(ro->branches, 0, sizeof(ro->branches));
	ro->branches[0].ruri = ruri0;
	ro->branches[0].target.addr = local_addr(e->uas_port);
	ro->branches[1].ruri = ruri1;
	ro->branches[1].routes = path;
	ro->branches[1].n_routes = 1;
	ro->branches[1].target.addr = local_addr(e->uas2_port);
	ro->n_branches = 2;
}

/* Sends an initial INVITE through the fork; both copies arrive (a on uas, b on uas2). */
static void fork_invite(struct env *e, const char *id, char *a, char *b)
{
	char *tmpl = load("invite-route.sip"), *msg, branch[64], got[BUF_MAX];

	CU_ASSERT_PTR_NOT_NULL_FATAL(tmpl);
	snprintf(branch, sizeof(branch), "z9hG4bK-%s", id);
	msg = invite(e, tmpl, "sip:bob@ims.alpha.test",
	             "Route: <sip:proxy.ims.alpha.test:{px};lr>\r\n", branch, id);
	send_str(e->uac, port_of(e, 0), msg);
	CU_ASSERT(await(e->lp, e->uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 100 Trying\r\n", 20), 0);
	CU_ASSERT_FATAL(await(e->lp, e->uas, a, BUF_MAX, 2000) > 0);
	CU_ASSERT_FATAL(await(e->lp, e->uas2, b, BUF_MAX, 2000) > 0);
	free(msg);
	free(tmpl);
}

/* The JSON dialog with this To tag, or NULL. */
static json_t *dialog_with(json_t *arr, const char *to_tag)
{
	size_t i;
	json_t *d;

	json_array_foreach(arr, i, d)
	{
		const char *t = json_string_value(json_object_get(d, "to_tag"));

		if (t && strcmp(t, to_tag) == 0)
			return d;
	}
	return NULL;
}

static const char *dialog_state(json_t *arr, const char *to_tag)
{
	json_t *d = dialog_with(arr, to_tag);

	return d ? json_string_value(json_object_get(d, "state")) : "(none)";
}

/* RFC 3261 16.6 per branch, 16.7 steps 5 and 10: both copies carry our Record-Route
 * and their own Request-URI/Route; provisionals of both are relayed (two early
 * dialogs); the first 2xx is relayed at once, the other branch is CANCELled on its own
 * branch and its 487 stays here (ACKed hop by hop); a 2xx retransmission passes end to
 * end; the ACK of the 2xx goes statelessly (our Via, Route popped, no transaction); the
 * dialog is confirmed with our Record-Route as route set, and ends with BYE/200. */
static void test_fork_2xx(void)
{
	struct env e;
	char a[BUF_MAX], b[BUF_MAX], got[BUF_MAX], none[BUF_MAX], ruri0[64], ruri1[64];
	char ba[128], bb[128], *msg;
	json_t *dl, *d;
	const struct sip_proxy_sessions *ss;
	uint64_t txns;

	env_up(&e);
	fork_setup(&e, ruri0, ruri1, sizeof(ruri0));
	fork_invite(&e, "fk-1", a, b);
	CU_ASSERT(has(a, "INVITE %s SIP/2.0\r\n", ruri0));
	CU_ASSERT(has(b, "INVITE %s SIP/2.0\r\n", ruri1));
	CU_ASSERT(!has(a, "\r\nRoute:"));
	CU_ASSERT(has(b, "\r\nRoute: <sip:pcscf.test:5060;lr>\r\n"));
	CU_ASSERT(has(a, "\r\nRecord-Route: <sip:proxy.ims.alpha.test:%u;lr>\r\n", port_of(&e, 0)));
	CU_ASSERT(has(b, "\r\nRecord-Route: <sip:proxy.ims.alpha.test:%u;lr>\r\n", port_of(&e, 0)));
	CU_ASSERT(has(a, "\r\nMax-Forwards: 69\r\n") && has(b, "\r\nMax-Forwards: 69\r\n"));
	first_branch(a, ba, sizeof(ba));
	first_branch(b, bb, sizeof(bb));
	CU_ASSERT_STRING_NOT_EQUAL(ba, bb);
	CU_ASSERT_EQUAL(strncmp(ba, bb, 23), 0); /* same loop-detection part */

	answer(&e, e.uas, a, 180, "tag-a");
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 180 Ringing\r\n", 21), 0);
	answer(&e, e.uas2, b, 180, "tag-b");
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT(has(got, ";tag=tag-b\r\n"));
	dl = sip_proxy_dialogs_json(e.px[0]);
	CU_ASSERT_EQUAL(json_array_size(dl), 2);
	CU_ASSERT_STRING_EQUAL(dialog_state(dl, "tag-a"), "early");
	CU_ASSERT_STRING_EQUAL(dialog_state(dl, "tag-b"), "early");
	json_decref(dl);

	answer(&e, e.uas, a, 200, "tag-a");
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	CU_ASSERT(has(got, ";tag=tag-a\r\n"));
	CU_ASSERT(!has(got, "Via: SIP/2.0/UDP 127.0.0.1:%u", port_of(&e, 0)));
	CU_ASSERT_FATAL(await(e.lp, e.uas2, got, sizeof(got), 2000) > 0);
	CU_ASSERT(has(got, "CANCEL %s SIP/2.0\r\n", ruri1));
	CU_ASSERT(has(got, "branch=%s\r\n", bb));
	CU_ASSERT(has(got, "\r\nRoute: <sip:pcscf.test:5060;lr>\r\n"));
	CU_ASSERT(await(e.lp, e.uas, none, sizeof(none), 50) < 0); /* nothing for the winner */
	answer(&e, e.uas2, got, 200, "tag-b");
	answer(&e, e.uas2, b, 487, "tag-b");
	CU_ASSERT(await(e.lp, e.uas2, got, sizeof(got), 2000) > 0);
	CU_ASSERT(has(got, "ACK %s SIP/2.0\r\n", ruri1));
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 100) < 0); /* the 487 stays here */
	/* the UAS retransmits its 2xx: end to end */
	answer(&e, e.uas, a, 200, "tag-a");
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);

	dl = sip_proxy_dialogs_json(e.px[0]);
	CU_ASSERT_EQUAL(json_array_size(dl), 1);
	CU_ASSERT_STRING_EQUAL(dialog_state(dl, "tag-a"), "confirmed");
	d = dialog_with(dl, "tag-a");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "call_id")), "fk-1");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "from_tag")), "from-rt1");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(d, "route_set")), 1);
	CU_ASSERT(has(json_string_value(json_array_get(json_object_get(d, "route_set"), 0)),
	              "<sip:proxy.ims.alpha.test:%u;lr>", port_of(&e, 0)));
	CU_ASSERT(json_is_integer(json_object_get(d, "age")));
	json_decref(dl);
	ss = sip_proxy_sessions(e.px[0]);
	CU_ASSERT_EQUAL(ss->attempts, 1);
	CU_ASSERT_EQUAL(ss->answered[2], 1);
	CU_ASSERT_EQUAL(ss->answered[4], 0);
	CU_ASSERT_EQUAL(ss->dialogs, 1);
	CU_ASSERT_EQUAL(e.roles[0].responses, 3); /* 180, 180, first 200 */

	/* ACK for the 2xx along the route set: stateless, nothing remains */
	run(e.lp, 5);
	txns = sip_proxy_stats(e.px[0])->txns;
	msg = in_dialog(&e, "ACK", "sip:bob@127.0.0.1:{uas}",
	                "Route: <sip:proxy.ims.alpha.test:{px};lr>\r\n", "tag-a", "1 ACK",
	                "z9hG4bK-fk-1-ack", "fk-1");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT_FATAL(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT(has(got,
	              "ACK sip:bob@127.0.0.1:%u SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:%u;branch=",
	              e.uas_port, port_of(&e, 0)));
	CU_ASSERT(has(got, ";branch=z9hG4bK-fk-1-ack;rport="));
	CU_ASSERT(has(got, "\r\nMax-Forwards: 69\r\n"));
	CU_ASSERT(!has(got, "\r\nRoute:"));
	run(e.lp, 5);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->txns, txns);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 20) < 0);

	/* BYE and its 200 end the dialog */
	msg = in_dialog(&e, "BYE", "sip:bob@127.0.0.1:{uas}",
	                "Route: <sip:proxy.ims.alpha.test:{px};lr>\r\n", "tag-a", "2 BYE",
	                "z9hG4bK-fk-1-bye", "fk-1");
	send_str(e.uac, port_of(&e, 0), msg);
	free(msg);
	CU_ASSERT_FATAL(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "BYE ", 4), 0);
	CU_ASSERT_EQUAL(sip_proxy_sessions(e.px[0])->dialogs, 1);
	answer(&e, e.uas, got, 200, NULL);
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 200 OK\r\n", 16), 0);
	CU_ASSERT(has(got, "CSeq: 2 BYE\r\n"));
	dl = sip_proxy_dialogs_json(e.px[0]);
	CU_ASSERT_EQUAL(json_array_size(dl), 0);
	json_decref(dl);
	CU_ASSERT_EQUAL(ss->dialogs, 0);
	CU_ASSERT_EQUAL(ss->attempts, 1); /* in-dialog requests are no attempts */
	env_down(&e);
}

/* One fork round where neither branch answers 2xx: a answers sa, then b answers sb
 * (each ACKed hop by hop); only then does the UAC get one final response, expect. */
static void fork_round(struct env *e, const char *id, int sa, int sb, const char *expect)
{
	char a[BUF_MAX], b[BUF_MAX], got[BUF_MAX];

	fork_invite(e, id, a, b);
	answer(e, e->uas, a, 180, "tag-a");
	CU_ASSERT(await(e->lp, e->uac, got, sizeof(got), 2000) > 0); /* 180 */
	answer(e, e->uas, a, sa, "tag-a");
	CU_ASSERT(await(e->lp, e->uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "ACK ", 4), 0);
	CU_ASSERT(await(e->lp, e->uac, got, sizeof(got), 30) < 0);
	answer(e, e->uas2, b, sb, "tag-b");
	CU_ASSERT(await(e->lp, e->uas2, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "ACK ", 4), 0);
	CU_ASSERT(await(e->lp, e->uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, expect, strlen(expect)), 0);
	CU_ASSERT(await(e->lp, e->uac, got, sizeof(got), 20) < 0);
}

/* RFC 3261 16.7 step 6: with no 2xx, the best final once both branches are done: the
 * first of equal 4xx (486 before 404), the lowest class (404 over 503), a response the
 * UAC can act on (401 over 404); the early dialog of the 180 is gone. */
static void test_fork_best_response(void)
{
	struct env e;
	char ruri0[64], ruri1[64];
	json_t *dl;

	env_up(&e);
	fork_setup(&e, ruri0, ruri1, sizeof(ruri0));
	fork_round(&e, "bs-1", 486, 404, "SIP/2.0 486 Busy Here\r\n");
	fork_round(&e, "bs-2", 503, 404, "SIP/2.0 404 Not Found\r\n");
	fork_round(&e, "bs-3", 404, 401, "SIP/2.0 401 Unauthorized\r\n");
	dl = sip_proxy_dialogs_json(e.px[0]);
	CU_ASSERT_EQUAL(json_array_size(dl), 0);
	json_decref(dl);
	CU_ASSERT_EQUAL(sip_proxy_sessions(e.px[0])->attempts, 3);
	CU_ASSERT_EQUAL(sip_proxy_sessions(e.px[0])->answered[4], 3);
	CU_ASSERT_EQUAL(sip_proxy_sessions(e.px[0])->answered[5], 0);
	CU_ASSERT_EQUAL(e.roles[0].last_status, 401);
	env_down(&e);
}

/* RFC 3261 16.7 step 5: a 6xx ends the search: the other branch is CANCELled, its 487
 * does not win, the 603 goes upstream once every branch is done. */
static void test_fork_6xx(void)
{
	struct env e;
	char a[BUF_MAX], b[BUF_MAX], got[BUF_MAX], ruri0[64], ruri1[64], bb[128];

	env_up(&e);
	fork_setup(&e, ruri0, ruri1, sizeof(ruri0));
	fork_invite(&e, "sx-1", a, b);
	first_branch(b, bb, sizeof(bb));
	answer(&e, e.uas2, b, 183, "tag-b");
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 183 ", 12), 0);
	answer(&e, e.uas, a, 603, "tag-a");
	CU_ASSERT(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "ACK ", 4), 0);
	CU_ASSERT_FATAL(await(e.lp, e.uas2, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "CANCEL ", 7), 0);
	CU_ASSERT(has(got, "branch=%s\r\n", bb));
	CU_ASSERT(await(e.lp, e.uac, a, sizeof(a), 30) < 0); /* not before b is done */
	answer(&e, e.uas2, got, 200, "tag-b");
	answer(&e, e.uas2, b, 487, "tag-b");
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 603 Decline\r\n", 21), 0);
	CU_ASSERT_EQUAL(sip_proxy_sessions(e.px[0])->answered[6], 1);
	CU_ASSERT_EQUAL(sip_proxy_sessions(e.px[0])->dialogs, 0);
	env_down(&e);
}

/* RFC 3261 16.6 step 11, 16.8: Timer C per branch: the branch that rang is CANCELled,
 * the silent one counts as a 408; the 487 of the first beats our 408. */
static void test_fork_timer_c(void)
{
	struct env e;
	char a[BUF_MAX], b[BUF_MAX], got[BUF_MAX], ruri0[64], ruri1[64];

	env_up(&e);
	e.timer_c_ms = 150;
	fork_setup(&e, ruri0, ruri1, sizeof(ruri0));
	fork_invite(&e, "tc-1", a, b);
	answer(&e, e.uas, a, 180, "tag-a");
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0); /* 180 */
	CU_ASSERT_FATAL(await(e.lp, e.uas, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "CANCEL ", 7), 0);
	CU_ASSERT_EQUAL(sip_proxy_stats(e.px[0])->timeouts, 1); /* b, no provisional */
	CU_ASSERT(await(e.lp, e.uas2, b, sizeof(b), 20) < 0);   /* no CANCEL for b */
	answer(&e, e.uas, got, 200, "tag-a");
	answer(&e, e.uas, a, 487, "tag-a");
	CU_ASSERT(await(e.lp, e.uac, got, sizeof(got), 2000) > 0);
	CU_ASSERT_EQUAL(strncmp(got, "SIP/2.0 487 Request Terminated\r\n", 32), 0);
	env_down(&e);
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
	    {"pop routes and next hop", test_pop_routes},
	    {"next hop after role edits", test_next_hop_role_edits},
	    {"Record-Route", test_record_route},
	    {"fork: 2xx, CANCEL, ACK, dialog, BYE", test_fork_2xx},
	    {"fork: best response", test_fork_best_response},
	    {"fork: 6xx", test_fork_6xx},
	    {"fork: Timer C per branch", test_fork_timer_c},
	    {"three proxies and cost", test_three_proxies},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("sip_proxy", tests);
}
