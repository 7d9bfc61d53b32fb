/* The Cx application over freeDiameter (TS 29.229 Release 15): the dictionary is defined
 * here with fd_dict_new (no dict_dcca_3gpp extension needed) and resolved once into
 * handles; the codec walks one field table per command, so building and parsing never
 * search the dictionary. Everything read from the network is bounded by the struct it
 * lands in (dia_cx.h); an oversize, repeated or missing AVP yields a precise cx_error
 * that dia_cx_answer_error() turns into the RFC 6733 7.5 Failed-AVP answer. */
#include "dia_cx.h"
#include "log.h"

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Every AVP the codec touches; the index into avp_defs and avp_obj. */
enum cx_avp {
	/* RFC 6733 base protocol, already in freeDiameter's dictionary */
	A_SESSION_ID,
	A_AUTH_SESSION_STATE,
	A_ORIGIN_HOST,
	A_ORIGIN_REALM,
	A_DEST_HOST,
	A_DEST_REALM,
	A_VSAI,
	A_VENDOR_ID,
	A_AUTH_APP_ID,
	A_RESULT_CODE,
	A_EXP_RESULT,
	A_EXP_RESULT_CODE,
	A_USER_NAME,
	A_FAILED_AVP,
	A_ERROR_MESSAGE,
	/* RFC 4740 Diameter SIP application, used inside SIP-Digest-Authenticate */
	A_DIGEST_REALM,
	A_DIGEST_QOP,
	A_DIGEST_ALGORITHM,
	A_DIGEST_HA1,
	/* TS 29.229 6.3 */
	A_VISITED_NETWORK,
	A_PUBLIC_IDENTITY,
	A_SERVER_NAME,
	A_SERVER_CAPABILITIES,
	A_MANDATORY_CAPABILITY,
	A_OPTIONAL_CAPABILITY,
	A_USER_DATA,
	A_SIP_NUMBER_AUTH_ITEMS,
	A_SIP_AUTH_SCHEME,
	A_SIP_AUTHENTICATE,
	A_SIP_AUTHORIZATION,
	A_SIP_AUTH_CONTEXT,
	A_SIP_AUTH_DATA_ITEM,
	A_SIP_ITEM_NUMBER,
	A_SERVER_ASSIGNMENT_TYPE,
	A_DEREGISTRATION_REASON,
	A_REASON_CODE,
	A_REASON_INFO,
	A_CHARGING_INFORMATION,
	A_PRIMARY_ECF,
	A_SECONDARY_ECF,
	A_PRIMARY_CCF,
	A_SECONDARY_CCF,
	A_USER_AUTHORIZATION_TYPE,
	A_USER_DATA_ALREADY_AVAILABLE,
	A_CONFIDENTIALITY_KEY,
	A_INTEGRITY_KEY,
	A_SUPPORTED_FEATURES,
	A_FEATURE_LIST_ID,
	A_FEATURE_LIST,
	A_SUPPORTED_APPLICATIONS,
	A_ASSOCIATED_IDENTITIES,
	A_ORIGINATING_REQUEST,
	A_WILDCARDED_PUBLIC_IDENTITY,
	A_SIP_DIGEST_AUTHENTICATE,
	A_UAR_FLAGS,
	A_LOOSE_ROUTE_INDICATION,
	A_SCSCF_RESTORATION_INFO,
	A_PATH,
	A_CONTACT,
	A_SUBSCRIPTION_INFO,
	A_CALL_ID_SIP_HEADER,
	A_FROM_SIP_HEADER,
	A_TO_SIP_HEADER,
	A_RECORD_ROUTE,
	A_ASSOCIATED_REGISTERED_IDENTITIES,
	A_MULTIPLE_REGISTRATION_INDICATION,
	A_RESTORATION_INFO,
	A_SESSION_PRIORITY,
	A_IDENTITY_WITH_EMERGENCY_REGISTRATION,
	A_PRIVILEDGED_SENDER_INDICATION,
	A_LIA_FLAGS,
	A_INITIAL_CSEQ_SEQUENCE_NUMBER,
	A_SAR_FLAGS,
	A_COUNT
};

/* How an AVP's value is typed in the dictionary. */
enum cx_vtype {
	V_BASE,    /* defined by freeDiameter's base dictionary: resolved, never created */
	V_OS,      /* OctetString */
	V_UTF8,    /* UTF8String */
	V_URI,     /* DiameterURI */
	V_U32,     /* Unsigned32 */
	V_ENUM,    /* Enumerated (Integer32 with named values) */
	V_GROUPED, /* Grouped */
};

/* The M bit rule of TS 29.229 Table 6.3.1 (the V bit is always set for vendor AVPs). */
enum cx_mrule {
	M_MUST,    /* M must be set */
	M_MUSTNOT, /* M must not be set */
	M_MAY,     /* M may be set: we send it clear and accept both */
};

struct cx_enumval {
	const char *name; /* name as spelled in the specification */
	int32_t value;    /* its value */
};

struct cx_avp_def {
	uint32_t code;                  /* AVP code */
	uint32_t vendor;                /* 0 (IETF) or CX_VENDOR_3GPP */
	const char *name;               /* AVP name (also used in Failed-AVP reports) */
	enum cx_vtype type;             /* value type */
	enum cx_mrule mrule;            /* M bit rule */
	const struct cx_enumval *enums; /* V_ENUM: the named values */
	size_t n_enums;                 /* entries in enums */
};

#define ENUMS(a) a, sizeof(a) / sizeof(a[0])

/* TS 29.229 6.3.15 */
static const struct cx_enumval sat_enums[] = {
    {"NO_ASSIGNMENT", 0},
    {"REGISTRATION", 1},
    {"RE_REGISTRATION", 2},
    {"UNREGISTERED_USER", 3},
    {"TIMEOUT_DEREGISTRATION", 4},
    {"USER_DEREGISTRATION", 5},
    {"TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME", 6},
    {"USER_DEREGISTRATION_STORE_SERVER_NAME", 7},
    {"ADMINISTRATIVE_DEREGISTRATION", 8},
    {"AUTHENTICATION_FAILURE", 9},
    {"AUTHENTICATION_TIMEOUT", 10},
    {"DEREGISTRATION_TOO_MUCH_DATA", 11},
    {"AAA_USER_DATA_REQUEST", 12},
    {"PGW_UPDATE", 13},
    {"RESTORATION", 14},
};
/* TS 29.229 6.3.17 */
static const struct cx_enumval reason_enums[] = {
    {"PERMANENT_TERMINATION", 0},
    {"NEW_SERVER_ASSIGNED", 1},
    {"SERVER_CHANGE", 2},
    {"REMOVE_S-CSCF", 3},
};
/* TS 29.229 6.3.24 */
static const struct cx_enumval auth_type_enums[] = {
    {"REGISTRATION", 0},
    {"DE_REGISTRATION", 1},
    {"REGISTRATION_AND_CAPABILITIES", 2},
};
/* TS 29.229 6.3.26 */
static const struct cx_enumval udaa_enums[] = {
    {"USER_DATA_NOT_AVAILABLE", 0},
    {"USER_DATA_ALREADY_AVAILABLE", 1},
};
/* TS 29.229 6.3.34 */
static const struct cx_enumval orig_enums[] = {
    {"ORIGINATING", 0},
};
/* TS 29.229 6.3.45 */
static const struct cx_enumval loose_route_enums[] = {
    {"LOOSE_ROUTE_NOT_REQUIRED", 0},
    {"LOOSE_ROUTE_REQUIRED", 1},
};
/* TS 29.229 6.3.51 */
static const struct cx_enumval mri_enums[] = {
    {"NOT_MULTIPLE_REGISTRATION", 0},
    {"MULTIPLE_REGISTRATION", 1},
};
/* TS 29.229 6.3.56 */
static const struct cx_enumval priority_enums[] = {
    {"PRIORITY-0", 0}, {"PRIORITY-1", 1}, {"PRIORITY-2", 2}, {"PRIORITY-3", 3}, {"PRIORITY-4", 4},
};
/* TS 29.229 6.3.58 */
static const struct cx_enumval psi_enums[] = {
    {"NOT_PRIVILEDGED_SENDER", 0},
    {"PRIVILEDGED_SENDER", 1},
};

#define V3 CX_VENDOR_3GPP

/* TS 29.229 Table 6.3.1 (codes, types, M rule) and RFC 4740 Table 1 for Digest-*. */
static const struct cx_avp_def avp_defs[A_COUNT] = {
    [A_SESSION_ID] = {263, 0, "Session-Id", V_BASE, M_MUST, NULL, 0},
    [A_AUTH_SESSION_STATE] = {277, 0, "Auth-Session-State", V_BASE, M_MUST, NULL, 0},
    [A_ORIGIN_HOST] = {264, 0, "Origin-Host", V_BASE, M_MUST, NULL, 0},
    [A_ORIGIN_REALM] = {296, 0, "Origin-Realm", V_BASE, M_MUST, NULL, 0},
    [A_DEST_HOST] = {293, 0, "Destination-Host", V_BASE, M_MUST, NULL, 0},
    [A_DEST_REALM] = {283, 0, "Destination-Realm", V_BASE, M_MUST, NULL, 0},
    [A_VSAI] = {260, 0, "Vendor-Specific-Application-Id", V_BASE, M_MUST, NULL, 0},
    [A_VENDOR_ID] = {266, 0, "Vendor-Id", V_BASE, M_MUST, NULL, 0},
    [A_AUTH_APP_ID] = {258, 0, "Auth-Application-Id", V_BASE, M_MUST, NULL, 0},
    [A_RESULT_CODE] = {268, 0, "Result-Code", V_BASE, M_MUST, NULL, 0},
    [A_EXP_RESULT] = {297, 0, "Experimental-Result", V_BASE, M_MUST, NULL, 0},
    [A_EXP_RESULT_CODE] = {298, 0, "Experimental-Result-Code", V_BASE, M_MUST, NULL, 0},
    [A_USER_NAME] = {1, 0, "User-Name", V_BASE, M_MUST, NULL, 0},
    [A_FAILED_AVP] = {279, 0, "Failed-AVP", V_BASE, M_MUST, NULL, 0},
    [A_ERROR_MESSAGE] = {281, 0, "Error-Message", V_BASE, M_MUSTNOT, NULL, 0},
    [A_DIGEST_REALM] = {104, 0, "Digest-Realm", V_UTF8, M_MUST, NULL, 0},
    [A_DIGEST_QOP] = {110, 0, "Digest-QoP", V_UTF8, M_MUST, NULL, 0},
    [A_DIGEST_ALGORITHM] = {111, 0, "Digest-Algorithm", V_UTF8, M_MUST, NULL, 0},
    [A_DIGEST_HA1] = {121, 0, "Digest-HA1", V_OS, M_MUST, NULL, 0},
    [A_VISITED_NETWORK] = {600, V3, "Visited-Network-Identifier", V_OS, M_MUST, NULL, 0},
    [A_PUBLIC_IDENTITY] = {601, V3, "Public-Identity", V_UTF8, M_MUST, NULL, 0},
    [A_SERVER_NAME] = {602, V3, "Server-Name", V_UTF8, M_MUST, NULL, 0},
    [A_SERVER_CAPABILITIES] = {603, V3, "Server-Capabilities", V_GROUPED, M_MUST, NULL, 0},
    [A_MANDATORY_CAPABILITY] = {604, V3, "Mandatory-Capability", V_U32, M_MUST, NULL, 0},
    [A_OPTIONAL_CAPABILITY] = {605, V3, "Optional-Capability", V_U32, M_MUST, NULL, 0},
    [A_USER_DATA] = {606, V3, "User-Data", V_OS, M_MUST, NULL, 0},
    [A_SIP_NUMBER_AUTH_ITEMS] = {607, V3, "SIP-Number-Auth-Items", V_U32, M_MUST, NULL, 0},
    [A_SIP_AUTH_SCHEME] = {608, V3, "SIP-Authentication-Scheme", V_UTF8, M_MUST, NULL, 0},
    [A_SIP_AUTHENTICATE] = {609, V3, "SIP-Authenticate", V_OS, M_MUST, NULL, 0},
    [A_SIP_AUTHORIZATION] = {610, V3, "SIP-Authorization", V_OS, M_MUST, NULL, 0},
    [A_SIP_AUTH_CONTEXT] = {611, V3, "SIP-Authentication-Context", V_OS, M_MUST, NULL, 0},
    [A_SIP_AUTH_DATA_ITEM] = {612, V3, "SIP-Auth-Data-Item", V_GROUPED, M_MUST, NULL, 0},
    [A_SIP_ITEM_NUMBER] = {613, V3, "SIP-Item-Number", V_U32, M_MUST, NULL, 0},
    [A_SERVER_ASSIGNMENT_TYPE] = {614, V3, "Server-Assignment-Type", V_ENUM, M_MUST,
                                  ENUMS(sat_enums)},
    [A_DEREGISTRATION_REASON] = {615, V3, "Deregistration-Reason", V_GROUPED, M_MUST, NULL, 0},
    [A_REASON_CODE] = {616, V3, "Reason-Code", V_ENUM, M_MUST, ENUMS(reason_enums)},
    [A_REASON_INFO] = {617, V3, "Reason-Info", V_UTF8, M_MUST, NULL, 0},
    [A_CHARGING_INFORMATION] = {618, V3, "Charging-Information", V_GROUPED, M_MUST, NULL, 0},
    [A_PRIMARY_ECF] = {619, V3, "Primary-Event-Charging-Function-Name", V_URI, M_MUST, NULL, 0},
    [A_SECONDARY_ECF] = {620, V3, "Secondary-Event-Charging-Function-Name", V_URI, M_MUST, NULL, 0},
    [A_PRIMARY_CCF] = {621, V3, "Primary-Charging-Collection-Function-Name", V_URI, M_MUST, NULL,
                       0},
    [A_SECONDARY_CCF] = {622, V3, "Secondary-Charging-Collection-Function-Name", V_URI, M_MUST,
                         NULL, 0},
    [A_USER_AUTHORIZATION_TYPE] = {623, V3, "User-Authorization-Type", V_ENUM, M_MUST,
                                   ENUMS(auth_type_enums)},
    [A_USER_DATA_ALREADY_AVAILABLE] = {624, V3, "User-Data-Already-Available", V_ENUM, M_MUST,
                                       ENUMS(udaa_enums)},
    [A_CONFIDENTIALITY_KEY] = {625, V3, "Confidentiality-Key", V_OS, M_MUST, NULL, 0},
    [A_INTEGRITY_KEY] = {626, V3, "Integrity-Key", V_OS, M_MUST, NULL, 0},
    [A_SUPPORTED_FEATURES] = {628, V3, "Supported-Features", V_GROUPED, M_MAY, NULL, 0},
    [A_FEATURE_LIST_ID] = {629, V3, "Feature-List-ID", V_U32, M_MUSTNOT, NULL, 0},
    [A_FEATURE_LIST] = {630, V3, "Feature-List", V_U32, M_MUSTNOT, NULL, 0},
    [A_SUPPORTED_APPLICATIONS] = {631, V3, "Supported-Applications", V_GROUPED, M_MUSTNOT, NULL, 0},
    [A_ASSOCIATED_IDENTITIES] = {632, V3, "Associated-Identities", V_GROUPED, M_MUSTNOT, NULL, 0},
    [A_ORIGINATING_REQUEST] = {633, V3, "Originating-Request", V_ENUM, M_MUST, ENUMS(orig_enums)},
    [A_WILDCARDED_PUBLIC_IDENTITY] = {634, V3, "Wildcarded-Public-Identity", V_UTF8, M_MUSTNOT,
                                      NULL, 0},
    [A_SIP_DIGEST_AUTHENTICATE] = {635, V3, "SIP-Digest-Authenticate", V_GROUPED, M_MUSTNOT, NULL,
                                   0},
    [A_UAR_FLAGS] = {637, V3, "UAR-Flags", V_U32, M_MUSTNOT, NULL, 0},
    [A_LOOSE_ROUTE_INDICATION] = {638, V3, "Loose-Route-Indication", V_ENUM, M_MUSTNOT,
                                  ENUMS(loose_route_enums)},
    [A_SCSCF_RESTORATION_INFO] = {639, V3, "SCSCF-Restoration-Info", V_GROUPED, M_MUSTNOT, NULL, 0},
    [A_PATH] = {640, V3, "Path", V_OS, M_MUSTNOT, NULL, 0},
    [A_CONTACT] = {641, V3, "Contact", V_OS, M_MUSTNOT, NULL, 0},
    [A_SUBSCRIPTION_INFO] = {642, V3, "Subscription-Info", V_GROUPED, M_MUSTNOT, NULL, 0},
    [A_CALL_ID_SIP_HEADER] = {643, V3, "Call-ID-SIP-Header", V_OS, M_MUSTNOT, NULL, 0},
    [A_FROM_SIP_HEADER] = {644, V3, "From-SIP-Header", V_OS, M_MUSTNOT, NULL, 0},
    [A_TO_SIP_HEADER] = {645, V3, "To-SIP-Header", V_OS, M_MUSTNOT, NULL, 0},
    [A_RECORD_ROUTE] = {646, V3, "Record-Route", V_OS, M_MUSTNOT, NULL, 0},
    [A_ASSOCIATED_REGISTERED_IDENTITIES] = {647, V3, "Associated-Registered-Identities", V_GROUPED,
                                            M_MUSTNOT, NULL, 0},
    [A_MULTIPLE_REGISTRATION_INDICATION] = {648, V3, "Multiple-Registration-Indication", V_ENUM,
                                            M_MUSTNOT, ENUMS(mri_enums)},
    [A_RESTORATION_INFO] = {649, V3, "Restoration-Info", V_GROUPED, M_MUSTNOT, NULL, 0},
    [A_SESSION_PRIORITY] = {650, V3, "Session-Priority", V_ENUM, M_MUSTNOT, ENUMS(priority_enums)},
    [A_IDENTITY_WITH_EMERGENCY_REGISTRATION] = {651, V3, "Identity-with-Emergency-Registration",
                                                V_GROUPED, M_MUSTNOT, NULL, 0},
    [A_PRIVILEDGED_SENDER_INDICATION] = {652, V3, "Priviledged-Sender-Indication", V_ENUM,
                                         M_MUSTNOT, ENUMS(psi_enums)},
    [A_LIA_FLAGS] = {653, V3, "LIA-Flags", V_U32, M_MUSTNOT, NULL, 0},
    [A_INITIAL_CSEQ_SEQUENCE_NUMBER] = {654, V3, "Initial-CSeq-Sequence-Number", V_U32, M_MUSTNOT,
                                        NULL, 0},
    [A_SAR_FLAGS] = {655, V3, "SAR-Flags", V_U32, M_MUSTNOT, NULL, 0},
};

/* TS 29.229 6.1: the six commands, request and answer. */
static const struct {
	enum cx_cmd code;
	const char *request; /* request command name */
	const char *answer;  /* answer command name */
} cmd_defs[] = {
    {CX_CMD_UAR, "User-Authorization-Request", "User-Authorization-Answer"},
    {CX_CMD_SAR, "Server-Assignment-Request", "Server-Assignment-Answer"},
    {CX_CMD_LIR, "Location-Info-Request", "Location-Info-Answer"},
    {CX_CMD_MAR, "Multimedia-Auth-Request", "Multimedia-Auth-Answer"},
    {CX_CMD_RTR, "Registration-Termination-Request", "Registration-Termination-Answer"},
    {CX_CMD_PPR, "Push-Profile-Request", "Push-Profile-Answer"},
};
#define N_CMDS (sizeof(cmd_defs) / sizeof(cmd_defs[0]))

/* Handles resolved once by dia_cx_dict_init(); read-only afterwards, so every thread may
 * use them without locks. */
static struct dict_object *avp_obj[A_COUNT];
static struct dict_object *cmd_req_obj[N_CMDS];
static struct dict_object *cmd_ans_obj[N_CMDS];
static struct dict_object *app_obj;
static struct dict_object *vendor_obj;
static bool dict_ready;

/* ---- dictionary ---- */

static int dict_vendor(struct dictionary *dict)
{
	struct dict_vendor_data data = {CX_VENDOR_3GPP, "3GPP"};
	vendor_id_t id = CX_VENDOR_3GPP;
	int ret;

	ret = fd_dict_search(dict, DICT_VENDOR, VENDOR_BY_ID, &id, &vendor_obj, ENOENT);
	if (ret == 0)
		return 0;
	ret = fd_dict_new(dict, DICT_VENDOR, &data, NULL, &vendor_obj);
	return ret ? -ret : 0;
}

static int dict_application(struct dictionary *dict)
{
	struct dict_application_data data = {CX_APP_ID, "3GPP Cx"};
	application_id_t id = CX_APP_ID;
	int ret;

	ret = fd_dict_search(dict, DICT_APPLICATION, APPLICATION_BY_ID, &id, &app_obj, ENOENT);
	if (ret == 0)
		return 0;
	ret = fd_dict_new(dict, DICT_APPLICATION, &data, vendor_obj, &app_obj);
	return ret ? -ret : 0;
}

static int dict_commands(struct dictionary *dict)
{
	for (size_t i = 0; i < N_CMDS; i++) {
		/* RFC 6733 3: requests carry R and P; answers P, and E only on errors */
		struct dict_cmd_data req = {cmd_defs[i].code,
		                            (char *)(uintptr_t)cmd_defs[i].request,
		                            CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE | CMD_FLAG_ERROR,
		                            CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE};
		struct dict_cmd_data ans = {cmd_defs[i].code, (char *)(uintptr_t)cmd_defs[i].answer,
		                            CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE,
		                            CMD_FLAG_PROXIABLE};
		command_code_t code = cmd_defs[i].code;
		int ret;

		ret = fd_dict_search(dict, DICT_COMMAND, CMD_BY_CODE_R, &code, &cmd_req_obj[i],
		                     ENOENT);
		if (ret == ENOENT)
			ret = fd_dict_new(dict, DICT_COMMAND, &req, app_obj, &cmd_req_obj[i]);
		if (ret)
			return -ret;
		ret = fd_dict_search(dict, DICT_COMMAND, CMD_BY_CODE_A, &code, &cmd_ans_obj[i],
		                     ENOENT);
		if (ret == ENOENT)
			ret = fd_dict_new(dict, DICT_COMMAND, &ans, app_obj, &cmd_ans_obj[i]);
		if (ret)
			return -ret;
	}
	return 0;
}

/* An Enumerated AVP gets its own derived type holding the named values, so message dumps
 * and tshark-like tools print names. */
static int dict_enum_type(struct dictionary *dict, const struct cx_avp_def *d,
                          struct dict_object **type)
{
	char name[128];
	struct dict_type_data data;
	int ret;

	snprintf(name, sizeof(name), "Enumerated(%s/%s)", d->vendor ? "3GPP" : "IETF", d->name);
	memset(&data, 0, sizeof(data));
	data.type_base = AVP_TYPE_INTEGER32;
	data.type_name = name;
	ret = fd_dict_search(dict, DICT_TYPE, TYPE_BY_NAME, name, type, ENOENT);
	if (ret == 0)
		return 0;
	ret = fd_dict_new(dict, DICT_TYPE, &data, NULL, type);
	if (ret)
		return -ret;
	for (size_t i = 0; i < d->n_enums; i++) {
		struct dict_enumval_data ev;

		memset(&ev, 0, sizeof(ev));
		ev.enum_name = (char *)(uintptr_t)d->enums[i].name;
		ev.enum_value.i32 = d->enums[i].value;
		ret = fd_dict_new(dict, DICT_ENUMVAL, &ev, *type, NULL);
		if (ret)
			return -ret;
	}
	return 0;
}

static int dict_find_avp(struct dictionary *dict, const struct cx_avp_def *d,
                         struct dict_object **obj)
{
	struct dict_avp_request_ex req;

	if (d->vendor == 0)
		return fd_dict_search(dict, DICT_AVP, AVP_BY_CODE, &d->code, obj, ENOENT);
	memset(&req, 0, sizeof(req));
	req.avp_vendor.vendor = vendor_obj;
	req.avp_data.avp_code = d->code;
	return fd_dict_search(dict, DICT_AVP, AVP_BY_STRUCT, &req, obj, ENOENT);
}

static int dict_avp(struct dictionary *dict, const struct cx_avp_def *d, struct dict_object **obj)
{
	struct dict_avp_data data;
	struct dict_object *type = NULL;
	const char *type_name = NULL;
	int ret;

	ret = dict_find_avp(dict, d, obj);
	if (ret == 0 || d->type == V_BASE)
		return -ret;
	memset(&data, 0, sizeof(data));
	data.avp_code = d->code;
	data.avp_vendor = d->vendor;
	data.avp_name = (char *)(uintptr_t)d->name;
	data.avp_flag_mask = AVP_FLAG_VENDOR;
	data.avp_flag_val = d->vendor ? AVP_FLAG_VENDOR : 0;
	if (d->mrule != M_MAY)
		data.avp_flag_mask |= AVP_FLAG_MANDATORY;
	if (d->mrule == M_MUST)
		data.avp_flag_val |= AVP_FLAG_MANDATORY;
	switch (d->type) {
	case V_UTF8:
		type_name = "UTF8String";
		/* fall through */
	case V_OS:
		data.avp_basetype = AVP_TYPE_OCTETSTRING;
		break;
	case V_URI:
		type_name = "DiameterURI";
		data.avp_basetype = AVP_TYPE_OCTETSTRING;
		break;
	case V_U32:
		data.avp_basetype = AVP_TYPE_UNSIGNED32;
		break;
	case V_ENUM:
		data.avp_basetype = AVP_TYPE_INTEGER32;
		ret = dict_enum_type(dict, d, &type);
		if (ret)
			return ret;
		break;
	case V_GROUPED:
		data.avp_basetype = AVP_TYPE_GROUPED;
		break;
	case V_BASE:
		return -ENOENT;
	}
	if (type_name) {
		ret = fd_dict_search(dict, DICT_TYPE, TYPE_BY_NAME, type_name, &type, ENOENT);
		if (ret)
			return -ret;
	}
	ret = fd_dict_new(dict, DICT_AVP, &data, type, obj);
	return ret ? -ret : 0;
}

int dia_cx_dict_init(void)
{
	struct dictionary *dict;
	int ret;

	if (dict_ready)
		return 0;
	if (!fd_g_config || !fd_g_config->cnf_dict)
		return -EINVAL;
	dict = fd_g_config->cnf_dict;
	ret = dict_vendor(dict);
	if (ret)
		return ret;
	ret = dict_application(dict);
	if (ret)
		return ret;
	ret = dict_commands(dict);
	if (ret)
		return ret;
	for (int i = 0; i < A_COUNT; i++) {
		ret = dict_avp(dict, &avp_defs[i], &avp_obj[i]);
		if (ret) {
			log_err("dia_cx: cannot define AVP %s: %s", avp_defs[i].name,
			        strerror(-ret));
			return ret;
		}
	}
	dict_ready = true;
	return 0;
}

struct dict_object *dia_cx_app(void)
{
	return app_obj;
}

struct dict_object *dia_cx_vendor(void)
{
	return vendor_obj;
}

struct dict_object *dia_cx_command(enum cx_cmd code, bool request)
{
	for (size_t i = 0; i < N_CMDS; i++)
		if (cmd_defs[i].code == code)
			return request ? cmd_req_obj[i] : cmd_ans_obj[i];
	return NULL;
}

/* ---- field tables ---- */

/* How a struct member maps to an AVP. */
enum cx_fkind {
	F_STR,        /* char[size]: UTF8String/OctetString text without NUL bytes */
	F_BYTES,      /* uint8_t[size] with its size_t length at aux */
	F_U32,        /* uint32_t: Unsigned32 */
	F_ENUM,       /* 4-byte enum or uint32_t: Enumerated */
	F_STR_LIST,   /* char[max][size], size_t count at aux */
	F_U32_LIST,   /* uint32_t[max], size_t count at aux */
	F_GROUP,      /* grouped AVP; children in sub, relative to base + off */
	F_GROUP_LIST, /* array of max structs of size bytes; count at aux */
	F_HEAP,       /* char * (malloc'd on parse, NUL-terminated), size_t length at aux */
	F_RESULT,     /* Result-Code into the struct cx_result at off */
	F_EXP_RESULT, /* Experimental-Result into the struct cx_result at off */
	F_FAILED_AVP, /* Failed-AVP: code of its first child into cx_result at off */
	F_FLAG,       /* bool: an Enumerated AVP whose presence is the information (value 0) */
};

/* Field flags. */
#define FL_REQ    0x01 /* required: parse fails without it, build fails when empty */
#define FL_ALWAYS 0x02 /* numbers: always sent, even when 0 */
#define FL_HAS    0x04 /* numbers and groups: sent when the bool at aux is true; parse sets it */
#define AUX_NONE  UINT32_MAX

struct cx_table;

struct cx_field {
	uint8_t avp;                /* enum cx_avp */
	uint8_t kind;               /* enum cx_fkind */
	uint8_t flags;              /* FL_* */
	uint8_t max;                /* lists: capacity */
	uint32_t off;               /* offset of the value from the base */
	uint32_t size;              /* F_STR/F_BYTES capacity, F_STR_LIST/F_GROUP_LIST element */
	uint32_t aux;               /* offset of the length, count or presence bool */
	const struct cx_table *sub; /* groups: the children */
};

struct cx_table {
	const struct cx_field *f; /* fields in ABNF order */
	size_t n;                 /* entries in f */
};

#define MSZ(T, m) sizeof(((T *)0)->m)
#define NELEM(a)  (sizeof(a) / sizeof((a)[0]))
#define TABLE(a)                                                                                   \
	{                                                                                          \
		a, NELEM(a)                                                                        \
	}
#define F_S(id, T, m, fl)                                                                          \
	{                                                                                          \
		id, F_STR, fl, 0, offsetof(T, m), MSZ(T, m), AUX_NONE, NULL                        \
	}
#define F_B(id, T, m, lenm)                                                                        \
	{                                                                                          \
		id, F_BYTES, 0, 0, offsetof(T, m), MSZ(T, m), offsetof(T, lenm), NULL              \
	}
#define F_U(id, T, m, fl)                                                                          \
	{                                                                                          \
		id, F_U32, fl, 0, offsetof(T, m), 4, AUX_NONE, NULL                                \
	}
#define F_E(id, T, m, fl)                                                                          \
	{                                                                                          \
		id, F_ENUM, fl, 0, offsetof(T, m), 4, AUX_NONE, NULL                               \
	}
#define F_EH(id, T, m, hasm)                                                                       \
	{                                                                                          \
		id, F_ENUM, FL_HAS, 0, offsetof(T, m), 4, offsetof(T, hasm), NULL                  \
	}
#define F_SL(id, T, m, cntm)                                                                       \
	{                                                                                          \
		id, F_STR_LIST, 0, NELEM(((T *)0)->m), offsetof(T, m), MSZ(T, m[0]),               \
		    offsetof(T, cntm), NULL                                                        \
	}
#define F_UL(id, T, m, cntm)                                                                       \
	{                                                                                          \
		id, F_U32_LIST, 0, NELEM(((T *)0)->m), offsetof(T, m), 4, offsetof(T, cntm), NULL  \
	}
/* a group whose struct starts with "bool present" */
#define F_GP(id, T, m, tbl)                                                                        \
	{                                                                                          \
		id, F_GROUP, FL_HAS, 0, offsetof(T, m), 0, offsetof(T, m.present), &tbl            \
	}
/* a required group stored in the struct m */
#define F_GR(id, T, m, tbl)                                                                        \
	{                                                                                          \
		id, F_GROUP, FL_REQ, 0, offsetof(T, m), 0, AUX_NONE, &tbl                          \
	}
/* a required group whose children live directly in the parent struct */
#define F_GFLAT(id, tbl)                                                                           \
	{                                                                                          \
		id, F_GROUP, FL_REQ, 0, 0, 0, AUX_NONE, &tbl                                       \
	}
#define F_GL(id, T, m, cntm, tbl)                                                                  \
	{                                                                                          \
		id, F_GROUP_LIST, 0, NELEM(((T *)0)->m), offsetof(T, m), MSZ(T, m[0]),             \
		    offsetof(T, cntm), &tbl                                                        \
	}
#define F_H(id, T, m, lenm)                                                                        \
	{                                                                                          \
		id, F_HEAP, 0, 0, offsetof(T, m), 0, offsetof(T, lenm), NULL                       \
	}

/* TS 29.229 6.3.4 */
static const struct cx_field caps_f[] = {
    F_UL(A_MANDATORY_CAPABILITY, struct cx_capabilities, mandatory, n_mandatory),
    F_UL(A_OPTIONAL_CAPABILITY, struct cx_capabilities, optional, n_optional),
    F_SL(A_SERVER_NAME, struct cx_capabilities, server_names, n_server_names),
};
static const struct cx_table caps_t = TABLE(caps_f);

/* TS 29.229 6.3.36 */
static const struct cx_field digest_f[] = {
    F_S(A_DIGEST_REALM, struct cx_digest, realm, FL_REQ),
    F_S(A_DIGEST_ALGORITHM, struct cx_digest, algorithm, 0),
    F_S(A_DIGEST_QOP, struct cx_digest, qop, FL_REQ),
    F_S(A_DIGEST_HA1, struct cx_digest, ha1, FL_REQ),
};
static const struct cx_table digest_t = TABLE(digest_f);

/* TS 29.229 6.3.13 */
static const struct cx_field item_f[] = {
    F_U(A_SIP_ITEM_NUMBER, struct cx_auth_item, item_number, 0),
    F_S(A_SIP_AUTH_SCHEME, struct cx_auth_item, scheme, 0),
    F_B(A_SIP_AUTHENTICATE, struct cx_auth_item, authenticate, authenticate_len),
    F_B(A_SIP_AUTHORIZATION, struct cx_auth_item, authorization, authorization_len),
    F_B(A_CONFIDENTIALITY_KEY, struct cx_auth_item, ck, ck_len),
    F_B(A_INTEGRITY_KEY, struct cx_auth_item, ik, ik_len),
    F_GP(A_SIP_DIGEST_AUTHENTICATE, struct cx_auth_item, digest, digest_t),
};
static const struct cx_table item_t = TABLE(item_f);

/* TS 29.229 6.3.19 */
static const struct cx_field charging_f[] = {
    F_S(A_PRIMARY_ECF, struct cx_charging, primary_ecf, 0),
    F_S(A_SECONDARY_ECF, struct cx_charging, secondary_ecf, 0),
    F_S(A_PRIMARY_CCF, struct cx_charging, primary_ccf, 0),
    F_S(A_SECONDARY_CCF, struct cx_charging, secondary_ccf, 0),
};
static const struct cx_table charging_t = TABLE(charging_f);

/* TS 29.229 6.3.33, 6.3.50 */
static const struct cx_field identities_f[] = {
    F_SL(A_USER_NAME, struct cx_identities, user_names, n_user_names),
};
static const struct cx_table identities_t = TABLE(identities_f);

/* TS 29.229 6.3.16: children stored flat in struct cx_rtr */
static const struct cx_field dereg_f[] = {
    F_E(A_REASON_CODE, struct cx_rtr, reason_code, FL_REQ),
    F_S(A_REASON_INFO, struct cx_rtr, reason_info, 0),
};
static const struct cx_table dereg_t = TABLE(dereg_f);

/* RFC 6733 7.6: children stored in the struct cx_result the field points to */
static const struct cx_field exp_f[] = {
    F_U(A_VENDOR_ID, struct cx_result, vendor, FL_REQ),
    F_U(A_EXP_RESULT_CODE, struct cx_result, code, FL_REQ),
};
static const struct cx_table exp_t = TABLE(exp_f);

/* Header AVPs of requests and answers. All requests start with struct cx_hdr, all answers
 * with struct cx_hdr then struct cx_result (checked below), so one table serves all. */
static const struct cx_field req_hdr_f[] = {
    F_S(A_SESSION_ID, struct cx_uar, hdr.session_id, FL_REQ),
    F_S(A_ORIGIN_HOST, struct cx_uar, hdr.origin_host, FL_REQ),
    F_S(A_ORIGIN_REALM, struct cx_uar, hdr.origin_realm, FL_REQ),
    F_S(A_DEST_HOST, struct cx_uar, hdr.dest_host, 0),
    F_S(A_DEST_REALM, struct cx_uar, hdr.dest_realm, FL_REQ),
};
static const struct cx_table req_hdr_t = TABLE(req_hdr_f);

/* Answers are read leniently (an error answer made by a relay may lack Origin-Host): only
 * the result is checked, by dia_cx_answer_parse. */
static const struct cx_field ans_hdr_f[] = {
    F_S(A_SESSION_ID, struct cx_uaa, hdr.session_id, 0),
    F_S(A_ORIGIN_HOST, struct cx_uaa, hdr.origin_host, 0),
    F_S(A_ORIGIN_REALM, struct cx_uaa, hdr.origin_realm, 0),
    {A_RESULT_CODE, F_RESULT, 0, 0, offsetof(struct cx_uaa, result), 0, AUX_NONE, NULL},
    {A_EXP_RESULT, F_EXP_RESULT, 0, 0, offsetof(struct cx_uaa, result), 0, AUX_NONE, &exp_t},
    F_S(A_ERROR_MESSAGE, struct cx_uaa, result.error_message, 0),
    {A_FAILED_AVP, F_FAILED_AVP, 0, 0, offsetof(struct cx_uaa, result), 0, AUX_NONE, NULL},
};
static const struct cx_table ans_hdr_t = TABLE(ans_hdr_f);

#define SAME_HEAD(T)                                                                               \
	_Static_assert(offsetof(T, hdr) == 0 &&                                                    \
	                   offsetof(T, result) == offsetof(struct cx_uaa, result),                 \
	               #T " must start like struct cx_uaa")
SAME_HEAD(struct cx_saa);
SAME_HEAD(struct cx_lia);
SAME_HEAD(struct cx_maa);
SAME_HEAD(struct cx_rta);
SAME_HEAD(struct cx_ppa);
_Static_assert(sizeof(enum cx_sat) == 4 && sizeof(enum cx_auth_type) == 4 &&
                   sizeof(enum cx_reason_code) == 4 && sizeof(enum cx_user_data_available) == 4,
               "enum fields are read as 4-byte integers");

/* TS 29.229 6.1.1 */
static const struct cx_field uar_f[] = {
    F_S(A_USER_NAME, struct cx_uar, user_name, FL_REQ),
    F_S(A_PUBLIC_IDENTITY, struct cx_uar, public_identity, FL_REQ),
    F_S(A_VISITED_NETWORK, struct cx_uar, visited_network, FL_REQ),
    F_E(A_USER_AUTHORIZATION_TYPE, struct cx_uar, auth_type, FL_ALWAYS),
    F_U(A_UAR_FLAGS, struct cx_uar, uar_flags, 0),
};
/* TS 29.229 6.1.2 */
static const struct cx_field uaa_f[] = {
    F_S(A_SERVER_NAME, struct cx_uaa, server_name, 0),
    F_GP(A_SERVER_CAPABILITIES, struct cx_uaa, capabilities, caps_t),
};
/* TS 29.229 6.1.3 */
static const struct cx_field sar_f[] = {
    F_S(A_USER_NAME, struct cx_sar, user_name, 0),
    F_SL(A_PUBLIC_IDENTITY, struct cx_sar, public_identities, n_public_identities),
    F_S(A_WILDCARDED_PUBLIC_IDENTITY, struct cx_sar, wildcarded_public_identity, 0),
    F_S(A_SERVER_NAME, struct cx_sar, server_name, FL_REQ),
    F_E(A_SERVER_ASSIGNMENT_TYPE, struct cx_sar, assignment_type, FL_REQ),
    F_E(A_USER_DATA_ALREADY_AVAILABLE, struct cx_sar, user_data_available, FL_REQ),
    F_E(A_MULTIPLE_REGISTRATION_INDICATION, struct cx_sar, multiple_registration, 0),
    F_EH(A_SESSION_PRIORITY, struct cx_sar, session_priority, has_session_priority),
    F_U(A_SAR_FLAGS, struct cx_sar, sar_flags, 0),
};
/* TS 29.229 6.1.4 */
static const struct cx_field saa_f[] = {
    F_S(A_USER_NAME, struct cx_saa, user_name, 0),
    F_H(A_USER_DATA, struct cx_saa, user_data, user_data_len),
    F_GP(A_CHARGING_INFORMATION, struct cx_saa, charging, charging_t),
    F_GP(A_ASSOCIATED_IDENTITIES, struct cx_saa, associated, identities_t),
    F_E(A_LOOSE_ROUTE_INDICATION, struct cx_saa, loose_route, 0),
    F_GP(A_ASSOCIATED_REGISTERED_IDENTITIES, struct cx_saa, associated_registered, identities_t),
    F_S(A_SERVER_NAME, struct cx_saa, server_name, 0),
    F_S(A_WILDCARDED_PUBLIC_IDENTITY, struct cx_saa, wildcarded_public_identity, 0),
    F_E(A_PRIVILEDGED_SENDER_INDICATION, struct cx_saa, priviledged_sender, 0),
};
/* TS 29.229 6.1.5 */
static const struct cx_field lir_f[] = {
    {A_ORIGINATING_REQUEST, F_FLAG, 0, 0, offsetof(struct cx_lir, originating), 1, AUX_NONE, NULL},
    F_S(A_PUBLIC_IDENTITY, struct cx_lir, public_identity, FL_REQ),
    F_E(A_USER_AUTHORIZATION_TYPE, struct cx_lir, auth_type, 0),
    F_EH(A_SESSION_PRIORITY, struct cx_lir, session_priority, has_session_priority),
};
/* TS 29.229 6.1.6 */
static const struct cx_field lia_f[] = {
    F_S(A_SERVER_NAME, struct cx_lia, server_name, 0),
    F_GP(A_SERVER_CAPABILITIES, struct cx_lia, capabilities, caps_t),
    F_S(A_WILDCARDED_PUBLIC_IDENTITY, struct cx_lia, wildcarded_public_identity, 0),
    F_U(A_LIA_FLAGS, struct cx_lia, lia_flags, 0),
};
/* TS 29.229 6.1.7 */
static const struct cx_field mar_f[] = {
    F_S(A_USER_NAME, struct cx_mar, user_name, FL_REQ),
    F_S(A_PUBLIC_IDENTITY, struct cx_mar, public_identity, FL_REQ),
    F_GR(A_SIP_AUTH_DATA_ITEM, struct cx_mar, item, item_t),
    F_U(A_SIP_NUMBER_AUTH_ITEMS, struct cx_mar, number_auth_items, FL_REQ),
    F_S(A_SERVER_NAME, struct cx_mar, server_name, FL_REQ),
};
/* TS 29.229 6.1.8 */
static const struct cx_field maa_f[] = {
    F_S(A_USER_NAME, struct cx_maa, user_name, 0),
    F_S(A_PUBLIC_IDENTITY, struct cx_maa, public_identity, 0),
    F_U(A_SIP_NUMBER_AUTH_ITEMS, struct cx_maa, number_auth_items, 0),
    F_GL(A_SIP_AUTH_DATA_ITEM, struct cx_maa, items, n_items, item_t),
};
/* TS 29.229 6.1.9 */
static const struct cx_field rtr_f[] = {
    F_S(A_USER_NAME, struct cx_rtr, user_name, FL_REQ),
    F_SL(A_PUBLIC_IDENTITY, struct cx_rtr, public_identities, n_public_identities),
    F_GP(A_ASSOCIATED_IDENTITIES, struct cx_rtr, associated, identities_t),
    F_GFLAT(A_DEREGISTRATION_REASON, dereg_t),
};
/* TS 29.229 6.1.10 */
static const struct cx_field rta_f[] = {
    F_GP(A_ASSOCIATED_IDENTITIES, struct cx_rta, associated, identities_t),
};
/* TS 29.229 6.1.11 */
static const struct cx_field ppr_f[] = {
    F_S(A_USER_NAME, struct cx_ppr, user_name, FL_REQ),
    F_H(A_USER_DATA, struct cx_ppr, user_data, user_data_len),
    F_GP(A_CHARGING_INFORMATION, struct cx_ppr, charging, charging_t),
};

/* One row per enum cx_kind. */
static const struct cx_desc {
	const char *name;     /* "UAR" */
	enum cx_cmd code;     /* command code */
	bool request;         /* request or answer */
	bool need_dest_host;  /* RTR/PPR: Destination-Host is required */
	size_t size;          /* size of the kind's struct */
	struct cx_table body; /* the command's own AVPs */
} descs[CX_KIND_COUNT] = {
    [CX_UAR] = {"UAR", CX_CMD_UAR, true, false, sizeof(struct cx_uar), TABLE(uar_f)},
    [CX_UAA] = {"UAA", CX_CMD_UAR, false, false, sizeof(struct cx_uaa), TABLE(uaa_f)},
    [CX_SAR] = {"SAR", CX_CMD_SAR, true, false, sizeof(struct cx_sar), TABLE(sar_f)},
    [CX_SAA] = {"SAA", CX_CMD_SAR, false, false, sizeof(struct cx_saa), TABLE(saa_f)},
    [CX_LIR] = {"LIR", CX_CMD_LIR, true, false, sizeof(struct cx_lir), TABLE(lir_f)},
    [CX_LIA] = {"LIA", CX_CMD_LIR, false, false, sizeof(struct cx_lia), TABLE(lia_f)},
    [CX_MAR] = {"MAR", CX_CMD_MAR, true, false, sizeof(struct cx_mar), TABLE(mar_f)},
    [CX_MAA] = {"MAA", CX_CMD_MAR, false, false, sizeof(struct cx_maa), TABLE(maa_f)},
    [CX_RTR] = {"RTR", CX_CMD_RTR, true, true, sizeof(struct cx_rtr), TABLE(rtr_f)},
    [CX_RTA] = {"RTA", CX_CMD_RTR, false, false, sizeof(struct cx_rta), TABLE(rta_f)},
    [CX_PPR] = {"PPR", CX_CMD_PPR, true, true, sizeof(struct cx_ppr), TABLE(ppr_f)},
    [CX_PPA] = {"PPA", CX_CMD_PPR, false, false, sizeof(struct cx_ppa), {NULL, 0}},
};

/* ---- building ---- */

static int put_value(msg_or_avp *parent, enum cx_avp id, union avp_value *v)
{
	struct avp *avp = NULL;
	int ret;

	ret = fd_msg_avp_new(avp_obj[id], 0, &avp);
	if (ret)
		return -ret;
	ret = fd_msg_avp_setvalue(avp, v);
	if (ret == 0)
		ret = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp);
	if (ret) {
		fd_msg_free(avp);
		return -ret;
	}
	return 0;
}

static int put_os(msg_or_avp *parent, enum cx_avp id, const void *data, size_t len)
{
	union avp_value v;

	memset(&v, 0, sizeof(v));
	/* fd_msg_avp_setvalue copies the bytes; it never writes through the pointer */
	v.os.data = (uint8_t *)(uintptr_t)(len ? data : "");
	v.os.len = len;
	return put_value(parent, id, &v);
}

static int put_u32(msg_or_avp *parent, enum cx_avp id, uint32_t u32)
{
	union avp_value v;

	memset(&v, 0, sizeof(v));
	v.u32 = u32;
	return put_value(parent, id, &v);
}

static int put_i32(msg_or_avp *parent, enum cx_avp id, int32_t i32)
{
	union avp_value v;

	memset(&v, 0, sizeof(v));
	v.i32 = i32;
	return put_value(parent, id, &v);
}

/* Adds a NUL-terminated string of at most cap bytes; "" adds nothing. */
static int put_str(msg_or_avp *parent, enum cx_avp id, const char *s, size_t cap)
{
	size_t len = strnlen(s, cap);

	if (len == cap)
		return -EINVAL;
	if (len == 0)
		return 0;
	return put_os(parent, id, s, len);
}

static size_t get_size(const uint8_t *base, uint32_t off)
{
	size_t v;

	memcpy(&v, base + off, sizeof(v));
	return v;
}

static bool get_bool(const uint8_t *base, uint32_t off)
{
	bool v;

	memcpy(&v, base + off, sizeof(v));
	return v;
}

static int encode_table(msg_or_avp *parent, const struct cx_table *t, const uint8_t *base);

static int encode_group(msg_or_avp *parent, const struct cx_field *f, const uint8_t *gbase)
{
	struct avp *g = NULL;
	int ret;

	ret = fd_msg_avp_new(avp_obj[f->avp], 0, &g);
	if (ret)
		return -ret;
	ret = encode_table(g, f->sub, gbase);
	if (ret == 0) {
		ret = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, g);
		ret = -ret;
	}
	if (ret)
		fd_msg_free(g);
	return ret;
}

/* Whether a number field is to be sent. */
static bool number_present(const struct cx_field *f, const uint8_t *base, uint32_t v)
{
	if (f->flags & (FL_REQ | FL_ALWAYS))
		return true;
	if (f->flags & FL_HAS)
		return get_bool(base, f->aux);
	return v != 0;
}

static int encode_field(msg_or_avp *parent, const struct cx_field *f, const uint8_t *base)
{
	const uint8_t *p = base + f->off;
	uint32_t u32;
	size_t n;
	int ret;

	switch (f->kind) {
	case F_STR:
		if ((f->flags & FL_REQ) && p[0] == '\0')
			return -EINVAL;
		return put_str(parent, f->avp, (const char *)p, f->size);
	case F_BYTES:
		n = get_size(base, f->aux);
		if (n > f->size || ((f->flags & FL_REQ) && n == 0))
			return -EINVAL;
		return n ? put_os(parent, f->avp, p, n) : 0;
	case F_U32:
	case F_ENUM:
		memcpy(&u32, p, sizeof(u32));
		if (!number_present(f, base, u32))
			return 0;
		if (f->kind == F_U32)
			return put_u32(parent, f->avp, u32);
		return put_i32(parent, f->avp, (int32_t)u32);
	case F_FLAG:
		return get_bool(base, f->off) ? put_i32(parent, f->avp, 0) : 0;
	case F_STR_LIST:
	case F_U32_LIST:
	case F_GROUP_LIST:
		n = get_size(base, f->aux);
		if (n > f->max)
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			if (f->kind == F_STR_LIST) {
				ret =
				    put_str(parent, f->avp, (const char *)p + i * f->size, f->size);
			} else if (f->kind == F_U32_LIST) {
				memcpy(&u32, p + i * sizeof(uint32_t), sizeof(u32));
				ret = put_u32(parent, f->avp, u32);
			} else {
				ret = encode_group(parent, f, p + i * f->size);
			}
			if (ret)
				return ret;
		}
		return 0;
	case F_GROUP:
		if ((f->flags & FL_HAS) && !get_bool(base, f->aux))
			return 0;
		return encode_group(parent, f, p);
	case F_HEAP: {
		const char *data;

		memcpy(&data, p, sizeof(data));
		n = get_size(base, f->aux);
		if (!data || n == 0)
			return 0;
		if (n > CX_USER_DATA_MAX)
			return -EINVAL;
		return put_os(parent, f->avp, data, n);
	}
	default:
		/* results are written by put_result, never from a table */
		return 0;
	}
}

static int encode_table(msg_or_avp *parent, const struct cx_table *t, const uint8_t *base)
{
	for (size_t i = 0; i < t->n; i++) {
		int ret = encode_field(parent, &t->f[i], base);

		if (ret)
			return ret;
	}
	return 0;
}

/* TS 29.229 6.1: Vendor-Specific-Application-Id = { Vendor-Id 10415,
 * Auth-Application-Id 16777216 }. */
static int put_vsai(struct msg *m)
{
	struct avp *g = NULL;
	int ret;

	ret = fd_msg_avp_new(avp_obj[A_VSAI], 0, &g);
	if (ret)
		return -ret;
	ret = put_u32(g, A_VENDOR_ID, CX_VENDOR_3GPP);
	if (ret == 0)
		ret = put_u32(g, A_AUTH_APP_ID, CX_APP_ID);
	if (ret == 0)
		ret = -fd_msg_avp_add(m, MSG_BRW_LAST_CHILD, g);
	if (ret)
		fd_msg_free(g);
	return ret;
}

/* RFC 6733 7.1 / 7.6: base codes go in Result-Code (protocol errors 3xxx also set the
 * 'E' bit), Cx codes in Experimental-Result with Vendor-Id 10415. */
static int put_result(struct msg *m, uint32_t code, bool experimental)
{
	struct msg_hdr *mh = NULL;
	struct avp *g = NULL;
	int ret;

	if (!experimental) {
		if (code >= 3000 && code < 4000 && fd_msg_hdr(m, &mh) == 0)
			mh->msg_flags |= CMD_FLAG_ERROR;
		return put_u32(m, A_RESULT_CODE, code);
	}
	ret = fd_msg_avp_new(avp_obj[A_EXP_RESULT], 0, &g);
	if (ret)
		return -ret;
	ret = put_u32(g, A_VENDOR_ID, CX_VENDOR_3GPP);
	if (ret == 0)
		ret = put_u32(g, A_EXP_RESULT_CODE, code);
	if (ret == 0)
		ret = -fd_msg_avp_add(m, MSG_BRW_LAST_CHILD, g);
	if (ret)
		fd_msg_free(g);
	return ret;
}

/* TS 29.229 6.1: Cx sessions keep no state (Auth-Session-State = NO_STATE_MAINTAINED). */
static int put_common_tail(struct msg *m)
{
	int ret;

	ret = put_i32(m, A_AUTH_SESSION_STATE, 1);
	if (ret)
		return ret;
	return -fd_msg_add_origin(m, 0);
}

static bool kind_valid(enum cx_kind kind, bool request)
{
	return dict_ready && (unsigned)kind < CX_KIND_COUNT && descs[kind].request == request;
}

static size_t cmd_index(enum cx_cmd code)
{
	for (size_t i = 0; i < N_CMDS; i++)
		if (cmd_defs[i].code == code)
			return i;
	return 0;
}

int dia_cx_request_build(enum cx_kind kind, const void *st, struct msg **out)
{
	const struct cx_desc *d;
	const struct cx_hdr *h = st;
	struct msg *m = NULL;
	int ret;

	*out = NULL;
	if (!kind_valid(kind, true) || !st)
		return -EINVAL;
	d = &descs[kind];
	if (h->dest_realm[0] == '\0' || (d->need_dest_host && h->dest_host[0] == '\0'))
		return -EINVAL;
	ret = fd_msg_new(cmd_req_obj[cmd_index(d->code)], MSGFL_ALLOC_ETEID, &m);
	if (ret)
		return -ret;
	/* RFC 6733 8.8: Session-Id first */
	if (h->session_id[0])
		ret = put_str(m, A_SESSION_ID, h->session_id, sizeof(h->session_id));
	else
		ret = -fd_msg_new_session(m, NULL, 0);
	if (ret == 0)
		ret = put_vsai(m);
	if (ret == 0)
		ret = put_common_tail(m);
	if (ret == 0)
		ret = put_str(m, A_DEST_HOST, h->dest_host, sizeof(h->dest_host));
	if (ret == 0)
		ret = put_str(m, A_DEST_REALM, h->dest_realm, sizeof(h->dest_realm));
	if (ret == 0)
		ret = encode_table(m, &d->body, st);
	if (ret) {
		fd_msg_free(m);
		return ret;
	}
	*out = m;
	return 0;
}

/* Gives back the request an answer was created from, freeing the answer. */
static void answer_undo(struct msg **msg)
{
	struct msg *req = NULL;

	if (fd_msg_answ_getq(*msg, &req) == 0 && req) {
		fd_msg_answ_detach(*msg);
		fd_msg_free(*msg);
		*msg = req;
	}
}

/* True when msg is a request of the command code. */
static bool is_request_of(struct msg *msg, enum cx_cmd code)
{
	struct msg_hdr *mh = NULL;

	if (!msg || fd_msg_hdr(msg, &mh))
		return false;
	return (mh->msg_flags & CMD_FLAG_REQUEST) && mh->msg_code == (command_code_t)code;
}

int dia_cx_answer_build(enum cx_kind kind, struct msg **msg, const void *st)
{
	const struct cx_desc *d;
	const struct cx_result *r;
	int ret;

	if (!kind_valid(kind, false) || !st || !msg)
		return -EINVAL;
	d = &descs[kind];
	if (!is_request_of(*msg, d->code))
		return -EINVAL;
	r = (const struct cx_result *)((const uint8_t *)st + offsetof(struct cx_uaa, result));
	ret = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
	if (ret)
		return -ret;
	ret = put_vsai(*msg);
	if (ret == 0)
		ret = put_result(*msg, r->code, r->experimental);
	if (ret == 0)
		ret = put_common_tail(*msg);
	if (ret == 0)
		ret = encode_table(*msg, &d->body, st);
	if (ret == 0)
		ret = put_str(*msg, A_ERROR_MESSAGE, r->error_message, sizeof(r->error_message));
	if (ret)
		answer_undo(msg);
	return ret;
}

/* RFC 6733 7.5: Failed-AVP holds the offending AVP, or for a missing one an AVP of that
 * type with an empty value. */
static int put_failed_avp(struct msg *m, const struct cx_error *err)
{
	struct dict_object *model = NULL;
	struct avp_hdr *src = NULL;
	union avp_value v;
	struct avp *g = NULL, *a = NULL;
	enum dict_avp_basetype base = AVP_TYPE_OCTETSTRING;
	struct dict_avp_data ad;
	int ret;

	if (err->avp && fd_msg_model(err->avp, &model) == 0 && model)
		fd_msg_avp_hdr(err->avp, &src);
	else if (err->avp_id > 0 && err->avp_id <= A_COUNT)
		model = avp_obj[err->avp_id - 1];
	if (!model)
		return 0;
	if (fd_dict_getval(model, &ad) == 0)
		base = ad.avp_basetype;
	ret = fd_msg_avp_new(avp_obj[A_FAILED_AVP], 0, &g);
	if (ret)
		return -ret;
	ret = fd_msg_avp_new(model, 0, &a);
	if (ret)
		goto out_free_group;
	if (base != AVP_TYPE_GROUPED) {
		memset(&v, 0, sizeof(v));
		if (src && src->avp_value)
			v = *src->avp_value;
		else if (base == AVP_TYPE_OCTETSTRING)
			v.os.data = (uint8_t *)(uintptr_t) "";
		ret = fd_msg_avp_setvalue(a, &v);
		if (ret)
			goto out_free_avp;
	}
	ret = fd_msg_avp_add(g, MSG_BRW_LAST_CHILD, a);
	if (ret)
		goto out_free_avp;
	ret = fd_msg_avp_add(m, MSG_BRW_LAST_CHILD, g);
	if (ret)
		goto out_free_group;
	return 0;

out_free_avp:
	fd_msg_free(a);
out_free_group:
	fd_msg_free(g);
	return -ret;
}

int dia_cx_answer_error(struct msg **msg, const struct cx_error *err)
{
	bool protocol = !err->experimental && err->result >= 3000 && err->result < 4000;
	int ret;

	if (!dict_ready || !msg || !*msg || !err)
		return -EINVAL;
	ret =
	    fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, protocol ? MSGFL_ANSW_ERROR : 0);
	if (ret)
		return -ret;
	/* RFC 6733 7.2: a protocol error uses the generic answer-message ABNF */
	ret = protocol ? 0 : put_vsai(*msg);
	if (ret == 0)
		ret = put_result(*msg, err->result, err->experimental);
	if (ret == 0)
		ret = protocol ? -fd_msg_add_origin(*msg, 0) : put_common_tail(*msg);
	if (ret == 0)
		ret = put_str(*msg, A_ERROR_MESSAGE, err->message, sizeof(err->message));
	if (ret == 0)
		ret = put_failed_avp(*msg, err);
	if (ret)
		answer_undo(msg);
	return ret;
}

/* ---- parsing ---- */

/* Records why a parse failed; id A_COUNT names no AVP. Returns -EBADMSG. */
static int fail(struct cx_error *err, uint32_t result, enum cx_avp id, struct avp *avp,
                const char *why)
{
	bool named = id < A_COUNT;

	if (err) {
		err->result = result;
		err->experimental = false;
		err->avp_code = named ? avp_defs[id].code : 0;
		err->avp_vendor = named ? avp_defs[id].vendor : 0;
		err->avp_name = named ? avp_defs[id].name : "";
		err->avp = avp;
		err->avp_id = named ? (int)id + 1 : 0;
		if (named)
			snprintf(err->message, sizeof(err->message), "%s: %s", avp_defs[id].name,
			         why);
		else
			snprintf(err->message, sizeof(err->message), "%s", why);
	}
	return -EBADMSG;
}

static int decode_avps(msg_or_avp *parent, const struct cx_table *t1, const struct cx_table *t2,
                       uint8_t *base, struct cx_error *err);

static int decode_str(struct avp *avp, const union avp_value *v, const struct cx_field *f,
                      char *out, struct cx_error *err)
{
	if (v->os.len >= f->size)
		return fail(err, DIA_INVALID_AVP_VALUE, f->avp, avp, "value too long");
	if (v->os.len && memchr(v->os.data, '\0', v->os.len))
		return fail(err, DIA_INVALID_AVP_VALUE, f->avp, avp, "NUL byte in value");
	memcpy(out, v->os.data, v->os.len);
	out[v->os.len] = '\0';
	return 0;
}

static int decode_heap(struct avp *avp, const union avp_value *v, const struct cx_field *f,
                       uint8_t *base, struct cx_error *err)
{
	char *data;
	size_t n = v->os.len;

	if (n > CX_USER_DATA_MAX)
		return fail(err, DIA_INVALID_AVP_VALUE, f->avp, avp, "value too long");
	data = malloc(n + 1);
	if (!data)
		return fail(err, DIA_UNABLE_TO_COMPLY, f->avp, avp, "out of memory");
	if (n)
		memcpy(data, v->os.data, n);
	data[n] = '\0';
	memcpy(base + f->off, &data, sizeof(data));
	memcpy(base + f->aux, &n, sizeof(n));
	return 0;
}

/* Reserves the next slot of a list field; NULL (and err set) when it is full. */
static uint8_t *list_slot(struct avp *avp, const struct cx_field *f, uint8_t *base,
                          struct cx_error *err)
{
	size_t n = get_size(base, f->aux);

	if (n >= f->max) {
		fail(err, DIA_AVP_OCCURS_TOO_MANY_TIMES, f->avp, avp, "too many occurrences");
		return NULL;
	}
	n++;
	memcpy(base + f->aux, &n, sizeof(n));
	return base + f->off + (n - 1) * f->size;
}

static int decode_field(struct avp *avp, const struct cx_field *f, uint8_t *base,
                        struct cx_error *err)
{
	struct avp_hdr *h = NULL;
	const union avp_value *v;
	struct cx_result *r = NULL;
	uint8_t *slot;
	bool yes = true;
	size_t n;

	if (fd_msg_avp_hdr(avp, &h))
		return fail(err, DIA_UNABLE_TO_COMPLY, f->avp, avp, "unreadable");
	v = h->avp_value;
	if (f->kind == F_RESULT || f->kind == F_EXP_RESULT || f->kind == F_FAILED_AVP)
		r = (struct cx_result *)(base + f->off);
	if (!v && f->kind != F_GROUP && f->kind != F_GROUP_LIST && f->kind != F_EXP_RESULT &&
	    f->kind != F_FAILED_AVP)
		return fail(err, DIA_INVALID_AVP_VALUE, f->avp, avp, "no value");
	switch (f->kind) {
	case F_STR:
		return decode_str(avp, v, f, (char *)base + f->off, err);
	case F_BYTES:
		n = v->os.len;
		if (n > f->size)
			return fail(err, DIA_INVALID_AVP_VALUE, f->avp, avp, "value too long");
		memcpy(base + f->off, v->os.data, n);
		memcpy(base + f->aux, &n, sizeof(n));
		return 0;
	case F_U32:
	case F_ENUM:
		/* Unsigned32 and Integer32 share the 4 bytes of the union */
		memcpy(base + f->off, &v->u32, sizeof(uint32_t));
		if (f->flags & FL_HAS)
			memcpy(base + f->aux, &yes, sizeof(yes));
		return 0;
	case F_FLAG:
		memcpy(base + f->off, &yes, sizeof(yes));
		return 0;
	case F_STR_LIST:
		slot = list_slot(avp, f, base, err);
		return slot ? decode_str(avp, v, f, (char *)slot, err) : -EBADMSG;
	case F_U32_LIST:
		slot = list_slot(avp, f, base, err);
		if (!slot)
			return -EBADMSG;
		memcpy(slot, &v->u32, sizeof(uint32_t));
		return 0;
	case F_GROUP:
		if (f->flags & FL_HAS)
			memcpy(base + f->aux, &yes, sizeof(yes));
		return decode_avps(avp, f->sub, NULL, base + f->off, err);
	case F_GROUP_LIST:
		slot = list_slot(avp, f, base, err);
		return slot ? decode_avps(avp, f->sub, NULL, slot, err) : -EBADMSG;
	case F_HEAP:
		return decode_heap(avp, v, f, base, err);
	case F_RESULT:
		/* an Experimental-Result in the same answer is more precise: keep it */
		if (!r->experimental) {
			r->code = v->u32;
			r->vendor = 0;
		}
		return 0;
	case F_EXP_RESULT:
		r->experimental = true;
		return decode_avps(avp, f->sub, NULL, (uint8_t *)r, err);
	case F_FAILED_AVP: {
		struct avp *child = NULL;
		struct avp_hdr *ch = NULL;

		if (fd_msg_browse(avp, MSG_BRW_FIRST_CHILD, &child, NULL) == 0 && child &&
		    fd_msg_avp_hdr(child, &ch) == 0)
			r->failed_avp = ch->avp_code;
		return 0;
	}
	}
	return 0;
}

static bool is_list(const struct cx_field *f)
{
	return f->kind == F_STR_LIST || f->kind == F_U32_LIST || f->kind == F_GROUP_LIST;
}

static const struct cx_field *table_find(const struct cx_table *t, struct dict_object *model,
                                         size_t *idx)
{
	if (!t)
		return NULL;
	for (size_t i = 0; i < t->n; i++) {
		if (avp_obj[t->f[i].avp] == model) {
			*idx = i;
			return &t->f[i];
		}
	}
	return NULL;
}

static int check_required(const struct cx_table *t, uint64_t seen, struct cx_error *err)
{
	if (!t)
		return 0;
	for (size_t i = 0; i < t->n; i++)
		if ((t->f[i].flags & FL_REQ) && !(seen & (UINT64_C(1) << i)))
			return fail(err, DIA_MISSING_AVP, t->f[i].avp, NULL, "missing");
	return 0;
}

/* Decodes the children of parent with the fields of t1, then t2 (both relative to base).
 * AVPs of neither table are skipped, so unknown and unused AVPs cost one comparison
 * loop each. */
static int decode_avps(msg_or_avp *parent, const struct cx_table *t1, const struct cx_table *t2,
                       uint8_t *base, struct cx_error *err)
{
	uint64_t seen[2] = {0, 0};
	struct avp *avp = NULL;
	int ret;

	if (fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &avp, NULL))
		return fail(err, DIA_UNABLE_TO_COMPLY, A_COUNT, NULL, "unreadable message");
	while (avp) {
		struct dict_object *model = NULL;
		const struct cx_field *f = NULL;
		size_t i = 0;
		int which = 0;

		if (fd_msg_model(avp, &model) == 0 && model) {
			f = table_find(t1, model, &i);
			if (!f) {
				f = table_find(t2, model, &i);
				which = 1;
			}
		}
		if (f) {
			uint64_t bit = UINT64_C(1) << i;

			if ((seen[which] & bit) && !is_list(f))
				return fail(err, DIA_AVP_OCCURS_TOO_MANY_TIMES, f->avp, avp,
				            "occurs more than once");
			seen[which] |= bit;
			ret = decode_field(avp, f, base, err);
			if (ret)
				return ret;
		}
		if (fd_msg_browse(avp, MSG_BRW_NEXT, &avp, NULL))
			break;
	}
	ret = check_required(t1, seen[0], err);
	if (ret == 0)
		ret = check_required(t2, seen[1], err);
	return ret;
}

/* The kind whose command code and R flag match msg, or -1. */
int dia_cx_kind_of(struct msg *msg)
{
	struct msg_hdr *mh = NULL;

	if (!msg || fd_msg_hdr(msg, &mh) || mh->msg_appl != CX_APP_ID)
		return -1;
	for (int k = 0; k < CX_KIND_COUNT; k++)
		if ((command_code_t)descs[k].code == mh->msg_code &&
		    descs[k].request == !!(mh->msg_flags & CMD_FLAG_REQUEST))
			return k;
	return -1;
}

int dia_cx_request_parse(enum cx_kind kind, struct msg *msg, void *st, struct cx_error *err)
{
	const struct cx_desc *d;
	int ret;

	if (err)
		memset(err, 0, sizeof(*err));
	if (!kind_valid(kind, true) || !st || dia_cx_kind_of(msg) != (int)kind)
		return -EINVAL;
	d = &descs[kind];
	memset(st, 0, d->size);
	ret = decode_avps(msg, &d->body, &req_hdr_t, st, err);
	if (ret == 0 && d->need_dest_host && ((struct cx_hdr *)st)->dest_host[0] == '\0')
		ret = fail(err, DIA_MISSING_AVP, A_DEST_HOST, NULL, "missing");
	if (ret)
		dia_cx_clear(kind, st);
	return ret;
}

int dia_cx_answer_parse(enum cx_kind kind, struct msg *msg, void *st)
{
	const struct cx_desc *d;
	struct cx_result *r;
	int ret;

	if (!kind_valid(kind, false) || !st || dia_cx_kind_of(msg) != (int)kind)
		return -EINVAL;
	d = &descs[kind];
	memset(st, 0, d->size);
	r = (struct cx_result *)((uint8_t *)st + offsetof(struct cx_uaa, result));
	ret = decode_avps(msg, &d->body, &ans_hdr_t, st, NULL);
	if (ret == 0 && r->code == 0)
		ret = -EBADMSG;
	if (ret) {
		dia_cx_clear(kind, st);
		if (r->code == 0) {
			r->code = DIA_UNABLE_TO_COMPLY;
			r->experimental = false;
		}
	}
	return ret;
}

void dia_cx_clear(enum cx_kind kind, void *st)
{
	const struct cx_table *t;

	if ((unsigned)kind >= CX_KIND_COUNT || !st)
		return;
	t = &descs[kind].body;
	for (size_t i = 0; i < t->n; i++) {
		const struct cx_field *f = &t->f[i];
		uint8_t *base = st;
		char *data;
		size_t zero = 0;

		if (f->kind != F_HEAP)
			continue;
		memcpy(&data, base + f->off, sizeof(data));
		free(data);
		data = NULL;
		memcpy(base + f->off, &data, sizeof(data));
		memcpy(base + f->aux, &zero, sizeof(zero));
	}
}

const char *dia_cx_kind_name(enum cx_kind kind)
{
	return (unsigned)kind < CX_KIND_COUNT ? descs[kind].name : "?";
}

void dia_cx_session_id(struct msg *msg, char *out, size_t outlen)
{
	struct avp *avp = NULL;
	struct avp_hdr *h = NULL;
	size_t n;

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (!msg || !dict_ready || fd_msg_search_avp(msg, avp_obj[A_SESSION_ID], &avp) || !avp ||
	    fd_msg_avp_hdr(avp, &h) || !h->avp_value)
		return;
	n = h->avp_value->os.len < outlen - 1 ? h->avp_value->os.len : outlen - 1;
	memcpy(out, h->avp_value->os.data, n);
	out[n] = '\0';
}

/* ---- names ---- */

static const struct cx_enumval base_results[] = {
    {"DIAMETER_SUCCESS", DIA_SUCCESS},
    {"DIAMETER_LIMITED_SUCCESS", 2002},
    {"DIAMETER_COMMAND_UNSUPPORTED", 3001},
    {"DIAMETER_UNABLE_TO_DELIVER", DIA_UNABLE_TO_DELIVER},
    {"DIAMETER_REALM_NOT_SERVED", 3003},
    {"DIAMETER_TOO_BUSY", DIA_TOO_BUSY},
    {"DIAMETER_LOOP_DETECTED", 3005},
    {"DIAMETER_REDIRECT_INDICATION", 3006},
    {"DIAMETER_APPLICATION_UNSUPPORTED", 3007},
    {"DIAMETER_INVALID_HDR_BITS", 3008},
    {"DIAMETER_INVALID_AVP_BITS", 3009},
    {"DIAMETER_UNKNOWN_PEER", 3010},
    {"DIAMETER_AUTHENTICATION_REJECTED", DIA_AUTHENTICATION_REJECTED},
    {"DIAMETER_OUT_OF_SPACE", 4002},
    {"ELECTION_LOST", 4003},
    {"DIAMETER_AVP_UNSUPPORTED", DIA_AVP_UNSUPPORTED},
    {"DIAMETER_UNKNOWN_SESSION_ID", 5002},
    {"DIAMETER_AUTHORIZATION_REJECTED", DIA_AUTHORIZATION_REJECTED},
    {"DIAMETER_INVALID_AVP_VALUE", DIA_INVALID_AVP_VALUE},
    {"DIAMETER_MISSING_AVP", DIA_MISSING_AVP},
    {"DIAMETER_RESOURCES_EXCEEDED", 5006},
    {"DIAMETER_CONTRADICTING_AVPS", 5007},
    {"DIAMETER_AVP_NOT_ALLOWED", 5008},
    {"DIAMETER_AVP_OCCURS_TOO_MANY_TIMES", DIA_AVP_OCCURS_TOO_MANY_TIMES},
    {"DIAMETER_NO_COMMON_APPLICATION", 5010},
    {"DIAMETER_UNSUPPORTED_VERSION", 5011},
    {"DIAMETER_UNABLE_TO_COMPLY", DIA_UNABLE_TO_COMPLY},
    {"DIAMETER_INVALID_BIT_IN_HEADER", 5013},
    {"DIAMETER_INVALID_AVP_LENGTH", DIA_INVALID_AVP_LENGTH},
    {"DIAMETER_INVALID_MESSAGE_LENGTH", 5015},
    {"DIAMETER_INVALID_AVP_BIT_COMBO", 5016},
    {"DIAMETER_NO_COMMON_SECURITY", 5017},
};

/* TS 29.229 6.2 */
static const struct cx_enumval exp_results[] = {
    {"DIAMETER_FIRST_REGISTRATION", CX_FIRST_REGISTRATION},
    {"DIAMETER_SUBSEQUENT_REGISTRATION", CX_SUBSEQUENT_REGISTRATION},
    {"DIAMETER_UNREGISTERED_SERVICE", CX_UNREGISTERED_SERVICE},
    {"DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED", CX_SUCCESS_SERVER_NAME_NOT_STORED},
    {"DIAMETER_ERROR_USER_UNKNOWN", CX_ERROR_USER_UNKNOWN},
    {"DIAMETER_ERROR_IDENTITIES_DONT_MATCH", CX_ERROR_IDENTITIES_DONT_MATCH},
    {"DIAMETER_ERROR_IDENTITY_NOT_REGISTERED", CX_ERROR_IDENTITY_NOT_REGISTERED},
    {"DIAMETER_ERROR_ROAMING_NOT_ALLOWED", CX_ERROR_ROAMING_NOT_ALLOWED},
    {"DIAMETER_ERROR_IDENTITY_ALREADY_REGISTERED", CX_ERROR_IDENTITY_ALREADY_REGISTERED},
    {"DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED", CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED},
    {"DIAMETER_ERROR_IN_ASSIGNMENT_TYPE", CX_ERROR_IN_ASSIGNMENT_TYPE},
    {"DIAMETER_ERROR_TOO_MUCH_DATA", CX_ERROR_TOO_MUCH_DATA},
    {"DIAMETER_ERROR_NOT_SUPPORTED_USER_DATA", CX_ERROR_NOT_SUPPORTED_USER_DATA},
    {"DIAMETER_ERROR_FEATURE_UNSUPPORTED", CX_ERROR_FEATURE_UNSUPPORTED},
    {"DIAMETER_ERROR_SERVING_NODE_FEATURE_UNSUPPORTED", 5012},
};

static const char *enum_name(const struct cx_enumval *e, size_t n, int32_t value)
{
	for (size_t i = 0; i < n; i++)
		if (e[i].value == value)
			return e[i].name;
	return "UNKNOWN";
}

/* Case-insensitive, '-' and '_' equal: "re-registration" finds RE_REGISTRATION. */
static int enum_parse(const struct cx_enumval *e, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		const char *a = e[i].name, *b = name;

		while (*a && *b) {
			char ca = (char)(*a == '-' ? '_' : *a), cb = (char)(*b == '-' ? '_' : *b);

			if (ca != cb && (ca | 0x20) != (cb | 0x20))
				break;
			a++;
			b++;
		}
		if (*a == '\0' && *b == '\0')
			return e[i].value;
	}
	return -1;
}

const char *dia_cx_result_name(uint32_t code, bool experimental)
{
	if (experimental)
		return enum_name(exp_results, NELEM(exp_results), (int32_t)code);
	return enum_name(base_results, NELEM(base_results), (int32_t)code);
}

const char *dia_cx_sat_name(int sat)
{
	return enum_name(sat_enums, NELEM(sat_enums), sat);
}

int dia_cx_sat_parse(const char *name)
{
	return enum_parse(sat_enums, NELEM(sat_enums), name);
}

const char *dia_cx_auth_type_name(int type)
{
	return enum_name(auth_type_enums, NELEM(auth_type_enums), type);
}

int dia_cx_auth_type_parse(const char *name)
{
	return enum_parse(auth_type_enums, NELEM(auth_type_enums), name);
}

const char *dia_cx_reason_name(int reason)
{
	return enum_name(reason_enums, NELEM(reason_enums), reason);
}
