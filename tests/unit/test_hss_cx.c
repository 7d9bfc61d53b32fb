/* HSS Cx decisions (TS 29.228 6.1.1 UAR, 6.1.2 SAR, 6.1.4 LIR, 6.3 MAR) called directly,
 * without freeDiameter, against a store seeded from a hand-built domain. Every AKA vector
 * is checked the way a UE would check it (TS 33.102 6.3.3) and resynchronisation is
 * driven by a UE-made AUTS (6.3.5). Each test uses a fresh database in its own
 * temporary directory. */
#include "aka.h"
#include "dia_core.h"
#include "dia_cx.h"
#include "digest.h"
#include "hss.h"
#include "milenage.h"
#include "topo.h"
#include "unit.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REALM     "ims.alpha.test"
#define SCSCF1    "sip:scscf.ims.alpha.test:5060"
#define SCSCF2    "sip:scscf2.ims.alpha.test:5062"
#define ALICE     "alice@ims.alpha.test"
#define ALICE_SIP "sip:alice@ims.alpha.test"
#define ALICE_TEL "tel:+15550001"
#define DAVE      "dave@ims.alpha.test"
#define DAVE_SIP  "sip:dave@ims.alpha.test"
#define DAVE_PW   "dave-secret"
#define BART      "bart@ims.alpha.test"
#define BART_SIP  "sip:bart@ims.alpha.test"
#define CAROL     "carol@ims.alpha.test"
#define CAROL_SIP "sip:carol@ims.alpha.test"
#define CAROL_BAR "sip:carol.hidden@ims.alpha.test"
#define ALICE_SQN 0x20 /* provisioned SQN_HE: SEQ 1, IND 0 */

/* TS 35.208 4.3.1 test set 1: K, OP, and the OPc, RAND and f2..f4 outputs published
 * with them (test_fixture checks the pair really is set 1). */
static const uint8_t set1_k[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
                                   0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
static const uint8_t set1_op[16] = {0xcd, 0xc2, 0x02, 0xd5, 0x12, 0x3e, 0x20, 0xf6,
                                    0x2b, 0x6d, 0x67, 0x6a, 0xc7, 0x2c, 0xb3, 0x18};
static const uint8_t set1_opc[16] = {0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e,
                                     0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf};
static const uint8_t set1_rand[16] = {0x23, 0x55, 0x3c, 0xbe, 0x96, 0x37, 0xa8, 0x9d,
                                      0x21, 0x8a, 0xe6, 0x4d, 0xae, 0x47, 0xbf, 0x35};
static const uint8_t set1_res[8] = {0xa5, 0x42, 0x11, 0xd5, 0xe3, 0xba, 0x50, 0xbf};
static const uint8_t set1_ck[16] = {0xb4, 0x0b, 0xa9, 0xa3, 0xc5, 0x8b, 0x2a, 0x05,
                                    0xbb, 0xf0, 0xd9, 0x87, 0xb2, 0x1b, 0xf8, 0xcb};
static const uint8_t set1_ik[16] = {0xf7, 0x69, 0xbc, 0xd7, 0x51, 0x04, 0x46, 0x04,
                                    0x12, 0x76, 0x72, 0x71, 0x1c, 0x6d, 0x34, 0x41};

static struct topo_domain domain;

/* The HSS, two S-CSCFs (the only nodes Server-Capabilities may name) and an I-CSCF. */
static struct topo_node nodes[] = {
    {.role = TOPO_HSS,
     .name = "hss",
     .fqdn = "hss.ims.alpha.test",
     .address = "127.0.1.1",
     .diameter_port = 3868,
     .domain = &domain},
    {.role = TOPO_SCSCF,
     .name = "scscf",
     .fqdn = "scscf.ims.alpha.test",
     .address = "127.0.1.2",
     .sip_port = 5060,
     .diameter_port = 3869,
     .domain = &domain},
    {.role = TOPO_ICSCF,
     .name = "icscf",
     .fqdn = "icscf.ims.alpha.test",
     .address = "127.0.1.3",
     .sip_port = 5061,
     .diameter_port = 3870,
     .domain = &domain},
    {.role = TOPO_SCSCF,
     .name = "scscf2",
     .fqdn = "scscf2.ims.alpha.test",
     .address = "127.0.1.4",
     .sip_port = 5062,
     .diameter_port = 3871,
     .domain = &domain},
};

static struct topo_impu alice_impus[] = {{ALICE_SIP, false}, {ALICE_TEL, false}};
static struct topo_impu dave_impus[] = {{DAVE_SIP, false}};
static struct topo_impu bart_impus[] = {{BART_SIP, false}};
static struct topo_impu carol_impus[] = {{CAROL_SIP, false}, {CAROL_BAR, true}};

static struct topo_subscriber subscribers[] = {
    {.impi = ALICE,
     .impus = alice_impus,
     .n_impus = 2,
     .k = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f, 0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6,
           0xbc},
     .op = {0xcd, 0xc2, 0x02, 0xd5, 0x12, 0x3e, 0x20, 0xf6, 0x2b, 0x6d, 0x67, 0x6a, 0xc7, 0x2c,
            0xb3, 0x18},
     .opc = false,
     .has_k = true,
     .amf = {0x80, 0x00},
     .sqn = ALICE_SQN},
    {.impi = DAVE, .impus = dave_impus, .n_impus = 1, .password = DAVE_PW},
    {.impi = BART, .impus = bart_impus, .n_impus = 1, .password = "bart-pw", .barred = true},
    {.impi = CAROL, .impus = carol_impus, .n_impus = 2, .password = "carol-pw"},
};

static struct topo_domain domain = {
    .name = REALM,
    .nodes = nodes,
    .n_nodes = sizeof(nodes) / sizeof(nodes[0]),
    .subscribers = subscribers,
    .n_subscribers = sizeof(subscribers) / sizeof(subscribers[0]),
};

/* One test's HSS and the database behind it. */
struct fixture {
	char dir[64];   /* mkdtemp directory */
	char path[128]; /* database file inside dir */
	struct hss h;   /* store and node set, everything else zero */
};

static void fixture_open(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/hss_cx_XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/hss.db", f->dir);
	f->h.node = &nodes[0];
	f->h.store = hss_store_open(f->path, &domain);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->h.store);
}

static void fixture_close(struct fixture *f)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	char name[160];

	hss_store_close(f->h.store);
	f->h.store = NULL;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(name, sizeof(name), "%s%s", f->path, suffixes[i]);
		unlink(name);
	}
	CU_ASSERT_EQUAL(rmdir(f->dir), 0);
}

static void uar(struct fixture *f, const char *impi, const char *impu, const char *visited,
                enum cx_auth_type type, struct cx_uaa *a)
{
	struct cx_uar q;

	memset(&q, 0, sizeof(q));
	memset(a, 0, sizeof(*a));
	snprintf(q.user_name, sizeof(q.user_name), "%s", impi);
	snprintf(q.public_identity, sizeof(q.public_identity), "%s", impu);
	snprintf(q.visited_network, sizeof(q.visited_network), "%s", visited);
	q.auth_type = type;
	hss_cx_on_uar(&f->h, &q, a);
}

/* impi and impu may be "" / NULL: a SAR without User-Name or without Public-Identity. */
static void sar(struct fixture *f, const char *impi, const char *impu, const char *server, int type,
                enum cx_user_data_available avail, struct cx_saa *a)
{
	struct cx_sar q;

	memset(&q, 0, sizeof(q));
	memset(a, 0, sizeof(*a));
	snprintf(q.user_name, sizeof(q.user_name), "%s", impi);
	if (impu) {
		snprintf(q.public_identities[0], sizeof(q.public_identities[0]), "%s", impu);
		q.n_public_identities = 1;
	}
	snprintf(q.server_name, sizeof(q.server_name), "%s", server);
	q.assignment_type = (enum cx_sat)type;
	q.user_data_available = avail;
	hss_cx_on_sar(&f->h, &q, a);
}

/* A SAR whose answer is not examined beyond success; frees its User-Data. */
static void sar_ok(struct fixture *f, const char *impi, const char *server, enum cx_sat type)
{
	struct cx_saa a;

	sar(f, impi, NULL, server, type, CX_USER_DATA_NOT_AVAILABLE, &a);
	CU_ASSERT_EQUAL(a.result.code, DIA_SUCCESS);
	CU_ASSERT(!a.result.experimental);
	free(a.user_data);
}

static void lir(struct fixture *f, const char *impu, uint32_t type, struct cx_lia *a)
{
	struct cx_lir q;

	memset(&q, 0, sizeof(q));
	memset(a, 0, sizeof(*a));
	snprintf(q.public_identity, sizeof(q.public_identity), "%s", impu);
	q.auth_type = type;
	hss_cx_on_lir(&f->h, &q, a);
}

/* auth (auth_len bytes) becomes SIP-Authorization: RAND||AUTS for a resync. */
static void mar(struct fixture *f, const char *impi, const char *impu, const char *scheme,
                uint32_t n, const uint8_t *auth, size_t auth_len, struct cx_maa *a)
{
	struct cx_mar q;

	memset(&q, 0, sizeof(q));
	memset(a, 0, sizeof(*a));
	snprintf(q.user_name, sizeof(q.user_name), "%s", impi);
	snprintf(q.public_identity, sizeof(q.public_identity), "%s", impu);
	snprintf(q.item.scheme, sizeof(q.item.scheme), "%s", scheme);
	if (auth_len) {
		memcpy(q.item.authorization, auth, auth_len);
		q.item.authorization_len = auth_len;
	}
	q.number_auth_items = n;
	snprintf(q.server_name, sizeof(q.server_name), "%s", SCSCF1);
	hss_cx_on_mar(&f->h, &q, a);
}

static void assert_result(const struct cx_result *r, uint32_t code, bool experimental)
{
	CU_ASSERT_EQUAL(r->code, code);
	CU_ASSERT_EQUAL(r->experimental, experimental);
}

/* Server-Capabilities naming exactly the two S-CSCFs of the domain, in node order. */
static void assert_capabilities(const struct cx_capabilities *c)
{
	CU_ASSERT(c->present);
	CU_ASSERT_EQUAL(c->n_mandatory, 0);
	CU_ASSERT_EQUAL(c->n_optional, 0);
	CU_ASSERT_EQUAL_FATAL(c->n_server_names, 2);
	CU_ASSERT_STRING_EQUAL(c->server_names[0], SCSCF1);
	CU_ASSERT_STRING_EQUAL(c->server_names[1], SCSCF2);
}

static void assert_no_capabilities(const struct cx_capabilities *c)
{
	CU_ASSERT(!c->present);
	CU_ASSERT_EQUAL(c->n_server_names, 0);
}

static void assert_serving(struct fixture *f, const char *impi, const char *name,
                           enum hss_reg_state state)
{
	struct hss_serving s;

	CU_ASSERT_EQUAL_FATAL(hss_store_serving_get(f->h.store, impi, &s), 0);
	CU_ASSERT_STRING_EQUAL(s.scscf_name, name);
	CU_ASSERT_EQUAL(s.reg_state, state);
}

static uint64_t stored_sqn(struct fixture *f, const char *impi)
{
	struct hss_subscriber sub;

	CU_ASSERT_EQUAL_FATAL(hss_store_get(f->h.store, impi, &sub), 0);
	return sub.sqn;
}

/* TS 33.102 6.3.3 on the UE side: the item's AUTN must verify under K/OPc for its RAND;
 * RES, CK and IK must equal XRES (SIP-Authorization), CK and IK; the AMF is the
 * provisioned one. Returns the SQN the UE recovers. */
static uint64_t check_aka_item(const struct cx_auth_item *it, uint32_t number)
{
	uint8_t res[8], ck[16], ik[16];
	uint64_t sqn = 0;

	CU_ASSERT_EQUAL(it->item_number, number);
	CU_ASSERT_STRING_EQUAL(it->scheme, CX_SCHEME_AKAV1_MD5);
	CU_ASSERT_EQUAL_FATAL(it->authenticate_len, 32);
	CU_ASSERT_EQUAL_FATAL(it->authorization_len, 8);
	CU_ASSERT_EQUAL(it->ck_len, 16);
	CU_ASSERT_EQUAL(it->ik_len, 16);
	CU_ASSERT(!it->digest.present);
	CU_ASSERT(it->authenticate[22] == 0x80 && it->authenticate[23] == 0x00);
	CU_ASSERT_EQUAL_FATAL(aka_autn_check(set1_k, set1_opc, it->authenticate,
	                                     it->authenticate + 16, &sqn, res, ck, ik),
	                      0);
	CU_ASSERT(memcmp(res, it->authorization, 8) == 0);
	CU_ASSERT(memcmp(ck, it->ck, 16) == 0);
	CU_ASSERT(memcmp(ik, it->ik, 16) == 0);
	return sqn;
}

/* Checks a successful AKA MAA of n items issued after SQN_HE prev: every vector
 * verifies, the SQNs follow TS 33.102 Annex C.3.2 (each the successor of the one
 * before, so strictly increasing) and the store kept the last as SQN_HE. Returns it. */
static uint64_t check_aka_answer(struct fixture *f, const struct cx_maa *a, const char *impu,
                                 size_t n, uint64_t prev)
{
	uint64_t sqn = prev;

	assert_result(&a->result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a->user_name, ALICE);
	CU_ASSERT_STRING_EQUAL(a->public_identity, impu);
	CU_ASSERT_EQUAL(a->number_auth_items, n);
	CU_ASSERT_EQUAL_FATAL(a->n_items, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t got = check_aka_item(&a->items[i], (uint32_t)i + 1);
		uint64_t want = 0;

		CU_ASSERT_EQUAL(aka_sqn_next(sqn, &want), 0);
		CU_ASSERT_EQUAL(got, want);
		CU_ASSERT(aka_sqn_seq(got) > aka_sqn_seq(sqn));
		sqn = got;
		/* Fresh RAND for every vector. */
		for (size_t j = 0; j < i; j++)
			CU_ASSERT(memcmp(a->items[j].authenticate, a->items[i].authenticate, 16) !=
			          0);
	}
	CU_ASSERT_EQUAL(stored_sqn(f, ALICE), sqn);
	return sqn;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The fixture's K/OP are TS 35.208 set 1: OPc and f2..f4 of the published RAND match. */
static void test_fixture(void)
{
	uint8_t opc[16], res[8], ck[16], ik[16];

	CU_ASSERT(memcmp(subscribers[0].k, set1_k, 16) == 0);
	CU_ASSERT(memcmp(subscribers[0].op, set1_op, 16) == 0);
	CU_ASSERT_EQUAL_FATAL(milenage_opc(set1_k, set1_op, opc), 0);
	CU_ASSERT(memcmp(opc, set1_opc, 16) == 0);
	CU_ASSERT_EQUAL_FATAL(milenage_f2345(set1_k, set1_opc, set1_rand, res, ck, ik, NULL, NULL),
	                      0);
	CU_ASSERT(memcmp(res, set1_res, 8) == 0);
	CU_ASSERT(memcmp(ck, set1_ck, 16) == 0);
	CU_ASSERT(memcmp(ik, set1_ik, 16) == 0);
}

/* TS 29.228 6.1.1.1 steps 1-2. */
static void test_uar_identities(void)
{
	struct fixture f;
	struct cx_uaa a;

	fixture_open(&f);
	uar(&f, ALICE, "sip:nobody@ims.alpha.test", REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_ERROR_USER_UNKNOWN, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_no_capabilities(&a.capabilities);
	/* A known IMPU with an unknown IMPI is still an unknown user. */
	uar(&f, "nobody@ims.alpha.test", ALICE_SIP, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_ERROR_USER_UNKNOWN, true);
	uar(&f, ALICE, DAVE_SIP, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_ERROR_IDENTITIES_DONT_MATCH, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_no_capabilities(&a.capabilities);
	uar(&f, ALICE, ALICE_TEL, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_FIRST_REGISTRATION, true);
	fixture_close(&f);
}

/* TS 29.228 6.1.1.1 step 3: barring. */
static void test_uar_barring(void)
{
	struct fixture f;
	struct cx_uaa a;

	fixture_open(&f);
	uar(&f, BART, BART_SIP, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, DIA_AUTHORIZATION_REJECTED, false);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_no_capabilities(&a.capabilities);
	uar(&f, BART, BART_SIP, REALM, CX_AUTH_REGISTRATION_AND_CAPABILITIES, &a);
	assert_result(&a.result, DIA_AUTHORIZATION_REJECTED, false);
	/* A barred IMPU whose implicit set holds a non-barred one may register. */
	uar(&f, CAROL, CAROL_BAR, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_FIRST_REGISTRATION, true);
	assert_capabilities(&a.capabilities);
	uar(&f, CAROL, CAROL_SIP, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_FIRST_REGISTRATION, true);
	fixture_close(&f);
}

/* TS 29.228 6.1.1.1 step 4: the lab lets nobody roam out of the home domain. */
static void test_uar_roaming(void)
{
	struct fixture f;
	struct cx_uaa a;

	fixture_open(&f);
	uar(&f, ALICE, ALICE_SIP, "ims.beta.test", CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_ERROR_ROAMING_NOT_ALLOWED, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_no_capabilities(&a.capabilities);
	uar(&f, ALICE, ALICE_SIP, "ims.beta.test", CX_AUTH_REGISTRATION_AND_CAPABILITIES, &a);
	assert_result(&a.result, CX_ERROR_ROAMING_NOT_ALLOWED, true);
	uar(&f, ALICE, ALICE_SIP, "", CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_ERROR_ROAMING_NOT_ALLOWED, true);
	/* Domain names compare case-insensitively (RFC 4343). */
	uar(&f, ALICE, ALICE_SIP, "IMS.Alpha.Test", CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_FIRST_REGISTRATION, true);
	fixture_close(&f);
}

/* TS 29.228 6.1.1.1 step 5, REGISTRATION: first, then subsequent after a SAR. */
static void test_uar_registration(void)
{
	struct fixture f;
	struct cx_uaa a;

	fixture_open(&f);
	uar(&f, ALICE, ALICE_SIP, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_FIRST_REGISTRATION, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_capabilities(&a.capabilities);

	sar_ok(&f, ALICE, SCSCF2, CX_SAT_REGISTRATION);
	uar(&f, ALICE, ALICE_SIP, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_SUBSEQUENT_REGISTRATION, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, SCSCF2);
	assert_no_capabilities(&a.capabilities);
	/* Any IMPU of the implicit set is served by the same S-CSCF. */
	uar(&f, ALICE, ALICE_TEL, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_SUBSEQUENT_REGISTRATION, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, SCSCF2);

	/* Unregistered (terminating services) also keeps its S-CSCF. */
	sar_ok(&f, CAROL, SCSCF1, CX_SAT_UNREGISTERED_USER);
	uar(&f, CAROL, CAROL_SIP, REALM, CX_AUTH_REGISTRATION, &a);
	assert_result(&a.result, CX_SUBSEQUENT_REGISTRATION, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, SCSCF1);
	fixture_close(&f);
}

/* TS 29.228 6.1.1.1 step 5, DE_REGISTRATION. */
static void test_uar_deregistration(void)
{
	struct fixture f;
	struct cx_uaa a;

	fixture_open(&f);
	uar(&f, ALICE, ALICE_SIP, REALM, CX_AUTH_DE_REGISTRATION, &a);
	assert_result(&a.result, CX_ERROR_IDENTITY_NOT_REGISTERED, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_no_capabilities(&a.capabilities);

	sar_ok(&f, ALICE, SCSCF1, CX_SAT_REGISTRATION);
	uar(&f, ALICE, ALICE_SIP, REALM, CX_AUTH_DE_REGISTRATION, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.server_name, SCSCF1);
	assert_no_capabilities(&a.capabilities);

	sar_ok(&f, ALICE, SCSCF1, CX_SAT_USER_DEREGISTRATION);
	uar(&f, ALICE, ALICE_SIP, REALM, CX_AUTH_DE_REGISTRATION, &a);
	assert_result(&a.result, CX_ERROR_IDENTITY_NOT_REGISTERED, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	fixture_close(&f);
}

/* TS 29.228 6.1.1.1 step 5, REGISTRATION_AND_CAPABILITIES: capabilities whatever the
 * state, so the I-CSCF can pick a new S-CSCF. */
static void test_uar_capabilities(void)
{
	struct fixture f;
	struct cx_uaa a;

	fixture_open(&f);
	uar(&f, ALICE, ALICE_SIP, REALM, CX_AUTH_REGISTRATION_AND_CAPABILITIES, &a);
	assert_result(&a.result, CX_FIRST_REGISTRATION, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_capabilities(&a.capabilities);

	sar_ok(&f, ALICE, SCSCF1, CX_SAT_REGISTRATION);
	uar(&f, ALICE, ALICE_SIP, REALM, CX_AUTH_REGISTRATION_AND_CAPABILITIES, &a);
	assert_result(&a.result, CX_FIRST_REGISTRATION, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_capabilities(&a.capabilities);
	fixture_close(&f);
}

/* TS 29.228 6.3.1: one and three AKA vectors, each verified as the UE would. */
static void test_mar_aka(void)
{
	struct fixture f;
	struct cx_maa a;
	uint64_t sqn;

	fixture_open(&f);
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 1, NULL, 0, &a);
	sqn = check_aka_answer(&f, &a, ALICE_SIP, 1, ALICE_SQN);
	CU_ASSERT(sqn > ALICE_SQN);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.vectors), 1);

	mar(&f, ALICE, ALICE_TEL, CX_SCHEME_AKAV1_MD5, 3, NULL, 0, &a);
	check_aka_answer(&f, &a, ALICE_TEL, 3, sqn);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.vectors), 4);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.resyncs), 0);
	fixture_close(&f);
}

/* SIP-Number-Auth-Items is bounded by what one MAA carries; 0 still gets one vector. */
static void test_mar_aka_items_bound(void)
{
	struct fixture f;
	struct cx_maa a;
	uint64_t sqn;

	fixture_open(&f);
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 100, NULL, 0, &a);
	sqn = check_aka_answer(&f, &a, ALICE_SIP, CX_ITEMS_MAX, ALICE_SQN);
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 0, NULL, 0, &a);
	check_aka_answer(&f, &a, ALICE_SIP, 1, sqn);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.vectors), CX_ITEMS_MAX + 1);
	fixture_close(&f);
}

/* TS 29.228 6.3.1 / TS 29.229 6.3.36: SIP Digest hands out H(A1), never the password. */
static void test_mar_digest(void)
{
	char ha1[DIGEST_HEX_SIZE];
	struct fixture f;
	struct cx_maa a;
	const struct cx_auth_item *it = &a.items[0];

	fixture_open(&f);
	CU_ASSERT_EQUAL_FATAL(digest_ha1(DAVE, REALM, DAVE_PW, strlen(DAVE_PW), ha1), 0);
	mar(&f, DAVE, DAVE_SIP, CX_SCHEME_SIP_DIGEST, 1, NULL, 0, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.user_name, DAVE);
	CU_ASSERT_STRING_EQUAL(a.public_identity, DAVE_SIP);
	CU_ASSERT_EQUAL(a.number_auth_items, 1);
	CU_ASSERT_EQUAL_FATAL(a.n_items, 1);
	CU_ASSERT_EQUAL(it->item_number, 1);
	CU_ASSERT_STRING_EQUAL(it->scheme, CX_SCHEME_SIP_DIGEST);
	CU_ASSERT(it->digest.present);
	CU_ASSERT_STRING_EQUAL(it->digest.realm, REALM);
	CU_ASSERT_STRING_EQUAL(it->digest.qop, "auth");
	CU_ASSERT_STRING_EQUAL(it->digest.algorithm, "MD5");
	CU_ASSERT_STRING_EQUAL(it->digest.ha1, ha1);
	CU_ASSERT_EQUAL(it->authenticate_len, 0);
	CU_ASSERT_EQUAL(it->authorization_len, 0);
	CU_ASSERT_EQUAL(it->ck_len, 0);
	CU_ASSERT_EQUAL(it->ik_len, 0);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.vectors), 0);

	/* More items asked: a Digest challenge is one item. */
	mar(&f, DAVE, DAVE_SIP, CX_SCHEME_SIP_DIGEST, 5, NULL, 0, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_EQUAL(a.n_items, 1);
	CU_ASSERT_STRING_EQUAL(it->digest.ha1, ha1);
	fixture_close(&f);
}

/* TS 29.228 6.3.1: a scheme the subscriber has no credentials for is refused. */
static void test_mar_scheme_unsupported(void)
{
	struct fixture f;
	struct cx_maa a;

	fixture_open(&f);
	mar(&f, DAVE, DAVE_SIP, CX_SCHEME_AKAV1_MD5, 1, NULL, 0, &a);
	assert_result(&a.result, CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED, true);
	CU_ASSERT_EQUAL(a.n_items, 0);
	CU_ASSERT_EQUAL(a.number_auth_items, 0);
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_SIP_DIGEST, 1, NULL, 0, &a);
	assert_result(&a.result, CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED, true);
	CU_ASSERT_EQUAL(a.n_items, 0);
	mar(&f, ALICE, ALICE_SIP, "NTLM", 1, NULL, 0, &a);
	assert_result(&a.result, CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED, true);
	CU_ASSERT_EQUAL(stored_sqn(&f, ALICE), ALICE_SQN);
	fixture_close(&f);
}

/* TS 29.228 6.3.1: "Unknown" leaves the scheme to the HSS: AKA when K is provisioned,
 * else SIP Digest. */
static void test_mar_scheme_unknown(void)
{
	char ha1[DIGEST_HEX_SIZE];
	struct fixture f;
	struct cx_maa a;

	fixture_open(&f);
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_UNKNOWN, 1, NULL, 0, &a);
	check_aka_answer(&f, &a, ALICE_SIP, 1, ALICE_SQN);

	CU_ASSERT_EQUAL_FATAL(digest_ha1(DAVE, REALM, DAVE_PW, strlen(DAVE_PW), ha1), 0);
	mar(&f, DAVE, DAVE_SIP, CX_SCHEME_UNKNOWN, 1, NULL, 0, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_EQUAL_FATAL(a.n_items, 1);
	CU_ASSERT_STRING_EQUAL(a.items[0].scheme, CX_SCHEME_SIP_DIGEST);
	CU_ASSERT(a.items[0].digest.present);
	CU_ASSERT_STRING_EQUAL(a.items[0].digest.ha1, ha1);
	fixture_close(&f);
}

/* TS 29.228 6.3.1 steps 1-2. */
static void test_mar_identities(void)
{
	struct fixture f;
	struct cx_maa a;

	fixture_open(&f);
	mar(&f, "nobody@ims.alpha.test", ALICE_SIP, CX_SCHEME_AKAV1_MD5, 1, NULL, 0, &a);
	assert_result(&a.result, CX_ERROR_USER_UNKNOWN, true);
	CU_ASSERT_EQUAL(a.n_items, 0);
	mar(&f, ALICE, "sip:nobody@ims.alpha.test", CX_SCHEME_AKAV1_MD5, 1, NULL, 0, &a);
	assert_result(&a.result, CX_ERROR_USER_UNKNOWN, true);
	mar(&f, ALICE, DAVE_SIP, CX_SCHEME_AKAV1_MD5, 1, NULL, 0, &a);
	assert_result(&a.result, CX_ERROR_IDENTITIES_DONT_MATCH, true);
	CU_ASSERT_EQUAL(a.n_items, 0);
	CU_ASSERT_EQUAL(stored_sqn(&f, ALICE), ALICE_SQN);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.vectors), 0);
	fixture_close(&f);
}

/* RAND||AUTS as the UE sends it after rejecting the SQN of the challenge with rand. */
static void make_resync(const uint8_t rand[16], uint64_t sqn_ms, uint8_t out[16 + AKA_AUTS_LEN])
{
	memcpy(out, rand, 16);
	CU_ASSERT_EQUAL(aka_auts_make(set1_k, set1_opc, rand, sqn_ms, out + 16), 0);
}

/* TS 33.102 6.3.5: the USIM is far ahead; the HSS adopts SQN_MS and the next vectors
 * are fresh for the USIM. */
static void test_mar_resync(void)
{
	uint8_t auth[16 + AKA_AUTS_LEN];
	struct aka_sqn_ms usim = {{0}};
	struct fixture f;
	struct cx_maa a;
	uint64_t sqn1, sqn_ms, sqn;

	fixture_open(&f);
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 1, NULL, 0, &a);
	sqn1 = check_aka_answer(&f, &a, ALICE_SIP, 1, ALICE_SQN);
	/* SEQ_MS 1000 ahead in the challenge's IND slot, so the USIM refuses the challenge
	 * as too old (Annex C.2.2). */
	sqn_ms = (aka_sqn_seq(sqn1) + 1000) << AKA_IND_BITS | aka_sqn_ind(sqn1);
	CU_ASSERT(aka_sqn_ms_accept(&usim, sqn_ms));
	CU_ASSERT(!aka_sqn_ms_accept(&usim, sqn1));
	make_resync(a.items[0].authenticate, sqn_ms, auth);

	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 2, auth, sizeof(auth), &a);
	sqn = check_aka_answer(&f, &a, ALICE_SIP, 2, sqn_ms);
	CU_ASSERT(aka_sqn_seq(sqn) > aka_sqn_seq(sqn_ms));
	CU_ASSERT(aka_sqn_seq(check_aka_item(&a.items[0], 1)) > aka_sqn_seq(sqn_ms));
	CU_ASSERT(aka_sqn_ms_accept(&usim, check_aka_item(&a.items[0], 1)));
	CU_ASSERT(aka_sqn_ms_accept(&usim, check_aka_item(&a.items[1], 2)));
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.resyncs), 1);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.vectors), 3);
	fixture_close(&f);
}

/* TS 33.102 6.3.5 step 2-3: when SQN_HE's successor is already acceptable to the USIM,
 * the HSS keeps its counter. */
static void test_mar_resync_in_range(void)
{
	uint8_t auth[16 + AKA_AUTS_LEN];
	struct fixture f;
	struct cx_maa a;
	uint64_t sqn_he;

	fixture_open(&f);
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 3, NULL, 0, &a);
	sqn_he = check_aka_answer(&f, &a, ALICE_SIP, 3, ALICE_SQN);
	/* The USIM last accepted the first vector's SQN (behind SQN_HE). */
	make_resync(a.items[2].authenticate, check_aka_item(&a.items[0], 1), auth);
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 1, auth, sizeof(auth), &a);
	check_aka_answer(&f, &a, ALICE_SIP, 1, sqn_he);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.resyncs), 1);
	fixture_close(&f);
}

/* A forged AUTS (MAC-S fails) or a malformed SIP-Authorization is rejected and leaves
 * SQN_HE alone. */
static void test_mar_resync_rejected(void)
{
	uint8_t auth[16 + AKA_AUTS_LEN], bad[16 + AKA_AUTS_LEN];
	struct fixture f;
	struct cx_maa a;
	uint64_t sqn_he, sqn_ms;

	fixture_open(&f);
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 1, NULL, 0, &a);
	sqn_he = check_aka_answer(&f, &a, ALICE_SIP, 1, ALICE_SQN);
	sqn_ms = (aka_sqn_seq(sqn_he) + 1000) << AKA_IND_BITS;
	make_resync(a.items[0].authenticate, sqn_ms, auth);

	/* One flipped bit each in RAND, in SQN_MS xor AK and in MAC-S. */
	static const size_t flips[] = {0, 16, sizeof(auth) - 1};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(bad, auth, sizeof(bad));
		bad[flips[i]] ^= 0x01;
		mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 1, bad, sizeof(bad), &a);
		assert_result(&a.result, DIA_AUTHENTICATION_REJECTED, false);
		CU_ASSERT(a.result.error_message[0] != '\0');
		CU_ASSERT_EQUAL(a.n_items, 0);
		CU_ASSERT_EQUAL(stored_sqn(&f, ALICE), sqn_he);
	}
	/* Only RAND, or one byte too many. */
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 1, auth, 16, &a);
	assert_result(&a.result, DIA_AUTHENTICATION_REJECTED, false);
	CU_ASSERT_EQUAL(a.n_items, 0);
	{
		uint8_t longer[sizeof(auth) + 1] = {0};

		memcpy(longer, auth, sizeof(auth));
		mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 1, longer, sizeof(longer), &a);
		assert_result(&a.result, DIA_AUTHENTICATION_REJECTED, false);
		CU_ASSERT_EQUAL(a.n_items, 0);
	}
	CU_ASSERT_EQUAL(stored_sqn(&f, ALICE), sqn_he);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.resyncs), 0);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.vectors), 1);

	/* The genuine AUTS still works afterwards. */
	mar(&f, ALICE, ALICE_SIP, CX_SCHEME_AKAV1_MD5, 1, auth, sizeof(auth), &a);
	check_aka_answer(&f, &a, ALICE_SIP, 1, sqn_ms);
	CU_ASSERT_EQUAL(atomic_load(&f.h.stats.resyncs), 1);
	fixture_close(&f);
}

/* TS 29.228 6.1.2.1 REGISTRATION: S-CSCF and state stored, the profile returned. */
static void test_sar_registration(void)
{
	struct fixture f;
	struct cx_saa a;

	fixture_open(&f);
	sar(&f, ALICE, ALICE_SIP, SCSCF1, CX_SAT_REGISTRATION, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.user_name, ALICE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.user_data);
	CU_ASSERT_EQUAL(a.user_data_len, strlen(a.user_data));
	CU_ASSERT(strncmp(a.user_data,
	                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?><IMSSubscription>", 55) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.user_data, "<PrivateID>" ALICE "</PrivateID>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a.user_data, "<PublicIdentity><Identity>" ALICE_SIP
	                                           "</Identity></PublicIdentity>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a.user_data, "<PublicIdentity><Identity>" ALICE_TEL
	                                           "</Identity></PublicIdentity>"));
	CU_ASSERT_EQUAL(count_of(a.user_data, "<ServiceProfile>"), 1);
	CU_ASSERT_EQUAL(count_of(a.user_data, "<PublicIdentity>"), 2);
	CU_ASSERT_EQUAL(count_of(a.user_data, "BarringIndication"), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.user_data, "</ServiceProfile></IMSSubscription>"));
	free(a.user_data);
	assert_serving(&f, ALICE, SCSCF1, HSS_REGISTERED);

	/* Barred identities carry BarringIndication before Identity (TS 29.228 Annex E). */
	sar(&f, CAROL, CAROL_SIP, SCSCF1, CX_SAT_REGISTRATION, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.user_data);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.user_data, "<PrivateID>" CAROL "</PrivateID>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(a.user_data, "<PublicIdentity><Identity>" CAROL_SIP
	                                           "</Identity></PublicIdentity>"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(a.user_data,
	           "<PublicIdentity><BarringIndication>1</BarringIndication><Identity>" CAROL_BAR
	           "</Identity></PublicIdentity>"));
	CU_ASSERT_EQUAL(count_of(a.user_data, "<PublicIdentity>"), 2);
	CU_ASSERT_EQUAL(count_of(a.user_data, "<BarringIndication>"), 1);
	free(a.user_data);
	assert_serving(&f, CAROL, SCSCF1, HSS_REGISTERED);
	fixture_close(&f);
}

/* RE_REGISTRATION: the profile only when the S-CSCF says it lacks it. */
static void test_sar_reregistration(void)
{
	struct fixture f;
	struct cx_saa a;

	fixture_open(&f);
	sar_ok(&f, ALICE, SCSCF1, CX_SAT_REGISTRATION);
	sar(&f, ALICE, ALICE_SIP, SCSCF1, CX_SAT_RE_REGISTRATION, CX_USER_DATA_ALREADY_AVAILABLE,
	    &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.user_name, ALICE);
	CU_ASSERT_PTR_NULL(a.user_data);
	CU_ASSERT_EQUAL(a.user_data_len, 0);
	free(a.user_data);
	assert_serving(&f, ALICE, SCSCF1, HSS_REGISTERED);

	sar(&f, ALICE, ALICE_SIP, SCSCF1, CX_SAT_RE_REGISTRATION, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_PTR_NOT_NULL(a.user_data);
	CU_ASSERT(a.user_data && strstr(a.user_data, "<PrivateID>" ALICE "</PrivateID>"));
	free(a.user_data);
	assert_serving(&f, ALICE, SCSCF1, HSS_REGISTERED);
	fixture_close(&f);
}

/* De-registrations: plain ones clear the S-CSCF, *_STORE_SERVER_NAME keep it; neither
 * returns a profile. */
static void test_sar_deregistration(void)
{
	static const enum cx_sat clearing[] = {
	    CX_SAT_USER_DEREGISTRATION,
	    CX_SAT_TIMEOUT_DEREGISTRATION,
	    CX_SAT_ADMINISTRATIVE_DEREGISTRATION,
	    CX_SAT_DEREGISTRATION_TOO_MUCH_DATA,
	};
	static const enum cx_sat keeping[] = {
	    CX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME,
	    CX_SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME,
	};
	struct fixture f;
	struct cx_saa a;

	fixture_open(&f);
	for (size_t i = 0; i < sizeof(clearing) / sizeof(clearing[0]); i++) {
		sar_ok(&f, ALICE, SCSCF1, CX_SAT_REGISTRATION);
		sar(&f, ALICE, ALICE_SIP, SCSCF1, clearing[i], CX_USER_DATA_NOT_AVAILABLE, &a);
		assert_result(&a.result, DIA_SUCCESS, false);
		CU_ASSERT_STRING_EQUAL(a.user_name, ALICE);
		CU_ASSERT_PTR_NULL(a.user_data);
		free(a.user_data);
		assert_serving(&f, ALICE, "", HSS_NOT_REGISTERED);
	}
	for (size_t i = 0; i < sizeof(keeping) / sizeof(keeping[0]); i++) {
		sar_ok(&f, ALICE, SCSCF2, CX_SAT_REGISTRATION);
		sar(&f, ALICE, ALICE_SIP, SCSCF2, keeping[i], CX_USER_DATA_NOT_AVAILABLE, &a);
		assert_result(&a.result, DIA_SUCCESS, false);
		CU_ASSERT_PTR_NULL(a.user_data);
		free(a.user_data);
		assert_serving(&f, ALICE, SCSCF2, HSS_UNREGISTERED);
	}
	fixture_close(&f);
}

/* TS 29.228 6.1.2.1: several Public-Identity AVPs only in a de-registration. */
static void test_sar_several_identities(void)
{
	struct fixture f;
	struct cx_sar q;
	struct cx_saa a;

	fixture_open(&f);
	memset(&q, 0, sizeof(q));
	snprintf(q.user_name, sizeof(q.user_name), "%s", ALICE);
	snprintf(q.public_identities[0], sizeof(q.public_identities[0]), "%s", ALICE_SIP);
	snprintf(q.public_identities[1], sizeof(q.public_identities[1]), "%s", ALICE_TEL);
	q.n_public_identities = 2;
	snprintf(q.server_name, sizeof(q.server_name), "%s", SCSCF1);
	q.assignment_type = CX_SAT_REGISTRATION;
	memset(&a, 0, sizeof(a));
	hss_cx_on_sar(&f.h, &q, &a);
	assert_result(&a.result, DIA_AVP_OCCURS_TOO_MANY_TIMES, false);
	CU_ASSERT_PTR_NULL(a.user_data);
	assert_serving(&f, ALICE, "", HSS_NOT_REGISTERED);

	sar_ok(&f, ALICE, SCSCF1, CX_SAT_REGISTRATION);
	q.assignment_type = CX_SAT_USER_DEREGISTRATION;
	memset(&a, 0, sizeof(a));
	hss_cx_on_sar(&f.h, &q, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	free(a.user_data);
	assert_serving(&f, ALICE, "", HSS_NOT_REGISTERED);
	fixture_close(&f);
}

/* UNREGISTERED_USER: an S-CSCF serves a terminating request for an unregistered user. */
static void test_sar_unregistered_user(void)
{
	struct fixture f;
	struct cx_saa a;

	fixture_open(&f);
	sar(&f, CAROL, CAROL_SIP, SCSCF2, CX_SAT_UNREGISTERED_USER, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.user_name, CAROL);
	CU_ASSERT_PTR_NOT_NULL(a.user_data);
	CU_ASSERT(a.user_data && strstr(a.user_data, "<PrivateID>" CAROL "</PrivateID>"));
	free(a.user_data);
	assert_serving(&f, CAROL, SCSCF2, HSS_UNREGISTERED);
	fixture_close(&f);
}

/* NO_ASSIGNMENT: only the assigned S-CSCF may pull the profile; nothing changes. */
static void test_sar_no_assignment(void)
{
	struct fixture f;
	struct cx_saa a;

	fixture_open(&f);
	sar(&f, ALICE, ALICE_SIP, SCSCF1, CX_SAT_NO_ASSIGNMENT, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_UNABLE_TO_COMPLY, false);
	CU_ASSERT_PTR_NULL(a.user_data);
	assert_serving(&f, ALICE, "", HSS_NOT_REGISTERED);

	sar_ok(&f, ALICE, SCSCF1, CX_SAT_REGISTRATION);
	sar(&f, ALICE, ALICE_SIP, SCSCF2, CX_SAT_NO_ASSIGNMENT, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_UNABLE_TO_COMPLY, false);
	CU_ASSERT_PTR_NULL(a.user_data);
	assert_serving(&f, ALICE, SCSCF1, HSS_REGISTERED);

	sar(&f, ALICE, ALICE_SIP, SCSCF1, CX_SAT_NO_ASSIGNMENT, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.user_name, ALICE);
	CU_ASSERT_PTR_NOT_NULL(a.user_data);
	free(a.user_data);
	assert_serving(&f, ALICE, SCSCF1, HSS_REGISTERED);
	fixture_close(&f);
}

/* TS 29.228 6.1.2.1 steps 1-2: identities, and which ones a SAR may carry. */
static void test_sar_identities(void)
{
	struct fixture f;
	struct cx_saa a;

	fixture_open(&f);
	/* Public-Identity alone names the user (unregistered case, TS 29.228 6.1.2). */
	sar(&f, "", ALICE_TEL, SCSCF1, CX_SAT_REGISTRATION, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.user_name, ALICE);
	CU_ASSERT_PTR_NOT_NULL(a.user_data);
	free(a.user_data);
	assert_serving(&f, ALICE, SCSCF1, HSS_REGISTERED);
	/* User-Name alone as well. */
	sar(&f, DAVE, NULL, SCSCF2, CX_SAT_REGISTRATION, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.user_name, DAVE);
	free(a.user_data);
	assert_serving(&f, DAVE, SCSCF2, HSS_REGISTERED);

	sar(&f, "", NULL, SCSCF1, CX_SAT_REGISTRATION, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, DIA_MISSING_AVP, false);
	CU_ASSERT(a.result.error_message[0] != '\0');
	CU_ASSERT_STRING_EQUAL(a.user_name, "");
	CU_ASSERT_PTR_NULL(a.user_data);

	sar(&f, "", "sip:nobody@ims.alpha.test", SCSCF1, CX_SAT_REGISTRATION,
	    CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, CX_ERROR_USER_UNKNOWN, true);
	CU_ASSERT_PTR_NULL(a.user_data);
	sar(&f, "nobody@ims.alpha.test", NULL, SCSCF1, CX_SAT_REGISTRATION,
	    CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, CX_ERROR_USER_UNKNOWN, true);
	CU_ASSERT_PTR_NULL(a.user_data);
	sar(&f, CAROL, ALICE_SIP, SCSCF2, CX_SAT_REGISTRATION, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, CX_ERROR_IDENTITIES_DONT_MATCH, true);
	CU_ASSERT_PTR_NULL(a.user_data);
	assert_serving(&f, CAROL, "", HSS_NOT_REGISTERED);
	assert_serving(&f, ALICE, SCSCF1, HSS_REGISTERED);
	fixture_close(&f);
}

/* TS 29.229 6.2.2.7: an unknown Server-Assignment-Type changes nothing. */
static void test_sar_bad_assignment_type(void)
{
	struct fixture f;
	struct cx_saa a;

	fixture_open(&f);
	sar_ok(&f, ALICE, SCSCF1, CX_SAT_REGISTRATION);
	sar(&f, ALICE, ALICE_SIP, SCSCF2, 99, CX_USER_DATA_NOT_AVAILABLE, &a);
	assert_result(&a.result, CX_ERROR_IN_ASSIGNMENT_TYPE, true);
	CU_ASSERT_PTR_NULL(a.user_data);
	assert_serving(&f, ALICE, SCSCF1, HSS_REGISTERED);
	fixture_close(&f);
}

/* TS 29.228 6.1.4.1 step 1. */
static void test_lir_unknown(void)
{
	struct fixture f;
	struct cx_lia a;

	fixture_open(&f);
	lir(&f, "sip:nobody@ims.alpha.test", 0, &a);
	assert_result(&a.result, CX_ERROR_USER_UNKNOWN, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_no_capabilities(&a.capabilities);
	fixture_close(&f);
}

/* TS 29.228 6.1.4.1 step 2: registered -> the serving S-CSCF, for every IMPU of the
 * implicit set. */
static void test_lir_registered(void)
{
	struct fixture f;
	struct cx_lia a;

	fixture_open(&f);
	sar_ok(&f, ALICE, SCSCF2, CX_SAT_REGISTRATION);
	lir(&f, ALICE_SIP, 0, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.server_name, SCSCF2);
	assert_no_capabilities(&a.capabilities);
	lir(&f, ALICE_TEL, 0, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.server_name, SCSCF2);
	fixture_close(&f);
}

/* TS 29.228 6.1.4.1 step 2: not registered (every lab user has unregistered services):
 * capabilities when no S-CSCF is assigned; after a de-registration that stored the
 * S-CSCF the user is unregistered and that S-CSCF is named. */
static void test_lir_not_registered(void)
{
	struct fixture f;
	struct cx_lia a;

	fixture_open(&f);
	lir(&f, DAVE_SIP, 0, &a);
	assert_result(&a.result, CX_UNREGISTERED_SERVICE, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_capabilities(&a.capabilities);

	sar_ok(&f, DAVE, SCSCF2, CX_SAT_REGISTRATION);
	sar_ok(&f, DAVE, SCSCF2, CX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME);
	lir(&f, DAVE_SIP, 0, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.server_name, SCSCF2);
	assert_no_capabilities(&a.capabilities);

	sar_ok(&f, DAVE, SCSCF2, CX_SAT_USER_DEREGISTRATION);
	lir(&f, DAVE_SIP, 0, &a);
	assert_result(&a.result, CX_UNREGISTERED_SERVICE, true);
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_capabilities(&a.capabilities);
	fixture_close(&f);
}

/* TS 29.228 6.1.4.1: unregistered (an S-CSCF holds the profile after UNREGISTERED_USER)
 * -> that S-CSCF. */
static void test_lir_unregistered(void)
{
	struct fixture f;
	struct cx_lia a;

	fixture_open(&f);
	sar_ok(&f, CAROL, SCSCF1, CX_SAT_UNREGISTERED_USER);
	lir(&f, CAROL_SIP, 0, &a);
	assert_result(&a.result, DIA_SUCCESS, false);
	CU_ASSERT_STRING_EQUAL(a.server_name, SCSCF1);
	assert_no_capabilities(&a.capabilities);
	fixture_close(&f);
}

/* TS 29.228 6.1.4.1: REGISTRATION_AND_CAPABILITIES asks for capabilities (the I-CSCF
 * re-selects an S-CSCF). The clause's result code for a user that is not registered
 * (DIAMETER_UNREGISTERED_SERVICE) differs from hss_cx.c's (DIAMETER_SUCCESS): only
 * success is pinned until the code is settled. */
static void test_lir_capabilities(void)
{
	struct fixture f;
	struct cx_lia a;

	fixture_open(&f);
	lir(&f, DAVE_SIP, CX_AUTH_REGISTRATION_AND_CAPABILITIES, &a);
	CU_ASSERT(cx_result_success(&a.result));
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_capabilities(&a.capabilities);

	sar_ok(&f, DAVE, SCSCF1, CX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME);
	lir(&f, DAVE_SIP, CX_AUTH_REGISTRATION_AND_CAPABILITIES, &a);
	CU_ASSERT(cx_result_success(&a.result));
	CU_ASSERT_STRING_EQUAL(a.server_name, "");
	assert_capabilities(&a.capabilities);
	fixture_close(&f);
}

/* TS 29.228 Annex E: identities are text content, so XML specials are escaped. */
static void test_user_data_escaping(void)
{
	struct hss_subscriber sub;
	char *xml;

	memset(&sub, 0, sizeof(sub));
	snprintf(sub.impi, sizeof(sub.impi), "%s", "o'neil&<co>@x.test");
	snprintf(sub.impus[0].uri, sizeof(sub.impus[0].uri), "%s", "sip:\"q\"<a>&b'@x.test");
	snprintf(sub.impus[1].uri, sizeof(sub.impus[1].uri), "%s", "tel:+1555");
	sub.impus[1].barred = true;
	sub.n_impus = 2;
	xml = hss_cx_user_data(&sub);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(xml, "<PrivateID>o&apos;neil&amp;&lt;co&gt;@x.test</PrivateID>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml,
	                              "<PublicIdentity><Identity>sip:&quot;q&quot;&lt;a&gt;&amp;"
	                              "b&apos;@x.test</Identity></PublicIdentity>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml,
	                              "<PublicIdentity><BarringIndication>1</BarringIndication>"
	                              "<Identity>tel:+1555</Identity></PublicIdentity>"));
	CU_ASSERT_PTR_NULL(strstr(xml, "<co>"));
	CU_ASSERT_PTR_NULL(strstr(xml, "<a>"));
	free(xml);

	/* A barred subscription bars every identity; the longest identities still fit. */
	memset(&sub, 0, sizeof(sub));
	memset(sub.impi, '&', sizeof(sub.impi) - 1);
	for (size_t i = 0; i < HSS_IMPUS_MAX; i++)
		memset(sub.impus[i].uri, '"', sizeof(sub.impus[i].uri) - 1);
	sub.n_impus = HSS_IMPUS_MAX;
	sub.barred = true;
	xml = hss_cx_user_data(&sub);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_EQUAL(count_of(xml, "<BarringIndication>1</BarringIndication>"), HSS_IMPUS_MAX);
	CU_ASSERT_EQUAL(count_of(xml, "&amp;"), HSS_IMPI_MAX - 1);
	CU_ASSERT_EQUAL(count_of(xml, "&quot;"), HSS_IMPUS_MAX * (HSS_URI_MAX - 1));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "</ServiceProfile></IMSSubscription>"));
	free(xml);
}

/* The Cx handler table dia_core registers: the four commands the HSS serves. */
static void test_handlers(void)
{
	static const uint32_t want[] = {CX_CMD_UAR, CX_CMD_SAR, CX_CMD_LIR, CX_CMD_MAR};
	struct dia_handler rows[8];
	struct hss h;

	memset(&h, 0, sizeof(h));
	memset(rows, 0, sizeof(rows));
	CU_ASSERT_EQUAL_FATAL(hss_cx_handlers(&h, rows, 8), 4);
	for (size_t i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(rows[i].command, want[i]);
		CU_ASSERT_PTR_NOT_NULL(rows[i].fn);
		CU_ASSERT_PTR_EQUAL(rows[i].arg, &h);
	}
	CU_ASSERT_EQUAL(rows[4].command, 0);
	memset(rows, 0, sizeof(rows));
	CU_ASSERT_EQUAL(hss_cx_handlers(&h, rows, 2), 2);
	CU_ASSERT_EQUAL(rows[2].command, 0);
}

int test_hss_cx_register(void)
{
	static CU_TestInfo tests[] = {
	    {"fixture is TS 35.208 set 1", test_fixture},
	    {"uar identities", test_uar_identities},
	    {"uar barring", test_uar_barring},
	    {"uar roaming", test_uar_roaming},
	    {"uar registration", test_uar_registration},
	    {"uar de-registration", test_uar_deregistration},
	    {"uar registration and capabilities", test_uar_capabilities},
	    {"mar aka vectors", test_mar_aka},
	    {"mar aka items bound", test_mar_aka_items_bound},
	    {"mar sip digest", test_mar_digest},
	    {"mar scheme not supported", test_mar_scheme_unsupported},
	    {"mar scheme unknown", test_mar_scheme_unknown},
	    {"mar identities", test_mar_identities},
	    {"mar resync", test_mar_resync},
	    {"mar resync in range", test_mar_resync_in_range},
	    {"mar resync rejected", test_mar_resync_rejected},
	    {"sar registration and user data", test_sar_registration},
	    {"sar re-registration", test_sar_reregistration},
	    {"sar de-registration", test_sar_deregistration},
	    {"sar unregistered user", test_sar_unregistered_user},
	    {"sar several public identities", test_sar_several_identities},
	    {"sar no assignment", test_sar_no_assignment},
	    {"sar identities", test_sar_identities},
	    {"sar bad assignment type", test_sar_bad_assignment_type},
	    {"lir unknown", test_lir_unknown},
	    {"lir registered", test_lir_registered},
	    {"lir not registered", test_lir_not_registered},
	    {"lir unregistered", test_lir_unregistered},
	    {"lir registration and capabilities", test_lir_capabilities},
	    {"user data escaping", test_user_data_escaping},
	    {"handler table", test_handlers},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("hss_cx", tests);
}
