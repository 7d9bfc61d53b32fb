/* The I-CSCF's private header: one banner per source file, so it reads as a table of
 * contents of the daemon (TS 24.229 5.3: the home network's entry point, which asks the
 * HSS over Cx which S-CSCF serves a user). */
#ifndef IMS_ICSCF_H
#define IMS_ICSCF_H

#include "dia_cx.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct dia_call_result;
struct loop;
struct rest;
struct sip_msg;
struct sip_proxy;
struct sip_proxy_ops;
struct sip_req;
struct topo;
struct topo_domain;
struct topo_node;

/* icscf_select.c */

/* TS 29.228 6.7 and TS 24.229 5.3.1.2: picks the S-CSCF for a first registration from
 * the Server-Capabilities of a UAA. Candidates are the Server-Names the HSS lists or,
 * when it lists none, the S-CSCFs of home; a candidate must offer every mandatory
 * capability (per its topology entry; a name the topology does not know qualifies only
 * when nothing is mandatory), and the most optional ones win. turn spreads the load
 * among equally good candidates (round robin). Writes the Server-Name
 * ("sip:fqdn:port") into out. 0, -ENOENT (no candidate qualifies), -ENOSPC. */
int icscf_select_scscf(const struct topo *topo, const struct topo_domain *home,
                       const struct cx_capabilities *caps, unsigned turn, char *out, size_t outlen);
/* The S-CSCF a UAA or LIA designates: its Server-Name when not empty, else one selected
 * from its Server-Capabilities (icscf_select_scscf). 0 with out filled, -ENODATA (neither
 * given), -ENOENT (no S-CSCF fits), -ENOSPC. */
int icscf_select_assigned(const struct topo *topo, const struct topo_domain *home,
                          const char *server_name, const struct cx_capabilities *caps,
                          unsigned turn, char *out, size_t outlen);

/* What the I-CSCF does with a UAA or an LIA. */
struct icscf_decision {
	int status;            /* 0: forward to scscf; else the SIP status to answer */
	const char *reason;    /* reason phrase for status (static), NULL for the default */
	char scscf[CX_ID_MAX]; /* status 0: the S-CSCF's Server-Name */
};

/* icscf_reg.c */

/* UARs in flight at most (FIELD-NOTES: freeDiameter's queues are bounded and
 * fd_msg_send blocks when they fill); beyond, a REGISTER gets 503 with Retry-After. */
#define ICSCF_UAR_INFLIGHT_MAX 2048

/* Turns the outcome of a UAR into a decision: the assigned Server-Name, or one selected
 * from the capabilities (icscf_select_scscf with turn; none -> 600 Busy Everywhere);
 * Cx errors as ims.md maps them: DIAMETER_ERROR_USER_UNKNOWN, _IDENTITIES_DONT_MATCH,
 * _ROAMING_NOT_ALLOWED, _IDENTITY_NOT_REGISTERED and DIAMETER_AUTHORIZATION_REJECTED
 * (and any other permanent failure) -> 403; no answer, DIAMETER_UNABLE_TO_DELIVER and
 * other transient failures -> 480. */
void icscf_reg_decide(const struct topo *topo, const struct topo_domain *home,
                      const struct dia_call_result *r, unsigned turn, struct icscf_decision *out);

/* The UAR for a REGISTER (TS 29.228 6.1.1, TS 24.229 5.3.1.2): Public-Identity from To,
 * User-Name from the Authorization username (else the To URI without "sip:"),
 * Visited-Network-Identifier from P-Visited-Network-ID unquoted (else own_domain),
 * User-Authorization-Type DE_REGISTRATION when every contact expires now (Expires 0,
 * expires=0 or Contact: *), else REGISTRATION. Destination-Realm own_domain,
 * Destination-Host hss. 0, -EBADMSG (no usable To), -EMSGSIZE (a value over CX_ID_MAX). */
int icscf_reg_uar(const struct sip_msg *m, const char *own_domain, const char *hss,
                  struct cx_uar *q);

struct icscf;
/* The REGISTER handler: UAR, then forward or answer (from the Cx answer, later). */
void icscf_reg_on_request(struct icscf *ic, struct sip_req *req);
/* Responses to forwarded REGISTERs: counted by outcome. */
void icscf_reg_on_response(struct icscf *ic, struct sip_req *req, struct sip_msg *resp);
/* The transaction of req ended before its UAA came back: the answer will be dropped. */
void icscf_reg_on_gone(struct icscf *ic, struct sip_req *req);
/* Frees the contexts of UARs still in flight (after the proxy and Diameter stopped). */
void icscf_reg_fini(struct icscf *ic);

/* icscf_stats.c */

/* Cx answer outcomes counted apart: known result codes, then other, timeout, error. */
#define ICSCF_CX_SLOTS 15
/* Local answers counted apart by status (ICSCF_REPLY_SLOTS - 1 known, then other). */
#define ICSCF_REPLY_SLOTS 10
/* Final responses to forwarded requests, by outcome. */
enum icscf_fwd_outcome {
	ICSCF_FWD_OK,        /* 2xx */
	ICSCF_FWD_CHALLENGE, /* 401 */
	ICSCF_FWD_FORBIDDEN, /* 403 */
	ICSCF_FWD_OTHER_4XX, /* other 4xx */
	ICSCF_FWD_5XX,       /* 5xx */
	ICSCF_FWD_6XX,       /* 6xx */
	ICSCF_FWD_TIMEOUT,   /* the S-CSCF never answered */
	ICSCF_FWD_N
};

/* The counters of one Cx command (UAR or LIR). */
struct icscf_cx_stats {
	uint64_t sent;                    /* requests sent */
	uint64_t answers[ICSCF_CX_SLOTS]; /* outcomes, see icscf_stats_cx */
	uint64_t latency_us;              /* sum of the round trips of answered requests */
	uint64_t answered;                /* requests that got an answer (latency count) */
};

/* What one kind of SIP request became (REGISTER, or the initial requests of calls). */
struct icscf_sip_stats {
	uint64_t requests;                   /* received */
	uint64_t replies[ICSCF_REPLY_SLOTS]; /* answered by us, by status */
	uint64_t forwarded[ICSCF_FWD_N];     /* forwarded, by final response */
};

/* Counters of the I-CSCF, loop thread only. */
struct icscf_stats {
	struct icscf_sip_stats reg;  /* REGISTER requests */
	struct icscf_cx_stats uar;   /* their UARs */
	struct icscf_sip_stats call; /* initial requests to terminating users */
	struct icscf_cx_stats lir;   /* their LIRs */
	uint64_t in_dialog;          /* in-dialog requests relayed (none expected) */
};

/* Counts the outcome of one Cx request (r->err, else res, the answer's result) and its
 * latency. */
void icscf_stats_cx(struct icscf_cx_stats *c, const struct dia_call_result *r,
                    const struct cx_result *res);
/* Counts a request we answered ourselves with status. */
void icscf_stats_reply(struct icscf_sip_stats *s, int status);
/* Counts the final response status to a forwarded request (timeout: no answer). */
void icscf_stats_forwarded(struct icscf_sip_stats *s, int status, bool timeout);
struct prom;
/* Appends every counter to a Prometheus text buffer. */
void icscf_stats_prom(const struct icscf_stats *st, struct prom *p);
/* The counters of one kind of request and its Cx command (named command in the object)
 * as a new JSON object, or NULL. */
json_t *icscf_stats_json(const struct icscf_sip_stats *s, const struct icscf_cx_stats *c,
                         const char *command);

/* icscf_call.c */

/* LIRs in flight at most, like ICSCF_UAR_INFLIGHT_MAX; beyond, 503 with Retry-After. */
#define ICSCF_LIR_INFLIGHT_MAX 2048

/* TS 29.228 6.1.4, TS 24.229 5.3.2.1: the LIR for an initial request: Public-Identity
 * from the Request-URI (a tel URI as it is; a SIP URI reduced to scheme, user and host:
 * no port, parameters or headers), Destination-Realm own_domain, Destination-Host hss.
 * 0, -EBADMSG (not a tel URI nor a SIP URI with a user), -EMSGSIZE (over CX_ID_MAX). */
int icscf_call_lir(const struct sip_msg *m, const char *own_domain, const char *hss,
                   struct cx_lir *q);
/* Turns the outcome of an LIR into a decision (calls.md, TS 24.229 5.3.2.1): a
 * Server-Name (DIAMETER_SUCCESS or DIAMETER_UNREGISTERED_SERVICE) -> that S-CSCF;
 * capabilities -> one selected (icscf_select_assigned with turn; none fits -> 480);
 * DIAMETER_ERROR_USER_UNKNOWN -> 404; no answer and every other result -> 480. */
void icscf_call_decide(const struct topo *topo, const struct topo_domain *home,
                       const struct dia_call_result *r, unsigned turn, struct icscf_decision *out);

/* Every request but REGISTER: an initial one is held for its LIR, then forwarded to the
 * S-CSCF (with its URI as the top Route) or answered; an in-dialog one (we never
 * Record-Route, so none should come) is relayed to its next hop; OPTIONS for us or our
 * domain is answered. */
void icscf_call_on_request(struct icscf *ic, struct sip_req *req);
/* Responses to forwarded initial requests: counted by outcome. */
void icscf_call_on_response(struct icscf *ic, struct sip_req *req, struct sip_msg *resp);
/* The transaction of req ended before its LIA came back: the answer will be dropped. */
void icscf_call_on_gone(struct icscf *ic, struct sip_req *req);
/* Frees the contexts of LIRs still in flight (after the proxy and Diameter stopped). */
void icscf_call_fini(struct icscf *ic);

/* icscf_sip.c */

/* The role hooks of the proxy core: a method table for new requests. */
extern const struct sip_proxy_ops icscf_sip_ops;

/* main.c */

struct icscf_uar;
struct icscf_lir;

/* The daemon: everything the I-CSCF owns, reached from its loop. */
struct icscf {
	const struct daemon *daemon;  /* command line, topology, loop (main's) */
	const struct topo *topo;      /* the lab (daemon's) */
	const struct topo_node *node; /* this I-CSCF in topo */
	const struct topo_node *hss;  /* our domain's HSS, the one Diameter peer */
	struct loop *loop;            /* the daemon's loop */
	struct sip_proxy *proxy;      /* owned; SIP listener and transactions */
	struct rest *rest;            /* owned; status API */
	struct icscf_uar *pending;    /* owned; UARs in flight (list) */
	size_t n_pending;             /* entries in pending */
	struct icscf_lir *lirs;       /* owned; LIRs in flight (list) */
	size_t n_lirs;                /* entries in lirs */
	unsigned cx_timeout_ms;       /* Diameter answer timeout */
	unsigned turn;                /* round robin among equal S-CSCFs */
	bool sip_ready;               /* SIP listening and REST up */
	struct icscf_stats stats;     /* counters */
};

/* icscf_rest.c */

/* True when SIP listens and the HSS peer is open (GET /status "ready"). */
bool icscf_ready(const struct icscf *ic);

/* Starts the REST API (GET /status, /metrics, /diameter/peers) on the node's address
 * and REST port. 0 or -EIO (rest_new logged why). */
int icscf_rest_init(struct icscf *ic);
/* Stops it; safe when init failed. */
void icscf_rest_fini(struct icscf *ic);

#endif
