/* Incoming calls (RFC 3261 13.3 UAS processing of INVITE): option tags checked (8.2.2.3),
 * the offer taken or its absence noted, ringing with 180 or, when 100rel is required
 * or preferred, a reliable 183 with SDP retransmitted until its PRACK (RFC 3262 3),
 * then answer (after the automatic delay or on REST), reject or CANCEL (9.2, 487);
 * the 2xx is retransmitted by the UA core until its ACK (13.3.1.4), which may carry the
 * answer when the 2xx held the offer. */
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
#include <strings.h>

/* Option tags we support in Require (RFC 3261 8.2.2.3). */
static const char *const supported_options[] = {"100rel"};

/* The first option tag of Require we do not support, copied into out; false if none. */
static bool unsupported_option(const struct sip_msg *req, char *out, size_t outlen)
{
	struct sip_value_iter it;
	struct sip_span v;

	sip_msg_values(req, "Require", &it);
	while (sip_msg_values_next(&it, &v)) {
		bool known = false;

		for (size_t i = 0; i < sizeof(supported_options) / sizeof(supported_options[0]);
		     i++)
			known |= v.len == strlen(supported_options[i]) &&
			         strncasecmp(v.p, supported_options[i], v.len) == 0;
		if (!known) {
			snprintf(out, outlen, "%.*s", (int)(v.len < 64 ? v.len : 64), v.p);
			return !strpbrk(out, "\r\n");
		}
	}
	return false;
}

static struct ue_call *call_by_stxn(struct ue *ue, uint64_t id)
{
	for (struct ue_call *c = ue->calls; c; c = c->next)
		if (!c->outgoing && c->invite_stxn == id)
			return c;
	return NULL;
}

static void stop_reliable(struct ue_call *c)
{
	loop_timer_cancel(c->ue->loop, c->t_rel);
	loop_timer_cancel(c->ue->loop, c->t_rel_giveup);
	c->t_rel = c->t_rel_giveup = 0;
	free(c->rel_msg);
	c->rel_msg = NULL;
	c->rel_len = 0;
}

/* Refuses the INVITE of c with status and ends the call. */
static int reject_with(struct ue_call *c, int status, const char *reason, const char *why)
{
	struct ue_stxn *t = ue_stxn_by_id(c->ue, c->invite_stxn);

	if (!t || t->status >= 200)
		return -EINVAL;
	stop_reliable(c);
	loop_timer_cancel(c->ue->loop, c->t_answer);
	c->t_answer = 0;
	ue_stxn_reply(t, status, reason, c->dlg.local_tag, NULL);
	ue_call_logf(c, true, "%d INVITE %u", status, c->invite_cseq);
	c->ue->cstats.rejected[status / 100]++;
	ue_call_end(c, status, reason, why, true);
	return 0;
}

int ue_uas_reject(struct ue_call *c, int status)
{
	if (c->outgoing || c->state == UE_CALL_CONFIRMED || c->state == UE_CALL_TERMINATED ||
	    status < 300 || status > 699)
		return -EINVAL;
	return reject_with(c, status, NULL, "rejected");
}

static void on_rel_timer(struct loop *lp, void *arg)
{
	struct ue_call *c = arg;
	struct ue_stxn *t = ue_stxn_by_id(c->ue, c->invite_stxn);

	c->t_rel = 0;
	if (!t || !c->rel_msg ||
	    ue_stxn_send(t, c->rel_status, c->rel_msg, c->rel_len) == -EALREADY)
		return;
	/* RFC 3262 3: the interval starts at T1 and doubles. */
	c->rel_interval *= 2;
	c->t_rel = loop_timer_add(lp, c->rel_interval, on_rel_timer, c);
}

static void on_rel_giveup(struct loop *lp, void *arg)
{
	struct ue_call *c = arg;

	c->t_rel_giveup = 0;
	/* RFC 3262 3: no PRACK within 64*T1 -> reject the INVITE with a 5xx. */
	log_warn("call %" PRIu64 ": no PRACK for our %d within %u ms", c->id, c->rel_status,
	         64 * UE_SIP_T1);
	reject_with(c, 500, "No PRACK", "no PRACK");
}

static uint32_t first_rseq(void)
{
	uint32_t v = 0;

	/* RFC 3262 3: uniformly between 1 and 2^31 - 1. */
	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = (uint32_t)loop_clock_us();
	v &= 0x7fffffff;
	return v ? v : 1;
}

/* Sends a reliable provisional (RFC 3262 3) with body (len 0: none). */
static int send_reliable(struct ue_call *c, int status, const char *body, size_t len)
{
	struct ue *ue = c->ue;
	struct ue_stxn *t = ue_stxn_by_id(ue, c->invite_stxn);
	char headers[UE_URI_MAX + 256], msg[UE_SIP_MSG_MAX];
	ssize_t n;

	if (!t || t->status >= 200)
		return -EINVAL;
	c->rseq_out = c->rseq_out ? c->rseq_out + 1 : first_rseq();
	snprintf(headers, sizeof(headers), "Contact: <%s>\r\n%sRequire: 100rel\r\nRSeq: %u\r\n",
	         ue->reg.contact, UE_ALLOW_HEADERS, c->rseq_out);
	n = ue_msg_response(t->req, status, NULL, c->dlg.local_tag, headers,
	                    len ? "application/sdp" : NULL, body, len, msg, sizeof(msg));
	if (n < 0)
		return (int)n;
	stop_reliable(c);
	c->rel_msg = malloc((size_t)n);
	if (!c->rel_msg)
		return -ENOMEM;
	memcpy(c->rel_msg, msg, (size_t)n);
	c->rel_len = (size_t)n;
	c->rel_status = status;
	c->rel_sdp = len > 0;
	c->rel_interval = UE_SIP_T1;
	ue_stxn_send(t, status, msg, (size_t)n);
	c->t_rel = loop_timer_add(ue->loop, c->rel_interval, on_rel_timer, c);
	c->t_rel_giveup = loop_timer_add(ue->loop, 64 * UE_SIP_T1, on_rel_giveup, c);
	ue_call_logf(c, true, "%d INVITE %u%s +100rel", status, c->invite_cseq, len ? " +sdp" : "");
	return 0;
}

/* Rings: 180, or with 100rel a reliable 183 with the answer (or an offer when the INVITE
 * had none), the 180 following once it is acknowledged. */
static void ring(struct ue_call *c)
{
	struct ue_stxn *t = ue_stxn_by_id(c->ue, c->invite_stxn);
	char headers[UE_URI_MAX + 128], body[UE_SDP_MAX];
	ssize_t blen;

	if (!t)
		return;
	if (!c->rel100) {
		/* 12.1.1: a response that creates a dialog carries our Contact. */
		snprintf(headers, sizeof(headers), "Contact: <%s>\r\n%s", c->ue->reg.contact,
		         UE_ALLOW_HEADERS);
		ue_stxn_reply(t, 180, NULL, c->dlg.local_tag, headers);
		ue_call_logf(c, true, "180 INVITE %u", c->invite_cseq);
		ue_call_set_state(c, UE_CALL_RINGING);
		return;
	}
	c->rel100_used = true;
	if (c->oa == UE_OA_RECEIVED) {
		blen = ue_call_answer(c, body, sizeof(body));
		c->invite_oa_done = blen > 0;
	} else {
		blen = ue_call_offer(c, ue_call_want(c), body, sizeof(body));
	}
	if (blen < 0 || send_reliable(c, 183, body, (size_t)blen) < 0) {
		reject_with(c, 500, "cannot send the 183", "local error");
		return;
	}
	c->rel_ringing_due = true;
	ue_call_set_state(c, c->has_local && c->has_remote ? UE_CALL_EARLY : UE_CALL_RINGING);
}

static void on_answer_timer(struct loop *lp, void *arg)
{
	struct ue_call *c = arg;

	c->t_answer = 0;
	ue_uas_answer(c);
}

/* The peer's URI of a "<uri>" value. */
static void strip_brackets(const char *v, char *out, size_t outlen)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '<' && v[n - 1] == '>')
		snprintf(out, outlen, "%.*s", (int)(n - 2), v + 1);
	else
		snprintf(out, outlen, "%s", v);
}

/* Fills the call from the INVITE: dialog, peer, asserted identity, 100rel, the offer.
 * Returns 0 or the status to refuse the INVITE with. */
static int take_invite(struct ue_call *c, struct ue_stxn *t, const char *tag)
{
	struct ue_settings *s = &c->ue->settings;
	struct sip_span method;
	struct sip_addr pai;
	int in;

	if (ue_dialog_uas(&c->dlg, t->req, tag) < 0) {
		snprintf(c->dlg.local_tag, sizeof(c->dlg.local_tag), "%s", tag);
		return 400;
	}
	strip_brackets(c->dlg.remote_uri, c->peer, sizeof(c->peer));
	if (sip_msg_nameaddr(t->req, "P-Asserted-Identity", 0, &pai) == 0)
		snprintf(c->identity, sizeof(c->identity), "%.*s", (int)pai.uri.len, pai.uri.p);
	sip_msg_cseq(t->req, &c->invite_cseq, &method);
	c->dlg.local_cseq = 0;
	c->rel100 = ue_msg_has_option(t->req, "Require", "100rel") ||
	            (s->prefer_100rel && ue_msg_has_option(t->req, "Supported", "100rel"));
	in = ue_call_sdp_in(c, t->req, true);
	if (in == -EBADMSG)
		return 400;
	if (in < 0)
		return 488; /* RFC 3264 6: nothing acceptable in the offer */
	c->offer_in_invite = in == UE_SDP_IN_OFFER;
	return 0;
}

void ue_uas_on_invite(struct ue *ue, struct ue_stxn *t)
{
	char tag[CODEC_HEX_SIZE(8)], option[80], extra[128];
	struct ue_call *c;
	int status;

	if (ue_sip_token(tag, sizeof(tag), 8) < 0)
		return;
	if (unsupported_option(t->req, option, sizeof(option))) {
		snprintf(extra, sizeof(extra), "Unsupported: %s\r\n", option);
		ue_stxn_reply(t, 420, NULL, tag, extra);
		return;
	}
	c = ue_call_new(ue, false);
	if (!c) {
		ue->cstats.rejected[4]++;
		ue_stxn_reply(t, 486, NULL, tag, NULL);
		return;
	}
	c->invite_stxn = t->id;
	ue->cstats.received++;
	status = take_invite(c, t, tag);
	ue_call_log(c, false, t->req, NULL);
	log_info("call %" PRIu64 ": INVITE from %s%s%s", c->id, c->peer,
	         c->offer_in_invite ? "" : " (no offer)", c->rel100 ? " with 100rel" : "");
	/* A busy user refuses before looking at the offer. */
	if (status != 400 && ue->settings.auto_reject) {
		reject_with(c, ue->settings.auto_reject, NULL, "rejected");
		return;
	}
	if (status) {
		reject_with(c, status, NULL, status == 488 ? "no common codec" : "bad request");
		return;
	}
	ring(c);
	if (c->state != UE_CALL_TERMINATED && ue->settings.auto_answer)
		c->t_answer =
		    loop_timer_add(ue->loop, ue->settings.answer_delay_ms, on_answer_timer, c);
}

static void on_ok_timer(struct loop *lp, void *arg)
{
	struct ue_call *c = arg;

	c->t_ok = 0;
	if (!c->ok_msg)
		return;
	sip_transport_send(c->ue->sip, c->ok_proto, &c->ok_dst, c->ok_conn, c->ok_msg, c->ok_len);
	/* RFC 3261 13.3.1.4: T1 doubling up to T2. */
	c->ok_interval = c->ok_interval * 2 < UE_SIP_T2 ? c->ok_interval * 2 : UE_SIP_T2;
	c->t_ok = loop_timer_add(lp, c->ok_interval, on_ok_timer, c);
}

static void stop_ok(struct ue_call *c)
{
	loop_timer_cancel(c->ue->loop, c->t_ok);
	loop_timer_cancel(c->ue->loop, c->t_ok_giveup);
	c->t_ok = c->t_ok_giveup = 0;
	free(c->ok_msg);
	c->ok_msg = NULL;
}

static void on_ok_giveup(struct loop *lp, void *arg)
{
	struct ue_call *c = arg;

	c->t_ok_giveup = 0;
	stop_ok(c);
	/* 13.3.1.4: no ACK within 64*T1: the dialog is confirmed, the session ends. */
	log_warn("call %" PRIu64 ": no ACK for our 2xx within %u ms: BYE", c->id, 64 * UE_SIP_T1);
	c->ue->cstats.timeouts++;
	c->bye_after_ack = false;
	c->bye_why = "no ACK";
	ue_mid_bye(c);
}

int ue_uas_send_2xx(struct ue_call *c, struct ue_stxn *t, const char *body, size_t body_len)
{
	struct ue *ue = c->ue;
	char headers[UE_URI_MAX + 256], msg[UE_SIP_MSG_MAX];
	struct sip_span method;
	ssize_t n;

	snprintf(headers, sizeof(headers), "Contact: <%s>\r\n%sSupported: 100rel\r\n",
	         ue->reg.contact, UE_ALLOW_HEADERS);
	n = ue_msg_response(t->req, 200, NULL, c->dlg.local_tag, headers,
	                    body_len ? "application/sdp" : NULL, body, body_len, msg, sizeof(msg));
	if (n < 0)
		return (int)n;
	stop_ok(c);
	c->ok_msg = malloc((size_t)n);
	if (!c->ok_msg)
		return -ENOMEM;
	memcpy(c->ok_msg, msg, (size_t)n);
	c->ok_len = (size_t)n;
	sip_msg_cseq(t->req, &c->ok_cseq, &method);
	c->ok_initial = false;
	c->ok_proto = t->proto;
	c->ok_dst = t->dst;
	c->ok_conn = t->conn_id;
	c->ok_interval = UE_SIP_T1;
	ue_stxn_send(t, 200, msg, (size_t)n);
	c->t_ok = loop_timer_add(ue->loop, c->ok_interval, on_ok_timer, c);
	c->t_ok_giveup = loop_timer_add(ue->loop, 64 * UE_SIP_T1, on_ok_giveup, c);
	ue_call_logf(c, true, "200 INVITE %u%s", c->ok_cseq, body_len ? " +sdp" : "");
	return 0;
}

int ue_uas_answer(struct ue_call *c)
{
	struct ue_stxn *t = ue_stxn_by_id(c->ue, c->invite_stxn);
	char body[UE_SDP_MAX];
	ssize_t blen = 0;
	int ret;

	if (c->outgoing || c->state == UE_CALL_CONFIRMED || c->state == UE_CALL_TERMINATED || !t ||
	    t->status >= 200)
		return -EINVAL;
	loop_timer_cancel(c->ue->loop, c->t_answer);
	c->t_answer = 0;
	/* RFC 3262 3: no 2xx while a provisional with SDP waits for its PRACK. */
	if (c->rel_msg && c->rel_sdp) {
		c->answer_wanted = true;
		return 0;
	}
	stop_reliable(c);
	if (!c->invite_oa_done && c->oa == UE_OA_RECEIVED)
		blen = ue_call_answer(c, body, sizeof(body));
	else if (!c->invite_oa_done && c->oa == UE_OA_IDLE && !c->has_local)
		blen = ue_call_offer(c, ue_call_want(c), body, sizeof(body));
	if (blen < 0)
		return reject_with(c, 500, "cannot write the SDP", "local error");
	ret = ue_uas_send_2xx(c, t, body, (size_t)blen);
	if (ret < 0)
		return reject_with(c, 500, "cannot send the 2xx", "local error");
	c->ok_initial = true;
	c->last_status = 200;
	snprintf(c->last_reason, sizeof(c->last_reason), "OK");
	c->ue->cstats.answered_in++;
	ue_call_set_state(c, UE_CALL_CONFIRMED);
	return 0;
}

void ue_uas_on_cancel(struct ue *ue, struct ue_stxn *t)
{
	struct ue_stxn *inv = ue_stxn_cancel_target(ue, t);
	struct ue_call *c = inv ? call_by_stxn(ue, inv->id) : NULL;

	if (!inv) {
		/* RFC 3261 9.2: no transaction to cancel. */
		ue_stxn_reply(t, 481, NULL, NULL, NULL);
		return;
	}
	/* 9.2: the CANCEL's response carries the To tag of the INVITE's responses. */
	ue_stxn_reply(t, 200, NULL, c ? c->dlg.local_tag : NULL, NULL);
	if (!c || inv->status >= 200)
		return;
	ue_call_log(c, false, t->req, NULL);
	stop_reliable(c);
	loop_timer_cancel(ue->loop, c->t_answer);
	c->t_answer = 0;
	ue_stxn_reply(inv, 487, NULL, c->dlg.local_tag, NULL);
	ue_call_logf(c, true, "487 INVITE %u", c->invite_cseq);
	ue_call_end(c, 487, NULL, "cancel", false);
}

void ue_uas_on_ack(struct ue *ue, const struct sip_msg *req)
{
	struct ue_call *c = ue_call_by_request(ue, req);
	struct sip_span method;
	uint32_t num;
	int in;

	if (!c)
		return;
	sip_msg_cseq(req, &num, &method);
	if (!c->ok_msg || num != c->ok_cseq)
		return; /* a copy of an ACK already taken */
	ue_call_log(c, false, req, NULL);
	stop_ok(c);
	if (c->oa == UE_OA_SENT) {
		/* Our 2xx held the offer: the ACK must hold the answer (RFC 3264 4). */
		in = ue_call_sdp_in(c, req, true);
		if (in == -EPROTO) {
			/* An answer refusing our streams: the caller hangs up (ue_uac), not us. */
			log_info("call %" PRIu64 ": the answer in the ACK refuses our offer",
			         c->id);
			ue_call_offer_failed(c);
		} else if (in != UE_SDP_IN_ANSWER) {
			log_warn("call %" PRIu64 ": ACK without a usable answer: BYE", c->id);
			ue_call_offer_failed(c);
			c->bye_why = "no answer in ACK";
			ue_mid_bye(c);
			return;
		}
	}
	if (c->bye_after_ack) {
		c->bye_after_ack = false;
		ue_mid_bye(c);
	}
}

/* The 200 to a PRACK, with our answer when the PRACK held an offer. */
static void prack_ok(struct ue_call *c, struct ue_stxn *t, const char *body, size_t len)
{
	char msg[UE_SIP_MSG_MAX];
	ssize_t n = ue_msg_response(t->req, 200, NULL, NULL, NULL, len ? "application/sdp" : NULL,
	                            body, len, msg, sizeof(msg));

	if (n > 0)
		ue_stxn_send(t, 200, msg, (size_t)n);
	ue_call_logf(c, true, "200 PRACK%s", len ? " +sdp" : "");
}

void ue_uas_on_prack(struct ue_call *c, struct ue_stxn *t)
{
	char method[16], body[UE_SDP_MAX];
	uint32_t rseq, cseq;
	ssize_t blen = 0;
	int in;

	if (ue_msg_rack(t->req, &rseq, &cseq, method, sizeof(method)) < 0) {
		ue_stxn_reply(t, 400, "Bad RAck", NULL, NULL);
		return;
	}
	/* RFC 3262 3: a PRACK matching no unacknowledged reliable provisional gets 481. */
	if (!c->rel_msg || rseq != c->rseq_out || cseq != c->invite_cseq ||
	    strcmp(method, "INVITE") != 0) {
		ue_stxn_reply(t, 481, NULL, NULL, NULL);
		return;
	}
	stop_reliable(c);
	in = ue_call_sdp_in(c, t->req, true);
	if (in == UE_SDP_IN_ANSWER)
		c->invite_oa_done = true;
	else if (in == UE_SDP_IN_OFFER)
		blen = ue_call_answer(c, body, sizeof(body));
	if (in < 0 || c->oa == UE_OA_SENT || blen < 0) {
		/* Our offer of the 183 got no usable answer: the call cannot go on. */
		prack_ok(c, t, NULL, 0);
		ue_call_offer_failed(c);
		reject_with(c, 488, NULL, "no answer in PRACK");
		return;
	}
	prack_ok(c, t, body, (size_t)blen);
	if (c->has_local && c->has_remote)
		ue_call_set_state(c, UE_CALL_EARLY);
	if (c->answer_wanted) {
		c->answer_wanted = false;
		ue_uas_answer(c);
	} else if (c->rel_ringing_due) {
		c->rel_ringing_due = false;
		send_reliable(c, 180, NULL, 0);
	}
}
