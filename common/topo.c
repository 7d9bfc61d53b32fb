/* Topology model: reads a lab's JSON file with Jansson and validates every field and
 * every cross-reference before anyone uses it, so daemons and the launcher can trust the
 * model. Each error names the JSON path ("domains[0].nodes[2].address") and says what
 * is expected. Lookups answer the routing questions (fqdn, domain, tel number range). */
#include "topo.h"

#include "codec.h"
#include "jcheck.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Longest JSON path we print: "domains[N].subscribers[N].impus[N].uri" fits easily. */
#define TOPO_PATH_MAX     160
#define TOPO_PASSWORD_MAX 255

/* One bit per enum topo_role: the field tables say which roles may carry a field. */
enum {
	ROLE_BIT_HSS = 1u << TOPO_HSS,
	ROLE_BIT_SCSCF = 1u << TOPO_SCSCF,
	ROLE_BIT_ICSCF = 1u << TOPO_ICSCF,
	ROLE_BIT_PCSCF = 1u << TOPO_PCSCF,
	ROLE_BIT_UE = 1u << TOPO_UE,
	ROLE_BIT_CSCF = ROLE_BIT_SCSCF | ROLE_BIT_ICSCF | ROLE_BIT_PCSCF,
	ROLE_BIT_ALL = ROLE_BIT_HSS | ROLE_BIT_CSCF | ROLE_BIT_UE,
};

/* What each role listens on by default and how many of it a domain holds. */
static const struct topo_role_info {
	const char *name;       /* role name in the file */
	uint16_t sip_port;      /* default SIP port; 0 when the role speaks no SIP */
	uint16_t diameter_port; /* default Diameter port; 0 when the role speaks no Diameter */
	size_t min;             /* fewest nodes of this role in a domain */
	size_t max;             /* most nodes of this role in a domain; 0 = no limit */
} roles[] = {
    [TOPO_HSS] = {"hss", 0, 3868, 1, 1},        /* one: it holds the domain's subscribers */
    [TOPO_SCSCF] = {"scscf", 5060, 3868, 1, 0}, /* Cx client (TS 29.228) */
    [TOPO_ICSCF] = {"icscf", 5060, 3868, 1, 0}, /* Cx client, entry point of the domain */
    [TOPO_PCSCF] = {"pcscf", 5060, 0, 1, 0},    /* SIP only */
    [TOPO_UE] = {"ue", 5060, 0, 0, 0},          /* test UEs are optional */
};
#define TOPO_N_ROLES   (sizeof(roles) / sizeof(roles[0]))
#define TOPO_REST_PORT 8080

/* One known key of a JSON object. */
struct topo_field {
	const char *key;       /* JSON key */
	enum jcheck_kind kind; /* JSON type it must have */
	unsigned allowed;      /* ROLE_BIT_* of the nodes that may carry it (ALL outside nodes) */
	unsigned required;     /* ROLE_BIT_* of the nodes that must carry it */
};

static const struct topo_field lab_fields[] = {
    {"name", JCHECK_STRING, ROLE_BIT_ALL, ROLE_BIT_ALL},
    {"tls", JCHECK_BOOL, ROLE_BIT_ALL, 0},
    {"domains", JCHECK_ARRAY, ROLE_BIT_ALL, ROLE_BIT_ALL},
};

static const struct topo_field domain_fields[] = {
    {"name", JCHECK_STRING, ROLE_BIT_ALL, ROLE_BIT_ALL},
    {"tel_prefixes", JCHECK_ARRAY, ROLE_BIT_ALL, 0},
    {"nodes", JCHECK_ARRAY, ROLE_BIT_ALL, ROLE_BIT_ALL},
    {"subscribers", JCHECK_ARRAY, ROLE_BIT_ALL, 0},
};

static const struct topo_field node_fields[] = {
    {"role", JCHECK_STRING, ROLE_BIT_ALL, ROLE_BIT_ALL},
    {"name", JCHECK_STRING, ROLE_BIT_ALL, ROLE_BIT_ALL},
    {"address", JCHECK_STRING, ROLE_BIT_ALL, ROLE_BIT_ALL},
    {"sip_port", JCHECK_INT, ROLE_BIT_CSCF | ROLE_BIT_UE, 0},
    {"diameter_port", JCHECK_INT, ROLE_BIT_HSS | ROLE_BIT_SCSCF | ROLE_BIT_ICSCF, 0},
    {"rest_port", JCHECK_INT, ROLE_BIT_ALL, 0},
    {"external", JCHECK_BOOL, ROLE_BIT_ALL, 0},
    {"capabilities", JCHECK_ARRAY, ROLE_BIT_SCSCF, 0},
    {"subscriber", JCHECK_STRING, ROLE_BIT_UE, ROLE_BIT_UE},
    {"pcscf", JCHECK_STRING, ROLE_BIT_UE, 0},
    {"transport", JCHECK_STRING, ROLE_BIT_UE, 0},
    {"auto_answer", JCHECK_BOOL, ROLE_BIT_UE, 0},
};

static const struct topo_field subscriber_fields[] = {
    {"impi", JCHECK_STRING, ROLE_BIT_ALL, ROLE_BIT_ALL},
    {"impus", JCHECK_ARRAY, ROLE_BIT_ALL, ROLE_BIT_ALL},
    {"k", JCHECK_STRING, ROLE_BIT_ALL, 0},
    {"op", JCHECK_STRING, ROLE_BIT_ALL, 0},
    {"opc", JCHECK_STRING, ROLE_BIT_ALL, 0},
    {"amf", JCHECK_STRING, ROLE_BIT_ALL, 0},
    {"sqn", JCHECK_STRING, ROLE_BIT_ALL, 0},
    {"password", JCHECK_STRING, ROLE_BIT_ALL, 0},
    {"barred", JCHECK_BOOL, ROLE_BIT_ALL, 0},
};

static const struct topo_field impu_fields[] = {
    {"uri", JCHECK_STRING, ROLE_BIT_ALL, ROLE_BIT_ALL},
    {"barred", JCHECK_BOOL, ROLE_BIT_ALL, 0},
};

#define TOPO_N_FIELDS(table) (sizeof(table) / sizeof((table)[0]))

/* A name already used in the lab and where it was first used. */
struct topo_name {
	const char *key; /* borrowed from the model being built; NULL for a free slot */
	char *where;     /* owned; JSON path of the first use */
};

/* Case-insensitive open-addressing set of names: keeps the lab-wide uniqueness checks
 * linear, since benchmark labs may list many thousands of subscribers. */
struct topo_names {
	struct topo_name *slots; /* owned; cap slots */
	size_t cap;              /* a power of two, or 0 before the first add */
	size_t n;                /* used slots, at most cap / 2 */
};

/* Parsing state. */
struct topo_ctx {
	struct topo *t;          /* the model being built; entries not parsed yet are zeroed */
	char *err;               /* caller's buffer for the one-line error, may be NULL */
	size_t errlen;           /* size of err */
	struct topo_names impis; /* every IMPI read so far */
	struct topo_names impus; /* every IMPU read so far */
};

static int topo_fail(struct topo_ctx *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "path: message" into the caller's buffer; returns -EINVAL for the caller to pass
 * up. An empty path is the document itself. */
static int topo_fail(struct topo_ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!c->err || c->errlen == 0)
		return -EINVAL;
	n = snprintf(c->err, c->errlen, "%s: ", path[0] ? path : "topology");
	if (n < 0 || (size_t)n >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int topo_nomem(struct topo_ctx *c, const char *path)
{
	topo_fail(c, path, "out of memory");
	return -ENOMEM;
}

/* Appends text to a path buffer of TOPO_PATH_MAX bytes. Real paths are far shorter; a
 * path cut short would still point near the error, so overflow just truncates. */
static void path_append(char *out, const char *text)
{
	size_t used = strnlen(out, TOPO_PATH_MAX - 1);
	size_t len = strlen(text);

	if (len > TOPO_PATH_MAX - 1 - used)
		len = TOPO_PATH_MAX - 1 - used;
	memcpy(out + used, text, len);
	out[used + len] = '\0';
}

/* out := base.key (just key at the document root). */
static void path_key(char *out, const char *base, const char *key)
{
	out[0] = '\0';
	path_append(out, base);
	if (base[0])
		path_append(out, ".");
	path_append(out, key);
}

/* out := base.key[i] */
static void path_index(char *out, const char *base, const char *key, size_t i)
{
	char index[24];

	snprintf(index, sizeof(index), "[%zu]", i);
	path_key(out, base, key);
	path_append(out, index);
}

static int check_kind(struct topo_ctx *c, const char *path, const json_t *v, enum jcheck_kind kind)
{
	if (jcheck_kind_matches(v, kind))
		return 0;
	return topo_fail(c, path, "expected %s, found %s", jcheck_kind_name(kind),
	                 jcheck_json_name(v));
}

/* Checks an object against its field table: no unknown key (typos must not pass
 * silently), required keys present, right JSON types, role-specific keys only on the
 * roles that use them. role is a node's role, or -1 outside nodes. */
static int check_fields(struct topo_ctx *c, const char *path, json_t *obj,
                        const struct topo_field *fields, size_t n_fields, int role)
{
	unsigned variant = role < 0 ? ROLE_BIT_ALL : 1u << role;
	char sub[TOPO_PATH_MAX];
	const char *key;
	json_t *v;
	size_t i;
	int rc;

	rc = check_kind(c, path, obj, JCHECK_OBJECT);
	if (rc < 0)
		return rc;
	json_object_foreach(obj, key, v)
	{
		for (i = 0; i < n_fields; i++)
			if (strcmp(key, fields[i].key) == 0)
				break;
		if (i == n_fields) {
			path_key(sub, path, key);
			return topo_fail(c, sub, "unknown field");
		}
	}
	for (i = 0; i < n_fields; i++) {
		path_key(sub, path, fields[i].key);
		v = json_object_get(obj, fields[i].key);
		if (!v) {
			if (fields[i].required & variant)
				return topo_fail(c, sub, "required field is missing");
			continue;
		}
		if (!(fields[i].allowed & variant))
			return topo_fail(c, sub, "not allowed for role %s",
			                 topo_role_name((enum topo_role)role));
		rc = check_kind(c, sub, v, fields[i].kind);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int dup_string(struct topo_ctx *c, const char *path, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : topo_nomem(c, path);
}

static bool is_alnum(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Lab names become folder names for the launcher: keep them to safe characters. */
static bool is_lab_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > JCHECK_DNS_LABEL_MAX || s[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

static int parse_port(struct topo_ctx *c, const char *path, json_t *obj, const char *key,
                      uint16_t def, uint16_t *out)
{
	json_t *v = json_object_get(obj, key);
	char sub[TOPO_PATH_MAX];
	json_int_t port;

	*out = def;
	if (!v)
		return 0;
	port = json_integer_value(v);
	if (port < 1 || port > 65535) {
		path_key(sub, path, key);
		return topo_fail(c, sub, "%" JSON_INTEGER_FORMAT " is out of range (1-65535)",
		                 port);
	}
	*out = (uint16_t)port;
	return 0;
}

static bool get_bool(json_t *obj, const char *key, bool def)
{
	json_t *v = json_object_get(obj, key);

	return v ? json_is_true(v) : def;
}

/* Where a domain or node sits in the file, for "already used by" messages. */
static size_t domain_index(const struct topo *t, const struct topo_domain *d)
{
	return (size_t)(d - t->domains);
}

static void node_path(char *out, const struct topo *t, const struct topo_node *n)
{
	const struct topo_domain *d = n->domain;

	snprintf(out, TOPO_PATH_MAX, "domains[%zu].nodes[%zu]", domain_index(t, d),
	         (size_t)(n - d->nodes));
}

/* ---- name sets ---- */

/* FNV-1a over the lower-cased name. */
static uint64_t names_hash(const char *key)
{
	uint64_t h = 14695981039346656037u;

	for (; *key; key++) {
		h ^= (uint64_t)tolower((unsigned char)*key);
		h *= 1099511628211u;
	}
	return h;
}

/* The slot holding key, or the free slot where it would go; cap must be non-zero. */
static struct topo_name *names_slot(struct topo_name *slots, size_t cap, const char *key)
{
	size_t i = (size_t)names_hash(key) & (cap - 1);

	while (slots[i].key && strcasecmp(slots[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Where key was first used, or NULL when it is new. */
static const char *names_find(const struct topo_names *set, const char *key)
{
	const struct topo_name *e;

	if (set->cap == 0)
		return NULL;
	e = names_slot(set->slots, set->cap, key);
	return e->key ? e->where : NULL;
}

static int names_grow(struct topo_names *set)
{
	size_t cap = set->cap ? set->cap * 2 : 64;
	struct topo_name *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i].key)
			*names_slot(slots, cap, set->slots[i].key) = set->slots[i];
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return 0;
}

/* Adds a new key (borrowed: it must outlive the set) first used at where (copied). */
static int names_add(struct topo_names *set, const char *key, const char *where)
{
	struct topo_name *e;

	if (2 * (set->n + 1) > set->cap && names_grow(set) < 0)
		return -ENOMEM;
	e = names_slot(set->slots, set->cap, key);
	e->where = strdup(where);
	if (!e->where)
		return -ENOMEM;
	e->key = key;
	set->n++;
	return 0;
}

static void names_free(struct topo_names *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].where);
	free(set->slots);
}

/* Fails when key is in the set already; the message names its first use. */
static int check_unique(struct topo_ctx *c, const char *path, const struct topo_names *set,
                        const char *key)
{
	const char *where = names_find(set, key);

	if (!where)
		return 0;
	return topo_fail(c, path, "\"%s\" is already used by %s", key, where);
}

/* ---- nodes ---- */

static int parse_role(struct topo_ctx *c, const char *path, json_t *obj, enum topo_role *role)
{
	json_t *v = json_object_get(obj, "role");
	char sub[TOPO_PATH_MAX];
	int rc;

	path_key(sub, path, "role");
	if (!v)
		return topo_fail(c, sub, "required field is missing");
	rc = check_kind(c, sub, v, JCHECK_STRING);
	if (rc < 0)
		return rc;
	rc = topo_role_parse(json_string_value(v));
	if (rc < 0)
		return topo_fail(c, sub, "\"%s\" is not a role (hss, scscf, icscf, pcscf, ue)",
		                 json_string_value(v));
	*role = (enum topo_role)rc;
	return 0;
}

static int parse_node_name(struct topo_ctx *c, const char *path, json_t *obj, struct topo_domain *d,
                           struct topo_node *n)
{
	const char *name = json_string_value(json_object_get(obj, "name"));
	char sub[TOPO_PATH_MAX];
	size_t len;

	path_key(sub, path, "name");
	if (!jcheck_dns_label(name))
		return topo_fail(c, sub,
		                 "\"%s\" is not a DNS label (1-63 letters, digits or '-', "
		                 "not starting or ending with '-')",
		                 name);
	for (size_t i = 0; i < d->n_nodes; i++)
		if (d->nodes[i].name && strcasecmp(d->nodes[i].name, name) == 0)
			return topo_fail(c, sub,
			                 "\"%s\" is already used by domains[%zu].nodes[%zu]", name,
			                 domain_index(c->t, d), i);
	len = strlen(name) + 1 + strlen(d->name);
	if (len > JCHECK_DNS_NAME_MAX)
		return topo_fail(c, sub, "\"%s.%s\" is longer than %d characters", name, d->name,
		                 JCHECK_DNS_NAME_MAX);
	if (dup_string(c, sub, name, &n->name) < 0)
		return -ENOMEM;
	n->fqdn = malloc(len + 1);
	if (!n->fqdn)
		return topo_nomem(c, sub);
	snprintf(n->fqdn, len + 1, "%s.%s", name, d->name);
	return 0;
}

/* Stores the address in canonical dotted form so endpoints compare as strings. */
static int parse_address(struct topo_ctx *c, const char *path, json_t *obj, struct topo_node *n)
{
	const char *text = json_string_value(json_object_get(obj, "address"));
	char canon[INET_ADDRSTRLEN];
	char sub[TOPO_PATH_MAX];
	struct in_addr addr;

	path_key(sub, path, "address");
	if (inet_pton(AF_INET, text, &addr) != 1 || (ntohl(addr.s_addr) >> 24) != 127)
		return topo_fail(c, sub, "\"%s\" is not an IPv4 loopback address (127.0.0.0/8)",
		                 text);
	if (!inet_ntop(AF_INET, &addr, canon, sizeof(canon)))
		return topo_fail(c, sub, "cannot format \"%s\"", text);
	return dup_string(c, sub, canon, &n->address);
}

static int parse_ports(struct topo_ctx *c, const char *path, json_t *obj, struct topo_node *n)
{
	const struct topo_role_info *info = &roles[n->role];
	int rc;

	rc = parse_port(c, path, obj, "sip_port", info->sip_port, &n->sip_port);
	if (rc < 0)
		return rc;
	rc = parse_port(c, path, obj, "diameter_port", info->diameter_port, &n->diameter_port);
	if (rc < 0)
		return rc;
	return parse_port(c, path, obj, "rest_port", TOPO_REST_PORT, &n->rest_port);
}

/* TS 29.228 6.7: server capabilities are Unsigned32 values. */
static int parse_capabilities(struct topo_ctx *c, const char *path, json_t *obj,
                              struct topo_node *n)
{
	json_t *list = json_object_get(obj, "capabilities");
	char sub[TOPO_PATH_MAX];
	json_int_t value;
	json_t *v;
	size_t i;
	int rc;

	if (!list || json_array_size(list) == 0)
		return 0;
	n->capabilities = calloc(json_array_size(list), sizeof(*n->capabilities));
	if (!n->capabilities)
		return topo_nomem(c, path);
	json_array_foreach(list, i, v)
	{
		path_index(sub, path, "capabilities", i);
		rc = check_kind(c, sub, v, JCHECK_INT);
		if (rc < 0)
			return rc;
		value = json_integer_value(v);
		if (value < 0 || value > UINT32_MAX)
			return topo_fail(c, sub,
			                 "%" JSON_INTEGER_FORMAT " is out of range (0-4294967295)",
			                 value);
		n->capabilities[i] = (unsigned)value;
		n->n_capabilities++;
	}
	return 0;
}

/* The subscriber and P-CSCF references are resolved once the whole domain is read. */
static int parse_ue(struct topo_ctx *c, const char *path, json_t *obj, struct topo_node *n)
{
	json_t *pcscf = json_object_get(obj, "pcscf");
	json_t *transport = json_object_get(obj, "transport");
	const char *proto = transport ? json_string_value(transport) : "udp";
	char sub[TOPO_PATH_MAX];

	path_key(sub, path, "transport");
	if (strcmp(proto, "udp") != 0 && strcmp(proto, "tcp") != 0)
		return topo_fail(c, sub, "\"%s\" is not a transport (udp or tcp)", proto);
	if (dup_string(c, sub, proto, &n->transport) < 0)
		return -ENOMEM;
	path_key(sub, path, "subscriber");
	if (dup_string(c, sub, json_string_value(json_object_get(obj, "subscriber")),
	               &n->subscriber) < 0)
		return -ENOMEM;
	path_key(sub, path, "pcscf");
	if (pcscf && dup_string(c, sub, json_string_value(pcscf), &n->pcscf) < 0)
		return -ENOMEM;
	n->auto_answer = get_bool(obj, "auto_answer", false);
	return 0;
}

/* Port i of a node: 0 sip, 1 diameter, 2 rest; 0 when the node has no such port. */
static uint16_t node_port(const struct topo_node *n, int i, const char **key)
{
	static const char *const keys[] = {"sip_port", "diameter_port", "rest_port"};
	const uint16_t ports[] = {n->sip_port, n->diameter_port, n->rest_port};

	*key = keys[i];
	return ports[i];
}

/* Every listening socket needs its own address and port: SIP over TCP, Diameter and
 * REST all bind TCP, so any two equal endpoints collide, whatever the protocols. */
static int check_endpoints(struct topo_ctx *c, const char *path, const struct topo_node *n)
{
	char sub[TOPO_PATH_MAX], other[TOPO_PATH_MAX];
	const char *key, *other_key;
	uint16_t port, other_port;

	for (int i = 0; i < 3; i++) {
		port = node_port(n, i, &key);
		if (port == 0)
			continue;
		path_key(sub, path, key);
		for (size_t di = 0; di < c->t->n_domains; di++) {
			const struct topo_domain *d = &c->t->domains[di];

			for (size_t ni = 0; ni < d->n_nodes; ni++) {
				const struct topo_node *m = &d->nodes[ni];

				if (!m->address || strcmp(m->address, n->address) != 0)
					continue;
				for (int j = 0; j < (m == n ? i : 3); j++) {
					other_port = node_port(m, j, &other_key);
					if (other_port != port)
						continue;
					node_path(other, c->t, m);
					return topo_fail(c, sub, "%s:%u is already used by %s.%s",
					                 n->address, (unsigned)port, other,
					                 other_key);
				}
			}
		}
	}
	return 0;
}

static int parse_node(struct topo_ctx *c, const char *path, json_t *obj, struct topo_domain *d,
                      struct topo_node *n)
{
	enum topo_role role = TOPO_HSS;
	int rc;

	rc = check_kind(c, path, obj, JCHECK_OBJECT);
	if (rc < 0)
		return rc;
	rc = parse_role(c, path, obj, &role);
	if (rc < 0)
		return rc;
	rc = check_fields(c, path, obj, node_fields, TOPO_N_FIELDS(node_fields), (int)role);
	if (rc < 0)
		return rc;
	n->role = role;
	n->domain = d;
	rc = parse_node_name(c, path, obj, d, n);
	if (rc < 0)
		return rc;
	rc = parse_address(c, path, obj, n);
	if (rc < 0)
		return rc;
	rc = parse_ports(c, path, obj, n);
	if (rc < 0)
		return rc;
	n->external = get_bool(obj, "external", false);
	rc = parse_capabilities(c, path, obj, n);
	if (rc < 0)
		return rc;
	if (role == TOPO_UE) {
		rc = parse_ue(c, path, obj, n);
		if (rc < 0)
			return rc;
	}
	return check_endpoints(c, path, n);
}

/* Exactly one HSS (it holds the domain's subscribers), at least one of each CSCF. */
static int check_role_counts(struct topo_ctx *c, const char *path, const struct topo_domain *d)
{
	char sub[TOPO_PATH_MAX];
	size_t count[TOPO_N_ROLES] = {0};

	for (size_t i = 0; i < d->n_nodes; i++)
		count[d->nodes[i].role]++;
	path_key(sub, path, "nodes");
	for (size_t r = 0; r < TOPO_N_ROLES; r++) {
		if (count[r] >= roles[r].min && (roles[r].max == 0 || count[r] <= roles[r].max))
			continue;
		if (roles[r].min == roles[r].max)
			return topo_fail(c, sub, "needs exactly one %s, found %zu", roles[r].name,
			                 count[r]);
		return topo_fail(c, sub, "needs at least one %s, found none", roles[r].name);
	}
	return 0;
}

/* A UE registers as a subscriber of its own domain through a P-CSCF of that domain;
 * without an explicit pcscf it uses the domain's first one. */
static int resolve_ue(struct topo_ctx *c, const char *path, struct topo_domain *d,
                      struct topo_node *n)
{
	const struct topo_node *p;
	char sub[TOPO_PATH_MAX];
	size_t i;

	path_key(sub, path, "subscriber");
	for (i = 0; i < d->n_subscribers; i++)
		if (strcmp(d->subscribers[i].impi, n->subscriber) == 0)
			break;
	if (i == d->n_subscribers)
		return topo_fail(c, sub, "\"%s\" is not a subscriber of %s", n->subscriber,
		                 d->name);
	path_key(sub, path, "pcscf");
	if (!n->pcscf)
		return dup_string(c, sub, topo_domain_node(d, TOPO_PCSCF)->name, &n->pcscf);
	p = topo_domain_node_by_name(d, n->pcscf);
	if (!p || p->role != TOPO_PCSCF)
		return topo_fail(c, sub, "\"%s\" is not a pcscf node of %s", n->pcscf, d->name);
	return 0;
}

/* ---- subscribers ---- */

/* TS 23.003 13.4: a public identity is a SIP URI or a tel URI (RFC 3966, global form). */
static int check_impu_uri(struct topo_ctx *c, const char *path, const char *uri)
{
	if (jcheck_impu(uri))
		return 0;
	if (strncmp(uri, "tel:", 4) == 0)
		return topo_fail(c, path,
		                 "\"%s\" is not a global tel URI (\"tel:+\" then 1-15 "
		                 "digits)",
		                 uri);
	return topo_fail(c, path, "\"%s\" is not a sip:, sips: or tel: URI", uri);
}

/* An entry is a URI string or {"uri": ..., "barred": ...}. */
static int parse_impu(struct topo_ctx *c, const char *path, json_t *v, struct topo_impu *impu)
{
	char sub[TOPO_PATH_MAX];
	const char *uri;
	int rc;

	if (json_is_string(v)) {
		uri = json_string_value(v);
		sub[0] = '\0';
		path_append(sub, path);
	} else if (json_is_object(v)) {
		rc = check_fields(c, path, v, impu_fields, TOPO_N_FIELDS(impu_fields), -1);
		if (rc < 0)
			return rc;
		uri = json_string_value(json_object_get(v, "uri"));
		impu->barred = get_bool(v, "barred", false);
		path_key(sub, path, "uri");
	} else {
		return topo_fail(c, path, "expected a string or an object, found %s",
		                 jcheck_json_name(v));
	}
	rc = check_impu_uri(c, sub, uri);
	if (rc < 0)
		return rc;
	/* Public identities route requests: one URI names one subscriber in the lab. */
	rc = check_unique(c, sub, &c->impus, uri);
	if (rc < 0)
		return rc;
	rc = dup_string(c, sub, uri, &impu->uri);
	if (rc < 0)
		return rc;
	if (names_add(&c->impus, impu->uri, path) < 0)
		return topo_nomem(c, sub);
	return 0;
}

static int parse_impus(struct topo_ctx *c, const char *path, json_t *obj, struct topo_subscriber *s)
{
	json_t *list = json_object_get(obj, "impus");
	char sub[TOPO_PATH_MAX];
	json_t *v;
	size_t i;
	int rc;

	path_key(sub, path, "impus");
	if (json_array_size(list) == 0)
		return topo_fail(c, sub, "must list at least one public identity");
	s->impus = calloc(json_array_size(list), sizeof(*s->impus));
	if (!s->impus)
		return topo_nomem(c, sub);
	s->n_impus = json_array_size(list);
	json_array_foreach(list, i, v)
	{
		path_index(sub, path, "impus", i);
		rc = parse_impu(c, sub, v, &s->impus[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Decodes an optional hex field of n bytes; *present says whether it was given. */
static int parse_hex_field(struct topo_ctx *c, const char *path, json_t *obj, const char *key,
                           uint8_t *out, size_t n, bool *present)
{
	json_t *v = json_object_get(obj, key);
	char sub[TOPO_PATH_MAX];

	*present = v != NULL;
	if (!v)
		return 0;
	if (codec_hex_decode(json_string_value(v), out, n) == 0)
		return 0;
	path_key(sub, path, key);
	return topo_fail(c, sub, "expected %zu hex digits", 2 * n);
}

/* TS 33.102 6.3 and TS 35.206: AKA needs K with OP or OPc; Digest needs a password. */
static int parse_credentials(struct topo_ctx *c, const char *path, json_t *obj,
                             struct topo_subscriber *s)
{
	bool has_op, has_opc;
	uint8_t opc[16];
	char sub[TOPO_PATH_MAX];
	int rc;

	rc = parse_hex_field(c, path, obj, "k", s->k, sizeof(s->k), &s->has_k);
	if (rc < 0)
		return rc;
	rc = parse_hex_field(c, path, obj, "op", s->op, sizeof(s->op), &has_op);
	if (rc < 0)
		return rc;
	rc = parse_hex_field(c, path, obj, "opc", opc, sizeof(opc), &has_opc);
	if (rc < 0)
		return rc;
	if (has_op && has_opc) {
		path_key(sub, path, "opc");
		return topo_fail(c, sub, "give either op or opc, not both");
	}
	if (has_opc) {
		memcpy(s->op, opc, sizeof(s->op));
		s->opc = true;
	}
	if (s->has_k && !has_op && !has_opc) {
		path_key(sub, path, "k");
		return topo_fail(c, sub, "needs op or opc");
	}
	if (!s->has_k && (has_op || has_opc)) {
		path_key(sub, path, has_op ? "op" : "opc");
		return topo_fail(c, sub, "needs k");
	}
	if (json_object_get(obj, "password")) {
		const char *pw = json_string_value(json_object_get(obj, "password"));

		path_key(sub, path, "password");
		if (pw[0] == '\0' || strlen(pw) > TOPO_PASSWORD_MAX)
			return topo_fail(c, sub, "expected 1-%d characters", TOPO_PASSWORD_MAX);
		rc = dup_string(c, sub, pw, &s->password);
		if (rc < 0)
			return rc;
	}
	if (!s->has_k && !s->password)
		return topo_fail(c, path,
		                 "no credentials (give k with op or opc for AKA, password for "
		                 "Digest MD5, or both)");
	return 0;
}

/* TS 33.102 6.3.2: AMF is 16 bits, SQN 48 bits; 8000 sets the AMF separation bit
 * (TS 33.401 Annex H) that real HSSs use and test UEs accept. */
static int parse_amf_sqn(struct topo_ctx *c, const char *path, json_t *obj,
                         struct topo_subscriber *s)
{
	uint8_t sqn[6];
	bool present;
	int rc;

	s->amf[0] = 0x80;
	s->amf[1] = 0x00;
	rc = parse_hex_field(c, path, obj, "amf", s->amf, sizeof(s->amf), &present);
	if (rc < 0)
		return rc;
	rc = parse_hex_field(c, path, obj, "sqn", sqn, sizeof(sqn), &present);
	if (rc < 0)
		return rc;
	s->sqn = 0;
	for (size_t i = 0; present && i < sizeof(sqn); i++)
		s->sqn = s->sqn << 8 | sqn[i];
	return 0;
}

static int parse_subscriber(struct topo_ctx *c, const char *path, json_t *obj,
                            struct topo_subscriber *s)
{
	char sub[TOPO_PATH_MAX];
	const char *impi;
	int rc;

	rc = check_fields(c, path, obj, subscriber_fields, TOPO_N_FIELDS(subscriber_fields), -1);
	if (rc < 0)
		return rc;
	impi = json_string_value(json_object_get(obj, "impi"));
	path_key(sub, path, "impi");
	if (!jcheck_impi(impi))
		return topo_fail(c, sub, "\"%s\" is not of the form user@realm", impi);
	rc = check_unique(c, sub, &c->impis, impi);
	if (rc < 0)
		return rc;
	rc = dup_string(c, sub, impi, &s->impi);
	if (rc < 0)
		return rc;
	if (names_add(&c->impis, s->impi, path) < 0)
		return topo_nomem(c, sub);
	rc = parse_impus(c, path, obj, s);
	if (rc < 0)
		return rc;
	rc = parse_credentials(c, path, obj, s);
	if (rc < 0)
		return rc;
	rc = parse_amf_sqn(c, path, obj, s);
	if (rc < 0)
		return rc;
	s->barred = get_bool(obj, "barred", false);
	return 0;
}

/* ---- domains ---- */

static int parse_domain_name(struct topo_ctx *c, const char *path, json_t *obj,
                             struct topo_domain *d)
{
	const char *name = json_string_value(json_object_get(obj, "name"));
	char sub[TOPO_PATH_MAX];

	path_key(sub, path, "name");
	if (!jcheck_dns_name(name))
		return topo_fail(c, sub,
		                 "\"%s\" is not a DNS name (dot-separated labels of letters, "
		                 "digits and '-')",
		                 name);
	for (size_t i = 0; i < c->t->n_domains; i++)
		if (c->t->domains[i].name && strcasecmp(c->t->domains[i].name, name) == 0)
			return topo_fail(c, sub, "\"%s\" is already used by domains[%zu]", name, i);
	return dup_string(c, sub, name, &d->name);
}

/* Tel numbers route to the domain with the longest matching prefix, so a prefix may
 * belong to one domain only. */
static int parse_tel_prefixes(struct topo_ctx *c, const char *path, json_t *obj,
                              struct topo_domain *d)
{
	json_t *list = json_object_get(obj, "tel_prefixes");
	char sub[TOPO_PATH_MAX];
	const char *prefix;
	json_t *v;
	size_t i;
	int rc;

	if (!list || json_array_size(list) == 0)
		return 0;
	d->tel_prefixes = calloc(json_array_size(list), sizeof(*d->tel_prefixes));
	if (!d->tel_prefixes)
		return topo_nomem(c, path);
	d->n_tel_prefixes = json_array_size(list);
	json_array_foreach(list, i, v)
	{
		path_index(sub, path, "tel_prefixes", i);
		rc = check_kind(c, sub, v, JCHECK_STRING);
		if (rc < 0)
			return rc;
		prefix = json_string_value(v);
		if (!jcheck_e164(prefix))
			return topo_fail(
			    c, sub, "\"%s\" is not an E.164 prefix ('+' then 1-15 digits)", prefix);
		for (size_t di = 0; di < c->t->n_domains; di++) {
			const struct topo_domain *o = &c->t->domains[di];

			for (size_t pi = 0; pi < o->n_tel_prefixes; pi++)
				if (o->tel_prefixes[pi] && strcmp(o->tel_prefixes[pi], prefix) == 0)
					return topo_fail(c, sub,
					                 "\"%s\" is already used by "
					                 "domains[%zu].tel_prefixes[%zu]",
					                 prefix, di, pi);
		}
		rc = dup_string(c, sub, prefix, &d->tel_prefixes[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_nodes(struct topo_ctx *c, const char *path, json_t *obj, struct topo_domain *d)
{
	json_t *list = json_object_get(obj, "nodes");
	char sub[TOPO_PATH_MAX];
	json_t *v;
	size_t i;
	int rc;

	if (json_array_size(list) > 0) {
		d->nodes = calloc(json_array_size(list), sizeof(*d->nodes));
		if (!d->nodes)
			return topo_nomem(c, path);
		d->n_nodes = json_array_size(list);
	}
	json_array_foreach(list, i, v)
	{
		path_index(sub, path, "nodes", i);
		rc = parse_node(c, sub, v, d, &d->nodes[i]);
		if (rc < 0)
			return rc;
	}
	return check_role_counts(c, path, d);
}

static int parse_subscribers(struct topo_ctx *c, const char *path, json_t *obj,
                             struct topo_domain *d)
{
	json_t *list = json_object_get(obj, "subscribers");
	char sub[TOPO_PATH_MAX];
	json_t *v;
	size_t i;
	int rc;

	if (!list || json_array_size(list) == 0)
		return 0;
	d->subscribers = calloc(json_array_size(list), sizeof(*d->subscribers));
	if (!d->subscribers)
		return topo_nomem(c, path);
	d->n_subscribers = json_array_size(list);
	json_array_foreach(list, i, v)
	{
		path_index(sub, path, "subscribers", i);
		rc = parse_subscriber(c, sub, v, &d->subscribers[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_domain(struct topo_ctx *c, const char *path, json_t *obj, struct topo_domain *d)
{
	char sub[TOPO_PATH_MAX];
	int rc;

	rc = check_fields(c, path, obj, domain_fields, TOPO_N_FIELDS(domain_fields), -1);
	if (rc < 0)
		return rc;
	rc = parse_domain_name(c, path, obj, d);
	if (rc < 0)
		return rc;
	rc = parse_tel_prefixes(c, path, obj, d);
	if (rc < 0)
		return rc;
	rc = parse_nodes(c, path, obj, d);
	if (rc < 0)
		return rc;
	rc = parse_subscribers(c, path, obj, d);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < d->n_nodes; i++) {
		if (d->nodes[i].role != TOPO_UE)
			continue;
		path_index(sub, path, "nodes", i);
		rc = resolve_ue(c, sub, d, &d->nodes[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int parse_lab(struct topo_ctx *c, json_t *root)
{
	struct topo *t = c->t;
	json_t *list, *v;
	char sub[TOPO_PATH_MAX];
	const char *name;
	size_t i;
	int rc;

	rc = check_fields(c, "", root, lab_fields, TOPO_N_FIELDS(lab_fields), -1);
	if (rc < 0)
		return rc;
	name = json_string_value(json_object_get(root, "name"));
	if (!is_lab_name(name))
		return topo_fail(c, "name",
		                 "\"%s\" is not a lab name (1-63 letters, digits, '.', "
		                 "'_' or '-')",
		                 name);
	rc = dup_string(c, "name", name, &t->name);
	if (rc < 0)
		return rc;
	t->tls = get_bool(root, "tls", false);
	list = json_object_get(root, "domains");
	if (json_array_size(list) == 0)
		return topo_fail(c, "domains", "must list at least one domain");
	t->domains = calloc(json_array_size(list), sizeof(*t->domains));
	if (!t->domains)
		return topo_nomem(c, "domains");
	t->n_domains = json_array_size(list);
	json_array_foreach(list, i, v)
	{
		path_index(sub, "", "domains", i);
		rc = parse_domain(c, sub, v, &t->domains[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Takes the parsed document (borrowed) and builds the model. */
static struct topo *topo_from_json(json_t *root, char *err, size_t errlen)
{
	struct topo_ctx c = {.err = err, .errlen = errlen};

	c.t = calloc(1, sizeof(*c.t));
	if (!c.t) {
		topo_nomem(&c, "");
		return NULL;
	}
	if (parse_lab(&c, root) < 0) {
		topo_free(c.t);
		c.t = NULL;
	}
	names_free(&c.impis);
	names_free(&c.impus);
	return c.t;
}

static void report_json_error(const json_error_t *jerr, char *err, size_t errlen)
{
	if (!err || errlen == 0)
		return;
	if (jerr->line < 1)
		snprintf(err, errlen, "%s", jerr->text);
	else
		snprintf(err, errlen, "invalid JSON at line %d column %d: %s", jerr->line,
		         jerr->column, jerr->text);
}

struct topo *topo_load(const char *path, char *err, size_t errlen)
{
	json_error_t jerr;
	struct topo *t;
	json_t *root;

	if (err && errlen > 0)
		err[0] = '\0';
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		report_json_error(&jerr, err, errlen);
		return NULL;
	}
	t = topo_from_json(root, err, errlen);
	json_decref(root);
	return t;
}

struct topo *topo_parse(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	struct topo *t;
	json_t *root;

	if (err && errlen > 0)
		err[0] = '\0';
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		report_json_error(&jerr, err, errlen);
		return NULL;
	}
	t = topo_from_json(root, err, errlen);
	json_decref(root);
	return t;
}

static void node_free(struct topo_node *n)
{
	free(n->name);
	free(n->fqdn);
	free(n->address);
	free(n->capabilities);
	free(n->subscriber);
	free(n->pcscf);
	free(n->transport);
}

static void subscriber_free(struct topo_subscriber *s)
{
	free(s->impi);
	for (size_t i = 0; i < s->n_impus; i++)
		free(s->impus[i].uri);
	free(s->impus);
	free(s->password);
}

static void domain_free(struct topo_domain *d)
{
	free(d->name);
	for (size_t i = 0; i < d->n_tel_prefixes; i++)
		free(d->tel_prefixes[i]);
	free(d->tel_prefixes);
	for (size_t i = 0; i < d->n_nodes; i++)
		node_free(&d->nodes[i]);
	free(d->nodes);
	for (size_t i = 0; i < d->n_subscribers; i++)
		subscriber_free(&d->subscribers[i]);
	free(d->subscribers);
}

void topo_free(struct topo *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_domains; i++)
		domain_free(&t->domains[i]);
	free(t->domains);
	free(t->name);
	free(t);
}

/* ---- lookups ---- */

const struct topo_node *topo_node_by_fqdn(const struct topo *t, const char *fqdn)
{
	for (size_t di = 0; di < t->n_domains; di++) {
		const struct topo_domain *d = &t->domains[di];

		for (size_t ni = 0; ni < d->n_nodes; ni++)
			if (strcasecmp(d->nodes[ni].fqdn, fqdn) == 0)
				return &d->nodes[ni];
	}
	return NULL;
}

const struct topo_domain *topo_domain_by_name(const struct topo *t, const char *name)
{
	for (size_t i = 0; i < t->n_domains; i++)
		if (strcasecmp(t->domains[i].name, name) == 0)
			return &t->domains[i];
	return NULL;
}

const struct topo_node *topo_domain_node(const struct topo_domain *d, enum topo_role role)
{
	for (size_t i = 0; i < d->n_nodes; i++)
		if (d->nodes[i].role == role)
			return &d->nodes[i];
	return NULL;
}

const struct topo_node *topo_domain_node_by_name(const struct topo_domain *d, const char *name)
{
	for (size_t i = 0; i < d->n_nodes; i++)
		if (strcasecmp(d->nodes[i].name, name) == 0)
			return &d->nodes[i];
	return NULL;
}

const struct topo_domain *topo_domain_by_tel(const struct topo *t, const char *number)
{
	const struct topo_domain *best = NULL;
	size_t best_len = 0;

	for (size_t di = 0; di < t->n_domains; di++) {
		const struct topo_domain *d = &t->domains[di];

		for (size_t pi = 0; pi < d->n_tel_prefixes; pi++) {
			size_t len = strlen(d->tel_prefixes[pi]);

			if (len > best_len && strncmp(number, d->tel_prefixes[pi], len) == 0) {
				best = d;
				best_len = len;
			}
		}
	}
	return best;
}

const struct topo_subscriber *topo_subscriber_by_impi(const struct topo *t, const char *impi)
{
	for (size_t di = 0; di < t->n_domains; di++) {
		const struct topo_domain *d = &t->domains[di];

		for (size_t si = 0; si < d->n_subscribers; si++)
			if (strcmp(d->subscribers[si].impi, impi) == 0)
				return &d->subscribers[si];
	}
	return NULL;
}

const char *topo_role_name(enum topo_role role)
{
	if ((size_t)role >= TOPO_N_ROLES)
		return "unknown";
	return roles[role].name;
}

int topo_role_parse(const char *name)
{
	for (size_t i = 0; i < TOPO_N_ROLES; i++)
		if (strcmp(name, roles[i].name) == 0)
			return (int)i;
	return -1;
}
