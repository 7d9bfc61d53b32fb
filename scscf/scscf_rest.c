/* The S-CSCF's REST API (ARCHITECTURE.md, REST conventions; ims.md): GET /status,
 * /metrics (counters named after the TS 32.409 registration measurements, routing and
 * session counters), the registrations as the registrar holds them (/registrations,
 * /registrations/{impu}), /diameter/peers and the dialogs the core tracks (/dialogs).
 * Handlers run on the loop thread and read the registrar directly. */
#include "scscf.h"

#include "daemon.h"
#include "dia_core.h"
#include "loop.h"
#include "prom.h"
#include "rest.h"
#include "sip_proxy.h"
#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 1000  /* registrations one GET /registrations shows without ?limit */
#define LIST_MAX     10000 /* most ?limit accepts */

static const char *const kind_names[SCSCF_REG_KINDS] = {"init", "re", "de"};

bool scscf_ready(const struct scscf *s)
{
	/* ims.md: ready once SIP listens and the HSS peer is open, and only while it is. */
	return s->sip_ready && dia_core_peer_open(s->hss_fqdn);
}

/* --- registrations as JSON ----------------------------------------------------------------- */

/* The Path list of a binding as its values. */
static json_t *path_json(const char *path)
{
	const char *vals[SCSCF_ROUTES_MAX];
	char buf[SCSCF_PATH_MAX];
	json_t *list = json_array();
	int n;

	snprintf(buf, sizeof(buf), "%s", path);
	n = scscf_route_split(buf, vals, SCSCF_ROUTES_MAX);
	for (int i = 0; list && i < n; i++)
		json_array_append_new(list, json_string(vals[i]));
	return list;
}

static json_t *contacts_json(const struct scscf_reg *r, uint64_t now)
{
	json_t *list = json_array();

	for (const struct scscf_contact *c = r->contacts; list && c; c = c->next) {
		uint64_t left = c->expires_ms > now ? (c->expires_ms - now + 999) / 1000 : 0;

		json_array_append_new(list,
		                      json_pack("{s:s, s:I, s:f, s:o, s:s, s:I}", "uri", c->uri,
		                                "expires_in", (json_int_t)left, "q", c->q / 1000.0,
		                                "path", path_json(c->path), "call_id", c->call_id,
		                                "cseq", (json_int_t)c->cseq));
	}
	return list;
}

json_t *scscf_rest_reg_json(const struct scscf *s, const struct scscf_reg *r, const char *impu,
                            uint64_t now)
{
	json_t *assoc = json_array(), *barred = json_array();

	/* TS 24.229 5.4.1.2.2: what the 200 announced in P-Associated-URI, default first. */
	for (size_t i = 0; assoc && barred && i < r->n_impus; i++)
		json_array_append_new(r->impus[i].id.barred ? barred : assoc,
		                      json_string(r->impus[i].id.uri));
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:[s], s:s}", "impu", impu, "impi",
	                 r->impi, "state", "registered", "contacts", contacts_json(r, now),
	                 "associated_uris", assoc, "barred_uris", barred, "service_route",
	                 s->service_route, "scscf", s->server_name);
}

static const char *reg_name(const struct scscf_reg *r)
{
	const char *impu = scscf_regtab_default_impu(r);

	return impu ? impu : r->impus[0].id.uri;
}

static void on_list(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct scscf *s = app;
	uint64_t now = loop_now(s->loop);
	json_t *list;
	size_t limit, n = 0;
	const struct scscf_reg *r;

	if (rest_query_limit(req, LIST_DEFAULT, LIST_MAX, &limit) < 0) {
		rest_error(resp, 400, "limit: expected an integer 1-%d", LIST_MAX);
		return;
	}
	list = json_array();
	for (r = s->regs.head; list && r && n < limit; r = r->next, n++)
		json_array_append_new(list, scscf_rest_reg_json(s, r, reg_name(r), now));
	rest_json(resp, 200,
	          json_pack("{s:I, s:o, s:b}", "count", (json_int_t)s->regs.n_regs, "registrations",
	                    list, "truncated", r != NULL));
}

static void on_get(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct scscf *s = app;
	const struct scscf_reg *r = scscf_regtab_find(&s->regs, req->args[0]);

	if (!r) {
		rest_error(resp, 404, "no registration for %.*s", SCSCF_URI_MAX, req->args[0]);
		return;
	}
	rest_json(resp, 200, scscf_rest_reg_json(s, r, req->args[0], loop_now(s->loop)));
}

/* --- status and metrics ---------------------------------------------------------------------- */

static json_t *cx_json(const struct scscf_stats *st)
{
	json_t *all = json_object();

	for (int c = 0; all && c < SCSCF_CX_N; c++) {
		json_t *answers = json_object();

		for (size_t k = 0; answers && k < SCSCF_CX_RESULTS; k++)
			if (st->cx_answers[c][k])
				json_object_set_new(answers, scscf_cx_result_label(k),
				                    json_integer((json_int_t)st->cx_answers[c][k]));
		json_object_set_new(
		    all, scscf_cx_cmd_name((enum scscf_cx_cmd)c),
		    json_pack("{s:I, s:o, s:I}", "requests", (json_int_t)st->cx_requests[c],
		              "answers", answers, "latency_us_avg",
		              (json_int_t)(st->cx_latency_n[c]
		                               ? st->cx_latency_us[c] / st->cx_latency_n[c]
		                               : 0)));
	}
	return all;
}

static json_t *registration_json(const struct scscf_stats *st)
{
	json_t *o = json_object();

	for (int k = 0; o && k < SCSCF_REG_KINDS; k++)
		json_object_set_new(o, kind_names[k],
		                    json_pack("{s:I, s:I, s:I}", "attempts",
		                              (json_int_t)st->reg_attempts[k], "success",
		                              (json_int_t)st->reg_success[k], "failures",
		                              (json_int_t)st->reg_failures[k]));
	if (o &&
	    json_object_update_new(
	        o, json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rejected",
	                     (json_int_t)st->reg_rejected, "challenges", (json_int_t)st->challenges,
	                     "stale_challenges", (json_int_t)st->stale_challenges, "auth_failures",
	                     (json_int_t)st->auth_failures, "resyncs", (json_int_t)st->resyncs,
	                     "bindings_expired", (json_int_t)st->bindings_expired,
	                     "registrations_expired", (json_int_t)st->regs_expired)) < 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* Routing counters of scscf_call.c. */
static json_t *calls_json(const struct scscf_stats *st)
{
	return json_pack(
	    "{s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, s:I, s:I}", "originating", "requests",
	    (json_int_t)st->orig_requests, "forbidden", (json_int_t)st->orig_forbidden,
	    "unroutable", (json_int_t)st->orig_unroutable, "terminating", "requests",
	    (json_int_t)st->term_requests, "unregistered", (json_int_t)st->term_unregistered,
	    "not_found", (json_int_t)st->term_not_found, "branches", (json_int_t)st->term_branches,
	    "in_dialog", (json_int_t)st->in_dialog, "route_failures",
	    (json_int_t)st->route_failures);
}

static void on_status(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct scscf *s = app;
	json_t *more = json_pack(
	    "{s:i, s:i, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "sip_port",
	    (int)s->node->sip_port, "diameter_port", (int)s->node->diameter_port, "server_name",
	    s->server_name, "hss", s->hss_fqdn, "hss_open", (int)dia_core_peer_open(s->hss_fqdn),
	    "registrations", (json_int_t)s->regs.n_regs, "bindings", (json_int_t)s->regs.n_contacts,
	    "auth_pending", (json_int_t)scscf_auth_count(s->auth), "pending_requests",
	    (json_int_t)s->n_txns, "registration", registration_json(&s->stats), "cx",
	    cx_json(&s->stats), "calls", calls_json(&s->stats));
	json_t *core = sip_proxy_status_json(s->proxy);

	/* OPTIONS answered by the S-CSCF itself count with the core's SIP counters. */
	json_object_set_new(json_object_get(core, "sip"), "options",
	                    json_integer((json_int_t)s->stats.options));
	rest_json(resp, 200,
	          rest_json_merge(
	              rest_json_merge(daemon_status_json(s->daemon, scscf_ready(s)), more), core));
}

/* One family with a sample per registration kind: scscf_reg_<kind>_<what>_total. */
static void prom_kinds(struct prom *p, const char *what, const char *help, const uint64_t *v)
{
	char name[PROM_MAX_NAME + 1], h[160];

	for (int k = 0; k < SCSCF_REG_KINDS; k++) {
		snprintf(name, sizeof(name), "scscf_reg_%s_%s_total", kind_names[k], what);
		snprintf(h, sizeof(h), "%s (%s-registration)", help,
		         k == SCSCF_REG_INIT ? "initial"
		         : k == SCSCF_REG_RE ? "re"
		                             : "de");
		prom_counter(p, name, h, NULL, v[k]);
	}
}

static void prom_cx(struct prom *p, const struct scscf_stats *st)
{
	char labels[64];

	for (int c = 0; c < SCSCF_CX_N; c++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "command",
		           scscf_cx_cmd_name((enum scscf_cx_cmd)c));
		prom_counter(p, "scscf_cx_requests_total", "Cx requests sent, by command", labels,
		             st->cx_requests[c]);
	}
	for (int c = 0; c < SCSCF_CX_N; c++)
		for (size_t k = 0; k < SCSCF_CX_RESULTS; k++) {
			if (!st->cx_answers[c][k])
				continue;
			labels[0] = '\0';
			prom_label(labels, sizeof(labels), "command",
			           scscf_cx_cmd_name((enum scscf_cx_cmd)c));
			prom_label(labels, sizeof(labels), "result", scscf_cx_result_label(k));
			prom_counter(
			    p, "scscf_cx_answers_total",
			    "Cx outcomes by command and (experimental) result code, timeout "
			    "or error (not sent, undecodable)",
			    labels, st->cx_answers[c][k]);
		}
	for (int c = 0; c < SCSCF_CX_N; c++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "command",
		           scscf_cx_cmd_name((enum scscf_cx_cmd)c));
		prom_counter(p, "scscf_cx_latency_microseconds_total",
		             "Sum of Cx round trips of answered requests, by command", labels,
		             st->cx_latency_us[c]);
	}
	for (int c = 0; c < SCSCF_CX_N; c++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "command",
		           scscf_cx_cmd_name((enum scscf_cx_cmd)c));
		prom_counter(p, "scscf_cx_latency_samples_total",
		             "Answered Cx requests in the latency sum, by command", labels,
		             st->cx_latency_n[c]);
	}
}

/* TS 24.229 5.4.3: originating, terminating and in-dialog routing. */
static void prom_calls(struct prom *p, const struct scscf *s)
{
	const struct scscf_stats *st = &s->stats;

	prom_counter(p, "scscf_orig_requests_total",
	             "Initial requests received on the originating side (orig Route)", NULL,
	             st->orig_requests);
	prom_counter(p, "scscf_orig_forbidden_total",
	             "Originating requests refused 403: served user not registered here", NULL,
	             st->orig_forbidden);
	prom_counter(p, "scscf_orig_unroutable_total",
	             "Originating requests refused for their target (400, 404, 416, 604)", NULL,
	             st->orig_unroutable);
	prom_counter(p, "scscf_term_requests_total",
	             "Initial requests received on the terminating side", NULL, st->term_requests);
	prom_counter(p, "scscf_term_unregistered_total",
	             "Terminating requests for a user without a live contact (480)", NULL,
	             st->term_unregistered);
	prom_counter(p, "scscf_term_not_found_total",
	             "Terminating requests refused 400/404/416 (barred, foreign, no user)", NULL,
	             st->term_not_found);
	prom_counter(p, "scscf_term_branches_total", "Branches forked to registered contacts", NULL,
	             st->term_branches);
	prom_counter(p, "scscf_in_dialog_requests_total",
	             "Requests routed on their dialog's Route set", NULL, st->in_dialog);
	prom_counter(p, "scscf_route_failures_total",
	             "Requests whose next hop was unresolvable or could not be forwarded", NULL,
	             st->route_failures);
}

static void on_metrics(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct scscf *s = app;
	const struct scscf_stats *st = &s->stats;
	struct prom p = {0};

	/* TS 32.409 4.1 (S-CSCF registration measurements): attempts count every REGISTER
	 * received for the procedure, the challenged first one included. */
	prom_kinds(&p, "attempts", "REGISTER requests received", st->reg_attempts);
	prom_kinds(&p, "success", "REGISTER requests answered 200", st->reg_success);
	prom_kinds(&p, "failures", "REGISTER requests answered with an error but 401",
	           st->reg_failures);
	prom_counter(&p, "scscf_reg_rejected_total",
	             "REGISTER requests refused before authentication (400, 403, 423)", NULL,
	             st->reg_rejected);
	prom_counter(&p, "scscf_auth_challenges_total", "401 challenges sent", NULL,
	             st->challenges);
	prom_counter(&p, "scscf_auth_stale_challenges_total",
	             "401 challenges with stale=true (unknown or expired nonce)", NULL,
	             st->stale_challenges);
	prom_counter(&p, "scscf_auth_failures_total", "Wrong authentication responses (403)", NULL,
	             st->auth_failures);
	prom_counter(&p, "scscf_auth_resyncs_total", "AKA resynchronisations (auts) received", NULL,
	             st->resyncs);
	prom_counter(&p, "scscf_reg_bindings_expired_total", "Bindings removed by expiry", NULL,
	             st->bindings_expired);
	prom_counter(&p, "scscf_reg_expired_total",
	             "Registrations ended by expiry (SAR TIMEOUT_DEREGISTRATION)", NULL,
	             st->regs_expired);
	prom_cx(&p, st);
	prom_gauge(&p, "scscf_registrations", "Registered implicit registration sets", NULL,
	           (double)s->regs.n_regs);
	prom_gauge(&p, "scscf_bindings", "Registered contacts", NULL, (double)s->regs.n_contacts);
	prom_gauge(&p, "scscf_auth_pending_vectors", "Challenges awaiting an answer", NULL,
	           (double)scscf_auth_count(s->auth));
	prom_gauge(&p, "scscf_pending_requests", "Requests waiting for the HSS", NULL,
	           (double)s->n_txns);
	sip_proxy_prom(s->proxy, "scscf", &p);
	prom_calls(&p, s);
	prom_gauge(&p, "scscf_hss_peer_open", "1 while the Diameter connection to the HSS is open",
	           NULL, dia_core_peer_open(s->hss_fqdn) ? 1 : 0);
	prom_gauge(&p, "scscf_ready", "1 when SIP listens and the HSS peer is open", NULL,
	           scscf_ready(s) ? 1 : 0);
	rest_text(resp, 200, prom_take(&p), PROM_CONTENT_TYPE);
}

static void on_peers(void *app, const struct rest_request *req, struct rest_response *resp)
{
	rest_json(resp, 200, daemon_dia_peers_json());
}

/* The dialogs this S-CSCF Record-Routed, as the core tracks them (shaped as the
 * P-CSCF's GET /dialogs). */
static void on_dialogs(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct scscf *s = app;
	json_t *list = sip_proxy_dialogs_json(s->proxy);

	if (!list) {
		rest_error(resp, 500, "out of memory");
		return;
	}
	rest_json(
	    resp, 200,
	    json_pack("{s:I, s:o}", "total", (json_int_t)json_array_size(list), "dialogs", list));
}

static const struct rest_route scscf_routes[] = {
    {"GET", "/status", on_status},        {"GET", "/metrics", on_metrics},
    {"GET", "/registrations", on_list},   {"GET", "/registrations/{}", on_get},
    {"GET", "/diameter/peers", on_peers}, {"GET", "/dialogs", on_dialogs},
};

int scscf_rest_init(struct scscf *s)
{
	s->rest = rest_new(s->loop, s->node->address, s->node->rest_port, scscf_routes,
	                   sizeof(scscf_routes) / sizeof(scscf_routes[0]), s);
	/* rest_new logged why (address, port in use). */
	return s->rest ? 0 : -EIO;
}

void scscf_rest_fini(struct scscf *s)
{
	rest_free(s->rest);
	s->rest = NULL;
}
