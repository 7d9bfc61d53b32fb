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

static void on_status(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct icscf *ic = app;
	json_t *extra = json_pack(
	    "{s:i, s:i, s:s, s:b, s:I, s:I, s:o, s:o, s:I}", "sip_port", (int)ic->node->sip_port,
	    "diameter_port", (int)ic->node->diameter_port, "hss", ic->hss->fqdn, "hss_open",
	    (int)dia_core_peer_open(ic->hss->fqdn), "uar_in_flight", (json_int_t)ic->n_pending,
	    "lir_in_flight", (json_int_t)ic->n_lirs, "registration",
	    icscf_stats_json(&ic->stats.reg, &ic->stats.uar, "uar"), "calls",
	    icscf_stats_json(&ic->stats.call, &ic->stats.lir, "lir"), "in_dialog",
	    (json_int_t)ic->stats.in_dialog);

	rest_json(
	    resp, 200,
	    rest_json_merge(rest_json_merge(daemon_status_json(ic->daemon, icscf_ready(ic)), extra),
	                    sip_proxy_status_json(ic->proxy)));
}

static void on_metrics(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct icscf *ic = app;
	struct prom p = {0};

	icscf_stats_prom(&ic->stats, &p);
	sip_proxy_prom(ic->proxy, "icscf", &p);
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
	rest_json(resp, 200, daemon_dia_peers_json());
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
