/* REST helper every daemon uses: libmicrohttpd in external-select (epoll) mode inside the
 * event loop, a route table with {} path arguments, JSON bodies in and out (Jansson),
 * errors as {"error": {"code": ..., "message": ...}} (ARCHITECTURE.md, REST conventions).
 * Everything here runs on the loop thread; handlers need no locks. */
#ifndef IMS_REST_H
#define IMS_REST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct rest;
struct rest_call;
struct rest_pending;

/* Most {} segments a pattern may have. */
#define REST_MAX_ARGS 4
/* Largest request body accepted; larger ones get 413. */
#define REST_MAX_BODY (1024 * 1024)

/* One request as a handler sees it. Every pointer is borrowed and valid only during the
 * handler call (json_incref() the body to keep it). */
struct rest_request {
	const char *method;              /* "GET", "POST", ... ("HEAD" runs the GET route) */
	const char *path;                /* raw path as received, without the query */
	const char *args[REST_MAX_ARGS]; /* URL-decoded {} segments, in pattern order */
	size_t n_args;                   /* number of {} segments of the route */
	json_t *json;                    /* parsed body (object or array), NULL without body */
	struct rest_call *call;          /* private to rest.c: query, headers, deferral */
};

/* What a handler answers. Start state is all zero; fill it with rest_json(), rest_error()
 * or rest_text(). Status 0 means 200 with a body, 204 without. */
struct rest_response {
	unsigned status;          /* HTTP status code */
	json_t *json;             /* owned; sent compact (plus newline) as application/json */
	char *text;               /* owned malloc'd body, sent when json is NULL */
	const char *content_type; /* static string for text; NULL means text/plain */
};

/* Handler of one route, called once on the loop thread with the full request. app is the
 * pointer given to rest_new(). */
typedef void (*rest_handler)(void *app, const struct rest_request *req, struct rest_response *resp);

/* One row of the route table. pattern is an absolute path whose segments are literals or
 * "{}", which matches one non-empty segment (e.g. "/subscribers/{}"). Unknown path ->
 * 404, known path with another method -> 405 with Allow. Any non-empty request body must
 * be a JSON object or array (400 with Jansson's line/column otherwise), at most
 * REST_MAX_BODY bytes (413). ?pretty in the query indents the JSON answer. */
struct rest_route {
	const char *method;   /* "GET", "POST", "PUT", "PATCH", "DELETE" */
	const char *pattern;  /* path pattern, see above */
	rest_handler handler; /* called for matching requests */
};

/* Starts an HTTP server on addr:port (IPv4 dotted quad; port 0 picks a free one) served
 * from the loop lp. routes must outlive the server (a static table). Returns the server
 * (free with rest_free) or NULL after logging why (bad route, cannot bind addr:port). */
struct rest *rest_new(struct loop *lp, const char *addr, uint16_t port,
                      const struct rest_route *routes, size_t n_routes, void *app);
/* Stops the server and closes every connection; deferred requests not yet answered get
 * 503 and their drop callbacks run. Call on the loop thread, not from a handler. NULL ok. */
void rest_free(struct rest *rs);
/* The port the server listens on (the chosen one when 0 was asked). */
uint16_t rest_port(const struct rest *rs);

/* Sets resp to status with json as body (reference stolen; NULL answers 500). */
void rest_json(struct rest_response *resp, unsigned status, json_t *json);
/* Sets resp to status with {"error": {"code": status, "message": <fmt...>}}. */
void rest_error(struct rest_response *resp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sets resp to status with the malloc'd text as body (stolen; NULL answers 500), sent with
 * content_type (a static string, NULL for text/plain). */
void rest_text(struct rest_response *resp, unsigned status, char *text, const char *content_type);
/* Object a with the members of object b added (b's win on equal keys), for building
 * an answer from parts. Both references are taken; NULL when either is NULL or not an
 * object (both released). */
json_t *rest_json_merge(json_t *a, json_t *b);
/* ?limit=N of the request into *limit: dflt when absent, else N in 1..max. 0, or
 * -EINVAL (not a decimal number in range; *limit is dflt). */
int rest_query_limit(const struct rest_request *req, size_t dflt, size_t max, size_t *limit);
/* Releases whatever resp holds and zeroes it. */
void rest_response_clear(struct rest_response *resp);

/* Query parameter key of the request, URL-decoded ('+' is a space); "" when present
 * without '=', NULL when absent. Valid during the handler call. */
const char *rest_query(const struct rest_request *req, const char *key);
/* Request header name (case-insensitive) or NULL. Valid during the handler call. */
const char *rest_header(const struct rest_request *req, const char *name);

/* Called when the server drops a deferred request before it was answered (rest_free). */
typedef void (*rest_drop_cb)(void *arg);
/* From inside a handler: answer later. The handler leaves resp empty; the connection is
 * suspended (no timeout runs, a client that goes away is noticed only after the answer)
 * until rest_pending_answer(). drop(arg) runs if the server is freed first; the handle is
 * invalid after that and must not be answered. Returns the handle (owned by the server),
 * or NULL when called outside a handler or twice for one request. */
struct rest_pending *rest_defer(const struct rest_request *req, rest_drop_cb drop, void *arg);
/* Answers a deferred request with resp (its contents are stolen and resp is cleared) and
 * clears *pp. Loop thread only. */
void rest_pending_answer(struct rest_pending **pp, struct rest_response *resp);

#endif
