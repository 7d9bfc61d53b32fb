/* The P-CSCF's registrations (TS 24.229 5.2.2): one record per registered UE contact,
 * reachable from every URI of its implicit registration set (the IMPU and each
 * P-Associated-URI), each record on its own loop timer. A record is one allocation (the
 * strings live at its end) and a refresh replaces it, so the request path never
 * allocates more than that. A second index finds a record from its contact's address
 * (requests toward the UE, TS 24.229 5.2.6.4). Buckets are sized once for the bound:
 * lookups stay O(1). */
#include "pcscf.h"

#include "log.h"
#include "loop.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct pcscf_store {
	struct loop *lp;                    /* runs the expiry timers (borrowed) */
	size_t max;                         /* most records, pending ones included */
	size_t count[2];                    /* records by enum pcscf_state */
	struct pcscf_key **buckets;         /* owned; chains of keys */
	struct pcscf_key **at_buckets;      /* owned; chains of contact address keys */
	size_t mask;                        /* number of buckets - 1 (a power of two), both
	                                       tables */
	struct pcscf_reg *head;             /* every record, newest first */
	pcscf_store_expired_fn *on_expired; /* told of each registered record's expiry */
	void *arg;                          /* its argument */
};

/* FNV-1a over the lower-cased bytes: URIs compare case-insensitively here. */
static uint32_t hash_uri(const char *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= (uint32_t)tolower((unsigned char)p[i]);
		h *= 16777619u;
	}
	return h;
}

static struct pcscf_reg *find(const struct pcscf_store *s, const char *uri, size_t len)
{
	uint32_t h = hash_uri(uri, len);

	for (const struct pcscf_key *k = s->buckets[h & s->mask]; k; k = k->next)
		if (k->hash == h && k->len == len && strncasecmp(k->uri, uri, len) == 0)
			return k->reg;
	return NULL;
}

/* The registered record whose address key is key (len bytes), or NULL. */
static struct pcscf_reg *find_at(const struct pcscf_store *s, const char *key, size_t len)
{
	uint32_t h = hash_uri(key, len);

	for (const struct pcscf_key *k = s->at_buckets[h & s->mask]; k; k = k->next)
		if (k->hash == h && k->len == len && memcmp(k->uri, key, len) == 0)
			return k->reg;
	return NULL;
}

static void unchain(struct pcscf_key **buckets, size_t mask, struct pcscf_key *k)
{
	struct pcscf_key **pp = &buckets[k->hash & mask];

	while (*pp && *pp != k)
		pp = &(*pp)->next;
	if (*pp)
		*pp = k->next;
}

static void unlink_keys(struct pcscf_store *s, struct pcscf_reg *r)
{
	for (size_t i = 0; i < r->n_keys; i++)
		unchain(s->buckets, s->mask, &r->keys[i]);
	if (r->at.len)
		unchain(s->at_buckets, s->mask, &r->at);
}

/* Takes r out of the store and frees it. */
static void remove_record(struct pcscf_store *s, struct pcscf_reg *r)
{
	unlink_keys(s, r);
	if (r->prev)
		r->prev->next = r->next;
	else
		s->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	s->count[r->state]--;
	loop_timer_cancel(s->lp, r->timer);
	free(r);
}

/* Puts r in the store; a record holding one of r's URIs is replaced (the newest 200
 * describes the implicit set). */
static void link_record(struct pcscf_store *s, struct pcscf_reg *r)
{
	for (size_t i = 0; i < r->n_keys; i++) {
		struct pcscf_key *k = &r->keys[i];
		struct pcscf_reg *other = find(s, k->uri, k->len);

		if (other && other != r)
			remove_record(s, other);
		k->next = s->buckets[k->hash & s->mask];
		s->buckets[k->hash & s->mask] = k;
	}
	/* Several records may share an address (one UE registering separate identities):
	 * the newest is found first, and any of them reaches the same UE. */
	if (r->at.len) {
		r->at.next = s->at_buckets[r->at.hash & s->mask];
		s->at_buckets[r->at.hash & s->mask] = &r->at;
	}
	r->prev = NULL;
	r->next = s->head;
	if (s->head)
		s->head->prev = r;
	s->head = r;
	s->count[r->state]++;
}

/* ---- building a record ---- */

/* A record being filled: its strings are appended to text. */
struct builder {
	struct pcscf_reg *r; /* the record */
	size_t used;         /* bytes of r->text used */
};

static const char *put(struct builder *b, struct sip_span v)
{
	char *p = b->r->text + b->used;

	if (v.len)
		memcpy(p, v.p, v.len);
	p[v.len] = '\0';
	b->used += v.len + 1;
	return p;
}

/* Adds uri as a name of the record unless it already is one. */
static void add_key(struct pcscf_reg *r, const char *uri)
{
	size_t len = strlen(uri);

	if (len == 0 || r->n_keys == sizeof(r->keys) / sizeof(r->keys[0]))
		return;
	for (size_t i = 0; i < r->n_keys; i++)
		if (r->keys[i].len == len && strncasecmp(r->keys[i].uri, uri, len) == 0)
			return;
	r->keys[r->n_keys++] =
	    (struct pcscf_key){.reg = r, .uri = uri, .len = len, .hash = hash_uri(uri, len)};
}

/* Room for spans v[0..n-1]; -EMSGSIZE when one exceeds PCSCF_URI_MAX. */
static int span_size(const struct sip_span *v, size_t n, size_t *total)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].len > PCSCF_URI_MAX)
			return -EMSGSIZE;
		*total += v[i].len + 1;
	}
	return 0;
}

/* A new record of b (state registered, no timer, not linked), or NULL with *err set. */
static struct pcscf_reg *record_build(const struct pcscf_binding *b, int *err)
{
	struct sip_span ids[3] = {b->impu, b->impi, b->contact};
	char key[PCSCF_ADDR_KEY_MAX];
	int key_len = b->contact.len
	                  ? pcscf_store_addr_key(b->contact.p, b->contact.len, key, sizeof(key))
	                  : -EINVAL;
	size_t text = key_len > 0 ? (size_t)key_len + 1 : 0;
	struct builder bl;

	*err = span_size(ids, 3, &text);
	if (*err == 0)
		*err = span_size(b->assoc, b->n_assoc, &text);
	if (*err == 0)
		*err = span_size(b->service_route, b->n_service_route, &text);
	if (*err == 0 && (b->n_assoc > PCSCF_ASSOC_MAX || b->n_service_route > PCSCF_ROUTE_MAX))
		*err = -EMSGSIZE;
	if (*err < 0)
		return NULL;
	bl.r = calloc(1, sizeof(*bl.r) + text);
	if (!bl.r) {
		*err = -ENOMEM;
		return NULL;
	}
	bl.used = 0;
	bl.r->state = PCSCF_REGISTERED;
	bl.r->impu = put(&bl, b->impu);
	bl.r->impi = put(&bl, b->impi);
	bl.r->contact = put(&bl, b->contact);
	/* A contact without a usable host is still registered, only not found by address. */
	if (key_len > 0)
		bl.r->at = (struct pcscf_key){
		    .reg = bl.r,
		    .uri = put(&bl, (struct sip_span){key, (size_t)key_len}),
		    .len = (size_t)key_len,
		    .hash = hash_uri(key, (size_t)key_len),
		};
	bl.r->ue = b->ue;
	bl.r->proto = b->proto;
	bl.r->conn_id = b->conn_id;
	add_key(bl.r, bl.r->impu);
	for (size_t i = 0; i < b->n_assoc; i++) {
		bl.r->assoc[i] = put(&bl, b->assoc[i]);
		add_key(bl.r, bl.r->assoc[i]);
	}
	bl.r->n_assoc = b->n_assoc;
	for (size_t i = 0; i < b->n_service_route; i++)
		bl.r->service_route[i] = put(&bl, b->service_route[i]);
	bl.r->n_service_route = b->n_service_route;
	return bl.r;
}

/* ---- the store ---- */

static void on_timer(struct loop *lp, void *arg)
{
	struct pcscf_reg *r = arg;
	struct pcscf_store *s = r->store;

	(void)lp;
	r->timer = 0;
	if (r->state == PCSCF_REGISTERED && s->on_expired)
		s->on_expired(s->arg, r);
	remove_record(s, r);
}

/* (Re)arms r's expiry in secs seconds. 0 or -ENOMEM. */
static int arm(struct pcscf_store *s, struct pcscf_reg *r, uint32_t secs)
{
	uint64_t id = loop_timer_add(s->lp, (uint64_t)secs * 1000, on_timer, r);

	if (!id)
		return -ENOMEM;
	loop_timer_cancel(s->lp, r->timer);
	r->timer = id;
	r->expires_ms = loop_now(s->lp) + (uint64_t)secs * 1000;
	return 0;
}

struct pcscf_store *pcscf_store_new(struct loop *lp, size_t max, pcscf_store_expired_fn *on_expired,
                                    void *arg)
{
	struct pcscf_store *s = calloc(1, sizeof(*s));
	size_t n = 64;

	if (!s)
		return NULL;
	s->lp = lp;
	s->max = max ? max : PCSCF_REGS_MAX;
	/* About two keys a record (a SIP URI and a tel URI): load factor <= 1 at the bound. */
	while (n < 2 * s->max && n < ((size_t)1 << 24))
		n *= 2;
	s->buckets = calloc(n, sizeof(*s->buckets));
	s->at_buckets = calloc(n, sizeof(*s->at_buckets));
	if (!s->buckets || !s->at_buckets) {
		free(s->buckets);
		free(s->at_buckets);
		free(s);
		return NULL;
	}
	s->mask = n - 1;
	s->on_expired = on_expired;
	s->arg = arg;
	return s;
}

void pcscf_store_free(struct pcscf_store *s)
{
	if (!s)
		return;
	while (s->head)
		remove_record(s, s->head);
	free(s->buckets);
	free(s->at_buckets);
	free(s);
}

const struct pcscf_reg *pcscf_store_find(const struct pcscf_store *s, const char *uri, size_t len)
{
	return find(s, uri, len);
}

int pcscf_store_addr_key(const char *uri, size_t len, char *out, size_t n)
{
	const char *p = uri, *end = uri + len, *at, *host, *host_end;
	unsigned long port = 5060;
	size_t hlen;
	int w;

	if (len > 4 && strncasecmp(p, "sip:", 4) == 0) {
		p += 4;
	} else if (len > 5 && strncasecmp(p, "sips:", 5) == 0) {
		p += 5;
		port = 5061;
	} else {
		return -EINVAL;
	}
	/* RFC 3261 25.1: the userinfo ends at the only unescaped '@' of the URI. */
	at = memchr(p, '@', (size_t)(end - p));
	host = at ? at + 1 : p;
	if (host < end && *host == '[') {
		host_end = memchr(host, ']', (size_t)(end - host));
		if (!host_end)
			return -EINVAL;
		host_end++;
	} else {
		for (host_end = host; host_end < end && *host_end != ':' && *host_end != ';' &&
		                      *host_end != '?' && *host_end != '>';
		     host_end++)
			;
	}
	hlen = (size_t)(host_end - host);
	if (hlen == 0 || hlen >= SIP_HOST_MAX)
		return -EINVAL;
	if (host_end < end && *host_end == ':') {
		port = 0;
		for (p = host_end + 1; p < end && isdigit((unsigned char)*p) && port <= 65535; p++)
			port = port * 10 + (unsigned long)(*p - '0');
		if (p == host_end + 1 || port == 0 || port > 65535)
			return -EINVAL;
	}
	if (hlen + 7 > n)
		return -ENOSPC;
	for (size_t i = 0; i < hlen; i++)
		out[i] = (char)tolower((unsigned char)host[i]);
	w = snprintf(out + hlen, n - hlen, ":%lu", port);
	if (w < 0 || (size_t)w >= n - hlen)
		return -ENOSPC;
	return (int)hlen + w;
}

const struct pcscf_reg *pcscf_store_find_contact(const struct pcscf_store *s, const char *uri,
                                                 size_t len)
{
	char key[PCSCF_ADDR_KEY_MAX];
	int n = pcscf_store_addr_key(uri, len, key, sizeof(key));

	return n > 0 ? find_at(s, key, (size_t)n) : NULL;
}

const struct pcscf_reg *pcscf_store_find_addr(const struct pcscf_store *s,
                                              const struct sockaddr_in *addr)
{
	char ip[INET_ADDRSTRLEN], key[PCSCF_ADDR_KEY_MAX];
	int n;

	if (!inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip)))
		return NULL;
	n = snprintf(key, sizeof(key), "%s:%u", ip, (unsigned)ntohs(addr->sin_port));
	return n > 0 && (size_t)n < sizeof(key) ? find_at(s, key, (size_t)n) : NULL;
}

static size_t total(const struct pcscf_store *s)
{
	return s->count[PCSCF_PENDING] + s->count[PCSCF_REGISTERED];
}

int pcscf_store_challenge(struct pcscf_store *s, struct sip_span impu, struct sip_span impi,
                          const struct pcscf_sa *sa)
{
	struct pcscf_reg *r = find(s, impu.p, impu.len);
	struct pcscf_binding b = {.impu = impu, .impi = impi};
	int err;

	if (r && r->state == PCSCF_REGISTERED) {
		/* TS 33.203 7.4: the old SA stays in use until the new one is confirmed. */
		r->sa_new = *sa;
		return 0;
	}
	if (r) {
		r->sa = *sa;
		return arm(s, r, PCSCF_PENDING_SEC);
	}
	if (total(s) >= s->max)
		return -ENOSPC;
	r = record_build(&b, &err);
	if (!r)
		return err;
	r->state = PCSCF_PENDING;
	r->store = s;
	r->sa = *sa;
	err = arm(s, r, PCSCF_PENDING_SEC);
	if (err < 0) {
		free(r);
		return err;
	}
	link_record(s, r);
	return 0;
}

int pcscf_store_register(struct pcscf_store *s, const struct pcscf_binding *b)
{
	struct pcscf_reg *old = find(s, b->impu.p, b->impu.len);
	struct pcscf_reg *r;
	int err;

	if (total(s) - (old ? 1 : 0) >= s->max)
		return -ENOSPC;
	r = record_build(b, &err);
	if (!r)
		return err;
	r->store = s;
	if (old)
		r->sa = old->sa_new.set ? old->sa_new : old->sa;
	err = arm(s, r, b->expires);
	if (err < 0) {
		free(r);
		return err;
	}
	if (old)
		remove_record(s, old);
	link_record(s, r);
	return 0;
}

int pcscf_store_forget(struct pcscf_store *s, const char *uri, size_t len)
{
	struct pcscf_reg *r = find(s, uri, len);

	if (!r)
		return -ENOENT;
	remove_record(s, r);
	return 0;
}

size_t pcscf_store_count(const struct pcscf_store *s, enum pcscf_state state)
{
	return s->count[state];
}

const struct pcscf_reg *pcscf_store_first(const struct pcscf_store *s)
{
	return s->head;
}

const struct pcscf_reg *pcscf_store_next(const struct pcscf_reg *r)
{
	return r->next;
}
