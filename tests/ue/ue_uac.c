/* Outgoing calls (RFC 3261 13.2 UAC processing of INVITE): the initial INVITE with the
 * preloaded Route set of TS 24.229 5.1.2A.1, provisional responses (early dialogs of
 * 12.1.2, PRACK of reliable ones per RFC 3262 4, early media), the 2xx (dialog
 * confirmed, route set recomputed, ACK by the UA core with the answer when the INVITE
 * had no offer, 13.2.2.4), failures, CANCEL (9.1: only after a provisional), 2xx after
 * a CANCEL or from a second fork (ACK then BYE), and retransmitted 2xx (re-ACK). */
#include "ue.h"

#include "log.h"
#include "loop.h"
#include "topo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ue_uac_routes(struct ue *ue, struct ue_req *r, char *buf, size_t buflen)
{
	/* TS 24.229 5.1.2A.1: the P-CSCF first, then the Service-Route of the 200 OK. */
	snprintf(buf, buflen, "<sip:%s:%u;lr>", ue->pcscf->fqdn, (unsigned)ue->pcscf->sip_port);
	r->n_routes = 0;
	r->routes[r->n_routes++] = buf;
	for (size_t i = 0; i < ue->reg.n_service_route && r->n_routes < UE_ROUTES_MAX; i++)
		r->routes[r->n_routes++] = ue->reg.service_route[i];
}

static void ignore_result(struct ue *ue, uint64_t txn, uint64_t cookie, const struct sip_msg *rsp,
                          int status)
{
}

static void on_cancel_result(struct ue *ue, uint64_t txn, uint64_t cookie,
                             const struct sip_msg *rsp, int status)
{
	struct ue_call *c = ue_call_by_id(ue, cookie);

	if (c && rsp)
		ue_call_log(c, false, rsp, NULL);
	else if (c)
		ue_call_logf(c, false, "CANCEL timed out");
}

static void send_cancel(struct ue_call *c)
{
	struct ue *ue = c->ue;
	int ret;

	c->cancel_sent = true;
	ret = ue_sip_request(ue, NULL, c->invite_branch, "CANCEL", c->cancel_msg, c->cancel_len,
	                     on_cancel_result, c->id, NULL);
	if (ret < 0) {
		log_warn("call %" PRIu64 ": cannot send CANCEL: %s", c->id, strerror(-ret));
		return;
	}
	ue_call_logf(c, true, "CANCEL %u", c->invite_cseq);
}

int ue_uac_cancel(struct ue_call *c)
{
	if (!c->outgoing || c->state == UE_CALL_CONFIRMED || c->state == UE_CALL_TERMINATED)
		return -EINVAL;
	if (c->cancel_wanted)
		return -EALREADY;
	c->cancel_wanted = true;
	c->ended_local = true;
	/* RFC 3261 9.1: no CANCEL before a provisional response came. */
	if (c->got_provisional)
		send_cancel(c);
	return 0;
}

/* ACK and BYE for a 2xx of a dialog we do not keep (another fork, RFC 3261 13.2.2.4). */
static void drop_dialog(struct ue_call *c, const struct sip_msg *rsp)
{
	struct ue *ue = c->ue;
	struct ue_dialog *d = malloc(sizeof(*d));
	struct ue_mid_req q = {"ACK", c->invite_cseq, NULL, NULL, NULL, 0};
	char msg[UE_SIP_MSG_MAX], branch[UE_SIP_BRANCH_MAX];
	struct sockaddr_in dst;
	ssize_t n;

	if (!d)
		return;
	*d = c->dlg;
	if (ue_dialog_uac(d, rsp) < 0)
		goto out_free;
	n = ue_mid_build(ue, d, &q, msg, sizeof(msg), branch, &dst);
	if (n > 0)
		ue_sip_send(ue, &dst, msg, (size_t)n);
	q = (struct ue_mid_req){"BYE", c->invite_cseq + 1, NULL, NULL, NULL, 0};
	n = ue_mid_build(ue, d, &q, msg, sizeof(msg), branch, &dst);
	if (n > 0)
		ue_sip_request(ue, &dst, branch, "BYE", msg, (size_t)n, ignore_result, 0, NULL);
	ue_call_logf(c, true, "ACK+BYE to fork %.24s", d->remote_tag);
out_free:
	free(d);
}

static bool same_tag(const struct ue_call *c, const struct sip_msg *rsp)
{
	char tag[SIP_TOKEN_MAX];

	return sip_msg_to_tag(rsp, tag, sizeof(tag)) == 0 && strcmp(tag, c->dlg.remote_tag) == 0;
}

static void on_prack_result(struct ue *ue, uint64_t txn, uint64_t cookie, const struct sip_msg *rsp,
                            int status)
{
	struct ue_call *c = ue_call_by_id(ue, cookie);

	if (!c)
		return;
	if (rsp)
		ue_call_log(c, false, rsp, NULL);
	if (status >= 300)
		log_warn("call %" PRIu64 ": PRACK answered %d", c->id, status);
}

/* RFC 3262 4: PRACK of a reliable provisional, with our answer when it carried an
 * offer (no offer in the INVITE). */
static void prack(struct ue_call *c, const struct sip_msg *rsp, uint32_t rseq)
{
	char headers[64], body[UE_SDP_MAX];
	ssize_t blen = 0;
	int in = ue_call_sdp_in(c, rsp, true);

	if (in == UE_SDP_IN_OFFER)
		blen = ue_call_answer(c, body, sizeof(body));
	if (in == UE_SDP_IN_ANSWER || (in == UE_SDP_IN_OFFER && blen > 0))
		c->invite_oa_done = true;
	if (blen < 0)
		blen = 0;
	snprintf(headers, sizeof(headers), "RAck: %u %u INVITE\r\n", rseq, c->invite_cseq);
	if (ue_mid_request(c, "PRACK", headers, blen ? "application/sdp" : NULL, body, (size_t)blen,
	                   on_prack_result, NULL) == 0)
		c->ue->cstats.pracks++;
	c->rseq_in = rseq;
	c->has_rseq_in = true;
	if (in < 0) {
		/* The offer of the provisional is not acceptable and PRACK cannot refuse it:
		 * give the call up. */
		log_warn("call %" PRIu64 ": offer in the reliable provisional refused (%s)", c->id,
		         strerror(-in));
		ue_uac_cancel(c);
	}
}

static void provisional(struct ue_call *c, const struct sip_msg *rsp, int status)
{
	bool reliable = ue_msg_has_option(rsp, "Require", "100rel");
	char tag[SIP_TOKEN_MAX];
	uint32_t rseq;
	int in;

	if (status == 100)
		return;
	c->got_provisional = true;
	if (c->cancel_wanted && !c->cancel_sent)
		send_cancel(c);
	if (c->state == UE_CALL_TERMINATED || sip_msg_to_tag(rsp, tag, sizeof(tag)) < 0) {
		ue_call_set_state(c, UE_CALL_RINGING);
		return;
	}
	if (!c->dlg.remote_tag[0]) {
		/* 12.1.2: the first provisional with a tag creates the early dialog. */
		if (ue_dialog_uac(&c->dlg, rsp) < 0) {
			log_warn("call %" PRIu64 ": unusable provisional %d ignored", c->id,
			         status);
			return;
		}
	} else if (!same_tag(c, rsp)) {
		log_info("call %" PRIu64 ": %d from another fork ignored", c->id, status);
		return;
	} else {
		ue_dialog_refresh(&c->dlg, rsp);
	}
	if (reliable && ue_msg_uint(rsp, "RSeq", &rseq) == 0) {
		c->rel100_used = true;
		/* RFC 3262 4: a retransmission (same or older RSeq) is not PRACKed again, and
		 * one out of order waits for its predecessors. */
		if (c->has_rseq_in && rseq != c->rseq_in + 1)
			return;
		prack(c, rsp, rseq);
	} else if (c->oa == UE_OA_SENT) {
		in = ue_call_sdp_in(c, rsp, false);
		if (in < 0)
			log_warn("call %" PRIu64 ": SDP of the %d ignored (%s)", c->id, status,
			         strerror(-in));
	}
	ue_call_set_state(c, c->has_remote ? UE_CALL_EARLY : UE_CALL_RINGING);
}

/* The session of the 2xx: the answer to our offer, or the offer to answer in the ACK.
 * Returns the ACK body length (0: none) with *fail set when the call must end (no
 * acceptable session; the body then refuses the offer), or a negative errno. */
static ssize_t session_of_2xx(struct ue_call *c, const struct sip_msg *rsp, char *body, size_t size,
                              bool *fail)
{
	int in;

	*fail = false;
	if (c->invite_oa_done)
		return 0; /* the exchange ended in a reliable provisional (RFC 3262 5) */
	in = ue_call_sdp_in(c, rsp, true);
	if (in == -ENOTSUP) {
		/* RFC 3264 6: the offer must be answered; refuse its streams, then hang up. */
		*fail = true;
		return ue_call_refusal(c, body, size);
	}
	if (in < 0)
		return in;
	if (in == UE_SDP_IN_OFFER)
		return ue_call_answer(c, body, size);
	if (in == UE_SDP_IN_ANSWER)
		return 0;
	if (c->oa == UE_OA_SENT && c->preview) {
		/* The answer came in an unreliable provisional and the 2xx did not repeat it:
		 * take the preview (RFC 3261 13.2.1 says it must be the same). */
		c->local = c->pending;
		c->has_local = true;
		c->oa = UE_OA_IDLE;
		c->preview = false;
		return 0;
	}
	return -EPROTO;
}

static void answered(struct ue_call *c, const struct sip_msg *rsp)
{
	struct ue *ue = c->ue;
	char body[UE_SDP_MAX];
	struct sip_span reason = sip_msg_reason(rsp);
	ssize_t blen;
	bool fail;

	if (c->state == UE_CALL_CONFIRMED || c->state == UE_CALL_TERMINATED) {
		if (same_tag(c, rsp))
			ue_mid_reack(c, rsp);
		else
			drop_dialog(c, rsp);
		return;
	}
	/* 13.2.2.4: the 2xx (of whichever fork) sets the dialog and its route set. */
	if (ue_dialog_uac(&c->dlg, rsp) < 0) {
		log_warn("call %" PRIu64 ": 2xx without usable To tag, Contact or Record-Route",
		         c->id);
		drop_dialog(c, rsp);
		ue_call_end(c, 502, "unusable 2xx", "protocol error", true);
		return;
	}
	c->last_status = sip_msg_status(rsp);
	snprintf(c->last_reason, sizeof(c->last_reason), "%.*s", (int)reason.len, reason.p);
	ue_call_set_state(c, UE_CALL_CONFIRMED);
	ue->cstats.answered_out++;
	ue->cstats.setup_ms_sum += c->confirmed_ms - c->created_ms;
	ue->cstats.setup_count++;
	blen = session_of_2xx(c, rsp, body, sizeof(body), &fail);
	ue_mid_ack(c, c->invite_cseq, body, blen > 0 ? (size_t)blen : 0);
	if (blen < 0 || fail) {
		log_warn("call %" PRIu64 ": no acceptable session in the 2xx: BYE", c->id);
		ue_call_offer_failed(c);
		c->bye_why = fail ? "no common codec" : "bad session";
		ue_mid_bye(c);
		return;
	}
	if (c->cancel_wanted) {
		/* The 2xx crossed our CANCEL (RFC 3261 9.1): end the call we did not want. */
		ue_mid_bye(c);
	}
}

static void failed(struct ue_call *c, const struct sip_msg *rsp, int status)
{
	struct sip_span reason = sip_msg_reason(rsp);
	char text[128];

	c->ue->cstats.failed[status / 100]++;
	snprintf(text, sizeof(text), "%.*s", (int)reason.len, reason.p);
	ue_call_offer_failed(c);
	ue_call_end(c, status, text, status == 487 && c->cancel_sent ? "cancel" : "rejected",
	            status == 487 && c->cancel_sent);
}

static void on_invite_result(struct ue *ue, uint64_t txn, uint64_t cookie,
                             const struct sip_msg *rsp, int status)
{
	struct ue_call *c = ue_call_by_id(ue, cookie);

	if (!c)
		return;
	if (!rsp) {
		ue->cstats.timeouts++;
		ue_call_end(c, 408, "no response (Timer B)", "timeout", false);
		return;
	}
	ue_call_log(c, false, rsp, NULL);
	if (status < 200)
		provisional(c, rsp, status);
	else if (status < 300)
		answered(c, rsp);
	else
		failed(c, rsp, status);
}

/* Checks the target of POST /calls: a sip:, sips: or tel: URI without what would break
 * a header. */
static int check_target(const char *target)
{
	struct sip_uri u;

	if (!target || strlen(target) >= UE_URI_MAX || strpbrk(target, "\r\n <>\""))
		return -EINVAL;
	if (sip_msg_uri_parse(target, strlen(target), &u) < 0)
		return -EINVAL;
	if (strcmp(u.scheme, "sip") != 0 && strcmp(u.scheme, "sips") != 0 &&
	    strcmp(u.scheme, "tel") != 0)
		return -EINVAL;
	return 0;
}

/* Fills the dialog fields a UAC knows before any response (RFC 3261 12.1.2 keeps them). */
static int prepare_dialog(struct ue_call *c, const char *target)
{
	struct ue *ue = c->ue;
	char tok[CODEC_HEX_SIZE(12)];
	struct ue_dialog *d = &c->dlg;
	int ret = ue_sip_token(tok, sizeof(tok), 12);

	if (ret < 0)
		return ret;
	snprintf(d->call_id, sizeof(d->call_id), "%s@%s", tok, ue->node->address);
	ret = ue_sip_token(d->local_tag, sizeof(d->local_tag), 8);
	if (ret < 0)
		return ret;
	snprintf(d->local_uri, sizeof(d->local_uri), "<%s>", ue->impu);
	snprintf(d->remote_uri, sizeof(d->remote_uri), "<%s>", target);
	snprintf(d->remote_target, sizeof(d->remote_target), "%s", target);
	snprintf(c->peer, sizeof(c->peer), "%s", target);
	d->local_cseq = 1;
	c->invite_cseq = 1;
	return 0;
}

/* Writes the INVITE (with body when len > 0) into msg and keeps its CANCEL. */
static ssize_t build_invite(struct ue_call *c, const struct ue_call_opts *o, const char *sdp,
                            size_t sdp_len, char *msg, size_t size)
{
	struct ue *ue = c->ue;
	struct ue_req *r = calloc(1, sizeof(*r));
	char headers[UE_URI_MAX + 256], route[UE_URI_MAX];
	ssize_t n = -ENOMEM, m;

	if (!r)
		return n;
	snprintf(headers, sizeof(headers), "%s%s%s%s%s", UE_ALLOW_HEADERS,
	         o->rel100 ? "Require: 100rel\r\n" : "Supported: 100rel\r\n",
	         o->identity ? "P-Preferred-Identity: <" : "", o->identity ? o->identity : "",
	         o->identity ? ">\r\n" : "");
	ue_uac_routes(ue, r, route, sizeof(route));
	r->method = "INVITE";
	r->ruri = o->target;
	r->proto = ue->proto;
	r->via_host = ue->node->address;
	r->via_port = ue->node->sip_port;
	r->branch = c->invite_branch;
	r->from = c->dlg.local_uri;
	r->from_tag = c->dlg.local_tag;
	r->to = c->dlg.remote_uri;
	r->call_id = c->dlg.call_id;
	r->cseq = c->invite_cseq;
	r->contact = ue->reg.contact;
	r->headers = headers;
	r->content_type = sdp_len ? "application/sdp" : NULL;
	r->body = sdp;
	r->body_len = sdp_len;
	n = ue_msg_request(r, msg, size);
	if (n < 0)
		goto out_free;
	/* RFC 3261 9.1: the CANCEL repeats Request-URI, Via, From, To, Call-ID, Route and
	 * the CSeq number; it has no body. */
	r->method = "CANCEL";
	r->contact = NULL;
	r->headers = NULL;
	r->content_type = NULL;
	r->body_len = 0;
	m = ue_msg_request(r, msg + n + 1, size - (size_t)n - 1);
	if (m < 0 || !(c->cancel_msg = malloc((size_t)m))) {
		n = m < 0 ? m : -ENOMEM;
		goto out_free;
	}
	memcpy(c->cancel_msg, msg + n + 1, (size_t)m);
	c->cancel_len = (size_t)m;
	msg[n] = '\0';
out_free:
	free(r);
	return n;
}

int ue_uac_place(struct ue *ue, const struct ue_call_opts *o, struct ue_call **out)
{
	char sdp[UE_SDP_MAX], *msg;
	struct ue_call *c;
	ssize_t sdp_len = 0, n;
	int ret;

	*out = NULL;
	if (!ue->no_reg_check && ue->reg.state != UE_REG_REGISTERED)
		return -ENOTCONN;
	if (check_target(o->target) < 0 || (o->identity && check_target(o->identity) < 0))
		return -EINVAL;
	c = ue_call_new(ue, true);
	if (!c)
		return -errno;
	*out = c;
	if (o->n_codecs) {
		memcpy(c->codecs, o->codecs, o->n_codecs * sizeof(o->codecs[0]));
		c->n_codecs = o->n_codecs;
	}
	c->offer_in_invite = o->offer;
	c->rel100 = o->rel100;
	ret = prepare_dialog(c, o->target);
	if (ret == 0)
		ret = ue_sip_branch(c->invite_branch);
	if (ret == 0 && o->offer) {
		sdp_len = ue_call_offer(c, UE_DIR_SENDRECV, sdp, sizeof(sdp));
		ret = sdp_len < 0 ? (int)sdp_len : 0;
	}
	msg = ret == 0 ? malloc(2 * UE_SIP_MSG_MAX) : NULL;
	if (!msg) {
		ue_call_end(c, 500, "cannot build the INVITE", "local error", true);
		return ret < 0 ? ret : -ENOMEM;
	}
	n = build_invite(c, o, sdp, (size_t)sdp_len, msg, 2 * UE_SIP_MSG_MAX);
	ret = n < 0 ? (int)n
	            : ue_sip_invite(ue, NULL, c->invite_branch, msg, (size_t)n, on_invite_result,
	                            c->id, &c->invite_txn);
	free(msg);
	if (ret < 0) {
		/* RFC 3261 8.1.3.1: a transport failure counts as a 503. */
		ue_call_end(c, 503, "cannot send the INVITE", "local error", true);
		return ret;
	}
	ue->cstats.placed++;
	ue_call_logf(c, true, "INVITE %u%s", c->invite_cseq, sdp_len ? " +sdp" : "");
	log_info("call %" PRIu64 ": calling %s%s%s", c->id, o->target,
	         o->offer ? "" : " (no offer)", o->rel100 ? " with 100rel" : "");
	return 0;
}

void ue_uac_stray_2xx(struct ue *ue, const struct sip_msg *rsp)
{
	struct ue_call *c = ue_call_by_response(ue, rsp);
	struct sip_span method;
	uint32_t num;

	if (!c)
		return;
	sip_msg_cseq(rsp, &num, &method);
	/* 13.2.2.4: a retransmitted 2xx gets the same ACK again. */
	if (c->ack_msg && same_tag(c, rsp)) {
		ue_mid_reack(c, rsp);
		return;
	}
	if (num == c->invite_cseq && !same_tag(c, rsp))
		drop_dialog(c, rsp);
}
