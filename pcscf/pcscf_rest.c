/* The P-CSCF's REST API (ARCHITECTURE.md, REST conventions): GET /status, /metrics,
 * /registrations, /registrations/{impu} (any URI of the implicit set) and /dialogs (the
 * dialogs we Record-Routed, from the proxy core). Handlers run on the loop thread and
 * read the store and the core directly. */
#include "pcscf.h"

#include "daemon.h"
#include "loop.h"
#include "prom.h"
#include "rest.h"
#include "sip_proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 1000  /* registrations one GET /registrations answers by default */
#define LIST_MAX     10000 /* most it answers with ?limit= */

static json_t *string_array(const char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* ms until the loop time end, in whole seconds rounded up. */
static json_int_t seconds_left(const struct pcscf *pc, uint64_t end)
{
	uint64_t now = loop_now(pc->loop);

	return end > now ? (json_int_t)((end - now + 999) / 1000) : 0;
}

/* ims.md: the JSON of a registration; the P-CSCF shows the UE's address and transport
 * where the S-CSCF shows the Path. Keys are never shown. */
static json_t *registration_json(const struct pcscf *pc, const struct pcscf_reg *r)
{
	char addr[INET_ADDRSTRLEN + 8], ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &r->ue.sin_addr, ip, sizeof(ip));
	snprintf(addr, sizeof(addr), "%s:%u", ip, (unsigned)ntohs(r->ue.sin_port));
	return json_pack("{s:s, s:s, s:s, s:[{s:s, s:I, s:s, s:s}], s:o, s:o, s:b}", "impu",
	                 r->impu, "impi", r->impi, "state", "registered", "contacts", "uri",
	                 r->contact, "expires_in", seconds_left(pc, r->expires_ms), "ue_address",
	                 addr, "transport", r->proto == SIP_PROTO_TCP ? "tcp" : "udp",
	                 "associated_uris", string_array(r->assoc, r->n_assoc), "service_route",
	                 string_array(r->service_route, r->n_service_route), "security_association",
	                 r->sa.set);
}

static json_t *outcomes_json(const struct pcscf *pc)
{
	json_t *o = json_object();

	for (int i = 0; o && i < PCSCF_OUT_N; i++)
		json_object_set_new(o, pcscf_reg_outcome_name(i),
		                    json_integer((json_int_t)pc->stats.reg[i]));
	return o;
}

static json_t *calls_json(const struct pcscf *pc)
{
	json_t *o = json_object();

	for (int i = 0; o && i < PCSCF_CALL_N; i++)
		json_object_set_new(o, pcscf_call_outcome_name(i),
		                    json_integer((json_int_t)pc->stats.call[i]));
	return o;
}

static void on_status(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct pcscf *pc = app;
	json_t *extra = json_pack(
	    "{s:i, s:I, s:I, s:I, s:o, s:I, s:o}", "sip_port", (int)pc->node->sip_port,
	    "registered", (json_int_t)pcscf_store_count(pc->store, PCSCF_REGISTERED), "pending",
	    (json_int_t)pcscf_store_count(pc->store, PCSCF_PENDING), "register_requests",
	    (json_int_t)pc->stats.reg_requests, "registrations", outcomes_json(pc), "forbidden",
	    (json_int_t)pc->stats.forbidden, "calls", calls_json(pc));

	rest_json(resp, 200,
	          rest_json_merge(rest_json_merge(daemon_status_json(pc->daemon, pc->ready), extra),
	                          sip_proxy_status_json(pc->proxy)));
}

static void on_metrics(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct pcscf *pc = app;
	struct prom p = {0};
	char labels[48];

	prom_counter(&p, "pcscf_reg_requests_total", "REGISTER requests received from UEs", NULL,
	             pc->stats.reg_requests);
	for (int i = 0; i < PCSCF_OUT_N; i++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "outcome", pcscf_reg_outcome_name(i));
		prom_counter(&p, "pcscf_registrations_total",
		             "Registration transactions and expiries, by outcome", labels,
		             pc->stats.reg[i]);
	}
	prom_gauge(&p, "pcscf_registered_ues", "UE registrations held now", NULL,
	           (double)pcscf_store_count(pc->store, PCSCF_REGISTERED));
	prom_gauge(&p, "pcscf_pending_registrations",
	           "Challenged UEs whose registration has not completed", NULL,
	           (double)pcscf_store_count(pc->store, PCSCF_PENDING));
	prom_counter(&p, "pcscf_forbidden_total",
	             "Requests refused with 403 because the UE is not registered", NULL,
	             pc->stats.forbidden);
	for (int i = 0; i < PCSCF_CALL_N; i++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "outcome", pcscf_call_outcome_name(i));
		prom_counter(&p, "pcscf_call_requests_total",
		             "Requests other than REGISTER, by what became of them", labels,
		             pc->stats.call[i]);
	}
	sip_proxy_prom(pc->proxy, "pcscf", &p);
	prom_gauge(&p, "pcscf_ready", "1 when SIP and REST are up", NULL, pc->ready ? 1 : 0);
	rest_text(resp, 200, prom_take(&p), PROM_CONTENT_TYPE);
}

static void on_list(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct pcscf *pc = app;
	json_t *items;
	size_t limit, n = 0;

	if (rest_query_limit(req, LIST_DEFAULT, LIST_MAX, &limit) < 0) {
		rest_error(resp, 400, "limit: expected an integer 1-%d", LIST_MAX);
		return;
	}
	items = json_array();
	for (const struct pcscf_reg *r = pcscf_store_first(pc->store); items && r && n < limit;
	     r = pcscf_store_next(r)) {
		if (r->state != PCSCF_REGISTERED)
			continue;
		json_array_append_new(items, registration_json(pc, r));
		n++;
	}
	rest_json(resp, 200,
	          json_pack("{s:o, s:I}", "registrations", items, "total",
	                    (json_int_t)pcscf_store_count(pc->store, PCSCF_REGISTERED)));
}

static void on_get(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct pcscf *pc = app;
	const char *impu = req->args[0];
	const struct pcscf_reg *r = pcscf_store_find(pc->store, impu, strlen(impu));

	if (!r || r->state != PCSCF_REGISTERED) {
		rest_error(resp, 404, "no registration of %.*s", PCSCF_URI_MAX, impu);
		return;
	}
	rest_json(resp, 200, registration_json(pc, r));
}

/* calls.md: the dialogs the core saw us Record-Route (Call-ID, tags, route set, state,
 * age). */
static void on_dialogs(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct pcscf *pc = app;
	json_t *dialogs = sip_proxy_dialogs_json(pc->proxy);

	if (!dialogs) {
		rest_error(resp, 500, "cannot list the dialogs");
		return;
	}
	rest_json(resp, 200,
	          json_pack("{s:I, s:o}", "total", (json_int_t)json_array_size(dialogs), "dialogs",
	                    dialogs));
}

static const struct rest_route pcscf_routes[] = {
    {"GET", "/status", on_status},      {"GET", "/metrics", on_metrics},
    {"GET", "/registrations", on_list}, {"GET", "/registrations/{}", on_get},
    {"GET", "/dialogs", on_dialogs},
};

int pcscf_rest_init(struct pcscf *pc)
{
	pc->rest = rest_new(pc->loop, pc->node->address, pc->node->rest_port, pcscf_routes,
	                    sizeof(pcscf_routes) / sizeof(pcscf_routes[0]), pc);
	return pc->rest ? 0 : -EIO;
}

void pcscf_rest_fini(struct pcscf *pc)
{
	rest_free(pc->rest);
	pc->rest = NULL;
}
