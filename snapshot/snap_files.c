/* snap_files.c: the fd table in an image — open file descriptions by path, offset and identity; pipes with their data. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/domain.h"
#include "vmm/procfs.h"
#include "vmm/files.h"
#include "snap_sock.h"
#include "snap_state.h"

#define MAX_OFDS        65536
#define PIPE_DATA_MAX   (1 << 20)

/* Unique descriptions in fd order, the first process's table first, then
 * the others': shared ones are written once, and each fd names its
 * description by index, so sharing (also between processes) survives. */
static int collect_add(struct files *f, struct ofd ***v, int *n, int *cap)
{
	for (int fd = 0; f && fd < f->nfds; fd++) {
		struct ofd *o = f->fds[fd].ofd;
		if (!o)
			continue;
		int k = 0;
		while (k < *n && (*v)[k] != o)
			k++;
		if (k < *n)
			continue;
		if (*n == *cap) {
			int nc = *cap ? *cap * 2 : 64;
			struct ofd **nv = realloc(*v, (size_t)nc * sizeof(**v));
			if (!nv)
				return -ENOMEM;
			*v = nv;
			*cap = nc;
		}
		(*v)[(*n)++] = o;
	}
	return 0;
}

int snap_collect_ofds(struct domain *d, struct ofd ***out)
{
	struct ofd **v = NULL;
	int n = 0, cap = 0;
	int r = collect_add(d->init->files, &v, &n, &cap);
	for (int i = 0; i < MAX_PROCS && !r; i++)
		if (d->procs[i] && d->procs[i] != d->init)
			r = collect_add(d->procs[i]->files, &v, &n, &cap);
	if (r || !(v = v ? v : calloc(1, sizeof(*v)))) {
		free(v);
		return -ENOMEM;
	}
	*out = v;
	return n;
}

static int index_of(struct ofd **v, int n, struct ofd *o)
{
	for (int k = 0; k < n; k++)
		if (v[k] == o)
			return k;
	return -1;
}

/* Copies a pipe's unread bytes without consuming them (tee into a scratch
 * pipe), so a domain that goes on running reads them as before. */
static int pipe_peek(int rfd, struct sbuf *b)
{
	int avail = 0;
	if (ioctl(rfd, FIONREAD, &avail) < 0)
		return -errno;
	sb_u32(b, (uint32_t)avail);
	if (avail <= 0)
		return 0;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	int r = 0;
	/* tee copies pipe buffers, not bytes: the scratch pipe needs as many
	 * slots as the source has (small writes leave partly filled ones). */
	int srcsz = fcntl(rfd, F_GETPIPE_SZ);
	if (fcntl(p[1], F_SETPIPE_SZ, MAX(srcsz, avail)) < 0) {
		r = -errno;
		goto out;
	}
	ssize_t got = tee(rfd, p[1], (size_t)avail, SPLICE_F_NONBLOCK);
	if (got != avail) {
		r = got < 0 ? -errno : -EIO;
		goto out;
	}
	char *buf = malloc((size_t)avail);
	if (!buf || read(p[0], buf, (size_t)avail) != avail)
		r = buf ? -EIO : -ENOMEM;
	else
		sb_put(b, buf, (size_t)avail);
	free(buf);
out:
	close(p[0]);
	close(p[1]);
	return r;
}

/* The kind of a description as `files` records it: fixed values of the
 * image format, never vmm's in-memory enum (which may be reordered). 4 was
 * never written (the kind that cannot be checkpointed). */
enum img_ofd_kind {
	IMG_OFD_FILE = 0, IMG_OFD_STDIO = 1, IMG_OFD_PIPE = 2, IMG_OFD_SOCKET = 3,
	IMG_OFD_EPOLL = 5, IMG_OFD_EVENTFD = 6, IMG_OFD_TIMERFD = 7,
	IMG_OFD_MEMFD = 8, IMG_OFD_PIDFD = 9,  /* files 2 */
};

static uint32_t img_kind(enum ofd_kind k)
{
	switch (k) {
	case OFD_FILE: return IMG_OFD_FILE;
	case OFD_STDIO: return IMG_OFD_STDIO;
	case OFD_PIPE: return IMG_OFD_PIPE;
	case OFD_SOCKET: return IMG_OFD_SOCKET;
	case OFD_EPOLL: return IMG_OFD_EPOLL;
	case OFD_EVENTFD: return IMG_OFD_EVENTFD;
	case OFD_TIMERFD: return IMG_OFD_TIMERFD;
	case OFD_MEMFD: return IMG_OFD_MEMFD;
	case OFD_PIDFD: return IMG_OFD_PIDFD;
	case OFD_OTHER: case OFD_PROCMEM: break;
	}
	return UINT32_MAX; /* refused before it is written */
}

static int put_ofd(struct domain *d, const struct snap_freeze *fz, struct ofd **v, int n, int k, struct sbuf *b,
		   char *err, size_t errlen)
{
	struct ofd *o = v[k];
	struct stat st;
	if (fstat(o->hostfd, &st) < 0) {
		snprintf(err, errlen, "fd of %s: %s", o->path, strerror(errno));
		return -errno;
	}
	sb_u32(b, img_kind(o->kind));
	sb_u32(b, (uint32_t)o->flags);
	sb_str(b, o->path);
	switch (o->kind) {
	case OFD_STDIO:
		sb_u32(b, (uint32_t)o->stdio);
		return 0;
	case OFD_FILE: {
		char host[PATH_MAX], g[PATH_MAX];
		if (st.st_nlink == 0 && S_ISREG(st.st_mode)) {
			snprintf(err, errlen, "open file %s was deleted: it cannot be reopened on restore", o->path);
			return -ENOENT;
		}
		if (host_fd_path(o->hostfd, host, sizeof(host)) < 0 ||
		    host_to_guest(proc_cur(d)->files, host, g, sizeof(g)) < 0) {
			snprintf(err, errlen, "open file %s: its path is no longer inside the root", o->path);
			return -ENOENT;
		}
		off_t off = lseek(o->hostfd, 0, SEEK_CUR);
		sb_str(b, g);
		sb_u64(b, (uint64_t)(off < 0 ? -1 : off));
		sb_u64(b, (uint64_t)st.st_dev);
		sb_u64(b, (uint64_t)st.st_ino);
		sb_u64(b, (uint64_t)st.st_size);
		sb_u64(b, (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec);
		sb_u32(b, st.st_mode);
		return 0;
	}
	case OFD_PIPE: {
		int sz = fcntl(o->hostfd, F_GETPIPE_SZ);
		sb_u64(b, (uint64_t)st.st_ino);
		sb_u32(b, (uint32_t)(o->flags & O_ACCMODE));
		sb_u32(b, (uint32_t)(sz > 0 ? sz : 65536));
		/* The data goes with the first read end of the pipe. */
		bool first_reader = (o->flags & O_ACCMODE) == O_RDONLY;
		for (int j = 0; j < k && first_reader; j++) {
			struct stat s2;
			if (v[j]->kind == OFD_PIPE && (v[j]->flags & O_ACCMODE) == O_RDONLY &&
			    fstat(v[j]->hostfd, &s2) == 0 && s2.st_ino == st.st_ino)
				first_reader = false;
		}
		sb_u8(b, first_reader);
		if (first_reader) {
			int r = pipe_peek(o->hostfd, b);
			if (r) {
				snprintf(err, errlen, "reading pipe contents: %s", strerror(-r));
				return r;
			}
		}
		return 0;
	}
	case OFD_SOCKET:
		return snap_put_sock(d, fz, v, n, o, b, err, errlen);
	case OFD_EPOLL:
	case OFD_EVENTFD:
	case OFD_TIMERFD:
		return snap_put_anon(d, v, n, k, b, err, errlen);
	case OFD_MEMFD:
		return snap_put_memfd(v, k, b, err, errlen);
	case OFD_PIDFD:
		return snap_put_pidfd(o, b);
	default:
		snprintf(err, errlen, "%s: this kind of open file cannot be checkpointed yet", o->path);
		return -EOPNOTSUPP;
	}
}

/* The calling view's (proc_cur) umask, cwd and exe. */
static int put_fdhead(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	struct files *f = proc_cur(d)->files;
	char cwd[PATH_MAX * 2];
	int r = path_compose(d, AT_FDCWD, "", cwd, sizeof(cwd));
	if (r < 0) {
		snprintf(err, errlen, "current directory %s", r == -ENAMETOOLONG ?
			 "is deeper than PATH_MAX: an image names it by path" : strerror(-r));
		return r;
	}
	sb_u32(b, f->umask);
	sb_str(b, cwd);
	sb_str(b, f->exe);
	return 0;
}

static void put_fdents(struct domain *d, struct sbuf *b, struct ofd **v, int n)
{
	struct files *f = proc_cur(d)->files;
	int nused = 0;
	for (int fd = 0; fd < f->nfds; fd++)
		nused += f->fds[fd].ofd != NULL;
	sb_u32(b, (uint32_t)nused);
	for (int fd = 0; fd < f->nfds; fd++) {
		if (!f->fds[fd].ofd)
			continue;
		sb_u32(b, (uint32_t)fd);
		sb_u32(b, (uint32_t)index_of(v, n, f->fds[fd].ofd));
		sb_u8(b, f->fds[fd].cloexec);
	}
}

int snap_put_fdtable(struct domain *d, struct sbuf *b, struct ofd **v, int n, char *err, size_t errlen)
{
	int r = put_fdhead(d, b, err, errlen);
	if (!r)
		put_fdents(d, b, v, n);
	return r;
}

int snap_put_files(struct domain *d, const struct snap_freeze *fz, struct sbuf *b, char *err, size_t errlen)
{
	struct ofd **v;
	int n = snap_collect_ofds(d, &v);
	if (n < 0)
		return n;
	int r = put_fdhead(d, b, err, errlen);
	sb_u32(b, (uint32_t)n);
	for (int k = 0; k < n && !r; k++)
		r = put_ofd(d, fz, v, n, k, b, err, errlen);
	put_fdents(d, b, v, n);
	free(v);
	return r ? r : b->oom ? -ENOMEM : 0;
}

/* ---- restore ---- */

struct rpipe {
	uint64_t ino;
	int fd[2];              /* read and write ends; descriptions get dups */
};

static int get_pipe(struct sread *r, struct rpipe *pipes, int *np, int flags, struct ofd **out,
		    const char *desc)
{
	uint64_t ino = sr_u64(r);
	uint32_t acc = sr_u32(r);
	uint32_t size = sr_u32(r);
	bool has_data = sr_u8(r);
	uint32_t len = has_data ? sr_u32(r) : 0;
	if (acc != O_RDONLY && acc != O_WRONLY)
		sr_fail(r, "pipe end is neither read nor write");
	if (size < 4096 || size > (1u << 20) || len > size || len > PIPE_DATA_MAX)
		sr_fail(r, "pipe size out of range");
	if (r->bad || len > r->len - r->pos) {
		sr_fail(r, "pipe data runs past the section");
		return -1;
	}
	const uint8_t *data = r->p + r->pos;
	r->pos += len;
	int k = 0;
	while (k < *np && pipes[k].ino != ino)
		k++;
	if (k == *np) {
		int p[2];
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		pipes[k] = (struct rpipe){ .ino = ino, .fd = { p[0], p[1] } };
		(*np)++;
		fcntl(p[1], F_SETPIPE_SZ, (int)size);
	}
	struct rpipe *pp = &pipes[k];
	if (has_data && len) {
		if (write(pp->fd[1], data, len) != (ssize_t)len)
			return -EIO;
	}
	int end = acc == O_RDONLY ? 0 : 1;
	int dfd = fcntl(pp->fd[end], F_DUPFD_CLOEXEC, 3);
	if (dfd < 0)
		return -errno;
	fcntl(dfd, F_SETFL, O_NONBLOCK); /* as pipe2 makes them: see host_nb */
	*out = ofd_new(dfd, flags, OFD_PIPE, desc);
	if (*out)
		(*out)->host_nb = true;
	return *out ? 0 : -ENOMEM;
}

static int get_file(struct sread *r, struct domain *d, int flags, bool force, bool migration, struct ofd **out,
		    const char *desc, char *err, size_t errlen)
{
	char *g = sr_str(r, PATH_MAX - 1);
	uint64_t off = sr_u64(r), dev = sr_u64(r), ino = sr_u64(r), size = sr_u64(r), mt = sr_u64(r);
	uint32_t mode = sr_u32(r);
	if (!r->bad && (!g || g[0] != '/'))
		sr_fail(r, "open file path is not absolute");
	if (r->bad) {
		free(g);
		return -1;
	}
	/* The guest-facing open: confined to the root, EROFS outside the
	 * writable paths. O_CREAT/O_TRUNC/O_EXCL did their work long ago. */
	int oflags = flags & ~(O_CREAT | O_EXCL | O_TRUNC);
	int hfd = cred_enter(&d->cred);
	if (!hfd) {
		/* With the domain's identity, as the guest's own open was. */
		hfd = path_open(d, AT_FDCWD, g, oflags, 0, NULL);
		cred_leave(&d->cred);
	}
	if (hfd < 0) {
		snprintf(err, errlen, "cannot reopen %s: %s", g, strerror(-hfd));
		free(g);
		return hfd;
	}
	struct stat st;
	int ret = 0;
	if (fstat(hfd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", g, strerror(errno));
	} else if ((st.st_mode & S_IFMT) != (mode & S_IFMT)) {
		ret = -ESTALE;
		snprintf(err, errlen, "%s is no longer the same kind of file", g);
	} else if (S_ISREG(st.st_mode) && !force && !procfs_is_synthetic(d, g) &&
		   /* made again from the image's `shm` section: new inode and time */
		   !(d->spec->shm_private && !strncmp(g, "/dev/shm/", 9)) &&
		   /* A migration's target checked the contents before the
		    * source paused; on another host the identity differs. */
		   ((!migration && ((uint64_t)st.st_dev != dev || (uint64_t)st.st_ino != ino ||
				    (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + (uint64_t)st.st_mtim.tv_nsec != mt)) ||
		    (uint64_t)st.st_size != size)) {
		ret = -ESTALE;
		snprintf(err, errlen, "%s changed since the snapshot (%s); use --force to restore anyway", g,
			 !migration && (uint64_t)st.st_ino != ino ? "another file" :
			 (uint64_t)st.st_size != size ? "size differs" : "modified");
	} else if (off != (uint64_t)-1 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
		   lseek(hfd, (off_t)off, SEEK_SET) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: seek to %llu: %s", g, (unsigned long long)off, strerror(errno));
	}
	free(g);
	if (ret) {
		close(hfd);
		return ret;
	}
	*out = ofd_new(hfd, flags, OFD_FILE, desc);
	return *out ? 0 : -ENOMEM;
}

static int get_stdio(struct sread *r, int flags, struct ofd **out, const char *desc)
{
	uint32_t i = sr_u32(r);
	if (i > 2) {
		sr_fail(r, "stdio index out of range");
		return -1;
	}
	/* The restoring pdvm's own stdin/stdout/stderr take their place. */
	int hfd = fcntl((int)i, F_DUPFD_CLOEXEC, 3);
	if (hfd < 0)
		hfd = open("/dev/null", (i ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	if (hfd < 0)
		return -errno;
	int fl = fcntl(hfd, F_GETFL);
	*out = ofd_new(hfd, fl < 0 ? flags : fl, OFD_STDIO, desc);
	if (*out)
		(*out)->stdio = (int)i;
	return *out ? 0 : -ENOMEM;
}

void snap_restore_release(struct snap_restore *rs)
{
	for (uint32_t k = 0; k < rs->nofds; k++)
		if (rs->ofds[k])
			ofd_put(rs->ofds[k]);
	free(rs->ofds);
	rs->ofds = NULL;
	rs->nofds = 0;
	/* What a failed `files` left: pending registrations and pairs. */
	snap_unix_release(rs);
	snap_epoll_release(rs);
	for (int i = 0; i < rs->nlocks; i++)
		free(rs->locks[i]);
	rs->nlocks = 0;
	tcp_held_free(&rs->held, &rs->nheld);
}

/* umask, cwd, exe into the calling view's (proc_cur) table. */
static int get_fdhead(struct sread *r, struct domain *d, char *err, size_t errlen)
{
	struct files *f = proc_cur(d)->files;
	uint32_t um = sr_u32(r);
	char *cwd = sr_str(r, PATH_MAX * 2);
	char *exe = sr_str(r, PATH_MAX);
	if (um > 0777 || (!r->bad && (!cwd || cwd[0] != '/')))
		sr_fail(r, "umask or cwd out of range");
	if (r->bad) {
		free(cwd);
		free(exe);
		return -1;
	}
	f->umask = um;
	free(f->exe);
	f->exe = exe;
	int h = path_lookup(d, AT_FDCWD, cwd, true, true);
	if (h < 0) {
		snprintf(err, errlen, "working directory %s: %s", cwd, strerror(-h));
		free(cwd);
		return h;
	}
	free(cwd);
	close(f->cwdfd);
	f->cwdfd = h;
	/* The fd table comes wholly from the image. */
	for (int fd = 0; fd < f->nfds; fd++)
		if (f->fds[fd].ofd)
			fd_close(d, fd);
	return 0;
}

static int get_fdents(struct sread *r, struct domain *d, struct ofd **v, uint32_t n, char *err, size_t errlen)
{
	int ret = 0;
	uint32_t nfd = sr_u32(r);
	if (nfd > (uint32_t)FD_LIMIT_MAX)
		sr_fail(r, "too many fds");
	for (uint32_t i = 0; i < nfd && !r->bad && !ret; i++) {
		uint32_t fd = sr_u32(r), k = sr_u32(r);
		bool cloexec = sr_u8(r);
		if (r->bad)
			break;
		if (k >= n || !v[k] || fd >= (uint32_t)FD_LIMIT_MAX || fd_peek(d, (int)fd)) {
			sr_fail(r, "fd entry out of range or repeated");
			break;
		}
		int e = fd_install_at(d, ofd_get(v[k]), (int)fd, cloexec);
		if (e < 0) {
			ret = e;
			snprintf(err, errlen, "fd %u: %s", fd, strerror(-e));
		}
	}
	return r->bad ? -1 : ret;
}

int snap_get_fdtable(struct sread *r, struct domain *d, const struct snap_restore *rs, char *err, size_t errlen)
{
	int ret = get_fdhead(r, d, err, errlen);
	return ret ? ret : get_fdents(r, d, rs->ofds, rs->nofds, err, errlen);
}

int snap_get_files(struct sread *r, struct domain *d, struct snap_restore *rs, bool force, char *err,
		   size_t errlen)
{
	snap_restore_release(rs);
	int ret = r->bad ? -1 : get_fdhead(r, d, err, errlen);
	if (ret)
		return r->bad ? -1 : ret;
	uint32_t n = sr_u32(r);
	if (n > MAX_OFDS)
		sr_fail(r, "description count out of range");
	if (r->bad)
		return -1;
	struct ofd **v = calloc(n ? n : 1, sizeof(*v));
	struct rpipe *pipes = calloc(n ? n : 1, sizeof(*pipes));
	int np = 0;
	if (!v || !pipes) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint32_t k = 0; k < n && !ret && !r->bad; k++) {
		uint32_t kind = sr_u32(r);
		int flags = (int)sr_u32(r);
		char *desc = sr_str(r, PATH_MAX * 2);
		if (r->bad)
			break;
		switch (kind) {
		case IMG_OFD_STDIO:
			ret = get_stdio(r, flags, &v[k], desc);
			break;
		case IMG_OFD_FILE:
			ret = get_file(r, d, flags, force, rs->migration, &v[k], desc, err, errlen);
			break;
		case IMG_OFD_PIPE:
			ret = get_pipe(r, pipes, &np, flags, &v[k], desc);
			break;
		case IMG_OFD_SOCKET:
			ret = snap_get_sock(r, d, rs, flags, &v[k], desc, err, errlen);
			break;
		case IMG_OFD_EPOLL:
			ret = snap_get_anon(r, rs, OFD_EPOLL, flags, &v[k], desc);
			break;
		case IMG_OFD_EVENTFD:
			ret = snap_get_anon(r, rs, OFD_EVENTFD, flags, &v[k], desc);
			break;
		case IMG_OFD_TIMERFD:
			ret = snap_get_anon(r, rs, OFD_TIMERFD, flags, &v[k], desc);
			break;
		case IMG_OFD_MEMFD:
			ret = snap_get_memfd(r, d, v, k, flags, &v[k], err, errlen);
			break;
		case IMG_OFD_PIDFD:
			ret = snap_get_pidfd(r, d, flags, &v[k], err, errlen);
			break;
		default:
			sr_fail(r, "unknown kind of open file");
		}
		free(desc);
		if (ret == -1 && r->bad)
			ret = 0;
		if (ret && !*err)
			snprintf(err, errlen, "restoring open files: %s", strerror(-ret));
	}
	int e = snap_unix_finish(d, rs, !r->bad && !ret, err, errlen);
	if (!ret)
		ret = e;
	e = snap_epoll_finish(rs, v, n, !r->bad && !ret, err, errlen);
	if (!ret)
		ret = e;
	if (!r->bad && !ret) {
		ret = get_fdents(r, d, v, n, err, errlen);
		if (ret == -1 && r->bad)
			ret = 0;
	}
	if (!r->bad && !ret && r->pos != r->len)
		sr_fail(r, "files section has trailing bytes");
	if (!r->bad && !ret)
		snap_sock_restore_done(d, rs); /* the connections are back: let the peers in */
out:
	if (!r->bad && !ret && v) {
		rs->ofds = v; /* the references go to `procs`, then snap_restore_release */
		rs->nofds = n;
		v = NULL;
	}
	for (uint32_t k = 0; v && k < n; k++)
		if (v[k])
			ofd_put(v[k]);
	for (int k = 0; k < np; k++) {
		close(pipes[k].fd[0]);
		close(pipes[k].fd[1]);
	}
	free(v);
	free(pipes);
	return r->bad ? -1 : ret;
}
