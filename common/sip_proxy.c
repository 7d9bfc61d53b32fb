/* The transaction-stateful proxy core (RFC 3261 16, 17; RFC 3581; RFC 6026). One
 * struct sip_req is one server transaction plus, once the role forwards it, the one
 * client transaction (and its CANCEL) it owns; both are found in O(1) through the
 * sip_txn tables (server key of 17.2.3, our branch of 17.1.3). Forwarding edits the
 * received bytes (sip_msg); the responses the core originates are built from the
 * request. Transactions that end are unlinked at once and freed on the next loop turn,
 * never inside their own callbacks. */
#include "sip_proxy.h"

#include "log.h"
#include "loop.h"
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
	CLI_NONE,       /* not forwarded (yet) */
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

/* One received request: its server transaction and, once forwarded, its client
 * transaction (with the CANCEL of 9.1). */
struct sip_req {
	struct sip_proxy *p;          /* owning proxy */
	struct sip_txn_link srv_link; /* in p->by_key (not for ACK) */
	struct sip_txn_link cli_link; /* in p->by_branch once forwarded */
	bool in_srv, in_cli;          /* linked in by_key, by_branch */
	struct sip_req *prev, *next;  /* p->all, every live request */
	struct sip_req *reap_next;    /* p->reap once ended */
	struct sip_msg *msg;          /* owned request; freed after the final response */
	enum sip_method method;       /* its method */
	struct upstream up;           /* where responses go */
	char branch[BRANCH_LEN + 1];  /* branch of our Via when forwarded */
	bool role_pending;            /* the role still has to reply or forward */
	bool dead;                    /* ended: unlinked, waiting for the reap */
	void *data;                   /* role data, owned through free_fn */
	void (*free_fn)(void *data);  /* frees data when the request is freed */
	uint64_t role_timer;          /* guard against a role that never answers */
	/* server transaction */
	enum srv_state srv; /* state */
	char *resp;         /* owned; last response, for retransmissions (UDP) */
	size_t resp_len;    /* its length */
	size_t resp_cap;    /* allocated bytes of resp */
	uint64_t srv_retx;  /* Timer G */
	uint64_t srv_end;   /* Timer H, I, J or L */
	uint32_t g_ms;      /* next Timer G interval */
	/* client transaction */
	enum cli_state cli;       /* state */
	struct sip_target target; /* next hop */
	enum sip_proto cli_proto; /* transport used (UDP upgraded to TCP) */
	char *fwd;                /* owned; the request as forwarded (UDP, INVITE) */
	size_t fwd_len;           /* its length */
	char *ack;                /* owned; ACK sent for a non-2xx (17.1.1.3) */
	size_t ack_len;           /* its length */
	uint64_t cli_retx;        /* Timer A or E */
	uint64_t cli_end;         /* Timer B, F, D, K or M */
	uint64_t timer_c;         /* Timer C (16.6 step 11), INVITE */
	uint32_t e_ms;            /* next Timer A/E interval */
	bool got_prov;            /* a provisional response arrived */
	/* CANCEL of the forwarded INVITE (RFC 3261 9.1, 16.10) */
	bool cancelled;    /* a CANCEL (or Timer C) asked for it */
	bool cancel_sent;  /* our CANCEL went downstream */
	char *cancel;      /* owned; the CANCEL, for retransmissions */
	size_t cancel_len; /* its length */
	uint64_t can_retx; /* its Timer E */
	uint64_t can_end;  /* 64*T1 after the CANCEL: give up, 487 */
	uint32_t can_ms;   /* next CANCEL retransmission interval */
	size_t method_off; /* method text at key + method_off */
	size_t key_len;    /* bytes of key */
	char key[];        /* server key, NUL-terminated */
};

struct sip_proxy {
	struct loop *lp;                 /* borrowed */
	struct sip_transport *tr;        /* owned */
	const struct sip_proxy_ops *ops; /* role hooks, borrowed */
	void *app;                       /* passed to the hooks */
	const struct topo *topo;         /* borrowed, may be NULL */
	char *address;                   /* owned copy of conf->address */
	char *fqdn;                      /* owned copy of conf->fqdn (or of address) */
	uint16_t port;                   /* bound SIP port */
	char sent_by[SENT_BY_MAX];       /* "address:port" of our Via */
	size_t sent_by_len;              /* its length */
	char *uri;                       /* owned; "sip:fqdn:port;lr" */
	uint32_t t1, t2, t4;             /* RFC 3261 timer values, ms */
	uint32_t timer_c;                /* Timer C, ms */
	unsigned max_txns;               /* cap on live requests */
	struct sip_txn_table by_key;     /* server transactions */
	struct sip_txn_table by_branch;  /* client transactions */
	struct sip_req *all;             /* every live request (doubly linked) */
	size_t n_reqs;                   /* entries in all */
	struct sip_req *reap;            /* ended requests, freed by reap_timer */
	uint64_t reap_timer;             /* pending reap, 0 when none */
	bool closing;                    /* sip_proxy_free is running */
	struct sip_proxy_stats stats;    /* counters */
	char *scratch;                   /* owned; SCRATCH_SIZE bytes for rendering */
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

static struct sip_req *req_of_cli(struct sip_txn_link *l)
{
	return (struct sip_req *)((char *)l - offsetof(struct sip_req, cli_link));
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

static void req_free(struct sip_req *r)
{
	if (r->free_fn)
		r->free_fn(r->data);
	sip_msg_free(r->msg);
	free(r->resp);
	free(r->fwd);
	free(r->ack);
	free(r->cancel);
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
	timer_stop(p, &r->cli_retx);
	timer_stop(p, &r->cli_end);
	timer_stop(p, &r->timer_c);
	timer_stop(p, &r->can_retx);
	timer_stop(p, &r->can_end);
}

static void req_unlink(struct sip_req *r)
{
	struct sip_proxy *p = r->p;

	if (r->in_srv)
		sip_txn_table_remove(&p->by_key, &r->srv_link);
	if (r->in_cli)
		sip_txn_table_remove(&p->by_branch, &r->cli_link);
	r->in_srv = r->in_cli = false;
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
	r->reap_next = p->reap;
	p->reap = r;
	if (!p->reap_timer)
		p->reap_timer = loop_timer_add(p->lp, 0, on_reap, p);
}

static void req_check_end(struct sip_req *r)
{
	if (r->dead || r->role_pending || r->srv != SRV_TERMINATED)
		return;
	if (r->cli != CLI_NONE && r->cli != CLI_TERMINATED)
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
	r->cli = CLI_NONE;
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

/* Builds a response to r's request, shows it to the role as if it came from downstream
 * (408 of Timer B/F, 487 of a CANCEL that got no answer) and sends it upstream. */
static void srv_generate(struct sip_req *r, int status)
{
	struct sip_proxy *p = r->p;
	struct sip_msg *resp;
	char tag[TAG_LEN + 1];
	ssize_t n;

	if (r->srv != SRV_PROCEEDING || !r->msg)
		return;
	make_tag(r->msg, tag);
	n = sip_msg_build_response(r->msg, status, NULL, tag, NULL, p->scratch, SCRATCH_SIZE);
	if (n < 0)
		return;
	/* only a request the role forwarded has its responses shown to the role */
	if (r->cli != CLI_NONE && p->ops->on_response &&
	    sip_msg_parse(p->scratch, (size_t)n, &resp, NULL, 0) == 0) {
		p->ops->on_response(p->app, r, resp);
		n = sip_msg_render(resp, p->scratch, SCRATCH_SIZE);
		sip_msg_free(resp);
		if (n < 0)
			return;
	}
	count_core_reply(p, status);
	srv_respond(r, p->scratch, (size_t)n, status);
}

/* ---- client transaction (RFC 3261 17.1, 16.6-16.7) ---- */

static int send_downstream(struct sip_req *r, const char *buf, size_t len)
{
	return sip_transport_send(r->p->tr, r->cli_proto, &r->target.addr, r->target.conn_id, buf,
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

/* Builds the CANCEL (9.1) or the ACK of a non-2xx (17.1.1.3) for the request we
 * forwarded: same Request-URI, Call-ID, From, CSeq number and Route set, our Via
 * only; the ACK takes the To of the response. Returns an owned buffer or NULL. */
static char *build_hop(struct sip_req *r, const char *method, const struct sip_span *to,
                       size_t *len)
{
	struct sip_msg *fm;
	struct sip_value_iter it;
	struct sip_span v, cseq_method;
	struct wbuf w;
	char num[16];
	uint32_t cseq;

	if (!r->fwd || sip_msg_parse(r->fwd, r->fwd_len, &fm, NULL, 0) < 0)
		return NULL;
	w.cap = r->fwd_len + (to ? to->len : 0) + 128;
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

static void on_cancel_retx(struct loop *lp, void *arg)
{
	struct sip_req *r = arg;

	r->can_retx = 0;
	if (!r->cancel)
		return;
	send_downstream(r, r->cancel, r->cancel_len);
	r->can_ms = min_u32(r->can_ms * 2, r->p->t2);
	timer_start(r, &r->can_retx, r->can_ms, on_cancel_retx);
}

/* Sends our CANCEL downstream (RFC 3261 9.1, 16.10): only after a provisional response. */
static void cancel_send(struct sip_req *r)
{
	if (r->cancel_sent)
		return;
	r->cancel_sent = true;
	r->cancel = build_hop(r, "CANCEL", NULL, &r->cancel_len);
	if (!r->cancel) {
		log_warn("sip_proxy: cannot build CANCEL for branch %s", r->branch);
		return;
	}
	send_downstream(r, r->cancel, r->cancel_len);
	if (r->cli_proto == SIP_PROTO_UDP) {
		r->can_ms = r->p->t1;
		timer_start(r, &r->can_retx, r->can_ms, on_cancel_retx);
	}
}

static void cli_terminate(struct sip_req *r)
{
	struct sip_proxy *p = r->p;

	r->cli = CLI_TERMINATED;
	timer_stop(p, &r->cli_retx);
	timer_stop(p, &r->cli_end);
	timer_stop(p, &r->timer_c);
	timer_stop(p, &r->can_retx);
	timer_stop(p, &r->can_end);
	/* later responses are strays (a 2xx to INVITE is still relayed, statelessly) */
	if (r->in_cli)
		sip_txn_table_remove(&p->by_branch, &r->cli_link);
	r->in_cli = false;
	free(r->fwd);
	r->fwd = NULL;
	free(r->ack);
	r->ack = NULL;
}

/* The INVITE got no final response 64*T1 after our CANCEL: RFC 3261 9.1 lets us
 * consider it cancelled; upstream gets a 487. */
static void on_cancel_end(struct loop *lp, void *arg)
{
	struct sip_req *r = arg;

	r->can_end = 0;
	timer_stop(r->p, &r->can_retx);
	if (r->cli != CLI_TRYING && r->cli != CLI_PROCEEDING)
		return;
	cli_terminate(r);
	srv_generate(r, 487);
	req_check_end(r);
}

/* Asks for the forwarded INVITE to end: CANCEL now if a provisional came, else when
 * one comes (9.1); 64*T1 later, 487 in any case. */
static void cli_cancel(struct sip_req *r)
{
	if (r->cancelled || (r->cli != CLI_TRYING && r->cli != CLI_PROCEEDING))
		return;
	r->cancelled = true;
	timer_start(r, &r->can_end, TXN_FACTOR * r->p->t1, on_cancel_end);
	if (r->got_prov)
		cancel_send(r);
}

/* Timers A/E: the request again, over UDP only (17.1.1.2, 17.1.2.2). */
static void on_cli_retx(struct loop *lp, void *arg)
{
	struct sip_req *r = arg;
	struct sip_proxy *p = r->p;

	r->cli_retx = 0;
	if ((r->cli != CLI_TRYING && r->cli != CLI_PROCEEDING) || !r->fwd)
		return;
	send_downstream(r, r->fwd, r->fwd_len);
	if (r->method == SIP_INVITE)
		r->e_ms *= 2;
	else if (r->cli == CLI_PROCEEDING)
		r->e_ms = p->t2;
	else
		r->e_ms = min_u32(r->e_ms * 2, p->t2);
	timer_start(r, &r->cli_retx, r->e_ms, on_cli_retx);
}

/* Timers B/F (no final response: 408 upstream, 16.7 step 6... 17.1.1.2) and D/K/M. */
static void on_cli_end(struct loop *lp, void *arg)
{
	struct sip_req *r = arg;
	bool timeout = r->cli == CLI_TRYING || r->cli == CLI_PROCEEDING;

	r->cli_end = 0;
	cli_terminate(r);
	if (timeout) {
		r->p->stats.timeouts++;
		srv_generate(r, 408);
	}
	req_check_end(r);
}

/* Timer C (16.6 step 11, 16.8): CANCEL after a provisional, else as a 408. */
static void on_timer_c(struct loop *lp, void *arg)
{
	struct sip_req *r = arg;

	r->timer_c = 0;
	if (r->cli != CLI_TRYING && r->cli != CLI_PROCEEDING)
		return;
	if (r->got_prov) {
		cli_cancel(r);
		return;
	}
	cli_terminate(r);
	r->p->stats.timeouts++;
	srv_generate(r, 408);
	req_check_end(r);
}

static void cli_end_after(struct sip_req *r, uint32_t ms)
{
	timer_stop(r->p, &r->cli_retx);
	timer_stop(r->p, &r->timer_c);
	if (ms == 0) {
		cli_terminate(r);
		return;
	}
	timer_start(r, &r->cli_end, ms, on_cli_end);
}

static void cli_on_provisional(struct sip_req *r, int status)
{
	struct sip_proxy *p = r->p;

	r->got_prov = true;
	if (r->cli == CLI_TRYING) {
		r->cli = CLI_PROCEEDING;
		if (r->method == SIP_INVITE) {
			/* 17.1.1.2: Proceeding stops Timers A and B. */
			timer_stop(p, &r->cli_retx);
			timer_stop(p, &r->cli_end);
		} else {
			r->e_ms = p->t2;
		}
	}
	if (r->method == SIP_INVITE && status > 100 && r->timer_c)
		timer_start(r, &r->timer_c, p->timer_c, on_timer_c);
	if (r->cancelled)
		cancel_send(r);
}

/* Pops our Via, lets the role see the response and relays it on the server transaction
 * (RFC 3261 16.7 steps 3, 8, 9). Takes m. */
static void relay(struct sip_req *r, struct sip_msg *m, bool hook)
{
	struct sip_proxy *p = r->p;
	int status = sip_msg_status(m);
	ssize_t n;

	if (sip_msg_edit_pop(m, "Via", 1) < 0)
		goto out_free;
	if (hook && p->ops->on_response)
		p->ops->on_response(p->app, r, m);
	n = sip_msg_render(m, p->scratch, SCRATCH_SIZE);
	if (n < 0)
		goto out_free;
	if (r->srv == SRV_PROCEEDING)
		srv_respond(r, p->scratch, (size_t)n, status);
	else
		send_upstream(p, &r->up, p->scratch, (size_t)n);
out_free:
	sip_msg_free(m);
}

static void cli_on_final(struct sip_req *r, struct sip_msg *m, int status)
{
	struct sip_proxy *p = r->p;
	bool udp = r->cli_proto == SIP_PROTO_UDP;
	uint32_t t64 = TXN_FACTOR * p->t1;

	timer_stop(p, &r->can_end);
	if (r->method == SIP_INVITE && status < 300) {
		/* RFC 6026 7.2: Accepted relays further 2xx for Timer M. */
		r->cli = CLI_ACCEPTED;
		cli_end_after(r, t64);
	} else if (r->method == SIP_INVITE) {
		struct sip_addr to;
		struct sip_span tv = header_span(m, "To");

		if (sip_msg_to(m, &to) == 0)
			tv = to.value;
		r->ack = build_hop(r, "ACK", &tv, &r->ack_len);
		if (r->ack)
			send_downstream(r, r->ack, r->ack_len);
		r->cli = CLI_COMPLETED;
		cli_end_after(r, udp ? t64 : 0); /* Timer D */
	} else {
		r->cli = CLI_COMPLETED;
		cli_end_after(r, udp ? p->t4 : 0); /* Timer K */
	}
	if (r->cli != CLI_TERMINATED) {
		free(r->fwd);
		r->fwd = NULL;
	}
	/* 16.7 step 5: the first final is relayed; a 2xx to INVITE always is. */
	if (r->srv == SRV_PROCEEDING)
		relay(r, m, true);
	else if (r->method == SIP_INVITE && status < 300)
		relay(r, m, false);
	else
		sip_msg_free(m);
}

/* A response matched to r's client transaction. Takes m. */
static void cli_on_response(struct sip_req *r, struct sip_msg *m)
{
	int status = sip_msg_status(m);

	/* 16.7 step 5: a 2xx to INVITE is relayed whatever became of the transaction */
	if (r->method == SIP_INVITE && status >= 200 && status < 300 && r->cli != CLI_TRYING &&
	    r->cli != CLI_PROCEEDING) {
		relay(r, m, false);
		req_check_end(r);
		return;
	}
	switch (r->cli) {
	case CLI_TRYING:
	case CLI_PROCEEDING:
		if (status >= 200) {
			cli_on_final(r, m, status);
			break;
		}
		cli_on_provisional(r, status);
		/* 16.7 step 3 (and 17.2.1): a 100 is hop-by-hop, never relayed. */
		if (status > 100 && r->srv == SRV_PROCEEDING)
			relay(r, m, true);
		else
			sip_msg_free(m);
		break;
	case CLI_COMPLETED:
		/* 17.1.1.2: a retransmitted non-2xx final gets our ACK again. */
		if (r->method == SIP_INVITE && status >= 300 && r->ack)
			send_downstream(r, r->ack, r->ack_len);
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
	uint32_t num;

	if (!via.p || sip_msg_param(via, "branch", &branch) < 0 ||
	    !(l = sip_txn_table_find(&p->by_branch, branch.p, branch.len))) {
		on_stray_response(p, m);
		return;
	}
	r = req_of_cli(l);
	sip_msg_cseq(m, &num, &method);
	if (r->method == SIP_INVITE && span_eq(method, "CANCEL", 6)) {
		/* the downstream answered our CANCEL: stop retransmitting it */
		if (sip_msg_status(m) >= 200)
			timer_stop(p, &r->can_retx);
		sip_msg_free(m);
		return;
	}
	if (!span_eq(method, r->key + r->method_off, r->key_len - r->method_off)) {
		on_stray_response(p, m);
		return;
	}
	p->stats.responses_in++;
	cli_on_response(r, m);
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
	} else if (!r->cancelled) {
		p->stats.cancels++;
		cli_cancel(r);
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

/* ---- proxy ---- */

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
	    sip_txn_table_init(&p->by_branch, 1024) < 0)
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
	sip_transport_free(p->tr);
	sip_txn_table_fini(&p->by_key);
	sip_txn_table_fini(&p->by_branch);
	free(p->scratch);
	free(p->uri);
	free(p->fqdn);
	free(p->address);
	free(p);
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
	sip_transport_free(p->tr);
	sip_txn_table_fini(&p->by_key);
	sip_txn_table_fini(&p->by_branch);
	free(p->scratch);
	free(p->uri);
	free(p->fqdn);
	free(p->address);
	free(p);
}

const struct sip_proxy_stats *sip_proxy_stats(const struct sip_proxy *p)
{
	return &p->stats;
}

const struct sip_transport_stats *sip_proxy_transport_stats(const struct sip_proxy *p)
{
	return sip_transport_stats(p->tr);
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

/* Our Via on top (16.6 step 8) and Max-Forwards minus one (step 3). */
static int forward_edits(struct sip_req *r, enum sip_proto proto)
{
	char via[VIA_MAX], mf[16];
	int n = sip_msg_max_forwards(r->msg);

	snprintf(mf, sizeof(mf), "%d", n > 0 ? n - 1 : 70);
	snprintf(via, sizeof(via), "SIP/2.0/%s %s;branch=%s", sip_transport_proto_name(proto),
	         r->p->sent_by, r->branch);
	n = sip_msg_edit_push(r->msg, "Via", via);
	if (n == 0)
		n = sip_msg_edit_set(r->msg, "Max-Forwards", mf);
	return n;
}

/* Renders the forwarded request and sends it. Returns the owned bytes or NULL. */
static char *forward_send(struct sip_req *r, const struct sip_target *t, size_t len, int *err)
{
	char *buf = malloc(len + 1);

	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	if (sip_msg_render(r->msg, buf, len + 1) < 0) {
		*err = -ENOSPC;
		goto out_free;
	}
	*err = sip_transport_send(r->p->tr, r->cli_proto, &t->addr, t->conn_id, buf, len);
	if (*err == 0)
		return buf;
out_free:
	free(buf);
	return NULL;
}

int sip_req_forward(struct sip_req *req, const struct sip_target *target)
{
	struct sip_proxy *p = req->p;
	unsigned mark;
	size_t len;
	char *buf;
	int err;

	if (!req->role_pending || req->cli != CLI_NONE || !req->msg || p->closing)
		return -EALREADY;
	mark = sip_msg_edit_mark(req->msg);
	req->cli_proto = target->proto;
	err = forward_edits(req, req->cli_proto);
	len = sip_msg_render_len(req->msg);
	/* RFC 3261 18.1.1: over 1300 bytes, TCP; the Via must say so. */
	if (err == 0 && req->cli_proto == SIP_PROTO_UDP && sip_transport_must_use_tcp(len)) {
		sip_msg_edit_rollback(req->msg, mark);
		req->cli_proto = SIP_PROTO_TCP;
		err = forward_edits(req, req->cli_proto);
		len = sip_msg_render_len(req->msg);
	}
	buf = err == 0 ? forward_send(req, target, len, &err) : NULL;
	if (!buf) {
		sip_msg_edit_rollback(req->msg, mark);
		return err;
	}
	p->stats.forwarded++;
	role_done(req);
	if (req->method == SIP_ACK) {
		free(buf);
		req_check_end(req);
		return 0;
	}
	req->target = *target;
	/* kept for retransmissions (UDP) and to build CANCEL and ACK (INVITE) */
	if (req->cli_proto == SIP_PROTO_UDP || req->method == SIP_INVITE) {
		req->fwd = buf;
		req->fwd_len = len;
	} else {
		free(buf);
	}
	req->cli_link.key = req->branch;
	req->cli_link.key_len = BRANCH_LEN;
	sip_txn_table_add(&p->by_branch, &req->cli_link);
	req->in_cli = true;
	req->cli = CLI_TRYING;
	if (req->cli_proto == SIP_PROTO_UDP) {
		req->e_ms = p->t1;
		timer_start(req, &req->cli_retx, req->e_ms, on_cli_retx);
	}
	timer_start(req, &req->cli_end, (uint64_t)TXN_FACTOR * p->t1, on_cli_end);
	if (req->method == SIP_INVITE)
		timer_start(req, &req->timer_c, p->timer_c, on_timer_c);
	return 0;
}
