/* Tests for common/topo.c: a full valid file parses with its defaults, the lookups
 * answer routing questions, every validation rule rejects its broken fixture in
 * tests/fixtures/topo/ with the exact message, and the shipped topologies load with
 * keys SIPp can use. Paths are relative to the repository root, where make runs tests. */
#include "topo.h"
#include "unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPO_FIXTURES "tests/fixtures/topo/"

/* Fails the current test with a message naming the case, what came back and what was
 * expected (CUnit copies the text). */
static void expect_error(const char *what, struct topo *t, const char *err, const char *want)
{
	char msg[1024];
	int ok = !t && strcmp(err, want) == 0;

	if (snprintf(msg, sizeof(msg), "%s: got \"%s\", want \"%s\"", what, t ? "(no error)" : err,
	             want) < 0)
		msg[0] = '\0';
	CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, __LINE__, msg, __FILE__, "", CU_FALSE);
	topo_free(t);
}

static struct topo *parse_text(const char *json, char *err, size_t errlen)
{
	return topo_parse(json, strlen(json), err, errlen);
}

/* ---- a valid file ---- */

static void test_valid_lab(void)
{
	char err[256];
	struct topo *t = topo_load(TOPO_FIXTURES "valid.json", err, sizeof(err));
	const struct topo_domain *a, *b;
	const struct topo_node *n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_STRING_EQUAL(t->name, "valid_lab-1.0");
	CU_ASSERT_TRUE(t->tls);
	CU_ASSERT_EQUAL_FATAL(t->n_domains, 2);
	a = &t->domains[0];
	b = &t->domains[1];
	CU_ASSERT_STRING_EQUAL(a->name, "ims.alpha.test");
	CU_ASSERT_EQUAL_FATAL(a->n_tel_prefixes, 2);
	CU_ASSERT_STRING_EQUAL(a->tel_prefixes[1], "+44");
	CU_ASSERT_EQUAL_FATAL(a->n_nodes, 8);
	CU_ASSERT_EQUAL(b->n_subscribers, 0);
	CU_ASSERT_PTR_NULL(b->subscribers);

	/* HSS: every port defaulted, no SIP */
	n = &a->nodes[0];
	CU_ASSERT_EQUAL(n->role, TOPO_HSS);
	CU_ASSERT_STRING_EQUAL(n->fqdn, "hss.ims.alpha.test");
	CU_ASSERT_EQUAL(n->sip_port, 0);
	CU_ASSERT_EQUAL(n->diameter_port, 3868);
	CU_ASSERT_EQUAL(n->rest_port, 8080);
	CU_ASSERT_FALSE(n->external);
	CU_ASSERT_PTR_EQUAL(n->domain, a);
	CU_ASSERT_PTR_NULL(n->subscriber);
	CU_ASSERT_PTR_NULL(n->transport);

	/* S-CSCF: explicit ports and the full Unsigned32 capability range */
	n = &a->nodes[1];
	CU_ASSERT_EQUAL(n->role, TOPO_SCSCF);
	CU_ASSERT_STRING_EQUAL(n->address, "127.0.1.3");
	CU_ASSERT_EQUAL(n->sip_port, 5070);
	CU_ASSERT_EQUAL(n->diameter_port, 3870);
	CU_ASSERT_EQUAL(n->rest_port, 8081);
	CU_ASSERT_EQUAL_FATAL(n->n_capabilities, 3);
	CU_ASSERT_EQUAL(n->capabilities[0], 0);
	CU_ASSERT_EQUAL(n->capabilities[1], 7);
	CU_ASSERT_EQUAL(n->capabilities[2], 4294967295u);
	n = &a->nodes[2];
	CU_ASSERT_EQUAL(n->n_capabilities, 0);
	CU_ASSERT_PTR_NULL(n->capabilities);
	CU_ASSERT_TRUE(n->external);
	CU_ASSERT_EQUAL(n->sip_port, 5060);
	CU_ASSERT_EQUAL(n->diameter_port, 3868);

	/* I-CSCF and P-CSCF defaults */
	CU_ASSERT_EQUAL(a->nodes[3].sip_port, 5060);
	CU_ASSERT_EQUAL(a->nodes[3].diameter_port, 3868);
	CU_ASSERT_EQUAL(a->nodes[4].sip_port, 5060);
	CU_ASSERT_EQUAL(a->nodes[4].diameter_port, 0);
	CU_ASSERT_EQUAL(a->nodes[4].rest_port, 8080);

	/* UEs: defaults, then every option set */
	n = &a->nodes[6];
	CU_ASSERT_EQUAL(n->role, TOPO_UE);
	CU_ASSERT_STRING_EQUAL(n->fqdn, "alice.ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(n->subscriber, "alice@ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(n->pcscf, "pcscf");
	CU_ASSERT_STRING_EQUAL(n->transport, "udp");
	CU_ASSERT_FALSE(n->auto_answer);
	CU_ASSERT_FALSE(n->external);
	CU_ASSERT_EQUAL(n->sip_port, 5060);
	CU_ASSERT_EQUAL(n->diameter_port, 0);
	n = &a->nodes[7];
	CU_ASSERT_STRING_EQUAL(n->pcscf, "PCSCF2");
	CU_ASSERT_STRING_EQUAL(n->transport, "tcp");
	CU_ASSERT_TRUE(n->auto_answer);
	CU_ASSERT_TRUE(n->external);
	CU_ASSERT_EQUAL(n->sip_port, 5062);
	CU_ASSERT_EQUAL(n->rest_port, 8082);

	/* beta: explicit HSS ports, P-CSCF SIP port */
	CU_ASSERT_EQUAL(b->nodes[0].diameter_port, 3869);
	CU_ASSERT_EQUAL(b->nodes[0].rest_port, 9090);
	CU_ASSERT_EQUAL(b->nodes[3].sip_port, 5080);
	CU_ASSERT_STRING_EQUAL(b->nodes[3].fqdn, "pcscf.ims.beta.test");
	topo_free(t);
}

static void test_valid_subscribers(void)
{
	static const uint8_t alice_k[16] = {0x00, 0x0a, 0x5b, 0x01, 0x02, 0x03, 0x04, 0x05,
	                                    0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d};
	static const uint8_t alice_op[16] = {0x5b, 0x00, 0x0a, 0x11, 0x12, 0x13, 0x14, 0x15,
	                                     0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d};
	static const uint8_t carol_opc[16] = {0x2d, 0x5f, 0x09, 0x1b, 0x84, 0x8b, 0x99, 0x4f,
	                                      0x85, 0xfa, 0x09, 0x29, 0xf4, 0x2a, 0x9a, 0xe6};
	char err[256];
	struct topo *t = topo_load(TOPO_FIXTURES "valid.json", err, sizeof(err));
	const struct topo_subscriber *s;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL_FATAL(t->domains[0].n_subscribers, 3);

	/* K and OP with 0x00, 0x0a, 0x5b: valid for the network, only SIPp dislikes them */
	s = &t->domains[0].subscribers[0];
	CU_ASSERT_STRING_EQUAL(s->impi, "alice@ims.alpha.test");
	CU_ASSERT_TRUE(s->has_k);
	CU_ASSERT_FALSE(s->opc);
	CU_ASSERT_EQUAL(memcmp(s->k, alice_k, 16), 0);
	CU_ASSERT_EQUAL(memcmp(s->op, alice_op, 16), 0);
	CU_ASSERT_EQUAL(s->amf[0], 0xa1);
	CU_ASSERT_EQUAL(s->amf[1], 0xb2);
	CU_ASSERT_EQUAL(s->sqn, 0xffff0020u);
	CU_ASSERT_PTR_NULL(s->password);
	CU_ASSERT_FALSE(s->barred);
	CU_ASSERT_EQUAL_FATAL(s->n_impus, 3);
	CU_ASSERT_STRING_EQUAL(s->impus[0].uri, "sip:alice@ims.alpha.test");
	CU_ASSERT_FALSE(s->impus[0].barred);
	CU_ASSERT_STRING_EQUAL(s->impus[1].uri, "tel:+15550001");
	CU_ASSERT_TRUE(s->impus[1].barred);
	CU_ASSERT_STRING_EQUAL(s->impus[2].uri, "sips:alice.secure@ims.alpha.test");
	CU_ASSERT_FALSE(s->impus[2].barred);

	/* OPc, the largest SQN, default AMF, both credentials, barred */
	s = &t->domains[0].subscribers[1];
	CU_ASSERT_TRUE(s->has_k);
	CU_ASSERT_TRUE(s->opc);
	CU_ASSERT_EQUAL(memcmp(s->op, carol_opc, 16), 0);
	CU_ASSERT_EQUAL(s->sqn, 0xffffffffffffu);
	CU_ASSERT_EQUAL(s->amf[0], 0x80);
	CU_ASSERT_EQUAL(s->amf[1], 0x00);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->password);
	CU_ASSERT_STRING_EQUAL(s->password, "carol-pw");
	CU_ASSERT_TRUE(s->barred);

	/* Digest only: default SQN */
	s = &t->domains[0].subscribers[2];
	CU_ASSERT_FALSE(s->has_k);
	CU_ASSERT_FALSE(s->opc);
	CU_ASSERT_EQUAL(s->sqn, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->password);
	CU_ASSERT_STRING_EQUAL(s->password, "dave-pw");
	topo_free(t);
}

static void test_lookups(void)
{
	char err[256];
	struct topo *t = topo_load(TOPO_FIXTURES "valid.json", err, sizeof(err));
	const struct topo_domain *a, *b;
	const struct topo_node *n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	a = &t->domains[0];
	b = &t->domains[1];

	/* longest prefix wins: +1555 (beta) over +1 (alpha) */
	CU_ASSERT_PTR_EQUAL(topo_domain_by_tel(t, "+15550001"), b);
	CU_ASSERT_PTR_EQUAL(topo_domain_by_tel(t, "+1555"), b);
	CU_ASSERT_PTR_EQUAL(topo_domain_by_tel(t, "+1555999"), b);
	CU_ASSERT_PTR_EQUAL(topo_domain_by_tel(t, "+155"), a);
	CU_ASSERT_PTR_EQUAL(topo_domain_by_tel(t, "+16660002"), a);
	CU_ASSERT_PTR_EQUAL(topo_domain_by_tel(t, "+442071234567"), a);
	CU_ASSERT_PTR_NULL(topo_domain_by_tel(t, "+33123456"));
	CU_ASSERT_PTR_NULL(topo_domain_by_tel(t, "15550001"));
	CU_ASSERT_PTR_NULL(topo_domain_by_tel(t, ""));

	/* DNS names compare case-insensitively */
	n = topo_node_by_fqdn(t, "SCSCF.ims.beta.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_STRING_EQUAL(n->address, "127.0.2.3");
	CU_ASSERT_PTR_EQUAL(n->domain, b);
	CU_ASSERT_PTR_EQUAL(topo_node_by_fqdn(t, "scscf2.ims.alpha.test"), &a->nodes[2]);
	CU_ASSERT_PTR_NULL(topo_node_by_fqdn(t, "scscf"));
	CU_ASSERT_PTR_NULL(topo_node_by_fqdn(t, "ims.alpha.test"));
	CU_ASSERT_PTR_EQUAL(topo_domain_by_name(t, "ims.alpha.test"), a);
	CU_ASSERT_PTR_EQUAL(topo_domain_by_name(t, "IMS.Beta.Test"), b);
	CU_ASSERT_PTR_NULL(topo_domain_by_name(t, "ims.gamma.test"));

	/* first node of a role; by short name */
	CU_ASSERT_PTR_EQUAL(topo_domain_node(a, TOPO_SCSCF), &a->nodes[1]);
	CU_ASSERT_PTR_EQUAL(topo_domain_node(a, TOPO_PCSCF), &a->nodes[4]);
	CU_ASSERT_PTR_EQUAL(topo_domain_node(a, TOPO_UE), &a->nodes[6]);
	CU_ASSERT_PTR_NULL(topo_domain_node(b, TOPO_UE));
	CU_ASSERT_PTR_EQUAL(topo_domain_node_by_name(a, "pcscf2"), &a->nodes[5]);
	CU_ASSERT_PTR_EQUAL(topo_domain_node_by_name(a, "Alice-TCP"), &a->nodes[7]);
	CU_ASSERT_PTR_NULL(topo_domain_node_by_name(b, "alice"));

	/* subscribers by IMPI, exact */
	CU_ASSERT_PTR_EQUAL(topo_subscriber_by_impi(t, "carol@ims.alpha.test"), &a->subscribers[1]);
	CU_ASSERT_PTR_NULL(topo_subscriber_by_impi(t, "bob@ims.beta.test"));
	CU_ASSERT_PTR_NULL(topo_subscriber_by_impi(t, "sip:carol@ims.alpha.test"));

	/* role names both ways */
	CU_ASSERT_STRING_EQUAL(topo_role_name(TOPO_HSS), "hss");
	CU_ASSERT_STRING_EQUAL(topo_role_name(TOPO_SCSCF), "scscf");
	CU_ASSERT_STRING_EQUAL(topo_role_name(TOPO_ICSCF), "icscf");
	CU_ASSERT_STRING_EQUAL(topo_role_name(TOPO_PCSCF), "pcscf");
	CU_ASSERT_STRING_EQUAL(topo_role_name(TOPO_UE), "ue");
	CU_ASSERT_EQUAL(topo_role_parse("icscf"), TOPO_ICSCF);
	CU_ASSERT_EQUAL(topo_role_parse("ue"), TOPO_UE);
	CU_ASSERT_EQUAL(topo_role_parse("ICSCF"), -1);
	CU_ASSERT_EQUAL(topo_role_parse(""), -1);
	topo_free(t);
}

/* ---- broken files: one rule each ---- */

static const struct {
	const char *fixture; /* file name in tests/fixtures/topo/ without .json */
	const char *error;   /* the exact message topo_load must give */
} broken[] = {
    {"unknown-field-root", "nmae: unknown field"},
    {"unknown-field-node", "domains[0].nodes[1].sip_prot: unknown field"},
    {"unknown-field-subscriber", "domains[0].subscribers[0].opp: unknown field"},
    {"unknown-field-domain", "domains[0].tel_prefix: unknown field"},
    {"unknown-field-impu", "domains[0].subscribers[0].impus[1].bared: unknown field"},
    {"missing-name", "name: required field is missing"},
    {"bad-lab-name", "name: \"my lab\" is not a lab name (1-63 letters, digits, '.', '_' or '-')"},
    {"missing-domains", "domains: required field is missing"},
    {"type-tls", "tls: expected a boolean, found a string"},
    {"domains-empty", "domains: must list at least one domain"},
    {"domain-not-object", "domains[0]: expected an object, found a string"},
    {"missing-nodes", "domains[0].nodes: required field is missing"},
    {"type-subscribers", "domains[0].subscribers: expected an array, found an object"},
    {"domain-name-invalid", "domains[0].name: \"ims..alpha.test\" is not a DNS name (dot-separated "
                            "labels of letters, digits and '-')"},
    {"domain-name-duplicate", "domains[1].name: \"IMS.alpha.test\" is already used by domains[0]"},
    {"tel-prefix-invalid",
     "domains[0].tel_prefixes[0]: \"1555\" is not an E.164 prefix ('+' then 1-15 digits)"},
    {"tel-prefix-too-long", "domains[0].tel_prefixes[1]: \"+1234567890123456\" is not an E.164 "
                            "prefix ('+' then 1-15 digits)"},
    {"tel-prefix-type", "domains[0].tel_prefixes[0]: expected a string, found a number"},
    {"tel-prefix-duplicate",
     "domains[1].tel_prefixes[1]: \"+1555\" is already used by domains[0].tel_prefixes[0]"},
    {"node-role-unknown",
     "domains[0].nodes[1].role: \"mme\" is not a role (hss, scscf, icscf, pcscf, ue)"},
    {"node-role-missing", "domains[0].nodes[2].role: required field is missing"},
    {"node-not-object", "domains[0].nodes[0]: expected an object, found a string"},
    {"node-address-missing", "domains[0].nodes[1].address: required field is missing"},
    {"node-name-invalid", "domains[0].nodes[1].name: \"s_cscf\" is not a DNS label (1-63 letters, "
                          "digits or '-', not starting or ending with '-')"},
    {"node-name-duplicate",
     "domains[0].nodes[2].name: \"scscf\" is already used by domains[0].nodes[1]"},
    {"node-address-invalid",
     "domains[0].nodes[2].address: \"127.0.0.300\" is not an IPv4 loopback address (127.0.0.0/8)"},
    {"node-address-not-loopback",
     "domains[0].nodes[2].address: \"10.0.0.2\" is not an IPv4 loopback address (127.0.0.0/8)"},
    {"node-address-ipv6",
     "domains[0].nodes[2].address: \"::1\" is not an IPv4 loopback address (127.0.0.0/8)"},
    {"port-too-big", "domains[0].nodes[1].sip_port: 70000 is out of range (1-65535)"},
    {"port-zero", "domains[0].nodes[1].rest_port: 0 is out of range (1-65535)"},
    {"port-type", "domains[0].nodes[1].diameter_port: expected an integer, found a string"},
    {"sip-port-on-hss", "domains[0].nodes[0].sip_port: not allowed for role hss"},
    {"diameter-port-on-pcscf", "domains[0].nodes[3].diameter_port: not allowed for role pcscf"},
    {"diameter-port-on-ue", "domains[0].nodes[4].diameter_port: not allowed for role ue"},
    {"clash-sip", "domains[0].nodes[2].sip_port: 127.0.1.3:5060 is already used by "
                  "domains[0].nodes[1].sip_port"},
    {"clash-diameter", "domains[0].nodes[2].diameter_port: 127.0.1.3:3868 is already used by "
                       "domains[0].nodes[1].diameter_port"},
    {"clash-rest", "domains[0].nodes[3].rest_port: 127.0.1.3:8080 is already used by "
                   "domains[0].nodes[1].rest_port"},
    {"clash-across-domains", "domains[1].nodes[0].diameter_port: 127.0.1.10:3868 is already used "
                             "by domains[0].nodes[0].diameter_port"},
    {"clash-same-node", "domains[0].nodes[1].rest_port: 127.0.1.3:5060 is already used by "
                        "domains[0].nodes[1].sip_port"},
    {"clash-cross-protocol", "domains[0].nodes[3].sip_port: 127.0.1.3:8080 is already used by "
                             "domains[0].nodes[1].rest_port"},
    {"no-hss", "domains[0].nodes: needs exactly one hss, found 0"},
    {"two-hss", "domains[0].nodes: needs exactly one hss, found 2"},
    {"no-scscf", "domains[0].nodes: needs at least one scscf, found none"},
    {"no-icscf", "domains[0].nodes: needs at least one icscf, found none"},
    {"no-pcscf", "domains[0].nodes: needs at least one pcscf, found none"},
    {"capabilities-on-icscf", "domains[0].nodes[2].capabilities: not allowed for role icscf"},
    {"capabilities-negative",
     "domains[0].nodes[1].capabilities[1]: -2 is out of range (0-4294967295)"},
    {"capabilities-too-big",
     "domains[0].nodes[1].capabilities[1]: 4294967296 is out of range (0-4294967295)"},
    {"capabilities-type",
     "domains[0].nodes[1].capabilities[1]: expected an integer, found a string"},
    {"capabilities-not-array",
     "domains[0].nodes[1].capabilities: expected an array, found a number"},
    {"ue-subscriber-missing", "domains[0].nodes[4].subscriber: required field is missing"},
    {"ue-subscriber-unknown", "domains[0].nodes[4].subscriber: \"zoe@ims.alpha.test\" is not a "
                              "subscriber of ims.alpha.test"},
    {"ue-subscriber-other-domain", "domains[1].nodes[4].subscriber: \"alice@ims.alpha.test\" is "
                                   "not a subscriber of ims.beta.test"},
    {"ue-pcscf-unknown",
     "domains[0].nodes[4].pcscf: \"pcscf2\" is not a pcscf node of ims.alpha.test"},
    {"ue-pcscf-not-pcscf",
     "domains[0].nodes[4].pcscf: \"scscf\" is not a pcscf node of ims.alpha.test"},
    {"ue-pcscf-other-domain",
     "domains[0].nodes[4].pcscf: \"pcscf.ims.beta.test\" is not a pcscf node of ims.alpha.test"},
    {"ue-transport", "domains[0].nodes[4].transport: \"sctp\" is not a transport (udp or tcp)"},
    {"ue-field-on-scscf", "domains[0].nodes[1].subscriber: not allowed for role scscf"},
    {"ue-field-on-pcscf", "domains[0].nodes[3].auto_answer: not allowed for role pcscf"},
    {"type-auto-answer", "domains[0].nodes[4].auto_answer: expected a boolean, found a number"},
    {"impi-form", "domains[0].subscribers[0].impi: \"alice\" is not of the form user@realm"},
    {"impi-no-user",
     "domains[0].subscribers[0].impi: \"@ims.alpha.test\" is not of the form user@realm"},
    {"impi-duplicate", "domains[1].subscribers[0].impi: \"alice@ims.alpha.test\" is already used "
                       "by domains[0].subscribers[0]"},
    {"impus-empty", "domains[0].subscribers[0].impus: must list at least one public identity"},
    {"impus-missing", "domains[0].subscribers[0].impus: required field is missing"},
    {"impu-scheme", "domains[0].subscribers[0].impus[1]: \"mailto:alice@ims.alpha.test\" is not a "
                    "sip:, sips: or tel: URI"},
    {"impu-sip-empty",
     "domains[0].subscribers[0].impus[0]: \"sip:\" is not a sip:, sips: or tel: URI"},
    {"impu-tel-local", "domains[0].subscribers[0].impus[1]: \"tel:5550001\" is not a global tel "
                       "URI (\"tel:+\" then 1-15 digits)"},
    {"impu-tel-separators", "domains[0].subscribers[0].impus[1].uri: \"tel:+1-555-0001\" is not a "
                            "global tel URI (\"tel:+\" then 1-15 digits)"},
    {"impu-duplicate", "domains[0].subscribers[1].impus[0]: \"sip:Alice@IMS.alpha.test\" is "
                       "already used by domains[0].subscribers[0].impus[0]"},
    {"impu-duplicate-across-domains", "domains[1].subscribers[0].impus[2].uri: \"tel:+15550001\" "
                                      "is already used by domains[0].subscribers[0].impus[1]"},
    {"impu-uri-missing", "domains[0].subscribers[0].impus[1].uri: required field is missing"},
    {"impu-type",
     "domains[0].subscribers[0].impus[1]: expected a string or an object, found a number"},
    {"k-short", "domains[0].subscribers[0].k: expected 32 hex digits"},
    {"op-not-hex", "domains[0].subscribers[0].op: expected 32 hex digits"},
    {"opc-long", "domains[0].subscribers[0].opc: expected 32 hex digits"},
    {"op-and-opc", "domains[0].subscribers[0].opc: give either op or opc, not both"},
    {"k-without-op", "domains[0].subscribers[0].k: needs op or opc"},
    {"op-without-k", "domains[0].subscribers[0].op: needs k"},
    {"opc-without-k", "domains[0].subscribers[0].opc: needs k"},
    {"no-credentials", "domains[0].subscribers[0]: no credentials (give k with op or opc for AKA, "
                       "password for Digest MD5, or both)"},
    {"amf-short", "domains[0].subscribers[0].amf: expected 4 hex digits"},
    {"sqn-not-hex", "domains[0].subscribers[0].sqn: expected 12 hex digits"},
    {"sqn-type", "domains[0].subscribers[0].sqn: expected a string, found a number"},
    {"password-empty", "domains[0].subscribers[0].password: expected 1-255 characters"},
    {"type-barred", "domains[0].subscribers[0].barred: expected a boolean, found a string"},
};

static void test_broken_fixtures(void)
{
	char path[256], err[512];

	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		snprintf(path, sizeof(path), TOPO_FIXTURES "%s.json", broken[i].fixture);
		expect_error(broken[i].fixture, topo_load(path, err, sizeof(err)), err,
		             broken[i].error);
	}
}

/* ---- errors that need no file ---- */

static void test_json_errors(void)
{
	char err[512];

	expect_error("syntax", parse_text("{\"name\": \"x\",}", err, sizeof(err)), err,
	             "invalid JSON at line 1 column 14: string or '}' expected near '}'");
	expect_error("duplicate key",
	             parse_text("{\"name\": \"a\",\n \"name\": \"b\"}", err, sizeof(err)), err,
	             "invalid JSON at line 2 column 7: duplicate object key near '\"name\"'");
	expect_error("empty", parse_text("", err, sizeof(err)), err,
	             "invalid JSON at line 1 column 0: '[' or '{' expected near end of file");
	expect_error("root array", parse_text("[]", err, sizeof(err)), err,
	             "topology: expected an object, found an array");
	expect_error("root empty", parse_text("{}", err, sizeof(err)), err,
	             "name: required field is missing");
	expect_error("no file", topo_load(TOPO_FIXTURES "no-such-file.json", err, sizeof(err)), err,
	             "unable to open " TOPO_FIXTURES
	             "no-such-file.json: No such file or directory");
}

/* A node's fqdn must stay a valid DNS name even when the domain name is long. */
static void test_fqdn_too_long(void)
{
	char domain[260], json[1024], want[512], err[512];
	size_t len = 0;

	/* four labels: 63 + 63 + 63 + 61 characters and three dots = 253 */
	for (int label = 0; label < 4; label++) {
		size_t n = label < 3 ? 63 : 61;

		memset(domain + len, 'a' + label, n);
		len += n;
		domain[len++] = label < 3 ? '.' : '\0';
	}
	snprintf(json, sizeof(json),
	         "{\"name\": \"x\", \"domains\": [{\"name\": \"%s\", \"nodes\": ["
	         "{\"role\": \"hss\", \"name\": \"hss\", \"address\": \"127.0.1.10\"}]}]}",
	         domain);
	snprintf(want, sizeof(want),
	         "domains[0].nodes[0].name: \"hss.%s\" is longer than 253 characters", domain);
	expect_error("long fqdn", parse_text(json, err, sizeof(err)), err, want);
}

/* The caller's buffer bounds the message; no buffer at all is fine too. */
static void test_error_buffer(void)
{
	char err[16];

	memset(err, 'x', sizeof(err));
	CU_ASSERT_PTR_NULL(topo_load(TOPO_FIXTURES "clash-sip.json", err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "domains[0].node");
	CU_ASSERT_PTR_NULL(topo_load(TOPO_FIXTURES "clash-sip.json", NULL, 0));
	CU_ASSERT_PTR_NULL(parse_text("{", NULL, 0));
	topo_free(NULL);
}

/* Benchmark labs list thousands of subscribers: uniqueness must hold (and stay fast)
 * across many entries. Adds n subscribers to one-domain.json, then one duplicate IMPU. */
static struct topo *parse_many(size_t n, bool duplicate, char *err, size_t errlen)
{
	json_t *root = json_load_file("topologies/one-domain.json", 0, NULL);
	json_t *subs;
	struct topo *t = NULL;
	char impi[64], sip[80], tel[32];
	char *text;

	if (!root)
		return NULL;
	subs = json_object_get(json_array_get(json_object_get(root, "domains"), 0), "subscribers");
	for (size_t i = 0; i < n; i++) {
		snprintf(impi, sizeof(impi), "user%zu@ims.alpha.test", i);
		snprintf(sip, sizeof(sip), "sip:user%zu@ims.alpha.test", i);
		snprintf(tel, sizeof(tel), "tel:+1555%07zu", i);
		json_array_append_new(subs, json_pack("{s:s, s:[s,s], s:s}", "impi", impi, "impus",
		                                      sip, tel, "password", "pw"));
	}
	if (duplicate)
		json_array_append_new(
		    subs, json_pack("{s:s, s:[s], s:s}", "impi", "dup@ims.alpha.test", "impus",
		                    "sip:USER123@ims.alpha.test", "password", "pw"));
	text = json_dumps(root, 0);
	if (text)
		t = topo_parse(text, strlen(text), err, errlen);
	free(text);
	json_decref(root);
	return t;
}

static void test_many_subscribers(void)
{
	char err[512];
	struct topo *t = parse_many(2000, false, err, sizeof(err));

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(t->domains[0].n_subscribers, 2003);
	CU_ASSERT_PTR_NOT_NULL(topo_subscriber_by_impi(t, "user1999@ims.alpha.test"));
	topo_free(t);
	/* the three shipped subscribers come first: user123 is subscribers[126] */
	expect_error(
	    "duplicate after many", parse_many(2000, true, err, sizeof(err)), err,
	    "domains[0].subscribers[2003].impus[0]: \"sip:USER123@ims.alpha.test\" is already "
	    "used by domains[0].subscribers[126].impus[0]");
}

/* ---- the shipped topologies ---- */

static void test_one_domain(void)
{
	char err[256];
	struct topo *t = topo_load("topologies/one-domain.json", err, sizeof(err));
	const struct topo_domain *d;
	const struct topo_subscriber *s;
	const struct topo_node *n;

	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_STRING_EQUAL(t->name, "one-domain");
	CU_ASSERT_FALSE(t->tls);
	CU_ASSERT_EQUAL_FATAL(t->n_domains, 1);
	d = &t->domains[0];
	CU_ASSERT_STRING_EQUAL(d->name, "ims.alpha.test");
	CU_ASSERT_EQUAL(d->n_nodes, 6);
	CU_ASSERT_STRING_EQUAL(topo_domain_node(d, TOPO_HSS)->address, "127.0.1.10");
	CU_ASSERT_STRING_EQUAL(topo_domain_node(d, TOPO_SCSCF)->address, "127.0.1.3");
	CU_ASSERT_STRING_EQUAL(topo_domain_node(d, TOPO_ICSCF)->address, "127.0.1.2");
	CU_ASSERT_STRING_EQUAL(topo_domain_node(d, TOPO_PCSCF)->address, "127.0.1.1");
	CU_ASSERT_PTR_EQUAL(topo_domain_by_tel(t, "+15550003"), d);
	n = topo_node_by_fqdn(t, "alice.ims.alpha.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_STRING_EQUAL(n->address, "127.0.1.100");
	CU_ASSERT_STRING_EQUAL(n->subscriber, "alice@ims.alpha.test");
	n = topo_node_by_fqdn(t, "carol.ims.alpha.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_STRING_EQUAL(n->address, "127.0.1.101");

	CU_ASSERT_EQUAL_FATAL(d->n_subscribers, 3);
	s = topo_subscriber_by_impi(t, "alice@ims.alpha.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(s->has_k);
	CU_ASSERT_EQUAL_FATAL(s->n_impus, 2);
	CU_ASSERT_STRING_EQUAL(s->impus[0].uri, "sip:alice@ims.alpha.test");
	CU_ASSERT_STRING_EQUAL(s->impus[1].uri, "tel:+15550001");
	s = topo_subscriber_by_impi(t, "carol@ims.alpha.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(s->has_k);
	CU_ASSERT_STRING_EQUAL(s->impus[1].uri, "tel:+15550003");
	s = topo_subscriber_by_impi(t, "dave@ims.alpha.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_FALSE(s->has_k);
	CU_ASSERT_PTR_NOT_NULL(s->password);
	topo_free(t);
}

static void test_two_domains(void)
{
	char err[256];
	struct topo *t = topo_load("topologies/two-domains.json", err, sizeof(err));
	const struct topo_domain *alpha, *beta;
	const struct topo_node *n;

	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_STRING_EQUAL(t->name, "two-domains");
	CU_ASSERT_EQUAL_FATAL(t->n_domains, 2);
	alpha = topo_domain_by_name(t, "ims.alpha.test");
	beta = topo_domain_by_name(t, "ims.beta.test");
	CU_ASSERT_PTR_NOT_NULL_FATAL(alpha);
	CU_ASSERT_PTR_NOT_NULL_FATAL(beta);
	CU_ASSERT_EQUAL(alpha->n_nodes, 6);
	CU_ASSERT_EQUAL(alpha->n_subscribers, 3);
	CU_ASSERT_EQUAL(beta->n_nodes, 5);
	CU_ASSERT_STRING_EQUAL(topo_domain_node(beta, TOPO_HSS)->address, "127.0.2.10");
	CU_ASSERT_STRING_EQUAL(topo_domain_node(beta, TOPO_SCSCF)->address, "127.0.2.3");
	CU_ASSERT_STRING_EQUAL(topo_domain_node(beta, TOPO_ICSCF)->address, "127.0.2.2");
	CU_ASSERT_STRING_EQUAL(topo_domain_node(beta, TOPO_PCSCF)->address, "127.0.2.1");
	n = topo_domain_node(beta, TOPO_UE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(n);
	CU_ASSERT_STRING_EQUAL(n->name, "bob");
	CU_ASSERT_STRING_EQUAL(n->address, "127.0.2.100");
	CU_ASSERT_STRING_EQUAL(n->subscriber, "bob@ims.beta.test");
	CU_ASSERT_PTR_EQUAL(topo_domain_by_tel(t, "+16660002"), beta);
	CU_ASSERT_PTR_EQUAL(topo_domain_by_tel(t, "+15550001"), alpha);
	CU_ASSERT_PTR_NOT_NULL(topo_subscriber_by_impi(t, "erin@ims.beta.test"));
	topo_free(t);
}

/* SIPp cannot use a K or OP holding 0x00, 0x0a or 0x5b (FIELD-NOTES), and the shipped
 * subscribers must work with SIPp. */
static bool sipp_safe(const uint8_t *key)
{
	for (size_t i = 0; i < 16; i++)
		if (key[i] == 0x00 || key[i] == 0x0a || key[i] == 0x5b)
			return false;
	return true;
}

static void test_shipped_keys_sipp_safe(void)
{
	static const char *const files[] = {"topologies/one-domain.json",
	                                    "topologies/two-domains.json"};
	char err[256];

	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct topo *t = topo_load(files[f], err, sizeof(err));
		size_t checked = 0;

		CU_ASSERT_PTR_NOT_NULL_FATAL(t);
		for (size_t di = 0; di < t->n_domains; di++) {
			const struct topo_domain *d = &t->domains[di];

			for (size_t si = 0; si < d->n_subscribers; si++) {
				const struct topo_subscriber *s = &d->subscribers[si];

				if (!s->has_k)
					continue;
				CU_ASSERT_TRUE(sipp_safe(s->k));
				CU_ASSERT_TRUE(sipp_safe(s->op));
				/* SIPp takes OP, never OPc */
				CU_ASSERT_FALSE(s->opc);
				checked++;
			}
		}
		CU_ASSERT_TRUE(checked >= 2);
		topo_free(t);
	}
}

int test_topo_register(void)
{
	static CU_TestInfo tests[] = {
	    {"valid lab", test_valid_lab},
	    {"valid subscribers", test_valid_subscribers},
	    {"lookups", test_lookups},
	    {"broken fixtures", test_broken_fixtures},
	    {"json errors", test_json_errors},
	    {"fqdn too long", test_fqdn_too_long},
	    {"error buffer", test_error_buffer},
	    {"many subscribers", test_many_subscribers},
	    {"one-domain topology", test_one_domain},
	    {"two-domains topology", test_two_domains},
	    {"shipped keys are SIPp-safe", test_shipped_keys_sipp_safe},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("topo", tests);
}
