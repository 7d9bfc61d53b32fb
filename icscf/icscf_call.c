/* Terminating requests at the I-CSCF (TS 24.229 5.3.2): an initial request for a user
 * of our domain is held while an LIR (TS 29.228 6.1.4) asks the HSS which S-CSCF serves
 * the Request-URI; the answer names it, or lists capabilities for us to choose one, or
 * refuses (unknown user -> 404, anything else -> 480). The request then goes to that
 * S-CSCF with its URI as the top Route (5.3.2.1); we do not Record-Route, so in-dialog
 * requests only pass here when someone routes them to us. Like icscf_reg.c, every LIR
 * has a context of its own, marked cancelled by on_gone and freed exactly once, by the
 * answer's callback or, at shutdown, by icscf_call_fini. */
#include "icscf.h"

#include "dia_call.h"
#include "log.h"
#include "sip_proxy.h"
#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One initial request waiting for its LIA. */
struct icscf_lir {
	struct icscf *ic;       /* the daemon */
	struct sip_req *req;    /* the held request; NULL once its transaction is gone */
	bool cancelled;         /* on_gone came first: drop the answer */
	struct icscf_lir *prev; /* previous in ic->lirs */
	struct icscf_lir *next; /* next in ic->lirs */
};

/* ---- the LIR ---- */

static int copy_text(char *dst, size_t size, const char *p, size_t len)
{
	if (len >= size)
		return -EMSGSIZE;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return 0;
}

/* The public identity a Request-URI names (TS 23.003 13.4: a SIP URI user@domain or a tel
 * URI): a tel URI is kept whole; of a SIP URI only scheme, user and host. */
static int public_identity(struct sip_span ruri, char *out, size_t size)
{
	const char *p = ruri.p, *end = ruri.p + ruri.len, *user, *at, *host;
	size_t scheme;

	if (ruri.len > 4 && strncasecmp(p, "tel:", 4) == 0)
		return copy_text(out, size, ruri.p, ruri.len);
	if (ruri.len > 4 && strncasecmp(p, "sip:", 4) == 0)
		scheme = 4;
	else if (ruri.len > 5 && strncasecmp(p, "sips:", 5) == 0)
		scheme = 5;
	else
		return -EBADMSG;
	user = p + scheme;
	at = memchr(user, '@', (size_t)(end - user));
	if (!at || at == user)
		return -EBADMSG; /* a domain or a node: nobody to locate */
	for (host = at + 1; host < end && *host != ':' && *host != ';' && *host != '?'; host++)
		;
	if (host == at + 1)
		return -EBADMSG;
	return copy_text(out, size, ruri.p, (size_t)(host - ruri.p));
}

int icscf_call_lir(const struct sip_msg *m, const char *own_domain, const char *hss,
                   struct cx_lir *q)
{
	int r;

	memset(q, 0, sizeof(*q));
	r = public_identity(sip_msg_ruri(m), q->public_identity, sizeof(q->public_identity));
	if (r == 0)
		r = copy_text(q->hdr.dest_realm, sizeof(q->hdr.dest_realm), own_domain,
		              strlen(own_domain));
	if (r == 0)
		r = copy_text(q->hdr.dest_host, sizeof(q->hdr.dest_host), hss, strlen(hss));
	return r;
}

/* ---- the decision ---- */

static void refuse(struct icscf_decision *d, int status, const char *reason)
{
	d->status = status;
	d->reason = reason;
}

void icscf_call_decide(const struct topo *topo, const struct topo_domain *home,
                       const struct dia_call_result *r, unsigned turn, struct icscf_decision *d)
{
	const struct cx_lia *a = r->answer;
	int err;

	memset(d, 0, sizeof(*d));
	/* TS 24.229 5.3.2.1: the HSS cannot be asked -> 480 (Temporarily Unavailable). */
	if (r->err || !a) {
		refuse(d, 480, "Temporarily Unavailable - HSS not answering");
		return;
	}
	if ((!a->result.experimental && a->result.code == DIA_SUCCESS) ||
	    (a->result.experimental && a->result.code == CX_UNREGISTERED_SERVICE)) {
		err = icscf_select_assigned(topo, home, a->server_name, &a->capabilities, turn,
		                            d->scscf, sizeof(d->scscf));
		if (err < 0)
			refuse(d, 480, "Temporarily Unavailable - no S-CSCF");
		return;
	}
	if (a->result.experimental && a->result.code == CX_ERROR_USER_UNKNOWN) {
		refuse(d, 404, "Not Found - User Unknown");
		return;
	}
	/* 5003 IDENTITY_NOT_REGISTERED (no unregistered services), 3002, 3004, ...: the
	 * user may become reachable; calls.md maps every other outcome to 480. */
	refuse(d, 480, NULL);
}

/* ---- the held request ---- */

static void reply(struct icscf *ic, struct sip_req *req, int status, const char *reason)
{
	icscf_stats_reply(&ic->stats.call, status);
	sip_req_reply(req, status, reason, NULL);
}

static void lir_free(struct icscf *ic, struct icscf_lir *l)
{
	ic->n_lirs--;
	if (l->prev)
		l->prev->next = l->next;
	else
		ic->lirs = l->next;
	if (l->next)
		l->next->prev = l->prev;
	free(l);
}

/* TS 24.229 5.3.2.1: the S-CSCF's URI as the top Route, then to that S-CSCF; the
 * Request-URI stays. */
static void forward(struct icscf *ic, struct sip_req *req, const struct icscf_decision *d)
{
	struct sip_target target;
	char route[CX_ID_MAX + 8];
	int n, r = sip_proxy_resolve(ic->proxy, d->scscf, strlen(d->scscf), &target);

	if (r < 0) {
		log_warn("S-CSCF %s: cannot resolve (%s)", d->scscf, strerror(-r));
		reply(ic, req, 480, "Temporarily Unavailable - S-CSCF unknown");
		return;
	}
	n = snprintf(route, sizeof(route), "<%s;lr>", d->scscf);
	r = n > 0 && (size_t)n < sizeof(route) ? sip_req_pop_routes(req, NULL, 0) : -EMSGSIZE;
	if (r >= 0)
		r = sip_msg_edit_push(sip_req_msg(req), "Route", route);
	if (r >= 0)
		r = sip_req_forward(req, &target);
	if (r < 0) {
		log_warn("request to %s: cannot forward (%s)", d->scscf, strerror(-r));
		reply(ic, req, 503, NULL);
	}
}

static void on_lia(void *arg, const struct dia_call_result *r)
{
	struct icscf_lir *l = arg;
	struct icscf *ic = l->ic;
	struct sip_req *req = l->req;
	const struct cx_lia *a = r->answer;
	struct icscf_decision d;

	icscf_stats_cx(&ic->stats.lir, r, a ? &a->result : NULL);
	if (l->cancelled) {
		lir_free(ic, l);
		return;
	}
	sip_req_set_data(req, NULL, NULL);
	lir_free(ic, l);
	icscf_call_decide(ic->topo, ic->node->domain, r, ic->turn++, &d);
	if (d.status) {
		reply(ic, req, d.status, d.reason);
		return;
	}
	forward(ic, req, &d);
}

static void initial(struct icscf *ic, struct sip_req *req)
{
	struct cx_lir q;
	struct icscf_lir *l;
	int r;

	ic->stats.call.requests++;
	r = icscf_call_lir(sip_req_msg(req), ic->node->domain->name, ic->hss->fqdn, &q);
	if (r < 0) {
		reply(ic, req, r == -EBADMSG ? 404 : 400,
		      r == -EBADMSG ? "Not Found - no user in the Request-URI"
		                    : "Identity too long");
		return;
	}
	if (ic->n_lirs >= ICSCF_LIR_INFLIGHT_MAX) {
		icscf_stats_reply(&ic->stats.call, 503);
		sip_req_reply(req, 503, NULL, "Retry-After: 1\r\n");
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		reply(ic, req, 500, NULL);
		return;
	}
	*l = (struct icscf_lir){.ic = ic, .req = req, .next = ic->lirs};
	r = dia_call(ic->loop, CX_LIR, &q, ic->cx_timeout_ms, on_lia, l);
	if (r < 0) {
		free(l);
		log_warn("LIR for %s: not sent (%s)", q.public_identity, strerror(-r));
		reply(ic, req, 480, NULL);
		return;
	}
	if (ic->lirs)
		ic->lirs->prev = l;
	ic->lirs = l;
	ic->n_lirs++;
	ic->stats.lir.sent++;
	sip_req_set_data(req, l, NULL);
}

/* RFC 3261 16.4-16.6: a request routed through us: our Route values off, then on. */
static void relay(struct icscf *ic, struct sip_req *req)
{
	struct sip_target target;
	int r = sip_req_pop_routes(req, NULL, 0);

	ic->stats.in_dialog++;
	if (r >= 0)
		r = sip_req_next_hop(req, &target);
	if (r >= 0)
		r = sip_req_forward(req, &target);
	if (r < 0) {
		/* nothing answers an ACK: sip_req_reply drops it */
		sip_req_reply(req, r == -ENOENT ? 404 : 503, NULL, NULL);
	}
}

static bool has_to_tag(const struct sip_msg *m)
{
	struct sip_span tag;
	size_t len;
	const char *to = sip_msg_header(m, "To", &len);

	return to && sip_msg_param((struct sip_span){to, len}, "tag", &tag) == 0 && tag.len;
}

/* A Request-URI for the I-CSCF itself or for its whole domain (no user part). */
static bool for_us(struct icscf *ic, struct sip_span ruri)
{
	struct sip_uri u;

	if (sip_proxy_is_us(ic->proxy, ruri.p, ruri.len))
		return true;
	return sip_msg_uri_parse(ruri.p, ruri.len, &u) == 0 && strcmp(u.scheme, "tel") != 0 &&
	       u.user[0] == '\0' && strcasecmp(u.host, ic->node->domain->name) == 0;
}

void icscf_call_on_request(struct icscf *ic, struct sip_req *req)
{
	struct sip_msg *m = sip_req_msg(req);
	bool routed = sip_msg_header_values(m, "Route") > 0;

	if (has_to_tag(m)) {
		relay(ic, req);
		return;
	}
	/* RFC 3261 11.2: we answer capability queries (and keep-alive pings) ourselves. */
	if (!routed && sip_msg_method(m) == SIP_OPTIONS && for_us(ic, sip_msg_ruri(m))) {
		sip_req_reply(req, 200, NULL, NULL);
		return;
	}
	if (sip_msg_method(m) == SIP_ACK) {
		relay(ic, req); /* an end-to-end ACK of a 2xx, routed here */
		return;
	}
	initial(ic, req);
}

void icscf_call_on_gone(struct icscf *ic, struct sip_req *req)
{
	struct icscf_lir *l = sip_req_data(req);

	(void)ic;
	if (!l)
		return;
	l->cancelled = true;
	l->req = NULL;
	sip_req_set_data(req, NULL, NULL);
}

void icscf_call_on_response(struct icscf *ic, struct sip_req *req, struct sip_msg *resp)
{
	int status = sip_msg_status(resp);

	/* Only initial requests count; a relayed in-dialog request carries no mark. */
	if (status >= 200 && !has_to_tag(sip_req_msg(req)) &&
	    sip_msg_method(sip_req_msg(req)) != SIP_ACK)
		icscf_stats_forwarded(&ic->stats.call, status, status == 408);
}

void icscf_call_fini(struct icscf *ic)
{
	while (ic->lirs)
		lir_free(ic, ic->lirs);
}
