/* pidfd.c: pidfd_open, pidfd_send_signal and waitid(P_PIDFD) as an unprivileged program sees them — readiness at exit in poll and epoll, zombies, reaping, signal scopes, the errors — printed so that a native run and a domain's can be compared line by line. Usage: pidfd DIR */
#include "guest.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#define PIDFD_NONBLOCK O_NONBLOCK
#define PIDFD_SIGNAL_THREAD 1
#define PIDFD_SIGNAL_PROCESS_GROUP 4

static void *volatile bad_ptr = (void *)8;
static volatile sig_atomic_t got_sig, got_code, got_value;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_value = si->si_value.sival_int;
}

static long pidfd_open(pid_t pid, unsigned int flags)
{
	return syscall(SYS_pidfd_open, pid, flags);
}

static long pidfd_send_signal(int fd, int sig, siginfo_t *si, unsigned int flags)
{
	return syscall(SYS_pidfd_send_signal, fd, sig, si, flags);
}

/* Whether fd polls readable within ms. */
static long readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r = poll(&p, 1, ms);
	return r < 0 ? r : (p.revents & POLLIN) != 0;
}

/* A child that waits for a signal (or for its pipe to close). */
static pid_t child(int *pipe_w)
{
	int p[2];
	if (pipe(p))
		exit(2);
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(p[1]);
		if (read(p[0], &b, 1) == 1)
			_exit(b);
		_exit(7);
	}
	close(p[0]);
	*pipe_w = p[1];
	return c;
}

static void show_wait(const char *what, int fd, int options)
{
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	long r = waitid(P_PIDFD, (id_t)fd, &si, options);
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %ld signo %d code %d status %d\n", what, r, si.si_signo, si.si_code, si.si_status);
}

static void *idle_thread(void *arg)
{
	*(pid_t *)arg = gettid();
	pause();
	return NULL;
}

int main(int argc, char **argv)
{
	int w, w2;
	char b[64];

	if (argc != 2 || chdir(argv[1]))
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = { .sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO };
	sigaction(SIGUSR1, &sa, NULL);

	pid_t c = child(&w);
	int fd = (int)pidfd_open(c, 0);
	show("pidfd_open", fd >= 0);
	show("close-on-exec", fcntl(fd, F_GETFD));
	show("status flags", fcntl(fd, F_GETFL));
	snprintf(b, sizeof(b), "/proc/self/fd/%d", fd);
	char l[64] = "";
	show("readlink", readlink(b, l, sizeof(l) - 1));
	printf("link: %s\n", l);
	show("read", read(fd, b, 8));
	show("write", write(fd, b, 8));
	show("readable while it runs", readable(fd, 0));
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 42 }, out;
	show("epoll_ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	show("epoll_wait while it runs", epoll_wait(ep, &out, 1, 0));
	show_wait("waitid non-blocking while it runs", fd, WEXITED | WNOHANG);
	show("signal 0", pidfd_send_signal(fd, 0, NULL, 0));
	show("SIGTERM", pidfd_send_signal(fd, SIGTERM, NULL, 0));
	show("readable at its exit", readable(fd, 5000));
	show("epoll_wait at its exit", epoll_wait(ep, &out, 1, 5000));
	show("epoll data", (long)out.data.u64);
	show_wait("waitid WNOWAIT", fd, WEXITED | WNOWAIT);
	show("signal 0 to the zombie", pidfd_send_signal(fd, 0, NULL, 0));
	show("SIGTERM to the zombie", pidfd_send_signal(fd, SIGTERM, NULL, 0));
	show("signal 100 to the zombie", pidfd_send_signal(fd, 100, NULL, 0));
	int zfd = (int)pidfd_open(c, 0);
	show("pidfd_open of the zombie", zfd >= 0);
	show("readable at once", readable(zfd, 0));
	show_wait("waitid", fd, WEXITED);
	show("readable after the reaping", readable(fd, 0));
	show("signal after the reaping", pidfd_send_signal(fd, 0, NULL, 0));
	show_wait("waitid after the reaping", zfd, WEXITED);
	show("pidfd_open after the reaping", pidfd_open(c, 0));
	close(w);

	/* Arguments. */
	show("pidfd_open 0", pidfd_open(0, 0));
	show("pidfd_open -1", pidfd_open(-1, 0));
	show("pidfd_open unknown flag", pidfd_open(getpid(), 0x40));
	pid_t tid = 0;
	pthread_t th;
	pthread_create(&th, NULL, idle_thread, &tid);
	while (!__atomic_load_n(&tid, __ATOMIC_SEQ_CST))
		usleep(1000);
	show("pidfd_open of a thread", pidfd_open(tid, 0));
	int self = (int)pidfd_open(getpid(), PIDFD_NONBLOCK);
	show("PIDFD_NONBLOCK status flags", fcntl(self, F_GETFL));
	show_wait("waitid of itself", self, WEXITED);
	show_wait("waitid -1", -1, WEXITED);
	show_wait("waitid bad fd", 999, WEXITED);
	int pp[2];
	if (pipe(pp))
		return 2;
	show_wait("waitid of a pipe", pp[0], WEXITED);
	show("signal through a pipe", pidfd_send_signal(pp[0], SIGUSR1, NULL, 0));
	show("signal through a bad fd", pidfd_send_signal(999, SIGUSR1, NULL, 0));
	show("unknown flag", pidfd_send_signal(self, SIGUSR1, NULL, 8));
	show("two scopes", pidfd_send_signal(self, SIGUSR1, NULL, 3));
	show("signal 100", pidfd_send_signal(self, 100, NULL, 0));
	show("bad siginfo pointer", pidfd_send_signal(self, SIGUSR1, bad_ptr, 0));
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	si.si_signo = SIGUSR2;
	si.si_code = SI_QUEUE;
	show("siginfo of another signal", pidfd_send_signal(self, SIGUSR1, &si, 0));
	si.si_signo = SIGUSR1;
	si.si_value.sival_int = 42;
	show("SI_QUEUE to itself", pidfd_send_signal(self, SIGUSR1, &si, 0));
	printf("handler: signal %d code %d value %d\n", (int)got_sig, (int)got_code, (int)got_value);
	si.si_code = SI_USER;
	si.si_value.sival_int = 43;
	show("SI_USER siginfo to itself", pidfd_send_signal(self, SIGUSR1, &si, 0));
	printf("handler: signal %d code %d value %d\n", (int)got_sig, (int)got_code, (int)got_value);
	show("plain SIGUSR1 to itself", pidfd_send_signal(self, SIGUSR1, NULL, 0));
	printf("handler: signal %d code %d\n", (int)got_sig, (int)got_code);

	/* Another child: a non-blocking pidfd, siginfo rules, the scopes. */
	c = child(&w);
	int nb = (int)pidfd_open(c, PIDFD_NONBLOCK);
	show_wait("waitid of a running child, non-blocking pidfd", nb, WEXITED);
	si.si_signo = SIGTERM;
	si.si_code = SI_USER;
	show("SI_USER siginfo to another", pidfd_send_signal(nb, SIGTERM, &si, 0));
	si.si_code = SI_TKILL;
	show("SI_TKILL siginfo to another", pidfd_send_signal(nb, SIGTERM, &si, 0));
	si.si_code = SI_QUEUE;
	show("SI_QUEUE siginfo to another, thread scope", pidfd_send_signal(nb, SIGTERM, &si, PIDFD_SIGNAL_THREAD));
	show("readable at its exit", readable(nb, 5000));
	show_wait("waitid", nb, WEXITED);
	close(w);
	c = child(&w);
	pid_t c2 = child(&w2);
	setpgid(c, c);
	setpgid(c2, c);
	/* The group numbered by the pidfd's pid: c2 leads none. */
	int g2 = (int)pidfd_open(c2, 0), g = (int)pidfd_open(c, 0);
	show("process group scope, no such group", pidfd_send_signal(g2, SIGTERM, NULL, PIDFD_SIGNAL_PROCESS_GROUP));
	si.si_code = SI_USER;
	show("SI_USER siginfo to a process group", pidfd_send_signal(g, SIGTERM, &si, PIDFD_SIGNAL_PROCESS_GROUP));
	show("signal 0 to a process group", pidfd_send_signal(g, 0, NULL, PIDFD_SIGNAL_PROCESS_GROUP));
	show("process group scope", pidfd_send_signal(g, SIGTERM, NULL, PIDFD_SIGNAL_PROCESS_GROUP));
	show_wait("group leader", g, WEXITED);
	show_wait("the other in its group", g2, WEXITED);
	close(w);
	close(w2);
	c = child(&w);
	int e = (int)pidfd_open(c, 0);
	if (write(w, "\x05", 1) != 1)
		return 2;
	show("readable at an exit(5)", readable(e, 5000));
	show_wait("waitid", e, WEXITED);
	return 0;
}
