/* The S-CSCF's private header: one banner per source file, so it reads as a table of
 * contents of the daemon. Everything here runs on the loop thread. */
#ifndef IMS_SCSCF_H
#define IMS_SCSCF_H

#include "dia_call.h"
#include "dia_cx.h"
#include "digest.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct daemon;
struct loop;
struct rest;
struct sip_msg;
struct sip_proxy;
struct sip_req;
struct topo;
struct topo_domain;
struct topo_node;
struct scscf;

/* Bounds of what the S-CSCF keeps from the network; longer input gets a 400. */
#define SCSCF_URI_MAX      CX_ID_MAX /* bytes of an IMPU, IMPI or contact URI, NUL included */
#define SCSCF_PATH_MAX     512       /* bytes of the Path values of one binding, NUL included */
#define SCSCF_CALLID_MAX   256       /* bytes of a Call-ID, NUL included */
#define SCSCF_NONCE_MAX    64        /* bytes of a nonce we issue: base64(RAND||AUTN) is 44 */
#define SCSCF_CONTACTS_MAX 8         /* bindings of one registration (and Contacts of a REGISTER) */
#define SCSCF_IMPUS_MAX    16        /* identities of one implicit registration set */

/* RFC 3261 10.2.1.1, 10.3 step 6: the expiry a registrar grants, in seconds, unless the
 * command line says otherwise (struct scscf_expiry). */
#define SCSCF_EXPIRES_DEFAULT 600  /* when the REGISTER names none */
#define SCSCF_EXPIRES_MIN     60   /* below: 423 Interval Too Brief with Min-Expires */
#define SCSCF_EXPIRES_MAX     3600 /* above: granted this much */

/* RFC 3261 10.2.1.2, 20.10: a Contact's q in thousandths; 1.0 when it names none. */
#define SCSCF_Q_DEFAULT 1000

/* scscf_auth.c */

#define SCSCF_AUTH_VECTORS                                                                         \
	32                          /* challenges kept per IMPI (load tests share one IMPI         \
	                               among many clients); one more drops the oldest */
#define SCSCF_AUTH_TTL_MS    30000  /* a challenge not answered by then is forgotten */
#define SCSCF_AUTH_IMPIS_MAX 100000 /* IMPIs with pending challenges; beyond, oldest go */

/* How a challenge is answered (RFC 3310; RFC 2617 via TS 24.229 5.4.1.2.1B). */
enum scscf_scheme { SCSCF_SCHEME_AKA, SCSCF_SCHEME_MD5 };

/* The credentials of one Authorization header (RFC 3261 25.1 "credentials", RFC 2617
 * 3.2.2, RFC 3310 3.4 auts, TS 24.229 7.2A.2 integrity-protected). Strings are
 * NUL-terminated, unquoted and unescaped; "" means absent. */
struct scscf_cred {
	char username[SCSCF_URI_MAX]; /* username: the IMPI */
	char realm[SCSCF_URI_MAX];    /* realm */
	char nonce[128];              /* nonce as the UE echoed it */
	char uri[SCSCF_URI_MAX];      /* digest-uri */
	char response[64];            /* request-digest (32 hex digits when well formed) */
	char algorithm[32];           /* algorithm: "AKAv1-MD5", "MD5" */
	char qop[32];                 /* message-qop: "auth", "auth-int" */
	char nc[16];                  /* nonce-count: 8 hex digits */
	char cnonce[128];             /* cnonce */
	char opaque[128];             /* opaque */
	char auts[64];                /* auts: base64 of AUTS (RFC 3310 3.4), resync */
	char integrity_protected[32]; /* "yes", "no", "tls-yes", "ip-assoc-yes"... */
};

/* A challenge to send in a 401 (TS 33.203 6.1.1, RFC 3310 3.2). */
struct scscf_challenge {
	enum scscf_scheme scheme;    /* AKAv1-MD5 or MD5 */
	char nonce[SCSCF_NONCE_MAX]; /* AKA: base64(RAND||AUTN); MD5: base64 of 16 random bytes */
	bool stale;                  /* the UE's nonce was unknown or expired (RFC 2617 3.2.1) */
	bool has_keys;               /* ck/ik follow (AKA) */
	uint8_t ck[16];              /* CK for the P-CSCF (TS 33.203 7.1: it strips them) */
	uint8_t ik[16];              /* IK */
};

/* The nonce store: the vectors handed out in 401s, per IMPI, each usable once. */
struct scscf_auth;

/* Parses one Authorization header value ("Digest username=..., ..."): auth-params as token
 * or quoted-string (backslash escapes undone), any order, whitespace and folding around
 * '=' and ','. Unknown parameters are skipped; a known one given twice keeps the first.
 * libosip2 drops auts= and integrity-protected=, hence this scanner. Returns 0,
 * -EPROTONOSUPPORT (another scheme than Digest), -EBADMSG (syntax), -EMSGSIZE (a value
 * longer than its field). */
int scscf_auth_parse(const char *value, size_t len, struct scscf_cred *out);

/* Appends the formatted text to out (outlen bytes, NUL-terminated) at *n and moves *n
 * past it; false, *n unchanged, when it does not fit. Header text of the answers to a
 * REGISTER is written with it. */
bool scscf_auth_append(char *out, size_t outlen, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes the line "WWW-Authenticate: Digest realm=..., nonce=..., algorithm=...,
 * qop=\"auth\"[, stale=true][, ck=..., ik=...]\r\n" (TS 24.229 5.4.1.2.1, RFC 3310 3.2,
 * TS 33.203 7.1) into out. Returns its length, or -ENOSPC. */
ssize_t scscf_auth_www_authenticate(const char *realm, const struct scscf_challenge *c, char *out,
                                    size_t outlen);

/* A new, empty store holding challenges of at most max_impis IMPIs. NULL on ENOMEM. */
struct scscf_auth *scscf_auth_new(size_t max_impis);
/* Frees the store and every vector in it. NULL is a no-op. */
void scscf_auth_free(struct scscf_auth *a);

/* Keeps the vector of an MAA item for impi until now + SCSCF_AUTH_TTL_MS and fills ch
 * for the 401: AKA (SIP-Authenticate RAND||AUTN, SIP-Authorization XRES of 4-16 bytes,
 * CK, IK): HA1 = MD5(impi:realm:XRES) with XRES as raw bytes (RFC 3310 3.3); SIP Digest
 * (Digest-HA1 from the HSS, TS 29.229 6.3.41): a random nonce. The oldest vector of
 * impi goes when it has SCSCF_AUTH_VECTORS, the oldest IMPI when the store is full.
 * Returns 0, -EINVAL (an item of another scheme or malformed), -ENOMEM, -EIO. */
int scscf_auth_add(struct scscf_auth *a, const char *impi, const char *realm,
                   const struct cx_auth_item *item, uint64_t now, struct scscf_challenge *ch);

/* Checks the response of c (for a request with this method and body) against the vector
 * its nonce names among c->username's, and consumes that vector whatever the outcome
 * (TS 33.203 6.1.2: each vector is used once). Returns 0 (valid), -ESTALE (no such
 * nonce for this IMPI, or expired), -EACCES (wrong response), -EINVAL (no response, or
 * an unsupported qop: nothing consumed). */
int scscf_auth_verify(struct scscf_auth *a, const struct scscf_cred *c, const char *method,
                      const void *body, size_t body_len, uint64_t now);

/* TS 33.203 6.1.2, RFC 3310 3.4: the SIP-Authorization of a resynchronisation MAR,
 * RAND (from c->nonce) || AUTS (from c->auts), into out; the vector of that nonce, if
 * still kept, is consumed. Returns 0, or -EBADMSG when the nonce or auts do not decode
 * to 32 and 14 bytes. */
int scscf_auth_resync(struct scscf_auth *a, const struct scscf_cred *c, uint8_t out[30]);

/* Drops the vectors that expired by now; the loop calls it periodically. */
void scscf_auth_expire(struct scscf_auth *a, uint64_t now);
/* Vectors kept. */
size_t scscf_auth_count(const struct scscf_auth *a);

/* scscf_userdata.c */

/* One public identity of the implicit registration set (TS 29.228 Annex E). */
struct scscf_identity {
	char uri[SCSCF_URI_MAX]; /* <Identity>, entities decoded */
	bool barred;             /* <BarringIndication> 1 (TS 29.228 6.6.1) */
};

/* What the S-CSCF reads from a User-Data (TS 29.228 Annex E, TS 29.229 6.3.3). */
struct scscf_userdata {
	char impi[SCSCF_URI_MAX];                   /* <PrivateID>, "" when absent */
	struct scscf_identity ids[SCSCF_IMPUS_MAX]; /* <PublicIdentity> of every ServiceProfile,
	                                                in document order */
	size_t n_ids;                               /* entries in ids */
	bool truncated;                             /* more identities than SCSCF_IMPUS_MAX */
};

/* Scans an IMSSubscription document: elements must nest and close, comments, processing
 * instructions and CDATA are understood, the five predefined entities and character
 * references are decoded, DOCTYPE is refused. Every bound is checked (document size
 * CX_USER_DATA_MAX, element depth, identity length). Returns 0, -EBADMSG (malformed),
 * -EMSGSIZE (over a bound). */
int scscf_userdata_parse(const char *xml, size_t len, struct scscf_userdata *out);

/* scscf_regtab.c */

/* One binding (RFC 3261 10.3): a contact of a registration. */
struct scscf_contact {
	char uri[SCSCF_URI_MAX];        /* Contact URI as registered */
	char path[SCSCF_PATH_MAX];      /* Path values of the REGISTER ("<a>, <b>"), "" if none */
	char call_id[SCSCF_CALLID_MAX]; /* Call-ID of the REGISTER that last updated it */
	uint32_t cseq;                  /* its CSeq number */
	uint64_t expires_ms;            /* loop time the binding expires */
	uint16_t q;                     /* q parameter in thousandths (RFC 3261 20.10),
	                                   SCSCF_Q_DEFAULT when the Contact had none */
	bool has_q;                     /* the Contact had q (the 200 echoes it) */
	struct scscf_contact *next;     /* next binding of the registration */
};

/* One identity of a registration and its place in the IMPU index. */
struct scscf_reg_impu {
	struct scscf_identity id;     /* the identity */
	bool indexed;                 /* the index points at this registration for it */
	struct scscf_reg *reg;        /* the registration holding it */
	struct scscf_reg_impu *hnext; /* next entry of its hash bucket */
};

/* The registration of one implicit registration set: every IMPU of the set finds it. */
struct scscf_reg {
	char impi[SCSCF_URI_MAX];                     /* private identity that registered */
	struct scscf_reg_impu impus[SCSCF_IMPUS_MAX]; /* the set; [0] the default identity */
	size_t n_impus;                               /* entries in impus */
	struct scscf_contact *contacts;               /* owned list of bindings, newest first */
	size_t n_contacts;                            /* bindings in contacts */
	uint64_t timer;                               /* loop timer of the next expiry, 0 none */
	uint64_t timer_due;                           /* loop time it fires */
	struct scscf_regtab *tab;                     /* table holding it */
	struct scscf_reg *prev;                       /* all registrations, oldest first */
	struct scscf_reg *next;                       /* idem */
};

/* All registrations: a hash index by IMPU (case-insensitive) and a list. */
struct scscf_regtab {
	struct scscf_reg_impu **buckets; /* owned; IMPU hash chains */
	size_t n_buckets;                /* a power of two */
	size_t n_regs;                   /* registrations */
	size_t n_contacts;               /* bindings of all registrations */
	size_t max_regs;                 /* bound on n_regs */
	struct scscf_reg *head;          /* oldest registration */
	struct scscf_reg *tail;          /* newest registration */
	void *owner;                     /* the daemon, for timer callbacks */
};

/* What a REGISTER asks of one binding. */
struct scscf_binding {
	char uri[SCSCF_URI_MAX]; /* Contact URI */
	uint32_t expires;        /* seconds granted; 0 removes the binding */
	bool has_q;              /* the Contact had a q parameter; false: q is 1.0 */
	uint16_t q;              /* that q in thousandths, 0..SCSCF_Q_DEFAULT */
};

/* Sets up an empty table for at most max_regs registrations. 0 or -ENOMEM. */
int scscf_regtab_init(struct scscf_regtab *t, size_t max_regs, void *owner);
/* Frees every registration (their timers must be cancelled by the caller first). */
void scscf_regtab_fini(struct scscf_regtab *t);
/* The registration that holds impu, or NULL. Borrowed until it is removed. */
struct scscf_reg *scscf_regtab_find(const struct scscf_regtab *t, const char *impu);
/* A new registration of impi for the identities ids[0..n-1] (at least one), indexed under
 * each IMPU not already indexed elsewhere. NULL when the table is full (-ENOSPC in
 * *err) or memory ran out (-ENOMEM). */
struct scscf_reg *scscf_regtab_add(struct scscf_regtab *t, const char *impi,
                                   const struct scscf_identity *ids, size_t n, int *err);
/* Replaces the implicit set of r (a new User-Data): IMPUs gone are unindexed, new ones
 * indexed. */
void scscf_regtab_set_identities(struct scscf_regtab *t, struct scscf_reg *r,
                                 const struct scscf_identity *ids, size_t n);
/* Unindexes and frees r and its bindings. Its timer must be cancelled first. */
void scscf_regtab_remove(struct scscf_regtab *t, struct scscf_reg *r);
/* The binding of r with this URI, or NULL. */
struct scscf_contact *scscf_regtab_contact(const struct scscf_reg *r, const char *uri);
/* RFC 3261 10.3 step 7: false when a binding for uri exists with the same Call-ID and a
 * CSeq not lower than cseq (an old or replayed request must not change it). */
bool scscf_regtab_in_order(const struct scscf_reg *r, const char *uri, const char *call_id,
                           uint32_t cseq);
/* Applies one binding to r (RFC 3261 10.3 step 7): adds it, refreshes it (Call-ID, CSeq,
 * Path, expiry, q) or removes it (expires 0). A new binding beyond SCSCF_CONTACTS_MAX
 * replaces the one closest to expiry. 0 or -ENOMEM. */
int scscf_regtab_bind(struct scscf_regtab *t, struct scscf_reg *r, const struct scscf_binding *b,
                      const char *path, const char *call_id, uint32_t cseq, uint64_t now);
/* Removes every binding of r (Contact: *). */
void scscf_regtab_unbind_all(struct scscf_regtab *t, struct scscf_reg *r);
/* Removes the bindings of r that expired by now; returns how many. */
size_t scscf_regtab_expire(struct scscf_regtab *t, struct scscf_reg *r, uint64_t now);
/* The loop time of r's earliest expiry, 0 when it has no binding. */
uint64_t scscf_regtab_next_expiry(const struct scscf_reg *r);
/* The default identity: the first non-barred one (TS 24.229 5.4.1.2.2), NULL if all are
 * barred. */
const char *scscf_regtab_default_impu(const struct scscf_reg *r);

/* scscf_route.c */

#define SCSCF_ROUTES_MAX 8 /* Path values one branch may carry (Route of the fork) */

/* Where an originating request goes by its Request-URI (TS 24.229 5.4.3.2, calls.md):
 * a domain of the topology (its I-CSCF), or why it goes nowhere. */
enum scscf_dest {
	SCSCF_DEST_DOMAIN,       /* a sip URI of a known domain, or a tel URI in its range */
	SCSCF_DEST_BAD_URI,      /* 400: the Request-URI does not parse */
	SCSCF_DEST_BAD_SCHEME,   /* 416: neither sip, sips nor tel */
	SCSCF_DEST_NO_DOMAIN,    /* 404: a host that is no domain of the topology */
	SCSCF_DEST_LOCAL_NUMBER, /* 404: a tel URI with a local number (no numbering plan) */
	SCSCF_DEST_NO_NUMBER,    /* 604: a global number in no domain's tel_prefixes */
	SCSCF_DEST_N
};

/* One branch of a terminating fork (TS 24.229 5.4.3.3, RFC 3261 16.6 step 6): the
 * registered contact as Request-URI and its stored Path as Route. */
struct scscf_branch {
	const char *ruri;                     /* the contact URI; borrowed from the binding */
	char buf[SCSCF_PATH_MAX];             /* the binding's Path values, NUL-separated */
	const char *routes[SCSCF_ROUTES_MAX]; /* each Path value as written ("<sip:...;lr>"),
	                                        into buf */
	size_t n_routes;                      /* entries in routes */
	const char *hop;                      /* URI of the next hop without < >: the first
	                                         Path value's, else the contact; into buf or
	                                         the binding (not NUL-terminated) */
	size_t hop_len;                       /* bytes of hop */
};

/* Every branch of one fork. */
struct scscf_fork {
	struct scscf_branch b[SCSCF_CONTACTS_MAX]; /* branches, highest q first, then newest
	                                              binding first */
	size_t n;                                  /* entries in b */
};

/* The lookup form of a URI as the registrar indexes IMPUs: "sip:user@host" (scheme in
 * lower case, no port, parameters or headers; sips kept), "tel:" + the number without
 * visual separators and parameters (RFC 3966 5.1.1). 0, -EBADMSG (unparsable),
 * -EDESTADDRREQ (a sip URI without user part: no identity), -EPROTONOSUPPORT (another
 * scheme), -EMSGSIZE (does not fit). */
int scscf_route_aor(const char *uri, size_t len, char *out, size_t outlen);
/* The number of a tel URI ("tel:+1-555-0001;phone-context=x" -> "+15550001"). 0 for a
 * global number, -ENOENT for a local one (out still holds it), -EBADMSG (not a tel URI,
 * no digit, a character RFC 3966 does not allow), -EMSGSIZE. */
int scscf_route_tel_number(const char *uri, size_t len, char *out, size_t outlen);
/* TS 24.229 5.4.3.2, calls.md: classifies the Request-URI of an originating request
 * against the topology t; *domain gets the target domain for SCSCF_DEST_DOMAIN. */
enum scscf_dest scscf_route_classify(const struct topo *t, const char *ruri, size_t len,
                                     const struct topo_domain **domain);
/* The final response for a classification other than SCSCF_DEST_DOMAIN (0 for it);
 * *reason gets its static phrase. */
int scscf_route_dest_status(enum scscf_dest d, const char **reason);
/* TS 24.229 5.4.3.2 step 1, RFC 3325 9.1: the served user of an originating request is
 * the first P-Asserted-Identity value registered here; its lookup form goes to impu
 * (size n) and its registration to *reg. Returns 0, -ENOENT (no P-Asserted-Identity),
 * -EACCES (no value registered here), -EPERM (registered but barred). */
int scscf_route_served_user(const struct scscf_regtab *t, const struct sip_msg *m, char *impu,
                            size_t n, struct scscf_reg **reg);
/* TS 24.229 5.4.3.3: the registration of the Request-URI ruri of a terminating request
 * (any IMPU of the implicit set, sip or tel); its lookup form goes to aor (size n, also
 * set for -ENOENT) and its registration to *reg. realm is the home domain: a sip URI of
 * another host is not ours. Returns 0, -ENOENT (no registration), -EPERM (barred
 * identity), -EREMOTE (another domain), or scscf_route_aor's errors. */
int scscf_route_callee(const struct scscf_regtab *t, const char *realm, const char *ruri,
                       size_t len, char *aor, size_t n, struct scscf_reg **reg);
/* Splits a comma-separated list of name-addr values (a stored Path) in place: commas
 * inside quotes or < > do not split, whitespace around values goes. At most max values
 * into vals. Returns how many, or -E2BIG when there are more. */
int scscf_route_split(char *list, const char **vals, size_t max);
/* TS 24.229 5.4.3.3, RFC 3261 16.5: one branch per binding of r alive at now, ordered by
 * q, highest first (RFC 3261 16.6: all still forked in parallel), equal q newest first;
 * a binding whose Path does not split is skipped. Fills f, returns f->n. The
 * branches borrow the bindings' URIs: use them before r changes. */
size_t scscf_route_branches(const struct scscf_reg *r, uint64_t now, struct scscf_fork *f);

/* scscf_txn.c */

/* Which registration procedure a REGISTER is, for the TS 32.409 counters. */
enum scscf_reg_kind { SCSCF_REG_INIT, SCSCF_REG_RE, SCSCF_REG_DE, SCSCF_REG_KINDS };

/* A REGISTER as the registrar keeps it while it waits for the HSS: copied out of the
 * message, so a Cx answer never needs the message (which may be gone). */
struct scscf_register {
	char impu[SCSCF_URI_MAX];                          /* To URI (TS 24.229 5.4.1.2.1) */
	char impi[SCSCF_URI_MAX];                          /* Authorization username, or derived */
	enum scscf_reg_kind kind;                          /* initial, re- or de-registration */
	bool star;                                         /* Contact: * with Expires: 0 */
	struct scscf_binding contacts[SCSCF_CONTACTS_MAX]; /* the Contacts, expiry decided */
	size_t n_contacts;                                 /* entries in contacts */
	uint32_t expires;                                  /* Expires of the 200: the first
	                                                      contact's grant */
	char path[SCSCF_PATH_MAX];                         /* Path values, "" when none */
	char call_id[SCSCF_CALLID_MAX];                    /* Call-ID */
	uint32_t cseq;                                     /* CSeq number */
	bool stale;                                        /* the next 401 says stale=true */
	enum cx_sat sat;                                   /* the SAR sent (logs) */
};

/* The context of one request waiting for the HSS (a REGISTER, or a terminating request
 * for an unregistered user: then only r.impu and r.sat are used): outlives the
 * transaction when the HSS answers late, and is freed exactly once, when neither holds
 * it. */
struct scscf_txn {
	struct scscf *s;         /* the daemon */
	struct sip_req *req;     /* the transaction; NULL once answered or gone */
	bool gone;               /* the transaction vanished (on_gone) before an answer */
	bool cx_pending;         /* a Cx request is in flight with this context as argument */
	struct scscf_register r; /* the request */
	struct scscf_txn *prev;  /* live contexts (freed at shutdown) */
	struct scscf_txn *next;  /* idem; also the free list link */
};

/* A context for req from the daemon's pool, linked into the live list. NULL on ENOMEM. */
struct scscf_txn *scscf_txn_new(struct scscf *s, struct sip_req *req);
/* Answers the transaction (through s->io.reply) unless it is gone; afterwards t->req is
 * NULL. Returns the reply's result, or 0 when there was nobody to answer. */
int scscf_txn_reply(struct scscf_txn *t, int status, const char *reason, const char *headers);
/* on_gone: the transaction is no more; a pending Cx answer will find t->gone. */
void scscf_txn_gone(struct scscf_txn *t);
/* Frees t (back to the pool) when it has neither a transaction nor a Cx request; call at
 * the end of every entry point that touched it. Returns true when t was freed. */
bool scscf_txn_settle(struct scscf_txn *t);
/* Frees every context, live or pooled (shutdown). */
void scscf_txn_fini(struct scscf *s);

/* scscf_cx.c */

/* The Cx commands the S-CSCF sends (TS 29.228 6.1.2, 6.3), as counter indices. */
enum scscf_cx_cmd { SCSCF_CX_MAR, SCSCF_CX_SAR, SCSCF_CX_N };

/* Answer slots counted per command: the result codes listed in scscf_cx.c, then
 * "timeout", "error" (not sent, undecodable) and "other". */
#define SCSCF_CX_RESULTS 16

#define SCSCF_CX_TIMEOUT_MS 3000 /* a Cx answer later than this is a timeout (480) */

/* Sends an MAR (TS 29.228 6.3) for impi/impu with scheme (CX_SCHEME_*), and for a
 * resynchronisation RAND||AUTS (auth NULL otherwise); cb(arg, result) runs on the loop.
 * 0 or -errno (cb never runs). */
int scscf_cx_send_mar(struct scscf *s, const char *impi, const char *impu, const char *scheme,
                      const uint8_t *auth, size_t auth_len, dia_call_fn cb, void *arg);
/* Sends an SAR (TS 29.228 6.1.2) of type sat for impi/impu; data_available sets
 * User-Data-Already-Available. 0 or -errno (cb never runs). */
int scscf_cx_send_sar(struct scscf *s, const char *impi, const char *impu, enum cx_sat sat,
                      bool data_available, dia_call_fn cb, void *arg);
/* Sends an SAR whose answer only counts (de-registrations, authentication failures). */
void scscf_cx_notify_sar(struct scscf *s, const char *impi, const char *impu, enum cx_sat sat);
/* Counts the answer r of cmd (result, latency) and returns its result (NULL when r has
 * no answer). Call first in every Cx callback. */
const struct cx_result *scscf_cx_account(struct scscf *s, enum scscf_cx_cmd cmd,
                                         const struct dia_call_result *r);
/* The SIP final response for a failed Cx exchange: 480 for a Diameter timeout or a
 * peer that cannot be reached or is too busy (3002, 3004; TS 24.229 5.3.1.2, the same
 * answer the I-CSCF gives), 500 for an undecodable answer or DIAMETER_UNABLE_TO_COMPLY,
 * 403 for the rest (unknown user, identities that do not match, scheme not supported,
 * AUTS rejected, authorization rejected). res may be NULL. Sets *reason. */
int scscf_cx_sip_status(const struct dia_call_result *r, const struct cx_result *res,
                        const char **reason);
/* "MAR", "SAR". */
const char *scscf_cx_cmd_name(enum scscf_cx_cmd cmd);
/* Label of answer slot i ("2001", "timeout", ...). */
const char *scscf_cx_result_label(size_t slot);

/* scscf_reg.c */

/* Sets up the registrar state of s (nonce store, registration table, context pool) and
 * the periodic nonce sweep; s->loop, s->realm and s->io must be set, s->expiry may be.
 * 0, -EINVAL (min above max, or the default outside them), -ENOMEM. */
int scscf_reg_init(struct scscf *s);
/* Cancels timers and frees every registration, vector and context. */
void scscf_reg_fini(struct scscf *s);
/* TS 24.229 5.4.1.2 (registration), 5.4.1.4 (user-initiated de-registration), RFC 3261
 * 10.3: handles one REGISTER m of transaction req. Answers at once (400, 423, 403, 500)
 * or starts a Cx request and returns the context waiting for it (attach it to req so
 * on_gone finds it); NULL when answered. */
struct scscf_txn *scscf_reg_on_register(struct scscf *s, struct sip_req *req,
                                        const struct sip_msg *m);
/* Binding expiry (RFC 3261 10.2.1): removes r's bindings that expired by now; when none
 * is left, sends SAR TIMEOUT_DEREGISTRATION (TS 24.229 5.4.1.5) and removes r (r is
 * then freed). Otherwise re-arms r's timer. */
void scscf_reg_expire(struct scscf *s, struct scscf_reg *r, uint64_t now);
/* Derives the IMPI from an IMPU when the REGISTER has no Authorization (TS 24.229
 * 5.4.1.2.1): the URI without scheme, port and parameters. 0 or -EINVAL. */
int scscf_reg_impi_from_impu(const char *impu, char *out, size_t outlen);
/* RFC 3261 20.10, 25.1: reads the qvalue s (len bytes: "0" ["." 0*3DIGIT] / "1" ["."
 * 0*3("0")]) into *q in thousandths ("0.5" -> 500). 0 or -EINVAL. */
int scscf_reg_qvalue(const char *s, size_t len, uint16_t *q);

/* scscf_call.c */

/* TS 24.229 5.4.3, RFC 3261 16: routes request m of transaction req (any method but
 * REGISTER and CANCEL): in a dialog (To tag) to the next hop of its Route set;
 * originating (our "orig" Route popped) after the served-user check to the I-CSCF of
 * the target's domain; terminating to the registered contacts along their Path, or 480.
 * Answers or forwards at once, or starts SAR UNREGISTERED_USER and returns the context
 * waiting for it (attach it to req so on_gone finds it); NULL otherwise. */
struct scscf_txn *scscf_call_on_request(struct scscf *s, struct sip_req *req, struct sip_msg *m);
/* TS 24.229 5.4.3.3 alone, for a request whose Route values naming us are popped:
 * registered Request-URI -> Record-Route and fork; barred, foreign or no user -> 404
 * (416, 400 for a URI we cannot read); no record -> SAR UNREGISTERED_USER, then 480 (404
 * when the HSS knows no such user). Returns like scscf_call_on_request. */
struct scscf_txn *scscf_call_terminating(struct scscf *s, struct sip_req *req, struct sip_msg *m);

/* scscf_sip.c */

/* Starts the SIP side: sip_proxy on the node's address and SIP port with the S-CSCF's
 * request table (REGISTER to the registrar; OPTIONS for this node answered 200; every
 * other request routed by scscf_call.c). 0 or -EIO. */
int scscf_sip_init(struct scscf *s);
/* Stops it: unanswered transactions end (their contexts see on_gone). */
void scscf_sip_fini(struct scscf *s);

/* scscf_rest.c */

/* Starts the REST API (GET /status, /metrics, /registrations, /registrations/{impu},
 * /diameter/peers, /dialogs) on the node's address and REST port. 0 or -EIO. */
int scscf_rest_init(struct scscf *s);
/* Stops it. Safe when init failed or never ran. */
void scscf_rest_fini(struct scscf *s);
/* ims.md: ready while SIP listens and the HSS peer is open. */
bool scscf_ready(const struct scscf *s);
/* The JSON of registration r as seen through impu (ims.md), expiries relative to now.
 * A new object, or NULL. */
json_t *scscf_rest_reg_json(const struct scscf *s, const struct scscf_reg *r, const char *impu,
                            uint64_t now);

/* main.c */

/* Hooks to the outside world, so the registrar runs without sockets in unit tests. */
struct scscf_io {
	/* dia_call() in the daemon. */
	int (*dia_call)(struct loop *lp, enum cx_kind kind, const void *st, unsigned timeout_ms,
	                dia_call_fn cb, void *arg);
	/* sip_req_reply() in the daemon. */
	int (*reply)(struct sip_req *req, int status, const char *reason, const char *headers);
};

/* The expiry policy in seconds; zero fields take the SCSCF_EXPIRES_* defaults at
 * scscf_reg_init. */
struct scscf_expiry {
	uint32_t dflt; /* granted when the REGISTER names none */
	uint32_t min;  /* shorter non-zero requests get 423 with Min-Expires */
	uint32_t max;  /* longer requests are granted this much */
};

/* Counters (loop thread only). */
struct scscf_stats {
	uint64_t reg_attempts[SCSCF_REG_KINDS];            /* REGISTERs received, by kind */
	uint64_t reg_success[SCSCF_REG_KINDS];             /* 200 OK sent, by kind */
	uint64_t reg_failures[SCSCF_REG_KINDS];            /* other final answers but 401 */
	uint64_t reg_rejected;                             /* REGISTERs refused unparsed
	                                                      (400, 403, 423), not counted
	                                                      as attempts */
	uint64_t challenges;                               /* 401 sent */
	uint64_t stale_challenges;                         /* of which stale=true */
	uint64_t auth_failures;                            /* wrong responses (403) */
	uint64_t resyncs;                                  /* AUTS received */
	uint64_t bindings_expired;                         /* bindings removed by expiry */
	uint64_t regs_expired;                             /* registrations ended by expiry */
	uint64_t cx_requests[SCSCF_CX_N];                  /* Cx requests sent */
	uint64_t cx_answers[SCSCF_CX_N][SCSCF_CX_RESULTS]; /* outcomes by result slot */
	uint64_t cx_latency_us[SCSCF_CX_N];                /* sum of answer latencies */
	uint64_t cx_latency_n[SCSCF_CX_N];                 /* answers in that sum */
	uint64_t options;                                  /* OPTIONS answered */
	uint64_t orig_requests;     /* initial requests with our "orig" Route (5.4.3.2) */
	uint64_t orig_forbidden;    /* of which 403: served user not registered here */
	uint64_t orig_unroutable;   /* of which 400/404/416/604 for their target */
	uint64_t term_requests;     /* initial requests without it (5.4.3.3) */
	uint64_t term_unregistered; /* of which for a user with no live contact (480, or
	                               404 when the HSS knows no such user) */
	uint64_t term_not_found;    /* of which 400/404/416: barred, another domain, no user */
	uint64_t term_branches;     /* branches forked to contacts */
	uint64_t in_dialog;         /* requests routed on their dialog's Route set */
	uint64_t route_failures;    /* next hop unresolvable or the core refused to forward */
};

/* The daemon: everything the S-CSCF owns, reached from its loop. */
struct scscf {
	const struct daemon *daemon;     /* command line, topology, loop (main's); NULL in tests */
	const struct topo *topo;         /* the lab (main's daemon); NULL in tests */
	const struct topo_node *node;    /* this S-CSCF in the topology; NULL in tests */
	struct loop *loop;               /* the loop (main's daemon) */
	const char *realm;               /* home domain: digest realm, Cx realm */
	const char *hss_fqdn;            /* the HSS's Diameter identity (Destination-Host) */
	char server_name[SCSCF_URI_MAX]; /* "sip:<fqdn>:<port>": Server-Name in MAR/SAR */
	char service_route[SCSCF_URI_MAX]; /* "<sip:orig@<fqdn>:<port>;lr>" for the 200 */
	struct scscf_io io;                /* outside world */
	struct scscf_expiry expiry;        /* registration intervals granted */
	struct sip_proxy *proxy;           /* owned; SIP side */
	struct rest *rest;                 /* owned; REST API */
	struct scscf_auth *auth;           /* owned; nonce store */
	struct scscf_regtab regs;          /* registrations */
	struct scscf_txn *txns;            /* live request contexts */
	struct scscf_txn *txn_pool;        /* freed contexts kept for reuse */
	size_t n_txns;                     /* entries in txns */
	size_t n_txn_pool;                 /* entries in txn_pool */
	uint64_t sweep_timer;              /* periodic nonce sweep */
	bool sip_ready;                    /* SIP listens (ready once the HSS peer is open too) */
	struct scscf_stats stats;          /* counters */
};

#endif
