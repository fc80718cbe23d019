/* ktimer.c: POSIX timers and ITIMER_REAL — arming, expiry, overruns — and the domain's signal thread, which fires them, forwards host signals and re-kicks threads that have a signal to take. */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "domain.h"
#include "ksignal.h"
#include "ktimer.h"
#include "vdso.h"

#define NS		1000000000ULL
#define REKICK_NS	(10 * 1000 * 1000ULL)

/* Host signals that pdvm passes on to the domain, as `docker run` does. */
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* A host thread's CPU time: the guest thread's, plus pdvm's work for it. */
static uint64_t host_thread_cpu_ns(const struct thread *t)
{
	struct timespec ts;

	if (!t->cpu_clock_ok || clock_gettime(t->cpu_clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

uint64_t ktimer_now(struct process *p, const struct ktimer *k)
{
	struct domain *d = p->dom;

	if (!ktimer_is_cpu(k))
		return guest_mono_ns(d);
	if (k->cpu_tid) {
		struct thread *t = thread_find(d, k->cpu_tid);
		return t && t->proc == p ? host_thread_cpu_ns(t) : UINT64_MAX / 2;
	}
	return ktimer_proc_cpu_ns(p);
}

uint64_t ktimer_proc_cpu_ns(struct process *p)
{
	uint64_t sum = p->cpu_gone_ns;

	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *t = p->dom->threads[i];
		if (t && t->proc == p)
			sum += host_thread_cpu_ns(t);
	}
	return sum;
}

void ktimer_arm(struct process *p, struct ktimer *k, uint64_t value, uint64_t interval, bool abs)
{
	struct domain *d = p->dom;
	uint64_t now = ktimer_now(p, k);

	k->interval_ns = interval;
	k->overrun = 0;
	if (!value) {
		k->deadline_ns = 0;
	} else if (abs && ktimer_is_cpu(k)) {
		k->deadline_ns = value > now ? value : now + 1;
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

uint64_t ktimer_left(struct process *p, const struct ktimer *k)
{
	uint64_t now = ktimer_now(p, k);

	if (!k->deadline_ns)
		return 0;
	return k->deadline_ns > now ? k->deadline_ns - now : 1;
}

/* ---- the signal thread ---- */

/* Linux sends a process CPU timer's signal to the thread running when it
 * expires (the tick that finds it spent): a profiler samples that thread.
 * Here: the one that used the most CPU since the last expiry, if it does
 * not block the signal; NULL lets process delivery choose. */
static struct thread *cpu_user(struct process *p, int signo)
{
	struct domain *d = p->dom;
	struct thread *best = NULL;
	uint64_t most = 0;

	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *t = d->threads[i];
		if (!t || t->proc != p || t->exited)
			continue;
		uint64_t now = host_thread_cpu_ns(t), used = now - t->cpu_seen_ns;
		t->cpu_seen_ns = now;
		if (used > most && !(t->sigmask & SIGBIT(signo))) {
			most = used;
			best = t;
		}
	}
	return best;
}

/* Timer k (POSIX timer idx - 1, or with idx 0 an interval timer) expired
 * at now on its clock: signal, count overruns, re-arm. */
static void timer_fire(struct process *p, struct ktimer *k, int idx, uint64_t now)
{
	struct domain *d = p->dom;
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
		i.code = KSI_KERNEL;  /* an interval timer's SIGALRM, SIGVTALRM or SIGPROF */
	} else {
		i.code = KSI_TIMER;
		i.timer.tid = idx - 1;
		i.timer.value = k->value;
	}
	uint64_t pend = p->sig_pending;
	struct thread *to = k->notify == KSIGEV_THREAD_ID ? thread_find(d, k->tid) : NULL;
	if (!to && ktimer_is_cpu(k) && !k->cpu_tid)
		to = cpu_user(p, k->signo);
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
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t ncpu = online > 0 ? (uint64_t)online : 1;
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
				for (int i = 0; i < MAX_KTIMERS + 2; i++) {
					struct ktimer *k = i < MAX_KTIMERS ? &p->timers[i] : &p->cputimers[i - MAX_KTIMERS];
					if (!k->used || !k->deadline_ns)
						continue;
					bool cpu = ktimer_is_cpu(k);
					uint64_t kn = cpu ? ktimer_now(p, k) : now;
					if (k->cpu_rebase) {    /* restored: time left */
						k->deadline_ns += kn;
						k->cpu_rebase = false;
					}
					if (k->deadline_ns <= kn)
						timer_fire(p, k, i < MAX_KTIMERS ? i : 0, kn);
					if (!k->deadline_ns)
						continue;
					/* CPU time runs at most as fast as the
					 * CPUs together: look again by then. */
					uint64_t left = k->deadline_ns > kn ? k->deadline_ns - kn : 0;
					if (cpu)
						left /= ncpu;
					if (left < wait)
						wait = left;
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
			struct ksiginfo i = sig_info_user(d, sig, KSI_USER, 0);
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
