/* The test UE's private header: one banner per source file, so it reads as a table of
 * contents. The UE is a real SIP user agent: it registers with IMS AKA (RFC 3310,
 * TS 24.229 5.1.1) or SIP Digest MD5 through its P-CSCF, keeps the registration fresh,
 * answers requests sent to it, and is driven over REST. */
#ifndef IMS_UE_H
#define IMS_UE_H

#include "aka.h"
#include "codec.h"
#include "digest.h"
#include "sip_transport.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct rest;
struct sip_msg;
struct topo;
struct topo_node;
struct ue_txn;

/* ue_auth.c: challenge parsing and credentials (RFC 2617, RFC 3310, TS 33.102) */

/* Longest directive value kept from a challenge (realm, nonce, opaque), NUL included;
 * longer ones make the challenge unusable (-EMSGSIZE). */
#define UE_AUTH_VALUE_MAX 256
/* Room for a cnonce (hex of 8 random bytes here) or a peer's, NUL included. */
#define UE_AUTH_CNONCE_MAX 40
/* Room for auts="..." contents: base64 of the 14-byte AUTS, NUL included. */
#define UE_AUTH_AUTS_MAX CODEC_B64_SIZE(AKA_AUTS_LEN)

/* Digest algorithms the UE answers. */
enum ue_auth_alg {
	UE_AUTH_MD5,       /* RFC 2617 3.2.2.2, password from the subscriber record */
	UE_AUTH_AKAV1_MD5, /* RFC 3310 3.3: the password is the RES of the USIM */
};

/* One WWW-Authenticate challenge as the UE uses it (RFC 2617 3.2.1, RFC 3261 25.1). */
struct ue_challenge {
	enum ue_auth_alg alg;           /* algorithm directive (absent means MD5) */
	char realm[UE_AUTH_VALUE_MAX];  /* realm, unquoted */
	char nonce[UE_AUTH_VALUE_MAX];  /* nonce, unquoted; AKA: base64(RAND || AUTN ...) */
	char opaque[UE_AUTH_VALUE_MAX]; /* opaque, unquoted, echoed back */
	bool has_opaque;                /* opaque was present (may be empty) */
	char qop[16];                   /* qop chosen from the offered list: "auth",
	                                   "auth-int", or "" when none was offered */
	bool stale;                     /* stale=true: only the nonce was refused */
};

/* Outcome of running the USIM on an AKA challenge (TS 33.102 6.3.3). */
enum ue_aka_result {
	UE_AKA_OK,          /* MAC right, SQN fresh: answer with RES */
	UE_AKA_RESYNC,      /* MAC right, SQN not acceptable: answer with AUTS */
	UE_AKA_MAC_FAILURE, /* MAC-A wrong: the network is not authentic */
};

/* What the USIM computed for one challenge. */
struct ue_aka {
	enum ue_aka_result result;       /* which of the answers below applies */
	uint64_t sqn;                    /* SQN recovered from AUTN (OK and RESYNC) */
	uint8_t res[8];                  /* RES = f2(RAND) (OK) */
	uint64_t sqn_ms;                 /* SQN_MS put in AUTS (RESYNC) */
	uint8_t auts[AKA_AUTS_LEN];      /* AUTS (RESYNC) */
	char auts_b64[UE_AUTH_AUTS_MAX]; /* base64(AUTS), the auts directive (RESYNC) */
};

/* The credentials of one Authorization header (RFC 2617 3.2.2). */
struct ue_credentials {
	char response[DIGEST_HEX_SIZE];  /* request-digest; "" sends response="" */
	char cnonce[UE_AUTH_CNONCE_MAX]; /* client nonce; sent only with a qop */
	char nc[9];                      /* nonce-count, 8 hex digits; sent with a qop */
	char auts[UE_AUTH_AUTS_MAX];     /* auts directive (RFC 3310 3.4), "" for none */
};

/* Parses one WWW-Authenticate (or Proxy-Authenticate) value of len bytes, unfolded:
 * "Digest" then comma-separated directives with token or quoted-string values. Unknown
 * directives (ck, ik, domain...) are skipped. Returns 0; -EBADMSG when malformed
 * (no realm or nonce, a directive twice, control characters, bad quoting); -ENOTSUP
 * for another scheme, an algorithm other than MD5 and AKAv1-MD5, or a qop list without
 * auth or auth-int; -EMSGSIZE when a value exceeds UE_AUTH_VALUE_MAX. */
int ue_auth_parse_challenge(const char *value, size_t len, struct ue_challenge *out);

/* Runs the USIM on an AKAv1-MD5 challenge (TS 33.102 6.3.3, RFC 3310 3.2): decodes the
 * nonce into RAND || AUTN (more bytes of server data are allowed), checks MAC-A with K
 * and OPc, then SQN freshness against ms (which records the SQN when accepted); on a
 * stale SQN builds AUTS from SQN_MS = aka_sqn_ms_highest(ms). Returns 0 with out->result
 * set, -EBADMSG when the nonce is not base64 of at least 32 bytes, -EIO when the crypto
 * fails. */
int ue_auth_aka(const struct ue_challenge *ch, const uint8_t k[16], const uint8_t opc[16],
                struct aka_sqn_ms *ms, struct ue_aka *out);

/* Computes the request-digest for ch (RFC 2617 3.2.2.1) with username user and the
 * password pw of pwlen raw bytes (AKA: the RES bytes, RFC 3310 3.3; an empty password
 * for a resynchronisation, RFC 3310 3.4), for method and uri, nonce-count 1 and
 * cnonce (used only when ch->qop is set). Fills out->response, cnonce and nc; leaves
 * out->auts alone. Returns 0 or the negative error of digest_ha1/digest_response. */
int ue_auth_response(const struct ue_challenge *ch, const char *user, const void *pw, size_t pwlen,
                     const char *method, const char *uri, const char *cnonce,
                     struct ue_credentials *out);

/* Writes an Authorization value: with ch NULL the credentials of a first REGISTER
 * (TS 24.229 5.1.1.2.1: username, realm, nonce="", uri, response=""); else the answer to
 * ch with cr (algorithm, qop/nc/cnonce when ch->qop is set and cr->response is not
 * empty, opaque when given, auts when cr->auts is set). Quoted values are escaped.
 * Returns the length written (NUL added), -ENOSPC, or -EINVAL for NULL arguments. */
ssize_t ue_auth_header(const char *user, const char *realm, const char *uri,
                       const struct ue_challenge *ch, const struct ue_credentials *cr, char *out,
                       size_t outlen);

/* "MD5" or "AKAv1-MD5". */
const char *ue_auth_alg_name(enum ue_auth_alg alg);

/* Starts the USIM's SQN record as if every SQN up to SEQ(sqn) had been accepted in
 * every IND slot (TS 33.102 C.2): a network SQN with SEQ <= SEQ(sqn) is then refused
 * and resynchronised. sqn 0 gives a fresh USIM. */
void ue_auth_sqn_ms_set(struct aka_sqn_ms *ms, uint64_t sqn);

/* ue_sip.c: transport, UAC non-INVITE transactions (RFC 3261 17.1.2), UAS answers */

/* RFC 3261 17.1.1.1 timer values (milliseconds). */
#define UE_SIP_T1 500
#define UE_SIP_T2 4000
#define UE_SIP_T4 5000
/* Client transactions alive at once (Completed ones included); more give -EAGAIN. */
#define UE_SIP_TXN_MAX 32
/* Room for a branch parameter, NUL included. */
#define UE_SIP_BRANCH_MAX 40
/* Largest request or response the UE builds. */
#define UE_SIP_MSG_MAX 4096

struct ue;

/* Called once per client transaction with its final outcome: a final response
 * (rsp set, status 200-699, borrowed for the call), or rsp NULL with status 408 when
 * Timer F fired (no final response within 64*T1). The callback may start new
 * transactions; the one reported is gone for the caller after the call. */
typedef void (*ue_sip_cb)(struct ue *ue, uint64_t txn_id, const struct sip_msg *rsp, int status);

/* Binds the UE's SIP transport (UDP and TCP) on its address and port; ue->loop must
 * exist. Returns 0 or -EIO after logging why. */
int ue_sip_init(struct ue *ue);
/* Drops every transaction (callbacks not run) and closes the transport. Safe twice. */
void ue_sip_fini(struct ue *ue);

/* Writes a fresh token of nbytes random bytes as hex into out (outlen bytes). Returns 0,
 * -ENOSPC or -EIO. For tags, Call-IDs and cnonces. */
int ue_sip_token(char *out, size_t outlen, size_t nbytes);
/* Writes a new RFC 3261 8.1.1.7 branch (magic cookie "z9hG4bK" + random) into out. */
int ue_sip_branch(char out[UE_SIP_BRANCH_MAX]);

/* Sends request msg (len bytes; its top Via carries branch, its CSeq method) to the
 * P-CSCF over ue->proto and starts a non-INVITE client transaction: Timer E
 * retransmissions over UDP (T1 doubling up to T2, T2 once a provisional arrived), Timer F
 * at 64*T1, responses matched by branch and CSeq method (RFC 3261 17.1.3). cb reports
 * the outcome. Returns 0 and the transaction's id in *id, or a negative errno when the
 * request could not be sent (cb is then never called). */
int ue_sip_request(struct ue *ue, const char *branch, const char *method, const char *msg,
                   size_t len, ue_sip_cb cb, uint64_t *id);

/* ue_reg.c: registration state machine (RFC 3261 10.2, TS 24.229 5.1.1) */

/* Service-Route and P-Associated-URI values kept from a 200 (more are dropped). */
#define UE_REG_URIS_MAX 16
/* Longest URI or header value kept (Contact, a Service-Route entry...), NUL included. */
#define UE_URI_MAX 512
/* 401s answered within one operation before giving up (first challenge, one after a
 * resynchronisation, one spare). */
#define UE_REG_CHALLENGES_MAX 3

enum ue_reg_state {
	UE_REG_UNREGISTERED, /* no binding (start, or after de-registration) */
	UE_REG_REGISTERING,  /* first registration in progress */
	UE_REG_REGISTERED,   /* a binding exists until expiry_ms */
	UE_REG_FAILED,       /* the last registration attempt failed */
};

/* What the UE is doing with its registration. */
enum ue_reg_op {
	UE_OP_NONE,       /* idle */
	UE_OP_REGISTER,   /* registering or re-registering */
	UE_OP_UNREGISTER, /* de-registering (Expires: 0) */
};

struct ue_reg {
	enum ue_reg_state state;  /* reported by /status */
	enum ue_reg_op op;        /* operation in progress */
	uint32_t expires_req;     /* Expires asked for in REGISTER */
	uint32_t expires;         /* expiry granted by the last 200 */
	uint64_t expiry_ms;       /* loop time at which the binding lapses */
	uint64_t refresh_timer;   /* loop timer re-registering at half the expiry, or 0 */
	char call_id[96];         /* Call-ID of every REGISTER of this run (RFC 3261 10.2) */
	char from_tag[32];        /* From tag of our REGISTERs */
	uint32_t cseq;            /* CSeq of the last REGISTER sent (incremented per request) */
	uint64_t txn_id;          /* client transaction of the REGISTER in flight, 0 if none */
	unsigned challenges;      /* 401s answered in this operation */
	bool mac_failure;         /* the last challenge failed network authentication: the
	                             operation fails whatever the network answers */
	bool interval_retried;    /* a 423 was already answered in this operation */
	bool have_auth;           /* auth below is known (a challenge was answered) */
	enum ue_auth_alg auth;    /* algorithm of the last challenge answered */
	int last_status;          /* status of the last final response (408 for Timer F),
	                             0 before any */
	char last_reason[128];    /* its reason phrase, or why the UE gave up */
	char contact[UE_URI_MAX]; /* our Contact URI */
	char service_route[UE_REG_URIS_MAX][UE_URI_MAX]; /* Service-Route values of the 200 */
	size_t n_service_route;                          /* entries in service_route */
	char associated[UE_REG_URIS_MAX][UE_URI_MAX];    /* P-Associated-URI values */
	size_t n_associated;                             /* entries in associated */
	struct aka_sqn_ms sqn_ms;                        /* the USIM's SQN record */
	uint64_t resyncs;                                /* AUTS sent (SQN resynchronisations) */
	uint64_t mac_failures;                           /* challenges whose MAC-A was wrong */
	uint64_t registers_sent;  /* REGISTER requests sent (first transmissions) */
	uint64_t registrations;   /* successful registrations and re-registrations */
	uint64_t deregistrations; /* successful de-registrations */
	uint64_t failures;        /* operations that failed */
};

/* Prepares the registration: Call-ID, From tag, Contact, the USIM's SQN record from
 * sqn_ms (0 for a fresh USIM) and the default expiry. Returns 0 or -EIO. */
int ue_reg_init(struct ue *ue, uint64_t sqn_ms, uint32_t expires);
/* Cancels the refresh timer. */
void ue_reg_fini(struct ue *ue);
/* Starts op: UE_OP_REGISTER with expires (0 keeps the last value asked) or
 * UE_OP_UNREGISTER (expires ignored). Returns 0 when the REGISTER is on its way (the
 * outcome comes through ue_rest_reg_done), -EINPROGRESS when the same operation is
 * already running, -EBUSY when the other one is, or the negative error of a REGISTER
 * that could not be sent (the operation has then already failed). */
int ue_reg_start(struct ue *ue, enum ue_reg_op op, uint32_t expires);
/* "unregistered", "registering", "registered", "failed". */
const char *ue_reg_state_name(enum ue_reg_state state);
/* Seconds left of the binding (0 when not registered). */
uint32_t ue_reg_expires_in(const struct ue *ue);

/* Expiry granted to contact by a 2xx to REGISTER (RFC 3261 10.2.4): the expires
 * parameter of the Contact value whose URI matches contact (scheme, user, host and port
 * compared), else the Expires header, else requested. */
uint32_t ue_reg_granted(const struct sip_msg *rsp, const char *contact, uint32_t requested);
/* Copies the values of header name (a list header such as Service-Route or
 * P-Associated-URI, one value per element) into out, at most max of them; values
 * longer than UE_URI_MAX are skipped. Returns how many were copied. */
size_t ue_reg_values(const struct sip_msg *rsp, const char *name, char (*out)[UE_URI_MAX],
                     size_t max);

/* ue_rest.c: REST API (GET /status, /metrics; POST /register, /unregister) */

struct ue_waiter;

/* Starts the REST server on the node's address and REST port. Returns 0 or -EIO. */
int ue_rest_init(struct ue *ue);
/* Stops it; waiting POST requests are dropped (answered 503 by the server). */
void ue_rest_fini(struct ue *ue);
/* Called by ue_reg when op ends (ok or not): answers the POST requests waiting for it. */
void ue_rest_reg_done(struct ue *ue, enum ue_reg_op op, bool ok);

/* main.c */

/* Counters for /metrics not kept by the transport or the registration. */
struct ue_stats {
	uint64_t retransmissions; /* requests retransmitted by Timer E */
	uint64_t timeouts;        /* client transactions ended by Timer F */
	uint64_t responses[7];    /* final and provisional responses received, by class
	                             (index 1-6) */
	uint64_t stray_responses; /* responses matching no transaction */
	uint64_t requests_in;     /* requests received */
	uint64_t parse_errors;    /* messages that did not parse */
};

/* The UE: everything it owns, reached from its loop. */
struct ue {
	struct topo *topo;             /* owned; the lab's topology */
	const struct topo_node *node;  /* our node in topo */
	const struct topo_node *pcscf; /* our P-CSCF in topo */
	const char *domain;            /* home domain (borrowed from topo) */
	char impi[256];                /* private identity (username of Digest) */
	char impu[256];                /* default public identity (From, To) */
	char user[256];                /* user part of our Contact */
	bool has_k;                    /* AKA credentials below are set */
	uint8_t k[16];                 /* subscriber key K */
	uint8_t opc[16];               /* OPc (derived from OP when given OP) */
	bool has_password;             /* password below is set */
	char password[128];            /* SIP Digest MD5 password */
	enum sip_proto proto;          /* transport towards the P-CSCF */
	struct sockaddr_in pcscf_addr; /* P-CSCF SIP address */
	struct loop *loop;             /* owned; the one thread of the UE */
	struct sip_transport *sip;     /* owned; UDP and TCP on our address */
	struct ue_txn *txns;           /* owned list of client transactions */
	unsigned n_txns;               /* entries in txns */
	uint64_t next_txn_id;          /* id given to the next transaction */
	struct rest *rest;             /* owned; the REST API */
	struct ue_waiter *waiters;     /* owned list of deferred POST requests */
	struct ue_reg reg;             /* registration state */
	struct ue_stats stats;         /* counters */
	uint64_t started_ms;           /* loop_clock_ms() at start, for uptime */
	bool ready;                    /* SIP and REST listening */
};

#endif
