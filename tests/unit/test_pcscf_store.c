/* Tests for pcscf/pcscf_store.c: records found from every URI of the implicit set, the
 * emulated SA carried from the 401 to the 200 (and across a re-challenge), replacement
 * of records sharing a URI, the bound, refused lengths, and expiry on the loop. */
#include "loop.h"
#include "pcscf.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define SPAN(s) ((struct sip_span){(s), sizeof(s) - 1})

/* alice's 200: the IMPU, a tel URI and a second SIP URI; one Service-Route. */
static struct pcscf_binding alice(uint32_t expires)
{
	struct pcscf_binding b = {
	    .impu = SPAN("sip:alice@ims.alpha.test"),
	    .impi = SPAN("alice@ims.alpha.test"),
	    .contact = SPAN("sip:alice@127.0.1.100:5060"),
	    .ue = {.sin_family = AF_INET, .sin_port = htons(5060)},
	    .proto = SIP_PROTO_UDP,
	    .assoc = {SPAN("sip:alice@ims.alpha.test"), SPAN("tel:+15550001"),
	              SPAN("sip:alice-work@ims.alpha.test")},
	    .n_assoc = 3,
	    .service_route = {SPAN("<sip:orig@scscf.ims.alpha.test:5060;lr>")},
	    .n_service_route = 1,
	    .expires = expires,
	};

	inet_pton(AF_INET, "127.0.1.100", &b.ue.sin_addr);
	return b;
}

static const struct pcscf_reg *find(const struct pcscf_store *s, const char *uri)
{
	return pcscf_store_find(s, uri, strlen(uri));
}

static void test_register_and_find(void)
{
	struct loop *lp = loop_new();
	struct pcscf_store *s = pcscf_store_new(lp, 0, NULL, NULL);
	struct pcscf_binding b = alice(600);
	const struct pcscf_reg *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), 0);
	r = find(s, "sip:alice@ims.alpha.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->state, PCSCF_REGISTERED);
	CU_ASSERT_STRING_EQUAL(r->impi, "alice@ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(r->contact, "sip:alice@127.0.1.100:5060");
	CU_ASSERT_EQUAL(r->n_assoc, 3);
	CU_ASSERT_STRING_EQUAL(r->assoc[1], "tel:+15550001");
	CU_ASSERT_EQUAL(r->n_service_route, 1);
	CU_ASSERT_STRING_EQUAL(r->service_route[0], "<sip:orig@scscf.ims.alpha.test:5060;lr>");
	CU_ASSERT(r->expires_ms >= loop_now(lp) + 599000);
	/* Every URI of the set names the one record, whatever its case. */
	CU_ASSERT_PTR_EQUAL(find(s, "TEL:+15550001"), r);
	CU_ASSERT_PTR_EQUAL(find(s, "sip:alice-work@ims.alpha.test"), r);
	CU_ASSERT_PTR_NULL(find(s, "sip:bob@ims.alpha.test"));
	CU_ASSERT_PTR_NULL(find(s, "sip:alice@ims.alpha.tes"));
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_REGISTERED), 1);
	CU_ASSERT_PTR_EQUAL(pcscf_store_first(s), r);
	CU_ASSERT_PTR_NULL(pcscf_store_next(r));
	/* A refresh replaces the record, same count. */
	b.expires = 1200;
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), 0);
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_REGISTERED), 1);
	CU_ASSERT(find(s, "tel:+15550001")->expires_ms >= loop_now(lp) + 1199000);
	/* De-registration through any URI forgets all of them. */
	CU_ASSERT_EQUAL(pcscf_store_forget(s, "tel:+15550001", 13), 0);
	CU_ASSERT_PTR_NULL(find(s, "sip:alice@ims.alpha.test"));
	CU_ASSERT_PTR_NULL(find(s, "sip:alice-work@ims.alpha.test"));
	CU_ASSERT_EQUAL(pcscf_store_forget(s, "tel:+15550001", 13), -ENOENT);
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_REGISTERED), 0);
	pcscf_store_free(s);
	loop_free(lp);
}

static void test_security_association(void)
{
	struct loop *lp = loop_new();
	struct pcscf_store *s = pcscf_store_new(lp, 0, NULL, NULL);
	struct pcscf_binding b = alice(600);
	struct pcscf_sa first = {.set = true, .ck = {1}, .ik = {2}};
	struct pcscf_sa second = {.set = true, .ck = {3}, .ik = {4}};
	const struct pcscf_reg *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* 401: a pending record holds the keys, not yet registered. */
	CU_ASSERT_EQUAL(pcscf_store_challenge(s, b.impu, b.impi, &first), 0);
	r = find(s, "sip:alice@ims.alpha.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->state, PCSCF_PENDING);
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_PENDING), 1);
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_REGISTERED), 0);
	/* 200: registered with that SA. */
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), 0);
	r = find(s, "tel:+15550001");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->state, PCSCF_REGISTERED);
	CU_ASSERT(r->sa.set && r->sa.ck[0] == 1 && r->sa.ik[0] == 2);
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_PENDING), 0);
	/* Re-authentication: the old SA stays in use until the next 200. */
	CU_ASSERT_EQUAL(pcscf_store_challenge(s, b.impu, b.impi, &second), 0);
	r = find(s, "tel:+15550001");
	CU_ASSERT(r->sa.ck[0] == 1 && r->sa_new.set && r->sa_new.ck[0] == 3);
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), 0);
	r = find(s, "tel:+15550001");
	CU_ASSERT(r->sa.ck[0] == 3 && r->sa.ik[0] == 4 && !r->sa_new.set);
	pcscf_store_free(s);
	loop_free(lp);
}

static void test_shared_uri_replaces(void)
{
	struct loop *lp = loop_new();
	struct pcscf_store *s = pcscf_store_new(lp, 0, NULL, NULL);
	struct pcscf_binding a = alice(600), b = alice(600);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pcscf_store_register(s, &a), 0);
	/* Another IMPU whose implicit set now holds alice's tel URI. */
	b.impu = SPAN("sip:alice2@ims.alpha.test");
	b.assoc[0] = b.impu;
	b.n_assoc = 2;
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), 0);
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_REGISTERED), 1);
	CU_ASSERT_PTR_NULL(find(s, "sip:alice@ims.alpha.test"));
	CU_ASSERT_PTR_NULL(find(s, "sip:alice-work@ims.alpha.test"));
	CU_ASSERT_STRING_EQUAL(find(s, "tel:+15550001")->impu, "sip:alice2@ims.alpha.test");
	pcscf_store_free(s);
	loop_free(lp);
}

static void test_bounds(void)
{
	char long_uri[PCSCF_URI_MAX + 8];
	struct loop *lp = loop_new();
	struct pcscf_store *s = pcscf_store_new(lp, 2, NULL, NULL);
	struct pcscf_binding b = alice(600);
	struct pcscf_sa sa = {.set = true};

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pcscf_store_challenge(s, SPAN("sip:a@x"), SPAN("a@x"), &sa), 0);
	CU_ASSERT_EQUAL(pcscf_store_challenge(s, SPAN("sip:b@x"), SPAN("b@x"), &sa), 0);
	CU_ASSERT_EQUAL(pcscf_store_challenge(s, SPAN("sip:c@x"), SPAN("c@x"), &sa), -ENOSPC);
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), -ENOSPC);
	/* A known IMPU may always refresh: its record makes room for itself. */
	CU_ASSERT_EQUAL(pcscf_store_challenge(s, SPAN("sip:a@x"), SPAN("a@x"), &sa), 0);
	CU_ASSERT_EQUAL(pcscf_store_forget(s, "sip:b@x", 7), 0);
	memset(long_uri, 'a', sizeof(long_uri));
	b.contact = (struct sip_span){long_uri, PCSCF_URI_MAX + 1};
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), -EMSGSIZE);
	b.contact = SPAN("sip:alice@127.0.1.100");
	b.n_service_route = PCSCF_ROUTE_MAX + 1;
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), -EMSGSIZE);
	/* Nothing changed by the refusals. */
	CU_ASSERT_PTR_NULL(find(s, "sip:alice@ims.alpha.test"));
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_PENDING), 1);
	pcscf_store_free(s);
	loop_free(lp);
}

static void test_addr_key(void)
{
	static const struct {
		const char *uri; /* a contact or Request-URI */
		int rc;          /* length, or -errno */
		const char *key; /* the key when rc > 0 */
	} cases[] = {
	    {"sip:alice@127.0.1.100:5060", 16, "127.0.1.100:5060"},
	    {"sip:alice@127.0.1.100", 16, "127.0.1.100:5060"},
	    {"sip:127.0.1.100:5070;transport=tcp", 16, "127.0.1.100:5070"},
	    {"SIP:Bob@UE.Example.TEST;ob", 20, "ue.example.test:5060"},
	    {"sips:bob@ue.test", 12, "ue.test:5061"},
	    {"sip:+1555;npdi@10.0.0.1:7?x=y", 10, "10.0.0.1:7"},
	    {"sip:u@[::1]:5062", 10, "[::1]:5062"},
	    {"tel:+15550001", -EINVAL, NULL},
	    {"sip:alice@", -EINVAL, NULL},
	    {"sip:alice@host:0", -EINVAL, NULL},
	    {"sip:alice@host:99999", -EINVAL, NULL},
	    {"sip:alice@host:", -EINVAL, NULL},
	};
	char key[PCSCF_ADDR_KEY_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = pcscf_store_addr_key(cases[i].uri, strlen(cases[i].uri), key, sizeof(key));

		CU_ASSERT_EQUAL(rc, cases[i].rc);
		if (rc > 0 && cases[i].key)
			CU_ASSERT_STRING_EQUAL(key, cases[i].key);
	}
	CU_ASSERT_EQUAL(pcscf_store_addr_key("sip:a@host:5060", 15, key, 9), -ENOSPC);
}

static void test_find_contact(void)
{
	struct loop *lp = loop_new();
	struct pcscf_store *s = pcscf_store_new(lp, 0, NULL, NULL);
	struct pcscf_binding b = alice(600), c = alice(600);
	struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = htons(5060)};
	struct pcscf_sa sa = {.set = true};
	const struct pcscf_reg *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), 0);
	/* Whatever the user part and parameters, the host and port find the UE. */
	r = pcscf_store_find_contact(s, "sip:alice@127.0.1.100:5060", 26);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->impu, "sip:alice@ims.alpha.test");
	CU_ASSERT_PTR_EQUAL(pcscf_store_find_contact(s, "sip:x@127.0.1.100;ob", 20), r);
	CU_ASSERT_PTR_NULL(pcscf_store_find_contact(s, "sip:alice@127.0.1.100:5061", 26));
	CU_ASSERT_PTR_NULL(pcscf_store_find_contact(s, "tel:+15550001", 13));
	inet_pton(AF_INET, "127.0.1.100", &at.sin_addr);
	CU_ASSERT_PTR_EQUAL(pcscf_store_find_addr(s, &at), r);
	at.sin_port = htons(5070);
	CU_ASSERT_PTR_NULL(pcscf_store_find_addr(s, &at));
	/* A pending record (no contact yet) is not found by address. */
	CU_ASSERT_EQUAL(pcscf_store_challenge(s, SPAN("sip:p@x"), SPAN("p@x"), &sa), 0);
	CU_ASSERT_PTR_NULL(pcscf_store_find_contact(s, "sip:p@127.0.1.100:5070", 22));
	/* A second identity at the same contact: the newest is found; once it is gone,
	 * the first again. */
	c.impu = SPAN("sip:carol@ims.alpha.test");
	c.assoc[0] = c.impu;
	c.n_assoc = 1;
	CU_ASSERT_EQUAL(pcscf_store_register(s, &c), 0);
	r = pcscf_store_find_contact(s, "sip:alice@127.0.1.100", 21);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->impu, "sip:carol@ims.alpha.test");
	CU_ASSERT_EQUAL(pcscf_store_forget(s, "sip:carol@ims.alpha.test", 24), 0);
	r = pcscf_store_find_contact(s, "sip:alice@127.0.1.100", 21);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(r->impu, "sip:alice@ims.alpha.test");
	/* De-registration takes it out of the address index too. */
	CU_ASSERT_EQUAL(pcscf_store_forget(s, "tel:+15550001", 13), 0);
	CU_ASSERT_PTR_NULL(pcscf_store_find_contact(s, "sip:alice@127.0.1.100", 21));
	pcscf_store_free(s);
	loop_free(lp);
}

/* Collects expiries. */
struct expiries {
	int n;           /* calls */
	char impu[64];   /* IMPU of the last one */
	struct loop *lp; /* stopped on the first */
};

static void on_expired(void *arg, const struct pcscf_reg *r)
{
	struct expiries *e = arg;

	e->n++;
	snprintf(e->impu, sizeof(e->impu), "%s", r->impu);
}

static void stop(struct loop *lp, void *arg)
{
	(void)arg;
	loop_stop(lp);
}

static void test_expiry(void)
{
	struct loop *lp = loop_new();
	struct expiries e = {.lp = lp};
	struct pcscf_store *s = pcscf_store_new(lp, 0, on_expired, &e);
	struct pcscf_binding b = alice(1);
	struct pcscf_binding other = alice(600);
	struct pcscf_sa sa = {.set = true};

	CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	other.impu = SPAN("sip:carol@ims.alpha.test");
	other.n_assoc = 0;
	CU_ASSERT_EQUAL(pcscf_store_register(s, &b), 0);
	CU_ASSERT_EQUAL(pcscf_store_register(s, &other), 0);
	/* A pending record for a third UE expires silently after reg-await-auth. */
	CU_ASSERT_EQUAL(pcscf_store_challenge(s, SPAN("sip:dave@x"), SPAN("dave@x"), &sa), 0);
	loop_timer_add(lp, 1300, stop, NULL);
	CU_ASSERT_EQUAL(loop_run(lp), 0);
	CU_ASSERT_EQUAL(e.n, 1);
	CU_ASSERT_STRING_EQUAL(e.impu, "sip:alice@ims.alpha.test");
	CU_ASSERT_PTR_NULL(find(s, "tel:+15550001"));
	CU_ASSERT_PTR_NOT_NULL(find(s, "sip:carol@ims.alpha.test"));
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_REGISTERED), 1);
	CU_ASSERT_EQUAL(pcscf_store_count(s, PCSCF_PENDING), 1);
	pcscf_store_free(s);
	loop_free(lp);
}

int test_pcscf_store_register(void)
{
	static CU_TestInfo tests[] = {
	    {"register, find by every URI, refresh, forget", test_register_and_find},
	    {"SA from the 401 to the 200, re-challenge", test_security_association},
	    {"a record sharing a URI is replaced", test_shared_uri_replaces},
	    {"bound and lengths refused", test_bounds},
	    {"expiry on the loop", test_expiry},
	    {"contact address keys", test_addr_key},
	    {"records found by contact address", test_find_contact},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("pcscf_store", tests);
}
