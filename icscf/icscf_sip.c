/* The I-CSCF's SIP hooks for the proxy core: a method table for new requests (REGISTER
 * goes to icscf_reg.c; OPTIONS is answered; requests to terminating users need an LIR,
 * issue 4, and get 501 until their rows point at it), REGISTER responses counted, and
 * the end of a held transaction passed to the UAR contexts. */
#include "icscf.h"

#include "sip_proxy.h"

#include <stddef.h>

typedef void icscf_method_fn(struct icscf *ic, struct sip_req *req);

/* One row of the method table. */
struct method_row {
	enum sip_method method;  /* the request method */
	icscf_method_fn *handle; /* what to do with it */
};

/* An ACK for a 2xx that is not ours to route yet: replying drops it (sip_proxy.c). */
static void drop(struct icscf *ic, struct sip_req *req)
{
	(void)ic;
	sip_req_reply(req, 200, NULL, NULL);
}

static void on_register(struct icscf *ic, struct sip_req *req)
{
	icscf_reg_on_request(ic, req);
}

/* RFC 3261 11.2: we answer capability queries (and keep-alive pings) ourselves. */
static void on_options(struct icscf *ic, struct sip_req *req)
{
	(void)ic;
	sip_req_reply(req, 200, NULL, NULL);
}

/* Until the terminating procedures with LIR exist (TS 24.229 5.3.2, issue 4). */
static void not_implemented(struct icscf *ic, struct sip_req *req)
{
	ic->stats.not_implemented++;
	sip_req_reply(req, 501, NULL, NULL);
}

static const struct method_row methods[] = {
    {SIP_REGISTER, on_register},   {SIP_OPTIONS, on_options},      {SIP_ACK, drop},
    {SIP_INVITE, not_implemented}, {SIP_MESSAGE, not_implemented}, {SIP_SUBSCRIBE, not_implemented},
    {SIP_NOTIFY, not_implemented}, {SIP_PUBLISH, not_implemented}, {SIP_REFER, not_implemented},
};

static void on_request(void *app, struct sip_req *req)
{
	struct icscf *ic = app;
	enum sip_method method = sip_msg_method(sip_req_msg(req));

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == method) {
			methods[i].handle(ic, req);
			return;
		}
	not_implemented(ic, req);
}

static void on_response(void *app, struct sip_req *req, struct sip_msg *resp)
{
	if (sip_msg_method(sip_req_msg(req)) == SIP_REGISTER)
		icscf_reg_on_response(app, req, resp);
}

static void on_gone(void *app, struct sip_req *req)
{
	if (sip_msg_method(sip_req_msg(req)) == SIP_REGISTER)
		icscf_reg_on_gone(app, req);
}

const struct sip_proxy_ops icscf_sip_ops = {
    .on_request = on_request,
    .on_response = on_response,
    .on_gone = on_gone,
};
