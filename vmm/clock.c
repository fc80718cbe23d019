/* clock.c: the domain's clocks — the host's monotonic time, the guest's view of the host clocks (the monotonic family shifted by the domain's offset), and sleeping on them. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include "clock.h"
#include "domain.h"
#include "syscall.h"

/* Longest single host sleep: bounds how long a stopping domain waits. */
#define SLEEP_SLICE_NS	(50 * 1000 * 1000L)

/* The kernel's posix_clocks[] table: which ids exist and which can be slept on. */
int clock_kind(int clk, enum clk_sleep *sleep)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_BOOTTIME:
	case CLOCK_TAI:
	case CLOCK_REALTIME_ALARM:   /* the host decides (RTC, CAP_WAKE_ALARM) */
	case CLOCK_BOOTTIME_ALARM:
		*sleep = CLK_SLEEP;
		return 0;
	case CLOCK_PROCESS_CPUTIME_ID:
		*sleep = CLK_CPU_SLEEP;
		return 0;
	case CLOCK_THREAD_CPUTIME_ID:  /* Linux has no nsleep for these */
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_MONOTONIC_COARSE:
		*sleep = CLK_NOSLEEP;
		return 0;
	default:
		/* 10 (SGI cycle) and the negative dynamic ids (other processes'
		 * CPU clocks, posix clock fds) are not offered. */
		return -EINVAL;
	}
}

static int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

/* a + b for valid, non-negative timespecs, saturating. */
static struct timespec ts_add(struct timespec a, const struct timespec *b)
{
	a.tv_nsec += b->tv_nsec;
	if (a.tv_nsec >= NSEC_PER_SEC) {
		a.tv_nsec -= NSEC_PER_SEC;
		a.tv_sec++;
	}
	if (__builtin_add_overflow(a.tv_sec, b->tv_sec, &a.tv_sec)) {
		a.tv_sec = INT64_MAX;
		a.tv_nsec = NSEC_PER_SEC - 1;
	}
	return a;
}

/* a - b, or zero when b >= a. */
static struct timespec ts_sub(const struct timespec *a, const struct timespec *b)
{
	struct timespec r = { 0, 0 };

	if (ts_cmp(a, b) <= 0)
		return r;
	r.tv_sec = a->tv_sec - b->tv_sec;
	r.tv_nsec = a->tv_nsec - b->tv_nsec;
	if (r.tv_nsec < 0) {
		r.tv_nsec += NSEC_PER_SEC;
		r.tv_sec--;
	}
	return r;
}

static bool clock_shifted(int clk)
{
	return clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME || clk == CLOCK_MONOTONIC_RAW ||
	       clk == CLOCK_MONOTONIC_COARSE || clk == CLOCK_BOOTTIME_ALARM;
}

/* ts + off nanoseconds (off may be negative), clamped at zero. */
static struct timespec ts_shift(struct timespec ts, int64_t off)
{
	int64_t ns = (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
	if (__builtin_add_overflow(ns, off, &ns))
		ns = off > 0 ? INT64_MAX : 0;
	if (ns < 0)
		ns = 0;
	return (struct timespec){ ns / NSEC_PER_SEC, ns % NSEC_PER_SEC };
}

int guest_clock_now(struct domain *d, int clk, struct timespec *ts)
{
	if (clock_gettime(clk, ts) < 0)
		return -errno;
	if (clock_shifted(clk))
		*ts = ts_shift(*ts, d->mono_offset_ns);
	return 0;
}

struct timespec guest_to_host_time(struct domain *d, int clk, struct timespec ts)
{
	return clock_shifted(clk) ? ts_shift(ts, -d->mono_offset_ns) : ts;
}

uint64_t host_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t guest_mono_ns(struct domain *d)
{
	struct timespec ts;
	guest_clock_now(d, CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* Sleeps until clock `clk` reaches `target` (guest view), in slices, with
 * the domain lock dropped. 0 when reached, -EINTR when the domain is
 * stopping, -ERESTART_SYSCALL when it pauses, or the host's error (e.g.
 * -EPERM for an alarm clock). */
static int sleep_until(struct thread *t, clockid_t clk, bool cpu_clock,
		       const struct timespec *target)
{
	const struct timespec slice = { 0, SLEEP_SLICE_NS };

	for (;;) {
		struct timespec now, until, rel;
		int rc = guest_clock_now(t->dom, clk, &now);

		if (rc < 0)
			return rc;
		if (ts_cmp(&now, target) >= 0)
			return 0;
		until = ts_add(now, &slice);
		if (ts_cmp(&until, target) > 0)
			until = *target;

		dom_block_begin(t);
		if (cpu_clock) {
			/* A CPU clock advances only while pdvm runs: poll it
			 * with a short monotonic sleep. */
			rel = ts_sub(&until, &now);
			if (rel.tv_sec || rel.tv_nsec > 10 * 1000 * 1000L)
				rel = (struct timespec){ 0, 10 * 1000 * 1000L };
			rc = clock_nanosleep(CLOCK_MONOTONIC, 0, &rel, NULL);
		} else {
			struct timespec host = guest_to_host_time(t->dom, clk, until);
			rc = clock_nanosleep(clk, TIMER_ABSTIME, &host, NULL);
		}
		if (!dom_block_end(t))
			return t->dom->exiting ? -EINTR : -ERESTART_SYSCALL;
		/* EINTR from the host: a signal for this host thread (a kick);
		 * dom_block_end said we go on, so keep sleeping. */
		if (rc != 0 && rc != EINTR)
			return -rc;
	}
}

/* The common sleep: absolute or relative on a guest clock id already known
 * to be sleepable. On -EINTR for a relative sleep, *left gets the remainder. */
int clock_sleep(struct thread *t, int clk, enum clk_sleep kind, bool abs,
		const struct timespec *req, struct timespec *left)
{
	clockid_t host = clk;
	struct timespec target, now;
	int rc;

	if (abs) {
		target = *req;
	} else {
		/* Relative wall-clock sleeps are immune to clock changes, as
		 * Linux runs them on the monotonic base. */
		if (clk == CLOCK_REALTIME || clk == CLOCK_TAI)
			host = CLOCK_MONOTONIC;
		rc = guest_clock_now(t->dom, host, &now);
		if (rc < 0)
			return rc;
		target = ts_add(now, req);
		uint64_t dl;
		/* A pause interrupted this sleep: sleep what was left of it. */
		if (host == CLOCK_MONOTONIC && restart_pending(t, &dl))
			target = (struct timespec){ (time_t)(dl / NSEC_PER_SEC), (long)(dl % NSEC_PER_SEC) };
	}
	rc = sleep_until(t, host, kind == CLK_CPU_SLEEP, &target);
	if (rc == -ERESTART_SYSCALL && !abs && host == CLOCK_MONOTONIC)
		return restart_at(t, (uint64_t)target.tv_sec * NSEC_PER_SEC + (uint64_t)target.tv_nsec);
	if (rc == -EINTR && !abs && left) {
		if (guest_clock_now(t->dom, host, &now) < 0)
			now = target;
		*left = ts_sub(&target, &now);
	}
	return rc;
}
