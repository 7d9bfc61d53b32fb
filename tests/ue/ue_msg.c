/* The messages the UE writes itself: requests (RFC 3261 8.1.1, with the Route set of
 * 12.2.1.1 or the preloaded one of TS 24.229 5.1.2A.1) and responses with bodies
 * (8.2.6, on top of sip_msg_build_response), plus small readers of the headers the
 * UA needs (Require/Supported option tags, RSeq, RAck, the SDP body). */
#include "ue.h"

#include "version.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void ue_msg_put(struct ue_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len) {
		o->full = true;
		return;
	}
	o->len += (size_t)n;
}

static void put_bytes(struct ue_out *o, const char *p, size_t n)
{
	if (o->full || n >= o->size - o->len) {
		o->full = true;
		return;
	}
	memcpy(o->p + o->len, p, n);
	o->len += n;
	o->p[o->len] = '\0';
}

/* No CR or LF may sneak into a header from a REST body or a peer's value. */
static bool one_line(const char *s)
{
	return s && !strpbrk(s, "\r\n");
}

ssize_t ue_msg_request(const struct ue_req *r, char *out, size_t outlen)
{
	struct ue_out o = {out, 0, outlen, outlen == 0};

	if (!one_line(r->method) || !one_line(r->ruri) || !one_line(r->via_host) ||
	    !one_line(r->branch) || !one_line(r->from) || !one_line(r->from_tag) ||
	    !one_line(r->to) || !one_line(r->call_id) || (r->to_tag && !one_line(r->to_tag)) ||
	    (r->contact && !one_line(r->contact)) || (r->body_len && !r->content_type))
		return -EINVAL;
	for (size_t i = 0; i < r->n_routes; i++)
		if (!one_line(r->routes[i]))
			return -EINVAL;
	ue_msg_put(&o, "%s %s SIP/2.0\r\n", r->method, r->ruri);
	/* RFC 3581 3: rport asks for responses at our source port. */
	ue_msg_put(&o, "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n",
	           sip_transport_proto_name(r->proto), r->via_host, (unsigned)r->via_port,
	           r->branch);
	ue_msg_put(&o, "Max-Forwards: 70\r\n");
	for (size_t i = 0; i < r->n_routes; i++)
		ue_msg_put(&o, "Route: %s\r\n", r->routes[i]);
	ue_msg_put(&o, "From: %s;tag=%s\r\n", r->from, r->from_tag);
	if (r->to_tag && r->to_tag[0])
		ue_msg_put(&o, "To: %s;tag=%s\r\n", r->to, r->to_tag);
	else
		ue_msg_put(&o, "To: %s\r\n", r->to);
	ue_msg_put(&o, "Call-ID: %s\r\nCSeq: %u %s\r\n", r->call_id, r->cseq, r->method);
	if (r->contact)
		ue_msg_put(&o, "Contact: <%s>\r\n", r->contact);
	if (r->headers)
		ue_msg_put(&o, "%s", r->headers);
	ue_msg_put(&o, "User-Agent: ims-lab-ue/" IMS_VERSION "\r\n");
	if (r->content_type)
		ue_msg_put(&o, "Content-Type: %s\r\n", r->content_type);
	ue_msg_put(&o, "Content-Length: %zu\r\n\r\n", r->body_len);
	if (r->body_len)
		put_bytes(&o, r->body, r->body_len);
	return o.full ? -ENOSPC : (ssize_t)o.len;
}

ssize_t ue_msg_response(const struct sip_msg *req, int status, const char *reason,
                        const char *to_tag, const char *extra, const char *content_type,
                        const char *body, size_t body_len, char *out, size_t outlen)
{
	static const char tail[] = "Content-Length: 0\r\n\r\n";
	struct ue_out o = {out, 0, outlen, false};
	ssize_t n;

	if (content_type && !one_line(content_type))
		return -EINVAL;
	n = sip_msg_build_response(req, status, reason, to_tag, extra, out, outlen);
	if (n < 0 || !content_type)
		return n;
	/* sip_msg_build_response ends with an empty body: put ours in its place. */
	if ((size_t)n < sizeof(tail) - 1 ||
	    memcmp(out + n - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
		return -EINVAL;
	o.len = (size_t)n - (sizeof(tail) - 1);
	ue_msg_put(&o, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n", content_type, body_len);
	put_bytes(&o, body, body_len);
	return o.full ? -ENOSPC : (ssize_t)o.len;
}

bool ue_msg_has_option(const struct sip_msg *m, const char *header, const char *tag)
{
	struct sip_value_iter it;
	struct sip_span v;
	size_t n = strlen(tag);

	sip_msg_values(m, header, &it);
	while (sip_msg_values_next(&it, &v))
		if (v.len == n && strncasecmp(v.p, tag, n) == 0)
			return true;
	return false;
}

struct sip_span ue_msg_sdp(const struct sip_msg *m)
{
	struct sip_span none = {NULL, 0}, body = sip_msg_body(m);
	size_t len;
	const char *ct = sip_msg_header(m, "Content-Type", &len);

	/* RFC 3261 20.15: the media type, before any parameter, case-insensitive. */
	if (!ct || body.len == 0 || len < 15 || strncasecmp(ct, "application/sdp", 15) != 0 ||
	    (len > 15 && ct[15] != ';' && ct[15] != ' ' && ct[15] != '\t'))
		return none;
	return body;
}

/* 1*DIGIT below 2^32 in len bytes. */
static int read_u32(const char *p, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return -EBADMSG;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > UINT32_MAX)
		return -EBADMSG;
	*out = (uint32_t)v;
	return 0;
}

int ue_msg_uint(const struct sip_msg *m, const char *name, uint32_t *out)
{
	size_t len;
	const char *v = sip_msg_header(m, name, &len);

	if (!v)
		return -ENOENT;
	return read_u32(v, len, out);
}

int ue_msg_rack(const struct sip_msg *m, uint32_t *rseq, uint32_t *cseq, char *method,
                size_t methodlen)
{
	size_t len, i = 0, s;
	const char *v = sip_msg_header(m, "RAck", &len);

	if (!v)
		return -ENOENT;
	/* RFC 3262 7.2: RAck = response-num LWS CSeq-num LWS Method */
	for (s = i; i < len && v[i] != ' ' && v[i] != '\t'; i++)
		;
	if (read_u32(v + s, i - s, rseq) < 0)
		return -EBADMSG;
	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	for (s = i; i < len && v[i] != ' ' && v[i] != '\t'; i++)
		;
	if (read_u32(v + s, i - s, cseq) < 0)
		return -EBADMSG;
	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == len || len - i >= methodlen)
		return -EBADMSG;
	memcpy(method, v + i, len - i);
	method[len - i] = '\0';
	return strpbrk(method, " \t") ? -EBADMSG : 0;
}
