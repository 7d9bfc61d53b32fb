/* The S-CSCF registrar (TS 24.229 5.4.1; RFC 3261 10.3; TS 33.203 6.1): every REGISTER
 * is parsed into a context, then
 *   no usable credentials ------------------------> MAR -> 401 (challenge)
 *   auts= (TS 33.203 6.1.2 resynchronisation) ----> MAR with RAND||AUTS -> 401
 *   unknown or expired nonce ---------------------> MAR -> 401 stale=true
 *   wrong response -------------------------------> 403, SAR AUTHENTICATION_FAILURE
 *   valid, expiry > 0 ----------------------------> SAR (RE_)REGISTRATION -> store -> 200
 *   valid, expiry 0 (TS 24.229 5.4.1.4) ----------> unbind; none left: SAR
 *                                                    USER_DEREGISTRATION -> 200
 * and a binding that expires (5.4.1.5) ends with SAR TIMEOUT_DEREGISTRATION.
 * Cx is asynchronous: the context waits for the answer and the loop goes on; the HSS's
 * state is applied on its answer even when the transaction vanished meanwhile, so the
 * table always says what the HSS says. */
#include "scscf.h"

#include "log.h"
#include "loop.h"
#include "sip_msg.h"
#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define REGS_MAX 200000 /* registrations kept */
#define SWEEP_MS 5000   /* period of the nonce store sweep */
#define HDRS_MAX 12288  /* extra header lines of one answer */

/* An answer decided while parsing. */
struct verdict {
	int status;         /* SIP status */
	const char *reason; /* reason phrase (static) */
	char headers[64];   /* extra header lines, "" for none */
};

static int refuse(struct verdict *v, int status, const char *reason)
{
	v->status = status;
	v->reason = reason;
	v->headers[0] = '\0';
	return -EBADMSG;
}

/* --- parsing the REGISTER -------------------------------------------------------------- */

int scscf_reg_impi_from_impu(const char *impu, char *out, size_t outlen)
{
	static const char *const schemes[] = {"sips:", "sip:", "tel:"};
	const char *p = NULL, *end, *host, *colon;
	size_t len;

	for (size_t i = 0; i < 3 && !p; i++)
		if (strncasecmp(impu, schemes[i], strlen(schemes[i])) == 0)
			p = impu + strlen(schemes[i]);
	if (!p)
		return -EINVAL;
	end = p + strcspn(p, ";?>");
	host = memchr(p, '@', (size_t)(end - p));
	host = host ? host + 1 : p;
	if (host < end && *host == '[') {
		const char *rb = memchr(host, ']', (size_t)(end - host));

		host = rb ? rb : end;
	}
	colon = memchr(host, ':', (size_t)(end - host));
	if (colon)
		end = colon;
	len = (size_t)(end - p);
	if (len == 0 || len >= outlen)
		return -EINVAL;
	memcpy(out, p, len);
	out[len] = '\0';
	return 0;
}

/* RFC 3261 10.3 step 1: the Request-URI names the domain we serve (or this node). */
static int check_ruri(const struct scscf *s, const struct sip_msg *m, struct verdict *v)
{
	struct sip_span ru = sip_msg_ruri(m);
	struct sip_uri u;

	if (sip_msg_uri_parse(ru.p, ru.len, &u) < 0)
		return refuse(v, 400, "Bad Request-URI");
	if (strcasecmp(u.host, s->realm) == 0)
		return 0;
	if (s->node &&
	    (strcasecmp(u.host, s->node->fqdn) == 0 || strcmp(u.host, s->node->address) == 0))
		return 0;
	return refuse(v, 403, "Domain Not Served");
}

static int parse_to(const struct sip_msg *m, struct scscf_register *r, struct verdict *v)
{
	struct sip_addr to;

	if (sip_msg_to(m, &to) < 0)
		return refuse(v, 400, "Bad To header");
	if (to.uri.len == 0 || sip_msg_value_copy(to.uri, r->impu, sizeof(r->impu)) < 0)
		return refuse(v, 400, "Bad To URI");
	if (strncasecmp(r->impu, "sip:", 4) != 0 && strncasecmp(r->impu, "sips:", 5) != 0 &&
	    strncasecmp(r->impu, "tel:", 4) != 0)
		return refuse(v, 400, "Unsupported To URI scheme");
	return 0;
}

/* RFC 3327 5.3: every Path value, in order, kept as one list. */
static int parse_path(const struct sip_msg *m, struct scscf_register *r, struct verdict *v)
{
	struct sip_value_iter it;
	struct sip_span val;
	size_t n = 0;

	r->path[0] = '\0';
	sip_msg_values(m, "Path", &it);
	while (sip_msg_values_next(&it, &val)) {
		ssize_t k;

		if (n && !scscf_auth_append(r->path, sizeof(r->path), &n, ", "))
			return refuse(v, 400, "Path too long");
		k = sip_msg_value_copy(val, r->path + n, sizeof(r->path) - n);
		if (k < 0)
			return refuse(v, 400, "Path too long");
		n += (size_t)k;
	}
	return 0;
}

int scscf_reg_qvalue(const char *s, size_t len, uint16_t *q)
{
	unsigned v = 0;

	/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
	if (len == 0 || (s[0] != '0' && s[0] != '1'))
		return -EINVAL;
	if (len > 1 && (s[1] != '.' || len > 5))
		return -EINVAL;
	for (size_t i = 2; i < 5; i++) {
		unsigned d = 0;

		if (i < len) {
			if (s[i] < '0' || s[i] > '9')
				return -EINVAL;
			d = (unsigned)(s[i] - '0');
		}
		v = v * 10 + d;
	}
	if (s[0] == '1' && v != 0)
		return -EINVAL;
	*q = (uint16_t)((unsigned)(s[0] - '0') * 1000 + v);
	return 0;
}

/* RFC 3261 10.2.1.2, 20.10: the q parameter of one Contact value into b; absent is 1.0. */
static int parse_q(struct sip_span value, struct scscf_binding *b)
{
	struct sip_span q;

	b->has_q = sip_msg_param(value, "q", &q) == 0;
	b->q = SCSCF_Q_DEFAULT;
	if (!b->has_q)
		return 0;
	return scscf_reg_qvalue(q.p, q.len, &b->q);
}

/* RFC 3261 10.2.1.1, 10.3 steps 6 and 7: each Contact with the expiry granted: its
 * expires parameter, else the Expires header, else the default; 1..59 s is too brief
 * (423), above the maximum is cut. */
static int parse_contacts(const struct scscf *s, const struct sip_msg *m, struct scscf_register *r,
                          struct verdict *v)
{
	const struct scscf_expiry *x = &s->expiry;
	unsigned n = sip_msg_header_values(m, "Contact");
	uint32_t hdr = 0;
	bool has_hdr, too_brief = false, all_zero = true;
	int rc;

	if (n == 0)
		return refuse(v, 400, "Missing Contact header");
	if (n > SCSCF_CONTACTS_MAX)
		return refuse(v, 400, "Too Many Contacts");
	rc = sip_msg_expires(m, &hdr);
	if (rc == -EBADMSG)
		return refuse(v, 400, "Bad Expires header");
	has_hdr = rc == 0;
	r->star = false;
	r->n_contacts = 0;
	r->expires = 0;
	for (unsigned i = 0; i < n; i++) {
		struct scscf_binding *b = &r->contacts[r->n_contacts];
		struct sip_contact c;
		uint64_t e;

		if (sip_msg_contact(m, i, &c) < 0)
			return refuse(v, 400, "Bad Contact header");
		if (c.star) {
			r->star = true;
			continue;
		}
		if (c.uri.len == 0 || sip_msg_value_copy(c.uri, b->uri, sizeof(b->uri)) < 0)
			return refuse(v, 400, "Bad Contact URI");
		if (parse_q(c.value, b) < 0)
			return refuse(v, 400, "Bad q parameter in Contact");
		e = c.expires >= 0 ? (uint64_t)c.expires : has_hdr ? hdr : x->dflt;
		if (e > 0 && e < x->min)
			too_brief = true;
		if (e > x->max)
			e = x->max;
		b->expires = (uint32_t)e;
		if (e && all_zero)
			r->expires = (uint32_t)e;
		all_zero = all_zero && e == 0;
		r->n_contacts++;
	}
	if (r->star && (n != 1 || !has_hdr || hdr != 0))
		return refuse(v, 400, "Contact * needs Expires 0 and no other Contact");
	if (too_brief) {
		refuse(v, 423, "Interval Too Brief");
		snprintf(v->headers, sizeof(v->headers), "Min-Expires: %u\r\n", x->min);
		return -EBADMSG;
	}
	r->kind = r->star || all_zero ? SCSCF_REG_DE : SCSCF_REG_INIT;
	return 0;
}

/* The Authorization for our realm (TS 24.229 5.4.1.2.1: a UE may carry several); user
 * gets the first username seen, for the IMPI when none is for our realm. */
static int parse_credentials(const struct scscf *s, const struct sip_msg *m,
                             struct scscf_cred *cred, bool *has_cred, char *user, struct verdict *v)
{
	struct sip_value_iter it;
	struct sip_span val;

	*has_cred = false;
	user[0] = '\0';
	sip_msg_values(m, "Authorization", &it);
	while (!*has_cred && sip_msg_values_next(&it, &val)) {
		int rc = scscf_auth_parse(val.p, val.len, cred);

		if (rc == -EPROTONOSUPPORT)
			continue;
		if (rc < 0)
			return refuse(v, 400, "Malformed Authorization header");
		if (!user[0])
			memcpy(user, cred->username, sizeof(cred->username));
		*has_cred = strcasecmp(cred->realm, s->realm) == 0;
	}
	return 0;
}

static int parse_register(const struct scscf *s, const struct sip_msg *m, struct scscf_register *r,
                          struct scscf_cred *cred, bool *has_cred, struct verdict *v)
{
	char user[SCSCF_URI_MAX];
	struct sip_span cid, method;
	int rc;

	rc = check_ruri(s, m, v);
	if (rc == 0)
		rc = parse_to(m, r, v);
	if (rc == 0)
		rc = parse_path(m, r, v);
	if (rc == 0)
		rc = parse_credentials(s, m, cred, has_cred, user, v);
	if (rc < 0)
		return rc;
	cid = sip_msg_call_id(m);
	if (sip_msg_value_copy(cid, r->call_id, sizeof(r->call_id)) < 0)
		return refuse(v, 400, "Call-ID too long");
	sip_msg_cseq(m, &r->cseq, &method);
	/* TS 24.229 5.4.1.2.1: the IMPI is the username; without one, derived from the IMPU. */
	if (*has_cred && cred->username[0])
		memcpy(r->impi, cred->username, sizeof(r->impi));
	else if (user[0])
		memcpy(r->impi, user, sizeof(r->impi));
	else if (scscf_reg_impi_from_impu(r->impu, r->impi, sizeof(r->impi)) < 0)
		return refuse(v, 400, "Bad To URI");
	rc = parse_contacts(s, m, r, v);
	if (rc < 0)
		return rc;
	if (r->kind != SCSCF_REG_DE && scscf_regtab_find(&s->regs, r->impu))
		r->kind = SCSCF_REG_RE;
	r->stale = false;
	r->sat = CX_SAT_NO_ASSIGNMENT;
	return 0;
}

/* --- answers ----------------------------------------------------------------------------- */

static void fail(struct scscf_txn *t, int status, const char *reason, const char *headers)
{
	t->s->stats.reg_failures[t->r.kind]++;
	scscf_txn_reply(t, status, reason, headers);
}

static uint64_t secs_left(const struct scscf_contact *c, uint64_t now)
{
	return c->expires_ms > now ? (c->expires_ms - now + 999) / 1000 : 0;
}

/* ";q=0.5": q (thousandths) as the shortest qvalue, at least one decimal. */
static void format_q(uint16_t q, char *out, size_t outlen)
{
	unsigned frac = q % 1000, digits = 3;

	while (digits > 1 && frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(out, outlen, ";q=%u.%0*u", q / 1000u, (int)digits, frac);
}

/* TS 24.229 5.4.1.2.2: the bindings with their expiry (and q when given), Expires,
 * Path echoed (RFC 3327), Service-Route, and P-Associated-URI: the set's non-barred
 * identities, default first. */
static int ok_headers(const struct scscf *s, const struct scscf_reg *reg,
                      const struct scscf_register *r, uint64_t now, char *buf, size_t size)
{
	bool registered = reg && r->kind != SCSCF_REG_DE;
	size_t n = 0, listed = 0;
	bool ok = true;

	buf[0] = '\0';
	for (const struct scscf_contact *c = reg ? reg->contacts : NULL; c && ok; c = c->next) {
		char q[16] = "";

		if (c->has_q)
			format_q(c->q, q, sizeof(q));
		ok = scscf_auth_append(buf, size, &n, "Contact: <%s>;expires=%llu%s\r\n", c->uri,
		                       (unsigned long long)secs_left(c, now), q);
	}
	if (ok && registered)
		ok = scscf_auth_append(buf, size, &n, "Expires: %u\r\n", r->expires);
	if (ok && r->path[0])
		ok = scscf_auth_append(buf, size, &n, "Path: %s\r\n", r->path);
	if (ok && registered)
		ok = scscf_auth_append(buf, size, &n, "Service-Route: %s\r\n", s->service_route);
	for (size_t i = 0; ok && registered && i < reg->n_impus; i++) {
		if (reg->impus[i].id.barred)
			continue;
		ok = scscf_auth_append(buf, size, &n, "%s<%s>",
		                       listed ? ", " : "P-Associated-URI: ", reg->impus[i].id.uri);
		listed++;
	}
	if (ok && listed)
		ok = scscf_auth_append(buf, size, &n, "\r\n");
	return ok ? 0 : -ENOSPC;
}

static void reply_ok(struct scscf_txn *t, const struct scscf_reg *reg)
{
	struct scscf *s = t->s;
	char hdrs[HDRS_MAX];

	s->stats.reg_success[t->r.kind]++;
	if (ok_headers(s, reg, &t->r, loop_now(s->loop), hdrs, sizeof(hdrs)) < 0) {
		log_err("200 for %s: headers do not fit", t->r.impu);
		scscf_txn_reply(t, 500, "Server Internal Error", NULL);
		return;
	}
	scscf_txn_reply(t, 200, "OK", hdrs);
}

/* --- bindings and their expiry ---------------------------------------------------------- */

static void on_reg_timer(struct loop *lp, void *arg)
{
	struct scscf_reg *r = arg;

	/* The timer is spent; r is not referenced by the loop any more. */
	r->timer = 0;
	scscf_reg_expire(r->tab->owner, r, loop_now(lp));
}

/* Keeps r's timer on its earliest expiry. */
static void reg_arm(struct scscf *s, struct scscf_reg *r, uint64_t now)
{
	uint64_t due = scscf_regtab_next_expiry(r);

	if (r->timer && r->timer_due == due)
		return;
	if (r->timer)
		loop_timer_cancel(s->loop, r->timer);
	r->timer = 0;
	if (!due)
		return;
	r->timer = loop_timer_add(s->loop, due > now ? due - now : 0, on_reg_timer, r);
	r->timer_due = due;
	if (!r->timer)
		log_err("no memory for the expiry timer of %s", r->impi);
}

static void reg_drop(struct scscf *s, struct scscf_reg *r)
{
	if (r->timer)
		loop_timer_cancel(s->loop, r->timer);
	scscf_regtab_remove(&s->regs, r);
}

/* The identity a de-registration SAR names: the default one, else the first. */
static const char *sar_impu(const struct scscf_reg *r)
{
	const char *impu = scscf_regtab_default_impu(r);

	return impu ? impu : r->impus[0].id.uri;
}

void scscf_reg_expire(struct scscf *s, struct scscf_reg *r, uint64_t now)
{
	char impi[SCSCF_URI_MAX], impu[SCSCF_URI_MAX];
	size_t n = scscf_regtab_expire(&s->regs, r, now);

	s->stats.bindings_expired += n;
	if (r->n_contacts) {
		reg_arm(s, r, now);
		return;
	}
	memcpy(impi, r->impi, sizeof(impi));
	snprintf(impu, sizeof(impu), "%s", sar_impu(r));
	reg_drop(s, r);
	s->stats.regs_expired++;
	log_info("registration of %s expired", impu);
	/* TS 24.229 5.4.1.5, TS 29.228 6.1.2: the HSS forgets us as the serving S-CSCF. */
	scscf_cx_notify_sar(s, impi, impu, CX_SAT_TIMEOUT_DEREGISTRATION);
}

/* RFC 3261 10.3 step 7 for every Contact of r (for "*", every binding). */
static bool request_in_order(const struct scscf_reg *reg, const struct scscf_register *r)
{
	if (r->star) {
		for (const struct scscf_contact *c = reg->contacts; c; c = c->next)
			if (strcmp(c->call_id, r->call_id) == 0 && r->cseq <= c->cseq)
				return false;
		return true;
	}
	for (size_t i = 0; i < r->n_contacts; i++)
		if (!scscf_regtab_in_order(reg, r->contacts[i].uri, r->call_id, r->cseq))
			return false;
	return true;
}

static void apply_bindings(struct scscf *s, struct scscf_reg *reg, const struct scscf_register *r,
                           uint64_t now)
{
	if (r->star) {
		scscf_regtab_unbind_all(&s->regs, reg);
		return;
	}
	for (size_t i = 0; i < r->n_contacts; i++) {
		/* Re-checked: another REGISTER may have updated the binding meanwhile. */
		if (!scscf_regtab_in_order(reg, r->contacts[i].uri, r->call_id, r->cseq))
			continue;
		if (scscf_regtab_bind(&s->regs, reg, &r->contacts[i], r->path, r->call_id, r->cseq,
		                      now) < 0)
			log_err("no memory for a binding of %s", r->impu);
	}
}

/* --- de-registration (TS 24.229 5.4.1.4) ------------------------------------------------ */

static void on_saa_dereg(void *arg, const struct dia_call_result *res)
{
	struct scscf_txn *t = arg;
	const struct cx_result *cr = scscf_cx_account(t->s, SCSCF_CX_SAR, res);

	t->cx_pending = false;
	/* The bindings are gone whatever the HSS says: the UE asked to leave. */
	if (!cr || !cx_result_success(cr))
		log_warn("HSS did not confirm the de-registration of %s", t->r.impu);
	reply_ok(t, NULL);
	scscf_txn_settle(t);
}

static void deregister(struct scscf_txn *t)
{
	struct scscf *s = t->s;
	struct scscf_register *r = &t->r;
	struct scscf_reg *reg = scscf_regtab_find(&s->regs, r->impu);
	uint64_t now = loop_now(s->loop);

	if (reg) {
		if (!request_in_order(reg, r)) {
			fail(t, 500, "Out-of-order REGISTER", NULL);
			return;
		}
		apply_bindings(s, reg, r, now);
		if (reg->n_contacts) {
			/* Other bindings stay: still registered, no Cx needed. */
			reg_arm(s, reg, now);
			reply_ok(t, reg);
			return;
		}
		reg_drop(s, reg);
	}
	if (scscf_cx_send_sar(s, r->impi, r->impu, CX_SAT_USER_DEREGISTRATION, false, on_saa_dereg,
	                      t) < 0) {
		reply_ok(t, NULL);
		return;
	}
	t->cx_pending = true;
}

/* --- registration (TS 24.229 5.4.1.2.2) ------------------------------------------------- */

/* The implicit set the SAA gives (User-Data), else the one already known, else the
 * registered IMPU alone. Returns how many identities ids holds (0: keep reg's). */
static size_t identities_of(const struct scscf_txn *t, const struct cx_saa *saa,
                            const struct scscf_reg *reg, struct scscf_userdata *ud)
{
	const char *impu = t->r.impu;
	size_t i;
	int rc;

	ud->n_ids = 0;
	if (saa->user_data && saa->user_data_len) {
		rc = scscf_userdata_parse(saa->user_data, saa->user_data_len, ud);
		if (rc < 0) {
			log_warn("User-Data for %s unreadable (%s): keeping what is known",
			         t->r.impi, strerror(-rc));
			ud->n_ids = 0;
			if (reg)
				return 0;
		} else if (ud->truncated) {
			log_warn("User-Data for %s: more than %d identities, the rest ignored",
			         t->r.impi, SCSCF_IMPUS_MAX);
		}
	} else if (reg) {
		return 0;
	}
	for (i = 0; i < ud->n_ids && strcasecmp(ud->ids[i].uri, impu) != 0; i++)
		;
	/* The registered IMPU belongs to its own set whatever the profile lists. */
	if (i == ud->n_ids && ud->n_ids < SCSCF_IMPUS_MAX) {
		snprintf(ud->ids[ud->n_ids].uri, sizeof(ud->ids[0].uri), "%s", impu);
		ud->ids[ud->n_ids++].barred = false;
	}
	return ud->n_ids;
}

static bool all_barred(const struct scscf_identity *ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ids[i].barred)
			return false;
	return true;
}

/* The HSS assigned us (SAA success): store the set and the bindings, answer 200. */
static void store_registration(struct scscf_txn *t, const struct cx_saa *saa)
{
	struct scscf *s = t->s;
	struct scscf_register *r = &t->r;
	struct scscf_reg *reg = scscf_regtab_find(&s->regs, r->impu);
	uint64_t now = loop_now(s->loop);
	struct scscf_userdata ud;
	size_t n;
	int err;

	if (reg && strcmp(reg->impi, r->impi) != 0) {
		reg_drop(s, reg);
		reg = NULL;
	}
	n = identities_of(t, saa, reg, &ud);
	/* TS 24.229 5.4.1.2.2: barred identities are never announced; a set with no
	 * usable identity cannot be registered. */
	if (n ? all_barred(ud.ids, n) : !scscf_regtab_default_impu(reg)) {
		if (reg)
			reg_drop(s, reg);
		scscf_cx_notify_sar(s, r->impi, r->impu, CX_SAT_USER_DEREGISTRATION);
		fail(t, 403, "Forbidden", NULL);
		return;
	}
	if (!reg) {
		reg = scscf_regtab_add(&s->regs, r->impi, ud.ids, n, &err);
		if (!reg) {
			log_err("cannot store the registration of %s: %s", r->impu, strerror(-err));
			scscf_cx_notify_sar(s, r->impi, r->impu, CX_SAT_USER_DEREGISTRATION);
			fail(t, err == -ENOSPC ? 503 : 500,
			     err == -ENOSPC ? "Service Unavailable" : "Server Internal Error",
			     NULL);
			return;
		}
	} else if (n) {
		scscf_regtab_set_identities(&s->regs, reg, ud.ids, n);
	}
	apply_bindings(s, reg, r, now);
	if (!reg->n_contacts) {
		reg_drop(s, reg);
		scscf_cx_notify_sar(s, r->impi, r->impu, CX_SAT_USER_DEREGISTRATION);
		fail(t, 500, "Out-of-order REGISTER", NULL);
		return;
	}
	reg_arm(s, reg, now);
	if (log_enabled(LOGL_DEBUG))
		log_debug("%s registered by %s, %zu binding(s)", r->impu, r->impi, reg->n_contacts);
	reply_ok(t, reg);
}

static void on_saa_reg(void *arg, const struct dia_call_result *res)
{
	struct scscf_txn *t = arg;
	const struct cx_result *cr = scscf_cx_account(t->s, SCSCF_CX_SAR, res);
	const char *reason;
	int status;

	t->cx_pending = false;
	if (cr && cx_result_success(cr)) {
		/* Applied even when the transaction is gone: the HSS has us registered. */
		store_registration(t, res->answer);
	} else {
		status = scscf_cx_sip_status(res, cr, &reason);
		log_info("SAR %s for %s failed: %s", dia_cx_sat_name(t->r.sat), t->r.impu,
		         cr ? dia_cx_result_name(cr->code, cr->experimental) : "no answer");
		fail(t, status, reason, NULL);
	}
	scscf_txn_settle(t);
}

static void authenticated(struct scscf_txn *t)
{
	struct scscf *s = t->s;
	struct scscf_register *r = &t->r;
	struct scscf_reg *reg;

	if (r->kind == SCSCF_REG_DE) {
		deregister(t);
		return;
	}
	reg = scscf_regtab_find(&s->regs, r->impu);
	if (reg && !request_in_order(reg, r)) {
		fail(t, 500, "Out-of-order REGISTER", NULL);
		return;
	}
	/* TS 29.228 6.1.2: RE_REGISTRATION keeps the profile we hold. */
	r->sat =
	    reg && strcmp(reg->impi, r->impi) == 0 ? CX_SAT_RE_REGISTRATION : CX_SAT_REGISTRATION;
	if (scscf_cx_send_sar(s, r->impi, r->impu, r->sat, r->sat == CX_SAT_RE_REGISTRATION,
	                      on_saa_reg, t) < 0) {
		fail(t, 500, "Server Internal Error", NULL);
		return;
	}
	t->cx_pending = true;
}

/* --- authentication (TS 24.229 5.4.1.2.1, TS 33.203 6.1) -------------------------------- */

/* The 401 once the HSS gave a vector. */
static void send_challenge(struct scscf_txn *t, const struct dia_call_result *res,
                           const struct cx_result *cr)
{
	struct scscf *s = t->s;
	const struct cx_maa *maa = res->answer;
	struct scscf_challenge ch;
	char hdr[1024];
	const char *reason;
	int status;

	if (!cr || !cx_result_success(cr)) {
		status = scscf_cx_sip_status(res, cr, &reason);
		log_info("MAR for %s failed: %s", t->r.impi,
		         cr ? dia_cx_result_name(cr->code, cr->experimental) : "no answer");
		fail(t, status, reason, NULL);
		return;
	}
	if (maa->n_items == 0 || scscf_auth_add(s->auth, t->r.impi, s->realm, &maa->items[0],
	                                        loop_now(s->loop), &ch) < 0) {
		log_err("MAA for %s: no usable vector", t->r.impi);
		fail(t, 500, "Server Internal Error", NULL);
		return;
	}
	ch.stale = t->r.stale;
	if (scscf_auth_www_authenticate(s->realm, &ch, hdr, sizeof(hdr)) < 0) {
		fail(t, 500, "Server Internal Error", NULL);
		return;
	}
	s->stats.challenges++;
	if (ch.stale)
		s->stats.stale_challenges++;
	scscf_txn_reply(t, 401, "Unauthorized", hdr);
}

static void on_maa(void *arg, const struct dia_call_result *res)
{
	struct scscf_txn *t = arg;
	const struct cx_result *cr = scscf_cx_account(t->s, SCSCF_CX_MAR, res);

	t->cx_pending = false;
	/* Nobody to challenge any more: the vector is dropped unseen. */
	if (!t->gone)
		send_challenge(t, res, cr);
	scscf_txn_settle(t);
}

static void start_mar(struct scscf_txn *t, const char *scheme, const uint8_t *auth, size_t auth_len)
{
	struct scscf_register *r = &t->r;

	if (scscf_cx_send_mar(t->s, r->impi, r->impu, scheme, auth, auth_len, on_maa, t) < 0) {
		fail(t, 500, "Server Internal Error", NULL);
		return;
	}
	t->cx_pending = true;
}

/* The scheme the UE asked for, else the HSS chooses (TS 29.228 6.3.1: "Unknown"). */
static const char *scheme_of(const struct scscf_cred *c)
{
	if (!c)
		return CX_SCHEME_UNKNOWN;
	if (strcasecmp(c->algorithm, "AKAv1-MD5") == 0)
		return CX_SCHEME_AKAV1_MD5;
	if (strcasecmp(c->algorithm, "MD5") == 0)
		return CX_SCHEME_SIP_DIGEST;
	return CX_SCHEME_UNKNOWN;
}

static void resync(struct scscf_txn *t, const struct scscf_cred *c)
{
	uint8_t data[30];

	t->s->stats.resyncs++;
	if (scscf_auth_resync(t->s->auth, c, data) < 0) {
		log_info("resync from %s: nonce or auts malformed", t->r.impi);
		fail(t, 403, "Forbidden", NULL);
		return;
	}
	start_mar(t, CX_SCHEME_AKAV1_MD5, data, sizeof(data));
}

static void auth_failed(struct scscf_txn *t)
{
	struct scscf *s = t->s;

	s->stats.auth_failures++;
	log_info("authentication of %s for %s failed", t->r.impi, t->r.impu);
	/* TS 29.228 6.1.2: the HSS rolls back what the attempt changed. */
	scscf_cx_notify_sar(s, t->r.impi, t->r.impu, CX_SAT_AUTHENTICATION_FAILURE);
	fail(t, 403, "Forbidden", NULL);
}

static void authenticate(struct scscf_txn *t, const struct scscf_cred *c, const struct sip_msg *m)
{
	struct scscf *s = t->s;
	struct sip_span body;
	int rc;

	if (c && c->auts[0]) {
		resync(t, c);
		return;
	}
	if (!c || !c->response[0] || !c->nonce[0]) {
		start_mar(t, scheme_of(c), NULL, 0);
		return;
	}
	body = sip_msg_body(m);
	rc = scscf_auth_verify(s->auth, c, "REGISTER", body.p, body.len, loop_now(s->loop));
	switch (rc) {
	case 0:
		authenticated(t);
		break;
	case -ESTALE:
		t->r.stale = true;
		start_mar(t, scheme_of(c), NULL, 0);
		break;
	case -EACCES:
		auth_failed(t);
		break;
	default:
		/* Incomplete credentials: as if there were none. */
		start_mar(t, scheme_of(c), NULL, 0);
		break;
	}
}

struct scscf_txn *scscf_reg_on_register(struct scscf *s, struct sip_req *req,
                                        const struct sip_msg *m)
{
	struct scscf_txn *t = scscf_txn_new(s, req);
	struct scscf_cred cred;
	struct verdict v;
	bool has_cred = false;

	if (!t) {
		s->io.reply(req, 500, "Server Internal Error", NULL);
		return NULL;
	}
	if (parse_register(s, m, &t->r, &cred, &has_cred, &v) < 0) {
		s->stats.reg_rejected++;
		scscf_txn_reply(t, v.status, v.reason, v.headers[0] ? v.headers : NULL);
	} else {
		s->stats.reg_attempts[t->r.kind]++;
		authenticate(t, has_cred ? &cred : NULL, m);
	}
	return scscf_txn_settle(t) ? NULL : t;
}

/* --- lifetime ---------------------------------------------------------------------------- */

static void on_sweep(struct loop *lp, void *arg)
{
	struct scscf *s = arg;

	scscf_auth_expire(s->auth, loop_now(lp));
	s->sweep_timer = loop_timer_add(lp, SWEEP_MS, on_sweep, s);
}

int scscf_reg_init(struct scscf *s)
{
	struct scscf_expiry *x = &s->expiry;

	if (!x->min)
		x->min = SCSCF_EXPIRES_MIN;
	if (!x->max)
		x->max = SCSCF_EXPIRES_MAX;
	if (!x->dflt)
		x->dflt = SCSCF_EXPIRES_DEFAULT < x->min   ? x->min
		          : SCSCF_EXPIRES_DEFAULT > x->max ? x->max
		                                           : SCSCF_EXPIRES_DEFAULT;
	if (x->min > x->max || x->dflt < x->min || x->dflt > x->max)
		return -EINVAL;
	s->auth = scscf_auth_new(SCSCF_AUTH_IMPIS_MAX);
	if (!s->auth)
		return -ENOMEM;
	if (scscf_regtab_init(&s->regs, REGS_MAX, s) < 0) {
		scscf_auth_free(s->auth);
		s->auth = NULL;
		return -ENOMEM;
	}
	s->sweep_timer = loop_timer_add(s->loop, SWEEP_MS, on_sweep, s);
	return 0;
}

void scscf_reg_fini(struct scscf *s)
{
	if (s->sweep_timer)
		loop_timer_cancel(s->loop, s->sweep_timer);
	s->sweep_timer = 0;
	for (struct scscf_reg *r = s->regs.head; r; r = r->next)
		if (r->timer)
			loop_timer_cancel(s->loop, r->timer);
	scscf_regtab_fini(&s->regs);
	scscf_auth_free(s->auth);
	s->auth = NULL;
	scscf_txn_fini(s);
}
