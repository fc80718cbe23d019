/* sys_proc.c: processes — fork/vfork/clone of a process, execve, wait4/waitid, ids, groups and sessions. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "loader.h"
#include "syscall.h"
#include "trap.h"
#include "uaccess.h"
#include "vdso.h"

#define MAX_ARG_STRLEN  (32 * 4096)      /* Linux's per-string limit */
#define MAX_ARG_TOTAL   (2 * 1024 * 1024) /* a quarter of the 8 MiB stack */
#define MAX_ARG_COUNT   0x7fffffff
#define KSS_DISABLE_VAL 2

/* ---- fork, vfork, clone without CLONE_VM|CLONE_THREAD ---- */

#define CLONE_PROC_ALLOWED (CLONE_VM | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID | \
			    CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_PARENT | CLONE_SYSVSEM | \
			    CLONE_FS | 0xff)

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
		c->ss_flags = KSS_DISABLE_VAL;
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
	if ((err = thread_start(c)))
		goto fail_thread;
	dom_log(d, "process %d: %s child %d", pp->pid, (flags & CLONE_VFORK) ? "vfork" : "fork", pid);
	if (flags & CLONE_VFORK)
		vfork_wait(t, pid);
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

/* ---- execve ---- */

struct strv {
	char **v;
	int n;
	size_t bytes;
};

static void strv_free(struct strv *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int strv_push(struct strv *s, const char *str)
{
	char **nv = realloc(s->v, (size_t)(s->n + 2) * sizeof(char *));
	if (!nv)
		return -ENOMEM;
	s->v = nv;
	if (!(s->v[s->n] = strdup(str)))
		return -ENOMEM;
	s->bytes += strlen(str) + 1 + sizeof(char *);
	s->n++;
	s->v[s->n] = NULL;
	return 0;
}

/* Copies a guest argv/envp array (NULL: empty), as copy_strings does. */
static int strv_from_user(struct domain *d, gva_t uv, struct strv *s)
{
	static __thread char buf[MAX_ARG_STRLEN];
	for (int i = 0; uv; i++) {
		uint64_t p;
		if (copy_from_user(d, &p, uv + (uint64_t)i * 8, 8))
			return -EFAULT;
		if (!p)
			break;
		long n = strncpy_from_user(d, buf, p, sizeof(buf));
		if (n == -ENAMETOOLONG)
			return -E2BIG;
		if (n < 0)
			return (int)n;
		int r = strv_push(s, buf);
		if (r)
			return r;
		if (s->bytes > MAX_ARG_TOTAL || s->n >= MAX_ARG_COUNT)
			return -E2BIG;
	}
	if (!s->v)
		return strv_push(s, "") ? -ENOMEM : (free(s->v[0]), s->n = 0, s->v[0] = NULL, 0);
	return 0;
}

/* Opens an executable inside the root: -EACCES unless a regular file with
 * an execute bit. *gpath gets the absolute guest path. */
static int open_exec(struct domain *d, const char *path, char *gpath)
{
	int fd = path_open(d, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0, gpath);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		close(fd);
		return -EACCES;
	}
	return fd;
}

/* "#!interp [arg]": the interpreter and its argument, as binfmt_script
 * parses them. 1 if the file is a script, 0 if not, or -errno. */
static int parse_shebang(int fd, char *interp, size_t ilen, char *arg, size_t alen)
{
	char b[256 + 1];
	ssize_t n = pread(fd, b, sizeof(b) - 1, 0);
	if (n < 0)
		return -EIO;
	if (n < 2 || b[0] != '#' || b[1] != '!')
		return 0;
	b[n] = 0;
	char *e = strchr(b, '\n');
	if (e)
		*e = 0;
	char *s = b + 2;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return -ENOEXEC;
	char *end = s + strcspn(s, " \t");
	char *a = end;
	if (*a) {
		*a++ = 0;
		while (*a == ' ' || *a == '\t')
			a++;
		size_t l = strlen(a);
		while (l && (a[l - 1] == ' ' || a[l - 1] == '\t'))
			a[--l] = 0;
	}
	if (strlen(s) >= ilen || strlen(a) >= alen)
		return -ENAMETOOLONG;
	strcpy(interp, s);
	strcpy(arg, a);
	return 1;
}

/* Ends the other threads of t's process (de_thread) and waits for them. */
static void exec_kill_others(struct thread *t)
{
	struct domain *d = t->dom;
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *o = d->threads[i];
		if (o && o != t && o->proc == t->proc && !o->exited) {
			o->exited = true;
			sig_wake(o);
		}
	}
	while (t->proc->nthreads > 1 && !d->exiting)
		pthread_cond_wait(&d->done_cv, &d->lock);
}

/* The state a new program starts with (flush_old_exec / setup_new_exec). */
static void exec_reset(struct thread *t)
{
	struct process *p = t->proc;
	for (int i = 0; i < 64; i++) {
		if (p->sigactions[i].handler != KSIG_IGN)
			memset(&p->sigactions[i], 0, sizeof(p->sigactions[i]));
	}
	memset(&p->timers[1], 0, sizeof(p->timers) - sizeof(p->timers[0])); /* POSIX timers go */
	t->ss_sp = t->ss_size = 0;
	t->ss_flags = KSS_DISABLE_VAL;
	t->clear_child_tid = 0;
	t->robust_list = 0;
	t->robust_len = 0;
	t->fs_base = t->gs_base = 0;
	t->sregs_dirty = true;
	t->restart.valid = false;
	t->intr.valid = false;
	struct kvm_fpu fpu;
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	ioctl(t->vcpu.fd, KVM_SET_FPU, &fpu);
	p->execed = true;
}

static long do_execve(struct thread *t, const char *path, struct strv *argv, struct strv *envp)
{
	struct domain *d = t->dom;
	struct process *p = t->proc;
	static __thread char gpath[2 * 4096], ipath[2 * 4096], interp[256], iarg[256];
	char err[512] = "";
	int fd = open_exec(d, path, gpath);
	if (fd < 0)
		return fd;
	int sb = parse_shebang(fd, interp, sizeof(interp), iarg, sizeof(iarg));
	if (sb < 0) {
		close(fd);
		return sb;
	}
	const char *execfn = path;
	struct strv nargv = { 0 };
	if (sb) {
		/* argv becomes: interp [arg] path argv[1..]. */
		int ifd = open_exec(d, interp, ipath);
		close(fd);
		if (ifd < 0)
			return ifd == -EACCES ? -EACCES : ifd == -ENOENT ? -ENOENT : ifd;
		fd = ifd;
		int r = strv_push(&nargv, interp);
		if (!r && *iarg)
			r = strv_push(&nargv, iarg);
		if (!r)
			r = strv_push(&nargv, path);
		for (int i = 1; !r && i < argv->n; i++)
			r = strv_push(&nargv, argv->v[i]);
		if (r) {
			close(fd);
			strv_free(&nargv);
			return r;
		}
		argv = &nargv;
		snprintf(gpath, sizeof(gpath), "%s", ipath);
		char probe[4];
		if (pread(fd, probe, 2, 0) == 2 && probe[0] == '#' && probe[1] == '!') {
			close(fd);
			strv_free(&nargv);
			return -ENOEXEC; /* one level of interpreter is enough here */
		}
	}
	if (p->nthreads > 1)
		exec_kill_others(t);
	struct mm *old = p->mm, *nm = mm_new(d);
	if (!nm) {
		close(fd);
		strv_free(&nargv);
		return -ENOMEM;
	}
	p->mm = nm;
	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	int r = elf_load(d, fd, execfn, argv->v, envp->v, &regs, err, sizeof(err));
	close(fd);
	if (r) {
		dom_log(d, "execve %s: %s", gpath, *err ? err : strerror(-r));
		p->mm = old;
		mm_put(d, nm);
		strv_free(&nargv);
		return r == -EIO ? -EIO : r == -ENOMEM ? -ENOMEM : r == -ENOENT ? -ENOENT :
		       r == -E2BIG ? -E2BIG : r == -EACCES ? -EACCES : -ENOEXEC;
	}
	/* The point of no return. */
	mm_commit(d);
	mm_put(d, old);
	if (p->vfork_parent_waits) {
		p->vfork_parent_waits = false;
		proc_wake_waiters(d);
	}
	files_exec_cloexec(d);
	free(p->files->exe);
	p->files->exe = strdup(gpath);
	exec_reset(t);
	thread_set_comm(t, sb ? execfn : gpath);
	regs.rflags = 0x202;
	t->regs = regs;
	t->regs_dirty = true;
	dom_log(d, "process %d: exec %s", p->pid, gpath);
	strv_free(&nargv);
	vdso_calibrate(d);
	return 0;
}

static long sys_execve(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	static __thread char path[4096 + 1];
	int r = path_from_user(d, a[0], path, false);
	if (r < 0)
		return r;
	struct strv argv = { 0 }, envp = { 0 };
	r = strv_from_user(d, a[1], &argv);
	if (!r)
		r = strv_from_user(d, a[2], &envp);
	if (!r)
		r = (int)do_execve(t, path, &argv, &envp);
	strv_free(&argv);
	strv_free(&envp);
	if (!r)
		return (long)t->regs.rax; /* the new program's rax: 0 */
	return r;
}

static long sys_execveat(struct thread *t, const uint64_t a[6])
{
	if (a[4] & ~(uint64_t)(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -EINVAL;
	if ((int)a[0] != AT_FDCWD) {
		dom_log(t->dom, "execveat with a directory fd: not supported (ENOSYS)");
		return -ENOSYS;
	}
	uint64_t b[6] = { a[1], a[2], a[3], 0, 0, 0 };
	return sys_execve(t, b);
}

/* ---- wait4, waitid ---- */

#define KWNOHANG    1
#define KWUNTRACED  2
#define KWEXITED    4
#define KWCONTINUED 8
#define KWNOWAIT    0x01000000
#define KWNOTHREAD  0x20000000
#define KWALL       0x40000000
#define KWCLONE     0x80000000

enum { WHICH_PID, WHICH_PGID, WHICH_ALL };

/* Looks for a child of t's process matching (which, id). Returns a zombie
 * to reap, or NULL with *any saying whether a matching child exists. */
static struct process *find_child(struct thread *t, int which, int id, bool *any)
{
	struct domain *d = t->dom;
	*any = false;
	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *c = d->procs[i];
		if (!c || c == t->proc || c->ppid != t->proc->pid)
			continue;
		if ((which == WHICH_PID && c->pid != id) || (which == WHICH_PGID && c->pgid != id))
			continue;
		*any = true;
		if (c->zombie)
			return c;
	}
	return NULL;
}

/* The wait loop shared by wait4 and waitid: a zombie, or NULL with
 * *ret set (-ECHILD, 0 for WNOHANG, or a restart). */
static struct process *wait_child(struct thread *t, int which, int id, int options, long *ret)
{
	struct domain *d = t->dom;
	bool any;
	struct process *c = find_child(t, which, id, &any);
	if (c || !any || (options & KWNOHANG)) {
		*ret = any ? 0 : -ECHILD;
		return c;
	}
	struct futex_waiter w = { .bitset = ~0u };
	futex_waiter_link(d, &w, FUTEX_KEY_CHILD);
	t->waiting = &w;
	for (;;) {
		if (d->exiting || t->proc->exiting || t->exited) {
			*ret = -EINTR;
			break;
		}
		if (d->paused || sig_deliverable(t)) {
			*ret = -ERESTART_SYSCALL; /* a handler decides EINTR vs restart */
			break;
		}
		w.woken = false;
		pthread_cond_wait(&w.cv, &d->lock);
		if ((c = find_child(t, which, id, &any)) || !any) {
			*ret = any ? 0 : -ECHILD;
			break;
		}
	}
	t->waiting = NULL;
	futex_waiter_unlink(d, &w);
	return c;
}

static int put_rusage(struct domain *d, gva_t ru)
{
	static const uint8_t zero[144];
	return ru && copy_to_user(d, ru, zero, sizeof(zero)) ? -EFAULT : 0;
}

static long sys_wait4(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int pid = (int)a[0], options = (int)a[2];
	if (options & ~(KWNOHANG | KWUNTRACED | KWCONTINUED | KWNOTHREAD | KWALL | KWCLONE))
		return -EINVAL;
	if (pid == INT32_MIN)
		return -ESRCH;
	int which = pid > 0 ? WHICH_PID : pid == -1 ? WHICH_ALL : WHICH_PGID;
	int id = pid > 0 ? pid : pid == 0 ? t->proc->pgid : -pid;
	long ret;
	struct process *c = wait_child(t, which, id, options, &ret);
	if (!c)
		return ret;
	int32_t st = c->wstatus;
	if ((a[1] && copy_to_user(d, a[1], &st, 4)) || put_rusage(d, a[3]))
		return -EFAULT;
	int cpid = c->pid;
	proc_free(d, c);
	return cpid;
}

static long sys_waitid(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int idtype = (int)a[0], id = (int)a[1], options = (int)a[3];
	if (options & ~(KWNOHANG | KWUNTRACED | KWEXITED | KWCONTINUED | KWNOWAIT | KWNOTHREAD | KWALL | KWCLONE))
		return -EINVAL;
	if (!(options & (KWEXITED | KWUNTRACED | KWCONTINUED)))
		return -EINVAL;
	int which;
	switch (idtype) {
	case P_ALL: which = WHICH_ALL; break;
	case P_PID: which = WHICH_PID; if (id <= 0) return -EINVAL; break;
	case P_PGID: which = WHICH_PGID; if (id < 0) return -EINVAL; if (!id) id = t->proc->pgid; break;
	default: return -EINVAL;
	}
	long ret = 0;
	struct process *c = (options & KWEXITED) ? wait_child(t, which, id, options, &ret) : NULL;
	if (!(options & KWEXITED)) {
		/* No stopped or continued children ever: only WNOHANG returns. */
		bool any;
		find_child(t, which, id, &any);
		if (!any)
			return -ECHILD;
		if (!(options & KWNOHANG))
			return -ECHILD;
	}
	struct ksiginfo i;
	memset(&i, 0, sizeof(i));
	if (c) {
		i.signo = SIGCHLD;
		i.code = WIFEXITED(c->wstatus) ? 1 : 2;
		i.kill.pid = c->pid;
		i.kill.uid = (uint32_t)getuid();
		int32_t st = WIFEXITED(c->wstatus) ? WEXITSTATUS(c->wstatus) : WTERMSIG(c->wstatus);
		memcpy(i.raw + 8, &st, sizeof(st));
	} else if (ret < 0) {
		return ret;
	}
	if ((a[2] && copy_to_user(d, a[2], &i, sizeof(i))) || put_rusage(d, a[4]))
		return -EFAULT;
	if (c && !(options & KWNOWAIT))
		proc_free(d, c);
	return 0;
}

/* ---- ids, process groups, sessions ---- */

static long sys_getpid(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return t->proc->pid;
}

/* The first process's parent is the pdvm process's own: a shell that ran
 * pdvm sees its child's getppid() return the shell's pid, as natively. */
static long sys_getppid(struct thread *t, const uint64_t a[6])
{
	(void)a;
	return t->proc == t->dom->init ? getppid() : t->proc->ppid;
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
	{ SYS_fork, "fork", sys_fork },
	{ SYS_vfork, "vfork", sys_vfork },
	{ SYS_execve, "execve", sys_execve },
	{ SYS_execveat, "execveat", sys_execveat },
	{ SYS_wait4, "wait4", sys_wait4 },
	{ SYS_waitid, "waitid", sys_waitid },
	{ SYS_getpid, "getpid", sys_getpid },
	{ SYS_getppid, "getppid", sys_getppid },
	{ SYS_getpgid, "getpgid", sys_getpgid },
	{ SYS_getpgrp, "getpgrp", sys_getpgrp },
	{ SYS_getsid, "getsid", sys_getsid },
	{ SYS_setpgid, "setpgid", sys_setpgid },
	{ SYS_setsid, "setsid", sys_setsid },
	{ -1, NULL, NULL },
};
