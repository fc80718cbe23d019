/* snap_signals.c: section `signals` — pending signals and their siginfo, timers, per-thread altstacks and swapped masks, job-control stops. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/domain.h"
#include "vmm/jobctl.h"
#include "snap_state.h"

/* Ranged fields are u64 (sr_range's unit); ids and flag words u32. */

/* A siginfo as the guest reads it: number, errno and code, then the
 * union's bytes in Linux's x86-64 layout (its meaning depends on the
 * code, and the guest's handler gets it as is). Version 1 wrote pdvm's
 * in-memory struct whole (the same bytes plus a padding word). */
#define SIGINFO_UNION 112
_Static_assert(sizeof(((struct ksiginfo *)0)->raw) == SIGINFO_UNION, "siginfo's union is 112 bytes");

static void put_siginfo(struct sbuf *b, const struct ksiginfo *si)
{
	sb_u32(b, (uint32_t)si->signo);
	sb_u32(b, (uint32_t)si->err);
	sb_u32(b, (uint32_t)si->code);
	sb_put(b, si->raw, SIGINFO_UNION);
}

static void get_siginfo(struct sread *r, struct ksiginfo *si, uint32_t version)
{
	memset(si, 0, sizeof(*si));
	if (version < 2) {
		uint8_t v1[128];
		sr_get(r, v1, sizeof(v1));
		memcpy(&si->signo, v1, 4);
		memcpy(&si->err, v1 + 4, 4);
		memcpy(&si->code, v1 + 8, 4);
		memcpy(si->raw, v1 + 16, SIGINFO_UNION);
		return;
	}
	si->signo = (int32_t)sr_u32(r);
	si->err = (int32_t)sr_u32(r);
	si->code = (int32_t)sr_u32(r);
	sr_get(r, si->raw, SIGINFO_UNION);
}

static void put_pending(struct sbuf *b, uint64_t pending, const struct ksiginfo *info)
{
	sb_u64(b, pending);
	for (int s = 1; s <= NSIG_K; s++)
		if (pending & SIGBIT(s))
			put_siginfo(b, &info[s - 1]);
}

static void get_pending(struct sread *r, uint64_t *pending, struct ksiginfo *info, uint32_t version)
{
	*pending = sr_u64(r);
	for (int s = 1; s <= NSIG_K; s++) {
		if (!(*pending & SIGBIT(s)))
			continue;
		get_siginfo(r, &info[s - 1], version);
		if (!r->bad && info[s - 1].signo != s)
			sr_fail(r, "signals: a pending signal's siginfo names another signal");
	}
}

/* Job control (vmm/jobctl.c), version 3 of `signals` and `procs`: per
 * process a flag word and the stop's signal, per thread a flag word.
 * Older images restore with nothing stopped. */
#define JF_STOPPED     1u      /* process: the group stop is complete */
#define JF_CONTINUED   2u      /* process: a continue wait has not reported */
#define JT_STOP        1u      /* thread: must join its process's stop */
#define JT_STOPPED     2u      /* thread: stopped until SIGCONT */

static void put_jobctl(struct sbuf *b, const struct process *p)
{
	sb_u32(b, (p->stopped ? JF_STOPPED : 0) | (p->continued ? JF_CONTINUED : 0));
	sb_u64(b, (uint64_t)p->stop_sig);
}

static void get_jobctl(struct sread *r, struct process *p)
{
	uint32_t fl = sr_u32(r);
	int sig = (int)sr_range(r, 0, NSIG_K, "signals: stop signal out of range");
	if (!r->bad && (fl & ~(JF_STOPPED | JF_CONTINUED)))
		sr_fail(r, "signals: unknown job-control flags");
	if (!r->bad && sig && !jobctl_is_stop(sig))
		sr_fail(r, "signals: a stop by a signal that does not stop");
	p->stopped = fl & JF_STOPPED;
	p->continued = fl & JF_CONTINUED;
	p->stop_sig = sig;
}

/* A timer. Version 3 adds the thread a CPU clock counts, and a CPU-clock
 * deadline is written as the CPU time left: the restored threads' clocks
 * start again from zero. */
static void put_timer(struct sbuf *b, struct process *p, const struct ktimer *k)
{
	sb_u64(b, k->used);
	if (!k->used)
		return;
	sb_u64(b, (uint64_t)k->clock);
	sb_u64(b, (uint64_t)k->notify);
	sb_u64(b, (uint64_t)k->signo);
	sb_u32(b, (uint32_t)k->tid);
	sb_u64(b, k->value);
	sb_u64(b, ktimer_is_cpu(k) && k->deadline_ns ? ktimer_left(p, k) : k->deadline_ns);
	sb_u64(b, k->interval_ns);
	sb_u64(b, (uint64_t)k->overrun);
	sb_u32(b, (uint32_t)k->cpu_tid);
}

void snap_put_sigstate(struct sbuf *b, struct process *p)
{
	put_jobctl(b, p);
	put_pending(b, p->sig_pending, p->sig_info);
	for (int i = 0; i < MAX_KTIMERS; i++)
		put_timer(b, p, &p->timers[i]);
	for (int i = 0; i < 2; i++)
		put_timer(b, p, &p->cputimers[i]);
}

int snap_put_signals(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	snap_put_sigstate(b, d->init);
	sb_u64(b, (uint64_t)d->nthreads);
	for (int i = 0; i < MAX_THREADS; i++) {
		const struct thread *t = d->threads[i];
		if (!t)
			continue;
		sb_u32(b, (uint32_t)t->tid);
		put_pending(b, t->sig_pending, t->sig_info);
		sb_u64(b, t->ss_sp);
		sb_u64(b, t->ss_size);
		sb_u32(b, t->ss_flags);
		sb_u64(b, t->saved_sigmask);
		sb_u64(b, t->restore_sigmask);
		sb_u64(b, t->intr.valid);
		sb_u64(b, (uint64_t)t->intr.kind);
		sb_u64(b, t->intr.nr);
		sb_u64(b, t->intr.a1);
		sb_u32(b, (t->jobctl_stop ? JT_STOP : 0) | (t->stopped ? JT_STOPPED : 0));
	}
	return b->oom ? -ENOMEM : 0;
}

/* CPU-clock deadlines come back as CPU time left; ktimer_restart_cpu
 * turns them into deadlines once the threads run. */
static void get_timer(struct sread *r, struct ktimer *k, uint32_t version)
{
	memset(k, 0, sizeof(*k));
	k->used = sr_range(r, 0, 1, "signals: timer flag") != 0;
	if (!k->used)
		return;
	k->clock = (int)sr_range(r, 0, 11, "signals: timer clock");
	k->notify = (int)sr_range(r, 0, 4, "signals: timer notification");
	k->signo = (int)sr_range(r, 0, NSIG_K, "signals: timer signal");
	k->tid = (int)sr_u32(r);
	k->value = sr_u64(r);
	k->deadline_ns = sr_u64(r);
	k->interval_ns = sr_u64(r);
	k->overrun = (int)sr_range(r, 0, INT32_MAX, "signals: timer overrun");
	if (version >= 3) {
		uint32_t tid = sr_u32(r);
		if (tid > INT32_MAX)
			sr_fail(r, "signals: timer thread");
		k->cpu_tid = (int)tid;
	}
	k->cpu_rebase = ktimer_is_cpu(k) && k->deadline_ns;
	if (ktimer_is_cpu(k) && version < 3)
		sr_fail(r, "signals: a CPU-clock timer in an image of version 2");
	if (k->cpu_tid && k->clock != 3)
		sr_fail(r, "signals: a thread for a timer not on a thread's CPU clock");
}

void snap_get_sigstate(struct sread *r, struct process *p, uint32_t version)
{
	if (version >= 3)
		get_jobctl(r, p);
	get_pending(r, &p->sig_pending, p->sig_info, version);
	for (int i = 0; i < MAX_KTIMERS && !r->bad; i++)
		get_timer(r, &p->timers[i], version);
	for (int i = 0; i < 2 && version >= 3 && !r->bad; i++) {
		get_timer(r, &p->cputimers[i], version);
		if (p->cputimers[i].used && p->cputimers[i].clock != 2)
			sr_fail(r, "signals: an interval timer on another clock than the process's CPU time");
	}
}

int snap_get_signals(struct sread *r, struct domain *d, uint32_t version)
{
	snap_get_sigstate(r, d->init, version);
	uint32_t n = (uint32_t)sr_range(r, 0, MAX_THREADS, "signals: thread count");
	bool any = false;
	for (int i = 0; i < MAX_THREADS; i++)
		any |= d->threads[i] != NULL;
	/* restore --check builds no threads: records are only validated. */
	struct thread *scratch = any ? NULL : calloc(1, sizeof(*scratch));
	if (!any && !scratch) {
		sr_fail(r, "signals: out of memory");
		return -1;
	}
	for (uint32_t j = 0; j < n && !r->bad; j++) {
		int tid = (int)sr_u32(r);
		struct thread *t = scratch;
		for (int i = 0; i < MAX_THREADS && any; i++)
			if (d->threads[i] && d->threads[i]->tid == tid)
				t = d->threads[i];
		if (!t && !r->bad) {
			sr_fail(r, "signals: state for a thread the image does not have");
			break;
		}
		get_pending(r, &t->sig_pending, t->sig_info, version);
		t->ss_sp = sr_u64(r);
		t->ss_size = sr_u64(r);
		t->ss_flags = sr_u32(r);
		t->saved_sigmask = sr_u64(r);
		t->restore_sigmask = sr_range(r, 0, 1, "signals: mask flag") != 0;
		t->intr.valid = sr_range(r, 0, 1, "signals: interrupted-call flag") != 0;
		t->intr.kind = (int)sr_range(r, 0, 2, "signals: interrupted-call kind");
		t->intr.nr = sr_u64(r);
		t->intr.a1 = sr_u64(r);
		uint32_t fl = version >= 3 ? sr_u32(r) : 0;
		if (!r->bad && (fl & ~(JT_STOP | JT_STOPPED)))
			sr_fail(r, "signals: unknown job-control flags of a thread");
		t->jobctl_stop = fl & JT_STOP;
		t->stopped = fl & JT_STOPPED;
	}
	free(scratch);
	return r->bad ? -1 : 0;
}
