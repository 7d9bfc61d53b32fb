/* The Cx application (TS 29.228 procedures, TS 29.229 Release 15 encoding): its
 * dictionary (application 16777216, vendor 10415, commands 300-305, AVPs 600-655 and the
 * RFC 4740 Digest AVPs), result codes, and a codec between freeDiameter messages and
 * typed structs. The struct of each command mirrors its ABNF (TS 29.229 6.1); the codec
 * is table-driven, one table per command, so a new AVP is one new row.
 *
 * Conventions of every struct below: strings are NUL-terminated and "" means absent;
 * byte fields carry a length (0 = absent); numbers marked "0 = absent" are only sent when
 * non-zero; a struct zero-initialised with {0} is a valid empty message. Parsing fills
 * every field and never allocates, except User-Data (see dia_cx_clear). */
#ifndef IMS_DIA_CX_H
#define IMS_DIA_CX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg;
struct avp;
struct dict_object;

#define CX_VENDOR_3GPP 10415    /* TS 29.229 6.1: vendor of the Cx AVPs */
#define CX_APP_ID      16777216 /* TS 29.229 6.1: Cx/Dx Application-Id */

/* TS 29.229 6.1 Table 6.1.1: command codes (request and answer share the code). */
enum cx_cmd {
	CX_CMD_UAR = 300, /* User-Authorization */
	CX_CMD_SAR = 301, /* Server-Assignment */
	CX_CMD_LIR = 302, /* Location-Info */
	CX_CMD_MAR = 303, /* Multimedia-Auth */
	CX_CMD_RTR = 304, /* Registration-Termination */
	CX_CMD_PPR = 305, /* Push-Profile */
};

/* RFC 6733 7.1: base Result-Code values (sent in Result-Code). */
#define DIA_SUCCESS                   2001
#define DIA_UNABLE_TO_DELIVER         3002
#define DIA_TOO_BUSY                  3004
#define DIA_AUTHENTICATION_REJECTED   4001
#define DIA_AVP_UNSUPPORTED           5001
#define DIA_AUTHORIZATION_REJECTED    5003
#define DIA_INVALID_AVP_VALUE         5004
#define DIA_MISSING_AVP               5005
#define DIA_AVP_OCCURS_TOO_MANY_TIMES 5009
#define DIA_UNABLE_TO_COMPLY          5012
#define DIA_INVALID_AVP_LENGTH        5014

/* TS 29.229 6.2: Cx Experimental-Result-Code values (sent in Experimental-Result with
 * Vendor-Id 10415; 2001 there is not DIAMETER_SUCCESS). */
#define CX_FIRST_REGISTRATION                2001
#define CX_SUBSEQUENT_REGISTRATION           2002
#define CX_UNREGISTERED_SERVICE              2003
#define CX_SUCCESS_SERVER_NAME_NOT_STORED    2004
#define CX_ERROR_USER_UNKNOWN                5001
#define CX_ERROR_IDENTITIES_DONT_MATCH       5002
#define CX_ERROR_IDENTITY_NOT_REGISTERED     5003
#define CX_ERROR_ROAMING_NOT_ALLOWED         5004
#define CX_ERROR_IDENTITY_ALREADY_REGISTERED 5005
#define CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED   5006
#define CX_ERROR_IN_ASSIGNMENT_TYPE          5007
#define CX_ERROR_TOO_MUCH_DATA               5008
#define CX_ERROR_NOT_SUPPORTED_USER_DATA     5009
#define CX_ERROR_FEATURE_UNSUPPORTED         5011

/* TS 29.229 6.3.24 User-Authorization-Type. */
enum cx_auth_type {
	CX_AUTH_REGISTRATION = 0,
	CX_AUTH_DE_REGISTRATION = 1,
	CX_AUTH_REGISTRATION_AND_CAPABILITIES = 2,
};

/* TS 29.229 6.3.15 Server-Assignment-Type. */
enum cx_sat {
	CX_SAT_NO_ASSIGNMENT = 0,
	CX_SAT_REGISTRATION = 1,
	CX_SAT_RE_REGISTRATION = 2,
	CX_SAT_UNREGISTERED_USER = 3,
	CX_SAT_TIMEOUT_DEREGISTRATION = 4,
	CX_SAT_USER_DEREGISTRATION = 5,
	CX_SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME = 6,
	CX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME = 7,
	CX_SAT_ADMINISTRATIVE_DEREGISTRATION = 8,
	CX_SAT_AUTHENTICATION_FAILURE = 9,
	CX_SAT_AUTHENTICATION_TIMEOUT = 10,
	CX_SAT_DEREGISTRATION_TOO_MUCH_DATA = 11,
	CX_SAT_AAA_USER_DATA_REQUEST = 12,
	CX_SAT_PGW_UPDATE = 13,
	CX_SAT_RESTORATION = 14,
};

/* TS 29.229 6.3.17 Reason-Code (Deregistration-Reason of an RTR). */
enum cx_reason_code {
	CX_REASON_PERMANENT_TERMINATION = 0,
	CX_REASON_NEW_SERVER_ASSIGNED = 1,
	CX_REASON_SERVER_CHANGE = 2,
	CX_REASON_REMOVE_SCSCF = 3,
};

/* TS 29.229 6.3.26 User-Data-Already-Available. */
enum cx_user_data_available {
	CX_USER_DATA_NOT_AVAILABLE = 0,
	CX_USER_DATA_ALREADY_AVAILABLE = 1,
};

/* Authentication schemes (TS 29.229 6.3.9, TS 33.203, RFC 3310). */
#define CX_SCHEME_AKAV1_MD5  "Digest-AKAv1-MD5"
#define CX_SCHEME_SIP_DIGEST "SIP Digest"
#define CX_SCHEME_DIGEST_MD5 "Digest-MD5"
#define CX_SCHEME_UNKNOWN    "Unknown"

/* Bounds on everything the codec stores (longer values from the network are refused
 * with DIAMETER_INVALID_AVP_VALUE, never truncated). */
#define CX_ID_MAX        256   /* identities, URIs, realms, Session-Id (bytes with NUL) */
#define CX_TEXT_MAX      128   /* Reason-Info, Error-Message, Digest-QoP/Algorithm */
#define CX_SCHEME_MAX    32    /* SIP-Authentication-Scheme */
#define CX_AUTH_DATA_MAX 128   /* SIP-Authenticate / SIP-Authorization bytes */
#define CX_KEY_MAX       32    /* Confidentiality-Key / Integrity-Key bytes (16 for AKA) */
#define CX_HA1_MAX       72    /* Digest-HA1: hex text of MD5 or SHA-256, with NUL */
#define CX_ITEMS_MAX     8     /* SIP-Auth-Data-Item in one MAA */
#define CX_LIST_MAX      8     /* repeated identities or capabilities */
#define CX_USER_DATA_MAX 65536 /* User-Data (XML service profile) bytes */

/* AVPs every Cx message carries. */
struct cx_hdr {
	char session_id[CX_ID_MAX];   /* Session-Id; build: "" generates a new one */
	char origin_host[CX_ID_MAX];  /* Origin-Host (parse only: build uses our identity) */
	char origin_realm[CX_ID_MAX]; /* Origin-Realm (parse only) */
	char dest_host[CX_ID_MAX];    /* requests: Destination-Host, "" = none */
	char dest_realm[CX_ID_MAX];   /* requests: Destination-Realm (required) */
};

/* The outcome of an answer: Result-Code and Experimental-Result read the same way. */
struct cx_result {
	uint32_t code;                   /* Result-Code, or the Experimental-Result-Code */
	bool experimental;               /* code is a Cx Experimental-Result-Code */
	uint32_t vendor;                 /* parse: Experimental-Result's Vendor-Id, else 0 */
	uint32_t failed_avp;             /* parse: code of the AVP in Failed-AVP, 0 = none */
	char error_message[CX_TEXT_MAX]; /* Error-Message, "" = none */
};

/* TS 29.229 6.3.4 Server-Capabilities. */
struct cx_capabilities {
	bool present;                              /* the AVP is (to be) present */
	uint32_t mandatory[CX_LIST_MAX];           /* Mandatory-Capability values */
	size_t n_mandatory;                        /* entries in mandatory */
	uint32_t optional[CX_LIST_MAX];            /* Optional-Capability values */
	size_t n_optional;                         /* entries in optional */
	char server_names[CX_LIST_MAX][CX_ID_MAX]; /* Server-Name values (preferred S-CSCFs) */
	size_t n_server_names;                     /* entries in server_names */
};

/* TS 29.229 6.3.36 SIP-Digest-Authenticate (RFC 4740 AVPs). */
struct cx_digest {
	bool present;                /* the AVP is (to be) present */
	char realm[CX_ID_MAX];       /* Digest-Realm (required) */
	char algorithm[CX_TEXT_MAX]; /* Digest-Algorithm, "" = none (MD5) */
	char qop[CX_TEXT_MAX];       /* Digest-QoP (required) */
	char ha1[CX_HA1_MAX];        /* Digest-HA1: hex H(A1) (required) */
};

/* TS 29.229 6.3.13 SIP-Auth-Data-Item. In an MAR it carries the scheme and, for an AKA
 * resynchronisation, RAND||AUTS in authorization; in an MAA one vector each. */
struct cx_auth_item {
	uint32_t item_number;                    /* SIP-Item-Number, 0 = absent */
	char scheme[CX_SCHEME_MAX];              /* SIP-Authentication-Scheme */
	uint8_t authenticate[CX_AUTH_DATA_MAX];  /* SIP-Authenticate: AKA RAND||AUTN */
	size_t authenticate_len;                 /* bytes in authenticate */
	uint8_t authorization[CX_AUTH_DATA_MAX]; /* SIP-Authorization: AKA XRES (MAA) or
	                                            RAND||AUTS (MAR resync) */
	size_t authorization_len;                /* bytes in authorization */
	uint8_t ck[CX_KEY_MAX];                  /* Confidentiality-Key */
	size_t ck_len;                           /* bytes in ck */
	uint8_t ik[CX_KEY_MAX];                  /* Integrity-Key */
	size_t ik_len;                           /* bytes in ik */
	struct cx_digest digest;                 /* SIP-Digest-Authenticate */
};

/* TS 29.229 6.3.19 Charging-Information. */
struct cx_charging {
	bool present;                  /* the AVP is (to be) present */
	char primary_ecf[CX_ID_MAX];   /* Primary-Event-Charging-Function-Name */
	char secondary_ecf[CX_ID_MAX]; /* Secondary-Event-Charging-Function-Name */
	char primary_ccf[CX_ID_MAX];   /* Primary-Charging-Collection-Function-Name */
	char secondary_ccf[CX_ID_MAX]; /* Secondary-Charging-Collection-Function-Name */
};

/* TS 29.229 6.3.33 Associated-Identities / 6.3.50 Associated-Registered-Identities. */
struct cx_identities {
	bool present;                            /* the AVP is (to be) present */
	char user_names[CX_LIST_MAX][CX_ID_MAX]; /* User-Name values (IMPIs) */
	size_t n_user_names;                     /* entries in user_names */
};

/* TS 29.229 6.1.1 User-Authorization-Request (I-CSCF -> HSS). */
struct cx_uar {
	struct cx_hdr hdr;               /* common AVPs */
	char user_name[CX_ID_MAX];       /* User-Name: IMPI (required) */
	char public_identity[CX_ID_MAX]; /* Public-Identity: IMPU (required) */
	char visited_network[CX_ID_MAX]; /* Visited-Network-Identifier (required) */
	enum cx_auth_type auth_type;     /* User-Authorization-Type (always sent; absent
	                                    on receipt reads as REGISTRATION) */
	uint32_t uar_flags;              /* UAR-Flags, 0 = absent */
};

/* TS 29.229 6.1.2 User-Authorization-Answer. */
struct cx_uaa {
	struct cx_hdr hdr;                   /* common AVPs */
	struct cx_result result;             /* Result-Code or Experimental-Result */
	char server_name[CX_ID_MAX];         /* Server-Name: assigned S-CSCF, "" = none */
	struct cx_capabilities capabilities; /* Server-Capabilities */
};

/* TS 29.229 6.1.3 Server-Assignment-Request (S-CSCF -> HSS). */
struct cx_sar {
	struct cx_hdr hdr;                               /* common AVPs */
	char user_name[CX_ID_MAX];                       /* User-Name: IMPI, "" = none */
	char public_identities[CX_LIST_MAX][CX_ID_MAX];  /* Public-Identity values */
	size_t n_public_identities;                      /* entries in public_identities */
	char wildcarded_public_identity[CX_ID_MAX];      /* Wildcarded-Public-Identity */
	char server_name[CX_ID_MAX];                     /* Server-Name (required) */
	enum cx_sat assignment_type;                     /* Server-Assignment-Type (required) */
	enum cx_user_data_available user_data_available; /* User-Data-Already-Available
	                                                    (required) */
	uint32_t multiple_registration;                  /* Multiple-Registration-Indication:
	                                                    1 = MULTIPLE_REGISTRATION, 0 = absent */
	bool has_session_priority;                       /* Session-Priority is present */
	uint32_t session_priority;                       /* Session-Priority: PRIORITY-0..4 */
	uint32_t sar_flags;                              /* SAR-Flags, 0 = absent */
};

/* TS 29.229 6.1.4 Server-Assignment-Answer. */
struct cx_saa {
	struct cx_hdr hdr;                          /* common AVPs */
	struct cx_result result;                    /* Result-Code or Experimental-Result */
	char user_name[CX_ID_MAX];                  /* User-Name: IMPI, "" = none */
	char *user_data;                            /* owned (malloc'd, NUL-terminated) User-Data
	                                               (XML, TS 29.228 Annex E), NULL = none */
	size_t user_data_len;                       /* bytes in user_data */
	struct cx_charging charging;                /* Charging-Information */
	struct cx_identities associated;            /* Associated-Identities */
	uint32_t loose_route;                       /* Loose-Route-Indication: 1 = REQUIRED,
	                                               0 = absent */
	struct cx_identities associated_registered; /* Associated-Registered-Identities */
	char server_name[CX_ID_MAX];                /* Server-Name, "" = none */
	char wildcarded_public_identity[CX_ID_MAX]; /* Wildcarded-Public-Identity */
	uint32_t priviledged_sender;                /* Priviledged-Sender-Indication: 1 =
	                                               PRIVILEDGED_SENDER, 0 = absent */
};

/* TS 29.229 6.1.5 Location-Info-Request (I-CSCF -> HSS). */
struct cx_lir {
	struct cx_hdr hdr;               /* common AVPs */
	bool originating;                /* Originating-Request = ORIGINATING is present */
	char public_identity[CX_ID_MAX]; /* Public-Identity (required) */
	uint32_t auth_type;              /* User-Authorization-Type, 0 = absent (only
	                                    REGISTRATION_AND_CAPABILITIES is meaningful) */
	bool has_session_priority;       /* Session-Priority is present */
	uint32_t session_priority;       /* Session-Priority: PRIORITY-0..4 */
};

/* TS 29.229 6.1.6 Location-Info-Answer. */
struct cx_lia {
	struct cx_hdr hdr;                          /* common AVPs */
	struct cx_result result;                    /* Result-Code or Experimental-Result */
	char server_name[CX_ID_MAX];                /* Server-Name: serving S-CSCF */
	struct cx_capabilities capabilities;        /* Server-Capabilities */
	char wildcarded_public_identity[CX_ID_MAX]; /* Wildcarded-Public-Identity */
	uint32_t lia_flags;                         /* LIA-Flags, 0 = absent */
};

/* TS 29.229 6.1.7 Multimedia-Auth-Request (S-CSCF -> HSS). */
struct cx_mar {
	struct cx_hdr hdr;               /* common AVPs */
	char user_name[CX_ID_MAX];       /* User-Name: IMPI (required) */
	char public_identity[CX_ID_MAX]; /* Public-Identity: IMPU (required) */
	struct cx_auth_item item;        /* SIP-Auth-Data-Item (required): scheme, and
	                                    RAND||AUTS in authorization for a resync */
	uint32_t number_auth_items;      /* SIP-Number-Auth-Items (required) */
	char server_name[CX_ID_MAX];     /* Server-Name: the requesting S-CSCF (required) */
};

/* TS 29.229 6.1.8 Multimedia-Auth-Answer. */
struct cx_maa {
	struct cx_hdr hdr;                       /* common AVPs */
	struct cx_result result;                 /* Result-Code or Experimental-Result */
	char user_name[CX_ID_MAX];               /* User-Name, "" = none */
	char public_identity[CX_ID_MAX];         /* Public-Identity, "" = none */
	uint32_t number_auth_items;              /* SIP-Number-Auth-Items, 0 = absent */
	struct cx_auth_item items[CX_ITEMS_MAX]; /* SIP-Auth-Data-Item values */
	size_t n_items;                          /* entries in items */
};

/* TS 29.229 6.1.9 Registration-Termination-Request (HSS -> S-CSCF). */
struct cx_rtr {
	struct cx_hdr hdr;                              /* common AVPs (dest_host required) */
	char user_name[CX_ID_MAX];                      /* User-Name: IMPI (required) */
	char public_identities[CX_LIST_MAX][CX_ID_MAX]; /* Public-Identity values */
	size_t n_public_identities;                     /* entries in public_identities */
	struct cx_identities associated;                /* Associated-Identities */
	enum cx_reason_code reason_code;                /* Deregistration-Reason/Reason-Code */
	char reason_info[CX_TEXT_MAX];                  /* Deregistration-Reason/Reason-Info */
};

/* TS 29.229 6.1.10 Registration-Termination-Answer. */
struct cx_rta {
	struct cx_hdr hdr;               /* common AVPs */
	struct cx_result result;         /* Result-Code or Experimental-Result */
	struct cx_identities associated; /* Associated-Identities */
};

/* TS 29.229 6.1.11 Push-Profile-Request (HSS -> S-CSCF). */
struct cx_ppr {
	struct cx_hdr hdr;           /* common AVPs (dest_host required) */
	char user_name[CX_ID_MAX];   /* User-Name: IMPI (required) */
	char *user_data;             /* owned User-Data (see cx_saa), NULL = none */
	size_t user_data_len;        /* bytes in user_data */
	struct cx_charging charging; /* Charging-Information */
};

/* TS 29.229 6.1.12 Push-Profile-Answer. */
struct cx_ppa {
	struct cx_hdr hdr;       /* common AVPs */
	struct cx_result result; /* Result-Code or Experimental-Result */
};

/* Which struct a generic codec call works on. */
enum cx_kind {
	CX_UAR,
	CX_UAA,
	CX_SAR,
	CX_SAA,
	CX_LIR,
	CX_LIA,
	CX_MAR,
	CX_MAA,
	CX_RTR,
	CX_RTA,
	CX_PPR,
	CX_PPA,
	CX_KIND_COUNT
};

/* Why a received request cannot be served, ready for dia_cx_answer_error(). */
struct cx_error {
	uint32_t result;           /* code to answer: DIA_MISSING_AVP, DIA_INVALID_AVP_VALUE,
	                              DIA_AVP_OCCURS_TOO_MANY_TIMES, DIA_UNABLE_TO_COMPLY ... */
	bool experimental;         /* result is a Cx Experimental-Result-Code */
	uint32_t avp_code;         /* the AVP at fault (missing or invalid), 0 = none */
	uint32_t avp_vendor;       /* its vendor (10415 for Cx AVPs, 0 for base AVPs) */
	const char *avp_name;      /* static name of that AVP ("Public-Identity"), "" = none */
	struct avp *avp;           /* borrowed from the request: the invalid AVP, NULL when
	                              missing; valid while the request lives */
	int avp_id;                /* private to dia_cx.c: which AVP to put in Failed-AVP */
	char message[CX_TEXT_MAX]; /* human-readable reason, sent as Error-Message */
};

/* Defines the Cx dictionary in freeDiameter's global dictionary and resolves every object
 * into a handle (no dictionary search happens per message afterwards). Needs
 * fd_core_initialize() done; dia_core_init() calls it. Idempotent. 0 or -errno. */
int dia_cx_dict_init(void);
/* Dictionary objects, for fd_disp_register/fd_disp_app_support (NULL before init). */
struct dict_object *dia_cx_app(void);
struct dict_object *dia_cx_vendor(void);
struct dict_object *dia_cx_command(enum cx_cmd code, bool request);

/* Client side: builds a new request (Session-Id, Vendor-Specific-Application-Id,
 * Auth-Session-State = NO_STATE_MAINTAINED, Origin-Host/Realm, Destination-Host/Realm,
 * then the command's AVPs) into *out (owned by the caller; hand it to dia_core_send).
 * kind must be a request kind and st point to its struct. 0, -EINVAL when a required
 * field is empty or kind is wrong, -ENOMEM. */
int dia_cx_request_build(enum cx_kind kind, const void *st, struct msg **out);
/* Server side: decodes the request msg into the struct st of kind (zeroed first).
 * Returns 0; or -EBADMSG with *err saying which AVP is missing, invalid or repeated;
 * -EINVAL when msg is not that command. Unknown AVPs are ignored. */
int dia_cx_request_parse(enum cx_kind kind, struct msg *msg, void *st, struct cx_error *err);
/* Server side: turns the request *msg into its answer (Session-Id,
 * Vendor-Specific-Application-Id, Result-Code or Experimental-Result, Auth-Session-State,
 * Origin-Host/Realm, the command's AVPs, Error-Message) built from st (an answer kind).
 * On failure *msg is the request again. 0, -EINVAL, -ENOMEM. */
int dia_cx_answer_build(enum cx_kind kind, struct msg **msg, const void *st);
/* Server side: turns the request *msg into an error answer for err (Result-Code or
 * Experimental-Result, Failed-AVP holding the missing or invalid AVP, Error-Message;
 * 'E' bit for protocol errors 3xxx). On failure *msg is the request again. 0 or -errno. */
int dia_cx_answer_error(struct msg **msg, const struct cx_error *err);
/* Client side: decodes an answer into st (zeroed first). Returns 0; -EBADMSG when it has
 * neither Result-Code nor Experimental-Result or an AVP is malformed (st->result.code is
 * then DIA_UNABLE_TO_COMPLY unless one was read); -EINVAL for another command. */
int dia_cx_answer_parse(enum cx_kind kind, struct msg *msg, void *st);
/* Frees what a parse allocated in st (User-Data of SAA and PPR); st stays valid. */
void dia_cx_clear(enum cx_kind kind, void *st);

/* Typed wrappers of the generic codec. */
static inline int dia_cx_uar_build(const struct cx_uar *s, struct msg **out)
{
	return dia_cx_request_build(CX_UAR, s, out);
}
static inline int dia_cx_sar_build(const struct cx_sar *s, struct msg **out)
{
	return dia_cx_request_build(CX_SAR, s, out);
}
static inline int dia_cx_lir_build(const struct cx_lir *s, struct msg **out)
{
	return dia_cx_request_build(CX_LIR, s, out);
}
static inline int dia_cx_mar_build(const struct cx_mar *s, struct msg **out)
{
	return dia_cx_request_build(CX_MAR, s, out);
}
static inline int dia_cx_rtr_build(const struct cx_rtr *s, struct msg **out)
{
	return dia_cx_request_build(CX_RTR, s, out);
}
static inline int dia_cx_ppr_build(const struct cx_ppr *s, struct msg **out)
{
	return dia_cx_request_build(CX_PPR, s, out);
}
static inline int dia_cx_uar_parse(struct msg *m, struct cx_uar *s, struct cx_error *e)
{
	return dia_cx_request_parse(CX_UAR, m, s, e);
}
static inline int dia_cx_sar_parse(struct msg *m, struct cx_sar *s, struct cx_error *e)
{
	return dia_cx_request_parse(CX_SAR, m, s, e);
}
static inline int dia_cx_lir_parse(struct msg *m, struct cx_lir *s, struct cx_error *e)
{
	return dia_cx_request_parse(CX_LIR, m, s, e);
}
static inline int dia_cx_mar_parse(struct msg *m, struct cx_mar *s, struct cx_error *e)
{
	return dia_cx_request_parse(CX_MAR, m, s, e);
}
static inline int dia_cx_rtr_parse(struct msg *m, struct cx_rtr *s, struct cx_error *e)
{
	return dia_cx_request_parse(CX_RTR, m, s, e);
}
static inline int dia_cx_ppr_parse(struct msg *m, struct cx_ppr *s, struct cx_error *e)
{
	return dia_cx_request_parse(CX_PPR, m, s, e);
}
static inline int dia_cx_uaa_answer(struct msg **m, const struct cx_uaa *s)
{
	return dia_cx_answer_build(CX_UAA, m, s);
}
static inline int dia_cx_saa_answer(struct msg **m, const struct cx_saa *s)
{
	return dia_cx_answer_build(CX_SAA, m, s);
}
static inline int dia_cx_lia_answer(struct msg **m, const struct cx_lia *s)
{
	return dia_cx_answer_build(CX_LIA, m, s);
}
static inline int dia_cx_maa_answer(struct msg **m, const struct cx_maa *s)
{
	return dia_cx_answer_build(CX_MAA, m, s);
}
static inline int dia_cx_rta_answer(struct msg **m, const struct cx_rta *s)
{
	return dia_cx_answer_build(CX_RTA, m, s);
}
static inline int dia_cx_ppa_answer(struct msg **m, const struct cx_ppa *s)
{
	return dia_cx_answer_build(CX_PPA, m, s);
}
static inline int dia_cx_uaa_parse(struct msg *m, struct cx_uaa *s)
{
	return dia_cx_answer_parse(CX_UAA, m, s);
}
static inline int dia_cx_saa_parse(struct msg *m, struct cx_saa *s)
{
	return dia_cx_answer_parse(CX_SAA, m, s);
}
static inline int dia_cx_lia_parse(struct msg *m, struct cx_lia *s)
{
	return dia_cx_answer_parse(CX_LIA, m, s);
}
static inline int dia_cx_maa_parse(struct msg *m, struct cx_maa *s)
{
	return dia_cx_answer_parse(CX_MAA, m, s);
}
static inline int dia_cx_rta_parse(struct msg *m, struct cx_rta *s)
{
	return dia_cx_answer_parse(CX_RTA, m, s);
}
static inline int dia_cx_ppa_parse(struct msg *m, struct cx_ppa *s)
{
	return dia_cx_answer_parse(CX_PPA, m, s);
}

/* The kind of a received message (request or answer of a Cx command), or -1. */
int dia_cx_kind_of(struct msg *msg);
/* "UAR", "MAA"... for logs. */
const char *dia_cx_kind_name(enum cx_kind kind);
/* Session-Id of msg into out (outlen bytes, NUL-terminated); "" when none. */
void dia_cx_session_id(struct msg *msg, char *out, size_t outlen);

/* True for 2xxx results. */
static inline bool cx_result_success(const struct cx_result *r)
{
	return r->code >= 2000 && r->code < 3000;
}
/* Name of a result ("DIAMETER_FIRST_REGISTRATION", "DIAMETER_MISSING_AVP"), or
 * "UNKNOWN". */
const char *dia_cx_result_name(uint32_t code, bool experimental);

/* Names <-> values of the enumerations, as spelled in TS 29.229 ("REGISTRATION",
 * "RE_REGISTRATION", ...). The parsers accept any case and '-' for '_'; they return
 * -1 for an unknown name. The name functions return "UNKNOWN" for other values. */
const char *dia_cx_sat_name(int sat);
int dia_cx_sat_parse(const char *name);
const char *dia_cx_auth_type_name(int type);
int dia_cx_auth_type_parse(const char *name);
const char *dia_cx_reason_name(int reason);

#endif
