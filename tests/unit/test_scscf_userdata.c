/* Tests for scscf/scscf_userdata.c: the implicit registration set and barring read from
 * User-Data (TS 29.228 Annex E) as our HSS writes it and as other HSSs may (namespaces,
 * comments, CDATA, character references, several service profiles), and malformed or
 * oversized documents refused. */
#include "scscf.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *xml, struct scscf_userdata *ud)
{
	return scscf_userdata_parse(xml, strlen(xml), ud);
}

static void test_hss_document(void)
{
	/* What hss_cx_user_data writes: a barred identity carries BarringIndication first. */
	const char *xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><IMSSubscription>"
	                  "<PrivateID>alice@ims.alpha.test</PrivateID><ServiceProfile>"
	                  "<PublicIdentity><Identity>sip:alice@ims.alpha.test</Identity>"
	                  "</PublicIdentity><PublicIdentity><BarringIndication>1"
	                  "</BarringIndication><Identity>sip:alice.hidden@ims.alpha.test"
	                  "</Identity></PublicIdentity><PublicIdentity><Identity>tel:+15550001"
	                  "</Identity></PublicIdentity></ServiceProfile></IMSSubscription>";
	struct scscf_userdata ud;

	CU_ASSERT_EQUAL_FATAL(parse(xml, &ud), 0);
	CU_ASSERT_STRING_EQUAL(ud.impi, "alice@ims.alpha.test");
	CU_ASSERT_EQUAL_FATAL(ud.n_ids, 3);
	CU_ASSERT_STRING_EQUAL(ud.ids[0].uri, "sip:alice@ims.alpha.test");
	CU_ASSERT_FALSE(ud.ids[0].barred);
	CU_ASSERT_STRING_EQUAL(ud.ids[1].uri, "sip:alice.hidden@ims.alpha.test");
	CU_ASSERT_TRUE(ud.ids[1].barred);
	CU_ASSERT_STRING_EQUAL(ud.ids[2].uri, "tel:+15550001");
	CU_ASSERT_FALSE(ud.ids[2].barred);
	CU_ASSERT_FALSE(ud.truncated);
}

static void test_escapes_and_markup(void)
{
	/* Prefixes, attributes (a '>' inside quotes), comments, a PI, CDATA, references,
	 * whitespace around text, an Identity nested deeper (Extension) that is not one of
	 * the set, BarringIndication false, two profiles, an empty element. */
	const char *xml =
	    "<?xml version='1.0'?>\n<!-- profile -->\n"
	    "<ims:IMSSubscription xmlns:ims=\"urn:x\" note='a>b'>\n"
	    "  <ims:PrivateID> u&amp;1@x </ims:PrivateID>\n"
	    "  <ims:ServiceProfile>\n"
	    "    <ims:PublicIdentity>\n"
	    "      <ims:BarringIndication>false</ims:BarringIndication>\n"
	    "      <ims:Identity>sip:a&amp;b&#x40;x;p=&quot;&lt;&gt;&apos;&#65;</ims:Identity>\n"
	    "      <ims:Extension><ims:Identity>sip:not-me@x</ims:Identity></ims:Extension>\n"
	    "      <ims:DisplayName/>\n"
	    "    </ims:PublicIdentity>\n"
	    "  </ims:ServiceProfile>\n"
	    "  <ServiceProfile><PublicIdentity><Identity><![CDATA[sip:<cdata>&@x]]></Identity>"
	    "<BarringIndication> 1 </BarringIndication></PublicIdentity>"
	    "<PublicIdentity><Identity>   </Identity></PublicIdentity></ServiceProfile>\n"
	    "</ims:IMSSubscription>\n";
	struct scscf_userdata ud;

	CU_ASSERT_EQUAL_FATAL(parse(xml, &ud), 0);
	CU_ASSERT_STRING_EQUAL(ud.impi, "u&1@x");
	CU_ASSERT_EQUAL_FATAL(ud.n_ids, 2);
	CU_ASSERT_STRING_EQUAL(ud.ids[0].uri, "sip:a&b@x;p=\"<>'A");
	CU_ASSERT_FALSE(ud.ids[0].barred);
	CU_ASSERT_STRING_EQUAL(ud.ids[1].uri, "sip:<cdata>&@x");
	CU_ASSERT_TRUE(ud.ids[1].barred);
}

static void test_utf8_reference(void)
{
	struct scscf_userdata ud;

	CU_ASSERT_EQUAL_FATAL(parse("<IMSSubscription><ServiceProfile><PublicIdentity><Identity>"
	                            "sip:&#xe9;&#8364;&#x1F600;@x</Identity></PublicIdentity>"
	                            "</ServiceProfile></IMSSubscription>",
	                            &ud),
	                      0);
	CU_ASSERT_STRING_EQUAL(ud.ids[0].uri, "sip:\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80@x");
}

static void test_malformed(void)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "<IMSSubscription>",
	    "<IMSSubscription></ServiceProfile>",
	    "<a><b></a></b>",
	    "</a>",
	    "<a></a><b></b>",
	    "text<a></a>",
	    "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
	    "<a><!-- open </a>",
	    "<a><?pi </a>",
	    "<a><![CDATA[x</a>",
	    "<a attr=\"x></a>",
	    "<a><b <c></c></b></a>",
	    "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>&bogus;</Identity>"
	    "</PublicIdentity></ServiceProfile></IMSSubscription>",
	    "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>&#0;</Identity>"
	    "</PublicIdentity></ServiceProfile></IMSSubscription>",
	    "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>&#x110000;</Identity>"
	    "</PublicIdentity></ServiceProfile></IMSSubscription>",
	    "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>&amp</Identity>"
	    "</PublicIdentity></ServiceProfile></IMSSubscription>",
	    "<IMSSubscription><ServiceProfile><PublicIdentity><BarringIndication>yes"
	    "</BarringIndication></PublicIdentity></ServiceProfile></IMSSubscription>",
	    "<>",
	};
	struct scscf_userdata ud;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], &ud);

		if (rc != -EBADMSG)
			fprintf(stderr, "\ncase %zu (%s): %d\n", i, bad[i], rc);
		CU_ASSERT_EQUAL(rc, -EBADMSG);
	}
	/* A NUL inside the document. */
	CU_ASSERT_EQUAL(scscf_userdata_parse("<a>\0</a>", 8, &ud), -EBADMSG);
}

static void test_bounds(void)
{
	struct scscf_userdata ud;
	size_t cap = 64 * 1024 + 1024, n = 0;
	char *xml = malloc(cap);

	CU_ASSERT_FATAL(xml != NULL);
	/* Nesting beyond the bound. */
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(xml + n, cap - n, "<a>");
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(xml + n, cap - n, "</a>");
	CU_ASSERT_EQUAL(scscf_userdata_parse(xml, n, &ud), -EMSGSIZE);
	/* An identity longer than SCSCF_URI_MAX. */
	n = (size_t)snprintf(xml, cap,
	                     "<IMSSubscription><ServiceProfile><PublicIdentity><Identity>");
	memset(xml + n, 'a', 300);
	n += 300;
	n += (size_t)snprintf(xml + n, cap - n,
	                      "</Identity></PublicIdentity></ServiceProfile></IMSSubscription>");
	CU_ASSERT_EQUAL(scscf_userdata_parse(xml, n, &ud), -EMSGSIZE);
	/* More identities than SCSCF_IMPUS_MAX: the first are kept, truncated is said. */
	n = (size_t)snprintf(xml, cap, "<IMSSubscription><ServiceProfile>");
	for (int i = 0; i < SCSCF_IMPUS_MAX + 3; i++)
		n += (size_t)snprintf(
		    xml + n, cap - n,
		    "<PublicIdentity><Identity>sip:u%d@x</Identity></PublicIdentity>", i);
	n += (size_t)snprintf(xml + n, cap - n, "</ServiceProfile></IMSSubscription>");
	CU_ASSERT_EQUAL(scscf_userdata_parse(xml, n, &ud), 0);
	CU_ASSERT_EQUAL(ud.n_ids, SCSCF_IMPUS_MAX);
	CU_ASSERT_TRUE(ud.truncated);
	CU_ASSERT_STRING_EQUAL(ud.ids[SCSCF_IMPUS_MAX - 1].uri, "sip:u15@x");
	/* Bigger than a User-Data AVP may be. */
	memset(xml, ' ', cap);
	CU_ASSERT_EQUAL(scscf_userdata_parse(xml, CX_USER_DATA_MAX + 1, &ud), -EMSGSIZE);
	free(xml);
}

int test_scscf_userdata_register(void)
{
	static CU_TestInfo tests[] = {
	    {"HSS document with barring", test_hss_document},
	    {"escapes, prefixes, comments, CDATA", test_escapes_and_markup},
	    {"character references to UTF-8", test_utf8_reference},
	    {"malformed documents", test_malformed},
	    {"bounds: depth, identity length, count, size", test_bounds},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("scscf_userdata", tests);
}
