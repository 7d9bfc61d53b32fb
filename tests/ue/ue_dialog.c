/* Dialog state for the test UE (RFC 3261 12): how a dialog is born on either side
 * (12.1.1 UAS, 12.1.2 UAC: the route set from Record-Route, kept in order by the UAS
 * and reversed by the UAC; the remote target from Contact), which requests belong to it
 * (12.2.2), and how requests inside it are addressed (12.2.1.1, loose and strict
 * routers). Pure functions over parsed messages. */
#include "ue.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Copies a URI span as a NUL-terminated string. */
static int copy_span(struct sip_span v, char *out, size_t outlen)
{
	if (v.len >= outlen)
		return -EMSGSIZE;
	memcpy(out, v.p, v.len);
	out[v.len] = '\0';
	return 0;
}

/* "<uri>" of a From or To value: tags belong to the dialog, not to the URI fields. */
static int addr_of(const struct sip_msg *m, const char *name, char *out, size_t outlen, char *tag,
                   size_t taglen)
{
	struct sip_addr a;
	int ret = sip_msg_nameaddr(m, name, 0, &a);

	if (ret < 0)
		return ret;
	if (a.uri.len + 3 > outlen || strlen(a.tag) >= taglen)
		return -EMSGSIZE;
	snprintf(out, outlen, "<%.*s>", (int)a.uri.len, a.uri.p);
	snprintf(tag, taglen, "%s", a.tag);
	return 0;
}

/* The Record-Route values of m into d->routes, in order or reversed. */
static int take_routes(struct ue_dialog *d, const struct sip_msg *m, bool reverse)
{
	unsigned n = sip_msg_header_values(m, "Record-Route");
	struct sip_value_iter it;
	struct sip_span v;
	size_t i = 0;

	if (n > UE_ROUTES_MAX)
		return -EMSGSIZE;
	sip_msg_values(m, "Record-Route", &it);
	while (sip_msg_values_next(&it, &v)) {
		size_t slot = reverse ? n - 1 - i : i;

		if (sip_msg_value_copy(v, d->routes[slot], UE_URI_MAX) < 0)
			return -EMSGSIZE;
		i++;
	}
	d->n_routes = i;
	return 0;
}

int ue_dialog_refresh(struct ue_dialog *d, const struct sip_msg *msg)
{
	struct sip_contact c;
	int ret = sip_msg_contact(msg, 0, &c);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0 || c.star)
		return ret < 0 ? ret : -EBADMSG;
	return copy_span(c.uri, d->remote_target, sizeof(d->remote_target));
}

int ue_dialog_uac(struct ue_dialog *d, const struct sip_msg *rsp)
{
	char tag[SIP_TOKEN_MAX];
	int ret = sip_msg_to_tag(rsp, tag, sizeof(tag));

	if (ret < 0)
		return ret;
	/* 12.1.2: the route set is the Record-Route list in reverse order. */
	ret = take_routes(d, rsp, true);
	if (ret < 0)
		return ret;
	ret = ue_dialog_refresh(d, rsp);
	if (ret < 0)
		return ret;
	snprintf(d->remote_tag, sizeof(d->remote_tag), "%s", tag);
	return 0;
}

int ue_dialog_uas(struct ue_dialog *d, const struct sip_msg *req, const char *local_tag)
{
	struct sip_span id = sip_msg_call_id(req), method;
	char to_tag[SIP_TOKEN_MAX];
	struct sip_contact c;
	int ret;

	memset(d, 0, sizeof(*d));
	ret = addr_of(req, "From", d->remote_uri, sizeof(d->remote_uri), d->remote_tag,
	              sizeof(d->remote_tag));
	if (ret < 0)
		return ret;
	if (!d->remote_tag[0])
		return -ENOENT;
	ret = addr_of(req, "To", d->local_uri, sizeof(d->local_uri), to_tag, sizeof(to_tag));
	if (ret < 0)
		return ret;
	if (copy_span(id, d->call_id, sizeof(d->call_id)) < 0 ||
	    strlen(local_tag) >= sizeof(d->local_tag))
		return -EMSGSIZE;
	snprintf(d->local_tag, sizeof(d->local_tag), "%s", local_tag);
	/* 12.1.1: the route set is the Record-Route list in order. */
	ret = take_routes(d, req, false);
	if (ret < 0)
		return ret;
	ret = sip_msg_contact(req, 0, &c);
	if (ret < 0 || c.star)
		return ret < 0 ? ret : -EBADMSG;
	ret = copy_span(c.uri, d->remote_target, sizeof(d->remote_target));
	if (ret < 0)
		return ret;
	sip_msg_cseq(req, &d->remote_cseq, &method);
	d->has_remote_cseq = true;
	return 0;
}

static bool span_is(struct sip_span s, const char *v)
{
	return s.len == strlen(v) && memcmp(s.p, v, s.len) == 0;
}

bool ue_dialog_matches(const struct ue_dialog *d, const struct sip_msg *req)
{
	char tag[SIP_TOKEN_MAX];

	if (!span_is(sip_msg_call_id(req), d->call_id))
		return false;
	if (sip_msg_to_tag(req, tag, sizeof(tag)) < 0 || strcmp(tag, d->local_tag) != 0)
		return false;
	if (sip_msg_from_tag(req, tag, sizeof(tag)) < 0)
		return false;
	return !d->remote_tag[0] || strcmp(tag, d->remote_tag) == 0;
}

/* The URI inside a name-addr ("<sip:p;lr>;x=y" -> "sip:p;lr"), or the text itself. */
static void uri_of(const char *value, char *out, size_t outlen)
{
	const char *lt = strchr(value, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt && gt)
		snprintf(out, outlen, "%.*s", (int)(gt - lt - 1), lt + 1);
	else
		snprintf(out, outlen, "%s", value);
}

/* True when the route value's URI has the lr parameter (RFC 3261 19.1.1). */
static bool is_loose(const char *value)
{
	char uri[UE_URI_MAX];
	struct sip_uri u;

	uri_of(value, uri, sizeof(uri));
	return sip_msg_uri_parse(uri, strlen(uri), &u) == 0 && u.lr;
}

void ue_dialog_fill(const struct ue_dialog *d, const char *method, uint32_t cseq, struct ue_req *r)
{
	r->method = method;
	r->cseq = cseq;
	r->call_id = d->call_id;
	r->from = d->local_uri;
	r->from_tag = d->local_tag;
	r->to = d->remote_uri;
	r->to_tag = d->remote_tag;
	r->n_routes = 0;
	if (d->n_routes == 0 || is_loose(d->routes[0])) {
		/* 12.2.1.1: loose routing (or no route set): the remote target is the
		 * Request-URI and the route set the Route header. */
		r->ruri = d->remote_target;
		for (size_t i = 0; i < d->n_routes; i++)
			r->routes[r->n_routes++] = d->routes[i];
		return;
	}
	/* A strict router first: it takes the Request-URI, and the remote target travels
	 * as the last Route value. */
	uri_of(d->routes[0], r->ruri_buf, sizeof(r->ruri_buf));
	r->ruri = r->ruri_buf;
	for (size_t i = 1; i < d->n_routes; i++)
		r->routes[r->n_routes++] = d->routes[i];
	snprintf(r->route_buf, sizeof(r->route_buf), "<%s>", d->remote_target);
	r->routes[r->n_routes++] = r->route_buf;
}

void ue_dialog_next_hop(const struct ue_req *r, char *out, size_t outlen)
{
	/* RFC 3261 12.2.1.1 and 8.1.2: with a strict router first, the Request-URI holds it
	 * (ue_dialog_fill put it in ruri_buf); otherwise the first Route, if any. */
	if (r->ruri != r->ruri_buf && r->n_routes > 0)
		uri_of(r->routes[0], out, outlen);
	else
		snprintf(out, outlen, "%s", r->ruri);
}
