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

/* icscf_reg.c */

/* UARs in flight at most (FIELD-NOTES: freeDiameter's queues are bounded and
 * fd_msg_send blocks when they fill); beyond, a REGISTER gets 503 with Retry-After. */
#define ICSCF_UAR_INFLIGHT_MAX 2048

/* What the I-CSCF does with a UAA (TS 24.229 5.3.1.2). */
struct icscf_decision {
	int status;            /* 0: forward to scscf; else the SIP status to answer */
	const char *reason;    /* reason phrase for status (static), NULL for the default */
	char scscf[CX_ID_MAX]; /* status 0: the S-CSCF's Server-Name */
};

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

/* UAA outcomes counted apart: known result codes, then other, timeout, error. */
#define ICSCF_UAA_SLOTS 14
/* Local answers counted apart by status (ICSCF_REPLY_SLOTS - 1 known, then other). */
#define ICSCF_REPLY_SLOTS 9
/* Final responses to forwarded REGISTERs, by outcome. */
enum icscf_fwd_outcome {
	ICSCF_FWD_OK,        /* 2xx */
	ICSCF_FWD_CHALLENGE, /* 401 */
	ICSCF_FWD_FORBIDDEN, /* 403 */
	ICSCF_FWD_OTHER_4XX, /* other 4xx */
	ICSCF_FWD_5XX,       /* 5xx */
	ICSCF_FWD_6XX,       /* 6xx */
	ICSCF_FWD_TIMEOUT,   /* the S-CSCF never answered (504 to the UE) */
	ICSCF_FWD_N
};

/* Counters of the I-CSCF, loop thread only. */
struct icscf_stats {
	uint64_t reg_requests;               /* REGISTER requests received */
	uint64_t uar_sent;                   /* UARs sent */
	uint64_t uaa[ICSCF_UAA_SLOTS];       /* UAA outcomes, see icscf_stats_uaa */
	uint64_t cx_latency_us;              /* sum of UAR round trips */
	uint64_t cx_answers;                 /* UARs that got an answer (latency count) */
	uint64_t replies[ICSCF_REPLY_SLOTS]; /* REGISTERs answered by us, by status */
	uint64_t forwarded[ICSCF_FWD_N];     /* REGISTERs forwarded, by final response */
	uint64_t not_implemented;            /* other requests answered 501 */
};

/* Counts the outcome of one UAR (r->err, or the answer's result) and its latency. */
void icscf_stats_uaa(struct icscf_stats *st, const struct dia_call_result *r);
/* Counts a REGISTER we answered ourselves with status. */
void icscf_stats_reply(struct icscf_stats *st, int status);
/* Counts the final response status to a forwarded REGISTER (timeout: no answer). */
void icscf_stats_forwarded(struct icscf_stats *st, int status, bool timeout);
struct prom;
/* Appends every counter to a Prometheus text buffer. */
void icscf_stats_prom(const struct icscf_stats *st, struct prom *p);
/* The counters as a new JSON object, or NULL. */
json_t *icscf_stats_json(const struct icscf_stats *st);

/* icscf_sip.c */

/* The role hooks of the proxy core: a method table for new requests. */
extern const struct sip_proxy_ops icscf_sip_ops;

/* main.c */

struct icscf_uar;

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
