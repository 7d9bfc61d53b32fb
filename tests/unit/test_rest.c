/* REST helper and Prometheus writer tests. A real server runs on 127.0.0.1 (port 0) with
 * its loop on a second thread; a small blocking HTTP/1.1 client in this file talks to it
 * over TCP, so keep-alive, 100-continue-free uploads and chunked bodies are exercised as
 * MHD really sees them. The Prometheus tests compare exact text. */
#include "unit.h"

#include "loop.h"
#include "prom.h"
#include "rest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* --- the application behind the test server ------------------------------------------ */

struct app {
	struct loop *lp;           /* loop the server runs on */
	struct rest_pending *slow; /* /slow request waiting for its timer */
	struct rest_pending *hang; /* /hang request never answered by the app */
	atomic_int hang_called;    /* /hang handler ran */
	atomic_int dropped;        /* drop callback of /hang ran */
};

static void on_hello(void *app, const struct rest_request *req, struct rest_response *resp)
{
	rest_json(resp, 200, json_pack("{s:s}", "hello", "world"));
}

static void on_sub_get(void *app, const struct rest_request *req, struct rest_response *resp)
{
	rest_json(resp, 200,
	          json_pack("{s:s,s:I}", "id", req->args[0], "n", (json_int_t)req->n_args));
}

static void on_sub_post(void *app, const struct rest_request *req, struct rest_response *resp)
{
	if (!req->json) {
		rest_error(resp, 400, "body required");
		return;
	}
	rest_json(resp, 201, json_pack("{s:O}", "got", req->json));
}

static void on_sub_delete(void *app, const struct rest_request *req, struct rest_response *resp)
{
	resp->status = 204;
}

static void on_two(void *app, const struct rest_request *req, struct rest_response *resp)
{
	rest_json(resp, 200, json_pack("{s:s,s:s}", "x", req->args[0], "y", req->args[1]));
}

static void on_query(void *app, const struct rest_request *req, struct rest_response *resp)
{
	const char *name = rest_query(req, "name");
	const char *ua = rest_header(req, "x-test");

	rest_json(resp, 200,
	          json_pack("{s:s?,s:b,s:b,s:s?}", "name", name, "flag",
	                    rest_query(req, "flag") != NULL, "missing",
	                    rest_query(req, "missing") != NULL, "hdr", ua));
}

static void on_metrics(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct prom p = {0};

	prom_counter(&p, "ims_requests_total", "Requests.", "code=\"200\"", 7);
	prom_gauge(&p, "ims_up", "Up.", NULL, 1);
	rest_text(resp, 200, prom_take(&p), PROM_CONTENT_TYPE);
}

static void on_slow_timer(struct loop *lp, void *arg)
{
	struct app *a = arg;
	struct rest_response resp = {0};

	rest_json(&resp, 200, json_pack("{s:b}", "slow", 1));
	rest_pending_answer(&a->slow, &resp);
}

static void on_slow(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct app *a = app;

	a->slow = rest_defer(req, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL(a->slow);
	CU_ASSERT(loop_timer_add(a->lp, 20, on_slow_timer, a) != 0);
	/* A second deferral of the same request is refused. */
	CU_ASSERT_PTR_NULL(rest_defer(req, NULL, NULL));
}

static void on_now(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct rest_pending *p = rest_defer(req, NULL, NULL);
	struct rest_response r = {0};

	/* Deferred and answered before the handler returns. */
	rest_json(&r, 202, json_pack("{s:b}", "now", 1));
	rest_pending_answer(&p, &r);
	CU_ASSERT_PTR_NULL(p);
}

static void on_hang_drop(void *arg)
{
	struct app *a = arg;

	a->hang = NULL;
	atomic_store(&a->dropped, 1);
}

static void on_hang(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct app *a = app;

	a->hang = rest_defer(req, on_hang_drop, a);
	atomic_store(&a->hang_called, 1);
}

static void on_root(void *app, const struct rest_request *req, struct rest_response *resp)
{
	rest_text(resp, 200, strdup("root\n"), NULL);
}

static const struct rest_route routes[] = {
    {"GET", "/hello", on_hello},
    {"GET", "/subscribers/{}", on_sub_get},
    {"DELETE", "/subscribers/{}", on_sub_delete},
    {"POST", "/subscribers", on_sub_post},
    {"GET", "/a/{}/b/{}", on_two},
    {"GET", "/query", on_query},
    {"GET", "/metrics", on_metrics},
    {"GET", "/slow", on_slow},
    {"GET", "/now", on_now},
    {"GET", "/hang", on_hang},
    {"GET", "/", on_root},
};

/* --- server on its own loop thread ---------------------------------------------------- */

struct server {
	struct loop *lp;  /* loop run by thread */
	struct rest *rs;  /* server under test */
	struct app app;   /* handler state, touched on the loop thread */
	pthread_t thread; /* runs loop_run */
	uint16_t port;    /* bound port */
};

static void *server_main(void *arg)
{
	struct server *srv = arg;

	loop_run(srv->lp);
	return NULL;
}

static int server_start(struct server *srv)
{
	memset(srv, 0, sizeof(*srv));
	srv->lp = loop_new();
	if (!srv->lp)
		return -1;
	srv->app.lp = srv->lp;
	srv->rs = rest_new(srv->lp, "127.0.0.1", 0, routes, sizeof(routes) / sizeof(routes[0]),
	                   &srv->app);
	if (!srv->rs) {
		loop_free(srv->lp);
		return -1;
	}
	srv->port = rest_port(srv->rs);
	if (pthread_create(&srv->thread, NULL, server_main, srv) != 0) {
		rest_free(srv->rs);
		loop_free(srv->lp);
		return -1;
	}
	return 0;
}

static void on_stop(struct loop *lp, void *arg)
{
	struct server *srv = arg;

	rest_free(srv->rs);
	srv->rs = NULL;
	loop_stop(lp);
}

static void server_stop(struct server *srv)
{
	loop_post(srv->lp, on_stop, srv);
	pthread_join(srv->thread, NULL);
	loop_free(srv->lp);
}

/* --- a tiny blocking HTTP/1.1 client -------------------------------------------------- */

struct http_resp {
	int status;      /* status code, 0 when no response came */
	char head[8192]; /* status line and headers, NUL-terminated */
	char *body;      /* malloc'd body, NUL-terminated */
	size_t body_len; /* bytes in body */
};

/* Copies header name's value (first occurrence) into out; returns 0 or -1. */
static int http_header(const struct http_resp *r, const char *name, char *out, size_t size)
{
	size_t nlen = strlen(name);
	const char *line = strstr(r->head, "\r\n");

	while (line && line[2]) {
		const char *end;

		line += 2;
		end = strstr(line, "\r\n");
		if (!end)
			break;
		if ((size_t)(end - line) > nlen && line[nlen] == ':' &&
		    strncasecmp(line, name, nlen) == 0) {
			const char *v = line + nlen + 1;

			while (*v == ' ')
				v++;
			snprintf(out, size, "%.*s", (int)(end - v), v);
			return 0;
		}
		line = end;
	}
	return -1;
}

/* Reads one response; a HEAD answer has no body whatever Content-Length says. */
static int http_read(int fd, struct http_resp *r, int head_only)
{
	size_t hlen = 0, want = 0;
	char cl[32];
	char *end = NULL;
	int until_eof = 0;

	memset(r, 0, sizeof(*r));
	while (!end) {
		ssize_t n;

		if (hlen + 1 >= sizeof(r->head))
			return -1;
		/* Byte by byte so nothing of the body (or a next response) is consumed here. */
		n = recv(fd, r->head + hlen, 1, 0);
		if (n <= 0)
			return -1;
		hlen += (size_t)n;
		r->head[hlen] = '\0';
		end = strstr(r->head, "\r\n\r\n");
	}
	if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	if (http_header(r, "Content-Length", cl, sizeof(cl)) == 0)
		want = strtoul(cl, NULL, 10);
	else if (r->status != 204 && r->status != 304)
		until_eof = 1;
	if (head_only) {
		want = 0;
		until_eof = 0;
	}
	r->body = calloc(1, want + 1);
	if (!r->body)
		return -1;
	while (r->body_len < want || until_eof) {
		char tmp[4096];
		ssize_t n;

		if (until_eof) {
			n = recv(fd, tmp, sizeof(tmp), 0);
			if (n <= 0)
				break;
			char *grown = realloc(r->body, r->body_len + (size_t)n + 1);

			if (!grown)
				return -1;
			r->body = grown;
			memcpy(r->body + r->body_len, tmp, (size_t)n);
			r->body_len += (size_t)n;
			r->body[r->body_len] = '\0';
			continue;
		}
		n = recv(fd, r->body + r->body_len, want - r->body_len, 0);
		if (n <= 0)
			return -1;
		r->body_len += (size_t)n;
	}
	return 0;
}

static void http_resp_free(struct http_resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* One request on a fresh connection. extra: more header lines ending in \r\n, or NULL. */
static int http_do(uint16_t port, const char *method, const char *target, const char *extra,
                   const char *body, struct http_resp *r)
{
	char req[4096];
	int fd = unit_connect(port, 5);
	int ret;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	if (body)
		snprintf(req, sizeof(req),
		         "%s %s HTTP/1.1\r\nHost: t\r\n%sContent-Type: application/json\r\n"
		         "Content-Length: %zu\r\n\r\n",
		         method, target, extra ? extra : "", strlen(body));
	else
		snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\n%s\r\n", method, target,
		         extra ? extra : "");
	ret = unit_send_all(fd, req, strlen(req));
	if (ret == 0 && body)
		ret = unit_send_all(fd, body, strlen(body));
	if (ret == 0)
		ret = http_read(fd, r, strcmp(method, "HEAD") == 0);
	close(fd);
	return ret;
}

/* The "message" of a JSON error body, or "" */
static const char *error_message(const struct http_resp *r, char *out, size_t size)
{
	json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
	const char *msg = NULL;
	json_int_t code = 0;

	out[0] = '\0';
	if (j && json_unpack(j, "{s:{s:I,s:s}}", "error", "code", &code, "message", &msg) == 0 &&
	    code == r->status)
		snprintf(out, size, "%s", msg);
	json_decref(j);
	return out;
}

/* GET of a path of len 'a's on a fresh connection. */
static int http_long_target(uint16_t port, size_t len, struct http_resp *r)
{
	static const char tail[] = " HTTP/1.1\r\nHost: t\r\n\r\n";
	char *req = malloc(len + sizeof(tail) + 5);
	int fd = unit_connect(port, 5);
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (req && fd >= 0) {
		memcpy(req, "GET /", 5);
		memset(req + 5, 'a', len);
		memcpy(req + 5 + len, tail, sizeof(tail));
		ret = unit_send_all(fd, req, strlen(req));
		if (ret == 0)
			ret = http_read(fd, r, 0);
	}
	if (fd >= 0)
		close(fd);
	free(req);
	return ret;
}

/* --- tests ---------------------------------------------------------------------------- */

static void test_get_json(void)
{
	struct server srv;
	struct http_resp r;
	char v[128];

	CU_ASSERT_FATAL(server_start(&srv) == 0);
	CU_ASSERT(srv.port != 0);
	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/hello", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"hello\":\"world\"}\n");
	CU_ASSERT(http_header(&r, "Content-Type", v, sizeof(v)) == 0 &&
	          strcmp(v, "application/json") == 0);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/hello?pretty", NULL, NULL, &r) == 0);
	CU_ASSERT_STRING_EQUAL(r.body, "{\n  \"hello\": \"world\"\n}\n");
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "HEAD", "/hello", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_EQUAL(r.body_len, 0);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "root\n");
	CU_ASSERT(http_header(&r, "Content-Type", v, sizeof(v)) == 0 &&
	          strcmp(v, "text/plain; charset=utf-8") == 0);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "DELETE", "/subscribers/x", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 204);
	CU_ASSERT_EQUAL(r.body_len, 0);
	http_resp_free(&r);
	server_stop(&srv);
}

static void test_args(void)
{
	struct server srv;
	struct http_resp r;
	char m[256];

	CU_ASSERT_FATAL(server_start(&srv) == 0);
	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/subscribers/sip%3Aalice%40ims.alpha.test", NULL,
	                        NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"id\":\"sip:alice@ims.alpha.test\",\"n\":1}\n");
	http_resp_free(&r);

	/* '+' is literal in a path; "%2F" stays inside its segment. */
	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/a/tel:+1%2F2/b/z%20z", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"x\":\"tel:+1/2\",\"y\":\"z z\"}\n");
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/subscribers/", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/subscribers/a/b", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/subscribers/%zz", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	CU_ASSERT(strstr(error_message(&r, m, sizeof(m)), "percent") != NULL);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/subscribers/a%00b", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/query?name=a%20b+c&flag&=x&&", "X-Test: yes\r\n",
	                        NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(
	    r.body, "{\"name\":\"a b c\",\"flag\":true,\"missing\":false,\"hdr\":\"yes\"}\n");
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/query?name=%G1", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	http_resp_free(&r);
	server_stop(&srv);
}

static void test_errors(void)
{
	struct server srv;
	struct http_resp r;
	char v[128], m[256];

	CU_ASSERT_FATAL(server_start(&srv) == 0);
	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/nope", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	CU_ASSERT_STRING_EQUAL(error_message(&r, m, sizeof(m)), "no resource at /nope");
	CU_ASSERT(http_header(&r, "Content-Type", v, sizeof(v)) == 0 &&
	          strcmp(v, "application/json") == 0);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "PUT", "/hello", NULL, "{}", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT(http_header(&r, "Allow", v, sizeof(v)) == 0 && strcmp(v, "GET, HEAD") == 0);
	CU_ASSERT(strstr(error_message(&r, m, sizeof(m)), "PUT") != NULL);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "PATCH", "/subscribers/x", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT(http_header(&r, "Allow", v, sizeof(v)) == 0 &&
	          strcmp(v, "GET, HEAD, DELETE") == 0);
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/subscribers", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 405);
	CU_ASSERT(http_header(&r, "Allow", v, sizeof(v)) == 0 && strcmp(v, "POST") == 0);
	http_resp_free(&r);

	CU_ASSERT_FATAL(
	    http_do(srv.port, "POST", "/subscribers", NULL, "{\"a\": 1,\n \"b\": }", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	error_message(&r, m, sizeof(m));
	CU_ASSERT(strstr(m, "invalid JSON") != NULL);
	CU_ASSERT(strstr(m, "line 2") != NULL);
	CU_ASSERT(strstr(m, "column") != NULL);
	http_resp_free(&r);

	/* A bare scalar is not an object or array. */
	CU_ASSERT_FATAL(http_do(srv.port, "POST", "/subscribers", NULL, "42", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	http_resp_free(&r);

	/* A request target too long to keep. */
	CU_ASSERT_FATAL(http_long_target(srv.port, 5000, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 414);
	http_resp_free(&r);

	/* A bad body on an unknown path is still a 404. */
	CU_ASSERT_FATAL(http_do(srv.port, "POST", "/nope", NULL, "{{{", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	http_resp_free(&r);
	server_stop(&srv);
}

static void test_post_body(void)
{
	struct server srv;
	struct http_resp r;

	CU_ASSERT_FATAL(server_start(&srv) == 0);
	CU_ASSERT_FATAL(http_do(srv.port, "POST", "/subscribers", NULL,
	                        "{\"impi\": \"alice@ims.alpha.test\", \"sqn\": 32}", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_STRING_EQUAL(r.body,
	                       "{\"got\":{\"impi\":\"alice@ims.alpha.test\",\"sqn\":32}}\n");
	http_resp_free(&r);

	/* Empty body: the handler sees json == NULL. */
	CU_ASSERT_FATAL(http_do(srv.port, "POST", "/subscribers", NULL, "", &r) == 0);
	CU_ASSERT_EQUAL(r.status, 400);
	http_resp_free(&r);
	server_stop(&srv);
}

/* A JSON array of exactly len bytes: ["xxx...x"]. */
static char *json_of_size(size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	memset(s, 'x', len);
	memcpy(s, "[\"", 2);
	memcpy(s + len - 2, "\"]", 2);
	s[len] = '\0';
	return s;
}

static void test_body_limit(void)
{
	struct server srv;
	struct http_resp r;
	char head[256], chunk[64];
	char *big = json_of_size(REST_MAX_BODY);
	char *over = json_of_size(REST_MAX_BODY + 1);
	int fd;

	CU_ASSERT_FATAL(big && over);
	CU_ASSERT_FATAL(server_start(&srv) == 0);

	/* Declared too large: refused from the headers alone. */
	fd = unit_connect(srv.port, 5);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(head, sizeof(head),
	         "POST /subscribers HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n",
	         2 * REST_MAX_BODY);
	CU_ASSERT(unit_send_all(fd, head, strlen(head)) == 0);
	CU_ASSERT(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 413);
	http_resp_free(&r);
	close(fd);

	/* Exactly the limit is accepted. */
	CU_ASSERT_FATAL(http_do(srv.port, "POST", "/subscribers", NULL, big, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_EQUAL(r.body_len, strlen("{\"got\":}\n") + REST_MAX_BODY);
	http_resp_free(&r);

	/* One byte over, sent chunked (no length up front): read, dropped, 413. */
	fd = unit_connect(srv.port, 5);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(head, sizeof(head),
	         "POST /subscribers HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
	CU_ASSERT(unit_send_all(fd, head, strlen(head)) == 0);
	snprintf(chunk, sizeof(chunk), "%zx\r\n", strlen(over));
	CU_ASSERT(unit_send_all(fd, chunk, strlen(chunk)) == 0);
	CU_ASSERT(unit_send_all(fd, over, strlen(over)) == 0);
	CU_ASSERT(unit_send_all(fd, "\r\n0\r\n\r\n", 7) == 0);
	CU_ASSERT(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 413);
	http_resp_free(&r);
	/* The body was consumed, so the connection is still usable. */
	snprintf(head, sizeof(head), "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
	CU_ASSERT(unit_send_all(fd, head, strlen(head)) == 0);
	CU_ASSERT(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	http_resp_free(&r);
	close(fd);

	server_stop(&srv);
	free(big);
	free(over);
}

static void test_keepalive(void)
{
	static const char get[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
	static const char post[] = "POST /subscribers HTTP/1.1\r\nHost: t\r\n"
	                           "Content-Length: 8\r\n\r\n{\"a\":1}\n";
	struct server srv;
	struct http_resp r;
	char v[64];
	int fd;

	CU_ASSERT_FATAL(server_start(&srv) == 0);
	fd = unit_connect(srv.port, 5);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(unit_send_all(fd, get, strlen(get)) == 0);
	CU_ASSERT_FATAL(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(http_header(&r, "Connection", v, sizeof(v)) != 0 || strcasecmp(v, "close") != 0);
	http_resp_free(&r);

	CU_ASSERT(unit_send_all(fd, post, strlen(post)) == 0);
	CU_ASSERT_FATAL(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"got\":{\"a\":1}}\n");
	http_resp_free(&r);

	/* Errors keep the connection too. */
	CU_ASSERT(unit_send_all(fd, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n", 31) == 0);
	CU_ASSERT_FATAL(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 404);
	http_resp_free(&r);

	CU_ASSERT(unit_send_all(fd, get, strlen(get)) == 0);
	CU_ASSERT_FATAL(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	http_resp_free(&r);

	/* Pipelined: the second request is already buffered when the first is answered, so
	 * only MHD's timeout (not socket readiness) gets it processed. */
	CU_ASSERT(unit_send_all(fd, post, strlen(post)) == 0 &&
	          unit_send_all(fd, get, strlen(get)) == 0);
	CU_ASSERT_FATAL(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 201);
	http_resp_free(&r);
	CU_ASSERT_FATAL(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	http_resp_free(&r);
	close(fd);
	server_stop(&srv);
}

static void test_metrics(void)
{
	struct server srv;
	struct http_resp r;
	char v[128];

	CU_ASSERT_FATAL(server_start(&srv) == 0);
	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/metrics", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT(http_header(&r, "Content-Type", v, sizeof(v)) == 0 &&
	          strcmp(v, PROM_CONTENT_TYPE) == 0);
	CU_ASSERT_STRING_EQUAL(r.body, "# HELP ims_requests_total Requests.\n"
	                               "# TYPE ims_requests_total counter\n"
	                               "ims_requests_total{code=\"200\"} 7\n"
	                               "# HELP ims_up Up.\n"
	                               "# TYPE ims_up gauge\n"
	                               "ims_up 1\n");
	http_resp_free(&r);
	server_stop(&srv);
}

static void test_defer(void)
{
	static const char hang[] = "GET /hang HTTP/1.1\r\nHost: t\r\n\r\n";
	struct server srv;
	struct http_resp r;
	int fd;

	CU_ASSERT_FATAL(server_start(&srv) == 0);
	/* Answered later from a loop timer, and by then the connection is resumed. */
	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/slow", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 200);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"slow\":true}\n");
	http_resp_free(&r);

	CU_ASSERT_FATAL(http_do(srv.port, "GET", "/now", NULL, NULL, &r) == 0);
	CU_ASSERT_EQUAL(r.status, 202);
	CU_ASSERT_STRING_EQUAL(r.body, "{\"now\":true}\n");
	http_resp_free(&r);

	/* Never answered: freeing the server drops it and the client gets 503. */
	fd = unit_connect(srv.port, 5);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(unit_send_all(fd, hang, strlen(hang)) == 0);
	for (int i = 0; i < 500 && !atomic_load(&srv.app.hang_called); i++)
		usleep(2000);
	CU_ASSERT(atomic_load(&srv.app.hang_called));
	server_stop(&srv);
	CU_ASSERT(atomic_load(&srv.app.dropped));
	CU_ASSERT_PTR_NULL(srv.app.hang);
	CU_ASSERT(http_read(fd, &r, 0) == 0);
	CU_ASSERT_EQUAL(r.status, 503);
	http_resp_free(&r);
	close(fd);
}

/* Reads the log lines written to stderr while fn runs. */
static void capture_stderr(char *out, size_t size, void (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	out[0] = '\0';
	if (!tmp || saved < 0)
		goto out_close;
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	fn(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	rewind(tmp);
	n = fread(out, 1, size - 1, tmp);
	out[n] = '\0';
out_close:
	if (saved >= 0)
		close(saved);
	if (tmp)
		fclose(tmp);
}

struct bind_try {
	struct loop *lp;            /* loop to attach to */
	uint16_t port;              /* port to ask for */
	const struct rest_route *r; /* route table */
	size_t n;                   /* routes */
	struct rest *rs;            /* result */
};

static void try_new(void *arg)
{
	struct bind_try *t = arg;

	t->rs = rest_new(t->lp, "127.0.0.1", t->port, t->r, t->n, NULL);
}

static void test_new_fails(void)
{
	static const struct rest_route bad1[] = {{"GET", "nope", on_hello}};
	static const struct rest_route bad2[] = {{"GET", "/a/{x}", on_hello}};
	static const struct rest_route bad3[] = {{"GET", "/{}/{}/{}/{}/{}", on_hello}};
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	struct bind_try t = {.r = routes, .n = sizeof(routes) / sizeof(routes[0])};
	char log[2048], want[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	t.lp = loop_new();
	CU_ASSERT_FATAL(t.lp != NULL && fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 && listen(fd, 1) == 0);
	CU_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	t.port = ntohs(sin.sin_port);

	capture_stderr(log, sizeof(log), try_new, &t);
	CU_ASSERT_PTR_NULL(t.rs);
	snprintf(want, sizeof(want), "127.0.0.1:%u", t.port);
	CU_ASSERT(strstr(log, want) != NULL);
	CU_ASSERT(strstr(log, strerror(EADDRINUSE)) != NULL);

	t.port = 0;
	t.r = bad1;
	t.n = 1;
	capture_stderr(log, sizeof(log), try_new, &t);
	CU_ASSERT_PTR_NULL(t.rs);
	t.r = bad2;
	capture_stderr(log, sizeof(log), try_new, &t);
	CU_ASSERT_PTR_NULL(t.rs);
	t.r = bad3;
	capture_stderr(log, sizeof(log), try_new, &t);
	CU_ASSERT_PTR_NULL(t.rs);
	CU_ASSERT_PTR_NULL(rest_new(t.lp, "localhost", 0, routes, 1, NULL));
	rest_free(NULL);
	close(fd);
	loop_free(t.lp);
}

/* --- Prometheus writer ---------------------------------------------------------------- */

static void test_prom_families(void)
{
	struct prom p;
	char *text;

	prom_init(&p);
	prom_counter(&p, "ims_cx_answers_total", "Cx answers by result.", "result=\"2001\"", 10);
	prom_counter(&p, "ims_cx_answers_total", "Cx answers by result.", "result=\"5001\"", 2);
	prom_gauge(&p, "ims_registrations", "Active registrations.", "", 3);
	prom_gauge(&p, "ims_uptime_seconds", "Seconds since start.", NULL, 12.5);
	prom_gauge(&p, "ims_ratio", NULL, NULL, 0.1);
	prom_gauge(&p, "ims_nan", "Not a number.", NULL, NAN);
	prom_gauge(&p, "ims_inf", "Infinities.", "s=\"+\"", INFINITY);
	prom_gauge(&p, "ims_inf", "Infinities.", "s=\"-\"", -INFINITY);
	prom_counter(&p, "ims_big_total", "Big.", NULL, UINT64_MAX);
	text = prom_take(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "# HELP ims_cx_answers_total Cx answers by result.\n"
	                             "# TYPE ims_cx_answers_total counter\n"
	                             "ims_cx_answers_total{result=\"2001\"} 10\n"
	                             "ims_cx_answers_total{result=\"5001\"} 2\n"
	                             "# HELP ims_registrations Active registrations.\n"
	                             "# TYPE ims_registrations gauge\n"
	                             "ims_registrations 3\n"
	                             "# HELP ims_uptime_seconds Seconds since start.\n"
	                             "# TYPE ims_uptime_seconds gauge\n"
	                             "ims_uptime_seconds 12.5\n"
	                             "# TYPE ims_ratio gauge\n"
	                             "ims_ratio 0.1\n"
	                             "# HELP ims_nan Not a number.\n"
	                             "# TYPE ims_nan gauge\n"
	                             "ims_nan NaN\n"
	                             "# HELP ims_inf Infinities.\n"
	                             "# TYPE ims_inf gauge\n"
	                             "ims_inf{s=\"+\"} +Inf\n"
	                             "ims_inf{s=\"-\"} -Inf\n"
	                             "# HELP ims_big_total Big.\n"
	                             "# TYPE ims_big_total counter\n"
	                             "ims_big_total 18446744073709551615\n");
	free(text);
	/* p is empty again and reusable. */
	text = prom_take(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(text, "");
	free(text);
}

static void test_prom_escaping(void)
{
	struct prom p = {0};
	char labels[128] = "";
	char small[19] = "";
	char *text;

	CU_ASSERT_EQUAL(prom_label(labels, sizeof(labels), "peer", "hss.ims\\a \"x\"\nb"), 0);
	CU_ASSERT_EQUAL(prom_label(labels, sizeof(labels), "app", "cx"), 0);
	CU_ASSERT_STRING_EQUAL(labels, "peer=\"hss.ims\\\\a \\\"x\\\"\\nb\",app=\"cx\"");

	/* Too long: refused, buffer unchanged. */
	CU_ASSERT_EQUAL(prom_label(small, sizeof(small), "a", "12345"), 0);
	CU_ASSERT_EQUAL(prom_label(small, sizeof(small), "b", "12345"), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(small, "a=\"12345\"");
	CU_ASSERT_EQUAL(prom_label(small, sizeof(small), "b", "1234"), 0);
	CU_ASSERT_STRING_EQUAL(small, "a=\"12345\",b=\"1234\"");
	CU_ASSERT_EQUAL(prom_label(small, sizeof(small), "c", ""), -ENOSPC);

	prom_gauge(&p, "ims_peer_up", "Peer state: \"1\" open,\nelse 0 (see C:\\x).", labels, 1);
	/* Bad names are dropped, and do not reset the family. */
	prom_gauge(&p, "9bad", "x", NULL, 1);
	prom_gauge(&p, "bad-name", "x", NULL, 1);
	prom_gauge(&p, "ims_peer_up", "ignored once written", "app=\"sh\"", 0);
	text = prom_take(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	CU_ASSERT_STRING_EQUAL(
	    text, "# HELP ims_peer_up Peer state: \"1\" open,\\nelse 0 (see C:\\\\x).\n"
	          "# TYPE ims_peer_up gauge\n"
	          "ims_peer_up{peer=\"hss.ims\\\\a \\\"x\\\"\\nb\",app=\"cx\"} 1\n"
	          "ims_peer_up{app=\"sh\"} 0\n");
	free(text);

	prom_counter(&p, "x_total", "x", NULL, 1);
	prom_free(&p);
	CU_ASSERT_PTR_NULL(p.buf);
}

static void test_prom_large(void)
{
	struct prom p = {0};
	char labels[64];
	char *text;
	size_t lines = 0;

	for (int i = 0; i < 5000; i++) {
		snprintf(labels, sizeof(labels), "i=\"%d\"", i);
		prom_counter(&p, "ims_many_total", "Many.", labels, (uint64_t)i);
	}
	text = prom_take(&p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	for (const char *s = text; *s; s++)
		lines += *s == '\n';
	CU_ASSERT_EQUAL(lines, 5002);
	CU_ASSERT(strstr(text, "ims_many_total{i=\"4999\"} 4999\n") != NULL);
	free(text);
}

int test_rest_register(void)
{
	static CU_TestInfo tests[] = {
	    {"get_json", test_get_json},
	    {"args_and_query", test_args},
	    {"errors_404_405_400", test_errors},
	    {"post_body", test_post_body},
	    {"body_limit_413", test_body_limit},
	    {"keepalive", test_keepalive},
	    {"metrics", test_metrics},
	    {"defer", test_defer},
	    {"new_fails", test_new_fails},
	    {"prom_families", test_prom_families},
	    {"prom_escaping", test_prom_escaping},
	    {"prom_large", test_prom_large},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("rest", tests);
}
