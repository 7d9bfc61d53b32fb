/* Loop-thread Cx calls (see dia_call.h): the answer is decoded on the freeDiameter
 * thread into a heap struct and handed to the loop with loop_post. */
#include "dia_call.h"

#include "dia_core.h"
#include "log.h"
#include "loop.h"

#include <errno.h>
#include <stdlib.h>

/* One call in flight: allocated at send, freed on the loop after the callback. */
struct dia_call {
	struct loop *lp;               /* loop that gets the result */
	enum cx_kind answer;           /* kind of the expected answer */
	dia_call_fn cb;                /* the caller's callback */
	void *arg;                     /* its argument */
	uint64_t sent_us;              /* loop_clock_us() at send */
	struct dia_call_result result; /* what the callback sees */
	union {
		struct cx_uaa uaa;
		struct cx_saa saa;
		struct cx_lia lia;
		struct cx_maa maa;
	} u; /* the decoded answer */
};

static int answer_kind(enum cx_kind kind, enum cx_kind *out)
{
	switch (kind) {
	case CX_UAR:
		*out = CX_UAA;
		return 0;
	case CX_SAR:
		*out = CX_SAA;
		return 0;
	case CX_LIR:
		*out = CX_LIA;
		return 0;
	case CX_MAR:
		*out = CX_MAA;
		return 0;
	default:
		return -EINVAL;
	}
}

static void deliver(struct loop *lp, void *arg)
{
	struct dia_call *c = arg;

	c->cb(c->arg, &c->result);
	if (c->result.err == 0)
		dia_cx_clear(c->answer, &c->u);
	free(c);
}

/* freeDiameter thread: decode, then post; never touch loop state here. */
static void on_answer(void *arg, struct msg **answer, int err)
{
	struct dia_call *c = arg;

	c->result.latency_us = loop_clock_us() - c->sent_us;
	if (err == 0 && dia_cx_answer_parse(c->answer, *answer, &c->u) < 0) {
		dia_cx_clear(c->answer, &c->u);
		err = -EBADMSG;
	}
	c->result.err = err;
	c->result.answer = err == 0 ? (const void *)&c->u : NULL;
	if (loop_post(c->lp, deliver, c) < 0) {
		/* Without memory for the post the caller never hears back; say so once. */
		log_err("dia_call: cannot post the %s answer to the loop",
		        dia_cx_kind_name(c->answer));
		if (err == 0)
			dia_cx_clear(c->answer, &c->u);
		free(c);
	}
}

int dia_call(struct loop *lp, enum cx_kind kind, const void *st, unsigned timeout_ms,
             dia_call_fn cb, void *arg)
{
	struct dia_call *c;
	struct msg *req = NULL;
	enum cx_kind ans;
	int rc;

	if (answer_kind(kind, &ans) < 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	rc = dia_cx_request_build(kind, st, &req);
	if (rc < 0)
		goto out_free;
	c->lp = lp;
	c->answer = ans;
	c->cb = cb;
	c->arg = arg;
	c->sent_us = loop_clock_us();
	rc = dia_core_send(&req, timeout_ms, on_answer, c);
	if (rc == 0)
		return 0;
out_free:
	free(c);
	return rc;
}
