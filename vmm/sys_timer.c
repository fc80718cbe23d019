/* sys_timer.c: interval timers and POSIX timers (alarm, setitimer, timer_*), and the domain's signal thread that fires them. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "domain.h"
#include "ksignal.h"
#include "syscall.h"
#include "uaccess.h"
#include "vdso.h"

#define NS		1000000000ULL
#define KSIGEV_SIGNAL	0
#define KSIGEV_NONE	1
#define KSIGEV_THREAD_ID 4
#define REKICK_NS	(10 * 1000 * 1000ULL)

/* Host signals that pdvm passes on to the domain, as `docker run` does. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

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

/* Arms (or, with value 0, disarms) timer k: value is relative, or absolute
 * on the timer's clock. */
static void timer_arm(struct domain *d, struct ktimer *k, uint64_t value, uint64_t interval, bool abs)
{
	uint64_t now = guest_mono_ns(d);

	k->interval_ns = interval;
	k->overrun = 0;
	if (!value) {
		k->deadline_ns = 0;
	} else if (abs) {
		struct timespec c;
		uint64_t cnow = guest_clock_now(d, k->clock, &c) ? 0 : (uint64_t)c.tv_sec * NS + (uint64_t)c.tv_nsec;
		k->deadline_ns = now + (value > cnow ? value - cnow : 1);
	} else {
		k->deadline_ns = now + value;
	}
	if (k->deadline_ns)
		sig_thread_poke(d);
}

static uint64_t timer_left(struct domain *d, const struct ktimer *k)
{
	uint64_t now = guest_mono_ns(d);

	if (!k->deadline_ns)
		return 0;
	return k->deadline_ns > now ? k->deadline_ns - now : 1;
}

/* ---- setitimer / getitimer / alarm: ITIMER_REAL is timers[0] ---- */

static long itimer_check(struct domain *d, int which)
{
	if (which == ITIMER_REAL)
		return 0;
	if (which == ITIMER_VIRTUAL || which == ITIMER_PROF) {
		dom_log(d, "setitimer: ITIMER_VIRTUAL/ITIMER_PROF are not supported (EINVAL)");
		return -EINVAL;
	}
	return -EINVAL;
}

static void itimer_get(struct domain *d, struct kitimerval *v)
{
	const struct ktimer *k = &proc_cur(d)->timers[0];
	uint64_t left = timer_left(d, k);

	v->value = (struct ktv){ (int64_t)(left / NS), (int64_t)(left % NS / 1000) };
	v->interval = (struct ktv){ (int64_t)(k->interval_ns / NS), (int64_t)(k->interval_ns % NS / 1000) };
}

static void itimer_real_init(struct domain *d)
{
	struct ktimer *k = &proc_cur(d)->timers[0];

	k->used = true;
	k->clock = CLOCK_MONOTONIC;
	k->notify = KSIGEV_SIGNAL;
	k->signo = SIGALRM;
}

static long sys_setitimer(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	struct kitimerval nv, ov;
	long r = itimer_check(d, (int)a[0]);

	if (r)
		return r;
	if (a[1] && copy_from_user(d, &nv, a[1], sizeof(nv)))
		return -EFAULT;
	if (a[1] && (nv.value.s < 0 || nv.value.us < 0 || nv.value.us >= 1000000 ||
		     nv.interval.s < 0 || nv.interval.us < 0 || nv.interval.us >= 1000000))
		return -EINVAL;
	itimer_get(d, &ov);
	if (a[1]) {
		itimer_real_init(d);
		struct kts v = { nv.value.s, nv.value.us * 1000 }, i = { nv.interval.s, nv.interval.us * 1000 };
		timer_arm(d, &proc_cur(d)->timers[0], ts_to_ns(&v), ts_to_ns(&i), false);
	}
	if (a[2] && copy_to_user(d, a[2], &ov, sizeof(ov)))
		return -EFAULT;
	return 0;
}

static long sys_getitimer(struct thread *t, const uint64_t a[6])
{
	struct kitimerval v;
	long r = itimer_check(t->dom, (int)a[0]);

	if (r)
		return r;
	itimer_get(t->dom, &v);
	return copy_to_user(t->dom, a[1], &v, sizeof(v));
}

static long sys_alarm(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	uint64_t left = timer_left(d, &proc_cur(d)->timers[0]);
	uint32_t secs = (uint32_t)a[0];

	itimer_real_init(d);
	timer_arm(d, &proc_cur(d)->timers[0], (uint64_t)secs * NS, 0, false);
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
	int clk = (int)a[0];
	struct ksigevent { uint64_t value; int32_t signo, notify, tid, pad; } ev;

	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME) {
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
	ov.value = ns_to_ts(timer_left(d, k));
	ov.interval = ns_to_ts(k->interval_ns);
	timer_arm(d, k, ts_to_ns(&nv.value), ts_to_ns(&nv.interval), a[1] & TIMER_ABSTIME);
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
	v.value = ns_to_ts(timer_left(t->dom, k));
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

/* ---- the signal thread ---- */

/* Timer k expired at guest time now: signal, count overruns, re-arm. */
static void timer_fire(struct process *p, int idx, uint64_t now)
{
	struct domain *d = p->dom;
	struct ktimer *k = &p->timers[idx];
	int missed = 0;

	if (k->interval_ns) {
		while (k->deadline_ns <= now) {
			k->deadline_ns += k->interval_ns;
			missed++;
		}
		missed--;
	} else {
		k->deadline_ns = 0;
	}
	if (k->notify == KSIGEV_NONE)
		return;
	struct ksiginfo i;
	memset(&i, 0, sizeof(i));
	i.signo = k->signo;
	if (idx == 0) {
		i.code = KSI_KERNEL;  /* ITIMER_REAL's SIGALRM */
	} else {
		i.code = KSI_TIMER;
		i.timer.tid = idx - 1;
		i.timer.value = k->value;
	}
	uint64_t pend = p->sig_pending;
	struct thread *to = k->notify == KSIGEV_THREAD_ID ? thread_find(d, k->tid) : NULL;
	if (to && to->proc != p)
		to = NULL;
	if (to)
		pend = to->sig_pending;
	if (pend & SIGBIT(k->signo)) {
		k->overrun += 1 + missed; /* still pending from the last expiry */
		return;
	}
	k->overrun = missed;
	i.timer.overrun = missed;
	if (to)
		sig_send_thread(to, &i);
	else
		sig_send_process(p, &i);
}

static void *sig_thread_main(void *arg)
{
	struct domain *d = arg;
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	/* Pokes are taken by sigtimedwait too: blocked here, one sent while
	 * this thread is not yet waiting stays pending instead of being lost. */
	sigaddset(&set, thread_kick_signal());
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	dom_lock(d);
	while (!d->sig_thread_quit) {
		uint64_t wait = NS / 2;
		if (!d->paused && !d->exiting) {
			uint64_t now = guest_mono_ns(d);
			if (host_mono_ns() - d->vvar_updated_ns >= NS / 2)
				vdso_update(d);
			for (int pi = 0; pi < MAX_PROCS; pi++) {
				struct process *p = d->procs[pi];
				if (!p || p->zombie || p->exiting)
					continue;
				for (int i = 0; i < MAX_KTIMERS; i++) {
					struct ktimer *k = &p->timers[i];
					if (!k->used || !k->deadline_ns)
						continue;
					if (k->deadline_ns <= now)
						timer_fire(p, i, now);
					if (k->deadline_ns && k->deadline_ns - now < wait)
						wait = k->deadline_ns > now ? k->deadline_ns - now : 0;
				}
			}
			/* A kick can land just before a host call and be lost:
			 * repeat it while a signal stays untaken. */
			for (int i = 0; i < MAX_THREADS; i++) {
				struct thread *o = d->threads[i];
				if (o && !o->exited && !o->parked && sig_deliverable(o)) {
					sig_wake(o);
					wait = wait < REKICK_NS ? wait : REKICK_NS;
				}
			}
		}
		dom_unlock(d);
		struct timespec ts = { (time_t)(wait / NS), (long)(wait % NS) };
		int sig = sigtimedwait(&set, NULL, &ts);
		dom_lock(d);
		if (sig > 0 && sig != thread_kick_signal() && !d->exiting) {
			struct ksiginfo i = sig_info_user(sig, KSI_USER, 0);
			/* As a terminal does: SIGINT and SIGQUIT go to the
			 * foreground process group; SIGTERM and SIGHUP to the
			 * first process, as `docker stop` signals PID 1. */
			bool fg = sig == SIGINT || sig == SIGQUIT;
			dom_log(d, "forwarding host SIG%s to %s", sigabbrev_np(sig),
				fg ? "the foreground process group" : "the first process");
			if (fg)
				sig_send_pgrp(d, d->fg_pgid, &i);
			else if (d->init)
				sig_send_process(d->init, &i);
		}
	}
	dom_unlock(d);
	return NULL;
}

void sig_block_host(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded); i++)
		sigaddset(&set, forwarded[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int sig_thread_start(struct domain *d)
{
	d->sig_thread_quit = false;
	int r = pthread_create(&d->sig_thread, NULL, sig_thread_main, d);
	if (r)
		return -r;
	d->sig_thread_running = true;
	return 0;
}

/* Without the domain lock held. */
void sig_thread_stop(struct domain *d)
{
	if (!d->sig_thread_running)
		return;
	dom_lock(d);
	d->sig_thread_quit = true;
	dom_unlock(d);
	pthread_kill(d->sig_thread, thread_kick_signal());
	pthread_join(d->sig_thread, NULL);
	d->sig_thread_running = false;
}

void sig_thread_poke(struct domain *d)
{
	if (d->sig_thread_running && !pthread_equal(pthread_self(), d->sig_thread))
		pthread_kill(d->sig_thread, thread_kick_signal());
}
