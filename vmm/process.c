/* process.c: process records, exit, zombies and reparenting, SIGCHLD, group signals. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "pidfd.h"
#include "procfs.h"
#include "spawn.h"
#include "process.h"

__thread struct process *proc_current;

struct process *proc_cur(struct domain *d)
{
	return proc_current ? proc_current : d->init;
}

int proc_ppid(const struct process *p)
{
	if (p != p->dom->init)
		return p->ppid;
	return p->pid == 1 ? 0 : getppid();
}

struct process *proc_new(struct domain *d, int pid)
{
	int slot = -1;
	for (int i = 0; i < MAX_PROCS && slot < 0; i++)
		if (!d->procs[i])
			slot = i;
	if (slot < 0)
		return NULL;
	struct process *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->dom = d;
	p->pid = p->pgid = p->sid = pid;
	p->exit_signal = SIGCHLD;
	p->dumpable = 1;
	p->spawn_fd = -1;
	d->procs[slot] = p;
	if (!d->init) {
		d->init = p;
		d->fg_pgid = pid;
	}
	return p;
}

struct process *proc_find(struct domain *d, int pid)
{
	for (int i = 0; i < MAX_PROCS; i++)
		if (d->procs[i] && d->procs[i]->pid == pid)
			return d->procs[i];
	return NULL;
}

void proc_free(struct domain *d, struct process *p)
{
	pidfd_reaped(d, p->pid);
	for (int i = 0; i < MAX_PROCS; i++)
		if (d->procs[i] == p)
			d->procs[i] = NULL;
	if (d->init == p)
		d->init = NULL;
	free(p);
}

void proc_wake_waiters(struct domain *d)
{
	for (struct futex_waiter *w = d->futex_waiters; w; w = w->next) {
		if (w->key == FUTEX_KEY_CHILD) {
			w->woken = true;
			pthread_cond_signal(&w->cv);
		}
	}
}

/* pdvm's exit status for the first process's wait status: the code, or
 * 128 + the signal, as a shell reports it. */
static int status_of(int wstatus)
{
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

void proc_exit_group(struct process *p, int wstatus)
{
	struct domain *d = p->dom;
	if (p == d->init) {
		dom_exit_group(d, status_of(wstatus));
		return;
	}
	if (p->exiting)
		return;
	p->exiting = true;
	p->wstatus = wstatus;
	int sig = thread_kick_signal();
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];
		if (!o || o->proc != p)
			continue;
		if (o->waiting)
			pthread_cond_broadcast(&o->waiting->cv);
		if (o->state == VCPU_RUNNING || o->blocked)
			pthread_kill(o->host, sig);
	}
	/* Stopped threads wait there: SIGKILL ends them too. */
	pthread_cond_broadcast(&d->park_cv);
}

/* The parent's view of a child's end: SIGCHLD with CLD_* siginfo, unless
 * the parent ignores SIGCHLD (or set SA_NOCLDWAIT): then no zombie. A
 * process started from outside has its caller for a parent: told through
 * its spawn fd, and no zombie either. */
static bool notify_parent(struct process *p)
{
	struct domain *d = p->dom;
	if (p->spawned) {
		spawn_ended(p);
		return true;
	}
	struct process *pp = proc_find(d, p->ppid);
	if (!pp || pp->zombie)
		return false;
	const struct sigaction_k *sa = &pp->sigactions[SIGCHLD - 1];
	bool autoreap = sa->handler == KSIG_IGN || (sa->flags & 2 /* SA_NOCLDWAIT */);
	if (p->exit_signal) {
		struct ksiginfo i;
		memset(&i, 0, sizeof(i));
		i.signo = p->exit_signal;
		i.code = WIFEXITED(p->wstatus) ? 1 /* CLD_EXITED */ : 2 /* CLD_KILLED */;
		i.kill.pid = p->pid;
		i.kill.uid = cred_uid_out(&d->cred, d->cred.uid);
		/* si_status follows si_uid: the exit code or the signal. */
		int32_t st = WIFEXITED(p->wstatus) ? WEXITSTATUS(p->wstatus) : WTERMSIG(p->wstatus);
		memcpy(i.raw + 8, &st, sizeof(st));
		sig_send_process(pp, &i);
	}
	return autoreap;
}

void proc_last_thread_gone(struct process *p)
{
	struct domain *d = p->dom;
	if (p == d->init) {
		/* The first process's end is the domain's: exit(2) of its last
		 * thread takes this path (exit_group is already exiting). */
		if (!d->exiting)
			dom_exit_group(d, status_of(p->wstatus));
		return;
	}
	if (d->exiting)
		return; /* dom_free releases everything */
	if (p->vfork_parent_waits) {
		p->vfork_parent_waits = false;
		proc_wake_waiters(d);
	}
	procfs_cleanup_dir(p->procfs_dir, true);
	p->procfs_dir[0] = '\0';
	files_put(d, p->files);
	p->files = NULL;
	mm_put(d, p->mm);
	p->mm = NULL;
	memset(p->timers, 0, sizeof(p->timers));
	memset(p->cputimers, 0, sizeof(p->cputimers));
	/* Orphans go to the first process, as to init. */
	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *c = d->procs[i];
		if (!c || c->ppid != p->pid || c == p)
			continue;
		c->ppid = d->init ? d->init->pid : 0;
		if (c->zombie && notify_parent(c))
			proc_free(d, c);
	}
	p->zombie = true;
	ptrace_proc_gone(p);
	pidfd_exited(d, p->pid);
	/* A traced leader's zombie is its tracer's first: the parent hears
	 * of it once the tracer has reaped it (proc_zombie_released). */
	bool tracer_first = p->ptrace_reaper && p->ptrace_reaper != p->ppid;
	if (!tracer_first && notify_parent(p)) {
		proc_free(d, p);
		if (proc_current == p)
			proc_current = NULL;
	}
	proc_wake_waiters(d);
}

void proc_zombie_released(struct process *p)
{
	struct domain *d = p->dom;

	p->ptrace_reaper = 0;
	if (notify_parent(p))
		proc_free(d, p);
	proc_wake_waiters(d);
}

void sig_send_pgrp(struct domain *d, int pgid, const struct ksiginfo *info)
{
	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *p = d->procs[i];
		if (p && p->pgid == pgid)
			sig_send_process(p, info);
	}
}
