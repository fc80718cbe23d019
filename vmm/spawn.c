/* spawn.c: a process started in a running domain from outside it — its own address space, files and stdio, no parent inside, its end told to whoever started it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "exec_script.h"
#include "files.h"
#include "spawn.h"
#include "trap.h"
#include "vdso.h"

static void close_req(struct spawn_req *rq)
{
	for (int i = 0; i < 3; i++)
		if (rq->stdio[i] >= 0)
			close(rq->stdio[i]);
	if (rq->notify_fd >= 0)
		close(rq->notify_fd);
	rq->stdio[0] = rq->stdio[1] = rq->stdio[2] = rq->notify_fd = -1;
}

/* p's fd table: the first process's root and writable paths, no open
 * files but rq's stdio, and rq's working directory (looked up with the
 * domain's permissions). */
static int spawn_files(struct domain *d, struct process *p, struct spawn_req *rq, char *err, size_t errlen)
{
	static const char *const names[] = { "exec:stdin", "exec:stdout", "exec:stderr" };
	if (!(p->files = files_clone(d->init->files))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct files *f = p->files;
	for (int fd = 0; fd < f->nfds; fd++) {
		ofd_put(f->fds[fd].ofd);
		f->fds[fd].ofd = NULL;
	}
	f->umask = 022;
	int cwd = path_open_root(f, rq->cwd, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (cwd < 0) {
		snprintf(err, errlen, "cwd %s: %s", rq->cwd, strerror(-cwd));
		return cwd;
	}
	close(f->cwdfd);
	f->cwdfd = cwd;
	for (int i = 0; i < 3; i++) {
		int h = rq->stdio[i];
		if (h < 0)
			continue;
		rq->stdio[i] = -1;
		int fl = fcntl(h, F_GETFL);
		/* Not the domain's own stdio (OFD_STDIO): a snapshot must not
		 * take them for the restoring pdvm's. */
		struct ofd *o = ofd_new(h, fl < 0 ? (i ? O_WRONLY : O_RDONLY) : fl, OFD_OTHER, names[i]);
		if (!o || fd_install_at(d, o, i, false) < 0) {
			ofd_put(o);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	}
	return 0;
}

/* Loads the program into p's new address space for its first thread t,
 * as the domain's first program is loaded. */
static int spawn_load(struct domain *d, struct thread *t, struct spawn_req *rq, char *err, size_t errlen)
{
	char *path = NULL;
	int r = exec_load_first(d, t, rq->argv[0], rq->argv, rq->envp, &path, err, errlen);
	if (!r)
		thread_set_comm(t, path);
	free(path);
	return r;
}

/* The part of a spawn done as the domain: on a thread of its own that
 * takes the domain's identity and ends with it, since pdvm's own threads
 * may lower their identity but never raise it again (vmm/vfilter.c). */
struct spawn_work {
	struct domain *d;
	struct process *p;
	struct thread *t;
	struct spawn_req *rq;
	char *err;
	size_t errlen;
	int r;
};

static void *spawn_as_domain(void *arg)
{
	struct spawn_work *w = arg;
	proc_current = w->p;
	int r = cred_enter(&w->d->cred);
	if (r)
		snprintf(w->err, w->errlen, "taking the domain's identity: %s", strerror(-r));
	if (!r)
		r = spawn_files(w->d, w->p, w->rq, w->err, w->errlen);
	if (!r)
		r = spawn_load(w->d, w->t, w->rq, w->err, w->errlen);
	w->r = r;
	return NULL;
}

int dom_spawn(struct domain *d, struct spawn_req *rq, char *err, size_t errlen)
{
	struct process *saved = proc_current, *p = NULL;
	struct thread *t = NULL;
	int r;
	dom_lock(d);
	if (!d->started || d->exiting || !d->init) {
		snprintf(err, errlen, "the domain is not running");
		r = -ESRCH;
		goto out;
	}
	if (d->paused) {
		/* As runc: a frozen container takes no new process. */
		snprintf(err, errlen, "the domain is paused");
		r = -EBUSY;
		goto out;
	}
	int pid = d->next_tid;
	if (!(p = proc_new(d, pid))) {
		snprintf(err, errlen, "the domain's process table is full");
		r = -EAGAIN;
		goto out;
	}
	d->next_tid++;
	p->ppid = 0;
	p->exit_signal = 0;
	p->spawned = true;
	p->start_ns = guest_mono_ns(d);
	p->no_new_privs = true;
	proc_current = p;
	rlimits_setup(d);
	if (!(p->mm = mm_new(d))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}
	if (!(t = thread_create(d, &r))) {
		snprintf(err, errlen, "a thread for it: %s", strerror(-r));
		goto fail;
	}
	t->tid = pid;
	if ((r = trap_vcpu_init(d, t))) {
		snprintf(err, errlen, "its vCPU: %s", strerror(-r));
		goto fail;
	}
	/* A vCPU from the pool holds its last user's FPU state. */
	thread_fpu_reset(t);
	struct spawn_work w = { .d = d, .p = p, .t = t, .rq = rq, .err = err, .errlen = errlen };
	pthread_t h;
	if ((r = -pthread_create(&h, NULL, spawn_as_domain, &w))) {
		snprintf(err, errlen, "pthread_create: %s", strerror(-r));
		goto fail;
	}
	pthread_join(h, NULL);
	if ((r = w.r))
		goto fail;
	t->regs_dirty = true;
	mm_commit(d);
	vdso_calibrate(d);
	p->spawn_fd = rq->notify_fd;
	rq->notify_fd = -1;
	if ((r = thread_start(t))) {
		snprintf(err, errlen, "pthread_create: %s", strerror(-r));
		rq->notify_fd = p->spawn_fd; /* close_req closes it */
		p->spawn_fd = -1;
		goto fail;
	}
	dom_log(d, "process %d: started from outside: %s", pid, p->files->exe ? p->files->exe : rq->argv[0]);
	r = pid;
	goto out;
fail:
	if (t)
		clone_abort(t);
	if (p) {
		p->nthreads = 0;
		files_put(d, p->files);
		if (p->mm)
			mm_put(d, p->mm);
		proc_free(d, p);
	}
	dom_log(d, "exec from outside: %s", err);
out:
	proc_current = saved;
	dom_unlock(d);
	close_req(rq);
	return r;
}

int dom_spawn_signal(struct domain *d, int pid, int sig)
{
	dom_lock(d);
	struct process *p = proc_find(d, pid);
	int r = -ESRCH;
	if (p && p->spawned && !p->zombie && !p->exiting) {
		struct ksiginfo i = sig_info_user(d, sig, KSI_USER, 0);
		sig_send_process(p, &i);
		r = 0;
	}
	dom_unlock(d);
	return r;
}

void spawn_ended(struct process *p)
{
	if (p->spawn_fd < 0)
		return;
	int st = p->wstatus;
	if (write(p->spawn_fd, &st, sizeof(st)) != (ssize_t)sizeof(st))
		dom_log(p->dom, "process %d: telling its caller it ended: %s", p->pid, strerror(errno));
	close(p->spawn_fd);
	p->spawn_fd = -1;
}

void spawn_domain_ended(struct domain *d)
{
	dom_lock(d);
	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *p = d->procs[i];
		if (p && p->spawned && p->spawn_fd >= 0) {
			if (!p->zombie)
				p->wstatus = 9; /* SIGKILL's wait status */
			spawn_ended(p);
		}
	}
	dom_unlock(d);
}

struct process *spawn_any(struct domain *d)
{
	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *p = d->procs[i];
		if (p && p->spawned && !p->zombie)
			return p;
	}
	return NULL;
}
