/* pcscf: the Proxy-CSCF daemon. Wiring only: command line, topology and loop (daemon.c)
 * -> the core nodes' addresses -> registration store -> SIP proxy core with the P-CSCF hooks ->
 * REST -> run -> stop in reverse order. */
#include "pcscf.h"

#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "sip_proxy.h"

int main(int argc, char **argv)
{
	static struct pcscf pc;
	struct daemon d;
	int rc;

	rc = daemon_init(&d, "pcscf", TOPO_PCSCF, argc, argv, NULL, 0);
	if (rc)
		return rc;
	rc = 1;
	pc.daemon = &d;
	pc.topo = d.topo;
	pc.node = d.node;
	pc.loop = d.loop;
	if (pcscf_call_init(&pc) < 0) {
		log_err("more than %d core nodes in the topology", PCSCF_CORE_MAX);
		goto out_daemon;
	}
	pc.store = pcscf_store_new(pc.loop, 0, pcscf_reg_on_expired, &pc);
	if (!pc.store) {
		log_err("cannot allocate the registration store");
		goto out_daemon;
	}
	pc.proxy = daemon_sip_proxy(&d, &pcscf_sip_ops, &pc);
	if (!pc.proxy)
		goto out_store;
	if (pcscf_reg_init(&pc) < 0) {
		log_err("node name too long for a Path header");
		goto out_proxy;
	}
	if (pcscf_rest_init(&pc) < 0)
		goto out_proxy;
	pc.ready = true;
	log_info("ready: SIP on %s:%u, REST on http://%s:%u/", pc.node->address, pc.node->sip_port,
	         pc.node->address, pc.node->rest_port);
	rc = loop_run(pc.loop) < 0 ? 1 : 0;
	log_info("stopping");
	pc.ready = false;
	pcscf_rest_fini(&pc);
out_proxy:
	sip_proxy_free(pc.proxy);
out_store:
	pcscf_store_free(pc.store);
out_daemon:
	daemon_fini(&d);
	return rc;
}
