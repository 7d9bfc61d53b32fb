/* cxclient: a Cx client for tests and benchmarks. It joins the lab as one more Diameter
 * node (identity cxclient.<realm> by default), connects to the HSS named on the command
 * line (address and port from the topology), sends one UAR, MAR, SAR or LIR and prints
 * the decoded answer, human-readable or as one JSON object (--json) for jq; or keeps a
 * window of MARs in flight and prints the rate (bench mar). As a test tool it can also
 * check AKA vectors against the subscriber's K/OP (--verify), build a resynchronisation
 * AUTS (--resync-sqn), and send requests with an AVP left out (--omit-avp).
 * Exit status: 0 an answer arrived (whatever its result), 1 no answer or no connection,
 * 2 usage error. */
#include "aka.h"
#include "codec.h"
#include "dia_core.h"
#include "dia_cx.h"
#include "log.h"
#include "milenage.h"
#include "topo.h"

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_NO_ANSWER     1
#define EXIT_USAGE         2
#define CONNECT_TIMEOUT_MS 5000
#define BENCH_WINDOW_MAX   10000

static const char usage_text[] =
    "usage: cxclient --topology FILE --hss FQDN [options] COMMAND [ARGS]\n"
    "options:\n"
    "  --identity ID        our Diameter identity (default cxclient.<hss realm>)\n"
    "  --address ADDR       our IPv4 address (default 127.0.0.1)\n"
    "  --port N             listen on N (default: do not listen)\n"
    "  --run-dir DIR        where the freeDiameter configuration goes (default: temporary)\n"
    "  --timeout MS         wait for the connection and each answer (default 5000)\n"
    "  --certs DIR          TLS: DIR/<identity>.crt, DIR/<identity>.key, DIR/ca.crt\n"
    "  --tls-cert F --tls-key F --tls-ca F   TLS files one by one\n"
    "  --json               print each answer as one JSON object\n"
    "  -v, --verbose        log freeDiameter notices (twice: debug)\n"
    "commands:\n"
    "  uar --impu IMPU --impi IMPI [--type registration|de_registration|\n"
    "      registration_and_capabilities] [--visited NET]\n"
    "  mar --impu IMPU --impi IMPI [--scheme Digest-AKAv1-MD5|'SIP Digest'|Digest-MD5]\n"
    "      [--items N] [--server-name sip:...] [--resync BASE64(RAND||AUTS)]\n"
    "      [--resync-sqn HEX [--forge-auts]] [--verify] [--k HEX --op HEX|--opc HEX]\n"
    "  sar --impu IMPU --impi IMPI --type registration|re_registration|unregistered_user|\n"
    "      timeout_deregistration|user_deregistration|administrative_deregistration|...\n"
    "      [--server-name sip:...] [--data-available]\n"
    "  lir --impu IMPU [--originating]\n"
    "  bench mar --impu IMPU --impi IMPI --count N --window W [--scheme S]\n"
    "uar, mar, sar and lir also take --omit-avp NAME: send the request without that AVP.\n"
    "--verify checks each AKA vector with the subscriber's K and OP/OPc (from the topology\n"
    "unless --k/--op/--opc): MAC-A, XRES = RES, CK, IK, and shows its SQN. --resync-sqn\n"
    "sends RAND || AUTS for that SQN_MS (TS 33.102 6.3.5); --forge-auts spoils MAC-S.\n"
    "The default --server-name is sip:<first S-CSCF of the HSS's domain>:<its SIP port>.\n"
    "Exit status: 0 an answer arrived (any result), 1 no answer, 2 usage error.\n";

/* What the command line and the topology give. */
struct cli {
	const char *topology;         /* topology file */
	const char *hss;              /* HSS identity */
	const char *identity;         /* our identity, NULL = default */
	const char *address;          /* our address */
	uint16_t port;                /* our listen port, 0 = none */
	const char *run_dir;          /* run directory, NULL = temporary */
	const char *certs;            /* TLS directory, NULL = none */
	const char *tls_cert;         /* TLS certificate */
	const char *tls_key;          /* TLS key */
	const char *tls_ca;           /* TLS CA */
	unsigned timeout_ms;          /* connection and answer timeout */
	bool json;                    /* JSON output */
	int verbose;                  /* -v count */
	char realm[CX_ID_MAX];        /* the HSS's realm (its domain) */
	char hss_address[64];         /* the HSS's address */
	uint16_t hss_port;            /* the HSS's Diameter port */
	bool tls;                     /* the topology uses TLS */
	char identity_buf[CX_ID_MAX]; /* default identity */
	char server_name[CX_ID_MAX];  /* default Server-Name */
	char tmp_dir[64];             /* temporary run directory, "" = none */
	char cert_buf[PATH_MAX];      /* certs/<identity>.crt */
	char key_buf[PATH_MAX];       /* certs/<identity>.key */
	char ca_buf[PATH_MAX];        /* certs/ca.crt */
	struct topo *topo;            /* owned; the loaded topology */
};

/* Subscriber keys for --verify and --resync-sqn. */
struct keys {
	uint8_t k[16];   /* K */
	uint8_t opc[16]; /* OPc (derived from OP when OP is given) */
};

union cx_request {
	struct cx_uar uar;
	struct cx_sar sar;
	struct cx_lir lir;
	struct cx_mar mar;
};

union cx_answer {
	struct cx_uaa uaa;
	struct cx_saa saa;
	struct cx_lia lia;
	struct cx_maa maa;
};

/* One request waited for by the main thread. */
struct waiter {
	pthread_mutex_t mu;  /* protects the fields below */
	pthread_cond_t cv;   /* signalled when done */
	bool done;           /* the callback ran */
	int err;             /* -ETIMEDOUT, or 0 when an answer came */
	int parse_ret;       /* dia_cx_answer_parse result */
	enum cx_kind kind;   /* answer kind expected */
	union cx_answer ans; /* decoded answer */
};

/* The bench: counters updated by answer callbacks. */
struct bench {
	sem_t slots;          /* free places in the window */
	pthread_mutex_t mu;   /* protects the counters */
	pthread_cond_t cv;    /* signalled when the last answer came */
	unsigned long done;   /* answers or timeouts */
	unsigned long failed; /* timeouts, parse errors and non-2xxx results */
	unsigned long total;  /* requests to send */
};

static struct waiter waiter;
static union cx_request request;
static struct keys keys;     /* valid when verify */
static bool verify;          /* mar --verify */
static const char *omit_avp; /* --omit-avp NAME */

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "cxclient: %s\n", why);
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return false;
	*out = v;
	return true;
}

static bool copy_str(char *dst, size_t size, const char *src)
{
	return src && (size_t)snprintf(dst, size, "%s", src) < size;
}

/* ---- topology ---- */

static int load_topology(struct cli *c)
{
	char err[256];
	struct topo *t;
	const struct topo_node *hss, *scscf;
	int ret = EXIT_USAGE;

	t = topo_load(c->topology, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "cxclient: %s: %s\n", c->topology, err);
		return EXIT_USAGE;
	}
	hss = topo_node_by_fqdn(t, c->hss);
	if (!hss || hss->diameter_port == 0) {
		fprintf(stderr, "cxclient: %s is no Diameter node of %s\n", c->hss, c->topology);
		goto out_free_topo;
	}
	copy_str(c->realm, sizeof(c->realm), hss->domain->name);
	copy_str(c->hss_address, sizeof(c->hss_address), hss->address);
	c->hss_port = hss->diameter_port;
	c->tls = t->tls;
	scscf = topo_domain_node(hss->domain, TOPO_SCSCF);
	if (snprintf(c->identity_buf, sizeof(c->identity_buf), "cxclient.%s", c->realm) >=
	        (int)sizeof(c->identity_buf) ||
	    (scscf && snprintf(c->server_name, sizeof(c->server_name), "sip:%s:%u", scscf->fqdn,
	                       (unsigned)scscf->sip_port) >= (int)sizeof(c->server_name))) {
		fprintf(stderr, "cxclient: the realm %s is too long\n", c->realm);
		goto out_free_topo;
	}
	c->topo = t;
	return 0;
out_free_topo:
	topo_free(t);
	return ret;
}

/* ---- global options ---- */

enum {
	OPT_TOPOLOGY = 256,
	OPT_HSS,
	OPT_IDENTITY,
	OPT_ADDRESS,
	OPT_PORT,
	OPT_RUN_DIR,
	OPT_TIMEOUT,
	OPT_CERTS,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_TLS_CA,
	OPT_JSON,
};

static const struct option global_opts[] = {
    {"topology", required_argument, NULL, OPT_TOPOLOGY},
    {"hss", required_argument, NULL, OPT_HSS},
    {"identity", required_argument, NULL, OPT_IDENTITY},
    {"address", required_argument, NULL, OPT_ADDRESS},
    {"port", required_argument, NULL, OPT_PORT},
    {"run-dir", required_argument, NULL, OPT_RUN_DIR},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"certs", required_argument, NULL, OPT_CERTS},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"tls-ca", required_argument, NULL, OPT_TLS_CA},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int parse_global(struct cli *c, int argc, char **argv)
{
	unsigned long v;
	int opt;

	c->address = "127.0.0.1";
	c->timeout_ms = 5000;
	/* '+': stop at the command name, its options are parsed separately */
	while ((opt = getopt_long(argc, argv, "+vh", global_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_TOPOLOGY:
			c->topology = optarg;
			break;
		case OPT_HSS:
			c->hss = optarg;
			break;
		case OPT_IDENTITY:
			c->identity = optarg;
			break;
		case OPT_ADDRESS:
			c->address = optarg;
			break;
		case OPT_PORT:
			if (!parse_uint(optarg, 65535, &v))
				return usage("--port: not a port number");
			c->port = (uint16_t)v;
			break;
		case OPT_RUN_DIR:
			c->run_dir = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 3600000, &v) || v == 0)
				return usage("--timeout: milliseconds expected");
			c->timeout_ms = (unsigned)v;
			break;
		case OPT_CERTS:
			c->certs = optarg;
			break;
		case OPT_TLS_CERT:
			c->tls_cert = optarg;
			break;
		case OPT_TLS_KEY:
			c->tls_key = optarg;
			break;
		case OPT_TLS_CA:
			c->tls_ca = optarg;
			break;
		case OPT_JSON:
			c->json = true;
			break;
		case 'v':
			c->verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			return usage(NULL);
		}
	}
	if (!c->topology || !c->hss)
		return usage("--topology and --hss are required");
	if (optind >= argc)
		return usage("no command");
	return 0;
}

/* ---- command options ---- */

/* Options of every command; each command says which it accepts. */
struct cmd_args {
	const char *impu, *impi, *type, *visited, *scheme, *server_name, *resync;
	const char *resync_sqn, *omit, *k, *op, *opc;
	unsigned long items, count, window;
	bool originating, data_available, verify, forge_auts;
};

enum {
	C_IMPU = 1 << 0,
	C_IMPI = 1 << 1,
	C_TYPE = 1 << 2,
	C_VISITED = 1 << 3,
	C_SCHEME = 1 << 4,
	C_ITEMS = 1 << 5,
	C_SERVER = 1 << 6,
	C_RESYNC = 1 << 7,
	C_ORIG = 1 << 8,
	C_COUNT = 1 << 9,
	C_WINDOW = 1 << 10,
	C_AVAIL = 1 << 11,
	C_VERIFY = 1 << 12,
	C_RESYNC_SQN = 1 << 13,
	C_FORGE = 1 << 14,
	C_OMIT = 1 << 15,
	C_K = 1 << 16,
	C_OP = 1 << 17,
	C_OPC = 1 << 18,
};

static const struct option cmd_opts[] = {
    {"impu", required_argument, NULL, C_IMPU},
    {"impi", required_argument, NULL, C_IMPI},
    {"type", required_argument, NULL, C_TYPE},
    {"visited", required_argument, NULL, C_VISITED},
    {"scheme", required_argument, NULL, C_SCHEME},
    {"items", required_argument, NULL, C_ITEMS},
    {"server-name", required_argument, NULL, C_SERVER},
    {"resync", required_argument, NULL, C_RESYNC},
    {"originating", no_argument, NULL, C_ORIG},
    {"count", required_argument, NULL, C_COUNT},
    {"window", required_argument, NULL, C_WINDOW},
    {"data-available", no_argument, NULL, C_AVAIL},
    {"verify", no_argument, NULL, C_VERIFY},
    {"resync-sqn", required_argument, NULL, C_RESYNC_SQN},
    {"forge-auts", no_argument, NULL, C_FORGE},
    {"omit-avp", required_argument, NULL, C_OMIT},
    {"k", required_argument, NULL, C_K},
    {"op", required_argument, NULL, C_OP},
    {"opc", required_argument, NULL, C_OPC},
    {NULL, 0, NULL, 0},
};

/* Parses argv (argv[0] is the command) accepting the options in allowed. */
static int parse_cmd(int argc, char **argv, unsigned allowed, struct cmd_args *a)
{
	int opt;

	memset(a, 0, sizeof(*a));
	a->items = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "", cmd_opts, NULL)) != -1) {
		if (opt == '?' || !(allowed & (unsigned)opt)) {
			fprintf(stderr, "cxclient: %s: unexpected option\n", argv[0]);
			return usage(NULL);
		}
		switch (opt) {
		case C_IMPU:
			a->impu = optarg;
			break;
		case C_IMPI:
			a->impi = optarg;
			break;
		case C_TYPE:
			a->type = optarg;
			break;
		case C_VISITED:
			a->visited = optarg;
			break;
		case C_SCHEME:
			a->scheme = optarg;
			break;
		case C_SERVER:
			a->server_name = optarg;
			break;
		case C_RESYNC:
			a->resync = optarg;
			break;
		case C_ORIG:
			a->originating = true;
			break;
		case C_AVAIL:
			a->data_available = true;
			break;
		case C_VERIFY:
			a->verify = true;
			break;
		case C_RESYNC_SQN:
			a->resync_sqn = optarg;
			break;
		case C_FORGE:
			a->forge_auts = true;
			break;
		case C_OMIT:
			a->omit = optarg;
			break;
		case C_K:
			a->k = optarg;
			break;
		case C_OP:
			a->op = optarg;
			break;
		case C_OPC:
			a->opc = optarg;
			break;
		case C_ITEMS:
			if (!parse_uint(optarg, CX_ITEMS_MAX, &a->items) || a->items == 0)
				return usage("--items: 1 to 8");
			break;
		case C_COUNT:
			if (!parse_uint(optarg, 100000000, &a->count) || a->count == 0)
				return usage("--count: a positive number");
			break;
		case C_WINDOW:
			if (!parse_uint(optarg, BENCH_WINDOW_MAX, &a->window) || a->window == 0)
				return usage("--window: 1 to 10000");
			break;
		}
	}
	if (optind != argc)
		return usage("unexpected argument");
	return 0;
}

static void set_dest(const struct cli *c, struct cx_hdr *h)
{
	copy_str(h->dest_host, sizeof(h->dest_host), c->hss);
	copy_str(h->dest_realm, sizeof(h->dest_realm), c->realm);
}

static int need(const char *v, const char *what)
{
	if (v && *v)
		return 0;
	fprintf(stderr, "cxclient: %s is required\n", what);
	return usage(NULL);
}

static int long_value(const char *what)
{
	fprintf(stderr, "cxclient: %s: value too long\n", what);
	return EXIT_USAGE;
}

static int make_uar(const struct cli *c, int argc, char **argv)
{
	struct cx_uar *r = &request.uar;
	struct cmd_args a;
	int ret;

	ret = parse_cmd(argc, argv, C_IMPU | C_IMPI | C_TYPE | C_VISITED | C_OMIT, &a);
	if (ret || (ret = need(a.impu, "--impu")) || (ret = need(a.impi, "--impi")))
		return ret;
	omit_avp = a.omit;
	set_dest(c, &r->hdr);
	if (!copy_str(r->public_identity, sizeof(r->public_identity), a.impu) ||
	    !copy_str(r->user_name, sizeof(r->user_name), a.impi) ||
	    !copy_str(r->visited_network, sizeof(r->visited_network),
	              a.visited ? a.visited : c->realm))
		return long_value("uar");
	r->auth_type = CX_AUTH_REGISTRATION;
	if (a.type) {
		int t = dia_cx_auth_type_parse(a.type);

		if (t < 0)
			return usage("--type: registration, de_registration or "
			             "registration_and_capabilities");
		r->auth_type = (enum cx_auth_type)t;
	}
	return 0;
}

static int fill_mar(const struct cli *c, const struct cmd_args *a, struct cx_mar *r)
{
	const char *scheme = a->scheme ? a->scheme : CX_SCHEME_AKAV1_MD5;
	ssize_t n;

	set_dest(c, &r->hdr);
	if (!copy_str(r->public_identity, sizeof(r->public_identity), a->impu) ||
	    !copy_str(r->user_name, sizeof(r->user_name), a->impi) ||
	    !copy_str(r->server_name, sizeof(r->server_name),
	              a->server_name ? a->server_name : c->server_name) ||
	    !copy_str(r->item.scheme, sizeof(r->item.scheme), scheme))
		return long_value("mar");
	r->number_auth_items = (uint32_t)a->items;
	if (a->resync) {
		/* TS 29.229 6.3.11: SIP-Authorization = RAND || AUTS for a resynchronisation */
		n = codec_b64_decode(a->resync, strlen(a->resync), r->item.authorization,
		                     sizeof(r->item.authorization));
		if (n != 30) {
			fprintf(stderr, "cxclient: --resync: base64 of RAND||AUTS (30 bytes) "
			                "expected\n");
			return EXIT_USAGE;
		}
		r->item.authorization_len = (size_t)n;
	}
	return 0;
}

/* K and OPc of a->impi: from --k/--op/--opc, else from the topology's subscriber. */
static int load_keys(const struct cli *c, const struct cmd_args *a)
{
	const struct topo_subscriber *sub;
	uint8_t op[16];

	if (a->k || a->op || a->opc) {
		if (!a->k || codec_hex_decode(a->k, keys.k, 16) ||
		    (a->opc ? codec_hex_decode(a->opc, keys.opc, 16)
		            : !a->op || codec_hex_decode(a->op, op, 16) ||
		                  milenage_opc(keys.k, op, keys.opc)))
			return usage("--k and --op or --opc: 32 hex digits each");
		return 0;
	}
	sub = topo_subscriber_by_impi(c->topo, a->impi);
	if (!sub || !sub->has_k) {
		fprintf(stderr, "cxclient: %s has no K/OP in %s: give --k and --op or --opc\n",
		        a->impi, c->topology);
		return EXIT_USAGE;
	}
	memcpy(keys.k, sub->k, 16);
	if (sub->opc)
		memcpy(keys.opc, sub->op, 16);
	else if (milenage_opc(sub->k, sub->op, keys.opc))
		return EXIT_USAGE;
	return 0;
}

/* TS 33.102 6.3.3 / TS 29.229 6.3.11: SIP-Authorization = RAND || AUTS for SQN_MS, as a
 * UE that rejected a challenge would send; --forge-auts flips a bit of MAC-S. */
static int make_resync(const struct cmd_args *a, struct cx_auth_item *item)
{
	uint8_t auts[AKA_AUTS_LEN];
	unsigned long long sqn;
	char *end;

	errno = 0;
	sqn = strtoull(a->resync_sqn, &end, 16);
	if (errno || end == a->resync_sqn || *end || sqn > AKA_SQN_MAX || a->resync)
		return usage("--resync-sqn: a 48-bit SQN in hex (not with --resync)");
	if (RAND_bytes(item->authorization, 16) != 1 ||
	    aka_auts_make(keys.k, keys.opc, item->authorization, (uint64_t)sqn, auts)) {
		fprintf(stderr, "cxclient: cannot compute AUTS\n");
		return EXIT_USAGE;
	}
	if (a->forge_auts)
		auts[AKA_AUTS_LEN - 1] ^= 0x01;
	memcpy(item->authorization + 16, auts, AKA_AUTS_LEN);
	item->authorization_len = 16 + AKA_AUTS_LEN;
	return 0;
}

static int make_mar(const struct cli *c, int argc, char **argv)
{
	struct cmd_args a;
	int ret;

	ret = parse_cmd(argc, argv,
	                C_IMPU | C_IMPI | C_SCHEME | C_ITEMS | C_SERVER | C_RESYNC | C_VERIFY |
	                    C_RESYNC_SQN | C_FORGE | C_OMIT | C_K | C_OP | C_OPC,
	                &a);
	if (ret || (ret = need(a.impu, "--impu")) || (ret = need(a.impi, "--impi")))
		return ret;
	omit_avp = a.omit;
	verify = a.verify;
	ret = fill_mar(c, &a, &request.mar);
	if (ret == 0 && (a.verify || a.resync_sqn))
		ret = load_keys(c, &a);
	if (ret == 0 && a.resync_sqn)
		ret = make_resync(&a, &request.mar.item);
	else if (ret == 0 && a.forge_auts)
		ret = usage("--forge-auts goes with --resync-sqn");
	return ret;
}

static int make_sar(const struct cli *c, int argc, char **argv)
{
	struct cx_sar *r = &request.sar;
	struct cmd_args a;
	int ret, sat;

	ret = parse_cmd(argc, argv, C_IMPU | C_IMPI | C_TYPE | C_SERVER | C_AVAIL | C_OMIT, &a);
	if (ret || (ret = need(a.impu, "--impu")) || (ret = need(a.impi, "--impi")) ||
	    (ret = need(a.type, "--type")))
		return ret;
	omit_avp = a.omit;
	sat = dia_cx_sat_parse(a.type);
	if (sat < 0)
		return usage("--type: a Server-Assignment-Type name (TS 29.229 6.3.15)");
	set_dest(c, &r->hdr);
	if (!copy_str(r->public_identities[0], sizeof(r->public_identities[0]), a.impu) ||
	    !copy_str(r->user_name, sizeof(r->user_name), a.impi) ||
	    !copy_str(r->server_name, sizeof(r->server_name),
	              a.server_name ? a.server_name : c->server_name))
		return long_value("sar");
	r->n_public_identities = 1;
	r->assignment_type = (enum cx_sat)sat;
	r->user_data_available =
	    a.data_available ? CX_USER_DATA_ALREADY_AVAILABLE : CX_USER_DATA_NOT_AVAILABLE;
	return 0;
}

static int make_lir(const struct cli *c, int argc, char **argv)
{
	struct cx_lir *r = &request.lir;
	struct cmd_args a;
	int ret;

	ret = parse_cmd(argc, argv, C_IMPU | C_ORIG | C_OMIT, &a);
	if (ret || (ret = need(a.impu, "--impu")))
		return ret;
	omit_avp = a.omit;
	set_dest(c, &r->hdr);
	if (!copy_str(r->public_identity, sizeof(r->public_identity), a.impu))
		return long_value("lir");
	r->originating = a.originating;
	return 0;
}

/* ---- output ---- */

static json_t *hex_json(const uint8_t *b, size_t n)
{
	char buf[CODEC_HEX_SIZE(CX_AUTH_DATA_MAX)];

	if (codec_hex_encode(b, n, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

static json_t *b64_json(const uint8_t *b, size_t n)
{
	char buf[CODEC_B64_SIZE(CX_AUTH_DATA_MAX)];

	if (codec_b64_encode(b, n, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

static json_t *str_list_json(const char (*v)[CX_ID_MAX], size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *caps_json(const struct cx_capabilities *caps)
{
	json_t *o = json_object(), *m = json_array(), *opt = json_array();

	for (size_t i = 0; i < caps->n_mandatory; i++)
		json_array_append_new(m, json_integer(caps->mandatory[i]));
	for (size_t i = 0; i < caps->n_optional; i++)
		json_array_append_new(opt, json_integer(caps->optional[i]));
	json_object_set_new(o, "mandatory", m);
	json_object_set_new(o, "optional", opt);
	json_object_set_new(o, "server_names",
	                    str_list_json(caps->server_names, caps->n_server_names));
	return o;
}

/* What --verify found for one AKA item, as the UE would check it (TS 33.102 6.3.3). */
struct check {
	bool done;    /* the item is an AKA vector and was checked */
	bool mac_ok;  /* MAC-A in AUTN is right for K/OPc */
	bool res_ok;  /* RES computed by the UE equals XRES (SIP-Authorization) */
	bool ck_ok;   /* Confidentiality-Key equals f3 */
	bool ik_ok;   /* Integrity-Key equals f4 */
	uint64_t sqn; /* SQN recovered from AUTN */
};

static struct check checks[CX_ITEMS_MAX];

static void verify_items(const struct cx_maa *maa)
{
	for (size_t i = 0; i < maa->n_items; i++) {
		const struct cx_auth_item *it = &maa->items[i];
		struct check *chk = &checks[i];
		uint8_t res[8], ck[16], ik[16];

		memset(chk, 0, sizeof(*chk));
		if (it->authenticate_len != 32)
			continue;
		chk->done = true;
		chk->mac_ok = aka_autn_check(keys.k, keys.opc, it->authenticate,
		                             it->authenticate + 16, &chk->sqn, res, ck, ik) == 0;
		if (!chk->mac_ok)
			continue;
		chk->res_ok = it->authorization_len >= 4 && it->authorization_len <= sizeof(res) &&
		              memcmp(it->authorization, res, it->authorization_len) == 0;
		chk->ck_ok = it->ck_len == 16 && memcmp(it->ck, ck, 16) == 0;
		chk->ik_ok = it->ik_len == 16 && memcmp(it->ik, ik, 16) == 0;
	}
}

static json_t *check_json(const struct check *chk)
{
	char sqn[16];

	/* 12 hex digits: sorts as text and reads with $((16#...)) in shell tests */
	snprintf(sqn, sizeof(sqn), "%012llx", (unsigned long long)chk->sqn);
	return json_pack("{s:b, s:b, s:b, s:b, s:s}", "mac_ok", chk->mac_ok, "res_ok", chk->res_ok,
	                 "ck_ok", chk->ck_ok, "ik_ok", chk->ik_ok, "sqn", sqn);
}

static json_t *item_json(const struct cx_auth_item *it, const struct check *chk)
{
	json_t *o = json_object();

	json_object_set_new(o, "item_number", json_integer(it->item_number));
	set_str(o, "scheme", it->scheme);
	if (it->authenticate_len) {
		json_object_set_new(o, "authenticate",
		                    hex_json(it->authenticate, it->authenticate_len));
		/* the nonce of an AKA challenge is base64(RAND || AUTN), RFC 3310 3.2 */
		json_object_set_new(o, "authenticate_b64",
		                    b64_json(it->authenticate, it->authenticate_len));
		if (it->authenticate_len == 32) {
			json_object_set_new(o, "rand", hex_json(it->authenticate, 16));
			json_object_set_new(o, "autn", hex_json(it->authenticate + 16, 16));
		}
	}
	if (it->authorization_len)
		json_object_set_new(o, "authorization",
		                    hex_json(it->authorization, it->authorization_len));
	if (it->ck_len)
		json_object_set_new(o, "ck", hex_json(it->ck, it->ck_len));
	if (it->ik_len)
		json_object_set_new(o, "ik", hex_json(it->ik, it->ik_len));
	if (it->digest.present) {
		json_t *d = json_object();

		set_str(d, "realm", it->digest.realm);
		set_str(d, "algorithm", it->digest.algorithm);
		set_str(d, "qop", it->digest.qop);
		set_str(d, "ha1", it->digest.ha1);
		json_object_set_new(o, "digest", d);
	}
	if (chk && chk->done)
		json_object_set_new(o, "verify", check_json(chk));
	return o;
}

static json_t *answer_json(enum cx_kind kind, const union cx_answer *ans, int parse_ret)
{
	const struct cx_hdr *h = &ans->uaa.hdr;
	const struct cx_result *r = &ans->uaa.result;
	json_t *o = json_object();

	json_object_set_new(o, "command", json_string(dia_cx_kind_name(kind)));
	json_object_set_new(o, "result", json_integer(r->code));
	json_object_set_new(o, "result_name",
	                    json_string(dia_cx_result_name(r->code, r->experimental)));
	json_object_set_new(o, "experimental", json_boolean(r->experimental));
	json_object_set_new(o, "success", json_boolean(cx_result_success(r)));
	if (parse_ret)
		json_object_set_new(o, "malformed", json_true());
	set_str(o, "session_id", h->session_id);
	set_str(o, "origin_host", h->origin_host);
	set_str(o, "origin_realm", h->origin_realm);
	set_str(o, "error_message", r->error_message);
	if (r->failed_avp)
		json_object_set_new(o, "failed_avp", json_integer(r->failed_avp));
	switch (kind) {
	case CX_UAA:
		set_str(o, "server_name", ans->uaa.server_name);
		if (ans->uaa.capabilities.present)
			json_object_set_new(o, "server_capabilities",
			                    caps_json(&ans->uaa.capabilities));
		break;
	case CX_LIA:
		set_str(o, "server_name", ans->lia.server_name);
		if (ans->lia.capabilities.present)
			json_object_set_new(o, "server_capabilities",
			                    caps_json(&ans->lia.capabilities));
		set_str(o, "wildcarded_public_identity", ans->lia.wildcarded_public_identity);
		break;
	case CX_SAA:
		set_str(o, "user_name", ans->saa.user_name);
		set_str(o, "user_data", ans->saa.user_data);
		set_str(o, "server_name", ans->saa.server_name);
		if (ans->saa.associated.present)
			json_object_set_new(o, "associated_identities",
			                    str_list_json(ans->saa.associated.user_names,
			                                  ans->saa.associated.n_user_names));
		if (ans->saa.charging.present) {
			json_t *ch = json_object();

			set_str(ch, "primary_ecf", ans->saa.charging.primary_ecf);
			set_str(ch, "secondary_ecf", ans->saa.charging.secondary_ecf);
			set_str(ch, "primary_ccf", ans->saa.charging.primary_ccf);
			set_str(ch, "secondary_ccf", ans->saa.charging.secondary_ccf);
			json_object_set_new(o, "charging_information", ch);
		}
		if (ans->saa.loose_route)
			json_object_set_new(o, "loose_route_required", json_true());
		break;
	case CX_MAA: {
		json_t *items = json_array();

		set_str(o, "user_name", ans->maa.user_name);
		set_str(o, "public_identity", ans->maa.public_identity);
		json_object_set_new(o, "sip_number_auth_items",
		                    json_integer(ans->maa.number_auth_items));
		for (size_t i = 0; i < ans->maa.n_items; i++)
			json_array_append_new(
			    items, item_json(&ans->maa.items[i], verify ? &checks[i] : NULL));
		json_object_set_new(o, "items", items);
		break;
	}
	default:
		break;
	}
	return o;
}

static void print_hex(const char *label, const uint8_t *b, size_t n)
{
	char buf[CODEC_HEX_SIZE(CX_AUTH_DATA_MAX)];

	if (n && codec_hex_encode(b, n, buf, sizeof(buf)) >= 0)
		printf("    %-14s %s\n", label, buf);
}

static void print_item(const struct cx_auth_item *it, const struct check *chk)
{
	printf("  SIP-Auth-Data-Item %u: %s\n", it->item_number, it->scheme);
	if (it->authenticate_len == 32) {
		print_hex("RAND", it->authenticate, 16);
		print_hex("AUTN", it->authenticate + 16, 16);
	} else {
		print_hex("Authenticate", it->authenticate, it->authenticate_len);
	}
	print_hex("Authorization", it->authorization, it->authorization_len);
	print_hex("CK", it->ck, it->ck_len);
	print_hex("IK", it->ik, it->ik_len);
	if (it->digest.present)
		printf("    Digest         realm=%s qop=%s algorithm=%s HA1=%s\n", it->digest.realm,
		       it->digest.qop, it->digest.algorithm[0] ? it->digest.algorithm : "-",
		       it->digest.ha1);
	if (chk && chk->done)
		printf("    Verify         MAC %s, RES %s, CK %s, IK %s, SQN %012llx\n",
		       chk->mac_ok ? "ok" : "WRONG", chk->res_ok ? "ok" : "WRONG",
		       chk->ck_ok ? "ok" : "WRONG", chk->ik_ok ? "ok" : "WRONG",
		       (unsigned long long)chk->sqn);
}

static void print_caps(const struct cx_capabilities *caps)
{
	if (!caps->present)
		return;
	printf("  Server-Capabilities:");
	for (size_t i = 0; i < caps->n_mandatory; i++)
		printf(" mandatory=%u", caps->mandatory[i]);
	for (size_t i = 0; i < caps->n_optional; i++)
		printf(" optional=%u", caps->optional[i]);
	for (size_t i = 0; i < caps->n_server_names; i++)
		printf(" server=%s", caps->server_names[i]);
	printf("\n");
}

static void print_field(const char *label, const char *v)
{
	if (v && *v)
		printf("  %s: %s\n", label, v);
}

static void print_human(enum cx_kind kind, const union cx_answer *ans, int parse_ret)
{
	const struct cx_result *r = &ans->uaa.result;

	printf("%s from %s: %u %s%s\n", dia_cx_kind_name(kind),
	       ans->uaa.hdr.origin_host[0] ? ans->uaa.hdr.origin_host : "?", r->code,
	       dia_cx_result_name(r->code, r->experimental),
	       r->experimental ? " (Experimental-Result)" : "");
	if (parse_ret)
		printf("  (answer malformed, see the log)\n");
	print_field("Error-Message", r->error_message);
	if (r->failed_avp)
		printf("  Failed-AVP: %u\n", r->failed_avp);
	switch (kind) {
	case CX_UAA:
		print_field("Server-Name", ans->uaa.server_name);
		print_caps(&ans->uaa.capabilities);
		break;
	case CX_LIA:
		print_field("Server-Name", ans->lia.server_name);
		print_caps(&ans->lia.capabilities);
		break;
	case CX_SAA:
		print_field("User-Name", ans->saa.user_name);
		print_field("Server-Name", ans->saa.server_name);
		for (size_t i = 0; i < ans->saa.associated.n_user_names; i++)
			print_field("Associated-Identity", ans->saa.associated.user_names[i]);
		print_field("User-Data", ans->saa.user_data);
		break;
	case CX_MAA:
		print_field("User-Name", ans->maa.user_name);
		print_field("Public-Identity", ans->maa.public_identity);
		printf("  SIP-Number-Auth-Items: %u\n", ans->maa.number_auth_items);
		for (size_t i = 0; i < ans->maa.n_items; i++)
			print_item(&ans->maa.items[i], verify ? &checks[i] : NULL);
		break;
	default:
		break;
	}
}

static void print_answer(const struct cli *c, enum cx_kind kind, const union cx_answer *ans,
                         int parse_ret)
{
	if (c->json) {
		json_t *o = answer_json(kind, ans, parse_ret);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		print_human(kind, ans, parse_ret);
	}
	fflush(stdout);
}

/* ---- the stack ---- */

static int make_run_dir(struct cli *c)
{
	if (c->run_dir)
		return 0;
	snprintf(c->tmp_dir, sizeof(c->tmp_dir), "/tmp/cxclient.XXXXXX");
	if (!mkdtemp(c->tmp_dir)) {
		fprintf(stderr, "cxclient: cannot create a temporary directory: %s\n",
		        strerror(errno));
		c->tmp_dir[0] = '\0';
		return -errno;
	}
	c->run_dir = c->tmp_dir;
	return 0;
}

static void remove_run_dir(const struct cli *c)
{
	char path[PATH_MAX];

	if (!c->tmp_dir[0])
		return;
	snprintf(path, sizeof(path), "%s/%s.fd.conf", c->tmp_dir, c->identity);
	unlink(path);
	rmdir(c->tmp_dir);
}

static void report_peer_state(const struct cli *c)
{
	struct dia_peer_info peers[DIA_PEERS_MAX];
	size_t n = dia_core_peers(peers, DIA_PEERS_MAX);
	const char *state = "unknown";

	for (size_t i = 0; i < n && i < DIA_PEERS_MAX; i++)
		if (strcasecmp(peers[i].identity, c->hss) == 0)
			state = peers[i].state;
	fprintf(stderr,
	        "cxclient: no Diameter connection to %s at %s:%u within %u ms (peer state: %s)\n",
	        c->hss, c->hss_address, (unsigned)c->hss_port, c->timeout_ms, state);
}

static int start_stack(struct cli *c, int app_threads)
{
	struct dia_peer_conf peer = {c->hss, c->hss_address, c->hss_port};
	struct dia_core_conf conf;

	if (c->certs) {
		snprintf(c->cert_buf, sizeof(c->cert_buf), "%s/%s.crt", c->certs, c->identity);
		snprintf(c->key_buf, sizeof(c->key_buf), "%s/%s.key", c->certs, c->identity);
		snprintf(c->ca_buf, sizeof(c->ca_buf), "%s/ca.crt", c->certs);
		c->tls_cert = c->tls_cert ? c->tls_cert : c->cert_buf;
		c->tls_key = c->tls_key ? c->tls_key : c->key_buf;
		c->tls_ca = c->tls_ca ? c->tls_ca : c->ca_buf;
	}
	if (c->tls && (!c->tls_cert || !c->tls_key || !c->tls_ca)) {
		fprintf(stderr,
		        "cxclient: the topology uses TLS: give --tls-cert, --tls-key and "
		        "--tls-ca (a certificate for %s)\n",
		        c->identity);
		return EXIT_USAGE;
	}
	if (make_run_dir(c))
		return EXIT_NO_ANSWER;
	memset(&conf, 0, sizeof(conf));
	conf.identity = c->identity;
	conf.realm = c->realm;
	conf.address = c->address;
	conf.port = c->port;
	conf.run_dir = c->run_dir;
	conf.tls = c->tls;
	conf.tls_cert = c->tls_cert;
	conf.tls_key = c->tls_key;
	conf.tls_ca = c->tls_ca;
	conf.peers = &peer;
	conf.n_peers = 1;
	conf.app_threads = (unsigned)app_threads;
	if (dia_core_start(&conf)) {
		fprintf(stderr, "cxclient: cannot start the Diameter stack (see the log above)\n");
		return EXIT_NO_ANSWER;
	}
	if (dia_core_wait_peers((int)c->timeout_ms)) {
		report_peer_state(c);
		return EXIT_NO_ANSWER;
	}
	return 0;
}

/* ---- one request ---- */

static enum cx_kind answer_kind(enum cx_kind req)
{
	return (enum cx_kind)(req + 1);
}

static void on_answer(void *arg, struct msg **answer, int err)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	w->err = err;
	if (!err)
		w->parse_ret = dia_cx_answer_parse(w->kind, *answer, &w->ans);
	w->done = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* --omit-avp: takes the named top-level AVP out of the request (fd_msg_free unlinks it),
 * to see how the server answers a request that breaks the ABNF. */
static int omit(struct msg *m, enum cx_kind kind)
{
	struct dict_object *model = NULL;
	struct avp *avp = NULL;

	if (fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_NAME_ALL_VENDORS, omit_avp,
	                   &model, ENOENT) ||
	    fd_msg_search_avp(m, model, &avp) || !avp) {
		fprintf(stderr, "cxclient: --omit-avp: the %s has no AVP named %s\n",
		        dia_cx_kind_name(kind), omit_avp);
		return EXIT_USAGE;
	}
	fd_msg_free(avp);
	return 0;
}

static int run_one(const struct cli *c, enum cx_kind kind)
{
	struct msg *m = NULL;
	int ret;

	ret = dia_cx_request_build(kind, &request, &m);
	if (ret) {
		fprintf(stderr, "cxclient: cannot build the %s: %s\n", dia_cx_kind_name(kind),
		        strerror(-ret));
		return EXIT_USAGE;
	}
	if (omit_avp && (ret = omit(m, kind)) != 0) {
		fd_msg_free(m);
		return ret;
	}
	pthread_mutex_init(&waiter.mu, NULL);
	pthread_cond_init(&waiter.cv, NULL);
	waiter.kind = answer_kind(kind);
	ret = dia_core_send(&m, c->timeout_ms, on_answer, &waiter);
	if (ret) {
		fprintf(stderr, "cxclient: cannot send the %s: %s\n", dia_cx_kind_name(kind),
		        strerror(-ret));
		return EXIT_NO_ANSWER;
	}
	pthread_mutex_lock(&waiter.mu);
	while (!waiter.done)
		pthread_cond_wait(&waiter.cv, &waiter.mu);
	pthread_mutex_unlock(&waiter.mu);
	if (waiter.err) {
		fprintf(stderr, "cxclient: no answer to the %s from %s within %u ms\n",
		        dia_cx_kind_name(kind), c->hss, c->timeout_ms);
		return EXIT_NO_ANSWER;
	}
	if (verify && waiter.kind == CX_MAA)
		verify_items(&waiter.ans.maa);
	print_answer(c, waiter.kind, &waiter.ans, waiter.parse_ret);
	dia_cx_clear(waiter.kind, &waiter.ans);
	return 0;
}

/* ---- bench ---- */

static struct bench bench;

static void on_bench_answer(void *arg, struct msg **answer, int err)
{
	struct cx_maa maa;
	bool failed = true;

	/* decoding is part of the work a real S-CSCF does per answer: measure it too */
	if (!err)
		failed = dia_cx_maa_parse(*answer, &maa) != 0 || !cx_result_success(&maa.result);
	pthread_mutex_lock(&bench.mu);
	bench.done++;
	if (failed)
		bench.failed++;
	if (bench.done == bench.total)
		pthread_cond_signal(&bench.cv);
	pthread_mutex_unlock(&bench.mu);
	sem_post(&bench.slots);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int bench_send_all(const struct cli *c, unsigned long count)
{
	for (unsigned long i = 0; i < count; i++) {
		struct msg *m = NULL;
		int ret;

		sem_wait(&bench.slots);
		ret = dia_cx_mar_build(&request.mar, &m);
		if (ret == 0)
			ret = dia_core_send(&m, c->timeout_ms, on_bench_answer, NULL);
		if (ret) {
			/* count it as answered and failed so the wait below ends */
			pthread_mutex_lock(&bench.mu);
			bench.done++;
			bench.failed++;
			pthread_mutex_unlock(&bench.mu);
			sem_post(&bench.slots);
		}
	}
	return 0;
}

static int run_bench(const struct cli *c, const struct cmd_args *a)
{
	double t0, dt;

	if (sem_init(&bench.slots, 0, (unsigned)a->window) || pthread_mutex_init(&bench.mu, NULL) ||
	    pthread_cond_init(&bench.cv, NULL)) {
		fprintf(stderr, "cxclient: cannot set up the bench\n");
		return EXIT_NO_ANSWER;
	}
	bench.total = a->count;
	t0 = now_s();
	bench_send_all(c, a->count);
	pthread_mutex_lock(&bench.mu);
	while (bench.done < bench.total)
		pthread_cond_wait(&bench.cv, &bench.mu);
	pthread_mutex_unlock(&bench.mu);
	dt = now_s() - t0;
	if (c->json)
		printf("{\"command\":\"bench\",\"count\":%lu,\"window\":%lu,\"seconds\":%.3f,"
		       "\"rate\":%.1f,\"failed\":%lu}\n",
		       a->count, a->window, dt, dt > 0 ? (double)a->count / dt : 0.0, bench.failed);
	else
		printf("%lu MAR in %.3f s: %.1f MAR/s, %lu failed\n", a->count, dt,
		       dt > 0 ? (double)a->count / dt : 0.0, bench.failed);
	fflush(stdout);
	return bench.failed == a->count ? EXIT_NO_ANSWER : 0;
}

static int make_bench(const struct cli *c, int argc, char **argv, struct cmd_args *a)
{
	int ret;

	if (argc < 2 || strcmp(argv[1], "mar") != 0)
		return usage("bench: only 'bench mar' exists");
	ret = parse_cmd(argc - 1, argv + 1,
	                C_IMPU | C_IMPI | C_SCHEME | C_COUNT | C_WINDOW | C_SERVER, a);
	if (ret || (ret = need(a->impu, "--impu")) || (ret = need(a->impi, "--impi")))
		return ret;
	if (a->count == 0 || a->window == 0)
		return usage("bench mar: --count and --window are required");
	return fill_mar(c, a, &request.mar);
}

/* ---- main ---- */

/* The command table: name, request kind, how to read its arguments. */
static const struct command {
	const char *name;
	enum cx_kind kind;
	int (*make)(const struct cli *c, int argc, char **argv);
} commands[] = {
    {"uar", CX_UAR, make_uar},
    {"mar", CX_MAR, make_mar},
    {"sar", CX_SAR, make_sar},
    {"lir", CX_LIR, make_lir},
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int run(struct cli *c, int argc, char **argv)
{
	struct cmd_args bench_args;
	const struct command *cmd = NULL;
	bool is_bench = strcmp(argv[0], "bench") == 0;
	int ret;

	if (is_bench) {
		ret = make_bench(c, argc, argv, &bench_args);
	} else {
		cmd = find_command(argv[0]);
		ret = cmd ? cmd->make(c, argc, argv) : usage("unknown command");
	}
	if (ret)
		return ret;
	ret = start_stack(c, is_bench ? 4 : 1);
	if (ret == 0)
		ret = is_bench ? run_bench(c, &bench_args) : run_one(c, cmd->kind);
	dia_core_stop();
	remove_run_dir(c);
	return ret;
}

int main(int argc, char **argv)
{
	struct cli c;
	int ret;

	memset(&c, 0, sizeof(c));
	ret = parse_global(&c, argc, argv);
	if (ret)
		return ret;
	log_init("cxclient", c.verbose >= 2 ? LOGL_DEBUG : c.verbose ? LOGL_INFO : LOGL_ERR);
	ret = load_topology(&c);
	if (ret)
		return ret;
	if (!c.identity)
		c.identity = c.identity_buf;
	ret = run(&c, argc - optind, argv + optind);
	topo_free(c.topo);
	return ret;
}
