/* hss: the Home Subscriber Server daemon. Wiring only: command line, topology and loop
 * (daemon.c) -> store -> REST -> Diameter Cx server -> run -> stop in reverse order. */
#include "hss.h"

#include "daemon.h"
#include "dia_core.h"
#include "log.h"
#include "loop.h"

#include <stdio.h>

/* Cx server: no peers to dial; the I-CSCFs, S-CSCFs and Cx clients of our realm dial us. */
static int start_diameter(struct hss *h, const struct daemon *d)
{
	struct dia_handler handlers[DIA_HANDLERS_MAX];
	struct daemon_tls_paths tls;
	struct dia_core_conf conf = {
	    .identity = h->node->fqdn,
	    .realm = h->node->domain->name,
	    .address = h->node->address,
	    .port = h->node->diameter_port,
	    .run_dir = d->run_dir,
	    .accept_realm_peers = true,
	    .handlers = handlers,
	};

	conf.n_handlers = hss_cx_handlers(h, handlers, DIA_HANDLERS_MAX);
	daemon_dia_tls(d, &conf, &tls);
	return dia_core_start(&conf);
}

int main(int argc, char **argv)
{
	static struct hss h;
	struct daemon d;
	const char *db_opt = NULL;
	const struct daemon_opt opts[] = {
	    {"db", "FILE         SQLite subscriber database (default <run-dir>/hss.db)", &db_opt},
	};
	char db[DAEMON_PATH_MAX + 16];
	int rc;

	rc = daemon_init(&d, "hss", TOPO_HSS, argc, argv, opts, 1);
	if (rc)
		return rc;
	rc = 1;
	h.topo = d.topo;
	h.node = d.node;
	h.loop = d.loop;
	h.started_ms = d.started_ms;
	snprintf(db, sizeof(db), "%s", db_opt ? db_opt : "");
	if (!db_opt)
		snprintf(db, sizeof(db), "%s/hss.db", d.run_dir);
	h.store = hss_store_open(db, h.node->domain);
	if (!h.store)
		goto out_daemon;
	if (hss_rest_init(&h) < 0)
		goto out_store;
	if (start_diameter(&h, &d) < 0)
		goto out_rest;
	atomic_store(&h.ready, true);
	log_info("ready: Cx on %s:%u, REST on http://%s:%u/", h.node->address,
	         h.node->diameter_port, h.node->address, h.node->rest_port);
	rc = loop_run(h.loop) < 0 ? 1 : 0;
	log_info("stopping");
	atomic_store(&h.ready, false);
	dia_core_stop();
out_rest:
	hss_rest_fini(&h);
out_store:
	hss_store_close(h.store);
out_daemon:
	daemon_fini(&d);
	return rc;
}
