/* Counters of the I-CSCF: Cx requests (UAR for REGISTER, LIR for the initial requests
 * of calls) by command and outcome with their latency (TS 32.409 style Cx counters),
 * requests answered locally by status, requests forwarded by the final response the
 * S-CSCF gave. Exported as JSON and Prometheus. Loop thread only. */
#include "icscf.h"

#include "dia_call.h"
#include "prom.h"

#include <errno.h>
#include <stdio.h>

/* The Cx answer outcomes counted apart: {code, experimental}; the last three slots are
 * other, timeout (no answer) and error (not sent or undecodable). */
static const struct {
	uint32_t code;     /* Result-Code or Experimental-Result-Code */
	bool experimental; /* which of the two */
} cx_slots[ICSCF_CX_SLOTS - 3] = {
    {DIA_SUCCESS, false},
    {CX_FIRST_REGISTRATION, true},
    {CX_SUBSEQUENT_REGISTRATION, true},
    {CX_UNREGISTERED_SERVICE, true},
    {CX_ERROR_USER_UNKNOWN, true},
    {CX_ERROR_IDENTITIES_DONT_MATCH, true},
    {CX_ERROR_IDENTITY_NOT_REGISTERED, true},
    {CX_ERROR_ROAMING_NOT_ALLOWED, true},
    {DIA_UNABLE_TO_DELIVER, false},
    {DIA_TOO_BUSY, false},
    {DIA_AUTHORIZATION_REJECTED, false},
    {DIA_UNABLE_TO_COMPLY, false},
};

#define SLOT_OTHER   (ICSCF_CX_SLOTS - 3)
#define SLOT_TIMEOUT (ICSCF_CX_SLOTS - 2)
#define SLOT_ERROR   (ICSCF_CX_SLOTS - 1)

static const int reply_statuses[ICSCF_REPLY_SLOTS - 1] = {400, 403, 404, 480, 500,
                                                          501, 503, 504, 600};

static const char *const fwd_names[ICSCF_FWD_N] = {
    [ICSCF_FWD_OK] = "2xx",          [ICSCF_FWD_CHALLENGE] = "401", [ICSCF_FWD_FORBIDDEN] = "403",
    [ICSCF_FWD_OTHER_4XX] = "4xx",   [ICSCF_FWD_5XX] = "5xx",       [ICSCF_FWD_6XX] = "6xx",
    [ICSCF_FWD_TIMEOUT] = "timeout",
};

/* The two Cx commands the I-CSCF sends, in the order their samples are written. */
static const struct icscf_cx_stats *cx_of(const struct icscf_stats *st, int i, const char **cmd)
{
	*cmd = i == 0 ? "UAR" : "LIR";
	return i == 0 ? &st->uar : &st->lir;
}

void icscf_stats_cx(struct icscf_cx_stats *c, const struct dia_call_result *r,
                    const struct cx_result *res)
{
	size_t slot = SLOT_OTHER;

	if (r->err == -ETIMEDOUT) {
		c->answers[SLOT_TIMEOUT]++;
		return;
	}
	if (r->err || !res) {
		c->answers[SLOT_ERROR]++;
		return;
	}
	c->answered++;
	c->latency_us += r->latency_us;
	for (size_t i = 0; i < SLOT_OTHER; i++)
		if (cx_slots[i].code == res->code && cx_slots[i].experimental == res->experimental)
			slot = i;
	c->answers[slot]++;
}

void icscf_stats_reply(struct icscf_sip_stats *s, int status)
{
	size_t slot = ICSCF_REPLY_SLOTS - 1;

	for (size_t i = 0; i < ICSCF_REPLY_SLOTS - 1; i++)
		if (reply_statuses[i] == status)
			slot = i;
	s->replies[slot]++;
}

void icscf_stats_forwarded(struct icscf_sip_stats *s, int status, bool timeout)
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
	s->forwarded[o]++;
}

/* The label of Cx slot i: result code, or other/timeout/error. */
static void cx_label(size_t i, char *result, size_t size, const char **kind)
{
	if (i < SLOT_OTHER) {
		snprintf(result, size, "%u", cx_slots[i].code);
		*kind = cx_slots[i].experimental ? "experimental" : "base";
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

/* The Cx families, each with its UAR and LIR samples together. */
static void cx_prom(const struct icscf_stats *st, struct prom *p)
{
	char labels[96], value[16];
	const char *kind, *cmd;
	const struct icscf_cx_stats *c;

	for (int k = 0; k < 2; k++) {
		c = cx_of(st, k, &cmd);
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "command", cmd);
		prom_counter(p, "icscf_cx_requests_total", "Cx requests sent, by command", labels,
		             c->sent);
	}
	for (int k = 0; k < 2; k++) {
		c = cx_of(st, k, &cmd);
		for (size_t i = 0; i < ICSCF_CX_SLOTS; i++) {
			if (!c->answers[i])
				continue;
			cx_label(i, value, sizeof(value), &kind);
			labels[0] = '\0';
			prom_label(labels, sizeof(labels), "command", cmd);
			prom_label(labels, sizeof(labels), "result", value);
			prom_label(labels, sizeof(labels), "kind", kind);
			prom_counter(p, "icscf_cx_answers_total",
			             "Cx answers (or their absence), by command and result code",
			             labels, c->answers[i]);
		}
	}
	for (int k = 0; k < 2; k++) {
		c = cx_of(st, k, &cmd);
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "command", cmd);
		prom_counter(p, "icscf_cx_latency_microseconds_total",
		             "Sum of the round trips of Cx requests that got an answer", labels,
		             c->latency_us);
	}
	for (int k = 0; k < 2; k++) {
		c = cx_of(st, k, &cmd);
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "command", cmd);
		prom_counter(p, "icscf_cx_latency_samples_total",
		             "Cx round trips summed in icscf_cx_latency_microseconds_total", labels,
		             c->answered);
	}
}

/* One kind of SIP request: <prefix>_requests_total, _replies_total{status},
 * _forwarded_total{outcome}. */
static void sip_prom(const struct icscf_sip_stats *s, const char *prefix, const char *what,
                     struct prom *p)
{
	char name[64], help[128], labels[48], value[16];

	snprintf(name, sizeof(name), "%s_requests_total", prefix);
	snprintf(help, sizeof(help), "%s received", what);
	prom_counter(p, name, help, NULL, s->requests);
	snprintf(name, sizeof(name), "%s_replies_total", prefix);
	snprintf(help, sizeof(help), "%s the I-CSCF answered itself, by status", what);
	for (size_t i = 0; i < ICSCF_REPLY_SLOTS; i++) {
		reply_label(i, value, sizeof(value));
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "status", value);
		prom_counter(p, name, help, labels, s->replies[i]);
	}
	snprintf(name, sizeof(name), "%s_forwarded_total", prefix);
	snprintf(help, sizeof(help), "%s forwarded to an S-CSCF, by final response", what);
	for (int o = 0; o < ICSCF_FWD_N; o++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "outcome", fwd_names[o]);
		prom_counter(p, name, help, labels, s->forwarded[o]);
	}
}

void icscf_stats_prom(const struct icscf_stats *st, struct prom *p)
{
	sip_prom(&st->reg, "icscf_reg", "REGISTER requests", p);
	sip_prom(&st->call, "icscf_call", "Initial requests to terminating users (LIR)", p);
	prom_counter(p, "icscf_in_dialog_total",
	             "In-dialog requests relayed (none expected: the I-CSCF does not "
	             "Record-Route)",
	             NULL, st->in_dialog);
	cx_prom(st, p);
}

static json_t *cx_json(const struct icscf_cx_stats *c)
{
	json_t *answers = json_object();
	char value[16], key[32];
	const char *kind;

	for (size_t i = 0; answers && i < ICSCF_CX_SLOTS; i++) {
		if (!c->answers[i])
			continue;
		cx_label(i, value, sizeof(value), &kind);
		snprintf(key, sizeof(key), "%s%s%s", i < SLOT_OTHER ? kind : "",
		         i < SLOT_OTHER ? ":" : "", value);
		json_object_set_new(answers, key, json_integer((json_int_t)c->answers[i]));
	}
	/* "o" steals answers, also when json_pack fails. */
	return json_pack("{s:I, s:o, s:I}", "sent", (json_int_t)c->sent, "answers", answers,
	                 "latency_us_avg",
	                 (json_int_t)(c->answered ? c->latency_us / c->answered : 0));
}

json_t *icscf_stats_json(const struct icscf_sip_stats *s, const struct icscf_cx_stats *c,
                         const char *command)
{
	json_t *replies = json_object(), *fwd = json_object();
	char value[16];

	for (size_t i = 0; replies && i < ICSCF_REPLY_SLOTS; i++) {
		if (!s->replies[i])
			continue;
		reply_label(i, value, sizeof(value));
		json_object_set_new(replies, value, json_integer((json_int_t)s->replies[i]));
	}
	for (int o = 0; fwd && o < ICSCF_FWD_N; o++)
		json_object_set_new(fwd, fwd_names[o], json_integer((json_int_t)s->forwarded[o]));
	/* "o" steals the objects, also when json_pack fails. */
	return json_pack("{s:I, s:o, s:o, s:o}", "requests", (json_int_t)s->requests, command,
	                 cx_json(c), "replies", replies, "forwarded", fwd);
}
