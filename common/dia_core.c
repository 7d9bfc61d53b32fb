/* freeDiameter bootstrap for our daemons. The configuration file is generated (one per
 * node, in its run directory) rather than hand-written, so the traps measured in
 * FIELD-NOTES.md are handled once: SecPort = 0 without TLS, No_TLS and TcTimer = 1 in
 * peer blocks, ListenOn replaced by fd_ep_add_merge (loopback is ignored otherwise),
 * unknown peers validated in code instead of the acl_wl extension, and freeDiameter's
 * logger sent to ours. State lives in one static struct: there is one stack a process. */
#include "dia_core.h"
#include "dia_cx.h"
#include "log.h"

#include <freeDiameter/freeDiameter-host.h>
#include <freeDiameter/libfdcore.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define DIA_NAME_MAX           256
#define DIA_PATH_MAX           512
#define DIA_DEFAULT_TIMEOUT_MS 5000

enum dia_state { DIA_NEW, DIA_INITED, DIA_STARTED, DIA_STOPPED };

/* freeDiameter dumps its whole configuration as notices while parsing it: those go to
 * debug; notices after that (peer state changes) to info. Its shutdown is announced
 * as a fatal message: while we stop it, nothing is above info. */
static volatile bool fd_notices_quiet;
static volatile bool fd_stopping;

struct dia_peer {
	char fqdn[DIA_NAME_MAX];       /* identity */
	char address[INET_ADDRSTRLEN]; /* where we connect */
	uint16_t port;                 /* its port */
};

/* The process's one stack. Written by init on the main thread before any freeDiameter
 * thread exists, read-only afterwards (handlers and the validator read it). */
static struct {
	enum dia_state state;                          /* lifecycle */
	char identity[DIA_NAME_MAX];                   /* our identity */
	char realm[DIA_NAME_MAX];                      /* our realm */
	bool tls;                                      /* TLS on every connection */
	bool accept_realm_peers;                       /* see dia_core_conf */
	struct dia_peer peers[DIA_PEERS_MAX];          /* configured peers */
	size_t n_peers;                                /* entries in peers */
	struct dia_handler handlers[DIA_HANDLERS_MAX]; /* request handlers */
	size_t n_handlers;                             /* entries in handlers */
} core;

/* In-flight request: who to tell when its answer (or its timeout) comes. */
struct dia_pending {
	dia_answer_fn cb; /* the caller's callback */
	void *arg;        /* its argument */
};

/* ---- logging ---- */

/* freeDiameter's levels: errors, notices, and its debug traces only when our log is at
 * debug (they come per message: the level check comes before any formatting). */
static void dia_core_fd_log(int level, const char *fmt, va_list ap)
{
	enum log_level l;
	char line[1024];
	size_t n;

	if (level >= FD_LOG_FATAL)
		l = LOGL_ERR;
	else if (level >= FD_LOG_ERROR)
		l = LOGL_WARN;
	else if (level >= FD_LOG_NOTICE)
		l = fd_notices_quiet ? LOGL_DEBUG : LOGL_INFO;
	else if (level >= FD_LOG_DEBUG)
		l = LOGL_DEBUG;
	else
		return;
	if (fd_stopping && l < LOGL_INFO)
		l = LOGL_INFO;
	if (!log_enabled(l))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* indented lines continue a message dump (a whole CER, a whole unroutable request):
	 * the first line says what happened, the dump is for debugging */
	if (line[0] == ' ' && l != LOGL_DEBUG && !log_enabled(LOGL_DEBUG))
		return;
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	log_msg(l, "freeDiameter: %s", line);
}

/* ---- configuration ---- */

/* What we write between quotes in the configuration: no quote, backslash or control
 * character can break out of the string. */
static bool conf_safe(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (n >= max || *s == '"' || *s == '\\' || iscntrl((unsigned char)*s))
			return false;
	return true;
}

static bool is_ipv4(const char *s)
{
	struct in_addr a;

	return s && inet_pton(AF_INET, s, &a) == 1;
}

static int check_conf(const struct dia_core_conf *c)
{
	if (!conf_safe(c->identity, DIA_NAME_MAX - 1) || !conf_safe(c->realm, DIA_NAME_MAX - 1)) {
		log_err("diameter: identity and realm must be plain names");
		return -EINVAL;
	}
	if (!is_ipv4(c->address)) {
		log_err("diameter: address '%s' is not an IPv4 address",
		        c->address ? c->address : "");
		return -EINVAL;
	}
	if (!conf_safe(c->run_dir, DIA_PATH_MAX - 64)) {
		log_err("diameter: a run directory is needed for the freeDiameter configuration");
		return -EINVAL;
	}
	if (c->tls &&
	    (!conf_safe(c->tls_cert, DIA_PATH_MAX) || !conf_safe(c->tls_key, DIA_PATH_MAX) ||
	     !conf_safe(c->tls_ca, DIA_PATH_MAX))) {
		log_err("diameter: TLS needs certificate, key and CA files");
		return -EINVAL;
	}
	if (c->n_peers > DIA_PEERS_MAX || c->n_handlers > DIA_HANDLERS_MAX) {
		log_err("diameter: too many peers (max %d) or handlers (max %d)", DIA_PEERS_MAX,
		        DIA_HANDLERS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < c->n_peers; i++) {
		if (!conf_safe(c->peers[i].fqdn, DIA_NAME_MAX - 1) ||
		    !is_ipv4(c->peers[i].address) || c->peers[i].port == 0) {
			log_err("diameter: peer %zu needs an identity, an IPv4 address and a port",
			        i);
			return -EINVAL;
		}
	}
	return 0;
}

/* The freeDiameter configuration for conf (freeDiameter.conf syntax, 1.2.1). */
static int write_conf(const struct dia_core_conf *c, const char *path)
{
	FILE *f;
	int ret = 0;

	f = fopen(path, "w");
	if (!f) {
		ret = -errno;
		log_err("diameter: cannot write %s: %s", path, strerror(errno));
		return ret;
	}
	fprintf(f, "# Generated by dia_core for %s; rewritten at every start.\n", c->identity);
	fprintf(f, "Identity = \"%s\";\nRealm = \"%s\";\n", c->identity, c->realm);
	/* Without TLS the default SecPort 5868 demands a key: disable it. With TLS only the
	 * TLS port listens (RFC 6733 2.1: TLS from the first byte). ListenOn is not used:
	 * freeDiameter ignores loopback addresses there (dia_core_init adds ours). */
	if (c->tls)
		fprintf(f, "Port = 0;\nSecPort = %u;\n", (unsigned)c->port);
	else
		fprintf(f, "Port = %u;\nSecPort = 0;\n", (unsigned)c->port);
	fprintf(f, "No_SCTP;\nNo_IPv6;\nNoRelay;\n");
	fprintf(f, "AppServThreads = %u;\n", c->app_threads ? c->app_threads : 4);
	if (c->tls) {
		fprintf(f, "TLS_Cred = \"%s\", \"%s\";\n", c->tls_cert, c->tls_key);
		fprintf(f, "TLS_CA = \"%s\";\n", c->tls_ca);
	}
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct dia_peer_conf *p = &c->peers[i];

		/* TcTimer = 1: a client started before its server reconnects within seconds
		 * instead of the default 30 s */
		fprintf(f,
		        "ConnectPeer = \"%s\" { ConnectTo = \"%s\"; Port = %u; TcTimer = 1;%s };\n",
		        p->fqdn, p->address, (unsigned)p->port, c->tls ? "" : " No_TLS;");
	}
	if (fclose(f) != 0) {
		ret = -errno;
		log_err("diameter: cannot write %s: %s", path, strerror(errno));
	}
	return ret;
}

/* The only endpoint the servers bind and the CER advertises (Host-IP-Address).
 * EP_ACCEPTALL: without it fd_ep_add_merge drops loopback addresses. */
static int add_endpoint(const char *address)
{
	struct sockaddr_in sin;
	int ret;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, address, &sin.sin_addr);
	ret = fd_ep_add_merge(&fd_g_config->cnf_endpoints, (sSA *)&sin, sizeof(sin),
	                      EP_FL_CONF | EP_ACCEPTALL);
	return ret ? -ret : 0;
}

/* ---- peer validation ---- */

static bool in_realm(const char *id, size_t len, const char *realm)
{
	size_t rlen = strlen(realm);

	if (len == rlen)
		return strncasecmp(id, realm, len) == 0;
	return len > rlen && id[len - rlen - 1] == '.' &&
	       strncasecmp(id + len - rlen, realm, rlen) == 0;
}

static bool advertises_loopback(struct peer_info *info)
{
	for (struct fd_list *li = info->pi_endpoints.next; li != &info->pi_endpoints;
	     li = li->next) {
		struct fd_endpoint *ep = (struct fd_endpoint *)li;

		if (ep->sa.sa_family == AF_INET && (ntohl(ep->sin.sin_addr.s_addr) >> 24) == 127)
			return true;
		if (ep->sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&ep->sin6.sin6_addr))
			return true;
	}
	return false;
}

/* Called by freeDiameter for a CER from a peer not in our configuration. The HSS
 * accepts the nodes of its realm and anything on loopback (the lab, third-party nodes
 * included) without listing them. */
static int dia_core_validate(struct peer_info *info, int *auth, int (**cb2)(struct peer_info *))
{
	*auth = 0;
	if (!core.accept_realm_peers)
		return 0;
	if (!in_realm(info->pi_diamid, info->pi_diamidlen, core.realm) &&
	    !advertises_loopback(info))
		return 0;
	*auth = 1;
	/* RFC 6733 13: without TLS the connection must be allowed in clear explicitly */
	if (!core.tls)
		info->config.pic_flags.sec = PI_SEC_NONE;
	if (cb2)
		*cb2 = NULL;
	log_info("diameter: accepting peer %s", info->pi_diamid);
	return 0;
}

/* ---- request dispatch ---- */

static bool is_request(struct msg *m)
{
	struct msg_hdr *mh = NULL;

	return m && fd_msg_hdr(m, &mh) == 0 && (mh->msg_flags & CMD_FLAG_REQUEST);
}

static int dia_core_dispatch(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                             enum disp_action *act)
{
	const struct dia_handler *h = opaque;
	struct cx_error err;
	int ret;

	*act = DISP_ACT_CONT;
	if (!msg || !is_request(*msg))
		return 0;
	ret = h->fn(msg, h->arg);
	if (!*msg)
		return 0;
	if (!is_request(*msg)) {
		*act = DISP_ACT_SEND;
		return 0;
	}
	/* the handler failed (or forgot to answer): a request is never left unanswered */
	memset(&err, 0, sizeof(err));
	err.result = DIA_UNABLE_TO_COMPLY;
	snprintf(err.message, sizeof(err.message), "internal error (%s)",
	         ret < 0 ? strerror(-ret) : "no answer");
	if (dia_cx_answer_error(msg, &err) != 0)
		return ENOMEM; /* freeDiameter discards the request */
	*act = DISP_ACT_SEND;
	return 0;
}

static int register_handlers(void)
{
	for (size_t i = 0; i < core.n_handlers; i++) {
		struct disp_when when;
		int ret;

		memset(&when, 0, sizeof(when));
		when.app = dia_cx_app();
		when.command = dia_cx_command((enum cx_cmd)core.handlers[i].command, true);
		if (!when.command || !core.handlers[i].fn) {
			log_err("diameter: no Cx command %u for a handler",
			        core.handlers[i].command);
			return -EINVAL;
		}
		ret = fd_disp_register(dia_core_dispatch, DISP_HOW_CC, &when, &core.handlers[i],
		                       NULL);
		if (ret)
			return -ret;
	}
	return 0;
}

/* ---- lifecycle ---- */

static int peer_state(const char *fqdn);

static void copy_conf(const struct dia_core_conf *c)
{
	snprintf(core.identity, sizeof(core.identity), "%s", c->identity);
	snprintf(core.realm, sizeof(core.realm), "%s", c->realm);
	core.tls = c->tls;
	core.accept_realm_peers = c->accept_realm_peers;
	core.n_peers = c->n_peers;
	for (size_t i = 0; i < c->n_peers; i++) {
		snprintf(core.peers[i].fqdn, sizeof(core.peers[i].fqdn), "%s", c->peers[i].fqdn);
		snprintf(core.peers[i].address, sizeof(core.peers[i].address), "%s",
		         c->peers[i].address);
		core.peers[i].port = c->peers[i].port;
	}
	core.n_handlers = c->n_handlers;
	for (size_t i = 0; i < c->n_handlers; i++)
		core.handlers[i] = c->handlers[i];
}

/* freeDiameter 1.2.1 delays the first connection to a configured peer by a random 0-4 s
 * when that peer's state machine thread starts after fd_core_start (p_psm.c reads its
 * "started" flag as the thread begins): the threads are created by fd_core_parseconf,
 * so wait until each has left STATE_NEW, then the first CER goes out at once. */
static void wait_psm_threads(void)
{
	const struct timespec tick = {0, 1000 * 1000};

	for (size_t i = 0; i < core.n_peers; i++)
		for (int ms = 0; ms < 1000 && peer_state(core.peers[i].fqdn) == STATE_NEW; ms++)
			nanosleep(&tick, NULL);
}

static int init_stack(const struct dia_core_conf *c)
{
	char path[DIA_PATH_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s/%s.fd.conf", c->run_dir, c->identity);
	ret = write_conf(c, path);
	if (ret)
		return ret;
	fd_notices_quiet = true;
	fd_log_handler_register(dia_core_fd_log);
	ret = fd_core_initialize();
	if (ret) {
		log_err("diameter: fd_core_initialize: %s", strerror(ret));
		return -ret;
	}
	ret = fd_core_parseconf(path);
	if (ret) {
		log_err("diameter: bad configuration %s: %s", path, strerror(ret));
		return -ret;
	}
	wait_psm_threads();
	ret = add_endpoint(c->address);
	if (ret == 0)
		ret = dia_cx_dict_init();
	if (ret == 0)
		ret = register_handlers();
	if (ret == 0)
		ret = -fd_disp_app_support(dia_cx_app(), dia_cx_vendor(), 1, 0);
	if (ret == 0 && c->accept_realm_peers)
		ret = -fd_peer_validate_register(dia_core_validate);
	if (ret)
		log_err("diameter: setting up the Cx application failed: %s", strerror(-ret));
	return ret;
}

int dia_core_init(const struct dia_core_conf *conf)
{
	int ret;

	if (core.state != DIA_NEW) {
		log_err("diameter: the stack can be initialised once per process");
		return -EALREADY;
	}
	if (!conf)
		return -EINVAL;
	ret = check_conf(conf);
	if (ret)
		return ret;
	copy_conf(conf);
	core.state = DIA_INITED;
	ret = init_stack(conf);
	/* freeDiameter cannot be initialised twice: a failure is final for this process */
	if (ret)
		core.state = DIA_STOPPED;
	return ret;
}

int dia_core_start(const struct dia_core_conf *conf)
{
	int ret;

	if (conf) {
		ret = dia_core_init(conf);
		if (ret)
			return ret;
	}
	if (core.state != DIA_INITED)
		return -EINVAL;
	fd_notices_quiet = false;
	ret = fd_core_start();
	if (ret == 0)
		ret = fd_core_waitstartcomplete();
	if (ret) {
		log_err("diameter: cannot start freeDiameter: %s", strerror(ret));
		return -ret;
	}
	core.state = DIA_STARTED;
	log_info("diameter: %s started (realm %s, %zu peer(s))", core.identity, core.realm,
	         core.n_peers);
	return 0;
}

void dia_core_stop(void)
{
	if (core.state != DIA_STARTED)
		return;
	fd_stopping = true;
	fd_core_shutdown();
	fd_core_wait_shutdown_complete();
	core.state = DIA_STOPPED;
}

const char *dia_core_identity(void)
{
	return core.identity;
}

const char *dia_core_realm(void)
{
	return core.realm;
}

/* ---- peers ---- */

static int peer_state(const char *fqdn)
{
	struct peer_hdr *p = NULL;

	if (fd_peer_getbyid((DiamId_t)(uintptr_t)fqdn, strlen(fqdn), 1, &p) || !p)
		return -1;
	return fd_peer_get_state(p);
}

bool dia_core_peer_open(const char *fqdn)
{
	return core.state == DIA_STARTED && fqdn && peer_state(fqdn) == STATE_OPEN;
}

int dia_core_wait_peers(int timeout_ms)
{
	const struct timespec tick = {0, 10 * 1000 * 1000};
	int waited = 0;

	for (;;) {
		size_t open = 0;

		for (size_t i = 0; i < core.n_peers; i++)
			if (dia_core_peer_open(core.peers[i].fqdn))
				open++;
		if (open == core.n_peers && core.state == DIA_STARTED)
			return 0;
		if (waited >= timeout_ms)
			return -ETIMEDOUT;
		nanosleep(&tick, NULL);
		waited += 10;
	}
}

static void state_name(int state, char *out, size_t len)
{
	const char *s = STATE_STR(state);
	size_t i = 0;

	if (strncmp(s, "STATE_", 6) == 0)
		s += 6;
	for (; s[i] && i + 1 < len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
}

static bool is_configured(const char *fqdn)
{
	for (size_t i = 0; i < core.n_peers; i++)
		if (strcasecmp(core.peers[i].fqdn, fqdn) == 0)
			return true;
	return false;
}

static void fill_peer(struct peer_hdr *p, struct dia_peer_info *out)
{
	struct fd_list *eps = &p->info.pi_endpoints;

	memset(out, 0, sizeof(*out));
	snprintf(out->identity, sizeof(out->identity), "%s", p->info.pi_diamid);
	state_name(fd_peer_get_state(p), out->state, sizeof(out->state));
	out->port = p->info.config.pic_port;
	out->configured = is_configured(out->identity);
	if (eps->next != eps) {
		struct fd_endpoint *ep = (struct fd_endpoint *)eps->next;

		if (ep->sa.sa_family == AF_INET)
			inet_ntop(AF_INET, &ep->sin.sin_addr, out->address, sizeof(out->address));
		else if (ep->sa.sa_family == AF_INET6)
			inet_ntop(AF_INET6, &ep->sin6.sin6_addr, out->address,
			          sizeof(out->address));
	}
}

size_t dia_core_peers(struct dia_peer_info *out, size_t max)
{
	size_t n = 0;

	if (core.state != DIA_STARTED)
		return 0;
	if (pthread_rwlock_rdlock(&fd_g_peers_rw) != 0)
		return 0;
	for (struct fd_list *li = fd_g_peers.next; li != &fd_g_peers; li = li->next) {
		if (n < max)
			fill_peer((struct peer_hdr *)li->o, &out[n]);
		n++;
	}
	pthread_rwlock_unlock(&fd_g_peers_rw);
	return n;
}

/* ---- sending ---- */

static void dia_core_on_answer(void *data, struct msg **answer)
{
	struct dia_pending *p = data;

	p->cb(p->arg, answer, 0);
	if (*answer) {
		fd_msg_free(*answer);
		*answer = NULL;
	}
	free(p);
}

static void dia_core_on_expire(void *data, DiamId_t sentto, size_t len, struct msg **request)
{
	struct dia_pending *p = data;

	p->cb(p->arg, NULL, -ETIMEDOUT);
	free(p);
}

int dia_core_send(struct msg **req, unsigned timeout_ms, dia_answer_fn cb, void *arg)
{
	struct dia_pending *p;
	struct timespec ts;
	int ret;

	if (!req || !*req || !cb || core.state != DIA_STARTED) {
		if (req && *req) {
			fd_msg_free(*req);
			*req = NULL;
		}
		return -EINVAL;
	}
	p = malloc(sizeof(*p));
	if (!p) {
		fd_msg_free(*req);
		*req = NULL;
		return -ENOMEM;
	}
	p->cb = cb;
	p->arg = arg;
	if (timeout_ms == 0)
		timeout_ms = DIA_DEFAULT_TIMEOUT_MS;
	/* freeDiameter takes an absolute CLOCK_REALTIME deadline */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	ret = fd_msg_send_timeout(req, dia_core_on_answer, p, dia_core_on_expire, &ts);
	if (ret) {
		free(p);
		if (*req) {
			fd_msg_free(*req);
			*req = NULL;
		}
		return -ret;
	}
	return 0;
}

int dia_core_answer(struct msg **answer)
{
	int ret;

	if (!answer || !*answer)
		return -EINVAL;
	ret = fd_msg_send(answer, NULL, NULL);
	if (ret && *answer) {
		fd_msg_free(*answer);
		*answer = NULL;
	}
	return -ret;
}
