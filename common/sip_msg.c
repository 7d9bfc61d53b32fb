/* SIP message index, typed views and byte edits (RFC 3261 7, 16.6, 16.7, 18.3, 20;
 * RFC 3581; RFC 3327). The parse copies the bytes once and records offsets: start line,
 * each header line (name, value, end) and the body. A typed view unfolds one value into
 * a stack buffer and hands it to a libosip2 per-header parser. Forwarding records edits
 * as (range of received bytes, replacement text) kept sorted by position; rendering
 * copies the bytes between them, so nothing is re-serialised. */
#include "sip_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <osipparser2/osip_parser.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Headers we know by name: their canonical spelling, compact form and value syntax. */
enum hdr_id {
	H_OTHER,
	H_ACCEPT,
	H_ACCEPT_CONTACT,
	H_ACCEPT_ENCODING,
	H_ACCEPT_LANGUAGE,
	H_ALERT_INFO,
	H_ALLOW,
	H_ALLOW_EVENTS,
	H_AUTHENTICATION_INFO,
	H_AUTHORIZATION,
	H_CALL_ID,
	H_CALL_INFO,
	H_CONTACT,
	H_CONTENT_DISPOSITION,
	H_CONTENT_ENCODING,
	H_CONTENT_LANGUAGE,
	H_CONTENT_LENGTH,
	H_CONTENT_TYPE,
	H_CSEQ,
	H_DATE,
	H_ERROR_INFO,
	H_EVENT,
	H_EXPIRES,
	H_FROM,
	H_HISTORY_INFO,
	H_IDENTITY,
	H_IN_REPLY_TO,
	H_MAX_FORWARDS,
	H_MIME_VERSION,
	H_MIN_EXPIRES,
	H_MIN_SE,
	H_ORGANIZATION,
	H_P_ACCESS_NETWORK_INFO,
	H_P_ASSERTED_IDENTITY,
	H_P_ASSOCIATED_URI,
	H_P_CALLED_PARTY_ID,
	H_P_CHARGING_FUNCTION_ADDRESSES,
	H_P_CHARGING_VECTOR,
	H_P_PREFERRED_IDENTITY,
	H_P_VISITED_NETWORK_ID,
	H_PATH,
	H_PRIORITY,
	H_PRIVACY,
	H_PROXY_AUTHENTICATE,
	H_PROXY_AUTHORIZATION,
	H_PROXY_REQUIRE,
	H_RACK,
	H_REASON,
	H_RECORD_ROUTE,
	H_REFER_TO,
	H_REFERRED_BY,
	H_REJECT_CONTACT,
	H_REPLY_TO,
	H_REQUEST_DISPOSITION,
	H_REQUIRE,
	H_RETRY_AFTER,
	H_ROUTE,
	H_RSEQ,
	H_SECURITY_CLIENT,
	H_SECURITY_SERVER,
	H_SECURITY_VERIFY,
	H_SERVER,
	H_SERVICE_ROUTE,
	H_SESSION_EXPIRES,
	H_SUBJECT,
	H_SUBSCRIPTION_STATE,
	H_SUPPORTED,
	H_TIMESTAMP,
	H_TO,
	H_UNSUPPORTED,
	H_USER_AGENT,
	H_VIA,
	H_WARNING,
	H_WWW_AUTHENTICATE,
	H_COUNT
};

enum {
	HF_LIST = 1,  /* grammar is a comma-separated list (RFC 3261 7.3.1) */
	HF_SINGLE = 2 /* at most one line: a second one makes the message malformed */
};

static const struct hdr_def {
	const char *name; /* canonical spelling */
	char compact;     /* compact form, 0 if none */
	unsigned flags;   /* HF_* */
} hdr_defs[H_COUNT] = {
    [H_OTHER] = {"", 0, 0},
    [H_ACCEPT] = {"Accept", 0, HF_LIST},
    /* compact forms: RFC 3261 7.3.3 and 20; RFC 3841 (a j d), 3265 (o u),
     * 3515 (r), 3892 (b), 4028 (x), 4474 (y) */
    [H_ACCEPT_CONTACT] = {"Accept-Contact", 'a', HF_LIST},
    [H_ACCEPT_ENCODING] = {"Accept-Encoding", 0, HF_LIST},
    [H_ACCEPT_LANGUAGE] = {"Accept-Language", 0, HF_LIST},
    [H_ALERT_INFO] = {"Alert-Info", 0, HF_LIST},
    [H_ALLOW] = {"Allow", 0, HF_LIST},
    [H_ALLOW_EVENTS] = {"Allow-Events", 'u', HF_LIST},
    [H_AUTHENTICATION_INFO] = {"Authentication-Info", 0, 0},
    [H_AUTHORIZATION] = {"Authorization", 0, 0},
    [H_CALL_ID] = {"Call-ID", 'i', HF_SINGLE},
    [H_CALL_INFO] = {"Call-Info", 0, HF_LIST},
    [H_CONTACT] = {"Contact", 'm', HF_LIST},
    [H_CONTENT_DISPOSITION] = {"Content-Disposition", 0, 0},
    [H_CONTENT_ENCODING] = {"Content-Encoding", 'e', HF_LIST},
    [H_CONTENT_LANGUAGE] = {"Content-Language", 0, HF_LIST},
    [H_CONTENT_LENGTH] = {"Content-Length", 'l', HF_SINGLE},
    [H_CONTENT_TYPE] = {"Content-Type", 'c', HF_SINGLE},
    [H_CSEQ] = {"CSeq", 0, HF_SINGLE},
    [H_DATE] = {"Date", 0, 0},
    [H_ERROR_INFO] = {"Error-Info", 0, HF_LIST},
    [H_EVENT] = {"Event", 'o', 0},
    [H_EXPIRES] = {"Expires", 0, 0},
    [H_FROM] = {"From", 'f', HF_SINGLE},
    [H_HISTORY_INFO] = {"History-Info", 0, HF_LIST},
    [H_IDENTITY] = {"Identity", 'y', 0},
    [H_IN_REPLY_TO] = {"In-Reply-To", 0, HF_LIST},
    [H_MAX_FORWARDS] = {"Max-Forwards", 0, HF_SINGLE},
    [H_MIME_VERSION] = {"MIME-Version", 0, 0},
    [H_MIN_EXPIRES] = {"Min-Expires", 0, 0},
    [H_MIN_SE] = {"Min-SE", 0, 0},
    [H_ORGANIZATION] = {"Organization", 0, 0},
    [H_P_ACCESS_NETWORK_INFO] = {"P-Access-Network-Info", 0, HF_LIST},
    [H_P_ASSERTED_IDENTITY] = {"P-Asserted-Identity", 0, HF_LIST},
    [H_P_ASSOCIATED_URI] = {"P-Associated-URI", 0, HF_LIST},
    [H_P_CALLED_PARTY_ID] = {"P-Called-Party-ID", 0, 0},
    [H_P_CHARGING_FUNCTION_ADDRESSES] = {"P-Charging-Function-Addresses", 0, 0},
    [H_P_CHARGING_VECTOR] = {"P-Charging-Vector", 0, 0},
    [H_P_PREFERRED_IDENTITY] = {"P-Preferred-Identity", 0, HF_LIST},
    [H_P_VISITED_NETWORK_ID] = {"P-Visited-Network-ID", 0, HF_LIST},
    [H_PATH] = {"Path", 0, HF_LIST},
    [H_PRIORITY] = {"Priority", 0, 0},
    [H_PRIVACY] = {"Privacy", 0, 0},
    [H_PROXY_AUTHENTICATE] = {"Proxy-Authenticate", 0, 0},
    [H_PROXY_AUTHORIZATION] = {"Proxy-Authorization", 0, 0},
    [H_PROXY_REQUIRE] = {"Proxy-Require", 0, HF_LIST},
    [H_RACK] = {"RAck", 0, 0},
    [H_REASON] = {"Reason", 0, HF_LIST},
    [H_RECORD_ROUTE] = {"Record-Route", 0, HF_LIST},
    [H_REFER_TO] = {"Refer-To", 'r', 0},
    [H_REFERRED_BY] = {"Referred-By", 'b', 0},
    [H_REJECT_CONTACT] = {"Reject-Contact", 'j', HF_LIST},
    [H_REPLY_TO] = {"Reply-To", 0, 0},
    [H_REQUEST_DISPOSITION] = {"Request-Disposition", 'd', HF_LIST},
    [H_REQUIRE] = {"Require", 0, HF_LIST},
    [H_RETRY_AFTER] = {"Retry-After", 0, 0},
    [H_ROUTE] = {"Route", 0, HF_LIST},
    [H_RSEQ] = {"RSeq", 0, 0},
    [H_SECURITY_CLIENT] = {"Security-Client", 0, HF_LIST},
    [H_SECURITY_SERVER] = {"Security-Server", 0, HF_LIST},
    [H_SECURITY_VERIFY] = {"Security-Verify", 0, HF_LIST},
    [H_SERVER] = {"Server", 0, 0},
    [H_SERVICE_ROUTE] = {"Service-Route", 0, HF_LIST},
    [H_SESSION_EXPIRES] = {"Session-Expires", 'x', 0},
    [H_SUBJECT] = {"Subject", 's', 0},
    [H_SUBSCRIPTION_STATE] = {"Subscription-State", 0, 0},
    [H_SUPPORTED] = {"Supported", 'k', HF_LIST},
    [H_TIMESTAMP] = {"Timestamp", 0, 0},
    [H_TO] = {"To", 't', HF_SINGLE},
    [H_UNSUPPORTED] = {"Unsupported", 0, HF_LIST},
    [H_USER_AGENT] = {"User-Agent", 0, 0},
    [H_VIA] = {"Via", 'v', HF_LIST},
    [H_WARNING] = {"Warning", 0, HF_LIST},
    [H_WWW_AUTHENTICATE] = {"WWW-Authenticate", 0, 0},
};

static const struct {
	const char *name;       /* method token (case-sensitive, RFC 3261 7.1) */
	enum sip_method method; /* its enum value */
} methods[] = {
    {"INVITE", SIP_INVITE},     {"ACK", SIP_ACK},
    {"BYE", SIP_BYE},           {"CANCEL", SIP_CANCEL},
    {"REGISTER", SIP_REGISTER}, {"OPTIONS", SIP_OPTIONS},
    {"PRACK", SIP_PRACK},       {"SUBSCRIBE", SIP_SUBSCRIBE},
    {"NOTIFY", SIP_NOTIFY},     {"PUBLISH", SIP_PUBLISH},
    {"INFO", SIP_INFO},         {"REFER", SIP_REFER},
    {"MESSAGE", SIP_MESSAGE},   {"UPDATE", SIP_UPDATE},
};

/* Slots of the name hash table (a power of two, several times the known names). */
#define HDR_HASH_SLOTS 512
/* Most auth parameters handled in one header line by the auth edits. */
#define AUTH_MAX_PARAMS 64

/* Lookup tables filled once (then read-only): known ids by name hash and by compact
 * letter, name lengths, and the token character class. */
static struct {
	uint8_t slot[HDR_HASH_SLOTS]; /* known ids by name_hash, open addressing */
	uint8_t compact[26];          /* id of compact form 'a' + i, 0 if none */
	uint8_t len[H_COUNT];         /* strlen of each canonical name */
	bool token[256];              /* token characters (RFC 3261 25.1) */
	int osip_ready;               /* parser_init() result */
} tables;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

struct sip_hdr {
	uint32_t line;      /* offset of the line's first byte (its name) */
	uint32_t end;       /* offset past the CRLF of its last physical line */
	uint32_t value;     /* offset of the first value byte */
	uint32_t value_end; /* offset past the last value byte (trailing blanks excluded) */
	uint16_t name_len;  /* length of the name as written */
	uint8_t id;         /* enum hdr_id */
};

struct sip_edit {
	uint32_t start;    /* first received byte replaced */
	uint32_t end;      /* past the last byte replaced; == start for an insertion */
	uint32_t text;     /* offset of the replacement text in space */
	uint32_t text_len; /* its length (0 for a removal) */
	uint32_t seq;      /* call order, for rollback and ties */
};

struct sip_msg {
	uint32_t len;                /* bytes kept in buf (after Content-Length truncation) */
	bool request;                /* request, else response */
	enum sip_method method;      /* request method, SIP_OTHER for unknown or response */
	int status;                  /* response status, 0 for a request */
	uint32_t method_len;         /* request: method text is buf[0, method_len) */
	uint32_t uri, uri_len;       /* request: Request-URI span */
	uint32_t reason, reason_len; /* response: reason phrase span */
	uint32_t hdr_start;          /* offset of the first header line */
	uint32_t hdr_end;            /* offset of the CRLF of the empty line */
	uint32_t body;               /* offset of the body */
	uint32_t cseq_num;           /* CSeq number */
	uint32_t cseq_method;        /* offset of the CSeq method token */
	uint32_t cseq_method_len;    /* its length */
	uint32_t call_id;            /* offset of the Call-ID value */
	uint32_t call_id_len;        /* its length */
	unsigned n_hdrs;             /* entries used in hdrs */
	uint8_t first[H_COUNT];      /* index + 1 of each known header's first line, 0 if none */
	struct sip_hdr hdrs[SIP_MSG_MAX_HEADERS]; /* header lines in message order */
	unsigned n_edits;                         /* entries used in edits */
	uint32_t next_seq;                        /* seq of the next edit */
	struct sip_edit edits[SIP_MSG_MAX_EDITS]; /* sorted by (start, end, seq) */
	uint32_t space_used;                      /* bytes used in space */
	char space[SIP_MSG_EDIT_SPACE];           /* replacement texts */
	char buf[];                               /* the message, NUL-terminated */
};

/* Case-blind hash of a header name, one step per byte (ASCII letters lower-cased). */
static unsigned name_hash_step(unsigned h, unsigned char c)
{
	return (h * 31u) ^ (c | 0x20u);
}

static unsigned name_hash(const char *name, size_t len)
{
	unsigned h = 0;

	for (size_t i = 0; i < len; i++)
		h = name_hash_step(h, (unsigned char)name[i]);
	return h;
}

static void tables_fill(void)
{
	for (unsigned c = 0; c < 256; c++)
		tables.token[c] = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
		                  (c >= '0' && c <= '9') || (c && strchr("-.!%*_+`'~", (int)c));
	for (unsigned id = 1; id < H_COUNT; id++) {
		const struct hdr_def *d = &hdr_defs[id];
		unsigned h;

		tables.len[id] = (uint8_t)strlen(d->name);
		h = name_hash(d->name, tables.len[id]);
		while (tables.slot[h % HDR_HASH_SLOTS])
			h++;
		tables.slot[h % HDR_HASH_SLOTS] = (uint8_t)id;
		if (d->compact)
			tables.compact[d->compact - 'a'] = (uint8_t)id;
	}
	tables.osip_ready = parser_init();
}

static void tables_init(void)
{
	pthread_once(&tables_once, tables_fill);
}

/* ---- character classes (RFC 3261 25.1) ---- */

static bool is_token(unsigned char c)
{
	return tables.token[c];
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whitespace inside a header value: blanks and the CR LF of folding. */
static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_token((unsigned char)*s))
			return false;
	return true;
}

/* Text we may write into a header: no CR, LF or other control byte but HTAB. */
static bool text_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* Compares len bytes of name with a canonical name (letters and '-' only) ignoring
 * ASCII case; cheaper than strncasecmp, which is locale-aware. */
static bool name_eq(const char *canon, const char *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((canon[i] | 0x20) != (name[i] | 0x20))
			return false;
	return true;
}

/* Known id of a header name of len bytes (full or compact) whose name_hash is h, 0 when
 * unknown. */
static unsigned hdr_lookup_hashed(const char *name, size_t len, unsigned h)
{
	unsigned id;

	if (len == 1) {
		unsigned c = ((unsigned char)name[0] | 0x20) - 'a';

		return c < 26 ? tables.compact[c] : 0;
	}
	for (; (id = tables.slot[h % HDR_HASH_SLOTS]) != 0; h++)
		if (tables.len[id] == len && name_eq(hdr_defs[id].name, name, len))
			return id;
	return 0;
}

static unsigned hdr_lookup(const char *name, size_t len)
{
	return hdr_lookup_hashed(name, len, name_hash(name, len));
}

/* Parses 1*DIGIT of n bytes; values above cap give -ERANGE, other text -EBADMSG. */
static int parse_uint(const char *p, size_t n, uint64_t cap, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return -EBADMSG;
		if (v > cap)
			continue; /* keep checking the syntax */
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v;
	return v > cap ? -ERANGE : 0;
}

/* ---- scanning inside values ---- */

/* One step of a scan over b[*q] below end that skips quoted strings (RFC 3261 25.1):
 * true when b[*q] is inside, opens or closes one, with *q moved over the escaped
 * character of a quoted-pair; *quote carries the state from step to step. */
static bool quote_step(const char *b, size_t *q, size_t end, bool *quote)
{
	if (*quote) {
		if (b[*q] == '\\' && *q + 1 < end)
			(*q)++;
		else if (b[*q] == '"')
			*quote = false;
		return true;
	}
	if (b[*q] == '"') {
		*quote = true;
		return true;
	}
	return false;
}

/* Next element of a value in b[pos, end): for a list, up to the next comma outside
 * quoted strings and <...>; otherwise the rest. Skips blanks and empty elements. Gives
 * the trimmed element in [*s, *e) and where the scan resumes in *next; false when
 * nothing is left. */
static bool elem_next(const char *b, size_t pos, size_t end, bool list, size_t *s, size_t *e,
                      size_t *next)
{
	bool quote = false, angle = false;
	size_t q;

	while (pos < end && (is_lws(b[pos]) || (list && b[pos] == ',')))
		pos++;
	if (pos >= end)
		return false;
	*s = pos;
	for (q = pos; list && q < end; q++) {
		char c = b[q];

		if (quote_step(b, &q, end, &quote))
			continue;
		if (c == '<') {
			angle = true;
		} else if (c == '>') {
			angle = false;
		} else if (c == ',' && !angle) {
			break;
		}
	}
	if (!list)
		q = end;
	*next = q < end ? q + 1 : end;
	while (q > pos && is_lws(b[q - 1]))
		q--;
	*e = q;
	return true;
}

/* Offset of the first ';' that starts the header parameters of one value in b[s, e):
 * after the closing '>' of a name-addr, else the first one outside quotes (addr-spec
 * URI parameters are header parameters, RFC 3261 20.10; Via sent-by, 20.42). e if none. */
static size_t params_start(const char *b, size_t s, size_t e)
{
	bool quote = false;

	for (size_t q = s; q < e; q++) {
		char c = b[q];

		if (quote_step(b, &q, e, &quote))
			continue;
		if (c == '<') {
			const char *gt = memchr(b + q, '>', e - q);

			if (!gt)
				return e;
			q = (size_t)(gt - b);
		} else if (c == ';') {
			return q;
		}
	}
	return e;
}

struct param {
	size_t name, name_end; /* parameter name */
	size_t val, val_end;   /* its value (quotes kept); both name_end without '=' */
	bool has_val;          /* an '=' follows the name */
};

/* Reads the parameter starting at the ';' at *pos (below end) and moves *pos to the
 * next ';' or end. */
static void param_next(const char *b, size_t *pos, size_t end, struct param *p)
{
	size_t q = *pos + 1;
	bool quote = false;

	while (q < end && is_lws(b[q]))
		q++;
	p->name = q;
	while (q < end && !is_lws(b[q]) && b[q] != '=' && b[q] != ';')
		q++;
	p->name_end = q;
	p->val = p->val_end = q;
	p->has_val = false;
	while (q < end && is_lws(b[q]))
		q++;
	if (q < end && b[q] == '=') {
		q++;
		while (q < end && is_lws(b[q]))
			q++;
		p->val = q;
		p->has_val = true;
	}
	for (; q < end; q++) {
		if (!quote_step(b, &q, end, &quote) && b[q] == ';')
			break;
	}
	if (p->has_val) {
		size_t ve = q;

		while (ve > p->val && is_lws(b[ve - 1]))
			ve--;
		p->val_end = ve;
	}
	*pos = q;
}

/* Finds header parameter name in the value b[s, e). */
static bool param_find(const char *b, size_t s, size_t e, const char *name, struct param *out)
{
	size_t n = strlen(name), pos = params_start(b, s, e);

	while (pos < e) {
		param_next(b, &pos, e, out);
		if (out->name_end - out->name == n && strncasecmp(b + out->name, name, n) == 0)
			return true;
	}
	return false;
}

/* ---- parse ---- */

struct parse {
	struct sip_msg *m; /* message being indexed */
	char *why;         /* caller's reason buffer, or NULL */
	size_t whylen;     /* its size */
};

static int parse_fail(struct parse *ps, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int parse_fail(struct parse *ps, int err, const char *fmt, ...)
{
	va_list ap;

	if (ps->why && ps->whylen) {
		va_start(ap, fmt);
		if (vsnprintf(ps->why, ps->whylen, fmt, ap) < 0)
			ps->why[0] = '\0';
		va_end(ap);
	}
	return err;
}

/* True when one of the 8 bytes at p is below 0x20 or is 0x7f (bytes of 0x80 and above
 * are UTF-8 and pass): the "has less than" and "has zero" word tests. */
static bool word_has_ctl(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
	uint64_t w, del;

	memcpy(&w, p, sizeof(w));
	del = w ^ (0x7f * ones);
	return (((w - 0x20 * ones) & ~w) | ((del - ones) & ~del)) & highs;
}

/* Finds the CRLF ending the physical line that starts at pos. Returns 0 with *cr at its
 * CR, -EBADMSG for a byte SIP text does not allow (a control other than HTAB, a lone CR
 * or LF), -ENODATA when the bytes end first. Skips plain text a word at a time: this scan
 * is most of the cost of a parse. */
static int find_crlf(const char *b, size_t pos, size_t len, size_t *cr)
{
	const unsigned char *u = (const unsigned char *)b;

	while (pos < len) {
		size_t stop;

		while (pos + 8 <= len && !word_has_ctl(u + pos))
			pos += 8;
		stop = pos + 8 < len ? pos + 8 : len;
		for (; pos < stop; pos++) {
			unsigned char c = u[pos];

			if (c >= 0x20) {
				if (c == 0x7f)
					return -EBADMSG;
				continue;
			}
			if (c == '\t')
				continue;
			if (c != '\r')
				return -EBADMSG;
			if (pos + 1 >= len)
				return -ENODATA;
			if (u[pos + 1] != '\n')
				return -EBADMSG;
			*cr = pos;
			return 0;
		}
	}
	return -ENODATA;
}

/* SIP-Version (RFC 3261 7.1): 0 for SIP/2.0, -EPROTONOSUPPORT for another SIP/x.y,
 * -EBADMSG for anything else. */
static int parse_version(const char *p, size_t n)
{
	size_t i = 4, digits = 0;

	if (n == 7 && strncasecmp(p, "SIP/2.0", 7) == 0)
		return 0;
	if (n < 7 || strncasecmp(p, "SIP/", 4) != 0)
		return -EBADMSG;
	for (; i < n && is_digit(p[i]); i++)
		digits++;
	if (!digits || i >= n || p[i++] != '.' || i >= n)
		return -EBADMSG;
	for (; i < n; i++)
		if (!is_digit(p[i]))
			return -EBADMSG;
	return -EPROTONOSUPPORT;
}

/* Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF (RFC 3261 7.2); a
 * missing SP + empty phrase is tolerated. */
static int parse_status_line(struct parse *ps, size_t sp, size_t cr)
{
	struct sip_msg *m = ps->m;
	const char *b = m->buf;
	uint64_t code;
	int r = parse_version(b, sp);

	if (r == -EPROTONOSUPPORT)
		return parse_fail(ps, r, "Version Not Supported");
	if (r < 0 || cr < sp + 4 || (cr > sp + 4 && b[sp + 4] != ' '))
		return parse_fail(ps, -EBADMSG, "Malformed Status-Line");
	if (parse_uint(b + sp + 1, 3, 999, &code) < 0 || code < 100 || code > 699)
		return parse_fail(ps, -EBADMSG, "Malformed Status-Line");
	m->request = false;
	m->status = (int)code;
	m->reason = (uint32_t)(cr > sp + 4 ? sp + 5 : cr);
	m->reason_len = (uint32_t)(cr - m->reason);
	return 0;
}

/* Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 7.1). */
static int parse_request_line(struct parse *ps, size_t sp1, size_t cr)
{
	struct sip_msg *m = ps->m;
	const char *b = m->buf, *sp2;
	size_t ulen;
	int r;

	for (size_t i = 0; i < sp1; i++)
		if (!is_token((unsigned char)b[i]))
			return parse_fail(ps, -EBADMSG, "Malformed Request-Line");
	sp2 = memchr(b + sp1 + 1, ' ', cr - sp1 - 1);
	ulen = sp2 ? (size_t)(sp2 - b) - sp1 - 1 : 0;
	if (sp1 == 0 || ulen == 0 || !memchr(b + sp1 + 1, ':', ulen) ||
	    memchr(b + sp1 + 1, '\t', ulen))
		return parse_fail(ps, -EBADMSG, "Malformed Request-Line");
	r = parse_version(sp2 + 1, cr - (size_t)(sp2 + 1 - b));
	if (r == -EPROTONOSUPPORT)
		return parse_fail(ps, r, "Version Not Supported");
	if (r < 0)
		return parse_fail(ps, -EBADMSG, "Malformed Request-Line");
	m->request = true;
	m->method_len = (uint32_t)sp1;
	m->uri = (uint32_t)(sp1 + 1);
	m->uri_len = (uint32_t)(sp2 - b) - m->uri;
	m->method = SIP_OTHER;
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strlen(methods[i].name) == sp1 && memcmp(methods[i].name, b, sp1) == 0)
			m->method = methods[i].method;
	return 0;
}

static int parse_start_line(struct parse *ps, size_t *next)
{
	struct sip_msg *m = ps->m;
	const char *sp;
	size_t cr;
	int r;

	if (find_crlf(m->buf, 0, m->len, &cr) < 0)
		return parse_fail(ps, -EBADMSG, "Malformed start line");
	if (cr + 2 > SIP_MSG_MAX_LINE)
		return parse_fail(ps, -EMSGSIZE, "Start line too long");
	sp = memchr(m->buf, ' ', cr);
	if (!sp)
		return parse_fail(ps, -EBADMSG, "Malformed start line");
	if (strncasecmp(m->buf, "SIP/", 4) == 0)
		r = parse_status_line(ps, (size_t)(sp - m->buf), cr);
	else
		r = parse_request_line(ps, (size_t)(sp - m->buf), cr);
	*next = cr + 2;
	return r;
}

/* One logical header line starting at line: name, HCOLON, value with folded
 * continuation lines (RFC 3261 7.3.1). *next gets the offset of the following line. */
static int parse_header_line(struct parse *ps, size_t line, size_t *next)
{
	struct sip_msg *m = ps->m;
	const char *b = m->buf;
	size_t q = line, name_end, colon, cr, vs = 0, ve = 0;
	unsigned hash = 0;
	bool have_value = false;
	struct sip_hdr *h;
	int r;

	if (m->n_hdrs == SIP_MSG_MAX_HEADERS)
		return parse_fail(ps, -EMSGSIZE, "Too many header lines");
	while (q < m->len && is_token((unsigned char)b[q]))
		hash = name_hash_step(hash, (unsigned char)b[q++]);
	name_end = q;
	while (q < m->len && is_blank(b[q]))
		q++;
	if (name_end == line || q >= m->len || b[q] != ':')
		return parse_fail(ps, -EBADMSG, "Malformed header line");
	colon = q++;
	for (;;) {
		size_t s;

		r = find_crlf(b, q, m->len, &cr);
		if (r == -ENODATA)
			return parse_fail(ps, -EBADMSG, "Missing empty line after headers");
		if (r < 0)
			return parse_fail(ps, -EBADMSG, "Malformed header line");
		for (s = q; s < cr && is_blank(b[s]); s++)
			;
		if (s < cr) {
			if (!have_value)
				vs = s;
			have_value = true;
			for (ve = cr; is_blank(b[ve - 1]); ve--)
				;
		}
		q = cr + 2;
		if (q - line > SIP_MSG_MAX_LINE)
			return parse_fail(ps, -EMSGSIZE, "Header line too long");
		if (q >= m->len || !is_blank(b[q]))
			break;
	}
	if (!have_value)
		vs = ve = colon + 1;
	h = &m->hdrs[m->n_hdrs];
	h->line = (uint32_t)line;
	h->end = (uint32_t)q;
	h->value = (uint32_t)vs;
	h->value_end = (uint32_t)ve;
	h->name_len = (uint16_t)(name_end - line);
	h->id = (uint8_t)hdr_lookup_hashed(b + line, name_end - line, hash);
	if (h->id) {
		if (!m->first[h->id])
			m->first[h->id] = (uint8_t)(m->n_hdrs + 1);
		else if (hdr_defs[h->id].flags & HF_SINGLE)
			return parse_fail(ps, -EBADMSG, "Duplicate %s header",
			                  hdr_defs[h->id].name);
	}
	m->n_hdrs++;
	*next = q;
	return 0;
}

static const struct sip_hdr *first_hdr(const struct sip_msg *m, unsigned id)
{
	return m->first[id] ? &m->hdrs[m->first[id] - 1] : NULL;
}

/* CSeq = 1*DIGIT LWS Method (RFC 3261 20.16); the number is below 2^31 (8.1.1.5) and a
 * request's CSeq method is its own. */
static int parse_cseq(struct parse *ps)
{
	struct sip_msg *m = ps->m;
	const struct sip_hdr *h = first_hdr(m, H_CSEQ);
	const char *b = m->buf;
	size_t q = h->value, digits, meth;
	uint64_t num;

	while (q < h->value_end && is_digit(b[q]))
		q++;
	digits = q;
	while (q < h->value_end && is_lws(b[q]))
		q++;
	meth = q;
	while (q < h->value_end && is_token((unsigned char)b[q]))
		q++;
	if (digits == h->value || meth == digits || q == meth || q != h->value_end ||
	    parse_uint(b + h->value, digits - h->value, 0x7fffffff, &num) < 0)
		return parse_fail(ps, -EBADMSG, "Malformed CSeq");
	m->cseq_num = (uint32_t)num;
	m->cseq_method = (uint32_t)meth;
	m->cseq_method_len = (uint32_t)(q - meth);
	if (m->request &&
	    (m->cseq_method_len != m->method_len || memcmp(b + meth, b, m->method_len) != 0))
		return parse_fail(ps, -EBADMSG, "CSeq method mismatch");
	return 0;
}

/* Call-ID = word ["@" word] (RFC 3261 20.8): one run of visible characters. */
static int parse_call_id(struct parse *ps)
{
	struct sip_msg *m = ps->m;
	const struct sip_hdr *h = first_hdr(m, H_CALL_ID);

	if (h->value == h->value_end)
		return parse_fail(ps, -EBADMSG, "Malformed Call-ID");
	for (size_t q = h->value; q < h->value_end; q++) {
		unsigned char c = (unsigned char)m->buf[q];

		if (c <= ' ' || c >= 0x7f)
			return parse_fail(ps, -EBADMSG, "Malformed Call-ID");
	}
	m->call_id = h->value;
	m->call_id_len = h->value_end - h->value;
	return 0;
}

/* RFC 3261 18.3: with Content-Length the body has that many bytes and further bytes of
 * the datagram are dropped; fewer bytes is an error (400 for a request). Without it the
 * body runs to the end of the datagram. */
static int parse_body(struct parse *ps)
{
	struct sip_msg *m = ps->m;
	const struct sip_hdr *h = first_hdr(m, H_CONTENT_LENGTH);
	uint64_t cl;
	int r;

	if (!h)
		return 0;
	r = parse_uint(m->buf + h->value, h->value_end - h->value, SIP_MSG_MAX_SIZE, &cl);
	if (r == -EBADMSG)
		return parse_fail(ps, -EBADMSG, "Malformed Content-Length");
	if (r < 0 || cl > m->len - m->body)
		return parse_fail(ps, -EBADMSG, "Content-Length exceeds body");
	m->len = m->body + (uint32_t)cl;
	m->buf[m->len] = '\0';
	return 0;
}

static int parse_headers(struct parse *ps, size_t pos)
{
	static const unsigned mandatory[] = {H_VIA, H_FROM, H_TO, H_CALL_ID, H_CSEQ};
	struct sip_msg *m = ps->m;
	int r;

	m->hdr_start = (uint32_t)pos;
	for (;;) {
		if (pos + 1 < m->len && m->buf[pos] == '\r' && m->buf[pos + 1] == '\n')
			break;
		if (pos >= m->len || m->buf[pos] == '\r')
			return parse_fail(ps, -EBADMSG, "Missing empty line after headers");
		r = parse_header_line(ps, pos, &pos);
		if (r < 0)
			return r;
	}
	m->hdr_end = (uint32_t)pos;
	m->body = (uint32_t)pos + 2;
	/* RFC 3261 8.1.1: the header fields every request (and so its responses) carries. */
	for (size_t i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++)
		if (!m->first[mandatory[i]])
			return parse_fail(ps, -EBADMSG, "Missing %s header",
			                  hdr_defs[mandatory[i]].name);
	r = parse_cseq(ps);
	if (r == 0)
		r = parse_call_id(ps);
	if (r == 0)
		r = parse_body(ps);
	return r;
}

int sip_msg_parse(const char *buf, size_t len, struct sip_msg **out, char *why, size_t whylen)
{
	struct parse ps = {NULL, why, whylen};
	struct sip_msg *m;
	size_t pos = 0;
	int r;

	*out = NULL;
	if (why && whylen)
		why[0] = '\0';
	tables_init();
	/* RFC 3261 7.5: CRLFs before the start line are ignored. */
	while (len >= 2 && buf[0] == '\r' && buf[1] == '\n') {
		buf += 2;
		len -= 2;
	}
	if (len == 0)
		return parse_fail(&ps, -EBADMSG, "Empty message");
	if (len > SIP_MSG_MAX_SIZE)
		return parse_fail(&ps, -EMSGSIZE, "Message too large");
	m = malloc(sizeof(*m) + len + 1);
	if (!m)
		return parse_fail(&ps, -ENOMEM, "Out of memory");
	memcpy(m->buf, buf, len);
	m->buf[len] = '\0';
	m->len = (uint32_t)len;
	m->status = 0;
	m->method = SIP_OTHER;
	m->method_len = m->uri = m->uri_len = m->reason = m->reason_len = 0;
	m->n_hdrs = 0;
	memset(m->first, 0, sizeof(m->first));
	m->n_edits = 0;
	m->next_seq = 0;
	m->space_used = 0;
	ps.m = m;
	r = parse_start_line(&ps, &pos);
	if (r == 0)
		r = parse_headers(&ps, pos);
	if (r < 0) {
		free(m);
		return r;
	}
	*out = m;
	return 0;
}

void sip_msg_free(struct sip_msg *m)
{
	free(m);
}

/* ---- plain accessors ---- */

static struct sip_span span(const struct sip_msg *m, size_t off, size_t len)
{
	struct sip_span s = {m->buf + off, len};

	return s;
}

bool sip_msg_is_request(const struct sip_msg *m)
{
	return m->request;
}

enum sip_method sip_msg_method(const struct sip_msg *m)
{
	return m->method;
}

struct sip_span sip_msg_method_text(const struct sip_msg *m)
{
	return span(m, 0, m->method_len);
}

struct sip_span sip_msg_ruri(const struct sip_msg *m)
{
	return span(m, m->uri, m->uri_len);
}

int sip_msg_status(const struct sip_msg *m)
{
	return m->status;
}

struct sip_span sip_msg_reason(const struct sip_msg *m)
{
	return span(m, m->reason, m->reason_len);
}

struct sip_span sip_msg_body(const struct sip_msg *m)
{
	return span(m, m->body, m->len - m->body);
}

struct sip_span sip_msg_bytes(const struct sip_msg *m)
{
	return span(m, 0, m->len);
}

unsigned sip_msg_header_count(const struct sip_msg *m)
{
	return m->n_hdrs;
}

int sip_msg_header_at(const struct sip_msg *m, unsigned i, struct sip_header *out)
{
	const struct sip_hdr *h;

	if (i >= m->n_hdrs)
		return -ENOENT;
	h = &m->hdrs[i];
	out->name = h->id ? hdr_defs[h->id].name : NULL;
	out->raw = span(m, h->line, h->name_len);
	out->value = span(m, h->value, h->value_end - h->value);
	return 0;
}

void sip_msg_cseq(const struct sip_msg *m, uint32_t *num, struct sip_span *method)
{
	if (num)
		*num = m->cseq_num;
	if (method)
		*method = span(m, m->cseq_method, m->cseq_method_len);
}

struct sip_span sip_msg_call_id(const struct sip_msg *m)
{
	return span(m, m->call_id, m->call_id_len);
}

/* ---- values ---- */

static void iter_start(const struct sip_msg *m, unsigned id, const char *name, size_t len,
                       struct sip_value_iter *it)
{
	it->m = m;
	it->name = name;
	it->name_len = len;
	it->id = id;
	if (id)
		it->hdr = m->first[id] ? m->first[id] - 1u : m->n_hdrs;
	else
		it->hdr = 0;
	it->pos = 0;
}

void sip_msg_values(const struct sip_msg *m, const char *name, struct sip_value_iter *it)
{
	size_t len = strlen(name);

	tables_init();
	iter_start(m, hdr_lookup(name, len), name, len, it);
}

static bool hdr_matches(const struct sip_msg *m, const struct sip_hdr *h,
                        const struct sip_value_iter *it)
{
	if (it->id)
		return h->id == it->id;
	return h->id == H_OTHER && h->name_len == it->name_len &&
	       strncasecmp(m->buf + h->line, it->name, it->name_len) == 0;
}

/* Like sip_msg_values_next, also giving the header line index of the value. */
static bool iter_next(struct sip_value_iter *it, size_t *s, size_t *e, unsigned *line)
{
	const struct sip_msg *m = it->m;

	for (; it->hdr < m->n_hdrs; it->hdr++, it->pos = 0) {
		const struct sip_hdr *h = &m->hdrs[it->hdr];
		bool list = hdr_defs[h->id].flags & HF_LIST;
		size_t next;

		if (!hdr_matches(m, h, it))
			continue;
		if (!list) {
			if (it->pos)
				continue;
			*s = h->value;
			*e = h->value_end;
			*line = it->hdr;
			it->pos = h->end;
			return true;
		}
		if (elem_next(m->buf, it->pos ? it->pos : h->value, h->value_end, true, s, e,
		              &next)) {
			*line = it->hdr;
			it->pos = next;
			return true;
		}
	}
	return false;
}

bool sip_msg_values_next(struct sip_value_iter *it, struct sip_span *value)
{
	size_t s, e;
	unsigned line;

	if (!iter_next(it, &s, &e, &line))
		return false;
	*value = span(it->m, s, e - s);
	return true;
}

const char *sip_msg_header(const struct sip_msg *m, const char *name, size_t *len)
{
	struct sip_value_iter it;
	struct sip_span v;

	sip_msg_values(m, name, &it);
	if (!sip_msg_values_next(&it, &v))
		return NULL;
	if (len)
		*len = v.len;
	return v.p;
}

unsigned sip_msg_header_values(const struct sip_msg *m, const char *name)
{
	struct sip_value_iter it;
	struct sip_span v;
	unsigned n = 0;

	sip_msg_values(m, name, &it);
	while (sip_msg_values_next(&it, &v))
		n++;
	return n;
}

/* The index-th value of known header id. */
static bool nth_value(const struct sip_msg *m, unsigned id, unsigned index, struct sip_span *v)
{
	struct sip_value_iter it;

	iter_start(m, id, NULL, 0, &it);
	while (sip_msg_values_next(&it, v))
		if (index-- == 0)
			return true;
	return false;
}

ssize_t sip_msg_value_copy(struct sip_span v, char *buf, size_t buflen)
{
	if (v.len >= buflen)
		return -ENOSPC;
	for (size_t i = 0; i < v.len; i++)
		buf[i] = (v.p[i] == '\r' || v.p[i] == '\n') ? ' ' : v.p[i];
	buf[v.len] = '\0';
	return (ssize_t)v.len;
}

int sip_msg_param(struct sip_span value, const char *name, struct sip_span *out)
{
	struct param p;

	if (!param_find(value.p, 0, value.len, name, &p))
		return -ENOENT;
	out->p = value.p + p.val;
	out->len = p.val_end - p.val;
	return 0;
}

/* The first value of a single-valued numeric header (1*DIGIT), capped at cap. */
static int header_uint(const struct sip_msg *m, unsigned id, uint64_t cap, uint64_t *out)
{
	const struct sip_hdr *h = first_hdr(m, id);

	if (!h)
		return -ENOENT;
	return parse_uint(m->buf + h->value, h->value_end - h->value, cap, out);
}

int sip_msg_max_forwards(const struct sip_msg *m)
{
	uint64_t v;
	int r = header_uint(m, H_MAX_FORWARDS, INT_MAX, &v);

	if (r == -ENOENT)
		return r;
	return r < 0 ? -EBADMSG : (int)v;
}

int sip_msg_expires(const struct sip_msg *m, uint32_t *secs)
{
	uint64_t v;
	int r = header_uint(m, H_EXPIRES, UINT32_MAX, &v);

	if (r == -ERANGE)
		v = UINT32_MAX;
	else if (r < 0)
		return r;
	*secs = (uint32_t)v;
	return 0;
}

/* ---- typed views through libosip2 ---- */

/* Copies s (may be NULL: "") into dst of size n; -EMSGSIZE when it does not fit. */
static int copy_str(char *dst, size_t n, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (len >= n)
		return -EMSGSIZE;
	memcpy(dst, s ? s : "", len);
	dst[len] = '\0';
	return 0;
}

static int port_parse(const char *s, uint16_t *port)
{
	uint64_t v;

	if (parse_uint(s, strlen(s), 65535, &v) < 0)
		return -EBADMSG;
	*port = (uint16_t)v;
	return 0;
}

static int via_fill(osip_via_t *via, struct sip_via *out)
{
	osip_generic_param_t *p;
	osip_list_t *params = &via->via_params;
	int r;

	if (!via->version || strcmp(via->version, "2.0") != 0 || !via->protocol || !via->host)
		return -EBADMSG;
	r = copy_str(out->transport, sizeof(out->transport), via->protocol);
	if (r == 0)
		r = copy_str(out->host, sizeof(out->host), via->host);
	if (r < 0)
		return r;
	out->port = 0;
	if (via->port && port_parse(via->port, &out->port) < 0)
		return -EBADMSG;
	out->branch[0] = out->received[0] = '\0';
	if (osip_generic_param_get_byname(params, "branch", &p) == 0 &&
	    (r = copy_str(out->branch, sizeof(out->branch), p->gvalue)) < 0)
		return r;
	if (osip_generic_param_get_byname(params, "received", &p) == 0 &&
	    (r = copy_str(out->received, sizeof(out->received), p->gvalue)) < 0)
		return r;
	out->rport = osip_generic_param_get_byname(params, "rport", &p) == 0;
	out->rport_value = 0;
	if (out->rport && p->gvalue && port_parse(p->gvalue, &out->rport_value) < 0)
		return -EBADMSG;
	return 0;
}

int sip_msg_via(const struct sip_msg *m, unsigned index, struct sip_via *out)
{
	char buf[SIP_MSG_MAX_LINE + 1];
	struct sip_span v;
	osip_via_t *via;
	int r;

	if (!nth_value(m, H_VIA, index, &v))
		return -ENOENT;
	if (sip_msg_value_copy(v, buf, sizeof(buf)) < 0)
		return -EMSGSIZE;
	if (tables.osip_ready != 0 || osip_via_init(&via) != 0)
		return -ENOMEM;
	r = osip_via_parse(via, buf) == 0 ? via_fill(via, out) : -EBADMSG;
	osip_via_free(via);
	if (r == 0)
		out->value = v;
	return r;
}

int sip_msg_top_via(const struct sip_msg *m, struct sip_via *out)
{
	return sip_msg_via(m, 0, out);
}

/* The URI of a name-addr ("<...>") or addr-spec (up to its parameters) in v. */
static struct sip_span addr_uri(struct sip_span v)
{
	size_t ps = params_start(v.p, 0, v.len);
	const char *lt = NULL;
	bool quote = false;
	struct sip_span u;

	for (size_t q = 0; q < v.len && !lt; q++) {
		if (!quote_step(v.p, &q, v.len, &quote) && v.p[q] == '<')
			lt = v.p + q;
	}
	if (lt) {
		const char *gt = memchr(lt, '>', v.len - (size_t)(lt - v.p));

		if (!gt)
			return (struct sip_span){NULL, 0};
		u.p = lt + 1;
		u.len = (size_t)(gt - u.p);
		return u;
	}
	u.p = v.p;
	u.len = ps;
	while (u.len && is_lws(u.p[u.len - 1]))
		u.len--;
	return u;
}

struct sip_span sip_msg_trim(struct sip_span v)
{
	while (v.len && is_lws(v.p[0])) {
		v.p++;
		v.len--;
	}
	while (v.len && is_lws(v.p[v.len - 1]))
		v.len--;
	return v;
}

struct sip_span sip_msg_addr_uri(struct sip_span value)
{
	return addr_uri(sip_msg_trim(value));
}

/* Parses value v with osip_from_parse (the grammar of From, To, Route, Record-Route,
 * Path and the P- identity headers) or, when contact, osip_contact_parse; gives the tag
 * (or for a Contact, the expires parameter in *expires). */
static int nameaddr_parse(struct sip_span v, bool contact, char *tag, size_t taglen,
                          int64_t *expires)
{
	char buf[SIP_MSG_MAX_LINE + 1];
	osip_generic_param_t *p = NULL;
	osip_from_t *f;
	uint64_t secs;
	int r = 0;

	if (sip_msg_value_copy(v, buf, sizeof(buf)) < 0)
		return -EMSGSIZE;
	if (tables.osip_ready != 0 || osip_from_init(&f) != 0)
		return -ENOMEM;
	if ((contact ? osip_contact_parse(f, buf) : osip_from_parse(f, buf)) != 0 || !f->url) {
		r = -EBADMSG;
		goto out_free;
	}
	if (tag) {
		tag[0] = '\0';
		if (osip_from_get_tag(f, &p) == 0 && p->gvalue)
			r = copy_str(tag, taglen, p->gvalue);
		if (r < 0)
			goto out_free;
	}
	if (expires) {
		*expires = -1;
		if (osip_contact_param_get_byname(f, "expires", &p) == 0) {
			r = parse_uint(p->gvalue ? p->gvalue : "",
			               p->gvalue ? strlen(p->gvalue) : 0, UINT32_MAX, &secs);
			if (r == -ERANGE)
				secs = UINT32_MAX;
			else if (r < 0)
				goto out_free;
			r = 0;
			*expires = (int64_t)secs;
		}
	}
out_free:
	osip_from_free(f);
	return r;
}

int sip_msg_nameaddr(const struct sip_msg *m, const char *name, unsigned index,
                     struct sip_addr *out)
{
	struct sip_value_iter it;
	struct sip_span v;
	int r;

	sip_msg_values(m, name, &it);
	do {
		if (!sip_msg_values_next(&it, &v))
			return -ENOENT;
	} while (index-- > 0);
	r = nameaddr_parse(v, false, out->tag, sizeof(out->tag), NULL);
	if (r < 0)
		return r;
	out->uri = addr_uri(v);
	out->value = v;
	return 0;
}

int sip_msg_from(const struct sip_msg *m, struct sip_addr *out)
{
	return sip_msg_nameaddr(m, "From", 0, out);
}

int sip_msg_to(const struct sip_msg *m, struct sip_addr *out)
{
	return sip_msg_nameaddr(m, "To", 0, out);
}

static int tag_of(const struct sip_msg *m, const char *name, char *tag, size_t taglen)
{
	struct sip_addr a;
	int r = sip_msg_nameaddr(m, name, 0, &a);

	if (r < 0)
		return r;
	if (!a.tag[0])
		return -ENOENT;
	return copy_str(tag, taglen, a.tag) < 0 ? -ENOSPC : 0;
}

int sip_msg_from_tag(const struct sip_msg *m, char *tag, size_t taglen)
{
	return tag_of(m, "From", tag, taglen);
}

int sip_msg_to_tag(const struct sip_msg *m, char *tag, size_t taglen)
{
	return tag_of(m, "To", tag, taglen);
}

int sip_msg_contact(const struct sip_msg *m, unsigned index, struct sip_contact *out)
{
	struct sip_span v;
	int r;

	if (!nth_value(m, H_CONTACT, index, &v))
		return -ENOENT;
	out->value = v;
	out->expires = -1;
	out->uri.p = v.p;
	out->uri.len = 0;
	out->star = v.len == 1 && v.p[0] == '*';
	if (out->star)
		return 0;
	r = nameaddr_parse(v, true, NULL, 0, &out->expires);
	if (r == 0)
		out->uri = addr_uri(v);
	return r;
}

int sip_msg_uri_parse(const char *uri, size_t len, struct sip_uri *out)
{
	char buf[SIP_MSG_MAX_LINE + 1];
	osip_uri_param_t *p;
	osip_uri_t *u;
	int r;

	tables_init();
	if (len >= sizeof(buf))
		return -EMSGSIZE;
	memcpy(buf, uri, len);
	buf[len] = '\0';
	if (tables.osip_ready != 0 || osip_uri_init(&u) != 0)
		return -ENOMEM;
	r = -EBADMSG;
	if (osip_uri_parse(u, buf) != 0 || !u->scheme)
		goto out_free;
	r = copy_str(out->scheme, sizeof(out->scheme), u->scheme);
	if (r < 0)
		goto out_free;
	for (char *c = out->scheme; *c; c++)
		*c = (char)(*c | 0x20);
	out->port = 0;
	out->lr = false;
	out->transport[0] = '\0';
	if (strcmp(out->scheme, "tel") == 0) {
		/* osip keeps a tel URI's text after the scheme in u->string. */
		const char *num = u->string ? u->string : "";
		size_t n = strcspn(num, ";");

		out->host[0] = '\0';
		r = n < sizeof(out->user) && n > 0 ? 0 : (n ? -EMSGSIZE : -EBADMSG);
		if (r == 0) {
			memcpy(out->user, num, n);
			out->user[n] = '\0';
		}
		goto out_free;
	}
	r = -EBADMSG;
	if (!u->host || (u->port && port_parse(u->port, &out->port) < 0))
		goto out_free;
	r = copy_str(out->user, sizeof(out->user), u->username);
	if (r == 0)
		r = copy_str(out->host, sizeof(out->host), u->host);
	if (r == 0 && osip_uri_uparam_get_byname(u, "transport", &p) == 0)
		r = copy_str(out->transport, sizeof(out->transport), p->gvalue);
	out->lr = osip_uri_uparam_get_byname(u, "lr", &p) == 0;
out_free:
	osip_uri_free(u);
	return r;
}

/* ---- edits ---- */

/* A piece of replacement text: len bytes at p (not NUL-terminated). */
struct piece {
	const char *p; /* borrowed */
	size_t len;    /* bytes */
};

static struct piece str(const char *s)
{
	struct piece pc = {s, strlen(s)};

	return pc;
}

/* Records the replacement of buf[start, end) by the concatenation of n pieces. */
static int edit_add(struct sip_msg *m, size_t start, size_t end, const struct piece *pieces,
                    unsigned n)
{
	size_t total = 0;
	struct sip_edit *e;
	unsigned i;

	for (i = 0; i < n; i++)
		total += pieces[i].len;
	if (m->n_edits == SIP_MSG_MAX_EDITS || total > SIP_MSG_EDIT_SPACE - m->space_used)
		return -ENOSPC;
	for (i = 0; i < m->n_edits; i++)
		if (start < m->edits[i].end && m->edits[i].start < end)
			return -EBUSY;
	for (i = m->n_edits; i > 0; i--) {
		const struct sip_edit *prev = &m->edits[i - 1];

		if (prev->start < start || (prev->start == start && prev->end <= end))
			break;
	}
	memmove(&m->edits[i + 1], &m->edits[i], (m->n_edits - i) * sizeof(m->edits[0]));
	e = &m->edits[i];
	e->start = (uint32_t)start;
	e->end = (uint32_t)end;
	e->text = m->space_used;
	e->text_len = (uint32_t)total;
	e->seq = m->next_seq++;
	for (i = 0; i < n; i++) {
		memcpy(m->space + m->space_used, pieces[i].p, pieces[i].len);
		m->space_used += (uint32_t)pieces[i].len;
	}
	m->n_edits++;
	return 0;
}

static int edit_text(struct sip_msg *m, size_t start, size_t end, const char *text)
{
	struct piece pc = str(text);

	return edit_add(m, start, end, &pc, 1);
}

/* Gives flag parameter buf[name, name_end) the value value. The name is rewritten (as
 * written) with it rather than "=value" inserted after it, so an insertion at the same
 * offset (";received=..." appended after a final ";rport") cannot come between. */
static int edit_flag_value(struct sip_msg *m, size_t name, size_t name_end, const char *value)
{
	const struct piece pieces[] = {{m->buf + name, name_end - name}, str("="), str(value)};

	return edit_add(m, name, name_end, pieces, 3);
}

unsigned sip_msg_edit_mark(const struct sip_msg *m)
{
	return m->next_seq;
}

void sip_msg_edit_rollback(struct sip_msg *m, unsigned mark)
{
	unsigned kept = 0;

	m->space_used = 0;
	for (unsigned i = 0; i < m->n_edits; i++) {
		const struct sip_edit *e = &m->edits[i];

		if (e->seq >= mark)
			continue;
		if (e->text + e->text_len > m->space_used)
			m->space_used = e->text + e->text_len;
		m->edits[kept++] = *e;
	}
	m->n_edits = kept;
	if (m->next_seq > mark)
		m->next_seq = mark;
}

/* Resolves a header name for an edit: its id (0 if unknown) and the spelling of a line
 * we write. -EINVAL when name is not a token. */
static int edit_name(const char *name, unsigned *id, const char **spelling)
{
	tables_init();
	if (!token_ok(name))
		return -EINVAL;
	*id = hdr_lookup(name, strlen(name));
	*spelling = *id ? hdr_defs[*id].name : name;
	return 0;
}

/* Index of the first line of header (id, name), or n_hdrs. */
static unsigned first_line(const struct sip_msg *m, unsigned id, const char *name)
{
	struct sip_value_iter it;

	iter_start(m, id, name, strlen(name), &it);
	for (; it.hdr < m->n_hdrs; it.hdr++)
		if (hdr_matches(m, &m->hdrs[it.hdr], &it))
			break;
	return it.hdr;
}

static int edit_line(struct sip_msg *m, size_t at, const char *name, const char *value)
{
	unsigned id;
	const char *spelling;
	int r = edit_name(name, &id, &spelling);
	struct piece pieces[4];

	if (r < 0)
		return r;
	if (!text_ok(value))
		return -EINVAL;
	pieces[0] = str(spelling);
	pieces[1] = str(": ");
	pieces[2] = str(value);
	pieces[3] = str("\r\n");
	return edit_add(m, at, at, pieces, 4);
}

int sip_msg_edit_push(struct sip_msg *m, const char *name, const char *value)
{
	unsigned id, i;
	const char *spelling;
	int r = edit_name(name, &id, &spelling);

	if (r < 0)
		return r;
	i = first_line(m, id, name);
	return edit_line(m, i < m->n_hdrs ? m->hdrs[i].line : m->hdr_start, name, value);
}

int sip_msg_edit_append(struct sip_msg *m, const char *name, const char *value)
{
	return edit_line(m, m->hdr_end, name, value);
}

int sip_msg_edit_set(struct sip_msg *m, const char *name, const char *value)
{
	unsigned id, i;
	const char *spelling;
	int r = edit_name(name, &id, &spelling);

	if (r < 0)
		return r;
	if (!text_ok(value))
		return -EINVAL;
	i = first_line(m, id, name);
	if (i == m->n_hdrs)
		return sip_msg_edit_append(m, name, value);
	return edit_text(m, m->hdrs[i].value, m->hdrs[i].value_end, value);
}

int sip_msg_edit_pop(struct sip_msg *m, const char *name, unsigned n)
{
	unsigned mark = m->next_seq, id;
	const char *spelling;
	struct sip_value_iter it;
	int r = edit_name(name, &id, &spelling);

	if (r < 0)
		return r;
	iter_start(m, id, name, strlen(name), &it);
	for (; n > 0 && it.hdr < m->n_hdrs; it.hdr++) {
		const struct sip_hdr *h = &m->hdrs[it.hdr];
		bool list = hdr_defs[h->id].flags & HF_LIST;
		size_t pos = h->value, s, e, next, first = 0, keep = 0;
		unsigned k = 0;

		if (!hdr_matches(m, h, &it))
			continue;
		/* Count the line's values up to the first one we keep. */
		while (k <= n && elem_next(m->buf, pos, h->value_end, list, &s, &e, &next)) {
			if (k == 0)
				first = s;
			if (k == n)
				keep = s;
			k++;
			pos = list ? next : h->value_end;
			if (!list)
				break;
		}
		if (!list && k == 0) {
			/* an empty single-valued line is still one value */
			k = 1;
		}
		if (k == 0)
			continue;
		if (k <= n) {
			r = edit_text(m, h->line, h->end, "");
			n -= k;
		} else {
			r = edit_text(m, first, keep, "");
			n = 0;
		}
		if (r < 0)
			goto out_rollback;
	}
	if (n == 0)
		return 0;
	r = -ENOENT;
out_rollback:
	sip_msg_edit_rollback(m, mark);
	return r;
}

int sip_msg_edit_remove(struct sip_msg *m, const char *name)
{
	unsigned mark = m->next_seq, id, count = 0;
	const char *spelling;
	struct sip_value_iter it;
	int r = edit_name(name, &id, &spelling);

	if (r < 0)
		return r;
	iter_start(m, id, name, strlen(name), &it);
	for (; it.hdr < m->n_hdrs; it.hdr++) {
		const struct sip_hdr *h = &m->hdrs[it.hdr];

		if (!hdr_matches(m, h, &it))
			continue;
		r = edit_text(m, h->line, h->end, "");
		if (r < 0) {
			sip_msg_edit_rollback(m, mark);
			return r;
		}
		count++;
	}
	return (int)count;
}

int sip_msg_edit_ruri(struct sip_msg *m, const char *uri)
{
	if (!m->request || !*uri || !text_ok(uri) || strpbrk(uri, " \t"))
		return -EINVAL;
	return edit_text(m, m->uri, m->uri + m->uri_len, uri);
}

int sip_msg_edit_via_param(struct sip_msg *m, const char *name, const char *value)
{
	const struct sip_hdr *h = first_hdr(m, H_VIA);
	size_t s, e, next;
	struct param p;

	if (!token_ok(name) || (value && (!text_ok(value) || strpbrk(value, " \t;,"))))
		return -EINVAL;
	if (!elem_next(m->buf, h->value, h->value_end, true, &s, &e, &next))
		return -ENOENT;
	if (!param_find(m->buf, s, e, name, &p)) {
		const struct piece pieces[] = {str(";"), str(name), str(value ? "=" : ""),
		                               str(value ? value : "")};

		return edit_add(m, e, e, pieces, 4);
	}
	if (!value)
		return edit_text(m, p.name_end, p.val_end, "");
	if (!p.has_val)
		return edit_flag_value(m, p.name, p.name_end, value);
	return edit_text(m, p.val, p.val_end, value);
}

/* True when host is the same IP address as ip (textual forms may differ for IPv6). */
static bool same_address(const char *host, const char *ip)
{
	unsigned char a[16], b[16];

	if (inet_pton(AF_INET, host, a) == 1 && inet_pton(AF_INET, ip, b) == 1)
		return memcmp(a, b, 4) == 0;
	if (inet_pton(AF_INET6, host, a) == 1 && inet_pton(AF_INET6, ip, b) == 1)
		return memcmp(a, b, 16) == 0;
	return false;
}

int sip_msg_edit_via_received(struct sip_msg *m, const struct sip_via *top, const char *src_ip,
                              uint16_t src_port)
{
	unsigned mark = m->next_seq;
	char port[8];
	int r = 0;

	if (top->rport || !same_address(top->host, src_ip))
		r = sip_msg_edit_via_param(m, "received", src_ip);
	if (r == 0 && top->rport && top->rport_value == 0) {
		snprintf(port, sizeof(port), "%u", (unsigned)src_port);
		r = sip_msg_edit_via_param(m, "rport", port);
	}
	if (r < 0)
		sip_msg_edit_rollback(m, mark);
	return r;
}

struct auth_line {
	size_t scheme_end;                /* end of the auth scheme (== value if none) */
	unsigned n;                       /* parameters */
	size_t s[AUTH_MAX_PARAMS];        /* start of each parameter */
	size_t e[AUTH_MAX_PARAMS];        /* end of each parameter */
	size_t name_end[AUTH_MAX_PARAMS]; /* end of each parameter's name */
};

/* Splits an auth header value (RFC 3261 25.1: challenge / credentials, or the bare
 * parameter list of Authentication-Info) into its comma-separated parameters. */
static int auth_split(const char *b, const struct sip_hdr *h, struct auth_line *al)
{
	size_t q = h->value, pos, s, e, next;

	while (q < h->value_end && is_token((unsigned char)b[q]))
		q++;
	al->scheme_end = q;
	while (q < h->value_end && is_lws(b[q]))
		q++;
	if (q < h->value_end && b[q] == '=')
		al->scheme_end = h->value; /* no scheme: the first token is a parameter name */
	pos = al->scheme_end;
	al->n = 0;
	while (elem_next(b, pos, h->value_end, true, &s, &e, &next)) {
		size_t ne = s;

		if (al->n == AUTH_MAX_PARAMS)
			return -EMSGSIZE;
		while (ne < e && b[ne] != '=' && !is_lws(b[ne]))
			ne++;
		al->s[al->n] = s;
		al->e[al->n] = e;
		al->name_end[al->n] = ne;
		al->n++;
		pos = next;
	}
	return 0;
}

static bool auth_name_is(const char *b, const struct auth_line *al, unsigned i, const char *name)
{
	size_t n = al->name_end[i] - al->s[i];

	return strlen(name) == n && strncasecmp(b + al->s[i], name, n) == 0;
}

/* Removes the flagged parameters of one auth line: after a kept parameter, each goes
 * with the separator before it; before any kept one, with the separator after it. */
static int auth_remove_line(struct sip_msg *m, const struct auth_line *al, const bool *gone,
                            unsigned n_gone)
{
	bool kept_before = false;
	int r = 0;

	if (n_gone == al->n)
		return edit_text(m, al->scheme_end, al->e[al->n - 1], "");
	for (unsigned i = 0; i < al->n && r == 0; i++) {
		if (!gone[i])
			kept_before = true;
		else if (kept_before)
			r = edit_text(m, al->e[i - 1], al->e[i], "");
		else
			r = edit_text(m, al->s[i], al->s[i + 1], "");
	}
	return r;
}

int sip_msg_edit_auth_remove(struct sip_msg *m, const char *header, const char *const *names,
                             unsigned n)
{
	unsigned mark = m->next_seq, id, removed = 0;
	const char *spelling;
	struct sip_value_iter it;
	struct auth_line al;
	bool gone[AUTH_MAX_PARAMS];
	int r = edit_name(header, &id, &spelling);

	if (r < 0)
		return r;
	iter_start(m, id, header, strlen(header), &it);
	for (; it.hdr < m->n_hdrs; it.hdr++) {
		unsigned n_gone = 0;

		if (!hdr_matches(m, &m->hdrs[it.hdr], &it))
			continue;
		r = auth_split(m->buf, &m->hdrs[it.hdr], &al);
		if (r < 0)
			goto out_rollback;
		for (unsigned i = 0; i < al.n; i++) {
			gone[i] = false;
			for (unsigned j = 0; j < n && !gone[i]; j++)
				gone[i] = auth_name_is(m->buf, &al, i, names[j]);
			n_gone += gone[i];
		}
		if (n_gone == 0)
			continue;
		r = auth_remove_line(m, &al, gone, n_gone);
		if (r < 0)
			goto out_rollback;
		removed += n_gone;
	}
	return (int)removed;
out_rollback:
	sip_msg_edit_rollback(m, mark);
	return r;
}

int sip_msg_edit_auth_set(struct sip_msg *m, const char *header, const char *name,
                          const char *value)
{
	unsigned mark = m->next_seq, id, count = 0;
	const char *spelling;
	struct sip_value_iter it;
	struct auth_line al;
	int r = edit_name(header, &id, &spelling);

	if (r < 0)
		return r;
	if (!text_ok(value))
		return -EINVAL;
	iter_start(m, id, header, strlen(header), &it);
	for (; it.hdr < m->n_hdrs; it.hdr++) {
		if (!hdr_matches(m, &m->hdrs[it.hdr], &it))
			continue;
		r = auth_split(m->buf, &m->hdrs[it.hdr], &al);
		for (unsigned i = 0; r == 0 && i < al.n; i++) {
			size_t v = al.name_end[i];

			if (!auth_name_is(m->buf, &al, i, name))
				continue;
			while (v < al.e[i] && (is_lws(m->buf[v]) || m->buf[v] == '='))
				v++;
			if (v == al.name_end[i])
				r = edit_flag_value(m, al.s[i], v, value);
			else
				r = edit_text(m, v, al.e[i], value);
			count++;
		}
		if (r < 0)
			goto out_rollback;
	}
	return count ? (int)count : -ENOENT;
out_rollback:
	sip_msg_edit_rollback(m, mark);
	return r;
}

/* ---- rendering ---- */

struct out {
	char *p;    /* caller's buffer */
	size_t len; /* bytes the output needs so far */
	size_t cap; /* size of p */
};

static void put(struct out *o, const char *s, size_t n)
{
	if (n && o->len + n <= o->cap)
		memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Writes buf[from, to) with the edits lying inside both [from, to] and [lo, hi]. */
static void emit(const struct sip_msg *m, struct out *o, size_t from, size_t to, size_t lo,
                 size_t hi)
{
	size_t cur = from;

	for (unsigned i = 0; i < m->n_edits; i++) {
		const struct sip_edit *e = &m->edits[i];

		if (e->start < from || e->start < lo || e->end > to || e->end > hi)
			continue;
		put(o, m->buf + cur, e->start - cur);
		put(o, m->space + e->text, e->text_len);
		cur = e->end;
	}
	put(o, m->buf + cur, to - cur);
}

/* NUL-terminates when there is room; returns the length or -ENOSPC. */
static ssize_t out_finish(struct out *o)
{
	if (o->len > o->cap)
		return -ENOSPC;
	if (o->len < o->cap)
		o->p[o->len] = '\0';
	return (ssize_t)o->len;
}

size_t sip_msg_render_len(const struct sip_msg *m)
{
	size_t n = m->len;

	for (unsigned i = 0; i < m->n_edits; i++) {
		n += m->edits[i].text_len;
		n -= m->edits[i].end - m->edits[i].start;
	}
	return n;
}

ssize_t sip_msg_render(const struct sip_msg *m, char *out, size_t outlen)
{
	struct out o = {out, 0, outlen};

	if (sip_msg_render_len(m) > outlen)
		return -ENOSPC;
	emit(m, &o, 0, m->len, 0, m->len);
	return out_finish(&o);
}

/* ---- responses ---- */

const char *sip_msg_reason_phrase(int status)
{
	static const struct {
		int code;           /* status code */
		const char *phrase; /* RFC 3261 21 (and 3265, 3329, 4028) reason phrase */
	} phrases[] = {
	    {100, "Trying"},
	    {180, "Ringing"},
	    {181, "Call Is Being Forwarded"},
	    {182, "Queued"},
	    {183, "Session Progress"},
	    {200, "OK"},
	    {202, "Accepted"},
	    {300, "Multiple Choices"},
	    {301, "Moved Permanently"},
	    {302, "Moved Temporarily"},
	    {305, "Use Proxy"},
	    {380, "Alternative Service"},
	    {400, "Bad Request"},
	    {401, "Unauthorized"},
	    {402, "Payment Required"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {406, "Not Acceptable"},
	    {407, "Proxy Authentication Required"},
	    {408, "Request Timeout"},
	    {410, "Gone"},
	    {413, "Request Entity Too Large"},
	    {414, "Request-URI Too Long"},
	    {415, "Unsupported Media Type"},
	    {416, "Unsupported URI Scheme"},
	    {420, "Bad Extension"},
	    {421, "Extension Required"},
	    {422, "Session Interval Too Small"},
	    {423, "Interval Too Brief"},
	    {480, "Temporarily Unavailable"},
	    {481, "Call/Transaction Does Not Exist"},
	    {482, "Loop Detected"},
	    {483, "Too Many Hops"},
	    {484, "Address Incomplete"},
	    {485, "Ambiguous"},
	    {486, "Busy Here"},
	    {487, "Request Terminated"},
	    {488, "Not Acceptable Here"},
	    {489, "Bad Event"},
	    {491, "Request Pending"},
	    {493, "Undecipherable"},
	    {494, "Security Agreement Required"},
	    {500, "Server Internal Error"},
	    {501, "Not Implemented"},
	    {502, "Bad Gateway"},
	    {503, "Service Unavailable"},
	    {504, "Server Time-out"},
	    {505, "Version Not Supported"},
	    {513, "Message Too Large"},
	    {600, "Busy Everywhere"},
	    {603, "Decline"},
	    {604, "Does Not Exist Anywhere"},
	    {606, "Not Acceptable"},
	};
	static const char *const classes[] = {"Provisional",  "Success",      "Redirection",
	                                      "Client Error", "Server Error", "Global Failure"};

	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (phrases[i].code == status)
			return phrases[i].phrase;
	if (status >= 100 && status <= 699)
		return classes[status / 100 - 1];
	return "Unknown";
}

/* Extra header text: whole lines, each ending in CRLF, no empty line, no lone CR/LF. */
static bool extra_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0)
		return true;
	if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n' || s[0] == '\r')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && (s[i + 1] != '\n' || s[i + 2] == '\r'))
			return false;
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return false;
	}
	return true;
}

/* RFC 3261 12.1.1: requests whose 2xx (or 101-199) may create a dialog, whose response
 * therefore echoes Record-Route (and RFC 6665 for SUBSCRIBE, NOTIFY, REFER). */
static bool creates_dialog(enum sip_method method)
{
	return method == SIP_INVITE || method == SIP_SUBSCRIBE || method == SIP_NOTIFY ||
	       method == SIP_REFER;
}

ssize_t sip_msg_build_response(const struct sip_msg *req, int status, const char *reason,
                               const char *to_tag, const char *extra_headers, char *out,
                               size_t outlen)
{
	struct out o = {out, 0, outlen};
	bool add_tag, rr = status > 100 && status < 300 && creates_dialog(req->method);
	struct sip_span tag;
	char code[16];

	if (!req->request || status < 100 || status > 699)
		return -EINVAL;
	if (!reason)
		reason = sip_msg_reason_phrase(status);
	if (!text_ok(reason) || (to_tag && !token_ok(to_tag)) ||
	    (extra_headers && !extra_ok(extra_headers)))
		return -EINVAL;
	add_tag = status > 100 && to_tag;
	if (add_tag) {
		const struct sip_hdr *to = first_hdr(req, H_TO);
		struct sip_span v = span(req, to->value, to->value_end - to->value);

		add_tag = sip_msg_param(v, "tag", &tag) == -ENOENT;
	}
	snprintf(code, sizeof(code), "SIP/2.0 %d ", status);
	puts_(&o, code);
	puts_(&o, reason);
	puts_(&o, "\r\n");
	/* RFC 3261 8.2.6.2: Via, From, To, Call-ID and CSeq as in the request. */
	for (unsigned i = 0; i < req->n_hdrs; i++) {
		const struct sip_hdr *h = &req->hdrs[i];

		switch (h->id) {
		case H_VIA:
			emit(req, &o, h->line, h->end, h->value, h->value_end);
			break;
		case H_TO:
			if (add_tag) {
				put(&o, req->buf + h->line, h->value_end - h->line);
				puts_(&o, ";tag=");
				puts_(&o, to_tag);
				put(&o, req->buf + h->value_end, h->end - h->value_end);
				break;
			}
			/* fall through */
		case H_FROM:
		case H_CALL_ID:
		case H_CSEQ:
			put(&o, req->buf + h->line, h->end - h->line);
			break;
		case H_TIMESTAMP:
			if (status == 100)
				put(&o, req->buf + h->line, h->end - h->line);
			break;
		case H_RECORD_ROUTE:
			if (rr)
				put(&o, req->buf + h->line, h->end - h->line);
			break;
		default:
			break;
		}
	}
	if (extra_headers)
		puts_(&o, extra_headers);
	puts_(&o, "Content-Length: 0\r\n\r\n");
	return out_finish(&o);
}
