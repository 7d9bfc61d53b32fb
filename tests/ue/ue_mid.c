/* Requests inside a dialog, on both sides (RFC 3261 12.2): built along the route set
 * (12.2.1.1) with the next local CSeq, matched by tags with the remote CSeq checked
 * (12.2.2); BYE (15), re-INVITE for hold and resume (14, RFC 3264 8.4) with glare
 * handled by 491 and the retry timer of 14.1, UPDATE (RFC 3311), INFO (RFC 2976),
 * MESSAGE and OPTIONS in a dialog, the ACK of a 2xx (13.2.2.4), and 481/408 answers
 * ending the dialog (12.2.1.2). */
#include "ue.h"

#include "log.h"
#include "loop.h"
#include "topo.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ssize_t ue_mid_build(struct ue *ue, const struct ue_dialog *d, const struct ue_mid_req *q,
                     char *out, size_t outlen, char branch[UE_SIP_BRANCH_MAX],
                     struct sockaddr_in *dst)
{
	struct ue_req *r = calloc(1, sizeof(*r));
	char uri[UE_URI_MAX];
	ssize_t n;
	int ret;

	if (!r)
		return -ENOMEM;
	ue_dialog_fill(d, q->method, q->cseq, r);
	ret = ue_sip_branch(branch);
	if (ret < 0) {
		n = ret;
		goto out_free;
	}
	r->proto = ue->proto;
	r->via_host = ue->node->address;
	r->via_port = ue->node->sip_port;
	r->branch = branch;
	/* 12.2.1.1: target refresh requests carry our Contact. */
	if (strcmp(q->method, "INVITE") == 0 || strcmp(q->method, "UPDATE") == 0)
		r->contact = ue->reg.contact;
	r->headers = q->headers;
	r->content_type = q->content_type;
	r->body = q->body;
	r->body_len = q->body_len;
	n = ue_msg_request(r, out, outlen);
	if (n < 0)
		goto out_free;
	ue_dialog_next_hop(r, uri, sizeof(uri));
	if (ue_sip_resolve(ue, uri, dst) < 0)
		*dst = ue->outbound;
out_free:
	free(r);
	return n;
}

static bool is_sdp(const char *content_type)
{
	return content_type && strcmp(content_type, "application/sdp") == 0;
}

int ue_mid_request(struct ue_call *c, const char *method, const char *headers,
                   const char *content_type, const char *body, size_t body_len, ue_sip_cb cb,
                   uint64_t *txn)
{
	struct ue_mid_req q = {method, ++c->dlg.local_cseq, headers, content_type, body, body_len};
	char msg[UE_SIP_MSG_MAX], branch[UE_SIP_BRANCH_MAX];
	struct sockaddr_in dst;
	ssize_t n = ue_mid_build(c->ue, &c->dlg, &q, msg, sizeof(msg), branch, &dst);
	int ret;

	if (n < 0)
		return (int)n;
	ret = ue_sip_request(c->ue, &dst, branch, method, msg, (size_t)n, cb, c->id, txn);
	if (ret == 0)
		ue_call_logf(c, true, "%s %u%s", method, q.cseq,
		             is_sdp(content_type) ? " +sdp" : "");
	return ret;
}

int ue_mid_ack(struct ue_call *c, uint32_t cseq, const char *body, size_t body_len)
{
	struct ue_mid_req q = {"ACK", cseq,    NULL, body_len ? "application/sdp" : NULL,
	                       body,  body_len};
	char msg[UE_SIP_MSG_MAX], branch[UE_SIP_BRANCH_MAX];
	struct sockaddr_in dst;
	ssize_t n = ue_mid_build(c->ue, &c->dlg, &q, msg, sizeof(msg), branch, &dst);
	char *copy;

	if (n < 0)
		return (int)n;
	ue_sip_send(c->ue, &dst, msg, (size_t)n);
	ue_call_logf(c, true, "ACK %u%s", cseq, body_len ? " +sdp" : "");
	/* 13.2.2.4: kept to answer retransmissions of the 2xx. */
	copy = malloc((size_t)n);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, msg, (size_t)n);
	free(c->ack_msg);
	c->ack_msg = copy;
	c->ack_len = (size_t)n;
	c->ack_cseq = cseq;
	c->ack_dst = dst;
	return 0;
}

void ue_mid_reack(struct ue_call *c, const struct sip_msg *rsp)
{
	struct ue_mid_req q = {"ACK", 0, NULL, NULL, NULL, 0};
	char msg[UE_SIP_MSG_MAX], branch[UE_SIP_BRANCH_MAX];
	struct sockaddr_in dst;
	struct sip_span method;
	ssize_t n;

	sip_msg_cseq(rsp, &q.cseq, &method);
	if (c->ack_msg && c->ack_cseq == q.cseq) {
		ue_sip_send(c->ue, &c->ack_dst, c->ack_msg, c->ack_len);
		return;
	}
	/* The 2xx of an older INVITE: its ACK is gone, a bodiless one does (13.2.2.4). */
	n = ue_mid_build(c->ue, &c->dlg, &q, msg, sizeof(msg), branch, &dst);
	if (n > 0)
		ue_sip_send(c->ue, &dst, msg, (size_t)n);
}

/* Records the outcome of our last mid-dialog request for GET /calls. */
static void op_done(struct ue_call *c, int status)
{
	c->op = UE_CALL_OP_NONE;
	c->op_txn = 0;
	c->op_status = status;
}

static void op_start(struct ue_call *c, enum ue_call_op op, const char *method)
{
	c->op = op;
	c->op_status = 0;
	snprintf(c->op_method, sizeof(c->op_method), "%s", method);
}

/* What our offer says: hold is sendonly, or inactive when the peer already holds us
 * (RFC 3264 8.4); otherwise sendrecv. */
static enum ue_dir offer_dir(const struct ue_call *c, bool hold)
{
	if (!hold)
		return UE_DIR_SENDRECV;
	return ue_call_remote_hold(c) ? UE_DIR_INACTIVE : UE_DIR_SENDONLY;
}

/* ---- BYE ---- */

static void on_bye_result(struct ue *ue, uint64_t txn, uint64_t cookie, const struct sip_msg *rsp,
                          int status)
{
	struct ue_call *c = ue_call_by_id(ue, cookie);

	if (!c)
		return;
	if (rsp)
		ue_call_log(c, false, rsp, NULL);
	op_done(c, status);
	/* RFC 3261 15.1.1: any final response, or none, ends the session. */
	ue_call_end(c, 0, NULL,
	            c->bye_why         ? c->bye_why
	            : c->cancel_wanted ? "cancel"
	                               : "bye",
	            true);
}

int ue_mid_bye(struct ue_call *c)
{
	int ret;

	if (c->state == UE_CALL_TERMINATED || c->op == UE_CALL_OP_BYE || c->bye_after_ack)
		return -EALREADY;
	if (c->state != UE_CALL_CONFIRMED)
		return -EINVAL;
	c->ended_local = true;
	/* RFC 3261 15: the callee waits for the ACK of its 2xx before a BYE. */
	if (!c->outgoing && c->ok_msg && c->ok_initial) {
		c->bye_after_ack = true;
		return 0;
	}
	loop_timer_cancel(c->ue->loop, c->t_retry);
	c->t_retry = 0;
	ret = ue_mid_request(c, "BYE", NULL, NULL, NULL, 0, on_bye_result, &c->op_txn);
	if (ret < 0) {
		ue_call_end(c, 0, NULL, "bye not sent", true);
		return ret;
	}
	op_start(c, UE_CALL_OP_BYE, "BYE");
	c->ue->cstats.byes_sent++;
	return 0;
}

/* ---- re-INVITE and UPDATE we send ---- */

static int send_reinvite(struct ue_call *c, bool hold);
static int send_update(struct ue_call *c);

static void on_retry(struct loop *lp, void *arg)
{
	struct ue_call *c = arg;

	c->t_retry = 0;
	if (c->state == UE_CALL_TERMINATED || c->op != UE_CALL_OP_NONE || c->oa != UE_OA_IDLE)
		return;
	if (c->retry_op == UE_CALL_OP_REINVITE)
		send_reinvite(c, c->hold_wanted);
	else
		send_update(c);
}

/* RFC 3261 14.1: after a 491, the owner of the Call-ID (the caller) waits 2.1-4 s, the
 * other side 0-2 s, in units of 10 ms. */
static void schedule_retry(struct ue_call *c, enum ue_call_op op)
{
	uint16_t r = 0;
	uint32_t ms;

	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = (uint16_t)loop_clock_us();
	ms = c->outgoing ? 2100 + (r % 191) * 10 : (r % 201) * 10;
	c->retry_op = op;
	c->t_retry = loop_timer_add(c->ue->loop, ms, on_retry, c);
	log_info("call %" PRIu64 ": 491 Request Pending, retrying in %u ms", c->id, ms);
}

/* The end of a failed re-INVITE or UPDATE: 491 retries; 481 and 408 end the dialog
 * (12.2.1.2); anything else leaves the session as it was. */
static void offer_refused(struct ue_call *c, enum ue_call_op op, int status)
{
	ue_call_offer_failed(c);
	if (c->state == UE_CALL_TERMINATED)
		return;
	if (status == 491) {
		schedule_retry(c, op);
	} else if (status == 481) {
		ue_call_end(c, 481, NULL, "dialog gone", false);
	} else if (status == 408) {
		c->bye_why = "timeout";
		if (ue_mid_bye(c) < 0)
			ue_call_end(c, 408, NULL, "timeout", false);
	}
}

static void on_reinvite_result(struct ue *ue, uint64_t txn, uint64_t cookie,
                               const struct sip_msg *rsp, int status)
{
	struct ue_call *c = ue_call_by_id(ue, cookie);
	struct sip_span method;
	uint32_t cseq = 0;
	int in;

	if (!c)
		return;
	if (rsp)
		sip_msg_cseq(rsp, &cseq, &method);
	if (txn != c->op_txn || c->op != UE_CALL_OP_REINVITE) {
		/* A 2xx retransmission after we took the first: ACK again (13.2.2.4). */
		if (rsp && status < 300 && status >= 200)
			ue_mid_reack(c, rsp);
		return;
	}
	if (rsp)
		ue_call_log(c, false, rsp, NULL);
	if (status < 200)
		return;
	op_done(c, status);
	if (status >= 300 || !rsp) {
		offer_refused(c, UE_CALL_OP_REINVITE, status);
		return;
	}
	ue_dialog_refresh(&c->dlg, rsp);
	in = ue_call_sdp_in(c, rsp, true);
	ue_mid_ack(c, cseq, NULL, 0);
	if (in == UE_SDP_IN_ANSWER) {
		c->local_hold = c->hold_wanted;
		return;
	}
	log_warn("call %" PRIu64 ": 2xx to our re-INVITE without a usable answer: BYE", c->id);
	ue_call_offer_failed(c);
	c->bye_why = "bad answer";
	ue_mid_bye(c);
}

static int send_reinvite(struct ue_call *c, bool hold)
{
	struct ue *ue = c->ue;
	char body[UE_SDP_MAX], msg[UE_SIP_MSG_MAX], branch[UE_SIP_BRANCH_MAX];
	struct ue_mid_req q = {"INVITE",          0,    UE_ALLOW_HEADERS "Supported: 100rel\r\n",
	                       "application/sdp", body, 0};
	struct sockaddr_in dst;
	ssize_t blen = ue_call_offer(c, offer_dir(c, hold), body, sizeof(body)), n;
	int ret;

	if (blen < 0)
		return (int)blen;
	q.cseq = ++c->dlg.local_cseq;
	q.body_len = (size_t)blen;
	n = ue_mid_build(ue, &c->dlg, &q, msg, sizeof(msg), branch, &dst);
	ret = n < 0 ? (int)n
	            : ue_sip_invite(ue, &dst, branch, msg, (size_t)n, on_reinvite_result, c->id,
	                            &c->op_txn);
	if (ret < 0) {
		ue_call_offer_failed(c);
		return ret;
	}
	op_start(c, UE_CALL_OP_REINVITE, "INVITE");
	c->hold_wanted = hold;
	ue->cstats.reinvites++;
	ue_call_logf(c, true, "INVITE %u +sdp (%s)", q.cseq, hold ? "hold" : "resume");
	return 0;
}

int ue_mid_hold(struct ue_call *c, bool hold)
{
	if (c->state != UE_CALL_CONFIRMED)
		return -EINVAL;
	if (c->op != UE_CALL_OP_NONE || c->oa != UE_OA_IDLE || c->ok_msg || c->t_retry)
		return -EBUSY;
	return send_reinvite(c, hold);
}

static void on_update_result(struct ue *ue, uint64_t txn, uint64_t cookie,
                             const struct sip_msg *rsp, int status)
{
	struct ue_call *c = ue_call_by_id(ue, cookie);

	if (!c || txn != c->op_txn || c->op != UE_CALL_OP_UPDATE)
		return;
	if (rsp)
		ue_call_log(c, false, rsp, NULL);
	op_done(c, status);
	if (status >= 300 || !rsp) {
		offer_refused(c, UE_CALL_OP_UPDATE, status);
		return;
	}
	ue_dialog_refresh(&c->dlg, rsp);
	if (ue_call_sdp_in(c, rsp, true) != UE_SDP_IN_ANSWER) {
		log_warn("call %" PRIu64 ": 2xx to our UPDATE without a usable answer", c->id);
		ue_call_offer_failed(c);
	}
}

static int send_update(struct ue_call *c)
{
	char body[UE_SDP_MAX];
	ssize_t blen = ue_call_offer(c, offer_dir(c, c->local_hold), body, sizeof(body));
	int ret;

	if (blen < 0)
		return (int)blen;
	ret = ue_mid_request(c, "UPDATE", UE_ALLOW_HEADERS, "application/sdp", body, (size_t)blen,
	                     on_update_result, &c->op_txn);
	if (ret < 0) {
		ue_call_offer_failed(c);
		return ret;
	}
	op_start(c, UE_CALL_OP_UPDATE, "UPDATE");
	c->ue->cstats.updates++;
	return 0;
}

int ue_mid_update(struct ue_call *c)
{
	/* RFC 3311 5.1: in an early or confirmed dialog, once the first exchange is done. */
	if (c->state == UE_CALL_TERMINATED || !c->dlg.remote_tag[0] || !c->has_local ||
	    !c->has_remote)
		return -EINVAL;
	if (c->op != UE_CALL_OP_NONE || c->oa != UE_OA_IDLE || c->t_retry)
		return -EBUSY;
	return send_update(c);
}

static void on_info_result(struct ue *ue, uint64_t txn, uint64_t cookie, const struct sip_msg *rsp,
                           int status)
{
	struct ue_call *c = ue_call_by_id(ue, cookie);

	if (!c)
		return;
	if (rsp)
		ue_call_log(c, false, rsp, NULL);
	else
		ue_call_logf(c, false, "INFO timed out");
	if (status == 481 || status == 408)
		offer_refused(c, UE_CALL_OP_NONE, status);
}

int ue_mid_info(struct ue_call *c, const char *content_type, const char *body)
{
	if (c->state == UE_CALL_TERMINATED || !c->dlg.remote_tag[0])
		return -EINVAL;
	if (!content_type) {
		/* The customary DTMF relay body. */
		content_type = "application/dtmf-relay";
		body = "Signal=5\r\nDuration=160\r\n";
	}
	return ue_mid_request(c, "INFO", NULL, content_type, body, body ? strlen(body) : 0,
	                      on_info_result, NULL);
}

/* ---- requests we receive ---- */

/* 500 with Retry-After (RFC 3261 14.2, RFC 3311 5.2): an exchange is not finished. */
static void reply_busy(struct ue_stxn *t)
{
	ue_stxn_reply(t, 500, "Request Pending", NULL, "Retry-After: 1\r\n");
}

/* Takes in the SDP of a re-INVITE or UPDATE (named by what in the log): an offer
 * crossing ours gets 491 (RFC 3261 14.2, RFC 3311 5.2), SDP we cannot use 488. The
 * ue_call_sdp_in outcome, or -1 when t has been answered here. */
static int offer_in(struct ue_call *c, struct ue_stxn *t, bool crossing, const char *what)
{
	int in;

	if (crossing) {
		ue_stxn_reply(t, 491, NULL, NULL, NULL);
		return -1;
	}
	ue_dialog_refresh(&c->dlg, t->req);
	in = ue_call_sdp_in(c, t->req, true);
	if (in < 0) {
		ue_stxn_reply(t, 488, NULL, NULL, NULL);
		ue_call_logf(c, true, "488 %s", what);
		return -1;
	}
	return in;
}

static void on_bye(struct ue_call *c, struct ue_stxn *t)
{
	struct ue_stxn *inv = ue_stxn_by_id(c->ue, c->invite_stxn);

	ue_stxn_reply(t, 200, NULL, NULL, NULL);
	ue_call_logf(c, true, "200 BYE");
	c->ue->cstats.byes_received++;
	/* 15.1.2: a BYE in an early dialog ends the INVITE with 487. */
	if (!c->outgoing && inv && inv->status < 200) {
		ue_stxn_reply(inv, 487, NULL, c->dlg.local_tag, NULL);
		ue_call_logf(c, true, "487 INVITE %u", c->invite_cseq);
	}
	ue_call_end(c, 0, NULL, "bye", false);
}

static void on_reinvite(struct ue_call *c, struct ue_stxn *t)
{
	char body[UE_SDP_MAX];
	ssize_t blen = 0;
	int in;

	if (c->state != UE_CALL_CONFIRMED || c->ok_msg || c->oa == UE_OA_RECEIVED) {
		reply_busy(t);
		return;
	}
	/* 14.2: our own offer is out (re-INVITE or UPDATE): glare. */
	in = offer_in(
	    c, t, c->op == UE_CALL_OP_REINVITE || c->op == UE_CALL_OP_UPDATE || c->oa == UE_OA_SENT,
	    "INVITE");
	if (in < 0)
		return;
	/* An INVITE without offer gets our offer in the 2xx, answered in the ACK. */
	if (in == UE_SDP_IN_OFFER)
		blen = ue_call_answer(c, body, sizeof(body));
	else
		blen = ue_call_offer(c, offer_dir(c, c->local_hold), body, sizeof(body));
	if (blen < 0 || ue_uas_send_2xx(c, t, body, (size_t)blen) < 0) {
		ue_call_offer_failed(c);
		ue_stxn_reply(t, 500, NULL, NULL, NULL);
	}
}

static void on_update(struct ue_call *c, struct ue_stxn *t)
{
	char body[UE_SDP_MAX], headers[UE_URI_MAX + 32], msg[UE_SIP_MSG_MAX];
	ssize_t blen = 0, n;
	int in;

	if (c->oa == UE_OA_RECEIVED) {
		reply_busy(t);
		return;
	}
	/* RFC 3311 5.2: an offer crossing ours gets 491. */
	in = offer_in(c, t, c->oa == UE_OA_SENT, "UPDATE");
	if (in < 0)
		return;
	if (in == UE_SDP_IN_OFFER)
		blen = ue_call_answer(c, body, sizeof(body));
	snprintf(headers, sizeof(headers), "Contact: <%s>\r\n", c->ue->reg.contact);
	n = blen < 0
	        ? blen
	        : ue_msg_response(t->req, 200, NULL, NULL, headers, blen ? "application/sdp" : NULL,
	                          body, (size_t)blen, msg, sizeof(msg));
	if (n < 0) {
		ue_stxn_reply(t, 500, NULL, NULL, NULL);
		return;
	}
	ue_stxn_send(t, 200, msg, (size_t)n);
	ue_call_logf(c, true, "200 UPDATE%s", blen ? " +sdp" : "");
}

static void on_other(struct ue_call *c, struct ue_stxn *t)
{
	switch (t->method) {
	case SIP_INFO:
		ue_stxn_reply(t, 200, NULL, NULL, NULL);
		ue_call_logf(c, true, "200 INFO");
		break;
	case SIP_OPTIONS:
		ue_stxn_reply(t, 200, NULL, NULL, UE_ALLOW_HEADERS);
		break;
	case SIP_MESSAGE:
		ue_pager_on_message(c->ue, t, true);
		break;
	default:
		ue_stxn_reply(t, t->method == SIP_OTHER ? 501 : 405, NULL, NULL, UE_ALLOW_HEADERS);
		break;
	}
}

/* What a dialog does with each request method. */
static const struct {
	enum sip_method method;                               /* method */
	void (*handle)(struct ue_call *c, struct ue_stxn *t); /* answers it */
} in_dialog[] = {
    {SIP_BYE, on_bye},
    {SIP_INVITE, on_reinvite},
    {SIP_UPDATE, on_update},
    {SIP_PRACK, ue_uas_on_prack},
};

void ue_mid_on_request(struct ue *ue, struct ue_stxn *t)
{
	struct ue_call *c = ue_call_by_request(ue, t->req);
	struct sip_span method;
	uint32_t num;

	if (!c || c->state == UE_CALL_TERMINATED) {
		/* 12.2.2: no such dialog. */
		ue_stxn_reply(t, 481, NULL, NULL, NULL);
		return;
	}
	sip_msg_cseq(t->req, &num, &method);
	/* 12.2.2: a CSeq below the last one is out of order. */
	if (c->dlg.has_remote_cseq && num < c->dlg.remote_cseq) {
		ue_stxn_reply(t, 500, "CSeq Out of Order", NULL, NULL);
		return;
	}
	c->dlg.remote_cseq = num;
	c->dlg.has_remote_cseq = true;
	ue_call_log(c, false, t->req, NULL);
	for (size_t i = 0; i < sizeof(in_dialog) / sizeof(in_dialog[0]); i++) {
		if (in_dialog[i].method == t->method) {
			in_dialog[i].handle(c, t);
			return;
		}
	}
	on_other(c, t);
}
