/* Runs every CUnit suite, or only the suites named on the command line.
 * Exit status: 0 when all tests pass, 1 otherwise. */
#include "unit.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int (*add)(void);
} suites[] = {
    {"loop", test_loop_register},
    {"codec", test_codec_register},
    {"milenage", test_milenage_register},
    {"aka", test_aka_register},
    {"digest", test_digest_register},
    {"topo", test_topo_register},
    {"jcheck", test_jcheck_register},
    {"rest", test_rest_register},
    {"dia_cx", test_dia_cx_register},
    {"hss_store", test_hss_store_register},
    {"hss_cx", test_hss_cx_register},
    {"hss_rest", test_hss_rest_register},
    {"sip_transport", test_sip_transport_register},
    {"sip_msg", test_sip_msg_register},
    {"sip_proxy", test_sip_proxy_register},
    {"ue", test_ue_register},
    {"ue_call", test_ue_call_register},
    {"pcscf_reg", test_pcscf_reg_register},
    {"pcscf_store", test_pcscf_store_register},
    {"pcscf_call", test_pcscf_call_register},
    {"icscf_select", test_icscf_select_register},
    {"icscf_reg", test_icscf_reg_register},
    {"icscf_call", test_icscf_call_register},
    {"scscf_auth", test_scscf_auth_register},
    {"scscf_userdata", test_scscf_userdata_register},
    {"scscf_reg", test_scscf_reg_register},
};

int unit_add_suite(const char *name, CU_TestInfo *tests)
{
	CU_SuiteInfo info[] = {{name, NULL, NULL, NULL, NULL, tests}, CU_SUITE_INFO_NULL};

	return CU_register_suites(info);
}

static int wanted(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		if (!wanted(suites[i].name, argc, argv))
			continue;
		if (suites[i].add() != CUE_SUCCESS) {
			fprintf(stderr, "cannot register suite %s: %s\n", suites[i].name,
			        CU_get_error_msg());
			CU_cleanup_registry();
			return 1;
		}
	}
	CU_basic_set_mode(CU_BRM_NORMAL);
	CU_basic_run_tests();
	failed = CU_get_number_of_tests_failed() + CU_get_number_of_failures();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
