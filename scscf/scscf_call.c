/* The S-CSCF's routing of every request but REGISTER (TS 24.229 5.4.3; RFC 3261 16):
 *   To tag present (in a dialog) ----------------> pop our Route values, next hop
 *   popped Route "orig" (our Service-Route) ------> originating (5.4.3.2): served user
 *                                                   from P-Asserted-Identity, else 403;
 *                                                   Record-Route; to the I-CSCF of the
 *                                                   target's domain (404, 604)
 *   otherwise (from an I-CSCF) -------------------> terminating (5.4.3.3): registered:
 *                                                   Record-Route, fork to the contacts
 *                                                   along their Path; not: 480 (after
 *                                                   SAR UNREGISTERED_USER without a
 *                                                   record here)
 * The decisions are scscf_route.c's; this file applies them with the proxy core. */
#include "scscf.h"

#include "log.h"
#include "loop.h"
#include "sip_msg.h"
#include "sip_proxy.h"
#include "topo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Bytes of the user part of our popped Route that we look at ("orig"). */
#define ROUTE_USER_MAX 64

static void reply(struct scscf *s, struct sip_req *req, int status, const char *reason)
{
	s->io.reply(req, status, reason, NULL);
}

/* RFC 3261 12.1.1, 16.6 step 4: only a dialog-creating request needs our Record-Route for
 * the S-CSCF to see the dialog's later requests (TS 24.229 5.4.3.2 step 7, 5.4.3.3). */
static bool creates_dialog(const struct sip_msg *m)
{
	enum sip_method method = sip_msg_method(m);

	return method == SIP_INVITE || method == SIP_SUBSCRIBE || method == SIP_REFER;
}

/* RFC 3261 12.2: a To tag makes the request part of a dialog. */
static bool has_to_tag(const struct sip_msg *m)
{
	char tag[SIP_TOKEN_MAX];
	int rc = sip_msg_to_tag(m, tag, sizeof(tag));

	return rc == 0 || rc == -ENOSPC;
}

/* The next hop is this node itself (no Route value left and a Request-URI naming us):
 * forwarding would only come back. */
static bool is_self(const struct scscf *s, const struct sip_target *t)
{
	struct in_addr self;

	return s->node && inet_pton(AF_INET, s->node->address, &self) == 1 &&
	       t->addr.sin_addr.s_addr == self.s_addr &&
	       ntohs(t->addr.sin_port) == sip_proxy_port(s->proxy);
}

/* Record-Routes a dialog-creating request, then forwards it to target. */
static void forward(struct scscf *s, struct sip_req *req, const struct sip_target *target)
{
	struct sip_msg *m = sip_req_msg(req);
	int rc;

	if (creates_dialog(m)) {
		rc = sip_req_record_route(req, NULL);
		if (rc < 0) {
			log_err("cannot add Record-Route: %s", strerror(-rc));
			reply(s, req, 500, "Server Internal Error");
			return;
		}
	}
	rc = sip_req_forward(req, target);
	if (rc < 0) {
		s->stats.route_failures++;
		log_warn("cannot forward %.*s: %s", (int)sip_msg_method_text(m).len,
		         sip_msg_method_text(m).p, strerror(-rc));
		reply(s, req, 503, "Service Unavailable");
	}
}

/* RFC 3261 16.6 steps 6-7: to the first remaining Route value, else the Request-URI. */
static void forward_next_hop(struct scscf *s, struct sip_req *req)
{
	struct sip_msg *m = sip_req_msg(req);
	struct sip_target target;
	int rc;

	rc = sip_req_next_hop(req, &target);
	if (rc == 0 && is_self(s, &target))
		rc = -ENOENT;
	if (rc < 0) {
		s->stats.route_failures++;
		log_info("no next hop for %.*s: %s", (int)sip_msg_method_text(m).len,
		         sip_msg_method_text(m).p, strerror(-rc));
		/* An ACK is dropped by the reply (sip_proxy.h). */
		reply(s, req, rc == -EBADMSG ? 400 : 404,
		      rc == -EBADMSG ? "Bad Route" : "Not Found");
		return;
	}
	forward(s, req, &target);
}

/* --- in a dialog (RFC 3261 16.12; TS 24.229 5.4.5) ------------------------------------- */

/* BYE, re-INVITE, UPDATE, PRACK, INFO, NOTIFY, MESSAGE in a dialog and the ACK of a 2xx
 * follow the route set the dialog's Record-Route built; ours is already popped. */
static void in_dialog(struct scscf *s, struct sip_req *req)
{
	s->stats.in_dialog++;
	forward_next_hop(s, req);
}

/* --- originating (TS 24.229 5.4.3.2) ---------------------------------------------------- */

static const char *served_user_error(int rc)
{
	switch (rc) {
	case -ENOENT:
		return "no P-Asserted-Identity";
	case -EPERM:
		return "barred identity";
	case -EACCES:
		return "identity not registered here";
	default:
		return "identity too long";
	}
}

/* The entry point of domain d: sip_proxy_resolve gives a domain name's I-CSCF. */
static int resolve_domain(struct scscf *s, const struct topo_domain *d, struct sip_target *target)
{
	char uri[SCSCF_URI_MAX];
	int len = snprintf(uri, sizeof(uri), "sip:%s", d->name);

	if (len < 0 || (size_t)len >= sizeof(uri))
		return -EMSGSIZE;
	return sip_proxy_resolve(s->proxy, uri, (size_t)len, target);
}

static void originating(struct scscf *s, struct sip_req *req, struct sip_msg *m, int popped)
{
	struct sip_span ru = sip_msg_ruri(m);
	const struct topo_domain *d;
	char impu[SCSCF_URI_MAX];
	struct sip_target target;
	struct scscf_reg *reg;
	enum scscf_dest dest;
	const char *reason;
	int rc, status;

	s->stats.orig_requests++;
	rc = scscf_route_served_user(&s->regs, m, impu, sizeof(impu), &reg);
	if (rc < 0) {
		s->stats.orig_forbidden++;
		log_info("originating %.*s to %.*s refused: %s", (int)sip_msg_method_text(m).len,
		         sip_msg_method_text(m).p, (int)ru.len, ru.p, served_user_error(rc));
		reply(s, req, 403, "Forbidden");
		return;
	}
	/* RFC 3261 16.6 step 7: Route values left after ours name the next hop. */
	if ((int)sip_msg_header_values(m, "Route") > popped) {
		forward_next_hop(s, req);
		return;
	}
	dest = scscf_route_classify(s->topo, ru.p, ru.len, &d);
	if (dest != SCSCF_DEST_DOMAIN) {
		s->stats.orig_unroutable++;
		status = scscf_route_dest_status(dest, &reason);
		log_info("originating request of %s to %.*s: %d %s", impu, (int)ru.len, ru.p,
		         status, reason);
		reply(s, req, status, reason);
		return;
	}
	rc = resolve_domain(s, d, &target);
	if (rc < 0) {
		s->stats.route_failures++;
		log_warn("domain %s has no reachable I-CSCF: %s", d->name, strerror(-rc));
		reply(s, req, 404, "Not Found");
		return;
	}
	if (log_enabled(LOGL_DEBUG))
		log_debug("originating %.*s of %s to %.*s via %s", (int)sip_msg_method_text(m).len,
		          sip_msg_method_text(m).p, impu, (int)ru.len, ru.p, d->name);
	forward(s, req, &target);
}

/* --- terminating (TS 24.229 5.4.3.3) ---------------------------------------------------- */

static void on_saa_unregistered(void *arg, const struct dia_call_result *res)
{
	struct scscf_txn *t = arg;
	const struct cx_result *cr = scscf_cx_account(t->s, SCSCF_CX_SAR, res);

	t->cx_pending = false;
	/* TS 29.228 6.1.2: the HSS knows no such user (the I-CSCF's LIR would have said so
	 * already, unless the request came another way). */
	if (cr && cr->experimental && cr->code == CX_ERROR_USER_UNKNOWN)
		scscf_txn_reply(t, 404, "Not Found", NULL);
	else
		scscf_txn_reply(t, 480, "Temporarily Unavailable", NULL);
	if (!cr || !cx_result_success(cr))
		log_info("SAR UNREGISTERED_USER for %s: %s", t->r.impu,
		         cr ? dia_cx_result_name(cr->code, cr->experimental) : "no answer");
	scscf_txn_settle(t);
}

/* calls.md: the HSS sent the request here for a user with no registration record (LIR
 * 2003): SAR UNREGISTERED_USER makes us its S-CSCF, then 480 (no contact to reach).
 * Returns the context waiting for the SAA, or NULL when answered. */
static struct scscf_txn *unregistered(struct scscf *s, struct sip_req *req, const char *aor)
{
	struct scscf_txn *t = scscf_txn_new(s, req);

	s->stats.term_unregistered++;
	if (!t) {
		reply(s, req, 500, "Server Internal Error");
		return NULL;
	}
	snprintf(t->r.impu, sizeof(t->r.impu), "%s", aor);
	t->r.impi[0] = '\0';
	t->r.kind = SCSCF_REG_INIT;
	t->r.sat = CX_SAT_UNREGISTERED_USER;
	/* TS 29.228 6.1.2.1: no User-Name for an unregistered user; the HSS finds the
	 * subscription by the identity. */
	if (scscf_cx_send_sar(s, "", aor, CX_SAT_UNREGISTERED_USER, false, on_saa_unregistered, t) <
	    0)
		scscf_txn_reply(t, 480, "Temporarily Unavailable", NULL);
	else
		t->cx_pending = true;
	return scscf_txn_settle(t) ? NULL : t;
}

/* The edits every branch shares: our Record-Route on a dialog-creating request (RFC 3261
 * 16.6 step 4), and P-Called-Party-ID with the Request-URI as received (TS 24.229
 * 5.4.3.3, RFC 3455 4.2: the callee learns which identity of its set was called; the
 * lookup form aor when the received one is too long), replacing any sent before. */
static int terminating_edits(struct sip_req *req, const char *aor)
{
	struct sip_msg *m = sip_req_msg(req);
	struct sip_span ru = sip_msg_ruri(m);
	char value[2 * SCSCF_URI_MAX];
	int rc = 0, k;

	if (creates_dialog(m))
		rc = sip_req_record_route(req, NULL);
	k = snprintf(value, sizeof(value), "<%.*s>", (int)ru.len, ru.p);
	if (k < 0 || (size_t)k >= sizeof(value))
		snprintf(value, sizeof(value), "<%s>", aor);
	if (rc == 0)
		rc = sip_msg_edit_remove(m, "P-Called-Party-ID");
	if (rc >= 0)
		rc = sip_msg_edit_append(m, "P-Called-Party-ID", value);
	return rc < 0 ? rc : 0;
}

/* RFC 3261 16.5-16.6, TS 24.229 5.4.3.3: one branch per live contact, Request-URI :=
 * the contact, Route := its Path, all in parallel. */
static void fork_to_contacts(struct scscf *s, struct sip_req *req, const struct scscf_reg *reg,
                             const char *aor)
{
	struct sip_branch branches[SCSCF_CONTACTS_MAX];
	struct scscf_fork f;
	size_t n = 0;
	int rc;

	scscf_route_branches(reg, loop_now(s->loop), &f);
	for (size_t i = 0; i < f.n; i++) {
		struct sip_branch *b = &branches[n];

		rc = sip_proxy_resolve(s->proxy, f.b[i].hop, f.b[i].hop_len, &b->target);
		if (rc < 0) {
			log_warn("contact %s of %s: next hop %.*s: %s", f.b[i].ruri, aor,
			         (int)f.b[i].hop_len, f.b[i].hop, strerror(-rc));
			continue;
		}
		b->ruri = f.b[i].ruri;
		b->routes = f.b[i].routes;
		b->n_routes = f.b[i].n_routes;
		n++;
	}
	if (!n) {
		/* Registered, but no binding is alive or reachable. */
		s->stats.term_unregistered++;
		reply(s, req, 480, "Temporarily Unavailable");
		return;
	}
	rc = terminating_edits(req, aor);
	if (rc < 0) {
		log_err("cannot edit the request for %s: %s", aor, strerror(-rc));
		reply(s, req, 500, "Server Internal Error");
		return;
	}
	s->stats.term_branches += n;
	if (log_enabled(LOGL_DEBUG))
		log_debug("terminating request for %s: %zu branch(es)", aor, n);
	rc = sip_req_fork(req, branches, n);
	if (rc < 0) {
		s->stats.route_failures++;
		log_warn("cannot fork to the contacts of %s: %s", aor, strerror(-rc));
		reply(s, req, 503, "Service Unavailable");
	}
}

struct scscf_txn *scscf_call_terminating(struct scscf *s, struct sip_req *req, struct sip_msg *m)
{
	struct sip_span ru = sip_msg_ruri(m);
	char aor[SCSCF_URI_MAX];
	struct scscf_reg *reg;
	int rc;

	s->stats.term_requests++;
	rc = scscf_route_callee(&s->regs, s->realm, ru.p, ru.len, aor, sizeof(aor), &reg);
	switch (rc) {
	case 0:
		fork_to_contacts(s, req, reg, aor);
		return NULL;
	case -ENOENT:
		return unregistered(s, req, aor);
	case -EPROTONOSUPPORT:
		s->stats.term_not_found++;
		reply(s, req, 416, "Unsupported URI Scheme");
		return NULL;
	case -EBADMSG:
	case -EMSGSIZE:
		s->stats.term_not_found++;
		reply(s, req, 400, "Bad Request-URI");
		return NULL;
	default:
		/* Barred (TS 24.229 5.4.3.3), another domain's user, or no user at all. */
		s->stats.term_not_found++;
		log_info("terminating request to %.*s: %s", (int)ru.len, ru.p,
		         rc == -EPERM ? "barred identity" : "not a user of this domain");
		reply(s, req, 404, "Not Found");
		return NULL;
	}
}

/* --- entry ------------------------------------------------------------------------------ */

struct scscf_txn *scscf_call_on_request(struct scscf *s, struct sip_req *req, struct sip_msg *m)
{
	char user[ROUTE_USER_MAX] = "";
	int popped = sip_req_pop_routes(req, user, sizeof(user));

	if (popped < 0) {
		reply(s, req, popped == -EBADMSG ? 400 : 500,
		      popped == -EBADMSG ? "Bad Route" : "Server Internal Error");
		return NULL;
	}
	if (has_to_tag(m)) {
		in_dialog(s, req);
		return NULL;
	}
	/* TS 24.229 5.4.3.2: our Service-Route URI (user "orig") marks the originating
	 * side; what comes without it was sent by an I-CSCF for a user served here. */
	if (popped > 0 && strcmp(user, "orig") == 0) {
		originating(s, req, m, popped);
		return NULL;
	}
	return scscf_call_terminating(s, req, m);
}
