/* cpuprof.c: ITIMER_PROF and a thread CPU-clock timer keep firing across a snapshot: N chunks of at least 50 ms of CPU time, each says whether both timers fired during it. */
#include "guest.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>

static volatile sig_atomic_t prof, thr;

/* Two signals: one signal for both would coalesce whenever the two timers
 * expire together (after a restore both restart from the same moment, and
 * on one thread their clocks are the same). */
static void on_prof(int sig)
{
	(void)sig;
	prof++;
}

static void on_thr(int sig)
{
	(void)sig;
	thr++;
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;
	struct sigaction sa = { .sa_handler = on_prof, .sa_flags = SA_RESTART };
	struct sigaction st = { .sa_handler = on_thr, .sa_flags = SA_RESTART };
	struct itimerval it = { { 0, 10000 }, { 0, 10000 } };
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGRTMIN };
	struct itimerspec its = { { 0, 10 * 1000 * 1000 }, { 0, 10 * 1000 * 1000 } };
	timer_t id;

	sigaction(SIGPROF, &sa, NULL);
	sigaction(SIGRTMIN, &st, NULL);
	ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (setitimer(ITIMER_PROF, &it, NULL) || timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &id) ||
	    timer_settime(id, 0, &its, NULL)) {
		perror("timers");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		int p0 = prof, t0 = thr;
		double start = thread_cpu(), now = start;
		volatile unsigned long x = 0;

		/* Spin until both timers have fired (at most 2 s of CPU): on a
		 * loaded host a 10 ms timer's signal can come late — even Linux
		 * natively let 50 ms pass without one — and a fixed span would
		 * then read a working timer as silent. A broken one still does. */
		while (now < start + 0.05 || ((prof == p0 || thr == t0) && now < start + 2.0)) {
			for (int k = 0; k < 10000; k++)
				x += (unsigned long)k;
			now = thread_cpu();
		}
		printf("chunk %d: profiling timer %s, thread timer %s\n", i, prof > p0 ? "fired" : "silent",
		       thr > t0 ? "fired" : "silent");
		fflush(stdout);
		usleep(100 * 1000);    /* a snapshot lands here, most likely */
	}
	return 0;
}
