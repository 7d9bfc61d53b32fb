/* Cx requests issued from a daemon's loop thread (I-CSCF: UAR, LIR; S-CSCF: MAR, SAR):
 * build the request from its struct, send it, and get the decoded answer back ON THE
 * LOOP THREAD, never blocking the loop on the round trip (ARCHITECTURE.md, process
 * model). The freeDiameter thread only decodes and posts. */
#ifndef IMS_DIA_CALL_H
#define IMS_DIA_CALL_H

#include "dia_cx.h"

#include <stdint.h>

struct loop;

/* The outcome of one call, valid during the callback only. */
struct dia_call_result {
	int err;             /* 0: answer holds the decoded answer; -ETIMEDOUT: no answer in
	                        time; -EBADMSG: undecodable answer; other -errno: not sent */
	const void *answer;  /* the answer struct of the request's answer kind (struct cx_uaa
	                        for a UAR...), NULL when err != 0 */
	uint64_t latency_us; /* time from send to answer */
};

/* Called on the loop thread exactly once per successful dia_call. */
typedef void (*dia_call_fn)(void *arg, const struct dia_call_result *r);

/* Sends the request st of kind (CX_UAR, CX_SAR, CX_LIR or CX_MAR) with a timeout in ms
 * (0 = 5000) and calls cb(arg, result) on lp's thread when it is answered or has timed
 * out. Returns 0, or -errno without calling cb (-EINVAL for a bad request struct). */
int dia_call(struct loop *lp, enum cx_kind kind, const void *st, unsigned timeout_ms,
             dia_call_fn cb, void *arg);

#endif
