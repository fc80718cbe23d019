/* sys_proc.c: process ids, process groups and sessions (fork, exec and wait are sys_fork.c, sys_exec.c, sys_wait.c). */
#include <errno.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "domain.h"
#include "syscall.h"

static long sys_getpid(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return t->proc->pid;
}

static long sys_getppid(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return proc_ppid(t->proc);
}

static struct process *proc_arg(struct thread *t, int pid)
{
	return pid == 0 ? t->proc : pid > 0 ? proc_find(t->dom, pid) : NULL;
}

static long sys_getpgid(struct thread *t, const uint64_t a[6])
{
	struct process *p = proc_arg(t, (int)a[0]);
	return p ? p->pgid : -ESRCH;
}

static long sys_getpgrp(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return t->proc->pgid;
}

static long sys_getsid(struct thread *t, const uint64_t a[6])
{
	struct process *p = proc_arg(t, (int)a[0]);
	return p ? p->sid : -ESRCH;
}

static long sys_setpgid(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int pid = (int)a[0], pgid = (int)a[1];
	if (pgid < 0)
		return -EINVAL;
	struct process *p = proc_arg(t, pid);
	if (!p || (p != t->proc && p->ppid != t->proc->pid) || p->zombie)
		return -ESRCH;
	if (p != t->proc) {
		if (p->sid != t->proc->sid)
			return -EPERM;
		if (p->execed)
			return -EACCES;
	}
	if (pgid == p->pgid || (!pgid && p->pgid == p->pid))
		return 0;
	if (p->sid == p->pid)
		return -EPERM; /* a session leader */
	if (!pgid)
		pgid = p->pid;
	if (pgid != p->pid) {
		bool found = false;
		for (int i = 0; i < MAX_PROCS && !found; i++)
			found = d->procs[i] && d->procs[i]->pgid == pgid && d->procs[i]->sid == t->proc->sid &&
				!d->procs[i]->zombie;
		if (!found)
			return -EPERM;
	}
	p->pgid = pgid;
	return 0;
}

static long sys_setsid(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	(void)a;
	for (int i = 0; i < MAX_PROCS; i++)
		if (d->procs[i] && d->procs[i]->pgid == t->proc->pid)
			return -EPERM; /* already a group leader (or its id is in use) */
	t->proc->sid = t->proc->pgid = t->proc->pid;
	return t->proc->pid;
}

const struct syscall_desc sys_proc_table[] = {
	{ SYS_getpid, "getpid", sys_getpid },
	{ SYS_getppid, "getppid", sys_getppid },
	{ SYS_getpgid, "getpgid", sys_getpgid },
	{ SYS_getpgrp, "getpgrp", sys_getpgrp },
	{ SYS_getsid, "getsid", sys_getsid },
	{ SYS_setpgid, "setpgid", sys_setpgid },
	{ SYS_setsid, "setsid", sys_setsid },
	{ -1, NULL, NULL },
};
