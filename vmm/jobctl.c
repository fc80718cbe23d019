/* jobctl.c: job control — group stops, SIGCONT, CLD_STOPPED/CLD_CONTINUED to the parent — as Linux's kernel/signal.c does it. */
#include <signal.h>
#include <string.h>

#include "domain.h"
#include "jobctl.h"
#include "ktimer.h"

/*
 * The state is Linux's, as plain data the images carry:
 *   thread  jobctl_stop  must join the group stop (JOBCTL_STOP_PENDING)
 *           stopped      joined it: waits (parked) for SIGCONT or the end
 *   process stopped      every thread has joined (SIGNAL_STOP_STOPPED)
 *           stop_sig     the stop's signal, until wait reports it
 *                        (group_exit_code)
 *           continued    resumed by SIGCONT, until wait reports it
 *                        (SIGNAL_STOP_CONTINUED)
 * Every change happens with the domain lock held. The parent is told at
 * once where Linux has the continued child tell it when it next runs.
 *
 * Not done: SIGTTIN and SIGTTOU for terminal I/O of a background group
 * (pdvm does not check a group's terminal access: they are only ever sent
 * by kill), and SIGHUP+SIGCONT to a process group with stopped members
 * that becomes orphaned (kill_orphaned_pgrp).
 */

#define KSA_NOCLDSTOP 1ULL
#define STOP_SIGS (SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU))

bool jobctl_is_stop(int sig)
{
	return sig >= 1 && sig <= NSIG_K && (STOP_SIGS & SIGBIT(sig));
}

/* The threads of p, live ones only. */
#define for_each_thread_of(d, p, o)                                            \
	for (int i_ = 0; i_ < MAX_THREADS; i_++)                               \
		if (((o) = (d)->threads[i_]) && (o)->proc == (p) && !(o)->exited)

void jobctl_sigchld(struct process *to, int code, int pid, int32_t status)
{
	const struct sigaction_k *sa = &to->sigactions[SIGCHLD - 1];

	if (sa->handler != KSIG_IGN && !(sa->flags & KSA_NOCLDSTOP)) {
		struct ksiginfo i;
		memset(&i, 0, sizeof(i));
		i.signo = SIGCHLD;
		i.code = code;
		i.kill.pid = pid;
		i.kill.uid = cred_uid_out(&to->dom->cred, to->dom->cred.uid);
		/* si_status follows si_uid. */
		memcpy(i.raw + 8, &status, sizeof(status));
		sig_send_process(to, &i);
	}
}

/* do_notify_parent_cldstop: SIGCHLD unless the parent ignores it or set
 * SA_NOCLDSTOP; its waits wake up either way. The first process's parent
 * is outside the domain: nobody to tell. */
static void notify_parent(struct process *p, int why)
{
	struct domain *d = p->dom;
	struct process *pp = proc_find(d, p->ppid);

	if (!pp || pp == p || pp->zombie)
		return;
	/* The status: the stop's signal, or SIGCONT. */
	jobctl_sigchld(pp, why, p->pid, why == CLD_CONTINUED ? SIGCONT : p->stop_sig & 0x7f);
	proc_wake_waiters(d);
}

void jobctl_prepare(struct process *p, int sig)
{
	struct domain *d = p->dom;
	struct thread *o;

	if (p->zombie || p->exiting)
		return;
	if (jobctl_is_stop(sig)) {
		p->sig_pending &= ~SIGBIT(SIGCONT);
		for_each_thread_of(d, p, o)
			o->sig_pending &= ~SIGBIT(SIGCONT);
		return;
	}
	if (sig != SIGCONT)
		return;
	bool stopping = false;
	p->sig_pending &= ~STOP_SIGS;
	for_each_thread_of(d, p, o) {
		o->sig_pending &= ~STOP_SIGS;
		stopping |= o->jobctl_stop;
		o->jobctl_stop = false;
		o->stopped = false;
	}
	/* A stop still under way counts as done and continued; SIGCHLD does
	 * not queue, so Linux reports only its CLD_STOPPED (with status 0). */
	int why = p->stopped ? CLD_CONTINUED : stopping ? CLD_STOPPED : 0;
	if (why) {
		p->stopped = false;
		p->continued = true;
		p->stop_sig = 0;
		notify_parent(p, why);
	}
	ptrace_continued(p);
	pthread_cond_broadcast(&d->park_cv);
}

/* will_become_orphaned_pgrp: no member has a parent in another group of
 * the same session. The first process leads a session of its own, and its
 * parent is outside the domain: no link through it. */
static bool pgrp_orphaned(struct domain *d, int pgid)
{
	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *q = d->procs[i];
		if (!q || q->pgid != pgid || q->zombie)
			continue;
		struct process *pp = proc_find(d, q->ppid);
		if (pp && pp != q && pp->pgid != pgid && pp->sid == q->sid)
			return false;
	}
	return true;
}

bool jobctl_stop_begin(struct thread *t, int sig)
{
	struct process *p = t->proc;
	struct domain *d = t->dom;
	struct thread *o;

	if (sig != SIGSTOP && pgrp_orphaned(d, p->pgid))
		return false;
	if (!p->stopped)
		p->stop_sig = sig;
	for_each_thread_of(d, p, o) {
		if (o->stopped || o->jobctl_stop)
			continue;
		o->jobctl_stop = true;
		if (o != t)
			sig_wake(o);
	}
	/* The signal thread re-kicks those the first kick missed. */
	sig_thread_poke(d);
	return true;
}

/* The last thread to join (or to leave) completes the stop. */
static void stop_complete(struct process *p)
{
	struct domain *d = p->dom;
	struct thread *o;

	for_each_thread_of(d, p, o)
		if (o->jobctl_stop)
			return;
	if (p->stopped)
		return;
	p->stopped = true;
	p->continued = false;
	notify_parent(p, CLD_STOPPED);
}

void jobctl_stop_join(struct thread *t)
{
	if (!t->jobctl_stop)
		return;
	t->jobctl_stop = false;
	t->stopped = true;
	sig_settle_for_stop(t);
	stop_complete(t->proc);
}

void jobctl_thread_gone(struct thread *t)
{
	struct process *p = t->proc;

	if (!t->jobctl_stop)
		return;
	t->jobctl_stop = false;
	/* A whole process that goes reports its end, not a stop. */
	if (!p || p->exiting || t->dom->exiting || p->nthreads <= 1)
		return;
	stop_complete(p);
}

char jobctl_state(const struct process *p)
{
	if (p->zombie)
		return 'Z';
	const struct thread *m = thread_find(p->dom, p->pid);
	if (m && m->proc == p)
		return m->stopped ? 'T' : 'R';
	return p->stopped ? 'T' : 'R';
}
