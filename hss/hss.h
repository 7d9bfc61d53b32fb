/* The HSS's private header: one banner per source file, so it reads as a table of
 * contents of the daemon. */
#ifndef IMS_HSS_H
#define IMS_HSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <stdatomic.h>

struct topo;
struct topo_node;
struct topo_domain;
struct loop;
struct rest;
struct hss_store;
struct prom;

/* hss_stats.c */

/* The Cx commands the HSS serves (TS 29.228 6.1), as counter indices. */
enum hss_cx_cmd { HSS_CX_UAR, HSS_CX_SAR, HSS_CX_LIR, HSS_CX_MAR, HSS_CX_N };

/* Result codes counted apart; everything else lands in the last slot ("other"). */
#define HSS_STATS_RESULTS 15

/* Cx counters, updated by freeDiameter threads and read by the loop: atomics, no lock. */
struct hss_stats {
	_Atomic uint64_t requests[HSS_CX_N];                   /* requests received */
	_Atomic uint64_t answers[HSS_CX_N][HSS_STATS_RESULTS]; /* answers by result slot */
	_Atomic uint64_t latency_us[HSS_CX_N];                 /* sum of handling times */
	_Atomic uint64_t vectors;                              /* AKA vectors issued */
	_Atomic uint64_t resyncs;                              /* successful resyncs */
};

/* Counts one answer to cmd with the (experimental) result code, handled in us. */
void hss_stats_answer(struct hss_stats *st, enum hss_cx_cmd cmd, unsigned result, uint64_t us);
/* "UAR", "SAR", "LIR", "MAR". */
const char *hss_stats_cmd_name(enum hss_cx_cmd cmd);
/* Appends the Cx counters to a Prometheus text buffer. */
void hss_stats_prom(const struct hss_stats *st, struct prom *p);
/* Returns a new JSON object {"UAR": {"requests": n, "answers": {"2001": n, ...}}, ...}. */
json_t *hss_stats_json(const struct hss_stats *st);

/* main.c */

/* The daemon: everything the HSS owns, reached from its loop and its Cx handlers. */
struct hss {
	struct topo *topo;            /* the lab (owned by main's struct daemon) */
	const struct topo_node *node; /* this HSS in topo */
	struct loop *loop;            /* the loop running REST and signals (main's daemon) */
	struct rest *rest;            /* owned; provisioning and status API */
	struct hss_store *store;      /* owned; subscribers, thread safe */
	uint64_t started_ms;          /* loop_clock_ms() at start, for uptime */
	atomic_bool ready;            /* Diameter stack started and REST listening */
	struct hss_stats stats;       /* Cx counters */
};

/* hss_cx.c */

struct cx_uar;
struct cx_uaa;
struct cx_sar;
struct cx_saa;
struct cx_lir;
struct cx_lia;
struct cx_mar;
struct cx_maa;
struct dia_handler;
struct hss_subscriber;

/* The Cx procedures of TS 29.228 6.1.1 (UAR), 6.1.2 (SAR), 6.1.4 (LIR) and 6.3 (MAR):
 * decide the answer a for request q against the store. Any thread. a starts zeroed; a
 * SAA's user_data is malloc'd and owned by the caller. */
void hss_cx_on_uar(struct hss *h, const struct cx_uar *q, struct cx_uaa *a);
void hss_cx_on_sar(struct hss *h, const struct cx_sar *q, struct cx_saa *a);
void hss_cx_on_lir(struct hss *h, const struct cx_lir *q, struct cx_lia *a);
void hss_cx_on_mar(struct hss *h, const struct cx_mar *q, struct cx_maa *a);
/* The IMS subscription XML (TS 29.228 Annex E) of sub: malloc'd, or NULL. */
char *hss_cx_user_data(const struct hss_subscriber *sub);
/* Fills out with the HSS's Cx request handlers for dia_core; returns how many. */
size_t hss_cx_handlers(struct hss *h, struct dia_handler *out, size_t max);

/* hss_store.c */

/* Bounds of one subscriber record; longer input is refused with -EINVAL. */
#define HSS_IMPI_MAX      256 /* bytes of an IMPI, NUL included (NAI, RFC 7542 limit 253) */
#define HSS_URI_MAX       256 /* bytes of an IMPU or S-CSCF name, NUL included */
#define HSS_PASSWORD_MAX  128 /* bytes of a SIP Digest password, NUL included */
#define HSS_IMPUS_MAX     16  /* IMPUs of one subscriber (its implicit registration set) */
#define HSS_SQN_BATCH_MAX 32  /* SQNs one hss_store_sqn_next call may issue */

/* TS 29.228 6.1.2/6.1.4: the registration state the HSS keeps for the implicit
 * registration set (here: all IMPUs of a subscriber, see hss_store.c). */
enum hss_reg_state {
	HSS_NOT_REGISTERED, /* not registered; a kept scscf_name is only a preference */
	HSS_REGISTERED,     /* registered; scscf_name is the serving S-CSCF */
	HSS_UNREGISTERED,   /* not registered but served (terminating unregistered services) */
};

struct hss_impu {
	char uri[HSS_URI_MAX]; /* sip:, sips: or tel: URI, unique across subscribers */
	bool barred;           /* TS 29.228 6.6.1: this identity is barred */
};

/* A subscriber as provisioned and as the store returns it (a copy: nothing in it
 * points into the store). */
struct hss_subscriber {
	char impi[HSS_IMPI_MAX];              /* private identity, user@realm; the key */
	bool has_k;                           /* K and OP/OPc are set (AKA subscriber) */
	uint8_t k[16];                        /* subscriber key K (TS 35.206) */
	uint8_t op[16];                       /* OP or OPc as provisioned, see opc */
	bool opc;                             /* op holds OPc; else OP (SIPp needs OP) */
	uint8_t amf[2];                       /* AMF put in new vectors */
	uint64_t sqn;                         /* SQN_HE: last SQN issued (48 bits, TS 33.102 C) */
	char password[HSS_PASSWORD_MAX];      /* SIP Digest password; "" when none */
	bool barred;                          /* the whole subscription is barred */
	char scscf_name[HSS_URI_MAX];         /* serving S-CSCF (SIP URI); "" when none */
	enum hss_reg_state reg_state;         /* registration state of the implicit set */
	struct hss_impu impus[HSS_IMPUS_MAX]; /* public identities; [0] is the default one */
	size_t n_impus;                       /* entries in impus, at least 1 */
};

/* What MAR needs: the key material and SQN_HE, copied out of one transaction. */
struct hss_auth {
	bool has_k;                      /* K and OP/OPc are set */
	uint8_t k[16];                   /* subscriber key K */
	uint8_t op[16];                  /* OP or OPc, see opc; the caller derives OPc from OP */
	bool opc;                        /* op holds OPc */
	uint8_t amf[2];                  /* AMF for the vectors */
	uint64_t sqn;                    /* SQN_HE after the call (the last SQN issued) */
	char password[HSS_PASSWORD_MAX]; /* SIP Digest password; "" when none */
	bool barred;                     /* the whole subscription is barred */
};

/* Who serves a subscriber: written by SAR, read by UAR and LIR. */
struct hss_serving {
	char scscf_name[HSS_URI_MAX]; /* serving S-CSCF; "" when none */
	enum hss_reg_state reg_state; /* registration state of the implicit set */
};

/* What UAR and LIR need about a public identity, read in one statement. */
struct hss_impu_info {
	char impi[HSS_IMPI_MAX];    /* the IMPI the IMPU belongs to */
	bool impu_barred;           /* this IMPU is barred */
	bool subscriber_barred;     /* the whole subscription is barred */
	struct hss_serving serving; /* serving S-CSCF and registration state */
};

/* The store. Every call is thread safe. Calls that touch the database may also
 * return -EBUSY (another process held a lock past the busy timeout) or -EIO (any
 * other SQLite failure, logged once). */
struct hss_store;

/* Opens (creating if needed) the SQLite subscriber database at path. A new database
 * gets the schema and the subscribers of seed (may be NULL); an existing one is used
 * as it is and never re-seeded, so provisioning survives restarts. Returns an owned
 * store, or NULL after logging why (bad seed, newer schema, I/O error). */
struct hss_store *hss_store_open(const char *path, const struct topo_domain *seed);
/* Closes the database; no other thread may use the store any more. NULL is a no-op. */
void hss_store_close(struct hss_store *s);

/* Full record of impi, IMPUs included, into *out. 0, -ENOENT, -EINVAL, -EIO. */
int hss_store_get(struct hss_store *s, const char *impi, struct hss_subscriber *out);
/* UAR/LIR: the IMPI, barring and serving state of impu. 0, -ENOENT, -EINVAL, -EIO. */
int hss_store_impu_get(struct hss_store *s, const char *impu, struct hss_impu_info *out);
/* UAR (TS 29.228 6.1.1.1): 0 when impu belongs to impi; -ENOENT when either identity
 * is unknown (DIAMETER_ERROR_USER_UNKNOWN); -EXDEV when both exist but impu belongs to
 * another IMPI (DIAMETER_ERROR_IDENTITIES_DONT_MATCH); -EINVAL, -EIO. */
int hss_store_impu_check(struct hss_store *s, const char *impi, const char *impu);

/* Key material and SQN_HE without changing anything (AUTS check, SIP Digest).
 * 0, -ENOENT, -EINVAL, -EIO. */
int hss_store_auth_get(struct hss_store *s, const char *impi, struct hss_auth *out);
/* MAR: in ONE transaction reads the key material, issues n fresh SQNs with
 * aka_sqn_next (1 <= n <= HSS_SQN_BATCH_MAX) into sqns[0..n-1] and stores the last as
 * SQN_HE, so no SQN is issued twice, across threads and restarts (TS 33.102 6.3.2,
 * Annex C). Returns 0; -ENOENT unknown impi; -ENOKEY no K (Digest-only subscriber);
 * -ERANGE SEQ exhausted (nothing issued); -EINVAL; -EIO. */
int hss_store_sqn_next(struct hss_store *s, const char *impi, size_t n, struct hss_auth *auth,
                       uint64_t *sqns);
/* MAR with resynchronisation (TS 33.102 6.3.5 step 5): sets SQN_HE := sqn_ms, the SQN
 * the caller recovered from a verified AUTS, then issues n SQNs as hss_store_sqn_next
 * does, all in one transaction. Same returns; -EINVAL when sqn_ms exceeds 48 bits. */
int hss_store_sqn_resync(struct hss_store *s, const char *impi, uint64_t sqn_ms, size_t n,
                         struct hss_auth *auth, uint64_t *sqns);

/* Serving S-CSCF and registration state of impi. 0, -ENOENT, -EINVAL, -EIO. */
int hss_store_serving_get(struct hss_store *s, const char *impi, struct hss_serving *out);
/* SAR: sets the serving S-CSCF (NULL or "" clears it) and the registration state in
 * one transaction; *prev (may be NULL) gets the values it replaced, so a caller sees
 * exactly which assignment it overwrote. REGISTERED and UNREGISTERED need a name;
 * NOT_REGISTERED may keep one (TS 29.228 USER_DEREGISTRATION_STORE_SERVER_NAME).
 * 0, -ENOENT, -EINVAL, -EIO. */
int hss_store_serving_set(struct hss_store *s, const char *impi, const char *scscf_name,
                          enum hss_reg_state state, struct hss_serving *prev);

/* Provisioning. err (may be NULL) gets a one-line reason on failure, naming the
 * offending identity ("impu sip:bob@x already belongs to bob@x").
 * create: inserts sub with its IMPUs and sub->sqn; the serving S-CSCF and the
 * registration state start empty. 0, -EEXIST (IMPI or an IMPU taken), -EINVAL, -EIO. */
int hss_store_create(struct hss_store *s, const struct hss_subscriber *sub, char *err,
                     size_t errlen);
/* replace (PUT): every provisioned field and the IMPU list of sub->impi become those of
 * sub; SQN_HE is kept unless set_sqn; the serving S-CSCF and registration state are
 * kept. 0, -ENOENT, -EEXIST (an IMPU of another subscriber), -EINVAL, -EIO. */
int hss_store_replace(struct hss_store *s, const struct hss_subscriber *sub, bool set_sqn,
                      char *err, size_t errlen);
/* Deletes impi and its IMPUs. 0, -ENOENT, -EINVAL, -EIO. */
int hss_store_delete(struct hss_store *s, const char *impi);
/* Number of subscribers into *count. 0 or -EIO. */
int hss_store_count(struct hss_store *s, size_t *count);

/* Called once per subscriber by hss_store_list; a non-zero return stops the listing
 * and becomes its result. sub is valid for the call only. */
typedef int hss_store_list_fn(const struct hss_subscriber *sub, void *arg);
/* Calls fn for subscribers in IMPI order, starting after the IMPI after (NULL: from
 * the first), at most limit of them (0: all). Pages are read under the lock and fn
 * runs without it, so fn may use the store and a long listing never stalls Cx; the
 * listing is not one snapshot. Returns 0, fn's non-zero result, -EINVAL, -ENOMEM or
 * -EIO. */
int hss_store_list(struct hss_store *s, const char *after, size_t limit, hss_store_list_fn *fn,
                   void *arg);

/* "not_registered", "registered" or "unregistered" (also the database spelling). */
const char *hss_store_reg_state_name(enum hss_reg_state state);

/* hss_rest.c */

/* Starts the REST API (GET /status, GET /metrics, subscriber provisioning on
 * /subscribers, ARCHITECTURE.md REST conventions) on h->node->address:h->node->rest_port
 * (0 picks a free port: read it with rest_port(h->rest)), served from h->loop with h as
 * the handlers' state; stores the server in h->rest. Needs h->node, h->loop, h->store.
 * Call on the loop thread (or before loop_run). Returns 0, or -EIO after rest_new
 * logged why (bad address, port in use). */
int hss_rest_init(struct hss *h);
/* Stops the API, closing its connections; h->rest becomes NULL. Loop thread, never from
 * a handler. Safe when init failed or never ran. */
void hss_rest_fini(struct hss *h);

#endif
