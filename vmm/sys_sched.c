/* sys_sched.c: scheduling calls — yield, CPU affinity and the current CPU, nice values (getpriority/setpriority), scheduling policies and their priority ranges. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "domain.h"
#include "syscall.h"
#include "uaccess.h"

#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif
#define NICE_MIN (-20)
#define NICE_MAX 19

static int put_u32(struct domain *d, gva_t p, uint32_t v)
{
	return copy_to_user(d, p, &v, sizeof(v));
}

static long sys_sched_yield(struct thread *t, const uint64_t a[6])
{
	(void)a;
	dom_block_begin(t);
	sched_yield();
	dom_block_end(t);
	return 0;
}

/* nr_cpu_ids (possible CPUs) sizes the kernel's masks; online CPUs are the
 * ones reported as usable. */
static void cpu_counts(long *possible, long *online)
{
	*possible = sysconf(_SC_NPROCESSORS_CONF);
	*online = sysconf(_SC_NPROCESSORS_ONLN);
	if (*possible < 1)
		*possible = 1;
	if (*online < 1 || *online > *possible)
		*online = *possible;
}

static long sys_sched_getaffinity(struct thread *t, const uint64_t a[6])
{
	unsigned int len = (unsigned int)a[1];
	long possible, online;
	size_t size, ret;
	uint8_t *mask;
	long rc;

	cpu_counts(&possible, &online);
	if ((uint64_t)len * 8 < (uint64_t)possible)
		return -EINVAL;
	if (len & (sizeof(long) - 1))
		return -EINVAL;
	if (!thread_target(t, (int)a[0]))
		return -ESRCH;
	size = (size_t)((possible + 63) / 64) * 8; /* cpumask_size() */
	ret = MIN((size_t)len, size);
	mask = calloc(1, size);
	if (!mask)
		return -ENOMEM;
	for (long c = 0; c < online; c++)
		mask[c / 8] |= (uint8_t)(1u << (c % 8));
	rc = copy_to_user(t->dom, a[2], mask, ret) ? -EFAULT : (long)ret;
	free(mask);
	return rc;
}

/* Accepted and ignored: the vCPU threads float over the host's CPUs. */
static long sys_sched_setaffinity(struct thread *t, const uint64_t a[6])
{
	unsigned int len = (unsigned int)a[1];
	long possible, online;
	size_t size;
	uint8_t *mask;
	bool any = false;

	cpu_counts(&possible, &online);
	size = (size_t)((possible + 63) / 64) * 8;
	mask = calloc(1, size);
	if (!mask)
		return -ENOMEM;
	if (copy_from_user(t->dom, mask, a[2], MIN((size_t)len, size))) {
		free(mask);
		return -EFAULT;
	}
	if (!thread_target(t, (int)a[0])) {
		free(mask);
		return -ESRCH;
	}
	for (long c = 0; c < online; c++)
		any |= (mask[c / 8] >> (c % 8)) & 1;
	free(mask);
	return any ? 0 : -EINVAL;
}

static long sys_getcpu(struct thread *t, const uint64_t a[6])
{
	int cpu = sched_getcpu();

	if (cpu < 0)
		cpu = 0;
	if (a[0] && put_u32(t->dom, a[0], (uint32_t)cpu))
		return -EFAULT;
	if (a[1] && put_u32(t->dom, a[1], 0))
		return -EFAULT;
	return 0;
}

/* ---- nice values: per thread, as Linux keeps them ---- */

/* Whether t's process may lower a nice value to `nice` (Linux's can_nice:
 * RLIMIT_NICE allows 20 - nice; a domain has no CAP_SYS_NICE). */
static bool can_nice(const struct thread *t, int nice)
{
	return (uint64_t)(20 - nice) <= t->proc->rlimits[RLIMIT_NICE].cur;
}

/* The threads `which`/`who` name, into out; their count, or -errno. */
static int prio_targets(struct thread *t, int which, int who, struct thread **out, int max)
{
	struct domain *d = t->dom;
	int n = 0;
	if (which < PRIO_PROCESS || which > PRIO_USER)
		return -EINVAL;
	if (which == PRIO_PROCESS) {
		struct thread *o = thread_target(t, who);
		if (o)
			out[n++] = o;
		return n ? n : -ESRCH;
	}
	if (which == PRIO_PGRP && who == 0)
		who = t->proc->pgid;
	/* Every thread of a domain is its user's; no other user has any. */
	if (which == PRIO_USER && who != 0 && (uint32_t)who != cred_uid_out(&d->cred, d->cred.uid))
		return -ESRCH;
	for (int i = 0; i < MAX_THREADS && n < max; i++) {
		struct thread *o = d->threads[i];
		if (o && (which == PRIO_USER || o->proc->pgid == who))
			out[n++] = o;
	}
	return n ? n : -ESRCH;
}

/* The raw call returns 20 - nice (1..40), so that no value looks like an
 * error; glibc turns it back. The highest priority of the set wins. */
static long sys_getpriority(struct thread *t, const uint64_t a[6])
{
	struct thread *v[MAX_THREADS];
	int n = prio_targets(t, (int)a[0], (int)a[1], v, MAX_THREADS);
	if (n < 0)
		return n;
	long best = 0;
	for (int i = 0; i < n; i++)
		best = MAX(best, 20L - v[i]->nice);
	return best;
}

static long sys_setpriority(struct thread *t, const uint64_t a[6])
{
	struct thread *v[MAX_THREADS];
	int nice = (int)a[2];
	nice = nice < NICE_MIN ? NICE_MIN : nice > NICE_MAX ? NICE_MAX : nice;
	int n = prio_targets(t, (int)a[0], (int)a[1], v, MAX_THREADS);
	if (n < 0)
		return n;
	long err = 0;
	for (int i = 0; i < n; i++) {
		if (nice < v[i]->nice && !can_nice(v[i], nice)) {
			err = -EACCES;
			continue;
		}
		v[i]->nice = nice;
	}
	static bool said;
	if (!said) {
		said = true;
		dom_log(t->dom, "setpriority: nice values are kept for getpriority and /proc, not applied to "
			"the host's threads");
	}
	return err;
}

/* ---- policies: a domain's threads are SCHED_OTHER, BATCH or IDLE ---- */

static bool policy_valid(int p)
{
	return p == SCHED_OTHER || p == SCHED_FIFO || p == SCHED_RR || p == SCHED_BATCH || p == SCHED_IDLE;
}

static bool policy_rt(int p)
{
	return p == SCHED_FIFO || p == SCHED_RR;
}

static long sys_sched_get_priority_max(struct thread *t, const uint64_t a[6])
{
	(void)t;
	int p = (int)a[0];
	return policy_rt(p) ? 99 : policy_valid(p) || p == 6 /* SCHED_DEADLINE */ ? 0 : -EINVAL;
}

static long sys_sched_get_priority_min(struct thread *t, const uint64_t a[6])
{
	(void)t;
	int p = (int)a[0];
	return policy_rt(p) ? 1 : policy_valid(p) || p == 6 ? 0 : -EINVAL;
}

static long sys_sched_getscheduler(struct thread *t, const uint64_t a[6])
{
	struct thread *o;
	if ((int)a[0] < 0)
		return -EINVAL;
	if (!(o = thread_target(t, (int)a[0])))
		return -ESRCH;
	return (long)o->sched_policy;
}

/* Priority 0 for the policies a domain has (only real-time ones have
 * others). */
static long sys_sched_getparam(struct thread *t, const uint64_t a[6])
{
	struct thread *o;
	if ((int)a[0] < 0 || !a[1])
		return -EINVAL;
	if (!(o = thread_target(t, (int)a[0])))
		return -ESRCH;
	return put_u32(t->dom, a[1], 0) ? -EFAULT : 0;
}

static long set_policy(struct thread *t, int pid, int policy, gva_t param, bool keep_policy)
{
	struct thread *o;
	uint32_t prio;
	if (pid < 0 || !param)
		return -EINVAL;
	if (copy_from_user(t->dom, &prio, param, sizeof(prio)))
		return -EFAULT;
	if (!(o = thread_target(t, pid)))
		return -ESRCH;
	bool reset = keep_policy ? (o->sched_policy & SCHED_RESET_ON_FORK) : (policy & SCHED_RESET_ON_FORK);
	if (keep_policy)
		policy = (int)(o->sched_policy & ~(uint32_t)SCHED_RESET_ON_FORK);
	policy &= ~SCHED_RESET_ON_FORK;
	if (!policy_valid(policy) || (policy_rt(policy) ? prio < 1 || prio > 99 : prio != 0))
		return -EINVAL;
	/* Unprivileged, as Linux decides it: real time only within
	 * RLIMIT_RTPRIO (which a domain can never honour, so never); out of
	 * SCHED_IDLE only where RLIMIT_NICE allows its nice value; no taking
	 * back SCHED_RESET_ON_FORK. */
	if (policy_rt(policy))
		return -EPERM;
	if ((o->sched_policy & ~(uint32_t)SCHED_RESET_ON_FORK) == SCHED_IDLE && policy != SCHED_IDLE &&
	    !can_nice(o, o->nice))
		return -EPERM;
	if ((o->sched_policy & SCHED_RESET_ON_FORK) && !reset)
		return -EPERM;
	o->sched_policy = (uint32_t)policy | (reset ? SCHED_RESET_ON_FORK : 0);
	return 0;
}

static long sys_sched_setscheduler(struct thread *t, const uint64_t a[6])
{
	return set_policy(t, (int)a[0], (int)a[1], a[2], false);
}

static long sys_sched_setparam(struct thread *t, const uint64_t a[6])
{
	return set_policy(t, (int)a[0], 0, a[1], true);
}

/* The time slice of the host thread that runs the caller (a normal
 * thread's, as the kernel computes it for SCHED_OTHER). */
static long sys_sched_rr_get_interval(struct thread *t, const uint64_t a[6])
{
	struct thread *o;
	struct timespec ts = { 0, 0 };
	if ((int)a[0] < 0)
		return -EINVAL;
	if (!(o = thread_target(t, (int)a[0])))
		return -ESRCH;
	if (sched_rr_get_interval(0, &ts) < 0)
		ts = (struct timespec){ 0, 0 };
	return copy_to_user(t->dom, a[1], &ts, sizeof(ts)) ? -EFAULT : 0;
}

const struct syscall_desc sys_sched_table[] = {
	{ SYS_sched_yield, "sched_yield", sys_sched_yield },
	{ SYS_sched_getaffinity, "sched_getaffinity", sys_sched_getaffinity },
	{ SYS_sched_setaffinity, "sched_setaffinity", sys_sched_setaffinity },
	{ SYS_getcpu, "getcpu", sys_getcpu },
	{ SYS_getpriority, "getpriority", sys_getpriority },
	{ SYS_setpriority, "setpriority", sys_setpriority },
	{ SYS_sched_get_priority_max, "sched_get_priority_max", sys_sched_get_priority_max },
	{ SYS_sched_get_priority_min, "sched_get_priority_min", sys_sched_get_priority_min },
	{ SYS_sched_getscheduler, "sched_getscheduler", sys_sched_getscheduler },
	{ SYS_sched_setscheduler, "sched_setscheduler", sys_sched_setscheduler },
	{ SYS_sched_getparam, "sched_getparam", sys_sched_getparam },
	{ SYS_sched_setparam, "sched_setparam", sys_sched_setparam },
	{ SYS_sched_rr_get_interval, "sched_rr_get_interval", sys_sched_rr_get_interval },
	{ -1, NULL, NULL },
};
