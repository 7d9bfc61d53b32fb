/* Registration at the I-CSCF (TS 24.229 5.3.1): each REGISTER is held while a UAR
 * (TS 29.228 6.1.1) asks the HSS who serves the user; the answer names the S-CSCF, or
 * lists capabilities for the I-CSCF to choose one, or refuses. The Cx call is
 * asynchronous (dia_call): the request's transaction may end meanwhile, so every UAR has
 * a context of its own, marked cancelled by on_gone and freed exactly once, by the
 * answer's callback or, at shutdown, by icscf_reg_fini. */
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

#define DEFAULT_EXPIRES 3600 /* RFC 3261 10.2.1.1: a registrar's usual default */

/* One REGISTER waiting for its UAA. */
struct icscf_uar {
	struct icscf *ic;       /* the daemon */
	struct sip_req *req;    /* the held request; NULL once its transaction is gone */
	bool cancelled;         /* on_gone came first: drop the answer */
	struct icscf_uar *prev; /* previous in ic->pending */
	struct icscf_uar *next; /* next in ic->pending */
};

/* ---- reading the REGISTER ---- */

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* username= of the first credentials that carry one (RFC 3261 25.1 auth-param list). */
static int auth_username(const struct sip_msg *m, struct sip_span *out)
{
	struct sip_value_iter it;
	struct sip_span v;

	sip_msg_values(m, "Authorization", &it);
	while (sip_msg_values_next(&it, &v)) {
		const char *p = v.p, *end = v.p + v.len;

		/* Skip the scheme ("Digest"), then walk name=value pairs. */
		while (p < end && !is_lws(*p) && *p != '=')
			p++;
		while (p < end) {
			const char *n, *ne, *vs, *ve;

			while (p < end && (is_lws(*p) || *p == ','))
				p++;
			for (n = p; p < end && *p != '=' && *p != ',' && !is_lws(*p); p++)
				;
			ne = p;
			while (p < end && is_lws(*p))
				p++;
			if (p >= end || *p != '=')
				continue;
			for (p++; p < end && is_lws(*p); p++)
				;
			if (p < end && *p == '"') {
				for (vs = ++p; p < end && *p != '"'; p += (*p == '\\') ? 2 : 1)
					;
				ve = p < end ? p : end;
				p = p < end ? p + 1 : end;
			} else {
				for (vs = p; p < end && *p != ',' && !is_lws(*p); p++)
					;
				ve = p;
			}
			if (ne - n == 8 && strncasecmp(n, "username", 8) == 0 && ve > vs) {
				*out = (struct sip_span){vs, (size_t)(ve - vs)};
				return 0;
			}
		}
	}
	return -ENOENT;
}

/* The expires parameter of one Contact value (RFC 3261 20.10), capped; -1 when absent,
 * -2 when malformed. */
static int64_t contact_expires(struct sip_span v)
{
	struct sip_span e;
	int64_t n = 0;

	if (sip_msg_param(v, "expires", &e) < 0)
		return -1;
	if (e.len == 0)
		return -2;
	for (size_t i = 0; i < e.len; i++) {
		if (e.p[i] < '0' || e.p[i] > '9')
			return -2;
		if (n < UINT32_MAX)
			n = n * 10 + (e.p[i] - '0');
	}
	return n;
}

/* RFC 3261 10.2.2: every contact removed now: Contact: *, or each contact's expires
 * (its parameter, else the Expires header, else the default) is 0. Reads the values
 * with the lazy index only: this runs for every REGISTER. */
static bool is_deregistration(const struct sip_msg *m)
{
	uint32_t hdr = DEFAULT_EXPIRES;
	struct sip_value_iter it;
	struct sip_span v;
	unsigned n = 0;

	if (sip_msg_expires(m, &hdr) < 0)
		hdr = DEFAULT_EXPIRES;
	sip_msg_values(m, "Contact", &it);
	while (sip_msg_values_next(&it, &v)) {
		int64_t e;

		v = sip_msg_trim(v);
		if (v.len == 1 && v.p[0] == '*')
			return true;
		e = contact_expires(v);
		if ((e == -1 ? (int64_t)hdr : e) != 0)
			return false;
		n++;
	}
	return n > 0;
}

static int copy_span(char *dst, size_t size, struct sip_span v)
{
	if (v.len >= size)
		return -EMSGSIZE;
	memcpy(dst, v.p, v.len);
	dst[v.len] = '\0';
	return 0;
}

int icscf_reg_uar(const struct sip_msg *m, const char *own_domain, const char *hss,
                  struct cx_uar *q)
{
	struct sip_span impu, impi, vn;
	const char *v;
	size_t len;
	int r;

	memset(q, 0, sizeof(*q));
	v = sip_msg_header(m, "To", &len);
	impu = v ? sip_msg_addr_uri((struct sip_span){v, len}) : (struct sip_span){NULL, 0};
	if (impu.len == 0)
		return -EBADMSG;
	if (auth_username(m, &impi) < 0) {
		/* ims.md: without credentials the IMPI is the IMPU without "sip:". */
		impi = impu;
		if (impi.len > 4 && strncasecmp(impi.p, "sip:", 4) == 0) {
			impi.p += 4;
			impi.len -= 4;
		}
	}
	v = sip_msg_header(m, "P-Visited-Network-ID", &len);
	vn = v ? sip_msg_trim((struct sip_span){v, len})
	       : (struct sip_span){own_domain, strlen(own_domain)};
	/* RFC 7315 4.3: token or quoted-string, then parameters. */
	if (vn.len >= 2 && vn.p[0] == '"') {
		const char *close = memchr(vn.p + 1, '"', vn.len - 1);

		if (close)
			vn = (struct sip_span){vn.p + 1, (size_t)(close - vn.p - 1)};
	} else if (v) {
		const char *semi = memchr(vn.p, ';', vn.len);

		if (semi)
			vn.len = (size_t)(semi - vn.p);
		vn = sip_msg_trim(vn);
	}
	r = copy_span(q->public_identity, sizeof(q->public_identity), impu);
	if (r == 0)
		r = copy_span(q->user_name, sizeof(q->user_name), impi);
	if (r == 0)
		r = copy_span(q->visited_network, sizeof(q->visited_network), vn);
	if (r == 0)
		r = copy_span(q->hdr.dest_realm, sizeof(q->hdr.dest_realm),
		              (struct sip_span){own_domain, strlen(own_domain)});
	if (r == 0)
		r = copy_span(q->hdr.dest_host, sizeof(q->hdr.dest_host),
		              (struct sip_span){hss, strlen(hss)});
	q->auth_type = is_deregistration(m) ? CX_AUTH_DE_REGISTRATION : CX_AUTH_REGISTRATION;
	return r;
}

/* ---- the decision ---- */

static void refuse(struct icscf_decision *d, int status, const char *reason)
{
	d->status = status;
	d->reason = reason;
}

/* A Server-Name given, else one chosen from the capabilities, else fail_status. */
static void pick(const struct topo *topo, const struct topo_domain *home, const struct cx_uaa *a,
                 unsigned turn, int fail_status, struct icscf_decision *d)
{
	int r = icscf_select_assigned(topo, home, a->server_name, &a->capabilities, turn, d->scscf,
	                              sizeof(d->scscf));

	if (r == -ENODATA)
		refuse(d, fail_status, NULL);
	else if (r < 0)
		refuse(d, 600, NULL); /* TS 24.229 5.3.1.2: no S-CSCF fits -> 600 */
}

/* TS 29.229 6.2.2 and 6.2.3 failures a UAA may carry, as SIP answers. */
static void refuse_experimental(uint32_t code, struct icscf_decision *d)
{
	switch (code) {
	case CX_ERROR_USER_UNKNOWN:
		refuse(d, 403, "Forbidden - User Unknown");
		break;
	case CX_ERROR_IDENTITIES_DONT_MATCH:
		refuse(d, 403, "Forbidden - Identities Don't Match");
		break;
	case CX_ERROR_ROAMING_NOT_ALLOWED:
		refuse(d, 403, "Forbidden - Roaming Not Allowed");
		break;
	case CX_ERROR_IDENTITY_NOT_REGISTERED:
		refuse(d, 403, "Forbidden - Identity Not Registered");
		break;
	default:
		/* TS 24.229 5.3.1.2: any other negative answer of the HSS -> 403. */
		refuse(d, code >= 5000 ? 403 : 480, NULL);
		break;
	}
}

void icscf_reg_decide(const struct topo *topo, const struct topo_domain *home,
                      const struct dia_call_result *r, unsigned turn, struct icscf_decision *d)
{
	const struct cx_uaa *a = r->answer;

	memset(d, 0, sizeof(*d));
	/* TS 24.229 5.3.1.2: the HSS cannot be asked -> 480 (Temporarily Unavailable). */
	if (r->err || !a) {
		refuse(d, 480, NULL);
		return;
	}
	if (a->result.experimental) {
		switch (a->result.code) {
		case CX_FIRST_REGISTRATION:
			pick(topo, home, a, turn, 600, d);
			return;
		case CX_SUBSEQUENT_REGISTRATION:
		case CX_UNREGISTERED_SERVICE:
			pick(topo, home, a, turn, 480, d);
			return;
		default:
			refuse_experimental(a->result.code, d);
			return;
		}
	}
	if (a->result.code == DIA_SUCCESS) {
		/* De-registration: the serving S-CSCF. */
		pick(topo, home, a, turn, 480, d);
	} else if (a->result.code == DIA_AUTHORIZATION_REJECTED) {
		refuse(d, 403, "Forbidden - Authorization Rejected");
	} else if (a->result.code >= 5000) {
		refuse(d, 403, NULL);
	} else {
		/* 3xxx (DIAMETER_UNABLE_TO_DELIVER, TOO_BUSY...) and 4xxx are transient. */
		refuse(d, 480, NULL);
	}
}

/* ---- the held request ---- */

static void reply(struct icscf *ic, struct sip_req *req, int status, const char *reason)
{
	icscf_stats_reply(&ic->stats.reg, status);
	sip_req_reply(req, status, reason, NULL);
}

static void uar_free(struct icscf *ic, struct icscf_uar *u)
{
	ic->n_pending--;
	if (u->prev)
		u->prev->next = u->next;
	else
		ic->pending = u->next;
	if (u->next)
		u->next->prev = u->prev;
	free(u);
}

/* Forwards req to the S-CSCF named in d (TS 24.229 5.3.1.2: the Request-URI stays). */
static void forward(struct icscf *ic, struct sip_req *req, const struct icscf_decision *d)
{
	struct sip_target target;
	int r = sip_proxy_resolve(ic->proxy, d->scscf, strlen(d->scscf), &target);

	if (r < 0) {
		log_warn("S-CSCF %s: cannot resolve (%s)", d->scscf, strerror(-r));
		reply(ic, req, 504, "Server Time-out - S-CSCF unknown");
		return;
	}
	/* RFC 3261 16.4: a Route naming us (a P-CSCF may preload one) goes. */
	r = sip_req_pop_routes(req, NULL, 0);
	if (r >= 0)
		r = sip_req_forward(req, &target);
	if (r < 0) {
		log_warn("REGISTER to %s: cannot forward (%s)", d->scscf, strerror(-r));
		reply(ic, req, 503, NULL);
	}
}

static void on_uaa(void *arg, const struct dia_call_result *r)
{
	struct icscf_uar *u = arg;
	struct icscf *ic = u->ic;
	struct sip_req *req = u->req;
	struct icscf_decision d;

	icscf_stats_cx(&ic->stats.uar, r,
	               r->answer ? &((const struct cx_uaa *)r->answer)->result : NULL);
	if (u->cancelled) {
		uar_free(ic, u);
		return;
	}
	sip_req_set_data(req, NULL, NULL);
	uar_free(ic, u);
	icscf_reg_decide(ic->topo, ic->node->domain, r, ic->turn++, &d);
	if (d.status) {
		reply(ic, req, d.status, d.reason);
		return;
	}
	forward(ic, req, &d);
}

void icscf_reg_on_request(struct icscf *ic, struct sip_req *req)
{
	struct cx_uar q;
	struct icscf_uar *u;
	int r;

	ic->stats.reg.requests++;
	r = icscf_reg_uar(sip_req_msg(req), ic->node->domain->name, ic->hss->fqdn, &q);
	if (r < 0) {
		reply(ic, req, 400, r == -EBADMSG ? "Invalid To header" : "Identity too long");
		return;
	}
	if (ic->n_pending >= ICSCF_UAR_INFLIGHT_MAX) {
		icscf_stats_reply(&ic->stats.reg, 503);
		sip_req_reply(req, 503, NULL, "Retry-After: 1\r\n");
		return;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		reply(ic, req, 500, NULL);
		return;
	}
	*u = (struct icscf_uar){.ic = ic, .req = req, .next = ic->pending};
	r = dia_call(ic->loop, CX_UAR, &q, ic->cx_timeout_ms, on_uaa, u);
	if (r < 0) {
		free(u);
		log_warn("UAR for %s: not sent (%s)", q.public_identity, strerror(-r));
		reply(ic, req, 480, NULL);
		return;
	}
	if (ic->pending)
		ic->pending->prev = u;
	ic->pending = u;
	ic->n_pending++;
	ic->stats.uar.sent++;
	sip_req_set_data(req, u, NULL);
}

void icscf_reg_on_gone(struct icscf *ic, struct sip_req *req)
{
	struct icscf_uar *u = sip_req_data(req);

	(void)ic;
	if (!u)
		return;
	u->cancelled = true;
	u->req = NULL;
	sip_req_set_data(req, NULL, NULL);
}

void icscf_reg_on_response(struct icscf *ic, struct sip_req *req, struct sip_msg *resp)
{
	int status = sip_msg_status(resp);

	(void)req;
	/* A 408 is our core's (Timer F: the S-CSCF never answered) or the S-CSCF's own. */
	if (status >= 200)
		icscf_stats_forwarded(&ic->stats.reg, status, status == 408);
}

void icscf_reg_fini(struct icscf *ic)
{
	while (ic->pending)
		uar_free(ic, ic->pending);
}
