/* sys_exec.c: execve and execveat — the argument vectors, #! scripts, and the switch to the new program's address space. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "loader.h"
#include "syscall.h"
#include "uaccess.h"
#include "vdso.h"

#define MAX_ARG_STRLEN  (32 * 4096)      /* Linux's per-string limit */
#define MAX_ARG_TOTAL   (2 * 1024 * 1024) /* a quarter of the 8 MiB stack */
#define MAX_ARG_COUNT   0x7fffffff

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
	t->ss_flags = KSS_DISABLE;
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

const struct syscall_desc sys_exec_table[] = {
	{ SYS_execve, "execve", sys_execve },
	{ SYS_execveat, "execveat", sys_execveat },
	{ -1, NULL, NULL },
};
