/* The HSS's REST API (ARCHITECTURE.md, REST conventions): GET /status and /metrics, and
 * subscriber provisioning on /subscribers (GET list, POST create, GET/PUT/DELETE one).
 * Subscriber JSON uses the field names of the topology file (topologies/FORMAT.md);
 * keys are write-only: K, OP/OPc and the password are accepted, never returned.
 * Handlers run on the loop thread; the store is shared with the Cx threads and locks
 * itself. */
#include "hss.h"

#include "codec.h"
#include "jcheck.h"
#include "loop.h"
#include "prom.h"
#include "rest.h"
#include "topo.h"
#include "version.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#define LIST_LIMIT_MAX 1000 /* most subscribers one GET /subscribers?limit= page holds */
#define ERR_MAX        512  /* bytes of a 400/409 message, like rest_error's buffer */

/* --- input: JSON -> struct hss_subscriber ------------------------------------------- */

/* One key a JSON object may carry. */
struct field {
	const char *key;       /* JSON key */
	enum jcheck_kind kind; /* type it must have (unchecked for output fields) */
	bool output;           /* answered by GET, never accepted in a body */
};

static const struct field subscriber_fields[] = {
    {"impi", JCHECK_STRING, false},   {"impus", JCHECK_ARRAY, false},
    {"k", JCHECK_STRING, false},      {"op", JCHECK_STRING, false},
    {"opc", JCHECK_STRING, false},    {"amf", JCHECK_STRING, false},
    {"sqn", JCHECK_STRING, false},    {"password", JCHECK_STRING, false},
    {"barred", JCHECK_BOOL, false},   {"auth", JCHECK_OBJECT, true},
    {"serving", JCHECK_OBJECT, true},
};

static const struct field impu_fields[] = {
    {"uri", JCHECK_STRING, false},
    {"barred", JCHECK_BOOL, false},
};

#define N_FIELDS(t) (sizeof(t) / sizeof((t)[0]))

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the reason into err; returns -EINVAL so callers can return it directly. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Every key of obj must be in the table and have its type. where prefixes messages
 * ("impus[1].") and is "" at the top level. */
static int check_fields(json_t *obj, const struct field *table, size_t n, const char *where,
                        char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		size_t i;

		for (i = 0; i < n && strcmp(table[i].key, key) != 0; i++)
			;
		/* Keys are peer input: quote only a bounded prefix. */
		if (i == n)
			return fail(err, errlen, "unknown field %s%.64s", where, key);
		if (table[i].output)
			return fail(err, errlen,
			            "%s%s: output-only field (keys are write-only: give k with "
			            "op or opc, or password)",
			            where, key);
		if (!jcheck_kind_matches(v, table[i].kind))
			return fail(err, errlen, "%s%s: expected %s, found %s", where, key,
			            jcheck_kind_name(table[i].kind), jcheck_json_name(v));
	}
	return 0;
}

/* Copies string field v into out (size bytes with the NUL); jansson strings may hold
 * NUL bytes, which no identity or password may contain. */
static int copy_string(const json_t *v, const char *name, char *out, size_t size, char *err,
                       size_t errlen)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);

	if (strlen(s) != len)
		return fail(err, errlen, "%s: contains a NUL character", name);
	if (len >= size)
		return fail(err, errlen, "%s: longer than %zu bytes", name, size - 1);
	memcpy(out, s, len + 1);
	return 0;
}

/* The IMPI comes from the body and, for PUT, from the path: both must agree. */
static int parse_impi(json_t *obj, const char *path_impi, struct hss_subscriber *sub, char *err,
                      size_t errlen)
{
	json_t *v = json_object_get(obj, "impi");
	int ret;

	if (!v && !path_impi)
		return fail(err, errlen, "impi: required");
	if (!v) {
		/* The handler checked that the path names an existing subscriber. */
		snprintf(sub->impi, sizeof(sub->impi), "%s", path_impi);
		return 0;
	}
	ret = copy_string(v, "impi", sub->impi, sizeof(sub->impi), err, errlen);
	if (ret < 0)
		return ret;
	if (path_impi && strcmp(sub->impi, path_impi) != 0)
		return fail(err, errlen, "impi: \"%.64s\" differs from the IMPI in the path",
		            sub->impi);
	if (!jcheck_impi(sub->impi))
		return fail(err, errlen, "impi: \"%.64s\" is not of the form user@realm",
		            sub->impi);
	return 0;
}

/* An entry is a URI string or {"uri": ..., "barred": ...} (as in the topology file). */
static int parse_impu(json_t *v, size_t i, struct hss_impu *impu, char *err, size_t errlen)
{
	char where[32], name[32];
	json_t *uri = v;
	int ret;

	snprintf(where, sizeof(where), "impus[%zu].", i);
	snprintf(name, sizeof(name), "impus[%zu]", i);
	if (json_is_object(v)) {
		ret = check_fields(v, impu_fields, N_FIELDS(impu_fields), where, err, errlen);
		if (ret < 0)
			return ret;
		uri = json_object_get(v, "uri");
		if (!uri)
			return fail(err, errlen, "%suri: required", where);
		impu->barred = json_is_true(json_object_get(v, "barred"));
		snprintf(name, sizeof(name), "impus[%zu].uri", i);
	} else if (!json_is_string(v)) {
		return fail(err, errlen, "%s: expected a string or an object, found %s", name,
		            jcheck_json_name(v));
	}
	ret = copy_string(uri, name, impu->uri, sizeof(impu->uri), err, errlen);
	if (ret < 0)
		return ret;
	if (!jcheck_impu(impu->uri))
		return fail(err, errlen,
		            "%s: \"%.64s\" is not a sip:, sips: or tel: URI (tel:+ then 1-%d "
		            "digits)",
		            name, impu->uri, JCHECK_E164_DIGITS_MAX);
	return 0;
}

static int parse_impus(json_t *obj, struct hss_subscriber *sub, char *err, size_t errlen)
{
	json_t *list = json_object_get(obj, "impus");
	size_t n = json_array_size(list);

	if (!list)
		return fail(err, errlen, "impus: required");
	if (n == 0 || n > HSS_IMPUS_MAX)
		return fail(err, errlen, "impus: expected 1-%d public identities, found %zu",
		            HSS_IMPUS_MAX, n);
	for (size_t i = 0; i < n; i++) {
		int ret = parse_impu(json_array_get(list, i), i, &sub->impus[i], err, errlen);

		if (ret < 0)
			return ret;
		/* One URI names one subscriber, whatever its case (the topology's rule). */
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(sub->impus[i].uri, sub->impus[j].uri) == 0)
				return fail(err, errlen, "impus[%zu]: \"%.64s\" listed twice", i,
				            sub->impus[i].uri);
	}
	sub->n_impus = n;
	return 0;
}

/* Decodes an optional hex field of exactly n bytes; *present says whether it was given. */
static int parse_hex(json_t *obj, const char *key, uint8_t *out, size_t n, bool *present, char *err,
                     size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	*present = v != NULL;
	if (!v)
		return 0;
	if (json_string_length(v) != 2 * n || codec_hex_decode(json_string_value(v), out, n) < 0)
		return fail(err, errlen, "%s: expected %zu hex digits", key, 2 * n);
	return 0;
}

/* TS 33.102 6.3 and TS 35.206: AKA needs K with OP or OPc; Digest needs a password. */
static int parse_credentials(json_t *obj, struct hss_subscriber *sub, char *err, size_t errlen)
{
	json_t *pw = json_object_get(obj, "password");
	bool has_op, has_opc;
	uint8_t opc[16];
	int ret;

	ret = parse_hex(obj, "k", sub->k, sizeof(sub->k), &sub->has_k, err, errlen);
	if (ret == 0)
		ret = parse_hex(obj, "op", sub->op, sizeof(sub->op), &has_op, err, errlen);
	if (ret == 0)
		ret = parse_hex(obj, "opc", opc, sizeof(opc), &has_opc, err, errlen);
	if (ret < 0)
		return ret;
	if (has_op && has_opc)
		return fail(err, errlen, "opc: give either op or opc, not both");
	if (sub->has_k && !has_op && !has_opc)
		return fail(err, errlen, "k: needs op or opc");
	if (!sub->has_k && (has_op || has_opc))
		return fail(err, errlen, "%s: needs k", has_op ? "op" : "opc");
	if (has_opc) {
		memcpy(sub->op, opc, sizeof(sub->op));
		sub->opc = true;
	}
	if (pw) {
		ret =
		    copy_string(pw, "password", sub->password, sizeof(sub->password), err, errlen);
		if (ret < 0)
			return ret;
		if (sub->password[0] == '\0')
			return fail(err, errlen, "password: expected 1-%d characters",
			            HSS_PASSWORD_MAX - 1);
	}
	if (!sub->has_k && !pw)
		return fail(err, errlen,
		            "no credentials (give k with op or opc for AKA, "
		            "password for Digest MD5, or both)");
	return 0;
}

/* TS 33.102 6.3.2: AMF is 16 bits (default 8000, the separation bit), SQN 48 bits.
 * *set_sqn says whether the body gave an SQN. */
static int parse_amf_sqn(json_t *obj, struct hss_subscriber *sub, bool *set_sqn, char *err,
                         size_t errlen)
{
	uint8_t sqn[6];
	bool present;
	int ret;

	sub->amf[0] = 0x80;
	sub->amf[1] = 0x00;
	ret = parse_hex(obj, "amf", sub->amf, sizeof(sub->amf), &present, err, errlen);
	if (ret == 0)
		ret = parse_hex(obj, "sqn", sqn, sizeof(sqn), set_sqn, err, errlen);
	if (ret < 0)
		return ret;
	sub->sqn = 0;
	for (size_t i = 0; *set_sqn && i < sizeof(sqn); i++)
		sub->sqn = sub->sqn << 8 | sqn[i];
	return 0;
}

/* Reads a POST (path_impi NULL) or PUT body into *sub. Returns 0 or -EINVAL with a
 * message naming the field in err. */
static int subscriber_parse(json_t *body, const char *path_impi, struct hss_subscriber *sub,
                            bool *set_sqn, char *err, size_t errlen)
{
	int ret;

	memset(sub, 0, sizeof(*sub));
	*set_sqn = false;
	if (!json_is_object(body))
		return fail(err, errlen, "body: expected a JSON object, found %s",
		            body ? jcheck_json_name(body) : "nothing");
	ret = check_fields(body, subscriber_fields, N_FIELDS(subscriber_fields), "", err, errlen);
	if (ret == 0)
		ret = parse_impi(body, path_impi, sub, err, errlen);
	if (ret == 0)
		ret = parse_impus(body, sub, err, errlen);
	if (ret == 0)
		ret = parse_credentials(body, sub, err, errlen);
	if (ret == 0)
		ret = parse_amf_sqn(body, sub, set_sqn, err, errlen);
	if (ret < 0)
		return ret;
	sub->barred = json_is_true(json_object_get(body, "barred"));
	return 0;
}

/* --- output: struct hss_subscriber -> JSON ------------------------------------------ */

/* The record as answered: everything but K, OP/OPc and the password. Returns a new
 * object, or NULL when memory ran out. */
static json_t *subscriber_json(const struct hss_subscriber *sub)
{
	json_t *impus = json_array();
	char amf[CODEC_HEX_SIZE(2)];
	char sqn[16];

	for (size_t i = 0; impus && i < sub->n_impus; i++)
		if (json_array_append_new(impus, json_pack("{s:s, s:b}", "uri", sub->impus[i].uri,
		                                           "barred", sub->impus[i].barred)) < 0) {
			json_decref(impus);
			return NULL;
		}
	codec_hex_encode(sub->amf, sizeof(sub->amf), amf, sizeof(amf));
	snprintf(sqn, sizeof(sqn), "%012" PRIx64, sub->sqn);
	/* "o" steals impus, also when json_pack fails. */
	return json_pack("{s:s, s:o, s:b, s:s, s:s, s:{s:b, s:s?, s:b}, s:{s:s?, s:s}}", "impi",
	                 sub->impi, "impus", impus, "barred", sub->barred, "amf", amf, "sqn", sqn,
	                 "auth", "aka", sub->has_k, "op_kind",
	                 sub->has_k ? (sub->opc ? "opc" : "op") : NULL, "digest",
	                 sub->password[0] != '\0', "serving", "scscf",
	                 sub->scscf_name[0] ? sub->scscf_name : NULL, "state",
	                 hss_store_reg_state_name(sub->reg_state));
}

/* --- handlers ------------------------------------------------------------------------ */

/* Answers a store failure: ret is its negative errno, msg its reason (may be ""). */
static void answer_store_error(struct rest_response *resp, int ret, const char *impi,
                               const char *msg)
{
	switch (ret) {
	case -ENOENT:
		rest_error(resp, 404, "no subscriber %.*s", HSS_IMPI_MAX, impi);
		break;
	case -EEXIST:
		rest_error(resp, 409, "%s", msg[0] ? msg : "identity already provisioned");
		break;
	case -EINVAL:
		rest_error(resp, 400, "%s", msg[0] ? msg : "invalid subscriber");
		break;
	case -EBUSY:
		rest_error(resp, 503, "subscriber database busy, retry later");
		break;
	default:
		rest_error(resp, 500, "subscriber database error");
		break;
	}
}

/* Reads impi back from the store and answers it with status. */
static void answer_subscriber(struct hss *h, const char *impi, unsigned status,
                              struct rest_response *resp)
{
	struct hss_subscriber sub;
	int ret = hss_store_get(h->store, impi, &sub);

	if (ret < 0) {
		answer_store_error(resp, ret == -EINVAL ? -ENOENT : ret, impi, "");
		return;
	}
	rest_json(resp, status, subscriber_json(&sub));
}

static int count_registered_fn(const struct hss_subscriber *sub, void *arg)
{
	size_t *n = arg;

	if (sub->reg_state == HSS_REGISTERED)
		(*n)++;
	return 0;
}

/* Subscribers and registered subscribers. A listing costs one pass over the store,
 * which is fine at lab sizes and keeps the store's API small. */
static int count_subscribers(struct hss *h, size_t *total, size_t *registered)
{
	int ret = hss_store_count(h->store, total);

	*registered = 0;
	if (ret == 0)
		ret = hss_store_list(h->store, NULL, 0, count_registered_fn, registered);
	return ret;
}

static uint64_t uptime_ms(const struct hss *h)
{
	uint64_t now = loop_clock_ms();

	return now > h->started_ms ? now - h->started_ms : 0;
}

static void on_status(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct hss *h = app;
	size_t total = 0, registered = 0;
	/* A store failure still answers: /status is what operators look at then. */
	bool counted = count_subscribers(h, &total, &registered) == 0;

	rest_json(resp, 200,
	          json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:i, s:o, s:o, s:o}", "role",
	                    "hss", "name", h->node->fqdn, "domain", h->node->domain->name,
	                    "version", IMS_VERSION, "pid", (json_int_t)getpid(), "uptime",
	                    (json_int_t)(uptime_ms(h) / 1000), "ready", (int)atomic_load(&h->ready),
	                    "address", h->node->address, "diameter_port",
	                    (int)h->node->diameter_port, "subscribers",
	                    counted ? json_integer((json_int_t)total) : json_null(), "registered",
	                    counted ? json_integer((json_int_t)registered) : json_null(), "cx",
	                    hss_stats_json(&h->stats)));
}

static void on_metrics(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct hss *h = app;
	size_t total = 0, registered = 0;
	struct prom p = {0};

	hss_stats_prom(&h->stats, &p);
	/* Gauges of a failed count are left out rather than reported as zero. */
	if (count_subscribers(h, &total, &registered) == 0) {
		prom_gauge(&p, "hss_subscribers", "Subscribers provisioned", NULL, (double)total);
		prom_gauge(&p, "hss_registered_subscribers",
		           "Subscribers whose implicit registration set is registered", NULL,
		           (double)registered);
	}
	prom_gauge(&p, "hss_ready", "1 when the Diameter stack and the REST API are up", NULL,
	           atomic_load(&h->ready) ? 1 : 0);
	prom_gauge(&p, "hss_uptime_seconds", "Seconds since the HSS started", NULL,
	           (double)uptime_ms(h) / 1000.0);
	rest_text(resp, 200, prom_take(&p), PROM_CONTENT_TYPE);
}

/* One page of GET /subscribers being built. */
struct list_page {
	json_t *items;           /* owned by the handler; records so far */
	size_t limit;            /* most records wanted; 0: all */
	bool more;               /* a subscriber exists beyond the page */
	char last[HSS_IMPI_MAX]; /* IMPI of the last record in items */
};

static int list_fn(const struct hss_subscriber *sub, void *arg)
{
	struct list_page *pg = arg;

	/* The store was asked for one more than the page: its presence sets "next". */
	if (pg->limit && json_array_size(pg->items) == pg->limit) {
		pg->more = true;
		return 1;
	}
	if (json_array_append_new(pg->items, subscriber_json(sub)) < 0)
		return -ENOMEM;
	memcpy(pg->last, sub->impi, sizeof(pg->last));
	return 0;
}

static void on_list(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct hss *h = app;
	const char *after = rest_query(req, "after");
	struct list_page pg = {0};
	int ret;

	if (rest_query_limit(req, 0, LIST_LIMIT_MAX, &pg.limit) < 0) {
		rest_error(resp, 400, "limit: expected an integer 1-%d", LIST_LIMIT_MAX);
		return;
	}
	if (after && strlen(after) >= HSS_IMPI_MAX) {
		rest_error(resp, 400, "after: longer than %d bytes", HSS_IMPI_MAX - 1);
		return;
	}
	pg.items = json_array();
	if (!pg.items) {
		rest_error(resp, 500, "out of memory");
		return;
	}
	ret = hss_store_list(h->store, after, pg.limit ? pg.limit + 1 : 0, list_fn, &pg);
	if (ret < 0) {
		json_decref(pg.items);
		answer_store_error(resp, ret, "", "");
		return;
	}
	rest_json(
	    resp, 200,
	    json_pack("{s:o, s:s?}", "subscribers", pg.items, "next", pg.more ? pg.last : NULL));
}

static void on_create(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct hss *h = app;
	struct hss_subscriber sub;
	char err[ERR_MAX] = "";
	bool set_sqn;
	int ret;

	if (subscriber_parse(req->json, NULL, &sub, &set_sqn, err, sizeof(err)) < 0) {
		rest_error(resp, 400, "%s", err);
		return;
	}
	ret = hss_store_create(h->store, &sub, err, sizeof(err));
	if (ret < 0) {
		answer_store_error(resp, ret, sub.impi, err);
		return;
	}
	/* rest.h has no response headers: no Location; the body names the record. */
	answer_subscriber(h, sub.impi, 201, resp);
}

static void on_get(void *app, const struct rest_request *req, struct rest_response *resp)
{
	answer_subscriber(app, req->args[0], 200, resp);
}

static void on_replace(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct hss *h = app;
	const char *impi = req->args[0];
	struct hss_subscriber sub;
	char err[ERR_MAX] = "";
	bool set_sqn;
	int ret;

	/* Unknown first: a body checked against a record that does not exist helps nobody. */
	ret = hss_store_get(h->store, impi, &sub);
	if (ret < 0) {
		answer_store_error(resp, ret == -EINVAL ? -ENOENT : ret, impi, "");
		return;
	}
	if (subscriber_parse(req->json, impi, &sub, &set_sqn, err, sizeof(err)) < 0) {
		rest_error(resp, 400, "%s", err);
		return;
	}
	ret = hss_store_replace(h->store, &sub, set_sqn, err, sizeof(err));
	if (ret < 0) {
		answer_store_error(resp, ret, impi, err);
		return;
	}
	answer_subscriber(h, impi, 200, resp);
}

static void on_delete(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct hss *h = app;
	int ret = hss_store_delete(h->store, req->args[0]);

	if (ret < 0) {
		answer_store_error(resp, ret == -EINVAL ? -ENOENT : ret, req->args[0], "");
		return;
	}
	resp->status = 204;
}

static const struct rest_route hss_routes[] = {
    {"GET", "/status", on_status},
    {"GET", "/metrics", on_metrics},
    {"GET", "/subscribers", on_list},
    {"POST", "/subscribers", on_create},
    {"GET", "/subscribers/{}", on_get},
    {"PUT", "/subscribers/{}", on_replace},
    {"DELETE", "/subscribers/{}", on_delete},
};

/* --- lifetime ------------------------------------------------------------------------ */

int hss_rest_init(struct hss *h)
{
	h->rest = rest_new(h->loop, h->node->address, h->node->rest_port, hss_routes,
	                   N_FIELDS(hss_routes), h);
	/* rest_new logged why (address, port in use). */
	return h->rest ? 0 : -EIO;
}

void hss_rest_fini(struct hss *h)
{
	rest_free(h->rest);
	h->rest = NULL;
}
