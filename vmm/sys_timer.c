/* sys_timer.c: interval timers and POSIX timers (alarm, setitimer, timer_*): the calls, decoded; the timers and the signal thread that fires them are vmm/ktimer.c. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "domain.h"
#include "ksignal.h"
#include "ktimer.h"
#include "syscall.h"
#include "uaccess.h"

#define NS		1000000000ULL

struct kts { int64_t s, ns; };
struct kitimerspec { struct kts interval, value; };
struct ktv { int64_t s, us; };
struct kitimerval { struct ktv interval, value; };

static bool ts_ok(const struct kts *t)
{
	return t->s >= 0 && t->ns >= 0 && t->ns < (int64_t)NS;
}

static uint64_t ts_to_ns(const struct kts *t)
{
	return (uint64_t)t->s > UINT64_MAX / NS / 4 ? UINT64_MAX / 4 : (uint64_t)t->s * NS + (uint64_t)t->ns;
}

static struct kts ns_to_ts(uint64_t ns)
{
	return (struct kts){ (int64_t)(ns / NS), (int64_t)(ns % NS) };
}

/* ---- setitimer / getitimer / alarm: ITIMER_REAL is timers[0], ITIMER_VIRTUAL
 * and ITIMER_PROF the CPU-time timers cputimers[] ---- */

/* The timer `which` names, set up on first use; NULL: EINVAL. */
static struct ktimer *itimer_of(struct domain *d, int which)
{
	struct process *p = proc_cur(d);
	struct ktimer *k;

	switch (which) {
	case ITIMER_REAL:
		k = &p->timers[0];
		k->clock = CLOCK_MONOTONIC;
		k->signo = SIGALRM;
		break;
	case ITIMER_VIRTUAL:
	case ITIMER_PROF:
		k = &p->cputimers[which == ITIMER_VIRTUAL ? KITIMER_VIRTUAL : KITIMER_PROF];
		/* Guest user time alone is not told apart from the rest of
		 * its thread's: both count the whole, as ITIMER_PROF does. */
		if (which == ITIMER_VIRTUAL && !k->used)
			dom_log(d, "setitimer: ITIMER_VIRTUAL counts the process's system time too (once)");
		k->clock = CLOCK_PROCESS_CPUTIME_ID;
		k->signo = which == ITIMER_VIRTUAL ? SIGVTALRM : SIGPROF;
		break;
	default:
		return NULL;
	}
	k->used = true;
	k->notify = KSIGEV_SIGNAL;
	return k;
}

static void itimer_get(struct domain *d, const struct ktimer *k, struct kitimerval *v)
{
	uint64_t left = ktimer_left(proc_cur(d), k);

	v->value = (struct ktv){ (int64_t)(left / NS), (int64_t)(left % NS / 1000) };
	v->interval = (struct ktv){ (int64_t)(k->interval_ns / NS), (int64_t)(k->interval_ns % NS / 1000) };
}

static long sys_setitimer(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	struct kitimerval nv, ov;
	struct ktimer *k = itimer_of(d, (int)a[0]);

	if (!k)
		return -EINVAL;
	if (a[1] && copy_from_user(d, &nv, a[1], sizeof(nv)))
		return -EFAULT;
	if (a[1] && (nv.value.s < 0 || nv.value.us < 0 || nv.value.us >= 1000000 ||
		     nv.interval.s < 0 || nv.interval.us < 0 || nv.interval.us >= 1000000))
		return -EINVAL;
	itimer_get(d, k, &ov);
	if (a[1]) {
		struct kts v = { nv.value.s, nv.value.us * 1000 }, i = { nv.interval.s, nv.interval.us * 1000 };
		ktimer_arm(proc_cur(d), k, ts_to_ns(&v), ts_to_ns(&i), false);
	}
	if (a[2] && copy_to_user(d, a[2], &ov, sizeof(ov)))
		return -EFAULT;
	return 0;
}

static long sys_getitimer(struct thread *t, const uint64_t a[6])
{
	struct kitimerval v;
	struct ktimer *k = itimer_of(t->dom, (int)a[0]);

	if (!k)
		return -EINVAL;
	itimer_get(t->dom, k, &v);
	return copy_to_user(t->dom, a[1], &v, sizeof(v));
}

static long sys_alarm(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	struct ktimer *k = itimer_of(d, ITIMER_REAL);
	uint64_t left = ktimer_left(proc_cur(d), k);
	uint32_t secs = (uint32_t)a[0];

	ktimer_arm(proc_cur(d), k, (uint64_t)secs * NS, 0, false);
	/* alarm returns whole seconds left, rounded, at least 1 if any. */
	uint64_t s = (left + NS / 2) / NS;
	return left && !s ? 1 : (long)s;
}

/* ---- POSIX timers: ids 0.. are timers[1..] ---- */

static struct ktimer *timer_by_id(struct domain *d, uint64_t id)
{
	if (id >= MAX_KTIMERS - 1 || !proc_cur(d)->timers[id + 1].used)
		return NULL;
	return &proc_cur(d)->timers[id + 1];
}

static long sys_timer_create(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int clk = (int)a[0];    /* a clockid_t: the low 32 bits, as Linux reads it */
	struct ksigevent { uint64_t value; int32_t signo, notify, tid, pad; } ev;

	int cpu_tid = 0;

	/* CPU clocks as the kernel numbers them (glibc passes these for
	 * CLOCK_*_CPUTIME_ID): ~pid << 3 | per-thread << 2 | kind, where kind 2
	 * (CPUCLOCK_SCHED) is the sum of the other two (PROF, VIRT), which a
	 * domain does not tell apart, and pid 0 is the caller. This process
	 * and its own threads only. */
	if (clk < 0) {
		int id = ~(clk >> 3);

		if ((clk & 3) == 3)
			return -EINVAL;
		if (clk & 4) {
			struct thread *o = thread_find(d, id ? id : t->tid);
			if (!o || o->proc != t->proc)
				return -EINVAL;
			cpu_tid = o->tid;
			clk = CLOCK_THREAD_CPUTIME_ID;
		} else {
			if (id && id != t->proc->pid)
				return -EINVAL;
			clk = CLOCK_PROCESS_CPUTIME_ID;
		}
	} else if (clk == CLOCK_THREAD_CPUTIME_ID) {
		cpu_tid = t->tid;
	}
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME &&
	    clk != CLOCK_PROCESS_CPUTIME_ID && clk != CLOCK_THREAD_CPUTIME_ID) {
		dom_log(d, "timer_create: clock %d is not supported (EINVAL)", clk);
		return -EINVAL;
	}
	if (a[1]) {
		if (copy_from_user(d, &ev, a[1], sizeof(ev)))
			return -EFAULT;
	} else {
		ev = (struct ksigevent){ .signo = SIGALRM, .notify = KSIGEV_SIGNAL };
	}
	if (ev.notify != KSIGEV_NONE && ev.notify != KSIGEV_SIGNAL && ev.notify != KSIGEV_THREAD_ID)
		return -EINVAL;
	if (ev.notify != KSIGEV_NONE && (ev.signo < 1 || ev.signo > NSIG_K))
		return -EINVAL;
	if (ev.notify == KSIGEV_THREAD_ID && !thread_find(d, ev.tid))
		return -EINVAL;
	for (int i = 1; i < MAX_KTIMERS; i++) {
		struct ktimer *k = &proc_cur(d)->timers[i];
		if (k->used)
			continue;
		int32_t id = i - 1;
		if (copy_to_user(d, a[2], &id, sizeof(id)))
			return -EFAULT;
		memset(k, 0, sizeof(*k));
		k->used = true;
		k->clock = clk;
		k->notify = ev.notify;
		k->signo = ev.signo;
		k->tid = ev.tid;
		/* Go's profiler: one per thread, on its own CPU clock. */
		k->cpu_tid = cpu_tid;
		/* Without a sigevent, si_value is the timer id (timer_create(2)). */
		k->value = a[1] ? ev.value : (uint64_t)id;
		return 0;
	}
	return -EAGAIN;
}

static long sys_timer_settime(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	struct ktimer *k = timer_by_id(d, a[0]);
	struct kitimerspec nv, ov;

	if (!k)
		return -EINVAL;
	if (copy_from_user(d, &nv, a[2], sizeof(nv)))
		return -EFAULT;
	if (!ts_ok(&nv.value) || !ts_ok(&nv.interval))
		return -EINVAL;
	ov.value = ns_to_ts(ktimer_left(proc_cur(d), k));
	ov.interval = ns_to_ts(k->interval_ns);
	ktimer_arm(proc_cur(d), k, ts_to_ns(&nv.value), ts_to_ns(&nv.interval), a[1] & TIMER_ABSTIME);
	if (a[3] && copy_to_user(d, a[3], &ov, sizeof(ov)))
		return -EFAULT;
	return 0;
}

static long sys_timer_gettime(struct thread *t, const uint64_t a[6])
{
	struct ktimer *k = timer_by_id(t->dom, a[0]);
	struct kitimerspec v;

	if (!k)
		return -EINVAL;
	v.value = ns_to_ts(ktimer_left(proc_cur(t->dom), k));
	v.interval = ns_to_ts(k->interval_ns);
	return copy_to_user(t->dom, a[1], &v, sizeof(v));
}

static long sys_timer_getoverrun(struct thread *t, const uint64_t a[6])
{
	struct ktimer *k = timer_by_id(t->dom, a[0]);

	return k ? k->overrun : -EINVAL;
}

static long sys_timer_delete(struct thread *t, const uint64_t a[6])
{
	struct ktimer *k = timer_by_id(t->dom, a[0]);

	if (!k)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	return 0;
}

const struct syscall_desc sys_timer_table[] = {
	{ SYS_alarm, "alarm", sys_alarm },
	{ SYS_setitimer, "setitimer", sys_setitimer },
	{ SYS_getitimer, "getitimer", sys_getitimer },
	{ SYS_timer_create, "timer_create", sys_timer_create },
	{ SYS_timer_settime, "timer_settime", sys_timer_settime },
	{ SYS_timer_gettime, "timer_gettime", sys_timer_gettime },
	{ SYS_timer_getoverrun, "timer_getoverrun", sys_timer_getoverrun },
	{ SYS_timer_delete, "timer_delete", sys_timer_delete },
	{ -1, NULL, NULL },
};
