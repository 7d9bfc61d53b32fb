/* sipsend: sends one raw message (a file, sent byte for byte; "-" reads stdin) to a SIP
 * node over UDP or TCP and prints the start line of every message that comes back within
 * the timeout. For bad-input tests: what a node answers to truncated, oversized or
 * garbage messages, and whether it answers at all. --crlf turns LF line ends of the input
 * into CRLF (scenarios written with here-documents); --final prints the first final
 * response whole instead of start lines.
 *   sipsend [--tcp] [--crlf] [--final] [--timeout MS] [--from ADDR] ADDR:PORT FILE */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SIPSEND_MAX (256 * 1024)

static int parse_addr(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (*end || port == 0 || port > 65535)
		return -EINVAL;
	*out = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -EINVAL;
}

static ssize_t read_input(const char *path, char *buf, size_t size)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, size, f);
	if (f != stdin)
		fclose(f);
	return (ssize_t)n;
}

/* Copies in (len bytes) into out (size bytes) with each bare LF turned into CRLF. Returns
 * the new length, or -EMSGSIZE. */
static ssize_t to_crlf(const char *in, size_t len, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) {
			if (n + 2 > size)
				return -EMSGSIZE;
			out[n++] = '\r';
		} else if (n + 1 > size) {
			return -EMSGSIZE;
		}
		out[n++] = in[i];
	}
	return (ssize_t)n;
}

/* Prints the first line of each message in buf (messages start with "SIP/2.0 "). */
static void print_start_lines(const char *buf, size_t len)
{
	for (size_t i = 0; i + 8 <= len; i++) {
		if ((i == 0 || buf[i - 1] == '\n') && memcmp(buf + i, "SIP/2.0 ", 8) == 0) {
			size_t j = i;

			while (j < len && buf[j] != '\r' && buf[j] != '\n')
				j++;
			printf("%.*s\n", (int)(j - i), buf + i);
		}
	}
}

int main(int argc, char **argv)
{
	static char buf[SIPSEND_MAX], in[SIPSEND_MAX], raw[SIPSEND_MAX];
	static const struct option longopts[] = {
	    {"tcp", no_argument, NULL, 't'},        {"timeout", required_argument, NULL, 'w'},
	    {"from", required_argument, NULL, 'f'}, {"crlf", no_argument, NULL, 'c'},
	    {"final", no_argument, NULL, 'F'},      {NULL, 0, NULL, 0},
	};
	struct sockaddr_in dst, src = {.sin_family = AF_INET};
	int tcp = 0, crlf = 0, final = 0, timeout = 1000, fd, c, got = 0;
	const char *from = NULL;
	ssize_t len;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 't')
			tcp = 1;
		else if (c == 'w')
			timeout = (int)strtol(optarg, NULL, 10);
		else if (c == 'f')
			from = optarg;
		else if (c == 'c')
			crlf = 1;
		else if (c == 'F')
			final = 1;
		else
			return 2;
	}
	if (argc - optind != 2 || parse_addr(argv[optind], &dst) < 0 ||
	    (from && inet_pton(AF_INET, from, &src.sin_addr) != 1)) {
		fprintf(stderr, "usage: sipsend [--tcp] [--crlf] [--final] [--timeout MS] [--from "
		                "ADDR] ADDR:PORT FILE\n");
		return 2;
	}
	len = read_input(argv[optind + 1], crlf ? raw : buf, sizeof(buf));
	if (len >= 0 && crlf)
		len = to_crlf(raw, (size_t)len, buf, sizeof(buf));
	if (len < 0) {
		fprintf(stderr, "sipsend: %s: %s\n", argv[optind + 1], strerror((int)-len));
		return 1;
	}
	fd = socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (fd < 0 || (from && bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) ||
	    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0 ||
	    send(fd, buf, (size_t)len, 0) < 0) {
		fprintf(stderr, "sipsend: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, timeout) <= 0)
			break;
		n = recv(fd, in, sizeof(in), 0);
		if (n <= 0)
			break;
		if (!final) {
			print_start_lines(in, (size_t)n);
			got = 1;
		} else if (n >= 9 && memcmp(in, "SIP/2.0 1", 9) != 0) {
			fwrite(in, 1, (size_t)n, stdout);
			got = 1;
			break;
		}
	}
	close(fd);
	if (!got)
		printf("no answer\n");
	return 0;
}
