/* REST server: libmicrohttpd with its own epoll fd (MHD_USE_EPOLL, no internal thread)
 * watched by our loop; MHD_run on readiness and on a timer re-armed from MHD_get_timeout.
 * A request moves through: URI seen -> headers -> body -> handler -> response. The raw
 * request target is taken from the URI log callback so path segments are decoded one by
 * one ("%2F" stays inside its segment). Responses are queued on a later access-handler
 * call, never the first: queueing on the first call makes MHD close the connection and
 * HTTP/1.1 keep-alive is lost (FIELD-NOTES). */
#include "rest.h"

#include "log.h"
#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define REST_MAX_URI      4096  /* longer request targets get 414 */
#define REST_MAX_SEGMENTS 16    /* deeper paths match no route: 404 */
#define REST_MAX_QUERY    32    /* more query parameters get 400 */
#define REST_CONN_LIMIT   256   /* concurrent connections per server */
#define REST_CONN_TIMEOUT 30    /* seconds an idle (keep-alive) connection stays open */
#define REST_MAX_WAIT_MS  60000 /* longest timer armed at once; MHD re-arms after */

static const char ctype_json[] = "application/json";
static const char ctype_text[] = "text/plain; charset=utf-8";

/* A deferred request as the application holds it. */
struct rest_pending {
	struct rest_call *call;    /* the suspended request that embeds this handle */
	rest_drop_cb drop;         /* called if the server goes away first, or NULL */
	void *arg;                 /* drop argument, owned by the application */
	struct rest_pending *prev; /* links in rest.pending */
	struct rest_pending *next; /* links in rest.pending */
};

enum call_state {
	CALL_HEADERS,   /* URI received; the access handler has not run yet */
	CALL_BODY,      /* headers processed; body chunks (if any) arriving */
	CALL_HANDLER,   /* inside the route handler */
	CALL_SUSPENDED, /* handler deferred; waiting for rest_pending_answer() */
	CALL_ANSWERED,  /* deferred answer stored; MHD will call the access handler again */
	CALL_DONE,      /* response queued */
};

/* One HTTP request, from the URI log callback to the completion callback. */
struct rest_call {
	struct rest *rs;                    /* server that received the request */
	struct MHD_Connection *mc;          /* MHD connection, valid until completion */
	enum call_state state;              /* progress, see enum call_state */
	const char *method;                 /* MHD's method string, valid for the request */
	char *uri;                          /* owned; raw target, '?' replaced by NUL */
	const char *query_raw;              /* raw query inside uri, or NULL */
	char *segs;                         /* owned; decoded path segments, NUL-separated */
	const char *seg[REST_MAX_SEGMENTS]; /* segments inside segs */
	size_t n_seg;                       /* entries in seg */
	const struct rest_route *route;     /* matched route, NULL until found */
	const char *args[REST_MAX_ARGS];    /* {} values inside segs */
	size_t n_args;                      /* entries in args */
	char *query;                        /* owned; decoded query keys and values */
	const char *qkey[REST_MAX_QUERY];   /* query keys inside query */
	const char *qval[REST_MAX_QUERY];   /* query values inside query ("" without '=') */
	size_t n_query;                     /* entries in qkey/qval */
	bool pretty;                        /* ?pretty: indent the JSON answer */
	char *body;                         /* owned; request body received so far */
	size_t body_len;                    /* bytes in body */
	size_t body_cap;                    /* allocated size of body */
	bool body_too_large;                /* body exceeded REST_MAX_BODY; rest discarded */
	char allow[64];                     /* Allow header value for a 405 */
	struct rest_response resp;          /* the answer being built */
	bool deferred;                      /* rest_defer() was called */
	struct rest_pending pend;           /* handle given out by rest_defer() */
};

struct rest {
	struct loop *lp;                 /* loop the server runs on */
	struct MHD_Daemon *mhd;          /* owned MHD daemon */
	int epfd;                        /* MHD's epoll fd, owned by MHD, watched by lp */
	uint16_t port;                   /* bound port */
	char name[32];                   /* "addr:port" for log lines */
	const struct rest_route *routes; /* route table, owned by the caller */
	size_t n_routes;                 /* entries in routes */
	void *app;                       /* handler argument, owned by the caller */
	uint64_t timer;                  /* loop timer that runs MHD, 0 if none */
	uint64_t timer_due;              /* when timer fires (loop_clock_ms) */
	struct rest_pending *pending;    /* deferred requests not yet answered */
};

/* --- responses ---------------------------------------------------------------------- */

json_t *rest_json_merge(json_t *a, json_t *b)
{
	if (a && b && json_object_update_new(a, b) == 0)
		return a;
	/* json_object_update_new released b whenever it ran. */
	if (!a || !b)
		json_decref(b);
	json_decref(a);
	return NULL;
}

int rest_query_limit(const struct rest_request *req, size_t dflt, size_t max, size_t *limit)
{
	const char *s = rest_query(req, "limit");
	unsigned long v;
	char *end;

	*limit = dflt;
	if (!s)
		return 0;
	/* strtoul alone would take " 5", "+5" and "-5". */
	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < 1 || v > max)
		return -EINVAL;
	*limit = v;
	return 0;
}

void rest_response_clear(struct rest_response *resp)
{
	json_decref(resp->json);
	free(resp->text);
	*resp = (struct rest_response){0};
}

void rest_json(struct rest_response *resp, unsigned status, json_t *json)
{
	rest_response_clear(resp);
	if (!json) {
		rest_error(resp, 500, "out of memory building the answer");
		return;
	}
	resp->status = status;
	resp->json = json;
}

void rest_error(struct rest_response *resp, unsigned status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	rest_response_clear(resp);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp->status = status;
	resp->json =
	    json_pack("{s:{s:i,s:s}}", "error", "code", (json_int_t)status, "message", msg);
	/* The message may quote peer input that is not UTF-8 (or was cut inside a character). */
	if (!resp->json)
		resp->json = json_pack("{s:{s:i,s:s}}", "error", "code", (json_int_t)status,
		                       "message", "(message not valid UTF-8)");
	/* Without memory for the JSON the status alone still goes out, with an empty body. */
}

void rest_text(struct rest_response *resp, unsigned status, char *text, const char *content_type)
{
	rest_response_clear(resp);
	if (!text) {
		rest_error(resp, 500, "out of memory building the answer");
		return;
	}
	resp->status = status;
	resp->text = text;
	resp->content_type = content_type;
}

/* The path for log lines (uri is NULL when the target was too long to keep). */
static const char *call_target(const struct rest_call *call)
{
	return call->uri ? call->uri : "(too long)";
}

/* Builds the MHD response for resp, taking its body; NULL when memory ran out. */
static struct MHD_Response *call_build(struct rest_call *call, const char **ctype)
{
	static char empty[1];
	struct rest_response *resp = &call->resp;
	struct MHD_Response *r;
	/* 15 significant digits: 0.1 prints as 0.1, not 0.10000000000000001 */
	size_t flags = (call->pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_REAL_PRECISION(15);
	size_t n;
	char *buf;

	if (resp->json) {
		n = json_dumpb(resp->json, NULL, 0, flags);
		buf = n ? malloc(n + 1) : NULL;
		if (!buf)
			return NULL;
		json_dumpb(resp->json, buf, n, flags);
		/* A trailing newline keeps curl output and shell prompts apart. */
		buf[n] = '\n';
		r = MHD_create_response_from_buffer(n + 1, buf, MHD_RESPMEM_MUST_FREE);
		if (!r)
			free(buf);
		*ctype = ctype_json;
		return r;
	}
	if (resp->text) {
		r = MHD_create_response_from_buffer(strlen(resp->text), resp->text,
		                                    MHD_RESPMEM_MUST_FREE);
		if (r)
			resp->text = NULL;
		*ctype = resp->content_type ? resp->content_type : ctype_text;
		return r;
	}
	*ctype = NULL;
	return MHD_create_response_from_buffer(0, empty, MHD_RESPMEM_PERSISTENT);
}

/* Queues call->resp on the connection. Only from the access handler, after its first
 * call for this request. */
static enum MHD_Result call_send(struct rest_call *call)
{
	struct rest_response *resp = &call->resp;
	unsigned status = resp->status;
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *ctype;

	if (!status)
		status = resp->json || resp->text ? 200 : 204;
	r = call_build(call, &ctype);
	if (!r) {
		log_err("rest %s: out of memory answering %s %s", call->rs->name, call->method,
		        call_target(call));
		return MHD_NO;
	}
	if (ctype)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED && call->allow[0])
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, call->allow);
	ret = MHD_queue_response(call->mc, status, r);
	MHD_destroy_response(r);
	call->state = CALL_DONE;
	if (status >= 500)
		log_warn("rest %s: %s %s -> %u", call->rs->name, call->method, call_target(call),
		         status);
	else
		log_debug("rest %s: %s %s -> %u", call->rs->name, call->method, call_target(call),
		          status);
	return ret;
}

/* --- request parsing ---------------------------------------------------------------- */

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 3986 2.1 percent-decoding in place; plus_space also maps '+' to ' ' as in
 * application/x-www-form-urlencoded queries. Returns 0, or -EINVAL for a malformed
 * escape or an encoded NUL. */
static int pct_decode(char *s, bool plus_space)
{
	char *out = s;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = hex_value(s[1]);
			int lo = hi < 0 ? -1 : hex_value(s[2]);

			if (lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			*out++ = (char)(hi << 4 | lo);
			s += 2;
		} else if (*s == '+' && plus_space) {
			*out++ = ' ';
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
	return 0;
}

/* Splits and decodes the path into call->seg. Returns 0, -EINVAL (bad escape) or
 * -ENOENT (cannot match any route). */
static int call_split_path(struct rest_call *call)
{
	char *p;

	if (call->uri[0] != '/')
		return -ENOENT;
	call->segs = strdup(call->uri + 1);
	if (!call->segs)
		return -ENOMEM;
	p = call->segs;
	for (;;) {
		char *slash = strchr(p, '/');

		if (call->n_seg == REST_MAX_SEGMENTS)
			return -ENOENT;
		if (slash)
			*slash = '\0';
		if (pct_decode(p, false) < 0)
			return -EINVAL;
		call->seg[call->n_seg++] = p;
		if (!slash)
			return 0;
		p = slash + 1;
	}
}

/* True when the decoded segments match pattern; fills call->args. */
static bool call_match(struct rest_call *call, const char *pattern)
{
	const char *p = pattern + 1;
	size_t i = 0;

	call->n_args = 0;
	for (;;) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (i == call->n_seg)
			return false;
		if (len == 2 && p[0] == '{' && p[1] == '}') {
			if (!call->seg[i][0])
				return false;
			call->args[call->n_args++] = call->seg[i];
		} else if (strlen(call->seg[i]) != len || memcmp(call->seg[i], p, len) != 0) {
			return false;
		}
		i++;
		if (!end)
			return i == call->n_seg;
		p = end + 1;
	}
}

static bool method_matches(const char *route_method, const char *method)
{
	if (strcmp(route_method, method) == 0)
		return true;
	/* HEAD is GET without the body (RFC 9110 9.3.2); MHD drops the body itself. */
	return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

static void allow_add(struct rest_call *call, const char *method)
{
	size_t len = strlen(call->allow);

	snprintf(call->allow + len, sizeof(call->allow) - len, "%s%s", len ? ", " : "", method);
}

/* Finds the route for the request, or sets call->resp to 400/404/405. */
static void call_route(struct rest_call *call)
{
	const struct rest *rs = call->rs;
	int err = call_split_path(call);

	if (err == -EINVAL) {
		rest_error(&call->resp, 400, "bad percent-encoding in path");
		return;
	}
	if (err == -ENOMEM) {
		rest_error(&call->resp, 500, "out of memory");
		return;
	}
	for (size_t i = 0; !err && i < rs->n_routes; i++) {
		bool seen = false;

		if (!call_match(call, rs->routes[i].pattern))
			continue;
		if (method_matches(rs->routes[i].method, call->method)) {
			call->route = &rs->routes[i];
			return;
		}
		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(rs->routes[j].method, rs->routes[i].method) == 0 &&
			       call_match(call, rs->routes[j].pattern);
		if (seen)
			continue;
		allow_add(call, rs->routes[i].method);
		if (strcmp(rs->routes[i].method, "GET") == 0)
			allow_add(call, "HEAD");
	}
	if (call->allow[0])
		rest_error(&call->resp, 405, "method %s not allowed on %s", call->method,
		           call->uri);
	else
		rest_error(&call->resp, 404, "no resource at %s", call->uri);
}

/* Splits and decodes the query string. Returns 0 or -EINVAL (sets call->resp). */
static int call_parse_query(struct rest_call *call)
{
	char *p;

	if (!call->query_raw)
		return 0;
	call->query = strdup(call->query_raw);
	if (!call->query) {
		rest_error(&call->resp, 500, "out of memory");
		return -ENOMEM;
	}
	for (p = call->query; p;) {
		char *amp = strchr(p, '&');
		char *eq;

		if (amp)
			*amp = '\0';
		eq = strchr(p, '=');
		if (eq)
			*eq = '\0';
		if (*p) {
			if (call->n_query == REST_MAX_QUERY) {
				rest_error(&call->resp, 400, "more than %d query parameters",
				           REST_MAX_QUERY);
				return -EINVAL;
			}
			if (pct_decode(p, true) < 0 || (eq && pct_decode(eq + 1, true) < 0)) {
				rest_error(&call->resp, 400, "bad percent-encoding in query");
				return -EINVAL;
			}
			call->qkey[call->n_query] = p;
			call->qval[call->n_query++] = eq ? eq + 1 : "";
		}
		p = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* Appends a body chunk, or drops it once the request is known to fail. */
static void call_append(struct rest_call *call, const char *data, size_t len)
{
	size_t need = call->body_len + len;

	if (call->resp.status || call->body_too_large)
		return;
	if (need > REST_MAX_BODY) {
		call->body_too_large = true;
		free(call->body);
		call->body = NULL;
		call->body_len = call->body_cap = 0;
		return;
	}
	if (need > call->body_cap) {
		size_t cap = call->body_cap ? call->body_cap : 4096;
		char *grown;

		while (cap < need)
			cap *= 2;
		if (cap > REST_MAX_BODY)
			cap = REST_MAX_BODY;
		grown = realloc(call->body, cap);
		if (!grown) {
			rest_error(&call->resp, 500, "out of memory");
			return;
		}
		call->body = grown;
		call->body_cap = cap;
	}
	memcpy(call->body + call->body_len, data, len);
	call->body_len = need;
}

/* --- request flow -------------------------------------------------------------------- */

/* Headers are complete: route the request and refuse a declared body that is too large
 * before it is sent (no 100 Continue goes out then). */
static enum MHD_Result call_on_headers(struct rest_call *call)
{
	const char *cl;
	unsigned long long len;
	char *end;

	call->state = CALL_BODY;
	call_route(call);
	cl = MHD_lookup_connection_value(call->mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!cl)
		return MHD_YES;
	errno = 0;
	len = strtoull(cl, &end, 10);
	if (errno || end == cl || len <= REST_MAX_BODY)
		return MHD_YES;
	/* Answering now means MHD closes the connection instead of reading the body. */
	rest_error(&call->resp, 413, "body larger than %d bytes", REST_MAX_BODY);
	return call_send(call);
}

/* The whole request is in: parse the body and query, then run the handler. */
static enum MHD_Result call_on_complete(struct rest_call *call)
{
	struct rest_request req = {.method = call->method, .path = call->uri, .call = call};
	json_error_t jerr;

	if (call->resp.status)
		return call_send(call);
	if (call->body_too_large) {
		rest_error(&call->resp, 413, "body larger than %d bytes", REST_MAX_BODY);
		return call_send(call);
	}
	if (call_parse_query(call) < 0)
		return call_send(call);
	call->pretty = rest_query(&req, "pretty") != NULL;
	if (call->body_len) {
		req.json = json_loadb(call->body, call->body_len, JSON_REJECT_DUPLICATES, &jerr);
		if (!req.json) {
			rest_error(&call->resp, 400, "invalid JSON body: %s (line %d, column %d)",
			           jerr.text, jerr.line, jerr.column);
			return call_send(call);
		}
	}
	memcpy(req.args, call->args, sizeof(req.args));
	req.n_args = call->n_args;
	call->state = CALL_HANDLER;
	call->route->handler(call->rs->app, &req, &call->resp);
	json_decref(req.json);
	if (!call->deferred || call->state == CALL_ANSWERED)
		return call_send(call);
	if (call->resp.status || call->resp.json || call->resp.text) {
		log_warn("rest %s: %s %s deferred but also answered; answer dropped",
		         call->rs->name, call->method, call->uri);
		rest_response_clear(&call->resp);
	}
	call->state = CALL_SUSPENDED;
	MHD_suspend_connection(call->mc);
	return MHD_YES;
}

static enum MHD_Result rest_on_access(void *cls, struct MHD_Connection *mc, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
	struct rest_call *call = *con_cls;

	/* NULL: the URI callback ran out of memory; closing is all that is left. */
	if (!call)
		return MHD_NO;
	switch (call->state) {
	case CALL_HEADERS:
		call->mc = mc;
		call->method = method;
		if (!call->uri) {
			call->state = CALL_BODY;
			rest_error(&call->resp, 414, "request target longer than %d bytes",
			           REST_MAX_URI);
			return MHD_YES;
		}
		return call_on_headers(call);
	case CALL_BODY:
		if (*upload_data_size) {
			call_append(call, upload_data, *upload_data_size);
			*upload_data_size = 0;
			return MHD_YES;
		}
		return call_on_complete(call);
	case CALL_ANSWERED:
		return call_send(call);
	case CALL_HANDLER:
	case CALL_SUSPENDED:
	case CALL_DONE:
		break;
	}
	return MHD_YES;
}

static void pending_unlink(struct rest *rs, struct rest_pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else if (rs->pending == p)
		rs->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
}

static void *rest_on_uri(void *cls, const char *uri, struct MHD_Connection *mc)
{
	struct rest_call *call = calloc(1, sizeof(*call));
	char *q;

	if (!call)
		return NULL;
	call->rs = cls;
	call->mc = mc;
	call->method = "?";
	if (strlen(uri) > REST_MAX_URI)
		return call;
	call->uri = strdup(uri);
	if (!call->uri) {
		free(call);
		return NULL;
	}
	q = strchr(call->uri, '?');
	if (q) {
		*q = '\0';
		call->query_raw = q + 1;
	}
	return call;
}

static void rest_on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                              enum MHD_RequestTerminationCode toe)
{
	struct rest_call *call = *con_cls;

	if (!call)
		return;
	if (call->pend.call)
		pending_unlink(call->rs, &call->pend);
	rest_response_clear(&call->resp);
	free(call->body);
	free(call->query);
	free(call->segs);
	free(call->uri);
	free(call);
	*con_cls = NULL;
}

/* --- query, headers, deferral -------------------------------------------------------- */

const char *rest_query(const struct rest_request *req, const char *key)
{
	const struct rest_call *call = req->call;

	for (size_t i = 0; i < call->n_query; i++)
		if (strcmp(call->qkey[i], key) == 0)
			return call->qval[i];
	return NULL;
}

const char *rest_header(const struct rest_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->call->mc, MHD_HEADER_KIND, name);
}

static void rest_arm(struct rest *rs, uint64_t ms);

struct rest_pending *rest_defer(const struct rest_request *req, rest_drop_cb drop, void *arg)
{
	struct rest_call *call = req->call;
	struct rest_pending *p = &call->pend;
	struct rest *rs = call->rs;

	if (call->state != CALL_HANDLER || call->deferred)
		return NULL;
	call->deferred = true;
	p->call = call;
	p->drop = drop;
	p->arg = arg;
	p->prev = NULL;
	p->next = rs->pending;
	if (rs->pending)
		rs->pending->prev = p;
	rs->pending = p;
	return p;
}

void rest_pending_answer(struct rest_pending **pp, struct rest_response *resp)
{
	struct rest_pending *p = *pp;
	struct rest_call *call;
	bool suspended;

	*pp = NULL;
	if (!p)
		return;
	call = p->call;
	pending_unlink(call->rs, p);
	p->call = NULL;
	rest_response_clear(&call->resp);
	call->resp = *resp;
	*resp = (struct rest_response){0};
	suspended = call->state == CALL_SUSPENDED;
	call->state = CALL_ANSWERED;
	/* Answered from inside its own handler: call_on_complete sends it on return. */
	if (!suspended)
		return;
	MHD_resume_connection(call->mc);
	/* MHD needs a run to pick up the resumed connection (MHD_resume_connection doc). */
	rest_arm(call->rs, 0);
}

/* --- running MHD inside the loop ----------------------------------------------------- */

static void rest_on_timer(struct loop *lp, void *arg);

/* Makes sure MHD runs within ms milliseconds; keeps an earlier timer. */
static void rest_arm(struct rest *rs, uint64_t ms)
{
	uint64_t due;

	if (ms > REST_MAX_WAIT_MS)
		ms = REST_MAX_WAIT_MS;
	due = loop_clock_ms() + ms;
	if (rs->timer && rs->timer_due <= due)
		return;
	loop_timer_cancel(rs->lp, rs->timer);
	rs->timer = loop_timer_add(rs->lp, ms, rest_on_timer, rs);
	rs->timer_due = due;
	if (!rs->timer)
		log_err("rest %s: out of memory arming the MHD timer", rs->name);
}

/* Runs MHD once, then arms the timer MHD asks for (keep-alive timeouts, resumed
 * connections, data MHD could not finish this time). */
static void rest_run(struct rest *rs)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(rs->mhd);
	if (MHD_get_timeout(rs->mhd, &ms) == MHD_YES)
		rest_arm(rs, ms);
}

static void rest_on_timer(struct loop *lp, void *arg)
{
	struct rest *rs = arg;

	rs->timer = 0;
	rest_run(rs);
}

static void rest_on_fd(struct loop *lp, int fd, uint32_t events, void *arg)
{
	rest_run(arg);
}

/* --- server lifetime ------------------------------------------------------------------ */

static void rest_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	const struct rest *rs = cls;
	char msg[512];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		msg[--len] = '\0';
	log_warn("rest %s: libmicrohttpd: %s", rs->name, msg);
}

/* Checks a route table once at start, so matching can trust it. */
static int rest_check_routes(const struct rest_route *routes, size_t n_routes)
{
	for (size_t i = 0; i < n_routes; i++) {
		const char *p = routes[i].pattern;
		size_t n_seg = 1, n_args = 0;

		if (!routes[i].method || !routes[i].handler || !p || p[0] != '/')
			goto bad;
		for (const char *s = p + 1; *s; s++) {
			if (*s == '/')
				n_seg++;
			else if (*s == '{' && s[1] == '}' && s[-1] == '/' &&
			         (s[2] == '/' || s[2] == '\0')) {
				n_args++;
				s++;
			} else if (*s == '{' || *s == '}' || *s == '?' || *s == '%')
				goto bad;
		}
		if (n_seg > REST_MAX_SEGMENTS || n_args > REST_MAX_ARGS)
			goto bad;
		continue;
	bad:
		log_err("rest: bad route %zu (%s %s)", i, routes[i].method ? routes[i].method : "?",
		        p ? p : "?");
		return -EINVAL;
	}
	return 0;
}

/* MHD does not say why it could not start. Retrying the bind ourselves tells the usual
 * cause (address in use, address not local) with its errno. */
static int rest_probe_bind(const struct sockaddr_in *sin)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	int err = 0;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sin, sizeof(*sin)) < 0)
		err = -errno;
	close(fd);
	return err;
}

struct rest *rest_new(struct loop *lp, const char *addr, uint16_t port,
                      const struct rest_route *routes, size_t n_routes, void *app)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	const union MHD_DaemonInfo *info;
	struct rest *rs;
	int err;

	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		log_err("rest: bad IPv4 address '%s'", addr);
		return NULL;
	}
	if (rest_check_routes(routes, n_routes) < 0)
		return NULL;
	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		log_err("rest %s:%u: out of memory", addr, port);
		return NULL;
	}
	rs->lp = lp;
	rs->routes = routes;
	rs->n_routes = n_routes;
	rs->app = app;
	snprintf(rs->name, sizeof(rs->name), "%s:%u", addr, port);
	rs->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, port, NULL, NULL,
	    rest_on_access, rs,
	    /* First, or MHD prints the messages about the other options itself. */
	    MHD_OPTION_EXTERNAL_LOGGER, rest_on_mhd_log, rs, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&sin, MHD_OPTION_CONNECTION_LIMIT, (unsigned)REST_CONN_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)REST_CONN_TIMEOUT, MHD_OPTION_URI_LOG_CALLBACK,
	    rest_on_uri, rs, MHD_OPTION_NOTIFY_COMPLETED, rest_on_completed, rs, MHD_OPTION_END);
	if (!rs->mhd) {
		err = rest_probe_bind(&sin);
		log_err("rest: cannot listen on %s:%u: %s", addr, port,
		        err ? strerror(-err) : "libmicrohttpd failed to start");
		goto out_free;
	}
	info = MHD_get_daemon_info(rs->mhd, MHD_DAEMON_INFO_BIND_PORT);
	rs->port = info ? info->port : port;
	info = MHD_get_daemon_info(rs->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		log_err("rest %s: libmicrohttpd has no epoll fd", rs->name);
		goto out_stop;
	}
	rs->epfd = info->epoll_fd;
	snprintf(rs->name, sizeof(rs->name), "%s:%u", addr, rs->port);
	err = loop_fd_add(lp, rs->epfd, EPOLLIN, rest_on_fd, rs);
	if (err < 0) {
		log_err("rest %s: cannot watch the MHD epoll fd: %s", rs->name, strerror(-err));
		goto out_stop;
	}
	log_info("rest %s: listening", rs->name);
	return rs;
out_stop:
	MHD_stop_daemon(rs->mhd);
out_free:
	free(rs);
	return NULL;
}

void rest_free(struct rest *rs)
{
	bool resumed = false;

	if (!rs)
		return;
	/* MHD must not be stopped with suspended connections: answer them first. */
	while (rs->pending) {
		struct rest_pending *p = rs->pending;
		struct rest_call *call = p->call;

		pending_unlink(rs, p);
		p->call = NULL;
		if (p->drop)
			p->drop(p->arg);
		rest_error(&call->resp, 503, "server shutting down");
		call->state = CALL_ANSWERED;
		MHD_resume_connection(call->mc);
		resumed = true;
	}
	if (resumed)
		MHD_run(rs->mhd);
	loop_fd_del(rs->lp, rs->epfd);
	loop_timer_cancel(rs->lp, rs->timer);
	MHD_stop_daemon(rs->mhd);
	free(rs);
}

uint16_t rest_port(const struct rest *rs)
{
	return rs->port;
}
