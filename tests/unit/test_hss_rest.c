/* HSS REST API tests. Each test builds a struct hss by hand (a loop, a store on a temp
 * file seeded with one subscriber, a topology node on 127.0.0.1 port 0), runs the loop
 * on a second thread and talks HTTP/1.1 to it with a small blocking socket client
 * (Connection: close, body read to EOF). */
#include "unit.h"

#include "hss.h"
#include "loop.h"
#include "rest.h"
#include "topo.h"
#include "version.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define RESP_MAX (4 * 1024 * 1024) /* largest answer the client reads */

/* Keys of the seed and of test bodies: none of them may ever appear in an answer. */
#define ALICE_K  "aaf0b84ce835ceaee3a93116e82627ed"
#define ALICE_OP "b2024a034f549bd456bb650e43dbef13"
#define TEST_K   "465b5ce8b199b49faa5f0a2ee238a6bc"
#define TEST_OPC "cd63cb71954a9f4e48a5994e37a02baf"
#define TEST_PW  "bob-secret-pw"

/* --- the HSS under test ---------------------------------------------------------------- */

static struct topo_impu seed_impus[] = {
    {"sip:alice@ims.alpha.test", false},
    {"tel:+15550001", false},
};

static struct topo_subscriber seed_subs[] = {{
    .impi = "alice@ims.alpha.test",
    .impus = seed_impus,
    .n_impus = 2,
    .k = {0xaa, 0xf0, 0xb8, 0x4c, 0xe8, 0x35, 0xce, 0xae, 0xe3, 0xa9, 0x31, 0x16, 0xe8, 0x26, 0x27,
          0xed},
    .op = {0xb2, 0x02, 0x4a, 0x03, 0x4f, 0x54, 0x9b, 0xd4, 0x56, 0xbb, 0x65, 0x0e, 0x43, 0xdb, 0xef,
           0x13},
    .has_k = true,
    .amf = {0x80, 0x00},
    .sqn = 0x20,
}};

struct fixture {
	char dir[64];              /* mkdtemp directory of the database */
	char path[128];            /* database file inside dir */
	struct topo_domain domain; /* the node's domain, also the seed */
	struct topo_node node;     /* the HSS node: 127.0.0.1, REST port 0 */
	struct hss h;              /* the daemon state under test */
	pthread_t thread;          /* runs loop_run */
	uint16_t port;             /* REST port chosen by the kernel */
};

static void *loop_main(void *arg)
{
	struct hss *h = arg;

	loop_run(h->loop);
	return NULL;
}

static int fixture_start(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/hss_rest_XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/hss.db", f->dir);
	f->domain.name = "ims.alpha.test";
	f->domain.subscribers = seed_subs;
	f->domain.n_subscribers = 1;
	f->domain.nodes = &f->node;
	f->domain.n_nodes = 1;
	f->node.role = TOPO_HSS;
	f->node.name = "hss";
	f->node.fqdn = "hss.ims.alpha.test";
	f->node.address = "127.0.0.1";
	f->node.diameter_port = 3868;
	f->node.rest_port = 0;
	f->node.domain = &f->domain;
	f->h.node = &f->node;
	f->h.store = hss_store_open(f->path, &f->domain);
	if (!f->h.store)
		goto out_rmdir;
	f->h.loop = loop_new();
	if (!f->h.loop)
		goto out_close;
	f->h.started_ms = loop_clock_ms();
	if (hss_rest_init(&f->h) < 0)
		goto out_loop;
	f->port = rest_port(f->h.rest);
	atomic_store(&f->h.ready, true);
	if (pthread_create(&f->thread, NULL, loop_main, &f->h) != 0)
		goto out_rest;
	return 0;
out_rest:
	hss_rest_fini(&f->h);
out_loop:
	loop_free(f->h.loop);
out_close:
	hss_store_close(f->h.store);
out_rmdir:
	rmdir(f->dir);
	return -1;
}

static void on_stop(struct loop *lp, void *arg)
{
	hss_rest_fini(arg);
	loop_stop(lp);
}

static void fixture_stop(struct fixture *f)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	char name[160];

	CU_ASSERT(loop_post(f->h.loop, on_stop, &f->h) == 0);
	pthread_join(f->thread, NULL);
	CU_ASSERT_PTR_NULL(f->h.rest);
	loop_free(f->h.loop);
	hss_store_close(f->h.store);
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", f->path, suffixes[i]);
		unlink(name);
	}
	rmdir(f->dir);
}

/* --- a tiny blocking HTTP/1.1 client ----------------------------------------------------- */

struct reply {
	int status;       /* status code, 0 when no answer came */
	char *raw;        /* malloc'd head and body, NUL-terminated */
	const char *body; /* inside raw, after the blank line */
	json_t *json;     /* parsed body, or NULL */
};

static void reply_free(struct reply *r)
{
	json_decref(r->json);
	free(r->raw);
	memset(r, 0, sizeof(*r));
}

/* Reads until the server closes (Connection: close) into r->raw. */
static int read_all(int fd, struct reply *r)
{
	size_t len = 0, cap = 4096;
	char *end;

	r->raw = malloc(cap);
	if (!r->raw)
		return -1;
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *grown = cap < RESP_MAX ? realloc(r->raw, cap * 2) : NULL;

			if (!grown)
				return -1;
			r->raw = grown;
			cap *= 2;
		}
		n = recv(fd, r->raw + len, cap - len - 1, 0);
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r->raw[len] = '\0';
	end = strstr(r->raw, "\r\n\r\n");
	if (!end || sscanf(r->raw, "HTTP/1.%*d %d", &r->status) != 1)
		return -1;
	r->body = end + 4;
	r->json = json_loads(r->body, 0, NULL);
	return 0;
}

/* One request on a fresh connection; body may be NULL. Returns the status or -1. */
static int http(uint16_t port, const char *method, const char *target, const char *body,
                struct reply *r)
{
	char head[1024];
	int fd = unit_connect(port, 10);
	int ret = -1;

	memset(r, 0, sizeof(*r));
	if (fd < 0)
		return -1;
	snprintf(head, sizeof(head),
	         "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
	         "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	         method, target, body ? strlen(body) : 0);
	if (unit_send_all(fd, head, strlen(head)) == 0 &&
	    (!body || unit_send_all(fd, body, strlen(body)) == 0))
		ret = read_all(fd, r);
	close(fd);
	return ret < 0 ? -1 : r->status;
}

/* The "message" of an error answer, or "". */
static const char *error_msg(const struct reply *r)
{
	const char *msg =
	    json_string_value(json_object_get(json_object_get(r->json, "error"), "message"));

	return msg ? msg : "";
}

static const char *str_at(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* The status of one request, its answer dropped. */
static int status_of(uint16_t port, const char *method, const char *target, const char *body)
{
	struct reply r;
	int status = http(port, method, target, body, &r);

	reply_free(&r);
	return status;
}

/* Sends a body that must be refused with 400 naming what: the message starts with it. */
static void expect_400(uint16_t port, const char *method, const char *target, const char *body,
                       const char *what)
{
	struct reply r;

	CU_ASSERT_EQUAL(http(port, method, target, body, &r), 400);
	if (strncmp(error_msg(&r), what, strlen(what)) != 0) {
		fprintf(stderr, "\n  body %s\n  expected message starting \"%s\", got \"%s\"\n",
		        body, what, error_msg(&r));
		CU_FAIL("400 message does not name the field");
	}
	reply_free(&r);
}

/* No key material anywhere in an answer: neither the values nor the keys' names (the
 * server answers compact JSON, so a key is its quoted name and a colon). */
static void expect_no_keys(const struct reply *r)
{
	static const char *const secrets[] = {
	    ALICE_K,  ALICE_OP,  TEST_K,     TEST_OPC,        TEST_PW,
	    "\"k\":", "\"op\":", "\"opc\":", "\"password\":",
	};

	for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		CU_ASSERT_PTR_NULL(strstr(r->body ? r->body : "", secrets[i]));
}

/* --- tests ---------------------------------------------------------------------------- */

static const char bob_body[] =
    "{\"impi\": \"bob@ims.alpha.test\","
    " \"impus\": [\"sip:bob@ims.alpha.test\", {\"uri\": \"tel:+15550002\", \"barred\": true}],"
    " \"k\": \"" TEST_K "\", \"opc\": \"" TEST_OPC "\", \"amf\": \"8001\","
    " \"sqn\": \"000000000020\", \"password\": \"" TEST_PW "\"}";

static void test_create_read(void)
{
	struct fixture f;
	struct reply r;
	json_t *impus, *auth, *serving;

	CU_ASSERT_FATAL(fixture_start(&f) == 0);
	CU_ASSERT_EQUAL(http(f.port, "POST", "/subscribers", bob_body, &r), 201);
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "impi"), "bob@ims.alpha.test");
	expect_no_keys(&r);
	reply_free(&r);

	CU_ASSERT_EQUAL(http(f.port, "GET", "/subscribers/bob@ims.alpha.test", NULL, &r), 200);
	expect_no_keys(&r);
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "impi"), "bob@ims.alpha.test");
	impus = json_object_get(r.json, "impus");
	CU_ASSERT_EQUAL(json_array_size(impus), 2);
	CU_ASSERT_STRING_EQUAL(str_at(json_array_get(impus, 0), "uri"), "sip:bob@ims.alpha.test");
	CU_ASSERT(json_is_false(json_object_get(json_array_get(impus, 0), "barred")));
	CU_ASSERT_STRING_EQUAL(str_at(json_array_get(impus, 1), "uri"), "tel:+15550002");
	CU_ASSERT(json_is_true(json_object_get(json_array_get(impus, 1), "barred")));
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "amf"), "8001");
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "sqn"), "000000000020");
	CU_ASSERT(json_is_false(json_object_get(r.json, "barred")));
	auth = json_object_get(r.json, "auth");
	CU_ASSERT(json_is_true(json_object_get(auth, "aka")));
	CU_ASSERT_STRING_EQUAL(str_at(auth, "op_kind"), "opc");
	CU_ASSERT(json_is_true(json_object_get(auth, "digest")));
	serving = json_object_get(r.json, "serving");
	CU_ASSERT(json_is_null(json_object_get(serving, "scscf")));
	CU_ASSERT_STRING_EQUAL(str_at(serving, "state"), "not_registered");
	reply_free(&r);

	/* The seeded subscriber: OP, no password. */
	CU_ASSERT_EQUAL(http(f.port, "GET", "/subscribers/alice@ims.alpha.test", NULL, &r), 200);
	expect_no_keys(&r);
	auth = json_object_get(r.json, "auth");
	CU_ASSERT_STRING_EQUAL(str_at(auth, "op_kind"), "op");
	CU_ASSERT(json_is_false(json_object_get(auth, "digest")));
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "amf"), "8000");
	reply_free(&r);

	/* Digest only: defaults for amf and sqn, no AKA. */
	CU_ASSERT_EQUAL(http(f.port, "POST", "/subscribers",
	                     "{\"impi\": \"dave@ims.alpha.test\", \"impus\": "
	                     "[\"sip:dave@ims.alpha.test\"], \"password\": \"" TEST_PW "\"}",
	                     &r),
	                201);
	expect_no_keys(&r);
	auth = json_object_get(r.json, "auth");
	CU_ASSERT(json_is_false(json_object_get(auth, "aka")));
	CU_ASSERT(json_is_null(json_object_get(auth, "op_kind")));
	CU_ASSERT(json_is_true(json_object_get(auth, "digest")));
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "amf"), "8000");
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "sqn"), "000000000000");
	reply_free(&r);
	fixture_stop(&f);
}

/* Creates user<i>@ims.alpha.test with a password. */
static int create_user(uint16_t port, const char *user)
{
	char body[256];

	snprintf(body, sizeof(body),
	         "{\"impi\": \"%s@ims.alpha.test\", \"impus\": [\"sip:%s@ims.alpha.test\"],"
	         " \"password\": \"pw\"}",
	         user, user);
	return status_of(port, "POST", "/subscribers", body);
}

static void expect_page(uint16_t port, const char *target, const char *const *impis, size_t n,
                        const char *next)
{
	json_t *items;
	struct reply r;

	CU_ASSERT_EQUAL(http(port, "GET", target, NULL, &r), 200);
	items = json_object_get(r.json, "subscribers");
	CU_ASSERT_EQUAL(json_array_size(items), n);
	for (size_t i = 0; i < n && i < json_array_size(items); i++)
		CU_ASSERT_STRING_EQUAL(str_at(json_array_get(items, i), "impi"), impis[i]);
	if (next) {
		CU_ASSERT_STRING_EQUAL(str_at(r.json, "next"), next);
	} else {
		CU_ASSERT(json_is_null(json_object_get(r.json, "next")));
	}
	expect_no_keys(&r);
	reply_free(&r);
}

static void test_list(void)
{
	static const char *const all[] = {"alice@ims.alpha.test", "bob@ims.alpha.test",
	                                  "carol@ims.alpha.test", "dave@ims.alpha.test"};
	struct fixture f;

	CU_ASSERT_FATAL(fixture_start(&f) == 0);
	CU_ASSERT_EQUAL(create_user(f.port, "dave"), 201);
	CU_ASSERT_EQUAL(create_user(f.port, "bob"), 201);
	CU_ASSERT_EQUAL(create_user(f.port, "carol"), 201);
	expect_page(f.port, "/subscribers", all, 4, NULL);
	expect_page(f.port, "/subscribers?limit=2", all, 2, "bob@ims.alpha.test");
	/* Exactly the rest: no "next" although the page is full. */
	expect_page(f.port, "/subscribers?limit=2&after=bob@ims.alpha.test", all + 2, 2, NULL);
	expect_page(f.port, "/subscribers?limit=3&after=bob@ims.alpha.test", all + 2, 2, NULL);
	expect_page(f.port, "/subscribers?limit=1&after=alice@ims.alpha.test", all + 1, 1,
	            "bob@ims.alpha.test");
	expect_page(f.port, "/subscribers?after=carol@ims.alpha.test", all + 3, 1, NULL);
	expect_page(f.port, "/subscribers?limit=1000&after=dave@ims.alpha.test", all, 0, NULL);
	expect_400(f.port, "GET", "/subscribers?limit=0", NULL, "limit:");
	expect_400(f.port, "GET", "/subscribers?limit=1001", NULL, "limit:");
	expect_400(f.port, "GET", "/subscribers?limit=-1", NULL, "limit:");
	expect_400(f.port, "GET", "/subscribers?limit=2x", NULL, "limit:");
	expect_400(f.port, "GET", "/subscribers?limit", NULL, "limit:");
	fixture_stop(&f);
}

static void test_update(void)
{
	struct fixture f;
	struct reply r;
	struct hss_auth auth;
	uint64_t sqns[3];
	json_t *impus;

	CU_ASSERT_FATAL(fixture_start(&f) == 0);
	CU_ASSERT_EQUAL(status_of(f.port, "POST", "/subscribers", bob_body), 201);
	/* Cx issues vectors meanwhile: SQN_HE moves on. */
	CU_ASSERT_FATAL(hss_store_sqn_next(f.h.store, "bob@ims.alpha.test", 3, &auth, sqns) == 0);
	CU_ASSERT(auth.sqn > 0x20);

	CU_ASSERT_EQUAL(
	    http(f.port, "PUT", "/subscribers/bob@ims.alpha.test",
	         "{\"impus\": [\"sip:bob@ims.alpha.test\", \"sip:robert@ims.alpha.test\"],"
	         " \"k\": \"" TEST_K "\", \"op\": \"" TEST_OPC "\", \"barred\": true}",
	         &r),
	    200);
	expect_no_keys(&r);
	{
		char want[16];

		snprintf(want, sizeof(want), "%012llx", (unsigned long long)auth.sqn);
		CU_ASSERT_STRING_EQUAL(str_at(r.json, "sqn"), want);
	}
	CU_ASSERT(json_is_true(json_object_get(r.json, "barred")));
	CU_ASSERT_STRING_EQUAL(str_at(json_object_get(r.json, "auth"), "op_kind"), "op");
	CU_ASSERT(json_is_false(json_object_get(json_object_get(r.json, "auth"), "digest")));
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "amf"), "8000");
	impus = json_object_get(r.json, "impus");
	CU_ASSERT_EQUAL(json_array_size(impus), 2);
	CU_ASSERT_STRING_EQUAL(str_at(json_array_get(impus, 1), "uri"),
	                       "sip:robert@ims.alpha.test");
	reply_free(&r);
	/* The dropped IMPU is free again. */
	CU_ASSERT_EQUAL(create_user(f.port, "x"), 201);
	CU_ASSERT_EQUAL(status_of(f.port, "POST", "/subscribers",
	                          "{\"impi\": \"t@ims.alpha.test\", \"impus\": [\"tel:+15550002\"],"
	                          " \"password\": \"p\"}"),
	                201);

	/* An explicit SQN (and the body IMPI equal to the path's) is taken. */
	CU_ASSERT_EQUAL(http(f.port, "PUT", "/subscribers/bob@ims.alpha.test",
	                     "{\"impi\": \"bob@ims.alpha.test\", \"impus\": "
	                     "[\"sip:bob@ims.alpha.test\"], \"password\": \"p\", \"sqn\": "
	                     "\"0000000001A0\"}",
	                     &r),
	                200);
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "sqn"), "0000000001a0");
	CU_ASSERT(json_is_false(json_object_get(json_object_get(r.json, "auth"), "aka")));
	reply_free(&r);
	/* The serving S-CSCF survives a replacement. */
	CU_ASSERT(hss_store_serving_set(f.h.store, "bob@ims.alpha.test", "sip:scscf.ims.alpha.test",
	                                HSS_REGISTERED, NULL) == 0);
	CU_ASSERT_EQUAL(http(f.port, "PUT", "/subscribers/bob@ims.alpha.test",
	                     "{\"impus\": [\"sip:bob@ims.alpha.test\"], \"password\": \"q\"}", &r),
	                200);
	CU_ASSERT_STRING_EQUAL(str_at(json_object_get(r.json, "serving"), "scscf"),
	                       "sip:scscf.ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(str_at(json_object_get(r.json, "serving"), "state"), "registered");
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "sqn"), "0000000001a0");
	reply_free(&r);

	expect_400(f.port, "PUT", "/subscribers/bob@ims.alpha.test",
	           "{\"impi\": \"alice@ims.alpha.test\", \"impus\": [\"sip:bob@ims.alpha.test\"],"
	           " \"password\": \"p\"}",
	           "impi:");
	expect_400(f.port, "PUT", "/subscribers/bob@ims.alpha.test", NULL, "body:");
	CU_ASSERT_EQUAL(status_of(f.port, "PUT", "/subscribers/nobody@ims.alpha.test",
	                          "{\"impus\": [\"sip:n@ims.alpha.test\"], \"password\": \"p\"}"),
	                404);
	CU_ASSERT_EQUAL(http(f.port, "PUT", "/subscribers/bob@ims.alpha.test",
	                     "{\"impus\": [\"sip:bob@ims.alpha.test\", \"tel:+15550001\"],"
	                     " \"password\": \"p\"}",
	                     &r),
	                409);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_msg(&r), "alice@ims.alpha.test"));
	reply_free(&r);
	fixture_stop(&f);
}

static void test_conflicts(void)
{
	struct fixture f;
	struct reply r;

	CU_ASSERT_FATAL(fixture_start(&f) == 0);
	CU_ASSERT_EQUAL(http(f.port, "POST", "/subscribers",
	                     "{\"impi\": \"alice@ims.alpha.test\", \"impus\": "
	                     "[\"sip:other@ims.alpha.test\"], \"password\": \"p\"}",
	                     &r),
	                409);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_msg(&r), "alice@ims.alpha.test"));
	reply_free(&r);
	CU_ASSERT_EQUAL(
	    http(f.port, "POST", "/subscribers",
	         "{\"impi\": \"eve@ims.alpha.test\", \"impus\": "
	         "[\"sip:eve@ims.alpha.test\", \"tel:+15550001\"], \"password\": \"p\"}",
	         &r),
	    409);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_msg(&r), "tel:+15550001"));
	reply_free(&r);
	/* Nothing of the refused subscriber stayed behind. */
	CU_ASSERT_EQUAL(status_of(f.port, "GET", "/subscribers/eve@ims.alpha.test", NULL), 404);
	CU_ASSERT_EQUAL(create_user(f.port, "eve"), 201);
	fixture_stop(&f);
}

static void test_bad_input(void)
{
	static const struct {
		const char *body; /* POST body */
		const char *what; /* start of the expected message */
	} cases[] = {
	    {"{\"impi\": ", "invalid JSON"},
	    {"[1, 2]", "body:"},
	    {"{\"impus\": [\"sip:z@ims.alpha.test\"], \"password\": \"p\"}", "impi: required"},
	    {"{\"impi\": \"z\", \"impus\": [\"sip:z@ims.alpha.test\"], \"password\": \"p\"}",
	     "impi:"},
	    {"{\"impi\": 7, \"impus\": [\"sip:z@ims.alpha.test\"], \"password\": \"p\"}",
	     "impi: expected a string, found a number"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"password\": \"p\"}", "impus: required"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [], \"password\": \"p\"}", "impus:"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": \"sip:z@x\", \"password\": \"p\"}",
	     "impus: expected an array"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\", \"http://x\"],"
	     " \"password\": \"p\"}",
	     "impus[1]:"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"tel:5550009\"], \"password\": \"p\"}",
	     "impus[0]:"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [{\"uri\": \"sip:z@x\", \"bared\": "
	     "true}],"
	     " \"password\": \"p\"}",
	     "unknown field impus[0].bared"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [{\"barred\": true}], \"password\": "
	     "\"p\"}",
	     "impus[0].uri: required"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\", \"sip:Z@x\"],"
	     " \"password\": \"p\"}",
	     "impus[1]:"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"k\": \"zz\","
	     " \"op\": \"" TEST_OPC "\"}",
	     "k: expected 32 hex digits"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"k\": \"" TEST_K "\","
	     " \"opc\": \"" TEST_OPC "00\"}",
	     "opc: expected 32 hex digits"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"k\": \"" TEST_K "\"}",
	     "k: needs op or opc"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"op\": \"" TEST_K "\"}",
	     "op: needs k"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"k\": \"" TEST_K "\","
	     " \"op\": \"" TEST_OPC "\", \"opc\": \"" TEST_OPC "\"}",
	     "opc:"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"]}", "no credentials"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"password\": \"\"}",
	     "password:"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"password\": \"p\","
	     " \"amf\": \"800\"}",
	     "amf: expected 4 hex digits"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"password\": \"p\","
	     " \"sqn\": 32}",
	     "sqn: expected a string, found a number"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"password\": \"p\","
	     " \"barred\": \"no\"}",
	     "barred: expected a boolean, found a string"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"password\": \"p\","
	     " \"colour\": \"red\"}",
	     "unknown field colour"},
	    {"{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"password\": \"p\","
	     " \"auth\": {}}",
	     "auth: output-only"},
	};
	char big[HSS_PASSWORD_MAX + 200];
	char impus[HSS_IMPUS_MAX * 32 + 200];
	size_t len = 0;
	struct fixture f;

	CU_ASSERT_FATAL(fixture_start(&f) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_400(f.port, "POST", "/subscribers", cases[i].body, cases[i].what);
	expect_400(f.port, "POST", "/subscribers", NULL, "body:");

	/* Bounds: a password one byte too long, one IMPU too many. */
	snprintf(
	    big, sizeof(big),
	    "{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"sip:z@x\"], \"password\": \"%0*d\"}",
	    HSS_PASSWORD_MAX, 0);
	expect_400(f.port, "POST", "/subscribers", big, "password: longer than");
	len =
	    (size_t)snprintf(impus, sizeof(impus), "{\"impi\": \"z@ims.alpha.test\", \"impus\": [");
	for (int i = 0; i <= HSS_IMPUS_MAX; i++)
		len += (size_t)snprintf(impus + len, sizeof(impus) - len, "%s\"sip:z%d@x\"",
		                        i ? ", " : "", i);
	snprintf(impus + len, sizeof(impus) - len, "], \"password\": \"p\"}");
	expect_400(f.port, "POST", "/subscribers", impus, "impus: expected 1-16");

	/* Nothing was created by any of them. */
	CU_ASSERT_EQUAL(status_of(f.port, "GET", "/subscribers/z@ims.alpha.test", NULL), 404);
	fixture_stop(&f);
}

static void test_delete_unknown(void)
{
	struct fixture f;
	struct reply r;

	CU_ASSERT_FATAL(fixture_start(&f) == 0);
	CU_ASSERT_EQUAL(http(f.port, "GET", "/subscribers/nobody@ims.alpha.test", NULL, &r), 404);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_msg(&r), "nobody@ims.alpha.test"));
	reply_free(&r);
	CU_ASSERT_EQUAL(status_of(f.port, "GET", "/subscribers/no-at-sign", NULL), 404);
	CU_ASSERT_EQUAL(http(f.port, "DELETE", "/subscribers/alice@ims.alpha.test", NULL, &r), 204);
	CU_ASSERT_STRING_EQUAL(r.body, "");
	reply_free(&r);
	CU_ASSERT_EQUAL(status_of(f.port, "GET", "/subscribers/alice@ims.alpha.test", NULL), 404);
	CU_ASSERT_EQUAL(status_of(f.port, "DELETE", "/subscribers/alice@ims.alpha.test", NULL),
	                404);
	/* Its IMPUs went with it. */
	CU_ASSERT_EQUAL(status_of(f.port, "POST", "/subscribers",
	                          "{\"impi\": \"z@ims.alpha.test\", \"impus\": [\"tel:+15550001\"],"
	                          " \"password\": \"p\"}"),
	                201);
	CU_ASSERT_EQUAL(status_of(f.port, "PATCH", "/subscribers/z@ims.alpha.test", "{}"), 405);
	CU_ASSERT_EQUAL(status_of(f.port, "GET", "/nowhere", NULL), 404);
	fixture_stop(&f);
}

static void test_status(void)
{
	struct fixture f;
	struct reply r;
	json_t *cx;

	CU_ASSERT_FATAL(fixture_start(&f) == 0);
	CU_ASSERT_EQUAL(create_user(f.port, "bob"), 201);
	CU_ASSERT(hss_store_serving_set(f.h.store, "bob@ims.alpha.test", "sip:scscf.ims.alpha.test",
	                                HSS_REGISTERED, NULL) == 0);
	hss_stats_answer(&f.h.stats, HSS_CX_UAR, 2001, 150);
	CU_ASSERT_EQUAL(http(f.port, "GET", "/status", NULL, &r), 200);
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "role"), "hss");
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "name"), "hss.ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "domain"), "ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "version"), IMS_VERSION);
	CU_ASSERT_STRING_EQUAL(str_at(r.json, "address"), "127.0.0.1");
	CU_ASSERT(json_is_integer(json_object_get(r.json, "uptime")));
	CU_ASSERT(json_integer_value(json_object_get(r.json, "uptime")) >= 0);
	CU_ASSERT(json_is_true(json_object_get(r.json, "ready")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r.json, "diameter_port")), 3868);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r.json, "subscribers")), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r.json, "registered")), 1);
	cx = json_object_get(r.json, "cx");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(cx, "UAR"), "requests")),
	                1);
	reply_free(&r);
	fixture_stop(&f);
}

static void test_metrics(void)
{
	struct fixture f;
	struct reply r;

	CU_ASSERT_FATAL(fixture_start(&f) == 0);
	CU_ASSERT(hss_store_serving_set(f.h.store, "alice@ims.alpha.test",
	                                "sip:scscf.ims.alpha.test", HSS_REGISTERED, NULL) == 0);
	CU_ASSERT_EQUAL(create_user(f.port, "bob"), 201);
	hss_stats_answer(&f.h.stats, HSS_CX_MAR, 2001, 300);
	CU_ASSERT_EQUAL(http(f.port, "GET", "/metrics", NULL, &r), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.raw, "Content-Type: text/plain; version=0.0.4"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "hss_cx_requests_total{command=\"MAR\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\nhss_subscribers 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\nhss_registered_subscribers 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\nhss_ready 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "# TYPE hss_uptime_seconds gauge\n"));
	reply_free(&r);
	fixture_stop(&f);
}

/* The port is taken: init fails cleanly and fini stays safe. */
static void test_init_fails(void)
{
	struct fixture f;
	struct hss other = {0};
	struct topo_node node;

	CU_ASSERT_FATAL(fixture_start(&f) == 0);
	node = f.node;
	node.rest_port = f.port;
	other.node = &node;
	other.loop = loop_new();
	other.store = f.h.store;
	CU_ASSERT_PTR_NOT_NULL_FATAL(other.loop);
	CU_ASSERT(hss_rest_init(&other) < 0);
	CU_ASSERT_PTR_NULL(other.rest);
	hss_rest_fini(&other);
	loop_free(other.loop);
	fixture_stop(&f);
}

int test_hss_rest_register(void)
{
	static CU_TestInfo tests[] = {
	    {"create and read, keys never answered", test_create_read},
	    {"list with pagination", test_list},
	    {"replace keeps SQN and serving", test_update},
	    {"duplicate IMPI or IMPU is 409", test_conflicts},
	    {"bad input is 400 naming the field", test_bad_input},
	    {"delete, unknown subscribers", test_delete_unknown},
	    {"status", test_status},
	    {"metrics", test_metrics},
	    {"init on a taken port", test_init_fails},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("hss_rest", tests);
}
