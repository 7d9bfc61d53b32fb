/* The start-up and shutdown every daemon shares (see daemon.h). */
#include "daemon.h"

#include "dia_core.h"
#include "loop.h"
#include "sip_proxy.h"
#include "version.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DAEMON_MAX_OPTS 8

/* Values of the common options. */
struct common_opts {
	const char *topology; /* --topology */
	const char *node;     /* --node */
	const char *run_dir;  /* --run-dir */
	const char *certs;    /* --certs */
	const char *level;    /* --log-level */
};

static void usage(FILE *f, const char *prog, const struct daemon_opt *opts, size_t n)
{
	fprintf(f,
	        "usage: %s --topology FILE --node FQDN [options]\n"
	        "  --topology FILE   the lab's topology file\n"
	        "  --node FQDN       this node in it\n"
	        "  --run-dir DIR     generated files (default run/<FQDN>)\n"
	        "  --certs DIR       TLS certificates (default <run-dir>/../certs)\n"
	        "  --log-level L     err, warn, info (default) or debug\n",
	        prog);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  --%s %s\n", opts[i].name, opts[i].help);
}

/* Returns 0, 2 for a usage error, or 3 for --help. */
static int parse(int argc, char **argv, const char *prog, struct common_opts *c,
                 const struct daemon_opt *opts, size_t n)
{
	static const char *const names[] = {"topology", "node", "run-dir", "certs", "log-level"};
	const char **slots[] = {&c->topology, &c->node, &c->run_dir, &c->certs, &c->level};
	struct option longopts[5 + DAEMON_MAX_OPTS + 2];
	size_t k = 0;
	int ch, idx;

	if (n > DAEMON_MAX_OPTS)
		return 2;
	for (size_t i = 0; i < 5; i++)
		longopts[k++] = (struct option){names[i], required_argument, NULL, 0};
	for (size_t i = 0; i < n; i++)
		longopts[k++] = (struct option){opts[i].name, required_argument, NULL, 0};
	longopts[k++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[k] = (struct option){NULL, 0, NULL, 0};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		if (ch == 'h') {
			usage(stdout, prog, opts, n);
			return 3;
		}
		if (ch != 0) {
			usage(stderr, prog, opts, n);
			return 2;
		}
		if (idx < 5)
			*slots[idx] = optarg;
		else
			*opts[idx - 5].value = optarg;
	}
	if (!c->topology || !c->node || optind != argc) {
		usage(stderr, prog, opts, n);
		return 2;
	}
	return 0;
}

/* mkdir -p. 0, or -1 with errno set. */
static int make_dirs(const char *path)
{
	char buf[DAEMON_PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf)) {
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

static int set_paths(struct daemon *d, const struct common_opts *c)
{
	int n;

	if (c->run_dir)
		n = snprintf(d->run_dir, sizeof(d->run_dir), "%s", c->run_dir);
	else
		n = snprintf(d->run_dir, sizeof(d->run_dir), "run/%s", d->node->fqdn);
	if (n < 0 || (size_t)n >= sizeof(d->run_dir)) {
		log_err("run directory name too long");
		return -ENAMETOOLONG;
	}
	if (c->certs)
		n = snprintf(d->certs, sizeof(d->certs), "%s", c->certs);
	else
		n = snprintf(d->certs, sizeof(d->certs), "%s/../certs", d->run_dir);
	if (n < 0 || (size_t)n >= sizeof(d->certs)) {
		log_err("certificate directory name too long");
		return -ENAMETOOLONG;
	}
	if (make_dirs(d->run_dir) < 0) {
		log_err("cannot create run directory %s: %s", d->run_dir, strerror(errno));
		return -errno;
	}
	return 0;
}

int daemon_init(struct daemon *d, const char *prog, enum topo_role role, int argc, char **argv,
                const struct daemon_opt *opts, size_t n_opts)
{
	struct common_opts c = {0};
	char err[512];
	int level = LOGL_INFO, rc;

	*d = (struct daemon){.prog = prog};
	loop_block_signals();
	rc = parse(argc, argv, prog, &c, opts, n_opts);
	if (rc == 3)
		exit(0);
	if (rc)
		return rc;
	if (c.level && (level = log_level_parse(c.level)) < 0) {
		fprintf(stderr, "%s: bad --log-level %s\n", prog, c.level);
		return 2;
	}
	log_init(c.node, (enum log_level)level);
	d->started_ms = loop_clock_ms();
	d->topo = topo_load(c.topology, err, sizeof(err));
	if (!d->topo) {
		log_err("%s: %s", c.topology, err);
		return 1;
	}
	d->node = topo_node_by_fqdn(d->topo, c.node);
	if (!d->node || d->node->role != role) {
		log_err("%s: no %s node named %s", c.topology, topo_role_name(role), c.node);
		goto out_topo;
	}
	if (set_paths(d, &c) < 0)
		goto out_topo;
	d->loop = loop_new();
	if (!d->loop) {
		log_err("cannot create the event loop: %s", strerror(errno));
		goto out_topo;
	}
	return 0;
out_topo:
	topo_free(d->topo);
	d->topo = NULL;
	return 1;
}

void daemon_fini(struct daemon *d)
{
	loop_free(d->loop);
	topo_free(d->topo);
	*d = (struct daemon){0};
}

void daemon_dia_tls(const struct daemon *d, struct dia_core_conf *conf,
                    struct daemon_tls_paths *paths)
{
	conf->tls = d->topo->tls;
	if (!conf->tls)
		return;
	snprintf(paths->cert, sizeof(paths->cert), "%s/%s.crt", d->certs, d->node->fqdn);
	snprintf(paths->key, sizeof(paths->key), "%s/%s.key", d->certs, d->node->fqdn);
	snprintf(paths->ca, sizeof(paths->ca), "%s/ca.crt", d->certs);
	conf->tls_cert = paths->cert;
	conf->tls_key = paths->key;
	conf->tls_ca = paths->ca;
}

int daemon_dia_client(const struct daemon *d, const struct topo_node *peer)
{
	struct daemon_tls_paths tls;
	struct dia_peer_conf pc = {
	    .fqdn = peer->fqdn,
	    .address = peer->address,
	    .port = peer->diameter_port,
	};
	struct dia_core_conf conf = {
	    .identity = d->node->fqdn,
	    .realm = d->node->domain->name,
	    .address = d->node->address,
	    .port = d->node->diameter_port,
	    .run_dir = d->run_dir,
	    .peers = &pc,
	    .n_peers = 1,
	};

	daemon_dia_tls(d, &conf, &tls);
	return dia_core_start(&conf);
}

json_t *daemon_dia_peers_json(void)
{
	struct dia_peer_info info[DIA_PEERS_MAX];
	size_t n = dia_core_peers(info, DIA_PEERS_MAX);
	json_t *peers = json_array();

	for (size_t i = 0; peers && i < n && i < DIA_PEERS_MAX; i++)
		json_array_append_new(
		    peers, json_pack("{s:s, s:s, s:s, s:i, s:b}", "identity", info[i].identity,
		                     "state", info[i].state, "address", info[i].address, "port",
		                     (int)info[i].port, "configured", info[i].configured));
	return json_pack("{s:o}", "peers", peers);
}

struct sip_proxy *daemon_sip_proxy(const struct daemon *d, const struct sip_proxy_ops *ops,
                                   void *app)
{
	struct sip_proxy_conf conf = {
	    .address = d->node->address,
	    .port = d->node->sip_port,
	    .fqdn = d->node->fqdn,
	    .topo = d->topo,
	    .ops = ops,
	    .app = app,
	};

	return sip_proxy_new(d->loop, &conf);
}

json_t *daemon_status_json(const struct daemon *d, bool ready)
{
	uint64_t now = loop_clock_ms();

	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:s}", "role",
	                 topo_role_name(d->node->role), "name", d->node->fqdn, "domain",
	                 d->node->domain->name, "version", IMS_VERSION, "pid", (json_int_t)getpid(),
	                 "uptime", (json_int_t)((now - d->started_ms) / 1000), "ready", ready,
	                 "address", d->node->address);
}
