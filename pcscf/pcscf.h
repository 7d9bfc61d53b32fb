/* The P-CSCF's private header: one banner per source file, so it reads as a table of
 * contents of the daemon (TS 24.229 5.2: the UE's first hop into the IM CN subsystem). */
#ifndef IMS_PCSCF_H
#define IMS_PCSCF_H

#include "sip_msg.h"
#include "sip_transport.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;
struct loop;
struct rest;
struct sip_proxy;
struct sip_proxy_ops;
struct sip_req;
struct topo;
struct topo_node;

/* pcscf_store.c */

/* Bounds of one registration: a longer URI or Service-Route list is refused; identities
 * of P-Associated-URI beyond the bound are not kept. */
#define PCSCF_URI_MAX   256   /* bytes of one URI (IMPU, IMPI, contact, route), no NUL */
#define PCSCF_ASSOC_MAX 16    /* P-Associated-URI entries kept (the HSS allows 16) */
#define PCSCF_ROUTE_MAX 8     /* Service-Route entries kept (RFC 3608) */
#define PCSCF_REGS_MAX  65536 /* registrations (pending ones included) by default */
/* TS 24.229 Table 7.8.1, reg-await-auth (4 minutes): how long the keys of a challenge
 * wait for the 200 in a pending record. */
#define PCSCF_PENDING_SEC 240
/* Bytes of a contact's address key "host:port" (a host of SIP_HOST_MAX, ':', 5 digits). */
#define PCSCF_ADDR_KEY_MAX (SIP_HOST_MAX + 8)

enum pcscf_state {
	PCSCF_PENDING,    /* challenged (401 seen), not registered yet */
	PCSCF_REGISTERED, /* a 200 OK registered it */
};

/* The emulated security association (TS 33.203 7.1): the CK and IK the S-CSCF put in
 * its 401, which the P-CSCF keeps instead of setting up IPsec with them. */
struct pcscf_sa {
	bool set;       /* keys present */
	uint8_t ck[16]; /* confidentiality key */
	uint8_t ik[16]; /* integrity key */
};

/* What a 200 OK to a REGISTER establishes, as pcscf_reg_binding reads it. Every span
 * borrows from the request or response it was read from. */
struct pcscf_binding {
	struct sip_span impu;                           /* To URI of the REGISTER */
	struct sip_span impi;                           /* Authorization username, or the IMPU
	                                                   without "sip:" */
	struct sip_span contact;                        /* the UE's Contact URI */
	struct sockaddr_in ue;                          /* where the REGISTER came from */
	enum sip_proto proto;                           /* over which transport */
	uint64_t conn_id;                               /* TCP connection (0 for UDP) */
	struct sip_span assoc[PCSCF_ASSOC_MAX];         /* P-Associated-URI values (URIs) */
	size_t n_assoc;                                 /* entries in assoc */
	struct sip_span service_route[PCSCF_ROUTE_MAX]; /* Service-Route values, in order,
	                                                   each with its < > and parameters */
	size_t n_service_route;                         /* entries in service_route */
	uint32_t expires;                               /* seconds the binding lasts */
};

struct pcscf_reg;
/* The registrations of a P-CSCF, keyed by every URI of each implicit registration set
 * (case-insensitive), each record on a loop timer. Loop thread only. */
struct pcscf_store;

/* One key of the table: a URI naming a registration (its IMPU and each associated URI). */
struct pcscf_key {
	struct pcscf_key *next; /* next key of the hash bucket */
	struct pcscf_reg *reg;  /* the registration it names */
	const char *uri;        /* the URI, in reg->text */
	size_t len;             /* its length */
	uint32_t hash;          /* case-insensitive hash of uri */
};

/* One registration: a UE's contact and what the network told about it. Owned by the
 * store; every string points into text and is NUL-terminated. */
struct pcscf_reg {
	enum pcscf_state state;                     /* pending or registered */
	const char *impu;                           /* the IMPU the UE registered */
	const char *impi;                           /* its private identity */
	const char *contact;                        /* the UE's Contact URI; "" if pending */
	struct sockaddr_in ue;                      /* the UE's source address */
	enum sip_proto proto;                       /* its transport */
	uint64_t conn_id;                           /* its TCP connection (0: UDP) */
	const char *assoc[PCSCF_ASSOC_MAX];         /* associated URIs, default first */
	size_t n_assoc;                             /* entries in assoc */
	const char *service_route[PCSCF_ROUTE_MAX]; /* Service-Route values, in order */
	size_t n_service_route;                     /* entries in service_route */
	uint64_t expires_ms;                        /* loop time the record ends */
	uint64_t timer;                             /* its expiry timer on the loop */
	struct pcscf_sa sa;                         /* the SA in use */
	struct pcscf_sa sa_new;                     /* a re-challenge's SA, in use from the
	                                               next 200 (TS 33.203 7.4) */
	struct pcscf_key keys[PCSCF_ASSOC_MAX + 1]; /* names of the record in the table */
	size_t n_keys;                              /* entries in keys */
	struct pcscf_key at;                        /* the contact's "host:port" in the
	                                               address index (len 0: not indexed) */
	struct pcscf_store *store;                  /* the store holding it (timer use) */
	struct pcscf_reg *prev;                     /* previous record of the store list */
	struct pcscf_reg *next;                     /* next record of the store list */
	char text[];                                /* the strings above */
};

/* Called on the loop thread when a record's timer removes it; r is freed on return. */
typedef void pcscf_store_expired_fn(void *arg, const struct pcscf_reg *r);

/* A store for at most max records (0: PCSCF_REGS_MAX) whose timers run on lp;
 * on_expired(arg, r) (may be NULL) hears of each expiry. Owned, or NULL. */
struct pcscf_store *pcscf_store_new(struct loop *lp, size_t max, pcscf_store_expired_fn *on_expired,
                                    void *arg);
/* Frees every record and cancels their timers. NULL is a no-op. */
void pcscf_store_free(struct pcscf_store *s);
/* The record named by uri (len bytes, case-insensitive), or NULL. Borrowed: valid until
 * the store changes. */
const struct pcscf_reg *pcscf_store_find(const struct pcscf_store *s, const char *uri, size_t len);
/* TS 24.229 5.2.2.1: keeps the keys of a 401 to impu's REGISTER as its emulated SA:
 * in the registered record (used from its next 200) or in a pending record that lives
 * PCSCF_PENDING_SEC. 0, -ENOSPC (store full), -EMSGSIZE (too long), -ENOMEM. */
int pcscf_store_challenge(struct pcscf_store *s, struct sip_span impu, struct sip_span impi,
                          const struct pcscf_sa *sa);
/* TS 24.229 5.2.2.2: stores (or refreshes) the registration of a 200 OK; records that held
 * one of its URIs are replaced. 0, -ENOSPC, -EMSGSIZE, -ENOMEM (then nothing changed). */
int pcscf_store_register(struct pcscf_store *s, const struct pcscf_binding *b);
/* The registered record whose contact has the host and port of uri (a SIP URI as in a
 * Request-URI or Contact, len bytes), or NULL: how a request toward a UE finds it
 * (TS 24.229 5.2.6.4) whatever the user part and parameters. Borrowed like
 * pcscf_store_find. */
const struct pcscf_reg *pcscf_store_find_contact(const struct pcscf_store *s, const char *uri,
                                                 size_t len);
/* The registered record whose contact address is addr (IPv4 and port), or NULL. */
const struct pcscf_reg *pcscf_store_find_addr(const struct pcscf_store *s,
                                              const struct sockaddr_in *addr);
/* The address key of a SIP or SIPS URI: "host:port", host lower-cased, port 5060 (5061
 * for sips) when absent. Returns its length, or -EINVAL (not a SIP URI, no host),
 * -ENOSPC (longer than n - 1). */
int pcscf_store_addr_key(const char *uri, size_t len, char *out, size_t n);
/* Forgets the record named by uri (de-registration). 0 or -ENOENT. */
int pcscf_store_forget(struct pcscf_store *s, const char *uri, size_t len);
/* Number of records in state. */
size_t pcscf_store_count(const struct pcscf_store *s, enum pcscf_state state);
/* The first record of the store (newest first) and the one after r; NULL at the end. */
const struct pcscf_reg *pcscf_store_first(const struct pcscf_store *s);
const struct pcscf_reg *pcscf_store_next(const struct pcscf_reg *r);

/* pcscf_reg.c */

/* P-CSCF registration outcomes, counted for /metrics (TS 32.409 5.1-style). */
enum pcscf_reg_outcome {
	PCSCF_OUT_CHALLENGED,        /* 401 relayed (keys taken) */
	PCSCF_OUT_REGISTERED,        /* 200 stored a new registration */
	PCSCF_OUT_REREGISTERED,      /* 200 refreshed a registration */
	PCSCF_OUT_DEREGISTERED,      /* 200 to a de-registration */
	PCSCF_OUT_REJECTED,          /* a final error response came back */
	PCSCF_OUT_DOMAIN_NOT_SERVED, /* 403: Request-URI domain not in the topology */
	PCSCF_OUT_BAD_REQUEST,       /* 400: no Contact, bad To or Request-URI */
	PCSCF_OUT_FORWARD_FAILED,    /* could not be forwarded (503) */
	PCSCF_OUT_STORE_FAILED,      /* 200 relayed but not kept (store full, too long) */
	PCSCF_OUT_EXPIRED,           /* a registration's timer ran out */
	PCSCF_OUT_N
};

/* What became of the other requests (calls, MESSAGE, ...), counted for /metrics. */
enum pcscf_call_outcome {
	PCSCF_CALL_ORIG,        /* initial request of a UE sent to its S-CSCF (5.2.6.3) */
	PCSCF_CALL_TERM,        /* initial request sent to a UE (5.2.6.4) */
	PCSCF_CALL_DIALOG_UP,   /* in-dialog request of a UE forwarded */
	PCSCF_CALL_DIALOG_DOWN, /* in-dialog request forwarded toward a UE */
	PCSCF_CALL_ROUTE_FIXED, /* a UE's Route set replaced by its Service-Route */
	PCSCF_CALL_UNREACHABLE, /* 480: no registered UE has the Request-URI contact */
	PCSCF_CALL_LOCAL,       /* a request for the P-CSCF itself answered (OPTIONS) */
	PCSCF_CALL_FAILED,      /* could not be edited or forwarded (4xx/5xx answered) */
	PCSCF_CALL_N
};

/* Counters of the P-CSCF, loop thread only. */
struct pcscf_stats {
	uint64_t reg[PCSCF_OUT_N];   /* registrations by outcome */
	uint64_t reg_requests;       /* REGISTER requests received */
	uint64_t forbidden;          /* 403 to requests from unregistered UEs */
	uint64_t call[PCSCF_CALL_N]; /* other requests by outcome */
};

/* "challenged", "registered", ... */
const char *pcscf_reg_outcome_name(enum pcscf_reg_outcome o);

/* TS 24.229 5.2.2.1 and RFC 3327 5.2: the edits of a REGISTER from a UE before it goes to
 * the I-CSCF: path (a whole "<sip:term@...;lr>" value) pushed as Path, "Require: path"
 * when the UE said "Supported: path", sec-agree dropped from Require and Proxy-Require,
 * Security-Client/-Verify, Route and any UE-supplied P-Asserted-Identity and
 * P-Visited-Network-ID removed, and P-Visited-Network-ID set to pvni. 0 or -errno. */
int pcscf_reg_edit_request(struct sip_msg *m, const char *path, const char *pvni);
/* TS 33.203 7.1: reads ck= and ik= from the WWW-Authenticate of a 401 into *sa (set only
 * when both are 32 hex digits) and removes both parameters. Returns the number of
 * parameters removed, or -errno. */
int pcscf_reg_take_keys(struct sip_msg *resp, struct pcscf_sa *sa);
/* TS 24.229 5.2.2.2: what the 200 OK resp to the REGISTER req (received from src over
 * proto/conn_id) registers. The UE's contact is the first Contact of req; its binding in
 * the 200 is found by URI. Returns 1 with *b filled when that binding remains, 0 when it
 * is gone (de-registration: expires 0, Contact: *, or absent from the 200; b->impu is
 * set), -EBADMSG when a header it needs is malformed, -EMSGSIZE when Service-Route
 * exceeds PCSCF_ROUTE_MAX. */
int pcscf_reg_binding(const struct sip_msg *req, const struct sip_msg *resp,
                      const struct sockaddr_in *src, enum sip_proto proto, uint64_t conn_id,
                      struct pcscf_binding *b);
/* The IMPI a REGISTER names: the username= of its Authorization, else the To URI without
 * its "sip:" scheme (ims.md). Empty span when neither exists. */
struct sip_span pcscf_reg_impi(const struct sip_msg *m, struct sip_span impu);

struct pcscf;
/* The REGISTER handler: checks, edits and forwards req (TS 24.229 5.2.2.1). */
void pcscf_reg_on_request(struct pcscf *pc, struct sip_req *req);
/* The response handler for REGISTER: 401 keys, 200 store, de-registration. */
void pcscf_reg_on_response(struct pcscf *pc, struct sip_req *req, struct sip_msg *resp);
/* The store's expiry hook (arg is the struct pcscf): counts and logs. */
void pcscf_reg_on_expired(void *arg, const struct pcscf_reg *r);
/* Fills pc->path and pc->pvni from the node and the proxy's URI. 0 or -ENAMETOOLONG. */
int pcscf_reg_init(struct pcscf *pc);

/* pcscf_call.c */

/* Core nodes of the lab the P-CSCF tells apart from UEs by source address. */
#define PCSCF_CORE_MAX 64

/* "orig", "term", ... */
const char *pcscf_call_outcome_name(enum pcscf_call_outcome o);
/* RFC 3261 19.1.4, as far as routing needs it: two SIP URIs (without < >) name the same
 * resource: same scheme, user, host (case-insensitive), port (absent = 5060, 5061 for
 * sips) and transport (absent = udp). */
bool pcscf_call_same_uri(struct sip_span a, struct sip_span b);
/* TS 24.229 5.2.6.3.2, RFC 3325 9.1: the identity the network asserts for a request (or
 * response) m from the UE registered as r: the first P-Preferred-Identity that is in
 * r's registered set, else the default public identity (first P-Associated-URI, else
 * the registered IMPU). Borrowed from r. */
const char *pcscf_call_identity(const struct pcscf_reg *r, const struct sip_msg *m);
/* RFC 3325 9.1: removes every P-Asserted-Identity and P-Preferred-Identity of m and
 * adds "P-Asserted-Identity: <uri>". 0 or -errno (edits rolled back). */
int pcscf_call_edit_identity(struct sip_msg *m, const char *uri);
/* RFC 3608 6, TS 24.229 5.2.6.3.2: true when the Route values of m after the first
 * skip (ours) are the n values of sr (a stored Service-Route), URI by URI. */
bool pcscf_call_routes_match(const struct sip_msg *m, unsigned skip, const char *const *sr,
                             size_t n);
/* TS 24.229 5.2.6.3.2: replaces every Route value of m by the n values of sr, in order
 * (where the first Route line was, else after the last header). 0 or -errno (edits
 * rolled back). */
int pcscf_call_replace_routes(struct sip_msg *m, const char *const *sr, size_t n);
/* RFC 3323 4.2, RFC 3325 9.3: the request asks for identity privacy (Privacy: id), so
 * P-Asserted-Identity may not reach an untrusted destination such as the UE. */
bool pcscf_call_privacy_id(const struct sip_msg *m);

/* Every request but REGISTER (TS 24.229 5.2.6): from a UE, originating (initial) or
 * in-dialog, only when it is registered (else 403); from the core, terminating toward
 * a UE or in-dialog. dialog: the method creates a dialog (Record-Route). */
void pcscf_call_on_request(struct pcscf *pc, struct sip_req *req, bool dialog);
/* Responses to requests pcscf_call_on_request forwarded: the UE's identity asserted in
 * its 1xx/2xx to a terminating request (TS 24.229 5.2.6.4). */
void pcscf_call_on_response(struct pcscf *pc, struct sip_req *req, struct sip_msg *resp);
/* Learns the addresses of the core nodes from the topology. 0 or -ENOSPC. */
int pcscf_call_init(struct pcscf *pc);

/* pcscf_sip.c */

/* The role hooks of the proxy core: a method table for new requests, REGISTER responses. */
extern const struct sip_proxy_ops pcscf_sip_ops;

/* main.c */

/* The daemon: everything the P-CSCF owns, reached from its loop. */
struct pcscf {
	const struct daemon *daemon;         /* command line, topology, loop (main's) */
	const struct topo *topo;             /* the lab (daemon's) */
	const struct topo_node *node;        /* this P-CSCF in topo */
	struct loop *loop;                   /* the daemon's loop */
	struct sip_proxy *proxy;             /* owned; SIP listener and transactions */
	struct rest *rest;                   /* owned; status API */
	struct pcscf_store *store;           /* owned; registrations */
	char path[PCSCF_URI_MAX];            /* our Path value "<sip:term@fqdn:port;lr>" */
	char pvni[PCSCF_URI_MAX];            /* our P-Visited-Network-ID value ("\"domain\"") */
	struct in_addr core[PCSCF_CORE_MAX]; /* addresses of the lab's CSCFs and HSSs: requests
	                                        from them come from the network side */
	size_t n_core;                       /* entries in core */
	char term_mark;                      /* its address, as request data, marks a request sent
	                                        to a UE (its responses carry the UE's identity) */
	bool ready;                          /* SIP listening and REST up */
	struct pcscf_stats stats;            /* counters */
};

/* pcscf_rest.c */

/* Starts the REST API (GET /status, /metrics, /registrations, /registrations/{impu},
 * /dialogs) on the node's address and REST port. 0 or -EIO (rest_new logged why). */
int pcscf_rest_init(struct pcscf *pc);
/* Stops it; safe when init failed. */
void pcscf_rest_fini(struct pcscf *pc);

#endif
