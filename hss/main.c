/* hss: the Home Subscriber Server daemon. Wiring only: command line -> topology ->
 * store -> loop -> REST -> Diameter Cx server -> run -> stop in reverse order. */
#include "hss.h"

#include "dia_core.h"
#include "log.h"
#include "loop.h"
#include "topo.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct options {
	const char *topology; /* topology file */
	const char *node;     /* our FQDN in it */
	const char *run_dir;  /* generated files */
	const char *db;       /* SQLite file, NULL: <run_dir>/hss.db */
	const char *certs;    /* TLS material, NULL: <run_dir>/../certs */
	enum log_level level; /* log verbosity */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: hss --topology FILE --node FQDN [--run-dir DIR] [--db FILE]\n"
	           "           [--certs DIR] [--log-level err|warn|info|debug]\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"topology", required_argument, NULL, 't'}, {"node", required_argument, NULL, 'n'},
	    {"run-dir", required_argument, NULL, 'r'},  {"db", required_argument, NULL, 'd'},
	    {"certs", required_argument, NULL, 'c'},    {"log-level", required_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	int c, level;

	*o = (struct options){.level = LOGL_INFO};
	while ((c = getopt_long(argc, argv, "t:n:r:d:c:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->topology = optarg;
			break;
		case 'n':
			o->node = optarg;
			break;
		case 'r':
			o->run_dir = optarg;
			break;
		case 'd':
			o->db = optarg;
			break;
		case 'c':
			o->certs = optarg;
			break;
		case 'l':
			level = log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "hss: bad --log-level %s\n", optarg);
				return -EINVAL;
			}
			o->level = (enum log_level)level;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!o->topology || !o->node || optind != argc) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static int load_topology(struct hss *h, const struct options *o)
{
	char err[512];

	h->topo = topo_load(o->topology, err, sizeof(err));
	if (!h->topo) {
		log_err("%s: %s", o->topology, err);
		return -EINVAL;
	}
	h->node = topo_node_by_fqdn(h->topo, o->node);
	if (!h->node || h->node->role != TOPO_HSS) {
		log_err("%s: no hss node named %s", o->topology, o->node);
		return -ENOENT;
	}
	return 0;
}

/* Cx server: no peers to dial; the I-CSCFs, S-CSCFs and Cx clients of our realm dial us. */
static int start_diameter(struct hss *h, const char *run_dir, const char *certs)
{
	struct dia_handler handlers[DIA_HANDLERS_MAX];
	char cert[1024], key[1024], ca[1024];
	struct dia_core_conf conf = {
	    .identity = h->node->fqdn,
	    .realm = h->node->domain->name,
	    .address = h->node->address,
	    .port = h->node->diameter_port,
	    .run_dir = run_dir,
	    .tls = h->topo->tls,
	    .accept_realm_peers = true,
	    .handlers = handlers,
	};

	conf.n_handlers = hss_cx_handlers(h, handlers, DIA_HANDLERS_MAX);
	if (conf.tls) {
		snprintf(cert, sizeof(cert), "%s/%s.crt", certs, h->node->fqdn);
		snprintf(key, sizeof(key), "%s/%s.key", certs, h->node->fqdn);
		snprintf(ca, sizeof(ca), "%s/ca.crt", certs);
		conf.tls_cert = cert;
		conf.tls_key = key;
		conf.tls_ca = ca;
	}
	return dia_core_start(&conf);
}

/* mkdir -p: creates path and its missing parents. 0, or -1 with errno set. */
static int make_dirs(const char *path)
{
	char buf[512];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct hss h;
	struct options o;
	char run_dir[512], db[600], certs[600];
	int rc = 1;

	loop_block_signals();
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	log_init(o.node, o.level);
	if (load_topology(&h, &o) < 0)
		goto out_topo;
	if (o.run_dir)
		snprintf(run_dir, sizeof(run_dir), "%s", o.run_dir);
	else
		snprintf(run_dir, sizeof(run_dir), "run/%s", h.node->fqdn);
	if (make_dirs(run_dir) < 0) {
		log_err("cannot create run directory %s: %s", run_dir, strerror(errno));
		goto out_topo;
	}
	if (o.db)
		snprintf(db, sizeof(db), "%s", o.db);
	else
		snprintf(db, sizeof(db), "%s/hss.db", run_dir);
	if (o.certs)
		snprintf(certs, sizeof(certs), "%s", o.certs);
	else
		snprintf(certs, sizeof(certs), "%s/../certs", run_dir);

	h.started_ms = loop_clock_ms();
	h.store = hss_store_open(db, h.node->domain);
	if (!h.store)
		goto out_topo;
	h.loop = loop_new();
	if (!h.loop) {
		log_err("cannot create the event loop");
		goto out_store;
	}
	if (hss_rest_init(&h) < 0)
		goto out_loop;
	if (start_diameter(&h, run_dir, certs) < 0)
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
out_loop:
	loop_free(h.loop);
out_store:
	hss_store_close(h.store);
out_topo:
	topo_free(h.topo);
	return rc;
}
