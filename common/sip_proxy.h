/* The transaction-stateful proxy core shared by the P-, I- and S-CSCF (RFC 3261 16 and
 * 17): receives from sip_transport, parses with sip_msg, answers what no role needs to
 * see (malformed -> 400, Max-Forwards exhausted -> 483, loops -> 482, retransmissions
 * absorbed by server transactions, 100 Trying for INVITE), hands each new request to
 * the role, forwards what the role decides through client transactions (our Via with a
 * fresh branch, Max-Forwards decremented, retransmission over UDP with Timers A/B/E/F,
 * 408 when the next hop never answers), and relays responses upstream with our Via
 * popped. Forwarding edits the received bytes (ARCHITECTURE.md); it never re-serialises.
 * Everything runs on the loop thread. */
#ifndef IMS_SIP_PROXY_H
#define IMS_SIP_PROXY_H

#include "sip_msg.h"
#include "sip_transport.h"

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct prom;
struct topo;
struct sip_proxy;
/* One server transaction: a received request and what becomes of it. Owned by the core;
 * valid from on_request until the role answers it (sip_req_reply) or the core reports it
 * gone (on_gone); forwarded requests stay valid until their final response was relayed.
 * Its message (sip_req_msg) is freed once a final response went upstream. */
struct sip_req;

/* Where a request goes next. */
struct sip_target {
	struct sockaddr_in addr; /* next hop address */
	enum sip_proto proto;    /* transport; UDP is upgraded to TCP for requests over 1300
	                            bytes (RFC 3261 18.1.1) */
	uint64_t conn_id;        /* TCP: reuse this connection when open (0: any) */
};

/* What the role does, as a table of hooks (called on the loop thread). */
struct sip_proxy_ops {
	/* A new request passed the core's checks (not a retransmission; ACK of a non-2xx
	 * and CANCEL of a pending INVITE are handled by the core). The role edits the
	 * message (sip_req_msg) and then calls exactly one of sip_req_reply,
	 * sip_req_forward or sip_req_fork, now or later (e.g. after a Diameter answer). An
	 * ACK reaching the role is end-to-end (for a 2xx, RFC 3261 17.1.1.3): pop its Route
	 * and forward it (sip_req_next_hop + sip_req_forward: sent statelessly with our Via,
	 * no client transaction, nothing expected back), or drop it with sip_req_reply
	 * (nothing is sent). The core owns the top Via and Max-Forwards: do not edit them. */
	void (*on_request)(void *app, struct sip_req *req);
	/* A response to a request the role forwarded, before the core relays it upstream
	 * (our Via already popped): the role may inspect it and edit it (e.g. strip ck/ik,
	 * store a registration from a 200). NULL: relay as is. Called for provisional
	 * responses (not 100) of every branch and for the final response relayed (the first
	 * 2xx, or the best one of sip_req_fork), including the 408 (Timer B/F/C) and 487
	 * (CANCEL unanswered) the core generates; sip_req_msg(req) is still valid. Further
	 * 2xx to an INVITE (retransmissions, forks) are relayed without it. */
	void (*on_response)(void *app, struct sip_req *req, struct sip_msg *resp);
	/* The transaction of req is gone before the role answered it: shutdown, a CANCEL
	 * of the INVITE (the core answers 487), or the role kept it too long (64*T1, Timer
	 * C for INVITE; the core answers 500). Drop every pointer to req. NULL allowed. */
	void (*on_gone)(void *app, struct sip_req *req);
};

struct sip_proxy_conf {
	const char *address;             /* IPv4 loopback address we listen on and put in Via */
	uint16_t port;                   /* SIP port, UDP and TCP */
	const char *fqdn;                /* our host name: Route/Record-Route/Path URIs naming us
	                                    use it; "is this Route ours" accepts it or address */
	const struct topo *topo;         /* the lab, for sip_proxy_resolve; borrowed */
	const struct sip_proxy_ops *ops; /* role hooks; borrowed, static */
	void *app;                       /* passed to every hook */
	/* Extensions; 0 takes the default. */
	unsigned t1_ms;      /* RFC 3261 17.1.1.1 T1 (default 500); T2 = 8*T1, T4 = 10*T1
	                        (4 s and 5 s by default), Timers B/F/H/J/L/M = 64*T1 */
	unsigned timer_c_ms; /* RFC 3261 16.6 step 11 Timer C for INVITE (default 180000) */
	unsigned max_txns;   /* live transactions; beyond, new requests get 503 (default
	                        262144: 64*T1 of Timer J at 4,000 requests/s) */
};

/* Counters for /status and /metrics. */
struct sip_proxy_stats {
	uint64_t requests_in;      /* new requests handed to the role */
	uint64_t retransmissions;  /* retransmitted requests absorbed */
	uint64_t responses_in;     /* responses received and matched */
	uint64_t stray_responses;  /* responses matching no client transaction */
	uint64_t replies_4xx_core; /* 4xx sent by the core itself: 400/481/482/483, and
	                              the 408/487 it generates */
	uint64_t timeouts;         /* client transactions that got no final response */
	uint64_t forwarded;        /* requests forwarded */
	/* Extensions. */
	uint64_t replies_5xx_core; /* 500/503/505/513 sent by the core itself */
	uint64_t dropped;          /* unparsable messages and responses dropped */
	uint64_t cancels;          /* CANCELs matched to a pending INVITE */
	uint64_t txns;             /* live transactions now (gauge) */
	uint64_t hop_us_sum;       /* time from receiving a request to forwarding it (each
	                              branch), summed: per-hop latency = hop_us_sum / forwarded,
	                              Diameter round trips of the role included */
};

/* Starts the SIP listener on conf->address:conf->port. Returns the proxy or NULL after
 * logging why. */
struct sip_proxy *sip_proxy_new(struct loop *lp, const struct sip_proxy_conf *conf);
/* Stops: every pending transaction ends (on_gone for unanswered requests). NULL ok. */
void sip_proxy_free(struct sip_proxy *p);
const struct sip_proxy_stats *sip_proxy_stats(const struct sip_proxy *p);
const struct sip_transport_stats *sip_proxy_transport_stats(const struct sip_proxy *p);
/* Appends the core's counters to a Prometheus exposition, each family named
 * <prefix>_...: <prefix>_sip_{requests,retransmissions,responses,forwarded,timeouts,
 * core_replies,hop_microseconds}_total, <prefix>_sip_messages_{in,out}_total{transport},
 * <prefix>_sessions_attempts_total, <prefix>_sessions_answered_total{class="1xx".."6xx"},
 * <prefix>_session_setup_{microseconds,samples}_total and the <prefix>_dialogs gauge.
 * prefix is the role ("pcscf"). */
void sip_proxy_prom(const struct sip_proxy *p, const char *prefix, struct prom *out);
/* The core's blocks of GET /status, as a new object (caller owns it; NULL on no memory):
 * {"sip": {requests_in, retransmissions, forwarded, timeouts, hop_us_avg}, "sessions":
 * {attempts, answered: {"1xx".."6xx"}, setup_us_avg, dialogs}}; averages in
 * microseconds, 0 without samples. */
json_t *sip_proxy_status_json(const struct sip_proxy *p);
/* Extension: the SIP port actually bound (conf->port, or the one picked for port 0). */
uint16_t sip_proxy_port(const struct sip_proxy *p);

/* Our own SIP URI with ;lr ("sip:pcscf.ims.alpha.test:5060;lr"), for Record-Route,
 * Path and Service-Route. Borrowed, lives as long as p. */
const char *sip_proxy_uri(const struct sip_proxy *p);
/* True when uri (as written in a Route/Path value, without < >) names this node: host
 * equal to our fqdn or address, and port equal to ours (absent = 5060). */
bool sip_proxy_is_us(const struct sip_proxy *p, const char *uri, size_t len);

/* Turns a SIP URI into a target: an IPv4 host is used as it is; a node FQDN of the
 * topology gives that node's address; a domain name of the topology gives the domain's
 * first I-CSCF (its entry point). Port from the URI, else the node's sip_port, else
 * 5060; transport from ;transport=, else UDP. 0, -ENOENT (unknown host), -EBADMSG. */
int sip_proxy_resolve(const struct sip_proxy *p, const char *uri, size_t len,
                      struct sip_target *out);

/* ---- one request ---- */

/* The received request, editable until forwarded (sip_msg_edit_*). Borrowed. */
struct sip_msg *sip_req_msg(struct sip_req *req);
/* Where it came from: source address, transport, TCP connection. */
const struct sockaddr_in *sip_req_source(const struct sip_req *req);
enum sip_proto sip_req_proto(const struct sip_req *req);
uint64_t sip_req_conn(const struct sip_req *req);
/* Role data attached to the request; free_fn(data) runs when the transaction ends. */
void sip_req_set_data(struct sip_req *req, void *data, void (*free_fn)(void *data));
void *sip_req_data(const struct sip_req *req);

/* Answers the request with a final or provisional response built from it
 * (sip_msg_build_response): reason NULL takes the default phrase; extra_headers NULL or
 * whole CRLF-terminated lines; a To tag is added to final responses when the request had
 * none. A final response ends the role's part (req stays valid until return). 0 or
 * -errno. */
int sip_req_reply(struct sip_req *req, int status, const char *reason, const char *extra_headers);
/* The same with a body (Content-Type given in extra_headers). */
int sip_req_reply_body(struct sip_req *req, int status, const char *reason,
                       const char *extra_headers, const char *body, size_t body_len);
/* Forwards the (edited) request to target: the core pushes our Via (RFC 3261 16.6
 * step 8, branch = z9hG4bK + unique value), decrements Max-Forwards (step 3, adds 70
 * when absent), pushes the Record-Route asked for, starts a client transaction, and
 * relays the responses upstream (on the way calling on_response): sip_req_fork with
 * one branch. An ACK is sent statelessly (no transaction). Call once. 0 or -errno (the
 * role then replies itself, e.g. 503; an ACK it drops with sip_req_reply).
 * The branch is z9hG4bK + a loop hash of the request as received (Request-URI, Call-ID,
 * CSeq, From, To, every Route value, our address:port) + a hash of the upstream
 * transaction, so retransmissions map to one branch; a request coming back with a Via
 * of ours carrying the same loop hash gets 482 (16.3 item 4). A legitimate spiral must
 * therefore change the Request-URI or the Route set (e.g. ;orig in the S-CSCF's
 * Service-Route, TS 24.229). */
int sip_req_forward(struct sip_req *req, const struct sip_target *target);

/* ---- routing (RFC 3261 16.4, 16.6, 16.12) ----
 * sip_msg accessors keep returning the received values; the core remembers what these
 * calls changed, so sip_req_next_hop sees the request as it will be sent. When the
 * role made edits of its own since (sip_msg_edit_* on sip_req_msg), sip_req_next_hop
 * reads Route and Request-URI from the rendered message instead (one render + index). */

/* 16.4: removes the top Route values that name this node (sip_proxy_is_us). Strict-
 * router compatibility: when the Request-URI names us and a Route is present, the last
 * Route value becomes the Request-URI and is removed (then the top values naming us are
 * removed as well). Call once, before any other edit of Route or the Request-URI.
 * Returns how many values were removed (the strict-router one included; 0 when none),
 * or -EALREADY (called twice or after forwarding), -ENOSPC/-EINVAL (edit failed). The
 * user part of the first removed URI that has one (e.g. "orig", "term"; the
 * Request-URI's first in the strict case) is copied into user (size n, may be NULL;
 * "" when none) so the role knows which of its URIs was addressed. */
int sip_req_pop_routes(struct sip_req *req, char *user, size_t n);
/* Replaces the Route set left after sip_req_pop_routes by values (n entries, "<uri>" or
 * a bare URI, pushed in order: values[0] on top); n = 0 removes every Route. For a
 * P-CSCF enforcing the Service-Route (RFC 3608, TS 24.229 5.2.6.3.2). Call right after
 * sip_req_pop_routes (or instead of it), before other edits of Route: -EBUSY when edits
 * were made since the pop. On failure the Route set and Request-URI are back to the
 * received ones (the pop undone too). 0 or -errno. */
int sip_req_set_routes(struct sip_req *req, const char *const *values, size_t n);
/* 16.6 step 4: asks for Record-Route: <sip:[user@]fqdn:port;lr> (user NULL for none) on
 * the forwarded copies. The value is pushed when the request is forwarded, on each
 * branch, with ";transport=tcp" when the request came over TCP or that branch leaves
 * over TCP (one value serves both directions of the dialog). Marks the dialog as ours
 * (sip_proxy_dialogs_json). 0, -EINVAL (user not made of unreserved characters, or 63
 * bytes or more), -EALREADY. */
int sip_req_record_route(struct sip_req *req, const char *user);
/* 16.6 steps 6-7: the next hop: the first remaining Route value when present (after
 * sip_req_pop_routes), else the Request-URI (the strict-router one included),
 * resolved with sip_proxy_resolve. Takes the role's pending edits into account (a Route
 * pushed or a Request-URI replaced by the role, see above). 0, -ENOENT (unresolvable),
 * -EBADMSG (not a sip: URI, e.g. tel:), -EALREADY. */
int sip_req_next_hop(struct sip_req *req, struct sip_target *out);

/* Most branches of one fork. */
#define SIP_PROXY_MAX_BRANCHES 32

/* One branch of a forked request (16.5-16.6): per-branch Request-URI and Route values. */
struct sip_branch {
	const char *ruri;          /* new Request-URI (a registered contact), NULL: keep */
	const char *const *routes; /* Route values pushed on top (a stored Path), "<uri>" or
	                              a bare URI; routes[0] ends up first. May be NULL */
	size_t n_routes;           /* entries in routes */
	struct sip_target target;  /* where this branch goes (the first Route's host, or the
	                              contact's) */
};
/* Forwards one copy of the request per branch in parallel (16.6 for each: own Via
 * branch, Max-Forwards, Record-Route, Timer C), with the edits common to all made before
 * the call. sip_req_forward is this with one branch. Responses (16.7):
 * - provisionals (not 100) of every branch are relayed (on_response first);
 * - the first 2xx is relayed at once (on_response first) and the other pending INVITE
 *   branches are CANCELled (step 10; a branch without provisional is cancelled when its
 *   first provisional comes, 9.1); later 2xx are relayed without on_response; a
 *   non-INVITE 2xx ends the context the same way (other branches' answers dropped);
 * - a 6xx is kept, not relayed at once, and the other pending branches are CANCELled
 *   (step 5);
 * - otherwise, once every branch has a final response (its own, a 408 for Timer B/F/C
 *   without provisional, a 487 when a CANCEL stays unanswered 64*T1), the best one is
 *   relayed with on_response (step 6): any 6xx; else the lowest class (3xx < 4xx <
 *   5xx); within 4xx, 401/407/415/420/484 first, 408 last; on equal rank the first
 *   received. 401/407 challenges are not merged; a 503 is relayed as is.
 * Branches that cannot be sent at all (edit or transport error) are skipped; when none
 * could be sent the role keeps the request. Each branch has its own Timer C (restarted
 * by its provisionals >100): without provisional it counts as a 408, else the branch is
 * CANCELled. An ACK (of a 2xx) takes one branch and is sent statelessly. Call once,
 * instead of sip_req_forward. 0, -EINVAL (n is 0 or above SIP_PROXY_MAX_BRANCHES, or
 * several for an ACK), -EALREADY, or the last branch's -errno. */
int sip_req_fork(struct sip_req *req, const struct sip_branch *branches, size_t n);

/* ---- dialogs seen by this proxy (for GET /dialogs) ---- */

/* Returns a new JSON array (caller owns it; NULL on no memory) of the dialogs this node
 * Record-Routed (sip_req_record_route on the initial INVITE), least recently used
 * first: {"call_id", "from_tag" (caller's), "to_tag" (callee's), "state": "early" |
 * "confirmed", "route_set": [Record-Route values of the 1xx/2xx as written, top first],
 * "age": seconds}. The core creates a dialog from a 1xx (not 100) with To tag or a 2xx to
 * an initial INVITE (one per To tag: forks give several early dialogs; the 2xx's
 * Record-Route replaces the route set), removes an early one when its branch gets a
 * non-2xx final or its INVITE transaction ends unconfirmed, removes a dialog on a 2xx,
 * 481 or 408 to a BYE in either direction (RFC 5057), and after 12 h without any
 * in-dialog request forwarded. A non-2xx to a re-INVITE keeps the dialog. */
json_t *sip_proxy_dialogs_json(const struct sip_proxy *p);
/* Session counters (3GPP SC.AttSession style), for initial INVITEs (no To tag) that the
 * role forwarded (forked ones once). */
struct sip_proxy_sessions {
	uint64_t attempts;     /* initial INVITEs forwarded */
	uint64_t answered[7];  /* final answer relayed upstream, by class 1..6 (index 2 =
	                          2xx; the first 2xx only; core 408/487 included) */
	uint64_t setup_us_sum; /* sum of INVITE arrival -> first 2xx relayed, microseconds
	                          (divide by answered[2]) */
	uint64_t dialogs;      /* dialogs open now (gauge; early and confirmed) */
};
const struct sip_proxy_sessions *sip_proxy_sessions(const struct sip_proxy *p);

#endif
