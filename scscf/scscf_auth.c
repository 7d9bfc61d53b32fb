/* S-CSCF authentication (TS 33.203 6.1, TS 24.229 5.4.1.2, RFC 3310, RFC 2617): the
 * Authorization scanner (libosip2 drops auts= and integrity-protected=), the
 * WWW-Authenticate of a 401, and the nonce store: the vectors an MAA gave, kept per IMPI
 * in a hash table, at most SCSCF_AUTH_VECTORS each, each usable once and only for
 * SCSCF_AUTH_TTL_MS. An age list orders the IMPIs by their newest challenge, so expiry
 * and eviction take the head. */
#include "scscf.h"

#include "codec.h"
#include "digest.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AKA_RAND_LEN    16
#define AKA_AUTN_LEN    16
#define AKA_AUTS_LEN    14
#define AKA_XRES_MIN    4 /* TS 33.102 6.3.2: RES is 32 to 128 bits */
#define AKA_XRES_MAX    16
#define MD5_NONCE_BYTES 16 /* random bytes of a SIP Digest nonce */
#define POOL_MAX        1024

/* --- Authorization: credentials ------------------------------------------------------ */

#define CRED_FIELD(name, member)                                                                   \
	{                                                                                          \
		name, offsetof(struct scscf_cred, member),                                         \
		    sizeof(((struct scscf_cred *)0)->member)                                       \
	}

/* The parameters kept; others are skipped (RFC 3261 25.1 auth-param). */
static const struct cred_field {
	const char *name; /* parameter name, compared case-insensitively */
	size_t off;       /* its field in struct scscf_cred */
	size_t size;      /* size of that field */
} cred_fields[] = {
    CRED_FIELD("username", username), CRED_FIELD("realm", realm),
    CRED_FIELD("nonce", nonce),       CRED_FIELD("uri", uri),
    CRED_FIELD("response", response), CRED_FIELD("algorithm", algorithm),
    CRED_FIELD("qop", qop),           CRED_FIELD("nc", nc),
    CRED_FIELD("cnonce", cnonce),     CRED_FIELD("opaque", opaque),
    CRED_FIELD("auts", auts),         CRED_FIELD("integrity-protected", integrity_protected),
};

#define N_CRED_FIELDS (sizeof(cred_fields) / sizeof(cred_fields[0]))

/* RFC 3261 25.1 token characters. */
static bool is_token(unsigned char c)
{
	return isalnum(c) || (c && strchr("-.!%*_+`'~", c));
}

/* LWS, folding included (RFC 3261 25.1: [*WSP CRLF] 1*WSP). */
static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *skip_lws(const char *p, const char *end)
{
	while (p < end && is_lws(*p))
		p++;
	return p;
}

/* Reads a quoted-string starting at *pp (on the opening quote) into out (size bytes),
 * undoing quoted-pairs. Returns its length, -EBADMSG, or -EMSGSIZE. */
static ssize_t read_quoted(const char **pp, const char *end, char *out, size_t size)
{
	const char *p = *pp + 1;
	size_t n = 0;

	for (; p < end && *p != '"'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\\') {
			if (++p == end)
				return -EBADMSG;
			c = (unsigned char)*p;
		}
		/* qdtext excludes controls but LWS (folding inside a value is legal). */
		if (c < 0x20 && !is_lws((char)c))
			return -EBADMSG;
		if (c == 0x7f)
			return -EBADMSG;
		if (out) {
			if (n + 1 >= size)
				return -EMSGSIZE;
			out[n] = (char)c;
		}
		n++;
	}
	if (p == end)
		return -EBADMSG;
	if (out)
		out[n] = '\0';
	*pp = p + 1;
	return (ssize_t)n;
}

/* Reads an unquoted value: tolerant of clients that leave base64 nonces or URIs
 * unquoted, so everything up to a comma or whitespace. */
static ssize_t read_bare(const char **pp, const char *end, char *out, size_t size)
{
	const char *p = *pp;
	size_t n;

	while (p < end && *p != ',' && !is_lws(*p) && *p != '"') {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EBADMSG;
		p++;
	}
	n = (size_t)(p - *pp);
	if (n == 0)
		return -EBADMSG;
	if (out) {
		if (n >= size)
			return -EMSGSIZE;
		memcpy(out, *pp, n);
		out[n] = '\0';
	}
	*pp = p;
	return (ssize_t)n;
}

static const struct cred_field *cred_field(const char *name, size_t len, size_t *index)
{
	for (size_t i = 0; i < N_CRED_FIELDS; i++)
		if (strlen(cred_fields[i].name) == len &&
		    strncasecmp(cred_fields[i].name, name, len) == 0) {
			*index = i;
			return &cred_fields[i];
		}
	return NULL;
}

int scscf_auth_parse(const char *value, size_t len, struct scscf_cred *out)
{
	const char *p = value, *end = value + len, *name;
	bool seen[N_CRED_FIELDS] = {false};

	memset(out, 0, sizeof(*out));
	p = skip_lws(p, end);
	name = p;
	while (p < end && is_token((unsigned char)*p))
		p++;
	if (p == name)
		return -EBADMSG;
	if ((size_t)(p - name) != 6 || strncasecmp(name, "Digest", 6) != 0)
		return -EPROTONOSUPPORT;
	if (p < end && !is_lws(*p))
		return -EBADMSG;
	for (;;) {
		const struct cred_field *f;
		size_t name_len, idx = 0;
		char *dst = NULL;
		ssize_t n;

		/* Empty list elements are allowed (RFC 3261 7.3.1 "#" rule). */
		while (p < end && (is_lws(*p) || *p == ','))
			p++;
		if (p == end)
			return 0;
		name = p;
		while (p < end && is_token((unsigned char)*p))
			p++;
		name_len = (size_t)(p - name);
		if (name_len == 0)
			return -EBADMSG;
		p = skip_lws(p, end);
		if (p == end || *p != '=')
			return -EBADMSG;
		p = skip_lws(p + 1, end);
		if (p == end)
			return -EBADMSG;
		f = cred_field(name, name_len, &idx);
		if (f && !seen[idx])
			dst = (char *)out + f->off;
		if (*p == '"')
			n = read_quoted(&p, end, dst, f ? f->size : 0);
		else
			n = read_bare(&p, end, dst, f ? f->size : 0);
		if (n < 0)
			return (int)n;
		if (f)
			seen[idx] = true;
		p = skip_lws(p, end);
		if (p < end && *p != ',')
			return -EBADMSG;
	}
}

/* --- WWW-Authenticate ----------------------------------------------------------------- */

bool scscf_auth_append(char *out, size_t outlen, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (*n >= outlen)
		return false;
	va_start(ap, fmt);
	k = vsnprintf(out + *n, outlen - *n, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= outlen - *n)
		return false;
	*n += (size_t)k;
	return true;
}

ssize_t scscf_auth_www_authenticate(const char *realm, const struct scscf_challenge *c, char *out,
                                    size_t outlen)
{
	char ck[CODEC_HEX_SIZE(16)], ik[CODEC_HEX_SIZE(16)];
	bool aka = c->scheme == SCSCF_SCHEME_AKA;
	size_t n = 0;
	bool ok;

	ok = scscf_auth_append(out, outlen, &n,
	                       "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", algorithm=%s, "
	                       "qop=\"auth\"",
	                       realm, c->nonce, aka ? "AKAv1-MD5" : "MD5");
	/* RFC 2617 3.2.1: stale is a bare token. */
	if (ok && c->stale)
		ok = scscf_auth_append(out, outlen, &n, ", stale=true");
	/* TS 33.203 7.1: CK and IK as quoted hex, for the P-CSCF to take out. */
	if (ok && aka && c->has_keys) {
		codec_hex_encode(c->ck, sizeof(c->ck), ck, sizeof(ck));
		codec_hex_encode(c->ik, sizeof(c->ik), ik, sizeof(ik));
		ok = scscf_auth_append(out, outlen, &n, ", ck=\"%s\", ik=\"%s\"", ck, ik);
	}
	if (ok)
		ok = scscf_auth_append(out, outlen, &n, "\r\n");
	return ok ? (ssize_t)n : -ENOSPC;
}

/* --- the nonce store ---------------------------------------------------------------- */

/* One challenge handed out. */
struct vec {
	enum scscf_scheme scheme;    /* how it is answered */
	char nonce[SCSCF_NONCE_MAX]; /* as sent in the 401 */
	char ha1[DIGEST_HEX_SIZE];   /* H(A1): MD5(impi:realm:XRES) or the HSS's Digest-HA1 */
	uint64_t expires_ms;         /* loop time it is forgotten */
};

/* The pending challenges of one IMPI. */
struct entry {
	char impi[SCSCF_URI_MAX];         /* the key */
	uint32_t hash;                    /* hash of impi */
	struct vec v[SCSCF_AUTH_VECTORS]; /* oldest first */
	size_t n;                         /* entries in v */
	struct entry *hnext;              /* hash chain */
	struct entry *prev;               /* age list: by newest challenge, oldest first */
	struct entry *next;               /* idem; free-list link when pooled */
};

struct scscf_auth {
	struct entry **buckets; /* owned; hash chains */
	size_t mask;            /* buckets - 1 (a power of two) */
	size_t n_entries;       /* IMPIs with challenges */
	size_t max_entries;     /* bound on n_entries */
	size_t n_vectors;       /* challenges kept */
	struct entry *head;     /* IMPI whose newest challenge is oldest */
	struct entry *tail;     /* IMPI challenged last */
	struct entry *pool;     /* freed entries kept for reuse */
	size_t n_pool;          /* entries in pool */
};

/* FNV-1a: IMPIs compare exactly (they are digest usernames). */
static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct scscf_auth *scscf_auth_new(size_t max_impis)
{
	struct scscf_auth *a = calloc(1, sizeof(*a));
	size_t n = 1024;

	if (!a)
		return NULL;
	while (n < max_impis && n < ((size_t)1 << 20))
		n <<= 1;
	a->buckets = calloc(n, sizeof(*a->buckets));
	if (!a->buckets) {
		free(a);
		return NULL;
	}
	a->mask = n - 1;
	a->max_entries = max_impis ? max_impis : 1;
	return a;
}

void scscf_auth_free(struct scscf_auth *a)
{
	if (!a)
		return;
	while (a->head) {
		struct entry *e = a->head;

		a->head = e->next;
		free(e);
	}
	while (a->pool) {
		struct entry *e = a->pool;

		a->pool = e->next;
		free(e);
	}
	free(a->buckets);
	free(a);
}

static struct entry *entry_find(const struct scscf_auth *a, const char *impi)
{
	uint32_t h = hash_str(impi);

	for (struct entry *e = a->buckets[h & a->mask]; e; e = e->hnext)
		if (e->hash == h && strcmp(e->impi, impi) == 0)
			return e;
	return NULL;
}

static void age_unlink(struct scscf_auth *a, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		a->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		a->tail = e->prev;
	e->prev = e->next = NULL;
}

static void age_append(struct scscf_auth *a, struct entry *e)
{
	e->prev = a->tail;
	e->next = NULL;
	if (a->tail)
		a->tail->next = e;
	else
		a->head = e;
	a->tail = e;
}

static void entry_free(struct scscf_auth *a, struct entry *e)
{
	struct entry **pp = &a->buckets[e->hash & a->mask];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	age_unlink(a, e);
	a->n_vectors -= e->n;
	a->n_entries--;
	if (a->n_pool < POOL_MAX) {
		e->next = a->pool;
		a->pool = e;
		a->n_pool++;
	} else {
		free(e);
	}
}

static struct entry *entry_get(struct scscf_auth *a, const char *impi)
{
	struct entry *e = entry_find(a, impi);
	size_t len = strlen(impi);

	if (e)
		return e;
	if (len >= sizeof(e->impi))
		return NULL;
	/* Full: the IMPI challenged longest ago gives way (its UE is the likeliest gone). */
	if (a->n_entries >= a->max_entries && a->head)
		entry_free(a, a->head);
	if (a->pool) {
		e = a->pool;
		a->pool = e->next;
		a->n_pool--;
	} else {
		e = malloc(sizeof(*e));
		if (!e)
			return NULL;
	}
	memcpy(e->impi, impi, len + 1);
	e->hash = hash_str(impi);
	e->n = 0;
	e->hnext = a->buckets[e->hash & a->mask];
	a->buckets[e->hash & a->mask] = e;
	e->prev = e->next = NULL;
	age_append(a, e);
	a->n_entries++;
	return e;
}

static void vec_remove(struct scscf_auth *a, struct entry *e, size_t i)
{
	memmove(&e->v[i], &e->v[i + 1], (e->n - i - 1) * sizeof(e->v[0]));
	e->n--;
	a->n_vectors--;
	if (e->n == 0)
		entry_free(a, e);
}

static int vec_aka(const char *impi, const char *realm, const struct cx_auth_item *item,
                   struct vec *v, struct scscf_challenge *ch)
{
	if (item->authenticate_len != AKA_RAND_LEN + AKA_AUTN_LEN ||
	    item->authorization_len < AKA_XRES_MIN || item->authorization_len > AKA_XRES_MAX)
		return -EINVAL;
	v->scheme = SCSCF_SCHEME_AKA;
	/* RFC 3310 3.2: nonce = base64(RAND || AUTN [|| server data]). */
	if (codec_b64_encode(item->authenticate, item->authenticate_len, v->nonce,
	                     sizeof(v->nonce)) < 0)
		return -EINVAL;
	/* RFC 3310 3.3: the password is XRES as raw bytes, 0x00 included. */
	if (digest_ha1(impi, realm, item->authorization, item->authorization_len, v->ha1) < 0)
		return -EIO;
	ch->has_keys = item->ck_len == 16 && item->ik_len == 16;
	if (ch->has_keys) {
		memcpy(ch->ck, item->ck, 16);
		memcpy(ch->ik, item->ik, 16);
	}
	return 0;
}

static int vec_md5(const struct cx_auth_item *item, struct vec *v)
{
	uint8_t rnd[MD5_NONCE_BYTES];
	size_t len = strlen(item->digest.ha1);

	if (!item->digest.present || len != DIGEST_HEX_SIZE - 1)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isxdigit((unsigned char)item->digest.ha1[i]))
			return -EINVAL;
		/* The request-digest hashes H(A1) as text: RFC 2617 3.2.2.2 lower case. */
		v->ha1[i] = (char)tolower((unsigned char)item->digest.ha1[i]);
	}
	v->ha1[len] = '\0';
	v->scheme = SCSCF_SCHEME_MD5;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	if (codec_b64_encode(rnd, sizeof(rnd), v->nonce, sizeof(v->nonce)) < 0)
		return -EIO;
	return 0;
}

static bool item_is_aka(const struct cx_auth_item *item)
{
	if (item->scheme[0])
		return strcasecmp(item->scheme, CX_SCHEME_AKAV1_MD5) == 0;
	return !item->digest.present;
}

int scscf_auth_add(struct scscf_auth *a, const char *impi, const char *realm,
                   const struct cx_auth_item *item, uint64_t now, struct scscf_challenge *ch)
{
	struct entry *e;
	struct vec v;
	int rc;

	memset(ch, 0, sizeof(*ch));
	if (item_is_aka(item))
		rc = vec_aka(impi, realm, item, &v, ch);
	else
		rc = vec_md5(item, &v);
	if (rc < 0)
		return rc;
	v.expires_ms = now + SCSCF_AUTH_TTL_MS;
	e = entry_get(a, impi);
	if (!e)
		return strlen(impi) >= SCSCF_URI_MAX ? -EINVAL : -ENOMEM;
	if (e->n == SCSCF_AUTH_VECTORS) {
		memmove(&e->v[0], &e->v[1], (e->n - 1) * sizeof(e->v[0]));
		e->n--;
		a->n_vectors--;
	}
	e->v[e->n++] = v;
	a->n_vectors++;
	/* Newest challenge last: the age list stays ordered by expiry of the newest. */
	age_unlink(a, e);
	age_append(a, e);
	ch->scheme = v.scheme;
	memcpy(ch->nonce, v.nonce, sizeof(ch->nonce));
	return 0;
}

static bool qop_supported(const char *qop)
{
	return !qop[0] || strcasecmp(qop, "auth") == 0 || strcasecmp(qop, "auth-int") == 0;
}

int scscf_auth_verify(struct scscf_auth *a, const struct scscf_cred *c, const char *method,
                      const void *body, size_t body_len, uint64_t now)
{
	char expected[DIGEST_HEX_SIZE];
	struct entry *e;
	struct vec v;
	size_t i;

	if (!c->response[0] || !c->nonce[0] || !c->uri[0] || !qop_supported(c->qop))
		return -EINVAL;
	/* RFC 2617 3.2.2: with a qop, nc and cnonce are required. */
	if (c->qop[0] && (!c->nc[0] || !c->cnonce[0]))
		return -EINVAL;
	e = entry_find(a, c->username);
	if (!e)
		return -ESTALE;
	for (i = 0; i < e->n && strcmp(e->v[i].nonce, c->nonce) != 0; i++)
		;
	if (i == e->n)
		return -ESTALE;
	v = e->v[i];
	/* TS 33.203 6.1.2: one vector, one attempt; a wrong answer costs the vector too. */
	vec_remove(a, e, i);
	if (v.expires_ms <= now)
		return -ESTALE;
	if (digest_response(v.ha1, c->nonce, c->nc, c->cnonce, c->qop[0] ? c->qop : NULL, method,
	                    c->uri, body, body_len, expected) < 0)
		return -EINVAL;
	return digest_equal(expected, c->response) ? 0 : -EACCES;
}

/* Decodes base64 text that may lack its '=' padding (clients differ on auts). */
static ssize_t b64_decode_loose(const char *in, uint8_t *out, size_t outsize)
{
	char buf[SCSCF_NONCE_MAX * 2];
	size_t len = strlen(in);

	if (len + 3 >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, in, len);
	while (len % 4)
		buf[len++] = '=';
	return codec_b64_decode(buf, len, out, outsize);
}

int scscf_auth_resync(struct scscf_auth *a, const struct scscf_cred *c, uint8_t out[30])
{
	uint8_t nonce[AKA_RAND_LEN + AKA_AUTN_LEN + 16];
	uint8_t auts[AKA_AUTS_LEN + 4];
	struct entry *e;

	if (b64_decode_loose(c->nonce, nonce, sizeof(nonce)) != AKA_RAND_LEN + AKA_AUTN_LEN ||
	    b64_decode_loose(c->auts, auts, sizeof(auts)) != AKA_AUTS_LEN)
		return -EBADMSG;
	e = entry_find(a, c->username);
	for (size_t i = 0; e && i < e->n; i++)
		if (strcmp(e->v[i].nonce, c->nonce) == 0) {
			vec_remove(a, e, i);
			break;
		}
	/* TS 29.229 6.3.10: SIP-Authorization = RAND || AUTS. */
	memcpy(out, nonce, AKA_RAND_LEN);
	memcpy(out + AKA_RAND_LEN, auts, AKA_AUTS_LEN);
	return 0;
}

void scscf_auth_expire(struct scscf_auth *a, uint64_t now)
{
	while (a->head) {
		struct entry *e = a->head;
		size_t k = 0;

		while (k < e->n && e->v[k].expires_ms <= now)
			k++;
		if (k == 0)
			return;
		if (k == e->n) {
			entry_free(a, e);
			continue;
		}
		memmove(&e->v[0], &e->v[k], (e->n - k) * sizeof(e->v[0]));
		e->n -= k;
		a->n_vectors -= k;
		/* Its newest challenge is alive, so every later IMPI's is too. */
		return;
	}
}

size_t scscf_auth_count(const struct scscf_auth *a)
{
	return a->n_vectors;
}
