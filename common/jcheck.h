/* Shared checks for JSON input that names IMS identities: JSON type names for "expected
 * X, found Y" messages, and the syntax rules for IMPIs, IMPUs, DNS names and E.164
 * numbers. Used by the topology loader and the HSS provisioning API so a subscriber
 * accepted by one is accepted by the other. Callers format their own error paths. */
#ifndef IMS_JCHECK_H
#define IMS_JCHECK_H

#include <jansson.h>
#include <stdbool.h>

/* RFC 1035 2.3.4: a name is at most 255 octets on the wire, 253 characters as text. */
#define JCHECK_DNS_NAME_MAX 253
/* RFC 1035 2.3.4: characters of one label. */
#define JCHECK_DNS_LABEL_MAX 63
/* ITU-T E.164 6.1: at most 15 digits. */
#define JCHECK_E164_DIGITS_MAX 15

/* JSON types a field may have. */
enum jcheck_kind { JCHECK_STRING, JCHECK_BOOL, JCHECK_INT, JCHECK_ARRAY, JCHECK_OBJECT };

/* Names what v holds ("a string", "a number", ..., "null") for "found Y". Static string. */
const char *jcheck_json_name(const json_t *v);

/* Names kind ("a string", "an integer", ...) for "expected X". Static string. */
const char *jcheck_kind_name(enum jcheck_kind kind);

/* True when v has the JSON type kind (JCHECK_INT: integers only, not reals). */
bool jcheck_kind_matches(const json_t *v, enum jcheck_kind kind);

/* RFC 1035 2.3.1 as relaxed by RFC 1123 2.1: 1-63 letters, digits and '-', not at
 * either end. */
bool jcheck_dns_label(const char *s);

/* Dot-separated DNS labels, at most JCHECK_DNS_NAME_MAX characters, no trailing dot. */
bool jcheck_dns_name(const char *s);

/* '+' then 1 to 15 digits: a tel prefix or a global tel number (RFC 3966 5.1.4). */
bool jcheck_e164(const char *s);

/* RFC 4282 2.1: user@realm, the realm a DNS name, no character that would need escaping
 * in a SIP header (controls, space, '<', '>', '"'). */
bool jcheck_impi(const char *s);

/* TS 23.003 13.4: "sip:" or "sips:" then non-empty plain text, or a global tel URI
 * ("tel:" then jcheck_e164). */
bool jcheck_impu(const char *uri);

#endif
