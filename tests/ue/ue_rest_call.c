/* REST for the UE's calls and messages: POST /calls places a call and answers at once
 * (201, the call proceeds; GET /calls/{id} follows it), POST /calls/{id}/<action>
 * drives it (answer, reject, hold, resume, update, info, hangup, cancel), POST
 * /messages answers with the outcome of the MESSAGE transaction, GET and POST /settings
 * set what the UE does with incoming calls. Counters for /metrics. */
#include "ue.h"

#include "prom.h"
#include "rest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reads an array of codec names into out. Returns 0 or -EINVAL with resp set to 400. */
static int parse_codecs(json_t *v, struct ue_codec *out, unsigned *n, struct rest_response *resp)
{
	bool voice = false;
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > UE_SDP_CODECS_MAX) {
		rest_error(resp, 400, "codecs: expected 1 to %d codec names such as \"PCMU\"",
		           UE_SDP_CODECS_MAX);
		return -EINVAL;
	}
	*n = 0;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || ue_sdp_codec(json_string_value(e), &out[*n]) < 0) {
			rest_error(
			    resp, 400,
			    "codecs[%zu]: not one of PCMU, PCMA, G722, G729, GSM, AMR, AMR-WB, "
			    "telephone-event",
			    i);
			return -EINVAL;
		}
		for (unsigned k = 0; k < *n; k++) {
			if (out[k].pt == out[*n].pt) {
				rest_error(resp, 400, "codecs[%zu]: listed twice", i);
				return -EINVAL;
			}
		}
		voice |= strcasecmp(out[*n].name, "telephone-event") != 0;
		(*n)++;
	}
	if (!voice) {
		rest_error(resp, 400, "codecs: telephone-event alone carries no voice");
		return -EINVAL;
	}
	return 0;
}

static json_t *codec_names(const struct ue_codec *c, unsigned n)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(c[i].name));
	return a;
}

/* The body of a POST must be absent or an object. */
static bool body_object(const struct rest_request *req, struct rest_response *resp)
{
	if (req->json && !json_is_object(req->json)) {
		rest_error(resp, 400, "body: expected a JSON object");
		return false;
	}
	return true;
}

void ue_rest_call_list(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct ue *ue = app;
	json_t *calls = json_array();

	for (const struct ue_call *c = ue->calls; calls && c; c = c->next)
		json_array_append_new(calls, ue_call_json(c));
	rest_json(resp, 200,
	          json_pack("{s:o, s:I, s:I}", "calls", calls, "total", (json_int_t)ue->n_calls,
	                    "active", (json_int_t)ue_call_active(ue)));
}

/* Body of POST /calls into o. Returns 0 or -EINVAL with resp set. */
static int place_body(const struct rest_request *req, struct ue_call_opts *o,
                      struct rest_response *resp)
{
	const char *key;
	json_t *v;

	memset(o, 0, sizeof(*o));
	o->offer = true;
	if (!req->json || !json_is_object(req->json)) {
		rest_error(resp, 400, "body: expected {\"target\": \"sip:bob@ims.beta.test\"}");
		return -EINVAL;
	}
	json_object_foreach(req->json, key, v)
	{
		if (strcmp(key, "target") == 0 && json_is_string(v)) {
			o->target = json_string_value(v);
		} else if (strcmp(key, "identity") == 0 && json_is_string(v)) {
			o->identity = json_string_value(v);
		} else if (strcmp(key, "offer") == 0 && json_is_boolean(v)) {
			o->offer = json_is_true(v);
		} else if (strcmp(key, "100rel") == 0 && json_is_boolean(v)) {
			o->rel100 = json_is_true(v);
		} else if (strcmp(key, "codecs") == 0) {
			if (parse_codecs(v, o->codecs, &o->n_codecs, resp) < 0)
				return -EINVAL;
		} else {
			rest_error(
			    resp, 400,
			    "%.64s: unknown field or wrong type (target and identity: strings; "
			    "offer and 100rel: booleans; codecs: array of names)",
			    key);
			return -EINVAL;
		}
	}
	if (!o->target) {
		rest_error(resp, 400, "target: missing (a sip:, sips: or tel: URI)");
		return -EINVAL;
	}
	return 0;
}

void ue_rest_call_place(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct ue *ue = app;
	struct ue_call_opts o;
	struct ue_call *c;
	int ret;

	if (place_body(req, &o, resp) < 0)
		return;
	ret = ue_uac_place(ue, &o, &c);
	switch (ret) {
	case 0:
		rest_json(resp, 201, ue_call_json(c));
		return;
	case -ENOTCONN:
		rest_error(resp, 409, "not registered: POST /register first");
		return;
	case -EINVAL:
		rest_error(resp, 400, "target or identity: expected a sip:, sips: or tel: URI");
		return;
	case -EAGAIN:
		rest_error(resp, 503, "too many calls (%d active)", UE_CALLS_ACTIVE_MAX);
		return;
	default:
		if (!c) {
			rest_error(resp, 500, "cannot place the call: %s", strerror(-ret));
			return;
		}
		rest_json(resp, 502,
		          json_pack("{s:{s:i, s:s}, s:o}", "error", "code", 502, "message",
		                    "cannot send the INVITE", "call", ue_call_json(c)));
		return;
	}
}

/* The call named by the first path argument, or NULL with resp set to 404. */
static struct ue_call *call_of(struct ue *ue, const struct rest_request *req,
                               struct rest_response *resp)
{
	struct ue_call *c = NULL;
	unsigned long long id;
	char *end;

	errno = 0;
	id = strtoull(req->args[0], &end, 10);
	if (!errno && !*end && req->args[0][0] >= '1' && req->args[0][0] <= '9')
		c = ue_call_by_id(ue, id);
	if (!c)
		rest_error(resp, 404, "no call %.32s", req->args[0]);
	return c;
}

void ue_rest_call_get(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct ue_call *c = call_of(app, req, resp);

	if (c)
		rest_json(resp, 200, ue_call_json(c));
}

static int act_answer(struct ue_call *c, json_t *body, struct rest_response *resp)
{
	return ue_uas_answer(c);
}

static int act_reject(struct ue_call *c, json_t *body, struct rest_response *resp)
{
	json_t *v = body ? json_object_get(body, "status") : NULL;
	json_int_t status = 603;

	if (v) {
		status = json_is_integer(v) ? json_integer_value(v) : 0;
		if (status < 300 || status > 699) {
			rest_error(resp, 400, "status: expected an integer from 300 to 699");
			return -EBADMSG;
		}
	}
	return ue_uas_reject(c, (int)status);
}

static int act_hold(struct ue_call *c, json_t *body, struct rest_response *resp)
{
	return ue_mid_hold(c, true);
}

static int act_resume(struct ue_call *c, json_t *body, struct rest_response *resp)
{
	return ue_mid_hold(c, false);
}

static int act_cancel(struct ue_call *c, json_t *body, struct rest_response *resp)
{
	return ue_uac_cancel(c);
}

/* Hang up whatever the state: CANCEL before the answer, a decline when ringing here,
 * BYE once confirmed. */
static int act_hangup(struct ue_call *c, json_t *body, struct rest_response *resp)
{
	if (c->state == UE_CALL_CONFIRMED || c->state == UE_CALL_TERMINATED)
		return ue_mid_bye(c);
	return c->outgoing ? ue_uac_cancel(c) : ue_uas_reject(c, 603);
}

static int act_update(struct ue_call *c, json_t *body, struct rest_response *resp)
{
	struct ue_codec codecs[UE_SDP_CODECS_MAX], saved[UE_SDP_CODECS_MAX];
	json_t *v = body ? json_object_get(body, "codecs") : NULL;
	unsigned n = 0, saved_n = c->n_codecs;
	int ret;

	if (v && parse_codecs(v, codecs, &n, resp) < 0)
		return -EBADMSG;
	memcpy(saved, c->codecs, sizeof(saved));
	if (n) {
		memcpy(c->codecs, codecs, n * sizeof(codecs[0]));
		c->n_codecs = n;
	}
	ret = ue_mid_update(c);
	if (ret < 0) {
		memcpy(c->codecs, saved, sizeof(saved));
		c->n_codecs = saved_n;
	}
	return ret;
}

static int act_info(struct ue_call *c, json_t *body, struct rest_response *resp)
{
	json_t *ct = body ? json_object_get(body, "content_type") : NULL;
	json_t *text = body ? json_object_get(body, "body") : NULL;

	if ((ct && !json_is_string(ct)) || (text && !json_is_string(text)) || (!ct != !text) ||
	    (ct && (strpbrk(json_string_value(ct), "\r\n") || json_string_length(text) > 1024))) {
		rest_error(resp, 400,
		           "content_type and body: both strings (body up to 1024 "
		           "bytes), or neither for a DTMF relay");
		return -EBADMSG;
	}
	return ue_mid_info(c, ct ? json_string_value(ct) : NULL,
	                   text ? json_string_value(text) : NULL);
}

/* POST /calls/{id}/<action>: a row per action. */
static const struct {
	const char *name;                                                        /* path segment */
	int (*act)(struct ue_call *c, json_t *body, struct rest_response *resp); /* does it */
} actions[] = {
    {"answer", act_answer}, {"reject", act_reject}, {"hold", act_hold},     {"resume", act_resume},
    {"hangup", act_hangup}, {"cancel", act_cancel}, {"update", act_update}, {"info", act_info},
};

void ue_rest_call_action(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct ue_call *c;
	int ret;

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(actions[i].name, req->args[1]) != 0)
			continue;
		if (!body_object(req, resp) || !(c = call_of(app, req, resp)))
			return;
		ret = actions[i].act(c, req->json, resp);
		if (ret == 0)
			rest_json(resp, 200, ue_call_json(c));
		else if (ret == -EBUSY)
			rest_error(resp, 409,
			           "call %llu: an offer/answer exchange or a request is in "
			           "progress",
			           (unsigned long long)c->id);
		else if (ret == -EINVAL || ret == -EALREADY)
			rest_error(resp, 409, "call %llu: cannot %s an %s call in state %s",
			           (unsigned long long)c->id, req->args[1],
			           c->outgoing ? "outgoing" : "incoming",
			           ue_call_state_name(c->state));
		else if (ret != -EBADMSG)
			rest_error(resp, 502, "call %llu: %s failed: %s", (unsigned long long)c->id,
			           req->args[1], strerror(-ret));
		return;
	}
	rest_error(resp, 404,
	           "unknown action %.32s (answer, reject, hold, resume, hangup, "
	           "cancel, update, info)",
	           req->args[1]);
}

void ue_rest_call_messages(void *app, const struct rest_request *req, struct rest_response *resp)
{
	struct ue *ue = app;
	json_t *a = json_array();

	for (const struct ue_page *pg = ue->pages; a && pg; pg = pg->next)
		json_array_append_new(a, ue_pager_json(pg));
	rest_json(resp, 200,
	          json_pack("{s:o, s:I}", "messages", a, "total", (json_int_t)ue->n_pages));
}

void ue_rest_call_send_message(void *app, const struct rest_request *req,
                               struct rest_response *resp)
{
	struct ue *ue = app;
	const char *target = NULL, *text = NULL, *ct = NULL, *key;
	struct ue_page *pg;
	size_t len = 0;
	json_t *v;
	int ret;

	if (!req->json || !json_is_object(req->json)) {
		rest_error(resp, 400, "body: expected {\"target\": ..., \"text\": ...}");
		return;
	}
	json_object_foreach(req->json, key, v)
	{
		if (!json_is_string(v) ||
		    (strcmp(key, "target") && strcmp(key, "text") && strcmp(key, "content_type"))) {
			rest_error(resp, 400,
			           "%.64s: unknown field or not a string (target, text, "
			           "content_type)",
			           key);
			return;
		}
		if (strcmp(key, "target") == 0)
			target = json_string_value(v);
		else if (strcmp(key, "content_type") == 0)
			ct = json_string_value(v);
		else {
			text = json_string_value(v);
			len = json_string_length(v);
		}
	}
	if (!target || !text) {
		rest_error(resp, 400, "target and text are required");
		return;
	}
	ret = ue_pager_send(ue, target, text, len, ct, &pg);
	if (ret == -ENOTCONN)
		rest_error(resp, 409, "not registered: POST /register first");
	else if (ret == -EINVAL)
		rest_error(resp, 400,
		           "target: expected a SIP or tel URI; content_type: a media type");
	else if (ret == -EMSGSIZE)
		rest_error(resp, 413, "text: at most %d bytes (RFC 3428 5)", UE_PAGER_TEXT_MAX);
	else if (ret < 0)
		rest_error(resp, 502, "cannot send the MESSAGE: %s", strerror(-ret));
	else if (ue_rest_wait_page(ue, req, pg->id) < 0)
		rest_json(resp, 202, ue_pager_json(pg));
}

static json_t *settings_json(const struct ue *ue)
{
	const struct ue_settings *s = &ue->settings;

	return json_pack("{s:b, s:o, s:I, s:b, s:o}", "auto_answer", (int)s->auto_answer,
	                 "auto_reject", s->auto_reject ? json_integer(s->auto_reject) : json_null(),
	                 "answer_delay_ms", (json_int_t)s->answer_delay_ms, "100rel",
	                 (int)s->prefer_100rel, "codecs", codec_names(s->codecs, s->n_codecs));
}

void ue_rest_call_settings(void *app, const struct rest_request *req, struct rest_response *resp)
{
	rest_json(resp, 200, settings_json(app));
}

/* One field of POST /settings into s. Returns 0 or -EINVAL with resp set. */
static int setting(struct ue_settings *s, const char *key, json_t *v, struct rest_response *resp)
{
	json_int_t n;

	if (strcmp(key, "auto_answer") == 0 && json_is_boolean(v)) {
		s->auto_answer = json_is_true(v);
	} else if (strcmp(key, "100rel") == 0 && json_is_boolean(v)) {
		s->prefer_100rel = json_is_true(v);
	} else if (strcmp(key, "auto_reject") == 0 && (json_is_null(v) || json_is_integer(v))) {
		n = json_is_null(v) ? 0 : json_integer_value(v);
		if (n != 0 && (n < 300 || n > 699)) {
			rest_error(resp, 400, "auto_reject: a status from 300 to 699, or null");
			return -EINVAL;
		}
		s->auto_reject = (int)n;
	} else if (strcmp(key, "answer_delay_ms") == 0 && json_is_integer(v)) {
		n = json_integer_value(v);
		if (n < 0 || n > 600000) {
			rest_error(resp, 400, "answer_delay_ms: from 0 to 600000");
			return -EINVAL;
		}
		s->answer_delay_ms = (uint32_t)n;
	} else if (strcmp(key, "codecs") == 0) {
		return parse_codecs(v, s->codecs, &s->n_codecs, resp);
	} else {
		rest_error(resp, 400,
		           "%.64s: unknown field or wrong type (auto_answer, 100rel: booleans; "
		           "auto_reject: status or null; answer_delay_ms: integer; codecs: names)",
		           key);
		return -EINVAL;
	}
	return 0;
}

void ue_rest_call_set_settings(void *app, const struct rest_request *req,
                               struct rest_response *resp)
{
	struct ue *ue = app;
	struct ue_settings s = ue->settings;
	const char *key;
	json_t *v;

	if (!req->json || !json_is_object(req->json)) {
		rest_error(resp, 400, "body: expected an object such as {\"auto_answer\": false}");
		return;
	}
	/* All fields are checked before any is applied. */
	json_object_foreach(req->json, key, v)
	{
		if (setting(&s, key, v, resp) < 0)
			return;
	}
	ue->settings = s;
	rest_json(resp, 200, settings_json(ue));
}

static void by_class(struct prom *p, const char *name, const char *help, const uint64_t *v)
{
	static const char *const classes[] = {"", "1xx", "2xx", "3xx", "4xx", "5xx", "6xx"};
	char labels[32];

	for (unsigned c = 3; c < 7; c++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "class", classes[c]);
		prom_counter(p, name, help, labels, v[c]);
	}
}

static void two_ways(struct prom *p, const char *name, const char *help, const char *label,
                     const char *a, uint64_t va, const char *b, uint64_t vb)
{
	char labels[48];

	labels[0] = '\0';
	prom_label(labels, sizeof(labels), label, a);
	prom_counter(p, name, help, labels, va);
	labels[0] = '\0';
	prom_label(labels, sizeof(labels), label, b);
	prom_counter(p, name, help, labels, vb);
}

void ue_rest_call_prom(struct ue *ue, struct prom *p)
{
	const struct ue_call_stats *s = &ue->cstats;

	prom_counter(p, "ue_calls_placed_total", "Initial INVITEs sent", NULL, s->placed);
	prom_counter(p, "ue_calls_received_total", "Initial INVITEs received", NULL, s->received);
	two_ways(p, "ue_calls_answered_total", "Calls answered with a 2xx", "direction", "outgoing",
	         s->answered_out, "incoming", s->answered_in);
	by_class(p, "ue_calls_failed_total", "Outgoing calls ended by a final non-2xx response",
	         s->failed);
	by_class(p, "ue_calls_rejected_total", "Incoming calls refused by this UE", s->rejected);
	prom_counter(p, "ue_calls_timeouts_total", "Calls ended by Timer B or a missing ACK", NULL,
	             s->timeouts);
	prom_counter(p, "ue_call_setup_ms_sum", "Sum of INVITE-to-2xx times of outgoing calls",
	             NULL, s->setup_ms_sum);
	prom_counter(p, "ue_call_setup_ms_count", "Outgoing calls in ue_call_setup_ms_sum", NULL,
	             s->setup_count);
	prom_gauge(p, "ue_calls_active", "Calls not terminated", NULL, ue_call_active(ue));
	prom_counter(p, "ue_reinvites_sent_total", "re-INVITEs sent (hold, resume)", NULL,
	             s->reinvites);
	prom_counter(p, "ue_updates_sent_total", "UPDATEs sent", NULL, s->updates);
	prom_counter(p, "ue_pracks_sent_total", "PRACKs sent", NULL, s->pracks);
	two_ways(p, "ue_byes_total", "BYE requests", "direction", "out", s->byes_sent, "in",
	         s->byes_received);
	two_ways(p, "ue_messages_total", "MESSAGE requests", "direction", "out",
	         ue->stats.messages_sent, "in", ue->stats.messages_received);
}
