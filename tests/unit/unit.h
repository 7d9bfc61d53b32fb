/* The unit-test registry: each tests/unit/test_<module>.c exports one function that
 * adds its CUnit suite; main.c lists them in one table. */
#ifndef IMS_UNIT_H
#define IMS_UNIT_H

#include <CUnit/CUnit.h>

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

#endif
