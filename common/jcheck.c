/* Shared checks for JSON input naming IMS identities (see jcheck.h): type names for
 * error messages and the identity syntax rules of the topology file and the HSS REST
 * API. Pure functions; no allocation, no state. */
#include "jcheck.h"

#include <string.h>

const char *jcheck_json_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

const char *jcheck_kind_name(enum jcheck_kind kind)
{
	static const char *const names[] = {
	    [JCHECK_STRING] = "a string",  [JCHECK_BOOL] = "a boolean",
	    [JCHECK_INT] = "an integer",   [JCHECK_ARRAY] = "an array",
	    [JCHECK_OBJECT] = "an object",
	};

	if ((size_t)kind >= sizeof(names) / sizeof(names[0]))
		return "an unknown kind";
	return names[kind];
}

bool jcheck_kind_matches(const json_t *v, enum jcheck_kind kind)
{
	switch (kind) {
	case JCHECK_STRING:
		return json_is_string(v);
	case JCHECK_BOOL:
		return json_is_boolean(v);
	case JCHECK_INT:
		return json_is_integer(v);
	case JCHECK_ARRAY:
		return json_is_array(v);
	case JCHECK_OBJECT:
		return json_is_object(v);
	}
	return false;
}

/* ASCII only: the C library's classes depend on the locale. */
static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_alnum(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool label_ok(const char *s, size_t len)
{
	if (len == 0 || len > JCHECK_DNS_LABEL_MAX || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool jcheck_dns_label(const char *s)
{
	return label_ok(s, strlen(s));
}

bool jcheck_dns_name(const char *s)
{
	const char *dot;

	if (s[0] == '\0' || strlen(s) > JCHECK_DNS_NAME_MAX)
		return false;
	while ((dot = strchr(s, '.')) != NULL) {
		if (!label_ok(s, (size_t)(dot - s)))
			return false;
		s = dot + 1;
	}
	return label_ok(s, strlen(s));
}

bool jcheck_e164(const char *s)
{
	size_t n;

	if (s[0] != '+')
		return false;
	for (n = 0; is_digit(s[n + 1]); n++)
		;
	return s[n + 1] == '\0' && n >= 1 && n <= JCHECK_E164_DIGITS_MAX;
}

/* Identities go into SIP headers unescaped: no controls, spaces, '<', '>' or '"'. */
static bool is_plain_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f || strchr("<>\"", *s))
			return false;
	return true;
}

bool jcheck_impi(const char *s)
{
	const char *at = strrchr(s, '@');

	return at && at != s && is_plain_text(s) && jcheck_dns_name(at + 1);
}

bool jcheck_impu(const char *uri)
{
	if (strncmp(uri, "tel:", 4) == 0)
		return jcheck_e164(uri + 4);
	return (strncmp(uri, "sip:", 4) == 0 && uri[4] && is_plain_text(uri + 4)) ||
	       (strncmp(uri, "sips:", 5) == 0 && uri[5] && is_plain_text(uri + 5));
}
