/* The P-CSCF's SIP hooks for the proxy core: a method table sends REGISTER to the
 * registration procedures (pcscf_reg.c, TS 24.229 5.2.2) and every other request to the
 * call procedures (pcscf_call.c, 5.2.6), noting which methods create a dialog and so
 * are Record-Routed (RFC 3261 12.1, 16.6 step 4); responses go back to the procedure
 * that forwarded the request. */
#include "pcscf.h"

#include "sip_proxy.h"

#include <stddef.h>

typedef void pcscf_method_fn(struct pcscf *pc, struct sip_req *req, bool dialog);

/* One row of the method table. */
struct method_row {
	enum sip_method method;  /* the request method */
	bool dialog;             /* an initial one creates a dialog: Record-Route it */
	pcscf_method_fn *handle; /* what to do with it */
};

static void on_register(struct pcscf *pc, struct sip_req *req, bool dialog)
{
	(void)dialog;
	pcscf_reg_on_request(pc, req);
}

static const struct method_row methods[] = {
    {SIP_REGISTER, false, on_register},
    {SIP_INVITE, true, pcscf_call_on_request},
    {SIP_SUBSCRIBE, true, pcscf_call_on_request}, /* RFC 6665 4.1.2.1 */
    {SIP_REFER, true, pcscf_call_on_request},     /* RFC 3515 2.4.7 */
};

/* Every other method (ACK, BYE, UPDATE, PRACK, INFO, MESSAGE, NOTIFY, OPTIONS, PUBLISH,
 * extensions) is relayed without creating a dialog. CANCEL never reaches the role. */
static const struct method_row other = {SIP_OTHER, false, pcscf_call_on_request};

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
	row->handle(pc, req, row->dialog);
}

static void on_response(void *app, struct sip_req *req, struct sip_msg *resp)
{
	if (sip_msg_method(sip_req_msg(req)) == SIP_REGISTER)
		pcscf_reg_on_response(app, req, resp);
	else
		pcscf_call_on_response(app, req, resp);
}

const struct sip_proxy_ops pcscf_sip_ops = {
    .on_request = on_request,
    .on_response = on_response,
    .on_gone = NULL, /* no state per request: responses are read from the transaction */
};
