/* Counters of the I-CSCF: UAR outcomes by result code and their latency (TS 32.409
 * style Cx counters), REGISTERs answered locally by status, REGISTERs forwarded by the
 * final response the S-CSCF gave. Exported as JSON and Prometheus. Loop thread only. */
#include "icscf.h"

#include "dia_call.h"
#include "prom.h"

#include <errno.h>
#include <stdio.h>

/* The UAA outcomes counted apart: {code, experimental}; the last three slots are other,
 * timeout (no answer) and error (not sent or undecodable). */
static const struct {
	uint32_t code;     /* Result-Code or Experimental-Result-Code */
	bool experimental; /* which of the two */
} uaa_slots[ICSCF_UAA_SLOTS - 3] = {
    {DIA_SUCCESS, false},
    {CX_FIRST_REGISTRATION, true},
    {CX_SUBSEQUENT_REGISTRATION, true},
    {CX_ERROR_USER_UNKNOWN, true},
    {CX_ERROR_IDENTITIES_DONT_MATCH, true},
    {CX_ERROR_IDENTITY_NOT_REGISTERED, true},
    {CX_ERROR_ROAMING_NOT_ALLOWED, true},
    {DIA_UNABLE_TO_DELIVER, false},
    {DIA_TOO_BUSY, false},
    {DIA_AUTHORIZATION_REJECTED, false},
    {DIA_UNABLE_TO_COMPLY, false},
};

#define SLOT_OTHER   (ICSCF_UAA_SLOTS - 3)
#define SLOT_TIMEOUT (ICSCF_UAA_SLOTS - 2)
#define SLOT_ERROR   (ICSCF_UAA_SLOTS - 1)

static const int reply_statuses[ICSCF_REPLY_SLOTS - 1] = {400, 403, 480, 500, 501, 503, 504, 600};

static const char *const fwd_names[ICSCF_FWD_N] = {
    [ICSCF_FWD_OK] = "2xx",          [ICSCF_FWD_CHALLENGE] = "401", [ICSCF_FWD_FORBIDDEN] = "403",
    [ICSCF_FWD_OTHER_4XX] = "4xx",   [ICSCF_FWD_5XX] = "5xx",       [ICSCF_FWD_6XX] = "6xx",
    [ICSCF_FWD_TIMEOUT] = "timeout",
};

void icscf_stats_uaa(struct icscf_stats *st, const struct dia_call_result *r)
{
	const struct cx_uaa *a = r->answer;
	size_t slot = SLOT_OTHER;

	if (r->err == -ETIMEDOUT) {
		st->uaa[SLOT_TIMEOUT]++;
		return;
	}
	if (r->err || !a) {
		st->uaa[SLOT_ERROR]++;
		return;
	}
	st->cx_answers++;
	st->cx_latency_us += r->latency_us;
	for (size_t i = 0; i < SLOT_OTHER; i++)
		if (uaa_slots[i].code == a->result.code &&
		    uaa_slots[i].experimental == a->result.experimental)
			slot = i;
	st->uaa[slot]++;
}

void icscf_stats_reply(struct icscf_stats *st, int status)
{
	size_t slot = ICSCF_REPLY_SLOTS - 1;

	for (size_t i = 0; i < ICSCF_REPLY_SLOTS - 1; i++)
		if (reply_statuses[i] == status)
			slot = i;
	st->replies[slot]++;
}

void icscf_stats_forwarded(struct icscf_stats *st, int status, bool timeout)
{
	enum icscf_fwd_outcome o;

	if (timeout)
		o = ICSCF_FWD_TIMEOUT;
	else if (status < 300)
		o = ICSCF_FWD_OK;
	else if (status == 401)
		o = ICSCF_FWD_CHALLENGE;
	else if (status == 403)
		o = ICSCF_FWD_FORBIDDEN;
	else if (status < 500)
		o = ICSCF_FWD_OTHER_4XX;
	else if (status < 600)
		o = ICSCF_FWD_5XX;
	else
		o = ICSCF_FWD_6XX;
	st->forwarded[o]++;
}

/* The label of UAA slot i: result code, or other/timeout/error. */
static void uaa_label(size_t i, char *result, size_t size, const char **kind)
{
	if (i < SLOT_OTHER) {
		snprintf(result, size, "%u", uaa_slots[i].code);
		*kind = uaa_slots[i].experimental ? "experimental" : "base";
		return;
	}
	snprintf(result, size, "%s",
	         i == SLOT_OTHER     ? "other"
	         : i == SLOT_TIMEOUT ? "timeout"
	                             : "error");
	*kind = "none";
}

static void reply_label(size_t i, char *buf, size_t size)
{
	if (i < ICSCF_REPLY_SLOTS - 1)
		snprintf(buf, size, "%d", reply_statuses[i]);
	else
		snprintf(buf, size, "other");
}

void icscf_stats_prom(const struct icscf_stats *st, struct prom *p)
{
	char labels[96], value[16];
	const char *kind;

	prom_counter(p, "icscf_reg_requests_total", "REGISTER requests received", NULL,
	             st->reg_requests);
	labels[0] = '\0';
	prom_label(labels, sizeof(labels), "command", "UAR");
	prom_counter(p, "icscf_cx_requests_total", "Cx requests sent, by command", labels,
	             st->uar_sent);
	for (size_t i = 0; i < ICSCF_UAA_SLOTS; i++) {
		if (!st->uaa[i])
			continue;
		uaa_label(i, value, sizeof(value), &kind);
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "command", "UAR");
		prom_label(labels, sizeof(labels), "result", value);
		prom_label(labels, sizeof(labels), "kind", kind);
		prom_counter(p, "icscf_cx_answers_total",
		             "Cx answers (or their absence), by command and result code", labels,
		             st->uaa[i]);
	}
	labels[0] = '\0';
	prom_label(labels, sizeof(labels), "command", "UAR");
	prom_counter(p, "icscf_cx_latency_microseconds_total",
	             "Sum of the round trips of Cx requests that got an answer", labels,
	             st->cx_latency_us);
	prom_counter(p, "icscf_cx_latency_samples_total",
	             "Cx round trips summed in icscf_cx_latency_microseconds_total", labels,
	             st->cx_answers);
	for (size_t i = 0; i < ICSCF_REPLY_SLOTS; i++) {
		reply_label(i, value, sizeof(value));
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "status", value);
		prom_counter(p, "icscf_reg_replies_total",
		             "REGISTER requests the I-CSCF answered itself, by status", labels,
		             st->replies[i]);
	}
	for (int o = 0; o < ICSCF_FWD_N; o++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "outcome", fwd_names[o]);
		prom_counter(p, "icscf_reg_forwarded_total",
		             "REGISTER requests forwarded to an S-CSCF, by final response", labels,
		             st->forwarded[o]);
	}
	prom_counter(p, "icscf_not_implemented_total", "Requests answered 501 (LIR: not yet)", NULL,
	             st->not_implemented);
}

json_t *icscf_stats_json(const struct icscf_stats *st)
{
	json_t *uaa = json_object(), *replies = json_object(), *fwd = json_object();
	char value[16], key[32];
	const char *kind;

	for (size_t i = 0; uaa && i < ICSCF_UAA_SLOTS; i++) {
		if (!st->uaa[i])
			continue;
		uaa_label(i, value, sizeof(value), &kind);
		snprintf(key, sizeof(key), "%s%s%s", i < SLOT_OTHER ? kind : "",
		         i < SLOT_OTHER ? ":" : "", value);
		json_object_set_new(uaa, key, json_integer((json_int_t)st->uaa[i]));
	}
	for (size_t i = 0; replies && i < ICSCF_REPLY_SLOTS; i++) {
		if (!st->replies[i])
			continue;
		reply_label(i, value, sizeof(value));
		json_object_set_new(replies, value, json_integer((json_int_t)st->replies[i]));
	}
	for (int o = 0; fwd && o < ICSCF_FWD_N; o++)
		json_object_set_new(fwd, fwd_names[o], json_integer((json_int_t)st->forwarded[o]));
	/* "o" steals the three objects, also when json_pack fails. */
	return json_pack("{s:I, s:{s:I, s:o, s:I}, s:o, s:o}", "register_requests",
	                 (json_int_t)st->reg_requests, "uar", "sent", (json_int_t)st->uar_sent,
	                 "answers", uaa, "latency_us_avg",
	                 (json_int_t)(st->cx_answers ? st->cx_latency_us / st->cx_answers : 0),
	                 "replies", replies, "forwarded", fwd);
}
