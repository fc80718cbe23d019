/* tcpecho.c: a TCP echo server for the connection-checkpoint tests — non-blocking sockets driven by poll or epoll, small reads, an echo buffer per connection. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC 256
#define BUFSZ 65536
#define READSZ 1500     /* small reads: a restored restart queue drains in parts */

struct conn {
	int fd;
	char *buf;
	size_t len;
	int eof;
	long long total;
};

static struct conn c[MAXC];
static int nconn, want, done, use_epoll, ep = -1;

static void die(const char *what)
{
	printf("error: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void watch(struct conn *k)
{
	struct epoll_event ev = { .data.ptr = k };
	ev.events = (k->len < BUFSZ && !k->eof ? EPOLLIN : 0) | (k->len ? EPOLLOUT : 0);
	if (use_epoll && epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev) < 0)
		die("epoll_ctl mod");
}

/* Reads what fits, writes what is buffered; 1 when the connection ended. */
static int serve(struct conn *k)
{
	while (k->len < BUFSZ && !k->eof) {
		size_t room = BUFSZ - k->len;
		ssize_t n = read(k->fd, k->buf + k->len, room < READSZ ? room : READSZ);
		if (n == 0)
			k->eof = 1;
		else if (n < 0 && errno == EAGAIN)
			break;
		else if (n < 0)
			die("read");
		else {
			k->len += (size_t)n;
			k->total += n;
		}
	}
	while (k->len) {
		ssize_t n = write(k->fd, k->buf, k->len);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			die("write");
		memmove(k->buf, k->buf + n, k->len - (size_t)n);
		k->len -= (size_t)n;
	}
	if (k->eof && !k->len) {
		close(k->fd);
		k->fd = -1;
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tcpecho PORT NCONN [poll|epoll] [ADDR] [SNDBUF]\n");
		return 2;
	}
	want = atoi(argv[2]);
	use_epoll = argc > 3 && !strcmp(argv[3], "epoll");
	int sndbuf = argc > 5 ? atoi(argv[5]) : 0; /* "" or 0: the default */
	if (want < 1 || want > MAXC)
		return 2;
	/* ADDR: IPv4, or IPv6 when it has a colon. */
	bool v6 = argc > 4 && strchr(argv[4], ':');
	uint16_t port = htons((uint16_t)atoi(argv[1]));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = port };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = port };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (argc > 4 && inet_pton(v6 ? AF_INET6 : AF_INET, argv[4], v6 ? (void *)&a6.sin6_addr : (void *)&a.sin_addr) != 1)
		return 2;
	int ls = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ls < 0 || bind(ls, v6 ? (struct sockaddr *)&a6 : (struct sockaddr *)&a, v6 ? sizeof(a6) : sizeof(a)) < 0 ||
	    listen(ls, 128) < 0)
		die("listen");
	if (use_epoll) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0)
			die("epoll");
	}
	printf("listening\n");
	fflush(stdout);
	while (done < want) {
		struct pollfd p[MAXC + 1];
		struct epoll_event evs[64];
		int n;
		if (use_epoll) {
			n = epoll_wait(ep, evs, 64, -1);
			if (n < 0 && errno != EINTR)
				die("epoll_wait");
		} else {
			p[0] = (struct pollfd){ .fd = nconn < want ? ls : -1, .events = POLLIN };
			for (int i = 0; i < nconn; i++)
				p[i + 1] = (struct pollfd){ .fd = c[i].fd,
					.events = (c[i].len < BUFSZ && !c[i].eof ? POLLIN : 0) | (c[i].len ? POLLOUT : 0) };
			n = poll(p, (nfds_t)nconn + 1, -1);
			if (n < 0 && errno != EINTR)
				die("poll");
		}
		for (int j = 0; j < (use_epoll ? n : nconn + 1) && n > 0; j++) {
			struct conn *k;
			if (use_epoll)
				k = evs[j].data.ptr;
			else
				k = j == 0 ? (p[0].revents ? NULL : (void *)-1) : (p[j].revents ? &c[j - 1] : (void *)-1);
			if (k == (void *)-1)
				continue;
			if (!k) {
				int fd;
				while (nconn < want && (fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					c[nconn] = (struct conn){ .fd = fd, .buf = malloc(BUFSZ) };
					if (sndbuf && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0)
						die("SO_SNDBUF");
					struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &c[nconn] };
					if (use_epoll && epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
						die("epoll_ctl add");
					nconn++;
				}
				if (nconn == want) {
					printf("accepted %d\n", nconn);
					fflush(stdout);
				}
				continue;
			}
			if (k->fd < 0)
				continue;
			if (serve(k))
				done++;
			else
				watch(k);
		}
	}
	long long total = 0;
	for (int i = 0; i < nconn; i++)
		total += c[i].total;
	printf("done %d connections, %lld bytes echoed\n", nconn, total);
	return 0;
}
