/* The P-CSCF's SIP hooks for the proxy core: a method table decides what each new request
 * needs (registration of its sender, TS 24.229 5.2.6.3) and which handler takes it;
 * responses to REGISTER go to pcscf_reg.c. Calls (INVITE and the rest, issue 4) get
 * 501 from a registered UE until their rows point at the originating procedures. */
#include "pcscf.h"

#include "sip_proxy.h"

#include <netinet/in.h>
#include <stddef.h>

typedef void pcscf_method_fn(struct pcscf *pc, struct sip_req *req);

/* One row of the method table. */
struct method_row {
	enum sip_method method;  /* the request method */
	bool registered_only;    /* only a registered UE may send it (else 403) */
	pcscf_method_fn *handle; /* what to do once the check passed */
};

/* Until the originating and terminating procedures exist (issue 4). */
static void not_implemented(struct pcscf *pc, struct sip_req *req)
{
	pc->stats.not_implemented++;
	sip_req_reply(req, 501, NULL, NULL);
}

/* An ACK for a 2xx that is not ours to route yet: replying drops it (sip_proxy.c). */
static void drop(struct pcscf *pc, struct sip_req *req)
{
	(void)pc;
	sip_req_reply(req, 200, NULL, NULL);
}

static void on_register(struct pcscf *pc, struct sip_req *req)
{
	pcscf_reg_on_request(pc, req);
}

static const struct method_row methods[] = {
    {SIP_REGISTER, false, on_register},     {SIP_ACK, false, drop},
    {SIP_INVITE, true, not_implemented},    {SIP_BYE, true, not_implemented},
    {SIP_MESSAGE, true, not_implemented},   {SIP_OPTIONS, true, not_implemented},
    {SIP_SUBSCRIBE, true, not_implemented}, {SIP_NOTIFY, true, not_implemented},
    {SIP_PUBLISH, true, not_implemented},   {SIP_UPDATE, true, not_implemented},
    {SIP_PRACK, true, not_implemented},     {SIP_INFO, true, not_implemented},
    {SIP_REFER, true, not_implemented},
};

/* Any other method (and extension methods) is treated like a call request. */
static const struct method_row other = {SIP_OTHER, true, not_implemented};

/* TS 24.229 5.2.6.3.1: the asserted identity of a request is the UE's registered one:
 * P-Preferred-Identity when present, else From; and the request must come from the
 * address the UE registered from (here, the emulated security association). */
static bool from_registered_ue(struct pcscf *pc, struct sip_req *req)
{
	struct sip_msg *m = sip_req_msg(req);
	const struct pcscf_reg *r;
	const char *v;
	size_t len;
	struct sip_span uri;

	v = sip_msg_header(m, "P-Preferred-Identity", &len);
	if (!v)
		v = sip_msg_header(m, "From", &len);
	if (!v)
		return false;
	uri = pcscf_reg_uri((struct sip_span){v, len});
	r = uri.len ? pcscf_store_find(pc->store, uri.p, uri.len) : NULL;
	return r && r->state == PCSCF_REGISTERED &&
	       r->ue.sin_addr.s_addr == sip_req_source(req)->sin_addr.s_addr;
}

static void on_request(void *app, struct sip_req *req)
{
	struct pcscf *pc = app;
	enum sip_method method = sip_msg_method(sip_req_msg(req));
	const struct method_row *row = &other;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == method) {
			row = &methods[i];
			break;
		}
	if (row->registered_only && !from_registered_ue(pc, req)) {
		pc->stats.forbidden++;
		sip_req_reply(req, 403, "Forbidden - not registered", NULL);
		return;
	}
	row->handle(pc, req);
}

static void on_response(void *app, struct sip_req *req, struct sip_msg *resp)
{
	if (sip_msg_method(sip_req_msg(req)) == SIP_REGISTER)
		pcscf_reg_on_response(app, req, resp);
}

const struct sip_proxy_ops pcscf_sip_ops = {
    .on_request = on_request,
    .on_response = on_response,
    .on_gone = NULL, /* no state per request: responses are read from the transaction */
};
