/* evtest.c: epoll, eventfd and timerfd semantics, printed for comparison with native Linux; with "snap", it holds state across a snapshot (eventfd count, pending timer ticks, an epoll set) and prints what a restore must keep. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long r)
{
	printf("%s: %ld%s%s\n", what, r, r < 0 ? " " : "", r < 0 ? strerror(errno) : "");
}

static int wait_n(int ep, int ms, uint64_t *datas)
{
	struct epoll_event ev[8];
	int n = epoll_wait(ep, ev, 8, ms);
	for (int i = 0; i < n && datas; i++)
		datas[i] = ev[i].data.u64;
	return n;
}

static void semantics(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), efd = eventfd(0, EFD_NONBLOCK), p[2];
	uint64_t v = 0, d[8];
	show("pipe", pipe2(p, O_NONBLOCK));
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 0x1122334455667788ULL };
	show("ctl add eventfd", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e));
	show("ctl add again (EEXIST)", epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e));
	show("ctl mod absent (ENOENT)", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
	show("ctl add self (EINVAL)", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &e));
	int reg = open("/etc/hostname", O_RDONLY);
	show("ctl add regular file (EPERM)", epoll_ctl(ep, EPOLL_CTL_ADD, reg, &e));
	show("ctl bad fd (EBADF)", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &e));
	show("ctl on non-epoll (EINVAL)", epoll_ctl(efd, EPOLL_CTL_ADD, p[0], &e));
	show("wait maxevents 0 (EINVAL)", epoll_wait(ep, (struct epoll_event *)&v, 0, 0));
	show("wait nothing ready", wait_n(ep, 0, NULL));
	show("eventfd read empty (EAGAIN)", read(efd, &v, 8));
	v = 3;
	show("eventfd write 3", write(efd, &v, 8));
	int n = wait_n(ep, 1000, d);
	printf("wait eventfd ready: %d data %llx\n", n, (unsigned long long)d[0]);
	show("eventfd read", read(efd, &v, 8));
	printf("eventfd value %llu\n", (unsigned long long)v);
	/* edge-triggered: reported once per change */
	e = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 7 };
	show("ctl add pipe ET", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e));
	show("pipe write", write(p[1], "x", 1));
	show("wait ET first", wait_n(ep, 1000, d));
	show("wait ET again", wait_n(ep, 0, NULL));
	e = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 8 };
	show("ctl mod oneshot", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &e));
	show("wait oneshot", wait_n(ep, 1000, d));
	show("wait oneshot disarmed", wait_n(ep, 0, NULL));
	show("ctl del", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	show("ctl del again (ENOENT)", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
	int sem = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	show("semaphore read", read(sem, &v, 8));
	printf("semaphore value %llu\n", (unsigned long long)v);
	show("semaphore read", read(sem, &v, 8));
	show("semaphore read empty (EAGAIN)", read(sem, &v, 8));
	show("eventfd bad flags (EINVAL)", eventfd(0, 0x4000000));
	show("timerfd bad clock (EINVAL)", timerfd_create(12345, 0));
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = { .it_value = { 0, 20000000 }, .it_interval = { 0, 20000000 } }, cur;
	show("timerfd settime", timerfd_settime(tfd, 0, &its, NULL));
	show("timerfd gettime", timerfd_gettime(tfd, &cur));
	printf("timerfd armed %d interval %ld\n", cur.it_value.tv_sec || cur.it_value.tv_nsec, cur.it_interval.tv_nsec);
	e = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 9 };
	show("ctl add timerfd", epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e));
	n = wait_n(ep, 2000, d);
	printf("wait timerfd: %d data %llu\n", n, (unsigned long long)d[0]);
	usleep(100000);
	show("timerfd read", read(tfd, &v, 8));
	printf("timerfd ticks >= 2: %d\n", v >= 2);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	its = (struct itimerspec){ .it_value = { now.tv_sec, now.tv_nsec } };
	its.it_value.tv_nsec += 30000000;
	if (its.it_value.tv_nsec >= 1000000000) {
		its.it_value.tv_sec++;
		its.it_value.tv_nsec -= 1000000000;
	}
	show("timerfd settime absolute", timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL));
	show("timerfd gettime", timerfd_gettime(tfd, &cur));
	printf("absolute timer due within 30 ms: %d\n", cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec <= 30000000);
	show("timerfd settime on eventfd (EINVAL)", timerfd_settime(efd, 0, &its, NULL));
}

/* State across a snapshot: prints "ready", waits for the snapshot (the
 * test snapshots and restores once it reads that line), then reports. */
static void snap(void)
{
	int ep = epoll_create1(0), efd = eventfd(5, EFD_NONBLOCK), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	struct itimerspec its = { .it_value = { 0, 1000000 } };
	timerfd_settime(tfd, 0, &its, NULL);
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 42 };
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &e);
	e.data.u64 = 43;
	e.events = EPOLLIN | EPOLLONESHOT;
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &e);
	usleep(50000); /* the timer expires, unread */
	printf("ready\n");
	fflush(stdout);
	sleep(3); /* the snapshot lands here */
	uint64_t d[8], v = 0;
	int n = wait_n(ep, 1000, d);
	int saw42 = 0, saw43 = 0;
	for (int i = 0; i < n; i++) {
		saw42 += d[i] == 42;
		saw43 += d[i] == 43;
	}
	printf("after: %d ready, eventfd %d, timerfd %d\n", n, saw42, saw43);
	printf("timerfd oneshot disarmed: %d\n", wait_n(ep, 0, d) == 1 && d[0] == 42);
	read(efd, &v, 8);
	printf("eventfd count %llu\n", (unsigned long long)v);
	v = 0;
	read(tfd, &v, 8);
	printf("timerfd ticks %llu\n", (unsigned long long)v);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "snap"))
		snap();
	else
		semantics();
	return 0;
}
