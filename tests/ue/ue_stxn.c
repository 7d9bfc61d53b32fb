/* Server transactions of the test UE (RFC 3261 17.2): requests matched by top Via
 * branch, sent-by and method (17.2.3; ACK matches its INVITE), retransmitted requests
 * answered with the last response, the INVITE's non-2xx final retransmitted by Timer G
 * until its ACK (Timer H gives up, Timer I absorbs ACK copies), the Accepted state of
 * RFC 6026 after a 2xx, Timer J for non-INVITE. Responses go where RFC 3261 18.2.2 and
 * RFC 3581 4 say: the connection of a TCP request, else the source (rport) or the Via
 * port. */
#include "ue.h"

#include "log.h"
#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void stxn_free(struct ue_stxn *t)
{
	struct ue *ue = t->ue;

	for (struct ue_stxn **pp = &ue->stxns; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			ue->n_stxns--;
			break;
		}
	}
	loop_timer_cancel(ue->loop, t->timer_g);
	loop_timer_cancel(ue->loop, t->timer_end);
	sip_msg_free(t->req);
	free(t->rsp);
	free(t);
}

void ue_stxn_fini(struct ue *ue)
{
	while (ue->stxns)
		stxn_free(ue->stxns);
}

struct ue_stxn *ue_stxn_by_id(struct ue *ue, uint64_t id)
{
	for (struct ue_stxn *t = ue->stxns; id && t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static struct ue_stxn *find(struct ue *ue, const char *branch, const char *sent_by,
                            enum sip_method method, struct sip_span text)
{
	for (struct ue_stxn *t = ue->stxns; t; t = t->next) {
		if (t->method != method || strcmp(t->branch, branch) != 0 ||
		    strcmp(t->sent_by, sent_by) != 0)
			continue;
		if (method == SIP_OTHER && (strlen(t->method_text) != text.len ||
		                            memcmp(t->method_text, text.p, text.len)))
			continue;
		return t;
	}
	return NULL;
}

static void sent_by_of(const struct sip_via *via, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s:%u", via->host, (unsigned)(via->port ? via->port : 5060));
}

struct ue_stxn *ue_stxn_cancel_target(struct ue *ue, const struct ue_stxn *t)
{
	struct sip_span none = {NULL, 0};

	return find(ue, t->branch, t->sent_by, SIP_INVITE, none);
}

static void on_timer_end(struct loop *lp, void *arg)
{
	struct ue_stxn *t = arg;

	t->timer_end = 0;
	if (t->method == SIP_INVITE && t->status >= 300 && !t->acked)
		log_warn("no ACK for our %d to INVITE within %u ms (Timer H)", t->status,
		         64 * UE_SIP_T1);
	stxn_free(t);
}

static void on_timer_g(struct loop *lp, void *arg)
{
	struct ue_stxn *t = arg;

	t->timer_g = 0;
	if (t->acked)
		return;
	sip_transport_send(t->ue->sip, t->proto, &t->dst, t->conn_id, t->rsp, t->rsp_len);
	/* 17.2.1: Timer G doubles up to T2. */
	t->g_interval = t->g_interval * 2 < UE_SIP_T2 ? t->g_interval * 2 : UE_SIP_T2;
	t->timer_g = loop_timer_add(lp, t->g_interval, on_timer_g, t);
}

/* Ends t after ms (0: at the next loop turn, so the caller may still use t now). */
static void end_after(struct ue_stxn *t, uint32_t ms)
{
	loop_timer_cancel(t->ue->loop, t->timer_end);
	t->timer_end = loop_timer_add(t->ue->loop, ms, on_timer_end, t);
	if (!t->timer_end)
		log_warn("cannot arm a server transaction timer: it lives until exit");
}

/* 17.2.1: the ACK of our non-2xx final: Confirmed, then Timer I absorbs its copies. */
static void acked(struct ue_stxn *t)
{
	if (t->acked)
		return;
	t->acked = true;
	loop_timer_cancel(t->ue->loop, t->timer_g);
	t->timer_g = 0;
	end_after(t, t->proto == SIP_PROTO_UDP ? UE_SIP_T4 : 0);
}

/* 18.2.2 and RFC 3581 4: a UDP response goes to the source when rport was asked, else
 * to the source address and the Via port (5060 by default). */
static void reply_addr(const struct sip_via *via, const struct sip_packet *p,
                       struct sockaddr_in *dst)
{
	*dst = p->src;
	if (via->rport || p->proto == SIP_PROTO_TCP)
		return;
	dst->sin_port = htons(via->port ? via->port : 5060);
}

int ue_stxn_receive(struct ue *ue, struct sip_msg **req, const struct sip_packet *p,
                    struct ue_stxn **out)
{
	enum sip_method m = sip_msg_method(*req);
	struct sip_span text = sip_msg_method_text(*req);
	char sent_by[SIP_HOST_MAX + 8];
	struct sip_via via;
	struct ue_stxn *t;

	*out = NULL;
	if (sip_msg_top_via(*req, &via) < 0)
		return -EBADMSG;
	sent_by_of(&via, sent_by, sizeof(sent_by));
	/* 17.2.3: only RFC 3261 branches identify transactions; others never match. */
	t = strncmp(via.branch, "z9hG4bK", 7) == 0
	        ? find(ue, via.branch, sent_by, m == SIP_ACK ? SIP_INVITE : m, text)
	        : NULL;
	if (m == SIP_ACK) {
		if (!t || t->status < 300)
			return 0; /* the ACK of a 2xx is the TU's (13.3.1.4) */
		acked(t);
		return 1;
	}
	if (t) {
		/* RFC 6026 8.7: in Accepted the copies are absorbed (the TU resends the 2xx);
		 * otherwise the last response goes again (17.2.1, 17.2.2). */
		if (t->rsp && !(t->method == SIP_INVITE && t->status >= 200 && t->status < 300))
			sip_transport_send(ue->sip, t->proto, &t->dst, t->conn_id, t->rsp,
			                   t->rsp_len);
		return 1;
	}
	if (ue->n_stxns >= UE_STXN_MAX || text.len >= sizeof(t->method_text))
		return -EAGAIN;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->ue = ue;
	t->id = ++ue->next_stxn_id;
	snprintf(t->branch, sizeof(t->branch), "%s", via.branch);
	snprintf(t->sent_by, sizeof(t->sent_by), "%s", sent_by);
	t->method = m;
	memcpy(t->method_text, text.p, text.len);
	t->proto = p->proto;
	t->conn_id = p->conn_id;
	reply_addr(&via, p, &t->dst);
	t->req = *req;
	*req = NULL;
	t->next = ue->stxns;
	ue->stxns = t;
	ue->n_stxns++;
	*out = t;
	return 0;
}

int ue_stxn_send(struct ue_stxn *t, int status, const char *rsp, size_t len)
{
	char *copy;
	int ret;

	if (t->status >= 200)
		return -EALREADY;
	copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, rsp, len);
	free(t->rsp);
	t->rsp = copy;
	t->rsp_len = len;
	t->status = status;
	ret = sip_transport_send(t->ue->sip, t->proto, &t->dst, t->conn_id, rsp, len);
	if (ret < 0)
		log_warn("cannot send our %d: %s", status, strerror(-ret));
	if (status < 200)
		return ret;
	if (t->method != SIP_INVITE) {
		/* 17.2.2: Timer J (64*T1 over UDP, zero over TCP). */
		end_after(t, t->proto == SIP_PROTO_UDP ? 64 * UE_SIP_T1 : 0);
	} else if (status < 300) {
		/* RFC 6026 8.7: Accepted absorbs INVITE copies for 64*T1; the TU retransmits
		 * the 2xx itself. */
		end_after(t, 64 * UE_SIP_T1);
	} else {
		/* 17.2.1: Completed: Timer G (UDP) until the ACK, Timer H gives up. */
		if (t->proto == SIP_PROTO_UDP) {
			t->g_interval = UE_SIP_T1;
			t->timer_g = loop_timer_add(t->ue->loop, t->g_interval, on_timer_g, t);
		}
		end_after(t, 64 * UE_SIP_T1);
	}
	return ret;
}

int ue_stxn_reply(struct ue_stxn *t, int status, const char *reason, const char *to_tag,
                  const char *extra)
{
	char out[UE_SIP_MSG_MAX];
	ssize_t n =
	    ue_msg_response(t->req, status, reason, to_tag, extra, NULL, NULL, 0, out, sizeof(out));

	if (n < 0) {
		log_warn("cannot build a %d response: %s", status, strerror((int)-n));
		return (int)n;
	}
	return ue_stxn_send(t, status, out, (size_t)n);
}
