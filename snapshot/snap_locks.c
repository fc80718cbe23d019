/* snap_locks.c: section `locks` — the POSIX record locks of the domain's processes (holder, an fd of the file open for the lock's type, type, byte range), taken again on restore in the domain and on the host. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/domain.h"
#include "vmm/files.h"
#include "vmm/posixlock.h"
#include "snap_state.h"

#define MAX_IMAGE_LOCKS (1u << 20)

/* The fd of p's table a lock is taken again through: a description of the
 * lock's file whose access mode allows its type. There is one: the lock was
 * taken through one, and closing any fd of the file would have dropped it. */
static int lock_fd(const struct process *p, const struct plock_info *l)
{
	const struct files *f = p->files;

	for (int fd = 0; f && fd < f->nfds; fd++) {
		const struct ofd *o = f->fds[fd].ofd;
		struct stat st;
		if (!o || (o->flags & O_PATH) || fstat(o->hostfd, &st) < 0 || st.st_dev != l->dev ||
		    st.st_ino != l->ino)
			continue;
		int acc = o->flags & O_ACCMODE;
		if (l->type == F_WRLCK ? acc != O_RDONLY : acc != O_WRONLY)
			return fd;
	}
	return -1;
}

struct put_ctx {
	struct domain *d;
	struct sbuf *b;         /* NULL: counting */
	uint64_t n;
	char *err;
	size_t errlen;
};

static int put_one(const struct plock_info *l, void *arg)
{
	struct put_ctx *c = arg;
	struct process *p = NULL;

	c->n++;
	if (!c->b)
		return 0;
	for (int i = 0; i < MAX_PROCS && !p; i++)
		if (c->d->procs[i] && c->d->procs[i]->files == l->owner)
			p = c->d->procs[i];
	int fd = p ? lock_fd(p, l) : -1;
	if (fd < 0) {
		snprintf(c->err, c->errlen, "a lock on inode %llu has no holder with an fd of the file",
			 (unsigned long long)l->ino);
		return -EIO;
	}
	sb_u64(c->b, (uint64_t)p->pid);
	sb_u64(c->b, (uint64_t)fd);
	sb_u32(c->b, l->type == F_WRLCK);
	sb_u64(c->b, (uint64_t)l->start);
	sb_u64(c->b, (uint64_t)l->end);
	return 0;
}

static int any_lock(const struct plock_info *l, void *arg)
{
	(void)l, (void)arg;
	return 1;
}

bool snap_has_locks(struct domain *d)
{
	return plock_each(d, any_lock, NULL) != 0;
}

int snap_put_locks(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	struct put_ctx c = { .d = d, .err = err, .errlen = errlen };

	plock_each(d, put_one, &c);
	sb_u64(b, c.n);
	c.b = b;
	c.n = 0;
	int r = plock_each(d, put_one, &c);
	return r ? r : b->oom ? -ENOMEM : 0;
}

int snap_get_locks(struct sread *r, struct domain *d, bool dry, bool force, char *err, size_t errlen)
{
	uint64_t n = sr_range(r, 0, MAX_IMAGE_LOCKS, "locks: count out of range");

	for (uint64_t i = 0; i < n && !r->bad; i++) {
		int pid = (int)sr_range(r, 1, INT32_MAX, "locks: pid out of range");
		int fd = (int)sr_range(r, 0, FD_LIMIT_MAX - 1, "locks: fd out of range");
		uint32_t write = sr_u32(r);
		int64_t start = (int64_t)sr_range(r, 0, INT64_MAX, "locks: start out of range");
		int64_t end = (int64_t)sr_range(r, 0, INT64_MAX, "locks: end out of range");
		if (!r->bad && (write > 1 || start > end))
			sr_fail(r, "locks: bad type or range");
		if (r->bad || dry)
			continue;
		struct process *p = proc_find(d, pid);
		struct ofd *o = p && !p->zombie && p->files && fd < p->files->nfds ? p->files->fds[fd].ofd : NULL;
		int acc = o ? o->flags & O_ACCMODE : -1;
		if (!o || (o->flags & O_PATH) || (write ? acc == O_RDONLY : acc == O_WRONLY)) {
			sr_fail(r, "locks: no such process or fd, or the fd is not open for the lock's type");
			break;
		}
		int e = plock_restore(d, p, o, write ? F_WRLCK : F_RDLCK, start, end, force);
		if (e == -EDEADLK) {
			sr_fail(r, "locks: two processes hold conflicting locks");
			break;
		}
		if (e) {
			snprintf(err, errlen, "the lock of process %d on bytes %lld-%lld of %s: %s%s", pid,
				 (long long)start, (long long)end, o->path,
				 e == -EAGAIN ? "another host process holds a conflicting lock now" : strerror(-e),
				 e == -EAGAIN ? " (--force restores it in the domain alone)" : "");
			return e;
		}
	}
	return r->bad ? -1 : 0;
}
