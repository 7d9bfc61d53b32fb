/* SIP byte transport (RFC 3261 section 18): one UDP socket and one TCP listener sharing
 * addr:port, inbound and outbound TCP connections with stream framing (RFC 3261 18.3),
 * CRLF keep-alives (RFC 5626 4.4.1), connection reuse, bounded buffers and idle timeouts.
 * No SIP semantics beyond framing: sip_msg parses what this module delivers.
 * Everything runs on the loop thread; no function here may be called from another. */
#ifndef IMS_SIP_TRANSPORT_H
#define IMS_SIP_TRANSPORT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct sip_transport;

enum sip_proto {
	SIP_PROTO_UDP,
	SIP_PROTO_TCP,
	SIP_PROTO_COUNT /* number of transports, for per-transport arrays */
};

/* RFC 3261 18.1.1: without a known path MTU, a request larger than 1300 bytes
 * (MTU 1500 minus 200) must go over a congestion-controlled transport. */
#define SIP_TRANSPORT_UDP_MTU_LIMIT 1300

/* Defaults used for zero fields of struct sip_transport_conf (or a NULL conf). */
#define SIP_TRANSPORT_MAX_MSG    65535
#define SIP_TRANSPORT_OUT_CAP    (256 * 1024)
#define SIP_TRANSPORT_MAX_CONNS  1024
#define SIP_TRANSPORT_IDLE_MS    (5 * 60 * 1000)
#define SIP_TRANSPORT_CONNECT_MS 10000

/* Limits; a zero field takes the default above. */
struct sip_transport_conf {
	size_t max_msg;      /* largest message (headers + body) accepted on UDP or TCP; a TCP
	                        connection buffers at most this much unframed input */
	size_t out_cap;      /* bytes queued for output on one TCP connection; beyond it
	                        sip_transport_send fails with -ENOBUFS */
	unsigned max_conns;  /* open TCP connections, inbound and outbound together */
	uint32_t idle_ms;    /* a TCP connection without traffic for this long is closed */
	uint32_t connect_ms; /* an outbound connect not completed by then is abandoned */
};

/* One received message as the receive callback sees it. */
struct sip_packet {
	const char *buf;          /* message bytes, borrowed: valid only during the callback;
	                             buf[len] is '\0' so text parsers may run on it */
	size_t len;               /* bytes in buf */
	enum sip_proto proto;     /* transport it arrived on */
	struct sockaddr_in src;   /* peer address (source of the datagram or connection) */
	struct sockaddr_in local; /* our address the peer reached */
	uint64_t conn_id;         /* TCP connection (never reused; 0 for UDP): pass it to
	                             sip_transport_send to answer on the same connection */
	bool malformed;           /* TCP only: framing failed (RFC 3261 18.3: no or invalid
	                             Content-Length). buf holds the start line and headers
	                             only; the connection reads no more and closes once what
	                             the callback sent on conn_id (a 400, sent from inside
	                             the callback) is written */
};

/* Called on the loop thread for each message: one UDP datagram (empty and CRLF-only
 * datagrams are dropped as keep-alives), or one TCP message framed by Content-Length
 * (CRLFs before a start line are skipped, RFC 3261 7.5). It may call sip_transport_send,
 * but must not free the transport. */
typedef void (*sip_transport_recv_fn)(void *arg, const struct sip_packet *p);

/* Counters for /metrics; arrays are indexed by enum sip_proto. */
struct sip_transport_stats {
	uint64_t msgs_in[SIP_PROTO_COUNT];   /* messages delivered to the callback */
	uint64_t bytes_in[SIP_PROTO_COUNT];  /* bytes of those messages */
	uint64_t msgs_out[SIP_PROTO_COUNT];  /* messages accepted by sip_transport_send */
	uint64_t bytes_out[SIP_PROTO_COUNT]; /* bytes of those messages */
	uint64_t conns_open;                 /* TCP connections open now (gauge) */
	uint64_t conns_accepted;             /* inbound TCP connections accepted */
	uint64_t conns_connected;            /* outbound TCP connections attempted */
	uint64_t conns_closed;               /* TCP connections closed, for any reason */
	uint64_t conns_refused;              /* inbound connections refused: max_conns */
	uint64_t conns_idle;                 /* connections closed by the idle timeout */
	uint64_t keepalives;                 /* CRLF keep-alives received (pings, UDP) */
	uint64_t malformed;                  /* TCP messages delivered with malformed set */
	uint64_t oversize;                   /* messages over max_msg (dropped or
	                                        connection closed) */
	uint64_t errors;                     /* socket errors: accept, read, write, connect */
};

/* Binds TCP (SO_REUSEADDR, listening) and then UDP on addr:port (IPv4 dotted quad), both
 * non-blocking and watched by lp. Port 0 picks a free port shared by both sockets (see
 * sip_transport_port). conf may be NULL for the defaults; it is copied. on_recv(arg, p) is
 * called for every message. Returns the transport (free with sip_transport_free) or NULL
 * after logging addr:port and the reason. */
struct sip_transport *sip_transport_new(struct loop *lp, const char *addr, uint16_t port,
                                        const struct sip_transport_conf *conf,
                                        sip_transport_recv_fn on_recv, void *arg);

/* Closes every socket and connection (queued output is dropped) and frees t. NULL ok.
 * Not from inside the receive callback. */
void sip_transport_free(struct sip_transport *t);

/* The port UDP and TCP are bound to (host order). */
uint16_t sip_transport_port(const struct sip_transport *t);

/* Sends len bytes (one whole message, copied before return).
 * UDP: one datagram from the bound socket to dst.
 * TCP (RFC 3261 18.2.2 for responses, 18.1.1 for requests): on connection conn_id if it is
 * still open; otherwise, with dst, on an open connection to dst, or else on a new one
 * connected from addr:0 (data queued until it is established).
 * Returns 0 (sent or queued), -ENOTCONN when conn_id is gone and dst is NULL, -EINVAL,
 * -EMSGSIZE over max_msg, -ENOBUFS when the output queue is full, -EMFILE at max_conns, or
 * the -errno of a failed sendto/socket/connect. A later asynchronous failure (connect
 * refused, write error) closes the connection, is logged and counted in errors. */
int sip_transport_send(struct sip_transport *t, enum sip_proto proto, const struct sockaddr_in *dst,
                       uint64_t conn_id, const char *buf, size_t len);

/* True when RFC 3261 18.1.1 requires TCP for a request of len bytes (over 1300). */
bool sip_transport_must_use_tcp(size_t len);

/* True while TCP connection conn_id is open (and not closing). */
bool sip_transport_conn_open(const struct sip_transport *t, uint64_t conn_id);

/* Counters, borrowed: valid until sip_transport_free. */
const struct sip_transport_stats *sip_transport_stats(const struct sip_transport *t);

/* Text name of a transport as used in Via ("UDP", "TCP"). */
const char *sip_transport_proto_name(enum sip_proto proto);

#endif
