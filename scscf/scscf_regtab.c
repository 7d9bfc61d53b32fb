/* The registrations table (RFC 3261 10.3 location service, TS 24.229 5.4.1): one record
 * per implicit registration set, found through a hash index under every IMPU of the set
 * (case-insensitive, as the HSS compares them), holding the bindings (contact, Path,
 * Call-ID/CSeq, expiry). Pure data: timers and Cx are the registrar's (scscf_reg.c). */
#include "scscf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BUCKETS_MIN 1024
#define BUCKETS_MAX ((size_t)1 << 20)

static uint32_t hash_uri(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 16777619u;
	return h;
}

/* Copies s into dst of size n, cut to fit (the callers' inputs are already bounded). */
static void copy(char *dst, size_t n, const char *s)
{
	size_t len = strnlen(s, n - 1);

	memcpy(dst, s, len);
	dst[len] = '\0';
}

int scscf_regtab_init(struct scscf_regtab *t, size_t max_regs, void *owner)
{
	size_t n = BUCKETS_MIN;

	memset(t, 0, sizeof(*t));
	while (n < max_regs && n < BUCKETS_MAX)
		n <<= 1;
	t->buckets = calloc(n, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	t->n_buckets = n;
	t->max_regs = max_regs;
	t->owner = owner;
	return 0;
}

static void contacts_free(struct scscf_reg *r)
{
	while (r->contacts) {
		struct scscf_contact *c = r->contacts;

		r->contacts = c->next;
		free(c);
	}
	r->n_contacts = 0;
}

void scscf_regtab_fini(struct scscf_regtab *t)
{
	while (t->head) {
		struct scscf_reg *r = t->head;

		t->head = r->next;
		contacts_free(r);
		free(r);
	}
	free(t->buckets);
	memset(t, 0, sizeof(*t));
}

struct scscf_reg *scscf_regtab_find(const struct scscf_regtab *t, const char *impu)
{
	uint32_t h = hash_uri(impu);

	for (struct scscf_reg_impu *e = t->buckets[h & (t->n_buckets - 1)]; e; e = e->hnext)
		if (strcasecmp(e->id.uri, impu) == 0)
			return e->reg;
	return NULL;
}

static void index_add(struct scscf_regtab *t, struct scscf_reg_impu *e)
{
	size_t b = hash_uri(e->id.uri) & (t->n_buckets - 1);

	/* An IMPU names one registration; a second claim is left unindexed. */
	if (scscf_regtab_find(t, e->id.uri))
		return;
	e->hnext = t->buckets[b];
	t->buckets[b] = e;
	e->indexed = true;
}

static void index_remove(struct scscf_regtab *t, struct scscf_reg_impu *e)
{
	struct scscf_reg_impu **pp;

	if (!e->indexed)
		return;
	pp = &t->buckets[hash_uri(e->id.uri) & (t->n_buckets - 1)];
	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	e->hnext = NULL;
	e->indexed = false;
}

static void identities_set(struct scscf_regtab *t, struct scscf_reg *r,
                           const struct scscf_identity *ids, size_t n)
{
	if (n > SCSCF_IMPUS_MAX)
		n = SCSCF_IMPUS_MAX;
	for (size_t i = 0; i < n; i++) {
		struct scscf_reg_impu *e = &r->impus[i];

		*e = (struct scscf_reg_impu){.reg = r};
		copy(e->id.uri, sizeof(e->id.uri), ids[i].uri);
		e->id.barred = ids[i].barred;
		index_add(t, e);
	}
	r->n_impus = n;
}

struct scscf_reg *scscf_regtab_add(struct scscf_regtab *t, const char *impi,
                                   const struct scscf_identity *ids, size_t n, int *err)
{
	struct scscf_reg *r;

	if (n == 0) {
		*err = -EINVAL;
		return NULL;
	}
	if (t->n_regs >= t->max_regs) {
		*err = -ENOSPC;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	copy(r->impi, sizeof(r->impi), impi);
	r->tab = t;
	identities_set(t, r, ids, n);
	r->prev = t->tail;
	if (t->tail)
		t->tail->next = r;
	else
		t->head = r;
	t->tail = r;
	t->n_regs++;
	*err = 0;
	return r;
}

void scscf_regtab_set_identities(struct scscf_regtab *t, struct scscf_reg *r,
                                 const struct scscf_identity *ids, size_t n)
{
	if (n == 0)
		return;
	for (size_t i = 0; i < r->n_impus; i++)
		index_remove(t, &r->impus[i]);
	identities_set(t, r, ids, n);
}

void scscf_regtab_remove(struct scscf_regtab *t, struct scscf_reg *r)
{
	for (size_t i = 0; i < r->n_impus; i++)
		index_remove(t, &r->impus[i]);
	t->n_contacts -= r->n_contacts;
	contacts_free(r);
	if (r->prev)
		r->prev->next = r->next;
	else
		t->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		t->tail = r->prev;
	t->n_regs--;
	free(r);
}

/* RFC 3261 19.1.4 compares scheme and host case-insensitively; the lab's contacts are
 * echoed verbatim by their UEs, so one case-insensitive comparison of the whole URI
 * is enough here. */
struct scscf_contact *scscf_regtab_contact(const struct scscf_reg *r, const char *uri)
{
	for (struct scscf_contact *c = r->contacts; c; c = c->next)
		if (strcasecmp(c->uri, uri) == 0)
			return c;
	return NULL;
}

bool scscf_regtab_in_order(const struct scscf_reg *r, const char *uri, const char *call_id,
                           uint32_t cseq)
{
	const struct scscf_contact *c = scscf_regtab_contact(r, uri);

	return !c || strcmp(c->call_id, call_id) != 0 || cseq > c->cseq;
}

static void contact_unlink(struct scscf_regtab *t, struct scscf_reg *r, struct scscf_contact *c)
{
	struct scscf_contact **pp = &r->contacts;

	while (*pp != c)
		pp = &(*pp)->next;
	*pp = c->next;
	r->n_contacts--;
	t->n_contacts--;
	free(c);
}

int scscf_regtab_bind(struct scscf_regtab *t, struct scscf_reg *r, const struct scscf_binding *b,
                      const char *path, const char *call_id, uint32_t cseq, uint64_t now)
{
	struct scscf_contact *c = scscf_regtab_contact(r, b->uri);

	if (b->expires == 0) {
		if (c)
			contact_unlink(t, r, c);
		return 0;
	}
	if (!c) {
		if (r->n_contacts >= SCSCF_CONTACTS_MAX) {
			/* Full: the binding closest to expiry is the likeliest stale one. */
			struct scscf_contact *old = r->contacts;

			for (struct scscf_contact *k = r->contacts; k; k = k->next)
				if (k->expires_ms < old->expires_ms)
					old = k;
			contact_unlink(t, r, old);
		}
		c = calloc(1, sizeof(*c));
		if (!c)
			return -ENOMEM;
		copy(c->uri, sizeof(c->uri), b->uri);
		c->next = r->contacts;
		r->contacts = c;
		r->n_contacts++;
		t->n_contacts++;
	}
	copy(c->path, sizeof(c->path), path);
	copy(c->call_id, sizeof(c->call_id), call_id);
	c->cseq = cseq;
	c->expires_ms = now + (uint64_t)b->expires * 1000;
	/* RFC 3261 10.3 step 7: a refresh carries the q it wants now, absent meaning 1.0. */
	c->has_q = b->has_q;
	c->q = b->has_q && b->q <= SCSCF_Q_DEFAULT ? b->q : SCSCF_Q_DEFAULT;
	return 0;
}

void scscf_regtab_unbind_all(struct scscf_regtab *t, struct scscf_reg *r)
{
	t->n_contacts -= r->n_contacts;
	contacts_free(r);
}

size_t scscf_regtab_expire(struct scscf_regtab *t, struct scscf_reg *r, uint64_t now)
{
	struct scscf_contact **pp = &r->contacts;
	size_t n = 0;

	while (*pp) {
		struct scscf_contact *c = *pp;

		if (c->expires_ms > now) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		free(c);
		r->n_contacts--;
		t->n_contacts--;
		n++;
	}
	return n;
}

uint64_t scscf_regtab_next_expiry(const struct scscf_reg *r)
{
	uint64_t due = 0;

	for (const struct scscf_contact *c = r->contacts; c; c = c->next)
		if (!due || c->expires_ms < due)
			due = c->expires_ms;
	return due;
}

const char *scscf_regtab_default_impu(const struct scscf_reg *r)
{
	for (size_t i = 0; i < r->n_impus; i++)
		if (!r->impus[i].id.barred)
			return r->impus[i].id.uri;
	return NULL;
}
