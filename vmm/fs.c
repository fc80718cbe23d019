/* fs.c: the working directory and umask as Linux's fs_struct — a process's
 * (kept in its struct files), or a thread's own after unshare(CLONE_FS) or a
 * clone without CLONE_FS, shared with the threads it clones with CLONE_FS. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"

/* The thread whose fs a call of the current host thread uses, if it has an
 * fs of its own: a guest thread of the process acted on. */
static struct fs *own_fs(struct domain *d)
{
	struct thread *t = thread_self();

	return t && t->fs && t->proc == proc_cur(d) ? t->fs : NULL;
}

int *fs_cwdfd(struct domain *d)
{
	struct fs *fs = own_fs(d);

	return fs ? &fs->cwdfd : &proc_cur(d)->files->cwdfd;
}

mode_t *fs_umask(struct domain *d)
{
	struct fs *fs = own_fs(d);

	return fs ? &fs->umask : &proc_cur(d)->files->umask;
}

struct fs *fs_new(int cwdfd, mode_t umask)
{
	struct fs *fs = malloc(sizeof(*fs));

	if (!fs) {
		close(cwdfd);
		return NULL;
	}
	fs->users = 1;
	fs->cwdfd = cwdfd;
	fs->umask = umask;
	return fs;
}

void fs_put(struct fs *fs)
{
	if (!fs || --fs->users > 0)
		return;
	close(fs->cwdfd);
	free(fs);
}

/* A private copy of what t uses now. */
static struct fs *fs_copy(struct thread *t)
{
	const struct files *f = t->proc->files;
	int cwd = t->fs ? t->fs->cwdfd : f->cwdfd;
	int h = fcntl(cwd, F_DUPFD_CLOEXEC, 0);

	if (h < 0)
		return NULL;
	return fs_new(h, t->fs ? t->fs->umask : f->umask);
}

int fs_clone(struct thread *t, struct thread *c, bool share)
{
	if (share) {
		c->fs = t->fs;
		if (c->fs)
			c->fs->users++;
		return 0;
	}
	c->fs = fs_copy(t);
	return c->fs ? 0 : -ENOMEM;
}

int fs_unshare(struct thread *t)
{
	struct fs *fs;

	if (t->fs && t->fs->users == 1)
		return 0;
	if (!(fs = fs_copy(t)))
		return -ENOMEM;
	fs_put(t->fs);
	t->fs = fs;
	return 0;
}

void fs_to_process(struct thread *t)
{
	struct files *f = t->proc->files;

	if (!t->fs)
		return;
	close(f->cwdfd);
	f->cwdfd = fcntl(t->fs->cwdfd, F_DUPFD_CLOEXEC, 0);
	f->umask = t->fs->umask;
	if (f->cwdfd < 0) {
		/* No fd left: the process keeps its own directory (the root's
		 * handle, which always exists, if that fails too). */
		f->cwdfd = fcntl(f->rootfd, F_DUPFD_CLOEXEC, 0);
	}
	fs_put(t->fs);
	t->fs = NULL;
}
