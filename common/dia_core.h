/* freeDiameter embedded in a daemon (HSS, I-CSCF, S-CSCF, cxclient): writes the
 * freeDiameter configuration into the run directory, binds only the node's loopback
 * address, defines the Cx dictionary (dia_cx.h), registers request handlers from a
 * table, optionally accepts unknown peers of our realm, and starts the stack. Then:
 * send requests with an answer callback and a timeout, wait for peers, list them.
 * One instance per process (fd_core_initialize works once); see FIELD-NOTES.md. */
#ifndef IMS_DIA_CORE_H
#define IMS_DIA_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg;

#define DIA_HANDLERS_MAX 16 /* rows of a handler table */
#define DIA_PEERS_MAX    32 /* configured peers */

/* A peer we connect to (a ConnectPeer block). */
struct dia_peer_conf {
	const char *fqdn;    /* its Diameter identity */
	const char *address; /* IPv4 address to connect to */
	uint16_t port;       /* its Diameter port (its TLS port when TLS is on) */
};

/* A request handler, called on a freeDiameter thread with the received request in *msg
 * (already parsed against the dictionary; decode it with dia_cx_*_parse). It must:
 *  - turn *msg into the answer (dia_cx_*_answer or dia_cx_answer_error) and return 0:
 *    dia_core sends it; or
 *  - take the request (keep *msg, set *msg = NULL, return 0) and answer it later with
 *    dia_cx_*_answer + dia_core_answer from any thread; or
 *  - return a negative errno: dia_core answers DIAMETER_UNABLE_TO_COMPLY.
 * It must never block on the daemon's loop (FIELD-NOTES: deadlock). */
typedef int (*dia_request_fn)(struct msg **msg, void *arg);

/* One row of the handler table: {command code, handler}. */
struct dia_handler {
	uint32_t command;  /* Cx command code (CX_CMD_MAR...) */
	dia_request_fn fn; /* called for requests of that command */
	void *arg;         /* passed to fn */
};

struct dia_core_conf {
	const char *identity;               /* our Diameter identity (FQDN) */
	const char *realm;                  /* our realm (the domain name) */
	const char *address;                /* IPv4 loopback address we bind and advertise */
	uint16_t port;                      /* port we listen on (the TLS port when tls);
	                                       0 = listen nowhere (pure client) */
	const char *run_dir;                /* where <identity>.fd.conf is written */
	bool tls;                           /* TLS on every connection */
	const char *tls_cert;               /* tls: our certificate (CN/SAN = identity), PEM */
	const char *tls_key;                /* tls: its private key, PEM */
	const char *tls_ca;                 /* tls: CA that signed every node, PEM */
	const struct dia_peer_conf *peers;  /* peers we connect to (copied) */
	size_t n_peers;                     /* entries in peers, at most DIA_PEERS_MAX */
	bool accept_realm_peers;            /* accept a CER from a peer not in peers when its
	                                       Origin-Host is in our realm or it advertises a
	                                       loopback address (HSS) */
	const struct dia_handler *handlers; /* request handlers (copied) */
	size_t n_handlers;                  /* entries, at most DIA_HANDLERS_MAX */
	unsigned app_threads;               /* AppServThreads (handler threads); 0 = 4 */
};

/* Everything up to, not including, starting the stack: freeDiameter logger -> our log,
 * fd_core_initialize, the configuration file written to run_dir and parsed, our
 * address as the only listen endpoint, the Cx dictionary, handlers, Cx application
 * support, peer validation. Afterwards the Cx codec works (unit tests need no more).
 * Once per process. 0 or -errno (logged). */
int dia_core_init(const struct dia_core_conf *conf);
/* dia_core_init(conf) unless conf is NULL (init already done), then fd_core_start and
 * fd_core_waitstartcomplete: listening, connecting to peers. 0 or -errno (logged). */
int dia_core_start(const struct dia_core_conf *conf);
/* DPR/DPA to every peer and stop the stack's threads (about 0.1 s). The stack cannot be
 * started again in this process. Safe to call when not started. */
void dia_core_stop(void);

/* Waits until every configured peer is open, at most timeout_ms. 0 or -ETIMEDOUT. */
int dia_core_wait_peers(int timeout_ms);
/* True when the peer with this identity is open (configured or accepted). */
bool dia_core_peer_open(const char *fqdn);

/* A peer as /diameter/peers shows it. */
struct dia_peer_info {
	char identity[256]; /* its Diameter identity */
	char state[24];     /* "open", "closed", "waitcnxack", "waitcea", "suspect"... */
	char address[64];   /* its first known IP address, "" when none */
	uint16_t port;      /* configured port, 0 for peers that connected to us */
	bool configured;    /* from our configuration, not accepted dynamically */
};
/* Fills out[0..max-1] with the known peers; returns how many there are (may exceed max). */
size_t dia_core_peers(struct dia_peer_info *out, size_t max);

/* Called once per sent request on a freeDiameter thread: with the answer in *answer
 * and err 0 (the callback may keep the answer by setting *answer = NULL, else it is
 * freed on return), or with answer NULL and err -ETIMEDOUT when none came in time.
 * A request no peer could take is answered locally by freeDiameter with Result-Code
 * DIAMETER_UNABLE_TO_DELIVER (3002). Never block on the loop here: decode, then
 * loop_post the result. */
typedef void (*dia_answer_fn)(void *arg, struct msg **answer, int err);
/* Sends the request *req (ownership taken: *req is NULL on return) with a timeout in
 * milliseconds (0 = 5000). cb(arg, ...) is called exactly once if this returns 0, never
 * if it returns -errno. May block briefly when freeDiameter's queues are full: keep
 * a bounded window of requests in flight. */
int dia_core_send(struct msg **req, unsigned timeout_ms, dia_answer_fn cb, void *arg);
/* Sends an answer built later by a handler that took its request (ownership taken). */
int dia_core_answer(struct msg **answer);

/* Our identity and realm as configured ("" before init). */
const char *dia_core_identity(void);
const char *dia_core_realm(void);

#endif
