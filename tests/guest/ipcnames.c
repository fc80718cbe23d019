/* ipcnames.c: FIFOs opened from two threads, UNIX datagram source addresses, route netlink; output compared with native. */
#include "guest.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static char fifo[256];

/* The writer opens after the reader has blocked in open(): each open waits
 * for the other end, so both must be able to wait at once. */
static void *fifo_writer(void *arg)
{
	(void)arg;
	usleep(50 * 1000);
	int fd = open(fifo, O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "through", 7) != 7)
			perror("write");
		close(fd);
	}
	return NULL;
}

static void fifo_test(const char *dir)
{
	char buf[16] = "";
	pthread_t t;

	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	check(mkfifo(fifo, 0600) == 0, "mkfifo");
	pthread_create(&t, NULL, fifo_writer, NULL);
	int fd = open(fifo, O_RDONLY);
	check(fd >= 0, "blocking open of the read end returns once a writer opens");
	check(read(fd, buf, sizeof(buf) - 1) == 7 && !strcmp(buf, "through"), "read what the writer wrote: %s", buf);
	check(read(fd, buf, sizeof(buf)) == 0, "end of file after the writer closed");
	pthread_join(t, NULL);
	close(fd);
	/* Without a reader, a non-blocking open for writing is ENXIO. */
	errno = 0;
	check(open(fifo, O_WRONLY | O_NONBLOCK) < 0 && errno == ENXIO, "O_WRONLY|O_NONBLOCK without a reader: ENXIO");
	fd = open(fifo, O_RDONLY | O_NONBLOCK);
	check(fd >= 0, "O_RDONLY|O_NONBLOCK opens at once");
	close(fd);
	unlink(fifo);
}

static socklen_t un_addr(struct sockaddr_un *a, const char *dir, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", dir, name);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

/* The server learns the client's bound path from recvfrom and answers to
 * it: the path must be the client's own, not a host name for it. */
static void dgram_test(const char *dir)
{
	struct sockaddr_un sa, ca, from;
	socklen_t sl = un_addr(&sa, dir, "srv"), cl = un_addr(&ca, dir, "cli"), fl = sizeof(from);
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), c = socket(AF_UNIX, SOCK_DGRAM, 0);
	char buf[32] = "";

	check(bind(s, (struct sockaddr *)&sa, sl) == 0 && bind(c, (struct sockaddr *)&ca, cl) == 0, "bind both");
	check(sendto(c, "ping", 4, 0, (struct sockaddr *)&sa, sl) == 4, "client sends");
	check(recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 4, "server receives");
	check(fl == cl && !strcmp(from.sun_path, ca.sun_path), "source address is the client's path (%s)",
	      strrchr(from.sun_path, '/') ? strrchr(from.sun_path, '/') : "(unnamed)");
	check(sendto(s, "pong", 4, 0, (struct sockaddr *)&from, fl) == 4, "server answers to it");
	fl = sizeof(from);
	check(recvfrom(c, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 4 && !memcmp(buf, "pong", 4) &&
	      !strcmp(from.sun_path, sa.sun_path), "client gets the answer from the server's path");
	close(s);
	close(c);
	/* An unbound sender reads as unnamed. */
	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	c = socket(AF_UNIX, SOCK_DGRAM, 0);
	unlink(sa.sun_path);
	bind(s, (struct sockaddr *)&sa, sl);
	sendto(c, "x", 1, 0, (struct sockaddr *)&sa, sl);
	fl = sizeof(from);
	ssize_t n = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	check(n == 1, "an unbound sender's datagram (address length %u)", (unsigned)fl);
	close(s);
	close(c);
	unlink(sa.sun_path);
	unlink(ca.sun_path);
}

/* A route netlink dump of the links: what getifaddrs and Go's
 * net.Interfaces read. The loopback link is always there. */
static void netlink_test(void)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		  .i = { .ifi_family = AF_UNSPEC } };
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	static char buf[65536];
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), lo = 0, done = 0;

	check(fd >= 0, "route netlink socket");
	check(bind(fd, (struct sockaddr *)&nl, sizeof(nl)) == 0, "bind it");
	check(sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) == sizeof(req), "send the dump request");
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = 1;
				break;
			}
			struct ifinfomsg *i = NLMSG_DATA(h);
			lo |= h->nlmsg_type == RTM_NEWLINK && (i->ifi_flags & 0x8 /* IFF_LOOPBACK */);
		}
	}
	check(done && lo, "the dump ends and lists the loopback link");
	close(fd);
}

/* Received control messages are written as Linux writes them: the padding
 * after a message stays as the caller's buffer had it. */
static void cmsg_padding_test(void)
{
	int sv[2], on = 1;
	unsigned char ctl[64];
	char c;
	struct iovec io = { &c, 1 };
	struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };

	check(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "socketpair");
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
	check(send(sv[0], "x", 1, 0) == 1, "send");
	memset(ctl, 0xaa, sizeof(ctl));
	check(recvmsg(sv[1], &m, 0) == 1, "recvmsg with SO_PASSCRED");
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	check(h && h->cmsg_type == SCM_CREDENTIALS && h->cmsg_len == CMSG_LEN(sizeof(struct ucred)) &&
	      m.msg_controllen == CMSG_SPACE(sizeof(struct ucred)), "one SCM_CREDENTIALS message");
	size_t pad = CMSG_SPACE(sizeof(struct ucred)) - CMSG_LEN(sizeof(struct ucred));
	int kept = 1;
	for (size_t i = CMSG_LEN(sizeof(struct ucred)); i < CMSG_LEN(sizeof(struct ucred)) + pad; i++)
		kept &= ctl[i] == 0xaa;
	check(kept, "its %zu padding bytes are the caller's", pad);
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: ipcnames WRITABLE-DIR\n");
		return 2;
	}
	fifo_test(argv[1]);
	dgram_test(argv[1]);
	netlink_test();
	cmsg_padding_test();
	return g_failures ? 1 : 0;
}
