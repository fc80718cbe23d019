/* anonstate.c: memfds and pidfds across a snapshot — memfd contents with a hole, seals, offsets, a second description, a shared mapping with its fd and one without; pidfds of a running child, a zombie and a reaped child — deterministic output for snapshot/restore tests. */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/*
 * Usage: anonstate N PERIOD_MS [big]
 *
 * Sets up, then prints "ready" and "tick i" N times, PERIOD_MS apart (a
 * snapshot is taken among them), then checks what a restore must have kept
 * and prints one line per check, and "done":
 *   a: "alpha", 8 MiB long, data in [0, 1 MiB) and [5 MiB, 6 MiB) (a hole
 *      between), sealed against shrinking and growing, offset 1234;
 *   b: /proc/self/fd/a opened read-only, offset 77: another description;
 *   c: "mapped", 16 KiB, shared mapping m written before the snapshot and
 *      after it (write-back goes on), fd kept;
 *   o: "orphan", a shared mapping whose fd was closed at once;
 *   e: "noexec", made with MFD_NOEXEC_SEAL;
 *   rf: a non-blocking pidfd of a child blocked reading a pipe, in an epoll
 *      set; it is signalled after the restore;
 *   zf: a pidfd of a child that exited (a zombie); qf: of one reaped.
 * "big" adds a 160 MiB memfd of data: more than an image carries.
 */

#define MIB (1024 * 1024)

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + i / 4096 + 1);
}

static int sum_ok(int fd, off_t from, size_t n)
{
	static unsigned char buf[MIB];
	for (size_t done = 0; done < n;) {
		size_t c = n - done < sizeof(buf) ? n - done : sizeof(buf);
		if (pread(fd, buf, c, from + (off_t)done) != (ssize_t)c)
			return 0;
		for (size_t i = 0; i < c; i++)
			if (buf[i] != pattern(from + done + i))
				return 0;
		done += c;
	}
	return 1;
}

static void fill(int fd, off_t from, size_t n)
{
	static unsigned char buf[MIB];
	for (size_t done = 0; done < n; done += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = pattern(from + done + i);
		if (pwrite(fd, buf, sizeof(buf), from + (off_t)done) != (ssize_t)sizeof(buf))
			exit(1);
	}
}

static long readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r = poll(&p, 1, ms);
	return r < 0 ? r : (p.revents & POLLIN) != 0;
}

static void show_wait(const char *what, int fd, int options)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	long r = waitid(P_PIDFD, (id_t)fd, &si, options);
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %ld code %d status %d\n", what, r, si.si_code, si.si_status);
}

static pid_t child_on_pipe(int *w)
{
	int p[2];
	if (pipe(p))
		exit(2);
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(p[1]);
		_exit(read(p[0], &b, 1) == 1 ? b : 7);
	}
	close(p[0]);
	*w = p[1];
	return c;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int n = atoi(argv[1]), period = atoi(argv[2]);
	long pg = sysconf(_SC_PAGESIZE);
	char path[64], b[64];

	int a = memfd_create("alpha", MFD_ALLOW_SEALING);
	if (a < 0 || ftruncate(a, 8 * MIB))
		return 1;
	fill(a, 0, MIB);
	fill(a, 5 * MIB, MIB);
	fcntl(a, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	lseek(a, 1234, SEEK_SET);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", a);
	int bd = open(path, O_RDONLY);
	lseek(bd, 77, SEEK_SET);
	int c = memfd_create("mapped", MFD_ALLOW_SEALING);
	if (ftruncate(c, 4 * pg))
		return 1;
	char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_SHARED, c, 0);
	memcpy(m, "before", 6);
	int o = memfd_create("orphan", 0);
	if (ftruncate(o, pg))
		return 1;
	char *om = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, o, 0);
	close(o);
	memcpy(om, "orphan data", 11);
	int e = memfd_create("noexec", 8 /* MFD_NOEXEC_SEAL */);
	if (argc > 3 && !strcmp(argv[3], "big")) {
		int big = memfd_create("big", 0);
		fill(big, 0, 160 * MIB);
	}
	int rw, zw, qw;
	pid_t rc = child_on_pipe(&rw);
	int rf = (int)syscall(SYS_pidfd_open, rc, O_NONBLOCK);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 7 }, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, rf, &ev);
	pid_t zc = child_on_pipe(&zw);
	int zf = (int)syscall(SYS_pidfd_open, zc, 0);
	if (write(zw, "\x03", 1) != 1 || readable(zf, 10000) != 1)
		return 1;
	pid_t qc = child_on_pipe(&qw);
	int qf = (int)syscall(SYS_pidfd_open, qc, 0);
	close(qw);
	siginfo_t si;
	if (waitid(P_PIDFD, (id_t)qf, &si, WEXITED))
		return 1;
	printf("ready\n");
	fflush(stdout);
	for (int i = 1; i <= n; i++) {
		struct timespec ts = { period / 1000, (period % 1000) * 1000000L };
		while (nanosleep(&ts, &ts))
			;
		printf("tick %d\n", i);
		fflush(stdout);
	}

	struct stat st, st2;
	fstat(a, &st);
	show("alpha size", st.st_size);
	show("alpha offset", lseek(a, 0, SEEK_CUR));
	show("alpha seals", fcntl(a, F_GET_SEALS));
	show("alpha data", sum_ok(a, 0, MIB) && sum_ok(a, 5 * MIB, MIB));
	show("alpha hole", lseek(a, MIB, SEEK_DATA));
	show("alpha zeros in the hole", pread(a, b, 8, 2 * MIB) == 8 && !memcmp(b, "\0\0\0\0\0\0\0\0", 8));
	show("alpha shrink", ftruncate(a, MIB));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", a);
	ssize_t l = readlink(path, b, sizeof(b) - 1);
	printf("alpha link: %.*s\n", (int)(l < 0 ? 0 : l), b);
	fstat(bd, &st2);
	show("second description is the same file", st.st_dev == st2.st_dev && st.st_ino == st2.st_ino);
	show("its offset", lseek(bd, 0, SEEK_CUR));
	show("its access mode", fcntl(bd, F_GETFL) & O_ACCMODE);
	show("a write through it", write(bd, "x", 1));
	memset(b, 0, sizeof(b));
	show("mapped: msync", msync(m, pg, MS_SYNC));
	show("mapped: file has what was written before", pread(c, b, 6, 0) == 6 && !memcmp(b, "before", 6));
	memcpy(m + 100, "after", 5);
	show("mapped: msync", msync(m, pg, MS_SYNC));
	show("mapped: file has what was written after", pread(c, b, 5, 100) == 5 && !memcmp(b, "after", 5));
	show("mapped: F_ADD_SEALS write with the mapping", fcntl(c, F_ADD_SEALS, F_SEAL_WRITE));
	show("orphan mapping kept its bytes", !memcmp(om, "orphan data", 11));
	fstat(e, &st);
	show("noexec mode", st.st_mode & 07777);
	show("noexec seals", fcntl(e, F_GET_SEALS));
	show("running child: readable", readable(rf, 0));
	show("running child: in the epoll set", epoll_wait(ep, &out, 1, 0));
	show_wait("running child: waitid, non-blocking pidfd", rf, WEXITED);
	show("running child: status flags", fcntl(rf, F_GETFL));
	show("running child: SIGTERM", syscall(SYS_pidfd_send_signal, rf, SIGTERM, NULL, 0));
	show("running child: readable at its exit", readable(rf, 10000));
	show("running child: in the epoll set at its exit", epoll_wait(ep, &out, 1, 10000));
	show("running child: epoll data", (long)out.data.u64);
	show_wait("running child: waitid", rf, WEXITED);
	show("zombie: readable", readable(zf, 0));
	show("zombie: signal 0", syscall(SYS_pidfd_send_signal, zf, 0, NULL, 0));
	show_wait("zombie: waitid", zf, WEXITED);
	show("zombie: signal 0 once reaped", syscall(SYS_pidfd_send_signal, zf, 0, NULL, 0));
	show("reaped: readable", readable(qf, 0));
	show("reaped: signal 0", syscall(SYS_pidfd_send_signal, qf, 0, NULL, 0));
	show_wait("reaped: waitid", qf, WEXITED);
	printf("done\n");
	return 0;
}
