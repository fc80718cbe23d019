/* sys_pidfd.c: process fds — pidfd_open and pidfd_send_signal (waitid's P_PIDFD is in sys_wait.c). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>

#include "domain.h"
#include "files.h"
#include "pidfd.h"
#include "syscall.h"
#include "uaccess.h"

#define PIDFD_NONBLOCK_K            O_NONBLOCK
#define PIDFD_SIGNAL_THREAD         (1U << 0)
#define PIDFD_SIGNAL_THREAD_GROUP   (1U << 1)
#define PIDFD_SIGNAL_PROCESS_GROUP  (1U << 2)
#define PIDFD_SIGNAL_ALL (PIDFD_SIGNAL_THREAD | PIDFD_SIGNAL_THREAD_GROUP | PIDFD_SIGNAL_PROCESS_GROUP)

/*
 * pidfd_open: a pid of the domain's that names a process (a zombie too);
 * ESRCH when there is none, ENOENT for a thread that leads no process (as
 * Linux 6.18 says; older kernels said EINVAL). PIDFD_THREAD (Linux 6.9) is
 * not taken: EINVAL, as before 6.9.
 */
static long sys_pidfd_open(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int pid = (int)a[0], err;
	unsigned int flags = (unsigned int)a[1];
	struct process *p;
	struct ofd *o;

	if (flags & ~(unsigned int)PIDFD_NONBLOCK_K)
		return -EINVAL;
	if (pid <= 0)
		return -EINVAL;
	p = proc_find(d, pid);
	if (!p)
		return thread_find(d, pid) ? -ENOENT : -ESRCH;
	o = pidfd_new(d, pid, (int)flags, p->zombie, false, &err);
	if (!o)
		return err;
	return fd_install(d, o, 0, true);    /* always close-on-exec */
}

/*
 * pidfd_send_signal through the domain's own delivery, in Linux's order:
 * flags (one scope at most), EBADF (also for an fd that is no pidfd), the
 * siginfo (EFAULT; EINVAL unless its si_signo is sig; EPERM for a kernel
 * or tkill si_code unless the caller signals itself), ESRCH once the
 * process is reaped, EINVAL for no signal; a zombie takes it and drops it.
 * The scope is the process, or with PIDFD_SIGNAL_THREAD its first thread,
 * or with PIDFD_SIGNAL_PROCESS_GROUP the group the pid numbers (Linux 6.9).
 */
static long sys_pidfd_send_signal(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int sig = (int)a[1];
	unsigned int flags = (unsigned int)a[3];
	struct ofd *o = fd_peek(d, (int)a[0]);
	struct ksiginfo info;
	bool exited, reaped;

	if ((flags & ~PIDFD_SIGNAL_ALL) || (flags & (flags - 1)))
		return -EINVAL;
	if (!o || a[0] > INT32_MAX)
		return -EBADF;
	int pid = pidfd_target(o, &exited, &reaped);
	if (pid < 0)
		return pid;
	struct process *p = reaped ? NULL : proc_find(d, pid);
	struct thread *leader = p ? thread_find(d, pid) : NULL;
	if (a[2]) {
		if (copy_from_user(d, &info, a[2], sizeof(info)))
			return -EFAULT;
		if (info.signo != sig)
			return -EINVAL;
		/* Only to itself may a program send what looks like the kernel's. */
		if ((leader != t || (flags & PIDFD_SIGNAL_PROCESS_GROUP)) && (info.code >= 0 || info.code == KSI_TKILL))
			return -EPERM;
	} else {
		info = sig_info_user(t->dom, sig, (flags & PIDFD_SIGNAL_THREAD) ? KSI_TKILL : KSI_USER, t->proc->pid);
	}
	if (flags & PIDFD_SIGNAL_PROCESS_GROUP) {
		/* The group the pid numbers (as kill(-pid)), whether or not
		 * its process is still there. */
		bool any = false;
		for (int i = 0; i < MAX_PROCS && !any; i++)
			any = d->procs[i] && d->procs[i]->pgid == pid;
		if (!any)
			return -ESRCH;
		if (sig < 0 || sig > NSIG_K)
			return -EINVAL;
		if (sig)
			sig_send_pgrp(d, pid, &info);
		return 0;
	}
	if (!p)
		return -ESRCH;
	if (sig < 0 || sig > NSIG_K)
		return -EINVAL;
	if (!sig || p->zombie)
		return 0;
	if ((flags & PIDFD_SIGNAL_THREAD) && leader)
		sig_send_thread(leader, &info);
	else if (flags & PIDFD_SIGNAL_THREAD)
		return -ESRCH;  /* its first thread has gone */
	else
		sig_send_process(p, &info);
	return 0;
}

const struct syscall_desc sys_pidfd_table[] = {
	{ SYS_pidfd_open, "pidfd_open", sys_pidfd_open },
	{ SYS_pidfd_send_signal, "pidfd_send_signal", sys_pidfd_send_signal },
	{ -1, NULL, NULL },
};
