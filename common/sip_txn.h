/* The transaction table of the proxy core: an open hash of intrusive links keyed by
 * strings (the server key of RFC 3261 17.2.3, or the branch we put in our Via, 17.1.3),
 * so matching a request or a response is one O(1) lookup. The table never owns what
 * it links; it grows by doubling. Also the 64-bit FNV-1a hash the proxy uses for keys
 * and for its branch values (RFC 3261 16.6 step 8). */
#ifndef IMS_SIP_TXN_H
#define IMS_SIP_TXN_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a 64-bit offset basis: the start value of sip_txn_hash_add. */
#define SIP_TXN_HASH_INIT 0xcbf29ce484222325ull

/* One entry, embedded in its owner (recover the owner with offsetof). */
struct sip_txn_link {
	struct sip_txn_link *next; /* next entry of the bucket, owned by the table */
	uint64_t hash;             /* sip_txn_hash of key, set by sip_txn_table_add */
	const char *key;           /* borrowed from the owner; lives as long as the entry */
	size_t key_len;            /* bytes of key */
};

struct sip_txn_table {
	struct sip_txn_link **buckets; /* owned array of chains; n_buckets entries */
	size_t n_buckets;              /* a power of two */
	size_t count;                  /* entries linked */
};

/* Continues hash h over len bytes of p (start with SIP_TXN_HASH_INIT). */
uint64_t sip_txn_hash_add(uint64_t h, const void *p, size_t len);
/* Hash of one key. */
uint64_t sip_txn_hash(const char *key, size_t len);

/* Prepares an empty table with at least n buckets. 0 or -ENOMEM. */
int sip_txn_table_init(struct sip_txn_table *t, size_t n);
/* Frees the buckets (the entries are the owners'). */
void sip_txn_table_fini(struct sip_txn_table *t);
/* Links l (key and key_len set by the caller) and grows the table when it is full.
 * Keys need not be unique; lookups return the newest. 0 (growing may fail silently:
 * the table then only gets slower). */
int sip_txn_table_add(struct sip_txn_table *t, struct sip_txn_link *l);
/* Unlinks l, which must be linked in t. */
void sip_txn_table_remove(struct sip_txn_table *t, struct sip_txn_link *l);
/* The entry with this key, or NULL. */
struct sip_txn_link *sip_txn_table_find(const struct sip_txn_table *t, const char *key, size_t len);

#endif
