/* The unit-test registry: each tests/unit/test_<module>.c exports one function that
 * adds its CUnit suite; main.c lists them in one table. */
#ifndef IMS_UNIT_H
#define IMS_UNIT_H

#include <CUnit/CUnit.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cx_capabilities;
struct cx_result;
struct icscf_decision;
struct sip_msg;

int test_loop_register(void);
int test_codec_register(void);
int test_milenage_register(void);
int test_aka_register(void);
int test_digest_register(void);
int test_topo_register(void);
int test_jcheck_register(void);
int test_rest_register(void);
int test_dia_cx_register(void);
int test_hss_store_register(void);
int test_hss_cx_register(void);
int test_hss_rest_register(void);
int test_sip_transport_register(void);
int test_sip_msg_register(void);
int test_sip_proxy_register(void);
int test_ue_register(void);
int test_ue_call_register(void);
int test_pcscf_reg_register(void);
int test_pcscf_store_register(void);
int test_pcscf_call_register(void);
int test_icscf_select_register(void);
int test_icscf_reg_register(void);
int test_icscf_call_register(void);
int test_scscf_auth_register(void);
int test_scscf_userdata_register(void);
int test_scscf_reg_register(void);

/* Adds a suite named name with the NULL-terminated tests; returns 0 or a CUnit error. */
int unit_add_suite(const char *name, CU_TestInfo *tests);

/* unit_fixture.c: files under tests/fixtures/ */

/* Reads dir name (dir ends in '/') into a NUL-terminated malloc'd buffer, its length in
 * *len unless len is NULL; NULL when unreadable. */
char *unit_fixture_load(const char *dir, const char *name, size_t *len);

/* The parsed fixture dir name, or NULL. */
struct sip_msg *unit_fixture_parse(const char *dir, const char *name);

/* unit_net.c: loopback client sockets */

/* A TCP connection to 127.0.0.1:port whose sends and receives give up after timeout_s
 * seconds; the descriptor or -1. */
int unit_connect(uint16_t port, int timeout_s);

/* Sends all len bytes of data on fd; 0 or -1. */
int unit_send_all(int fd, const char *data, size_t len);

/* unit_cx.c: I-CSCF decisions from a UAA or LIA */

/* One Cx answer outcome and the decision it must give. */
struct unit_cx_case {
	int err;           /* dia_call error; 0: answer below */
	uint32_t code;     /* Result-Code / Experimental-Result-Code */
	bool experimental; /* which one */
	const char *name;  /* Server-Name, "" none */
	int caps;          /* -1: no capabilities; else one mandatory capability (0: none) */
	int status;        /* expected status, 0 = forward */
	const char *scscf; /* forward: expected S-CSCF */
};

/* Fills the fields of a zeroed answer (struct cx_uaa or cx_lia) from c. */
void unit_cx_answer(const struct unit_cx_case *c, struct cx_result *result, char *server_name,
                    size_t size, struct cx_capabilities *caps);

/* Asserts the status of decision d for case i, and the S-CSCF when it forwards. */
void unit_cx_check(size_t i, const struct unit_cx_case *c, const struct icscf_decision *d);

#endif
