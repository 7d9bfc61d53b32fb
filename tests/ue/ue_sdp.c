/* SDP for the test UE: parsing and writing session descriptions (RFC 4566) and the
 * offer/answer model (RFC 3264): offers from a codec list, answers that intersect the
 * offered formats with ours and mirror the offered direction (6.1), the negotiated
 * result of an exchange. Pure functions: no I/O, no state but what the caller passes. */
#include "ue.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest SDP line examined (longer ones are malformed for this UE). */
#define LINE_MAX_LEN 1024

/* The codecs the UE can be configured with and how it offers them. Static payload
 * types per RFC 3551 6; dynamic ones are the customary values. */
static const struct ue_codec known_codecs[] = {
    {0, "PCMU", 8000, 1, ""},
    {8, "PCMA", 8000, 1, ""},
    {9, "G722", 8000, 1, ""},
    {18, "G729", 8000, 1, "annexb=no"},
    {3, "GSM", 8000, 1, ""},
    {96, "AMR", 8000, 1, "octet-align=1"},
    {97, "AMR-WB", 16000, 1, "octet-align=1"},
    {101, "telephone-event", 8000, 1, "0-16"},
};

/* RFC 3551 table 4: static audio payload types an m-line may use without rtpmap. */
static const struct ue_codec static_types[] = {
    {0, "PCMU", 8000, 1, ""},  {3, "GSM", 8000, 1, ""},  {4, "G723", 8000, 1, ""},
    {8, "PCMA", 8000, 1, ""},  {9, "G722", 8000, 1, ""}, {15, "G728", 8000, 1, ""},
    {18, "G729", 8000, 1, ""},
};

int ue_sdp_codec(const char *name, struct ue_codec *out)
{
	for (size_t i = 0; i < sizeof(known_codecs) / sizeof(known_codecs[0]); i++) {
		if (strcasecmp(known_codecs[i].name, name) == 0) {
			*out = known_codecs[i];
			return 0;
		}
	}
	return -ENOENT;
}

bool ue_sdp_codec_same(const struct ue_codec *a, const struct ue_codec *b)
{
	return a->name[0] && strcasecmp(a->name, b->name) == 0 && a->rate == b->rate &&
	       (a->channels ? a->channels : 1) == (b->channels ? b->channels : 1);
}

/* telephone-event (RFC 4733) carries DTMF, not the voice: it alone makes no session. */
static bool is_dtmf(const struct ue_codec *c)
{
	return strcasecmp(c->name, "telephone-event") == 0;
}

enum ue_dir ue_sdp_dir_mirror(enum ue_dir d)
{
	return (enum ue_dir)(((d & UE_DIR_SENDONLY) << 1) | ((d & UE_DIR_RECVONLY) >> 1));
}

const char *ue_sdp_dir_name(enum ue_dir d)
{
	static const char *const names[] = {"inactive", "sendonly", "recvonly", "sendrecv"};

	return names[d & 3];
}

/* The direction attribute named by an a= line, or -1. */
static int dir_parse(const char *s, size_t len)
{
	for (int d = 0; d < 4; d++)
		if (strlen(ue_sdp_dir_name((enum ue_dir)d)) == len &&
		    memcmp(ue_sdp_dir_name((enum ue_dir)d), s, len) == 0)
			return d;
	return -1;
}

const struct ue_sdp_media *ue_sdp_audio(const struct ue_sdp *s)
{
	for (unsigned i = 0; i < s->n_media; i++)
		if (strcmp(s->media[i].type, "audio") == 0 && s->media[i].port != 0)
			return &s->media[i];
	return NULL;
}

/* ---- parsing ---- */

/* Cursor over the words of one line's value. */
struct words {
	const char *p;   /* next character */
	const char *end; /* end of the value */
};

/* Next space-separated word into out (outlen bytes). Returns its length, 0 at the end,
 * -EMSGSIZE when it does not fit. */
static int next_word(struct words *w, char *out, size_t outlen)
{
	const char *s;
	size_t n;

	while (w->p < w->end && *w->p == ' ')
		w->p++;
	s = w->p;
	while (w->p < w->end && *w->p != ' ')
		w->p++;
	n = (size_t)(w->p - s);
	if (n >= outlen)
		return -EMSGSIZE;
	memcpy(out, s, n);
	out[n] = '\0';
	return (int)n;
}

/* Unsigned decimal with every character checked, at most max. */
static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EBADMSG;
	*out = v;
	return 0;
}

/* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
static int parse_origin(struct words *w, struct ue_sdp *s)
{
	char f[UE_SDP_FIELD_MAX];
	uint64_t v;

	if (next_word(w, s->user, sizeof(s->user)) <= 0)
		return -EBADMSG;
	/* sess-id and version are decimal; 64 bits are enough for what UAs write. */
	if (next_word(w, f, sizeof(f)) <= 0 || parse_num(f, UINT64_MAX, &v) < 0)
		return -EBADMSG;
	s->sess_id = v;
	if (next_word(w, f, sizeof(f)) <= 0 || parse_num(f, UINT64_MAX, &v) < 0)
		return -EBADMSG;
	s->version = v;
	if (next_word(w, f, sizeof(f)) <= 0 || next_word(w, f, sizeof(f)) <= 0)
		return -EBADMSG;
	if (next_word(w, s->origin, sizeof(s->origin)) <= 0)
		return -EBADMSG;
	return 0;
}

/* c=IN IP4 <address>[/ttl] (or IP6). */
static int parse_connection(struct words *w, char *addr, size_t addrlen)
{
	char f[UE_SDP_FIELD_MAX];
	char *slash;

	if (next_word(w, f, sizeof(f)) <= 0 || strcmp(f, "IN") != 0)
		return -EBADMSG;
	if (next_word(w, f, sizeof(f)) <= 0 || (strcmp(f, "IP4") != 0 && strcmp(f, "IP6") != 0))
		return -EBADMSG;
	if (next_word(w, addr, addrlen) <= 0)
		return -EBADMSG;
	slash = strchr(addr, '/');
	if (slash)
		*slash = '\0';
	return 0;
}

/* Defaults of a static payload type, so an m-line without rtpmap still names it. */
static void codec_static(struct ue_codec *c)
{
	for (size_t i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++) {
		if (static_types[i].pt == c->pt) {
			*c = static_types[i];
			return;
		}
	}
}

/* m=<media> <port>[/<number>] <proto> <fmt> ... */
static int parse_media(struct words *w, struct ue_sdp_media *m)
{
	char f[UE_SDP_FIELD_MAX];
	const char *fmts;
	uint64_t v;
	char *slash;
	int n;

	memset(m, 0, sizeof(*m));
	if (next_word(w, m->type, sizeof(m->type)) <= 0)
		return -EBADMSG;
	if (next_word(w, f, sizeof(f)) <= 0)
		return -EBADMSG;
	slash = strchr(f, '/');
	if (slash)
		*slash = '\0';
	if (parse_num(f, 65535, &v) < 0)
		return -EBADMSG;
	m->port = (uint16_t)v;
	if (next_word(w, m->proto, sizeof(m->proto)) <= 0)
		return -EBADMSG;
	while (w->p < w->end && *w->p == ' ')
		w->p++;
	fmts = w->p;
	if ((size_t)(w->end - fmts) >= sizeof(m->fmts) || w->end == fmts)
		return w->end == fmts ? -EBADMSG : -EMSGSIZE;
	memcpy(m->fmts, fmts, (size_t)(w->end - fmts));
	m->fmts[w->end - fmts] = '\0';
	/* RTP profiles list payload types; other formats are only echoed back. */
	if (strncmp(m->proto, "RTP/", 4) != 0)
		return 0;
	while ((n = next_word(w, f, sizeof(f))) > 0) {
		struct ue_codec *c;

		if (parse_num(f, 127, &v) < 0)
			return -EBADMSG;
		if (m->n_codecs == UE_SDP_CODECS_MAX)
			continue; /* beyond what the UE keeps: never chosen */
		c = &m->codecs[m->n_codecs++];
		memset(c, 0, sizeof(*c));
		c->pt = (int)v;
		c->channels = 1;
		codec_static(c);
	}
	return n < 0 ? n : 0;
}

static struct ue_codec *codec_by_pt(struct ue_sdp_media *m, int pt)
{
	for (unsigned i = 0; i < m->n_codecs; i++)
		if (m->codecs[i].pt == pt)
			return &m->codecs[i];
	return NULL;
}

/* a=rtpmap:<pt> <encoding>/<rate>[/<channels>] and a=fmtp:<pt> <parameters> of the
 * current media (RFC 4566 6). Formats the m-line does not list are ignored. */
static int parse_format_attr(struct ue_sdp_media *m, const char *v, size_t len, bool rtpmap)
{
	char text[LINE_MAX_LEN], *sp, *end, *slash;
	struct ue_codec *c;
	unsigned long pt, rate, ch = 1;

	memcpy(text, v, len);
	text[len] = '\0';
	errno = 0;
	pt = strtoul(text, &end, 10);
	if (errno || end == text || *end != ' ' || pt > 127)
		return -EBADMSG;
	sp = end + 1;
	c = codec_by_pt(m, (int)pt);
	if (!c)
		return 0;
	if (!rtpmap) {
		snprintf(c->fmtp, sizeof(c->fmtp), "%s", sp);
		return 0;
	}
	slash = strchr(sp, '/');
	if (!slash || (size_t)(slash - sp) >= sizeof(c->name) || slash == sp)
		return -EBADMSG;
	errno = 0;
	rate = strtoul(slash + 1, &end, 10);
	if (errno || end == slash + 1 || rate == 0 || rate > 1000000)
		return -EBADMSG;
	if (*end == '/') {
		ch = strtoul(end + 1, &end, 10);
		if (ch == 0 || ch > 255)
			return -EBADMSG;
	}
	if (*end)
		return -EBADMSG;
	memcpy(c->name, sp, (size_t)(slash - sp));
	c->name[slash - sp] = '\0';
	c->rate = (unsigned)rate;
	c->channels = (unsigned)ch;
	return 0;
}

/* Parse state across lines. */
struct parse {
	struct ue_sdp *s;                 /* result */
	int sess_dir;                     /* session-level direction, -1 when absent */
	char sess_addr[UE_SDP_FIELD_MAX]; /* session-level c= address */
	int media_dir[UE_SDP_MEDIA_MAX];  /* media-level directions, -1 when absent */
};

static int parse_attr(struct parse *ps, const char *v, size_t len)
{
	struct ue_sdp_media *m = ps->s->n_media ? &ps->s->media[ps->s->n_media - 1] : NULL;
	int d = dir_parse(v, len);
	unsigned long ptime;
	char *end;

	if (d >= 0) {
		if (m)
			ps->media_dir[ps->s->n_media - 1] = d;
		else
			ps->sess_dir = d;
		return 0;
	}
	if (!m)
		return 0;
	if (len > 7 && memcmp(v, "rtpmap:", 7) == 0)
		return parse_format_attr(m, v + 7, len - 7, true);
	if (len > 5 && memcmp(v, "fmtp:", 5) == 0)
		return parse_format_attr(m, v + 5, len - 5, false);
	if (len > 6 && len < 16 && memcmp(v, "ptime:", 6) == 0) {
		char num[16];

		memcpy(num, v + 6, len - 6);
		num[len - 6] = '\0';
		ptime = strtoul(num, &end, 10);
		if (end != num && ptime < 10000)
			m->ptime = (unsigned)ptime;
	}
	return 0;
}

static int parse_line(struct parse *ps, char type, const char *v, size_t len)
{
	struct ue_sdp *s = ps->s;
	struct words w = {v, v + len};

	switch (type) {
	case 'o':
		return parse_origin(&w, s);
	case 'c':
		if (s->n_media == 0)
			return parse_connection(&w, ps->sess_addr, sizeof(ps->sess_addr));
		return parse_connection(&w, s->media[s->n_media - 1].addr,
		                        sizeof(s->media[0].addr));
	case 'm':
		if (s->n_media == UE_SDP_MEDIA_MAX)
			return -EMSGSIZE;
		ps->media_dir[s->n_media] = -1;
		s->n_media++;
		return parse_media(&w, &s->media[s->n_media - 1]);
	case 'a':
		return parse_attr(ps, v, len);
	default:
		return 0;
	}
}

/* Directions and addresses inherited from the session level (RFC 4566 5.7, 6). */
static void parse_finish(struct parse *ps)
{
	struct ue_sdp *s = ps->s;

	for (unsigned i = 0; i < s->n_media; i++) {
		struct ue_sdp_media *m = &s->media[i];
		int d = ps->media_dir[i] >= 0 ? ps->media_dir[i] : ps->sess_dir;

		m->dir = d >= 0 ? (enum ue_dir)d : UE_DIR_SENDRECV;
		if (!m->addr[0])
			snprintf(m->addr, sizeof(m->addr), "%s", ps->sess_addr);
		/* RFC 3264 8.4: c=0.0.0.0 is the old way to say "do not send to me". */
		if (strcmp(m->addr, "0.0.0.0") == 0)
			m->dir &= ~UE_DIR_RECVONLY;
	}
}

int ue_sdp_parse(const char *text, size_t len, struct ue_sdp *out)
{
	struct parse ps = {out, -1, "", {0}};
	const char *p = text, *end = text + len;
	bool first = true;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > UE_SDP_MAX)
		return -EMSGSIZE;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;
		size_t n;

		if (eol > p && eol[-1] == '\r')
			eol--;
		n = (size_t)(eol - p);
		if (n == 0 && !nl)
			break; /* a last line without terminator may be empty */
		if (n < 2 || p[1] != '=' || n >= LINE_MAX_LEN)
			return n >= LINE_MAX_LEN ? -EMSGSIZE : -EBADMSG;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 && p[i] != '\t')
				return -EBADMSG;
		if (first && (n != 3 || memcmp(p, "v=0", 3) != 0))
			return -EBADMSG;
		first = false;
		ret = parse_line(&ps, p[0], p + 2, n - 2);
		if (ret < 0)
			return ret;
		p = nl ? nl + 1 : end;
	}
	if (first)
		return -EBADMSG;
	parse_finish(&ps);
	return 0;
}

/* ---- writing ---- */

static void write_media(struct ue_out *o, const struct ue_sdp_media *m)
{
	if (m->port == 0 || m->n_codecs == 0) {
		/* RFC 3264 6: a rejected stream keeps its m-line with port 0 and a format. */
		ue_msg_put(o, "m=%s 0 %s %s\r\n", m->type, m->proto, m->fmts[0] ? m->fmts : "0");
		return;
	}
	ue_msg_put(o, "m=%s %u %s", m->type, (unsigned)m->port, m->proto);
	for (unsigned i = 0; i < m->n_codecs; i++)
		ue_msg_put(o, " %d", m->codecs[i].pt);
	ue_msg_put(o, "\r\n");
	for (unsigned i = 0; i < m->n_codecs; i++) {
		const struct ue_codec *c = &m->codecs[i];

		if (!c->name[0])
			continue;
		if (c->channels > 1)
			ue_msg_put(o, "a=rtpmap:%d %s/%u/%u\r\n", c->pt, c->name, c->rate,
			           c->channels);
		else
			ue_msg_put(o, "a=rtpmap:%d %s/%u\r\n", c->pt, c->name, c->rate);
		if (c->fmtp[0])
			ue_msg_put(o, "a=fmtp:%d %s\r\n", c->pt, c->fmtp);
	}
	if (m->ptime)
		ue_msg_put(o, "a=ptime:%u\r\n", m->ptime);
	ue_msg_put(o, "a=%s\r\n", ue_sdp_dir_name(m->dir));
}

ssize_t ue_sdp_write(const struct ue_sdp *s, char *out, size_t outlen)
{
	struct ue_out o = {out, 0, outlen, outlen == 0};
	const char *addr = s->n_media ? s->media[0].addr : s->origin;

	if (outlen)
		out[0] = '\0';
	ue_msg_put(&o, "v=0\r\no=%s %" PRIu64 " %" PRIu64 " IN IP4 %s\r\ns=-\r\n",
	           s->user[0] ? s->user : "-", s->sess_id, s->version, s->origin);
	if (addr[0])
		ue_msg_put(&o, "c=IN IP4 %s\r\n", addr);
	ue_msg_put(&o, "t=0 0\r\n");
	for (unsigned i = 0; i < s->n_media; i++)
		write_media(&o, &s->media[i]);
	return o.full ? -ENOSPC : (ssize_t)o.len;
}

/* ---- offer/answer ---- */

static void origin_set(struct ue_sdp *s, const struct ue_sdp_origin *o)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->user, sizeof(s->user), "%s", o->user);
	s->sess_id = o->sess_id;
	s->version = o->version;
	snprintf(s->origin, sizeof(s->origin), "%s", o->addr);
}

int ue_sdp_offer(const struct ue_sdp_origin *o, const struct ue_codec *codecs, unsigned n,
                 enum ue_dir dir, struct ue_sdp *out)
{
	struct ue_sdp_media *m;

	if (n == 0 || n > UE_SDP_CODECS_MAX)
		return -EINVAL;
	origin_set(out, o);
	out->n_media = 1;
	m = &out->media[0];
	snprintf(m->type, sizeof(m->type), "audio");
	snprintf(m->proto, sizeof(m->proto), "RTP/AVP");
	snprintf(m->addr, sizeof(m->addr), "%s", o->addr);
	m->port = o->port;
	m->ptime = 20;
	m->dir = dir;
	memcpy(m->codecs, codecs, n * sizeof(*codecs));
	m->n_codecs = n;
	return 0;
}

/* The formats of offered stream m the UE also has, in the offer's order with the
 * offer's payload types and parameters (RFC 3264 6.1). Returns how many real codecs
 * (not telephone-event) are among them. */
static unsigned intersect(const struct ue_sdp_media *m, const struct ue_codec *local, unsigned n,
                          struct ue_sdp_media *ans)
{
	unsigned voice = 0;

	ans->n_codecs = 0;
	for (unsigned i = 0; i < m->n_codecs; i++) {
		for (unsigned j = 0; j < n; j++) {
			if (!ue_sdp_codec_same(&m->codecs[i], &local[j]))
				continue;
			ans->codecs[ans->n_codecs++] = m->codecs[i];
			voice += !is_dtmf(&m->codecs[i]);
			break;
		}
	}
	return voice;
}

void ue_sdp_reject(const struct ue_sdp *offer, const struct ue_sdp_origin *o, struct ue_sdp *out)
{
	origin_set(out, o);
	out->n_media = offer->n_media;
	for (unsigned i = 0; i < offer->n_media; i++) {
		struct ue_sdp_media *a = &out->media[i];

		memcpy(a->type, offer->media[i].type, sizeof(a->type));
		memcpy(a->proto, offer->media[i].proto, sizeof(a->proto));
		memcpy(a->fmts, offer->media[i].fmts, sizeof(a->fmts));
		snprintf(a->addr, sizeof(a->addr), "%s", o->addr);
	}
}

int ue_sdp_answer(const struct ue_sdp *offer, const struct ue_sdp_origin *o,
                  const struct ue_codec *local, unsigned n, enum ue_dir want, struct ue_sdp *out)
{
	bool accepted = false;

	origin_set(out, o);
	out->n_media = offer->n_media;
	for (unsigned i = 0; i < offer->n_media; i++) {
		const struct ue_sdp_media *m = &offer->media[i];
		struct ue_sdp_media *a = &out->media[i];

		memcpy(a->type, m->type, sizeof(a->type));
		memcpy(a->proto, m->proto, sizeof(a->proto));
		memcpy(a->fmts, m->fmts, sizeof(a->fmts));
		snprintf(a->addr, sizeof(a->addr), "%s", o->addr);
		if (!accepted && strcmp(m->type, "audio") == 0 && m->port != 0 &&
		    strncmp(m->proto, "RTP/", 4) == 0 && intersect(m, local, n, a) > 0) {
			accepted = true;
			a->port = o->port;
			a->ptime = m->ptime ? m->ptime : 20;
			/* RFC 3264 6.1: send only what the offerer receives, receive only what it
			 * sends, and never beyond what we want. */
			a->dir = (enum ue_dir)(ue_sdp_dir_mirror(m->dir) & want);
			continue;
		}
		a->port = 0;
		a->n_codecs = 0;
	}
	return accepted ? 0 : -ENOTSUP;
}

int ue_sdp_negotiated(const struct ue_sdp *local, const struct ue_sdp *remote,
                      struct ue_codec *codecs, unsigned *n, enum ue_dir *dir)
{
	unsigned count = local->n_media < remote->n_media ? local->n_media : remote->n_media;

	for (unsigned i = 0; i < count; i++) {
		const struct ue_sdp_media *l = &local->media[i], *r = &remote->media[i];
		unsigned k = 0, voice = 0;

		if (strcmp(l->type, "audio") != 0 || l->port == 0 || r->port == 0)
			continue;
		for (unsigned a = 0; a < r->n_codecs; a++) {
			for (unsigned b = 0; b < l->n_codecs; b++) {
				if (!ue_sdp_codec_same(&r->codecs[a], &l->codecs[b]))
					continue;
				if (codecs)
					codecs[k] = r->codecs[a];
				k++;
				voice += !is_dtmf(&r->codecs[a]);
				break;
			}
		}
		if (voice == 0)
			continue;
		if (n)
			*n = k;
		if (dir)
			*dir = (enum ue_dir)(
			    (l->dir & UE_DIR_SENDONLY && r->dir & UE_DIR_RECVONLY ? UE_DIR_SENDONLY
			                                                          : 0) |
			    (l->dir & UE_DIR_RECVONLY && r->dir & UE_DIR_SENDONLY ? UE_DIR_RECVONLY
			                                                          : 0));
		return 0;
	}
	return -ENOENT;
}

int ue_sdp_check_answer(const struct ue_sdp *offer, const struct ue_sdp *answer)
{
	if (offer->n_media != answer->n_media)
		return -EPROTO;
	return ue_sdp_negotiated(offer, answer, NULL, NULL, NULL) == 0 ? 0 : -EPROTO;
}
