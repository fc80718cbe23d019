/* epolldup.c: epoll registrations keyed as Linux keys them, by description and fd — a dup of a registered fd is a registration of its own, and all go with the description; compared with native. */
#include "guest.h"

#include <sys/epoll.h>

static void show_ready(int ep, const char *when)
{
	struct epoll_event out[4];
	int n = epoll_wait(ep, out, 4, 100);

	printf("%s: %d ready:", when, n);
	for (int i = 0; i < n; i++)
		printf(" %llu", (unsigned long long)out[i].data.u64);
	printf("\n");
}

static void ctl(int ep, int op, int fd, uint64_t data, const char *what)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = data };

	errno = 0;
	int r = epoll_ctl(ep, op, fd, &e);
	printf("%s: %d %s\n", what, r, r ? strerror(errno) : "");
}

int main(void)
{
	int p[2];

	if (pipe(p))
		return 1;
	int d = dup(p[0]), ep = epoll_create1(0);

	ctl(ep, EPOLL_CTL_ADD, p[0], 1, "add the read end");
	ctl(ep, EPOLL_CTL_ADD, d, 2, "add its dup");
	ctl(ep, EPOLL_CTL_ADD, d, 2, "add the dup again");
	if (write(p[1], "x", 1) != 1)
		return 1;
	show_ready(ep, "both registered");
	ctl(ep, EPOLL_CTL_MOD, d, 3, "modify the dup's");
	ctl(ep, EPOLL_CTL_DEL, p[0], 0, "delete the first");
	show_ready(ep, "the dup's left");
	ctl(ep, EPOLL_CTL_DEL, p[0], 0, "delete the first again");
	close(d);
	show_ready(ep, "the dup closed, the description open");
	close(p[0]);
	show_ready(ep, "every fd of it closed");
	return 0;
}
