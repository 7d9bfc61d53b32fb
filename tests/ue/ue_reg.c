/* The UE's registration (RFC 3261 10.2, TS 24.229 5.1.1): REGISTER to the P-CSCF with an
 * empty Authorization first (TS 24.229 5.1.1.2.1), the answer to the 401 (RFC 3310 3.3
 * with RES, 3.4 with AUTS on a stale SQN, an empty response on a wrong MAC as
 * TS 24.229 5.1.1.5.3 asks; RFC 2617 for MD5), the 200 (expiry, Service-Route,
 * P-Associated-URI), re-registration at half the expiry, and de-registration. */
#include "ue.h"

#include "log.h"
#include "loop.h"
#include "sip_msg.h"
#include "topo.h"
#include "version.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int send_register(struct ue *ue, const struct ue_challenge *ch,
                         const struct ue_credentials *cr);

const char *ue_reg_state_name(enum ue_reg_state state)
{
	switch (state) {
	case UE_REG_REGISTERING:
		return "registering";
	case UE_REG_REGISTERED:
		return "registered";
	case UE_REG_FAILED:
		return "failed";
	default:
		return "unregistered";
	}
}

uint32_t ue_reg_expires_in(const struct ue *ue)
{
	uint64_t now = loop_now(ue->loop);

	if (ue->reg.state != UE_REG_REGISTERED || ue->reg.expiry_ms <= now)
		return 0;
	return (uint32_t)((ue->reg.expiry_ms - now + 999) / 1000);
}

/* RFC 3261 19.1.4 in short: same scheme, user, host and port (absent = 5060). */
static bool same_contact(const struct sip_uri *a, const struct sip_uri *b)
{
	return strcasecmp(a->scheme, b->scheme) == 0 && strcmp(a->user, b->user) == 0 &&
	       strcasecmp(a->host, b->host) == 0 &&
	       (a->port ? a->port : 5060) == (b->port ? b->port : 5060);
}

uint32_t ue_reg_granted(const struct sip_msg *rsp, const char *contact, uint32_t requested)
{
	unsigned n = sip_msg_header_values(rsp, "Contact");
	struct sip_uri mine, theirs;
	struct sip_contact c;
	uint32_t secs;

	if (sip_msg_uri_parse(contact, strlen(contact), &mine) == 0) {
		for (unsigned i = 0; i < n; i++) {
			if (sip_msg_contact(rsp, i, &c) < 0 || c.star || c.expires < 0)
				continue;
			if (sip_msg_uri_parse(c.uri.p, c.uri.len, &theirs) < 0)
				continue;
			if (same_contact(&mine, &theirs))
				return c.expires > UINT32_MAX ? UINT32_MAX : (uint32_t)c.expires;
		}
	}
	if (sip_msg_expires(rsp, &secs) == 0)
		return secs;
	return requested;
}

size_t ue_reg_values(const struct sip_msg *rsp, const char *name, char (*out)[UE_URI_MAX],
                     size_t max)
{
	struct sip_value_iter it;
	struct sip_span v;
	size_t n = 0;

	sip_msg_values(rsp, name, &it);
	while (n < max && sip_msg_values_next(&it, &v))
		if (sip_msg_value_copy(v, out[n], UE_URI_MAX) >= 0)
			n++;
	return n;
}

static void set_reason(struct ue_reg *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_reason(struct ue_reg *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->last_reason, sizeof(r->last_reason), fmt, ap);
	va_end(ap);
}

static void forget_binding(struct ue_reg *r)
{
	r->expires = 0;
	r->expiry_ms = 0;
	r->n_service_route = 0;
	r->n_associated = 0;
}

/* Ends the operation in progress and tells the REST waiters. */
static void finish(struct ue *ue, bool ok)
{
	enum ue_reg_op op = ue->reg.op;

	ue->reg.op = UE_OP_NONE;
	ue->reg.txn_id = 0;
	ue_rest_reg_done(ue, op, ok);
}

/* The operation failed; last_status/last_reason say why. A failed registration leaves
 * the state failed; a failed de-registration leaves the state as it was (the binding
 * may well still exist). */
static void fail(struct ue *ue)
{
	struct ue_reg *r = &ue->reg;

	r->failures++;
	log_warn("%s failed: %d %s", r->op == UE_OP_UNREGISTER ? "de-registration" : "registration",
	         r->last_status, r->last_reason);
	if (r->op == UE_OP_REGISTER) {
		r->state = UE_REG_FAILED;
		loop_timer_cancel(ue->loop, r->refresh_timer);
		r->refresh_timer = 0;
		forget_binding(r);
	}
	finish(ue, false);
}

static void on_refresh(struct loop *lp, void *arg)
{
	struct ue *ue = arg;

	ue->reg.refresh_timer = 0;
	if (ue->reg.op != UE_OP_NONE)
		return; /* the operation in flight ends with a new timer or none */
	log_info("re-registering (%u s of %u s left)", ue_reg_expires_in(ue), ue->reg.expires);
	ue_reg_start(ue, UE_OP_REGISTER, 0);
}

static void registered(struct ue *ue, const struct sip_msg *rsp)
{
	struct ue_reg *r = &ue->reg;
	uint32_t granted = ue_reg_granted(rsp, r->contact, r->expires_req);

	if (granted == 0) {
		/* RFC 3261 10.3 step 6/8: the registrar kept no binding for us. */
		set_reason(r, "registrar granted no expiry for %s", r->contact);
		fail(ue);
		return;
	}
	r->state = UE_REG_REGISTERED;
	r->expires = granted;
	r->expiry_ms = loop_now(ue->loop) + (uint64_t)granted * 1000;
	/* TS 24.229 5.1.1.2.1: keep the Service-Route (preloaded Route of later requests)
	 * and the P-Associated-URI (the implicitly registered identities). */
	r->n_service_route = ue_reg_values(rsp, "Service-Route", r->service_route, UE_REG_URIS_MAX);
	r->n_associated = ue_reg_values(rsp, "P-Associated-URI", r->associated, UE_REG_URIS_MAX);
	r->registrations++;
	loop_timer_cancel(ue->loop, r->refresh_timer);
	/* Re-register at half the granted expiry (TS 24.229 5.1.1.4 lets the UE choose;
	 * half leaves room for a challenge and a resynchronisation). */
	r->refresh_timer = loop_timer_add(ue->loop, (uint64_t)granted * 500, on_refresh, ue);
	log_info("registered %s for %u s (%zu Service-Route, %zu P-Associated-URI)", ue->impu,
	         granted, r->n_service_route, r->n_associated);
	finish(ue, true);
}

static void unregistered(struct ue *ue)
{
	struct ue_reg *r = &ue->reg;

	r->state = UE_REG_UNREGISTERED;
	loop_timer_cancel(ue->loop, r->refresh_timer);
	r->refresh_timer = 0;
	forget_binding(r);
	r->deregistrations++;
	log_info("de-registered %s", ue->impu);
	finish(ue, true);
}

/* Picks the first Digest challenge of the 401 the UE holds credentials for. Returns 0,
 * or -ENOENT with the reason written. */
static int pick_challenge(struct ue *ue, const struct sip_msg *rsp, struct ue_challenge *ch)
{
	struct sip_value_iter it;
	struct sip_span v;
	char text[1024];
	int last = -ENOENT;

	sip_msg_values(rsp, "WWW-Authenticate", &it);
	while (sip_msg_values_next(&it, &v)) {
		ssize_t n = sip_msg_value_copy(v, text, sizeof(text));

		if (n < 0) {
			last = -EMSGSIZE;
			continue;
		}
		last = ue_auth_parse_challenge(text, (size_t)n, ch);
		if (last < 0)
			continue;
		if (ch->alg == UE_AUTH_AKAV1_MD5 ? ue->has_k : ue->has_password)
			return 0;
		last = -ENOKEY;
	}
	switch (last) {
	case -ENOENT:
		set_reason(&ue->reg, "401 without WWW-Authenticate");
		break;
	case -ENOKEY:
		set_reason(&ue->reg, "no credentials for the %s challenge",
		           ue_auth_alg_name(ch->alg));
		break;
	case -ENOTSUP:
		set_reason(&ue->reg, "unsupported challenge (scheme, algorithm or qop)");
		break;
	default:
		set_reason(&ue->reg, "malformed WWW-Authenticate: %s", strerror(-last));
		break;
	}
	return -ENOENT;
}

/* Builds the credentials for ch. Returns 0, or -EACCES when the network failed
 * authentication (the REGISTER then carries an empty response), or another negative
 * error with the reason written. */
static int make_credentials(struct ue *ue, const struct ue_challenge *ch, const char *uri,
                            struct ue_credentials *cr)
{
	struct ue_reg *r = &ue->reg;
	char cnonce[CODEC_HEX_SIZE(8)];
	struct ue_aka aka;
	int ret;

	memset(cr, 0, sizeof(*cr));
	ret = ue_sip_token(cnonce, sizeof(cnonce), 8);
	if (ret < 0)
		goto out_reason;
	if (ch->alg == UE_AUTH_MD5) {
		ret = ue_auth_response(ch, ue->impi, ue->password, strlen(ue->password), "REGISTER",
		                       uri, cnonce, cr);
		if (ret < 0)
			goto out_reason;
		return 0;
	}
	ret = ue_auth_aka(ch, ue->k, ue->opc, &r->sqn_ms, &aka);
	if (ret < 0)
		goto out_reason;
	switch (aka.result) {
	case UE_AKA_MAC_FAILURE:
		r->mac_failures++;
		return -EACCES;
	case UE_AKA_RESYNC:
		/* RFC 3310 3.4: no RES on a synchronisation failure; the response is computed
		 * with an empty password and the AUTS goes in the auts directive. */
		r->resyncs++;
		log_info("SQN %012llx not acceptable: resynchronising from SQN_MS %012llx",
		         (unsigned long long)aka.sqn, (unsigned long long)aka.sqn_ms);
		snprintf(cr->auts, sizeof(cr->auts), "%s", aka.auts_b64);
		ret = ue_auth_response(ch, ue->impi, "", 0, "REGISTER", uri, cnonce, cr);
		break;
	default:
		/* RFC 3310 3.3: the password is RES, as raw bytes. */
		ret = ue_auth_response(ch, ue->impi, aka.res, sizeof(aka.res), "REGISTER", uri,
		                       cnonce, cr);
		break;
	}
	memset(&aka, 0, sizeof(aka));
	if (ret == 0)
		return 0;
out_reason:
	set_reason(r, "cannot answer the challenge: %s", strerror(-ret));
	return ret;
}

static void answer_challenge(struct ue *ue, const struct sip_msg *rsp)
{
	struct ue_reg *r = &ue->reg;
	struct ue_credentials cr;
	struct ue_challenge ch;
	char uri[300];
	int ret;

	if (++r->challenges > UE_REG_CHALLENGES_MAX) {
		set_reason(r, "challenged %u times: credentials rejected", UE_REG_CHALLENGES_MAX);
		fail(ue);
		return;
	}
	if (pick_challenge(ue, rsp, &ch) < 0) {
		fail(ue);
		return;
	}
	r->have_auth = true;
	r->auth = ch.alg;
	snprintf(uri, sizeof(uri), "sip:%s", ue->domain);
	ret = make_credentials(ue, &ch, uri, &cr);
	if (ret == -EACCES) {
		/* TS 24.229 5.1.1.5.3 (RFC 3310 3.3): the network is not authentic; say so with
		 * an empty response and no auts, and give up whatever the answer. */
		log_warn("network authentication failed: MAC-A of the challenge is wrong");
		r->mac_failure = true;
	} else if (ret < 0) {
		fail(ue);
		return;
	}
	ret = send_register(ue, &ch, &cr);
	memset(&cr, 0, sizeof(cr));
	if (ret < 0) {
		r->last_status = 503;
		set_reason(r, "cannot send REGISTER: %s", strerror(-ret));
		fail(ue);
	}
}

/* RFC 3261 10.2.8: 423 Interval Too Brief carries the Min-Expires to retry with. */
static bool retry_interval(struct ue *ue, const struct sip_msg *rsp)
{
	struct ue_reg *r = &ue->reg;
	char text[16], *end;
	unsigned long v;
	size_t len;
	const char *p = sip_msg_header(rsp, "Min-Expires", &len);

	if (!p || len == 0 || len >= sizeof(text) || r->interval_retried || r->op != UE_OP_REGISTER)
		return false;
	memcpy(text, p, len);
	text[len] = '\0';
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || *end || text[0] < '0' || text[0] > '9' || v > UINT32_MAX ||
	    v <= r->expires_req)
		return false;
	r->interval_retried = true;
	r->expires_req = (uint32_t)v;
	log_info("423: retrying with Expires %lu", v);
	return send_register(ue, NULL, NULL) == 0;
}

static void on_result(struct ue *ue, uint64_t txn_id, uint64_t cookie, const struct sip_msg *rsp,
                      int status)
{
	struct ue_reg *r = &ue->reg;
	struct sip_span reason;

	if (txn_id != r->txn_id || r->op == UE_OP_NONE)
		return;
	r->txn_id = 0;
	r->last_status = status;
	if (rsp) {
		reason = sip_msg_reason(rsp);
		snprintf(r->last_reason, sizeof(r->last_reason), "%.*s", (int)reason.len, reason.p);
	} else {
		set_reason(r, "no response from the P-CSCF (Timer F)");
	}
	if (r->mac_failure) {
		set_reason(r, "network authentication failed (MAC)");
		fail(ue);
	} else if (status == 401 && rsp) {
		answer_challenge(ue, rsp);
	} else if (status == 423 && rsp && retry_interval(ue, rsp)) {
		return;
	} else if (status >= 200 && status < 300) {
		if (r->op == UE_OP_UNREGISTER)
			unregistered(ue);
		else
			registered(ue, rsp);
	} else {
		fail(ue);
	}
}

/* Sends one REGISTER of the current operation: with ch NULL the first one (empty
 * credentials), else the answer to ch. */
static int send_register(struct ue *ue, const struct ue_challenge *ch,
                         const struct ue_credentials *cr)
{
	struct ue_reg *r = &ue->reg;
	char msg[UE_SIP_MSG_MAX], auth[1536], branch[UE_SIP_BRANCH_MAX], ruri[300];
	uint32_t expires = r->op == UE_OP_UNREGISTER ? 0 : r->expires_req;
	ssize_t alen;
	int n, ret;

	snprintf(ruri, sizeof(ruri), "sip:%s", ue->domain);
	alen = ue_auth_header(ue->impi, ue->domain, ruri, ch, cr, auth, sizeof(auth));
	if (alen < 0)
		return (int)alen;
	ret = ue_sip_branch(branch);
	if (ret < 0)
		return ret;
	/* RFC 3261 10.2: same Call-ID for every registration of this run, CSeq up by one;
	 * TS 24.229 5.1.1.2.1: Request-URI is the home domain, From/To the public identity,
	 * Supported: path; RFC 3581: rport so responses come back to our source port. */
	n = snprintf(msg, sizeof(msg),
	             "REGISTER %s SIP/2.0\r\n"
	             "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n"
	             "Max-Forwards: 70\r\n"
	             "From: <%s>;tag=%s\r\n"
	             "To: <%s>\r\n"
	             "Call-ID: %s\r\n"
	             "CSeq: %u REGISTER\r\n"
	             "Contact: <%s>\r\n"
	             "Expires: %u\r\n"
	             "Authorization: %s\r\n"
	             "Supported: path\r\n"
	             "User-Agent: ims-lab-ue/" IMS_VERSION "\r\n"
	             "Content-Length: 0\r\n"
	             "\r\n",
	             ruri, sip_transport_proto_name(ue->proto), ue->node->address,
	             (unsigned)ue->node->sip_port, branch, ue->impu, r->from_tag, ue->impu,
	             r->call_id, r->cseq + 1, r->contact, (unsigned)expires, auth);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -ENOSPC;
	/* REGISTER always goes to the P-CSCF, whatever --outbound says. */
	ret = ue_sip_request(ue, &ue->pcscf_addr, branch, "REGISTER", msg, (size_t)n, on_result, 0,
	                     &r->txn_id);
	if (ret < 0)
		return ret;
	r->cseq++;
	r->registers_sent++;
	return 0;
}

int ue_reg_start(struct ue *ue, enum ue_reg_op op, uint32_t expires)
{
	struct ue_reg *r = &ue->reg;
	int ret;

	if (op != UE_OP_REGISTER && op != UE_OP_UNREGISTER)
		return -EINVAL;
	if (r->op == op)
		return -EINPROGRESS;
	if (r->op != UE_OP_NONE)
		return -EBUSY;
	if (op == UE_OP_REGISTER && expires)
		r->expires_req = expires;
	r->op = op;
	r->challenges = 0;
	r->mac_failure = false;
	r->interval_retried = false;
	/* A re-registration keeps the state registered: the binding lives on meanwhile. */
	if (op == UE_OP_REGISTER && r->state != UE_REG_REGISTERED)
		r->state = UE_REG_REGISTERING;
	loop_timer_cancel(ue->loop, r->refresh_timer);
	r->refresh_timer = 0;
	log_info("%s %s via %s", op == UE_OP_REGISTER ? "registering" : "de-registering", ue->impu,
	         ue->pcscf->fqdn);
	ret = send_register(ue, NULL, NULL);
	if (ret < 0) {
		/* RFC 3261 8.1.3.1: a transport failure counts as a 503. */
		r->last_status = 503;
		set_reason(r, "cannot send REGISTER: %s", strerror(-ret));
		fail(ue);
	}
	return ret;
}

int ue_reg_init(struct ue *ue, uint64_t sqn_ms, uint32_t expires)
{
	struct ue_reg *r = &ue->reg;
	char tok[CODEC_HEX_SIZE(16)];
	int ret;

	memset(r, 0, sizeof(*r));
	r->expires_req = expires;
	ue_auth_sqn_ms_set(&r->sqn_ms, sqn_ms);
	ret = ue_sip_token(tok, sizeof(tok), 16);
	if (ret < 0)
		return ret;
	snprintf(r->call_id, sizeof(r->call_id), "%s@%s", tok, ue->node->address);
	ret = ue_sip_token(r->from_tag, sizeof(r->from_tag), 8);
	if (ret < 0)
		return ret;
	/* TS 24.229 5.1.1.2.1: a SIP URI with our IP address and port. */
	snprintf(r->contact, sizeof(r->contact), "sip:%s@%s:%u;transport=%s", ue->user,
	         ue->node->address, (unsigned)ue->node->sip_port,
	         ue->proto == SIP_PROTO_TCP ? "tcp" : "udp");
	return 0;
}

void ue_reg_fini(struct ue *ue)
{
	loop_timer_cancel(ue->loop, ue->reg.refresh_timer);
	ue->reg.refresh_timer = 0;
	memset(&ue->reg.sqn_ms, 0, sizeof(ue->reg.sqn_ms));
}
