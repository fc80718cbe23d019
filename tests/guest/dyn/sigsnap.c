/* sigsnap.c: signal state that must survive snapshot/restore — a periodic ITIMER_REAL, a POSIX timer, a blocked pending signal, a sigaltstack. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int ticks, pticks, usr1;

static void on_alarm(int sig) { (void)sig; ticks++; }
static void on_ptimer(int sig) { (void)sig; pticks++; }
static void on_usr1(int sig) { (void)sig; usr1++; }

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 30;
	sigset_t s;
	stack_t ss = { .ss_sp = malloc(65536), .ss_size = 65536 }, got;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	signal(SIGUSR1, on_usr1);
	signal(SIGRTMIN + 2, on_ptimer);
	sigaltstack(&ss, NULL);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	raise(SIGUSR1);                     /* stays pending until the end */

	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN + 2 };
	timer_t tid;
	timer_create(CLOCK_MONOTONIC, &ev, &tid);
	struct itimerspec its = { { 0, 150 * 1000 * 1000 }, { 0, 150 * 1000 * 1000 } };
	timer_settime(tid, 0, &its, NULL);
	struct itimerval it = { { 0, 100 * 1000 }, { 0, 100 * 1000 } };
	setitimer(ITIMER_REAL, &it, NULL);

	int last = 0;
	while (ticks < n) {
		pause();
		while (last < ticks && last < n)
			printf("tick %d\n", ++last);
	}
	it = (struct itimerval){ 0 };
	setitimer(ITIMER_REAL, &it, NULL);
	timer_delete(tid);
	sigaltstack(NULL, &got);
	printf("altstack kept: %d\n", got.ss_sp == ss.ss_sp && got.ss_size == ss.ss_size);
	sigpending(&s);
	printf("usr1 still pending: %d\n", sigismember(&s, SIGUSR1));
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	printf("usr1 delivered: %d\n", usr1);
	printf("posix timer fired: %d\n", pticks > n / 3);
	return 0;
}
