/* The I-CSCF decision tables shared by the UAA (registration) and LIA (call) tests: a
 * Cx answer built from one table row and the checks every row makes on the decision. */
#include "dia_cx.h"
#include "icscf.h"
#include "unit.h"

#include <stdio.h>

void unit_cx_answer(const struct unit_cx_case *c, struct cx_result *result, char *server_name,
                    size_t size, struct cx_capabilities *caps)
{
	result->code = c->code;
	result->experimental = c->experimental;
	snprintf(server_name, size, "%s", c->name);
	if (c->caps >= 0) {
		caps->present = true;
		caps->mandatory[0] = (uint32_t)c->caps;
		caps->n_mandatory = c->caps > 0;
	}
}

void unit_cx_check(size_t i, const struct unit_cx_case *c, const struct icscf_decision *d)
{
	if (d->status != c->status)
		fprintf(stderr, "case %zu: status %d, expected %d\n", i, d->status, c->status);
	CU_ASSERT_EQUAL(d->status, c->status);
	if (c->status == 0)
		CU_ASSERT_STRING_EQUAL(d->scscf, c->scscf);
}
