/* SIP transport (RFC 3261 section 18): a UDP socket and a TCP listener on one addr:port,
 * TCP connections framed by Content-Length (RFC 3261 18.3), double-CRLF keep-alive
 * answered with a single CRLF (RFC 5626 4.4.1), connection reuse by id or by peer address,
 * and hard caps on every buffer. A connection is one state machine driven by the loop:
 * connecting -> open -> closing (output drains) -> linger (input drains) -> closed. */
#include "sip_transport.h"

#include "log.h"
#include "loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define TCP_BACKLOG     128
#define BIND_TRIES      16   /* port 0: TCP picks a port, UDP may find it taken; retry */
#define CONN_IN_START   4096 /* first input buffer; grows by doubling up to max_msg */
#define CONN_OUT_START  4096 /* first output buffer; grows by doubling up to out_cap */
#define UDP_BURST       64   /* datagrams read per readiness event, so TCP is not starved */
#define TCP_READS       8    /* reads per readiness event on one connection, same reason */
#define ACCEPT_BURST    64   /* accepts per readiness event */
#define ACCEPT_PAUSE_MS 1000 /* listener rest after EMFILE and the like */
#define LINGER_MS       2000 /* bound on draining output and input of a closing connection */
#define REFUSE_LOG_MS   1000 /* at most one "too many connections" line per second */
#define MIN_BUCKETS     64   /* smallest connection hash */
#define LINGER_SCRATCH  4096 /* read size while discarding input */
#define ADDR_STRLEN     (INET_ADDRSTRLEN + 6) /* "a.b.c.d:port" */

enum conn_state {
	CONN_CONNECTING, /* outbound connect in progress; output is queued */
	CONN_OPEN,       /* reading and writing */
	CONN_CLOSING,    /* reads no more; shuts down once the output queue is written */
	CONN_LINGER,     /* output shut down; discards input until EOF or the deadline */
};

struct conn {
	struct sip_transport *t;  /* owning transport */
	uint64_t id;              /* never reused within a transport; 0 is never an id */
	int fd;                   /* connected socket, owned */
	enum conn_state state;    /* see enum conn_state */
	struct sockaddr_in peer;  /* remote address */
	struct sockaddr_in local; /* our address on this connection */
	char *in;                 /* owned input buffer, in_cap + 1 bytes (room for a NUL) */
	size_t in_cap;            /* usable bytes of in */
	size_t in_len;            /* bytes held; the current message starts at in[0] */
	size_t scanned;           /* bytes of the current message searched for CRLFCRLF */
	size_t need;              /* full length of the current message, 0 while unknown */
	unsigned crlfs;           /* CRLFs seen before a start line, for RFC 5626 pings */
	char *out;                /* owned output queue */
	size_t out_cap;           /* allocated bytes of out */
	size_t out_off;           /* first unsent byte */
	size_t out_len;           /* end of queued bytes */
	uint32_t events;          /* epoll mask currently registered */
	uint64_t timer;           /* pending loop timer id, 0 when none */
	uint64_t last_active;     /* loop ms of the last read or write progress */
	bool busy;                /* inside conn_on_event: conn_close defers the free */
	bool dead;                /* closed; while busy the memory stays until the event ends */
	struct conn *id_next;     /* chain in by_id */
	struct conn *peer_next;   /* chain in by_peer */
};

struct sip_transport {
	struct loop *lp;                  /* borrowed; outlives the transport */
	struct sip_transport_conf conf;   /* limits, defaults filled in */
	sip_transport_recv_fn on_recv;    /* receive callback */
	void *arg;                        /* its argument, borrowed */
	struct sockaddr_in addr;          /* bound address and port of both sockets */
	int udp_fd;                       /* UDP socket, owned */
	int tcp_fd;                       /* TCP listener, owned */
	char *udp_buf;                    /* owned; max_msg + 1 bytes */
	struct conn **by_id;              /* owned hash of connections by id */
	struct conn **by_peer;            /* owned hash of connections by peer address */
	size_t n_buckets;                 /* size of both hashes, a power of two */
	uint64_t next_id;                 /* last connection id handed out */
	uint64_t accept_timer;            /* timer re-enabling a paused listener, 0 if none */
	uint64_t refuse_logged;           /* loop ms of the last refused-connection line */
	struct sip_transport_stats stats; /* counters for /metrics */
};

static void conn_on_event(struct loop *lp, int fd, uint32_t events, void *arg);
static void conn_on_timer(struct loop *lp, void *arg);

const char *sip_transport_proto_name(enum sip_proto proto)
{
	return proto == SIP_PROTO_TCP ? "TCP" : "UDP";
}

bool sip_transport_must_use_tcp(size_t len)
{
	return len > SIP_TRANSPORT_UDP_MTU_LIMIT;
}

uint16_t sip_transport_port(const struct sip_transport *t)
{
	return ntohs(t->addr.sin_port);
}

const struct sip_transport_stats *sip_transport_stats(const struct sip_transport *t)
{
	return &t->stats;
}

/* "a.b.c.d:port" for log lines, in buf (ADDR_STRLEN bytes). */
static const char *addr_str(const struct sockaddr_in *sa, char *buf, size_t size)
{
	char ip[INET_ADDRSTRLEN];

	if (!inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip)))
		snprintf(ip, sizeof(ip), "?");
	snprintf(buf, size, "%s:%u", ip, ntohs(sa->sin_port));
	return buf;
}

/* ---- connection tables ---- */

static size_t peer_bucket(const struct sip_transport *t, const struct sockaddr_in *sa)
{
	uint64_t h = ((uint64_t)sa->sin_addr.s_addr << 16) ^ sa->sin_port;

	return (size_t)((h * 0x9e3779b97f4a7c15ull) >> 32) & (t->n_buckets - 1);
}

static bool same_peer(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
	return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

static struct conn *conn_by_id(const struct sip_transport *t, uint64_t id)
{
	struct conn *c = t->by_id[id & (t->n_buckets - 1)];

	while (c && c->id != id)
		c = c->id_next;
	return c;
}

/* An open or connecting connection to sa, or NULL. */
static struct conn *conn_by_peer(const struct sip_transport *t, const struct sockaddr_in *sa)
{
	for (struct conn *c = t->by_peer[peer_bucket(t, sa)]; c; c = c->peer_next)
		if (same_peer(&c->peer, sa) &&
		    (c->state == CONN_OPEN || c->state == CONN_CONNECTING))
			return c;
	return NULL;
}

static void conn_link(struct conn *c)
{
	struct sip_transport *t = c->t;
	size_t ib = c->id & (t->n_buckets - 1), pb = peer_bucket(t, &c->peer);

	c->id_next = t->by_id[ib];
	t->by_id[ib] = c;
	c->peer_next = t->by_peer[pb];
	t->by_peer[pb] = c;
}

static void conn_unlink(struct conn *c)
{
	struct sip_transport *t = c->t;
	struct conn **pp = &t->by_id[c->id & (t->n_buckets - 1)];

	while (*pp && *pp != c)
		pp = &(*pp)->id_next;
	if (*pp)
		*pp = c->id_next;
	pp = &t->by_peer[peer_bucket(t, &c->peer)];
	while (*pp && *pp != c)
		pp = &(*pp)->peer_next;
	if (*pp)
		*pp = c->peer_next;
}

/* ---- connection life cycle ---- */

static void conn_free(struct conn *c)
{
	free(c->in);
	free(c->out);
	free(c);
}

/* Closes the socket and forgets the connection. Inside an event of c (which includes the
 * receive callback) the memory stays until the event ends (STYLE 10): code on that path
 * checks c->dead after anything that may close. */
static void conn_close(struct conn *c)
{
	struct sip_transport *t = c->t;

	conn_unlink(c);
	loop_timer_cancel(t->lp, c->timer);
	c->timer = 0;
	loop_fd_del(t->lp, c->fd);
	close(c->fd);
	c->fd = -1;
	t->stats.conns_open--;
	t->stats.conns_closed++;
	c->dead = true;
	if (!c->busy)
		conn_free(c);
}

static void conn_timer_arm(struct conn *c, uint64_t ms)
{
	loop_timer_cancel(c->t->lp, c->timer);
	c->timer = loop_timer_add(c->t->lp, ms, conn_on_timer, c);
}

static int conn_set_events(struct conn *c, uint32_t events)
{
	int err;

	if (c->events == events)
		return 0;
	err = loop_fd_mod(c->t->lp, c->fd, events);
	if (err == 0)
		c->events = events;
	return err;
}

/* Takes ownership of fd (closed on failure). Returns the registered connection or NULL. */
static struct conn *conn_new(struct sip_transport *t, int fd, const struct sockaddr_in *peer,
                             enum conn_state state)
{
	struct conn *c = calloc(1, sizeof(*c));
	socklen_t len = sizeof(c->local);

	if (!c)
		goto out_close;
	c->t = t;
	c->fd = fd;
	c->id = ++t->next_id;
	c->state = state;
	c->peer = *peer;
	c->last_active = loop_now(t->lp);
	c->events = state == CONN_CONNECTING ? EPOLLOUT : EPOLLIN;
	if (state != CONN_CONNECTING && getsockname(fd, (struct sockaddr *)&c->local, &len) < 0)
		c->local = t->addr;
	if (loop_fd_add(t->lp, fd, c->events, conn_on_event, c) < 0)
		goto out_free;
	conn_link(c);
	t->stats.conns_open++;
	conn_timer_arm(c, state == CONN_CONNECTING ? t->conf.connect_ms : t->conf.idle_ms);
	return c;
out_free:
	free(c);
out_close:
	close(fd);
	return NULL;
}

/* Output is written and the connection is done: half-close, then read until the peer closes
 * too, so unread input does not turn our close into a reset that loses what we sent. */
static void conn_linger(struct conn *c)
{
	c->state = CONN_LINGER;
	c->in_len = 0;
	if (shutdown(c->fd, SHUT_WR) < 0 || conn_set_events(c, EPOLLIN) < 0) {
		conn_close(c);
		return;
	}
	conn_timer_arm(c, LINGER_MS);
}

/* Stops reading; the connection closes once the output queue is written. */
static void conn_start_closing(struct conn *c)
{
	c->state = CONN_CLOSING;
	c->in_len = 0;
	c->need = 0;
	c->scanned = 0;
	if (c->out_len == c->out_off) {
		conn_linger(c);
		return;
	}
	if (conn_set_events(c, EPOLLOUT) < 0) {
		conn_close(c);
		return;
	}
	conn_timer_arm(c, LINGER_MS);
}

static void conn_on_timer(struct loop *lp, void *arg)
{
	struct conn *c = arg;
	struct sip_transport *t = c->t;
	uint64_t quiet = loop_now(lp) - c->last_active;
	char pa[ADDR_STRLEN];

	c->timer = 0;
	switch (c->state) {
	case CONN_OPEN:
		/* Activity does not touch the timer (that would cost a heap update per read):
		 * the timer checks the last activity and re-arms for the remainder. */
		if (quiet < t->conf.idle_ms) {
			conn_timer_arm(c, t->conf.idle_ms - quiet);
			return;
		}
		log_info("sip_transport: TCP %s conn %" PRIu64 " idle for %" PRIu64 " ms, closing",
		         addr_str(&c->peer, pa, sizeof(pa)), c->id, quiet);
		t->stats.conns_idle++;
		break;
	case CONN_CONNECTING:
		log_warn("sip_transport: TCP connect to %s timed out",
		         addr_str(&c->peer, pa, sizeof(pa)));
		t->stats.errors++;
		break;
	case CONN_CLOSING:
	case CONN_LINGER:
		break;
	}
	conn_close(c);
}

/* ---- output ---- */

/* Appends to the output queue, bounded by out_cap. Returns 0 or -ENOBUFS/-ENOMEM. */
static int conn_queue(struct conn *c, const char *buf, size_t len)
{
	size_t pending = c->out_len - c->out_off;
	size_t cap = c->t->conf.out_cap;

	if (len > cap - pending)
		return -ENOBUFS;
	if (c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, pending);
		c->out_off = 0;
		c->out_len = pending;
	}
	if (pending + len > c->out_cap) {
		size_t n = c->out_cap ? c->out_cap : CONN_OUT_START;
		char *grown;

		while (n < pending + len)
			n *= 2;
		if (n > cap)
			n = cap;
		grown = realloc(c->out, n);
		if (!grown)
			return -ENOMEM;
		c->out = grown;
		c->out_cap = n;
	}
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

/* Logs and closes after a failed read or write. */
static void conn_fail(struct conn *c, const char *what, int err)
{
	char pa[ADDR_STRLEN];

	log_warn("sip_transport: TCP %s conn %" PRIu64 " %s: %s",
	         addr_str(&c->peer, pa, sizeof(pa)), c->id, what, strerror(err));
	c->t->stats.errors++;
	conn_close(c);
}

/* Writes queued output (on EPOLLOUT, c busy). Returns 0, or -1 when c was closed. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		                 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0) {
			conn_fail(c, "write", errno);
			return -1;
		}
		c->out_off += (size_t)n;
		c->last_active = loop_now(c->t->lp);
	}
	c->out_off = c->out_len = 0;
	/* A burst should not pin up to out_cap bytes for the life of the connection. */
	if (c->out_cap > CONN_OUT_START) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	if (c->state == CONN_CLOSING) {
		conn_linger(c);
		return c->dead ? -1 : 0;
	}
	if (conn_set_events(c, EPOLLIN) < 0) {
		conn_close(c);
		return -1;
	}
	return 0;
}

/* Sends now what the socket takes and queues the rest behind anything already queued.
 * Returns 0 or -errno; on a socket error c is closed. */
static int conn_write(struct conn *c, const char *buf, size_t len)
{
	size_t done = 0;
	int err;

	if (c->state != CONN_OPEN && c->state != CONN_CONNECTING)
		return -ENOTCONN;
	if (c->state == CONN_OPEN && c->out_off == c->out_len) {
		while (done < len) {
			ssize_t n =
			    send(c->fd, buf + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n < 0) {
				err = -errno;
				conn_fail(c, "write", errno);
				return err;
			}
			done += (size_t)n;
		}
		if (done > 0)
			c->last_active = loop_now(c->t->lp);
		if (done == len)
			return 0;
	}
	err = conn_queue(c, buf + done, len - done);
	if (err < 0) {
		/* Part of a message went out: the stream is no longer framed for the peer. */
		if (done > 0)
			conn_fail(c, "output queue", -err);
		return err;
	}
	if (c->state == CONN_OPEN && conn_set_events(c, EPOLLIN | EPOLLOUT) < 0) {
		conn_close(c);
		return -EIO;
	}
	return 0;
}

/* ---- TCP framing (RFC 3261 18.3, 7.5) ---- */

static bool is_wsp(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* True for "Content-Length" and its compact form "l" (RFC 3261 7.3.3, 20.14), any case. */
static bool is_content_length(const char *name, size_t len)
{
	return (len == 14 && strncasecmp(name, "Content-Length", 14) == 0) ||
	       (len == 1 && (name[0] == 'l' || name[0] == 'L'));
}

/* Skips SP/HTAB and line folds (CRLF followed by SP/HTAB, RFC 3261 7.3.1). */
static const char *skip_lws(const char *p, const char *end)
{
	for (;;) {
		if (p < end && is_wsp(*p))
			p++;
		else if (end - p >= 3 && p[0] == '\r' && p[1] == '\n' && is_wsp(p[2]))
			p += 3;
		else
			return p;
	}
}

/* Parses the value after the colon: 1*DIGIT between optional LWS, then the end of the
 * header line. Returns 0, -EINVAL or -EMSGSIZE (over max). */
static int frame_value(const char *p, const char *end, size_t max, size_t *value)
{
	size_t v = 0;
	bool big = false;
	const char *digits;

	p = skip_lws(p, end);
	digits = p;
	while (p < end && *p >= '0' && *p <= '9') {
		size_t d = (size_t)(*p - '0');

		if (v > max / 10 || d > max - v * 10)
			big = true;
		else
			v = v * 10 + (size_t)(*p - '0');
		p++;
	}
	if (p == digits)
		return -EINVAL;
	p = skip_lws(p, end);
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return -EINVAL;
	if (big)
		return -EMSGSIZE;
	*value = v;
	return 0;
}

/* Finds the body length in the header section hdr[0, len), which ends with CRLFCRLF.
 * Returns 0 with *clen, -ENOENT when there is no Content-Length, -EINVAL when one is not a
 * number or two disagree, -EMSGSIZE when it exceeds max. */
static int frame_content_length(const char *hdr, size_t len, size_t max, size_t *clen)
{
	const char *end = hdr + len;
	const char *p = memmem(hdr, len, "\r\n", 2) + 2; /* past the start line */
	bool found = false;

	while (p < end) {
		const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		const char *colon;
		size_t v;
		int err;

		if (!eol || eol == p)
			break;
		colon = is_wsp(*p) ? NULL : memchr(p, ':', (size_t)(eol - p));
		if (colon) {
			const char *name_end = colon;

			while (name_end > p && is_wsp(name_end[-1]))
				name_end--;
			if (is_content_length(p, (size_t)(name_end - p))) {
				err = frame_value(colon + 1, end, max, &v);
				if (err < 0)
					return err;
				if (found && v != *clen)
					return -EINVAL;
				found = true;
				*clen = v;
			}
		}
		p = eol + 2;
	}
	return found ? 0 : -ENOENT;
}

/* Hands in[0, len) to the callback (c busy). Returns false when c was closed meanwhile. */
static bool conn_deliver(struct conn *c, size_t len, bool malformed)
{
	struct sip_transport *t = c->t;
	struct sip_packet p = {
	    .buf = c->in,
	    .len = len,
	    .proto = SIP_PROTO_TCP,
	    .src = c->peer,
	    .local = c->local,
	    .conn_id = c->id,
	    .malformed = malformed,
	};
	char saved = c->in[len];

	t->stats.msgs_in[SIP_PROTO_TCP]++;
	t->stats.bytes_in[SIP_PROTO_TCP] += len;
	c->in[len] = '\0';
	t->on_recv(t->arg, &p);
	if (c->dead)
		return false;
	c->in[len] = saved;
	return true;
}

static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

static void conn_oversize(struct conn *c, const char *what)
{
	char pa[ADDR_STRLEN];

	log_warn("sip_transport: TCP %s conn %" PRIu64 " %s exceeds %zu bytes, disconnecting",
	         addr_str(&c->peer, pa, sizeof(pa)), c->id, what, c->t->conf.max_msg);
	c->t->stats.oversize++;
	conn_close(c);
}

/* Before a start line: RFC 3261 7.5 says skip CRLFs; RFC 5626 4.4.1 makes a double CRLF a
 * ping that gets a single CRLF back. Returns 1 when a CRLF was consumed, 0 when the input
 * starts a message, -1 when more input is needed, -2 when c was closed. */
static int conn_keepalive(struct conn *c)
{
	if (c->in[0] != '\r')
		return 0;
	if (c->in_len < 2)
		return -1;
	if (c->in[1] != '\n')
		return 0;
	conn_consume(c, 2);
	if (++c->crlfs < 2)
		return 1;
	c->crlfs = 0;
	c->t->stats.keepalives++;
	if (conn_write(c, "\r\n", 2) < 0 && c->dead)
		return -2;
	return 1;
}

/* RFC 3261 18.3: without a usable Content-Length the stream cannot be framed. Delivers the
 * header section flagged, so the callback can answer 400 on the connection, then stops
 * reading. err is -ENOENT (missing) or -EINVAL. */
static void conn_malformed(struct conn *c, size_t hlen, int err)
{
	char pa[ADDR_STRLEN];

	log_info("sip_transport: TCP %s conn %" PRIu64 " %s Content-Length, closing after the "
	         "answer",
	         addr_str(&c->peer, pa, sizeof(pa)), c->id, err == -ENOENT ? "no" : "invalid");
	c->t->stats.malformed++;
	if (conn_deliver(c, hlen, true))
		conn_start_closing(c);
}

/* Finds the end of the current message's header section and its Content-Length. Returns 1
 * when c->need is set, 0 when more input is needed, -1 when c closed or stopped reading. */
static int conn_frame_head(struct conn *c)
{
	size_t max = c->t->conf.max_msg;
	size_t from = c->scanned > 3 ? c->scanned - 3 : 0;
	const char *e = memmem(c->in + from, c->in_len - from, "\r\n\r\n", 4);
	size_t hlen, clen = 0;
	int err;

	if (!e) {
		/* Searched once: the next read resumes where this search stopped. */
		c->scanned = c->in_len;
		if (c->in_len < max)
			return 0;
		conn_oversize(c, "header section");
		return -1;
	}
	hlen = (size_t)(e + 4 - c->in);
	err = frame_content_length(c->in, hlen, max, &clen);
	if (err == -EMSGSIZE || (err == 0 && clen > max - hlen)) {
		conn_oversize(c, "message");
		return -1;
	}
	if (err < 0) {
		conn_malformed(c, hlen, err);
		return -1;
	}
	c->need = hlen + clen;
	return 1;
}

/* Frames and delivers every complete message in the input. Returns false when c is closed
 * or stops reading. */
static bool conn_frame(struct conn *c)
{
	while (c->in_len > 0 && c->state == CONN_OPEN) {
		if (c->need == 0 && c->scanned == 0) {
			int k = conn_keepalive(c);

			if (k == -2)
				return false;
			if (k == -1)
				break;
			if (k == 1)
				continue;
			c->crlfs = 0;
		}
		if (c->need == 0) {
			int k = conn_frame_head(c);

			if (k < 0)
				return false;
			if (k == 0)
				break;
		}
		if (c->in_len < c->need)
			break;
		if (!conn_deliver(c, c->need, false))
			return false;
		conn_consume(c, c->need);
		c->need = 0;
		c->scanned = 0;
	}
	return !c->dead && c->state == CONN_OPEN;
}

/* Makes room for input: grows in up to max_msg. Returns free bytes, 0 when full, -ENOMEM. */
static ssize_t conn_in_room(struct conn *c)
{
	size_t max = c->t->conf.max_msg;

	if (c->in_len == c->in_cap && c->in_cap < max) {
		size_t n = c->in_cap ? c->in_cap * 2 : CONN_IN_START;
		char *grown;

		if (n > max)
			n = max;
		grown = realloc(c->in, n + 1);
		if (!grown)
			return -ENOMEM;
		c->in = grown;
		c->in_cap = n;
	}
	return (ssize_t)(c->in_cap - c->in_len);
}

static void conn_read(struct conn *c)
{
	for (int i = 0; i < TCP_READS; i++) {
		ssize_t room = conn_in_room(c), n;

		if (room < 0) {
			conn_fail(c, "input buffer", ENOMEM);
			return;
		}
		if (room == 0) {
			conn_oversize(c, "input");
			return;
		}
		n = recv(c->fd, c->in + c->in_len, (size_t)room, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			conn_fail(c, "read", errno);
			return;
		}
		if (n == 0) {
			char pa[ADDR_STRLEN];

			log_debug("sip_transport: TCP %s conn %" PRIu64
			          " closed by peer (%zu bytes "
			          "unframed)",
			          addr_str(&c->peer, pa, sizeof(pa)), c->id, c->in_len);
			conn_close(c);
			return;
		}
		c->in_len += (size_t)n;
		c->last_active = loop_now(c->t->lp);
		if (!conn_frame(c))
			return;
		if (n < room)
			break;
	}
	/* An idle connection should not keep a 64 KiB buffer. */
	if (c->in_len == 0 && c->in_cap > CONN_IN_START) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

/* Linger: discard input until EOF (then close) or the deadline. */
static void conn_drain(struct conn *c)
{
	char scratch[LINGER_SCRATCH];

	for (int i = 0; i < TCP_READS; i++) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
	}
}

static void conn_on_connected(struct conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);
	char pa[ADDR_STRLEN];

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS || err == EINTR)
		return;
	if (err != 0) {
		log_warn("sip_transport: TCP connect to %s failed: %s (%zu bytes dropped)",
		         addr_str(&c->peer, pa, sizeof(pa)), strerror(err),
		         c->out_len - c->out_off);
		c->t->stats.errors++;
		conn_close(c);
		return;
	}
	len = sizeof(c->local);
	if (getsockname(c->fd, (struct sockaddr *)&c->local, &len) < 0)
		c->local = c->t->addr;
	c->state = CONN_OPEN;
	c->last_active = loop_now(c->t->lp);
	conn_timer_arm(c, c->t->conf.idle_ms);
	if (c->out_off == c->out_len) {
		if (conn_set_events(c, EPOLLIN) < 0)
			conn_close(c);
		return;
	}
	if (conn_set_events(c, EPOLLIN | EPOLLOUT) < 0) {
		conn_close(c);
		return;
	}
	conn_flush(c);
}

static void conn_handle(struct conn *c, uint32_t events)
{
	switch (c->state) {
	case CONN_CONNECTING:
		conn_on_connected(c);
		return;
	case CONN_OPEN:
		if ((events & EPOLLOUT) && conn_flush(c) < 0)
			return;
		if (c->state == CONN_OPEN && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
			conn_read(c);
		return;
	case CONN_CLOSING:
		if (events & (EPOLLHUP | EPOLLERR)) {
			conn_close(c);
			return;
		}
		if (events & EPOLLOUT)
			conn_flush(c);
		return;
	case CONN_LINGER:
		conn_drain(c);
		return;
	}
}

static void conn_on_event(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;

	c->busy = true;
	conn_handle(c, events);
	c->busy = false;
	if (c->dead)
		conn_free(c);
}

/* ---- TCP listener ---- */

static void tcp_resume_accept(struct loop *lp, void *arg)
{
	struct sip_transport *t = arg;

	t->accept_timer = 0;
	loop_fd_mod(lp, t->tcp_fd, EPOLLIN);
}

static void tcp_refuse(struct sip_transport *t, int fd, const struct sockaddr_in *peer)
{
	char pa[ADDR_STRLEN];
	uint64_t now = loop_now(t->lp);

	close(fd);
	t->stats.conns_refused++;
	if (t->refuse_logged && now - t->refuse_logged < REFUSE_LOG_MS)
		return;
	t->refuse_logged = now;
	log_warn("sip_transport: TCP %s refused: max_conns %u reached (%" PRIu64 " refused)",
	         addr_str(peer, pa, sizeof(pa)), t->conf.max_conns, t->stats.conns_refused);
}

static void tcp_on_accept(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct sip_transport *t = arg;

	for (int i = 0; i < ACCEPT_BURST; i++) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int cfd = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (cfd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			log_err("sip_transport: TCP accept: %s", strerror(errno));
			t->stats.errors++;
			/* Level-triggered: a listener that cannot accept would spin the loop. */
			if (loop_fd_mod(lp, fd, 0) == 0 && !t->accept_timer)
				t->accept_timer =
				    loop_timer_add(lp, ACCEPT_PAUSE_MS, tcp_resume_accept, t);
			return;
		}
		if (t->stats.conns_open >= t->conf.max_conns) {
			tcp_refuse(t, cfd, &peer);
			continue;
		}
		if (!conn_new(t, cfd, &peer, CONN_OPEN)) {
			t->stats.errors++;
			continue;
		}
		t->stats.conns_accepted++;
	}
}

/* Connects from addr:0 to dst. Returns the connection (connecting or open) or NULL with
 * *err set. */
static struct conn *tcp_connect(struct sip_transport *t, const struct sockaddr_in *dst, int *err)
{
	struct sockaddr_in src = t->addr;
	enum conn_state state = CONN_OPEN;
	struct conn *c;
	char pa[ADDR_STRLEN];
	int fd;

	if (t->stats.conns_open >= t->conf.max_conns) {
		*err = -EMFILE;
		return NULL;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = -errno;
		goto out_log;
	}
	/* Source address = our SIP address, so the peer sees the node it knows. */
	src.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		*err = -errno;
		goto out_close;
	}
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
		if (errno != EINPROGRESS) {
			*err = -errno;
			goto out_close;
		}
		state = CONN_CONNECTING;
	}
	c = conn_new(t, fd, dst, state);
	if (!c) {
		*err = -ENOMEM;
		goto out_log;
	}
	t->stats.conns_connected++;
	return c;
out_close:
	close(fd);
out_log:
	log_warn("sip_transport: TCP connect to %s: %s", addr_str(dst, pa, sizeof(pa)),
	         strerror(-*err));
	t->stats.errors++;
	return NULL;
}

bool sip_transport_conn_open(const struct sip_transport *t, uint64_t conn_id)
{
	const struct conn *c = conn_id ? conn_by_id(t, conn_id) : NULL;

	return c && (c->state == CONN_OPEN || c->state == CONN_CONNECTING);
}

/* ---- UDP ---- */

static bool only_crlf(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != '\r' && buf[i] != '\n')
			return false;
	return true;
}

/* Reads one datagram. Returns 0, or -EAGAIN when there is none. */
static int udp_read_one(struct sip_transport *t)
{
	char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct sip_packet p = {.proto = SIP_PROTO_UDP, .local = t->addr};
	struct iovec iov = {.iov_base = t->udp_buf, .iov_len = t->conf.max_msg};
	struct msghdr mh = {
	    .msg_name = &p.src,
	    .msg_namelen = sizeof(p.src),
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = cbuf,
	    .msg_controllen = sizeof(cbuf),
	};
	char pa[ADDR_STRLEN];
	ssize_t n;

	/* MSG_TRUNC: the real length, so a datagram over max_msg is seen and dropped. */
	n = recvmsg(t->udp_fd, &mh, MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		if (errno != EINTR) {
			log_debug("sip_transport: UDP recv: %s", strerror(errno));
			t->stats.errors++;
		}
		return 0;
	}
	if ((size_t)n > t->conf.max_msg) {
		log_warn("sip_transport: UDP %s datagram of %zd bytes exceeds %zu, dropped",
		         addr_str(&p.src, pa, sizeof(pa)), n, t->conf.max_msg);
		t->stats.oversize++;
		return 0;
	}
	if (only_crlf(t->udp_buf, (size_t)n)) {
		t->stats.keepalives++;
		return 0;
	}
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			p.local.sin_addr = pi.ipi_addr;
		}
	}
	t->udp_buf[n] = '\0';
	p.buf = t->udp_buf;
	p.len = (size_t)n;
	t->stats.msgs_in[SIP_PROTO_UDP]++;
	t->stats.bytes_in[SIP_PROTO_UDP] += (size_t)n;
	t->on_recv(t->arg, &p);
	return 0;
}

static void udp_on_read(struct loop *lp, int fd, uint32_t events, void *arg)
{
	struct sip_transport *t = arg;

	for (int i = 0; i < UDP_BURST; i++)
		if (udp_read_one(t) == -EAGAIN)
			return;
}

/* ---- public ---- */

int sip_transport_send(struct sip_transport *t, enum sip_proto proto, const struct sockaddr_in *dst,
                       uint64_t conn_id, const char *buf, size_t len)
{
	struct conn *c = NULL;
	int err;

	if (!t || !buf || len == 0 || (proto != SIP_PROTO_UDP && proto != SIP_PROTO_TCP))
		return -EINVAL;
	if (len > t->conf.max_msg)
		return -EMSGSIZE;
	if (proto == SIP_PROTO_UDP) {
		if (!dst)
			return -EINVAL;
		if (sendto(t->udp_fd, buf, len, MSG_DONTWAIT, (const struct sockaddr *)dst,
		           sizeof(*dst)) < 0) {
			char pa[ADDR_STRLEN];

			err = -errno;
			log_debug("sip_transport: UDP send to %s: %s",
			          addr_str(dst, pa, sizeof(pa)), strerror(errno));
			t->stats.errors++;
			return err;
		}
		goto out_count;
	}
	if (len > t->conf.out_cap)
		return -ENOBUFS;
	/* RFC 3261 18.2.2: a response goes back over the connection its request came on. */
	if (conn_id && sip_transport_conn_open(t, conn_id))
		c = conn_by_id(t, conn_id);
	if (!c && !dst)
		return -ENOTCONN;
	if (!c)
		c = conn_by_peer(t, dst);
	if (!c) {
		c = tcp_connect(t, dst, &err);
		if (!c)
			return err;
	}
	err = conn_write(c, buf, len);
	if (err < 0)
		return err;
out_count:
	t->stats.msgs_out[proto]++;
	t->stats.bytes_out[proto] += len;
	return 0;
}

static void conf_defaults(struct sip_transport_conf *c, const struct sip_transport_conf *in)
{
	if (in)
		*c = *in;
	if (!c->max_msg)
		c->max_msg = SIP_TRANSPORT_MAX_MSG;
	if (!c->out_cap)
		c->out_cap = SIP_TRANSPORT_OUT_CAP;
	if (!c->max_conns)
		c->max_conns = SIP_TRANSPORT_MAX_CONNS;
	if (!c->idle_ms)
		c->idle_ms = SIP_TRANSPORT_IDLE_MS;
	if (!c->connect_ms)
		c->connect_ms = SIP_TRANSPORT_CONNECT_MS;
}

/* Binds the TCP listener then UDP to the same port. Returns 0 or -errno (logged). */
static int transport_bind(struct sip_transport *t, uint16_t port)
{
	const int one = 1;
	char pa[ADDR_STRLEN];
	const char *what = "TCP";
	int err = 0;

	for (int tries = 0; tries < BIND_TRIES; tries++) {
		socklen_t len = sizeof(t->addr);

		t->addr.sin_port = htons(port);
		t->tcp_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (t->tcp_fd < 0 ||
		    setsockopt(t->tcp_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(t->tcp_fd, (struct sockaddr *)&t->addr, sizeof(t->addr)) < 0 ||
		    getsockname(t->tcp_fd, (struct sockaddr *)&t->addr, &len) < 0 ||
		    listen(t->tcp_fd, TCP_BACKLOG) < 0) {
			err = -errno;
			what = "TCP";
			goto out_log;
		}
		t->udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (t->udp_fd >= 0 &&
		    setsockopt(t->udp_fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0 &&
		    bind(t->udp_fd, (struct sockaddr *)&t->addr, sizeof(t->addr)) == 0)
			return 0;
		err = -errno;
		what = "UDP";
		close(t->udp_fd);
		t->udp_fd = -1;
		close(t->tcp_fd);
		t->tcp_fd = -1;
		if (port != 0 || err != -EADDRINUSE)
			break;
	}
out_log:
	if (t->tcp_fd >= 0)
		close(t->tcp_fd);
	t->tcp_fd = -1;
	log_err("sip_transport: cannot bind %s %s: %s", what, addr_str(&t->addr, pa, sizeof(pa)),
	        strerror(-err));
	return err;
}

struct sip_transport *sip_transport_new(struct loop *lp, const char *addr, uint16_t port,
                                        const struct sip_transport_conf *conf,
                                        sip_transport_recv_fn on_recv, void *arg)
{
	struct sip_transport *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->lp = lp;
	t->on_recv = on_recv;
	t->arg = arg;
	t->udp_fd = t->tcp_fd = -1;
	conf_defaults(&t->conf, conf);
	t->addr.sin_family = AF_INET;
	if (!addr || inet_pton(AF_INET, addr, &t->addr.sin_addr) != 1) {
		log_err("sip_transport: cannot bind %s:%u: not an IPv4 address",
		        addr ? addr : "(null)", port);
		goto out_free;
	}
	t->n_buckets = MIN_BUCKETS;
	while (t->n_buckets < t->conf.max_conns)
		t->n_buckets *= 2;
	t->by_id = calloc(t->n_buckets, sizeof(*t->by_id));
	t->by_peer = calloc(t->n_buckets, sizeof(*t->by_peer));
	t->udp_buf = malloc(t->conf.max_msg + 1);
	if (!t->by_id || !t->by_peer || !t->udp_buf)
		goto out_free;
	if (transport_bind(t, port) < 0)
		goto out_free;
	if (loop_fd_add(lp, t->tcp_fd, EPOLLIN, tcp_on_accept, t) < 0)
		goto out_close;
	if (loop_fd_add(lp, t->udp_fd, EPOLLIN, udp_on_read, t) < 0)
		goto out_del_tcp;
	return t;
out_del_tcp:
	loop_fd_del(lp, t->tcp_fd);
out_close:
	log_err("sip_transport: cannot watch sockets of %s:%u", addr, port);
	close(t->udp_fd);
	close(t->tcp_fd);
out_free:
	free(t->udp_buf);
	free(t->by_id);
	free(t->by_peer);
	free(t);
	return NULL;
}

void sip_transport_free(struct sip_transport *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_buckets; i++)
		while (t->by_id[i])
			conn_close(t->by_id[i]);
	loop_timer_cancel(t->lp, t->accept_timer);
	loop_fd_del(t->lp, t->udp_fd);
	loop_fd_del(t->lp, t->tcp_fd);
	close(t->udp_fd);
	close(t->tcp_fd);
	free(t->udp_buf);
	free(t->by_id);
	free(t->by_peer);
	free(t);
}
