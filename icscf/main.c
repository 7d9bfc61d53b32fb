/* icscf: the Interrogating-CSCF daemon. Wiring only: command line, topology and loop
 * (daemon.c) -> Diameter Cx client with the domain's HSS as its one peer -> SIP proxy
 * core with the I-CSCF hooks -> REST -> run -> stop in reverse order. */
#include "icscf.h"

#include "daemon.h"
#include "dia_core.h"
#include "log.h"
#include "loop.h"
#include "sip_proxy.h"
#include "topo.h"

#include <errno.h>
#include <stdlib.h>

#define CX_TIMEOUT_MS 3000 /* a UAR unanswered by then gets the UE a 480 */

int main(int argc, char **argv)
{
	static struct icscf ic;
	struct daemon d;
	int rc;

	rc = daemon_init(&d, "icscf", TOPO_ICSCF, argc, argv, NULL, 0);
	if (rc)
		return rc;
	rc = 1;
	ic.daemon = &d;
	ic.topo = d.topo;
	ic.node = d.node;
	ic.loop = d.loop;
	ic.cx_timeout_ms = CX_TIMEOUT_MS;
	ic.hss = topo_domain_node(ic.node->domain, TOPO_HSS);
	if (!ic.hss) {
		log_err("domain %s has no HSS", ic.node->domain->name);
		goto out_daemon;
	}
	/* A Cx client of one peer, its domain's HSS (ims.md); it serves no Cx requests. */
	if (daemon_dia_client(&d, ic.hss) < 0)
		goto out_daemon;
	ic.proxy = daemon_sip_proxy(&d, &icscf_sip_ops, &ic);
	if (!ic.proxy)
		goto out_diameter;
	if (icscf_rest_init(&ic) < 0)
		goto out_proxy;
	ic.sip_ready = true;
	log_info("SIP on %s:%u, REST on http://%s:%u/; ready once %s is open", ic.node->address,
	         ic.node->sip_port, ic.node->address, ic.node->rest_port, ic.hss->fqdn);
	rc = loop_run(ic.loop) < 0 ? 1 : 0;
	log_info("stopping");
	ic.sip_ready = false;
	icscf_rest_fini(&ic);
out_proxy:
	/* Pending requests end here (on_gone marks their UARs and LIRs cancelled)... */
	sip_proxy_free(ic.proxy);
out_diameter:
	/* ...then no answer can be posted any more, and the contexts can go. */
	dia_core_stop();
	icscf_reg_fini(&ic);
	icscf_call_fini(&ic);
out_daemon:
	daemon_fini(&d);
	return rc;
}
