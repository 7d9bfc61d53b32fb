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

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
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
	 * message (sip_req_msg) and then calls exactly one of sip_req_reply or
	 * sip_req_forward, now or later (e.g. after a Diameter answer). An ACK reaching the
	 * role is end-to-end (for a 2xx, RFC 3261 17.1.1.3): forward it, or drop it with
	 * sip_req_reply (nothing is sent). The core owns the top Via and Max-Forwards: do
	 * not edit them. */
	void (*on_request)(void *app, struct sip_req *req);
	/* A response to a request the role forwarded, before the core relays it upstream
	 * (our Via already popped): the role may inspect it and edit it (e.g. strip ck/ik,
	 * store a registration from a 200). NULL: relay as is. Called for provisional
	 * responses (not 100) and for the first final one, including the 408 (Timer B/F)
	 * and 487 (CANCEL unanswered) the core generates; sip_req_msg(req) is still valid.
	 * Further 2xx to an INVITE (retransmissions, forks) are relayed without it. */
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
};

/* Starts the SIP listener on conf->address:conf->port. Returns the proxy or NULL after
 * logging why. */
struct sip_proxy *sip_proxy_new(struct loop *lp, const struct sip_proxy_conf *conf);
/* Stops: every pending transaction ends (on_gone for unanswered requests). NULL ok. */
void sip_proxy_free(struct sip_proxy *p);
const struct sip_proxy_stats *sip_proxy_stats(const struct sip_proxy *p);
const struct sip_transport_stats *sip_proxy_transport_stats(const struct sip_proxy *p);
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
 * when absent), starts a client transaction, and relays the responses upstream (on the
 * way calling on_response). Call once. 0 or -errno (the role then replies itself,
 * e.g. 503).
 * The branch is z9hG4bK + a loop hash of the request as received (Request-URI, Call-ID,
 * CSeq, From, To, every Route value, our address:port) + a hash of the upstream
 * transaction, so retransmissions map to one branch; a request coming back with a Via
 * of ours carrying the same loop hash gets 482 (16.3 item 4). A legitimate spiral must
 * therefore change the Request-URI or the Route set (e.g. ;orig in the S-CSCF's
 * Service-Route, TS 24.229). */
int sip_req_forward(struct sip_req *req, const struct sip_target *target);

#endif
