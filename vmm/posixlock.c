/* posixlock.c: POSIX record locks for a domain's processes — Linux's byte-range locks (fs/locks.c: owners, splitting and merging, conflicts, F_GETLK's answer, F_SETLKW's wait and deadlock check, release on close and exit) in a per-domain table, mirrored onto pdvm's host locks so that other host processes see them. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "domain.h"
#include "files.h"
#include "posixlock.h"
#include "syscall.h"
#include "uaccess.h"

/*
 * Snapshots carry these locks (section `locks`, snapshot/snap_locks.c): a
 * restore takes them again, in the domain and on the host, before any
 * thread runs. The host's locks of the snapshotted pdvm go with it, as any
 * process's do.
 */

#define OFFSET_MAX              INT64_MAX
#define MAX_DEADLK_ITERATIONS   10      /* Linux's bound on the waits-for chain */
#define HOST_WAIT_MAX_MS        64      /* polling a lock held outside the domain */

/* One lock: Linux's struct file_lock for FL_POSIX. */
struct plock {
	struct plock *next, *prev;      /* the file's list (a ring around its head) */
	const struct files *owner;      /* fl_owner: the process's fd table */
	int pid;                        /* fl_pid: the holder's guest pid (l_pid) */
	short type;                     /* F_RDLCK or F_WRLCK (F_UNLCK in a request) */
	int64_t start, end;             /* bytes [start, end]; end OFFSET_MAX: to EOF and on */
};

/* A file with locks. As on Linux, each owner's locks lie together in the
 * list, sorted by start, owners in the order they first locked the file. */
struct plock_file {
	struct plock_file *next;
	dev_t dev;
	ino_t ino;
	struct plock head;
	int rfd, wfd;                   /* pdvm's own fds to set host locks through
	                                 * (readable, writable), dups of the guest
	                                 * fds that took the first read and write
	                                 * locks: any guest fd may be gone when the
	                                 * host state must be set again */
};

/* A thread in F_SETLKW. */
struct plock_waiter {
	struct plock_waiter *next;
	dev_t dev;
	ino_t ino;
	const struct files *owner;
	const struct files *blocker;    /* owner of the lock it waits behind; NULL
	                                 * while it waits for a lock outside the
	                                 * domain (not part of a waits-for chain) */
	struct futex_waiter fw;         /* linked on the domain's futex waiters, so
	                                 * that pauses, signals and exits wake it */
};

struct plock_table {
	struct plock_table *next;       /* every domain's table (registry) */
	struct domain *dom;
	struct plock_file *files;
	struct plock_waiter *waiters;
	bool warned;                    /* a host lock failed to follow (logged once) */
};

/*
 * host_mu guards the tables' files and locks against plock_host_close, which
 * may run on any thread (the last reference of a description goes wherever
 * it goes); a table changes only with its domain's lock held as well. Lock
 * order: the domain lock, then host_mu.
 */
static pthread_mutex_t host_mu = PTHREAD_MUTEX_INITIALIZER;
static struct plock_table *tables;
static atomic_int nfiles;               /* files with locks, all tables */

/* ---- the lock list (fs/locks.c's posix_lock_inode) ---- */

static void lock_insert_before(struct plock *fl, struct plock *at)
{
	fl->next = at;
	fl->prev = at->prev;
	at->prev->next = fl;
	at->prev = fl;
}

static void lock_delete(struct plock *fl)
{
	fl->prev->next = fl->next;
	fl->next->prev = fl->prev;
	free(fl);
}

static void lock_copy(struct plock *to, const struct plock *from)
{
	to->owner = from->owner;
	to->pid = from->pid;
	to->type = from->type;
	to->start = from->start;
	to->end = from->end;
}

static bool overlap(const struct plock *a, const struct plock *b)
{
	return a->start <= b->end && b->start <= a->end;
}

static bool conflict(const struct plock *req, const struct plock *fl)
{
	return req->owner != fl->owner && overlap(req, fl) &&
	       (req->type == F_WRLCK || fl->type == F_WRLCK);
}

static struct plock *first_conflict(struct plock_file *pf, const struct plock *req)
{
	for (struct plock *fl = pf ? pf->head.next : NULL; fl && fl != &pf->head; fl = fl->next)
		if (conflict(req, fl))
			return fl;
	return NULL;
}

/*
 * Sets req's range to req's type for its owner (F_UNLCK: unlocks it),
 * merging with the owner's adjacent or overlapping locks of the same type
 * and cutting those of the other: Linux's posix_lock_inode once no conflict
 * stands in the way, step for step. 0, or -ENOLCK when memory runs out
 * (nothing changed then).
 */
static int lock_apply(struct plock_file *pf, const struct plock *want)
{
	struct plock req = *want, *request = &req, *head = &pf->head;
	struct plock *fl, *tmp, *new_fl = NULL, *new_fl2 = NULL, *left = NULL, *right = NULL;
	bool added = false;

	if (request->type != F_UNLCK || request->start != 0 || request->end != OFFSET_MAX) {
		new_fl = malloc(sizeof(*new_fl));
		new_fl2 = malloc(sizeof(*new_fl2));
		if (!new_fl || !new_fl2) {
			free(new_fl);
			free(new_fl2);
			return -ENOLCK;
		}
	}
	for (fl = head->next; fl != head; fl = fl->next)
		if (fl->owner == request->owner)
			break;
	for (; fl != head; fl = tmp) {
		tmp = fl->next;
		if (fl->owner != request->owner)
			break;
		if (request->type == fl->type) {
			/* "start - 1", not "end + 1": end may be OFFSET_MAX. */
			if (fl->end < request->start - 1)
				continue;
			if (fl->start - 1 > request->end)
				break;
			if (fl->start > request->start)
				fl->start = request->start;
			else
				request->start = fl->start;
			if (fl->end < request->end)
				fl->end = request->end;
			else
				request->end = fl->end;
			if (added) {
				lock_delete(fl);
				continue;
			}
			request = fl;
			added = true;
		} else {
			if (fl->end < request->start)
				continue;
			if (fl->start > request->end)
				break;
			if (request->type == F_UNLCK)
				added = true;
			if (fl->start < request->start)
				left = fl;
			if (fl->end > request->end) {
				right = fl;
				break;
			}
			if (fl->start >= request->start) {
				/* The new lock wholly replaces an old one. */
				if (added) {
					lock_delete(fl);
					continue;
				}
				lock_copy(new_fl, request);
				request = new_fl;
				new_fl = NULL;
				lock_insert_before(request, fl);
				lock_delete(fl);
				added = true;
			}
		}
	}
	if (!added) {
		if (request->type == F_UNLCK)
			goto out;
		lock_copy(new_fl, request);
		lock_insert_before(new_fl, fl);
		fl = new_fl;
		new_fl = NULL;
	}
	if (right) {
		if (left == right) {
			/* The new lock splits an old one in two. */
			left = new_fl2;
			new_fl2 = NULL;
			lock_copy(left, right);
			lock_insert_before(left, fl);
		}
		right->start = request->end + 1;
	}
	if (left)
		left->end = request->start - 1;
out:
	free(new_fl);
	free(new_fl2);
	return 0;
}

/* ---- the host's view: the union of the domain's locks ---- */

static int type_rank(short type)
{
	return type == F_WRLCK ? 2 : type == F_RDLCK ? 1 : 0;
}

static int host_setlk(int fd, short type, int64_t start, int64_t end)
{
	struct flock h = {
		.l_type = type, .l_whence = SEEK_SET, .l_start = start,
		.l_len = end == OFFSET_MAX ? 0 : end - start + 1,
	};
	if (fd < 0)
		return -EBADF;
	return fcntl(fd, F_SETLK, &h) < 0 ? -errno : 0;
}

static void host_segment(struct plock_table *tab, struct plock_file *pf, short type, int64_t s, int64_t e)
{
	int fd = type == F_WRLCK ? pf->wfd : type == F_RDLCK ? pf->rfd : pf->rfd >= 0 ? pf->rfd : pf->wfd;
	int r = host_setlk(fd, type, s, e);

	if (r && !tab->warned) {
		tab->warned = true;
		dom_log(tab->dom, "fcntl locks: the host lock on bytes %lld-%lld of inode %llu did not "
			"follow the domain's (%s); other host processes may not see it",
			(long long)s, (long long)e, (unsigned long long)pf->ino, strerrorname_np(-r));
	}
}

/*
 * Sets the host's locks on [s, e] to the union of the domain's: write where
 * some process holds write, read where some holds read, unlocked elsewhere
 * (left alone when `set_only`: after a close the host holds nothing). Each
 * run of one type is one host call.
 */
static void host_sync(struct plock_table *tab, struct plock_file *pf, int64_t s, int64_t e, bool set_only)
{
	int64_t cur = s, run_start = s;
	short run_type = -1;

	for (;;) {
		int rank = 0;
		int64_t seg_end = e;
		for (struct plock *fl = pf->head.next; fl != &pf->head; fl = fl->next) {
			if (fl->start <= cur && cur <= fl->end) {
				if (type_rank(fl->type) > rank)
					rank = type_rank(fl->type);
				if (fl->end < seg_end)
					seg_end = fl->end;
			} else if (fl->start > cur && fl->start - 1 < seg_end) {
				seg_end = fl->start - 1;
			}
		}
		short type = rank == 2 ? F_WRLCK : rank == 1 ? F_RDLCK : F_UNLCK;
		if (type != run_type) {
			if (run_type >= 0 && !(set_only && run_type == F_UNLCK))
				host_segment(tab, pf, run_type, run_start, cur - 1);
			run_type = type;
			run_start = cur;
		}
		if (seg_end >= e)
			break;
		cur = seg_end + 1;
	}
	if (!(set_only && run_type == F_UNLCK))
		host_segment(tab, pf, run_type, run_start, e);
}

/* After a host close of (dev, ino): every table's locks on it, again.
 * host_mu held. */
static void host_closed(dev_t dev, ino_t ino)
{
	for (struct plock_table *tab = tables; tab; tab = tab->next)
		for (struct plock_file *pf = tab->files; pf; pf = pf->next)
			if (pf->dev == dev && pf->ino == ino)
				host_sync(tab, pf, 0, OFFSET_MAX, true);
}

void plock_host_close(int fd)
{
	struct stat st;

	if (!atomic_load(&nfiles) || fstat(fd, &st) < 0) {
		close(fd);
		return;
	}
	pthread_mutex_lock(&host_mu);
	close(fd);
	host_closed(st.st_dev, st.st_ino);
	pthread_mutex_unlock(&host_mu);
}

/* ---- tables and files ---- */

static struct plock_table *table_get(struct domain *d)
{
	struct plock_table *tab = d->plocks;

	if (tab || !(tab = calloc(1, sizeof(*tab))))
		return tab;
	tab->dom = d;
	pthread_mutex_lock(&host_mu);
	tab->next = tables;
	tables = tab;
	pthread_mutex_unlock(&host_mu);
	d->plocks = tab;
	return tab;
}

static struct plock_file *file_find(struct plock_table *tab, dev_t dev, ino_t ino)
{
	for (struct plock_file *pf = tab ? tab->files : NULL; pf; pf = pf->next)
		if (pf->dev == dev && pf->ino == ino)
			return pf;
	return NULL;
}

static struct plock_file *file_new(struct plock_table *tab, dev_t dev, ino_t ino)
{
	struct plock_file *pf = calloc(1, sizeof(*pf));

	if (!pf)
		return NULL;
	pf->dev = dev;
	pf->ino = ino;
	pf->head.next = pf->head.prev = &pf->head;
	pf->rfd = pf->wfd = -1;
	pf->next = tab->files;
	tab->files = pf;
	atomic_fetch_add(&nfiles, 1);
	return pf;
}

/* Drops a file whose last lock went. host_mu held. */
static void file_maybe_free(struct plock_table *tab, struct plock_file *pf)
{
	if (pf->head.next != &pf->head)
		return;
	for (struct plock_file **pp = &tab->files; *pp; pp = &(*pp)->next)
		if (*pp == pf) {
			*pp = pf->next;
			break;
		}
	atomic_fetch_sub(&nfiles, 1);
	/* Closing pdvm's own fds drops the host locks of every table on the
	 * file: another domain of this process may hold some. */
	if (pf->rfd >= 0)
		close(pf->rfd);
	if (pf->wfd >= 0 && pf->wfd != pf->rfd)
		close(pf->wfd);
	if (pf->rfd >= 0 || pf->wfd >= 0)
		host_closed(pf->dev, pf->ino);
	free(pf);
}

/* pdvm's own fd to set `type` locks through, dup'ed from guest
 * description o (whose access mode allows the type) on first need. */
static int file_fd(struct plock_file *pf, struct ofd *o, short type)
{
	int *slot = type == F_WRLCK ? &pf->wfd : &pf->rfd;

	if (*slot >= 0)
		return *slot;
	int fd = fcntl(o->hostfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return -ENOLCK;
	*slot = fd;
	if ((o->flags & O_ACCMODE) == O_RDWR) {
		/* One fd serves both. */
		if (pf->rfd < 0)
			pf->rfd = fd;
		if (pf->wfd < 0)
			pf->wfd = fd;
	}
	return fd;
}

static void wake_file(struct plock_table *tab, dev_t dev, ino_t ino)
{
	for (struct plock_waiter *w = tab ? tab->waiters : NULL; w; w = w->next)
		if (w->dev == dev && w->ino == ino) {
			w->fw.woken = true;
			pthread_cond_signal(&w->fw.cv);
		}
}

/* Takes away every lock of `owner` on pf; the host follows. host_mu held. */
static void owner_release(struct plock_table *tab, struct plock_file *pf, const struct files *owner)
{
	int64_t lo = OFFSET_MAX, hi = 0;

	for (struct plock *fl = pf->head.next, *nx; fl != &pf->head; fl = nx) {
		nx = fl->next;
		if (fl->owner != owner)
			continue;
		if (fl->start < lo)
			lo = fl->start;
		if (fl->end > hi)
			hi = fl->end;
		lock_delete(fl);
	}
	if (lo > hi)
		return;
	host_sync(tab, pf, lo, hi, false);
	wake_file(tab, pf->dev, pf->ino);
	file_maybe_free(tab, pf);
}

void plock_fd_closed(struct domain *d, const struct files *owner, struct ofd *o)
{
	struct plock_table *tab = d ? d->plocks : NULL;
	struct stat st;

	/* Closing an O_PATH fd releases nothing (Linux's filp_close). */
	if (!tab || !tab->files || (o->flags & O_PATH) || fstat(o->hostfd, &st) < 0)
		return;
	struct plock_file *pf = file_find(tab, st.st_dev, st.st_ino);
	if (!pf)
		return;
	pthread_mutex_lock(&host_mu);
	owner_release(tab, pf, owner);
	pthread_mutex_unlock(&host_mu);
}

void plock_owner_gone(struct domain *d, const struct files *owner)
{
	struct plock_table *tab = d ? d->plocks : NULL;

	if (!tab || !tab->files)
		return;
	pthread_mutex_lock(&host_mu);
	for (struct plock_file *pf = tab->files, *nx; pf; pf = nx) {
		nx = pf->next;
		owner_release(tab, pf, owner);
	}
	pthread_mutex_unlock(&host_mu);
}

void plock_table_free(struct domain *d)
{
	struct plock_table *tab = d->plocks;

	if (!tab)
		return;
	pthread_mutex_lock(&host_mu);
	for (struct plock_table **pp = &tables; *pp; pp = &(*pp)->next)
		if (*pp == tab) {
			*pp = tab->next;
			break;
		}
	while (tab->files) {
		struct plock_file *pf = tab->files;
		while (pf->head.next != &pf->head)
			lock_delete(pf->head.next);
		file_maybe_free(tab, pf);
	}
	pthread_mutex_unlock(&host_mu);
	free(tab);
	d->plocks = NULL;
}

/* ---- the calls ---- */

/*
 * The guest's struct flock as a byte range (Linux's flock_to_posix_lock):
 * whence against the description's offset or the file's size, a negative
 * length reaching back, EINVAL before byte 0, EOVERFLOW past OFFSET_MAX,
 * then the type (EINVAL unless read, write or unlock).
 */
static int to_range(struct ofd *o, const struct flock *fl, struct plock *req)
{
	int64_t base;
	struct stat st;

	switch (fl->l_whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = lseek(o->hostfd, 0, SEEK_CUR);
		if (base < 0)
			base = 0;       /* pipes and sockets: f_pos is 0 */
		break;
	case SEEK_END:
		base = fstat(o->hostfd, &st) == 0 ? st.st_size : 0;
		break;
	default:
		return -EINVAL;
	}
	if (fl->l_start > OFFSET_MAX - base)
		return -EOVERFLOW;
	req->start = base + fl->l_start;
	if (req->start < 0)
		return -EINVAL;
	if (fl->l_len > 0) {
		if (fl->l_len - 1 > OFFSET_MAX - req->start)
			return -EOVERFLOW;
		req->end = req->start + (fl->l_len - 1);
	} else if (fl->l_len < 0) {
		if (req->start + fl->l_len < 0)
			return -EINVAL;
		req->end = req->start - 1;
		req->start += fl->l_len;
	} else {
		req->end = OFFSET_MAX;
	}
	if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
		return -EINVAL;
	req->type = fl->l_type;
	return 0;
}

/* A lock as F_GETLK reports it (posix_lock_to_flock). */
static void to_flock(const struct plock *fl, struct flock *out)
{
	out->l_type = fl->type;
	out->l_whence = SEEK_SET;
	out->l_start = fl->start;
	out->l_len = fl->end == OFFSET_MAX ? 0 : fl->end - fl->start + 1;
	out->l_pid = fl->pid;
}

/* A host's answer for a holder that is not the domain's: an OFD lock keeps
 * -1; a process outside the domain is pid 0, as Linux reports a holder
 * outside the caller's pid namespace (its host pid would name some other
 * process, or none, inside the domain). */
static void host_pid_out(struct flock *ans)
{
	if (ans->l_pid != -1)
		ans->l_pid = 0;
}

static long getlk(struct thread *t, struct ofd *o, struct plock *req, struct flock *fl)
{
	struct stat st;

	if (fstat(o->hostfd, &st) < 0)
		return -errno;
	struct plock *c = first_conflict(file_find(t->dom->plocks, st.st_dev, st.st_ino), req);
	if (c) {
		to_flock(c, fl);
		return 0;
	}
	/* None in the domain: the host knows the rest (OFD locks, other
	 * processes), never pdvm's own locks. */
	struct flock h = {
		.l_type = req->type, .l_whence = SEEK_SET, .l_start = req->start,
		.l_len = req->end == OFFSET_MAX ? 0 : req->end - req->start + 1,
	};
	if (fcntl(o->hostfd, F_GETLK, &h) < 0)
		return -errno;
	if (h.l_type == F_UNLCK) {
		fl->l_type = F_UNLCK;   /* the rest as the guest gave it, as on Linux */
		return 0;
	}
	host_pid_out(&h);
	fl->l_type = h.l_type;
	fl->l_whence = SEEK_SET;
	fl->l_start = h.l_start;
	fl->l_len = h.l_len;
	fl->l_pid = h.l_pid;
	return 0;
}

/*
 * Whether waiting behind `blocker` would close a cycle of processes each
 * waiting for the next (Linux's posix_locks_deadlock: the chain of owners,
 * at most MAX_DEADLK_ITERATIONS long).
 */
static bool deadlock(struct plock_table *tab, const struct files *me, const struct files *blocker)
{
	for (int i = 0;;) {
		struct plock_waiter *w = tab->waiters;
		while (w && !(w->owner == blocker && w->blocker))
			w = w->next;
		if (!w)
			return false;
		blocker = w->blocker;
		if (i++ > MAX_DEADLK_ITERATIONS)
			return false;
		if (blocker == me)
			return true;
	}
}

/* One try: with no conflict in the domain, the host's lock first (it may
 * be held outside the domain: -EAGAIN; with `host_optional` the domain
 * takes it all the same), then the table. host_mu taken. */
static long acquire(struct plock_table *tab, struct ofd *o, const struct stat *st, const struct plock *req,
		    bool host_optional)
{
	long r = -ENOLCK;

	pthread_mutex_lock(&host_mu);
	struct plock_file *pf = file_find(tab, st->st_dev, st->st_ino);
	if (!pf)
		pf = file_new(tab, st->st_dev, st->st_ino);
	int fd = pf ? file_fd(pf, o, req->type) : -ENOLCK;
	if (fd >= 0) {
		/* No other process holds a conflicting lock here, so the union
		 * on the range becomes exactly the new type. */
		r = host_setlk(fd, req->type, req->start, req->end);
		if (r == -EAGAIN && host_optional) {
			dom_log(tab->dom, "fcntl locks: bytes %lld-%lld of inode %llu are locked by another host "
				"process; the domain's lock there is its own alone",
				(long long)req->start, (long long)req->end, (unsigned long long)st->st_ino);
			r = 0;
		}
		if (!r && (r = lock_apply(pf, req)))
			host_sync(tab, pf, req->start, req->end, false);
	}
	if (!r)
		wake_file(tab, st->st_dev, st->st_ino); /* a downgrade may let readers in */
	if (pf)
		file_maybe_free(tab, pf);
	pthread_mutex_unlock(&host_mu);
	return r;
}

static long unlock(struct plock_table *tab, const struct stat *st, const struct plock *req)
{
	long r = 0;

	pthread_mutex_lock(&host_mu);
	struct plock_file *pf = file_find(tab, st->st_dev, st->st_ino);
	if (pf && !(r = lock_apply(pf, req))) {
		host_sync(tab, pf, req->start, req->end, false);
		wake_file(tab, st->st_dev, st->st_ino);
		file_maybe_free(tab, pf);
	}
	pthread_mutex_unlock(&host_mu);
	return r;
}

/*
 * Sleeps in F_SETLKW until woken (a change to the file's locks), ms passes
 * (> 0: a holder outside the domain is polled), or a pause, signal or exit
 * (then -ERESTART_SYSCALL, or -EINTR when exiting; the call is re-issued
 * afterwards, as Linux's -ERESTARTSYS is).
 */
static long lock_sleep(struct thread *t, struct plock_waiter *w, int ms)
{
	struct domain *d = t->dom;

	if (d->exiting || t->proc->exiting || t->exited)
		return -EINTR;
	if (d->paused || sig_deliverable(t))
		return -ERESTART_SYSCALL;
	w->fw.woken = false;
	t->waiting = &w->fw;
	if (ms > 0) {
		struct timespec dl = mono_timespec(host_mono_ns() + (uint64_t)ms * 1000000ULL);
		pthread_cond_timedwait(&w->fw.cv, &d->lock, &dl);
	} else {
		pthread_cond_wait(&w->fw.cv, &d->lock);
	}
	t->waiting = NULL;
	return 0;
}

static long setlk(struct thread *t, int fd, struct ofd *o, const struct plock *req, bool wait)
{
	struct domain *d = t->dom;
	struct plock_table *tab = table_get(d);
	struct plock_waiter w = { .owner = req->owner };
	bool linked = false;
	int poll_ms = 1;
	struct stat st;
	long r;

	if (!tab)
		return -ENOLCK;
	if (fstat(o->hostfd, &st) < 0)
		return -errno;
	if (req->type == F_UNLCK)
		return unlock(tab, &st, req);
	w.dev = st.st_dev;
	w.ino = st.st_ino;
	for (;;) {
		struct plock *c = first_conflict(file_find(tab, st.st_dev, st.st_ino), req);
		int ms = 0;
		if (c) {
			r = -EAGAIN;
			if (!wait)
				break;
			r = -EDEADLK;
			if (deadlock(tab, req->owner, c->owner))
				break;
			w.blocker = c->owner;
		} else {
			r = acquire(tab, o, &st, req, false);
			if (r != -EAGAIN || !wait)
				break;
			/* Held outside the domain (another process's lock, or an
			 * OFD lock): the host gives no wake-up we could wait on
			 * with the domain lock dropped, so it is polled. */
			w.blocker = NULL;
			ms = poll_ms;
			poll_ms = poll_ms * 2 > HOST_WAIT_MAX_MS ? HOST_WAIT_MAX_MS : poll_ms * 2;
		}
		if (!linked) {
			futex_waiter_link(d, &w.fw, FUTEX_KEY_NONE);
			w.fw.bitset = ~0u;
			w.next = tab->waiters;
			tab->waiters = &w;
			linked = true;
		}
		if ((r = lock_sleep(t, &w, ms)))
			break;
	}
	if (linked) {
		for (struct plock_waiter **pp = &tab->waiters; *pp; pp = &(*pp)->next)
			if (*pp == &w) {
				*pp = w.next;
				break;
			}
		futex_waiter_unlink(d, &w.fw);
	}
	/* A close of the fd while we waited: the lock must not outlive it
	 * (Linux's fcntl_setlk undoes it and says EBADF). */
	if (!r && fd_peek(d, fd) != o) {
		struct plock un = *req;
		un.type = F_UNLCK;
		unlock(tab, &st, &un);
		r = -EBADF;
	}
	return r;
}

long plock_fcntl(struct thread *t, int fd, struct ofd *o, int cmd, uint64_t arg)
{
	struct domain *d = t->dom;
	struct flock fl;
	struct plock req = { .owner = t->proc->files, .pid = t->proc->pid };
	long r;

	if (copy_from_user(d, &fl, arg, sizeof(fl)) < 0)
		return -EFAULT;
	if (cmd == F_GETLK && fl.l_type != F_RDLCK && fl.l_type != F_WRLCK)
		return -EINVAL;
	if ((r = to_range(o, &fl, &req)))
		return r;
	if (cmd == F_GETLK) {
		r = getlk(t, o, &req, &fl);
		return r ? r : copy_to_user(d, arg, &fl, sizeof(fl));
	}
	/* The description's access mode must allow the type (unlocking
	 * needs neither). */
	int acc = o->flags & O_ACCMODE;
	if ((req.type == F_RDLCK && acc == O_WRONLY) || (req.type == F_WRLCK && acc == O_RDONLY))
		return -EBADF;
	return setlk(t, fd, o, &req, cmd == F_SETLKW);
}

void plock_ofd_answer(struct domain *d, struct ofd *o, const struct flock *req, struct flock *ans)
{
	struct plock want = { .owner = NULL };
	struct stat st;

	if (ans->l_type == F_UNLCK)
		return;
	if (ans->l_pid != getpid()) {
		host_pid_out(ans);
		return;
	}
	/* pdvm's own POSIX lock: some process of the domain holds the range.
	 * No process owns an OFD request, so every overlapping lock of a
	 * conflicting type is one; the first, as Linux reports it. */
	struct plock *c = NULL;
	if (fstat(o->hostfd, &st) == 0 && to_range(o, req, &want) == 0)
		c = first_conflict(file_find(d->plocks, st.st_dev, st.st_ino), &want);
	if (c)
		to_flock(c, ans);
	else
		ans->l_pid = 0;
}

void plock_kick(struct domain *d, struct ofd *o)
{
	struct stat st;

	if (d->plocks && d->plocks->waiters && fstat(o->hostfd, &st) == 0)
		wake_file(d->plocks, st.st_dev, st.st_ino);
}

/* ---- images ---- */

int plock_each(struct domain *d, int (*fn)(const struct plock_info *l, void *arg), void *arg)
{
	struct plock_table *tab = d->plocks;

	for (struct plock_file *pf = tab ? tab->files : NULL; pf; pf = pf->next)
		for (struct plock *fl = pf->head.next; fl != &pf->head; fl = fl->next) {
			struct plock_info l = {
				.owner = fl->owner, .pid = fl->pid, .type = fl->type,
				.start = fl->start, .end = fl->end, .dev = pf->dev, .ino = pf->ino,
			};
			int r = fn(&l, arg);
			if (r)
				return r;
		}
	return 0;
}

int plock_restore(struct domain *d, struct process *p, struct ofd *o, short type, int64_t start, int64_t end,
		  bool force)
{
	struct plock_table *tab = table_get(d);
	struct plock req = { .owner = p->files, .pid = p->pid, .type = type, .start = start, .end = end };
	struct stat st;

	if (!tab)
		return -ENOMEM;
	if (fstat(o->hostfd, &st) < 0)
		return -errno;
	if (first_conflict(file_find(tab, st.st_dev, st.st_ino), &req))
		return -EDEADLK;
	return (int)acquire(tab, o, &st, &req, force);
}
