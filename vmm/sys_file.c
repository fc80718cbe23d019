/* sys_file.c: data syscalls on fds — read/write families, lseek, fstat,
 * getdents64, sendfile, sync, ftruncate, fadvise — and sys_file_table. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "domain.h"
#include "pcache.h"
#include "files.h"
#include "syscall.h"
#include "gio.h"
#include "memfd.h"
#include "procdir.h"
#include "procmem.h"
#include "ptyjob.h"
#include "sock.h"
#include "uaccess.h"

/* A host call interrupted for the domain (checkpoint, guest signal) is
 * re-issued by the dispatcher. */
#define RESTART (-ERESTART_SYSCALL)

/* ---- bounce buffers: one per host thread, at most RW_MAX_CHUNK ---- */

static pthread_key_t bounce_key;
static pthread_once_t bounce_once = PTHREAD_ONCE_INIT;
static __thread char *bounce_buf;
static __thread size_t bounce_cap;

static void bounce_key_init(void)
{
	pthread_key_create(&bounce_key, free);
}

static char *bounce(size_t n)
{
	if (n <= bounce_cap)
		return bounce_buf;
	pthread_once(&bounce_once, bounce_key_init);
	n = n < 65536 ? 65536 : RW_MAX_CHUNK;
	free(bounce_buf);
	bounce_buf = malloc(n);
	bounce_cap = bounce_buf ? n : 0;
	pthread_setspecific(bounce_key, bounce_buf);
	return bounce_buf;
}

/* ---- the I/O engine ---- */

/* Copies as much of [va, va+n) as is accessible, page by page once the
 * whole copy fails: a partly bad buffer gives a short count, like Linux. */
static size_t copy_prefix(struct domain *d, uint64_t va, char *host, size_t n, bool to_user)
{
	size_t done = 0;

	if (n == 0 || (to_user ? copy_to_user(d, va, host, n) : copy_from_user(d, host, va, n)) == 0)
		return n;
	while (done < n) {
		size_t c = MIN(n - done, PAGE_SIZE - ((va + done) & (PAGE_SIZE - 1)));
		int r = to_user ? copy_to_user(d, va + done, host + done, c)
				: copy_from_user(d, host + done, va + done, c);

		if (r < 0)
			break;
		done += c;
	}
	return done;
}

/* Regular files, directories, block devices: never block, so the domain lock
 * stays held and guest memory is used in place (no copy). */
static long io_direct(struct domain *d, struct ofd *o, const struct gseg *seg, int nseg,
		      int64_t off, bool wr)
{
	struct iovec hv[GIO_BATCH];
	size_t total = 0, batch;
	bool fault = false;
	ssize_t r;

	if (nseg == 0) {
		/* Zero-length: the host still reports EBADF/EISDIR/EINVAL. */
		r = wr ? (off >= 0 ? pwrite(o->hostfd, "", 0, off) : write(o->hostfd, "", 0))
			  : (off >= 0 ? pread(o->hostfd, NULL, 0, off) : read(o->hostfd, NULL, 0));
		return r < 0 ? -errno : r;
	}
	for (;;) {
		int n = gio_iov(d, seg, nseg, total, wr, hv, &batch, &fault);
		if (n == 0)
			break;
		if (wr)
			r = off >= 0 ? pwritev(o->hostfd, hv, n, off + (int64_t)total)
				     : writev(o->hostfd, hv, n);
		else
			r = off >= 0 ? preadv(o->hostfd, hv, n, off + (int64_t)total)
				     : readv(o->hostfd, hv, n);
		if (r < 0)
			return total ? (long)total : -errno;
		total += (size_t)r;
		if ((size_t)r < batch || fault)
			return (long)total;
	}
	if (fault && total == 0)
		return -EFAULT;
	return (long)total;
}

/* Pipes, ttys, sockets, char devices: the call may block, so the domain
 * lock is dropped around it and the data goes through a bounce buffer (the
 * guest may change its memory map meanwhile). */
static long io_bounce(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg,
		      int64_t off, bool wr, size_t sum)
{
	struct domain *d = t->dom;
	size_t total = 0;
	ssize_t r;
	int err;
	bool ok = true;
	char *buf;

	if (exl_serving())
		return RESTART;         /* it may wait: the exit's to do, nothing done yet */
	buf = bounce(MIN(MAX(sum, 1), RW_MAX_CHUNK));
	if (!buf)
		return -ENOMEM;
	if (!wr) {
		size_t n = MIN(sum, RW_MAX_CHUNK), done = 0;

		dom_block_begin(t);
		r = off >= 0 ? pread(o->hostfd, buf, n, off) : read(o->hostfd, buf, n);
		err = errno;
		dom_block_end(t);      /* data read is delivered even if stopping */
		if (r < 0)
			return err == EINTR ? RESTART : -err;
		for (int i = 0; i < nseg && done < (size_t)r; i++) {
			size_t c = MIN(seg[i].len, (size_t)r - done);
			size_t k = copy_prefix(d, seg[i].base, buf + done, c, true);

			done += k;
			if (k < c)
				return done ? (long)done : -EFAULT;
		}
		return r;
	}
	/* Writes go on chunk by chunk until done, a short write or an error. */
	int i = 0;
	size_t pos = 0;

	do {
		size_t n = 0;
		bool fault = false;

		while (n < RW_MAX_CHUNK && i < nseg) {
			size_t c = MIN(seg[i].len - pos, RW_MAX_CHUNK - n);
			size_t k = copy_prefix(d, seg[i].base + pos, buf + n, c, false);

			n += k;
			pos += k;
			if (k < c) {
				fault = true;
				break;
			}
			if (pos == seg[i].len) {
				i++;
				pos = 0;
			}
		}
		if (n == 0 && (fault || total || sum))
			return total ? (long)total : (fault ? -EFAULT : 0);
		dom_block_begin(t);
		r = off >= 0 ? pwrite(o->hostfd, buf, n, off + (int64_t)total)
			     : write(o->hostfd, buf, n);
		err = errno;
		ok = dom_block_end(t);
		if (r < 0) {
			if (total)
				return (long)total;
			return err == EINTR ? RESTART : -err;
		}
		if (S_ISCHR(o->type))
			ptyjob_typed(d, o->hostfd, buf, (size_t)r);
		total += (size_t)r;
		if ((size_t)r < n || fault || !ok)
			break;
	} while (total < sum);
	return (long)total;
}

/* Shortens the segments to `keep` bytes in all. */
static void trim_segs(struct gseg *seg, int *nseg, size_t keep)
{
	for (int i = 0; i < *nseg; i++) {
		if (seg[i].len >= keep) {
			seg[i].len = keep;
			*nseg = i + 1;
			return;
		}
		keep -= seg[i].len;
	}
}

static long do_io(struct thread *t, int fd, struct gseg *seg, int nseg, int64_t off, bool write)
{
	struct ofd *o = fd_get(t->dom, fd);
	size_t sum = 0;
	long r;

	if (!o)
		return -EBADF;
	if ((o->flags & O_PATH) || (o->flags & O_ACCMODE) == (write ? O_RDONLY : O_WRONLY)) {
		ofd_put(o);
		return -EBADF;
	}
	for (int i = 0; i < nseg; i++)
		sum += seg[i].len;
	if (write && o->kind == OFD_MEMFD) {
		r = memfd_write_room(t->dom, o, off, sum);
		if (r < 0) {
			ofd_put(o);
			return r;
		}
		sum = (size_t)r;
		trim_segs(seg, &nseg, sum);
	}
	r = -EOPNOTSUPP;
	/* A socket's read and write are its recv and send (restart queue
	 * included); syscall.c raises SIGPIPE for write calls. */
	if (o->kind == OFD_PROCMEM)
		r = procmem_io(t, o, seg, nseg, off, write);
	else if (o->kind == OFD_SOCKET && off < 0)
		r = sock_xfer(t, o, seg, nseg, sum, NULL, write ? MSG_NOSIGNAL : 0, write);
	else if (o->kind == OFD_PIPE && off < 0)
		r = gio_nowait(t, o, seg, nseg, write, sum, NULL, 0);
	if (r == -EOPNOTSUPP && o->may_block) {
		r = io_bounce(t, o, seg, nseg, off, write, sum);
	} else if (r == -EOPNOTSUPP) {
		/* A file with cached pages: what the mappings changed goes
		 * to the file first, what the write changed into the cache
		 * after. */
		struct pcio io;
		pcio_begin(t->dom, o->hostfd, off, sum, write, &io);
		r = io_direct(t->dom, o, seg, nseg, off, write);
		pcio_end(t->dom, &io);
	}
	ofd_put(o);
	return r;
}

static long rw_one(struct thread *t, const uint64_t a[6], int64_t off, bool wr)
{
	struct gseg s = { a[1], a[2] };

	if (off < -1)
		return -EINVAL;
	/* Like access_ok(): the range must lie in user space. */
	if (s.len > USER_MAX || s.base > USER_MAX - s.len)
		return fd_peek(t->dom, (int)a[0]) ? -EFAULT : -EBADF;
	if (s.len > MAX_RW_COUNT)
		s.len = MAX_RW_COUNT;
	return do_io(t, (int)a[0], &s, s.len ? 1 : 0, off, wr);
}

static long sys_read(struct thread *t, const uint64_t a[6])
{
	return rw_one(t, a, -1, false);
}

static long sys_write(struct thread *t, const uint64_t a[6])
{
	return rw_one(t, a, -1, true);
}

static long sys_pread64(struct thread *t, const uint64_t a[6])
{
	return (int64_t)a[3] < 0 ? -EINVAL : rw_one(t, a, (int64_t)a[3], false);
}

static long sys_pwrite64(struct thread *t, const uint64_t a[6])
{
	return (int64_t)a[3] < 0 ? -EINVAL : rw_one(t, a, (int64_t)a[3], true);
}

static long rw_vec(struct thread *t, int fd, uint64_t uiov, uint64_t cnt, int64_t off,
		   bool write)
{
	struct gseg *seg;
	int nseg = 0;
	long r;

	if (!fd_peek(t->dom, fd))
		return -EBADF;
	if (off < -1)
		return -EINVAL;
	if (cnt > UIO_MAXIOV_K)
		return -EINVAL;
	seg = malloc((cnt ? cnt : 1) * sizeof(*seg));
	if (!seg)
		return -ENOMEM;
	r = gio_import(t->dom, uiov, cnt, seg, &nseg);
	if (r == 0)
		r = do_io(t, fd, seg, nseg, off, write);
	free(seg);
	return r;
}

static long sys_readv(struct thread *t, const uint64_t a[6])
{
	return rw_vec(t, (int)a[0], a[1], a[2], -1, false);
}

static long sys_writev(struct thread *t, const uint64_t a[6])
{
	return rw_vec(t, (int)a[0], a[1], a[2], -1, true);
}

/* x86-64: the position is the fourth argument; the fifth (high half) is
 * shifted out by the kernel. */
static long sys_preadv(struct thread *t, const uint64_t a[6])
{
	return (int64_t)a[3] < 0 ? -EINVAL : rw_vec(t, (int)a[0], a[1], a[2], (int64_t)a[3], false);
}

static long sys_pwritev(struct thread *t, const uint64_t a[6])
{
	return (int64_t)a[3] < 0 ? -EINVAL : rw_vec(t, (int)a[0], a[1], a[2], (int64_t)a[3], true);
}

/* preadv2/pwritev2 without RWF_* flags (offset -1: the file position). */
static long sys_preadv2(struct thread *t, const uint64_t a[6])
{
	if (a[5])
		return -EOPNOTSUPP;
	return (int64_t)a[3] < -1 ? -EINVAL : rw_vec(t, (int)a[0], a[1], a[2], (int64_t)a[3], false);
}

static long sys_pwritev2(struct thread *t, const uint64_t a[6])
{
	if (a[5])
		return -EOPNOTSUPP;
	return (int64_t)a[3] < -1 ? -EINVAL : rw_vec(t, (int)a[0], a[1], a[2], (int64_t)a[3], true);
}

static long sys_lseek(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);
	off_t r;

	if (!o)
		return -EBADF;
	if (o->flags & O_PATH)
		return -EBADF;
	r = lseek(o->hostfd, (off_t)a[1], (int)a[2]);
	return r < 0 ? -errno : (long)r;
}

static long sys_fstat(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);
	struct stat st;

	if (!o)
		return -EBADF;
	if (fstat(o->hostfd, &st) < 0)
		return -errno;
	return stat_to_user(t->dom, a[1], &st);
}

static long sys_getdents64(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	struct ofd *o = fd_peek(d, (int)a[0]);
	size_t n = (unsigned int)a[2];
	void *p;
	long r;

	if (!o || (o->flags & O_PATH))
		return -EBADF;
	if (!S_ISDIR(o->type))
		return -ENOTDIR;
	if (n > RW_MAX_CHUNK)
		n = RW_MAX_CHUNK;
	if (n > USER_MAX || a[1] > USER_MAX - n)
		return -EFAULT;
	/* Directories never block: read straight into guest memory if we can. */
	p = user_ptr(d, a[1], n, true);
	if (o->kind == OFD_FILE && o->type == S_IFDIR) {
		char *b = p ? p : bounce(MAX(n, 1));

		r = b ? procdir_getdents(d, o, b, n) : -ENOMEM;
		if (r != PROCDIR_NOT_OURS) {
			if (r > 0 && !p && copy_to_user(d, a[1], b, (size_t)r) < 0)
				return -EFAULT;
			return r;
		}
	}
	if (p) {
		r = syscall(SYS_getdents64, o->hostfd, p, n);
		return r < 0 ? -errno : r;
	}
	p = bounce(MAX(n, 1));
	if (!p)
		return -ENOMEM;
	r = syscall(SYS_getdents64, o->hostfd, p, n);
	if (r < 0)
		return -errno;
	if (r > 0 && copy_to_user(d, a[1], p, (size_t)r) < 0)
		return -EFAULT;
	return r;
}

static long sys_sendfile(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	struct ofd *out = fd_get(d, (int)a[0]), *in = fd_get(d, (int)a[1]);
	size_t count = a[3];
	off_t off = 0;
	bool blocks;
	ssize_t r;
	int err;

	if (!out || !in) {
		r = -EBADF;
		goto done;
	}
	if ((in->flags & O_PATH) || (in->flags & O_ACCMODE) == O_WRONLY ||
	    (out->flags & O_PATH) || (out->flags & O_ACCMODE) == O_RDONLY) {
		r = -EBADF;
		goto done;
	}
	if (a[2]) {
		r = copy_from_user(d, &off, a[2], sizeof(off));
		if (r < 0)
			goto done;
		if (off < 0) {
			r = -EINVAL;
			goto done;
		}
	}
	blocks = in->may_block || out->may_block;
	/* Bounded so the domain lock is not held for long. */
	count = MIN(count, blocks ? RW_MAX_CHUNK : 8 * RW_MAX_CHUNK);
	r = memfd_write_room(d, out, -1, count);
	if (r < 0)
		goto done;
	count = (size_t)r;
	/* The domain's pipes never block on the host (host_nb): wait here
	 * when the guest's descriptor would have. */
	bool out_w = out->host_nb && !(out->flags & O_NONBLOCK), in_w = in->host_nb && !(in->flags & O_NONBLOCK);
	struct pcio pin, pout;
	pcio_begin(d, in->hostfd, a[2] ? off : -1, count, false, &pin);
	pcio_begin(d, out->hostfd, -1, count, true, &pout);
	for (;;) {
		if (blocks)
			dom_block_begin(t);
		r = sendfile(out->hostfd, in->hostfd, a[2] ? &off : NULL, count);
		err = errno;
		if (blocks)
			dom_block_end(t);
		if (r >= 0 || err != EAGAIN || !(out_w || in_w))
			break;
		struct pollfd pf = { out->hostfd, POLLOUT, 0 };
		bool on_out = out_w && (!in_w || poll(&pf, 1, 0) == 0);
		int w = sock_wait(t, on_out ? out->hostfd : in->hostfd, on_out ? POLLOUT : POLLIN);
		if (w <= 0) {
			r = w ? w : RESTART;
			err = 0;
			break;
		}
	}
	pcio_end(d, &pin);
	pcio_end(d, &pout);
	if (r < 0 && !err)
		goto done; /* the wait's answer */
	if (r < 0) {
		r = err == EINTR ? RESTART : -err;
		goto done;
	}
	if (a[2] && copy_to_user(d, a[2], &off, sizeof(off)) < 0)
		r = -EFAULT;
done:
	ofd_put(out);
	ofd_put(in);
	return r;
}

/* What shared mappings changed in the file goes to it first, as Linux's
 * fsync writes the file's dirty cached pages. */
static void sync_cached(struct domain *d, int hostfd)
{
	struct pcio io;
	pcio_begin(d, hostfd, 0, UINT64_MAX, false, &io);
	pcio_end(d, &io);
}

static long sys_fsync(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);

	if (!o || (o->flags & O_PATH))
		return -EBADF;
	sync_cached(t->dom, o->hostfd);
	return fsync(o->hostfd) < 0 ? -errno : 0;
}

static long sys_fdatasync(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);

	if (!o || (o->flags & O_PATH))
		return -EBADF;
	sync_cached(t->dom, o->hostfd);
	return fdatasync(o->hostfd) < 0 ? -errno : 0;
}

/* syncfs on the file system holding fd (any open fd, not O_PATH). */
static long sys_syncfs(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);

	if (!o || (o->flags & O_PATH))
		return -EBADF;
	if (pcache_sync_all(t->dom, false))
		dom_log(t->dom, "MAP_SHARED write-back failed at syncfs");
	return syncfs(o->hostfd) < 0 ? -errno : 0;
}

/* sync(2) of what the domain can write: the file system of its root (the
 * host's other file systems are not the domain's to flush). Never fails. */
static long sys_sync(struct thread *t, const uint64_t a[6])
{
	(void)a;
	if (pcache_sync_all(t->dom, false))
		dom_log(t->dom, "MAP_SHARED write-back failed at sync");
	int fd = openat(proc_cur(t->dom)->files->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		dom_block_begin(t);
		syncfs(fd);
		dom_block_end(t);
		close(fd);
	}
	return 0;
}

static long sys_ftruncate(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);

	if (!o || (o->flags & O_PATH))
		return -EBADF;
	if ((int64_t)a[1] < 0)
		return -EINVAL;
	/* Cached pages past the new end read as zero, as the file would
	 * if it grew again. */
	struct pcio io;
	pcio_truncate_begin(t->dom, o->hostfd, (int64_t)a[1], &io);
	long r = ftruncate(o->hostfd, (off_t)a[1]) < 0 ? -errno : 0;
	pcio_end(t->dom, &io);
	return r;
}

/* The host fd has the guest's access mode and file type, so the host's
 * checks are Linux's (EBADF unless open for writing, ESPIPE for a pipe,
 * ENODEV for what is no file, EOPNOTSUPP for modes the file system lacks);
 * files are only writable inside the writable trees. */
static long sys_fallocate(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);

	if (!o || (o->flags & O_PATH))
		return -EBADF;
	if ((int64_t)a[2] < 0 || (int64_t)a[3] <= 0)
		return -EINVAL;
	/* Modes that only free or move blocks cost nothing. */
	if (!((int)a[1] & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_COLLAPSE_RANGE)) &&
	    memfd_room(t->dom, o, a[3]) < a[3])
		return -ENOSPC;
	/* Cached pages of the range (the rest of the file for modes that
	 * move blocks) follow what the call did to the file. */
	struct pcio io;
	bool moves = (int)a[1] & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE);
	pcio_begin(t->dom, o->hostfd, (int64_t)a[2], moves ? UINT64_MAX - a[2] : a[3], true, &io);
	long r = fallocate(o->hostfd, (int)a[1], (off_t)a[2], (off_t)a[3]) < 0 ? -errno : 0;
	pcio_end(t->dom, &io);
	return r;
}

static long sys_fadvise64(struct thread *t, const uint64_t a[6])
{
	struct ofd *o = fd_peek(t->dom, (int)a[0]);

	if (!o || (o->flags & O_PATH))
		return -EBADF;
	if (S_ISFIFO(o->type))
		return -ESPIPE;
	if (a[3] > 5 || (int64_t)a[2] < 0)
		return -EINVAL;
	return 0;       /* advice only */
}

const struct syscall_desc sys_file_table[] = {
	{ SYS_read, "read", sys_read },
	{ SYS_write, "write", sys_write },
	{ SYS_readv, "readv", sys_readv },
	{ SYS_writev, "writev", sys_writev },
	{ SYS_pread64, "pread64", sys_pread64 },
	{ SYS_pwrite64, "pwrite64", sys_pwrite64 },
	{ SYS_preadv, "preadv", sys_preadv },
	{ SYS_pwritev, "pwritev", sys_pwritev },
	{ SYS_preadv2, "preadv2", sys_preadv2 },
	{ SYS_pwritev2, "pwritev2", sys_pwritev2 },
	{ SYS_lseek, "lseek", sys_lseek },
	{ SYS_fstat, "fstat", sys_fstat },
	{ SYS_getdents64, "getdents64", sys_getdents64 },
	{ SYS_sendfile, "sendfile", sys_sendfile },
	{ SYS_fsync, "fsync", sys_fsync },
	{ SYS_fdatasync, "fdatasync", sys_fdatasync },
	{ SYS_syncfs, "syncfs", sys_syncfs },
	{ SYS_fallocate, "fallocate", sys_fallocate },
	{ SYS_sync, "sync", sys_sync },
	{ SYS_ftruncate, "ftruncate", sys_ftruncate },
	{ SYS_fadvise64, "fadvise64", sys_fadvise64 },
	{ -1, NULL, NULL },
};
