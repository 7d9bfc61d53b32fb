/* SIP transport over real sockets on 127.0.0.1: UDP in and out, TCP framing (several
 * messages in one write, byte-by-byte, split body, compact and odd Content-Length forms),
 * CRLF ping/pong, missing Content-Length, oversize, answers on the same connection,
 * connection reuse, outbound connect, back-pressure, peer close, idle timeout, caps.
 * The loop runs in the test thread; timers stop it and feed slow writers. */
#include "loop.h"
#include "sip_transport.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_MAX 8

/* What the receive callback saw, and how it should react. */
struct rx {
	struct sip_transport *t;     /* transport under test */
	struct loop *lp;             /* its loop */
	int n;                       /* messages received */
	char msg[RX_MAX][1024];      /* copies of the first messages (truncated) */
	size_t len[RX_MAX];          /* their lengths */
	bool malformed[RX_MAX];      /* their malformed flags */
	uint64_t conn[RX_MAX];       /* their connection ids */
	struct sip_packet last;      /* last packet (buf not valid after the call) */
	bool nul_ok;                 /* every buf[len] was '\0' */
	int stop_after;              /* loop_stop when n reaches it; 0: never */
	const char *reply;           /* sent back to each message (proto, src, conn_id) */
	const char *reply_malformed; /* sent back on the connection of a malformed one */
	int reply_err;               /* result of the last reply */
};

static void on_recv(void *arg, const struct sip_packet *p)
{
	struct rx *rx = arg;
	const char *reply = p->malformed ? rx->reply_malformed : rx->reply;

	if (rx->n < RX_MAX) {
		size_t n = p->len < sizeof(rx->msg[0]) - 1 ? p->len : sizeof(rx->msg[0]) - 1;

		memcpy(rx->msg[rx->n], p->buf, n);
		rx->msg[rx->n][n] = '\0';
		rx->len[rx->n] = p->len;
		rx->malformed[rx->n] = p->malformed;
		rx->conn[rx->n] = p->conn_id;
	}
	if (p->buf[p->len] != '\0')
		rx->nul_ok = false;
	rx->last = *p;
	rx->n++;
	/* Answer on the connection only (dst NULL) for TCP: RFC 3261 18.2.2. */
	if (reply)
		rx->reply_err =
		    sip_transport_send(rx->t, p->proto, p->proto == SIP_PROTO_UDP ? &p->src : NULL,
		                       p->conn_id, reply, strlen(reply));
	if (rx->stop_after && rx->n >= rx->stop_after)
		loop_stop(rx->lp);
}

static void stop(struct loop *lp, void *arg)
{
	loop_stop(lp);
}

/* Runs the loop for at most ms (the callback may stop it earlier). */
static void run(struct loop *lp, uint64_t ms)
{
	uint64_t id = loop_timer_add(lp, ms, stop, NULL);

	loop_run(lp);
	loop_timer_cancel(lp, id);
}

static struct sip_transport *setup(struct rx *rx, const struct sip_transport_conf *conf)
{
	memset(rx, 0, sizeof(*rx));
	rx->nul_ok = true;
	rx->lp = loop_new();
	if (!rx->lp)
		return NULL;
	rx->t = sip_transport_new(rx->lp, "127.0.0.1", 0, conf, on_recv, rx);
	return rx->t;
}

static void teardown(struct rx *rx)
{
	sip_transport_free(rx->t);
	loop_free(rx->lp);
}

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static uint16_t sock_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return 0;
	return ntohs(sa.sin_port);
}

/* A blocking TCP client connected to the transport (the listener backlog completes the
 * handshake before the loop accepts). rcvbuf > 0 shrinks the receive buffer. */
static int tcp_client(const struct sip_transport *t, int rcvbuf)
{
	struct sockaddr_in sa = loopback(sip_transport_port(t));
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_str(int fd, const char *s)
{
	return send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s);
}

/* Reads what arrives within ms into buf (NUL-terminated). Returns bytes read, or -1 when
 * the first read saw EOF or a reset. */
static ssize_t recv_wait(int fd, char *buf, size_t size, int ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	size_t got = 0;

	while (got + 1 < size && poll(&pfd, 1, ms) == 1) {
		ssize_t n = recv(fd, buf + got, size - 1 - got, MSG_DONTWAIT);

		if (n <= 0) {
			if (got == 0)
				return -1;
			break;
		}
		got += (size_t)n;
		ms = 20;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

/* True when the peer closed or reset the connection (after any pending data). */
static bool peer_gone(int fd)
{
	char buf[4096];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	while (poll(&pfd, 1, 500) == 1) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
	}
	return false;
}

/* Writes data to fd a step at a time, one step per loop turn (1 ms timer). */
struct drip {
	int fd;           /* where to write */
	const char *data; /* what to write, borrowed */
	size_t len;       /* bytes in data */
	size_t off;       /* bytes written so far */
	size_t step;      /* bytes per write */
};

static void drip_tick(struct loop *lp, void *arg)
{
	struct drip *d = arg;
	size_t n = d->len - d->off < d->step ? d->len - d->off : d->step;

	if (send(d->fd, d->data + d->off, n, MSG_NOSIGNAL) > 0)
		d->off += n;
	if (d->off < d->len)
		loop_timer_add(lp, 1, drip_tick, d);
}

static const char opt1[] = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n"
                           "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK1\r\n"
                           "Content-Length: 5\r\n"
                           "\r\n"
                           "hello";
static const char opt2[] = "OPTIONS sip:b@127.0.0.1 SIP/2.0\r\n"
                           "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK2\r\n"
                           "content-length: 0\r\n"
                           "\r\n";
static const char ok200[] = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

static void test_udp(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	struct sockaddr_in dst, me = loopback(0);
	const struct sip_transport_stats *st;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char buf[512];

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_FATAL(fd >= 0);
	dst = loopback(sip_transport_port(t));
	CU_ASSERT(sip_transport_port(t) != 0);
	CU_ASSERT_EQUAL(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	rx.reply = ok200;
	rx.stop_after = 1;
	/* An empty datagram and a CRLF keep-alive are dropped; the message comes through. */
	sendto(fd, "", 0, 0, (struct sockaddr *)&dst, sizeof(dst));
	sendto(fd, "\r\n\r\n", 4, 0, (struct sockaddr *)&dst, sizeof(dst));
	sendto(fd, opt2, strlen(opt2), 0, (struct sockaddr *)&dst, sizeof(dst));
	run(rx.lp, 1000);
	CU_ASSERT_EQUAL(rx.n, 1);
	CU_ASSERT_STRING_EQUAL(rx.msg[0], opt2);
	CU_ASSERT(rx.nul_ok);
	CU_ASSERT_EQUAL(rx.last.proto, SIP_PROTO_UDP);
	CU_ASSERT_EQUAL(rx.last.conn_id, 0);
	CU_ASSERT_EQUAL(ntohs(rx.last.src.sin_port), sock_port(fd));
	CU_ASSERT_EQUAL(rx.last.src.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	CU_ASSERT_EQUAL(rx.last.local.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	CU_ASSERT_EQUAL(ntohs(rx.last.local.sin_port), sip_transport_port(t));
	CU_ASSERT_EQUAL(rx.reply_err, 0);
	CU_ASSERT_EQUAL(recv_wait(fd, buf, sizeof(buf), 500), (ssize_t)strlen(ok200));
	CU_ASSERT_STRING_EQUAL(buf, ok200);
	st = sip_transport_stats(t);
	CU_ASSERT_EQUAL(st->keepalives, 2);
	CU_ASSERT_EQUAL(st->msgs_in[SIP_PROTO_UDP], 1);
	CU_ASSERT_EQUAL(st->bytes_in[SIP_PROTO_UDP], strlen(opt2));
	CU_ASSERT_EQUAL(st->msgs_out[SIP_PROTO_UDP], 1);
	CU_ASSERT_EQUAL(st->bytes_out[SIP_PROTO_UDP], strlen(ok200));
	CU_ASSERT_EQUAL(st->msgs_in[SIP_PROTO_TCP], 0);
	/* Sending to the client directly, without a prior request. */
	me = loopback(sock_port(fd));
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_UDP, &me, 0, opt1, strlen(opt1)), 0);
	CU_ASSERT_EQUAL(recv_wait(fd, buf, sizeof(buf), 500), (ssize_t)strlen(opt1));
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_UDP, NULL, 0, opt1, strlen(opt1)), -EINVAL);
	close(fd);
	teardown(&rx);
}

static void test_udp_oversize(void)
{
	struct sip_transport_conf conf = {.max_msg = 100};
	struct rx rx;
	struct sip_transport *t = setup(&rx, &conf);
	struct sockaddr_in dst;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char big[200];

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	dst = loopback(sip_transport_port(t));
	memset(big, 'x', sizeof(big));
	sendto(fd, big, sizeof(big), 0, (struct sockaddr *)&dst, sizeof(dst));
	sendto(fd, big, 100, 0, (struct sockaddr *)&dst, sizeof(dst));
	rx.stop_after = 1;
	run(rx.lp, 1000);
	CU_ASSERT_EQUAL(rx.n, 1);
	CU_ASSERT_EQUAL(rx.len[0], 100);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->oversize, 1);
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_UDP, &dst, 0, big, sizeof(big)), -EMSGSIZE);
	close(fd);
	teardown(&rx);
}

static void test_tcp_two_in_one_write(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	char both[1024];
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	fd = tcp_client(t, 0);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(both, sizeof(both), "%s%s", opt1, opt2);
	CU_ASSERT(send_str(fd, both));
	rx.stop_after = 2;
	run(rx.lp, 1000);
	CU_ASSERT_EQUAL_FATAL(rx.n, 2);
	CU_ASSERT_STRING_EQUAL(rx.msg[0], opt1);
	CU_ASSERT_STRING_EQUAL(rx.msg[1], opt2);
	CU_ASSERT(rx.nul_ok);
	CU_ASSERT(rx.conn[0] != 0);
	CU_ASSERT_EQUAL(rx.conn[0], rx.conn[1]);
	CU_ASSERT_FALSE(rx.malformed[0]);
	CU_ASSERT_EQUAL(rx.last.proto, SIP_PROTO_TCP);
	CU_ASSERT_EQUAL(ntohs(rx.last.src.sin_port), sock_port(fd));
	CU_ASSERT_EQUAL(ntohs(rx.last.local.sin_port), sip_transport_port(t));
	CU_ASSERT_EQUAL(rx.last.local.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	CU_ASSERT_EQUAL(sip_transport_stats(t)->msgs_in[SIP_PROTO_TCP], 2);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_open, 1);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_accepted, 1);
	CU_ASSERT(sip_transport_conn_open(t, rx.conn[0]));
	close(fd);
	teardown(&rx);
}

static void test_tcp_byte_by_byte(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	struct drip d = {.data = opt1, .len = strlen(opt1), .step = 1};

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	d.fd = tcp_client(t, 0);
	CU_ASSERT_FATAL(d.fd >= 0);
	loop_timer_add(rx.lp, 1, drip_tick, &d);
	rx.stop_after = 1;
	run(rx.lp, 3000);
	CU_ASSERT_EQUAL(d.off, d.len);
	CU_ASSERT_EQUAL_FATAL(rx.n, 1);
	CU_ASSERT_STRING_EQUAL(rx.msg[0], opt1);
	CU_ASSERT(rx.nul_ok);
	close(d.fd);
	teardown(&rx);
}

/* Compact "l", odd spacing and case, a folded value, the body cut in 7-byte writes. */
static void test_tcp_body_split(void)
{
	static const char m1[] = "MESSAGE sip:a@127.0.0.1 SIP/2.0\r\n"
	                         "l : 11\r\n"
	                         "\r\n"
	                         "hello world";
	static const char m2[] = "MESSAGE sip:b@127.0.0.1 SIP/2.0\r\n"
	                         "CONTENT-length:\r\n"
	                         "  3 \r\n"
	                         "Subject: l: 99\r\n"
	                         "\r\n"
	                         "abc";
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	char both[512];
	struct drip d = {.data = both, .step = 7};

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	d.len = (size_t)snprintf(both, sizeof(both), "\r\n%s%s", m1, m2);
	d.fd = tcp_client(t, 0);
	CU_ASSERT_FATAL(d.fd >= 0);
	loop_timer_add(rx.lp, 1, drip_tick, &d);
	rx.stop_after = 2;
	run(rx.lp, 3000);
	CU_ASSERT_EQUAL_FATAL(rx.n, 2);
	CU_ASSERT_STRING_EQUAL(rx.msg[0], m1);
	CU_ASSERT_STRING_EQUAL(rx.msg[1], m2);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->keepalives, 0);
	close(d.fd);
	teardown(&rx);
}

/* RFC 5626 4.4.1: CRLFCRLF -> CRLF, also when the ping arrives in two pieces; a single
 * CRLF before a message is skipped without answer. */
static void test_tcp_keepalive(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	struct drip d = {.data = "\r\n\r\n", .len = 4, .step = 2};
	char buf[64], msg[512];
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	fd = tcp_client(t, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(send_str(fd, "\r\n\r\n"));
	run(rx.lp, 50);
	CU_ASSERT_EQUAL(recv_wait(fd, buf, sizeof(buf), 200), 2);
	CU_ASSERT_STRING_EQUAL(buf, "\r\n");
	snprintf(msg, sizeof(msg), "\r\n%s", opt2);
	CU_ASSERT(send_str(fd, msg));
	rx.stop_after = 1;
	run(rx.lp, 1000);
	CU_ASSERT_EQUAL(rx.n, 1);
	CU_ASSERT_STRING_EQUAL(rx.msg[0], opt2);
	CU_ASSERT_EQUAL(recv_wait(fd, buf, sizeof(buf), 50), 0);
	d.fd = fd;
	loop_timer_add(rx.lp, 1, drip_tick, &d);
	run(rx.lp, 50);
	CU_ASSERT_EQUAL(recv_wait(fd, buf, sizeof(buf), 200), 2);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->keepalives, 2);
	close(fd);
	teardown(&rx);
}

/* RFC 3261 18.3: no Content-Length on TCP: the headers arrive flagged, the 400 sent on the
 * connection reaches the peer, then the connection closes. */
static void test_tcp_missing_content_length(void)
{
	static const char bad[] = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n"
	                          "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK3\r\n"
	                          "\r\n";
	static const char bad_num[] = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\n"
	                              "Content-Length: 12abc\r\n"
	                              "\r\n";
	static const char r400[] =
	    "SIP/2.0 400 Missing Content-Length\r\nContent-Length: 0\r\n\r\n";
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	char buf[512], msg[512];
	int fd, fd2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	fd = tcp_client(t, 0);
	fd2 = tcp_client(t, 0);
	CU_ASSERT_FATAL(fd >= 0 && fd2 >= 0);
	rx.reply_malformed = r400;
	snprintf(msg, sizeof(msg), "%sbody that cannot be framed", bad);
	CU_ASSERT(send_str(fd, msg));
	CU_ASSERT(send_str(fd2, bad_num));
	rx.stop_after = 2;
	run(rx.lp, 1000);
	CU_ASSERT_EQUAL_FATAL(rx.n, 2);
	CU_ASSERT(rx.malformed[0] && rx.malformed[1]);
	CU_ASSERT(strcmp(rx.msg[0], bad) == 0 || strcmp(rx.msg[1], bad) == 0);
	CU_ASSERT(strcmp(rx.msg[0], bad_num) == 0 || strcmp(rx.msg[1], bad_num) == 0);
	CU_ASSERT_EQUAL(rx.reply_err, 0);
	CU_ASSERT_EQUAL(recv_wait(fd, buf, sizeof(buf), 500), (ssize_t)strlen(r400));
	CU_ASSERT_STRING_EQUAL(buf, r400);
	CU_ASSERT(peer_gone(fd));
	CU_ASSERT_EQUAL(recv_wait(fd2, buf, sizeof(buf), 500), (ssize_t)strlen(r400));
	CU_ASSERT(peer_gone(fd2));
	CU_ASSERT_EQUAL(sip_transport_stats(t)->malformed, 2);
	CU_ASSERT_FALSE(sip_transport_conn_open(t, rx.conn[0]));
	/* Our side closes once the peer has closed too (linger). */
	close(fd);
	close(fd2);
	run(rx.lp, 50);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_open, 0);
	teardown(&rx);
}

static void test_tcp_oversize(void)
{
	struct sip_transport_conf conf = {.max_msg = 512};
	struct rx rx;
	struct sip_transport *t = setup(&rx, &conf);
	char pad[1200];
	int fd, fd2, fd3;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	fd = tcp_client(t, 0);
	fd2 = tcp_client(t, 0);
	fd3 = tcp_client(t, 0);
	CU_ASSERT_FATAL(fd >= 0 && fd2 >= 0 && fd3 >= 0);
	/* A header section that never ends. */
	memset(pad, 'a', sizeof(pad));
	memcpy(pad, "OPTIONS sip:x SIP/2.0\r\nX-Pad: ", 30);
	pad[sizeof(pad) - 1] = '\0';
	CU_ASSERT(send_str(fd, pad));
	/* A body announced too large. */
	CU_ASSERT(send_str(fd2, "OPTIONS sip:x SIP/2.0\r\nContent-Length: 100000\r\n\r\n"));
	CU_ASSERT(send_str(fd3, "OPTIONS sip:x SIP/2.0\r\nl: 99999999999999999999999\r\n\r\n"));
	run(rx.lp, 100);
	CU_ASSERT_EQUAL(rx.n, 0);
	CU_ASSERT(peer_gone(fd));
	CU_ASSERT(peer_gone(fd2));
	CU_ASSERT(peer_gone(fd3));
	CU_ASSERT_EQUAL(sip_transport_stats(t)->oversize, 3);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_open, 0);
	close(fd);
	close(fd2);
	close(fd3);
	teardown(&rx);
}

/* RFC 3261 18.2.2: each answer goes back on the connection its request came on. */
static void test_tcp_same_connection(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	char buf[512];
	int a, b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	a = tcp_client(t, 0);
	b = tcp_client(t, 0);
	CU_ASSERT_FATAL(a >= 0 && b >= 0);
	CU_ASSERT(send_str(a, opt1));
	CU_ASSERT(send_str(b, opt2));
	rx.reply = ok200;
	rx.stop_after = 2;
	run(rx.lp, 1000);
	CU_ASSERT_EQUAL_FATAL(rx.n, 2);
	CU_ASSERT(rx.conn[0] != rx.conn[1]);
	CU_ASSERT_EQUAL(rx.reply_err, 0);
	CU_ASSERT_EQUAL(recv_wait(a, buf, sizeof(buf), 500), (ssize_t)strlen(ok200));
	CU_ASSERT_EQUAL(recv_wait(b, buf, sizeof(buf), 500), (ssize_t)strlen(ok200));
	CU_ASSERT_STRING_EQUAL(buf, ok200);
	/* A second answer on a's connection by id only. */
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_TCP, NULL,
	                                   strcmp(rx.msg[0], opt1) == 0 ? rx.conn[0] : rx.conn[1],
	                                   opt2, strlen(opt2)),
	                0);
	CU_ASSERT_EQUAL(recv_wait(a, buf, sizeof(buf), 500), (ssize_t)strlen(opt2));
	CU_ASSERT_EQUAL(recv_wait(b, buf, sizeof(buf), 50), 0);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->msgs_out[SIP_PROTO_TCP], 3);
	close(a);
	close(b);
	teardown(&rx);
}

/* Connection reuse: a send to the address of an inbound connection goes over it. */
static void test_tcp_reuse_inbound(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	struct sockaddr_in peer;
	char buf[512];
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	fd = tcp_client(t, 0);
	CU_ASSERT_FATAL(fd >= 0);
	run(rx.lp, 30);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_open, 1);
	peer = loopback(sock_port(fd));
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_TCP, &peer, 0, opt1, strlen(opt1)), 0);
	/* A stale id with a destination falls back to the address as well. */
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_TCP, &peer, 9999, opt2, strlen(opt2)), 0);
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_TCP, NULL, 9999, opt2, strlen(opt2)),
	                -ENOTCONN);
	CU_ASSERT_EQUAL(recv_wait(fd, buf, sizeof(buf), 500),
	                (ssize_t)(strlen(opt1) + strlen(opt2)));
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_connected, 0);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_open, 1);
	close(fd);
	teardown(&rx);
}

/* Outbound: connect to a listener from our address, queue until connected, reuse the
 * connection for the next send, receive the answer on it. */
static void test_tcp_connect(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	struct sockaddr_in dst = loopback(0), from;
	socklen_t len = sizeof(from);
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[1024], both[1024];
	struct pollfd pfd = {.events = POLLIN};
	int sfd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&dst, sizeof(dst)), 0);
	CU_ASSERT_EQUAL_FATAL(listen(lfd, 4), 0);
	dst = loopback(sock_port(lfd));
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_TCP, &dst, 0, opt1, strlen(opt1)), 0);
	run(rx.lp, 30);
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_TCP, &dst, 0, opt2, strlen(opt2)), 0);
	run(rx.lp, 30);
	sfd = accept(lfd, (struct sockaddr *)&from, &len);
	CU_ASSERT_FATAL(sfd >= 0);
	CU_ASSERT_EQUAL(from.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	snprintf(both, sizeof(both), "%s%s", opt1, opt2);
	CU_ASSERT_EQUAL(recv_wait(sfd, buf, sizeof(buf), 500), (ssize_t)strlen(both));
	CU_ASSERT_STRING_EQUAL(buf, both);
	/* Only one connection was made. */
	pfd.fd = lfd;
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_connected, 1);
	CU_ASSERT(send_str(sfd, ok200));
	rx.stop_after = 1;
	run(rx.lp, 1000);
	CU_ASSERT_EQUAL_FATAL(rx.n, 1);
	CU_ASSERT_STRING_EQUAL(rx.msg[0], ok200);
	CU_ASSERT_EQUAL(ntohs(rx.last.src.sin_port), sock_port(lfd));
	CU_ASSERT_EQUAL(ntohs(rx.last.local.sin_port), ntohs(from.sin_port));
	CU_ASSERT(sip_transport_conn_open(t, rx.last.conn_id));
	close(sfd);
	close(lfd);
	teardown(&rx);
}

/* A connect that fails (nobody listens) is dropped and counted. */
static void test_tcp_connect_refused(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	struct sockaddr_in dst = loopback(0);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int err;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&dst, sizeof(dst)), 0);
	dst = loopback(sock_port(fd));
	close(fd);
	err = sip_transport_send(t, SIP_PROTO_TCP, &dst, 0, opt1, strlen(opt1));
	CU_ASSERT(err == 0 || err == -ECONNREFUSED);
	run(rx.lp, 50);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->errors, 1);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_open, 0);
	teardown(&rx);
}

/* Drains a slow reader while the loop runs; stops the loop when everything arrived. */
struct sink {
	int fd;          /* client socket */
	size_t want;     /* bytes expected */
	size_t got;      /* bytes read */
	bool corrupt;    /* data was not the expected repeated message */
	const char *msg; /* the repeated message */
	size_t msg_len;  /* its length */
};

static void sink_tick(struct loop *lp, void *arg)
{
	struct sink *s = arg;
	char buf[8192];
	ssize_t n;

	while ((n = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		for (ssize_t i = 0; i < n; i++, s->got++)
			if (buf[i] != s->msg[s->got % s->msg_len])
				s->corrupt = true;
	}
	if (s->got >= s->want)
		loop_stop(lp);
	else
		loop_timer_add(lp, 1, sink_tick, s);
}

/* Partial writes: fill the kernel buffers and the output queue until -ENOBUFS, then the
 * queue drains on EPOLLOUT, in order. */
static void test_tcp_backpressure(void)
{
	struct sip_transport_conf conf = {.out_cap = 64 * 1024};
	struct rx rx;
	struct sip_transport *t = setup(&rx, &conf);
	static char big[30000];
	struct sink s = {.msg = big, .msg_len = sizeof(big)};
	int err = 0, sent = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	s.fd = tcp_client(t, 4096);
	CU_ASSERT_FATAL(s.fd >= 0);
	CU_ASSERT(send_str(s.fd, opt2));
	rx.stop_after = 1;
	run(rx.lp, 1000);
	CU_ASSERT_EQUAL_FATAL(rx.n, 1);
	while (sent < 10000) {
		err = sip_transport_send(t, SIP_PROTO_TCP, NULL, rx.conn[0], big, sizeof(big));
		if (err < 0)
			break;
		sent++;
	}
	CU_ASSERT_EQUAL(err, -ENOBUFS);
	CU_ASSERT(sent > 1);
	s.want = (size_t)sent * sizeof(big);
	loop_timer_add(rx.lp, 1, sink_tick, &s);
	run(rx.lp, 10000);
	CU_ASSERT_EQUAL(s.got, s.want);
	CU_ASSERT_FALSE(s.corrupt);
	CU_ASSERT(sip_transport_conn_open(t, rx.conn[0]));
	close(s.fd);
	teardown(&rx);
}

/* Peer close: the connection and its id are gone, partial input is discarded. */
static void test_tcp_peer_close(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	fd = tcp_client(t, 0);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(send_str(fd, opt1));
	CU_ASSERT(send_str(fd, "OPTIONS sip:half"));
	rx.stop_after = 1;
	run(rx.lp, 1000);
	CU_ASSERT_EQUAL_FATAL(rx.n, 1);
	CU_ASSERT(sip_transport_conn_open(t, rx.conn[0]));
	close(fd);
	run(rx.lp, 50);
	CU_ASSERT_EQUAL(rx.n, 1);
	CU_ASSERT_FALSE(sip_transport_conn_open(t, rx.conn[0]));
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_open, 0);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_closed, 1);
	CU_ASSERT_EQUAL(
	    sip_transport_send(t, SIP_PROTO_TCP, NULL, rx.conn[0], ok200, strlen(ok200)),
	    -ENOTCONN);
	teardown(&rx);
}

static void test_tcp_idle_and_caps(void)
{
	struct sip_transport_conf conf = {.idle_ms = 60, .max_conns = 1};
	struct rx rx;
	struct sip_transport *t = setup(&rx, &conf);
	struct sockaddr_in dst = loopback(9);
	int a, b;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	a = tcp_client(t, 0);
	b = tcp_client(t, 0);
	CU_ASSERT_FATAL(a >= 0 && b >= 0);
	run(rx.lp, 20);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_refused, 1);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_open, 1);
	/* At the cap no outbound connection is made either. */
	CU_ASSERT_EQUAL(sip_transport_send(t, SIP_PROTO_TCP, &dst, 0, opt1, strlen(opt1)), -EMFILE);
	CU_ASSERT(peer_gone(b));
	run(rx.lp, 200);
	CU_ASSERT(peer_gone(a));
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_idle, 1);
	CU_ASSERT_EQUAL(sip_transport_stats(t)->conns_open, 0);
	close(a);
	close(b);
	teardown(&rx);
}

static void test_bind_errors(void)
{
	struct rx rx;
	struct sip_transport *t = setup(&rx, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NULL(
	    sip_transport_new(rx.lp, "127.0.0.1", sip_transport_port(t), NULL, on_recv, &rx));
	CU_ASSERT_PTR_NULL(sip_transport_new(rx.lp, "localhost", 0, NULL, on_recv, &rx));
	sip_transport_free(NULL);
	teardown(&rx);
}

static void test_must_use_tcp(void)
{
	CU_ASSERT_FALSE(sip_transport_must_use_tcp(0));
	CU_ASSERT_FALSE(sip_transport_must_use_tcp(1300));
	CU_ASSERT(sip_transport_must_use_tcp(1301));
	CU_ASSERT_STRING_EQUAL(sip_transport_proto_name(SIP_PROTO_UDP), "UDP");
	CU_ASSERT_STRING_EQUAL(sip_transport_proto_name(SIP_PROTO_TCP), "TCP");
}

int test_sip_transport_register(void)
{
	static CU_TestInfo tests[] = {
	    {"udp", test_udp},
	    {"udp_oversize", test_udp_oversize},
	    {"tcp_two_in_one_write", test_tcp_two_in_one_write},
	    {"tcp_byte_by_byte", test_tcp_byte_by_byte},
	    {"tcp_body_split", test_tcp_body_split},
	    {"tcp_keepalive", test_tcp_keepalive},
	    {"tcp_missing_content_length", test_tcp_missing_content_length},
	    {"tcp_oversize", test_tcp_oversize},
	    {"tcp_same_connection", test_tcp_same_connection},
	    {"tcp_reuse_inbound", test_tcp_reuse_inbound},
	    {"tcp_connect", test_tcp_connect},
	    {"tcp_connect_refused", test_tcp_connect_refused},
	    {"tcp_backpressure", test_tcp_backpressure},
	    {"tcp_peer_close", test_tcp_peer_close},
	    {"tcp_idle_and_caps", test_tcp_idle_and_caps},
	    {"bind_errors", test_bind_errors},
	    {"must_use_tcp", test_must_use_tcp},
	    CU_TEST_INFO_NULL,
	};

	return unit_add_suite("sip_transport", tests);
}
