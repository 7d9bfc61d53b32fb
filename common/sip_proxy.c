/* The transaction-stateful proxy core (RFC 3261 16, 17; RFC 3581; RFC 6026). One
 * struct sip_req is one server transaction plus, once the role forwards it, one client
 * transaction per branch (struct cli, with its CANCEL); both are found in O(1) through
 * the sip_txn tables (server key of 17.2.3, our branch of 17.1.3). Forwarding once is a
 * fork with one branch, so the response context of 16.7 has one code path. Forwarding
 * edits the received bytes (sip_msg); the responses the core originates are built from
 * the request. The core also keeps the dialogs it Record-Routed (GET /dialogs) and the
 * session counters. Transactions that end are unlinked at once and freed on the next
 * loop turn, never inside their own callbacks. */
#include "sip_proxy.h"

#include "log.h"
#include "loop.h"
#include "prom.h"
#include "sip_txn.h"
#include "topo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_T1_MS      500
#define DEFAULT_TIMER_C_MS 180000
#define DEFAULT_MAX_TXNS   262144
/* RFC 3261 17.1.2.2 T2 = 4 s and 17.1.2.2 T4 = 5 s, scaled with T1. */
#define T2_FACTOR 8
#define T4_FACTOR 10
/* RFC 3261 17.1.1.2: Timers B, F, H, J (and RFC 6026 L, M) are 64*T1. */
#define TXN_FACTOR 64
/* Room for a rendered message: the largest parse plus every edit. */
#define SCRATCH_SIZE (SIP_MSG_MAX_SIZE + SIP_MSG_EDIT_SPACE + 1)
/* Server keys: branch, sent-by and method (RFC 3261 17.2.3). */
#define KEY_MAX        (SIP_TOKEN_MAX + SIP_HOST_MAX + 80)
#define METHOD_KEY_MAX 64
/* RFC 3261 8.1.1.7 magic cookie, and our branch: cookie + 16 hex digits of the
 * loop-detection hash + 16 hex digits of the transaction hash (16.6 step 8). */
#define COOKIE          "z9hG4bK"
#define COOKIE_LEN      7
#define LOOP_PREFIX_LEN (COOKIE_LEN + 16)
#define BRANCH_LEN      (LOOP_PREFIX_LEN + 16)
#define TAG_LEN         16
#define SENT_BY_MAX     (INET_ADDRSTRLEN + 8)
#define VIA_MAX         (32 + SENT_BY_MAX + BRANCH_LEN)
/* Default SIP port, RFC 3261 19.1.2. */
#define SIP_PORT 5060
/* User part of our Record-Route URI ("orig"), with the NUL. */
#define RR_USER_MAX 64
/* A Route value we push (a stored Path entry), with < > and the NUL. */
#define ROUTE_MAX 1024
/* Dialog keys (Call-ID and both tags); longer ones are not tracked. */
#define DLG_KEY_MAX 512
/* Record-Route values kept per dialog, and their bytes. */
#define DLG_ROUTES_MAX      16
#define DLG_ROUTE_BYTES_MAX 4096
/* A dialog nothing passed through for 12 h is forgotten (a lost BYE). */
#define DLG_IDLE_MS (12ull * 3600 * 1000)

/* Server transaction states (RFC 3261 17.2.1, 17.2.2; RFC 6026 7.1 Accepted). */
enum srv_state {
	SRV_PROCEEDING, /* no final response yet (Trying folded in) */
	SRV_COMPLETED,  /* final sent; INVITE: non-2xx awaiting ACK (G/H), else Timer J */
	SRV_CONFIRMED,  /* INVITE: ACK received, Timer I absorbs ACK retransmissions */
	SRV_ACCEPTED,   /* INVITE: 2xx sent, Timer L absorbs INVITE retransmissions */
	SRV_TERMINATED, /* done */
};

/* Client transaction states (RFC 3261 17.1.1, 17.1.2; RFC 6026 7.2 Accepted). */
enum cli_state {
	CLI_TRYING,     /* sent, no response: Timers A/E and B/F */
	CLI_PROCEEDING, /* provisional received */
	CLI_COMPLETED,  /* non-2xx final (INVITE: ACK sent, Timer D) or final (Timer K) */
	CLI_ACCEPTED,   /* INVITE: 2xx received, Timer M relays further 2xx */
	CLI_TERMINATED, /* done */
};

/* Where responses for a request go (RFC 3261 18.2.2; RFC 3581 4). */
struct upstream {
	enum sip_proto proto;       /* transport the request came on */
	struct sockaddr_in src;     /* its source: UDP responses go here (rport) */
	uint64_t conn_id;           /* TCP connection it came on */
	struct sockaddr_in via_dst; /* TCP fallback: source address, Via sent-by port */
};

struct sip_req;

/* One client transaction: the copy of a request sent on one branch (RFC 3261 16.6,
 * 17.1), with the CANCEL of 9.1 that may follow it. */
struct cli {
	struct sip_req *r;           /* owning request */
	struct sip_txn_link link;    /* in p->by_branch while responses may match */
	bool linked;                 /* link is in p->by_branch */
	unsigned index;              /* branch number in the fork (0 for a plain forward) */
	enum cli_state state;        /* state */
	struct sip_target target;    /* next hop */
	enum sip_proto proto;        /* transport used (UDP upgraded to TCP) */
	char branch[BRANCH_LEN + 1]; /* branch of our Via on this copy */
	int final;                   /* final status received or generated, 0 while pending */
	char *fwd;                   /* owned; the request as sent (UDP, INVITE) */
	size_t fwd_len;              /* its length */
	char *ack;                   /* owned; ACK sent for a non-2xx (17.1.1.3) */
	size_t ack_len;              /* its length */
	uint64_t retx;               /* Timer A or E */
	uint64_t end;                /* Timer B, F, D, K or M */
	uint64_t timer_c;            /* Timer C (16.6 step 11), INVITE */
	uint32_t e_ms;               /* next Timer A/E interval */
	bool got_prov;               /* a provisional response arrived */
	bool cancelled;              /* a CANCEL (upstream, 2xx/6xx elsewhere, Timer C) asked */
	bool cancel_sent;            /* our CANCEL went downstream */
	char *cancel;                /* owned; the CANCEL, for retransmissions */
	size_t cancel_len;           /* its length */
	uint64_t can_retx;           /* its Timer E */
	uint64_t can_end;            /* 64*T1 after the CANCEL: give up, 487 */
	uint32_t can_ms;             /* next CANCEL retransmission interval */
};

struct dlg;

/* One received request: its server transaction and, once forwarded, its client
 * transactions (the response context of 16.7). */
struct sip_req {
	struct sip_proxy *p;          /* owning proxy */
	struct sip_txn_link srv_link; /* in p->by_key (not for ACK) */
	bool in_srv;                  /* srv_link is in p->by_key */
	struct sip_req *prev, *next;  /* p->all, every live request */
	struct sip_req *reap_next;    /* p->reap once ended */
	struct sip_msg *msg;          /* owned request; freed after the final response */
	enum sip_method method;       /* its method */
	struct upstream up;           /* where responses go */
	char branch[BRANCH_LEN + 1];  /* our branch for it (branch 0; loop detection) */
	bool role_pending;            /* the role still has to reply or forward */
	bool dead;                    /* ended: unlinked, waiting for the reap */
	void *data;                   /* role data, owned through free_fn */
	void (*free_fn)(void *data);  /* frees data when the request is freed */
	uint64_t role_timer;          /* guard against a role that never answers */
	/* routing (16.4, 16.6) */
	unsigned core_mark;        /* sip_msg_edit_mark after the core's own edits: a
	                              different mark means the role edited since */
	bool routed;               /* sip_req_pop_routes ran */
	unsigned routes_popped;    /* top Route values it removed */
	bool strict;               /* it moved the last Route value into the Request-URI */
	char *strict_ruri;         /* owned; that value's URI */
	unsigned pop_mark;         /* edit mark before the pop, for sip_req_set_routes */
	unsigned pop_end;          /* edit mark after it */
	bool rr;                   /* sip_req_record_route was called */
	char rr_user[RR_USER_MAX]; /* its user part, "" for none */
	/* server transaction */
	enum srv_state srv; /* state */
	char *resp;         /* owned; last response, for retransmissions (UDP) */
	size_t resp_len;    /* its length */
	size_t resp_cap;    /* allocated bytes of resp */
	uint64_t srv_retx;  /* Timer G */
	uint64_t srv_end;   /* Timer H, I, J or L */
	uint32_t g_ms;      /* next Timer G interval */
	/* client transactions and the response context (16.7) */
	bool forwarded;       /* the role forwarded it (sip_req_forward or sip_req_fork) */
	struct cli *clis;     /* &one or an owned array; n_clis entries */
	unsigned n_clis;      /* branches sent */
	struct cli one;       /* the client transaction of a single forward */
	bool cancel_asked;    /* upstream CANCELled it */
	struct sip_msg *best; /* owned; best final response so far (16.7 step 6) */
	bool best_local;      /* it was generated here (no Via of ours to pop) */
	int best_status;      /* its status */
	/* sessions and dialogs */
	bool initial_invite; /* an INVITE without To tag (dialog-creating) */
	uint64_t t0_us;      /* when it arrived: setup time and per-hop latency */
	struct dlg *dlgs;    /* early dialogs its responses created */
	size_t method_off;   /* method text at key + method_off */
	size_t key_len;      /* bytes of key */
	char key[];          /* server key, NUL-terminated */
};

/* A dialog this node Record-Routed (RFC 3261 12, 16.6 step 4), for GET /dialogs. */
struct dlg {
	struct sip_txn_link link;        /* in p->dialogs, keyed "Call-ID\nfrom-tag\nto-tag" */
	struct dlg *lru_prev, *lru_next; /* p->dlg_head..dlg_tail, least recently used first */
	struct dlg *r_prev, *r_next;     /* req->dlgs while early */
	struct sip_req *req;             /* the INVITE whose response created it while early,
	                                    NULL once confirmed */
	unsigned branch;                 /* branch of req that created it */
	bool confirmed;                  /* a 2xx was seen */
	uint64_t created;                /* loop_now at creation, ms */
	uint64_t used;                   /* loop_now when a message last passed, ms */
	char *routes;                    /* owned; the Record-Route values, NUL-separated */
	unsigned n_routes;               /* values in routes */
	size_t call_id_len, from_len;    /* lengths of the first two key parts */
	size_t key_len;                  /* bytes of key */
	char key[];                      /* the key, NUL-terminated */
};

struct sip_proxy {
	struct loop *lp;                    /* borrowed */
	struct sip_transport *tr;           /* owned */
	const struct sip_proxy_ops *ops;    /* role hooks, borrowed */
	void *app;                          /* passed to the hooks */
	const struct topo *topo;            /* borrowed, may be NULL */
	char *address;                      /* owned copy of conf->address */
	char *fqdn;                         /* owned copy of conf->fqdn (or of address) */
	uint16_t port;                      /* bound SIP port */
	char sent_by[SENT_BY_MAX];          /* "address:port" of our Via */
	size_t sent_by_len;                 /* its length */
	char *uri;                          /* owned; "sip:fqdn:port;lr" */
	uint32_t t1, t2, t4;                /* RFC 3261 timer values, ms */
	uint32_t timer_c;                   /* Timer C, ms */
	unsigned max_txns;                  /* cap on live requests */
	struct sip_txn_table by_key;        /* server transactions */
	struct sip_txn_table by_branch;     /* client transactions */
	struct sip_txn_table dialogs;       /* struct dlg by key */
	struct dlg *dlg_head, *dlg_tail;    /* every dialog, least recently used first */
	uint64_t dlg_timer;                 /* idle sweep, 0 when none */
	struct sip_req *all;                /* every live request (doubly linked) */
	size_t n_reqs;                      /* entries in all */
	struct sip_req *reap;               /* ended requests, freed by reap_timer */
	uint64_t reap_timer;                /* pending reap, 0 when none */
	bool closing;                       /* sip_proxy_free is running */
	struct sip_proxy_stats stats;       /* counters */
	struct sip_proxy_sessions sessions; /* session counters */
	char *scratch;                      /* owned; SCRATCH_SIZE bytes for rendering */
};

/* ---- small helpers ---- */

static void hex64(uint64_t v, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--) {
		out[i] = digits[v & 15];
		v >>= 4;
	}
	out[16] = '\0';
}

static uint64_t hash_span(uint64_t h, struct sip_span s)
{
	static const char sep = '\n';

	h = sip_txn_hash_add(h, s.p, s.len);
	return sip_txn_hash_add(h, &sep, 1);
}

static struct sip_span header_span(const struct sip_msg *m, const char *name)
{
	struct sip_span s = {NULL, 0};

	s.p = sip_msg_header(m, name, &s.len);
	if (!s.p)
		s.len = 0;
	return s;
}

static bool span_eq(struct sip_span s, const char *text, size_t len)
{
	return s.len == len && memcmp(s.p, text, len) == 0;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static struct sip_req *req_of_srv(struct sip_txn_link *l)
{
	return (struct sip_req *)((char *)l - offsetof(struct sip_req, srv_link));
}

static struct cli *cli_of_link(struct sip_txn_link *l)
{
	return (struct cli *)((char *)l - offsetof(struct cli, link));
}

static void timer_stop(struct sip_proxy *p, uint64_t *id)
{
	if (*id)
		loop_timer_cancel(p->lp, *id);
	*id = 0;
}

static void timer_start(struct sip_req *r, uint64_t *id, uint64_t ms, loop_cb cb)
{
	timer_stop(r->p, id);
	*id = loop_timer_add(r->p->lp, ms, cb, r);
	if (!*id)
		log_err("sip_proxy: no memory for a timer");
}

static void cli_timer_start(struct cli *c, uint64_t *id, uint64_t ms, loop_cb cb)
{
	timer_stop(c->r->p, id);
	*id = loop_timer_add(c->r->p->lp, ms, cb, c);
	if (!*id)
		log_err("sip_proxy: no memory for a timer");
}

/* The To tag of every response we originate for this request: a hash of what a
 * retransmission repeats, so a stateless answer is the same each time (8.2.6.2). */
static void make_tag(const struct sip_msg *m, char *tag)
{
	uint64_t h = SIP_TXN_HASH_INIT;
	struct sip_span cseq;
	uint32_t num;

	sip_msg_cseq(m, &num, &cseq);
	h = hash_span(h, sip_msg_call_id(m));
	h = hash_span(h, header_span(m, "Via"));
	h = sip_txn_hash_add(h, &num, sizeof(num));
	hex64(h, tag);
}

/* ---- upstream: where responses go ---- */

static void upstream_from(struct upstream *up, const struct sip_packet *pkt,
                          const struct sip_via *top)
{
	up->proto = pkt->proto;
	up->src = pkt->src;
	up->conn_id = pkt->conn_id;
	/* RFC 3261 18.2.2: over TCP a lost connection is reopened to the received address
	 * and the sent-by port. */
	up->via_dst = pkt->src;
	up->via_dst.sin_port = htons(top && top->port ? top->port : SIP_PORT);
}

static int send_upstream(struct sip_proxy *p, const struct upstream *up, const char *buf,
                         size_t len)
{
	int err;

	if (up->proto == SIP_PROTO_UDP)
		err = sip_transport_send(p->tr, SIP_PROTO_UDP, &up->src, 0, buf, len);
	else
		err = sip_transport_send(p->tr, SIP_PROTO_TCP, &up->via_dst, up->conn_id, buf, len);
	if (err < 0)
		log_debug("sip_proxy: response not sent upstream: %s", strerror(-err));
	return err;
}

static void count_core_reply(struct sip_proxy *p, int status)
{
	if (status >= 400 && status < 500)
		p->stats.replies_4xx_core++;
	else if (status >= 500)
		p->stats.replies_5xx_core++;
}

/* Answers a request without a transaction (errors the core finds itself; a
 * retransmission gets the same answer again). */
static void reply_stateless(struct sip_proxy *p, const struct upstream *up, const struct sip_msg *m,
                            int status, const char *reason)
{
	char tag[TAG_LEN + 1];
	ssize_t n;

	if (sip_msg_method(m) == SIP_ACK)
		return;
	make_tag(m, tag);
	n = sip_msg_build_response(m, status, reason, tag, NULL, p->scratch, SCRATCH_SIZE);
	if (n < 0) {
		/* the parser's reason may hold bytes a reason phrase may not */
		n = sip_msg_build_response(m, status, NULL, tag, NULL, p->scratch, SCRATCH_SIZE);
		if (n < 0)
			return;
	}
	count_core_reply(p, status);
	send_upstream(p, up, p->scratch, (size_t)n);
}

/* ---- request lifetime ---- */

static void dlg_drop_early(struct sip_req *r, const struct cli *c);

static void req_free(struct sip_req *r)
{
	if (r->free_fn)
		r->free_fn(r->data);
	sip_msg_free(r->msg);
	sip_msg_free(r->best);
	free(r->resp);
	free(r->strict_ruri);
	for (unsigned i = 0; i < r->n_clis; i++) {
		free(r->clis[i].fwd);
		free(r->clis[i].ack);
		free(r->clis[i].cancel);
	}
	if (r->clis != &r->one)
		free(r->clis);
	free(r);
}

static void on_reap(struct loop *lp, void *arg)
{
	struct sip_proxy *p = arg;

	p->reap_timer = 0;
	while (p->reap) {
		struct sip_req *r = p->reap;

		p->reap = r->reap_next;
		req_free(r);
	}
}

static void req_stop_timers(struct sip_req *r)
{
	struct sip_proxy *p = r->p;

	timer_stop(p, &r->role_timer);
	timer_stop(p, &r->srv_retx);
	timer_stop(p, &r->srv_end);
	for (unsigned i = 0; i < r->n_clis; i++) {
		struct cli *c = &r->clis[i];

		timer_stop(p, &c->retx);
		timer_stop(p, &c->end);
		timer_stop(p, &c->timer_c);
		timer_stop(p, &c->can_retx);
		timer_stop(p, &c->can_end);
	}
}

static void req_unlink(struct sip_req *r)
{
	struct sip_proxy *p = r->p;

	if (r->in_srv)
		sip_txn_table_remove(&p->by_key, &r->srv_link);
	r->in_srv = false;
	for (unsigned i = 0; i < r->n_clis; i++) {
		struct cli *c = &r->clis[i];

		if (c->linked)
			sip_txn_table_remove(&p->by_branch, &c->link);
		c->linked = false;
	}
	if (r->prev)
		r->prev->next = r->next;
	else
		p->all = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	p->n_reqs--;
	p->stats.txns = p->n_reqs;
}

/* Ends r: nothing finds it any more; the memory goes on the next loop turn. */
static void req_end(struct sip_req *r)
{
	struct sip_proxy *p = r->p;

	if (r->dead)
		return;
	r->dead = true;
	req_unlink(r);
	req_stop_timers(r);
	dlg_drop_early(r, NULL);
	r->reap_next = p->reap;
	p->reap = r;
	if (!p->reap_timer)
		p->reap_timer = loop_timer_add(p->lp, 0, on_reap, p);
}

static void req_check_end(struct sip_req *r)
{
	if (r->dead || r->role_pending || r->srv != SRV_TERMINATED)
		return;
	for (unsigned i = 0; i < r->n_clis; i++)
		if (r->clis[i].state != CLI_TERMINATED)
			return;
	req_end(r);
}

static struct sip_req *req_new(struct sip_proxy *p, struct sip_msg *m, const char *key,
                               size_t key_len, size_t method_off)
{
	struct sip_req *r = calloc(1, sizeof(*r) + key_len + 1);

	if (!r)
		return NULL;
	r->p = p;
	r->msg = m;
	r->method = sip_msg_method(m);
	memcpy(r->key, key, key_len);
	r->key[key_len] = '\0';
	r->key_len = key_len;
	r->method_off = method_off;
	r->srv = SRV_PROCEEDING;
	r->next = p->all;
	if (p->all)
		p->all->prev = r;
	p->all = r;
	p->n_reqs++;
	p->stats.txns = p->n_reqs;
	return r;
}

/* ---- server transaction (RFC 3261 17.2) ---- */

static void keep_response(struct sip_req *r, const char *buf, size_t len)
{
	if (len > r->resp_cap) {
		char *grown = realloc(r->resp, len);

		if (!grown) {
			r->resp_len = 0;
			return;
		}
		r->resp = grown;
		r->resp_cap = len;
	}
	memcpy(r->resp, buf, len);
	r->resp_len = len;
}

static void drop_response(struct sip_req *r)
{
	free(r->resp);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
}

/* The server transaction is over: a request with its key is a new one from now on. */
static void srv_terminate(struct sip_req *r)
{
	r->srv = SRV_TERMINATED;
	timer_stop(r->p, &r->srv_end);
	timer_stop(r->p, &r->srv_retx);
	drop_response(r);
	if (r->in_srv)
		sip_txn_table_remove(&r->p->by_key, &r->srv_link);
	r->in_srv = false;
}

static void on_srv_end(struct loop *lp, void *arg)
{
	struct sip_req *r = arg;

	r->srv_end = 0;
	srv_terminate(r);
	req_check_end(r);
}

/* Timer G: a non-2xx final to INVITE again until the ACK (17.2.1). */
static void on_srv_retx(struct loop *lp, void *arg)
{
	struct sip_req *r = arg;

	r->srv_retx = 0;
	if (r->srv != SRV_COMPLETED || !r->resp_len)
		return;
	send_upstream(r->p, &r->up, r->resp, r->resp_len);
	r->g_ms = min_u32(r->g_ms * 2, r->p->t2);
	timer_start(r, &r->srv_retx, r->g_ms, on_srv_retx);
}

static void srv_end_after(struct sip_req *r, uint32_t ms)
{
	if (ms == 0) {
		srv_terminate(r);
		return;
	}
	timer_start(r, &r->srv_end, ms, on_srv_end);
}

/* Sends a response upstream on r's server transaction and moves its state. After a
 * final response the request message is freed: nothing is built from it any more. */
static void srv_respond(struct sip_req *r, const char *buf, size_t len, int status)
{
	struct sip_proxy *p = r->p;
	bool udp = r->up.proto == SIP_PROTO_UDP;
	uint32_t t64 = TXN_FACTOR * p->t1;

	if (r->srv != SRV_PROCEEDING)
		return;
	send_upstream(p, &r->up, buf, len);
	/* Only UDP peers retransmit requests (17.2.1, 17.2.2). */
	if (udp)
		keep_response(r, buf, len);
	if (status < 200)
		return;
	timer_stop(p, &r->role_timer);
	sip_msg_free(r->msg);
	r->msg = NULL;
	if (r->method == SIP_INVITE && status < 300) {
		/* RFC 6026 7.1: Accepted absorbs INVITE retransmissions for Timer L. */
		r->srv = SRV_ACCEPTED;
		drop_response(r);
		srv_end_after(r, t64);
	} else if (r->method == SIP_INVITE) {
		r->srv = SRV_COMPLETED;
		if (udp) {
			r->g_ms = p->t1;
			timer_start(r, &r->srv_retx, r->g_ms, on_srv_retx);
		}
		srv_end_after(r, t64); /* Timer H */
	} else {
		r->srv = SRV_COMPLETED;
		srv_end_after(r, udp ? t64 : 0); /* Timer J */
	}
}

/* A request matching a server transaction again (17.2.1, 17.2.2, RFC 6026). */
static void srv_on_retransmission(struct sip_req *r)
{
	struct sip_proxy *p = r->p;

	p->stats.retransmissions++;
	if ((r->srv == SRV_PROCEEDING || r->srv == SRV_COMPLETED) && r->resp_len)
		send_upstream(p, &r->up, r->resp, r->resp_len);
}

/* ACK matching an INVITE server transaction: a non-2xx was acknowledged (17.2.1). */
static void srv_on_ack(struct sip_req *r)
{
	struct sip_proxy *p = r->p;

	if (r->srv != SRV_COMPLETED)
		return;
	r->srv = SRV_CONFIRMED;
	timer_stop(p, &r->srv_retx);
	drop_response(r);
	srv_end_after(r, r->up.proto == SIP_PROTO_UDP ? p->t4 : 0); /* Timer I */
	req_check_end(r);
}

/* Answers r's request from the core while the role holds it (the 487 of a CANCEL, the
 * 500 of a role that never answered): built from the request, never shown to the role. */
static void srv_generate(struct sip_req *r, int status)
{
	struct sip_proxy *p = r->p;
	char tag[TAG_LEN + 1];
	ssize_t n;

	if (r->srv != SRV_PROCEEDING || !r->msg)
		return;
	make_tag(r->msg, tag);
	n = sip_msg_build_response(r->msg, status, NULL, tag, NULL, p->scratch, SCRATCH_SIZE);
	if (n < 0)
		return;
	count_core_reply(p, status);
	srv_respond(r, p->scratch, (size_t)n, status);
}

/* ---- client transactions (RFC 3261 17.1) and the response context (16.7) ---- */

static int send_downstream(struct cli *c, const char *buf, size_t len)
{
	return sip_transport_send(c->r->p->tr, c->proto, &c->target.addr, c->target.conn_id, buf,
	                          len);
}

/* A bounded writer for the requests we build (CANCEL, ACK). */
struct wbuf {
	char *p;    /* buffer */
	size_t len; /* bytes written (or needed) */
	size_t cap; /* size of p */
};

static void wb_put(struct wbuf *w, const char *s, size_t n)
{
	if (w->len + n <= w->cap)
		memcpy(w->p + w->len, s, n);
	w->len += n;
}

static void wb_str(struct wbuf *w, const char *s)
{
	wb_put(w, s, strlen(s));
}

static void wb_line(struct wbuf *w, const char *name, struct sip_span v)
{
	wb_str(w, name);
	wb_str(w, ": ");
	wb_put(w, v.p, v.len);
	wb_str(w, "\r\n");
}

/* Builds the CANCEL (9.1) or the ACK of a non-2xx (17.1.1.3) for the copy c sent: same
 * Request-URI, Call-ID, From, CSeq number and Route set, our Via only; the ACK takes
 * the To of the response. Returns an owned buffer or NULL. */
static char *build_hop(const struct cli *c, const char *method, const struct sip_span *to,
                       size_t *len)
{
	struct sip_msg *fm;
	struct sip_value_iter it;
	struct sip_span v, cseq_method;
	struct wbuf w;
	char num[16];
	uint32_t cseq;

	if (!c->fwd || sip_msg_parse(c->fwd, c->fwd_len, &fm, NULL, 0) < 0)
		return NULL;
	w.cap = c->fwd_len + (to ? to->len : 0) + 128;
	w.len = 0;
	w.p = malloc(w.cap);
	if (!w.p)
		goto out_free_msg;
	sip_msg_cseq(fm, &cseq, &cseq_method);
	wb_str(&w, method);
	wb_str(&w, " ");
	v = sip_msg_ruri(fm);
	wb_put(&w, v.p, v.len);
	wb_str(&w, " SIP/2.0\r\n");
	wb_line(&w, "Via", header_span(fm, "Via"));
	wb_str(&w, "Max-Forwards: 70\r\n");
	sip_msg_values(fm, "Route", &it);
	while (sip_msg_values_next(&it, &v))
		wb_line(&w, "Route", v);
	wb_line(&w, "From", header_span(fm, "From"));
	wb_line(&w, "To", to ? *to : header_span(fm, "To"));
	wb_line(&w, "Call-ID", sip_msg_call_id(fm));
	snprintf(num, sizeof(num), "%" PRIu32 " ", cseq);
	wb_str(&w, "CSeq: ");
	wb_str(&w, num);
	wb_str(&w, method);
	wb_str(&w, "\r\nContent-Length: 0\r\n\r\n");
	if (w.len > w.cap) {
		free(w.p);
		w.p = NULL;
	}
	*len = w.len;
out_free_msg:
	sip_msg_free(fm);
	return w.p;
}

static bool cli_pending(const struct cli *c)
{
	return c->state == CLI_TRYING || c->state == CLI_PROCEEDING;
}

static void on_cancel_retx(struct loop *lp, void *arg)
{
	struct cli *c = arg;

	c->can_retx = 0;
	if (!c->cancel)
		return;
	send_downstream(c, c->cancel, c->cancel_len);
	c->can_ms = min_u32(c->can_ms * 2, c->r->p->t2);
	cli_timer_start(c, &c->can_retx, c->can_ms, on_cancel_retx);
}

/* Sends our CANCEL downstream (RFC 3261 9.1, 16.10): only after a provisional response. */
static void cancel_send(struct cli *c)
{
	if (c->cancel_sent)
		return;
	c->cancel_sent = true;
	c->cancel = build_hop(c, "CANCEL", NULL, &c->cancel_len);
	if (!c->cancel) {
		log_warn("sip_proxy: cannot build CANCEL for branch %s", c->branch);
		return;
	}
	send_downstream(c, c->cancel, c->cancel_len);
	if (c->proto == SIP_PROTO_UDP) {
		c->can_ms = c->r->p->t1;
		cli_timer_start(c, &c->can_retx, c->can_ms, on_cancel_retx);
	}
}

static void cli_terminate(struct cli *c)
{
	struct sip_proxy *p = c->r->p;

	c->state = CLI_TERMINATED;
	timer_stop(p, &c->retx);
	timer_stop(p, &c->end);
	timer_stop(p, &c->timer_c);
	timer_stop(p, &c->can_retx);
	timer_stop(p, &c->can_end);
	/* later responses are strays (a 2xx to INVITE is still relayed, statelessly) */
	if (c->linked)
		sip_txn_table_remove(&p->by_branch, &c->link);
	c->linked = false;
	free(c->fwd);
	c->fwd = NULL;
	free(c->ack);
	c->ack = NULL;
}

/* 16.7 step 6: the rank of a final response in the choice of the best one, lower is
 * better: any 6xx, else the lowest class (3xx, 4xx, 5xx); within 4xx the responses that
 * let the UAC retry (401, 407, 415, 420, 484) first, 408 (often our own timeout) last;
 * equal ranks keep the response that came first. */
static int final_rank(int status)
{
	int cls = status / 100, sub = 1;

	if (cls == 6)
		return 0;
	if (cls == 4) {
		if (status == 401 || status == 407 || status == 415 || status == 420 ||
		    status == 484)
			sub = 0;
		else if (status == 408)
			sub = 2;
	}
	return cls * 4 + sub;
}

/* Keeps m (a non-2xx final of one branch) when it beats the best so far. Takes m. */
static void ctx_candidate(struct sip_req *r, struct sip_msg *m, bool local)
{
	int status = sip_msg_status(m);

	if (r->best && final_rank(status) >= final_rank(r->best_status)) {
		sip_msg_free(m);
		return;
	}
	sip_msg_free(r->best);
	r->best = m;
	r->best_local = local;
	r->best_status = status;
}

/* Session counters: the final answer to an initial INVITE went upstream. */
static void session_final(struct sip_req *r, int status)
{
	struct sip_proxy *p = r->p;

	if (!r->initial_invite || status < 100 || status > 699)
		return;
	p->sessions.answered[status / 100]++;
	if (status < 300)
		p->sessions.setup_us_sum += loop_clock_us() - r->t0_us;
}

/* Pops our Via (unless we generated m), lets the role see the response and relays it on
 * the server transaction (RFC 3261 16.7 steps 3, 8, 9). Takes m. */
static void relay(struct sip_req *r, struct sip_msg *m, bool hook, bool local)
{
	struct sip_proxy *p = r->p;
	int status = sip_msg_status(m);
	bool first_final = status >= 200 && r->srv == SRV_PROCEEDING;
	ssize_t n;

	if (!local && sip_msg_edit_pop(m, "Via", 1) < 0)
		goto out_free;
	if (hook && p->ops->on_response)
		p->ops->on_response(p->app, r, m);
	n = sip_msg_render(m, p->scratch, SCRATCH_SIZE);
	if (n < 0)
		goto out_free;
	if (local)
		count_core_reply(p, status);
	if (r->srv == SRV_PROCEEDING)
		srv_respond(r, p->scratch, (size_t)n, status);
	else
		send_upstream(p, &r->up, p->scratch, (size_t)n);
	if (first_final)
		session_final(r, status);
out_free:
	sip_msg_free(m);
}

/* 16.7 step 6: once every branch has its final response and none went upstream, the
 * best one does. */
static void ctx_check_done(struct sip_req *r)
{
	struct sip_msg *m;

	if (r->srv != SRV_PROCEEDING || !r->forwarded)
		return;
	for (unsigned i = 0; i < r->n_clis; i++)
		if (!r->clis[i].final)
			return;
	if (!r->best) {
		/* no response could be kept (out of memory): the UAC still gets an answer */
		srv_generate(r, 500);
		return;
	}
	m = r->best;
	r->best = NULL;
	relay(r, m, true, r->best_local);
}

static void on_cancel_end(struct loop *lp, void *arg);

/* Asks for the INVITE sent on c to end: CANCEL now if a provisional came, else when one
 * comes (9.1); 64*T1 later, 487 in any case. */
static void cli_cancel(struct cli *c)
{
	if (c->cancelled || !cli_pending(c))
		return;
	c->cancelled = true;
	cli_timer_start(c, &c->can_end, TXN_FACTOR * c->r->p->t1, on_cancel_end);
	if (c->got_prov)
		cancel_send(c);
}

/* 16.7 step 10 after a 2xx went upstream, step 5 after a 6xx: CANCEL the other pending
 * branches of an INVITE (a non-INVITE branch cannot be cancelled, 9.1). */
static void ctx_cancel_others(struct sip_req *r, const struct cli *except)
{
	if (r->method != SIP_INVITE)
		return;
	for (unsigned i = 0; i < r->n_clis; i++)
		if (&r->clis[i] != except)
			cli_cancel(&r->clis[i]);
}

static void dlg_on_response(struct sip_req *r, const struct cli *c, const struct sip_msg *m,
                            int status);

/* A final response the branch did not get from downstream (16.7 step 6: Timer B, F or C
 * stands for a 408; 9.1: a CANCEL left unanswered for a 487), built from the request. */
static void cli_local_final(struct cli *c, int status)
{
	struct sip_req *r = c->r;
	struct sip_proxy *p = r->p;
	struct sip_msg *resp = NULL;
	char tag[TAG_LEN + 1];
	ssize_t n;

	cli_terminate(c);
	c->final = status;
	if (r->msg) {
		make_tag(r->msg, tag);
		n = sip_msg_build_response(r->msg, status, NULL, tag, NULL, p->scratch,
		                           SCRATCH_SIZE);
		if (n > 0 && sip_msg_parse(p->scratch, (size_t)n, &resp, NULL, 0) < 0)
			resp = NULL;
	}
	if (resp)
		dlg_on_response(r, c, resp, status);
	dlg_drop_early(r, c);
	if (resp && r->srv == SRV_PROCEEDING)
		ctx_candidate(r, resp, true);
	else
		sip_msg_free(resp);
	ctx_check_done(r);
	req_check_end(r);
}

/* The INVITE got no final response 64*T1 after our CANCEL: RFC 3261 9.1 lets us
 * consider it cancelled. */
static void on_cancel_end(struct loop *lp, void *arg)
{
	struct cli *c = arg;

	c->can_end = 0;
	timer_stop(c->r->p, &c->can_retx);
	if (cli_pending(c))
		cli_local_final(c, 487);
}

/* Timers A/E: the request again, over UDP only (17.1.1.2, 17.1.2.2). */
static void on_cli_retx(struct loop *lp, void *arg)
{
	struct cli *c = arg;
	struct sip_proxy *p = c->r->p;

	c->retx = 0;
	if (!cli_pending(c) || !c->fwd)
		return;
	send_downstream(c, c->fwd, c->fwd_len);
	if (c->r->method == SIP_INVITE)
		c->e_ms *= 2;
	else if (c->state == CLI_PROCEEDING)
		c->e_ms = p->t2;
	else
		c->e_ms = min_u32(c->e_ms * 2, p->t2);
	cli_timer_start(c, &c->retx, c->e_ms, on_cli_retx);
}

/* Timers B/F (no final response: a 408, 17.1.1.2, 16.7 step 6) and D/K/M. */
static void on_cli_end(struct loop *lp, void *arg)
{
	struct cli *c = arg;
	struct sip_req *r = c->r;

	c->end = 0;
	if (cli_pending(c)) {
		r->p->stats.timeouts++;
		cli_local_final(c, 408);
		return;
	}
	cli_terminate(c);
	req_check_end(r);
}

/* Timer C (16.6 step 11, 16.8): CANCEL after a provisional, else as a 408. */
static void on_timer_c(struct loop *lp, void *arg)
{
	struct cli *c = arg;

	c->timer_c = 0;
	if (!cli_pending(c))
		return;
	if (c->got_prov) {
		cli_cancel(c);
		return;
	}
	c->r->p->stats.timeouts++;
	cli_local_final(c, 408);
}

static void cli_end_after(struct cli *c, uint32_t ms)
{
	timer_stop(c->r->p, &c->retx);
	timer_stop(c->r->p, &c->timer_c);
	if (ms == 0) {
		cli_terminate(c);
		return;
	}
	cli_timer_start(c, &c->end, ms, on_cli_end);
}

static void cli_on_provisional(struct cli *c, int status)
{
	struct sip_proxy *p = c->r->p;

	c->got_prov = true;
	if (c->state == CLI_TRYING) {
		c->state = CLI_PROCEEDING;
		if (c->r->method == SIP_INVITE) {
			/* 17.1.1.2: Proceeding stops Timers A and B. */
			timer_stop(p, &c->retx);
			timer_stop(p, &c->end);
		} else {
			c->e_ms = p->t2;
		}
	}
	/* 16.7 step 2: every provisional but 100 restarts this branch's Timer C */
	if (c->r->method == SIP_INVITE && status > 100 && c->timer_c)
		cli_timer_start(c, &c->timer_c, p->timer_c, on_timer_c);
	if (c->cancelled)
		cancel_send(c);
}

/* A final response on branch c (17.1.1.2, 17.1.2.2; 16.7 steps 4-6, 10). Takes m. */
static void cli_on_final(struct cli *c, struct sip_msg *m, int status)
{
	struct sip_req *r = c->r;
	struct sip_proxy *p = r->p;
	bool udp = c->proto == SIP_PROTO_UDP;
	uint32_t t64 = TXN_FACTOR * p->t1;

	timer_stop(p, &c->can_end);
	if (r->method == SIP_INVITE && status < 300) {
		/* RFC 6026 7.2: Accepted relays further 2xx for Timer M. */
		c->state = CLI_ACCEPTED;
		cli_end_after(c, t64);
	} else if (r->method == SIP_INVITE) {
		struct sip_addr to;
		struct sip_span tv = header_span(m, "To");

		if (sip_msg_to(m, &to) == 0)
			tv = to.value;
		c->ack = build_hop(c, "ACK", &tv, &c->ack_len);
		if (c->ack)
			send_downstream(c, c->ack, c->ack_len);
		c->state = CLI_COMPLETED;
		cli_end_after(c, udp ? t64 : 0); /* Timer D */
	} else {
		c->state = CLI_COMPLETED;
		cli_end_after(c, udp ? p->t4 : 0); /* Timer K */
	}
	if (c->state != CLI_TERMINATED) {
		free(c->fwd);
		c->fwd = NULL;
	}
	c->final = status;
	dlg_on_response(r, c, m, status);
	if (status < 300) {
		/* 16.7 step 5: a 2xx goes upstream at once, later 2xx to INVITE too */
		if (r->srv == SRV_PROCEEDING) {
			relay(r, m, true, false);
			ctx_cancel_others(r, c);
		} else if (r->method == SIP_INVITE) {
			relay(r, m, false, false);
		} else {
			sip_msg_free(m);
		}
	} else if (r->srv == SRV_PROCEEDING) {
		if (status >= 600)
			ctx_cancel_others(r, c);
		ctx_candidate(r, m, false);
		ctx_check_done(r);
	} else {
		sip_msg_free(m);
	}
}

/* A response matched to branch c. Takes m. */
static void cli_on_response(struct cli *c, struct sip_msg *m)
{
	struct sip_req *r = c->r;
	int status = sip_msg_status(m);

	/* 16.7 step 5: a 2xx to INVITE is relayed whatever became of the transaction */
	if (r->method == SIP_INVITE && status >= 200 && status < 300 && !cli_pending(c)) {
		relay(r, m, false, false);
		req_check_end(r);
		return;
	}
	switch (c->state) {
	case CLI_TRYING:
	case CLI_PROCEEDING:
		if (status >= 200) {
			cli_on_final(c, m, status);
			break;
		}
		cli_on_provisional(c, status);
		if (r->method == SIP_INVITE)
			dlg_on_response(r, c, m, status);
		/* 16.7 step 3 (and 17.2.1): a 100 is hop-by-hop, never relayed. */
		if (status > 100 && r->srv == SRV_PROCEEDING)
			relay(r, m, true, false);
		else
			sip_msg_free(m);
		break;
	case CLI_COMPLETED:
		/* 17.1.1.2: a retransmitted non-2xx final gets our ACK again. */
		if (r->method == SIP_INVITE && status >= 300 && c->ack)
			send_downstream(c, c->ack, c->ack_len);
		sip_msg_free(m);
		break;
	default:
		sip_msg_free(m);
		break;
	}
	req_check_end(r);
}

/* ---- receive path: responses ---- */

/* RFC 3261 16.11 / 16.7: a 2xx to INVITE matching no transaction is forwarded
 * statelessly along the Via below ours (the UAS retransmits it until the ACK). */
static void forward_stray_2xx(struct sip_proxy *p, struct sip_msg *m)
{
	struct sip_via top, next;
	struct sockaddr_in dst = {.sin_family = AF_INET};
	enum sip_proto proto;
	const char *host;
	ssize_t n;

	if (sip_msg_top_via(m, &top) < 0 || sip_msg_via(m, 1, &next) < 0)
		return;
	if (strcmp(top.host, p->address) != 0 || (top.port ? top.port : SIP_PORT) != p->port)
		return;
	host = next.received[0] ? next.received : next.host;
	if (inet_pton(AF_INET, host, &dst.sin_addr) != 1)
		return;
	dst.sin_port = htons(next.rport_value ? next.rport_value
	                     : next.port      ? next.port
	                                      : SIP_PORT);
	proto = strcasecmp(next.transport, "TCP") == 0 ? SIP_PROTO_TCP : SIP_PROTO_UDP;
	if (sip_msg_edit_pop(m, "Via", 1) < 0)
		return;
	n = sip_msg_render(m, p->scratch, SCRATCH_SIZE);
	if (n > 0)
		sip_transport_send(p->tr, proto, &dst, 0, p->scratch, (size_t)n);
}

static void on_stray_response(struct sip_proxy *p, struct sip_msg *m)
{
	struct sip_span method;
	uint32_t num;
	int status = sip_msg_status(m);

	p->stats.stray_responses++;
	sip_msg_cseq(m, &num, &method);
	if (status >= 200 && status < 300 && span_eq(method, "INVITE", 6))
		forward_stray_2xx(p, m);
	sip_msg_free(m);
}

/* RFC 3261 17.1.3: the top Via's branch (ours) and the CSeq method find the client
 * transaction; the response to our CANCEL shares the INVITE's branch. Takes m. */
static void on_response(struct sip_proxy *p, struct sip_msg *m)
{
	struct sip_span via = header_span(m, "Via"), branch, method;
	struct sip_txn_link *l;
	struct sip_req *r;
	struct cli *c;
	uint32_t num;

	if (!via.p || sip_msg_param(via, "branch", &branch) < 0 ||
	    !(l = sip_txn_table_find(&p->by_branch, branch.p, branch.len))) {
		on_stray_response(p, m);
		return;
	}
	c = cli_of_link(l);
	r = c->r;
	sip_msg_cseq(m, &num, &method);
	if (r->method == SIP_INVITE && span_eq(method, "CANCEL", 6)) {
		/* the downstream answered our CANCEL: stop retransmitting it */
		if (sip_msg_status(m) >= 200)
			timer_stop(p, &c->can_retx);
		sip_msg_free(m);
		return;
	}
	if (!span_eq(method, r->key + r->method_off, r->key_len - r->method_off)) {
		on_stray_response(p, m);
		return;
	}
	p->stats.responses_in++;
	cli_on_response(c, m);
}

/* ---- receive path: requests ---- */

/* The server key of RFC 3261 17.2.3: branch, sent-by and method (ACK and CANCEL look up
 * the INVITE's). Without the magic cookie (RFC 2543 peers), a hash of what 17.2.3 lists
 * for them stands in for the branch. Returns the length or -ENOSPC. */
static ssize_t server_key(const struct sip_msg *m, const struct sip_via *top,
                          struct sip_span method, char *key, size_t cap)
{
	char h[TAG_LEN + 1];
	const char *branch = top->branch;
	uint32_t num;
	struct sip_span cm;
	int n;

	if (method.len > METHOD_KEY_MAX)
		return -ENOSPC;
	if (strncmp(branch, COOKIE, COOKIE_LEN) != 0) {
		uint64_t x = SIP_TXN_HASH_INIT;

		sip_msg_cseq(m, &num, &cm);
		x = hash_span(x, sip_msg_ruri(m));
		x = hash_span(x, header_span(m, "From"));
		x = hash_span(x, sip_msg_call_id(m));
		x = hash_span(x, header_span(m, "Via"));
		x = sip_txn_hash_add(x, &num, sizeof(num));
		hex64(x, h);
		branch = h;
	}
	n = snprintf(key, cap, "%s %s:%u %.*s", branch, top->host, (unsigned)top->port,
	             (int)method.len, method.p);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

/* RFC 3261 16.6 step 8 and 16.3 item 4: the loop-detection part of our branch, over
 * what a request keeps as it travels (Request-URI, Call-ID, CSeq, From, To, Route set)
 * and our identity. A request coming back unchanged is a loop; a spiral changes the
 * Request-URI or the Route set. */
static uint64_t loop_hash(const struct sip_proxy *p, const struct sip_msg *m)
{
	struct sip_value_iter it;
	struct sip_span v, cm;
	uint64_t h = SIP_TXN_HASH_INIT;
	uint32_t num;

	h = sip_txn_hash_add(h, p->sent_by, p->sent_by_len);
	h = hash_span(h, sip_msg_ruri(m));
	h = hash_span(h, sip_msg_call_id(m));
	sip_msg_cseq(m, &num, &cm);
	h = sip_txn_hash_add(h, &num, sizeof(num));
	h = hash_span(h, cm);
	h = hash_span(h, header_span(m, "From"));
	h = hash_span(h, header_span(m, "To"));
	sip_msg_values(m, "Route", &it);
	while (sip_msg_values_next(&it, &v))
		h = hash_span(h, v);
	return h;
}

/* Our branch for forwarding m: the loop part, then a hash of the upstream transaction
 * (its branch, sent-by and method), so a retransmission maps to the same branch. */
static void make_branch(const struct sip_proxy *p, const struct sip_msg *m,
                        const struct sip_via *top, char *branch)
{
	uint64_t h = SIP_TXN_HASH_INIT;

	memcpy(branch, COOKIE, COOKIE_LEN);
	hex64(loop_hash(p, m), branch + COOKIE_LEN);
	h = sip_txn_hash_add(h, top->branch, strlen(top->branch));
	h = sip_txn_hash_add(h, top->host, strlen(top->host));
	h = sip_txn_hash_add(h, &top->port, sizeof(top->port));
	h = hash_span(h, sip_msg_method_text(m));
	hex64(h, branch + LOOP_PREFIX_LEN);
}

/* True when Via value v has our sent-by ("SIP/2.0/UDP addr:port;..."). */
static bool via_is_ours(const struct sip_proxy *p, struct sip_span v)
{
	size_t i = 0;

	while (i < v.len && v.p[i] != ' ' && v.p[i] != '\t')
		i++;
	while (i < v.len && (v.p[i] == ' ' || v.p[i] == '\t'))
		i++;
	if (v.len - i < p->sent_by_len || memcmp(v.p + i, p->sent_by, p->sent_by_len) != 0)
		return false;
	i += p->sent_by_len;
	return i == v.len || v.p[i] == ';' || v.p[i] == ' ' || v.p[i] == '\t';
}

/* 16.3 item 4: one of the Vias is ours with this request's loop hash. */
static bool looped(const struct sip_proxy *p, const struct sip_msg *m, const char *branch)
{
	struct sip_value_iter it;
	struct sip_span v, b;

	sip_msg_values(m, "Via", &it);
	while (sip_msg_values_next(&it, &v)) {
		if (sip_msg_param(v, "branch", &b) < 0 || b.len < LOOP_PREFIX_LEN ||
		    memcmp(b.p, branch, LOOP_PREFIX_LEN) != 0)
			continue;
		if (via_is_ours(p, v))
			return true;
	}
	return false;
}

static void on_role_timeout(struct loop *lp, void *arg)
{
	struct sip_req *r = arg;
	struct sip_proxy *p = r->p;

	r->role_timer = 0;
	if (!r->role_pending)
		return;
	log_warn("sip_proxy: role did not answer %.*s in time", (int)r->key_len, r->key);
	r->role_pending = false;
	if (p->ops->on_gone)
		p->ops->on_gone(p->app, r);
	if (r->method != SIP_ACK)
		srv_generate(r, 500);
	req_check_end(r);
}

/* CANCEL (RFC 3261 9.2, 16.10): 200 when it matches an INVITE server transaction, then
 * the INVITE ends with a 487 (ours if the role still holds it, else downstream's). */
static void on_cancel(struct sip_proxy *p, const struct upstream *up, struct sip_msg *m,
                      const char *key, size_t key_len)
{
	struct sip_txn_link *l = sip_txn_table_find(&p->by_key, key, key_len);
	struct sip_req *r = l ? req_of_srv(l) : NULL;
	ssize_t n;
	char tag[TAG_LEN + 1];

	if (!r || r->method != SIP_INVITE) {
		reply_stateless(p, up, m, 481, NULL);
		return;
	}
	/* 9.2: the same To tag as our responses to the INVITE (same Call-ID, Via, CSeq) */
	make_tag(m, tag);
	n = sip_msg_build_response(m, 200, NULL, tag, NULL, p->scratch, SCRATCH_SIZE);
	if (n > 0)
		send_upstream(p, up, p->scratch, (size_t)n);
	if (r->srv != SRV_PROCEEDING)
		return;
	if (r->role_pending) {
		p->stats.cancels++;
		r->role_pending = false;
		if (p->ops->on_gone)
			p->ops->on_gone(p->app, r);
		srv_generate(r, 487);
	} else if (r->forwarded && !r->cancel_asked) {
		/* 16.10: every pending branch is cancelled; their 487 becomes the answer */
		p->stats.cancels++;
		r->cancel_asked = true;
		for (unsigned i = 0; i < r->n_clis; i++)
			cli_cancel(&r->clis[i]);
	}
	req_check_end(r);
}

/* The checks of RFC 3261 16.3 for a new request, then the role. Takes m. */
static void on_new_request(struct sip_proxy *p, const struct upstream *up, struct sip_msg *m,
                           const struct sip_via *top, const char *key, size_t key_len,
                           size_t method_off)
{
	enum sip_method method = sip_msg_method(m);
	char branch[BRANCH_LEN + 1];
	struct sip_req *r;
	int mf = sip_msg_max_forwards(m);

	if (mf == -EBADMSG) {
		reply_stateless(p, up, m, 400, "Invalid Max-Forwards");
		goto out_free;
	}
	if (mf == 0) {
		reply_stateless(p, up, m, 483, NULL);
		goto out_free;
	}
	make_branch(p, m, top, branch);
	if (looped(p, m, branch)) {
		reply_stateless(p, up, m, 482, NULL);
		goto out_free;
	}
	if (p->n_reqs >= p->max_txns) {
		reply_stateless(p, up, m, 503, NULL);
		goto out_free;
	}
	r = req_new(p, m, key, key_len, method_off);
	if (!r) {
		reply_stateless(p, up, m, 500, NULL);
		goto out_free;
	}
	memcpy(r->branch, branch, sizeof(branch));
	r->up = *up;
	r->role_pending = true;
	/* edits after this mark are the role's (sip_req_next_hop) */
	r->core_mark = sip_msg_edit_mark(m);
	r->t0_us = loop_clock_us();
	if (method == SIP_ACK) {
		/* an ACK for a 2xx is its own transaction with no response (17.1.1.3) */
		r->srv = SRV_TERMINATED;
	} else {
		r->srv_link.key = r->key;
		r->srv_link.key_len = r->key_len;
		sip_txn_table_add(&p->by_key, &r->srv_link);
		r->in_srv = true;
	}
	if (method == SIP_INVITE) {
		/* 16.2, 17.2.1: the proxy answers 100 at once so the UAC stops Timer A */
		ssize_t n =
		    sip_msg_build_response(m, 100, NULL, NULL, NULL, p->scratch, SCRATCH_SIZE);

		if (n > 0)
			srv_respond(r, p->scratch, (size_t)n, 100);
	}
	timer_start(r, &r->role_timer,
	            method == SIP_INVITE ? p->timer_c : (uint64_t)TXN_FACTOR * p->t1,
	            on_role_timeout);
	p->stats.requests_in++;
	p->ops->on_request(p->app, r);
	return;
out_free:
	sip_msg_free(m);
}

/* A parsed request: Via received/rport, then transaction matching (17.2.3). Takes m. */
static void on_request(struct sip_proxy *p, const struct sip_packet *pkt, struct sip_msg *m)
{
	enum sip_method method = sip_msg_method(m);
	struct sip_span mtext = sip_msg_method_text(m);
	struct sip_txn_link *l;
	struct upstream up;
	struct sip_via top;
	char key[KEY_MAX], ip[INET_ADDRSTRLEN];
	ssize_t klen;

	if (sip_msg_top_via(m, &top) < 0) {
		upstream_from(&up, pkt, NULL);
		reply_stateless(p, &up, m, 400, "Malformed Via header");
		goto out_free;
	}
	upstream_from(&up, pkt, &top);
	/* RFC 3261 18.2.1, RFC 3581 4: the Via says where the request came from. */
	if (inet_ntop(AF_INET, &pkt->src.sin_addr, ip, sizeof(ip)) &&
	    sip_msg_edit_via_received(m, &top, ip, ntohs(pkt->src.sin_port)) < 0)
		log_debug("sip_proxy: cannot add received/rport");
	if (method == SIP_ACK || method == SIP_CANCEL) {
		mtext.p = "INVITE";
		mtext.len = 6;
	}
	klen = server_key(m, &top, mtext, key, sizeof(key));
	if (klen < 0) {
		reply_stateless(p, &up, m, 400, "Via branch or method too long");
		goto out_free;
	}
	if (method == SIP_CANCEL) {
		on_cancel(p, &up, m, key, (size_t)klen);
		goto out_free;
	}
	l = sip_txn_table_find(&p->by_key, key, (size_t)klen);
	if (l && method == SIP_ACK && req_of_srv(l)->srv != SRV_ACCEPTED) {
		srv_on_ack(req_of_srv(l));
		goto out_free;
	}
	if (l && method != SIP_ACK) {
		srv_on_retransmission(req_of_srv(l));
		goto out_free;
	}
	if (method == SIP_ACK) /* an ACK for a 2xx (or after Accepted) is forwarded */
		klen = server_key(m, &top, sip_msg_method_text(m), key, sizeof(key));
	on_new_request(p, &up, m, &top, key, (size_t)klen,
	               (size_t)klen - sip_msg_method_text(m).len);
	return;
out_free:
	sip_msg_free(m);
}

/* ---- receive path: unparsable messages ---- */

static bool name_is(const char *s, size_t n, const char *full, char compact)
{
	return (n == 1 && (s[0] | 0x20) == compact) ||
	       (n == strlen(full) && strncasecmp(s, full, n) == 0);
}

/* Copies the Via, From, To, Call-ID and CSeq lines of raw bytes (8.2.6.2) after a
 * status line: the 400 or 505 of a request the parse refused. Returns the length, or
 * 0 when it is not a request or has no Via. */
static size_t build_unparsed_reply(const char *buf, size_t len, int status, const char *why,
                                   char *out, size_t cap)
{
	struct wbuf w = {out, 0, cap};
	const char *end = buf + len, *line, *eol;
	bool keep = false, via = false;
	char head[32];

	while (buf + 1 < end && buf[0] == '\r' && buf[1] == '\n')
		buf += 2;
	eol = memchr(buf, '\n', (size_t)(end - buf));
	if (!eol || (size_t)(end - buf) < 4 || strncasecmp(buf, "SIP/", 4) == 0)
		return 0;
	snprintf(head, sizeof(head), "SIP/2.0 %d ", status);
	wb_str(&w, head);
	wb_str(&w, why[0] ? why : sip_msg_reason_phrase(status));
	wb_str(&w, "\r\n");
	for (line = eol + 1; line < end; line = eol + 1) {
		const char *colon, *name_end;

		eol = memchr(line, '\n', (size_t)(end - line));
		if (!eol)
			eol = end - 1;
		if (line[0] == '\r' || line[0] == '\n')
			break;
		if (line[0] == ' ' || line[0] == '\t') {
			if (keep)
				wb_put(&w, line, (size_t)(eol - line) + 1);
			continue;
		}
		colon = memchr(line, ':', (size_t)(eol - line));
		keep = false;
		if (!colon)
			continue;
		for (name_end = colon;
		     name_end > line && (name_end[-1] == ' ' || name_end[-1] == '\t'); name_end--)
			;
		keep = name_is(line, (size_t)(name_end - line), "Via", 'v') ||
		       name_is(line, (size_t)(name_end - line), "From", 'f') ||
		       name_is(line, (size_t)(name_end - line), "To", 't') ||
		       name_is(line, (size_t)(name_end - line), "Call-ID", 'i') ||
		       name_is(line, (size_t)(name_end - line), "CSeq", 0);
		via = via || name_is(line, (size_t)(name_end - line), "Via", 'v');
		if (keep)
			wb_put(&w, line, (size_t)(eol - line) + 1);
	}
	wb_str(&w, "Content-Length: 0\r\n\r\n");
	return via && w.len <= cap ? w.len : 0;
}

static void on_unparsed(struct sip_proxy *p, const struct sip_packet *pkt, int err, const char *why)
{
	struct upstream up;
	int status = err == -EPROTONOSUPPORT ? 505 : err == -EMSGSIZE ? 513 : 400;
	size_t n;

	if (err == -ENOMEM) {
		p->stats.dropped++;
		return;
	}
	n = build_unparsed_reply(pkt->buf, pkt->len, status, why, p->scratch, SCRATCH_SIZE);
	if (n == 0) {
		if (log_enabled(LOGL_DEBUG))
			log_debug("sip_proxy: dropped unparsable message (%s)", why);
		p->stats.dropped++;
		return;
	}
	upstream_from(&up, pkt, NULL);
	count_core_reply(p, status);
	send_upstream(p, &up, p->scratch, n);
}

static void proxy_on_recv(void *arg, const struct sip_packet *pkt)
{
	struct sip_proxy *p = arg;
	struct sip_msg *m;
	char why[128];
	int err;

	if (p->closing)
		return;
	err = sip_msg_parse(pkt->buf, pkt->len, &m, why, sizeof(why));
	if (err < 0) {
		on_unparsed(p, pkt, err, why);
		return;
	}
	if (pkt->malformed) {
		/* RFC 3261 18.3: Content-Length is mandatory on a stream */
		if (sip_msg_is_request(m)) {
			struct upstream up;

			upstream_from(&up, pkt, NULL);
			reply_stateless(p, &up, m, 400, "Missing Content-Length");
		} else {
			p->stats.dropped++;
		}
		sip_msg_free(m);
		return;
	}
	if (sip_msg_is_request(m))
		on_request(p, pkt, m);
	else
		on_response(p, m);
}

/* ---- dialogs this node Record-Routed (RFC 3261 12, 16.6 step 4) ---- */

static void dlg_free(struct sip_proxy *p, struct dlg *d)
{
	if (d->link.key)
		sip_txn_table_remove(&p->dialogs, &d->link);
	if (d->lru_prev)
		d->lru_prev->lru_next = d->lru_next;
	else
		p->dlg_head = d->lru_next;
	if (d->lru_next)
		d->lru_next->lru_prev = d->lru_prev;
	else
		p->dlg_tail = d->lru_prev;
	if (d->req) {
		if (d->r_prev)
			d->r_prev->r_next = d->r_next;
		else
			d->req->dlgs = d->r_next;
		if (d->r_next)
			d->r_next->r_prev = d->r_prev;
	}
	p->sessions.dialogs--;
	free(d->routes);
	free(d);
}

static void dlg_arm(struct sip_proxy *p);

/* Forgets the dialogs nothing passed through for DLG_IDLE_MS (a BYE we never saw). */
static void on_dlg_sweep(struct loop *lp, void *arg)
{
	struct sip_proxy *p = arg;
	uint64_t now = loop_now(lp);

	p->dlg_timer = 0;
	while (p->dlg_head && now - p->dlg_head->used >= DLG_IDLE_MS)
		dlg_free(p, p->dlg_head);
	dlg_arm(p);
}

static void dlg_arm(struct sip_proxy *p)
{
	uint64_t now = loop_now(p->lp), due;

	if (p->dlg_timer || !p->dlg_head)
		return;
	due = p->dlg_head->used + DLG_IDLE_MS;
	p->dlg_timer = loop_timer_add(p->lp, due > now ? due - now : 0, on_dlg_sweep, p);
}

/* A message of the dialog passed: it moves to the young end of the list. */
static void dlg_touch(struct sip_proxy *p, struct dlg *d)
{
	d->used = loop_now(p->lp);
	if (p->dlg_tail == d)
		return;
	if (d->lru_prev)
		d->lru_prev->lru_next = d->lru_next;
	else
		p->dlg_head = d->lru_next;
	d->lru_next->lru_prev = d->lru_prev;
	d->lru_prev = p->dlg_tail;
	d->lru_next = NULL;
	p->dlg_tail->lru_next = d;
	p->dlg_tail = d;
}

/* "Call-ID\nA\nB" into key (DLG_KEY_MAX). Returns the length or -ENOSPC. */
static int dlg_key(struct sip_span call_id, struct sip_span a, struct sip_span b, char *key)
{
	int n = snprintf(key, DLG_KEY_MAX, "%.*s\n%.*s\n%.*s", (int)call_id.len, call_id.p,
	                 (int)a.len, a.p, (int)b.len, b.p);

	return n < 0 || n >= DLG_KEY_MAX ? -ENOSPC : n;
}

static struct dlg *dlg_find(const struct sip_proxy *p, struct sip_span call_id, struct sip_span a,
                            struct sip_span b)
{
	char key[DLG_KEY_MAX];
	struct sip_txn_link *l;
	int n = dlg_key(call_id, a, b, key);

	if (n < 0 || !(l = sip_txn_table_find(&p->dialogs, key, (size_t)n)))
		return NULL;
	return (struct dlg *)((char *)l - offsetof(struct dlg, link));
}

/* The dialog of m in either direction (a BYE from the callee swaps the tags). */
struct dlg_ids {
	struct sip_span call_id;  /* Call-ID */
	struct sip_span from_tag; /* From tag */
	struct sip_span to_tag;   /* To tag */
};

static int dlg_ids(const struct sip_msg *m, struct dlg_ids *ids)
{
	ids->call_id = sip_msg_call_id(m);
	if (sip_msg_param(header_span(m, "From"), "tag", &ids->from_tag) < 0 ||
	    sip_msg_param(header_span(m, "To"), "tag", &ids->to_tag) < 0 || !ids->to_tag.len ||
	    !ids->from_tag.len)
		return -ENOENT;
	return 0;
}

static struct dlg *dlg_find_any(const struct sip_proxy *p, const struct dlg_ids *ids)
{
	struct dlg *d = dlg_find(p, ids->call_id, ids->from_tag, ids->to_tag);

	return d ? d : dlg_find(p, ids->call_id, ids->to_tag, ids->from_tag);
}

/* The dialog's route set: the Record-Route values of the response, as written. */
static void dlg_set_routes(struct dlg *d, const struct sip_msg *m)
{
	struct sip_value_iter it;
	struct sip_span v;
	char *buf = malloc(DLG_ROUTE_BYTES_MAX);
	size_t used = 0;
	unsigned n = 0;

	if (!buf)
		return;
	sip_msg_values(m, "Record-Route", &it);
	while (n < DLG_ROUTES_MAX && sip_msg_values_next(&it, &v)) {
		ssize_t k = sip_msg_value_copy(v, buf + used, DLG_ROUTE_BYTES_MAX - used);

		if (k < 0)
			break;
		used += (size_t)k + 1;
		n++;
	}
	free(d->routes);
	d->routes = buf;
	d->n_routes = n;
}

static struct dlg *dlg_new(struct sip_proxy *p, const struct dlg_ids *ids)
{
	char key[DLG_KEY_MAX];
	int n = dlg_key(ids->call_id, ids->from_tag, ids->to_tag, key);
	struct dlg *d;

	if (n < 0 || !(d = calloc(1, sizeof(*d) + (size_t)n + 1)))
		return NULL;
	memcpy(d->key, key, (size_t)n + 1);
	d->key_len = (size_t)n;
	d->call_id_len = ids->call_id.len;
	d->from_len = ids->from_tag.len;
	d->link.key = d->key;
	d->link.key_len = d->key_len;
	sip_txn_table_add(&p->dialogs, &d->link);
	d->created = d->used = loop_now(p->lp);
	d->lru_prev = p->dlg_tail;
	if (p->dlg_tail)
		p->dlg_tail->lru_next = d;
	else
		p->dlg_head = d;
	p->dlg_tail = d;
	p->sessions.dialogs++;
	dlg_arm(p);
	return d;
}

/* Early dialogs of r (those of branch c, or all when c is NULL) that no 2xx confirmed
 * end with the INVITE's non-2xx or with the transaction. */
static void dlg_drop_early(struct sip_req *r, const struct cli *c)
{
	struct dlg *d = r->dlgs, *next;

	for (; d; d = next) {
		next = d->r_next;
		if (!c || d->branch == c->index)
			dlg_free(r->p, d);
	}
}

/* What a response tells about dialogs: a 1xx with To tag to an initial INVITE we
 * Record-Routed makes an early dialog, a 2xx a confirmed one (RFC 3261 12.1), a non-2xx
 * ends the branch's early dialogs; a 2xx to BYE ends the dialog (15.1.2), and so do a
 * 481 and a 408 (RFC 5057 5.1: the dialog is gone). */
static void dlg_on_response(struct sip_req *r, const struct cli *c, const struct sip_msg *m,
                            int status)
{
	struct sip_proxy *p = r->p;
	struct dlg_ids ids;
	struct dlg *d;

	if (r->method == SIP_BYE) {
		if (p->sessions.dialogs && (status / 100 == 2 || status == 481 || status == 408) &&
		    dlg_ids(m, &ids) == 0 && (d = dlg_find_any(p, &ids)))
			dlg_free(p, d);
		return;
	}
	if (r->method != SIP_INVITE || !r->rr || !r->initial_invite || status <= 100)
		return;
	if (status >= 300) {
		dlg_drop_early(r, c);
		return;
	}
	if (dlg_ids(m, &ids) < 0)
		return;
	d = dlg_find(p, ids.call_id, ids.from_tag, ids.to_tag);
	if (!d) {
		d = dlg_new(p, &ids);
		if (!d)
			return;
		dlg_set_routes(d, m);
		if (status < 200) {
			d->req = r;
			d->branch = c->index;
			d->r_next = r->dlgs;
			if (r->dlgs)
				r->dlgs->r_prev = d;
			r->dlgs = d;
		}
	}
	if (status >= 200 && !d->confirmed) {
		if (d->req) {
			if (d->r_prev)
				d->r_prev->r_next = d->r_next;
			else
				d->req->dlgs = d->r_next;
			if (d->r_next)
				d->r_next->r_prev = d->r_prev;
			d->req = NULL;
			d->r_prev = d->r_next = NULL;
		}
		/* 12.1.2: the route set comes from the 2xx */
		dlg_set_routes(d, m);
	}
	d->confirmed = d->confirmed || status >= 200;
	dlg_touch(p, d);
}

/* An in-dialog request going through keeps its dialog alive. */
static void dlg_touch_request(struct sip_proxy *p, const struct sip_msg *m)
{
	struct dlg_ids ids;
	struct dlg *d;

	if (p->sessions.dialogs && dlg_ids(m, &ids) == 0 && (d = dlg_find_any(p, &ids)))
		dlg_touch(p, d);
}

json_t *sip_proxy_dialogs_json(const struct sip_proxy *p)
{
	json_t *arr = json_array();
	uint64_t now = loop_now(p->lp);

	if (!arr)
		return NULL;
	for (const struct dlg *d = p->dlg_head; d; d = d->lru_next) {
		json_t *o = json_object(), *rs = json_array();
		const char *from = d->key + d->call_id_len + 1, *to = from + d->from_len + 1;
		const char *v = d->routes;

		if (!o || !rs) {
			json_decref(o);
			json_decref(rs);
			break;
		}
		for (unsigned i = 0; i < d->n_routes; i++, v += strlen(v) + 1)
			json_array_append_new(rs, json_string(v));
		json_object_set_new(o, "call_id", json_stringn(d->key, d->call_id_len));
		json_object_set_new(o, "from_tag", json_stringn(from, d->from_len));
		json_object_set_new(o, "to_tag", json_string(to));
		json_object_set_new(o, "state", json_string(d->confirmed ? "confirmed" : "early"));
		json_object_set_new(o, "route_set", rs);
		json_object_set_new(o, "age",
		                    json_integer((json_int_t)((now - d->created) / 1000)));
		json_array_append_new(arr, o);
	}
	return arr;
}

const struct sip_proxy_sessions *sip_proxy_sessions(const struct sip_proxy *p)
{
	return &p->sessions;
}

/* ---- proxy ---- */

/* Frees what sip_proxy_new allocated; every request and dialog is gone already. */
static void proxy_release(struct sip_proxy *p)
{
	sip_transport_free(p->tr);
	sip_txn_table_fini(&p->by_key);
	sip_txn_table_fini(&p->by_branch);
	sip_txn_table_fini(&p->dialogs);
	free(p->scratch);
	free(p->uri);
	free(p->fqdn);
	free(p->address);
	free(p);
}

struct sip_proxy *sip_proxy_new(struct loop *lp, const struct sip_proxy_conf *conf)
{
	struct sip_proxy *p = calloc(1, sizeof(*p));
	struct in_addr a;
	size_t n;

	if (!p)
		return NULL;
	if (!conf->address || inet_pton(AF_INET, conf->address, &a) != 1 || !conf->ops ||
	    !conf->ops->on_request) {
		log_err("sip_proxy: bad configuration (address %s)",
		        conf->address ? conf->address : "(none)");
		goto out_free;
	}
	p->lp = lp;
	p->ops = conf->ops;
	p->app = conf->app;
	p->topo = conf->topo;
	p->t1 = conf->t1_ms ? conf->t1_ms : DEFAULT_T1_MS;
	p->t2 = T2_FACTOR * p->t1;
	p->t4 = T4_FACTOR * p->t1;
	p->timer_c = conf->timer_c_ms ? conf->timer_c_ms : DEFAULT_TIMER_C_MS;
	p->max_txns = conf->max_txns ? conf->max_txns : DEFAULT_MAX_TXNS;
	p->address = strdup(conf->address);
	p->fqdn = strdup(conf->fqdn ? conf->fqdn : conf->address);
	p->scratch = malloc(SCRATCH_SIZE);
	if (!p->address || !p->fqdn || !p->scratch || sip_txn_table_init(&p->by_key, 1024) < 0 ||
	    sip_txn_table_init(&p->by_branch, 1024) < 0 || sip_txn_table_init(&p->dialogs, 256) < 0)
		goto out_free;
	p->tr = sip_transport_new(lp, conf->address, conf->port, NULL, proxy_on_recv, p);
	if (!p->tr)
		goto out_free;
	p->port = sip_transport_port(p->tr);
	p->sent_by_len = (size_t)snprintf(p->sent_by, sizeof(p->sent_by), "%s:%u", p->address,
	                                  (unsigned)p->port);
	n = strlen(p->fqdn) + 32;
	p->uri = malloc(n);
	if (!p->uri)
		goto out_free;
	snprintf(p->uri, n, "sip:%s:%u;lr", p->fqdn, (unsigned)p->port);
	return p;
out_free:
	proxy_release(p);
	return NULL;
}

void sip_proxy_free(struct sip_proxy *p)
{
	if (!p)
		return;
	p->closing = true;
	/* Tell the role first: on_gone may look at other requests. */
	for (struct sip_req *r = p->all; r; r = r->next) {
		if (!r->role_pending)
			continue;
		r->role_pending = false;
		if (p->ops->on_gone)
			p->ops->on_gone(p->app, r);
	}
	while (p->all)
		req_end(p->all);
	timer_stop(p, &p->reap_timer);
	on_reap(p->lp, p);
	while (p->dlg_head)
		dlg_free(p, p->dlg_head);
	timer_stop(p, &p->dlg_timer);
	proxy_release(p);
}

const struct sip_proxy_stats *sip_proxy_stats(const struct sip_proxy *p)
{
	return &p->stats;
}

const struct sip_transport_stats *sip_proxy_transport_stats(const struct sip_proxy *p)
{
	return sip_transport_stats(p->tr);
}

/* ---- counters for /status and /metrics ---- */

/* Labels of the response classes, by class (index 0 unused). */
static const char *const class_names[7] = {"", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"};

/* One family <prefix>_<suffix>; names too long for PROM_MAX_NAME are dropped by prom. */
static void prom_name(char *buf, size_t size, const char *prefix, const char *suffix)
{
	snprintf(buf, size, "%s_%s", prefix, suffix);
}

static void core_prom(const struct sip_proxy *p, const char *prefix, struct prom *out)
{
	const struct sip_proxy_stats *sp = &p->stats;
	char hop_help[2 * PROM_MAX_NAME + 160];
	const struct {
		const char *suffix; /* family name after the prefix */
		const char *help;   /* its HELP text */
		uint64_t value;     /* the counter */
	} rows[] = {
	    {"sip_requests_total", "New SIP requests handed to the role", sp->requests_in},
	    {"sip_retransmissions_total", "Retransmitted requests absorbed", sp->retransmissions},
	    {"sip_responses_total", "Responses received for our transactions", sp->responses_in},
	    {"sip_forwarded_total", "Requests forwarded (each branch)", sp->forwarded},
	    {"sip_timeouts_total", "Forwarded requests that got no final response", sp->timeouts},
	    {"sip_core_replies_total", "400/482/483 answered by the proxy core",
	     sp->replies_4xx_core},
	    {"sip_hop_microseconds_total", hop_help, sp->hop_us_sum},
	};
	char name[PROM_MAX_NAME + 1];

	snprintf(hop_help, sizeof(hop_help),
	         "Sum of request arrival to forwarding times (each branch, Diameter round trips "
	         "included): per-hop latency = %s_sip_hop_microseconds_total / "
	         "%s_sip_forwarded_total",
	         prefix, prefix);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		prom_name(name, sizeof(name), prefix, rows[i].suffix);
		prom_counter(out, name, rows[i].help, NULL, rows[i].value);
	}
}

/* One family <prefix>_<suffix>{transport="udp"|"tcp"} from a per-transport array. */
static void transport_family(struct prom *out, const char *prefix, const char *suffix,
                             const char *help, const uint64_t *v)
{
	char name[PROM_MAX_NAME + 1], labels[32];

	prom_name(name, sizeof(name), prefix, suffix);
	for (int t = 0; t < SIP_PROTO_COUNT; t++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "transport", sip_transport_proto_name(t));
		prom_counter(out, name, help, labels, v[t]);
	}
}

static void transport_prom(const struct sip_proxy *p, const char *prefix, struct prom *out)
{
	const struct sip_transport_stats *ts = sip_transport_stats(p->tr);

	transport_family(out, prefix, "sip_messages_in_total", "SIP messages received",
	                 ts->msgs_in);
	transport_family(out, prefix, "sip_messages_out_total", "SIP messages sent", ts->msgs_out);
}

/* calls.md: 3GPP SC.AttSession style session counters. */
static void sessions_prom(const struct sip_proxy *p, const char *prefix, struct prom *out)
{
	const struct sip_proxy_sessions *ss = &p->sessions;
	char name[PROM_MAX_NAME + 1], help[PROM_MAX_NAME + 64], labels[32];

	prom_name(name, sizeof(name), prefix, "sessions_attempts_total");
	prom_counter(out, name, "Initial INVITEs forwarded", NULL, ss->attempts);
	prom_name(name, sizeof(name), prefix, "sessions_answered_total");
	for (int c = 1; c <= 6; c++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "class", class_names[c]);
		prom_counter(out, name, "Final responses to initial INVITEs relayed, by class",
		             labels, ss->answered[c]);
	}
	prom_name(name, sizeof(name), prefix, "session_setup_microseconds_total");
	prom_counter(out, name, "Sum of INVITE to first 2xx times", NULL, ss->setup_us_sum);
	snprintf(help, sizeof(help), "Sessions summed in %s", name);
	prom_name(name, sizeof(name), prefix, "session_setup_samples_total");
	prom_counter(out, name, help, NULL, ss->answered[2]);
	prom_name(name, sizeof(name), prefix, "dialogs");
	prom_gauge(out, name, "Dialogs this node Record-Routed, open now", NULL,
	           (double)ss->dialogs);
}

void sip_proxy_prom(const struct sip_proxy *p, const char *prefix, struct prom *out)
{
	core_prom(p, prefix, out);
	transport_prom(p, prefix, out);
	sessions_prom(p, prefix, out);
}

/* sum / n, 0 when n is 0. */
static json_int_t avg(uint64_t sum, uint64_t n)
{
	return (json_int_t)(n ? sum / n : 0);
}

json_t *sip_proxy_status_json(const struct sip_proxy *p)
{
	const struct sip_proxy_stats *sp = &p->stats;
	const struct sip_proxy_sessions *ss = &p->sessions;
	json_t *answered = json_object();

	for (int c = 1; answered && c <= 6; c++)
		json_object_set_new(answered, class_names[c],
		                    json_integer((json_int_t)ss->answered[c]));
	return json_pack(
	    "{s:{s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:o, s:I, s:I}}", "sip", "requests_in",
	    (json_int_t)sp->requests_in, "retransmissions", (json_int_t)sp->retransmissions,
	    "forwarded", (json_int_t)sp->forwarded, "timeouts", (json_int_t)sp->timeouts,
	    "hop_us_avg", avg(sp->hop_us_sum, sp->forwarded), "sessions", "attempts",
	    (json_int_t)ss->attempts, "answered", answered, "setup_us_avg",
	    avg(ss->setup_us_sum, ss->answered[2]), "dialogs", (json_int_t)ss->dialogs);
}

uint16_t sip_proxy_port(const struct sip_proxy *p)
{
	return p->port;
}

const char *sip_proxy_uri(const struct sip_proxy *p)
{
	return p->uri;
}

/* The parts of a SIP URI the routing needs (RFC 3261 19.1.1). */
struct uri_parts {
	bool sips;                 /* sips: scheme */
	struct sip_span host;      /* host, IPv6 without brackets */
	uint16_t port;             /* 0 when absent */
	struct sip_span transport; /* transport parameter, empty when absent */
};

static int uri_split(const char *uri, size_t len, struct uri_parts *u)
{
	const char *end = uri + len, *s, *q, *at = NULL, *h;
	struct sip_span name, value;

	memset(u, 0, sizeof(*u));
	if (len > 4 && strncasecmp(uri, "sip:", 4) == 0) {
		s = uri + 4;
	} else if (len > 5 && strncasecmp(uri, "sips:", 5) == 0) {
		s = uri + 5;
		u->sips = true;
	} else {
		return -EBADMSG;
	}
	q = memchr(s, '?', (size_t)(end - s));
	if (q)
		end = q;
	for (const char *c = s; c < end; c++)
		if (*c == '@')
			at = c;
	h = at ? at + 1 : s;
	if (h < end && *h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb)
			return -EBADMSG;
		u->host.p = h + 1;
		u->host.len = (size_t)(rb - h - 1);
		s = rb + 1;
	} else {
		for (s = h; s < end && *s != ':' && *s != ';'; s++)
			;
		u->host.p = h;
		u->host.len = (size_t)(s - h);
	}
	if (u->host.len == 0 || u->host.len >= SIP_HOST_MAX)
		return -EBADMSG;
	if (s < end && *s == ':') {
		unsigned long v = 0;
		const char *d = ++s;

		for (; s < end && *s >= '0' && *s <= '9' && v <= 65535; s++)
			v = v * 10 + (unsigned long)(*s - '0');
		if (s == d || v == 0 || v > 65535)
			return -EBADMSG;
		u->port = (uint16_t)v;
	}
	while (s < end && *s == ';') {
		name.p = ++s;
		while (s < end && *s != ';' && *s != '=')
			s++;
		name.len = (size_t)(s - name.p);
		value.p = s;
		value.len = 0;
		if (s < end && *s == '=') {
			value.p = ++s;
			while (s < end && *s != ';')
				s++;
			value.len = (size_t)(s - value.p);
		}
		if (name.len == 9 && strncasecmp(name.p, "transport", 9) == 0)
			u->transport = value;
	}
	return s == end ? 0 : -EBADMSG;
}

static bool span_ieq(struct sip_span s, const char *text)
{
	return s.len == strlen(text) && strncasecmp(s.p, text, s.len) == 0;
}

bool sip_proxy_is_us(const struct sip_proxy *p, const char *uri, size_t len)
{
	struct uri_parts u;

	if (uri_split(uri, len, &u) < 0)
		return false;
	if ((u.port ? u.port : SIP_PORT) != p->port)
		return false;
	return span_ieq(u.host, p->fqdn) || span_ieq(u.host, p->address);
}

int sip_proxy_resolve(const struct sip_proxy *p, const char *uri, size_t len,
                      struct sip_target *out)
{
	const struct topo_node *node = NULL;
	struct uri_parts u;
	char host[SIP_HOST_MAX];
	uint16_t port = 0;
	int err = uri_split(uri, len, &u);

	if (err < 0)
		return err;
	memset(out, 0, sizeof(*out));
	out->addr.sin_family = AF_INET;
	if (u.sips ||
	    (u.transport.len && !span_ieq(u.transport, "udp") && !span_ieq(u.transport, "tcp")))
		return -EBADMSG; /* no TLS or SCTP in the lab */
	out->proto = span_ieq(u.transport, "tcp") ? SIP_PROTO_TCP : SIP_PROTO_UDP;
	memcpy(host, u.host.p, u.host.len);
	host[u.host.len] = '\0';
	if (inet_pton(AF_INET, host, &out->addr.sin_addr) != 1) {
		const struct topo_domain *d;

		if (!p->topo)
			return -ENOENT;
		node = topo_node_by_fqdn(p->topo, host);
		/* a domain name: its entry point, the I-CSCF (ARCHITECTURE.md) */
		if (!node && (d = topo_domain_by_name(p->topo, host)))
			node = topo_domain_node(d, TOPO_ICSCF);
		if (!node || inet_pton(AF_INET, node->address, &out->addr.sin_addr) != 1)
			return -ENOENT;
		port = node->sip_port;
	}
	out->addr.sin_port = htons(u.port ? u.port : port ? port : SIP_PORT);
	return 0;
}

/* ---- one request ---- */

struct sip_msg *sip_req_msg(struct sip_req *req)
{
	return req->msg;
}

const struct sockaddr_in *sip_req_source(const struct sip_req *req)
{
	return &req->up.src;
}

enum sip_proto sip_req_proto(const struct sip_req *req)
{
	return req->up.proto;
}

uint64_t sip_req_conn(const struct sip_req *req)
{
	return req->up.conn_id;
}

void sip_req_set_data(struct sip_req *req, void *data, void (*free_fn)(void *data))
{
	if (req->free_fn && req->data != data)
		req->free_fn(req->data);
	req->data = data;
	req->free_fn = free_fn;
}

void *sip_req_data(const struct sip_req *req)
{
	return req->data;
}

/* Ends the role's part: a final answer, a forward, or a dropped ACK. */
static void role_done(struct sip_req *r)
{
	r->role_pending = false;
	timer_stop(r->p, &r->role_timer);
}

int sip_req_reply_body(struct sip_req *req, int status, const char *reason,
                       const char *extra_headers, const char *body, size_t body_len)
{
	static const char no_body[] = "Content-Length: 0\r\n\r\n";
	struct sip_proxy *p = req->p;
	ssize_t n;
	char tag[TAG_LEN + 1];
	int cl;

	if (!req->role_pending || !req->msg || p->closing)
		return -EALREADY;
	if (req->method == SIP_ACK) {
		/* nothing answers an ACK: replying means dropping it */
		role_done(req);
		req_check_end(req);
		return 0;
	}
	make_tag(req->msg, tag);
	n = sip_msg_build_response(req->msg, status, reason, tag, extra_headers, p->scratch,
	                           SCRATCH_SIZE);
	if (n < 0)
		return (int)n;
	if (body_len) {
		/* the builder ends with an empty Content-Length: put the body's instead */
		n -= (ssize_t)(sizeof(no_body) - 1);
		cl = snprintf(p->scratch + n, SCRATCH_SIZE - (size_t)n,
		              "Content-Length: %zu\r\n\r\n", body_len);
		if (cl < 0 || (size_t)n + (size_t)cl + body_len > SIP_TRANSPORT_MAX_MSG)
			return -EMSGSIZE;
		n += cl;
		memcpy(p->scratch + n, body, body_len);
		n += (ssize_t)body_len;
	}
	if (status >= 200)
		role_done(req);
	srv_respond(req, p->scratch, (size_t)n, status);
	req_check_end(req);
	return 0;
}

int sip_req_reply(struct sip_req *req, int status, const char *reason, const char *extra_headers)
{
	return sip_req_reply_body(req, status, reason, extra_headers, NULL, 0);
}

/* ---- routing (RFC 3261 16.4, 16.6) ---- */

/* The URI inside a Route-like value: between < and >, else the whole value. */
static struct sip_span value_uri(struct sip_span v)
{
	const char *lt = v.len ? memchr(v.p, '<', v.len) : NULL, *gt;

	if (!lt)
		return v;
	gt = memchr(lt, '>', v.len - (size_t)(lt - v.p));
	if (!gt)
		return v;
	v.p = lt + 1;
	v.len = (size_t)(gt - lt - 1);
	return v;
}

/* Copies the user part of a SIP URI (before '@', without a password) into user (size
 * n); leaves it alone when there is none or it does not fit. */
static void uri_user(struct sip_span uri, char *user, size_t n)
{
	const char *s = uri.len ? memchr(uri.p, ':', uri.len) : NULL, *at, *colon;
	size_t len;

	if (!user || !n || !s)
		return;
	s++;
	at = memchr(s, '@', (size_t)(uri.p + uri.len - s));
	if (!at)
		return;
	colon = memchr(s, ':', (size_t)(at - s));
	len = (size_t)((colon ? colon : at) - s);
	if (len >= n)
		return;
	memcpy(user, s, len);
	user[len] = '\0';
}

/* 16.4 strict-router compatibility: Route value last becomes the Request-URI, the
 * values from index first up to last (excluded) stay; the others go with it. Every
 * Route line is removed and the kept values pushed back, one per line. */
static int strict_rewrite(struct sip_req *r, unsigned first, unsigned last)
{
	struct sip_msg *m = r->msg;
	struct sip_value_iter it;
	struct sip_span v, u;
	char *buf = malloc(SIP_MSG_MAX_LINE);
	unsigned i = 0;
	int err;

	if (!buf)
		return -ENOMEM;
	err = sip_msg_edit_remove(m, "Route");
	sip_msg_values(m, "Route", &it);
	for (; err >= 0 && sip_msg_values_next(&it, &v); i++) {
		if (i == last) {
			u = value_uri(v);
			if (u.len == 0 || u.len >= SIP_MSG_MAX_LINE) {
				err = -EBADMSG;
				break;
			}
			memcpy(buf, u.p, u.len);
			buf[u.len] = '\0';
			r->strict_ruri = strdup(buf);
			err = r->strict_ruri ? sip_msg_edit_ruri(m, buf) : -ENOMEM;
		} else if (i >= first) {
			ssize_t k = sip_msg_value_copy(v, buf, SIP_MSG_MAX_LINE);

			err = k < 0 ? (int)k : sip_msg_edit_push(m, "Route", buf);
		}
	}
	free(buf);
	return err < 0 ? err : 0;
}

int sip_req_pop_routes(struct sip_req *req, char *user, size_t n)
{
	struct sip_proxy *p = req->p;
	struct sip_msg *m = req->msg;
	struct sip_value_iter it;
	struct sip_span v, u, ruri;
	unsigned mark, count, popped = 0;
	bool strict = false, track;
	int err = 0;

	if (user && n)
		user[0] = '\0';
	if (!req->role_pending || req->forwarded || !m || req->routed)
		return -EALREADY;
	mark = sip_msg_edit_mark(m);
	track = mark == req->core_mark;
	count = sip_msg_header_values(m, "Route");
	ruri = sip_msg_ruri(m);
	/* a strict router before us put the URI we Record-Routed in the Request-URI */
	if (count > 0 && sip_proxy_is_us(p, ruri.p, ruri.len)) {
		uri_user(ruri, user, n);
		strict = true;
		count--;
	}
	sip_msg_values(m, "Route", &it);
	while (popped < count && sip_msg_values_next(&it, &v)) {
		u = value_uri(v);
		if (!sip_proxy_is_us(p, u.p, u.len))
			break;
		if (user && n && !user[0])
			uri_user(u, user, n);
		popped++;
	}
	if (strict)
		err = strict_rewrite(req, popped, count);
	else if (popped)
		err = sip_msg_edit_pop(m, "Route", popped);
	if (err < 0) {
		sip_msg_edit_rollback(m, mark);
		free(req->strict_ruri);
		req->strict_ruri = NULL;
		if (user && n)
			user[0] = '\0';
		return err;
	}
	req->routed = true;
	req->routes_popped = popped;
	req->strict = strict;
	req->pop_mark = mark;
	req->pop_end = sip_msg_edit_mark(m);
	if (track)
		req->core_mark = req->pop_end;
	return (int)(popped + (strict ? 1 : 0));
}

/* Pushes a Route value, adding < > around a bare URI. */
static int push_route(struct sip_msg *m, const char *value)
{
	char buf[ROUTE_MAX];
	int n;

	if (value[0] == '<')
		return sip_msg_edit_push(m, "Route", value);
	n = snprintf(buf, sizeof(buf), "<%s>", value);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENOSPC;
	return sip_msg_edit_push(m, "Route", buf);
}

int sip_req_set_routes(struct sip_req *req, const char *const *values, size_t n)
{
	struct sip_msg *m = req->msg;
	unsigned mark;
	int err;

	if (!req->role_pending || req->forwarded || !m)
		return -EALREADY;
	if (req->routed && (req->routes_popped || req->strict)) {
		/* the pop's edits cover Route bytes: redo them as part of the new set */
		if (sip_msg_edit_mark(m) != req->pop_end)
			return -EBUSY;
		sip_msg_edit_rollback(m, req->pop_mark);
		req->pop_end = req->pop_mark;
	}
	mark = sip_msg_edit_mark(m);
	err = sip_msg_edit_remove(m, "Route");
	for (size_t i = 0; err >= 0 && i < n; i++)
		err = push_route(m, values[i]);
	if (err >= 0 && req->strict)
		err = sip_msg_edit_ruri(m, req->strict_ruri);
	if (err >= 0)
		return 0;
	/* back to the received Route set and Request-URI */
	sip_msg_edit_rollback(m, req->routed ? req->pop_mark : mark);
	req->routed = req->strict = false;
	req->routes_popped = 0;
	free(req->strict_ruri);
	req->strict_ruri = NULL;
	return err;
}

static bool rr_user_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-_.!~*'()%&=+$", c));
}

int sip_req_record_route(struct sip_req *req, const char *user)
{
	size_t len = user ? strlen(user) : 0;

	if (!req->role_pending || req->forwarded || !req->msg)
		return -EALREADY;
	if (len >= RR_USER_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!rr_user_char(user[i]))
			return -EINVAL;
	memcpy(req->rr_user, user ? user : "", len);
	req->rr_user[len] = '\0';
	req->rr = true;
	return 0;
}

int sip_req_next_hop(struct sip_req *req, struct sip_target *out)
{
	struct sip_proxy *p = req->p;
	struct sip_msg *m = req->msg, *view = NULL;
	struct sip_value_iter it;
	struct sip_span v = {NULL, 0}, uri;
	unsigned skip = 0, count;
	int err;

	if (!m)
		return -EALREADY;
	if (sip_msg_edit_mark(m) != req->core_mark) {
		/* the role edited the message: read Route and Request-URI as they will go */
		ssize_t n = sip_msg_render(m, p->scratch, SCRATCH_SIZE);

		if (n < 0 || sip_msg_parse(p->scratch, (size_t)n, &view, NULL, 0) < 0)
			return -EBADMSG;
		m = view;
	} else if (req->routed) {
		skip = req->routes_popped;
	}
	count = sip_msg_header_values(m, "Route");
	if (!view && req->strict)
		count--; /* the last value is the Request-URI now */
	if (count > skip) {
		sip_msg_values(m, "Route", &it);
		for (unsigned i = 0; i <= skip && sip_msg_values_next(&it, &v); i++)
			;
		uri = value_uri(v);
	} else if (!view && req->strict) {
		uri.p = req->strict_ruri;
		uri.len = strlen(req->strict_ruri);
	} else {
		uri = sip_msg_ruri(m);
	}
	err = sip_proxy_resolve(p, uri.p, uri.len, out);
	sip_msg_free(view);
	return err;
}

/* ---- forwarding (RFC 3261 16.6) ---- */

/* The edits of one copy: the branch's Request-URI (16.6 step 2), Max-Forwards minus one
 * (step 3, 70 when absent), our Record-Route (step 4), the branch's Route values (step
 * 6) and our Via (step 8) with the transport that carries the copy. */
static int branch_edits(struct sip_req *r, const struct cli *c, const struct sip_branch *b)
{
	struct sip_proxy *p = r->p;
	char via[VIA_MAX], mf[16], rr[RR_USER_MAX + SIP_HOST_MAX + 48];
	int n = sip_msg_max_forwards(r->msg), err;

	snprintf(mf, sizeof(mf), "%d", n > 0 ? n - 1 : 70);
	snprintf(via, sizeof(via), "SIP/2.0/%s %s;branch=%s", sip_transport_proto_name(c->proto),
	         p->sent_by, c->branch);
	err = sip_msg_edit_push(r->msg, "Via", via);
	if (err == 0)
		err = sip_msg_edit_set(r->msg, "Max-Forwards", mf);
	if (err == 0 && b->ruri)
		err = sip_msg_edit_ruri(r->msg, b->ruri);
	for (size_t i = 0; err == 0 && i < b->n_routes; i++)
		err = push_route(r->msg, b->routes[i]);
	if (err == 0 && r->rr) {
		/* one Record-Route for both directions: TCP on either side asks for TCP */
		bool tcp = r->up.proto == SIP_PROTO_TCP || c->proto == SIP_PROTO_TCP;

		n = snprintf(rr, sizeof(rr), "<sip:%s%s%s:%u;lr%s>", r->rr_user,
		             r->rr_user[0] ? "@" : "", p->fqdn, (unsigned)p->port,
		             tcp ? ";transport=tcp" : "");
		err = n < 0 || (size_t)n >= sizeof(rr)
		          ? -ENOSPC
		          : sip_msg_edit_push(r->msg, "Record-Route", rr);
	}
	return err;
}

/* Renders copy c with its edits and sends it; the message keeps only the edits common
 * to every branch afterwards. 0 with the owned bytes in *out, or -errno. */
static int branch_send(struct sip_req *r, struct cli *c, const struct sip_branch *b, char **out,
                       size_t *out_len)
{
	struct sip_msg *m = r->msg;
	unsigned mark = sip_msg_edit_mark(m);
	char *buf = NULL;
	size_t len;
	int err;

	c->proto = c->target.proto;
	err = branch_edits(r, c, b);
	len = sip_msg_render_len(m);
	/* RFC 3261 18.1.1: over 1300 bytes, TCP; the Via must say so. */
	if (err == 0 && c->proto == SIP_PROTO_UDP && sip_transport_must_use_tcp(len)) {
		sip_msg_edit_rollback(m, mark);
		c->proto = SIP_PROTO_TCP;
		err = branch_edits(r, c, b);
		len = sip_msg_render_len(m);
	}
	if (err == 0 && !(buf = malloc(len + 1)))
		err = -ENOMEM;
	if (err == 0 && sip_msg_render(m, buf, len + 1) < 0)
		err = -ENOSPC;
	if (err == 0)
		err = sip_transport_send(r->p->tr, c->proto, &c->target.addr, c->target.conn_id,
		                         buf, len);
	sip_msg_edit_rollback(m, mark);
	if (err < 0) {
		free(buf);
		return err;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

/* Branch i's value: branch 0 is the request's own (loop part + transaction part), the
 * others change the transaction part only (16.6 step 8: the loop part is per request). */
static void branch_id(const struct sip_req *r, unsigned i, char *out)
{
	memcpy(out, r->branch, BRANCH_LEN + 1);
	if (i > 0)
		hex64(sip_txn_hash_add(sip_txn_hash(r->branch, BRANCH_LEN), &i, sizeof(i)),
		      out + LOOP_PREFIX_LEN);
}

/* The client transaction of a copy just sent (17.1.1, 17.1.2; Timer C, 16.6 step 11). */
static void cli_start(struct cli *c, char *buf, size_t len)
{
	struct sip_req *r = c->r;
	struct sip_proxy *p = r->p;

	/* kept for retransmissions (UDP) and to build CANCEL and ACK (INVITE) */
	if (c->proto == SIP_PROTO_UDP || r->method == SIP_INVITE) {
		c->fwd = buf;
		c->fwd_len = len;
	} else {
		free(buf);
	}
	c->link.key = c->branch;
	c->link.key_len = BRANCH_LEN;
	sip_txn_table_add(&p->by_branch, &c->link);
	c->linked = true;
	c->state = CLI_TRYING;
	if (c->proto == SIP_PROTO_UDP) {
		c->e_ms = p->t1;
		cli_timer_start(c, &c->retx, c->e_ms, on_cli_retx);
	}
	cli_timer_start(c, &c->end, (uint64_t)TXN_FACTOR * p->t1, on_cli_end);
	if (r->method == SIP_INVITE)
		cli_timer_start(c, &c->timer_c, p->timer_c, on_timer_c);
}

/* An ACK for a 2xx is a request of its own, end to end (17.1.1.3): sent once on its
 * Route set with our Via, no client transaction, no response expected. */
static int forward_ack(struct sip_req *r, const struct sip_branch *b)
{
	struct cli c = {.r = r, .target = b->target};
	char *buf;
	size_t len;
	int err;

	memcpy(c.branch, r->branch, sizeof(c.branch));
	err = branch_send(r, &c, b, &buf, &len);
	if (err < 0)
		return err;
	free(buf);
	r->p->stats.forwarded++;
	r->p->stats.hop_us_sum += loop_clock_us() - r->t0_us;
	r->forwarded = true;
	dlg_touch_request(r->p, r->msg);
	role_done(r);
	req_check_end(r);
	return 0;
}

int sip_req_fork(struct sip_req *req, const struct sip_branch *branches, size_t n)
{
	struct sip_proxy *p = req->p;
	struct sip_span to_tag;
	struct cli *clis;
	unsigned sent = 0;
	int err = -EINVAL;

	if (!req->role_pending || req->forwarded || !req->msg || p->closing)
		return -EALREADY;
	if (n == 0 || n > SIP_PROXY_MAX_BRANCHES || (req->method == SIP_ACK && n > 1))
		return -EINVAL;
	if (req->method == SIP_ACK)
		return forward_ack(req, branches);
	clis = n == 1 ? &req->one : calloc(n, sizeof(*clis));
	if (!clis)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct cli *c = &clis[sent];
		char *buf;
		size_t len;

		memset(c, 0, sizeof(*c));
		c->r = req;
		c->index = i;
		c->target = branches[i].target;
		branch_id(req, i, c->branch);
		err = branch_send(req, c, &branches[i], &buf, &len);
		if (err < 0) {
			log_debug("sip_proxy: branch %u not sent: %s", i, strerror(-err));
			continue;
		}
		/* the array is complete before any callback can run: pointers into it hold */
		req->clis = clis;
		req->n_clis = ++sent;
		cli_start(c, buf, len);
		p->stats.forwarded++;
		p->stats.hop_us_sum += loop_clock_us() - req->t0_us;
	}
	if (sent == 0) {
		req->clis = NULL;
		if (clis != &req->one)
			free(clis);
		return err;
	}
	req->forwarded = true;
	role_done(req);
	if (sip_msg_param(header_span(req->msg, "To"), "tag", &to_tag) == 0 && to_tag.len) {
		dlg_touch_request(p, req->msg);
	} else if (req->method == SIP_INVITE) {
		req->initial_invite = true;
		p->sessions.attempts++;
	}
	return 0;
}

int sip_req_forward(struct sip_req *req, const struct sip_target *target)
{
	struct sip_branch b = {NULL, NULL, 0, *target};

	return sip_req_fork(req, &b, 1);
}
