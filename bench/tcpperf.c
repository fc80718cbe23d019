/* tcpperf.c: TCP throughput and small-message round trips on loopback, run natively and inside a domain by bench/net.sh — "sink PORT", "send PORT MIB", "echo PORT", "ping PORT N". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct sockaddr_in addr(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int serve_one(const char *port)
{
	struct sockaddr_in a = addr(port);
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0) {
		perror("listen");
		exit(1);
	}
	printf("listening\n");
	fflush(stdout);
	int c = accept(l, NULL, NULL);
	if (c < 0) {
		perror("accept");
		exit(1);
	}
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
	return c;
}

static int dial(const char *port)
{
	struct sockaddr_in a = addr(port);
	int one = 1;
	for (int i = 0; i < 200; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(s, (struct sockaddr *)&a, sizeof(a)) == 0) {
			setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			return s;
		}
		close(s);
		usleep(50000);
	}
	perror("connect");
	exit(1);
}

int main(int argc, char **argv)
{
	static char buf[65536];
	if (argc < 3)
		goto usage;
	if (!strcmp(argv[1], "sink")) {
		int c = serve_one(argv[2]);
		long long total = 0, reads = 0;
		ssize_t n;
		double t0 = 0;
		while ((n = read(c, buf, sizeof(buf))) > 0) {
			if (!total)
				t0 = now_s();
			total += n;
			reads++;
		}
		double dt = now_s() - t0;
		/* Bytes per read tells how many traps the transfer cost a domain.
		 * No clock read per read: where the vDSO cannot read the host's
		 * clocksource (HPET in the nested VM) it would be a second trap. */
		printf("sink: %lld bytes in %lld reads, %.1f MB/s\n", total, reads, total / dt / 1e6);
		return 0;
	}
	if (!strcmp(argv[1], "echo")) {
		int c = serve_one(argv[2]);
		ssize_t n;
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)n) != n)
				return 1;
		return 0;
	}
	if (argc < 4)
		goto usage;
	int s = dial(argv[2]);
	if (!strcmp(argv[1], "send")) {
		long long want = atoll(argv[3]) << 20, sent = 0;
		memset(buf, 'x', sizeof(buf));
		double t0 = now_s();
		while (sent < want) {
			ssize_t n = write(s, buf, sizeof(buf)); /* 64 KiB writes */
			if (n <= 0)
				return 1;
			sent += n;
		}
		shutdown(s, SHUT_WR);
		read(s, buf, 1); /* the sink closes after reading all */
		double dt = now_s() - t0;
		printf("send: %lld bytes, %.1f MB/s\n", sent, sent / dt / 1e6);
		return 0;
	}
	if (!strcmp(argv[1], "ping")) {
		int n = atoi(argv[3]);
		memset(buf, 'p', 64);
		double t0 = now_s();
		for (int i = 0; i < n; i++) {
			if (write(s, buf, 64) != 64)
				return 1;
			for (int got = 0; got < 64;) {
				ssize_t r = read(s, buf + got, (size_t)(64 - got));
				if (r <= 0)
					return 1;
				got += (int)r;
			}
		}
		printf("ping: %d round trips, %.2f us/round trip\n", n, (now_s() - t0) / n * 1e6);
		return 0;
	}
usage:
	fprintf(stderr, "usage: tcpperf sink PORT | echo PORT | send PORT MIB | ping PORT N\n");
	return 2;
}
