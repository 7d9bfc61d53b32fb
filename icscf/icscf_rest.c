/* The I-CSCF's REST API (ARCHITECTURE.md, REST conventions): GET /status, /metrics and
 * /diameter/peers. Handlers run on the loop thread. */
#include "icscf.h"

#include "daemon.h"
#include "dia_core.h"
#include "prom.h"
#include "rest.h"
#include "sip_proxy.h"
#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

bool icscf_ready(const struct icscf *ic)
{
	/* ims.md: ready once SIP listens and the HSS peer is open, and only while it is. */
	return ic->sip_ready && dia_core_peer_open(ic->hss->fqdn);
}

/* st with the fields of extra added; both references are taken. NULL on failure. */
static json_t *merge(json_t *st, json_t *extra)
{
	if (st && extra && json_object_update_new(st, extra) == 0)
		return st;
	if (!st || !extra)
		json_decref(extra);
	json_decref(st);
	return NULL;
}

/* The core's session counters (3GPP SC.AttSession style) as JSON. */
static json_t *sessions_json(const struct sip_proxy_sessions *ss)
{
	json_t *answered = json_object();
	char cls[16];

	for (int c = 1; answered && c <= 6; c++) {
		snprintf(cls, sizeof(cls), "%dxx", c);
		json_object_set_new(answered, cls, json_integer((json_int_t)ss->answered[c]));
	}
	return json_pack("{s:I, s:o, s:I}", "attempts", (json_int_t)ss->attempts, "answered",
	                 answered, "setup_us_avg",
	                 (json_int_t)(ss->answered[2] ? ss->setup_us_sum / ss->answered[2] : 0));
}

static void on_status(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct icscf *ic = app;
	const struct sip_proxy_stats *sp = sip_proxy_stats(ic->proxy);
	json_t *extra = json_pack(
	    "{s:i, s:i, s:s, s:b, s:I, s:I, s:o, s:o, s:I, s:o, s:{s:I, s:I, s:I}}", "sip_port",
	    (int)ic->node->sip_port, "diameter_port", (int)ic->node->diameter_port, "hss",
	    ic->hss->fqdn, "hss_open", (int)dia_core_peer_open(ic->hss->fqdn), "uar_in_flight",
	    (json_int_t)ic->n_pending, "lir_in_flight", (json_int_t)ic->n_lirs, "registration",
	    icscf_stats_json(&ic->stats.reg, &ic->stats.uar, "uar"), "calls",
	    icscf_stats_json(&ic->stats.call, &ic->stats.lir, "lir"), "in_dialog",
	    (json_int_t)ic->stats.in_dialog, "sessions",
	    sessions_json(sip_proxy_sessions(ic->proxy)), "sip", "requests_in",
	    (json_int_t)sp->requests_in, "forwarded", (json_int_t)sp->forwarded, "timeouts",
	    (json_int_t)sp->timeouts);

	rest_json(resp, 200, merge(daemon_status_json(ic->daemon, icscf_ready(ic)), extra));
}

/* calls.md: <role>_sessions_attempts_total, <role>_sessions_answered_total{class} and
 * the setup time, as the core counts them for the INVITEs we forward. */
static void sessions_prom(const struct icscf *ic, struct prom *p)
{
	const struct sip_proxy_sessions *ss = sip_proxy_sessions(ic->proxy);
	char labels[32], cls[16];

	prom_counter(p, "icscf_sessions_attempts_total", "Initial INVITEs forwarded", NULL,
	             ss->attempts);
	for (int c = 1; c <= 6; c++) {
		snprintf(cls, sizeof(cls), "%dxx", c);
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "class", cls);
		prom_counter(p, "icscf_sessions_answered_total",
		             "Final responses to initial INVITEs relayed, by class", labels,
		             ss->answered[c]);
	}
	prom_counter(p, "icscf_session_setup_microseconds_total",
	             "Sum of INVITE to first 2xx times", NULL, ss->setup_us_sum);
	prom_counter(p, "icscf_session_setup_samples_total",
	             "Sessions summed in icscf_session_setup_microseconds_total", NULL,
	             ss->answered[2]);
}

static void on_metrics(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct icscf *ic = app;
	const struct sip_proxy_stats *sp = sip_proxy_stats(ic->proxy);
	struct prom p = {0};

	icscf_stats_prom(&ic->stats, &p);
	sessions_prom(ic, &p);
	prom_counter(&p, "icscf_sip_requests_total", "New SIP requests handed to the I-CSCF", NULL,
	             sp->requests_in);
	prom_counter(&p, "icscf_sip_retransmissions_total", "Retransmitted requests absorbed", NULL,
	             sp->retransmissions);
	prom_counter(&p, "icscf_sip_forwarded_total", "Requests forwarded", NULL, sp->forwarded);
	prom_counter(&p, "icscf_sip_timeouts_total", "Forwarded requests without a final response",
	             NULL, sp->timeouts);
	prom_counter(&p, "icscf_sip_core_replies_total", "400/482/483 answered by the proxy core",
	             NULL, sp->replies_4xx_core);
	prom_gauge(&p, "icscf_uar_in_flight", "UARs sent and not answered yet", NULL,
	           (double)ic->n_pending);
	prom_gauge(&p, "icscf_lir_in_flight", "LIRs sent and not answered yet", NULL,
	           (double)ic->n_lirs);
	prom_gauge(&p, "icscf_hss_peer_open", "1 while the Diameter connection to the HSS is open",
	           NULL, dia_core_peer_open(ic->hss->fqdn) ? 1 : 0);
	prom_gauge(&p, "icscf_ready", "1 when SIP listens and the HSS peer is open", NULL,
	           icscf_ready(ic) ? 1 : 0);
	rest_text(resp, 200, prom_take(&p), PROM_CONTENT_TYPE);
}

static void on_peers(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct dia_peer_info info[DIA_PEERS_MAX];
	size_t n = dia_core_peers(info, DIA_PEERS_MAX);
	json_t *peers = json_array();

	for (size_t i = 0; peers && i < n && i < DIA_PEERS_MAX; i++)
		json_array_append_new(
		    peers, json_pack("{s:s, s:s, s:s, s:i, s:b}", "identity", info[i].identity,
		                     "state", info[i].state, "address", info[i].address, "port",
		                     (int)info[i].port, "configured", info[i].configured));
	rest_json(resp, 200, json_pack("{s:o}", "peers", peers));
}

static const struct rest_route icscf_routes[] = {
    {"GET", "/status", on_status},
    {"GET", "/metrics", on_metrics},
    {"GET", "/diameter/peers", on_peers},
};

int icscf_rest_init(struct icscf *ic)
{
	ic->rest = rest_new(ic->loop, ic->node->address, ic->node->rest_port, icscf_routes,
	                    sizeof(icscf_routes) / sizeof(icscf_routes[0]), ic);
	return ic->rest ? 0 : -EIO;
}

void icscf_rest_fini(struct icscf *ic)
{
	rest_free(ic->rest);
	ic->rest = NULL;
}
