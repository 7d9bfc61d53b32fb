/* S-CSCF selection at the I-CSCF (TS 29.228 6.7, TS 24.229 5.3.1.2, 5.3.2.1): when the
 * HSS answers a UAR or an LIR with Server-Capabilities instead of a Server-Name, the
 * I-CSCF picks an S-CSCF that offers every mandatory capability and the most optional
 * ones, among the names the HSS prefers or else among the S-CSCFs of its own domain.
 * What each S-CSCF offers comes from the topology (its "capabilities"). */
#include "icscf.h"

#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* A candidate: its Server-Name and how well it fits. */
struct candidate {
	const char *name;             /* a Server-Name from the UAA, or NULL: use node */
	const struct topo_node *node; /* its topology entry, NULL when unknown */
	int score;                    /* optional capabilities it offers; -1: not eligible */
};

static bool offers(const struct topo_node *n, uint32_t cap)
{
	for (size_t i = 0; i < n->n_capabilities; i++)
		if (n->capabilities[i] == cap)
			return true;
	return false;
}

/* -1 when a mandatory capability is missing, else the number of optional ones offered.
 * An S-CSCF the topology does not know offers nothing we can check. */
static int score(const struct topo_node *n, const struct cx_capabilities *caps)
{
	int s = 0;

	for (size_t i = 0; i < caps->n_mandatory; i++)
		if (!n || !offers(n, caps->mandatory[i]))
			return -1;
	for (size_t i = 0; n && i < caps->n_optional; i++)
		if (offers(n, caps->optional[i]))
			s++;
	return s;
}

/* The S-CSCF node a Server-Name ("sip:fqdn:port", "sip:fqdn", possibly with
 * parameters) designates, or NULL. */
static const struct topo_node *node_of(const struct topo *topo, const char *name)
{
	char host[CX_ID_MAX];
	const char *p = name, *e;
	const struct topo_node *n;

	if (strncasecmp(p, "sip:", 4) == 0)
		p += 4;
	else if (strncasecmp(p, "sips:", 5) == 0)
		p += 5;
	if (strchr(p, '@'))
		p = strchr(p, '@') + 1;
	for (e = p; *e && *e != ':' && *e != ';' && *e != '>'; e++)
		;
	if ((size_t)(e - p) >= sizeof(host))
		return NULL;
	memcpy(host, p, (size_t)(e - p));
	host[e - p] = '\0';
	n = topo_node_by_fqdn(topo, host);
	return n && n->role == TOPO_SCSCF ? n : NULL;
}

int icscf_select_scscf(const struct topo *topo, const struct topo_domain *home,
                       const struct cx_capabilities *caps, unsigned turn, char *out, size_t outlen)
{
	struct candidate c[CX_LIST_MAX > 64 ? CX_LIST_MAX : 64];
	size_t n = 0, ties = 0, pick;
	int best = -1, len;

	if (caps->n_server_names) {
		for (size_t i = 0; i < caps->n_server_names && n < CX_LIST_MAX; i++) {
			const struct topo_node *node = node_of(topo, caps->server_names[i]);

			c[n++] = (struct candidate){caps->server_names[i], node, score(node, caps)};
		}
	} else {
		for (size_t i = 0; i < home->n_nodes && n < sizeof(c) / sizeof(c[0]); i++) {
			const struct topo_node *node = &home->nodes[i];

			if (node->role == TOPO_SCSCF)
				c[n++] = (struct candidate){NULL, node, score(node, caps)};
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (c[i].score > best) {
			best = c[i].score;
			ties = 0;
		}
		if (c[i].score == best && best >= 0)
			ties++;
	}
	if (best < 0)
		return -ENOENT;
	pick = turn % ties;
	for (size_t i = 0; i < n; i++) {
		if (c[i].score != best || pick-- > 0)
			continue;
		if (c[i].name)
			len = snprintf(out, outlen, "%s", c[i].name);
		else
			len = snprintf(out, outlen, "sip:%s:%u", c[i].node->fqdn,
			               c[i].node->sip_port);
		return len < 0 || (size_t)len >= outlen ? -ENOSPC : 0;
	}
	return -ENOENT;
}

int icscf_select_assigned(const struct topo *topo, const struct topo_domain *home,
                          const char *server_name, const struct cx_capabilities *caps,
                          unsigned turn, char *out, size_t outlen)
{
	int len;

	/* TS 29.228 6.1.1.1, 6.1.4.1: a Server-Name means an S-CSCF is assigned already. */
	if (server_name[0]) {
		len = snprintf(out, outlen, "%s", server_name);
		return len < 0 || (size_t)len >= outlen ? -ENOSPC : 0;
	}
	if (!caps->present)
		return -ENODATA;
	return icscf_select_scscf(topo, home, caps, turn, out, outlen);
}
