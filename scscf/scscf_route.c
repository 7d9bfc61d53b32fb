/* The S-CSCF's routing decisions, free of sockets and transactions so they can be tested
 * alone: the lookup form of identities, the target of an originating request
 * (TS 24.229 5.4.3.2: a domain of the topology by host, or by tel number range), the
 * served user of an originating request (its P-Asserted-Identity registered here), the
 * registration of a terminating Request-URI (5.4.3.3) and the branches of the fork to
 * its contacts, each with its stored Path (RFC 3327 5.3) as Route. */
#include "scscf.h"

#include "sip_msg.h"
#include "topo.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The final response of each classification but SCSCF_DEST_DOMAIN. */
static const struct {
	int status;         /* SIP status, 0 for a routable target */
	const char *reason; /* reason phrase */
} dest_answers[SCSCF_DEST_N] = {
    [SCSCF_DEST_DOMAIN] = {0, NULL},
    [SCSCF_DEST_BAD_URI] = {400, "Bad Request-URI"},
    [SCSCF_DEST_BAD_SCHEME] = {416, "Unsupported URI Scheme"},
    [SCSCF_DEST_NO_DOMAIN] = {404, "Not Found"},
    [SCSCF_DEST_LOCAL_NUMBER] = {404, "Not Found"},
    /* RFC 3261 21.6.2: the number exists in no numbering range we know. */
    [SCSCF_DEST_NO_NUMBER] = {604, "Does Not Exist Anywhere"},
};

int scscf_route_dest_status(enum scscf_dest d, const char **reason)
{
	if ((unsigned)d >= SCSCF_DEST_N)
		d = SCSCF_DEST_BAD_URI;
	*reason = dest_answers[d].reason;
	return dest_answers[d].status;
}

/* RFC 3966 5.1.1: visual separators carry no meaning and are dropped for comparison. */
static bool visual_separator(char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

int scscf_route_tel_number(const char *uri, size_t len, char *out, size_t outlen)
{
	size_t i = 4, n = 0;
	bool global, digit = false;

	if (len < 4 || strncasecmp(uri, "tel:", 4) != 0 || outlen < 2)
		return -EBADMSG;
	global = i < len && uri[i] == '+';
	if (global)
		out[n++] = uri[i++];
	for (; i < len && uri[i] != ';'; i++) {
		char c = uri[i];

		if (visual_separator(c))
			continue;
		if (isdigit((unsigned char)c))
			digit = true;
		else if (global || !(isxdigit((unsigned char)c) || c == '*' || c == '#'))
			return -EBADMSG;
		if (n + 1 >= outlen)
			return -EMSGSIZE;
		out[n++] = c;
	}
	out[n] = '\0';
	/* RFC 3966 3: a global number has at least one digit, a local one one character. */
	if (global ? !digit : n == 0)
		return -EBADMSG;
	return global ? 0 : -ENOENT;
}

/* What the routing tells apart in a URI's scheme (RFC 3261 19.1, RFC 3966 3). */
enum scheme { SCHEME_SIP, SCHEME_TEL, SCHEME_OTHER, SCHEME_NONE };

/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), before a colon. */
static enum scheme scheme_of(const char *uri, size_t len)
{
	const char *colon = memchr(uri, ':', len);
	size_t n = colon ? (size_t)(colon - uri) : 0;

	if (n == 0 || !isalpha((unsigned char)uri[0]))
		return SCHEME_NONE;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)uri[i]) && uri[i] != '+' && uri[i] != '-' &&
		    uri[i] != '.')
			return SCHEME_NONE;
	if ((n == 3 && strncasecmp(uri, "sip", 3) == 0) ||
	    (n == 4 && strncasecmp(uri, "sips", 4) == 0))
		return SCHEME_SIP;
	if (n == 3 && strncasecmp(uri, "tel", 3) == 0)
		return SCHEME_TEL;
	return SCHEME_OTHER;
}

int scscf_route_aor(const char *uri, size_t len, char *out, size_t outlen)
{
	enum scheme scheme = scheme_of(uri, len);
	char num[SIP_HOST_MAX];
	struct sip_uri u;
	int rc, k;

	if (scheme == SCHEME_NONE)
		return -EBADMSG;
	if (scheme == SCHEME_OTHER)
		return -EPROTONOSUPPORT;
	if (scheme == SCHEME_TEL) {
		rc = scscf_route_tel_number(uri, len, num, sizeof(num));
		if (rc < 0 && rc != -ENOENT)
			return rc;
		k = snprintf(out, outlen, "tel:%s", num);
	} else {
		rc = sip_msg_uri_parse(uri, len, &u);
		if (rc < 0)
			return rc;
		if (!u.user[0])
			return -EDESTADDRREQ;
		k = snprintf(out, outlen, "%s:%s@%s", u.scheme, u.user, u.host);
	}
	return k < 0 || (size_t)k >= outlen ? -EMSGSIZE : 0;
}

enum scscf_dest scscf_route_classify(const struct topo *t, const char *ruri, size_t len,
                                     const struct topo_domain **domain)
{
	char num[SIP_HOST_MAX];
	struct sip_uri u;
	int rc;

	*domain = NULL;
	switch (scheme_of(ruri, len)) {
	case SCHEME_NONE:
		return SCSCF_DEST_BAD_URI;
	case SCHEME_OTHER:
		return SCSCF_DEST_BAD_SCHEME;
	case SCHEME_TEL:
		/* calls.md: number ranges of the topology stand in for ENUM; the request keeps
		 * its tel Request-URI on the way to the I-CSCF of the range's domain. */
		rc = scscf_route_tel_number(ruri, len, num, sizeof(num));
		if (rc == -ENOENT)
			return SCSCF_DEST_LOCAL_NUMBER;
		if (rc < 0)
			return SCSCF_DEST_BAD_URI;
		*domain = topo_domain_by_tel(t, num);
		return *domain ? SCSCF_DEST_DOMAIN : SCSCF_DEST_NO_NUMBER;
	case SCHEME_SIP:
		break;
	}
	if (sip_msg_uri_parse(ruri, len, &u) < 0)
		return SCSCF_DEST_BAD_URI;
	/* Our own domain too: its I-CSCF finds the S-CSCF serving the callee, which may be
	 * another one of the domain (calls.md). */
	*domain = topo_domain_by_name(t, u.host);
	return *domain ? SCSCF_DEST_DOMAIN : SCSCF_DEST_NO_DOMAIN;
}

/* The identity uri in r's implicit set, or NULL. */
static const struct scscf_identity *reg_identity(const struct scscf_reg *r, const char *uri)
{
	for (size_t i = 0; i < r->n_impus; i++)
		if (strcasecmp(r->impus[i].id.uri, uri) == 0)
			return &r->impus[i].id;
	return NULL;
}

int scscf_route_served_user(const struct scscf_regtab *t, const struct sip_msg *m, char *impu,
                            size_t n, struct scscf_reg **reg)
{
	unsigned count = sip_msg_header_values(m, "P-Asserted-Identity");
	char aor[SCSCF_URI_MAX];
	int result = -ENOENT;

	*reg = NULL;
	/* RFC 3325 9.1: at most one sip and one tel value; either may be the registered
	 * one, so every value is tried in order. */
	for (unsigned i = 0; i < count; i++) {
		const struct scscf_identity *id = NULL;
		struct scscf_reg *r = NULL;
		struct sip_addr a;

		if (sip_msg_nameaddr(m, "P-Asserted-Identity", i, &a) == 0 &&
		    scscf_route_aor(a.uri.p, a.uri.len, aor, sizeof(aor)) == 0) {
			r = scscf_regtab_find(t, aor);
			id = r ? reg_identity(r, aor) : NULL;
		}
		if (!id) {
			if (result == -ENOENT)
				result = -EACCES;
			continue;
		}
		/* TS 24.229 5.4.3.2: a barred identity originates nothing. */
		if (id->barred) {
			result = -EPERM;
			continue;
		}
		if ((size_t)snprintf(impu, n, "%s", aor) >= n)
			return -EMSGSIZE;
		*reg = r;
		return 0;
	}
	return result;
}

int scscf_route_callee(const struct scscf_regtab *t, const char *realm, const char *ruri,
                       size_t len, char *aor, size_t n, struct scscf_reg **reg)
{
	const struct scscf_identity *id;
	struct scscf_reg *r;
	int rc;

	*reg = NULL;
	rc = scscf_route_aor(ruri, len, aor, n);
	if (rc < 0)
		return rc;
	if (strncmp(aor, "tel:", 4) != 0 && strcasecmp(strrchr(aor, '@') + 1, realm) != 0)
		return -EREMOTE;
	r = scscf_regtab_find(t, aor);
	if (!r)
		return -ENOENT;
	/* TS 24.229 5.4.3.3: a barred Request-URI is answered 404. */
	id = reg_identity(r, aor);
	if (id && id->barred)
		return -EPERM;
	*reg = r;
	return 0;
}

static void trim(char **start, char *end)
{
	while (**start == ' ' || **start == '\t')
		(*start)++;
	while (end > *start && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
}

int scscf_route_split(char *list, const char **vals, size_t max)
{
	char *start = list;
	bool quote = false;
	int angle = 0;
	size_t n = 0;

	for (char *p = list;; p++) {
		char c = *p;

		if (quote && c == '\\' && p[1]) {
			p++;
			continue;
		}
		if (c == '"')
			quote = !quote;
		else if (!quote && c == '<')
			angle++;
		else if (!quote && c == '>' && angle > 0)
			angle--;
		if (c && (c != ',' || quote || angle))
			continue;
		*p = '\0';
		trim(&start, p);
		if (*start) {
			if (n == max)
				return -E2BIG;
			vals[n++] = start;
		}
		if (!c)
			break;
		start = p + 1;
	}
	return (int)n;
}

/* The URI inside the < > of a name-addr value (RFC 3327: Path values are name-addr);
 * an addr-spec without < > is taken whole. -EBADMSG when < has no >. */
static int value_uri(const char *v, const char **uri, size_t *len)
{
	const char *lt = strchr(v, '<'), *gt;

	if (!lt) {
		*uri = v;
		*len = strlen(v);
		return 0;
	}
	gt = strchr(lt, '>');
	if (!gt || gt == lt + 1)
		return -EBADMSG;
	*uri = lt + 1;
	*len = (size_t)(gt - lt - 1);
	return 0;
}

/* The bindings of r alive at now into order (at most SCSCF_CONTACTS_MAX), highest q
 * first; a stable insertion keeps equal q in list order, newest first. Returns how many. */
static size_t contacts_by_q(const struct scscf_reg *r, uint64_t now,
                            const struct scscf_contact **order)
{
	size_t n = 0;

	for (const struct scscf_contact *c = r->contacts; c && n < SCSCF_CONTACTS_MAX;
	     c = c->next) {
		size_t i;

		/* RFC 3261 10.3: an expired binding is no contact, even before its timer. */
		if (c->expires_ms <= now)
			continue;
		for (i = n; i > 0 && order[i - 1]->q < c->q; i--)
			order[i] = order[i - 1];
		order[i] = c;
		n++;
	}
	return n;
}

size_t scscf_route_branches(const struct scscf_reg *r, uint64_t now, struct scscf_fork *f)
{
	const struct scscf_contact *order[SCSCF_CONTACTS_MAX];
	size_t n = contacts_by_q(r, now, order);

	/* RFC 3261 16.6: every branch still goes out at once; q only orders them (10.2.1.2:
	 * the UA's preference among its contacts), so the preferred one is the first branch. */
	f->n = 0;
	for (size_t i = 0; i < n; i++) {
		const struct scscf_contact *c = order[i];
		struct scscf_branch *b = &f->b[f->n];
		size_t len = strnlen(c->path, sizeof(c->path) - 1);
		int k;

		memcpy(b->buf, c->path, len);
		b->buf[len] = '\0';
		k = scscf_route_split(b->buf, b->routes, SCSCF_ROUTES_MAX);
		if (k < 0)
			continue;
		b->n_routes = (size_t)k;
		b->ruri = c->uri;
		/* RFC 3261 16.6 step 7: the first Route value is the next hop, else the
		 * Request-URI. */
		if (k > 0) {
			if (value_uri(b->routes[0], &b->hop, &b->hop_len) < 0)
				continue;
		} else {
			b->hop = c->uri;
			b->hop_len = strlen(c->uri);
		}
		f->n++;
	}
	return f->n;
}
