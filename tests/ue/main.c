/* ue: the lab's test UE. Wiring only: command line -> topology (our node, its P-CSCF and
 * subscriber, overrides for tests) -> loop -> registration state and call settings ->
 * SIP transport -> REST -> optional registration at start-up -> run -> stop in reverse
 * order. */
#include "ue.h"

#include "log.h"
#include "loop.h"
#include "milenage.h"
#include "sip_msg.h"
#include "topo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct options {
	const char *topology;  /* topology file */
	const char *node;      /* our FQDN in it */
	const char *run_dir;   /* accepted like the daemons'; the UE writes nothing there */
	enum log_level level;  /* log verbosity */
	bool do_register;      /* register at start-up */
	uint32_t expires;      /* Expires asked for */
	const char *transport; /* "udp"/"tcp" override of the topology's */
	uint64_t sqn_ms;       /* the USIM's starting SQN_MS (0: fresh) */
	const char *password;  /* Digest password override */
	const char *k;         /* K override (hex) */
	const char *op;        /* OP override (hex) */
	const char *opc;       /* OPc override (hex) */
	const char *outbound;  /* ADDR:PORT for requests outside a dialog (tests) */
	bool no_reg_check;     /* calls and MESSAGE without registration (tests) */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: ue --topology FILE --node FQDN [--run-dir DIR]\n"
	           "          [--log-level err|warn|info|debug] [--register] [--expires N]\n"
	           "          [--transport udp|tcp] [--sqn-ms HEX] [--password X]\n"
	           "          [--k HEX] [--op HEX | --opc HEX]\n"
	           "          [--outbound ADDR:PORT] [--no-reg-check]\n");
}

/* Unsigned decimal or hex (base 10 or 16) with every character checked. */
static int parse_u64(const char *s, int base, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s[0] || s[0] == '-' || s[0] == '+' || s[0] == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"topology", required_argument, NULL, 't'},
	    {"node", required_argument, NULL, 'n'},
	    {"run-dir", required_argument, NULL, 'r'},
	    {"log-level", required_argument, NULL, 'l'},
	    {"register", no_argument, NULL, 'R'},
	    {"expires", required_argument, NULL, 'e'},
	    {"transport", required_argument, NULL, 'T'},
	    {"sqn-ms", required_argument, NULL, 's'},
	    {"password", required_argument, NULL, 'p'},
	    {"k", required_argument, NULL, 'k'},
	    {"op", required_argument, NULL, 'o'},
	    {"opc", required_argument, NULL, 'c'},
	    {"outbound", required_argument, NULL, 'O'},
	    {"no-reg-check", no_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t v;
	int c, level;

	*o = (struct options){.level = LOGL_INFO, .expires = 600};
	while ((c = getopt_long(argc, argv, "t:n:r:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->topology = optarg;
			break;
		case 'n':
			o->node = optarg;
			break;
		case 'r':
			o->run_dir = optarg;
			break;
		case 'l':
			level = log_level_parse(optarg);
			if (level < 0) {
				fprintf(stderr, "ue: bad --log-level %s\n", optarg);
				return -EINVAL;
			}
			o->level = (enum log_level)level;
			break;
		case 'R':
			o->do_register = true;
			break;
		case 'e':
			if (parse_u64(optarg, 10, UINT32_MAX, &v) < 0 || v == 0) {
				fprintf(stderr, "ue: --expires wants seconds from 1 to %u\n",
				        UINT32_MAX);
				return -EINVAL;
			}
			o->expires = (uint32_t)v;
			break;
		case 'T':
			if (strcmp(optarg, "udp") != 0 && strcmp(optarg, "tcp") != 0) {
				fprintf(stderr, "ue: --transport wants udp or tcp\n");
				return -EINVAL;
			}
			o->transport = optarg;
			break;
		case 's':
			if (parse_u64(optarg, 16, AKA_SQN_MAX, &o->sqn_ms) < 0) {
				fprintf(stderr, "ue: --sqn-ms wants at most 12 hex digits\n");
				return -EINVAL;
			}
			break;
		case 'p':
			o->password = optarg;
			break;
		case 'k':
			o->k = optarg;
			break;
		case 'o':
			o->op = optarg;
			break;
		case 'c':
			o->opc = optarg;
			break;
		case 'O':
			o->outbound = optarg;
			break;
		case 'N':
			o->no_reg_check = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!o->topology || !o->node || optind != argc || (o->op && o->opc)) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

/* K and OPc from the subscriber record, then the overrides (OPc is derived from OP with
 * the final K, TS 35.206 4.1). */
static int resolve_keys(struct ue *ue, const struct topo_subscriber *sub, const struct options *o)
{
	uint8_t op[16];
	bool is_opc = sub->opc;
	int ret = 0;

	ue->has_k = sub->has_k;
	memcpy(ue->k, sub->k, sizeof(ue->k));
	memcpy(op, sub->op, sizeof(op));
	if (o->k && codec_hex_decode(o->k, ue->k, sizeof(ue->k)) < 0) {
		log_err("--k: expected 32 hex digits");
		return -EINVAL;
	}
	if ((o->op || o->opc) && codec_hex_decode(o->op ? o->op : o->opc, op, sizeof(op)) < 0) {
		log_err("--%s: expected 32 hex digits", o->op ? "op" : "opc");
		return -EINVAL;
	}
	if (o->op || o->opc)
		is_opc = o->opc != NULL;
	if (o->k && !ue->has_k && !o->op && !o->opc) {
		log_err("--k needs --op or --opc: the subscriber has no OP");
		return -EINVAL;
	}
	if (o->k || o->op || o->opc)
		ue->has_k = true;
	if (!ue->has_k)
		return 0;
	if (is_opc)
		memcpy(ue->opc, op, sizeof(op));
	else
		ret = milenage_opc(ue->k, op, ue->opc);
	memset(op, 0, sizeof(op));
	if (ret < 0)
		log_err("cannot derive OPc: %s", strerror(-ret));
	return ret;
}

/* Our identities: IMPI, default IMPU, the user part of the Contact (the IMPU's user
 * when it is a SIP URI, else the IMPI's). */
static int resolve_identity(struct ue *ue, const struct topo_subscriber *sub)
{
	const char *impu = sub->impus[0].uri;
	const char *at = strchr(sub->impi, '@');
	struct sip_uri u;

	snprintf(ue->impi, sizeof(ue->impi), "%s", sub->impi);
	snprintf(ue->impu, sizeof(ue->impu), "%s", impu);
	if (sip_msg_uri_parse(impu, strlen(impu), &u) == 0 && strcmp(u.scheme, "tel") != 0 &&
	    u.user[0])
		snprintf(ue->user, sizeof(ue->user), "%s", u.user);
	else
		snprintf(ue->user, sizeof(ue->user), "%.*s",
		         (int)(at ? (size_t)(at - sub->impi) : strlen(sub->impi)), sub->impi);
	return 0;
}

/* --outbound ADDR:PORT: an IPv4 address and a port from 1 to 65535. */
static int parse_outbound(const char *s, struct sockaddr_in *out)
{
	char addr[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (!colon || (size_t)(colon - s) >= sizeof(addr) ||
	    parse_u64(colon + 1, 10, 65535, &port) < 0 || port == 0)
		return -EINVAL;
	memcpy(addr, s, (size_t)(colon - s));
	addr[colon - s] = '\0';
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, addr, &out->sin_addr) == 1 ? 0 : -EINVAL;
}

static int load_config(struct ue *ue, const struct options *o)
{
	const struct topo_subscriber *sub;
	char err[512];
	const char *transport;

	ue->topo = topo_load(o->topology, err, sizeof(err));
	if (!ue->topo) {
		log_err("%s: %s", o->topology, err);
		return -EINVAL;
	}
	ue->node = topo_node_by_fqdn(ue->topo, o->node);
	if (!ue->node || ue->node->role != TOPO_UE) {
		log_err("%s: no ue node named %s", o->topology, o->node);
		return -ENOENT;
	}
	ue->domain = ue->node->domain->name;
	ue->pcscf = topo_domain_node_by_name(ue->node->domain, ue->node->pcscf);
	sub = topo_subscriber_by_impi(ue->topo, ue->node->subscriber);
	if (!ue->pcscf || !sub || sub->n_impus == 0) {
		log_err("%s: %s: P-CSCF or subscriber missing", o->topology, o->node);
		return -ENOENT;
	}
	ue->pcscf_addr.sin_family = AF_INET;
	ue->pcscf_addr.sin_port = htons(ue->pcscf->sip_port);
	if (inet_pton(AF_INET, ue->pcscf->address, &ue->pcscf_addr.sin_addr) != 1) {
		log_err("P-CSCF address %s is not IPv4", ue->pcscf->address);
		return -EINVAL;
	}
	ue->outbound = ue->pcscf_addr;
	if (o->outbound && parse_outbound(o->outbound, &ue->outbound) < 0) {
		log_err("--outbound wants ADDR:PORT with an IPv4 address");
		return -EINVAL;
	}
	ue->no_reg_check = o->no_reg_check;
	transport = o->transport ? o->transport : ue->node->transport;
	ue->proto = transport && strcmp(transport, "tcp") == 0 ? SIP_PROTO_TCP : SIP_PROTO_UDP;
	resolve_identity(ue, sub);
	if (sub->password)
		snprintf(ue->password, sizeof(ue->password), "%s", sub->password);
	if (o->password)
		snprintf(ue->password, sizeof(ue->password), "%s", o->password);
	ue->has_password = sub->password || o->password;
	if (resolve_keys(ue, sub, o) < 0)
		return -EINVAL;
	if (!ue->has_k && !ue->has_password) {
		log_err("%s: no credentials (K/OP or password) for %s", o->topology, ue->impi);
		return -ENOKEY;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct ue ue;
	struct options o;
	int rc = 1;

	loop_block_signals();
	if (parse_args(argc, argv, &o) < 0)
		return 2;
	log_init(o.node, o.level);
	if (load_config(&ue, &o) < 0)
		goto out_topo;
	ue.started_ms = loop_clock_ms();
	ue.loop = loop_new();
	if (!ue.loop) {
		log_err("cannot create the event loop");
		goto out_topo;
	}
	if (ue_reg_init(&ue, o.sqn_ms, o.expires) < 0) {
		log_err("cannot prepare the registration (no randomness)");
		goto out_loop;
	}
	ue_call_defaults(&ue);
	if (ue_sip_init(&ue) < 0)
		goto out_reg;
	if (ue_rest_init(&ue) < 0)
		goto out_sip;
	ue.ready = true;
	log_info("ready: %s (%s) over %s to %s, SIP on %s:%u, REST on http://%s:%u/", ue.impu,
	         ue.has_k ? "AKA" : "MD5", ue.proto == SIP_PROTO_TCP ? "TCP" : "UDP",
	         ue.pcscf->fqdn, ue.node->address, ue.node->sip_port, ue.node->address,
	         ue.node->rest_port);
	/* A failure is logged and shown by /status; the UE keeps running. */
	if (o.do_register)
		ue_reg_start(&ue, UE_OP_REGISTER, 0);
	rc = loop_run(ue.loop) < 0 ? 1 : 0;
	log_info("stopping");
	ue.ready = false;
	ue_rest_fini(&ue);
out_sip:
	ue_sip_fini(&ue);
	ue_call_fini(&ue);
	ue_pager_fini(&ue);
out_reg:
	ue_reg_fini(&ue);
out_loop:
	loop_free(ue.loop);
out_topo:
	topo_free(ue.topo);
	memset(ue.k, 0, sizeof(ue.k));
	memset(ue.opc, 0, sizeof(ue.opc));
	memset(ue.password, 0, sizeof(ue.password));
	return rc;
}
