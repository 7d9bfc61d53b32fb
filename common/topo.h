/* The topology model: one JSON file describes a whole lab (domains, nodes, S-CSCF
 * capabilities, HSS subscribers, test UEs). topo_load validates everything up front:
 * a bad file yields NULL and an error naming the JSON path and what is wrong. */
#ifndef IMS_TOPO_H
#define IMS_TOPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum topo_role { TOPO_HSS, TOPO_SCSCF, TOPO_ICSCF, TOPO_PCSCF, TOPO_UE };

struct topo_domain;

struct topo_node {
	enum topo_role role;    /* what the node is */
	char *name;             /* owned; short name, unique in its domain ("scscf") */
	char *fqdn;             /* owned; name.domain, unique in the lab; Diameter identity */
	char *address;          /* owned; IPv4 loopback address ("127.0.1.3") */
	uint16_t sip_port;      /* SIP UDP/TCP port (0 for the HSS) */
	uint16_t diameter_port; /* Diameter port (0 for P-CSCF and UE) */
	uint16_t rest_port;     /* REST port */
	bool external;          /* not started by the lab: a third-party node takes its place */
	unsigned *capabilities; /* owned; S-CSCF capabilities (mandatory or optional) */
	size_t n_capabilities;  /* entries in capabilities */
	char *subscriber;       /* owned; UE only: IMPI of the subscriber it uses */
	char *pcscf;            /* owned; UE only: short name of its P-CSCF */
	char *transport;        /* owned; UE only: "udp" or "tcp" */
	bool auto_answer;       /* UE only: answer incoming calls */
	const struct topo_domain *domain; /* the domain that holds this node */
};

struct topo_impu {
	char *uri;   /* owned; sip:/sips: or tel: URI */
	bool barred; /* barring indication (TS 29.228 6.6.1) */
};

struct topo_subscriber {
	char *impi;              /* owned; private identity, user@realm */
	struct topo_impu *impus; /* owned; public identities; [0] is the default one */
	size_t n_impus;          /* entries in impus */
	uint8_t k[16];           /* subscriber key */
	uint8_t op[16];          /* OP or OPc, see opc */
	bool opc;                /* op holds OPc, not OP */
	bool has_k;              /* K and OP/OPc were given (AKA subscriber) */
	uint8_t amf[2];          /* AMF for new vectors */
	uint64_t sqn;            /* initial SQN (48 bits) */
	char *password;          /* owned or NULL; SIP Digest MD5 password */
	bool barred;             /* whole subscription barred */
};

struct topo_domain {
	char *name;              /* owned; home domain and realm ("ims.alpha.test") */
	char **tel_prefixes;     /* owned; E.164 prefixes ("+1555") served by this domain */
	size_t n_tel_prefixes;   /* entries in tel_prefixes */
	struct topo_node *nodes; /* owned; every node of the domain, UEs included */
	size_t n_nodes;          /* entries in nodes */
	struct topo_subscriber *subscribers; /* owned; the HSS's initial subscribers */
	size_t n_subscribers;                /* entries in subscribers */
};

struct topo {
	char *name;                  /* owned; lab name */
	bool tls;                    /* Diameter peers talk TLS (lab generates certificates) */
	struct topo_domain *domains; /* owned */
	size_t n_domains;            /* entries in domains */
};

/* Reads and validates a topology file (format: topologies/FORMAT.md). Returns an owned
 * model, or NULL with a one-line message in err naming the JSON path and what is expected
 * ("domains[0].nodes[2].address: "127.0.0.300" is not an IPv4 loopback address
 * (127.0.0.0/8)"); err may be NULL. The message carries no file name: callers add it. */
struct topo *topo_load(const char *path, char *err, size_t errlen);
/* The same for JSON text already in memory. */
struct topo *topo_parse(const char *json, size_t len, char *err, size_t errlen);
void topo_free(struct topo *t);

/* Lookups; results borrow from t and live as long as t. */
const struct topo_node *topo_node_by_fqdn(const struct topo *t, const char *fqdn);
const struct topo_domain *topo_domain_by_name(const struct topo *t, const char *name);
/* First node of the role in a domain, or NULL. */
const struct topo_node *topo_domain_node(const struct topo_domain *d, enum topo_role role);
/* The domain whose tel prefix is the longest match for an E.164 number ("+15550001"). */
const struct topo_domain *topo_domain_by_tel(const struct topo *t, const char *number);
const char *topo_role_name(enum topo_role role);

/* The node with this short name ("pcscf") in a domain, case-insensitive, or NULL. */
const struct topo_node *topo_domain_node_by_name(const struct topo_domain *d, const char *name);
/* The subscriber with this IMPI (exact match) in any domain, or NULL. */
const struct topo_subscriber *topo_subscriber_by_impi(const struct topo *t, const char *impi);
/* The role named name ("scscf"), or -1 when no role has that name. */
int topo_role_parse(const char *name);

#endif
