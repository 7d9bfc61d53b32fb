/* Transaction table: chains of intrusive links in a power-of-two bucket array, resized
 * by doubling when the load reaches one entry per bucket, so a lookup stays O(1) under
 * the 100k transactions a busy proxy holds in Timer J (RFC 3261 17.2.2). */
#include "sip_txn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a 64-bit prime. */
#define FNV_PRIME 0x100000001b3ull

uint64_t sip_txn_hash_add(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= FNV_PRIME;
	}
	return h;
}

uint64_t sip_txn_hash(const char *key, size_t len)
{
	return sip_txn_hash_add(SIP_TXN_HASH_INIT, key, len);
}

int sip_txn_table_init(struct sip_txn_table *t, size_t n)
{
	size_t size = 16;

	while (size < n)
		size *= 2;
	t->buckets = calloc(size, sizeof(*t->buckets));
	t->n_buckets = t->buckets ? size : 0;
	t->count = 0;
	return t->buckets ? 0 : -ENOMEM;
}

void sip_txn_table_fini(struct sip_txn_table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->n_buckets = 0;
	t->count = 0;
}

/* The bucket of a hash: the high bits are the best mixed ones of FNV-1a. */
static size_t bucket_of(const struct sip_txn_table *t, uint64_t hash)
{
	return (size_t)((hash ^ (hash >> 29)) & (t->n_buckets - 1));
}

static void grow(struct sip_txn_table *t)
{
	size_t n = t->n_buckets * 2;
	struct sip_txn_link **b = calloc(n, sizeof(*b));
	struct sip_txn_table bigger = {b, n, t->count};

	if (!b)
		return;
	for (size_t i = 0; i < t->n_buckets; i++) {
		struct sip_txn_link *l = t->buckets[i];

		while (l) {
			struct sip_txn_link *next = l->next;
			size_t k = bucket_of(&bigger, l->hash);

			l->next = b[k];
			b[k] = l;
			l = next;
		}
	}
	free(t->buckets);
	*t = bigger;
}

int sip_txn_table_add(struct sip_txn_table *t, struct sip_txn_link *l)
{
	size_t k;

	if (t->count >= t->n_buckets)
		grow(t);
	l->hash = sip_txn_hash(l->key, l->key_len);
	k = bucket_of(t, l->hash);
	l->next = t->buckets[k];
	t->buckets[k] = l;
	t->count++;
	return 0;
}

void sip_txn_table_remove(struct sip_txn_table *t, struct sip_txn_link *l)
{
	struct sip_txn_link **pp = &t->buckets[bucket_of(t, l->hash)];

	while (*pp && *pp != l)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	*pp = l->next;
	l->next = NULL;
	t->count--;
}

struct sip_txn_link *sip_txn_table_find(const struct sip_txn_table *t, const char *key, size_t len)
{
	uint64_t h = sip_txn_hash(key, len);
	struct sip_txn_link *l = t->buckets[bucket_of(t, h)];

	for (; l; l = l->next)
		if (l->hash == h && l->key_len == len && memcmp(l->key, key, len) == 0)
			return l;
	return NULL;
}
