/* The test UE's private header: one banner per source file, so it reads as a table of
 * contents. The UE is a real SIP user agent: it registers with IMS AKA (RFC 3310,
 * TS 24.229 5.1.1) or SIP Digest MD5 through its P-CSCF, keeps the registration fresh,
 * places and takes calls (RFC 3261 INVITE dialogs with SDP offer/answer per RFC 3264,
 * 100rel per RFC 3262, UPDATE per RFC 3311), sends and receives pager-mode MESSAGE
 * (RFC 3428), and is driven over REST. */
#ifndef IMS_UE_H
#define IMS_UE_H

#include "aka.h"
#include "codec.h"
#include "digest.h"
#include "sip_msg.h"
#include "sip_transport.h"

#include <jansson.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct rest;
struct rest_request;
struct rest_response;
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

/* ue_sip.c: transport, client transactions (RFC 3261 17.1), request dispatch */

/* RFC 3261 17.1.1.1 timer values (milliseconds). */
#define UE_SIP_T1 500
#define UE_SIP_T2 4000
#define UE_SIP_T4 5000
/* Client transactions alive at once (Completed ones included); more give -EAGAIN. */
#define UE_SIP_TXN_MAX 128
/* Room for a branch parameter, NUL included. */
#define UE_SIP_BRANCH_MAX 40
/* Largest request or response the UE builds. */
#define UE_SIP_MSG_MAX 8192

struct ue;

/* Called with the outcome of a client transaction. A non-INVITE transaction reports
 * once: a final response (rsp set, status 200-699, borrowed for the call), or rsp NULL
 * with status 408 when Timer F fired (no final response within 64*T1). An INVITE
 * transaction also reports every provisional response and every 2xx (retransmitted
 * ones and those of other forks too, RFC 6026 7.2), a non-2xx final once (the
 * transaction has sent its ACK), and 408 with rsp NULL when Timer B fired. cookie is
 * the value given when the transaction started (a call or message id). The callback
 * may start new transactions; a finished transaction is gone after the call. */
typedef void (*ue_sip_cb)(struct ue *ue, uint64_t txn_id, uint64_t cookie,
                          const struct sip_msg *rsp, int status);

/* Binds the UE's SIP transport (UDP and TCP) on its address and port; ue->loop must
 * exist. Returns 0 or -EIO after logging why. */
int ue_sip_init(struct ue *ue);
/* Drops every transaction (callbacks not run) and closes the transport. Safe twice. */
void ue_sip_fini(struct ue *ue);

/* Writes a fresh token of nbytes random bytes as hex into out (outlen bytes). Returns 0,
 * -ENOSPC or -EIO. For tags, Call-IDs and cnonces. */
int ue_sip_token(char *out, size_t outlen, size_t nbytes);
/* The Allow header line of the UE's requests and responses (RFC 3261 20.5). */
#define UE_ALLOW_HEADERS                                                                           \
	"Allow: INVITE, ACK, CANCEL, BYE, PRACK, UPDATE, INFO, MESSAGE, OPTIONS\r\n"

/* Writes a new RFC 3261 8.1.1.7 branch (magic cookie "z9hG4bK" + random) into out. */
int ue_sip_branch(char out[UE_SIP_BRANCH_MAX]);

/* Where a URI leads (RFC 3263 reduced to the lab): an IPv4 literal host, or the FQDN
 * of a topology node; the port of the URI, else 5060. Returns 0, -ENOENT (any other
 * name: the caller falls back to the outbound proxy) or -EBADMSG. */
int ue_sip_resolve(const struct ue *ue, const char *uri, struct sockaddr_in *out);
/* Sends len bytes to dst (NULL: the outbound proxy) over ue->proto, outside any
 * transaction (ACK for a 2xx, RFC 3261 13.2.2.4). Returns 0 or a negative errno. */
int ue_sip_send(struct ue *ue, const struct sockaddr_in *dst, const char *buf, size_t len);

/* Sends request msg (len bytes; its top Via carries branch, its CSeq method) to dst
 * (NULL: the outbound proxy) and starts a non-INVITE client transaction: Timer E
 * retransmissions over UDP (T1 doubling up to T2, T2 once a provisional arrived), Timer
 * F at 64*T1, responses matched by branch and CSeq method (RFC 3261 17.1.3). cb reports
 * the outcome with cookie. Returns 0 and the transaction's id in *id (id may be NULL),
 * or a negative errno when the request could not be sent (cb is then never called). */
int ue_sip_request(struct ue *ue, const struct sockaddr_in *dst, const char *branch,
                   const char *method, const char *msg, size_t len, ue_sip_cb cb, uint64_t cookie,
                   uint64_t *id);
/* The same for an INVITE client transaction (RFC 3261 17.1.1): Timer A retransmissions
 * over UDP (T1 doubling), Timer B at 64*T1 while no response came; the ACK of a non-2xx
 * final response is built from the INVITE and sent by the transaction (17.1.1.3, Timer D
 * absorbs retransmissions); after a 2xx the transaction stays Accepted for 64*T1 and
 * passes further 2xx to cb (RFC 6026), whose ACK is the UA core's business. */
int ue_sip_invite(struct ue *ue, const struct sockaddr_in *dst, const char *branch, const char *msg,
                  size_t len, ue_sip_cb cb, uint64_t cookie, uint64_t *id);

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

/* ue_sdp.c: SDP bodies and the offer/answer model (RFC 4566, RFC 3264) */

/* Formats kept per media line, media lines per SDP (more m-lines: -EMSGSIZE). */
#define UE_SDP_CODECS_MAX 16
#define UE_SDP_MEDIA_MAX  4
/* Largest SDP body read or written. */
#define UE_SDP_MAX 4096
/* Longest address or token field kept from an SDP line, NUL included. */
#define UE_SDP_FIELD_MAX 64

/* Media direction (RFC 3264 5.1) as two bits, seen from the SDP's author: bit 0 "I
 * send", bit 1 "I receive". */
enum ue_dir {
	UE_DIR_INACTIVE = 0, /* a=inactive */
	UE_DIR_SENDONLY = 1, /* a=sendonly */
	UE_DIR_RECVONLY = 2, /* a=recvonly */
	UE_DIR_SENDRECV = 3, /* a=sendrecv, the default */
};

/* One payload format of a media line. */
struct ue_codec {
	int pt;            /* RTP payload type, 0-127 */
	char name[32];     /* encoding name ("PCMU", "telephone-event"); "" when a dynamic
	                      type had no rtpmap */
	unsigned rate;     /* clock rate (Hz) */
	unsigned channels; /* audio channels (1 unless the rtpmap says otherwise) */
	char fmtp[96];     /* a=fmtp parameters, "" when none */
};

/* One m= line with what applies to it. */
struct ue_sdp_media {
	char type[16];                             /* "audio", "video", ... */
	uint16_t port;                             /* 0: stream rejected or disabled */
	char proto[32];                            /* transport ("RTP/AVP") */
	char fmts[128];                            /* format list as written, for the m-line
	                                              of a rejected stream in an answer */
	struct ue_codec codecs[UE_SDP_CODECS_MAX]; /* formats, in m-line order */
	unsigned n_codecs;                         /* entries in codecs */
	enum ue_dir dir;             /* media attribute, else session attribute, else sendrecv; a
	                                c=0.0.0.0 (RFC 3264 8.4 hold) clears the receive bit */
	char addr[UE_SDP_FIELD_MAX]; /* connection address (media c=, else session c=) */
	unsigned ptime;              /* a=ptime in ms, 0 when absent */
};

/* A session description. */
struct ue_sdp {
	char user[UE_SDP_FIELD_MAX];                 /* o= username */
	uint64_t sess_id;                            /* o= sess-id */
	uint64_t version;                            /* o= sess-version */
	char origin[UE_SDP_FIELD_MAX];               /* o= unicast address */
	struct ue_sdp_media media[UE_SDP_MEDIA_MAX]; /* m= lines in order */
	unsigned n_media;                            /* entries in media */
};

/* Parses an SDP body of len bytes (CRLF or LF line ends). Unknown lines and attributes
 * are skipped. Returns 0, -EBADMSG (no v=0 first, a line not "x=...", a bad m=, c=, o=,
 * rtpmap), -EMSGSIZE (more than UE_SDP_MEDIA_MAX m-lines, a field too long). */
int ue_sdp_parse(const char *text, size_t len, struct ue_sdp *out);
/* Writes s as SDP text (session c= from the first media, t=0 0, per accepted stream the
 * rtpmap, fmtp, ptime and direction attributes; a rejected stream is its m-line only).
 * Returns the length (NUL added) or -ENOSPC. */
ssize_t ue_sdp_write(const struct ue_sdp *s, char *out, size_t outlen);

/* The codec named name (case-insensitive: PCMU, PCMA, G722, G729, GSM, AMR, AMR-WB,
 * telephone-event) with the payload type, rate and fmtp the UE offers it with. Returns
 * 0 or -ENOENT. */
int ue_sdp_codec(const char *name, struct ue_codec *out);
/* True when a and b are the same format: encoding name (case-insensitive), clock rate
 * and channels (RFC 3264 6.1). */
bool ue_sdp_codec_same(const struct ue_codec *a, const struct ue_codec *b);

/* Origin and address of an SDP the UE writes. */
struct ue_sdp_origin {
	const char *user; /* o= username */
	uint64_t sess_id; /* o= sess-id (fixed for the session) */
	uint64_t version; /* o= sess-version */
	const char *addr; /* o= and c= address (IPv4) */
	uint16_t port;    /* RTP port of the audio stream */
};

/* Builds an offer (RFC 3264 5): one audio stream with the n codecs in order and
 * direction dir. Returns 0, or -EINVAL when n is 0 or above UE_SDP_CODECS_MAX. */
int ue_sdp_offer(const struct ue_sdp_origin *o, const struct ue_codec *codecs, unsigned n,
                 enum ue_dir dir, struct ue_sdp *out);
/* Builds the answer to offer (RFC 3264 6): as many m-lines as the offer; the first audio
 * stream with a port and an RTP profile is accepted with the offered formats the UE also
 * has (n local codecs; offer order and payload types kept, 6.1), telephone-event alone
 * not counting; its direction is what the offerer allows mirrored, limited to want
 * (6.1: sendonly -> recvonly, recvonly -> sendonly, inactive -> inactive); every other
 * stream is rejected with port 0. Returns 0, or -ENOTSUP when no audio stream could be
 * accepted (answer 488 Not Acceptable Here). */
int ue_sdp_answer(const struct ue_sdp *offer, const struct ue_sdp_origin *o,
                  const struct ue_codec *local, unsigned n, enum ue_dir want, struct ue_sdp *out);
/* What a completed exchange gives, with local the SDP the UE sent and remote the one
 * it received (either may be the offer): the first audio stream active in both, its
 * formats listed in remote that local has (in remote's order), and the UE's direction
 * (it sends when local sends and remote receives; likewise for receiving). Returns 0,
 * or -ENOENT when no audio stream is active in both or no real codec is common. */
int ue_sdp_negotiated(const struct ue_sdp *local, const struct ue_sdp *remote,
                      struct ue_codec *codecs, unsigned *n, enum ue_dir *dir);
/* Builds the answer refusing every stream of offer (RFC 3264 6: port 0): what an
 * answerer with nothing acceptable sends where it cannot refuse otherwise (the ACK of
 * an offer in a 2xx). */
void ue_sdp_reject(const struct ue_sdp *offer, const struct ue_sdp_origin *o, struct ue_sdp *out);
/* Checks that answer fits offer (RFC 3264 6: same number of m-lines, a common audio
 * stream with common formats). Returns 0 or -EPROTO. */
int ue_sdp_check_answer(const struct ue_sdp *offer, const struct ue_sdp *answer);
/* The direction seen from the other side (sendonly <-> recvonly). */
enum ue_dir ue_sdp_dir_mirror(enum ue_dir d);
/* "sendrecv", "sendonly", "recvonly", "inactive". */
const char *ue_sdp_dir_name(enum ue_dir d);
/* The first audio stream with a port, or NULL. */
const struct ue_sdp_media *ue_sdp_audio(const struct ue_sdp *s);

/* ue_msg.c: the UE's own requests and responses (RFC 3261 8.1.1, 8.2.6) */

/* Route values a dialog keeps (RFC 3261 12.1); more make the dialog fail (-EMSGSIZE). */
#define UE_ROUTES_MAX 12

/* Output with an overflow flag, so writing needs no check at every step (the messages
 * here and the SDP of ue_sdp.c). */
struct ue_out {
	char *p;     /* start */
	size_t len;  /* bytes written */
	size_t size; /* capacity */
	bool full;   /* something did not fit */
};

/* Appends the formatted text to o; sets o->full instead when it does not fit. */
void ue_msg_put(struct ue_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What a request is made of; every pointer is borrowed during ue_msg_request. */
struct ue_req {
	const char *method;                    /* method token */
	const char *ruri;                      /* Request-URI */
	const char *routes[UE_ROUTES_MAX + 1]; /* Route values in order ("<sip:..;lr>") */
	size_t n_routes;                       /* entries in routes */
	enum sip_proto proto;                  /* transport named in Via */
	const char *via_host;                  /* Via sent-by host */
	uint16_t via_port;                     /* Via sent-by port */
	const char *branch;                    /* Via branch */
	const char *from;                      /* From name-addr, without tag */
	const char *from_tag;                  /* From tag */
	const char *to;                        /* To name-addr, without tag */
	const char *to_tag;                    /* To tag, NULL outside a dialog */
	const char *call_id;                   /* Call-ID */
	uint32_t cseq;                         /* CSeq number (its method is method) */
	const char *contact;                   /* Contact URI, NULL for none */
	const char *headers;                   /* more header lines, each ending in CRLF, or
	                                          NULL */
	const char *content_type;              /* body type, NULL without body */
	const char *body;                      /* body bytes */
	size_t body_len;                       /* bytes in body */
	/* storage ue_dialog_fill uses: the Request-URI and the last Route of a dialog with
	 * a strict router (RFC 3261 12.2.1.1) */
	char ruri_buf[UE_URI_MAX];      /* Request-URI taken from the first Route */
	char route_buf[UE_URI_MAX + 2]; /* "<remote target>" appended as last Route */
};

/* Writes the request: request line, Via (with rport, RFC 3581), Max-Forwards 70, Route
 * lines, From, To, Call-ID, CSeq, Contact, the extra headers, User-Agent,
 * Content-Type and Content-Length, body. Returns the length (NUL added), -ENOSPC or
 * -EINVAL (a missing mandatory field). */
ssize_t ue_msg_request(const struct ue_req *r, char *out, size_t outlen);
/* Writes a response to req like sip_msg_build_response (Via with the received edits,
 * From, To with to_tag added, Call-ID, CSeq, Record-Route for 101-299 to INVITE; RFC
 * 3261 8.2.6, 12.1.1), with extra header lines (NULL or CRLF-ended lines) and, when
 * content_type is set, the body. Returns the length, -ENOSPC or -EINVAL. */
ssize_t ue_msg_response(const struct sip_msg *req, int status, const char *reason,
                        const char *to_tag, const char *extra, const char *content_type,
                        const char *body, size_t body_len, char *out, size_t outlen);
/* True when header (Require, Supported, Proxy-Require) lists option tag
 * (case-insensitive, RFC 3261 20.32). */
bool ue_msg_has_option(const struct sip_msg *m, const char *header, const char *tag);
/* The SDP body of m: its body when Content-Type is application/sdp (and the body is not
 * empty), else an empty span. */
struct sip_span ue_msg_sdp(const struct sip_msg *m);
/* Reads header name as an unsigned number below 2^32 (RSeq). 0 or -ENOENT/-EBADMSG. */
int ue_msg_uint(const struct sip_msg *m, const char *name, uint32_t *out);
/* Reads RAck (RFC 3262 7.2): response-num, CSeq-num, method. 0 or -ENOENT/-EBADMSG. */
int ue_msg_rack(const struct sip_msg *m, uint32_t *rseq, uint32_t *cseq, char *method,
                size_t methodlen);

/* ue_dialog.c: dialog state (RFC 3261 12) */

/* One dialog as the UE sees it. */
struct ue_dialog {
	char call_id[128];                      /* Call-ID */
	char local_tag[40];                     /* our tag */
	char remote_tag[SIP_TOKEN_MAX];         /* the peer's tag, "" before it is known */
	char local_uri[UE_URI_MAX];             /* our From/To name-addr, without tag */
	char remote_uri[UE_URI_MAX];            /* the peer's, without tag */
	char remote_target[UE_URI_MAX];         /* URI of the peer's Contact (12.1) */
	char routes[UE_ROUTES_MAX][UE_URI_MAX]; /* route set, in Route header order */
	size_t n_routes;                        /* entries in routes */
	uint32_t local_cseq;                    /* CSeq of our last request in the dialog */
	uint32_t remote_cseq;                   /* CSeq of the peer's last request */
	bool has_remote_cseq;                   /* remote_cseq is set */
};

/* UAC side (RFC 3261 12.1.2) from a 101-299 response with a To tag to our request:
 * route set = Record-Route reversed, remote target = Contact (kept when absent), remote
 * tag = To tag. Call-ID, local tag, URIs and local CSeq are the caller's to fill.
 * Returns 0, -ENOENT (no To tag), -EMSGSIZE (too many or too long routes), -EBADMSG. */
int ue_dialog_uac(struct ue_dialog *d, const struct sip_msg *rsp);
/* UAS side (12.1.1) from the dialog-creating request: route set = Record-Route in
 * order, remote target = Contact, remote tag = From tag, remote CSeq, Call-ID, URIs
 * (To and From without tags), local tag as given. Returns 0, -ENOENT (no Contact or
 * From tag), -EMSGSIZE, -EBADMSG. */
int ue_dialog_uas(struct ue_dialog *d, const struct sip_msg *req, const char *local_tag);
/* Target refresh (12.2.1.2, 12.2.2): remote target := the Contact of msg when it has
 * one. Returns 0 (also when it has none) or -EBADMSG/-EMSGSIZE. */
int ue_dialog_refresh(struct ue_dialog *d, const struct sip_msg *msg);
/* True when req belongs to d (12.2.2): same Call-ID, To tag = our tag, From tag = the
 * remote tag (or d has no remote tag yet and req's From tag is any). */
bool ue_dialog_matches(const struct ue_dialog *d, const struct sip_msg *req);
/* Fills the dialog part of r (12.2.1.1): Request-URI and Route from the remote target
 * and route set (loose routing: Request-URI = remote target, Route = route set; strict
 * router first: Request-URI = first route's URI, Route = the rest plus <remote target>),
 * From/To (ours local, with tags), Call-ID, cseq and method. r's other fields are left
 * as they are. */
void ue_dialog_fill(const struct ue_dialog *d, const char *method, uint32_t cseq, struct ue_req *r);
/* The URI the next hop of a request is resolved from (8.1.2): the Request-URI when
 * ue_dialog_fill found a strict router, else the first Route value's URI, else the
 * Request-URI. Written into out (outlen bytes). */
void ue_dialog_next_hop(const struct ue_req *r, char *out, size_t outlen);

/* ue_stxn.c: server transactions (RFC 3261 17.2) */

/* Server transactions alive at once; a request beyond it gets 503 statelessly. */
#define UE_STXN_MAX 256

/* One server transaction; the TU answers through it. */
struct ue_stxn {
	struct ue *ue;                  /* the UE whose list holds this */
	uint64_t id;                    /* handle for the TU (calls keep ids, not pointers) */
	char branch[SIP_TOKEN_MAX];     /* top Via branch of the request */
	char sent_by[SIP_HOST_MAX + 8]; /* top Via sent-by host:port (17.2.3) */
	enum sip_method method;         /* INVITE or another method */
	char method_text[32];           /* its token (for SIP_OTHER) */
	struct sip_msg *req;            /* owned; the request, with the Via edits made */
	enum sip_proto proto;           /* transport of the request */
	struct sockaddr_in dst;         /* where responses go (18.2.2, RFC 3581 4) */
	uint64_t conn_id;               /* TCP connection of the request */
	char *rsp;                      /* owned; last response sent, or NULL */
	size_t rsp_len;                 /* bytes in rsp */
	int status;                     /* status of rsp, 0 before any */
	bool acked;                     /* INVITE: the ACK of a non-2xx final came */
	uint32_t g_interval;            /* INVITE non-2xx: Timer G interval (ms) */
	uint64_t timer_g;               /* retransmits a non-2xx final over UDP, 0 if none */
	uint64_t timer_end;             /* H, I, J or the Accepted wait: frees the
	                                   transaction, 0 if none */
	struct ue_stxn *next;           /* next in ue->stxns */
};

/* Takes a request that arrived (Via received/rport edits made): a retransmission of a
 * request with a server transaction gets that transaction's last response again; an
 * ACK matching an INVITE transaction that sent a non-2xx final is absorbed (17.2.1).
 * Returns 1 in those cases (*req untouched). Otherwise: an ACK (for a 2xx: the TU's)
 * returns 0 with *out NULL; any other request gets a new transaction that takes *req
 * (cleared) and is returned in *out (0). -EAGAIN at UE_STXN_MAX, -ENOMEM. */
int ue_stxn_receive(struct ue *ue, struct sip_msg **req, const struct sip_packet *p,
                    struct ue_stxn **out);
/* The transaction with this id, or NULL once it is gone. */
struct ue_stxn *ue_stxn_by_id(struct ue *ue, uint64_t id);
/* The INVITE transaction a CANCEL (with the transaction t) targets (RFC 3261 9.2: same
 * branch, sent-by and Request-URI), or NULL. */
struct ue_stxn *ue_stxn_cancel_target(struct ue *ue, const struct ue_stxn *t);
/* Sends response bytes (status status) through t and keeps them for retransmitted
 * requests. A final response moves t on (17.2.1, 17.2.2): INVITE non-2xx to Completed
 * (Timer G over UDP until the ACK, Timer H gives up), INVITE 2xx to Accepted (64*T1:
 * the TU retransmits the 2xx itself), non-INVITE to Completed (Timer J). Returns 0 or
 * the send error (the transaction moves on anyway). */
int ue_stxn_send(struct ue_stxn *t, int status, const char *rsp, size_t len);
/* Builds and sends a response without body (ue_msg_response with to_tag and extra
 * headers). Returns 0 or a negative errno. */
int ue_stxn_reply(struct ue_stxn *t, int status, const char *reason, const char *to_tag,
                  const char *extra);
/* Drops every server transaction. */
void ue_stxn_fini(struct ue *ue);

/* ue_call.c: calls, their offer/answer state, REST views */

/* Calls not terminated at once; more are refused (REST 503, SIP 486). */
#define UE_CALLS_ACTIVE_MAX 64
/* Terminated calls kept for inspection; the oldest is forgotten first. */
#define UE_CALLS_KEPT 100
/* Events (messages sent and received) remembered per call. */
#define UE_CALL_EVENTS_MAX 48

/* RFC 3261 12 dialog states as the REST API names them. */
enum ue_call_state {
	UE_CALL_CALLING,    /* INVITE sent (or received), no ringing yet */
	UE_CALL_RINGING,    /* a 180 (or another provisional without a session) */
	UE_CALL_EARLY,      /* early dialog with an early media session (183 with SDP) */
	UE_CALL_CONFIRMED,  /* 2xx sent or received */
	UE_CALL_TERMINATED, /* over: BYE, CANCEL, a failure, a timeout */
};

/* Offer/answer state of a call (RFC 3264 4, RFC 3262 5, RFC 3311 5.1). */
enum ue_oa {
	UE_OA_IDLE,     /* no exchange in progress */
	UE_OA_SENT,     /* we sent an offer, its answer has not come */
	UE_OA_RECEIVED, /* we received an offer and owe its answer */
};

/* Mid-dialog client transaction in progress. */
enum ue_call_op {
	UE_CALL_OP_NONE,     /* none */
	UE_CALL_OP_REINVITE, /* re-INVITE (hold, resume) */
	UE_CALL_OP_UPDATE,   /* UPDATE */
	UE_CALL_OP_BYE,      /* BYE */
};

/* One entry of a call's message log. */
struct ue_call_event {
	uint32_t at_ms; /* ms since the call was created */
	bool out;       /* sent (true) or received */
	char what[40];  /* "INVITE", "183 (100rel, sdp)", ... */
};

/* What POST /calls asks for. */
struct ue_call_opts {
	const char *target;                        /* Request-URI (sip:, sips: or tel:) */
	bool offer;                                /* SDP offer in the INVITE (else in 2xx) */
	bool rel100;                               /* Require: 100rel (else Supported) */
	struct ue_codec codecs[UE_SDP_CODECS_MAX]; /* our formats, in preference order */
	unsigned n_codecs;                         /* entries in codecs (0: the settings') */
	const char *identity;                      /* P-Preferred-Identity, or NULL */
};

/* One call: an INVITE dialog, as caller or callee. */
struct ue_call {
	struct ue *ue;             /* the UE whose list holds this */
	uint64_t id;               /* REST id (1, 2, ...) */
	bool outgoing;             /* we sent the INVITE */
	enum ue_call_state state;  /* dialog state */
	char peer[UE_URI_MAX];     /* outgoing: the target; incoming: the From URI */
	char identity[UE_URI_MAX]; /* incoming: P-Asserted-Identity, "" when absent */
	struct ue_dialog dlg;      /* the dialog (remote tag "" until known) */
	bool offer_in_invite;      /* the initial INVITE carried an offer */
	bool rel100;               /* 100rel asked (Require) or offered (Supported) */
	bool rel100_used;          /* reliable provisionals are exchanged */
	struct ue_codec codecs[UE_SDP_CODECS_MAX]; /* our formats for this call */
	unsigned n_codecs;                         /* entries in codecs */
	/* offer/answer (RFC 3264) */
	enum ue_oa oa;          /* exchange in progress */
	struct ue_sdp local;    /* last SDP we sent that is in force */
	bool has_local;         /* local is set */
	struct ue_sdp remote;   /* last SDP of the peer that is in force */
	bool has_remote;        /* remote is set */
	struct ue_sdp pending;  /* UE_OA_SENT: our offer; UE_OA_RECEIVED: our answer */
	struct ue_sdp offer_in; /* UE_OA_RECEIVED: the peer's offer */
	bool preview;           /* remote holds an answer from an unreliable provisional
	                           (RFC 3261 13.2.1), the exchange is not over */
	uint64_t sess_id;       /* o= sess-id of our SDPs */
	uint64_t sdp_version;   /* o= version of the last SDP we sent */
	uint16_t rtp_port;      /* our (unused) RTP port */
	bool local_hold;        /* we put the call on hold */
	bool hold_wanted;       /* UE_CALL_OP_REINVITE: the hold state asked for */
	/* INVITE transaction of the initial request */
	uint32_t invite_cseq; /* CSeq of the INVITE in progress (initial or re-INVITE) */
	bool invite_oa_done;  /* the INVITE's exchange completed in a reliable 1xx */
	uint64_t invite_txn;  /* UAC: client transaction of the initial INVITE */
	char *cancel_msg;     /* owned; UAC: the CANCEL for the initial INVITE */
	size_t cancel_len;    /* bytes in cancel_msg */
	char invite_branch[UE_SIP_BRANCH_MAX]; /* UAC: branch of the initial INVITE */
	bool cancel_wanted;         /* UAC: cancel once a provisional came (RFC 3261 9.1) */
	bool cancel_sent;           /* UAC: CANCEL sent */
	bool got_provisional;       /* UAC: a provisional response arrived */
	uint32_t rseq_in;           /* UAC: RSeq of the last reliable provisional PRACKed */
	bool has_rseq_in;           /* rseq_in is set */
	char *ack_msg;              /* owned; UAC: ACK of the last 2xx, re-sent when it is
	                               retransmitted (RFC 3261 13.2.2.4) */
	size_t ack_len;             /* bytes in ack_msg */
	uint32_t ack_cseq;          /* CSeq of the INVITE ack_msg acknowledges */
	struct sockaddr_in ack_dst; /* where ack_msg went */
	/* UAS */
	uint64_t invite_stxn;      /* server transaction of the INVITE being answered */
	uint32_t rseq_out;         /* RSeq of the last reliable provisional sent */
	char *rel_msg;             /* owned; reliable provisional awaiting PRACK */
	size_t rel_len;            /* bytes in rel_msg */
	int rel_status;            /* its status */
	bool rel_sdp;              /* it carried SDP */
	bool rel_ringing_due;      /* send 180 once the 183 is acknowledged */
	uint32_t rel_interval;     /* its retransmission interval (ms) */
	uint64_t t_rel;            /* its retransmission timer */
	uint64_t t_rel_giveup;     /* 64*T1 without PRACK (RFC 3262 3) */
	bool answer_wanted;        /* answer once the SDP provisional is PRACKed */
	uint64_t t_answer;         /* auto-answer delay */
	char *ok_msg;              /* owned; 2xx to INVITE retransmitted until ACK */
	size_t ok_len;             /* bytes in ok_msg */
	uint32_t ok_cseq;          /* CSeq of the INVITE it answers */
	bool ok_initial;           /* it answers the initial INVITE */
	enum sip_proto ok_proto;   /* transport it goes on */
	struct sockaddr_in ok_dst; /* where it goes */
	uint64_t ok_conn;          /* TCP connection */
	uint32_t ok_interval;      /* retransmission interval (ms, T1 doubling to T2) */
	uint64_t t_ok;             /* retransmission timer */
	uint64_t t_ok_giveup;      /* 64*T1 without ACK: BYE (RFC 3261 13.3.1.4) */
	bool bye_after_ack;        /* hang up once the ACK came (RFC 3261 15) */
	const char *bye_why;       /* static; end_reason of the BYE we send, NULL: "bye" */
	/* mid-dialog */
	enum ue_call_op op;       /* our request in progress */
	char op_method[16];       /* method of our last mid-dialog request */
	int op_status;            /* its final status (408 for a timeout), 0 before */
	uint64_t op_txn;          /* its client transaction */
	uint64_t t_retry;         /* 491: re-offer later (RFC 3261 14.1) */
	enum ue_call_op retry_op; /* what t_retry re-sends */
	/* outcome */
	int last_status;       /* last final response to our INVITE or the one we sent */
	char last_reason[128]; /* its reason phrase, or why the UE gave up */
	char end_reason[64];   /* "bye", "cancel", "rejected", "timeout", ... */
	bool ended_local;      /* we ended the call */
	uint64_t created_ms;   /* loop time at creation */
	uint64_t confirmed_ms; /* loop time of the 2xx (0 before) */
	uint64_t ended_ms;     /* loop time of the end (0 before) */
	uint64_t wall_ms;      /* wall-clock time of creation (Unix ms) */
	struct ue_call_event events[UE_CALL_EVENTS_MAX]; /* message log */
	unsigned n_events;                               /* entries in events */
	unsigned events_dropped;                         /* events beyond the log */
	struct ue_call *next;                            /* next in ue->calls */
};

/* Counters of calls for /metrics. */
struct ue_call_stats {
	uint64_t placed;        /* INVITEs we sent (initial) */
	uint64_t received;      /* initial INVITEs we took */
	uint64_t answered_out;  /* outgoing calls answered (2xx) */
	uint64_t answered_in;   /* incoming calls we answered */
	uint64_t failed[7];     /* outgoing calls ended by a final response, by class */
	uint64_t rejected[7];   /* incoming calls we refused, by class */
	uint64_t timeouts;      /* calls ended by a timer */
	uint64_t setup_ms_sum;  /* INVITE -> 2xx, outgoing calls */
	uint64_t setup_count;   /* calls in setup_ms_sum */
	uint64_t reinvites;     /* re-INVITEs sent */
	uint64_t updates;       /* UPDATEs sent */
	uint64_t pracks;        /* PRACKs sent */
	uint64_t byes_sent;     /* BYEs sent */
	uint64_t byes_received; /* BYEs received */
};

/* Default settings: auto_answer from the topology node; PCMU, PCMA, telephone-event. */
void ue_call_defaults(struct ue *ue);
/* A new call in ue->calls (state calling), with our codecs from the settings, a
 * session id, an RTP port and a message log. Forgets the oldest terminated call beyond
 * UE_CALLS_KEPT. Returns NULL with errno EAGAIN at UE_CALLS_ACTIVE_MAX, ENOMEM. */
struct ue_call *ue_call_new(struct ue *ue, bool outgoing);
/* Frees every call (timers cancelled). */
void ue_call_fini(struct ue *ue);
/* The call with this id, or NULL. */
struct ue_call *ue_call_by_id(struct ue *ue, uint64_t id);
/* The call an in-dialog request belongs to (ue_dialog_matches), or NULL. */
struct ue_call *ue_call_by_request(struct ue *ue, const struct sip_msg *req);
/* The outgoing call a response belongs to (Call-ID and From tag), or NULL. */
struct ue_call *ue_call_by_response(struct ue *ue, const struct sip_msg *rsp);
/* Active calls. */
unsigned ue_call_active(const struct ue *ue);
/* Ends the call: state terminated, timers cancelled, why in end_reason (status and
 * reason set last_status/last_reason when status is not 0). */
void ue_call_end(struct ue_call *c, int status, const char *reason, const char *why, bool local);
/* Moves the call to state (a terminated call stays terminated). */
void ue_call_set_state(struct ue_call *c, enum ue_call_state state);
/* Adds a line to the call's message log: a request (method) or a response (status),
 * with notes such as "sdp". */
void ue_call_log(struct ue_call *c, bool out, const struct sip_msg *m, const char *note);
void ue_call_logf(struct ue_call *c, bool out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when the peer holds us: its SDP in force says it does not receive (sendonly or
 * inactive, RFC 3264 8.4). */
bool ue_call_remote_hold(const struct ue_call *c);
/* The direction the UE wants: sendonly while it holds the call, else sendrecv. */
enum ue_dir ue_call_want(const struct ue_call *c);
/* Writes a new offer with direction dir into body (size bytes) and records it as
 * pending (UE_OA_SENT). Returns the length or a negative errno. */
ssize_t ue_call_offer(struct ue_call *c, enum ue_dir dir, char *body, size_t size);
/* The offer was refused or its transaction failed: forget it (UE_OA_IDLE). */
void ue_call_offer_failed(struct ue_call *c);
/* Results of ue_call_sdp_in. */
enum ue_sdp_in {
	UE_SDP_IN_NONE,    /* no SDP body */
	UE_SDP_IN_ANSWER,  /* it was the answer to our offer: the exchange is complete */
	UE_SDP_IN_OFFER,   /* it was an offer: its answer is ready (ue_call_answer) */
	UE_SDP_IN_PREVIEW, /* an answer in an unreliable provisional (RFC 3261 13.2.1) */
	UE_SDP_IN_IGNORED, /* SDP the exchange does not need (a repeated answer) */
};
/* Takes the SDP body of m (request or response), if any. reliable says whether m can
 * carry a final answer (false for an unreliable provisional). Returns an enum ue_sdp_in,
 * or -EBADMSG (unparsable), -ENOTSUP (an offer with nothing acceptable: 488), -EPROTO
 * (an answer that does not fit our offer). */
int ue_call_sdp_in(struct ue_call *c, const struct sip_msg *m, bool reliable);
/* Writes the answer prepared by ue_call_sdp_in into body (size bytes) and commits the
 * exchange (UE_OA_IDLE). Returns the length or a negative errno. */
ssize_t ue_call_answer(struct ue_call *c, char *body, size_t size);
/* After ue_call_sdp_in refused an offer (-ENOTSUP): writes the answer refusing every
 * stream into body, the exchange left as it was. Returns the length or an errno. */
ssize_t ue_call_refusal(struct ue_call *c, char *body, size_t size);
/* JSON of a call for GET /calls (owned by the caller). */
json_t *ue_call_json(const struct ue_call *c);
/* "calling", "ringing", "early", "confirmed", "terminated". */
const char *ue_call_state_name(enum ue_call_state s);

/* ue_uac.c: outgoing calls (RFC 3261 13.2, 17.1.1; RFC 3262 4) */

/* Places a call: INVITE to o->target with Route = the P-CSCF and the Service-Route
 * (TS 24.229 5.1.2A.1), From = the default IMPU with a tag, Contact = the registered
 * contact, an offer unless o->offer is false, Require or Supported 100rel. Returns 0
 * with the call in *out, -ENOTCONN when not registered, -EINVAL (bad target), -EAGAIN
 * (too many calls) or a send error (the call then exists, terminated). */
int ue_uac_place(struct ue *ue, const struct ue_call_opts *o, struct ue_call **out);
/* Preloads r with the Route set of an initial request (TS 24.229 5.1.2A.1): the P-CSCF
 * as a loose route (written into buf, buflen bytes), then the Service-Route values. */
void ue_uac_routes(struct ue *ue, struct ue_req *r, char *buf, size_t buflen);
/* Cancels an outgoing call before its final response (RFC 3261 9.1): at once when a
 * provisional came, else as soon as one does. 0, -EALREADY or -EINVAL (not ours or
 * already answered). */
int ue_uac_cancel(struct ue_call *c);
/* A 2xx to INVITE that matched no client transaction: re-sends the ACK of its call
 * (RFC 3261 13.2.2.4) or acknowledges and ends a dialog we do not want. */
void ue_uac_stray_2xx(struct ue *ue, const struct sip_msg *rsp);

/* ue_uas.c: incoming calls (RFC 3261 13.3, 17.2.1; RFC 3262 3) */

/* An initial INVITE with its new server transaction: checks (Require, SDP), creates the
 * call, rings (180, or a reliable 183 with SDP when 100rel is asked or preferred),
 * then auto-rejects, auto-answers after the delay, or waits for REST. */
void ue_uas_on_invite(struct ue *ue, struct ue_stxn *t);
/* Answers an incoming call (200 with the answer, or an offer when the INVITE had none),
 * deferred until an SDP provisional is PRACKed (RFC 3262 3). 0, -EINVAL (not ringing). */
int ue_uas_answer(struct ue_call *c);
/* Refuses an incoming call with status (300-699). 0 or -EINVAL. */
int ue_uas_reject(struct ue_call *c, int status);
/* A CANCEL with its transaction: 200, then 487 to the INVITE (RFC 3261 9.2), or 481. */
void ue_uas_on_cancel(struct ue *ue, struct ue_stxn *t);
/* An ACK outside any transaction: the ACK of our 2xx (initial or re-INVITE). */
void ue_uas_on_ack(struct ue *ue, const struct sip_msg *req);
/* A PRACK in the dialog of c (RFC 3262 3, 7.2). */
void ue_uas_on_prack(struct ue_call *c, struct ue_stxn *t);
/* Sends a 2xx to an INVITE (initial or re-INVITE) through t, with the body and
 * Contact/Allow/Supported, and retransmits it until the ACK (RFC 3261 13.3.1.4). */
int ue_uas_send_2xx(struct ue_call *c, struct ue_stxn *t, const char *body, size_t body_len);

/* ue_mid.c: requests inside a dialog (RFC 3261 12.2, 14, 15; RFC 3311; RFC 2976) */

/* A request whose To tag names a dialog (or a re-INVITE): dispatched by method; no
 * dialog -> 481 (RFC 3261 12.2.2). */
void ue_mid_on_request(struct ue *ue, struct ue_stxn *t);
/* A request to build inside a dialog. */
struct ue_mid_req {
	const char *method;       /* method */
	uint32_t cseq;            /* CSeq number */
	const char *headers;      /* extra header lines (CRLF-ended) or NULL */
	const char *content_type; /* body type, NULL without body */
	const char *body;         /* body */
	size_t body_len;          /* bytes in body */
};
/* Builds q inside dialog d (ue_dialog_fill, our Via with a new branch written into
 * branch, Contact for the target refreshes INVITE and UPDATE) into out and resolves
 * its next hop into dst (the outbound proxy when the URI does not resolve). Returns the
 * length or a negative errno. */
ssize_t ue_mid_build(struct ue *ue, const struct ue_dialog *d, const struct ue_mid_req *q,
                     char *out, size_t outlen, char branch[UE_SIP_BRANCH_MAX],
                     struct sockaddr_in *dst);
/* Sends a non-INVITE request in the dialog of c (next CSeq) with extra headers and an
 * optional body; cb gets the outcome with the call id as cookie. 0 or errno. */
int ue_mid_request(struct ue_call *c, const char *method, const char *headers,
                   const char *content_type, const char *body, size_t body_len, ue_sip_cb cb,
                   uint64_t *txn);
/* Sends the ACK of a 2xx to the INVITE with CSeq cseq (new branch, RFC 3261 13.2.2.4),
 * with an answer body when given, and keeps it for retransmitted 2xx. 0 or errno. */
int ue_mid_ack(struct ue_call *c, uint32_t cseq, const char *body, size_t body_len);
/* A 2xx to an INVITE of c came again: the kept ACK when it is for that INVITE, else a
 * new bodiless one (RFC 3261 13.2.2.4). */
void ue_mid_reack(struct ue_call *c, const struct sip_msg *rsp);
/* Hold (re-INVITE with sendonly, inactive when the peer holds us) or resume (sendrecv)
 * (RFC 3264 8.4). 0, -EBUSY (an exchange or request in progress), -EINVAL (state). */
int ue_mid_hold(struct ue_call *c, bool hold);
/* UPDATE with a new offer (RFC 3311 5.1), early or confirmed dialog. Same returns. */
int ue_mid_update(struct ue_call *c);
/* INFO (RFC 2976) with body of content_type (NULL: a DTMF relay). 0 or errno. */
int ue_mid_info(struct ue_call *c, const char *content_type, const char *body);
/* BYE (RFC 3261 15.1.1); for a callee still waiting for the ACK, deferred until it
 * comes. The call ends when the BYE is answered. 0, -EALREADY, -EINVAL. */
int ue_mid_bye(struct ue_call *c);

/* ue_pager.c: pager-mode MESSAGE (RFC 3428) */

/* Messages kept (sent and received together); the oldest goes first. */
#define UE_PAGER_KEPT 100
/* Largest text sent or kept (RFC 3428 5: 1300 bytes unless congestion-controlled). */
#define UE_PAGER_TEXT_MAX 1300

/* One MESSAGE sent or received. */
struct ue_page {
	uint64_t id;                      /* id (1, 2, ...) */
	bool out;                         /* we sent it */
	char peer[UE_URI_MAX];            /* target (out) or From URI (in) */
	char identity[UE_URI_MAX];        /* in: P-Asserted-Identity, "" when absent */
	char content_type[64];            /* Content-Type */
	char text[UE_PAGER_TEXT_MAX + 1]; /* body (NUL-terminated; truncated when longer) */
	size_t text_len;                  /* bytes in text */
	bool in_dialog;                   /* in: it came inside a dialog */
	int status;                       /* out: final status, 0 while pending */
	char reason[64];                  /* out: reason phrase */
	uint64_t txn;                     /* out: client transaction */
	uint64_t wall_ms;                 /* Unix ms when sent or received */
	struct ue_page *next;             /* next in ue->pages (oldest first) */
};

/* Sends a MESSAGE to target (sip:/tel:) with text (len bytes) of content_type (NULL:
 * text/plain) along the P-CSCF and the Service-Route. Returns 0 with the record in
 * *out (the outcome comes through ue_rest_page_done), -ENOTCONN (not registered),
 * -EINVAL, -EMSGSIZE, or a send error. */
int ue_pager_send(struct ue *ue, const char *target, const char *text, size_t len,
                  const char *content_type, struct ue_page **out);
/* A MESSAGE received (in a dialog or not): 200 and a record. */
void ue_pager_on_message(struct ue *ue, struct ue_stxn *t, bool in_dialog);
/* The record with this id, or NULL. */
struct ue_page *ue_pager_by_id(struct ue *ue, uint64_t id);
/* JSON of a record (owned by the caller). */
json_t *ue_pager_json(const struct ue_page *pg);
/* Frees the records. */
void ue_pager_fini(struct ue *ue);

/* ue_rest.c: REST API (GET /status, /metrics; POST /register, /unregister; the routes
 * of ue_rest_call.c) */

struct ue_waiter;

/* Starts the REST server on the node's address and REST port. Returns 0 or -EIO. */
int ue_rest_init(struct ue *ue);
/* Stops it; waiting POST requests are dropped (answered 503 by the server). */
void ue_rest_fini(struct ue *ue);
/* Called by ue_reg when op ends (ok or not): answers the POST requests waiting for it. */
void ue_rest_reg_done(struct ue *ue, enum ue_reg_op op, bool ok);
/* Called by ue_pager when the MESSAGE pg got its final response or timed out: answers
 * the POST /messages waiting for it. */
void ue_rest_page_done(struct ue *ue, const struct ue_page *pg);
/* Defers the answer of req until ue_rest_page_done(pg). 0 or -ENOMEM. */
int ue_rest_wait_page(struct ue *ue, const struct rest_request *req, uint64_t page_id);
/* Text from the network may be anything; Jansson wants UTF-8. */
json_t *ue_rest_str(const char *s);
json_t *ue_rest_strn(const char *s, size_t len);

/* ue_rest_call.c: /calls, /messages, /settings */

/* Handlers of the route table (rest_handler, app is the struct ue): GET /calls,
 * POST /calls (201 with the call), GET /calls/{id}, POST /calls/{id}/{action} (answer,
 * reject, hold, resume, hangup, cancel, update, info: 200 with the call, 409 when the
 * state does not allow it), GET /messages, POST /messages (answered with the outcome of
 * the MESSAGE transaction), GET and POST /settings. */
void ue_rest_call_list(void *app, const struct rest_request *req, struct rest_response *resp);
void ue_rest_call_place(void *app, const struct rest_request *req, struct rest_response *resp);
void ue_rest_call_get(void *app, const struct rest_request *req, struct rest_response *resp);
void ue_rest_call_action(void *app, const struct rest_request *req, struct rest_response *resp);
void ue_rest_call_messages(void *app, const struct rest_request *req, struct rest_response *resp);
void ue_rest_call_send_message(void *app, const struct rest_request *req,
                               struct rest_response *resp);
void ue_rest_call_settings(void *app, const struct rest_request *req, struct rest_response *resp);
void ue_rest_call_set_settings(void *app, const struct rest_request *req,
                               struct rest_response *resp);
/* Prometheus lines of the calls and messages. */
struct prom;
void ue_rest_call_prom(struct ue *ue, struct prom *p);

/* main.c */

/* Counters for /metrics not kept by the transport or the registration. */
struct ue_stats {
	uint64_t retransmissions;   /* requests retransmitted by Timer A or E */
	uint64_t timeouts;          /* client transactions ended by Timer B or F */
	uint64_t responses[7];      /* final and provisional responses received, by class
	                               (index 1-6) */
	uint64_t stray_responses;   /* responses matching no transaction */
	uint64_t requests_in;       /* requests received */
	uint64_t retransmitted_in;  /* requests absorbed as retransmissions */
	uint64_t parse_errors;      /* messages that did not parse */
	uint64_t messages_sent;     /* MESSAGE requests sent */
	uint64_t messages_received; /* MESSAGE requests received */
};

/* What the UE does with incoming calls, and its codecs (POST /settings). */
struct ue_settings {
	bool auto_answer;         /* answer incoming calls (topology auto_answer) */
	int auto_reject;          /* refuse incoming calls with this status, 0: do not */
	uint32_t answer_delay_ms; /* ringing time before an automatic answer */
	bool prefer_100rel;       /* reliable provisionals also when the caller only
	                             supports 100rel */
	struct ue_codec codecs[UE_SDP_CODECS_MAX]; /* our formats, preferred first */
	unsigned n_codecs;                         /* entries in codecs */
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
	struct sockaddr_in outbound;   /* where requests outside a dialog go: the P-CSCF,
	                                  or the --outbound override (REGISTER always goes
	                                  to the P-CSCF) */
	bool no_reg_check;             /* calls and MESSAGE allowed while unregistered
	                                  (tests without CSCFs) */
	struct loop *loop;             /* owned; the one thread of the UE */
	struct sip_transport *sip;     /* owned; UDP and TCP on our address */
	struct ue_txn *txns;           /* owned list of client transactions */
	unsigned n_txns;               /* entries in txns */
	uint64_t next_txn_id;          /* id given to the next transaction */
	struct ue_stxn *stxns;         /* owned list of server transactions */
	unsigned n_stxns;              /* entries in stxns */
	uint64_t next_stxn_id;         /* id given to the next server transaction */
	struct ue_call *calls;         /* owned list of calls, oldest first */
	unsigned n_calls;              /* entries in calls */
	uint64_t next_call_id;         /* id given to the next call */
	struct ue_call_stats cstats;   /* call counters */
	struct ue_page *pages;         /* owned list of MESSAGE records, oldest first */
	unsigned n_pages;              /* entries in pages */
	uint64_t next_page_id;         /* id given to the next record */
	struct ue_settings settings;   /* incoming call policy and codecs */
	struct rest *rest;             /* owned; the REST API */
	struct ue_waiter *waiters;     /* owned list of deferred POST requests */
	struct ue_reg reg;             /* registration state */
	struct ue_stats stats;         /* counters */
	uint64_t started_ms;           /* loop_clock_ms() at start, for uptime */
	bool ready;                    /* SIP and REST listening */
};

#endif
