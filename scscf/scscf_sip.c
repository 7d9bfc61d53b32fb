/* The S-CSCF's SIP hooks for the proxy core: a method table for new requests (REGISTER
 * goes to the registrar, OPTIONS for this node is answered, every other method is routed
 * by scscf_call.c as originating, terminating or in-dialog, TS 24.229 5.4.3), and the end
 * of a transaction that still waits for the HSS. */
#include "scscf.h"

#include "sip_msg.h"
#include "sip_proxy.h"
#include "topo.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

typedef void scscf_method_fn(struct scscf *s, struct sip_req *req, struct sip_msg *m);

/* One row of the method table. */
struct method_row {
	enum sip_method method;  /* the request method */
	scscf_method_fn *handle; /* what to do with it */
};

/* A context waiting for the HSS: on_gone must find it. */
static void hold(struct sip_req *req, struct scscf_txn *t)
{
	if (t)
		sip_req_set_data(req, t, NULL);
}

static void on_register(struct scscf *s, struct sip_req *req, struct sip_msg *m)
{
	hold(req, scscf_reg_on_register(s, req, m));
}

/* RFC 3261 16: every method but REGISTER, including those we do not know, is routed. */
static void on_call(struct scscf *s, struct sip_req *req, struct sip_msg *m)
{
	hold(req, scscf_call_on_request(s, req, m));
}

/* The Request-URI has no user part and names our domain or this node (RFC 3261 11: a
 * capability query, or a keep-alive ping, for the server itself). */
static bool for_this_node(const struct scscf *s, const struct sip_msg *m)
{
	struct sip_span ru = sip_msg_ruri(m);
	struct sip_uri u;

	if (sip_msg_uri_parse(ru.p, ru.len, &u) < 0 || u.user[0] || strcmp(u.scheme, "tel") == 0)
		return false;
	if (strcasecmp(u.host, s->realm) == 0)
		return true;
	return s->node &&
	       (strcasecmp(u.host, s->node->fqdn) == 0 || strcmp(u.host, s->node->address) == 0);
}

/* RFC 3261 11.2: OPTIONS for us is answered here; OPTIONS for a user is routed. */
static void on_options(struct scscf *s, struct sip_req *req, struct sip_msg *m)
{
	if (!for_this_node(s, m)) {
		on_call(s, req, m);
		return;
	}
	s->stats.options++;
	sip_req_reply(req, 200, NULL,
	              "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER, PRACK, UPDATE, INFO, "
	              "MESSAGE, SUBSCRIBE, NOTIFY, REFER, PUBLISH\r\n");
}

/* Methods absent from the table go to on_call: INVITE, ACK (of a 2xx: the core keeps the
 * others), BYE, PRACK, UPDATE, INFO, MESSAGE, SUBSCRIBE, NOTIFY, REFER, PUBLISH... */
static const struct method_row methods[] = {
    {SIP_REGISTER, on_register},
    {SIP_OPTIONS, on_options},
};

static void on_request(void *app, struct sip_req *req)
{
	struct scscf *s = app;
	struct sip_msg *m = sip_req_msg(req);
	enum sip_method method = sip_msg_method(m);

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == method) {
			methods[i].handle(s, req, m);
			return;
		}
	on_call(s, req, m);
}

static void on_gone(void *app, struct sip_req *req)
{
	struct scscf_txn *t = sip_req_data(req);

	if (!t)
		return;
	sip_req_set_data(req, NULL, NULL);
	scscf_txn_gone(t);
	scscf_txn_settle(t);
}

static const struct sip_proxy_ops scscf_sip_ops = {
    .on_request = on_request,
    .on_gone = on_gone,
};

int scscf_sip_init(struct scscf *s)
{
	const struct sip_proxy_conf conf = {
	    .address = s->node->address,
	    .port = s->node->sip_port,
	    .fqdn = s->node->fqdn,
	    .topo = s->topo,
	    .ops = &scscf_sip_ops,
	    .app = s,
	};

	s->proxy = sip_proxy_new(s->loop, &conf);
	/* sip_proxy_new logged why. */
	return s->proxy ? 0 : -EIO;
}

void scscf_sip_fini(struct scscf *s)
{
	sip_proxy_free(s->proxy);
	s->proxy = NULL;
}
