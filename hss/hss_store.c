/* The HSS subscriber store: the HSS's only state, one SQLite database in WAL mode.
 * One connection behind one mutex serves the freeDiameter dispatch threads (Cx) and the
 * loop thread (REST); every statement is prepared at open, never on the hot path, and
 * results are copied out before the mutex is released.
 * Implicit registration set (TS 23.228, TS 29.228 6.1.2): all IMPUs of one
 * subscriber form one set, so the serving S-CSCF and the registration state are kept
 * per subscriber, not per IMPU. */
#include "hss.h"

#include "aka.h"
#include "log.h"
#include "topo.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCHEMA_VERSION  1    /* PRAGMA user_version of the schema below */
#define BUSY_TIMEOUT_MS 5000 /* wait for another process (sqlite3 shell) holding a lock */
#define LIST_PAGE       32   /* subscribers read per lock hold in hss_store_list */

/* Version 1. Keys are BLOBs of fixed length; a Digest-only subscriber has no K/OP.
 * WITHOUT ROWID: both tables are looked up by their text key only. */
static const char schema_sql[] =
    "CREATE TABLE subscriber ("
    " impi TEXT NOT NULL PRIMARY KEY,"
    " k BLOB CHECK (k IS NULL OR length(k) = 16),"
    " op BLOB CHECK (op IS NULL OR length(op) = 16),"
    " opc INTEGER NOT NULL DEFAULT 0 CHECK (opc IN (0, 1)),"
    " amf BLOB NOT NULL CHECK (length(amf) = 2),"
    " sqn INTEGER NOT NULL DEFAULT 0 CHECK (sqn BETWEEN 0 AND 281474976710655),"
    " password TEXT,"
    " barred INTEGER NOT NULL DEFAULT 0 CHECK (barred IN (0, 1)),"
    " scscf_name TEXT,"
    " reg_state TEXT NOT NULL DEFAULT 'not_registered'"
    "  CHECK (reg_state IN ('not_registered', 'registered', 'unregistered')),"
    " CHECK ((k IS NULL) = (op IS NULL)),"
    " CHECK (k IS NOT NULL OR password IS NOT NULL)"
    ") WITHOUT ROWID;"
    "CREATE TABLE impu ("
    " uri TEXT NOT NULL PRIMARY KEY,"
    " impi TEXT NOT NULL REFERENCES subscriber (impi) ON DELETE CASCADE,"
    " barred INTEGER NOT NULL DEFAULT 0 CHECK (barred IN (0, 1)),"
    " position INTEGER NOT NULL,"
    " UNIQUE (impi, position)"
    ") WITHOUT ROWID;";

enum stmt_id {
	ST_BEGIN_READ,
	ST_BEGIN_WRITE,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SUB_GET,
	ST_SUB_PAGE,
	ST_SUB_COUNT,
	ST_SUB_INSERT,
	ST_SUB_UPDATE,
	ST_SUB_DELETE,
	ST_SQN_SET,
	ST_SERVING_SET,
	ST_IMPUS_OF,
	ST_IMPU_GET,
	ST_IMPU_OWNER,
	ST_IMPU_INSERT,
	ST_IMPUS_DELETE,
	ST_COUNT
};

/* Columns of ST_SUB_GET and ST_SUB_PAGE, in select order. */
#define SUB_COLUMNS "impi, k, op, opc, amf, sqn, password, barred, scscf_name, reg_state"
enum sub_col { C_IMPI, C_K, C_OP, C_OPC, C_AMF, C_SQN, C_PASSWORD, C_BARRED, C_SCSCF, C_STATE };

/* BEGIN IMMEDIATE takes the write lock up front, so a read-modify-write never fails
 * half way on a lock upgrade if another process (sqlite3 shell) writes too. */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN_READ] = "BEGIN",
    [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SUB_GET] = "SELECT " SUB_COLUMNS " FROM subscriber WHERE impi = ?1",
    [ST_SUB_PAGE] = "SELECT " SUB_COLUMNS " FROM subscriber WHERE impi > ?1"
                    " ORDER BY impi LIMIT ?2",
    [ST_SUB_COUNT] = "SELECT count(*) FROM subscriber",
    [ST_SUB_INSERT] = "INSERT INTO subscriber (impi, k, op, opc, amf, password, barred, sqn)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_SUB_UPDATE] = "UPDATE subscriber SET k = ?2, op = ?3, opc = ?4, amf = ?5,"
                      " password = ?6, barred = ?7, sqn = coalesce(?8, sqn) WHERE impi = ?1",
    [ST_SUB_DELETE] = "DELETE FROM subscriber WHERE impi = ?1",
    [ST_SQN_SET] = "UPDATE subscriber SET sqn = ?2 WHERE impi = ?1",
    [ST_SERVING_SET] = "UPDATE subscriber SET scscf_name = ?2, reg_state = ?3 WHERE impi = ?1",
    [ST_IMPUS_OF] = "SELECT uri, barred FROM impu WHERE impi = ?1 ORDER BY position",
    [ST_IMPU_GET] = "SELECT i.impi, i.barred, s.barred, s.scscf_name, s.reg_state"
                    " FROM impu i JOIN subscriber s ON s.impi = i.impi WHERE i.uri = ?1",
    [ST_IMPU_OWNER] = "SELECT impi FROM impu WHERE uri = ?1",
    [ST_IMPU_INSERT] = "INSERT INTO impu (uri, impi, barred, position) VALUES (?1, ?2, ?3, ?4)",
    [ST_IMPUS_DELETE] = "DELETE FROM impu WHERE impi = ?1",
};

struct hss_store {
	pthread_mutex_t lock;         /* serialises every use of db and stmt */
	sqlite3 *db;                  /* owned; the one connection */
	sqlite3_stmt *stmt[ST_COUNT]; /* owned; prepared at open, reset after each use */
};

static const char *const reg_state_names[] = {
    [HSS_NOT_REGISTERED] = "not_registered",
    [HSS_REGISTERED] = "registered",
    [HSS_UNREGISTERED] = "unregistered",
};

const char *hss_store_reg_state_name(enum hss_reg_state state)
{
	if ((unsigned)state >= sizeof(reg_state_names) / sizeof(reg_state_names[0]))
		return "not_registered";
	return reg_state_names[state];
}

static enum hss_reg_state reg_state_parse(const unsigned char *name)
{
	for (size_t i = 0; name && i < sizeof(reg_state_names) / sizeof(reg_state_names[0]); i++)
		if (strcmp((const char *)name, reg_state_names[i]) == 0)
			return (enum hss_reg_state)i;
	return HSS_NOT_REGISTERED;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Logs the connection's last error once, where it happened; the caller holds the lock. */
static int db_fail(struct hss_store *s, int rc, const char *what)
{
	log_err("hss_store: %s: %s", what, sqlite3_errmsg(s->db));
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? -EBUSY : -EIO;
}

/* Resets a statement so it holds no read snapshot and no borrowed bound text. */
static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement without result rows (BEGIN, COMMIT, an UPDATE bound by the caller). */
static int stmt_exec(struct hss_store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->stmt[id];
	int rc = sqlite3_step(st);

	stmt_done(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, rc, stmt_sql[id]);
	return 0;
}

/* Ends the transaction: COMMIT when ret is 0 (a failed COMMIT becomes the result),
 * ROLLBACK otherwise. Returns the final result. */
static int txn_end(struct hss_store *s, int ret)
{
	if (ret == 0) {
		ret = stmt_exec(s, ST_COMMIT);
		if (ret == 0)
			return 0;
	}
	if (sqlite3_get_autocommit(s->db) == 0)
		stmt_exec(s, ST_ROLLBACK);
	return ret;
}

/* strnlen, not memchr: text may be a short string, never read past its NUL. */
static bool text_fits(const char *text, size_t size)
{
	return text && strnlen(text, size) < size;
}

static bool has_ctl(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return true;
	return false;
}

/* RFC 7542 NAI, user@realm: non-empty user, non-empty realm without '@'. */
static bool impi_valid(const char *impi)
{
	const char *at;

	if (!text_fits(impi, HSS_IMPI_MAX) || has_ctl(impi))
		return false;
	at = strrchr(impi, '@');
	return at && at != impi && at[1] != '\0';
}

/* TS 23.228 4.3.3.2: an IMPU is a SIP URI or a tel URI. */
static bool impu_valid(const char *uri)
{
	static const char *const schemes[] = {"sip:", "sips:", "tel:"};

	if (!text_fits(uri, HSS_URI_MAX) || has_ctl(uri))
		return false;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		size_t len = strlen(schemes[i]);

		if (strncasecmp(uri, schemes[i], len) == 0 && uri[len] != '\0')
			return true;
	}
	return false;
}

static bool scscf_valid(const char *name)
{
	return text_fits(name, HSS_URI_MAX) && !has_ctl(name);
}

static int sub_validate(const struct hss_subscriber *sub, char *err, size_t errlen)
{
	if (!impi_valid(sub->impi)) {
		set_err(err, errlen, "impi: not user@realm (at most %d bytes)", HSS_IMPI_MAX - 1);
		return -EINVAL;
	}
	if (sub->n_impus == 0 || sub->n_impus > HSS_IMPUS_MAX) {
		set_err(err, errlen, "impus: between 1 and %d public identities", HSS_IMPUS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < sub->n_impus; i++) {
		if (!impu_valid(sub->impus[i].uri)) {
			set_err(err, errlen, "impus[%zu]: not a sip:, sips: or tel: URI", i);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(sub->impus[i].uri, sub->impus[j].uri) == 0) {
				set_err(err, errlen, "impus[%zu]: %s listed twice", i,
				        sub->impus[i].uri);
				return -EINVAL;
			}
	}
	if (!text_fits(sub->password, HSS_PASSWORD_MAX)) {
		set_err(err, errlen, "password: at most %d bytes", HSS_PASSWORD_MAX - 1);
		return -EINVAL;
	}
	if (!sub->has_k && sub->password[0] == '\0') {
		set_err(err, errlen, "needs K and OP/OPc, or a password");
		return -EINVAL;
	}
	if (sub->sqn > AKA_SQN_MAX) {
		set_err(err, errlen, "sqn: more than 48 bits");
		return -EINVAL;
	}
	return 0;
}

static void copy_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t len)
{
	const void *blob = sqlite3_column_blob(st, col);

	memset(dst, 0, len);
	if (blob && (size_t)sqlite3_column_bytes(st, col) == len)
		memcpy(dst, blob, len);
}

static void copy_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *text = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", text ? (const char *)text : "");
}

/* Fills the key material from a row of ST_SUB_GET. */
static void row_auth(sqlite3_stmt *st, struct hss_auth *auth)
{
	auth->has_k = sqlite3_column_type(st, C_K) == SQLITE_BLOB;
	copy_blob(st, C_K, auth->k, sizeof(auth->k));
	copy_blob(st, C_OP, auth->op, sizeof(auth->op));
	auth->opc = sqlite3_column_int(st, C_OPC) != 0;
	copy_blob(st, C_AMF, auth->amf, sizeof(auth->amf));
	auth->sqn = (uint64_t)sqlite3_column_int64(st, C_SQN);
	copy_text(st, C_PASSWORD, auth->password, sizeof(auth->password));
	auth->barred = sqlite3_column_int(st, C_BARRED) != 0;
}

/* Fills everything but the IMPUs from a row of ST_SUB_GET or ST_SUB_PAGE. */
static void row_subscriber(sqlite3_stmt *st, struct hss_subscriber *sub)
{
	struct hss_auth auth;

	row_auth(st, &auth);
	memset(sub, 0, sizeof(*sub));
	copy_text(st, C_IMPI, sub->impi, sizeof(sub->impi));
	sub->has_k = auth.has_k;
	memcpy(sub->k, auth.k, sizeof(sub->k));
	memcpy(sub->op, auth.op, sizeof(sub->op));
	sub->opc = auth.opc;
	memcpy(sub->amf, auth.amf, sizeof(sub->amf));
	sub->sqn = auth.sqn;
	memcpy(sub->password, auth.password, sizeof(sub->password));
	sub->barred = auth.barred;
	copy_text(st, C_SCSCF, sub->scscf_name, sizeof(sub->scscf_name));
	sub->reg_state = reg_state_parse(sqlite3_column_text(st, C_STATE));
}

static int read_impus(struct hss_store *s, struct hss_subscriber *sub)
{
	sqlite3_stmt *st = s->stmt[ST_IMPUS_OF];
	int rc;

	sub->n_impus = 0;
	sqlite3_bind_text(st, 1, sub->impi, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && sub->n_impus < HSS_IMPUS_MAX) {
		struct hss_impu *impu = &sub->impus[sub->n_impus++];

		copy_text(st, 0, impu->uri, sizeof(impu->uri));
		impu->barred = sqlite3_column_int(st, 1) != 0;
	}
	stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, rc, "read impus");
	return 0;
}

/* Steps ST_SUB_GET for impi and leaves it on the row: 0 (caller calls stmt_done),
 * -ENOENT or an error (statement already reset). */
static int sub_row(struct hss_store *s, const char *impi)
{
	sqlite3_stmt *st = s->stmt[ST_SUB_GET];
	int rc;

	sqlite3_bind_text(st, 1, impi, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 0;
	stmt_done(st);
	return rc == SQLITE_DONE ? -ENOENT : db_fail(s, rc, "read subscriber");
}

static int get_locked(struct hss_store *s, const char *impi, struct hss_subscriber *out)
{
	int ret = sub_row(s, impi);

	if (ret < 0)
		return ret;
	row_subscriber(s->stmt[ST_SUB_GET], out);
	stmt_done(s->stmt[ST_SUB_GET]);
	return read_impus(s, out);
}

int hss_store_get(struct hss_store *s, const char *impi, struct hss_subscriber *out)
{
	int ret;

	if (!text_fits(impi, HSS_IMPI_MAX))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	/* Two statements: one read transaction so they see the same snapshot. */
	ret = stmt_exec(s, ST_BEGIN_READ);
	if (ret == 0)
		ret = txn_end(s, get_locked(s, impi, out));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int impu_get_locked(struct hss_store *s, const char *impu, struct hss_impu_info *out)
{
	sqlite3_stmt *st = s->stmt[ST_IMPU_GET];
	int rc;

	sqlite3_bind_text(st, 1, impu, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		copy_text(st, 0, out->impi, sizeof(out->impi));
		out->impu_barred = sqlite3_column_int(st, 1) != 0;
		out->subscriber_barred = sqlite3_column_int(st, 2) != 0;
		copy_text(st, 3, out->serving.scscf_name, sizeof(out->serving.scscf_name));
		out->serving.reg_state = reg_state_parse(sqlite3_column_text(st, 4));
	}
	stmt_done(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : db_fail(s, rc, "read impu");
}

int hss_store_impu_get(struct hss_store *s, const char *impu, struct hss_impu_info *out)
{
	int ret;

	if (!text_fits(impu, HSS_URI_MAX))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	ret = impu_get_locked(s, impu, out);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int impu_check_locked(struct hss_store *s, const char *impi, const char *impu)
{
	struct hss_impu_info info;
	int ret = impu_get_locked(s, impu, &info);

	if (ret < 0 || strcmp(info.impi, impi) == 0)
		return ret;
	/* TS 29.228 6.1.1.1: an unknown IMPI is USER_UNKNOWN even if the IMPU exists. */
	ret = sub_row(s, impi);
	if (ret < 0)
		return ret;
	stmt_done(s->stmt[ST_SUB_GET]);
	return -EXDEV;
}

int hss_store_impu_check(struct hss_store *s, const char *impi, const char *impu)
{
	int ret;

	if (!text_fits(impi, HSS_IMPI_MAX) || !text_fits(impu, HSS_URI_MAX))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	ret = stmt_exec(s, ST_BEGIN_READ);
	if (ret == 0)
		ret = txn_end(s, impu_check_locked(s, impi, impu));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int auth_locked(struct hss_store *s, const char *impi, struct hss_auth *out)
{
	int ret = sub_row(s, impi);

	if (ret < 0)
		return ret;
	row_auth(s->stmt[ST_SUB_GET], out);
	stmt_done(s->stmt[ST_SUB_GET]);
	return 0;
}

int hss_store_auth_get(struct hss_store *s, const char *impi, struct hss_auth *out)
{
	int ret;

	if (!text_fits(impi, HSS_IMPI_MAX))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	ret = auth_locked(s, impi, out);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Inside a write transaction: reads the keys, starts from SQN_HE (or sqn_ms on a
 * resync), issues n SQNs and stores the last one as the new SQN_HE. */
static int sqn_issue_locked(struct hss_store *s, const char *impi, const uint64_t *sqn_ms, size_t n,
                            struct hss_auth *auth, uint64_t *sqns)
{
	sqlite3_stmt *st = s->stmt[ST_SQN_SET];
	uint64_t sqn;
	int ret = auth_locked(s, impi, auth);

	if (ret < 0)
		return ret;
	if (!auth->has_k)
		return -ENOKEY;
	/* TS 33.102 6.3.5 step 5: on resynchronisation SQN_HE := SQN_MS, and the next
	 * vector is generated from there, so the USIM accepts it. */
	sqn = sqn_ms ? *sqn_ms : auth->sqn;
	for (size_t i = 0; i < n; i++) {
		ret = aka_sqn_next(sqn, &sqn);
		if (ret < 0)
			return ret;
		sqns[i] = sqn;
	}
	sqlite3_bind_text(st, 1, impi, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)sqn);
	ret = stmt_exec(s, ST_SQN_SET);
	if (ret == 0)
		auth->sqn = sqn;
	return ret;
}

static int sqn_issue(struct hss_store *s, const char *impi, const uint64_t *sqn_ms, size_t n,
                     struct hss_auth *auth, uint64_t *sqns)
{
	int ret;

	if (!text_fits(impi, HSS_IMPI_MAX) || n == 0 || n > HSS_SQN_BATCH_MAX || !auth || !sqns)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	ret = stmt_exec(s, ST_BEGIN_WRITE);
	if (ret == 0)
		ret = txn_end(s, sqn_issue_locked(s, impi, sqn_ms, n, auth, sqns));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int hss_store_sqn_next(struct hss_store *s, const char *impi, size_t n, struct hss_auth *auth,
                       uint64_t *sqns)
{
	return sqn_issue(s, impi, NULL, n, auth, sqns);
}

int hss_store_sqn_resync(struct hss_store *s, const char *impi, uint64_t sqn_ms, size_t n,
                         struct hss_auth *auth, uint64_t *sqns)
{
	if (sqn_ms > AKA_SQN_MAX)
		return -EINVAL;
	return sqn_issue(s, impi, &sqn_ms, n, auth, sqns);
}

static int serving_get_locked(struct hss_store *s, const char *impi, struct hss_serving *out)
{
	sqlite3_stmt *st = s->stmt[ST_SUB_GET];
	int ret = sub_row(s, impi);

	if (ret < 0)
		return ret;
	copy_text(st, C_SCSCF, out->scscf_name, sizeof(out->scscf_name));
	out->reg_state = reg_state_parse(sqlite3_column_text(st, C_STATE));
	stmt_done(st);
	return 0;
}

int hss_store_serving_get(struct hss_store *s, const char *impi, struct hss_serving *out)
{
	int ret;

	if (!text_fits(impi, HSS_IMPI_MAX))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	ret = serving_get_locked(s, impi, out);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int serving_set_locked(struct hss_store *s, const char *impi, const char *scscf_name,
                              enum hss_reg_state state, struct hss_serving *prev)
{
	sqlite3_stmt *st = s->stmt[ST_SERVING_SET];
	struct hss_serving old;
	int ret = serving_get_locked(s, impi, prev ? prev : &old);

	if (ret < 0)
		return ret;
	sqlite3_bind_text(st, 1, impi, -1, SQLITE_STATIC);
	if (scscf_name && scscf_name[0])
		sqlite3_bind_text(st, 2, scscf_name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_text(st, 3, hss_store_reg_state_name(state), -1, SQLITE_STATIC);
	return stmt_exec(s, ST_SERVING_SET);
}

int hss_store_serving_set(struct hss_store *s, const char *impi, const char *scscf_name,
                          enum hss_reg_state state, struct hss_serving *prev)
{
	int ret;

	bool named = scscf_name && scscf_name[0];

	if (!text_fits(impi, HSS_IMPI_MAX) || (named && !scscf_valid(scscf_name)) ||
	    (unsigned)state > HSS_UNREGISTERED || (state != HSS_NOT_REGISTERED && !named))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	ret = stmt_exec(s, ST_BEGIN_WRITE);
	if (ret == 0)
		ret = txn_end(s, serving_set_locked(s, impi, scscf_name, state, prev));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Binds ?1..?8 of ST_SUB_INSERT or ST_SUB_UPDATE; ?8 (SQN) stays NULL unless with_sqn. */
static void bind_subscriber(sqlite3_stmt *st, const struct hss_subscriber *sub, bool with_sqn)
{
	sqlite3_bind_text(st, 1, sub->impi, -1, SQLITE_STATIC);
	if (sub->has_k) {
		sqlite3_bind_blob(st, 2, sub->k, sizeof(sub->k), SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, sub->op, sizeof(sub->op), SQLITE_STATIC);
	}
	sqlite3_bind_int(st, 4, sub->has_k && sub->opc);
	sqlite3_bind_blob(st, 5, sub->amf, sizeof(sub->amf), SQLITE_STATIC);
	if (sub->password[0])
		sqlite3_bind_text(st, 6, sub->password, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, sub->barred);
	if (with_sqn)
		sqlite3_bind_int64(st, 8, (sqlite3_int64)sub->sqn);
}

/* Every IMPU of sub must be free or already sub's own. */
static int impus_check_free(struct hss_store *s, const struct hss_subscriber *sub, char *err,
                            size_t errlen)
{
	sqlite3_stmt *st = s->stmt[ST_IMPU_OWNER];

	for (size_t i = 0; i < sub->n_impus; i++) {
		int ret = 0;
		int rc;

		sqlite3_bind_text(st, 1, sub->impus[i].uri, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(st, 0), sub->impi) != 0) {
			set_err(err, errlen, "impu %s already belongs to %s", sub->impus[i].uri,
			        (const char *)sqlite3_column_text(st, 0));
			ret = -EEXIST;
		} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			ret = db_fail(s, rc, "read impu owner");
		}
		stmt_done(st);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int impus_insert(struct hss_store *s, const struct hss_subscriber *sub)
{
	sqlite3_stmt *st = s->stmt[ST_IMPU_INSERT];

	for (size_t i = 0; i < sub->n_impus; i++) {
		int ret;

		sqlite3_bind_text(st, 1, sub->impus[i].uri, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, sub->impi, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, sub->impus[i].barred);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)i);
		ret = stmt_exec(s, ST_IMPU_INSERT);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int create_locked(struct hss_store *s, const struct hss_subscriber *sub, char *err,
                         size_t errlen)
{
	sqlite3_stmt *st = s->stmt[ST_SUB_INSERT];
	int rc;
	int ret;

	bind_subscriber(st, sub, true);
	rc = sqlite3_step(st);
	stmt_done(st);
	if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
		set_err(err, errlen, "impi %s already exists", sub->impi);
		return -EEXIST;
	}
	if (rc != SQLITE_DONE) {
		set_err(err, errlen, "database error");
		return db_fail(s, rc, "insert subscriber");
	}
	ret = impus_check_free(s, sub, err, errlen);
	if (ret == 0)
		ret = impus_insert(s, sub);
	return ret;
}

int hss_store_create(struct hss_store *s, const struct hss_subscriber *sub, char *err,
                     size_t errlen)
{
	int ret = sub ? sub_validate(sub, err, errlen) : -EINVAL;

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&s->lock);
	ret = stmt_exec(s, ST_BEGIN_WRITE);
	if (ret == 0)
		ret = txn_end(s, create_locked(s, sub, err, errlen));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int replace_locked(struct hss_store *s, const struct hss_subscriber *sub, bool set_sqn,
                          char *err, size_t errlen)
{
	sqlite3_stmt *st = s->stmt[ST_SUB_UPDATE];
	int ret;

	bind_subscriber(st, sub, set_sqn);
	ret = stmt_exec(s, ST_SUB_UPDATE);
	if (ret < 0)
		return ret;
	if (sqlite3_changes(s->db) == 0) {
		set_err(err, errlen, "impi %s not found", sub->impi);
		return -ENOENT;
	}
	ret = impus_check_free(s, sub, err, errlen);
	if (ret < 0)
		return ret;
	sqlite3_bind_text(s->stmt[ST_IMPUS_DELETE], 1, sub->impi, -1, SQLITE_STATIC);
	ret = stmt_exec(s, ST_IMPUS_DELETE);
	if (ret == 0)
		ret = impus_insert(s, sub);
	return ret;
}

int hss_store_replace(struct hss_store *s, const struct hss_subscriber *sub, bool set_sqn,
                      char *err, size_t errlen)
{
	int ret = sub ? sub_validate(sub, err, errlen) : -EINVAL;

	if (ret < 0)
		return ret;
	pthread_mutex_lock(&s->lock);
	ret = stmt_exec(s, ST_BEGIN_WRITE);
	if (ret == 0)
		ret = txn_end(s, replace_locked(s, sub, set_sqn, err, errlen));
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int hss_store_delete(struct hss_store *s, const char *impi)
{
	int ret;

	if (!text_fits(impi, HSS_IMPI_MAX))
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	/* One statement, its own transaction; the IMPUs go with it (ON DELETE CASCADE). */
	sqlite3_bind_text(s->stmt[ST_SUB_DELETE], 1, impi, -1, SQLITE_STATIC);
	ret = stmt_exec(s, ST_SUB_DELETE);
	if (ret == 0 && sqlite3_changes(s->db) == 0)
		ret = -ENOENT;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int hss_store_count(struct hss_store *s, size_t *count)
{
	sqlite3_stmt *st = s->stmt[ST_SUB_COUNT];
	int ret = 0;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*count = (size_t)sqlite3_column_int64(st, 0);
	else
		ret = db_fail(s, rc, "count subscribers");
	stmt_done(st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* Reads up to want subscribers after cursor into page; *got says how many. */
static int page_locked(struct hss_store *s, const char *cursor, size_t want,
                       struct hss_subscriber *page, size_t *got)
{
	sqlite3_stmt *st = s->stmt[ST_SUB_PAGE];
	int rc;

	*got = 0;
	sqlite3_bind_text(st, 1, cursor, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)want);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *got < want)
		row_subscriber(st, &page[(*got)++]);
	stmt_done(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, rc, "list subscribers");
	for (size_t i = 0; i < *got; i++) {
		int ret = read_impus(s, &page[i]);

		if (ret < 0)
			return ret;
	}
	return 0;
}

int hss_store_list(struct hss_store *s, const char *after, size_t limit, hss_store_list_fn *fn,
                   void *arg)
{
	char cursor[HSS_IMPI_MAX] = "";
	struct hss_subscriber *page;
	size_t done = 0;
	int ret = 0;

	if (!fn || (after && !text_fits(after, sizeof(cursor))))
		return -EINVAL;
	if (after)
		memcpy(cursor, after, strlen(after) + 1);
	page = malloc(LIST_PAGE * sizeof(*page));
	if (!page)
		return -ENOMEM;
	while (ret == 0 && (limit == 0 || done < limit)) {
		size_t want = LIST_PAGE;
		size_t got = 0;

		if (limit && limit - done < want)
			want = limit - done;
		pthread_mutex_lock(&s->lock);
		ret = stmt_exec(s, ST_BEGIN_READ);
		if (ret == 0)
			ret = txn_end(s, page_locked(s, cursor, want, page, &got));
		pthread_mutex_unlock(&s->lock);
		for (size_t i = 0; ret == 0 && i < got; i++)
			ret = fn(&page[i], arg);
		if (ret != 0 || got < want)
			break;
		done += got;
		memcpy(cursor, page[got - 1].impi, sizeof(cursor));
	}
	free(page);
	return ret;
}

/* Copies a topology subscriber into the store's form; -EINVAL if it does not fit. */
static int sub_from_topo(const struct topo_subscriber *t, struct hss_subscriber *sub)
{
	memset(sub, 0, sizeof(*sub));
	if (!t->impi || strlen(t->impi) >= sizeof(sub->impi) || t->n_impus > HSS_IMPUS_MAX ||
	    (t->password && strlen(t->password) >= sizeof(sub->password)))
		return -EINVAL;
	memcpy(sub->impi, t->impi, strlen(t->impi) + 1);
	for (size_t i = 0; i < t->n_impus; i++) {
		if (!t->impus[i].uri || strlen(t->impus[i].uri) >= sizeof(sub->impus[i].uri))
			return -EINVAL;
		memcpy(sub->impus[i].uri, t->impus[i].uri, strlen(t->impus[i].uri) + 1);
		sub->impus[i].barred = t->impus[i].barred;
	}
	sub->n_impus = t->n_impus;
	sub->has_k = t->has_k;
	memcpy(sub->k, t->k, sizeof(sub->k));
	memcpy(sub->op, t->op, sizeof(sub->op));
	sub->opc = t->opc;
	memcpy(sub->amf, t->amf, sizeof(sub->amf));
	sub->sqn = t->sqn;
	if (t->password)
		memcpy(sub->password, t->password, strlen(t->password) + 1);
	sub->barred = t->barred;
	return 0;
}

static int seed_locked(struct hss_store *s, const struct topo_domain *seed)
{
	struct hss_subscriber *sub = malloc(sizeof(*sub));
	char err[HSS_URI_MAX + 128];
	int ret = 0;

	if (!sub)
		return -ENOMEM;
	for (size_t i = 0; seed && i < seed->n_subscribers; i++) {
		snprintf(err, sizeof(err), "does not fit the store's limits");
		ret = sub_from_topo(&seed->subscribers[i], sub);
		if (ret == 0)
			ret = sub_validate(sub, err, sizeof(err));
		if (ret == 0)
			ret = create_locked(s, sub, err, sizeof(err));
		if (ret < 0) {
			log_err("hss_store: seed subscribers[%zu]: %s", i, err);
			break;
		}
	}
	free(sub);
	return ret;
}

static int prepare_all(struct hss_store *s)
{
	for (int i = 0; i < ST_COUNT; i++) {
		int rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                            &s->stmt[i], NULL);

		if (rc != SQLITE_OK)
			return db_fail(s, rc, stmt_sql[i]);
	}
	return 0;
}

static int user_version(struct hss_store *s, int *version)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);

	if (rc != SQLITE_OK)
		return db_fail(s, rc, "PRAGMA user_version");
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_fail(s, rc, "PRAGMA user_version");
}

/* WAL with synchronous=NORMAL: a commit is in the WAL file (in the OS) when it returns,
 * so it survives a crash or kill of the process, which is what an SQN update needs; only
 * an OS crash or power cut may lose the last commits (then a few SQNs could be issued
 * again; the USIM rejects those as replays and resynchronises). FULL would fsync every
 * MAR. Foreign keys are off by default in SQLite and needed for ON DELETE CASCADE. */
static int configure(struct hss_store *s)
{
	sqlite3_stmt *st;
	bool wal;
	int rc;

	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "PRAGMA journal_mode");
	rc = sqlite3_step(st);
	wal = rc == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
	sqlite3_finalize(st);
	/* An in-memory database (tests) reports "memory": nothing to persist anyway. */
	if (!wal && sqlite3_db_filename(s->db, "main")[0] != '\0') {
		log_err("hss_store: cannot switch to WAL mode: %s", sqlite3_errmsg(s->db));
		return -EIO;
	}
	rc = sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;", NULL,
	                  NULL, NULL);
	return rc == SQLITE_OK ? 0 : db_fail(s, rc, "PRAGMA synchronous/foreign_keys");
}

/* Creates the schema, prepares the statements and seeds, as one transaction: a crash
 * leaves either no schema (seeded on the next start) or a complete seeded database.
 * *version gets the version found once the write lock is held. */
static int create_schema(struct hss_store *s, const struct topo_domain *seed, int *version)
{
	char version_sql[40];
	int ret;
	int rc;

	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "BEGIN IMMEDIATE");
	/* Another process may have created it while we waited for the lock. */
	ret = user_version(s, version);
	if (ret == 0 && *version == 0) {
		rc = sqlite3_exec(s->db, schema_sql, NULL, NULL, NULL);
		ret = rc == SQLITE_OK ? 0 : db_fail(s, rc, "create schema");
	} else if (ret == 0 && *version != SCHEMA_VERSION) {
		ret = -EPROTO;
	}
	if (ret == 0)
		ret = prepare_all(s);
	if (ret == 0 && *version == 0)
		ret = seed_locked(s, seed);
	if (ret == 0 && *version == 0) {
		snprintf(version_sql, sizeof(version_sql), "PRAGMA user_version = %d",
		         SCHEMA_VERSION);
		rc = sqlite3_exec(s->db, version_sql, NULL, NULL, NULL);
		ret = rc == SQLITE_OK ? 0 : db_fail(s, rc, "PRAGMA user_version");
	}
	if (ret == 0) {
		rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
		ret = rc == SQLITE_OK ? 0 : db_fail(s, rc, "COMMIT");
	}
	if (ret < 0 && sqlite3_get_autocommit(s->db) == 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

static void finalize_all(struct hss_store *s)
{
	for (int i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(s->stmt[i]);
		s->stmt[i] = NULL;
	}
}

struct hss_store *hss_store_open(const char *path, const struct topo_domain *seed)
{
	struct hss_store *s;
	int version = 0;
	int ret;
	int rc;

	if (!path)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL) != 0)
		goto out_free;
	/* NOMUTEX: our own mutex already serialises every use of the connection. */
	rc = sqlite3_open_v2(
	    path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		log_err("hss_store: %s: %s", path,
		        s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto out_close;
	}
	ret = configure(s);
	if (ret == 0)
		ret = user_version(s, &version);
	if (ret == 0 && version == 0)
		ret = create_schema(s, seed, &version);
	else if (ret == 0 && version == SCHEMA_VERSION)
		ret = prepare_all(s);
	else if (ret == 0)
		ret = -EPROTO;
	if (ret == -EPROTO)
		log_err("hss_store: %s: schema version %d, this HSS knows %d", path, version,
		        SCHEMA_VERSION);
	if (ret < 0)
		goto out_finalize;
	return s;

out_finalize:
	finalize_all(s);
out_close:
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
out_free:
	free(s);
	return NULL;
}

void hss_store_close(struct hss_store *s)
{
	if (!s)
		return;
	finalize_all(s);
	/* The last connection to close checkpoints the WAL into the database file. */
	if (sqlite3_close(s->db) != SQLITE_OK)
		log_err("hss_store: close: %s", sqlite3_errmsg(s->db));
	pthread_mutex_destroy(&s->lock);
	free(s);
}
