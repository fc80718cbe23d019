/* ktimer.h: POSIX timers and ITIMER_REAL, and the domain's signal thread that fires them and forwards host signals. */
#ifndef PDVM_KTIMER_H
#define PDVM_KTIMER_H

#include <stdbool.h>
#include <stdint.h>

struct domain;
struct process;

/* sigev_notify values (include/uapi/asm-generic/siginfo.h). */
#define KSIGEV_SIGNAL	0
#define KSIGEV_NONE	1
#define KSIGEV_THREAD_ID 4

/* A POSIX timer (timer_create) or, in slot 0, ITIMER_REAL/alarm. Times are
 * guest CLOCK_MONOTONIC nanoseconds; deadline 0 = disarmed. On a CPU clock
 * (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID; ITIMER_VIRTUAL and
 * ITIMER_PROF) they are CPU nanoseconds of that clock instead (ktimer_cpu_now). */
#define MAX_KTIMERS	32
struct ktimer {
	bool used;
	int clock;                  /* the clock id it was created on */
	int notify;                 /* SIGEV_SIGNAL/NONE/THREAD_ID */
	int signo, tid;
	uint64_t value;             /* sigev_value */
	uint64_t deadline_ns, interval_ns;
	int overrun;
	int cpu_tid;                /* CLOCK_THREAD_CPUTIME_ID: the thread it counts */
	bool cpu_rebase;            /* restored: deadline_ns is the CPU time left */
};

/* The process's ITIMER_VIRTUAL and ITIMER_PROF (process.h, cputimers[]). */
#define KITIMER_VIRTUAL 0
#define KITIMER_PROF	1

static inline bool ktimer_is_cpu(const struct ktimer *k)
{
	return k->clock == 2 /* CLOCK_PROCESS_CPUTIME_ID */ || k->clock == 3 /* CLOCK_THREAD_CPUTIME_ID */;
}

/* Now on k's clock: guest monotonic time, or for a CPU clock the CPU time
 * of its thread or of the process's threads (pdvm's host threads, so the
 * VMM's work for them counts too; a thread that is gone: UINT64_MAX/2). */
uint64_t ktimer_now(struct process *p, const struct ktimer *k);
/* Process p's CPU time: its live threads' (each host thread's: the guest's
 * own and pdvm's work for it) and its ended threads'. */
uint64_t ktimer_proc_cpu_ns(struct process *p);

/* Arms (or, with value 0, disarms) timer k: value is relative, or absolute
 * on the timer's clock; interval re-arms it after each expiry (0: once). */
void ktimer_arm(struct process *p, struct ktimer *k, uint64_t value, uint64_t interval, bool abs);
/* Nanoseconds until k expires: 0 when disarmed, at least 1 when armed. */
uint64_t ktimer_left(struct process *p, const struct ktimer *k);

/* The domain's signal thread: host signals forwarded to the guest (SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT), interval timers, and re-kicks of threads that
 * have a signal to take. sig_block_host runs in the main thread before any
 * other thread exists, so that only the signal thread takes those. */
void sig_block_host(void);
int sig_thread_start(struct domain *d);
void sig_thread_stop(struct domain *d);
/* Wakes the signal thread: a timer changed. */
void sig_thread_poke(struct domain *d);

#endif
