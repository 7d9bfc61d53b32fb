/* The UE's SIP layer: its transport (UDP and TCP on the node address), non-INVITE client
 * transactions (RFC 3261 17.1.2: Timer E retransmissions over UDP, Timer F, Timer K,
 * responses matched by branch and CSeq method as in 17.1.3) and the UAS answers to
 * requests sent to the UE (OPTIONS 200, anything else 501 for now; RFC 3261 8.2). */
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

/* RFC 3261 17.1.2.2 states of a non-INVITE client transaction (Terminated = freed). */
enum txn_state { TXN_TRYING, TXN_PROCEEDING, TXN_COMPLETED };

/* One non-INVITE client transaction. */
struct ue_txn {
	struct ue *ue;                  /* the UE that owns the list holding this */
	uint64_t id;                    /* handed to the transaction user */
	char branch[UE_SIP_BRANCH_MAX]; /* top Via branch of the request */
	char method[32];                /* CSeq method of the request */
	char *msg;                      /* owned; the request, for retransmissions */
	size_t len;                     /* bytes in msg */
	enum txn_state state;           /* RFC 3261 17.1.2.2 state */
	uint32_t interval;              /* current Timer E interval (ms) */
	uint64_t timer_e;               /* retransmission timer (UDP only), 0 if none */
	uint64_t timer_f;               /* transaction timeout, 0 if none */
	uint64_t timer_k;               /* wait for response retransmissions, 0 if none */
	ue_sip_cb cb;                   /* reports the outcome once */
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

/* Sends one request to the P-CSCF (first transmission or retransmission). */
static int send_to_pcscf(struct ue *ue, const char *buf, size_t len)
{
	int ret;

	log_message("send to", ue->proto, &ue->pcscf_addr, buf, len);
	ret = sip_transport_send(ue->sip, ue->proto, &ue->pcscf_addr, 0, buf, len);
	if (ret < 0)
		log_warn("cannot send to the P-CSCF over %s: %s",
		         sip_transport_proto_name(ue->proto), strerror(-ret));
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
	free(t);
}

static void on_timer_e(struct loop *lp, void *arg);

/* RFC 3261 17.1.2.2: retransmit at the current interval; it doubles up to T2 while
 * Trying and stays at T2 once Proceeding. */
static void on_timer_e(struct loop *lp, void *arg)
{
	struct ue_txn *t = arg;

	t->timer_e = 0;
	if (t->state == TXN_COMPLETED)
		return;
	t->ue->stats.retransmissions++;
	log_debug("retransmitting %s (branch %s) after %u ms", t->method, t->branch, t->interval);
	/* A failed retransmission is no verdict: Timer F decides. */
	send_to_pcscf(t->ue, t->msg, t->len);
	t->interval = t->state == TXN_PROCEEDING
	                  ? UE_SIP_T2
	                  : (t->interval * 2 < UE_SIP_T2 ? t->interval * 2 : UE_SIP_T2);
	t->timer_e = loop_timer_add(lp, t->interval, on_timer_e, t);
}

/* RFC 3261 17.1.2.2: no final response within 64*T1 -> the TU is told of a timeout. */
static void on_timer_f(struct loop *lp, void *arg)
{
	struct ue_txn *t = arg;
	struct ue *ue = t->ue;

	t->timer_f = 0;
	ue->stats.timeouts++;
	log_warn("%s (branch %s): no final response within %u ms (Timer F)", t->method, t->branch,
	         64 * UE_SIP_T1);
	/* Freed after the callback, which may start the next transaction. */
	t->cb(ue, t->id, NULL, 408);
	txn_free(t);
}

static void on_timer_k(struct loop *lp, void *arg)
{
	struct ue_txn *t = arg;

	t->timer_k = 0;
	txn_free(t);
}

int ue_sip_request(struct ue *ue, const char *branch, const char *method, const char *msg,
                   size_t len, ue_sip_cb cb, uint64_t *id)
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
	snprintf(t->branch, sizeof(t->branch), "%s", branch);
	snprintf(t->method, sizeof(t->method), "%s", method);
	t->cb = cb;
	t->state = TXN_TRYING;
	t->interval = UE_SIP_T1;
	ret = send_to_pcscf(ue, msg, len);
	if (ret < 0)
		goto out_free_msg;
	/* RFC 3261 17.1.2.2: Timer E only over unreliable transports. */
	if (ue->proto == SIP_PROTO_UDP)
		t->timer_e = loop_timer_add(ue->loop, t->interval, on_timer_e, t);
	t->timer_f = loop_timer_add(ue->loop, 64 * UE_SIP_T1, on_timer_f, t);
	if ((ue->proto == SIP_PROTO_UDP && !t->timer_e) || !t->timer_f) {
		loop_timer_cancel(ue->loop, t->timer_e);
		loop_timer_cancel(ue->loop, t->timer_f);
		ret = -ENOMEM;
		goto out_free_msg;
	}
	t->next = ue->txns;
	ue->txns = t;
	ue->n_txns++;
	*id = t->id;
	return 0;
out_free_msg:
	free(t->msg);
out_free_txn:
	free(t);
	return ret;
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

static void on_response(struct ue *ue, const struct sip_msg *rsp)
{
	int status = sip_msg_status(rsp);
	struct ue_txn *t = txn_match(ue, rsp);

	ue->stats.responses[status / 100]++;
	if (!t) {
		ue->stats.stray_responses++;
		log_debug("response %d matches no transaction: dropped", status);
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
	loop_timer_cancel(ue->loop, t->timer_e);
	loop_timer_cancel(ue->loop, t->timer_f);
	t->timer_e = t->timer_f = 0;
	t->cb(ue, t->id, rsp, status);
	/* Timer K (T4 over UDP, zero over TCP) absorbs retransmitted final responses. */
	if (ue->proto == SIP_PROTO_UDP)
		t->timer_k = loop_timer_add(ue->loop, UE_SIP_T4, on_timer_k, t);
	if (!t->timer_k)
		txn_free(t);
}

/* RFC 3261 18.2.2 and RFC 3581 4: where a UDP response goes. With rport the response
 * goes to the source address and port; else to received (or the source) and the Via
 * port (5060 by default). */
static void reply_addr(const struct sip_via *via, const struct sip_packet *p,
                       struct sockaddr_in *dst)
{
	*dst = p->src;
	if (via->rport)
		return;
	dst->sin_port = htons(via->port ? via->port : 5060);
}

/* Answers a request: OPTIONS with 200 (RFC 3261 11.2), anything else with 501 until
 * the UE learns calls. ACK is never answered (RFC 3261 17.2.1). */
static void on_request(struct ue *ue, struct sip_msg *req, const struct sip_packet *p)
{
	static const char options_headers[] = "Allow: OPTIONS\r\n";
	char out[UE_SIP_MSG_MAX], tag[CODEC_HEX_SIZE(8)], ip[INET_ADDRSTRLEN];
	enum sip_method m = sip_msg_method(req);
	struct sockaddr_in dst;
	struct sip_via via;
	int status = m == SIP_OPTIONS ? 200 : 501;
	ssize_t n;
	int ret;

	ue->stats.requests_in++;
	if (m == SIP_ACK)
		return;
	if (sip_msg_top_via(req, &via) < 0) {
		log_debug("request without a usable Via: dropped");
		return;
	}
	inet_ntop(AF_INET, &p->src.sin_addr, ip, sizeof(ip));
	/* RFC 3261 18.2.1, RFC 3581 4: received= and rport= in the response's Via. */
	ret = sip_msg_edit_via_received(req, &via, ip, ntohs(p->src.sin_port));
	if (ret < 0)
		log_debug("cannot add received/rport to the Via: %s", strerror(-ret));
	if (ue_sip_token(tag, sizeof(tag), 8) < 0)
		return;
	n = sip_msg_build_response(req, status, NULL, tag,
	                           m == SIP_OPTIONS ? options_headers : NULL, out, sizeof(out));
	if (n < 0) {
		log_warn("cannot build a %d response: %s", status, strerror((int)-n));
		return;
	}
	reply_addr(&via, p, &dst);
	log_message("send to", p->proto, &dst, out, (size_t)n);
	ret = sip_transport_send(ue->sip, p->proto, &dst, p->conn_id, out, (size_t)n);
	if (ret < 0)
		log_warn("cannot send the %d response: %s", status, strerror(-ret));
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
		on_request(ue, m, p);
	else
		on_response(ue, m);
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
	sip_transport_free(ue->sip);
	ue->sip = NULL;
}
