/* What every lab daemon does the same way: command line (--topology, --node, --run-dir,
 * --certs, --log-level, plus role options), blocked signals, the topology and our node
 * in it, the run directory, the event loop, TLS file names, and the common part of
 * GET /status. main.c of each daemon is then wiring of its own modules only. */
#ifndef IMS_DAEMON_H
#define IMS_DAEMON_H

#include "log.h"
#include "topo.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct loop;
struct dia_core_conf;
struct sip_proxy;
struct sip_proxy_ops;

#define DAEMON_PATH_MAX 512

/* A role option beyond the common ones: --name VALUE stored into *value. */
struct daemon_opt {
	const char *name;   /* long option name without "--" */
	const char *help;   /* one line for the usage text ("FILE  SQLite database") */
	const char **value; /* where the argument goes (points into argv) */
};

struct daemon {
	const char *prog;              /* program name for messages */
	struct topo *topo;             /* owned; the lab */
	const struct topo_node *node;  /* this node in topo */
	struct loop *loop;             /* owned; the daemon's one event loop */
	char run_dir[DAEMON_PATH_MAX]; /* generated files (--run-dir, default run/<fqdn>) */
	char certs[DAEMON_PATH_MAX];   /* TLS material (--certs, default <run_dir>/../certs) */
	uint64_t started_ms;           /* loop_clock_ms() at start, for uptime */
};

/* Parses argv (common options and the role's extra ones), blocks the signals the loop
 * reads, initialises logging, loads the topology, finds --node (which must have role),
 * creates the run directory and the loop. Returns 0; 2 after printing usage (bad
 * command line; --help exits 0); 1 after logging why (anything else). On failure
 * everything done so far is undone. */
int daemon_init(struct daemon *d, const char *prog, enum topo_role role, int argc, char **argv,
                const struct daemon_opt *opts, size_t n_opts);
/* Frees the loop and the topology. */
void daemon_fini(struct daemon *d);

/* Fills the TLS fields of a Diameter configuration when the topology uses TLS:
 * <certs>/<fqdn>.crt, .key and <certs>/ca.crt. paths holds the strings and must live
 * as long as conf is used. */
struct daemon_tls_paths {
	char cert[DAEMON_PATH_MAX + 300]; /* our certificate */
	char key[DAEMON_PATH_MAX + 300];  /* its key */
	char ca[DAEMON_PATH_MAX + 300];   /* the lab CA */
};
void daemon_dia_tls(const struct daemon *d, struct dia_core_conf *conf,
                    struct daemon_tls_paths *paths);

/* Starts Diameter (dia_core_start) as a client of one peer, e.g. the domain's HSS for
 * an I- or S-CSCF: identity our FQDN, realm our domain, listening on our
 * diameter_port for the peer's own requests, TLS when the topology asks. 0 or -errno
 * (logged by dia_core). */
int daemon_dia_client(const struct daemon *d, const struct topo_node *peer);

/* The Diameter peers as GET /diameter/peers shows them: a new {"peers": [{identity,
 * state, address, port, configured}]} (caller owns it; NULL on no memory). */
json_t *daemon_dia_peers_json(void);

/* The SIP proxy core of a CSCF on our node's address, SIP port and FQDN, with the
 * role's hooks (ops, static) and app passed to them. Returns it or NULL after logging
 * why (sip_proxy_new). */
struct sip_proxy *daemon_sip_proxy(const struct daemon *d, const struct sip_proxy_ops *ops,
                                   void *app);

/* The common fields of GET /status: role, name, domain, version, pid, uptime, ready.
 * Returns a new object the caller adds its own fields to, or NULL. */
json_t *daemon_status_json(const struct daemon *d, bool ready);

#endif
