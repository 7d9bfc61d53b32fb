/* Calls at the P-CSCF (TS 24.229 5.2.6; RFC 3261 16; RFC 3325; RFC 3608): every request
 * but REGISTER. Which side sent it decides: a UE (any source that is not a node of the
 * lab) must be registered from that address; its initial requests follow its
 * Service-Route with the identity the network asserts for it and our Record-Route
 * (originating, 5.2.6.3), its in-dialog requests their Route set. Requests from the core
 * reach a UE through the Path we put in its registration (Route user "term",
 * terminating, 5.2.6.4) or through the dialog's Route set, at the address and over the
 * transport the UE registered from. Requests for the P-CSCF itself (OPTIONS) are
 * answered here. Bodies are never touched. */
#include "pcscf.h"

#include "log.h"
#include "sip_proxy.h"
#include "topo.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 3261 11.2 / 20.5: what a request for the P-CSCF itself may be, and what we relay. */
#define ALLOW_RELAYED                                                                              \
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, UPDATE, INFO, MESSAGE, "       \
	"SUBSCRIBE, NOTIFY, REFER, PUBLISH\r\n"
#define ALLOW_LOCAL "Allow: OPTIONS\r\n"

static const char *const outcome_names[PCSCF_CALL_N] = {
    [PCSCF_CALL_ORIG] = "orig",
    [PCSCF_CALL_TERM] = "term",
    [PCSCF_CALL_DIALOG_UP] = "in_dialog_from_ue",
    [PCSCF_CALL_DIALOG_DOWN] = "in_dialog_to_ue",
    [PCSCF_CALL_ROUTE_FIXED] = "route_replaced",
    [PCSCF_CALL_UNREACHABLE] = "unreachable",
    [PCSCF_CALL_LOCAL] = "local",
    [PCSCF_CALL_FAILED] = "failed",
};

const char *pcscf_call_outcome_name(enum pcscf_call_outcome o)
{
	return o < PCSCF_CALL_N ? outcome_names[o] : "other";
}

static struct sip_span span_of(const char *s)
{
	return (struct sip_span){s, strlen(s)};
}

static bool span_ieq(struct sip_span a, struct sip_span b)
{
	return a.len == b.len && (a.len == 0 || strncasecmp(a.p, b.p, a.len) == 0);
}

/* ---- decisions on messages (no daemon state) ---- */

static uint16_t default_port(const struct sip_uri *u)
{
	if (u->port)
		return u->port;
	return strcmp(u->scheme, "sips") == 0 ? 5061 : 5060;
}

bool pcscf_call_same_uri(struct sip_span a, struct sip_span b)
{
	struct sip_uri ua, ub;
	const char *ta, *tb;

	if (a.len == b.len && memcmp(a.p, b.p, a.len) == 0)
		return true;
	if (sip_msg_uri_parse(a.p, a.len, &ua) < 0 || sip_msg_uri_parse(b.p, b.len, &ub) < 0)
		return false;
	ta = ua.transport[0] ? ua.transport : "udp";
	tb = ub.transport[0] ? ub.transport : "udp";
	return strcmp(ua.scheme, ub.scheme) == 0 && strcmp(ua.user, ub.user) == 0 &&
	       strcasecmp(ua.host, ub.host) == 0 && default_port(&ua) == default_port(&ub) &&
	       strcasecmp(ta, tb) == 0;
}

/* The URI of r's registered set equal to uri, or NULL. */
static const char *in_set(const struct pcscf_reg *r, struct sip_span uri)
{
	if (span_ieq(uri, span_of(r->impu)))
		return r->impu;
	for (size_t i = 0; i < r->n_assoc; i++)
		if (span_ieq(uri, span_of(r->assoc[i])))
			return r->assoc[i];
	return NULL;
}

const char *pcscf_call_identity(const struct pcscf_reg *r, const struct sip_msg *m)
{
	struct sip_value_iter it;
	struct sip_span v;
	const char *id;

	/* RFC 3325 9.2: one value per URI scheme at most; the first of the set wins. */
	sip_msg_values(m, "P-Preferred-Identity", &it);
	while (sip_msg_values_next(&it, &v)) {
		struct sip_span uri = sip_msg_addr_uri(v);

		if (uri.len && (id = in_set(r, uri)))
			return id;
	}
	return r->n_assoc ? r->assoc[0] : r->impu;
}

int pcscf_call_edit_identity(struct sip_msg *m, const char *uri)
{
	char value[PCSCF_URI_MAX + 3];
	unsigned mark = sip_msg_edit_mark(m);
	int n = snprintf(value, sizeof(value), "<%s>", uri);
	int r;

	if (n < 0 || (size_t)n >= sizeof(value))
		return -EMSGSIZE;
	r = sip_msg_edit_remove(m, "P-Asserted-Identity");
	if (r >= 0)
		r = sip_msg_edit_remove(m, "P-Preferred-Identity");
	if (r >= 0)
		r = sip_msg_edit_append(m, "P-Asserted-Identity", value);
	if (r < 0) {
		sip_msg_edit_rollback(m, mark);
		return r;
	}
	return 0;
}

bool pcscf_call_routes_match(const struct sip_msg *m, unsigned skip, const char *const *sr,
                             size_t n)
{
	struct sip_value_iter it;
	struct sip_span v;
	unsigned seen = 0;
	size_t i = 0;

	sip_msg_values(m, "Route", &it);
	while (sip_msg_values_next(&it, &v)) {
		if (seen++ < skip)
			continue;
		if (i == n ||
		    !pcscf_call_same_uri(sip_msg_addr_uri(v), sip_msg_addr_uri(span_of(sr[i]))))
			return false;
		i++;
	}
	return i == n;
}

int pcscf_call_replace_routes(struct sip_msg *m, const char *const *sr, size_t n)
{
	unsigned mark = sip_msg_edit_mark(m);
	/* Pushed values land where the first Route line was; without one, a push would go
	 * before the Via lines, so the values are appended instead. */
	bool had = sip_msg_header_values(m, "Route") > 0;
	int r = sip_msg_edit_remove(m, "Route");

	for (size_t i = 0; r >= 0 && i < n; i++)
		r = had ? sip_msg_edit_push(m, "Route", sr[i])
		        : sip_msg_edit_append(m, "Route", sr[i]);
	if (r < 0) {
		sip_msg_edit_rollback(m, mark);
		return r;
	}
	return 0;
}

bool pcscf_call_privacy_id(const struct sip_msg *m)
{
	struct sip_value_iter it;
	struct sip_span v;

	/* RFC 3323 4.2: Privacy: priv-value *(";" priv-value). */
	sip_msg_values(m, "Privacy", &it);
	while (sip_msg_values_next(&it, &v)) {
		const char *p = v.p, *end = v.p + v.len;

		while (p < end) {
			const char *t;

			while (p < end && (*p == ';' || *p == ',' || isspace((unsigned char)*p)))
				p++;
			for (t = p;
			     p < end && *p != ';' && *p != ',' && !isspace((unsigned char)*p); p++)
				;
			if (p - t == 2 && strncasecmp(t, "id", 2) == 0)
				return true;
		}
	}
	return false;
}

/* ---- the daemon's view of a request ---- */

static void count(struct pcscf *pc, enum pcscf_call_outcome o)
{
	pc->stats.call[o]++;
}

/* Answers req (an ACK is dropped) and counts the outcome. */
static void answer(struct pcscf *pc, struct sip_req *req, int status, const char *reason,
                   enum pcscf_call_outcome o)
{
	count(pc, o);
	sip_req_reply(req, status, reason, NULL);
}

/* The status for a failed routing step: unknown next hop, bad URI, or anything else. */
static void routing_failed(struct pcscf *pc, struct sip_req *req, const char *what, int err)
{
	struct sip_span ruri = sip_msg_ruri(sip_req_msg(req));

	log_warn("%.*s to %.*s: %s (%s)", (int)sip_msg_method_text(sip_req_msg(req)).len,
	         sip_msg_method_text(sip_req_msg(req)).p, (int)ruri.len, ruri.p, what,
	         strerror(-err));
	if (err == -ENOENT)
		answer(pc, req, 404, "Not Found - next hop unknown", PCSCF_CALL_FAILED);
	else if (err == -EBADMSG || err == -EINVAL || err == -EMSGSIZE)
		answer(pc, req, 400, NULL, PCSCF_CALL_FAILED);
	else
		answer(pc, req, 503, NULL, PCSCF_CALL_FAILED);
}

/* Sends req to t and counts o; on failure answers 503. */
static void send_to(struct pcscf *pc, struct sip_req *req, const struct sip_target *t,
                    enum pcscf_call_outcome o)
{
	int r = sip_req_forward(req, t);

	if (r < 0) {
		log_warn("cannot forward a request (%s)", strerror(-r));
		answer(pc, req, 503, NULL, PCSCF_CALL_FAILED);
		return;
	}
	count(pc, o);
}

/* Forwards req to the next hop of its (edited) Route set or Request-URI. */
static void send_next_hop(struct pcscf *pc, struct sip_req *req, enum pcscf_call_outcome o)
{
	struct sip_target t;
	int r = sip_req_next_hop(req, &t);

	if (r < 0) {
		routing_failed(pc, req, "no next hop", r);
		return;
	}
	send_to(pc, req, &t, o);
}

static bool has_to_tag(const struct sip_msg *m)
{
	struct sip_span tag;
	size_t len;
	const char *to = sip_msg_header(m, "To", &len);

	return to && sip_msg_param((struct sip_span){to, len}, "tag", &tag) == 0 && tag.len;
}

/* Requests from the CSCFs and HSSs of the lab come from the network side. */
static bool from_core(const struct pcscf *pc, const struct sip_req *req)
{
	in_addr_t a = sip_req_source(req)->sin_addr.s_addr;

	for (size_t i = 0; i < pc->n_core; i++)
		if (pc->core[i].s_addr == a)
			return true;
	return false;
}

/* r when it is a registration the request may use: registered, from the address it
 * registered from, and for a UE registered over TCP over TCP (one registered over UDP
 * may use TCP for large requests, RFC 3261 18.1.1). */
static const struct pcscf_reg *usable(const struct pcscf_reg *r, const struct sip_req *req)
{
	if (!r || r->state != PCSCF_REGISTERED)
		return NULL;
	if (r->ue.sin_addr.s_addr != sip_req_source(req)->sin_addr.s_addr)
		return NULL;
	if (r->proto == SIP_PROTO_TCP && sip_req_proto(req) != SIP_PROTO_TCP)
		return NULL;
	return r;
}

/* TS 24.229 5.2.6.3.1: the registration of the UE that sent req, found by the identities
 * it claims (P-Preferred-Identity, From), its Contact, or its source address, and
 * accepted only from the address (and transport) it registered from. NULL: not a
 * registered UE. */
static const struct pcscf_reg *sender(const struct pcscf *pc, struct sip_req *req)
{
	static const char *const by_identity[] = {"P-Preferred-Identity", "From"};
	struct sip_msg *m = sip_req_msg(req);
	const struct pcscf_reg *r;
	struct sip_value_iter it;
	struct sip_span v, uri;

	for (size_t i = 0; i < sizeof(by_identity) / sizeof(by_identity[0]); i++) {
		sip_msg_values(m, by_identity[i], &it);
		while (sip_msg_values_next(&it, &v)) {
			uri = sip_msg_addr_uri(v);
			if (uri.len &&
			    (r = usable(pcscf_store_find(pc->store, uri.p, uri.len), req)))
				return r;
		}
	}
	/* Anonymous From (RFC 3323): the contact or the address still name the UE. */
	sip_msg_values(m, "Contact", &it);
	if (sip_msg_values_next(&it, &v)) {
		uri = sip_msg_addr_uri(v);
		if (uri.len &&
		    (r = usable(pcscf_store_find_contact(pc->store, uri.p, uri.len), req)))
			return r;
	}
	return usable(pcscf_store_find_addr(pc->store, sip_req_source(req)), req);
}

/* Number of Route values on top that name us (RFC 3261 16.4), and the URI of the last
 * Route value in *last (for a strict-routed request). */
static unsigned own_routes(const struct pcscf *pc, const struct sip_msg *m, unsigned *total,
                           struct sip_span *last)
{
	struct sip_value_iter it;
	struct sip_span v, uri;
	unsigned own = 0;
	bool ours = true;

	*total = 0;
	*last = (struct sip_span){NULL, 0};
	sip_msg_values(m, "Route", &it);
	while (sip_msg_values_next(&it, &v)) {
		uri = sip_msg_addr_uri(v);
		ours = ours && uri.len && sip_proxy_is_us(pc->proxy, uri.p, uri.len);
		if (ours)
			own++;
		(*total)++;
		*last = uri;
	}
	return own;
}

/* Where a request for the UE of r goes: the address and transport it registered from
 * (TS 24.229 5.2.6.4: the security association); over TCP its connection, and if that
 * is gone the address its contact names, where it listens. */
static void ue_target(const struct pcscf *pc, const struct pcscf_reg *r, struct sip_target *t)
{
	struct sip_target c;

	*t = (struct sip_target){.addr = r->ue, .proto = r->proto};
	if (r->proto != SIP_PROTO_TCP)
		return;
	t->conn_id = r->conn_id;
	if (sip_proxy_resolve(pc->proxy, r->contact, strlen(r->contact), &c) == 0)
		t->addr = c.addr;
}

/* ---- requests for the P-CSCF itself ---- */

/* RFC 3261 11.2: a capability query (or keep-alive) addressed to us is answered; a
 * request for a user at our address names nobody; other methods are not ours. */
static void local(struct pcscf *pc, struct sip_req *req)
{
	struct sip_msg *m = sip_req_msg(req);
	struct sip_span ruri = sip_msg_ruri(m);
	struct sip_uri u;

	count(pc, PCSCF_CALL_LOCAL);
	switch (sip_msg_method(m)) {
	case SIP_OPTIONS:
		sip_req_reply(req, 200, NULL, ALLOW_RELAYED);
		return;
	case SIP_ACK:
		sip_req_reply(req, 200, NULL, NULL);
		return;
	default:
		break;
	}
	if (sip_msg_uri_parse(ruri.p, ruri.len, &u) == 0 && u.user[0])
		sip_req_reply(req, 404, NULL, NULL);
	else
		sip_req_reply(req, 405, NULL, ALLOW_LOCAL);
}

/* ---- from a UE ---- */

/* RFC 3261 16.4: a strict router before us put our URI in the Request-URI and the real
 * one in the last Route value, which becomes the Request-URI again. */
static int unstrict(struct sip_msg *m, struct sip_span last)
{
	char uri[PCSCF_URI_MAX + 1];

	if (last.len >= sizeof(uri))
		return -EMSGSIZE;
	memcpy(uri, last.p, last.len);
	uri[last.len] = '\0';
	return sip_msg_edit_ruri(m, uri);
}

/* TS 24.229 5.2.6.3.2, RFC 3608: the Route set of an initial request of the UE of r must
 * be our URI(s) followed by exactly its Service-Route; any other set is replaced by the
 * Service-Route (5.2.6.3.2 allows replacing or refusing; replacing keeps a sloppy UE
 * working and still keeps it on its S-CSCF). Without a stored Service-Route, only our
 * values go. 0 or -errno. */
static int enforce_service_route(struct pcscf *pc, struct sip_req *req, const struct pcscf_reg *r)
{
	struct sip_msg *m = sip_req_msg(req);
	struct sip_span ruri = sip_msg_ruri(m), last;
	unsigned total, own = own_routes(pc, m, &total, &last);
	bool strict = total && sip_proxy_is_us(pc->proxy, ruri.p, ruri.len);
	int err = 0;

	if (r->n_service_route == 0 ||
	    (!strict && pcscf_call_routes_match(m, own, r->service_route, r->n_service_route))) {
		err = sip_req_pop_routes(req, NULL, 0);
		return err < 0 ? err : 0;
	}
	log_info("%s: Route set replaced by the Service-Route %s%s", r->impu, r->service_route[0],
	         r->n_service_route > 1 ? ",..." : "");
	count(pc, PCSCF_CALL_ROUTE_FIXED);
	if (strict)
		err = unstrict(m, last);
	if (err == 0)
		err = pcscf_call_replace_routes(m, r->service_route, r->n_service_route);
	return err;
}

/* TS 24.229 5.2.6.3.2: an initial request of the UE of r: along its Service-Route, with
 * the identity the network asserts for it, Record-Routed when it creates a dialog. */
static void originate(struct pcscf *pc, struct sip_req *req, const struct pcscf_reg *r, bool dialog)
{
	struct sip_msg *m = sip_req_msg(req);
	struct sip_target t;
	struct sip_span sr0;
	int err = enforce_service_route(pc, req, r);

	if (err == 0)
		err = pcscf_call_edit_identity(m, pcscf_call_identity(r, m));
	/* calls.md: one Record-Route of ours serves both directions of the dialog. */
	if (err == 0 && dialog)
		err = sip_req_record_route(req, NULL);
	if (err < 0) {
		routing_failed(pc, req, "cannot edit", err);
		return;
	}
	if (r->n_service_route == 0) {
		/* no Service-Route stored: the UE's own Route set, else the Request-URI */
		send_next_hop(pc, req, PCSCF_CALL_ORIG);
		return;
	}
	/* The first Service-Route entry is the next hop, whether the UE's Route set was
	 * kept or replaced. */
	sr0 = sip_msg_addr_uri(span_of(r->service_route[0]));
	err = sip_proxy_resolve(pc->proxy, sr0.p, sr0.len, &t);
	if (err < 0) {
		routing_failed(pc, req, "Service-Route unresolvable", err);
		return;
	}
	send_to(pc, req, &t, PCSCF_CALL_ORIG);
}

/* calls.md: an in-dialog request of a registered UE (ACK of a 2xx included) follows its
 * Route set; the identity is asserted as for an initial request. */
static void ue_in_dialog(struct pcscf *pc, struct sip_req *req, const struct pcscf_reg *r)
{
	struct sip_msg *m = sip_req_msg(req);
	int err = sip_req_pop_routes(req, NULL, 0);

	if (err >= 0)
		err = pcscf_call_edit_identity(m, pcscf_call_identity(r, m));
	if (err < 0) {
		routing_failed(pc, req, "cannot edit", err);
		return;
	}
	send_next_hop(pc, req, PCSCF_CALL_DIALOG_UP);
}

static void from_ue(struct pcscf *pc, struct sip_req *req, bool dialog)
{
	const struct pcscf_reg *r = sender(pc, req);

	/* TS 24.229 5.2.6.3.1: nothing passes without a registration (and its SA). */
	if (!r) {
		pc->stats.forbidden++;
		sip_req_reply(req, 403, "Forbidden - not registered", NULL);
		return;
	}
	if (has_to_tag(sip_req_msg(req)))
		ue_in_dialog(pc, req, r);
	else
		originate(pc, req, r, dialog);
}

/* ---- from the core ---- */

/* TS 24.229 5.2.6.4: a request for the UE whose contact is the Request-URI (an initial
 * one came along our Path, RFC 3327): Record-Route for a dialog, identity privacy
 * (RFC 3325 9.3: the UE is outside the trust domain), and the UE's registered address
 * and transport. An in-dialog request for a contact that is no longer registered still
 * goes to the contact (the dialog outlives the registration); an initial one gets 480
 * (TS 24.229 allows 404 or 480: the user exists, the contact is just not reachable). */
static void terminate(struct pcscf *pc, struct sip_req *req, bool in_dialog, bool dialog)
{
	struct sip_msg *m = sip_req_msg(req);
	struct sip_span ruri = sip_msg_ruri(m);
	const struct pcscf_reg *r = pcscf_store_find_contact(pc->store, ruri.p, ruri.len);
	struct sip_target t;
	int err = 0;

	if (!r && in_dialog) {
		send_next_hop(pc, req, PCSCF_CALL_DIALOG_DOWN);
		return;
	}
	if (!r) {
		answer(pc, req, 480, "Temporarily Unavailable - contact not registered",
		       PCSCF_CALL_UNREACHABLE);
		return;
	}
	if (pcscf_call_privacy_id(m))
		err = sip_msg_edit_remove(m, "P-Asserted-Identity");
	if (err >= 0 && dialog && !in_dialog)
		err = sip_req_record_route(req, NULL);
	if (err < 0) {
		routing_failed(pc, req, "cannot edit", err);
		return;
	}
	ue_target(pc, r, &t);
	if (!in_dialog)
		sip_req_set_data(req, &pc->term_mark, NULL);
	send_to(pc, req, &t, in_dialog ? PCSCF_CALL_DIALOG_DOWN : PCSCF_CALL_TERM);
}

/* The side is told by the source address, so the user part of our popped Route (our
 * Path's "term", or none for the dialog's Record-Route) is not needed: either way, with
 * no Route left, the Request-URI is the UE's contact. */
static void from_network(struct pcscf *pc, struct sip_req *req, bool dialog)
{
	struct sip_msg *m = sip_req_msg(req);
	struct sip_span ruri = sip_msg_ruri(m), last;
	unsigned total;
	bool strict, in_dialog = has_to_tag(m);
	int popped;

	own_routes(pc, m, &total, &last);
	strict = total && sip_proxy_is_us(pc->proxy, ruri.p, ruri.len);
	popped = sip_req_pop_routes(req, NULL, 0);
	if (popped < 0) {
		routing_failed(pc, req, "cannot pop our Route", popped);
		return;
	}
	/* Route values left (or a strict-routed Request-URI): we are a hop on the way. */
	if (strict || (unsigned)popped < total) {
		send_next_hop(pc, req, in_dialog ? PCSCF_CALL_DIALOG_DOWN : PCSCF_CALL_TERM);
		return;
	}
	/* Our Path ("term") or no Route at all: the Request-URI is a UE's contact. */
	terminate(pc, req, in_dialog, dialog);
}

void pcscf_call_on_request(struct pcscf *pc, struct sip_req *req, bool dialog)
{
	struct sip_msg *m = sip_req_msg(req);
	struct sip_span ruri = sip_msg_ruri(m), last;
	unsigned total;

	/* For us: the Request-URI names us and no Route value names anyone else. */
	if (sip_proxy_is_us(pc->proxy, ruri.p, ruri.len) &&
	    own_routes(pc, m, &total, &last) == total)
		local(pc, req);
	else if (from_core(pc, req))
		from_network(pc, req, dialog);
	else
		from_ue(pc, req, dialog);
}

void pcscf_call_on_response(struct pcscf *pc, struct sip_req *req, struct sip_msg *resp)
{
	int status = sip_msg_status(resp);
	struct sip_span ruri;
	const struct pcscf_reg *r;
	int err;

	/* TS 24.229 5.2.6.4: the answering UE's identity in responses that set up the
	 * dialog is asserted by us like its requests' (RFC 3325 9.1). */
	if (sip_req_data(req) != &pc->term_mark || status <= 100 || status >= 300)
		return;
	ruri = sip_msg_ruri(sip_req_msg(req));
	r = pcscf_store_find_contact(pc->store, ruri.p, ruri.len);
	if (!r)
		return;
	err = pcscf_call_edit_identity(resp, pcscf_call_identity(r, resp));
	if (err < 0)
		log_warn("%d from %s: identity not asserted (%s)", status, r->impu, strerror(-err));
}

int pcscf_call_init(struct pcscf *pc)
{
	pc->n_core = 0;
	for (size_t d = 0; d < pc->topo->n_domains; d++) {
		const struct topo_domain *dom = &pc->topo->domains[d];

		for (size_t i = 0; i < dom->n_nodes; i++) {
			const struct topo_node *n = &dom->nodes[i];

			if (n->role == TOPO_UE || n == pc->node)
				continue;
			if (pc->n_core == PCSCF_CORE_MAX)
				return -ENOSPC;
			if (inet_pton(AF_INET, n->address, &pc->core[pc->n_core]) == 1)
				pc->n_core++;
		}
	}
	return 0;
}
