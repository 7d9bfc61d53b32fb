/* The UE's side of SIP Digest: parsing a WWW-Authenticate challenge (RFC 2617 3.2.1,
 * RFC 3261 25.1), running the USIM on an AKAv1-MD5 nonce (RFC 3310 3.2/3.3, TS 33.102
 * 6.3.3), resynchronisation with AUTS (RFC 3310 3.4, TS 33.102 6.3.5) and writing the
 * Authorization value. Pure functions: no I/O, no state but what the caller passes. */
#include "ue.h"

#include "aka.h"
#include "codec.h"
#include "digest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The directives the UE reads; everything else in a challenge is skipped. */
enum directive { D_REALM, D_NONCE, D_OPAQUE, D_ALGORITHM, D_QOP, D_STALE, D_COUNT };

static const char *const directive_names[D_COUNT] = {
    "realm", "nonce", "opaque", "algorithm", "qop", "stale",
};

const char *ue_auth_alg_name(enum ue_auth_alg alg)
{
	return alg == UE_AUTH_AKAV1_MD5 ? "AKAv1-MD5" : "MD5";
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 3261 25.1 token characters. */
static bool is_token(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-.!%*_+`'~", c) != NULL;
}

/* Cursor over the challenge text. */
struct cur {
	const char *p;   /* next character */
	const char *end; /* one past the last */
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && is_ws(*c->p))
		c->p++;
}

/* Reads a token into its start and length; false when there is none. */
static bool read_token(struct cur *c, const char **tok, size_t *len)
{
	const char *s = c->p;

	while (c->p < c->end && is_token(*c->p))
		c->p++;
	*tok = s;
	*len = (size_t)(c->p - s);
	return *len > 0;
}

/* Reads a token or quoted-string value into out (unescaped, NUL-terminated; out may be
 * NULL to skip it). Quoted text may not hold control characters (unfolded input). */
static int read_value(struct cur *c, char *out, size_t outsize)
{
	size_t n = 0;
	bool quoted = c->p < c->end && *c->p == '"';

	if (quoted)
		c->p++;
	while (c->p < c->end) {
		char ch = *c->p;

		if (quoted && ch == '"')
			break;
		if (!quoted && !is_token(ch))
			break;
		if ((unsigned char)ch < 0x20 && ch != '\t')
			return -EBADMSG;
		if (ch == 0x7f)
			return -EBADMSG;
		if (quoted && ch == '\\') {
			/* RFC 3261 25.1 quoted-pair: any character but CR and LF. */
			if (++c->p == c->end || *c->p == '\r' || *c->p == '\n')
				return -EBADMSG;
			ch = *c->p;
		}
		if (out) {
			if (n + 1 >= outsize)
				return -EMSGSIZE;
			out[n++] = ch;
		}
		c->p++;
	}
	if (quoted) {
		if (c->p == c->end)
			return -EBADMSG;
		c->p++;
	} else if (n == 0 && out) {
		return -EBADMSG;
	}
	if (out)
		out[n] = '\0';
	return 0;
}

/* RFC 2617 3.2.1: qop-options is a quoted list of tokens; the UE prefers auth (the body
 * of a REGISTER is empty, so auth-int adds nothing). */
static int choose_qop(const char *list, char *out, size_t outsize)
{
	bool auth = false, auth_int = false;
	const char *p = list;

	while (*p) {
		const char *s;
		size_t len;

		while (*p == ',' || is_ws(*p))
			p++;
		s = p;
		while (*p && *p != ',' && !is_ws(*p))
			p++;
		len = (size_t)(p - s);
		if (len == 4 && strncasecmp(s, "auth", 4) == 0)
			auth = true;
		else if (len == 8 && strncasecmp(s, "auth-int", 8) == 0)
			auth_int = true;
	}
	if (!auth && !auth_int)
		return -ENOTSUP;
	snprintf(out, outsize, "%s", auth ? "auth" : "auth-int");
	return 0;
}

/* Stores the value of directive d into the challenge. */
static int store_directive(enum directive d, const char *v, struct ue_challenge *out)
{
	switch (d) {
	case D_REALM:
		snprintf(out->realm, sizeof(out->realm), "%s", v);
		return 0;
	case D_NONCE:
		snprintf(out->nonce, sizeof(out->nonce), "%s", v);
		return 0;
	case D_OPAQUE:
		snprintf(out->opaque, sizeof(out->opaque), "%s", v);
		out->has_opaque = true;
		return 0;
	case D_ALGORITHM:
		/* RFC 3310 3.1: AKAv1-MD5; RFC 2617 3.2.1: MD5 (MD5-sess is not supported). */
		if (strcasecmp(v, "AKAv1-MD5") == 0)
			out->alg = UE_AUTH_AKAV1_MD5;
		else if (strcasecmp(v, "MD5") == 0)
			out->alg = UE_AUTH_MD5;
		else
			return -ENOTSUP;
		return 0;
	case D_QOP:
		return choose_qop(v, out->qop, sizeof(out->qop));
	case D_STALE:
		out->stale = strcasecmp(v, "true") == 0;
		return 0;
	default:
		return 0;
	}
}

int ue_auth_parse_challenge(const char *value, size_t len, struct ue_challenge *out)
{
	struct cur c = {value, value + len};
	bool seen[D_COUNT] = {false};
	char v[UE_AUTH_VALUE_MAX];
	const char *tok;
	size_t toklen;
	int ret;

	if (!value || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	skip_ws(&c);
	if (!read_token(&c, &tok, &toklen))
		return -EBADMSG;
	if (toklen != 6 || strncasecmp(tok, "Digest", 6) != 0)
		return -ENOTSUP;
	for (;;) {
		enum directive d = D_COUNT;

		skip_ws(&c);
		while (c.p < c.end && (*c.p == ',' || is_ws(*c.p)))
			c.p++;
		if (c.p == c.end)
			break;
		if (!read_token(&c, &tok, &toklen))
			return -EBADMSG;
		for (unsigned i = 0; i < D_COUNT; i++)
			if (strlen(directive_names[i]) == toklen &&
			    strncasecmp(tok, directive_names[i], toklen) == 0)
				d = (enum directive)i;
		skip_ws(&c);
		if (c.p == c.end || *c.p != '=')
			return -EBADMSG;
		c.p++;
		skip_ws(&c);
		/* Unknown directives (ck, ik, domain...) are read and dropped. */
		ret = read_value(&c, d == D_COUNT ? NULL : v, sizeof(v));
		if (ret < 0)
			return ret;
		skip_ws(&c);
		if (c.p < c.end && *c.p != ',')
			return -EBADMSG;
		if (d == D_COUNT)
			continue;
		if (seen[d])
			return -EBADMSG;
		seen[d] = true;
		ret = store_directive(d, v, out);
		if (ret < 0)
			return ret;
	}
	/* RFC 2617 3.2.1: realm and nonce are mandatory. */
	if (!seen[D_REALM] || !seen[D_NONCE])
		return -EBADMSG;
	return 0;
}

int ue_auth_aka(const struct ue_challenge *ch, const uint8_t k[16], const uint8_t opc[16],
                struct aka_sqn_ms *ms, struct ue_aka *out)
{
	uint8_t nonce[CODEC_B64_DECODED_MAX(UE_AUTH_VALUE_MAX)];
	ssize_t n;
	int ret;

	memset(out, 0, sizeof(*out));
	/* RFC 3310 3.2: nonce = base64(RAND || AUTN || server data). */
	n = codec_b64_decode(ch->nonce, strlen(ch->nonce), nonce, sizeof(nonce));
	if (n < 32)
		return -EBADMSG;
	ret = aka_autn_check(k, opc, nonce, nonce + 16, &out->sqn, out->res, NULL, NULL);
	if (ret == -EBADMSG) {
		out->result = UE_AKA_MAC_FAILURE;
		return 0;
	}
	if (ret < 0)
		return ret;
	if (aka_sqn_ms_accept(ms, out->sqn)) {
		out->result = UE_AKA_OK;
		return 0;
	}
	/* TS 33.102 6.3.3: SQN out of range -> synchronisation failure with AUTS built
	 * from the highest SQN_MS, from which the HE restarts. No RES is used. */
	out->result = UE_AKA_RESYNC;
	memset(out->res, 0, sizeof(out->res));
	out->sqn_ms = aka_sqn_ms_highest(ms);
	ret = aka_auts_make(k, opc, nonce, out->sqn_ms, out->auts);
	if (ret < 0)
		return ret;
	if (codec_b64_encode(out->auts, sizeof(out->auts), out->auts_b64, sizeof(out->auts_b64)) <
	    0)
		return -EIO;
	return 0;
}

int ue_auth_response(const struct ue_challenge *ch, const char *user, const void *pw, size_t pwlen,
                     const char *method, const char *uri, const char *cnonce,
                     struct ue_credentials *out)
{
	char ha1[DIGEST_HEX_SIZE];
	const char *qop = ch->qop[0] ? ch->qop : NULL;
	int ret;

	if (qop && (!cnonce || !cnonce[0] || strlen(cnonce) >= sizeof(out->cnonce)))
		return -EINVAL;
	ret = digest_ha1(user, ch->realm, pw, pwlen, ha1);
	if (ret < 0)
		return ret;
	/* Each challenge is answered once: the nonce-count is always 1 (RFC 2617 3.2.2). */
	snprintf(out->nc, sizeof(out->nc), "00000001");
	snprintf(out->cnonce, sizeof(out->cnonce), "%s", qop ? cnonce : "");
	return digest_response(ha1, ch->nonce, qop ? out->nc : NULL, qop ? out->cnonce : NULL, qop,
	                       method, uri, NULL, 0, out->response);
}

/* Output buffer with an overflow flag, so the header is written without checks at
 * every step. */
struct buf {
	char *p;     /* start */
	size_t len;  /* bytes written */
	size_t size; /* capacity */
	bool full;   /* something did not fit */
};

static void put_char(struct buf *b, char c)
{
	if (b->len + 1 >= b->size) {
		b->full = true;
		return;
	}
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

static void put_str(struct buf *b, const char *s)
{
	while (*s)
		put_char(b, *s++);
}

/* ", name=\"value\"" with '"' and '\' escaped (RFC 3261 25.1 quoted-pair). The first
 * directive of the header gets no leading comma. */
static void put_quoted(struct buf *b, const char *name, const char *value)
{
	if (b->len > strlen("Digest "))
		put_str(b, ", ");
	put_str(b, name);
	put_str(b, "=\"");
	for (const char *s = value; *s; s++) {
		if (*s == '"' || *s == '\\')
			put_char(b, '\\');
		put_char(b, *s);
	}
	put_char(b, '"');
}

static void put_token(struct buf *b, const char *name, const char *value)
{
	put_str(b, ", ");
	put_str(b, name);
	put_char(b, '=');
	put_str(b, value);
}

ssize_t ue_auth_header(const char *user, const char *realm, const char *uri,
                       const struct ue_challenge *ch, const struct ue_credentials *cr, char *out,
                       size_t outlen)
{
	struct buf b = {out, 0, outlen, false};

	if (!user || !uri || !out || outlen == 0 || (!ch && !realm) || (ch && !cr))
		return -EINVAL;
	out[0] = '\0';
	put_str(&b, "Digest ");
	put_quoted(&b, "username", user);
	put_quoted(&b, "realm", ch ? ch->realm : realm);
	put_quoted(&b, "nonce", ch ? ch->nonce : "");
	put_quoted(&b, "uri", uri);
	put_quoted(&b, "response", ch ? cr->response : "");
	if (ch) {
		put_token(&b, "algorithm", ue_auth_alg_name(ch->alg));
		/* RFC 2617 3.2.2: cnonce and nc go with a qop; an empty response (network
		 * authentication failure) carries no digest to protect. */
		if (ch->qop[0] && cr->response[0]) {
			put_quoted(&b, "cnonce", cr->cnonce);
			put_token(&b, "qop", ch->qop);
			put_token(&b, "nc", cr->nc);
		}
		if (ch->has_opaque)
			put_quoted(&b, "opaque", ch->opaque);
		if (cr->auts[0])
			put_quoted(&b, "auts", cr->auts);
	}
	if (b.full)
		return -ENOSPC;
	return (ssize_t)b.len;
}

void ue_auth_sqn_ms_set(struct aka_sqn_ms *ms, uint64_t sqn)
{
	uint64_t seq = aka_sqn_seq(sqn);

	for (unsigned i = 0; i < AKA_IND_COUNT; i++)
		ms->seq[i] = seq;
}
