/* The UE's REST API (ARCHITECTURE.md, REST conventions): GET /status and /metrics, and
 * POST /register and /unregister, which answer once the operation is over (rest_defer):
 * 200 with the status, or an error carrying the SIP status and reason; the route table
 * also serves the calls, messages and settings of ue_rest_call.c. Runs on the loop
 * thread with the rest of the UE. */
#include "ue.h"

#include "log.h"
#include "loop.h"
#include "prom.h"
#include "rest.h"
#include "topo.h"
#include "version.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A POST /register, /unregister or /messages waiting for the end of its operation. */
struct ue_waiter {
	struct ue *ue;                /* the UE whose list holds this */
	enum ue_reg_op op;            /* registration operation it waits for */
	uint64_t page_id;             /* or the MESSAGE it waits for (0: none) */
	struct rest_pending *pending; /* owned by the REST server; answered once */
	struct ue_waiter *next;       /* next in ue->waiters */
};

json_t *ue_rest_str(const char *s)
{
	json_t *j = json_string(s);

	return j ? j : json_string("(not UTF-8)");
}

json_t *ue_rest_strn(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);

	return j ? j : json_string("(not UTF-8)");
}

static json_t *string_array(const char (*v)[UE_URI_MAX], size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, ue_rest_str(v[i]));
	return a;
}

static const char *op_name(enum ue_reg_op op)
{
	return op == UE_OP_REGISTER ? "register" : op == UE_OP_UNREGISTER ? "unregister" : NULL;
}

static json_t *registration_json(struct ue *ue)
{
	const struct ue_reg *r = &ue->reg;

	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o?, s:o?, s:o, s:o, s:s, s:s?, s:I, "
	                 "s:s?, s:s}",
	                 "state", ue_reg_state_name(r->state), "impu", ue->impu, "impi", ue->impi,
	                 "expires_in", (json_int_t)ue_reg_expires_in(ue), "expires",
	                 (json_int_t)r->expires, "expires_requested", (json_int_t)r->expires_req,
	                 "last_status", r->last_status ? json_integer(r->last_status) : NULL,
	                 "last_reason", r->last_status ? ue_rest_str(r->last_reason) : NULL,
	                 "service_route", string_array(r->service_route, r->n_service_route),
	                 "associated_uris", string_array(r->associated, r->n_associated), "contact",
	                 r->contact, "operation", op_name(r->op), "resyncs", (json_int_t)r->resyncs,
	                 "auth", r->have_auth ? ue_auth_alg_name(r->auth) : NULL, "call_id",
	                 r->call_id);
}

static json_t *status_json(struct ue *ue)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:i, s:s, s:s, s:o, s:{s:I, s:I}, s:b}",
	    "role", "ue", "name", ue->node->fqdn, "domain", ue->domain, "version", IMS_VERSION,
	    "pid", (json_int_t)getpid(), "uptime",
	    (json_int_t)((loop_clock_ms() - ue->started_ms) / 1000), "ready", (int)ue->ready,
	    "address", ue->node->address, "sip_port", (int)ue->node->sip_port, "transport",
	    ue->proto == SIP_PROTO_TCP ? "tcp" : "udp", "pcscf", ue->pcscf->fqdn, "registration",
	    registration_json(ue), "calls", "active", (json_int_t)ue_call_active(ue), "total",
	    (json_int_t)ue->n_calls, "auto_answer", (int)ue->settings.auto_answer);
}

static void on_status(void *app, const struct rest_request *req, struct rest_response *resp)
{
	rest_json(resp, 200, status_json(app));
}

static void stats_prom(struct ue *ue, struct prom *p)
{
	static const char *const classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"};
	const struct sip_transport_stats *ts = sip_transport_stats(ue->sip);
	char labels[64];

	for (unsigned c = 1; c < 7; c++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "class", classes[c]);
		prom_counter(p, "ue_sip_responses_total", "SIP responses received, by class",
		             labels, ue->stats.responses[c]);
	}
	prom_counter(p, "ue_sip_requests_received_total", "SIP requests received", NULL,
	             ue->stats.requests_in);
	prom_counter(p, "ue_sip_requests_retransmitted_total",
	             "Requests received again and absorbed by their server transaction", NULL,
	             ue->stats.retransmitted_in);
	prom_counter(p, "ue_sip_retransmissions_total", "Requests retransmitted (Timer A or E)",
	             NULL, ue->stats.retransmissions);
	prom_counter(p, "ue_sip_timeouts_total", "Client transactions timed out (Timer B or F)",
	             NULL, ue->stats.timeouts);
	prom_counter(p, "ue_sip_stray_responses_total", "Responses matching no transaction", NULL,
	             ue->stats.stray_responses);
	prom_counter(p, "ue_sip_parse_errors_total", "Messages dropped as unparsable", NULL,
	             ue->stats.parse_errors);
	for (unsigned d = 0; d < 2; d++) {
		for (int t = 0; t < SIP_PROTO_COUNT; t++) {
			labels[0] = '\0';
			prom_label(labels, sizeof(labels), "direction", d ? "out" : "in");
			prom_label(labels, sizeof(labels), "transport", t ? "tcp" : "udp");
			prom_counter(p, "ue_sip_messages_total",
			             "SIP messages by direction and transport", labels,
			             d ? ts->msgs_out[t] : ts->msgs_in[t]);
		}
	}
}

static void reg_prom(struct ue *ue, struct prom *p)
{
	static const enum ue_reg_state states[] = {UE_REG_UNREGISTERED, UE_REG_REGISTERING,
	                                           UE_REG_REGISTERED, UE_REG_FAILED};
	const struct ue_reg *r = &ue->reg;
	char labels[64];

	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "state", ue_reg_state_name(states[i]));
		prom_gauge(p, "ue_registration_state", "1 for the current registration state",
		           labels, r->state == states[i] ? 1 : 0);
	}
	prom_gauge(p, "ue_registration_expires_seconds", "Seconds left of the registration", NULL,
	           ue_reg_expires_in(ue));
	prom_counter(p, "ue_register_requests_total", "REGISTER requests sent", NULL,
	             r->registers_sent);
	prom_counter(p, "ue_registrations_total", "Successful registrations and re-registrations",
	             NULL, r->registrations);
	prom_counter(p, "ue_deregistrations_total", "Successful de-registrations", NULL,
	             r->deregistrations);
	prom_counter(p, "ue_registration_failures_total", "Failed (de-)registrations", NULL,
	             r->failures);
	prom_counter(p, "ue_aka_resyncs_total", "SQN resynchronisations (AUTS sent)", NULL,
	             r->resyncs);
	prom_counter(p, "ue_aka_mac_failures_total", "Challenges with a wrong network MAC", NULL,
	             r->mac_failures);
}

static void on_metrics(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct ue *ue = app;
	struct prom p = {0};

	reg_prom(ue, &p);
	stats_prom(ue, &p);
	ue_rest_call_prom(ue, &p);
	prom_gauge(&p, "ue_ready", "1 when SIP and REST are listening", NULL, ue->ready ? 1 : 0);
	prom_gauge(&p, "ue_uptime_seconds", "Seconds since the UE started", NULL,
	           (double)(loop_clock_ms() - ue->started_ms) / 1000.0);
	rest_text(resp, 200, prom_take(&p), PROM_CONTENT_TYPE);
}

/* The answer to a finished operation: 200 with the status, or an error naming the SIP
 * outcome: 403 when the network refused us, 504 when it did not answer, 502 otherwise
 * (other final responses, a network that failed authentication, transport errors). */
static void outcome(struct ue *ue, enum ue_reg_op op, bool ok, struct rest_response *resp)
{
	const struct ue_reg *r = &ue->reg;
	char msg[256];
	unsigned http;

	if (ok) {
		rest_json(resp, 200, status_json(ue));
		return;
	}
	http = r->mac_failure          ? 502
	       : r->last_status == 403 ? 403
	       : r->last_status == 408 ? 504
	                               : 502;
	snprintf(msg, sizeof(msg), "%s failed: %d %s",
	         op == UE_OP_UNREGISTER ? "de-registration" : "registration", r->last_status,
	         r->last_reason);
	rest_json(resp, http,
	          json_pack("{s:{s:I, s:o, s:I, s:o}, s:o}", "error", "code", (json_int_t)http,
	                    "message", ue_rest_str(msg), "sip_status", (json_int_t)r->last_status,
	                    "sip_reason", ue_rest_str(r->last_reason), "registration",
	                    registration_json(ue)));
}

void ue_rest_reg_done(struct ue *ue, enum ue_reg_op op, bool ok)
{
	struct ue_waiter **pp = &ue->waiters;

	while (*pp) {
		struct ue_waiter *w = *pp;
		struct rest_response resp = {0};

		if (w->page_id || w->op != op) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		outcome(ue, op, ok, &resp);
		rest_pending_answer(&w->pending, &resp);
		free(w);
	}
}

void ue_rest_page_done(struct ue *ue, const struct ue_page *pg)
{
	struct ue_waiter **pp = &ue->waiters;
	char msg[256];

	while (*pp) {
		struct ue_waiter *w = *pp;
		struct rest_response resp = {0};
		/* Timer F: the network did not answer; otherwise it refused. */
		unsigned http = strncmp(pg->reason, "no response", 11) == 0 ? 504 : 502;

		if (w->page_id != pg->id) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		if (pg->status >= 200 && pg->status < 300) {
			rest_json(&resp, 200, ue_pager_json(pg));
		} else {
			snprintf(msg, sizeof(msg), "MESSAGE failed: %d %s", pg->status, pg->reason);
			rest_json(&resp, http,
			          json_pack("{s:{s:I, s:o, s:I, s:o}, s:o}", "error", "code",
			                    (json_int_t)http, "message", ue_rest_str(msg),
			                    "sip_status", (json_int_t)pg->status, "sip_reason",
			                    ue_rest_str(pg->reason), "message", ue_pager_json(pg)));
		}
		rest_pending_answer(&w->pending, &resp);
		free(w);
	}
}

/* The server went away before the operation ended: forget the waiter. */
static void on_drop(void *arg)
{
	struct ue_waiter *w = arg;

	for (struct ue_waiter **pp = &w->ue->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	free(w);
}

/* Body of POST /register: nothing, or {"expires": N} with 1 <= N < 2^32. Returns 0 and
 * the value (0 when absent) or -EINVAL with resp set to 400. */
static int register_body(const struct rest_request *req, uint32_t *expires,
                         struct rest_response *resp)
{
	const char *key;
	json_t *v;

	*expires = 0;
	if (!req->json)
		return 0;
	if (!json_is_object(req->json)) {
		rest_error(resp, 400, "body: expected an object such as {\"expires\": 600}");
		return -EINVAL;
	}
	json_object_foreach(req->json, key, v)
	{
		if (strcmp(key, "expires") != 0) {
			rest_error(resp, 400, "unknown field %.64s", key);
			return -EINVAL;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > UINT32_MAX) {
			rest_error(resp, 400, "expires: expected an integer from 1 to %u",
			           UINT32_MAX);
			return -EINVAL;
		}
		*expires = (uint32_t)json_integer_value(v);
	}
	return 0;
}

/* Starts op (or joins the one running) and defers the answer to its end. */
static void start_and_wait(struct ue *ue, const struct rest_request *req, enum ue_reg_op op,
                           uint32_t expires, struct rest_response *resp)
{
	struct ue_waiter *w;
	int ret = ue_reg_start(ue, op, expires);

	if (ret == -EBUSY) {
		rest_error(resp, 409, "a %s is in progress",
		           op == UE_OP_REGISTER ? "de-registration" : "registration");
		return;
	}
	if (ret < 0 && ret != -EINPROGRESS) {
		/* The operation already failed (nothing could be sent). */
		outcome(ue, op, false, resp);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		rest_error(resp, 500, "out of memory");
		return;
	}
	w->ue = ue;
	w->op = op;
	w->pending = rest_defer(req, on_drop, w);
	if (!w->pending) {
		free(w);
		rest_error(resp, 500, "cannot defer the answer");
		return;
	}
	w->next = ue->waiters;
	ue->waiters = w;
}

int ue_rest_wait_page(struct ue *ue, const struct rest_request *req, uint64_t page_id)
{
	struct ue_waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->ue = ue;
	w->page_id = page_id;
	w->pending = rest_defer(req, on_drop, w);
	if (!w->pending) {
		free(w);
		return -ENOMEM;
	}
	w->next = ue->waiters;
	ue->waiters = w;
	return 0;
}

static void on_register(void *app, const struct rest_request *req, struct rest_response *resp)
{
	uint32_t expires;

	if (register_body(req, &expires, resp) < 0)
		return;
	start_and_wait(app, req, UE_OP_REGISTER, expires, resp);
}

static void on_unregister(void *app, const struct rest_request *req, struct rest_response *resp)
{
	if (req->json && (!json_is_object(req->json) || json_object_size(req->json) != 0)) {
		rest_error(resp, 400, "body: expected none or {}");
		return;
	}
	start_and_wait(app, req, UE_OP_UNREGISTER, 0, resp);
}

static const struct rest_route ue_routes[] = {
    {"GET", "/status", on_status},
    {"GET", "/metrics", on_metrics},
    {"POST", "/register", on_register},
    {"POST", "/unregister", on_unregister},
    {"GET", "/calls", ue_rest_call_list},
    {"POST", "/calls", ue_rest_call_place},
    {"GET", "/calls/{}", ue_rest_call_get},
    {"POST", "/calls/{}/{}", ue_rest_call_action},
    {"GET", "/messages", ue_rest_call_messages},
    {"POST", "/messages", ue_rest_call_send_message},
    {"GET", "/settings", ue_rest_call_settings},
    {"POST", "/settings", ue_rest_call_set_settings},
};

int ue_rest_init(struct ue *ue)
{
	ue->rest = rest_new(ue->loop, ue->node->address, ue->node->rest_port, ue_routes,
	                    sizeof(ue_routes) / sizeof(ue_routes[0]), ue);
	/* rest_new logged why (address, port in use). */
	return ue->rest ? 0 : -EIO;
}

void ue_rest_fini(struct ue *ue)
{
	/* Waiters still pending are dropped: on_drop frees them. */
	rest_free(ue->rest);
	ue->rest = NULL;
}
