/* cputimer.c: timers on CPU time — ITIMER_PROF, ITIMER_VIRTUAL and timer_create on the thread's and the process's CPU clocks (Go's profiler); output compared with native. */
#include "guest.h"

#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>

static volatile sig_atomic_t hits[65];

static void on_sig(int sig)
{
	hits[sig]++;
}

static double cpu_now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Burns `secs` of this thread's CPU time. */
static void burn(double secs)
{
	double end = cpu_now(CLOCK_THREAD_CPUTIME_ID) + secs;
	volatile unsigned long x = 0;

	while (cpu_now(CLOCK_THREAD_CPUTIME_ID) < end)
		for (int i = 0; i < 10000; i++)
			x += (unsigned long)i;
}

static void itimer_case(int which, int sig, const char *name)
{
	struct itimerval v = { { 0, 10000 }, { 0, 10000 } }, g, off = { { 0, 0 }, { 0, 0 } };

	hits[sig] = 0;
	signal(sig, on_sig);
	check(setitimer(which, &v, NULL) == 0, "%s: armed every 10 ms of CPU time", name);
	/* Linux rounds CPU-time values up to its tick: at most one more. */
	check(getitimer(which, &g) == 0 && g.it_interval.tv_sec == 0 && g.it_interval.tv_usec >= 10000 &&
	      g.it_interval.tv_usec <= 20000 && g.it_value.tv_sec == 0 && g.it_value.tv_usec <= 20000,
	      "%s: getitimer gives the interval and at most a tick more than 10 ms left", name);
	burn(0.3);
	int n = hits[sig];
	/* 30 expiries of 10 ms in 300 ms; timers are coarse on every kernel. */
	check(n >= 8 && n <= 60, "%s: about 30 signals in 300 ms of CPU time (%s)", name,
	      n >= 8 && n <= 60 ? "in range" : "out of range");
	setitimer(which, &off, NULL);
	hits[sig] = 0;
	usleep(100 * 1000);
	check(hits[sig] == 0, "%s: none once disarmed", name);
}

/* A sleeping process uses no CPU time: no expiry. */
static void sleep_case(void)
{
	struct itimerval v = { { 0, 10000 }, { 0, 10000 } }, off = { { 0, 0 }, { 0, 0 } };

	hits[SIGPROF] = 0;
	setitimer(ITIMER_PROF, &v, NULL);
	usleep(200 * 1000);
	check(hits[SIGPROF] <= 2, "ITIMER_PROF: a sleeping process gets (almost) no SIGPROF");
	setitimer(ITIMER_PROF, &off, NULL);
}

/* Go's profiler: a timer on the calling thread's CPU clock that signals
 * that thread. */
static void *thread_timer(void *arg)
{
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGPROF };
	struct itimerspec its = { { 0, 20 * 1000 * 1000 }, { 0, 20 * 1000 * 1000 } };
	timer_t id;

	(void)arg;
	ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	hits[SIGPROF] = 0;
	check(timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &id) == 0, "timer_create on the thread's CPU clock");
	check(timer_settime(id, 0, &its, NULL) == 0, "armed every 20 ms of its CPU time");
	burn(0.3);
	int n = hits[SIGPROF];
	check(n >= 4 && n <= 30, "about 15 signals in 300 ms (%s)", n >= 4 && n <= 30 ? "in range" : "out of range");
	struct itimerspec g;
	check(timer_gettime(id, &g) == 0 && g.it_interval.tv_nsec == 20 * 1000 * 1000, "timer_gettime");
	check(timer_delete(id) == 0, "timer_delete");
	return NULL;
}

/* A process CPU timer's signal goes to the thread that used the time: a
 * profiler samples the busy thread, not an idle main thread. */
static volatile pid_t busy_tid;
static volatile sig_atomic_t on_busy, on_other;

static void on_prof_tid(int sig)
{
	(void)sig;
	if ((pid_t)syscall(SYS_gettid) == busy_tid)
		on_busy++;
	else
		on_other++;
}

static void *busy(void *arg)
{
	(void)arg;
	busy_tid = (pid_t)syscall(SYS_gettid);
	burn(0.3);
	return NULL;
}

static void busy_thread_case(void)
{
	struct itimerval v = { { 0, 10000 }, { 0, 10000 } }, off = { { 0, 0 }, { 0, 0 } };
	pthread_t t;

	signal(SIGPROF, on_prof_tid);
	setitimer(ITIMER_PROF, &v, NULL);
	pthread_create(&t, NULL, busy, NULL);
	pthread_join(t, NULL);     /* the main thread sleeps in here */
	setitimer(ITIMER_PROF, &off, NULL);
	check(on_busy >= 8 && on_other <= on_busy / 4, "ITIMER_PROF: SIGPROF goes to the thread using the CPU (%s)",
	      on_busy >= 8 && on_other <= on_busy / 4 ? "mostly" : "not");
}

int main(void)
{
	pthread_t t;
	timer_t id;

	itimer_case(ITIMER_PROF, SIGPROF, "ITIMER_PROF");
	itimer_case(ITIMER_VIRTUAL, SIGVTALRM, "ITIMER_VIRTUAL");
	sleep_case();
	busy_thread_case();
	pthread_create(&t, NULL, thread_timer, NULL);
	pthread_join(t, NULL);
	check(timer_create(CLOCK_PROCESS_CPUTIME_ID, NULL, &id) == 0, "timer_create on the process's CPU clock");
	timer_delete(id);
	return g_failures ? 1 : 0;
}
