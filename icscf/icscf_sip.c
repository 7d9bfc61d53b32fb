/* The I-CSCF's SIP hooks for the proxy core: a method table for new requests (REGISTER
 * goes to the registration procedures of icscf_reg.c, TS 24.229 5.3.1; every other
 * method to the terminating procedures of icscf_call.c, 5.3.2), responses counted by
 * the procedure that forwarded the request, and the end of a held transaction passed to
 * its Cx context. */
#include "icscf.h"

#include "sip_proxy.h"

#include <stddef.h>

/* The procedures that take a request, answer its responses and hear of its end. */
struct procedure {
	void (*request)(struct icscf *ic, struct sip_req *req);
	void (*response)(struct icscf *ic, struct sip_req *req, struct sip_msg *resp);
	void (*gone)(struct icscf *ic, struct sip_req *req);
};

static const struct procedure registration = {
    icscf_reg_on_request,
    icscf_reg_on_response,
    icscf_reg_on_gone,
};

static const struct procedure terminating = {
    icscf_call_on_request,
    icscf_call_on_response,
    icscf_call_on_gone,
};

/* One row of the method table. */
struct method_row {
	enum sip_method method;            /* the request method */
	const struct procedure *procedure; /* what handles it */
};

/* Any method not listed (INVITE, MESSAGE, OPTIONS, SUBSCRIBE, ... and extensions) is a
 * request for a terminating user. CANCEL never reaches the role. */
static const struct method_row methods[] = {
    {SIP_REGISTER, &registration},
};

static const struct procedure *procedure_of(struct sip_req *req)
{
	enum sip_method method = sip_msg_method(sip_req_msg(req));

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (methods[i].method == method)
			return methods[i].procedure;
	return &terminating;
}

static void on_request(void *app, struct sip_req *req)
{
	procedure_of(req)->request(app, req);
}

static void on_response(void *app, struct sip_req *req, struct sip_msg *resp)
{
	procedure_of(req)->response(app, req, resp);
}

static void on_gone(void *app, struct sip_req *req)
{
	procedure_of(req)->gone(app, req);
}

const struct sip_proxy_ops icscf_sip_ops = {
    .on_request = on_request,
    .on_response = on_response,
    .on_gone = on_gone,
};
