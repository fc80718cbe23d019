/* sys_fork.c: a new process — fork, vfork, and clone without CLONE_THREAD (proc_clone, which sys_thread.c's clone calls too). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#include "domain.h"
#include "files.h"
#include "syscall.h"
#include "uaccess.h"

#define CLONE_PROC_ALLOWED (CLONE_VM | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID | \
			    CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_PARENT | CLONE_SYSVSEM | \
			    CLONE_FS | 0xff)
/* clone(2)'s namespace flags (CLONE_NEWTIME is clone3's: in clone it is
 * part of the exit signal's byte). */
#define CLONE_NEW_K (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER | \
		     CLONE_NEWPID | CLONE_NEWCGROUP)

/* Waits, the domain lock held, until the vfork child `pid` has exec'd or
 * exited (Linux's wait_for_vfork_done). */
static void vfork_wait(struct thread *t, int pid)
{
	struct domain *d = t->dom;
	struct futex_waiter w = { .bitset = ~0u };
	futex_waiter_link(d, &w, FUTEX_KEY_CHILD);
	t->waiting = &w;
	for (;;) {
		struct process *c = proc_find(d, pid);
		if (!c || !c->vfork_parent_waits || d->exiting || t->proc->exiting)
			break;
		if (d->paused) {
			thread_park(t);
			continue;
		}
		w.woken = false;
		pthread_cond_wait(&w.cv, &d->lock);
	}
	t->waiting = NULL;
	futex_waiter_unlink(d, &w);
}

long proc_clone(struct thread *t, uint64_t flags, gva_t newsp, gva_t ptid, gva_t ctid, gva_t tls)
{
	struct domain *d = t->dom;
	struct process *pp = t->proc;
	int err = 0;

	/* A process in a new namespace is refused as unshare refuses it
	 * (sys_priv.c), after copy_process's checks of the combination. */
	if (flags & CLONE_NEW_K) {
		if ((flags & CLONE_FS) && (flags & (CLONE_NEWNS | CLONE_NEWUSER)))
			return -EINVAL;
		return syscall_refuse(t, SYS_clone, -EPERM, "a new namespace: no CAP_SYS_ADMIN; no user namespace in a chroot");
	}
	if (flags & ~(uint64_t)CLONE_PROC_ALLOWED) {
		dom_log(d, "clone: flags %#llx are not supported for a new process (EINVAL)",
			(unsigned long long)flags);
		return -EINVAL;
	}
	if ((flags & CLONE_SETTLS) && tls >= USER_MAX)
		return -EPERM;
	if ((flags & 0xff) > NSIG_K)
		return -EINVAL;
	int pid = d->next_tid;
	struct process *p = proc_new(d, pid);
	if (!p)
		return -EAGAIN;
	d->next_tid++;
	p->ppid = (flags & CLONE_PARENT) ? pp->ppid : pp->pid;
	p->fork_tid = (flags & CLONE_PARENT) ? 0 : t->tid;
	p->pgid = pp->pgid;
	p->sid = pp->sid;
	p->exit_signal = (int)(flags & 0xff);
	memcpy(p->sigactions, pp->sigactions, sizeof(p->sigactions));
	memcpy(p->rlimits, pp->rlimits, sizeof(p->rlimits));
	p->start_ns = guest_mono_ns(d);
	if (flags & CLONE_VM) {
		p->mm = pp->mm;
		p->mm->users++;
	} else if (!(p->mm = mm_fork(d, pp->mm, &err))) {
		proc_free(d, p);
		return err;
	}
	if (!(p->files = files_clone(pp->files))) {
		mm_put(d, p->mm);
		proc_free(d, p);
		return -ENOMEM;
	}
	if (t->fs) {
		/* The calling thread's own directory and umask are the child's. */
		int h = fcntl(t->fs->cwdfd, F_DUPFD_CLOEXEC, 0);
		if (h >= 0) {
			close(p->files->cwdfd);
			p->files->cwdfd = h;
		}
		p->files->umask = t->fs->umask;
	}
	struct thread *c = thread_create(d, &err);
	if (!c)
		goto fail;
	c->proc->nthreads--;
	c->proc = p;
	p->nthreads++;
	c->tid = pid;
	/* fork keeps the altstack; a CLONE_VM child without CLONE_VFORK loses
	 * it (it would share the parent's). */
	if (!(flags & CLONE_VM) || (flags & CLONE_VFORK)) {
		c->ss_sp = t->ss_sp, c->ss_size = t->ss_size, c->ss_flags = t->ss_flags;
	} else {
		c->ss_flags = KSS_DISABLE;
	}
	if ((err = clone_cpu_state(t, c, flags, newsp, tls)))
		goto fail_thread;
	uint32_t tid = (uint32_t)pid;
	if ((flags & CLONE_PARENT_SETTID) && copy_to_user(d, ptid, &tid, 4)) {
		err = -EFAULT;
		goto fail_thread;
	}
	if (flags & CLONE_CHILD_SETTID) {
		/* In the child's memory: switch the uaccess view over. */
		proc_current = p;
		int r = copy_to_user(d, ctid, &tid, 4);
		proc_current = pp;
		if (r) {
			err = -EFAULT;
			goto fail_thread;
		}
	}
	if (flags & CLONE_CHILD_CLEARTID)
		c->clear_child_tid = ctid;
	if (flags & CLONE_VFORK)
		p->vfork_parent_waits = true;
	/* A tracer that follows forks has the child from its start. */
	int ev = ptrace_clone(t, c, flags);
	if ((err = thread_start(c)))
		goto fail_thread;
	dom_log(d, "process %d: %s child %d", pp->pid, (flags & CLONE_VFORK) ? "vfork" : "fork", pid);
	if (ev)
		ptrace_event(t, ev, (uint64_t)pid);
	if (flags & CLONE_VFORK) {
		vfork_wait(t, pid);
		ptrace_event(t, PT_EVENT_VFORK_DONE, (uint64_t)pid);
	}
	return pid;
fail_thread:
	clone_abort(c);
	p->nthreads = 0;
fail:
	files_put(d, p->files);
	mm_put(d, p->mm);
	proc_free(d, p);
	return err;
}

static long sys_fork(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return proc_clone(t, SIGCHLD, 0, 0, 0, 0);
}

static long sys_vfork(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return proc_clone(t, CLONE_VM | CLONE_VFORK | SIGCHLD, 0, 0, 0, 0);
}

const struct syscall_desc sys_fork_table[] = {
	{ SYS_fork, "fork", sys_fork },
	{ SYS_vfork, "vfork", sys_vfork },
	{ -1, NULL, NULL },
};
