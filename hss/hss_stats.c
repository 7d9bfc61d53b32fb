/* Cx counters of the HSS: answers per command and result code, handling time, vectors.
 * Named after the 3GPP Cx PM counters where they exist; exported as JSON and Prometheus. */
#include "hss.h"
#include "prom.h"

#include <jansson.h>
#include <stdio.h>

/* The result codes of TS 29.229 6.2 and RFC 6733 7.1 an HSS answers with. */
static const unsigned result_codes[HSS_STATS_RESULTS - 1] = {
    2001, 2002, 2003, 2004, 3002, 4001, 5001, 5002, 5003, 5004, 5005, 5006, 5007, 5012,
};

static const char *const cmd_names[HSS_CX_N] = {"UAR", "SAR", "LIR", "MAR"};

const char *hss_stats_cmd_name(enum hss_cx_cmd cmd)
{
	return cmd_names[cmd];
}

static size_t result_slot(unsigned result)
{
	for (size_t i = 0; i < HSS_STATS_RESULTS - 1; i++)
		if (result_codes[i] == result)
			return i;
	return HSS_STATS_RESULTS - 1;
}

static void result_label(size_t slot, char *buf, size_t size)
{
	if (slot < HSS_STATS_RESULTS - 1)
		snprintf(buf, size, "%u", result_codes[slot]);
	else
		snprintf(buf, size, "other");
}

void hss_stats_answer(struct hss_stats *st, enum hss_cx_cmd cmd, unsigned result, uint64_t us)
{
	atomic_fetch_add_explicit(&st->requests[cmd], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->answers[cmd][result_slot(result)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->latency_us[cmd], us, memory_order_relaxed);
}

void hss_stats_prom(const struct hss_stats *st, struct prom *p)
{
	char labels[64], result[16];

	for (int c = 0; c < HSS_CX_N; c++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "command", cmd_names[c]);
		prom_counter(p, "hss_cx_requests_total", "Cx requests received, by command", labels,
		             atomic_load(&st->requests[c]));
	}
	for (int c = 0; c < HSS_CX_N; c++) {
		for (size_t r = 0; r < HSS_STATS_RESULTS; r++) {
			uint64_t n = atomic_load(&st->answers[c][r]);

			if (!n)
				continue;
			result_label(r, result, sizeof(result));
			labels[0] = '\0';
			prom_label(labels, sizeof(labels), "command", cmd_names[c]);
			prom_label(labels, sizeof(labels), "result", result);
			prom_counter(p, "hss_cx_answers_total",
			             "Cx answers sent, by command and (experimental) result code",
			             labels, n);
		}
	}
	for (int c = 0; c < HSS_CX_N; c++) {
		labels[0] = '\0';
		prom_label(labels, sizeof(labels), "command", cmd_names[c]);
		prom_counter(p, "hss_cx_handling_microseconds_total",
		             "Time spent handling Cx requests, by command", labels,
		             atomic_load(&st->latency_us[c]));
	}
	prom_counter(p, "hss_aka_vectors_total", "AKA authentication vectors issued", NULL,
	             atomic_load(&st->vectors));
	prom_counter(p, "hss_aka_resyncs_total", "Successful SQN resynchronisations (AUTS)", NULL,
	             atomic_load(&st->resyncs));
}

json_t *hss_stats_json(const struct hss_stats *st)
{
	json_t *all = json_object();
	char result[16];

	for (int c = 0; c < HSS_CX_N && all; c++) {
		json_t *answers = json_object();

		for (size_t r = 0; r < HSS_STATS_RESULTS; r++) {
			uint64_t n = atomic_load(&st->answers[c][r]);

			if (!n)
				continue;
			result_label(r, result, sizeof(result));
			json_object_set_new(answers, result, json_integer((json_int_t)n));
		}
		json_object_set_new(all, cmd_names[c],
		                    json_pack("{s:I, s:o}", "requests",
		                              (json_int_t)atomic_load(&st->requests[c]), "answers",
		                              answers));
	}
	if (all) {
		json_object_set_new(all, "vectors",
		                    json_integer((json_int_t)atomic_load(&st->vectors)));
		json_object_set_new(all, "resyncs",
		                    json_integer((json_int_t)atomic_load(&st->resyncs)));
	}
	return all;
}
