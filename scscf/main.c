/* scscf: the Serving-CSCF daemon. Wiring only: command line, topology and loop
 * (daemon.c) -> registrar state -> Diameter Cx client with the domain's HSS as its one
 * peer -> SIP proxy core with the S-CSCF hooks -> REST -> run -> stop in reverse order. */
#include "scscf.h"

#include "daemon.h"
#include "dia_call.h"
#include "dia_core.h"
#include "log.h"
#include "loop.h"
#include "sip_proxy.h"
#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Longest registration interval the command line may set: a day. */
#define EXPIRES_LIMIT 86400

/* Names the S-CSCF uses for itself (ims.md): Server-Name in Cx and Service-Route. */
static void set_names(struct scscf *s)
{
	snprintf(s->server_name, sizeof(s->server_name), "sip:%s:%u", s->node->fqdn,
	         s->node->sip_port);
	snprintf(s->service_route, sizeof(s->service_route), "<sip:orig@%s:%u;lr>", s->node->fqdn,
	         s->node->sip_port);
}

/* An interval option: 1..EXPIRES_LIMIT seconds into *out; absent leaves 0 (default). */
static int parse_secs(const char *name, const char *text, uint32_t *out)
{
	unsigned long v;
	char *end;

	if (!text)
		return 0;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || errno || *end || v < 1 || v > EXPIRES_LIMIT) {
		log_err("--%s: expected seconds, 1-%d", name, EXPIRES_LIMIT);
		return -EINVAL;
	}
	*out = (uint32_t)v;
	return 0;
}

int main(int argc, char **argv)
{
	static struct scscf s;
	const char *min_opt = NULL, *max_opt = NULL, *dflt_opt = NULL;
	const struct daemon_opt opts[] = {
	    {"min-expires", "SECONDS  shortest registration granted, else 423 (default 60)",
	     &min_opt},
	    {"max-expires", "SECONDS  longest registration granted (default 3600)", &max_opt},
	    {"default-expires", "SECONDS  granted when a REGISTER names none (default 600)",
	     &dflt_opt},
	};
	const struct topo_node *hss;
	struct daemon d;
	int rc;

	rc = daemon_init(&d, "scscf", TOPO_SCSCF, argc, argv, opts, sizeof(opts) / sizeof(opts[0]));
	if (rc)
		return rc;
	rc = 2;
	if (parse_secs("min-expires", min_opt, &s.expiry.min) < 0 ||
	    parse_secs("max-expires", max_opt, &s.expiry.max) < 0 ||
	    parse_secs("default-expires", dflt_opt, &s.expiry.dflt) < 0)
		goto out_daemon;
	rc = 1;
	s.daemon = &d;
	s.topo = d.topo;
	s.node = d.node;
	s.loop = d.loop;
	s.realm = s.node->domain->name;
	s.io.dia_call = dia_call;
	s.io.reply = sip_req_reply;
	set_names(&s);
	hss = topo_domain_node(s.node->domain, TOPO_HSS);
	if (!hss) {
		log_err("domain %s has no HSS", s.realm);
		goto out_daemon;
	}
	s.hss_fqdn = hss->fqdn;
	if (scscf_reg_init(&s) < 0) {
		log_err("cannot start the registrar: out of memory, or --min-expires above "
		        "--max-expires, or --default-expires outside them");
		goto out_daemon;
	}
	/* A Cx client of its domain's HSS (ims.md), listening on its Diameter port for the
	 * HSS's own requests (RTR/PPR, later issues); none is served yet. */
	if (daemon_dia_client(&d, hss) < 0)
		goto out_reg;
	if (scscf_sip_init(&s) < 0)
		goto out_diameter;
	if (scscf_rest_init(&s) < 0)
		goto out_sip;
	s.sip_ready = true;
	log_info("SIP on %s:%u, REST on http://%s:%u/; ready once %s is open", s.node->address,
	         s.node->sip_port, s.node->address, s.node->rest_port, hss->fqdn);
	rc = loop_run(s.loop) < 0 ? 1 : 0;
	log_info("stopping");
	s.sip_ready = false;
	scscf_rest_fini(&s);
out_sip:
	/* Pending REGISTERs end here (on_gone marks their contexts gone)... */
	scscf_sip_fini(&s);
out_diameter:
	/* ...then no Cx answer can be posted any more, and the contexts can go. */
	dia_core_stop();
out_reg:
	scscf_reg_fini(&s);
out_daemon:
	daemon_fini(&d);
	return rc;
}
