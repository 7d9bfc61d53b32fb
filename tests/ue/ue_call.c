/* The test UE's calls: the table (active calls bounded, the last terminated ones kept
 * for inspection), their offer/answer state (RFC 3264 4: one exchange at a time, an
 * answer to every offer; RFC 3261 13.2.1: an answer in an unreliable provisional is a
 * preview), the session versions of RFC 3264 8, the message log and the JSON view. */
#include "ue.h"

#include "log.h"
#include "loop.h"
#include "topo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds from 1900 (NTP era) to 1970: SDP session ids are NTP times (RFC 4566 5.2). */
#define NTP_UNIX_OFFSET UINT64_C(2208988800)

const char *ue_call_state_name(enum ue_call_state s)
{
	static const char *const names[] = {"calling", "ringing", "early", "confirmed",
	                                    "terminated"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void ue_call_defaults(struct ue *ue)
{
	static const char *const names[] = {"PCMU", "PCMA", "telephone-event"};
	struct ue_settings *s = &ue->settings;

	memset(s, 0, sizeof(*s));
	s->auto_answer = ue->node->auto_answer;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ue_sdp_codec(names[i], &s->codecs[s->n_codecs]) == 0)
			s->n_codecs++;
}

unsigned ue_call_active(const struct ue *ue)
{
	unsigned n = 0;

	for (const struct ue_call *c = ue->calls; c; c = c->next)
		n += c->state != UE_CALL_TERMINATED;
	return n;
}

static void stop_timers(struct ue_call *c)
{
	struct loop *lp = c->ue->loop;

	loop_timer_cancel(lp, c->t_rel);
	loop_timer_cancel(lp, c->t_rel_giveup);
	loop_timer_cancel(lp, c->t_answer);
	loop_timer_cancel(lp, c->t_ok);
	loop_timer_cancel(lp, c->t_ok_giveup);
	loop_timer_cancel(lp, c->t_retry);
	c->t_rel = c->t_rel_giveup = c->t_answer = c->t_ok = c->t_ok_giveup = c->t_retry = 0;
}

static void call_free(struct ue_call *c)
{
	stop_timers(c);
	free(c->cancel_msg);
	free(c->ack_msg);
	free(c->rel_msg);
	free(c->ok_msg);
	free(c);
}

static void unlink_call(struct ue *ue, struct ue_call *c)
{
	for (struct ue_call **pp = &ue->calls; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			ue->n_calls--;
			return;
		}
	}
}

/* Forgets the oldest terminated calls so at most UE_CALLS_KEPT - 1 remain. */
static void forget_old(struct ue *ue)
{
	unsigned terminated = ue->n_calls - ue_call_active(ue);

	while (terminated >= UE_CALLS_KEPT) {
		struct ue_call *c = ue->calls;

		while (c && c->state != UE_CALL_TERMINATED)
			c = c->next;
		if (!c)
			return;
		unlink_call(ue, c);
		call_free(c);
		terminated--;
	}
}

struct ue_call *ue_call_new(struct ue *ue, bool outgoing)
{
	struct ue_call *c, **pp;

	if (ue_call_active(ue) >= UE_CALLS_ACTIVE_MAX) {
		errno = EAGAIN;
		return NULL;
	}
	forget_old(ue);
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->ue = ue;
	c->id = ++ue->next_call_id;
	c->outgoing = outgoing;
	c->state = UE_CALL_CALLING;
	c->created_ms = loop_now(ue->loop);
	c->wall_ms = wall_ms();
	memcpy(c->codecs, ue->settings.codecs, sizeof(c->codecs));
	c->n_codecs = ue->settings.n_codecs;
	/* RFC 4566 5.2 suggests an NTP timestamp; the id keeps calls of one second apart. */
	c->sess_id = c->wall_ms / 1000 + NTP_UNIX_OFFSET + c->id;
	/* RTP ports are even (RFC 3550 11); nothing is sent to them, they only have to
	 * differ between calls. */
	c->rtp_port = (uint16_t)(20000 + 2 * (c->id % 10000));
	for (pp = &ue->calls; *pp; pp = &(*pp)->next)
		;
	*pp = c;
	ue->n_calls++;
	return c;
}

void ue_call_fini(struct ue *ue)
{
	while (ue->calls) {
		struct ue_call *c = ue->calls;

		ue->calls = c->next;
		call_free(c);
	}
	ue->n_calls = 0;
}

struct ue_call *ue_call_by_id(struct ue *ue, uint64_t id)
{
	for (struct ue_call *c = ue->calls; c; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

struct ue_call *ue_call_by_request(struct ue *ue, const struct sip_msg *req)
{
	struct ue_call *found = NULL;

	/* The newest match wins: a terminated call may share a Call-ID with none, but
	 * prefer live dialogs anyway. */
	for (struct ue_call *c = ue->calls; c; c = c->next)
		if (c->dlg.call_id[0] && ue_dialog_matches(&c->dlg, req))
			found = c;
	return found;
}

struct ue_call *ue_call_by_response(struct ue *ue, const struct sip_msg *rsp)
{
	struct sip_span id = sip_msg_call_id(rsp);
	char tag[SIP_TOKEN_MAX];

	if (sip_msg_from_tag(rsp, tag, sizeof(tag)) < 0)
		return NULL;
	for (struct ue_call *c = ue->calls; c; c = c->next)
		if (c->outgoing && strlen(c->dlg.call_id) == id.len &&
		    memcmp(c->dlg.call_id, id.p, id.len) == 0 && strcmp(c->dlg.local_tag, tag) == 0)
			return c;
	return NULL;
}

void ue_call_set_state(struct ue_call *c, enum ue_call_state state)
{
	if (c->state == UE_CALL_TERMINATED || c->state == state)
		return;
	log_info("call %" PRIu64 ": %s -> %s", c->id, ue_call_state_name(c->state),
	         ue_call_state_name(state));
	c->state = state;
	if (state == UE_CALL_CONFIRMED && !c->confirmed_ms)
		c->confirmed_ms = loop_now(c->ue->loop);
}

void ue_call_end(struct ue_call *c, int status, const char *reason, const char *why, bool local)
{
	if (status) {
		c->last_status = status;
		snprintf(c->last_reason, sizeof(c->last_reason), "%s",
		         reason ? reason : sip_msg_reason_phrase(status));
	}
	if (c->state == UE_CALL_TERMINATED)
		return;
	stop_timers(c);
	snprintf(c->end_reason, sizeof(c->end_reason), "%s", why);
	c->ended_local = local;
	c->ended_ms = loop_now(c->ue->loop);
	c->op = UE_CALL_OP_NONE;
	log_info("call %" PRIu64 " ended: %s, by the %s side (last status %d %s)", c->id, why,
	         local ? "local" : "remote", c->last_status, c->last_reason);
	c->state = UE_CALL_TERMINATED;
}

void ue_call_logf(struct ue_call *c, bool out, const char *fmt, ...)
{
	struct ue_call_event *e;
	va_list ap;

	if (c->n_events == UE_CALL_EVENTS_MAX) {
		c->events_dropped++;
		return;
	}
	e = &c->events[c->n_events++];
	e->at_ms = (uint32_t)(loop_now(c->ue->loop) - c->created_ms);
	e->out = out;
	va_start(ap, fmt);
	vsnprintf(e->what, sizeof(e->what), fmt, ap);
	va_end(ap);
}

void ue_call_log(struct ue_call *c, bool out, const struct sip_msg *m, const char *note)
{
	struct sip_span method;
	const char *sdp = ue_msg_sdp(m).len ? " +sdp" : "";
	const char *rel = sip_msg_header(m, "RSeq", &(size_t){0}) ? " +100rel" : "";
	uint32_t num;

	sip_msg_cseq(m, &num, &method);
	if (sip_msg_is_request(m))
		ue_call_logf(c, out, "%.*s %u%s%s%s", (int)method.len, method.p, num, sdp,
		             note ? " " : "", note ? note : "");
	else
		ue_call_logf(c, out, "%d %.*s %u%s%s%s%s", sip_msg_status(m), (int)method.len,
		             method.p, num, sdp, rel, note ? " " : "", note ? note : "");
}

/* ---- offer/answer ---- */

enum ue_dir ue_call_want(const struct ue_call *c)
{
	return c->local_hold ? UE_DIR_SENDONLY : UE_DIR_SENDRECV;
}

static void origin_of(const struct ue_call *c, struct ue_sdp_origin *o)
{
	o->user = c->ue->user;
	o->sess_id = c->sess_id;
	o->version = c->sdp_version;
	o->addr = c->ue->node->address;
	o->port = c->rtp_port;
}

/* RFC 3264 8: a new SDP that changes anything carries the next version; an unchanged
 * one repeats the version of the last. Writes s (version set) into body. */
static ssize_t write_versioned(struct ue_call *c, struct ue_sdp *s, char *body, size_t size)
{
	char prev[UE_SDP_MAX];
	ssize_t n, m;

	s->version = c->sdp_version;
	n = ue_sdp_write(s, body, size);
	if (n < 0)
		return n;
	if (c->has_local && c->sdp_version) {
		m = ue_sdp_write(&c->local, prev, sizeof(prev));
		if (m == n && memcmp(prev, body, (size_t)n) == 0)
			return n;
	}
	s->version = ++c->sdp_version;
	return ue_sdp_write(s, body, size);
}

ssize_t ue_call_offer(struct ue_call *c, enum ue_dir dir, char *body, size_t size)
{
	struct ue_sdp_origin o;
	ssize_t n;
	int ret;

	origin_of(c, &o);
	ret = ue_sdp_offer(&o, c->codecs, c->n_codecs, dir, &c->pending);
	if (ret < 0)
		return ret;
	n = write_versioned(c, &c->pending, body, size);
	if (n < 0)
		return n;
	c->oa = UE_OA_SENT;
	c->preview = false;
	return n;
}

void ue_call_offer_failed(struct ue_call *c)
{
	if (c->oa != UE_OA_SENT)
		return;
	c->oa = UE_OA_IDLE;
	/* A preview answer to an offer that is gone means nothing. */
	if (c->preview)
		c->has_remote = false;
	c->preview = false;
}

/* Takes the answer to our pending offer. */
static int take_answer(struct ue_call *c, const struct ue_sdp *sdp, bool reliable)
{
	if (ue_sdp_check_answer(&c->pending, sdp) < 0)
		return -EPROTO;
	c->remote = *sdp;
	c->has_remote = true;
	if (!reliable) {
		c->preview = true;
		return UE_SDP_IN_PREVIEW;
	}
	c->local = c->pending;
	c->has_local = true;
	c->oa = UE_OA_IDLE;
	c->preview = false;
	return UE_SDP_IN_ANSWER;
}

int ue_call_sdp_in(struct ue_call *c, const struct sip_msg *m, bool reliable)
{
	struct sip_span body = ue_msg_sdp(m);
	struct ue_sdp_origin o;
	struct ue_sdp sdp;
	int ret;

	if (body.len == 0)
		return UE_SDP_IN_NONE;
	ret = ue_sdp_parse(body.p, body.len, &sdp);
	if (ret < 0)
		return -EBADMSG;
	if (c->oa == UE_OA_SENT)
		return take_answer(c, &sdp, reliable);
	/* RFC 3264 4: an offer waits for its answer; a second SDP meanwhile is not one. */
	if (c->oa == UE_OA_RECEIVED || !reliable)
		return UE_SDP_IN_IGNORED;
	origin_of(c, &o);
	ret = ue_sdp_answer(&sdp, &o, c->codecs, c->n_codecs, ue_call_want(c), &c->pending);
	if (ret < 0) {
		/* Kept for ue_call_refusal, where refusing takes an answer. */
		ue_sdp_reject(&sdp, &o, &c->pending);
		return ret;
	}
	c->offer_in = sdp;
	c->oa = UE_OA_RECEIVED;
	return UE_SDP_IN_OFFER;
}

ssize_t ue_call_answer(struct ue_call *c, char *body, size_t size)
{
	ssize_t n;

	if (c->oa != UE_OA_RECEIVED)
		return -EINVAL;
	n = write_versioned(c, &c->pending, body, size);
	if (n < 0)
		return n;
	c->local = c->pending;
	c->has_local = true;
	c->remote = c->offer_in;
	c->has_remote = true;
	c->oa = UE_OA_IDLE;
	return n;
}

ssize_t ue_call_refusal(struct ue_call *c, char *body, size_t size)
{
	return write_versioned(c, &c->pending, body, size);
}

/* ---- JSON ---- */

static json_t *codecs_json(const struct ue_codec *codecs, unsigned n)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < n; i++)
		json_array_append_new(a, ue_rest_str(codecs[i].name[0] ? codecs[i].name : "?"));
	return a;
}

static json_t *sdp_json(const struct ue_sdp *s)
{
	const struct ue_sdp_media *m = ue_sdp_audio(s);

	if (!m)
		return json_pack("{s:[], s:s, s:I, s:I}", "codecs", "direction", "inactive", "port",
		                 (json_int_t)0, "version", (json_int_t)s->version);
	return json_pack("{s:o, s:s, s:o, s:I, s:I}", "codecs", codecs_json(m->codecs, m->n_codecs),
	                 "direction", ue_sdp_dir_name(m->dir), "address", ue_rest_str(m->addr),
	                 "port", (json_int_t)m->port, "version", (json_int_t)s->version);
}

bool ue_call_remote_hold(const struct ue_call *c)
{
	const struct ue_sdp_media *m = c->has_remote ? ue_sdp_audio(&c->remote) : NULL;

	return m && !(m->dir & UE_DIR_RECVONLY);
}

static json_t *negotiated_json(const struct ue_call *c)
{
	struct ue_codec codecs[UE_SDP_CODECS_MAX];
	enum ue_dir dir;
	unsigned n;

	if (!c->has_local || !c->has_remote ||
	    ue_sdp_negotiated(&c->local, &c->remote, codecs, &n, &dir) < 0)
		return NULL;
	return json_pack("{s:o, s:s}", "codecs", codecs_json(codecs, n), "direction",
	                 ue_sdp_dir_name(dir));
}

static json_t *session_json(const struct ue_call *c)
{
	static const char *const oa[] = {"idle", "offer_sent", "offer_received"};

	return json_pack("{s:s, s:o?, s:o?, s:b}", "state", oa[c->oa], "local",
	                 c->has_local ? sdp_json(&c->local) : NULL, "remote",
	                 c->has_remote ? sdp_json(&c->remote) : NULL, "preview", (int)c->preview);
}

/* Dialog fields (RFC 3261 12): identifiers, URIs, route set, CSeqs. */
static void dialog_json(json_t *j, const struct ue_call *c)
{
	const struct ue_dialog *d = &c->dlg;
	json_t *routes = json_array();

	for (size_t i = 0; routes && i < d->n_routes; i++)
		json_array_append_new(routes, ue_rest_str(d->routes[i]));
	json_object_set_new(j, "call_id", ue_rest_str(d->call_id));
	json_object_set_new(j, "local_tag", ue_rest_str(d->local_tag));
	json_object_set_new(j, "remote_tag",
	                    d->remote_tag[0] ? ue_rest_str(d->remote_tag) : json_null());
	json_object_set_new(j, "local_uri", ue_rest_str(d->local_uri));
	json_object_set_new(j, "remote_uri", ue_rest_str(d->remote_uri));
	json_object_set_new(j, "remote_target", ue_rest_str(d->remote_target));
	json_object_set_new(j, "route_set", routes);
	json_object_set_new(
	    j, "cseq",
	    json_pack("{s:I, s:o}", "local", (json_int_t)d->local_cseq, "remote",
	              d->has_remote_cseq ? json_integer((json_int_t)d->remote_cseq) : json_null()));
}

static json_t *events_json(const struct ue_call *c)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < c->n_events; i++)
		json_array_append_new(a, json_pack("{s:I, s:s, s:o}", "t_ms",
		                                   (json_int_t)c->events[i].at_ms, "dir",
		                                   c->events[i].out ? "out" : "in", "what",
		                                   ue_rest_str(c->events[i].what)));
	return a;
}

static const char *op_name(enum ue_call_op op)
{
	static const char *const names[] = {NULL, "reinvite", "update", "bye"};

	return names[op];
}

json_t *ue_call_json(const struct ue_call *c)
{
	uint64_t now = loop_now(c->ue->loop), end = c->ended_ms ? c->ended_ms : now;
	json_t *j, *media = negotiated_json(c);

	j = json_pack("{s:I, s:s, s:s, s:o, s:o?}", "id", (json_int_t)c->id, "direction",
	              c->outgoing ? "outgoing" : "incoming", "state", ue_call_state_name(c->state),
	              "peer", ue_rest_str(c->peer), "asserted_identity",
	              c->identity[0] ? ue_rest_str(c->identity) : NULL);
	if (!j) {
		json_decref(media);
		return NULL;
	}
	dialog_json(j, c);
	json_object_set_new(j, "offer_in_invite", json_boolean(c->offer_in_invite));
	json_object_set_new(j, "100rel", json_boolean(c->rel100_used));
	/* What the exchanges settled, from our side (null before the first one ends). */
	json_object_set_new(j, "media", media ? media : json_null());
	json_object_set_new(j, "hold",
	                    json_pack("{s:b, s:b}", "local", (int)c->local_hold, "remote",
	                              (int)ue_call_remote_hold(c)));
	json_object_set_new(j, "sdp", session_json(c));
	json_object_set_new(j, "pending",
	                    op_name(c->op) ? json_string(op_name(c->op)) : json_null());
	json_object_set_new(j, "last_status",
	                    c->last_status ? json_integer(c->last_status) : json_null());
	json_object_set_new(j, "last_reason",
	                    c->last_status ? ue_rest_str(c->last_reason) : json_null());
	json_object_set_new(
	    j, "last_request",
	    c->op_status ? json_pack("{s:s, s:i}", "method", c->op_method, "status", c->op_status)
	                 : json_null());
	json_object_set_new(j, "end_reason",
	                    c->end_reason[0] ? ue_rest_str(c->end_reason) : json_null());
	json_object_set_new(j, "ended_by",
	                    c->state == UE_CALL_TERMINATED
	                        ? json_string(c->ended_local ? "local" : "remote")
	                        : json_null());
	json_object_set_new(j, "created", json_integer((json_int_t)c->wall_ms));
	json_object_set_new(j, "setup_time_ms",
	                    c->confirmed_ms
	                        ? json_integer((json_int_t)(c->confirmed_ms - c->created_ms))
	                        : json_null());
	json_object_set_new(
	    j, "duration_ms",
	    json_integer(c->confirmed_ms ? (json_int_t)(end - c->confirmed_ms) : 0));
	json_object_set_new(j, "age_ms", json_integer((json_int_t)(now - c->created_ms)));
	json_object_set_new(j, "events", events_json(c));
	if (c->events_dropped)
		json_object_set_new(j, "events_dropped", json_integer(c->events_dropped));
	return j;
}
