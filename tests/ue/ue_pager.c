/* Pager-mode instant messages (RFC 3428): MESSAGE sent outside any dialog along the
 * P-CSCF and the Service-Route (TS 24.229 5.1.2A.1), its outcome reported to REST;
 * MESSAGE received (in a dialog or not) answered 200 and kept. The last UE_PAGER_KEPT
 * records, sent and received, are listed by GET /messages. */
#include "ue.h"

#include "log.h"
#include "loop.h"
#include "topo.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A new record at the end of the list; the oldest finished one goes beyond the bound. */
static struct ue_page *page_new(struct ue *ue, bool out)
{
	struct ue_page *pg, **pp;

	if (ue->n_pages >= UE_PAGER_KEPT) {
		for (pp = &ue->pages; *pp; pp = &(*pp)->next) {
			if (!(*pp)->out || (*pp)->status) {
				pg = *pp;
				*pp = pg->next;
				free(pg);
				ue->n_pages--;
				break;
			}
		}
	}
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return NULL;
	pg->id = ++ue->next_page_id;
	pg->out = out;
	pg->wall_ms = wall_ms();
	for (pp = &ue->pages; *pp; pp = &(*pp)->next)
		;
	*pp = pg;
	ue->n_pages++;
	return pg;
}

void ue_pager_fini(struct ue *ue)
{
	while (ue->pages) {
		struct ue_page *pg = ue->pages;

		ue->pages = pg->next;
		free(pg);
	}
	ue->n_pages = 0;
}

struct ue_page *ue_pager_by_id(struct ue *ue, uint64_t id)
{
	for (struct ue_page *pg = ue->pages; pg; pg = pg->next)
		if (pg->id == id)
			return pg;
	return NULL;
}

static void on_result(struct ue *ue, uint64_t txn, uint64_t cookie, const struct sip_msg *rsp,
                      int status)
{
	struct ue_page *pg = ue_pager_by_id(ue, cookie);
	struct sip_span reason;

	if (!pg)
		return;
	pg->status = status;
	if (rsp) {
		reason = sip_msg_reason(rsp);
		snprintf(pg->reason, sizeof(pg->reason), "%.*s", (int)reason.len, reason.p);
	} else {
		snprintf(pg->reason, sizeof(pg->reason), "no response (Timer F)");
	}
	log_info("MESSAGE %" PRIu64 " to %s: %d %s", pg->id, pg->peer, status, pg->reason);
	ue_rest_page_done(ue, pg);
}

/* Content types and targets must fit a header line. */
static bool header_safe(const char *s, size_t max)
{
	return s && s[0] && strlen(s) < max && !strpbrk(s, "\r\n<>\"");
}

int ue_pager_send(struct ue *ue, const char *target, const char *text, size_t len,
                  const char *content_type, struct ue_page **out)
{
	char route[UE_URI_MAX], tag[CODEC_HEX_SIZE(8)], id[CODEC_HEX_SIZE(16) + 64],
	    branch[UE_SIP_BRANCH_MAX], to[UE_URI_MAX + 2], from[sizeof(ue->impu) + 2];
	struct ue_req *r;
	struct ue_page *pg;
	struct sip_uri u;
	char *msg;
	ssize_t n;
	int ret;

	*out = NULL;
	if (!ue->no_reg_check && ue->reg.state != UE_REG_REGISTERED)
		return -ENOTCONN;
	if (!content_type)
		content_type = "text/plain";
	if (!header_safe(target, UE_URI_MAX) || !header_safe(content_type, 64) ||
	    sip_msg_uri_parse(target, strlen(target), &u) < 0)
		return -EINVAL;
	if (len > UE_PAGER_TEXT_MAX)
		return -EMSGSIZE;
	if (ue_sip_token(tag, sizeof(tag), 8) < 0 || ue_sip_token(id, 33, 16) < 0 ||
	    ue_sip_branch(branch) < 0)
		return -EIO;
	snprintf(id + 32, sizeof(id) - 32, "@%s", ue->node->address);
	snprintf(to, sizeof(to), "<%s>", target);
	snprintf(from, sizeof(from), "<%s>", ue->impu);
	r = calloc(1, sizeof(*r));
	msg = malloc(UE_SIP_MSG_MAX);
	ret = -ENOMEM;
	if (!r || !msg)
		goto out_free;
	/* RFC 3428 4: a MESSAGE outside a dialog, with the initial request's Route set. */
	ue_uac_routes(ue, r, route, sizeof(route));
	r->method = "MESSAGE";
	r->ruri = target;
	r->proto = ue->proto;
	r->via_host = ue->node->address;
	r->via_port = ue->node->sip_port;
	r->branch = branch;
	r->from = from;
	r->from_tag = tag;
	r->to = to;
	r->call_id = id;
	r->cseq = 1;
	r->content_type = content_type;
	r->body = text;
	r->body_len = len;
	n = ue_msg_request(r, msg, UE_SIP_MSG_MAX);
	ret = (int)n;
	if (n < 0)
		goto out_free;
	pg = page_new(ue, true);
	if (!pg) {
		ret = -ENOMEM;
		goto out_free;
	}
	snprintf(pg->peer, sizeof(pg->peer), "%s", target);
	snprintf(pg->content_type, sizeof(pg->content_type), "%s", content_type);
	memcpy(pg->text, text, len);
	pg->text_len = len;
	ret = ue_sip_request(ue, NULL, branch, "MESSAGE", msg, (size_t)n, on_result, pg->id,
	                     &pg->txn);
	if (ret < 0) {
		pg->status = 503;
		snprintf(pg->reason, sizeof(pg->reason), "cannot send: %s", strerror(-ret));
		goto out_free;
	}
	ue->stats.messages_sent++;
	*out = pg;
out_free:
	free(msg);
	free(r);
	return ret;
}

void ue_pager_on_message(struct ue *ue, struct ue_stxn *t, bool in_dialog)
{
	char tag[CODEC_HEX_SIZE(8)], to_tag[SIP_TOKEN_MAX];
	struct sip_span body = sip_msg_body(t->req);
	struct sip_addr from, pai;
	struct ue_page *pg;
	size_t len;
	const char *ct = sip_msg_header(t->req, "Content-Type", &len);
	bool has_tag = sip_msg_to_tag(t->req, to_tag, sizeof(to_tag)) == 0;

	if (ue_sip_token(tag, sizeof(tag), 8) < 0)
		return;
	ue->stats.messages_received++;
	/* RFC 3428 7: the recipient answers 200 (a final response, never 202 here). */
	ue_stxn_reply(t, 200, NULL, has_tag ? NULL : tag, NULL);
	pg = page_new(ue, false);
	if (!pg)
		return;
	if (sip_msg_from(t->req, &from) == 0)
		snprintf(pg->peer, sizeof(pg->peer), "%.*s", (int)from.uri.len, from.uri.p);
	if (sip_msg_nameaddr(t->req, "P-Asserted-Identity", 0, &pai) == 0)
		snprintf(pg->identity, sizeof(pg->identity), "%.*s", (int)pai.uri.len, pai.uri.p);
	if (ct)
		snprintf(pg->content_type, sizeof(pg->content_type), "%.*s", (int)len, ct);
	pg->text_len = body.len < UE_PAGER_TEXT_MAX ? body.len : UE_PAGER_TEXT_MAX;
	memcpy(pg->text, body.p, pg->text_len);
	pg->in_dialog = in_dialog;
	pg->status = 200;
	log_info("MESSAGE %" PRIu64 " from %s (%zu bytes)", pg->id, pg->peer, body.len);
}

json_t *ue_pager_json(const struct ue_page *pg)
{
	json_t *j = json_pack("{s:I, s:s, s:o, s:o, s:o, s:b, s:I}", "id", (json_int_t)pg->id,
	                      "direction", pg->out ? "out" : "in", pg->out ? "to" : "from",
	                      ue_rest_str(pg->peer), "content_type", ue_rest_str(pg->content_type),
	                      "text", ue_rest_strn(pg->text, pg->text_len), "in_dialog",
	                      (int)pg->in_dialog, "time", (json_int_t)pg->wall_ms);

	if (!j)
		return NULL;
	if (pg->identity[0])
		json_object_set_new(j, "asserted_identity", ue_rest_str(pg->identity));
	if (pg->out) {
		json_object_set_new(j, "status",
		                    pg->status ? json_integer(pg->status) : json_null());
		json_object_set_new(j, "reason",
		                    pg->status ? ue_rest_str(pg->reason) : json_null());
	}
	return j;
}
