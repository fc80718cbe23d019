/* sys_exec.c: execve and execveat — the argument vectors, #! scripts, and the switch to the new program's address space. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "domain.h"
#include "exec_script.h"
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

static int open_exec(struct domain *d, const char *path, char *gpath)
{
	return exec_open(d, AT_FDCWD, path, false, gpath);
}

/* The name of the file host fd `fd` has in its directory (a memfd's is
 * "memfd:NAME"), as Linux takes a task's name from the file's dentry. */
static void file_name(int fd, char *out, size_t len)
{
	char host[PATH_MAX];
	const char *del = " (deleted)";
	struct stat st;
	if (host_fd_path(fd, host, sizeof(host)) < 0) {
		snprintf(out, len, "%d", fd);
		return;
	}
	size_t n = strlen(host), k = strlen(del);
	if (fstat(fd, &st) == 0 && st.st_nlink == 0 && n >= k && !strcmp(host + n - k, del))
		host[n - k] = 0;
	const char *b = strrchr(host, '/'), *name = b ? b + 1 : host;
	size_t m = strnlen(name, len - 1);    /* cut to the buffer, as a task name is */
	memcpy(out, name, m);
	out[m] = '\0';
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
	thread_fpu_reset(t);
	p->execed = true;
}

/* How an exec was asked for (execveat naming the file by an fd). */
#define EXEC_BY_FD      1       /* AT_EMPTY_PATH: the name is the file's own */
#define EXEC_NO_SCRIPT  2       /* path is /dev/fd/N... of a close-on-exec fd */

/* Runs the program open on host fd `fd` (taken over), whose absolute guest
 * path is gpath (a 2 * PATH_MAX buffer; becomes /proc/self/exe), asked for
 * as `path` (AT_EXECFN, a script's argument). */
static long do_execve(struct thread *t, int fd, char *gpath, const char *path, int how, struct strv *argv,
		      struct strv *envp)
{
	struct domain *d = t->dom;
	struct process *p = t->proc;
	static __thread char comm[256];
	char err[512] = "";
	const char *execfn = path;
	char **sargv;
	int r = exec_script_chain(d, &fd, gpath, path, argv->v, how & EXEC_NO_SCRIPT, &sargv);
	if (r < 0)
		return r;
	char *const *args = sargv ? sargv : argv->v;
	/* The name the new program runs under: the basename of what was
	 * asked for, or with AT_EMPTY_PATH the name of the file that runs
	 * (Linux 6.14's comm_from_dentry; a script's interpreter). */
	if (how & EXEC_BY_FD) {
		file_name(fd, comm, sizeof(comm));
	} else {
		const char *name = sargv ? execfn : gpath, *b = strrchr(name, '/');
		snprintf(comm, sizeof(comm), "%.*s", TASK_COMM_LEN - 1, b ? b + 1 : name);
	}
	/* /proc/self/exe is the file that runs, symlinks resolved (a memfd:
	 * /memfd:NAME (deleted)), as Linux's d_path of it. */
	exec_exe_path(d, fd, gpath);
	if (p->nthreads > 1)
		exec_kill_others(t);
	struct mm *old = p->mm, *nm = mm_new(d);
	if (!nm) {
		close(fd);
		exec_argv_free(sargv);
		return -ENOMEM;
	}
	p->mm = nm;
	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	r = elf_load(d, fd, execfn, args, envp->v, &regs, err, sizeof(err));
	close(fd);
	if (r) {
		dom_log(d, "execve %s: %s", gpath, *err ? err : strerror(-r));
		p->mm = old;
		mm_put(d, nm);
		exec_argv_free(sargv);
		return r == -EIO ? -EIO : r == -ENOMEM ? -ENOMEM : r == -ENOENT ? -ENOENT :
		       r == -E2BIG ? -E2BIG : r == -EACCES ? -EACCES : -ENOEXEC;
	}
	/* The point of no return. */
	mm_commit(d);
	exl_attach(t);  /* its entry page and slot in the new address space */
	mm_put(d, old);
	if (p->vfork_parent_waits) {
		p->vfork_parent_waits = false;
		proc_wake_waiters(d);
	}
	files_exec_cloexec(d);
	fs_to_process(t);
	free(p->files->exe);
	p->files->exe = strdup(gpath);
	exec_reset(t);
	thread_set_comm(t, comm);
	regs.rflags = 0x202;
	t->regs = regs;
	t->regs_dirty = true;
	dom_log(d, "process %d: exec %s", p->pid, gpath);
	exec_argv_free(sargv);
	vdso_calibrate(d);
	/* The exec event (or SIGTRAP) of a tracee, in the new program. */
	ptrace_exec(t, t->tid);
	return 0;
}

/* The program execveat names: the file of fd itself (AT_EMPTY_PATH and an
 * empty path), or path relative to the directory fd (or the cwd). *how and
 * execfn (PATH_MAX + 32 bytes) say how it was named: /dev/fd/N[/path] when
 * through an fd, as Linux's bprm->filename. Returns a host fd or -errno. */
static int open_exec_fd(struct domain *d, int dirfd, const char *path, int flags, char *gpath, char *execfn,
			int *how)
{
	int fd;
	*how = 0;
	if (dirfd == AT_FDCWD || path[0] == '/') {
		snprintf(execfn, PATH_MAX + 32, "%s", path);
		return exec_open(d, dirfd, path, flags & AT_SYMLINK_NOFOLLOW, gpath);
	}
	if (path[0]) {
		snprintf(execfn, PATH_MAX + 32, "/dev/fd/%d/%s", dirfd, path);
		fd = exec_open(d, dirfd, path, flags & AT_SYMLINK_NOFOLLOW, gpath);
	} else {
		/* The fd's own file, opened again for reading (also from an
		 * O_PATH fd, as fexecve does). */
		struct ofd *o = fd_peek(d, dirfd);
		snprintf(execfn, PATH_MAX + 32, "/dev/fd/%d", dirfd);
		*how = EXEC_BY_FD;
		if (!o)
			return -EBADF;
		fd = exec_file_ok(path_reopen(o->hostfd, O_RDONLY | O_CLOEXEC));
		snprintf(gpath, 2 * PATH_MAX, "%s", execfn);    /* do_execve finds the file's */
	}
	if (fd_get_cloexec(d, dirfd) > 0)
		*how |= EXEC_NO_SCRIPT;
	return fd;
}

/* execve, and execveat: dirfd, flags (-1: execve's). */
static long exec_common(struct thread *t, int dirfd, uint64_t upath, uint64_t uargv, uint64_t uenvp, int flags)
{
	struct domain *d = t->dom;
	static __thread char path[4096 + 1], execfn[4096 + 32], gpath[2 * 4096];
	int how = 0;
	int r = path_from_user(d, upath, path, flags >= 0 && (flags & AT_EMPTY_PATH));
	if (r < 0)
		return r;
	if (flags >= 0 && (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)))
		return -EINVAL;
	struct strv argv = { 0 }, envp = { 0 };
	r = strv_from_user(d, uargv, &argv);
	if (!r)
		r = strv_from_user(d, uenvp, &envp);
	if (!r)
		r = flags < 0 ? open_exec(d, path, gpath) : open_exec_fd(d, dirfd, path, flags, gpath, execfn, &how);
	if (r >= 0)
		r = (int)do_execve(t, r, gpath, flags < 0 ? path : execfn, how, &argv, &envp);
	strv_free(&argv);
	strv_free(&envp);
	if (!r)
		return (long)t->regs.rax; /* the new program's rax: 0 */
	return r;
}

static long sys_execve(struct thread *t, const uint64_t a[6])
{
	return exec_common(t, AT_FDCWD, a[0], a[1], a[2], -1);
}

static long sys_execveat(struct thread *t, const uint64_t a[6])
{
	return exec_common(t, (int)a[0], a[1], a[2], a[3], (int)a[4]);
}

const struct syscall_desc sys_exec_table[] = {
	{ SYS_execve, "execve", sys_execve },
	{ SYS_execveat, "execveat", sys_execveat },
	{ -1, NULL, NULL },
};
