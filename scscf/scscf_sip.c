/* The S-CSCF's SIP hooks for the proxy core: a method table for new requests (REGISTER
 * goes to the registrar, OPTIONS is answered; originating and terminating requests
 * (TS 24.229 5.4.3, issue 4) get 501 until their rows point at them), and the end of a
 * transaction the registrar still holds. */
#include "scscf.h"

#include "sip_proxy.h"
#include "topo.h"

#include <errno.h>
#include <stddef.h>

typedef void scscf_method_fn(struct scscf *s, struct sip_req *req, struct sip_msg *m);

/* One row of the method table. */
struct method_row {
	enum sip_method method;  /* the request method */
	scscf_method_fn *handle; /* what to do with it */
};

static void on_register(struct scscf *s, struct sip_req *req, struct sip_msg *m)
{
	struct scscf_txn *t = scscf_reg_on_register(s, req, m);

	/* Waiting for the HSS: on_gone must find the context. */
	if (t)
		sip_req_set_data(req, t, NULL);
}

/* RFC 3261 11.2: capability queries (and keep-alive pings) are answered here. */
static void on_options(struct scscf *s, struct sip_req *req, struct sip_msg *m)
{
	s->stats.options++;
	sip_req_reply(req, 200, NULL, "Allow: REGISTER, OPTIONS\r\n");
}

/* An ACK for a 2xx is not ours to route yet: replying drops it (sip_proxy.c). */
static void drop(struct scscf *s, struct sip_req *req, struct sip_msg *m)
{
	sip_req_reply(req, 200, NULL, NULL);
}

/* Until the originating and terminating procedures exist (issue 4). */
static void not_implemented(struct scscf *s, struct sip_req *req, struct sip_msg *m)
{
	s->stats.not_implemented++;
	sip_req_reply(req, 501, NULL, NULL);
}

static const struct method_row methods[] = {
    {SIP_REGISTER, on_register},
    {SIP_OPTIONS, on_options},
    {SIP_ACK, drop},
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
	not_implemented(s, req, m);
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
