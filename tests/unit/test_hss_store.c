/* HSS subscriber store: seeding only on creation, persistence across reopen, SQN
 * issuing (monotonic, concurrent, across restarts, resync, exhaustion), identity
 * lookups, serving S-CSCF, provisioning CRUD and listing. Each test uses a fresh
 * database in its own temporary directory. */
#include "aka.h"
#include "hss.h"
#include "topo.h"
#include "unit.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS    4    /* like freeDiameter's AppServThreads */
#define PER_THREAD 1000 /* vectors each thread takes */

struct tmpdb {
	char dir[64];   /* mkdtemp directory */
	char path[128]; /* database file inside dir */
};

static void tmpdb_make(struct tmpdb *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/hss_store_XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
	snprintf(t->path, sizeof(t->path), "%s/hss.db", t->dir);
}

static void tmpdb_remove(const struct tmpdb *t)
{
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	char name[160];

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", t->path, suffixes[i]);
		unlink(name);
	}
	rmdir(t->dir);
}

static struct topo_impu alice_impus[] = {
    {"sip:alice@ims.alpha.test", false},
    {"tel:+15550001", false},
};
static struct topo_impu bob_impus[] = {
    {"sip:bob@ims.alpha.test", false},
};
static struct topo_impu carol_impus[] = {
    {"sip:carol@ims.alpha.test", false},
    {"sip:carol.barred@ims.alpha.test", true},
};

static struct topo_subscriber seed_subs[] = {
    {
        .impi = "alice@ims.alpha.test",
        .impus = alice_impus,
        .n_impus = 2,
        .k = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38,
              0xa6, 0xbc},
        .op = {0xcd, 0xc2, 0x02, 0xd5, 0x12, 0x3e, 0x20, 0xf6, 0x2b, 0x6d, 0x67, 0x6a, 0xc7, 0x2c,
               0xb3, 0x18},
        .opc = false,
        .has_k = true,
        .amf = {0x80, 0x00},
        .sqn = 0x20,
    },
    {
        .impi = "bob@ims.alpha.test",
        .impus = bob_impus,
        .n_impus = 1,
        .k = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
        .op = {16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1},
        .opc = true,
        .has_k = true,
        .amf = {0x80, 0x01},
        .sqn = 0,
        .password = "bobsecret",
    },
    {
        .impi = "carol@ims.alpha.test",
        .impus = carol_impus,
        .n_impus = 2,
        .password = "carolsecret",
        .barred = true,
    },
};

static struct topo_domain seed = {
    .name = "ims.alpha.test",
    .subscribers = seed_subs,
    .n_subscribers = 3,
};

/* A valid AKA subscriber with one IMPU per name given. */
static void make_sub(struct hss_subscriber *sub, const char *impi, const char *impu1,
                     const char *impu2)
{
	memset(sub, 0, sizeof(*sub));
	snprintf(sub->impi, sizeof(sub->impi), "%s", impi);
	snprintf(sub->impus[0].uri, sizeof(sub->impus[0].uri), "%s", impu1);
	sub->n_impus = 1;
	if (impu2) {
		snprintf(sub->impus[1].uri, sizeof(sub->impus[1].uri), "%s", impu2);
		sub->n_impus = 2;
	}
	sub->has_k = true;
	memset(sub->k, 0x11, sizeof(sub->k));
	memset(sub->op, 0x22, sizeof(sub->op));
	sub->amf[0] = 0x80;
	sub->sqn = 0x40;
}

static void test_seed(void)
{
	struct tmpdb t;
	struct hss_store *s;
	struct hss_subscriber sub;
	struct hss_impu_info info;
	size_t count = 0;

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hss_store_count(s, &count), 0);
	CU_ASSERT_EQUAL(count, 3);

	CU_ASSERT_EQUAL_FATAL(hss_store_get(s, "alice@ims.alpha.test", &sub), 0);
	CU_ASSERT_STRING_EQUAL(sub.impi, "alice@ims.alpha.test");
	CU_ASSERT(sub.has_k);
	CU_ASSERT(memcmp(sub.k, seed_subs[0].k, 16) == 0);
	/* OP stays OP: SIPp needs it as provisioned. */
	CU_ASSERT(memcmp(sub.op, seed_subs[0].op, 16) == 0);
	CU_ASSERT(!sub.opc);
	CU_ASSERT(sub.amf[0] == 0x80 && sub.amf[1] == 0x00);
	CU_ASSERT_EQUAL(sub.sqn, 0x20);
	CU_ASSERT_STRING_EQUAL(sub.password, "");
	CU_ASSERT(!sub.barred);
	CU_ASSERT_STRING_EQUAL(sub.scscf_name, "");
	CU_ASSERT_EQUAL(sub.reg_state, HSS_NOT_REGISTERED);
	CU_ASSERT_EQUAL_FATAL(sub.n_impus, 2);
	CU_ASSERT_STRING_EQUAL(sub.impus[0].uri, "sip:alice@ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(sub.impus[1].uri, "tel:+15550001");

	CU_ASSERT_EQUAL_FATAL(hss_store_get(s, "bob@ims.alpha.test", &sub), 0);
	CU_ASSERT(sub.opc);
	CU_ASSERT(memcmp(sub.op, seed_subs[1].op, 16) == 0);
	CU_ASSERT_STRING_EQUAL(sub.password, "bobsecret");
	CU_ASSERT(sub.amf[1] == 0x01);

	CU_ASSERT_EQUAL_FATAL(hss_store_get(s, "carol@ims.alpha.test", &sub), 0);
	CU_ASSERT(!sub.has_k);
	CU_ASSERT(sub.barred);
	CU_ASSERT_EQUAL_FATAL(sub.n_impus, 2);
	CU_ASSERT(!sub.impus[0].barred);
	CU_ASSERT(sub.impus[1].barred);

	CU_ASSERT_EQUAL(hss_store_impu_get(s, "tel:+15550001", &info), 0);
	CU_ASSERT_STRING_EQUAL(info.impi, "alice@ims.alpha.test");
	CU_ASSERT(!info.impu_barred && !info.subscriber_barred);
	CU_ASSERT_EQUAL(hss_store_impu_get(s, "sip:carol.barred@ims.alpha.test", &info), 0);
	CU_ASSERT(info.impu_barred && info.subscriber_barred);
	CU_ASSERT_EQUAL(hss_store_get(s, "nobody@ims.alpha.test", &sub), -ENOENT);
	CU_ASSERT_EQUAL(hss_store_impu_get(s, "sip:nobody@ims.alpha.test", &info), -ENOENT);

	hss_store_close(s);
	tmpdb_remove(&t);
}

static void test_reopen_keeps_changes(void)
{
	struct tmpdb t;
	struct hss_store *s;
	struct hss_subscriber sub;
	size_t count = 0;

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hss_store_delete(s, "bob@ims.alpha.test"), 0);
	make_sub(&sub, "dave@ims.alpha.test", "sip:dave@ims.alpha.test", NULL);
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, NULL, 0), 0);
	CU_ASSERT_EQUAL(hss_store_serving_set(s, "alice@ims.alpha.test", "sip:scscf.ims.alpha.test",
	                                      HSS_REGISTERED, NULL),
	                0);
	hss_store_close(s);

	/* Same seed again: the existing database must be used as it is. */
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hss_store_get(s, "bob@ims.alpha.test", &sub), -ENOENT);
	CU_ASSERT_EQUAL(hss_store_get(s, "dave@ims.alpha.test", &sub), 0);
	CU_ASSERT_EQUAL(hss_store_count(s, &count), 0);
	CU_ASSERT_EQUAL(count, 3);
	CU_ASSERT_EQUAL(hss_store_get(s, "alice@ims.alpha.test", &sub), 0);
	CU_ASSERT_STRING_EQUAL(sub.scscf_name, "sip:scscf.ims.alpha.test");
	CU_ASSERT_EQUAL(sub.reg_state, HSS_REGISTERED);
	hss_store_close(s);

	/* Without a seed as well. */
	s = hss_store_open(t.path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hss_store_count(s, &count), 0);
	CU_ASSERT_EQUAL(count, 3);
	hss_store_close(s);
	tmpdb_remove(&t);
}

static void test_bad_seed(void)
{
	struct topo_impu impu = {"sip:x@ims.alpha.test", false};
	struct topo_subscriber bad = {
	    .impi = "no-realm", .impus = &impu, .n_impus = 1, .password = "x"};
	struct topo_domain dom = {
	    .name = "ims.alpha.test", .subscribers = &bad, .n_subscribers = 1};
	struct tmpdb t;
	struct hss_store *s;
	size_t count = 1;

	tmpdb_make(&t);
	CU_ASSERT_PTR_NULL(hss_store_open(t.path, &dom));
	/* Nothing half-made was committed: the next open creates and seeds afresh. */
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hss_store_count(s, &count), 0);
	CU_ASSERT_EQUAL(count, 3);
	hss_store_close(s);
	tmpdb_remove(&t);
}

static void test_sqn_monotonic(void)
{
	const char *impi = "alice@ims.alpha.test";
	struct tmpdb t;
	struct hss_store *s;
	struct hss_auth auth;
	uint64_t sqns[HSS_SQN_BATCH_MAX];
	uint64_t last = 0x20;

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int i = 0; i < 500; i++) {
		size_t n = 1 + (size_t)(i % 3);

		CU_ASSERT_EQUAL_FATAL(hss_store_sqn_next(s, impi, n, &auth, sqns), 0);
		for (size_t j = 0; j < n; j++) {
			CU_ASSERT_FATAL(aka_sqn_seq(sqns[j]) > aka_sqn_seq(last));
			last = sqns[j];
		}
		CU_ASSERT_EQUAL(auth.sqn, last);
	}
	CU_ASSERT(auth.has_k);
	CU_ASSERT(memcmp(auth.k, seed_subs[0].k, 16) == 0);
	CU_ASSERT(memcmp(auth.op, seed_subs[0].op, 16) == 0);
	CU_ASSERT(!auth.opc);
	hss_store_close(s);

	/* A restart must not reissue anything. */
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hss_store_auth_get(s, impi, &auth), 0);
	CU_ASSERT_EQUAL(auth.sqn, last);
	CU_ASSERT_EQUAL(hss_store_sqn_next(s, impi, 1, &auth, sqns), 0);
	CU_ASSERT(aka_sqn_seq(sqns[0]) > aka_sqn_seq(last));
	hss_store_close(s);
	tmpdb_remove(&t);
}

static void test_sqn_errors(void)
{
	struct tmpdb t;
	struct hss_store *s;
	struct hss_subscriber sub;
	struct hss_auth auth;
	uint64_t sqns[HSS_SQN_BATCH_MAX + 1];
	const char *impi = "alice@ims.alpha.test";

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hss_store_sqn_next(s, "nobody@ims.alpha.test", 1, &auth, sqns), -ENOENT);
	CU_ASSERT_EQUAL(hss_store_sqn_next(s, "carol@ims.alpha.test", 1, &auth, sqns), -ENOKEY);
	CU_ASSERT_EQUAL(hss_store_sqn_next(s, impi, 0, &auth, sqns), -EINVAL);
	CU_ASSERT_EQUAL(hss_store_sqn_next(s, impi, HSS_SQN_BATCH_MAX + 1, &auth, sqns), -EINVAL);
	CU_ASSERT_EQUAL(hss_store_sqn_next(s, impi, HSS_SQN_BATCH_MAX, &auth, sqns), 0);
	CU_ASSERT_EQUAL(hss_store_sqn_resync(s, impi, AKA_SQN_MAX + 1, 1, &auth, sqns), -EINVAL);

	/* SEQ exhausted: refuse, and leave SQN_HE where it was (nothing issued). */
	make_sub(&sub, "old@ims.alpha.test", "sip:old@ims.alpha.test", NULL);
	sub.sqn = AKA_SQN_MAX - 1;
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, NULL, 0), 0);
	CU_ASSERT_EQUAL(hss_store_sqn_next(s, sub.impi, 1, &auth, sqns), -ERANGE);
	CU_ASSERT_EQUAL(hss_store_auth_get(s, sub.impi, &auth), 0);
	CU_ASSERT_EQUAL(auth.sqn, AKA_SQN_MAX - 1);
	hss_store_close(s);
	tmpdb_remove(&t);
}

struct taker {
	struct hss_store *store; /* shared store */
	uint64_t *sqns;          /* PER_THREAD slots for this thread */
	int failures;            /* calls that did not return 0 */
};

static void *take_vectors(void *arg)
{
	struct taker *tk = arg;
	struct hss_auth auth;

	for (int i = 0; i < PER_THREAD; i++)
		if (hss_store_sqn_next(tk->store, "alice@ims.alpha.test", 1, &auth, &tk->sqns[i]) !=
		    0)
			tk->failures++;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_sqn_concurrent(void)
{
	static uint64_t all[THREADS * PER_THREAD];
	struct taker tk[THREADS];
	pthread_t th[THREADS];
	struct tmpdb t;
	struct hss_store *s;
	struct hss_auth auth;
	struct hss_subscriber sub;
	int failures = 0;
	size_t dups = 0;

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int i = 0; i < THREADS; i++) {
		tk[i] = (struct taker){s, &all[i * PER_THREAD], 0};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, take_vectors, &tk[i]), 0);
	}
	/* The loop thread provisions at the same time. */
	for (int i = 0; i < 50; i++) {
		char impi[64];
		char impu[64];

		snprintf(impi, sizeof(impi), "u%d@ims.alpha.test", i);
		snprintf(impu, sizeof(impu), "sip:u%d@ims.alpha.test", i);
		make_sub(&sub, impi, impu, NULL);
		CU_ASSERT_EQUAL(hss_store_create(s, &sub, NULL, 0), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		failures += tk[i].failures;
	}
	CU_ASSERT_EQUAL(failures, 0);
	qsort(all, THREADS * PER_THREAD, sizeof(all[0]), cmp_u64);
	for (size_t i = 1; i < THREADS * PER_THREAD; i++)
		if (aka_sqn_seq(all[i]) == aka_sqn_seq(all[i - 1]))
			dups++;
	CU_ASSERT_EQUAL(dups, 0);
	CU_ASSERT(aka_sqn_seq(all[0]) > aka_sqn_seq(0x20));
	CU_ASSERT_EQUAL(hss_store_auth_get(s, "alice@ims.alpha.test", &auth), 0);
	CU_ASSERT_EQUAL(auth.sqn, all[THREADS * PER_THREAD - 1]);
	/* Every SEQ in between was issued exactly once. */
	CU_ASSERT_EQUAL(aka_sqn_seq(auth.sqn) - aka_sqn_seq(0x20), THREADS * PER_THREAD);
	hss_store_close(s);
	tmpdb_remove(&t);
}

static void test_resync(void)
{
	const char *impi = "alice@ims.alpha.test";
	struct tmpdb t;
	struct hss_store *s;
	struct hss_auth auth;
	uint64_t sqns[2];
	uint64_t sqn_ms = (UINT64_C(5000) << AKA_IND_BITS) | 7;
	uint64_t want;

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* The UE is ahead (SQN_MS > SQN_HE): restart from SQN_MS. */
	CU_ASSERT_EQUAL(hss_store_sqn_resync(s, impi, sqn_ms, 2, &auth, sqns), 0);
	CU_ASSERT_EQUAL(aka_sqn_next(sqn_ms, &want), 0);
	CU_ASSERT_EQUAL(sqns[0], want);
	CU_ASSERT_EQUAL(aka_sqn_seq(sqns[0]), 5001);
	CU_ASSERT_EQUAL(aka_sqn_next(want, &want), 0);
	CU_ASSERT_EQUAL(sqns[1], want);
	CU_ASSERT_EQUAL(auth.sqn, want);
	CU_ASSERT(memcmp(auth.k, seed_subs[0].k, 16) == 0);
	CU_ASSERT_EQUAL(hss_store_auth_get(s, impi, &auth), 0);
	CU_ASSERT_EQUAL(auth.sqn, want);
	/* Normal vectors continue from there. */
	CU_ASSERT_EQUAL(hss_store_sqn_next(s, impi, 1, &auth, sqns), 0);
	CU_ASSERT_EQUAL(aka_sqn_seq(sqns[0]), 5003);
	/* TS 33.102 6.3.5 step 5 resets SQN_HE to SQN_MS even when it is behind. */
	CU_ASSERT_EQUAL(
	    hss_store_sqn_resync(s, impi, UINT64_C(100) << AKA_IND_BITS, 1, &auth, sqns), 0);
	CU_ASSERT_EQUAL(aka_sqn_seq(sqns[0]), 101);
	CU_ASSERT_EQUAL(hss_store_sqn_resync(s, "nobody@ims.alpha.test", sqn_ms, 1, &auth, sqns),
	                -ENOENT);
	hss_store_close(s);
	tmpdb_remove(&t);
}

static void test_identities(void)
{
	struct tmpdb t;
	struct hss_store *s;

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hss_store_impu_check(s, "alice@ims.alpha.test", "tel:+15550001"), 0);
	CU_ASSERT_EQUAL(hss_store_impu_check(s, "bob@ims.alpha.test", "tel:+15550001"), -EXDEV);
	CU_ASSERT_EQUAL(hss_store_impu_check(s, "bob@ims.alpha.test", "sip:nobody@x.test"),
	                -ENOENT);
	CU_ASSERT_EQUAL(hss_store_impu_check(s, "nobody@ims.alpha.test", "tel:+15550001"), -ENOENT);
	hss_store_close(s);
	tmpdb_remove(&t);
}

static void test_serving(void)
{
	const char *impi = "bob@ims.alpha.test";
	const char *scscf = "sip:scscf.ims.alpha.test:5060";
	struct tmpdb t;
	struct hss_store *s;
	struct hss_serving sv;
	struct hss_serving prev;
	struct hss_impu_info info;

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(hss_store_serving_get(s, impi, &sv), 0);
	CU_ASSERT_STRING_EQUAL(sv.scscf_name, "");
	CU_ASSERT_EQUAL(sv.reg_state, HSS_NOT_REGISTERED);

	CU_ASSERT_EQUAL(hss_store_serving_set(s, impi, scscf, HSS_REGISTERED, &prev), 0);
	CU_ASSERT_STRING_EQUAL(prev.scscf_name, "");
	CU_ASSERT_EQUAL(prev.reg_state, HSS_NOT_REGISTERED);
	CU_ASSERT_EQUAL(hss_store_serving_get(s, impi, &sv), 0);
	CU_ASSERT_STRING_EQUAL(sv.scscf_name, scscf);
	CU_ASSERT_EQUAL(sv.reg_state, HSS_REGISTERED);
	CU_ASSERT_EQUAL(hss_store_impu_get(s, "sip:bob@ims.alpha.test", &info), 0);
	CU_ASSERT_STRING_EQUAL(info.serving.scscf_name, scscf);
	CU_ASSERT_EQUAL(info.serving.reg_state, HSS_REGISTERED);

	CU_ASSERT_EQUAL(hss_store_serving_set(s, impi, scscf, HSS_UNREGISTERED, NULL), 0);
	CU_ASSERT_EQUAL(hss_store_serving_set(s, impi, NULL, HSS_NOT_REGISTERED, &prev), 0);
	CU_ASSERT_STRING_EQUAL(prev.scscf_name, scscf);
	CU_ASSERT_EQUAL(prev.reg_state, HSS_UNREGISTERED);
	CU_ASSERT_EQUAL(hss_store_serving_get(s, impi, &sv), 0);
	CU_ASSERT_STRING_EQUAL(sv.scscf_name, "");
	CU_ASSERT_EQUAL(sv.reg_state, HSS_NOT_REGISTERED);

	CU_ASSERT_EQUAL(
	    hss_store_serving_set(s, "nobody@ims.alpha.test", scscf, HSS_REGISTERED, NULL),
	    -ENOENT);
	CU_ASSERT_EQUAL(hss_store_serving_set(s, impi, "sip:bad name", HSS_REGISTERED, NULL),
	                -EINVAL);
	CU_ASSERT_EQUAL(hss_store_serving_set(s, impi, scscf, (enum hss_reg_state)7, NULL),
	                -EINVAL);
	CU_ASSERT_EQUAL(hss_store_serving_set(s, impi, NULL, HSS_REGISTERED, NULL), -EINVAL);
	CU_ASSERT_EQUAL(hss_store_serving_set(s, impi, "", HSS_UNREGISTERED, NULL), -EINVAL);
	/* Deregistration may keep the name (USER_DEREGISTRATION_STORE_SERVER_NAME). */
	CU_ASSERT_EQUAL(hss_store_serving_set(s, impi, scscf, HSS_NOT_REGISTERED, NULL), 0);
	CU_ASSERT_EQUAL(hss_store_serving_get(s, impi, &sv), 0);
	CU_ASSERT_STRING_EQUAL(sv.scscf_name, scscf);
	CU_ASSERT_EQUAL(sv.reg_state, HSS_NOT_REGISTERED);
	CU_ASSERT_STRING_EQUAL(hss_store_reg_state_name(HSS_UNREGISTERED), "unregistered");
	hss_store_close(s);
	tmpdb_remove(&t);
}

static void test_create_invalid(void)
{
	struct tmpdb t;
	struct hss_store *s;
	struct hss_subscriber sub;
	char err[256];

	tmpdb_make(&t);
	s = hss_store_open(t.path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	make_sub(&sub, "eve", "sip:eve@ims.alpha.test", NULL);
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EINVAL);
	make_sub(&sub, "@ims.alpha.test", "sip:eve@ims.alpha.test", NULL);
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EINVAL);
	make_sub(&sub, "eve@", "sip:eve@ims.alpha.test", NULL);
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EINVAL);
	make_sub(&sub, "eve@ims.alpha.test", "mailto:eve@ims.alpha.test", NULL);
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EINVAL);
	make_sub(&sub, "eve@ims.alpha.test", "sip:eve@ims.alpha.test", "sip:eve@ims.alpha.test");
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EINVAL);
	make_sub(&sub, "eve@ims.alpha.test", "sip:eve@ims.alpha.test", NULL);
	sub.n_impus = 0;
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EINVAL);
	make_sub(&sub, "eve@ims.alpha.test", "sip:eve@ims.alpha.test", NULL);
	sub.has_k = false;
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "password") != NULL);
	make_sub(&sub, "eve@ims.alpha.test", "sip:eve@ims.alpha.test", NULL);
	sub.sqn = AKA_SQN_MAX + 1;
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EINVAL);
	make_sub(&sub, "eve@ims.alpha.test", "sip:eve@ims.alpha.test", NULL);
	memset(sub.impi, 'e', sizeof(sub.impi));
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(hss_store_create(s, NULL, err, sizeof(err)), -EINVAL);

	/* Password only is enough. */
	make_sub(&sub, "eve@ims.alpha.test", "sip:eve@ims.alpha.test", NULL);
	sub.has_k = false;
	snprintf(sub.password, sizeof(sub.password), "evesecret");
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(hss_store_get(s, "eve@ims.alpha.test", &sub), 0);
	CU_ASSERT(!sub.has_k);
	CU_ASSERT_STRING_EQUAL(sub.password, "evesecret");
	hss_store_close(s);
	tmpdb_remove(&t);
}

static void test_crud(void)
{
	struct tmpdb t;
	struct hss_store *s;
	struct hss_subscriber sub;
	struct hss_subscriber got;
	struct hss_auth auth;
	struct hss_impu_info info;
	uint64_t sqns[4];
	char err[256];
	size_t count = 0;

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);

	make_sub(&sub, "dave@ims.alpha.test", "sip:dave@ims.alpha.test", "tel:+15550004");
	sub.impus[1].barred = true;
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(hss_store_get(s, "dave@ims.alpha.test", &got), 0);
	CU_ASSERT_EQUAL(got.n_impus, 2);
	CU_ASSERT_STRING_EQUAL(got.impus[0].uri, "sip:dave@ims.alpha.test");
	CU_ASSERT(got.impus[1].barred);
	CU_ASSERT_EQUAL(got.sqn, 0x40);

	/* Duplicates. */
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EEXIST);
	CU_ASSERT(strstr(err, "dave@ims.alpha.test") != NULL);
	make_sub(&sub, "erin@ims.alpha.test", "sip:erin@ims.alpha.test", "tel:+15550001");
	err[0] = '\0';
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), -EEXIST);
	CU_ASSERT(strstr(err, "tel:+15550001") != NULL);
	CU_ASSERT(strstr(err, "alice@ims.alpha.test") != NULL);
	CU_ASSERT_EQUAL(hss_store_get(s, "erin@ims.alpha.test", &got), -ENOENT);

	/* Replace keeps SQN and serving data unless told. */
	CU_ASSERT_EQUAL(hss_store_sqn_next(s, "dave@ims.alpha.test", 4, &auth, sqns), 0);
	CU_ASSERT_EQUAL(hss_store_serving_set(s, "dave@ims.alpha.test", "sip:scscf.ims.alpha.test",
	                                      HSS_REGISTERED, NULL),
	                0);
	make_sub(&sub, "dave@ims.alpha.test", "tel:+15550004", "sip:dave2@ims.alpha.test");
	sub.opc = true;
	sub.barred = true;
	sub.sqn = 0;
	snprintf(sub.password, sizeof(sub.password), "davesecret");
	CU_ASSERT_EQUAL(hss_store_replace(s, &sub, false, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(hss_store_get(s, "dave@ims.alpha.test", &got), 0);
	CU_ASSERT_EQUAL(got.sqn, sqns[3]);
	CU_ASSERT(got.opc);
	CU_ASSERT(got.barred);
	CU_ASSERT_STRING_EQUAL(got.password, "davesecret");
	CU_ASSERT_STRING_EQUAL(got.scscf_name, "sip:scscf.ims.alpha.test");
	CU_ASSERT_EQUAL(got.reg_state, HSS_REGISTERED);
	CU_ASSERT_EQUAL(got.n_impus, 2);
	CU_ASSERT_STRING_EQUAL(got.impus[0].uri, "tel:+15550004");
	CU_ASSERT(!got.impus[0].barred);
	CU_ASSERT_STRING_EQUAL(got.impus[1].uri, "sip:dave2@ims.alpha.test");
	/* The dropped IMPU is gone and free for someone else. */
	CU_ASSERT_EQUAL(hss_store_impu_get(s, "sip:dave@ims.alpha.test", &info), -ENOENT);

	sub.sqn = 0x1000;
	CU_ASSERT_EQUAL(hss_store_replace(s, &sub, true, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(hss_store_auth_get(s, "dave@ims.alpha.test", &auth), 0);
	CU_ASSERT_EQUAL(auth.sqn, 0x1000);

	/* Replace errors leave the record untouched. */
	make_sub(&sub, "dave@ims.alpha.test", "tel:+15550004", "sip:bob@ims.alpha.test");
	CU_ASSERT_EQUAL(hss_store_replace(s, &sub, false, err, sizeof(err)), -EEXIST);
	CU_ASSERT(strstr(err, "sip:bob@ims.alpha.test") != NULL);
	CU_ASSERT_EQUAL(hss_store_get(s, "dave@ims.alpha.test", &got), 0);
	CU_ASSERT_STRING_EQUAL(got.impus[1].uri, "sip:dave2@ims.alpha.test");
	CU_ASSERT(got.barred);
	make_sub(&sub, "zed@ims.alpha.test", "sip:zed@ims.alpha.test", NULL);
	CU_ASSERT_EQUAL(hss_store_replace(s, &sub, false, err, sizeof(err)), -ENOENT);

	/* Delete cascades to the IMPUs. */
	CU_ASSERT_EQUAL(hss_store_delete(s, "dave@ims.alpha.test"), 0);
	CU_ASSERT_EQUAL(hss_store_get(s, "dave@ims.alpha.test", &got), -ENOENT);
	CU_ASSERT_EQUAL(hss_store_impu_get(s, "tel:+15550004", &info), -ENOENT);
	CU_ASSERT_EQUAL(hss_store_impu_get(s, "sip:dave2@ims.alpha.test", &info), -ENOENT);
	CU_ASSERT_EQUAL(hss_store_delete(s, "dave@ims.alpha.test"), -ENOENT);
	make_sub(&sub, "frank@ims.alpha.test", "tel:+15550004", NULL);
	CU_ASSERT_EQUAL(hss_store_create(s, &sub, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(hss_store_count(s, &count), 0);
	CU_ASSERT_EQUAL(count, 4);
	hss_store_close(s);
	tmpdb_remove(&t);
}

struct listing {
	char impis[8][HSS_IMPI_MAX]; /* IMPIs seen, in call order */
	size_t n_impus[8];           /* their IMPU counts */
	int n;                       /* calls so far */
	int stop_at;                 /* return 42 on this call (1-based), 0: never */
};

static int collect(const struct hss_subscriber *sub, void *arg)
{
	struct listing *l = arg;

	if (l->n < 8) {
		snprintf(l->impis[l->n], sizeof(l->impis[0]), "%s", sub->impi);
		l->n_impus[l->n] = sub->n_impus;
	}
	l->n++;
	return l->n == l->stop_at ? 42 : 0;
}

static void test_list(void)
{
	struct tmpdb t;
	struct hss_store *s;
	struct listing l;
	int seen = 0;

	tmpdb_make(&t);
	s = hss_store_open(t.path, &seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(hss_store_list(s, NULL, 0, collect, &l), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 3);
	CU_ASSERT_STRING_EQUAL(l.impis[0], "alice@ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(l.impis[1], "bob@ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(l.impis[2], "carol@ims.alpha.test");
	CU_ASSERT_EQUAL(l.n_impus[0], 2);
	CU_ASSERT_EQUAL(l.n_impus[1], 1);

	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(hss_store_list(s, "alice@ims.alpha.test", 1, collect, &l), 0);
	CU_ASSERT_EQUAL_FATAL(l.n, 1);
	CU_ASSERT_STRING_EQUAL(l.impis[0], "bob@ims.alpha.test");

	memset(&l, 0, sizeof(l));
	l.stop_at = 2;
	CU_ASSERT_EQUAL(hss_store_list(s, NULL, 0, collect, &l), 42);
	CU_ASSERT_EQUAL(l.n, 2);

	/* More than one page. */
	for (int i = 0; i < 100; i++) {
		struct hss_subscriber sub;
		char impi[64];
		char impu[64];

		snprintf(impi, sizeof(impi), "u%03d@ims.alpha.test", i);
		snprintf(impu, sizeof(impu), "sip:u%03d@ims.alpha.test", i);
		make_sub(&sub, impi, impu, NULL);
		CU_ASSERT_EQUAL(hss_store_create(s, &sub, NULL, 0), 0);
	}
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(hss_store_list(s, NULL, 0, collect, &l), 0);
	seen = l.n;
	CU_ASSERT_EQUAL(seen, 103);
	memset(&l, 0, sizeof(l));
	CU_ASSERT_EQUAL(hss_store_list(s, "carol@ims.alpha.test", 70, collect, &l), 0);
	CU_ASSERT_EQUAL(l.n, 70);
	CU_ASSERT_STRING_EQUAL(l.impis[0], "u000@ims.alpha.test");
	CU_ASSERT_EQUAL(hss_store_list(s, NULL, 0, NULL, NULL), -EINVAL);
	hss_store_close(s);
	tmpdb_remove(&t);
}

int test_hss_store_register(void)
{
	static CU_TestInfo tests[] = {
	    {"seed", test_seed},
	    {"reopen keeps changes, no reseed", test_reopen_keeps_changes},
	    {"bad seed commits nothing", test_bad_seed},
	    {"sqn monotonic across restart", test_sqn_monotonic},
	    {"sqn errors and exhaustion", test_sqn_errors},
	    {"sqn concurrent threads", test_sqn_concurrent},
	    {"resync", test_resync},
	    {"impu belongs to impi", test_identities},
	    {"serving s-cscf", test_serving},
	    {"create validation", test_create_invalid},
	    {"crud", test_crud},
	    {"list", test_list},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("hss_store", tests);
}
