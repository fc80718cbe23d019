/* test_sock.c: unit tests for vmm/sock.c's restart queue (partial reads, peek, EOF, datagrams, a truncated read through the bounce buffer) and net/netlock.c's set elements. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/config.h"
#include "vmm/domain.h"
#include "vmm/gio.h"
#include "vmm/uaccess.h"
#include "vmm/files.h"
#include "net/netlock.h"
#include "vmm/sock.h"
#include "check.h"

static struct ofd *new_sock(int type)
{
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	return ofd_new(fd, O_RDWR, OFD_SOCKET, "socket:[test]");
}

static void test_stream(void)
{
	struct ofd *o = new_sock(SOCK_STREAM);
	char buf[16];
	CHECK(!sock_rq_pending(o), "fresh socket has a restart queue");
	CHECK(sock_rq_read(o, buf, sizeof(buf), 0, NULL, NULL, NULL) == -EAGAIN, "empty queue must defer to the host");
	CHECK(sock_rq_add_bytes(o, "hello, ", 7) == 0 && sock_rq_add_bytes(o, "world", 5) == 0, "add");
	CHECK(sock_rq_pending(o), "queue with bytes not pending");
	long n = sock_rq_read(o, buf, 5, MSG_PEEK, NULL, NULL, NULL);
	CHECK(n == 5 && !memcmp(buf, "hello", 5), "peek got %ld", n);
	n = sock_rq_read(o, buf, 4, 0, NULL, NULL, NULL);
	CHECK(n == 4 && !memcmp(buf, "hell", 4), "first partial read got %ld", n);
	n = sock_rq_read(o, buf, 5, 0, NULL, NULL, NULL);
	CHECK(n == 5 && !memcmp(buf, "o, wo", 5), "second partial read got %ld", n);
	n = sock_rq_read(o, buf, sizeof(buf), 0, NULL, NULL, NULL);
	CHECK(n == 3 && !memcmp(buf, "rld", 3), "last read got %ld", n);
	CHECK(!sock_rq_pending(o) && sock_rq_read(o, buf, 4, 0, NULL, NULL, NULL) == -EAGAIN, "drained queue");
	sock_of(o, false)->eof = true;
	CHECK(sock_rq_pending(o) && sock_rq_read(o, buf, 4, 0, NULL, NULL, NULL) == 0, "EOF after the queue");
	ofd_put(o);
}

static void test_dgram(void)
{
	struct ofd *o = new_sock(SOCK_DGRAM);
	struct sockaddr_storage a = { 0 }, got;
	socklen_t gl = 0;
	struct sockaddr_in *in = (struct sockaddr_in *)&a;
	in->sin_family = AF_INET;
	in->sin_port = htons(9);
	char buf[16];
	int of = 0;
	CHECK(sock_rq_add_dgram(o, "first datagram", 14, &a, sizeof(*in)) == 0, "add");
	CHECK(sock_rq_add_dgram(o, "second", 6, &a, sizeof(*in)) == 0, "add");
	long n = sock_rq_read(o, buf, 5, 0, &got, &gl, &of);
	CHECK(n == 5 && !memcmp(buf, "first", 5) && (of & MSG_TRUNC), "truncated datagram: %ld flags %x", n, of);
	CHECK(gl == sizeof(*in) && ((struct sockaddr_in *)&got)->sin_port == htons(9), "source address");
	of = 0;
	n = sock_rq_read(o, buf, sizeof(buf), MSG_PEEK, NULL, NULL, &of);
	CHECK(n == 6 && !of, "peek of the second: %ld", n);
	n = sock_rq_read(o, buf, 2, MSG_TRUNC, NULL, NULL, &of);
	CHECK(n == 6, "MSG_TRUNC reports the real length: %ld", n);
	CHECK(sock_rq_read(o, buf, sizeof(buf), 0, NULL, NULL, NULL) == -EAGAIN, "each datagram read once");
	ofd_put(o);
}

/* Issue 15, hole 6: a restored datagram larger than the bounce buffer
 * (1 MiB), read with MSG_TRUNC into a larger guest buffer. Linux returns
 * the whole length and fills only what it copied; the old bounce copied
 * that whole length out of its 1 MiB heap buffer into guest memory. */
static void test_bounce_trunc(void)
{
	static struct domain_spec c = { .name = "trunc", .memory = 16ULL << 20 };
	struct domain *d = dom_new(&c);
	CHECK(d && !mm_init(d, c.memory), "domain without KVM");
	if (!d)
		return;
	const size_t buf = 2 << 20, dgram = 3 << 19; /* 2 MiB buffer, 1.5 MiB datagram */
	long a = mm_map(d, 0, buf, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	CHECK(a > 0, "mm_map");
	static uint8_t pat[2 << 20], got[2 << 20];
	memset(pat, 0x5a, sizeof(pat));
	CHECK(!copy_to_user(d, (gva_t)a, pat, buf), "canary");
	struct ofd *o = new_sock(SOCK_DGRAM);
	static uint8_t data[3 << 19];
	memset(data, 0x11, sizeof(data));
	CHECK(sock_rq_add_dgram(o, data, dgram, NULL, 0) == 0, "queue a datagram");
	struct thread t = { .dom = d };
	struct gseg seg = { (uint64_t)a, buf };
	long n = sock_xfer(&t, o, &seg, 1, buf, NULL, MSG_TRUNC, false);
	CHECK(n == (long)dgram, "MSG_TRUNC returns the datagram's length: %ld", n);
	CHECK(!copy_from_user(d, got, (gva_t)a, buf), "read back");
	size_t first = 0;
	while (first < buf && got[first] == 0x11)
		first++;
	CHECK(first >= 1 << 20 && first <= dgram, "the bounce buffer's bytes arrive (%zu)", first);
	size_t bad = 0;
	for (size_t i = first; i < buf; i++)
		bad += got[i] != 0x5a;
	CHECK(bad == 0, "nothing written past what was copied (%zu bytes changed)", bad);
	ofd_put(o);
	dom_free(d);
}

static void test_rules(void)
{
	struct netlock_conn c = { 0 };
	struct sockaddr_in *l = (void *)&c.local, *p = (void *)&c.peer;
	char buf[256];
	l->sin_family = p->sin_family = AF_INET;
	inet_pton(AF_INET, "10.77.0.2", &l->sin_addr);
	inet_pton(AF_INET, "10.77.0.1", &p->sin_addr);
	l->sin_port = htons(7000);
	p->sin_port = htons(40000);
	bool v6 = true;
	int n = netlock_rule(&c, buf, sizeof(buf), &v6);
	CHECK(n > 0 && !v6 && !strcmp(buf, "10.77.0.1 . 40000 . 10.77.0.2 . 7000"), "v4 element: %s", buf);
	/* A v6 socket talking IPv4 (mapped addresses) gets an ip rule. */
	struct sockaddr_in6 *l6 = (void *)&c.local, *p6 = (void *)&c.peer;
	memset(&c, 0, sizeof(c));
	l6->sin6_family = p6->sin6_family = AF_INET6;
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &l6->sin6_addr);
	inet_pton(AF_INET6, "::ffff:127.0.0.2", &p6->sin6_addr);
	l6->sin6_port = htons(1);
	p6->sin6_port = htons(2);
	n = netlock_rule(&c, buf, sizeof(buf), &v6);
	CHECK(n > 0 && !v6 && !strcmp(buf, "127.0.0.2 . 2 . 127.0.0.1 . 1"), "mapped: %s", buf);
	inet_pton(AF_INET6, "fd00::2", &l6->sin6_addr);
	inet_pton(AF_INET6, "fd00::1", &p6->sin6_addr);
	n = netlock_rule(&c, buf, sizeof(buf), &v6);
	CHECK(n > 0 && v6 && !strcmp(buf, "fd00::1 . 2 . fd00::2 . 1"), "v6: %s", buf);
	CHECK(netlock_rule(&c, buf, 10, &v6) < 0, "short buffer");
	c.local.ss_family = AF_UNIX;
	CHECK(netlock_rule(&c, buf, sizeof(buf), &v6) == -EAFNOSUPPORT, "unix refused");
}

int main(void)
{
	test_stream();
	test_dgram();
	test_bounce_trunc();
	test_rules();
	printf("test_sock: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
