/* Registration at the P-CSCF (TS 24.229 5.2.2): a REGISTER from a UE goes to the I-CSCF
 * of the home domain named by its Request-URI with our Path (RFC 3327) and
 * P-Visited-Network-ID (RFC 7315 4.3); the 401 loses its ck= and ik= (TS 33.203 7.1),
 * which become the UE's emulated security association; the 200 OK is stored (contact,
 * UE address, P-Associated-URI, Service-Route per RFC 3608, expiry) and a 200 to a
 * de-registration forgets it. Everything reads the received bytes; nothing here
 * re-serialises a message. */
#include "pcscf.h"

#include "codec.h"
#include "log.h"
#include "sip_proxy.h"
#include "topo.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define TAGS_MAX 512 /* bytes of a rewritten Require / Proxy-Require value */

static const char *const outcome_names[PCSCF_OUT_N] = {
    [PCSCF_OUT_CHALLENGED] = "challenged",     [PCSCF_OUT_REGISTERED] = "registered",
    [PCSCF_OUT_REREGISTERED] = "reregistered", [PCSCF_OUT_DEREGISTERED] = "deregistered",
    [PCSCF_OUT_REJECTED] = "rejected",         [PCSCF_OUT_DOMAIN_NOT_SERVED] = "domain_not_served",
    [PCSCF_OUT_BAD_REQUEST] = "bad_request",   [PCSCF_OUT_FORWARD_FAILED] = "forward_failed",
    [PCSCF_OUT_STORE_FAILED] = "store_failed", [PCSCF_OUT_EXPIRED] = "expired",
};

const char *pcscf_reg_outcome_name(enum pcscf_reg_outcome o)
{
	return o < PCSCF_OUT_N ? outcome_names[o] : "other";
}

/* ---- reading values ---- */

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value of auth parameter name (quotes removed) in one challenge or credentials
 * value (RFC 3261 25.1: auth-scheme LWS auth-param *(COMMA auth-param)). 0 or -ENOENT. */
static int auth_param(struct sip_span v, const char *name, struct sip_span *out)
{
	const char *p = v.p, *end = v.p + v.len, *q;
	size_t nlen = strlen(name);

	for (q = p; q < end && !is_lws(*q) && *q != '=' && *q != ','; q++)
		;
	while (q < end && is_lws(*q))
		q++;
	/* A first token followed by '=' is a parameter: there was no scheme. */
	if (q >= end || *q != '=')
		p = q;
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
		p++;
		while (p < end && is_lws(*p))
			p++;
		if (p < end && *p == '"') {
			vs = ++p;
			while (p < end && *p != '"')
				p += (*p == '\\' && p + 1 < end) ? 2 : 1;
			ve = p < end ? p : end;
			if (p < end)
				p++;
		} else {
			for (vs = p; p < end && *p != ',' && !is_lws(*p); p++)
				;
			ve = p;
		}
		if ((size_t)(ne - n) == nlen && strncasecmp(n, name, nlen) == 0) {
			*out = (struct sip_span){vs, (size_t)(ve - vs)};
			return 0;
		}
	}
	return -ENOENT;
}

struct sip_span pcscf_reg_impi(const struct sip_msg *m, struct sip_span impu)
{
	struct sip_value_iter it;
	struct sip_span v, user;

	sip_msg_values(m, "Authorization", &it);
	while (sip_msg_values_next(&it, &v))
		if (auth_param(v, "username", &user) == 0 && user.len)
			return user;
	/* ims.md: without credentials the IMPI is the IMPU without its scheme. */
	if (impu.len > 4 && strncasecmp(impu.p, "sip:", 4) == 0)
		return (struct sip_span){impu.p + 4, impu.len - 4};
	if (impu.len > 5 && strncasecmp(impu.p, "sips:", 5) == 0)
		return (struct sip_span){impu.p + 5, impu.len - 5};
	return impu;
}

static bool span_is(struct sip_span v, const char *s)
{
	size_t n = strlen(s);

	return v.len == n && strncasecmp(v.p, s, n) == 0;
}

static bool has_tag(const struct sip_msg *m, const char *header, const char *tag)
{
	struct sip_value_iter it;
	struct sip_span v;

	sip_msg_values(m, header, &it);
	while (sip_msg_values_next(&it, &v))
		if (span_is(sip_msg_trim(v), tag))
			return true;
	return false;
}

/* ---- the REGISTER on its way to the I-CSCF ---- */

/* Rewrites the option tags of header without drop and, when add is not NULL, with add
 * (once). Touches nothing when no tag changes. 0 or -errno. */
static int rewrite_tags(struct sip_msg *m, const char *header, const char *drop, const char *add)
{
	char buf[TAGS_MAX];
	size_t len = 0;
	bool changed = false, have_add = false;
	struct sip_value_iter it;
	struct sip_span v;
	int r;

	buf[0] = '\0';
	sip_msg_values(m, header, &it);
	while (sip_msg_values_next(&it, &v)) {
		v = sip_msg_trim(v);
		if (v.len == 0 || span_is(v, drop)) {
			changed = true;
			continue;
		}
		if (add && span_is(v, add))
			have_add = true;
		if (len + v.len + 3 > sizeof(buf))
			return -EMSGSIZE;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%.*s", len ? ", " : "",
		                        (int)v.len, v.p);
	}
	if (add && !have_add) {
		if (len + strlen(add) + 3 > sizeof(buf))
			return -EMSGSIZE;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? ", " : "", add);
		changed = true;
	}
	if (!changed)
		return 0;
	r = sip_msg_edit_remove(m, header);
	if (r >= 0 && len)
		r = sip_msg_edit_append(m, header, buf);
	return r < 0 ? r : 0;
}

int pcscf_reg_edit_request(struct sip_msg *m, const char *path, const char *pvni)
{
	/* Headers a UE may not set toward the core (RFC 3325 5, RFC 7315 4.3) or that
	 * only concern the UE-P-CSCF hop (RFC 3329 2.4, TS 24.229 5.2.2.1); a REGISTER
	 * goes to the home domain's entry point whatever Route the UE preloaded. */
	static const char *const strip[] = {"Security-Client", "Security-Verify",
	                                    "P-Asserted-Identity", "P-Visited-Network-ID", "Route"};
	unsigned mark = sip_msg_edit_mark(m);
	/* RFC 3327 5.2: the P-CSCF needs the registrar to honour Path, so it requires the
	 * extension, but only of a UE that declared support for it; a UE that did not is
	 * still served (the lab's S-CSCFs support Path) rather than refused with 421. */
	bool path_ok = has_tag(m, "Supported", "path");
	int r;

	r = rewrite_tags(m, "Require", "sec-agree", path_ok ? "path" : NULL);
	if (r == 0)
		r = rewrite_tags(m, "Proxy-Require", "sec-agree", NULL);
	for (size_t i = 0; r >= 0 && i < sizeof(strip) / sizeof(strip[0]); i++)
		r = sip_msg_edit_remove(m, strip[i]);
	if (r >= 0)
		r = sip_msg_edit_push(m, "Path", path);
	if (r >= 0)
		r = sip_msg_edit_append(m, "P-Visited-Network-ID", pvni);
	if (r < 0) {
		sip_msg_edit_rollback(m, mark);
		return r;
	}
	return 0;
}

/* ---- responses ---- */

int pcscf_reg_take_keys(struct sip_msg *resp, struct pcscf_sa *sa)
{
	static const char *const names[] = {"ck", "ik"};
	struct sip_value_iter it;
	struct sip_span v, ck, ik;

	*sa = (struct pcscf_sa){0};
	sip_msg_values(resp, "WWW-Authenticate", &it);
	while (sip_msg_values_next(&it, &v)) {
		if (auth_param(v, "ck", &ck) < 0 || auth_param(v, "ik", &ik) < 0)
			continue;
		if (codec_hex_decode_len(ck.p, ck.len, sa->ck, sizeof(sa->ck)) == sizeof(sa->ck) &&
		    codec_hex_decode_len(ik.p, ik.len, sa->ik, sizeof(sa->ik)) == sizeof(sa->ik)) {
			sa->set = true;
			break;
		}
	}
	return sip_msg_edit_auth_remove(resp, "WWW-Authenticate", names, 2);
}

/* RFC 3261 19.1.4, simplified: the same bytes, or the same user, host and port. */
static bool same_contact(struct sip_span a, struct sip_span b)
{
	struct sip_uri ua, ub;

	if (a.len == b.len && strncasecmp(a.p, b.p, a.len) == 0)
		return true;
	if (sip_msg_uri_parse(a.p, a.len, &ua) < 0 || sip_msg_uri_parse(b.p, b.len, &ub) < 0)
		return false;
	return strcmp(ua.scheme, ub.scheme) == 0 && strcmp(ua.user, ub.user) == 0 &&
	       strcasecmp(ua.host, ub.host) == 0 && ua.port == ub.port;
}

/* The expires parameter of one Contact value (RFC 3261 20.10) into *secs (capped).
 * 0, -ENOENT when absent, -EBADMSG when not 1*DIGIT. */
static int contact_expires(struct sip_span v, uint32_t *secs)
{
	struct sip_span e;
	uint64_t n = 0;

	if (sip_msg_param(v, "expires", &e) < 0)
		return -ENOENT;
	if (e.len == 0)
		return -EBADMSG;
	for (size_t i = 0; i < e.len; i++) {
		if (!isdigit((unsigned char)e.p[i]))
			return -EBADMSG;
		if (n < UINT32_MAX)
			n = n * 10 + (uint64_t)(e.p[i] - '0');
	}
	*secs = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	return 0;
}

/* Expiry of the UE's contact in the 200: its expires parameter, else the Expires header,
 * else what was asked. -ENOENT when the contact is not listed (the registrar removed it). */
static int granted_expiry(const struct sip_msg *resp, struct sip_span contact, uint32_t asked,
                          uint32_t *secs)
{
	struct sip_value_iter it;
	struct sip_span v, uri;
	uint32_t hdr;
	int r;

	sip_msg_values(resp, "Contact", &it);
	while (sip_msg_values_next(&it, &v)) {
		uri = sip_msg_addr_uri(v);
		if (uri.len == 0 || !same_contact(uri, contact))
			continue;
		r = contact_expires(v, secs);
		if (r == -ENOENT)
			*secs = sip_msg_expires(resp, &hdr) == 0 ? hdr : asked;
		return r == -ENOENT ? 0 : r;
	}
	return -ENOENT;
}

int pcscf_reg_binding(const struct sip_msg *req, const struct sip_msg *resp,
                      const struct sockaddr_in *src, enum sip_proto proto, uint64_t conn_id,
                      struct pcscf_binding *b)
{
	struct sip_value_iter it;
	struct sip_span v;
	const char *p;
	size_t len;
	uint32_t asked = 3600, hdr;
	int r;

	*b = (struct pcscf_binding){.ue = *src, .proto = proto, .conn_id = conn_id};
	p = sip_msg_header(req, "To", &len);
	if (!p)
		return -EBADMSG;
	b->impu = sip_msg_addr_uri((struct sip_span){p, len});
	if (b->impu.len == 0)
		return -EBADMSG;
	b->impi = pcscf_reg_impi(req, b->impu);
	/* The UE's contact: the first Contact of its REGISTER. */
	p = sip_msg_header(req, "Contact", &len);
	if (!p)
		return -EBADMSG;
	v = sip_msg_trim((struct sip_span){p, len});
	if (v.len == 1 && v.p[0] == '*')
		return 0;
	b->contact = sip_msg_addr_uri(v);
	if (b->contact.len == 0)
		return -EBADMSG;
	r = contact_expires(v, &asked);
	if (r == -ENOENT && sip_msg_expires(req, &hdr) == 0)
		asked = hdr;
	else if (r == -EBADMSG)
		return r;
	if (asked == 0)
		return 0;
	r = granted_expiry(resp, b->contact, asked, &b->expires);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (b->expires == 0)
		return 0;
	/* TS 24.229 5.2.2.2: the implicit set, default identity first. Beyond the bound the
	 * extra identities are not kept: the UE still works with the first ones. */
	sip_msg_values(resp, "P-Associated-URI", &it);
	while (sip_msg_values_next(&it, &v) && b->n_assoc < PCSCF_ASSOC_MAX) {
		struct sip_span uri = sip_msg_addr_uri(v);

		if (uri.len)
			b->assoc[b->n_assoc++] = uri;
	}
	/* RFC 3608 6: kept in order, whole; a cut route list would misroute, so too long a
	 * list is an error. */
	sip_msg_values(resp, "Service-Route", &it);
	while (sip_msg_values_next(&it, &v)) {
		v = sip_msg_trim(v);
		if (v.len == 0)
			continue;
		if (b->n_service_route == PCSCF_ROUTE_MAX)
			return -EMSGSIZE;
		b->service_route[b->n_service_route++] = v;
	}
	return 1;
}

/* ---- the handlers ---- */

static void count(struct pcscf *pc, enum pcscf_reg_outcome o)
{
	pc->stats.reg[o]++;
}

/* Replies and counts; a reply that cannot be sent was logged by the core. */
static void refuse(struct pcscf *pc, struct sip_req *req, int status, const char *reason,
                   enum pcscf_reg_outcome o)
{
	count(pc, o);
	sip_req_reply(req, status, reason, NULL);
}

void pcscf_reg_on_request(struct pcscf *pc, struct sip_req *req)
{
	struct sip_msg *m = sip_req_msg(req);
	struct sip_span ruri = sip_msg_ruri(m), impu;
	struct sip_target target;
	struct sip_uri u;
	const char *to;
	size_t len;
	int r;

	pc->stats.reg_requests++;
	/* TS 24.229 5.2.2.1 needs the UE's contact and public identity; a REGISTER without
	 * Contact is a binding query (RFC 3261 10.2.3), which no IMS UE sends. */
	if (sip_msg_header_values(m, "Contact") == 0) {
		refuse(pc, req, 400, "Missing Contact header", PCSCF_OUT_BAD_REQUEST);
		return;
	}
	to = sip_msg_header(m, "To", &len);
	impu = to ? sip_msg_addr_uri((struct sip_span){to, len}) : (struct sip_span){NULL, 0};
	if (impu.len == 0 || impu.len > PCSCF_URI_MAX) {
		refuse(pc, req, 400, to ? "Invalid To header" : "Missing To header",
		       PCSCF_OUT_BAD_REQUEST);
		return;
	}
	/* RFC 3261 10.2: a REGISTER's Request-URI names a domain, without userinfo. */
	if (sip_msg_uri_parse(ruri.p, ruri.len, &u) < 0 || u.host[0] == '\0' || u.user[0]) {
		refuse(pc, req, 400, "Invalid Request-URI", PCSCF_OUT_BAD_REQUEST);
		return;
	}
	/* The Request-URI names the home domain (TS 24.229 5.1.1.2.1); its I-CSCF is the
	 * entry point. A domain the lab does not know cannot be reached. */
	if (!topo_domain_by_name(pc->topo, u.host) ||
	    sip_proxy_resolve(pc->proxy, ruri.p, ruri.len, &target) < 0) {
		refuse(pc, req, 403, "Domain not served", PCSCF_OUT_DOMAIN_NOT_SERVED);
		return;
	}
	r = pcscf_reg_edit_request(m, pc->path, pc->pvni);
	if (r < 0) {
		log_warn("REGISTER for %.*s: cannot edit (%s)", (int)impu.len, impu.p,
		         strerror(-r));
		refuse(pc, req, r == -EMSGSIZE ? 400 : 500, NULL, PCSCF_OUT_BAD_REQUEST);
		return;
	}
	r = sip_req_forward(req, &target);
	if (r < 0) {
		log_warn("REGISTER for %.*s: cannot forward (%s)", (int)impu.len, impu.p,
		         strerror(-r));
		refuse(pc, req, 503, NULL, PCSCF_OUT_FORWARD_FAILED);
	}
}

static void on_challenge(struct pcscf *pc, struct sip_req *req, struct sip_msg *resp,
                         struct sip_span impu)
{
	struct pcscf_sa sa;
	int r = pcscf_reg_take_keys(resp, &sa);

	count(pc, PCSCF_OUT_CHALLENGED);
	if (r < 0) {
		log_warn("401 for %.*s: cannot strip ck/ik (%s)", (int)impu.len, impu.p,
		         strerror(-r));
		return;
	}
	if (!sa.set)
		return; /* SIP Digest (MD5): no keys, no security association */
	r = pcscf_store_challenge(pc->store, impu, pcscf_reg_impi(sip_req_msg(req), impu), &sa);
	if (r < 0)
		log_warn("401 for %.*s: security association not kept (%s)", (int)impu.len, impu.p,
		         strerror(-r));
}

static void on_success(struct pcscf *pc, struct sip_req *req, struct sip_msg *resp,
                       struct sip_span impu)
{
	const struct pcscf_reg *old = pcscf_store_find(pc->store, impu.p, impu.len);
	bool was_registered = old && old->state == PCSCF_REGISTERED;
	struct pcscf_binding b;
	int r;

	r = pcscf_reg_binding(sip_req_msg(req), resp, sip_req_source(req), sip_req_proto(req),
	                      sip_req_conn(req), &b);
	if (r == 0) {
		pcscf_store_forget(pc->store, impu.p, impu.len);
		count(pc, PCSCF_OUT_DEREGISTERED);
		return;
	}
	if (r > 0)
		r = pcscf_store_register(pc->store, &b);
	if (r < 0) {
		log_warn("200 for %.*s: registration not kept (%s)", (int)impu.len, impu.p,
		         strerror(-r));
		count(pc, PCSCF_OUT_STORE_FAILED);
		return;
	}
	count(pc, was_registered ? PCSCF_OUT_REREGISTERED : PCSCF_OUT_REGISTERED);
}

void pcscf_reg_on_response(struct pcscf *pc, struct sip_req *req, struct sip_msg *resp)
{
	int status = sip_msg_status(resp);
	struct sip_span impu;
	const char *to;
	size_t len;

	if (status < 200)
		return;
	/* The request passed pcscf_reg_on_request, so its To was checked. */
	to = sip_msg_header(sip_req_msg(req), "To", &len);
	if (!to)
		return;
	impu = sip_msg_addr_uri((struct sip_span){to, len});
	if (status == 401)
		on_challenge(pc, req, resp, impu);
	else if (status >= 200 && status < 300)
		on_success(pc, req, resp, impu);
	else
		count(pc, PCSCF_OUT_REJECTED);
}

void pcscf_reg_on_expired(void *arg, const struct pcscf_reg *r)
{
	struct pcscf *pc = arg;

	count(pc, PCSCF_OUT_EXPIRED);
	log_info("registration of %s (contact %s) expired", r->impu, r->contact);
}

int pcscf_reg_init(struct pcscf *pc)
{
	const char *uri = sip_proxy_uri(pc->proxy);
	int n;

	/* ims.md: Path <sip:term@fqdn:port;lr>: the user part marks the terminating
	 * direction (TS 24.229 5.2.2.1), sip_proxy_uri gives the rest. */
	if (strncmp(uri, "sip:", 4) == 0)
		uri += 4;
	n = snprintf(pc->path, sizeof(pc->path), "<sip:term@%s>", uri);
	if (n < 0 || (size_t)n >= sizeof(pc->path))
		return -ENAMETOOLONG;
	/* TS 24.229 5.2.2.1: our network, as the home network knows it: the domain name. */
	n = snprintf(pc->pvni, sizeof(pc->pvni), "\"%s\"", pc->node->domain->name);
	if (n < 0 || (size_t)n >= sizeof(pc->pvni))
		return -ENAMETOOLONG;
	return 0;
}
