/* The UE's SIP layer: its transport (UDP and TCP on the node address), client
 * transactions (RFC 3261 17.1.1 INVITE: Timers A, B, D, the ACK of a non-2xx final, the
 * Accepted state of RFC 6026; 17.1.2 non-INVITE: Timers E, F, K; responses matched by
 * branch and CSeq method as in 17.1.3), and the dispatch of requests: server
 * transactions first (ue_stxn), then the UA core by method and dialog (RFC 3261 8.2). */
#include "ue.h"

#include "log.h"
#include "loop.h"
#include "sip_msg.h"
#include "sip_transport.h"
#include "topo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 3261 17.1.1.2 and 17.1.2.2 states (Terminated = freed). Trying is "Calling" for
 * an INVITE; Accepted is RFC 6026's, for INVITEs answered with a 2xx. */
enum txn_state { TXN_TRYING, TXN_PROCEEDING, TXN_COMPLETED, TXN_ACCEPTED };

/* One client transaction. */
struct ue_txn {
	struct ue *ue;                  /* the UE that owns the list holding this */
	uint64_t id;                    /* handed to the transaction user */
	uint64_t cookie;                /* the user's value, passed back to cb */
	bool invite;                    /* INVITE client transaction (17.1.1) */
	char branch[UE_SIP_BRANCH_MAX]; /* top Via branch of the request */
	char method[32];                /* CSeq method of the request */
	char *msg;                      /* owned; the request, for retransmissions */
	size_t len;                     /* bytes in msg */
	struct sockaddr_in dst;         /* where the request goes */
	char *ack;                      /* owned; INVITE: ACK of the non-2xx final, or NULL */
	size_t ack_len;                 /* bytes in ack */
	enum txn_state state;           /* see enum txn_state */
	uint32_t interval;              /* current Timer A/E interval (ms) */
	uint64_t timer_e;               /* Timer A or E (UDP only), 0 if none */
	uint64_t timer_f;               /* Timer B or F, 0 if none */
	uint64_t timer_k;               /* Timer D, K or the Accepted wait, 0 if none */
	ue_sip_cb cb;                   /* reports the outcome */
	struct ue_txn *next;            /* next in ue->txns */
};

int ue_sip_token(char *out, size_t outlen, size_t nbytes)
{
	uint8_t raw[32];

	if (nbytes > sizeof(raw) || outlen < CODEC_HEX_SIZE(nbytes))
		return -ENOSPC;
	if (RAND_bytes(raw, (int)nbytes) != 1)
		return -EIO;
	return codec_hex_encode(raw, nbytes, out, outlen) < 0 ? -ENOSPC : 0;
}

int ue_sip_branch(char out[UE_SIP_BRANCH_MAX])
{
	char tok[CODEC_HEX_SIZE(12)];
	int ret = ue_sip_token(tok, sizeof(tok), 12);

	if (ret < 0)
		return ret;
	/* RFC 3261 8.1.1.7: the branch starts with the magic cookie. */
	snprintf(out, UE_SIP_BRANCH_MAX, "z9hG4bK%s", tok);
	return 0;
}

int ue_sip_resolve(const struct ue *ue, const char *uri, struct sockaddr_in *out)
{
	const struct topo_node *n;
	struct sip_uri u;
	int ret = sip_msg_uri_parse(uri, strlen(uri), &u);

	if (ret < 0)
		return ret;
	if (strcmp(u.scheme, "tel") == 0)
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons(u.port ? u.port : 5060);
	if (inet_pton(AF_INET, u.host, &out->sin_addr) == 1)
		return 0;
	n = ue->topo ? topo_node_by_fqdn(ue->topo, u.host) : NULL;
	if (!n || inet_pton(AF_INET, n->address, &out->sin_addr) != 1)
		return -ENOENT;
	return 0;
}

static void log_message(const char *what, enum sip_proto proto, const struct sockaddr_in *peer,
                        const char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN] = "?";

	if (!log_enabled(LOGL_DEBUG))
		return;
	if (peer)
		inet_ntop(AF_INET, &peer->sin_addr, ip, sizeof(ip));
	log_debug("%s %s %s:%u (%zu bytes):\n%.*s", what, sip_transport_proto_name(proto), ip,
	          peer ? ntohs(peer->sin_port) : 0, len, (int)len, buf);
}

int ue_sip_send(struct ue *ue, const struct sockaddr_in *dst, const char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN] = "?";
	int ret;

	if (!dst)
		dst = &ue->outbound;
	log_message("send to", ue->proto, dst, buf, len);
	ret = sip_transport_send(ue->sip, ue->proto, dst, 0, buf, len);
	if (ret < 0) {
		inet_ntop(AF_INET, &dst->sin_addr, ip, sizeof(ip));
		log_warn("cannot send to %s:%u over %s: %s", ip, ntohs(dst->sin_port),
		         sip_transport_proto_name(ue->proto), strerror(-ret));
	}
	return ret;
}

static void txn_free(struct ue_txn *t)
{
	struct ue *ue = t->ue;

	for (struct ue_txn **pp = &ue->txns; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			ue->n_txns--;
			break;
		}
	}
	loop_timer_cancel(ue->loop, t->timer_e);
	loop_timer_cancel(ue->loop, t->timer_f);
	loop_timer_cancel(ue->loop, t->timer_k);
	free(t->msg);
	free(t->ack);
	free(t);
}

static void stop_timers(struct ue_txn *t)
{
	loop_timer_cancel(t->ue->loop, t->timer_e);
	loop_timer_cancel(t->ue->loop, t->timer_f);
	t->timer_e = t->timer_f = 0;
}

static void on_timer_e(struct loop *lp, void *arg);

/* RFC 3261 17.1.1.2 (Timer A: the interval doubles without bound) and 17.1.2.2 (Timer
 * E: doubles up to T2 while Trying, stays at T2 once Proceeding). */
static void on_timer_e(struct loop *lp, void *arg)
{
	struct ue_txn *t = arg;

	t->timer_e = 0;
	if (t->state != TXN_TRYING && (t->invite || t->state != TXN_PROCEEDING))
		return;
	t->ue->stats.retransmissions++;
	log_debug("retransmitting %s (branch %s) after %u ms", t->method, t->branch, t->interval);
	/* A failed retransmission is no verdict: Timer B or F decides. */
	ue_sip_send(t->ue, &t->dst, t->msg, t->len);
	if (t->invite)
		t->interval *= 2;
	else if (t->state == TXN_PROCEEDING)
		t->interval = UE_SIP_T2;
	else
		t->interval = t->interval * 2 < UE_SIP_T2 ? t->interval * 2 : UE_SIP_T2;
	t->timer_e = loop_timer_add(lp, t->interval, on_timer_e, t);
}

/* Timer B or F: no (final) response within 64*T1 -> the TU is told of a timeout. */
static void on_timer_f(struct loop *lp, void *arg)
{
	struct ue_txn *t = arg;
	struct ue *ue = t->ue;

	t->timer_f = 0;
	ue->stats.timeouts++;
	log_warn("%s (branch %s): no %sresponse within %u ms (Timer %s)", t->method, t->branch,
	         t->invite ? "" : "final ", 64 * UE_SIP_T1, t->invite ? "B" : "F");
	/* Freed after the callback, which may start the next transaction. */
	t->cb(ue, t->id, t->cookie, NULL, 408);
	txn_free(t);
}

static void on_timer_k(struct loop *lp, void *arg)
{
	struct ue_txn *t = arg;

	t->timer_k = 0;
	txn_free(t);
}

static int txn_start(struct ue *ue, const struct sockaddr_in *dst, bool invite, const char *branch,
                     const char *method, const char *msg, size_t len, ue_sip_cb cb, uint64_t cookie,
                     uint64_t *id)
{
	struct ue_txn *t;
	int ret;

	if (ue->n_txns >= UE_SIP_TXN_MAX)
		return -EAGAIN;
	if (strlen(branch) >= sizeof(t->branch) || strlen(method) >= sizeof(t->method))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->msg = malloc(len);
	if (!t->msg) {
		ret = -ENOMEM;
		goto out_free_txn;
	}
	memcpy(t->msg, msg, len);
	t->len = len;
	t->ue = ue;
	t->id = ++ue->next_txn_id;
	t->cookie = cookie;
	t->invite = invite;
	t->dst = dst ? *dst : ue->outbound;
	snprintf(t->branch, sizeof(t->branch), "%s", branch);
	snprintf(t->method, sizeof(t->method), "%s", method);
	t->cb = cb;
	t->state = TXN_TRYING;
	t->interval = UE_SIP_T1;
	ret = ue_sip_send(ue, &t->dst, msg, len);
	if (ret < 0)
		goto out_free_msg;
	/* Timers A and E only over unreliable transports. */
	if (ue->proto == SIP_PROTO_UDP)
		t->timer_e = loop_timer_add(ue->loop, t->interval, on_timer_e, t);
	t->timer_f = loop_timer_add(ue->loop, 64 * UE_SIP_T1, on_timer_f, t);
	if ((ue->proto == SIP_PROTO_UDP && !t->timer_e) || !t->timer_f) {
		stop_timers(t);
		ret = -ENOMEM;
		goto out_free_msg;
	}
	t->next = ue->txns;
	ue->txns = t;
	ue->n_txns++;
	if (id)
		*id = t->id;
	return 0;
out_free_msg:
	free(t->msg);
out_free_txn:
	free(t);
	return ret;
}

int ue_sip_request(struct ue *ue, const struct sockaddr_in *dst, const char *branch,
                   const char *method, const char *msg, size_t len, ue_sip_cb cb, uint64_t cookie,
                   uint64_t *id)
{
	return txn_start(ue, dst, false, branch, method, msg, len, cb, cookie, id);
}

int ue_sip_invite(struct ue *ue, const struct sockaddr_in *dst, const char *branch, const char *msg,
                  size_t len, ue_sip_cb cb, uint64_t cookie, uint64_t *id)
{
	return txn_start(ue, dst, true, branch, "INVITE", msg, len, cb, cookie, id);
}

/* RFC 3261 17.1.3: the response's top Via branch and CSeq method name the transaction. */
static struct ue_txn *txn_match(struct ue *ue, const struct sip_msg *rsp)
{
	struct sip_via via;
	struct sip_span method;
	uint32_t num;

	if (sip_msg_top_via(rsp, &via) < 0 || !via.branch[0])
		return NULL;
	sip_msg_cseq(rsp, &num, &method);
	for (struct ue_txn *t = ue->txns; t; t = t->next)
		if (strcmp(t->branch, via.branch) == 0 && strlen(t->method) == method.len &&
		    memcmp(t->method, method.p, method.len) == 0)
			return t;
	return NULL;
}

/* Appends "Name: value\r\n" for every value of header name in m. */
static int copy_header(const struct sip_msg *m, const char *name, char *out, size_t outlen,
                       size_t *len)
{
	struct sip_value_iter it;
	struct sip_span v;

	sip_msg_values(m, name, &it);
	while (sip_msg_values_next(&it, &v)) {
		int n = snprintf(out + *len, outlen - *len, "%s: %.*s\r\n", name, (int)v.len, v.p);

		if (n < 0 || (size_t)n >= outlen - *len)
			return -ENOSPC;
		*len += (size_t)n;
	}
	return 0;
}

/* RFC 3261 17.1.1.3: the ACK of a non-2xx final has the INVITE's Request-URI, top Via,
 * From, Call-ID, CSeq number and Route, and the response's To. */
static int build_ack(struct ue_txn *t, const struct sip_msg *rsp)
{
	char buf[UE_SIP_MSG_MAX];
	struct sip_span ruri, id, method, via, to;
	struct sip_msg *inv;
	size_t len = 0, vlen, tolen;
	uint32_t num;
	const char *v, *tv;
	int n, ret;

	ret = sip_msg_parse(t->msg, t->len, &inv, NULL, 0);
	if (ret < 0)
		return ret;
	ruri = sip_msg_ruri(inv);
	id = sip_msg_call_id(inv);
	sip_msg_cseq(inv, &num, &method);
	v = sip_msg_header(inv, "Via", &vlen);
	tv = sip_msg_header(rsp, "To", &tolen);
	via = (struct sip_span){v, vlen};
	to = (struct sip_span){tv, tolen};
	ret = -ENOSPC;
	n = snprintf(buf, sizeof(buf), "ACK %.*s SIP/2.0\r\nVia: %.*s\r\nMax-Forwards: 70\r\n",
	             (int)ruri.len, ruri.p, (int)via.len, via.p);
	if (!v || !tv || n < 0 || (size_t)n >= sizeof(buf))
		goto out_free_inv;
	len = (size_t)n;
	if (copy_header(inv, "Route", buf, sizeof(buf), &len) < 0 ||
	    copy_header(inv, "From", buf, sizeof(buf), &len) < 0)
		goto out_free_inv;
	n = snprintf(buf + len, sizeof(buf) - len,
	             "To: %.*s\r\nCall-ID: %.*s\r\nCSeq: %u ACK\r\nContent-Length: 0\r\n\r\n",
	             (int)to.len, to.p, (int)id.len, id.p, num);
	if (n < 0 || (size_t)n >= sizeof(buf) - len)
		goto out_free_inv;
	len += (size_t)n;
	ret = -ENOMEM;
	t->ack = malloc(len);
	if (!t->ack)
		goto out_free_inv;
	memcpy(t->ack, buf, len);
	t->ack_len = len;
	ret = 0;
out_free_inv:
	sip_msg_free(inv);
	return ret;
}

/* Ends the transaction after the linger time (Timer D, K or M), or now over TCP when
 * the time is the unreliable transports' only. */
static void linger(struct ue_txn *t, uint32_t ms)
{
	t->timer_k = ms ? loop_timer_add(t->ue->loop, ms, on_timer_k, t) : 0;
	if (!t->timer_k)
		txn_free(t);
}

static void invite_response(struct ue *ue, struct ue_txn *t, const struct sip_msg *rsp, int status)
{
	bool early = t->state == TXN_TRYING || t->state == TXN_PROCEEDING;

	if (status < 200) {
		if (!early)
			return;
		/* 17.1.1.2: Proceeding stops the retransmissions and Timer B. */
		stop_timers(t);
		t->state = TXN_PROCEEDING;
		t->cb(ue, t->id, t->cookie, rsp, status);
		return;
	}
	if (status < 300) {
		if (t->state == TXN_COMPLETED)
			return;
		t->cb(ue, t->id, t->cookie, rsp, status);
		if (!early)
			return; /* Accepted: the TU has seen it (retransmission or fork) */
		stop_timers(t);
		t->state = TXN_ACCEPTED;
		/* RFC 6026 7.1: Timer M = 64*T1 collects 2xx retransmissions and forks. */
		linger(t, 64 * UE_SIP_T1);
		return;
	}
	if (t->state == TXN_COMPLETED) {
		if (t->ack)
			ue_sip_send(ue, &t->dst, t->ack, t->ack_len);
		return;
	}
	if (t->state == TXN_ACCEPTED)
		return;
	stop_timers(t);
	t->state = TXN_COMPLETED;
	if (build_ack(t, rsp) == 0)
		ue_sip_send(ue, &t->dst, t->ack, t->ack_len);
	else
		log_warn("cannot build the ACK of a %d to INVITE", status);
	t->cb(ue, t->id, t->cookie, rsp, status);
	/* Timer D: 32 s over UDP for retransmitted finals, zero over TCP. */
	linger(t, ue->proto == SIP_PROTO_UDP ? 32000 : 0);
}

static void on_response(struct ue *ue, const struct sip_msg *rsp)
{
	int status = sip_msg_status(rsp);
	struct ue_txn *t = txn_match(ue, rsp);
	struct sip_span method;
	uint32_t num;

	ue->stats.responses[status / 100]++;
	if (!t) {
		sip_msg_cseq(rsp, &num, &method);
		/* RFC 3261 13.2.2.4: 2xx retransmissions reach the UA core. */
		if (status >= 200 && status < 300 && method.len == 6 &&
		    memcmp(method.p, "INVITE", 6) == 0) {
			ue_uac_stray_2xx(ue, rsp);
			return;
		}
		ue->stats.stray_responses++;
		log_debug("response %d matches no transaction: dropped", status);
		return;
	}
	if (t->invite) {
		invite_response(ue, t, rsp, status);
		return;
	}
	if (t->state == TXN_COMPLETED)
		return; /* a retransmitted final response: absorbed (17.1.2.2) */
	if (status < 200) {
		/* Proceeding: retransmissions continue at T2. */
		t->state = TXN_PROCEEDING;
		return;
	}
	t->state = TXN_COMPLETED;
	stop_timers(t);
	t->cb(ue, t->id, t->cookie, rsp, status);
	/* Timer K (T4 over UDP, zero over TCP) absorbs retransmitted final responses. */
	linger(t, ue->proto == SIP_PROTO_UDP ? UE_SIP_T4 : 0);
}

/* OPTIONS outside a dialog (RFC 3261 11.2): what we can do. */
static void on_options(struct ue *ue, struct ue_stxn *t)
{
	char tag[CODEC_HEX_SIZE(8)];

	if (ue_sip_token(tag, sizeof(tag), 8) == 0)
		ue_stxn_reply(t, 200, NULL, tag, UE_ALLOW_HEADERS);
}

/* Requests that need a dialog but came without one (RFC 3261 12.2.2). */
static void on_no_dialog(struct ue *ue, struct ue_stxn *t)
{
	ue_stxn_reply(t, 481, NULL, NULL, NULL);
}

static void on_pager(struct ue *ue, struct ue_stxn *t)
{
	ue_pager_on_message(ue, t, false);
}

/* What the UA core does with a request outside a dialog. */
static const struct {
	enum sip_method method;                           /* method */
	void (*handle)(struct ue *ue, struct ue_stxn *t); /* answers it */
} out_of_dialog[] = {
    {SIP_INVITE, ue_uas_on_invite}, {SIP_CANCEL, ue_uas_on_cancel}, {SIP_MESSAGE, on_pager},
    {SIP_OPTIONS, on_options},      {SIP_BYE, on_no_dialog},        {SIP_PRACK, on_no_dialog},
    {SIP_UPDATE, on_no_dialog},     {SIP_INFO, on_no_dialog},
};

static void dispatch(struct ue *ue, struct ue_stxn *t)
{
	char tag[SIP_TOKEN_MAX];

	/* RFC 3261 12.2.2: a To tag names a dialog (CANCEL carries the INVITE's To). */
	if (t->method != SIP_CANCEL && sip_msg_to_tag(t->req, tag, sizeof(tag)) == 0) {
		ue_mid_on_request(ue, t);
		return;
	}
	for (size_t i = 0; i < sizeof(out_of_dialog) / sizeof(out_of_dialog[0]); i++) {
		if (out_of_dialog[i].method == t->method) {
			out_of_dialog[i].handle(ue, t);
			return;
		}
	}
	/* RFC 3261 8.2.1: a method we know but do not serve gets 405 with Allow; one we do
	 * not know 501. */
	ue_stxn_reply(t, t->method == SIP_OTHER ? 501 : 405, NULL, NULL, UE_ALLOW_HEADERS);
}

/* Without room for a server transaction: 503 with Retry-After, statelessly. */
static void reply_stateless(struct ue *ue, const struct sip_msg *req, const struct sip_packet *p,
                            const struct sip_via *via, int status)
{
	char out[UE_SIP_MSG_MAX];
	struct sockaddr_in dst = p->src;
	ssize_t n = ue_msg_response(req, status, NULL, NULL, "Retry-After: 5\r\n", NULL, NULL, 0,
	                            out, sizeof(out));

	if (n < 0)
		return;
	if (!via->rport)
		dst.sin_port = htons(via->port ? via->port : 5060);
	sip_transport_send(ue->sip, p->proto, &dst, p->conn_id, out, (size_t)n);
}

static void on_request(struct ue *ue, struct sip_msg **m, const struct sip_packet *p)
{
	char ip[INET_ADDRSTRLEN];
	struct ue_stxn *t = NULL;
	struct sip_via via;
	int ret;

	ue->stats.requests_in++;
	if (sip_msg_top_via(*m, &via) < 0) {
		log_debug("request without a usable Via: dropped");
		return;
	}
	inet_ntop(AF_INET, &p->src.sin_addr, ip, sizeof(ip));
	/* RFC 3261 18.2.1, RFC 3581 4: received= and rport= in the response's Via. */
	ret = sip_msg_edit_via_received(*m, &via, ip, ntohs(p->src.sin_port));
	if (ret < 0)
		log_debug("cannot add received/rport to the Via: %s", strerror(-ret));
	ret = ue_stxn_receive(ue, m, p, &t);
	if (ret == 1) {
		ue->stats.retransmitted_in++;
		return;
	}
	if (ret < 0) {
		log_warn("no room for a server transaction: %s", strerror(-ret));
		if (sip_msg_method(*m) != SIP_ACK)
			reply_stateless(ue, *m, p, &via, 503);
		return;
	}
	if (!t) {
		ue_uas_on_ack(ue, *m);
		return;
	}
	dispatch(ue, t);
}

static void on_recv(void *arg, const struct sip_packet *p)
{
	struct ue *ue = arg;
	struct sip_msg *m;
	char why[128];
	int ret;

	log_message("received from", p->proto, &p->src, p->buf, p->len);
	if (p->malformed) {
		ue->stats.parse_errors++;
		log_debug("unframable message on a TCP connection: dropped");
		return;
	}
	ret = sip_msg_parse(p->buf, p->len, &m, why, sizeof(why));
	if (ret < 0) {
		ue->stats.parse_errors++;
		log_debug("unparsable message dropped: %s", why);
		return;
	}
	if (sip_msg_is_request(m))
		on_request(ue, &m, p);
	else
		on_response(ue, m);
	/* NULL when a server transaction took the request. */
	sip_msg_free(m);
}

int ue_sip_init(struct ue *ue)
{
	ue->sip =
	    sip_transport_new(ue->loop, ue->node->address, ue->node->sip_port, NULL, on_recv, ue);
	return ue->sip ? 0 : -EIO;
}

void ue_sip_fini(struct ue *ue)
{
	while (ue->txns)
		txn_free(ue->txns);
	ue_stxn_fini(ue);
	sip_transport_free(ue->sip);
	ue->sip = NULL;
}
