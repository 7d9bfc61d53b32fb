/* The S-CSCF side of Cx (TS 29.228 6.1.2 Server-Assignment, 6.3 Multimedia-Auth; TS
 * 29.229 encoding): builds MAR and SAR from the registrar's identities, sends them with
 * dia_call (answers come back on the loop thread), counts requests, answers by result
 * and latency, and maps failures to the SIP answer of the REGISTER. */
#include "scscf.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The result codes counted apart (TS 29.229 6.2, RFC 6733 7.1). */
static const uint32_t result_codes[] = {
    2001, 2002, 2003, 2004, 3002, 3004, 4001, 5001, 5002, 5003, 5004, 5006, 5012,
};

#define N_CODES      (sizeof(result_codes) / sizeof(result_codes[0]))
#define SLOT_TIMEOUT N_CODES
#define SLOT_ERROR   (N_CODES + 1)
#define SLOT_OTHER   (N_CODES + 2)

_Static_assert(SLOT_OTHER < SCSCF_CX_RESULTS, "SCSCF_CX_RESULTS too small");

static const char *const cmd_names[SCSCF_CX_N] = {"MAR", "SAR"};

const char *scscf_cx_cmd_name(enum scscf_cx_cmd cmd)
{
	return cmd_names[cmd];
}

const char *scscf_cx_result_label(size_t slot)
{
	static const char *const labels[N_CODES] = {
	    "2001", "2002", "2003", "2004", "3002", "3004", "4001",
	    "5001", "5002", "5003", "5004", "5006", "5012",
	};

	if (slot < N_CODES)
		return labels[slot];
	if (slot == SLOT_TIMEOUT)
		return "timeout";
	if (slot == SLOT_ERROR)
		return "error";
	return "other";
}

static size_t result_slot(uint32_t code)
{
	for (size_t i = 0; i < N_CODES; i++)
		if (result_codes[i] == code)
			return i;
	return SLOT_OTHER;
}

static void copy_id(char *dst, const char *src)
{
	snprintf(dst, CX_ID_MAX, "%s", src);
}

/* Destination-Realm is our domain (the HSS's); Destination-Host names the HSS so the
 * request goes to the one peer we have. */
static void fill_hdr(const struct scscf *s, struct cx_hdr *h)
{
	copy_id(h->dest_realm, s->realm);
	if (s->hss_fqdn)
		copy_id(h->dest_host, s->hss_fqdn);
}

static int cx_send(struct scscf *s, enum scscf_cx_cmd cmd, enum cx_kind kind, const void *q,
                   dia_call_fn cb, void *arg)
{
	int rc = s->io.dia_call(s->loop, kind, q, SCSCF_CX_TIMEOUT_MS, cb, arg);

	s->stats.cx_requests[cmd]++;
	if (rc < 0) {
		s->stats.cx_answers[cmd][SLOT_ERROR]++;
		log_warn("cannot send %s: %s", cmd_names[cmd], strerror(-rc));
	}
	return rc;
}

int scscf_cx_send_mar(struct scscf *s, const char *impi, const char *impu, const char *scheme,
                      const uint8_t *auth, size_t auth_len, dia_call_fn cb, void *arg)
{
	struct cx_mar q = {0};

	if (auth_len > sizeof(q.item.authorization))
		return -EINVAL;
	fill_hdr(s, &q.hdr);
	copy_id(q.user_name, impi);
	copy_id(q.public_identity, impu);
	snprintf(q.item.scheme, sizeof(q.item.scheme), "%s", scheme);
	if (auth_len) {
		memcpy(q.item.authorization, auth, auth_len);
		q.item.authorization_len = auth_len;
	}
	/* One vector per challenge: a REGISTER flood must not drain SQNs (TS 33.102 C.3). */
	q.number_auth_items = 1;
	copy_id(q.server_name, s->server_name);
	return cx_send(s, SCSCF_CX_MAR, CX_MAR, &q, cb, arg);
}

int scscf_cx_send_sar(struct scscf *s, const char *impi, const char *impu, enum cx_sat sat,
                      bool data_available, dia_call_fn cb, void *arg)
{
	struct cx_sar q = {0};

	fill_hdr(s, &q.hdr);
	copy_id(q.user_name, impi);
	copy_id(q.public_identities[0], impu);
	q.n_public_identities = 1;
	copy_id(q.server_name, s->server_name);
	q.assignment_type = sat;
	q.user_data_available =
	    data_available ? CX_USER_DATA_ALREADY_AVAILABLE : CX_USER_DATA_NOT_AVAILABLE;
	return cx_send(s, SCSCF_CX_SAR, CX_SAR, &q, cb, arg);
}

const struct cx_result *scscf_cx_account(struct scscf *s, enum scscf_cx_cmd cmd,
                                         const struct dia_call_result *r)
{
	const struct cx_result *res;

	if (r->err == -ETIMEDOUT) {
		s->stats.cx_answers[cmd][SLOT_TIMEOUT]++;
		return NULL;
	}
	if (r->err != 0 || !r->answer) {
		s->stats.cx_answers[cmd][SLOT_ERROR]++;
		return NULL;
	}
	res = cmd == SCSCF_CX_MAR ? &((const struct cx_maa *)r->answer)->result
	                          : &((const struct cx_saa *)r->answer)->result;
	s->stats.cx_answers[cmd][result_slot(res->code)]++;
	s->stats.cx_latency_us[cmd] += r->latency_us;
	s->stats.cx_latency_n[cmd]++;
	return res;
}

/* Answers of a fire-and-forget SAR: counted, a failure logged. */
static void on_notify_saa(void *arg, const struct dia_call_result *r)
{
	struct scscf *s = arg;
	const struct cx_result *res = scscf_cx_account(s, SCSCF_CX_SAR, r);

	if (!res || !cx_result_success(res))
		log_warn("SAR not acknowledged: %s",
		         res                    ? dia_cx_result_name(res->code, res->experimental)
		         : r->err == -ETIMEDOUT ? "timeout"
		                                : "no answer");
}

void scscf_cx_notify_sar(struct scscf *s, const char *impi, const char *impu, enum cx_sat sat)
{
	scscf_cx_send_sar(s, impi, impu, sat, false, on_notify_saa, s);
}

int scscf_cx_sip_status(const struct dia_call_result *r, const struct cx_result *res,
                        const char **reason)
{
	/* TS 24.229 5.3.1.2: the HSS could not be asked; the same 480 the I-CSCF gives. */
	if (!res && r->err != -EBADMSG) {
		*reason = "Temporarily Unavailable";
		return 480;
	}
	if (!res || (!res->experimental && res->code == DIA_UNABLE_TO_COMPLY)) {
		*reason = "Server Internal Error";
		return 500;
	}
	if (!res->experimental &&
	    (res->code == DIA_UNABLE_TO_DELIVER || res->code == DIA_TOO_BUSY)) {
		*reason = "Temporarily Unavailable";
		return 480;
	}
	/* Unknown user, identities that do not match, scheme not supported, AUTS
	 * rejected, barred: TS 24.229 5.4.1.2.1 answers 403. */
	*reason = "Forbidden";
	return 403;
}
