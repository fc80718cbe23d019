/* sigtest.c: signal semantics whose output is compared natively and in pdvm — handlers and siginfo, delivery order, masks, EINTR vs SA_RESTART, sigaltstack, faults, sigsuspend, sigtimedwait, timers. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t order[16], norder;
static volatile int last_code, last_pid_ok, last_value, count;
static volatile uintptr_t last_addr;
static sigjmp_buf jb;
static int pfd[2];
static char *altstack;
static volatile int on_alt;

static void note(int sig)
{
	if (norder < 16)
		order[norder++] = sig;
}

static void h_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	note(sig);
	last_code = si->si_code;
	last_pid_ok = si->si_pid == getpid();
}

static void h_plain(int sig)
{
	note(sig);
}

static void h_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last_code = si->si_code;
	last_addr = (uintptr_t)si->si_addr;
	siglongjmp(jb, sig);
}

static void h_alarm_write(int sig)
{
	note(sig);
	if (write(pfd[1], "x", 1) != 1)
		_exit(90);
}

static void h_alt(int sig)
{
	char here;
	stack_t ss;

	note(sig);
	on_alt = (&here >= altstack && &here < altstack + 65536);
	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
		on_alt |= 2;
}

static void h_timer(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	(void)sig;
	count++;
	last_code = si->si_code;
	last_value = si->si_value.sival_int;
}

static void h_mask(int sig)
{
	sigset_t cur;

	note(sig);
	sigprocmask(SIG_SETMASK, NULL, &cur);
	last_value = sigismember(&cur, SIGUSR1) * 10 + sigismember(&cur, SIGUSR2);
}

static void h_fpu(int sig)
{
	volatile double x = 1.0;

	note(sig);
	for (int i = 0; i < 100; i++)
		x = x * 1.5 + 0.25;      /* clobbers the SSE registers */
	last_value = x > 1.0;
}

static void set(int sig, void (*h)(int), int flags, int masksig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = h;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (masksig)
		sigaddset(&sa.sa_mask, masksig);
	if (sigaction(sig, &sa, NULL))
		perror("sigaction");
}

static void set_info(int sig, void (*h)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = h;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL))
		perror("sigaction");
}

static void print_order(const char *what)
{
	printf("%s:", what);
	for (int i = 0; i < norder; i++)
		printf(" %d", order[i]);
	printf("\n");
	norder = 0;
}

static void arm_ms(int ms)
{
	struct itimerval it = { { 0, 0 }, { ms / 1000, (ms % 1000) * 1000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

/* ppoll, pselect6, epoll_pwait, epoll_pwait2 with temporary mask m. */
static int wait_masked(int kind, const sigset_t *m, int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	struct epoll_event ev;
	int ep, r, e;

	switch (kind) {
	case 0:
		return ppoll(NULL, 0, &ts, m);
	case 1:
		return pselect(0, NULL, NULL, NULL, &ts, m);
	default:
		ep = epoll_create1(0);
		r = kind == 2 ? epoll_pwait(ep, &ev, 1, ms, m) : epoll_pwait2(ep, &ev, 1, &ts, m);
		e = errno;
		close(ep);
		errno = e;
		return r;
	}
}

static void mask(int how, int a, int b, int c)
{
	sigset_t s;

	sigemptyset(&s);
	if (a) sigaddset(&s, a);
	if (b) sigaddset(&s, b);
	if (c) sigaddset(&s, c);
	sigprocmask(how, &s, NULL);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && !strcmp(argv[1], "die")) {
		printf("raising SIGTERM\n");
		raise(SIGTERM);
		printf("still alive\n");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "wait-int")) {
		/* For the Ctrl-C test: SIGINT from the host reaches a handler. */
		set_info(SIGINT, h_info, 0);
		printf("ready\n");
		while (!norder)
			pause();
		printf("got SIGINT code=%d\n", last_code);
		return 0;
	}

	/* 1. kill() to self: SI_USER, our pid; raise(): SI_TKILL. */
	set_info(SIGUSR1, h_info, 0);
	kill(getpid(), SIGUSR1);
	printf("kill: code=%d pid_ok=%d\n", last_code, last_pid_ok);
	raise(SIGUSR1);
	printf("raise: code=%d\n", last_code);
	print_order("handled");

	/* 2. Several pending at unblock: frames stack, the last set up runs first. */
	set(SIGUSR1, h_plain, 0, 0);
	set(SIGUSR2, h_plain, 0, 0);
	set(SIGRTMIN, h_plain, 0, 0);
	mask(SIG_BLOCK, SIGUSR1, SIGUSR2, SIGRTMIN);
	raise(SIGRTMIN);
	raise(SIGUSR2);
	raise(SIGUSR1);
	sigset_t pend;
	sigpending(&pend);
	printf("pending: %d %d %d\n", sigismember(&pend, SIGUSR1), sigismember(&pend, SIGUSR2),
	       sigismember(&pend, SIGRTMIN));
	mask(SIG_UNBLOCK, SIGUSR1, SIGUSR2, SIGRTMIN);
	print_order("order");
	/* With sa_mask blocking the other: strictly one after the other. */
	set(SIGUSR1, h_plain, 0, SIGUSR2);
	mask(SIG_BLOCK, SIGUSR1, SIGUSR2, 0);
	raise(SIGUSR2);
	raise(SIGUSR1);
	mask(SIG_UNBLOCK, SIGUSR1, SIGUSR2, 0);
	print_order("order-masked");

	/* 3. The mask inside a handler: its signal and sa_mask; back after. */
	set(SIGUSR1, h_mask, 0, SIGUSR2);
	raise(SIGUSR1);
	sigset_t cur;
	sigprocmask(SIG_SETMASK, NULL, &cur);
	printf("mask in handler: %d, after: %d%d\n", last_value, sigismember(&cur, SIGUSR1),
	       sigismember(&cur, SIGUSR2));
	print_order("handled");

	/* 4. A blocked read: EINTR without SA_RESTART, restarted with it. */
	if (pipe(pfd))
		return 1;
	set(SIGALRM, h_plain, 0, 0);
	arm_ms(50);
	char c;
	ssize_t n = read(pfd[0], &c, 1);
	printf("read without SA_RESTART: %zd %s\n", n, n < 0 ? strerror(errno) : "");
	set(SIGALRM, h_alarm_write, SA_RESTART, 0);
	arm_ms(50);
	n = read(pfd[0], &c, 1);
	printf("read with SA_RESTART: %zd %c\n", n, n == 1 ? c : '-');
	/* nanosleep is never restarted: EINTR with the time left. */
	set(SIGALRM, h_plain, SA_RESTART, 0);
	arm_ms(50);
	struct timespec req = { 5, 0 }, rem = { 0, 0 };
	int r = nanosleep(&req, &rem);
	printf("nanosleep: %d %s rem<5s=%d rem>3s=%d\n", r, r ? strerror(errno) : "",
	       rem.tv_sec < 5, rem.tv_sec >= 3);
	print_order("handled");

	/* 5. sigaltstack and SA_ONSTACK. */
	altstack = malloc(65536);
	stack_t ss = { .ss_sp = altstack, .ss_size = 65536, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL))
		perror("sigaltstack");
	set(SIGUSR2, h_alt, SA_ONSTACK, 0);
	raise(SIGUSR2);
	printf("altstack: on=%d flag=%d\n", on_alt & 1, (on_alt & 2) >> 1);
	set(SIGUSR2, h_alt, 0, 0);
	raise(SIGUSR2);
	printf("no SA_ONSTACK: on=%d\n", on_alt & 1);
	print_order("handled");

	/* 6. Faults reach handlers with the right si_code and si_addr. */
	set_info(SIGSEGV, h_fault, SA_NODEFER);
	set_info(SIGFPE, h_fault, SA_NODEFER);
	set_info(SIGILL, h_fault, SA_NODEFER);
	set_info(SIGTRAP, h_fault, SA_NODEFER);
	volatile uintptr_t bad = 0x10;   /* hidden from the compiler's bounds checks */
	int sig = sigsetjmp(jb, 1);
	if (!sig)
		*(volatile int *)bad = 1;
	printf("segv maperr: sig=%d code=%d addr=%#lx\n", sig, last_code, (unsigned long)last_addr);
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sig = sigsetjmp(jb, 1);
	if (!sig)
		ro[8] = 1;
	printf("segv accerr: sig=%d code=%d addr_ok=%d\n", sig, last_code, last_addr == (uintptr_t)ro + 8);
	volatile int zero = 0, seven = 7;
	sig = sigsetjmp(jb, 1);
	if (!sig)
		printf("%d\n", seven / zero);
	printf("fpe: sig=%d code=%d\n", sig, last_code);
	sig = sigsetjmp(jb, 1);
	if (!sig)
		__asm__ volatile("ud2");
	printf("ill: sig=%d code=%d\n", sig, last_code);
	sig = sigsetjmp(jb, 1);
	if (!sig)
		__asm__ volatile("int3");
	printf("trap: sig=%d code=%d\n", sig, last_code);

	/* 7. sigsuspend: takes the pending signal, EINTR, the mask comes back. */
	set(SIGUSR1, h_plain, 0, 0);
	mask(SIG_BLOCK, SIGUSR1, 0, 0);
	raise(SIGUSR1);
	sigset_t none;
	sigemptyset(&none);
	r = sigsuspend(&none);
	sigprocmask(SIG_SETMASK, NULL, &cur);
	printf("sigsuspend: %d %s, blocked after: %d\n", r, strerror(errno), sigismember(&cur, SIGUSR1));
	mask(SIG_UNBLOCK, SIGUSR1, 0, 0);
	print_order("handled");

	/* 8. sigtimedwait: takes a blocked pending signal; times out. */
	mask(SIG_BLOCK, SIGUSR2, 0, 0);
	raise(SIGUSR2);
	sigset_t w;
	sigemptyset(&w);
	sigaddset(&w, SIGUSR2);
	siginfo_t si;
	struct timespec tmo = { 0, 20 * 1000 * 1000 };
	r = sigtimedwait(&w, &si, &tmo);
	printf("sigtimedwait: %d code=%d\n", r, si.si_code);
	r = sigtimedwait(&w, &si, &tmo);
	printf("sigtimedwait timeout: %d %s\n", r, strerror(errno));
	mask(SIG_UNBLOCK, SIGUSR2, 0, 0);

	/* 9. A POSIX timer: three periodic expiries with SI_TIMER and the value. */
	set_info(SIGRTMIN + 1, h_timer, 0);
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 1,
			       .sigev_value.sival_int = 42 };
	timer_t tid;
	if (timer_create(CLOCK_MONOTONIC, &ev, &tid))
		perror("timer_create");
	struct itimerspec its = { { 0, 20 * 1000 * 1000 }, { 0, 20 * 1000 * 1000 } };
	timer_settime(tid, 0, &its, NULL);
	while (count < 3)
		pause();
	timer_delete(tid);
	printf("timer: count>=3 code=%d value=%d\n", last_code, last_value);

	/* 10. SA_RESETHAND puts the default back after one delivery. */
	set(SIGUSR1, h_plain, SA_RESETHAND, 0);
	raise(SIGUSR1);
	struct sigaction old;
	sigaction(SIGUSR1, NULL, &old);
	printf("resethand: dfl=%d\n", old.sa_handler == SIG_DFL);
	print_order("handled");

	/* 11. Ignored SIGPIPE: write gets EPIPE. */
	signal(SIGPIPE, SIG_IGN);
	close(pfd[0]);
	n = write(pfd[1], "y", 1);
	printf("sigpipe ignored: %zd %s\n", n, strerror(errno));

	/* 12. FPU/SSE state survives a handler. */
	volatile double a = 3.0, b = 7.0;
	double before = a / b;
	set(SIGUSR1, h_fpu, 0, 0);
	raise(SIGUSR1);
	printf("fpu preserved: %d handler_ran=%d\n", a / b == before, last_value);
	print_order("handled");

	/* 13b. The temporary mask of ppoll/pselect6/epoll_pwait(2): a pending
	 * signal it lets through ends the wait with EINTR, the handler runs
	 * under it (SIGUSR2 blocked there), and the thread's own mask is back
	 * afterwards; a signal it blocks does not end the wait and is handled
	 * once the call returned. */
	static const char *const wname[] = { "ppoll", "pselect", "epoll_pwait", "epoll_pwait2" };
	set(SIGUSR1, h_mask, 0, 0);
	for (int k = 0; k < 4; k++) {
		sigset_t tmp;
		sigemptyset(&tmp);
		sigaddset(&tmp, SIGUSR2);
		mask(SIG_BLOCK, SIGUSR1, 0, 0);
		raise(SIGUSR1);
		last_value = -1;
		r = wait_masked(k, &tmp, 1000);
		int e = errno;
		sigprocmask(SIG_SETMASK, NULL, &cur);
		printf("%s let through: %d %s, handler mask %d, after: usr1 %d usr2 %d\n", wname[k], r,
		       r < 0 ? strerror(e) : "-", last_value, sigismember(&cur, SIGUSR1), sigismember(&cur, SIGUSR2));
		mask(SIG_UNBLOCK, SIGUSR1, 0, 0);
		print_order("handled");

		sigemptyset(&tmp);
		sigaddset(&tmp, SIGUSR1);
		struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1 };
		timer_t t1;
		struct itimerspec once = { { 0, 0 }, { 0, 20 * 1000 * 1000 } };
		if (timer_create(CLOCK_MONOTONIC, &sev, &t1) || timer_settime(t1, 0, &once, NULL))
			perror("timer");
		r = wait_masked(k, &tmp, 150);
		e = errno;
		int seen = norder;
		timer_delete(t1);
		printf("%s blocked: %d %s, handled after return: %d\n", wname[k], r, r < 0 ? strerror(e) : "-", seen);
		print_order("handled");
	}

	/* 13. alarm() returns the seconds left of the previous one. */
	alarm(100);
	printf("alarm left: %u\n", alarm(0));
	printf("done\n");
	return 0;
}
