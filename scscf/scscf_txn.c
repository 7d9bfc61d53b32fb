/* The registrar's per-request contexts. A context has two holders: the SIP transaction
 * (until it is answered or reported gone) and at most one Cx request in flight (until
 * its answer reaches the loop). It is freed when the last one lets go, so a Cx answer
 * arriving after on_gone finds its context intact, sees it gone and touches no
 * transaction. Freed contexts are pooled: a REGISTER costs no allocation. */
#include "scscf.h"

#include <stdlib.h>

#define POOL_MAX 1024 /* freed contexts kept for reuse */

static void live_unlink(struct scscf *s, struct scscf_txn *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		s->txns = t->next;
	if (t->next)
		t->next->prev = t->prev;
	s->n_txns--;
}

struct scscf_txn *scscf_txn_new(struct scscf *s, struct sip_req *req)
{
	struct scscf_txn *t = s->txn_pool;

	if (t) {
		s->txn_pool = t->next;
		s->n_txn_pool--;
	} else {
		t = malloc(sizeof(*t));
		if (!t)
			return NULL;
	}
	/* The register part is filled by the parse; clearing 4 KB per request is wasted. */
	t->s = s;
	t->req = req;
	t->gone = false;
	t->cx_pending = false;
	t->prev = NULL;
	t->next = s->txns;
	if (s->txns)
		s->txns->prev = t;
	s->txns = t;
	s->n_txns++;
	return t;
}

int scscf_txn_reply(struct scscf_txn *t, int status, const char *reason, const char *headers)
{
	struct sip_req *req = t->req;

	if (!req)
		return 0;
	/* A final answer ends the role's part: the core may free req from here on. */
	if (status >= 200)
		t->req = NULL;
	return t->s->io.reply(req, status, reason, headers);
}

void scscf_txn_gone(struct scscf_txn *t)
{
	t->req = NULL;
	t->gone = true;
}

bool scscf_txn_settle(struct scscf_txn *t)
{
	struct scscf *s = t->s;

	if (t->req || t->cx_pending)
		return false;
	live_unlink(s, t);
	if (s->n_txn_pool < POOL_MAX) {
		t->next = s->txn_pool;
		s->txn_pool = t;
		s->n_txn_pool++;
	} else {
		free(t);
	}
	return true;
}

void scscf_txn_fini(struct scscf *s)
{
	while (s->txns) {
		struct scscf_txn *t = s->txns;

		s->txns = t->next;
		free(t);
	}
	while (s->txn_pool) {
		struct scscf_txn *t = s->txn_pool;

		s->txn_pool = t->next;
		free(t);
	}
	s->n_txns = 0;
	s->n_txn_pool = 0;
}
