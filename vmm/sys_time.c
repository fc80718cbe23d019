/* sys_time.c: time syscalls — clocks, sleeps, times and getrusage — decoded here, served by vmm/clock.c and the host. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/times.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "domain.h"
#include "ktimer.h"
#include "syscall.h"
#include "uaccess.h"

/* timespec64_valid(): seconds >= 0 and nanoseconds in [0, 1e9). */
static bool ts_valid(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && (uint64_t)ts->tv_nsec < (uint64_t)NSEC_PER_SEC;
}

static long sys_clock_gettime(struct thread *t, const uint64_t a[6])
{
	int clk = (int)a[0];
	enum clk_sleep kind;
	struct timespec ts;
	int rc = clock_kind(clk, &kind);

	if (rc < 0)
		return rc;
	if (clk == CLOCK_PROCESS_CPUTIME_ID) {
		/* The process's threads, not pdvm's host process: that one
		 * also holds the VMM's own threads (the exitless server spins
		 * while the domain is busy), and getrusage and times count
		 * the threads too. */
		uint64_t ns = ktimer_proc_cpu_ns(t->proc);
		ts.tv_sec = (time_t)(ns / 1000000000ULL);
		ts.tv_nsec = (long)(ns % 1000000000ULL);
	} else if ((rc = guest_clock_now(t->dom, clk, &ts)) < 0) {
		return rc;
	}
	return copy_to_user(t->dom, a[1], &ts, sizeof(ts));
}

static long sys_clock_getres(struct thread *t, const uint64_t a[6])
{
	int clk = (int)a[0];
	enum clk_sleep kind;
	struct timespec ts;
	int rc = clock_kind(clk, &kind);

	if (rc < 0)
		return rc;
	if (clock_getres(clk, &ts) < 0)
		return -errno;
	if (!a[1])
		return 0;
	return copy_to_user(t->dom, a[1], &ts, sizeof(ts));
}

static long sys_gettimeofday(struct thread *t, const uint64_t a[6])
{
	struct timeval tv;
	struct timezone tz;

	/* The raw call: glibc's wrapper does not report the kernel's sys_tz. */
	if (syscall(SYS_gettimeofday, &tv, &tz) < 0)
		return -errno;
	if (a[0] && copy_to_user(t->dom, a[0], &tv, sizeof(tv)))
		return -EFAULT;
	if (a[1] && copy_to_user(t->dom, a[1], &tz, sizeof(tz)))
		return -EFAULT;
	return 0;
}

static long sys_time(struct thread *t, const uint64_t a[6])
{
	struct timespec ts;
	int64_t s;

	clock_gettime(CLOCK_REALTIME, &ts);
	s = ts.tv_sec;
	if (a[0] && copy_to_user(t->dom, a[0], &s, sizeof(s)))
		return -EFAULT;
	return s;
}

static long sys_nanosleep(struct thread *t, const uint64_t a[6])
{
	struct timespec req, left = { 0, 0 };
	int rc;

	if (copy_from_user(t->dom, &req, a[0], sizeof(req)))
		return -EFAULT;
	if (!ts_valid(&req))
		return -EINVAL;
	rc = clock_sleep(t, CLOCK_MONOTONIC, CLK_SLEEP, false, &req, &left);
	if (rc == -EINTR && a[1] && copy_to_user(t->dom, a[1], &left, sizeof(left)))
		return -EFAULT;
	return rc;
}

static long sys_clock_nanosleep(struct thread *t, const uint64_t a[6])
{
	int clk = (int)a[0];
	bool abs = ((int)a[1] & TIMER_ABSTIME) != 0; /* other bits ignored, as Linux */
	struct timespec req, left = { 0, 0 };
	enum clk_sleep kind;
	int rc = clock_kind(clk, &kind);

	if (rc < 0)
		return rc;
	if (kind == CLK_NOSLEEP)
		return -EOPNOTSUPP;
	if (copy_from_user(t->dom, &req, a[2], sizeof(req)))
		return -EFAULT;
	if (!ts_valid(&req))
		return -EINVAL;
	rc = clock_sleep(t, clk, kind, abs, &req, &left);
	/* An interrupted absolute sleep returns -EINTR too (Linux restarts it
	 * only when no handler runs). */
	if (rc == -EINTR && !abs && a[3] &&
	    copy_to_user(t->dom, a[3], &left, sizeof(left)))
		return -EFAULT;
	return rc;
}

static void ns_to_timeval(uint64_t ns, struct timeval *tv)
{
	tv->tv_sec = (time_t)(ns / 1000000000ULL);
	tv->tv_usec = (suseconds_t)(ns % 1000000000ULL / 1000);
}

/* Clock ticks (USER_HZ, 100 on x86-64) in ns nanoseconds. */
static clock_t ns_to_ticks(uint64_t ns)
{
	return (clock_t)(ns / (1000000000ULL / 100));
}

/* The host's times() and getrusage() count the whole pdvm process, every
 * process of the domain and pdvm's own threads; these count the calling
 * process, its CPU time all as user time. */
static long sys_times(struct thread *t, const uint64_t a[6])
{
	struct tms tms;
	long ticks = syscall(SYS_times, &tms);

	memset(&tms, 0, sizeof(tms));
	tms.tms_utime = ns_to_ticks(ktimer_proc_cpu_ns(t->proc));
	tms.tms_cutime = ns_to_ticks(t->proc->cpu_children_ns);

	/* times() cannot fail on the host with a valid buffer; its return
	 * value is a tick count that may look negative, so pass it as is. */
	if (a[0] && copy_to_user(t->dom, a[0], &tms, sizeof(tms)))
		return -EFAULT;
	return ticks;
}

static long sys_getrusage(struct thread *t, const uint64_t a[6])
{
	int who = (int)a[0];
	struct rusage ru;

	if (who != RUSAGE_SELF && who != RUSAGE_CHILDREN && who != RUSAGE_THREAD)
		return -EINVAL;
	/* The handler runs on the thread's own host thread, so RUSAGE_THREAD
	 * measures this guest thread's vCPU (user and system time apart). */
	if (who == RUSAGE_THREAD) {
		if (getrusage(who, &ru) < 0)
			return -errno;
	} else {
		memset(&ru, 0, sizeof(ru));
		ns_to_timeval(who == RUSAGE_SELF ? ktimer_proc_cpu_ns(t->proc) : t->proc->cpu_children_ns,
			      &ru.ru_utime);
	}
	/* Resident size: the domain's peak, the best pdvm knows (KiB). */
	ru.ru_maxrss = (long)(t->dom->frames.data_peak * (PAGE_SIZE / 1024));
	return copy_to_user(t->dom, a[1], &ru, sizeof(ru));
}

const struct syscall_desc sys_time_table[] = {
	{ SYS_clock_gettime, "clock_gettime", sys_clock_gettime },
	{ SYS_clock_getres, "clock_getres", sys_clock_getres },
	{ SYS_gettimeofday, "gettimeofday", sys_gettimeofday },
	{ SYS_time, "time", sys_time },
	{ SYS_nanosleep, "nanosleep", sys_nanosleep },
	{ SYS_clock_nanosleep, "clock_nanosleep", sys_clock_nanosleep },
	{ SYS_times, "times", sys_times },
	{ SYS_getrusage, "getrusage", sys_getrusage },
	{ -1, NULL, NULL },
};
