/* SIP messages for proxies: a lazy parse that indexes the start line and header lines
 * of the received bytes (RFC 3261 7, 7.3.1), typed access on demand through libosip2's
 * per-header parsers, and forwarding by byte edits (RFC 3261 16.6, 16.7; RFC 3581;
 * RFC 3327) rendered in one pass, so everything a node does not touch (unknown headers,
 * auth parameters such as auts= and integrity-protected=, case, folding) stays
 * byte-identical. Responses a node originates are built from the request (RFC 3261
 * 8.2.6). Never re-serialises a parsed libosip2 message. */
#ifndef IMS_SIP_MSG_H
#define IMS_SIP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Largest message accepted (bytes after leading CRLFs); beyond: -EMSGSIZE. */
#define SIP_MSG_MAX_SIZE 65536
/* Most header lines (a folded line counts once); beyond: -EMSGSIZE. */
#define SIP_MSG_MAX_HEADERS 128
/* Longest start line or logical header line (folding included, CRLF included). */
#define SIP_MSG_MAX_LINE 8192
/* Most byte edits recorded on one message. */
#define SIP_MSG_MAX_EDITS (SIP_MSG_MAX_HEADERS + 32)
/* Room for the text of all edits of one message (header lines, URIs, parameters). */
#define SIP_MSG_EDIT_SPACE 8192

/* Field sizes of the typed views (with the NUL). Longer input gives -EMSGSIZE. */
#define SIP_HOST_MAX      256
#define SIP_TOKEN_MAX     128
#define SIP_TRANSPORT_MAX 16

/* A parsed message. Opaque; owns a copy of the bytes it was parsed from. */
struct sip_msg;

/* Bytes inside a message: p points into the message's own copy and stays valid until
 * sip_msg_free. Not NUL-terminated. A header value may contain folding (CRLF followed
 * by SP or HTAB, RFC 3261 7.3.1); sip_msg_value_copy unfolds it. */
struct sip_span {
	const char *p; /* first byte, borrowed from the message */
	size_t len;    /* number of bytes */
};

/* Methods with a name; SIP_OTHER for any other token (see sip_msg_method for its text). */
enum sip_method {
	SIP_OTHER,
	SIP_INVITE,
	SIP_ACK,
	SIP_BYE,
	SIP_CANCEL,
	SIP_REGISTER,
	SIP_OPTIONS,
	SIP_PRACK,
	SIP_SUBSCRIBE,
	SIP_NOTIFY,
	SIP_PUBLISH,
	SIP_INFO,
	SIP_REFER,
	SIP_MESSAGE,
	SIP_UPDATE,
};

/* One header line as indexed by the parse. */
struct sip_header {
	const char *name;      /* canonical name for a known header (compact form expanded:
	                          "v" gives "Via"), else NULL; static storage */
	struct sip_span raw;   /* the name as written */
	struct sip_span value; /* value without leading or trailing whitespace; may be folded */
};

/* Iterator over every value of one header: each line in order and, for headers defined
 * as comma-separated lists (Via, Route, Record-Route, Path, Contact, Allow, Supported,
 * P-Asserted-Identity, ...; RFC 3261 7.3.1), each element of a line. Commas inside
 * quoted strings or <...> do not split. Headers not known as lists (auth headers, Date,
 * unknown names) give one value per line. Fields are private to sip_msg.c. */
struct sip_value_iter {
	const struct sip_msg *m; /* message walked, borrowed */
	const char *name;        /* name looked for when unknown, borrowed */
	size_t name_len;         /* length of name */
	unsigned id;             /* known header id, 0 for an unknown name */
	unsigned hdr;            /* next header line to examine */
	size_t pos;              /* offset of the rest of the current line, 0 when none */
};

/* The top (or n-th) Via value, RFC 3261 20.42, 18.2.1; RFC 3581. */
struct sip_via {
	char transport[SIP_TRANSPORT_MAX]; /* transport of sent-protocol ("UDP", "TCP"...) */
	char host[SIP_HOST_MAX];           /* sent-by host; IPv6 without brackets */
	uint16_t port;                     /* sent-by port, 0 when absent */
	char branch[SIP_TOKEN_MAX];        /* branch parameter, "" when absent */
	char received[SIP_HOST_MAX];       /* received parameter, "" when absent */
	bool rport;                        /* an rport parameter is present (RFC 3581 3) */
	uint16_t rport_value;              /* its value, 0 when it has none */
	struct sip_span value;             /* the whole Via value in the message */
};

/* A name-addr / addr-spec value: From, To, Route, Record-Route, Path, Service-Route,
 * P-Asserted-Identity, P-Associated-URI... (RFC 3261 20.20, 20.39; RFC 3327). */
struct sip_addr {
	struct sip_span uri;     /* the URI as written, without < > */
	char tag[SIP_TOKEN_MAX]; /* tag parameter, "" when absent */
	struct sip_span value;   /* the whole value in the message */
};

/* One Contact value, RFC 3261 20.10. */
struct sip_contact {
	bool star;             /* the value is "*" (REGISTER removing every binding) */
	struct sip_span uri;   /* the URI as written, without < > (empty for "*") */
	int64_t expires;       /* expires parameter, -1 when absent; capped at 2^32-1 */
	struct sip_span value; /* the whole value in the message */
};

/* A SIP, SIPS or tel URI, RFC 3261 19.1, RFC 3966. */
struct sip_uri {
	char scheme[8];                    /* "sip", "sips", "tel" (lower case) */
	char user[SIP_HOST_MAX];           /* user part; for tel: the number, "" if none */
	char host[SIP_HOST_MAX];           /* host, IPv6 without brackets; "" for tel */
	uint16_t port;                     /* port, 0 when absent */
	char transport[SIP_TRANSPORT_MAX]; /* transport parameter, "" when absent */
	bool lr;                           /* lr parameter present (loose routing, 19.1.1) */
};

/* ---- parse and inspect ---- */

/* Indexes one complete message of len bytes (a datagram, or one message framed by the
 * stream transport): leading CRLFs are skipped (RFC 3261 7.5); the start line, every
 * header line (compact names expanded, folding kept) and the body are located, CSeq,
 * Call-ID and Content-Length are checked, and a request or response must carry Via,
 * From, To, Call-ID and CSeq (RFC 3261 8.1.1); a request's CSeq method must equal its
 * method. Bytes after Content-Length are dropped (RFC 3261 18.3); without Content-Length
 * the body runs to the end. Does not use osip_message_parse.
 * Returns 0 and an owned message in *out (free with sip_msg_free), or: -EBADMSG
 * (malformed), -EMSGSIZE (over SIP_MSG_MAX_* limits), -EPROTONOSUPPORT (not SIP/2.0,
 * answer 505), -ENOMEM; then *out is NULL and why (if not NULL) holds a reason phrase
 * for "400 <why>" ("Missing Call-ID header", "Content-Length exceeds body"). */
int sip_msg_parse(const char *buf, size_t len, struct sip_msg **out, char *why, size_t whylen);
/* Frees a message; NULL is a no-op. */
void sip_msg_free(struct sip_msg *m);

bool sip_msg_is_request(const struct sip_msg *m);
/* Method of a request (SIP_OTHER for responses and unknown methods); for its text use
 * sip_msg_method_text, and for a response's method sip_msg_cseq. */
enum sip_method sip_msg_method(const struct sip_msg *m);
/* Method token of a request, or an empty span for a response. */
struct sip_span sip_msg_method_text(const struct sip_msg *m);
/* Request-URI as written; empty span for a response. */
struct sip_span sip_msg_ruri(const struct sip_msg *m);
/* Status code of a response (100-699), 0 for a request. */
int sip_msg_status(const struct sip_msg *m);
/* Reason phrase of a response (may be empty); empty span for a request. */
struct sip_span sip_msg_reason(const struct sip_msg *m);
/* Body (after Content-Length truncation); empty span when there is none. */
struct sip_span sip_msg_body(const struct sip_msg *m);
/* The message bytes kept by the parse (leading CRLFs skipped, datagram truncated). */
struct sip_span sip_msg_bytes(const struct sip_msg *m);

/* Number of header lines, and the i-th of them (0 <= i < count): 0 or -ENOENT. */
unsigned sip_msg_header_count(const struct sip_msg *m);
int sip_msg_header_at(const struct sip_msg *m, unsigned i, struct sip_header *out);

/* First value of header name (case-insensitive, full or compact name), in the sense of
 * struct sip_value_iter: the first list element for list headers, else the value of the
 * first line. Returns a pointer into the message and its length in *len, or NULL. */
const char *sip_msg_header(const struct sip_msg *m, const char *name, size_t *len);
/* Number of values sip_msg_values_next would give for name. */
unsigned sip_msg_header_values(const struct sip_msg *m, const char *name);
/* Starts iterating the values of header name (name is borrowed during the walk). */
void sip_msg_values(const struct sip_msg *m, const char *name, struct sip_value_iter *it);
/* Gives the next value in *value and returns true, or returns false at the end. */
bool sip_msg_values_next(struct sip_value_iter *it, struct sip_span *value);

/* Copies v into buf (size buflen) with each CR and LF of folding turned into a space,
 * plus a NUL. Returns the length, or -ENOSPC. */
ssize_t sip_msg_value_copy(struct sip_span v, char *buf, size_t buflen);
/* Finds header parameter name (case-insensitive) in one header value: the parameters
 * after the name-addr ("<...>;expires=60"), after an addr-spec's URI, or after a Via's
 * sent-by. *out gets the parameter value (quotes kept; empty for a flag parameter).
 * Returns 0, or -ENOENT when absent. */
int sip_msg_param(struct sip_span value, const char *name, struct sip_span *out);

/* CSeq, checked by the parse (RFC 3261 8.1.1.5): number and method token. */
void sip_msg_cseq(const struct sip_msg *m, uint32_t *num, struct sip_span *method);
/* Call-ID, checked by the parse. */
struct sip_span sip_msg_call_id(const struct sip_msg *m);
/* Max-Forwards value (RFC 3261 16.6 step 3), -ENOENT when absent, -EBADMSG if not
 * 1*DIGIT or beyond INT_MAX. */
int sip_msg_max_forwards(const struct sip_msg *m);
/* Expires header in seconds into *secs (over 2^32-1 reads as 2^32-1, RFC 3261 20.19).
 * Returns 0, -ENOENT when absent, -EBADMSG when malformed. */
int sip_msg_expires(const struct sip_msg *m, uint32_t *secs);

/* The index-th Via value (0 = top), parsed with osip_via_parse. Returns 0, -ENOENT
 * (fewer values), -EBADMSG (unparsable or not SIP/2.0), -EMSGSIZE (field too long). */
int sip_msg_via(const struct sip_msg *m, unsigned index, struct sip_via *out);
int sip_msg_top_via(const struct sip_msg *m, struct sip_via *out);
/* The index-th value of a name-addr header (From, To, Route, Path, ...), parsed with
 * osip_from_parse. Returns 0, -ENOENT, -EBADMSG or -EMSGSIZE like sip_msg_via. */
int sip_msg_nameaddr(const struct sip_msg *m, const char *name, unsigned index,
                     struct sip_addr *out);
int sip_msg_from(const struct sip_msg *m, struct sip_addr *out);
int sip_msg_to(const struct sip_msg *m, struct sip_addr *out);
/* Copies the From or To tag into tag (size taglen). Returns 0, -ENOENT when there is no
 * tag, -EBADMSG when the header is unparsable, -ENOSPC when taglen is too small. */
int sip_msg_from_tag(const struct sip_msg *m, char *tag, size_t taglen);
int sip_msg_to_tag(const struct sip_msg *m, char *tag, size_t taglen);
/* The index-th Contact value, parsed with osip_contact_parse. Returns like sip_msg_via. */
int sip_msg_contact(const struct sip_msg *m, unsigned index, struct sip_contact *out);
/* v without leading and trailing whitespace (SP, HTAB, CR, LF). Borrowed from v. */
struct sip_span sip_msg_trim(struct sip_span v);
/* The URI inside one name-addr ("Name" <uri>;params) or addr-spec (uri;params) value,
 * surrounding whitespace ignored; an empty span when a '<' is never closed. Borrowed
 * from value. */
struct sip_span sip_msg_addr_uri(struct sip_span value);
/* Parses len bytes of URI with osip_uri_parse. Returns 0, -EBADMSG, -EMSGSIZE. */
int sip_msg_uri_parse(const char *uri, size_t len, struct sip_uri *out);

/* ---- byte edits for forwarding ----
 * Each call records an edit of the received bytes; sip_msg_render applies them all in
 * one pass. Edits refer to the received message: accessors keep returning the received
 * values, and two edits may not touch the same bytes (-EBUSY). Text arguments are
 * NUL-terminated and may not contain CR or LF (-EINVAL); header names must be tokens.
 * Every call returns 0 (or a count where said), -EINVAL, -EBUSY, -ENOENT where said,
 * or -ENOSPC when SIP_MSG_MAX_EDITS or SIP_MSG_EDIT_SPACE is exhausted; a failed call
 * leaves the edits as they were. */

/* Inserts the line "name: value" before the first line of header name, or before the
 * first header line when there is none: our Via (RFC 3261 16.6 step 8), Record-Route
 * (step 4), Path (RFC 3327 5). Lines pushed at one place keep their call order. */
int sip_msg_edit_push(struct sip_msg *m, const char *name, const char *value);
/* Adds the line "name: value" after the last header line. */
int sip_msg_edit_append(struct sip_msg *m, const char *name, const char *value);
/* Replaces the value of the first line of header name (Max-Forwards, RFC 3261 16.6
 * step 3), or appends the line when the header is absent. */
int sip_msg_edit_set(struct sip_msg *m, const char *name, const char *value);
/* Removes the first n values of header name: the Route values naming us (RFC 3261
 * 16.4), our Via in a response (16.7 step 3). A value sharing its line with others is
 * removed with its comma; a line left without values is removed whole. Pop several
 * values in one call. -ENOENT when there are fewer than n values. */
int sip_msg_edit_pop(struct sip_msg *m, const char *name, unsigned n);
/* Removes every line of header name (P-Asserted-Identity from a UE, RFC 3325 5).
 * Returns the number of lines removed (0 when absent). */
int sip_msg_edit_remove(struct sip_msg *m, const char *name);
/* Replaces the Request-URI (RFC 3261 16.6 step 6). -EINVAL for a response or a URI
 * with whitespace. */
int sip_msg_edit_ruri(struct sip_msg *m, const char *uri);
/* Sets parameter name of the top Via value: replaces its value when present (adds
 * "=value" to a flag), else appends ";name=value" (";name" when value is NULL). */
int sip_msg_edit_via_param(struct sip_msg *m, const char *name, const char *value);
/* What a server does on receiving a request from src_ip:src_port, given the top Via
 * read by sip_msg_top_via: adds received=src_ip when sent-by is not that address
 * (RFC 3261 18.2.1) or when rport is present, and sets rport=src_port when rport came
 * without a value (RFC 3581 4). Returns 0 when nothing was needed, too. */
int sip_msg_edit_via_received(struct sip_msg *m, const struct sip_via *top, const char *src_ip,
                              uint16_t src_port);
/* Removes the auth parameters named in names (n entries, case-insensitive) from every
 * line of an auth header (WWW-Authenticate, Authorization, ...; RFC 3261 25.1
 * challenge/credentials), with their commas; the other parameters stay as they were
 * (the P-CSCF strips ck= and ik= from a 401, TS 33.203 7.1). Returns the number of
 * parameters removed. */
int sip_msg_edit_auth_remove(struct sip_msg *m, const char *header, const char *const *names,
                             unsigned n);
/* Replaces the value of auth parameter name in every line of header where it appears
 * (value is written as given: include the quotes of a quoted-string). Returns the number
 * of parameters replaced, -ENOENT when none. */
int sip_msg_edit_auth_set(struct sip_msg *m, const char *header, const char *name,
                          const char *value);
/* Number of edits recorded, and dropping every edit recorded after such a mark (to
 * build several forks of one request: common edits, mark, per-branch edits, render,
 * rollback). */
unsigned sip_msg_edit_mark(const struct sip_msg *m);
void sip_msg_edit_rollback(struct sip_msg *m, unsigned mark);

/* Exact length of the rendered message (without a NUL). */
size_t sip_msg_render_len(const struct sip_msg *m);
/* Writes the message with its edits applied into out (outlen bytes), plus a NUL when
 * there is room for it. Content-Length and body are the received ones. Returns the
 * length, or -ENOSPC when outlen < sip_msg_render_len(m). */
ssize_t sip_msg_render(const struct sip_msg *m, char *out, size_t outlen);

/* ---- responses built by the node ---- */

/* Default reason phrase of a status code (RFC 3261 21), or the class's when unknown. */
const char *sip_msg_reason_phrase(int status);
/* Builds a response to request req (RFC 3261 8.2.6, 16.7): status line, the Via lines
 * (with the edits made inside the Via values, so received=/rport= of
 * sip_msg_edit_via_received are echoed, RFC 3581 4), From, To (with ";tag=to_tag"
 * appended when status > 100, the To had no tag and to_tag is not NULL), Call-ID,
 * CSeq, Timestamp for 100 (8.2.6.1), Record-Route for 101-299 to a dialog-creating
 * request (12.1.1), then extra_headers (NULL, or whole lines each ending in CRLF, no
 * Content-Length) and "Content-Length: 0". reason NULL takes sip_msg_reason_phrase.
 * Returns the length written into out (NUL added when there is room), -ENOSPC, or
 * -EINVAL (req is a response, status outside 100-699, bad reason/tag/extra text). */
ssize_t sip_msg_build_response(const struct sip_msg *req, int status, const char *reason,
                               const char *to_tag, const char *extra_headers, char *out,
                               size_t outlen);

#endif
