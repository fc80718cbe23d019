/* clock.h: the domain's clocks — the host's monotonic time, the guest's view of the host clocks, and sleeping on them. */
#ifndef PDVM_CLOCK_H
#define PDVM_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct domain;
struct thread;

#define NSEC_PER_SEC	1000000000L

/* The host's CLOCK_MONOTONIC in nanoseconds: the one clock of the VMM's own
 * deadlines, timeouts and measurements. */
uint64_t host_mono_ns(void);

/* A host CLOCK_MONOTONIC time in ns as a timespec (absolute deadlines of
 * condition variables that wait on the monotonic clock). */
static inline struct timespec mono_timespec(uint64_t ns)
{
	return (struct timespec){ (time_t)(ns / NSEC_PER_SEC), (long)(ns % NSEC_PER_SEC) };
}

/* The guest's view of a host clock: the monotonic family is shifted by the
 * domain's offset (d->mono_offset_ns), so restored programs see no jump. */
int guest_clock_now(struct domain *d, int clk, struct timespec *ts);
uint64_t guest_mono_ns(struct domain *d);
/* The other way: guest time ts on clock clk as the host's clock reads it
 * (absolute host sleeps and timers), clamped at zero. */
struct timespec guest_to_host_time(struct domain *d, int clk, struct timespec ts);

/* Guest clock ids are Linux's, which the host shares; clock_kind is the
 * kernel's posix_clocks[] table: 0 and whether (and how) the id can be
 * slept on, or -EINVAL for an id that is not offered. */
enum clk_sleep { CLK_NOSLEEP, CLK_SLEEP, CLK_CPU_SLEEP };
int clock_kind(int clk, enum clk_sleep *sleep);

/* Sleeps on guest clock clk (an id clock_kind calls sleepable, of that
 * kind) until req (abs) or for req, with the domain lock dropped. 0, -EINTR
 * when the domain is stopping (a relative sleep stores what is left in
 * *left), -ERESTART_SYSCALL when it pauses (a relative monotonic sleep
 * resumes with what was left), or the host's error (e.g. -EPERM for an
 * alarm clock). */
int clock_sleep(struct thread *t, int clk, enum clk_sleep kind, bool abs,
		const struct timespec *req, struct timespec *left);

#endif
