/* Shared JSON checks: type names for "expected X, found Y", kind matching (integers are
 * not reals), and the identity rules (DNS labels and names at their RFC 1035 limits,
 * E.164 numbers, IMPIs and IMPUs) used by the topology loader and the HSS REST API. */
#include "jcheck.h"
#include "unit.h"

#include <string.h>

static void test_names(void)
{
	json_t *v = json_pack("[s, i, f, b, n, {}, []]", "x", 1, 1.5, 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_STRING_EQUAL(jcheck_json_name(json_array_get(v, 0)), "a string");
	CU_ASSERT_STRING_EQUAL(jcheck_json_name(json_array_get(v, 1)), "a number");
	CU_ASSERT_STRING_EQUAL(jcheck_json_name(json_array_get(v, 2)), "a number");
	CU_ASSERT_STRING_EQUAL(jcheck_json_name(json_array_get(v, 3)), "a boolean");
	CU_ASSERT_STRING_EQUAL(jcheck_json_name(json_array_get(v, 4)), "null");
	CU_ASSERT_STRING_EQUAL(jcheck_json_name(json_array_get(v, 5)), "an object");
	CU_ASSERT_STRING_EQUAL(jcheck_json_name(json_array_get(v, 6)), "an array");
	CU_ASSERT_STRING_EQUAL(jcheck_kind_name(JCHECK_STRING), "a string");
	CU_ASSERT_STRING_EQUAL(jcheck_kind_name(JCHECK_BOOL), "a boolean");
	CU_ASSERT_STRING_EQUAL(jcheck_kind_name(JCHECK_INT), "an integer");
	CU_ASSERT_STRING_EQUAL(jcheck_kind_name(JCHECK_ARRAY), "an array");
	CU_ASSERT_STRING_EQUAL(jcheck_kind_name(JCHECK_OBJECT), "an object");
	json_decref(v);
}

static void test_kind_matches(void)
{
	json_t *v = json_pack("[s, i, f, b, n, {}, []]", "x", 1, 1.5, 0);

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	CU_ASSERT_TRUE(jcheck_kind_matches(json_array_get(v, 0), JCHECK_STRING));
	CU_ASSERT_TRUE(jcheck_kind_matches(json_array_get(v, 1), JCHECK_INT));
	CU_ASSERT_FALSE(jcheck_kind_matches(json_array_get(v, 2), JCHECK_INT));
	CU_ASSERT_TRUE(jcheck_kind_matches(json_array_get(v, 3), JCHECK_BOOL));
	CU_ASSERT_FALSE(jcheck_kind_matches(json_array_get(v, 4), JCHECK_STRING));
	CU_ASSERT_TRUE(jcheck_kind_matches(json_array_get(v, 5), JCHECK_OBJECT));
	CU_ASSERT_TRUE(jcheck_kind_matches(json_array_get(v, 6), JCHECK_ARRAY));
	CU_ASSERT_FALSE(jcheck_kind_matches(json_array_get(v, 6), JCHECK_OBJECT));
	json_decref(v);
}

static void test_dns(void)
{
	char label[JCHECK_DNS_LABEL_MAX + 2];
	char name[JCHECK_DNS_NAME_MAX + 2];

	CU_ASSERT_TRUE(jcheck_dns_label("scscf-1"));
	CU_ASSERT_FALSE(jcheck_dns_label(""));
	CU_ASSERT_FALSE(jcheck_dns_label("-a"));
	CU_ASSERT_FALSE(jcheck_dns_label("a-"));
	CU_ASSERT_FALSE(jcheck_dns_label("a.b"));
	CU_ASSERT_FALSE(jcheck_dns_label("a_b"));
	memset(label, 'a', JCHECK_DNS_LABEL_MAX);
	label[JCHECK_DNS_LABEL_MAX] = '\0';
	CU_ASSERT_TRUE(jcheck_dns_label(label));
	label[JCHECK_DNS_LABEL_MAX] = 'a';
	label[JCHECK_DNS_LABEL_MAX + 1] = '\0';
	CU_ASSERT_FALSE(jcheck_dns_label(label));

	CU_ASSERT_TRUE(jcheck_dns_name("ims.example.net"));
	CU_ASSERT_TRUE(jcheck_dns_name("localhost"));
	CU_ASSERT_FALSE(jcheck_dns_name(""));
	CU_ASSERT_FALSE(jcheck_dns_name("ims..net"));
	CU_ASSERT_FALSE(jcheck_dns_name("ims.net."));
	CU_ASSERT_FALSE(jcheck_dns_name(".ims.net"));
	/* 253 characters in labels of 1: "a.a.a...a". */
	for (size_t i = 0; i < JCHECK_DNS_NAME_MAX; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[JCHECK_DNS_NAME_MAX] = '\0';
	CU_ASSERT_TRUE(jcheck_dns_name(name));
	name[JCHECK_DNS_NAME_MAX] = '.';
	name[JCHECK_DNS_NAME_MAX + 1] = '\0';
	CU_ASSERT_FALSE(jcheck_dns_name(name));
}

static void test_e164(void)
{
	CU_ASSERT_TRUE(jcheck_e164("+1"));
	CU_ASSERT_TRUE(jcheck_e164("+123456789012345"));
	CU_ASSERT_FALSE(jcheck_e164("+1234567890123456"));
	CU_ASSERT_FALSE(jcheck_e164("+"));
	CU_ASSERT_FALSE(jcheck_e164("123"));
	CU_ASSERT_FALSE(jcheck_e164("+12a"));
}

static void test_impi(void)
{
	CU_ASSERT_TRUE(jcheck_impi("alice@ims.example.net"));
	CU_ASSERT_TRUE(jcheck_impi("a@b@ims.example.net"));
	CU_ASSERT_FALSE(jcheck_impi("alice"));
	CU_ASSERT_FALSE(jcheck_impi("@ims.example.net"));
	CU_ASSERT_FALSE(jcheck_impi("alice@"));
	CU_ASSERT_FALSE(jcheck_impi("al ice@ims.example.net"));
	CU_ASSERT_FALSE(jcheck_impi("al<ice@ims.example.net"));
	CU_ASSERT_FALSE(jcheck_impi("alice@ims_example.net"));
}

static void test_impu(void)
{
	CU_ASSERT_TRUE(jcheck_impu("sip:alice@ims.example.net"));
	CU_ASSERT_TRUE(jcheck_impu("sips:alice@ims.example.net"));
	CU_ASSERT_TRUE(jcheck_impu("tel:+15551234"));
	CU_ASSERT_FALSE(jcheck_impu("sip:"));
	CU_ASSERT_FALSE(jcheck_impu("sips:"));
	CU_ASSERT_FALSE(jcheck_impu("sip:al ice@x"));
	CU_ASSERT_FALSE(jcheck_impu("sip:\"a\"@x"));
	CU_ASSERT_FALSE(jcheck_impu("tel:5551234"));
	CU_ASSERT_FALSE(jcheck_impu("tel:+1234567890123456"));
	CU_ASSERT_FALSE(jcheck_impu("mailto:alice@x"));
	CU_ASSERT_FALSE(jcheck_impu("alice@x"));
}

int test_jcheck_register(void)
{
	static CU_TestInfo tests[] = {
	    {"type names", test_names}, {"kind matches", test_kind_matches},
	    {"dns", test_dns},          {"e164", test_e164},
	    {"impi", test_impi},        {"impu", test_impu},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("jcheck", tests);
}
