/* The HSS side of Cx (TS 29.228 6.1 and 6.3, encoded per TS 29.229): UAR, SAR, LIR and
 * MAR. Each command is split into decode (dia_cx) -> decide against the store (the
 * hss_cx_on_* functions, which tests call directly) -> encode. Handlers run on
 * freeDiameter threads; everything they touch is the thread-safe store and atomics. */
#include "hss.h"

#include "aka.h"
#include "dia_core.h"
#include "dia_cx.h"
#include "digest.h"
#include "log.h"
#include "loop.h"
#include "milenage.h"
#include "topo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AKA_RAND_LEN 16
#define AKA_AUTS_LEN 14

static void set_base(struct cx_result *r, uint32_t code)
{
	r->code = code;
	r->experimental = false;
}

static void set_exp(struct cx_result *r, uint32_t code)
{
	r->code = code;
	r->experimental = true;
}

/* Store failures other than "unknown" are ours, not the peer's. */
static void set_store_error(struct cx_result *r, int rc)
{
	if (rc == -ENOENT)
		set_exp(r, CX_ERROR_USER_UNKNOWN);
	else if (rc == -EXDEV)
		set_exp(r, CX_ERROR_IDENTITIES_DONT_MATCH);
	else if (rc == -EINVAL)
		set_base(r, DIA_INVALID_AVP_VALUE);
	else
		set_base(r, DIA_UNABLE_TO_COMPLY);
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src);
}

/* TS 29.229 6.3.4: Server-Capabilities. The HSS holds no per-subscriber capability
 * requirements, so it names the S-CSCFs of its domain as preferred servers and lets the
 * I-CSCF match their advertised capabilities (TS 29.228 6.7). */
static void fill_capabilities(const struct hss *h, struct cx_capabilities *caps)
{
	const struct topo_domain *d = h->node->domain;

	caps->present = true;
	for (size_t i = 0; i < d->n_nodes && caps->n_server_names < CX_LIST_MAX; i++) {
		const struct topo_node *n = &d->nodes[i];

		if (n->role != TOPO_SCSCF)
			continue;
		snprintf(caps->server_names[caps->n_server_names++], CX_ID_MAX, "sip:%s:%u",
		         n->fqdn, n->sip_port);
	}
}

static bool is_served(enum hss_reg_state state)
{
	return state == HSS_REGISTERED || state == HSS_UNREGISTERED;
}

/* TS 29.228 6.1.1.1 step 3: a barred identity may register only as part of an implicit
 * registration set that holds a non-barred one. */
static bool registration_barred(const struct hss_subscriber *sub)
{
	if (sub->barred)
		return true;
	for (size_t i = 0; i < sub->n_impus; i++)
		if (!sub->impus[i].barred)
			return false;
	return true;
}

void hss_cx_on_uar(struct hss *h, const struct cx_uar *q, struct cx_uaa *a)
{
	struct hss_subscriber sub;
	int rc;

	rc = hss_store_impu_check(h->store, q->user_name, q->public_identity);
	if (rc == 0)
		rc = hss_store_get(h->store, q->user_name, &sub);
	if (rc < 0) {
		set_store_error(&a->result, rc);
		return;
	}
	if (q->auth_type != CX_AUTH_DE_REGISTRATION && registration_barred(&sub)) {
		set_base(&a->result, DIA_AUTHORIZATION_REJECTED);
		return;
	}
	/* Step 4: the lab's roaming policy is home-only; a P-CSCF of another domain is a
	 * visited network this subscriber may not roam into. */
	if (q->auth_type != CX_AUTH_DE_REGISTRATION &&
	    strcasecmp(q->visited_network, h->node->domain->name) != 0) {
		set_exp(&a->result, CX_ERROR_ROAMING_NOT_ALLOWED);
		return;
	}
	switch (q->auth_type) {
	case CX_AUTH_DE_REGISTRATION:
		if (!is_served(sub.reg_state)) {
			set_exp(&a->result, CX_ERROR_IDENTITY_NOT_REGISTERED);
			return;
		}
		set_base(&a->result, DIA_SUCCESS);
		copy_str(a->server_name, sizeof(a->server_name), sub.scscf_name);
		return;
	case CX_AUTH_REGISTRATION_AND_CAPABILITIES:
		set_exp(&a->result, CX_FIRST_REGISTRATION);
		fill_capabilities(h, &a->capabilities);
		return;
	case CX_AUTH_REGISTRATION:
		break;
	}
	/* Step 5: an assigned S-CSCF (registered, unregistered, or kept after a
	 * de-registration) is reused; otherwise the I-CSCF selects one. */
	if (sub.scscf_name[0]) {
		set_exp(&a->result, CX_SUBSEQUENT_REGISTRATION);
		copy_str(a->server_name, sizeof(a->server_name), sub.scscf_name);
	} else {
		set_exp(&a->result, CX_FIRST_REGISTRATION);
		fill_capabilities(h, &a->capabilities);
	}
}

void hss_cx_on_lir(struct hss *h, const struct cx_lir *q, struct cx_lia *a)
{
	struct hss_impu_info info;
	int rc = hss_store_impu_get(h->store, q->public_identity, &info);

	if (rc < 0) {
		set_store_error(&a->result, rc);
		return;
	}
	if (q->auth_type == CX_AUTH_REGISTRATION_AND_CAPABILITIES) {
		set_base(&a->result, DIA_SUCCESS);
		fill_capabilities(h, &a->capabilities);
		return;
	}
	/* TS 29.228 6.1.4.1: registered or unregistered (an S-CSCF holds the profile) ->
	 * that S-CSCF. Otherwise every subscriber of the lab has services for the
	 * unregistered state (at least the S-CSCF's 480), so the answer is
	 * UNREGISTERED_SERVICE with capabilities for the I-CSCF to pick an S-CSCF. */
	if (is_served(info.serving.reg_state)) {
		set_base(&a->result, DIA_SUCCESS);
		copy_str(a->server_name, sizeof(a->server_name), info.serving.scscf_name);
	} else if (info.serving.scscf_name[0]) {
		set_exp(&a->result, CX_UNREGISTERED_SERVICE);
		copy_str(a->server_name, sizeof(a->server_name), info.serving.scscf_name);
	} else {
		set_exp(&a->result, CX_UNREGISTERED_SERVICE);
		fill_capabilities(h, &a->capabilities);
	}
}

/* Appends text to buf with the five XML special characters escaped. */
static void xml_append(char *buf, size_t size, size_t *len, const char *text, bool escape)
{
	for (const char *p = text; *p && *len + 8 < size; p++) {
		const char *rep = NULL;

		if (escape) {
			switch (*p) {
			case '<':
				rep = "&lt;";
				break;
			case '>':
				rep = "&gt;";
				break;
			case '&':
				rep = "&amp;";
				break;
			case '"':
				rep = "&quot;";
				break;
			case '\'':
				rep = "&apos;";
				break;
			}
		}
		if (rep) {
			size_t n = strlen(rep);

			memcpy(buf + *len, rep, n);
			*len += n;
		} else {
			buf[(*len)++] = *p;
		}
	}
	buf[*len] = '\0';
}

char *hss_cx_user_data(const struct hss_subscriber *sub)
{
	size_t size = 512 + sub->n_impus * (HSS_URI_MAX * 6 + 128) + HSS_IMPI_MAX * 6;
	char *xml = malloc(size);
	size_t len = 0;

	if (!xml)
		return NULL;
	xml[0] = '\0';
	/* TS 29.228 Annex E (and D.2): one IMSSubscription, one ServiceProfile holding the
	 * implicit registration set; BarringIndication comes before Identity. */
	xml_append(xml, size, &len,
	           "<?xml version=\"1.0\" encoding=\"UTF-8\"?><IMSSubscription><PrivateID>", false);
	xml_append(xml, size, &len, sub->impi, true);
	xml_append(xml, size, &len, "</PrivateID><ServiceProfile>", false);
	for (size_t i = 0; i < sub->n_impus; i++) {
		xml_append(xml, size, &len, "<PublicIdentity>", false);
		if (sub->impus[i].barred || sub->barred)
			xml_append(xml, size, &len, "<BarringIndication>1</BarringIndication>",
			           false);
		xml_append(xml, size, &len, "<Identity>", false);
		xml_append(xml, size, &len, sub->impus[i].uri, true);
		xml_append(xml, size, &len, "</Identity></PublicIdentity>", false);
	}
	xml_append(xml, size, &len, "</ServiceProfile></IMSSubscription>", false);
	return xml;
}

/* Resolves the IMPI a SAR is about (User-Name, else its first Public-Identity) and
 * checks every Public-Identity belongs to it. */
static int sar_subscriber(struct hss *h, const struct cx_sar *q, struct hss_subscriber *sub)
{
	const char *impi = q->user_name;
	struct hss_impu_info info;
	int rc;

	if (!impi[0]) {
		rc = hss_store_impu_get(h->store, q->public_identities[0], &info);
		if (rc < 0)
			return rc;
		impi = info.impi;
	}
	for (size_t i = 0; i < q->n_public_identities; i++) {
		rc = hss_store_impu_check(h->store, impi, q->public_identities[i]);
		if (rc < 0)
			return rc;
	}
	return hss_store_get(h->store, impi, sub);
}

/* TS 29.228 6.1.2.1: what each Server-Assignment-Type does to the stored S-CSCF and
 * registration state. Returns the Cx result to answer with. */
static void sar_assign(struct hss *h, const struct cx_sar *q, struct hss_subscriber *sub,
                       struct cx_saa *a, bool *send_user_data)
{
	const char *keep = NULL;
	enum hss_reg_state state = sub->reg_state;
	bool change = true;
	int rc;

	*send_user_data = false;
	switch (q->assignment_type) {
	case CX_SAT_NO_ASSIGNMENT:
		if (strcmp(sub->scscf_name, q->server_name) != 0) {
			set_base(&a->result, DIA_UNABLE_TO_COMPLY);
			return;
		}
		change = false;
		*send_user_data = true;
		break;
	case CX_SAT_REGISTRATION:
	case CX_SAT_RE_REGISTRATION:
		keep = q->server_name;
		state = HSS_REGISTERED;
		*send_user_data = !(q->assignment_type == CX_SAT_RE_REGISTRATION &&
		                    q->user_data_available == CX_USER_DATA_ALREADY_AVAILABLE);
		break;
	case CX_SAT_UNREGISTERED_USER:
		/* A registered user keeps its registration; only the S-CSCF is confirmed. */
		keep = q->server_name;
		if (state != HSS_REGISTERED)
			state = HSS_UNREGISTERED;
		*send_user_data = true;
		break;
	case CX_SAT_TIMEOUT_DEREGISTRATION:
	case CX_SAT_USER_DEREGISTRATION:
	case CX_SAT_ADMINISTRATIVE_DEREGISTRATION:
	case CX_SAT_DEREGISTRATION_TOO_MUCH_DATA:
		state = HSS_NOT_REGISTERED;
		break;
	case CX_SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME:
	case CX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME:
		/* The HSS keeps the name, so the user is "unregistered": the S-CSCF still
		 * serves it for terminating requests (TS 29.228 6.1.2.1). */
		keep = q->server_name;
		state = HSS_UNREGISTERED;
		break;
	case CX_SAT_AUTHENTICATION_FAILURE:
	case CX_SAT_AUTHENTICATION_TIMEOUT:
		/* Only an authentication pending from NOT_REGISTERED is rolled back. */
		if (state != HSS_NOT_REGISTERED)
			change = false;
		break;
	case CX_SAT_AAA_USER_DATA_REQUEST:
	case CX_SAT_PGW_UPDATE:
	case CX_SAT_RESTORATION:
		change = false;
		*send_user_data = true;
		break;
	default:
		set_exp(&a->result, CX_ERROR_IN_ASSIGNMENT_TYPE);
		return;
	}
	if (change) {
		rc = hss_store_serving_set(h->store, sub->impi, keep, state, NULL);
		if (rc < 0) {
			set_store_error(&a->result, rc);
			*send_user_data = false;
			return;
		}
	}
	set_base(&a->result, DIA_SUCCESS);
}

static bool sar_is_deregistration(enum cx_sat type)
{
	switch (type) {
	case CX_SAT_TIMEOUT_DEREGISTRATION:
	case CX_SAT_USER_DEREGISTRATION:
	case CX_SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME:
	case CX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME:
	case CX_SAT_ADMINISTRATIVE_DEREGISTRATION:
	case CX_SAT_DEREGISTRATION_TOO_MUCH_DATA:
		return true;
	default:
		return false;
	}
}

void hss_cx_on_sar(struct hss *h, const struct cx_sar *q, struct cx_saa *a)
{
	struct hss_subscriber sub;
	bool send_user_data;
	int rc;

	if (!q->user_name[0] && q->n_public_identities == 0) {
		set_base(&a->result, DIA_MISSING_AVP);
		copy_str(a->result.error_message, sizeof(a->result.error_message),
		         "neither User-Name nor Public-Identity present");
		return;
	}
	/* TS 29.228 6.1.2.1: several Public-Identity AVPs are only for de-registrations. */
	if (q->n_public_identities > 1 && !sar_is_deregistration(q->assignment_type)) {
		set_base(&a->result, DIA_AVP_OCCURS_TOO_MANY_TIMES);
		copy_str(a->result.error_message, sizeof(a->result.error_message),
		         "several Public-Identity AVPs in a non de-registration SAR");
		return;
	}
	rc = sar_subscriber(h, q, &sub);
	if (rc < 0) {
		set_store_error(&a->result, rc);
		return;
	}
	sar_assign(h, q, &sub, a, &send_user_data);
	if (!cx_result_success(&a->result))
		return;
	copy_str(a->user_name, sizeof(a->user_name), sub.impi);
	if (send_user_data) {
		a->user_data = hss_cx_user_data(&sub);
		if (!a->user_data) {
			set_base(&a->result, DIA_UNABLE_TO_COMPLY);
			return;
		}
		a->user_data_len = strlen(a->user_data);
	}
}

static bool scheme_is(const char *scheme, const char *name)
{
	return strcasecmp(scheme, name) == 0;
}

static void opc_of(const struct hss_auth *auth, uint8_t opc[16])
{
	if (auth->opc)
		memcpy(opc, auth->op, 16);
	else
		milenage_opc(auth->k, auth->op, opc);
}

/* TS 33.102 6.3.5: the AUTS carried in SIP-Authorization (RAND || AUTS). When SQN_HE's
 * successor would be accepted by the USIM the HE keeps its counter; otherwise it adopts
 * SQN_MS. Either way a fresh vector follows. */
static int mar_resync(struct hss *h, const struct cx_mar *q, const struct hss_auth *auth, size_t n,
                      struct hss_auth *out, uint64_t *sqns)
{
	const uint8_t *rand = q->item.authorization;
	uint64_t sqn_ms, seq_he, seq_ms;
	uint8_t opc[16];

	opc_of(auth, opc);
	if (aka_auts_verify(auth->k, opc, rand, rand + AKA_RAND_LEN, &sqn_ms) < 0)
		return -EBADMSG;
	atomic_fetch_add_explicit(&h->stats.resyncs, 1, memory_order_relaxed);
	seq_he = aka_sqn_seq(auth->sqn);
	seq_ms = aka_sqn_seq(sqn_ms);
	if (seq_he > seq_ms && seq_he - seq_ms < AKA_SQN_DELTA)
		return hss_store_sqn_next(h->store, q->user_name, n, out, sqns);
	return hss_store_sqn_resync(h->store, q->user_name, sqn_ms, n, out, sqns);
}

/* TS 29.228 6.3.1 with TS 33.203: n Digest-AKAv1-MD5 vectors, one fresh SQN each. */
static void mar_aka(struct hss *h, const struct cx_mar *q, const struct hss_auth *auth,
                    struct cx_maa *a)
{
	uint64_t sqns[CX_ITEMS_MAX];
	struct hss_auth used;
	size_t n = q->number_auth_items;
	uint8_t opc[16];
	int rc;

	if (n == 0)
		n = 1;
	if (n > CX_ITEMS_MAX)
		n = CX_ITEMS_MAX;
	if (q->item.authorization_len == AKA_RAND_LEN + AKA_AUTS_LEN)
		rc = mar_resync(h, q, auth, n, &used, sqns);
	else if (q->item.authorization_len != 0)
		rc = -EPROTO;
	else
		rc = hss_store_sqn_next(h->store, q->user_name, n, &used, sqns);
	if (rc == -EBADMSG || rc == -EPROTO) {
		set_base(&a->result, DIA_AUTHENTICATION_REJECTED);
		copy_str(a->result.error_message, sizeof(a->result.error_message),
		         rc == -EBADMSG ? "AUTS: MAC-S verification failed"
		                        : "SIP-Authorization: expected RAND||AUTS (30 bytes)");
		return;
	}
	if (rc < 0) {
		set_store_error(&a->result, rc);
		return;
	}
	opc_of(&used, opc);
	for (size_t i = 0; i < n; i++) {
		struct cx_auth_item *it = &a->items[i];
		struct aka_vector v;

		if (aka_vector_make(used.k, opc, used.amf, sqns[i], NULL, &v) < 0) {
			set_base(&a->result, DIA_UNABLE_TO_COMPLY);
			return;
		}
		it->item_number = (uint32_t)i + 1;
		copy_str(it->scheme, sizeof(it->scheme), CX_SCHEME_AKAV1_MD5);
		memcpy(it->authenticate, v.rand, 16);
		memcpy(it->authenticate + 16, v.autn, 16);
		it->authenticate_len = 32;
		memcpy(it->authorization, v.xres, sizeof(v.xres));
		it->authorization_len = sizeof(v.xres);
		memcpy(it->ck, v.ck, 16);
		it->ck_len = 16;
		memcpy(it->ik, v.ik, 16);
		it->ik_len = 16;
	}
	a->n_items = n;
	a->number_auth_items = (uint32_t)n;
	atomic_fetch_add_explicit(&h->stats.vectors, n, memory_order_relaxed);
	set_base(&a->result, DIA_SUCCESS);
}

/* TS 29.228 6.3.1 / TS 29.229 6.3.36: SIP Digest, the HSS hands out H(A1), never the
 * password. The realm is the home domain; the username is the IMPI. */
static void mar_digest(struct hss *h, const struct cx_mar *q, const struct hss_auth *auth,
                       const char *scheme, struct cx_maa *a)
{
	struct cx_auth_item *it = &a->items[0];
	const char *realm = h->node->domain->name;

	if (digest_ha1(q->user_name, realm, auth->password, strlen(auth->password),
	               it->digest.ha1) < 0) {
		set_base(&a->result, DIA_UNABLE_TO_COMPLY);
		return;
	}
	it->item_number = 1;
	copy_str(it->scheme, sizeof(it->scheme), scheme);
	it->digest.present = true;
	copy_str(it->digest.realm, sizeof(it->digest.realm), realm);
	copy_str(it->digest.qop, sizeof(it->digest.qop), "auth");
	copy_str(it->digest.algorithm, sizeof(it->digest.algorithm), "MD5");
	a->n_items = 1;
	a->number_auth_items = 1;
	set_base(&a->result, DIA_SUCCESS);
}

void hss_cx_on_mar(struct hss *h, const struct cx_mar *q, struct cx_maa *a)
{
	const char *scheme = q->item.scheme;
	struct hss_auth auth;
	bool aka, digest;
	int rc;

	rc = hss_store_impu_check(h->store, q->user_name, q->public_identity);
	if (rc == 0)
		rc = hss_store_auth_get(h->store, q->user_name, &auth);
	if (rc < 0) {
		set_store_error(&a->result, rc);
		return;
	}
	copy_str(a->user_name, sizeof(a->user_name), q->user_name);
	copy_str(a->public_identity, sizeof(a->public_identity), q->public_identity);
	aka = scheme_is(scheme, CX_SCHEME_AKAV1_MD5);
	digest = scheme_is(scheme, CX_SCHEME_SIP_DIGEST) || scheme_is(scheme, CX_SCHEME_DIGEST_MD5);
	/* "Unknown" (or no scheme) leaves the choice to the HSS: AKA when it can. */
	if (!aka && !digest && (!scheme[0] || scheme_is(scheme, CX_SCHEME_UNKNOWN))) {
		aka = auth.has_k;
		digest = !aka;
		scheme = CX_SCHEME_SIP_DIGEST;
	}
	if (aka && auth.has_k)
		mar_aka(h, q, &auth, a);
	else if (digest && auth.password[0])
		mar_digest(h, q, &auth, scheme, a);
	else
		set_exp(&a->result, CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED);
}

/* Logs and counts one answered request. */
static void account(struct hss *h, enum hss_cx_cmd cmd, const struct cx_result *r, const char *who,
                    uint64_t t0)
{
	uint64_t us = (loop_clock_us() - t0);

	hss_stats_answer(&h->stats, cmd, r->code, us);
	if (log_enabled(LOGL_DEBUG))
		log_debug("%s %s -> %u %s", hss_stats_cmd_name(cmd), who, r->code,
		          dia_cx_result_name(r->code, r->experimental));
}

/* Answers a request that failed to decode with the error dia_cx found. */
static int answer_decode_error(struct hss *h, enum hss_cx_cmd cmd, struct msg **msg,
                               const struct cx_error *err, uint64_t t0)
{
	struct cx_result r = {.code = err->result, .experimental = err->experimental};

	log_info("%s refused: %s", hss_stats_cmd_name(cmd), err->message);
	account(h, cmd, &r, "-", t0);
	return dia_cx_answer_error(msg, err);
}

static int on_uar(struct msg **msg, void *arg)
{
	struct hss *h = arg;
	uint64_t t0 = loop_clock_us();
	struct cx_uar q;
	struct cx_uaa a = {0};
	struct cx_error err;

	if (dia_cx_uar_parse(*msg, &q, &err) < 0)
		return answer_decode_error(h, HSS_CX_UAR, msg, &err, t0);
	hss_cx_on_uar(h, &q, &a);
	account(h, HSS_CX_UAR, &a.result, q.public_identity, t0);
	return dia_cx_uaa_answer(msg, &a);
}

static int on_sar(struct msg **msg, void *arg)
{
	struct hss *h = arg;
	uint64_t t0 = loop_clock_us();
	struct cx_sar q;
	struct cx_saa a = {0};
	struct cx_error err;
	int rc;

	if (dia_cx_sar_parse(*msg, &q, &err) < 0)
		return answer_decode_error(h, HSS_CX_SAR, msg, &err, t0);
	hss_cx_on_sar(h, &q, &a);
	account(h, HSS_CX_SAR, &a.result, q.user_name, t0);
	rc = dia_cx_saa_answer(msg, &a);
	free(a.user_data);
	return rc;
}

static int on_lir(struct msg **msg, void *arg)
{
	struct hss *h = arg;
	uint64_t t0 = loop_clock_us();
	struct cx_lir q;
	struct cx_lia a = {0};
	struct cx_error err;

	if (dia_cx_lir_parse(*msg, &q, &err) < 0)
		return answer_decode_error(h, HSS_CX_LIR, msg, &err, t0);
	hss_cx_on_lir(h, &q, &a);
	account(h, HSS_CX_LIR, &a.result, q.public_identity, t0);
	return dia_cx_lia_answer(msg, &a);
}

static int on_mar(struct msg **msg, void *arg)
{
	struct hss *h = arg;
	uint64_t t0 = loop_clock_us();
	struct cx_mar q;
	struct cx_maa a = {0};
	struct cx_error err;

	if (dia_cx_mar_parse(*msg, &q, &err) < 0)
		return answer_decode_error(h, HSS_CX_MAR, msg, &err, t0);
	hss_cx_on_mar(h, &q, &a);
	account(h, HSS_CX_MAR, &a.result, q.user_name, t0);
	return dia_cx_maa_answer(msg, &a);
}

size_t hss_cx_handlers(struct hss *h, struct dia_handler *out, size_t max)
{
	const struct dia_handler rows[] = {
	    {CX_CMD_UAR, on_uar, h},
	    {CX_CMD_SAR, on_sar, h},
	    {CX_CMD_LIR, on_lir, h},
	    {CX_CMD_MAR, on_mar, h},
	};
	size_t n = sizeof(rows) / sizeof(rows[0]);

	if (n > max)
		n = max;
	memcpy(out, rows, n * sizeof(rows[0]));
	return n;
}
