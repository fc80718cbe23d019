/* files.c: the domain's files — set-up of the confined root, writable paths
 * and cwd; open file descriptions; the guest fd table; opening the program. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "domain.h"
#include "epoll.h"
#include "files.h"
#include "posixlock.h"
#include "vmfile.h"

/* ---- open file descriptions ---- */

/* /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom (major 1):
 * their reads and writes return at once (random has not blocked since Linux
 * 5.6 once seeded), so guest memory is used in place, with no bounce copy. */
static bool mem_chardev(dev_t rdev)
{
	unsigned mi = minor(rdev);
	return major(rdev) == 1 && (mi == 3 || mi == 5 || mi == 7 || mi == 8 || mi == 9);
}

struct ofd *ofd_new(int hostfd, int flags, enum ofd_kind kind, const char *path)
{
	struct ofd *o = calloc(1, sizeof(*o));
	struct stat st;

	if (!o || !(o->path = strdup(path ? path : ""))) {
		free(o);
		close(hostfd);
		return NULL;
	}
	atomic_init(&o->refs, 1);
	o->hostfd = hostfd;
	o->flags = flags;
	o->kind = kind;
	if (fstat(hostfd, &st) == 0)
		o->type = st.st_mode & S_IFMT;
	/* Only regular files, directories, block devices and the memory
	 * devices never block; the rest (pipes, ttys, sockets, other char
	 * devices) drop the domain lock. */
	o->may_block = !(S_ISREG(o->type) || S_ISDIR(o->type) || S_ISBLK(o->type) ||
			 (S_ISCHR(o->type) && mem_chardev(st.st_rdev)) || (flags & O_PATH));
	return o;
}

struct ofd *ofd_get(struct ofd *o)
{
	atomic_fetch_add(&o->refs, 1);
	return o;
}

void ofd_put(struct ofd *o)
{
	if (!o || atomic_fetch_sub(&o->refs, 1) != 1)
		return;
	if (o->ep_regs)
		ep_target_gone(o);
	if (o->release)
		o->release(o);
	/* Any close of a file's fd drops pdvm's host locks on it: the
	 * domain's POSIX locks are set again (an O_PATH fd drops none). */
	if (o->hostfd >= 0 && (o->flags & O_PATH))
		close(o->hostfd);
	else if (o->hostfd >= 0)
		plock_host_close(o->hostfd);
	vmfile_put(o->vmfile);
	free(o->path);
	free(o);
}

/* ---- the fd table ---- */

int fd_limit(struct domain *d)
{
	uint64_t cur = proc_cur(d)->rlimits[RLIMIT_NOFILE].cur;

	if (cur == 0)
		return FD_LIMIT_DEFAULT;
	return cur > FD_LIMIT_MAX ? FD_LIMIT_MAX : (int)cur;
}

static int fd_grow(struct files *f, int need)
{
	int n = f->nfds ? f->nfds : 64;
	struct fdent *p;

	while (n < need)
		n *= 2;
	if (n <= f->nfds)
		return 0;
	p = realloc(f->fds, (size_t)n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + f->nfds, 0, (size_t)(n - f->nfds) * sizeof(*p));
	f->fds = p;
	f->nfds = n;
	return 0;
}

int fd_install(struct domain *d, struct ofd *o, int min, bool cloexec)
{
	struct files *f = proc_cur(d)->files;
	int limit = fd_limit(d), fd;

	for (fd = min < 0 ? 0 : min; fd < limit; fd++) {
		if (fd >= f->nfds && fd_grow(f, fd + 1) < 0)
			break;
		if (!f->fds[fd].ofd) {
			f->fds[fd].ofd = o;
			f->fds[fd].cloexec = cloexec;
			return fd;
		}
	}
	ofd_put(o);
	return fd < limit ? -ENOMEM : -EMFILE;
}

int fd_find_free(struct domain *d, int min)
{
	struct files *f = proc_cur(d)->files;
	int limit = fd_limit(d);

	for (int fd = min < 0 ? 0 : min; fd < limit; fd++)
		if (fd >= f->nfds || !f->fds[fd].ofd)
			return fd;
	return -EMFILE;
}

int fd_install_at(struct domain *d, struct ofd *o, int fd, bool cloexec)
{
	struct files *f = proc_cur(d)->files;
	struct ofd *old;

	if (fd < 0 || fd >= fd_limit(d)) {
		ofd_put(o);
		return -EBADF;
	}
	if (fd >= f->nfds && fd_grow(f, fd + 1) < 0) {
		ofd_put(o);
		return -ENOMEM;
	}
	old = f->fds[fd].ofd;
	f->fds[fd].ofd = o;
	f->fds[fd].cloexec = cloexec;
	if (old)
		plock_fd_closed(d, f, old);
	ofd_put(old);
	return fd;
}

struct ofd *fd_peek(struct domain *d, int fd)
{
	struct files *f = proc_cur(d)->files;

	if (!f || fd < 0 || fd >= f->nfds)
		return NULL;
	return f->fds[fd].ofd;
}

struct ofd *fd_get(struct domain *d, int fd)
{
	struct ofd *o = fd_peek(d, fd);

	return o ? ofd_get(o) : NULL;
}

int fd_close(struct domain *d, int fd)
{
	struct ofd *o = fd_peek(d, fd);

	if (!o)
		return -EBADF;
	proc_cur(d)->files->fds[fd].ofd = NULL;
	proc_cur(d)->files->fds[fd].cloexec = false;
	/* POSIX: closing any fd of a file releases the process's locks on it. */
	plock_fd_closed(d, proc_cur(d)->files, o);
	ofd_put(o);
	return 0;
}

int fd_get_cloexec(struct domain *d, int fd)
{
	if (!fd_peek(d, fd))
		return -EBADF;
	return proc_cur(d)->files->fds[fd].cloexec;
}

int fd_set_cloexec(struct domain *d, int fd, bool on)
{
	if (!fd_peek(d, fd))
		return -EBADF;
	proc_cur(d)->files->fds[fd].cloexec = on;
	return 0;
}

void files_exec_cloexec(struct domain *d)
{
	struct files *f = proc_cur(d)->files;

	for (int fd = 0; f && fd < f->nfds; fd++)
		if (f->fds[fd].ofd && f->fds[fd].cloexec)
			fd_close(d, fd);
}

int files_install(struct domain *d, int hostfd, int flags, enum ofd_kind kind,
		  const char *path, bool cloexec)
{
	struct ofd *o = ofd_new(hostfd, flags, kind, path);

	if (!o)
		return -ENOMEM;
	return fd_install(d, o, 0, cloexec);
}

int files_host_fd(struct domain *d, int fd)
{
	struct ofd *o = fd_peek(d, fd);

	return o ? o->hostfd : -EBADF;
}

const char *files_path(struct domain *d, int fd)
{
	struct ofd *o = fd_peek(d, fd);

	return o && o->path ? o->path : "";
}

/* ---- set-up ---- */

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long r = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

	return r < 0 ? -errno : (int)r;
}

/* Raises the host's soft fd limit: every guest description holds a host fd
 * and the VMM needs its own on top. */
static void raise_host_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int init_writable(struct files *f, char **wr, char *err, size_t errlen)
{
	char host[PATH_MAX];
	int n = 0;

	while (wr && wr[n])
		n++;
	f->wr = calloc(n ? (size_t)n : 1, sizeof(*f->wr));
	if (!f->wr)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		struct stat st;
		int fd, r;

		fd = open_in_root(f->rootfd, wr[i], O_PATH);
		if (fd < 0) {
			snprintf(err, errlen, "writable path %s: %s (inside root %s)",
				 wr[i], strerror(-fd), f->root_host);
			return fd;
		}
		r = host_fd_path(fd, host, sizeof(host));
		if (r == 0 && fstat(fd, &st) < 0)
			r = -errno;
		if (r < 0) {
			close(fd);
			snprintf(err, errlen, "writable path %s: %s", wr[i], strerror(-r));
			return r;
		}
		if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
			close(fd);
			snprintf(err, errlen, "writable path %s: not a directory or regular file",
				 wr[i]);
			return -EINVAL;
		}
		f->wr[i].fd = fd;
		f->nwr = i + 1;
		f->wr[i].host = strdup(host);
		if (!f->wr[i].host)
			return -ENOMEM;
		f->wr[i].len = strcmp(host, "/") ? strlen(host) : 0;
		f->wr[i].dir = S_ISDIR(st.st_mode);
	}
	return 0;
}

static void init_stdio(struct domain *d)
{
	char desc[PATH_MAX + 16], host[PATH_MAX];

	for (int i = 0; i < 3; i++) {
		int fd = fcntl(i, F_DUPFD_CLOEXEC, 3), fl;
		struct ofd *o;

		if (fd < 0)
			continue;       /* pdvm itself started without fd i */
		fl = fcntl(fd, F_GETFL);
		if (host_fd_path(fd, host, sizeof(host)) < 0)
			strcpy(host, "?");
		snprintf(desc, sizeof(desc), "host:%s", host);
		o = ofd_new(fd, fl < 0 ? (i ? O_WRONLY : O_RDONLY) : fl, OFD_STDIO, desc);
		if (o) {
			o->stdio = i;
			fd_install_at(d, o, i, false);
		}
	}
}

int files_init(struct domain *d, const struct domain_spec *c, char *err, size_t errlen)
{
	const char *root = c && c->root ? c->root : "/";
	const char *cwd = c && c->cwd ? c->cwd : "/";
	char host[PATH_MAX];
	struct files *f;
	int r;

	if (!d->init && !proc_new(d, d->pid ? d->pid : 1)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}

	snprintf(err, errlen, "out of memory");
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->rootfd = f->cwdfd = -1;
	f->umask = 022;
	proc_cur(d)->files = f;

	f->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (f->rootfd < 0) {
		r = -errno;
		snprintf(err, errlen, "root %s: %s", root, strerror(-r));
		goto fail;
	}
	r = host_fd_path(f->rootfd, host, sizeof(host));
	if (r < 0) {
		snprintf(err, errlen, "root %s: %s", root, strerror(-r));
		goto fail;
	}
	f->root_host = strdup(host);
	if (!f->root_host) {
		r = -ENOMEM;
		goto fail;
	}
	f->root_len = strcmp(host, "/") ? strlen(host) : 0;

	r = init_writable(f, c ? c->writable : NULL, err, errlen);
	if (r < 0)
		goto fail;

	f->cwdfd = open_in_root(f->rootfd, cwd, O_PATH | O_DIRECTORY);
	if (f->cwdfd < 0) {
		r = f->cwdfd;
		snprintf(err, errlen, "cwd %s: %s (inside root %s)", cwd, strerror(-r),
			 f->root_host);
		goto fail;
	}
	if (fd_grow(f, 64) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	raise_host_nofile();
	init_stdio(d);
	if (errlen)
		err[0] = '\0';
	return 0;
fail:
	files_destroy(d);
	return r;
}

void files_put(struct domain *d, struct files *f)
{
	if (!f)
		return;
	plock_owner_gone(d, f);
	for (int fd = 0; fd < f->nfds; fd++)
		ofd_put(f->fds[fd].ofd);
	free(f->fds);
	for (int i = 0; i < f->nwr; i++) {
		free(f->wr[i].host);
		if (f->wr[i].fd >= 0)
			close(f->wr[i].fd);
	}
	free(f->wr);
	if (f->rootfd >= 0)
		close(f->rootfd);
	if (f->cwdfd >= 0)
		close(f->cwdfd);
	free(f->root_host);
	free(f->exe);
	free(f);
}

void files_destroy(struct domain *d)
{
	files_put(d, proc_cur(d)->files);
	proc_cur(d)->files = NULL;
}

/* fork: the same open file descriptions (shared offsets, as on Linux),
 * close-on-exec flags, cwd, umask and root. */
struct files *files_clone(const struct files *s)
{
	struct files *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->rootfd = f->cwdfd = -1;
	f->umask = s->umask;
	f->root_len = s->root_len;
	f->fds = calloc((size_t)(s->nfds ? s->nfds : 1), sizeof(*f->fds));
	f->wr = calloc((size_t)(s->nwr ? s->nwr : 1), sizeof(*f->wr));
	f->root_host = strdup(s->root_host ? s->root_host : "");
	f->exe = s->exe ? strdup(s->exe) : NULL;
	if (!f->fds || !f->wr || !f->root_host || (s->exe && !f->exe))
		goto fail;
	f->nfds = s->nfds;
	for (int i = 0; i < s->nfds; i++) {
		f->fds[i] = s->fds[i];
		if (f->fds[i].ofd)
			ofd_get(f->fds[i].ofd);
	}
	for (int i = 0; i < s->nwr; i++) {
		f->wr[i] = s->wr[i];
		f->wr[i].fd = -1;
		f->wr[i].host = strdup(s->wr[i].host);
		f->nwr = i + 1;
		if (!f->wr[i].host)
			goto fail;
		if (s->wr[i].fd >= 0 && (f->wr[i].fd = fcntl(s->wr[i].fd, F_DUPFD_CLOEXEC, 0)) < 0)
			goto fail;
	}
	if ((f->rootfd = fcntl(s->rootfd, F_DUPFD_CLOEXEC, 0)) < 0 ||
	    (f->cwdfd = fcntl(s->cwdfd, F_DUPFD_CLOEXEC, 0)) < 0)
		goto fail;
	return f;
fail:
	files_put(NULL, f);
	return NULL;
}

/* ---- the program ---- */

/* Opens one candidate; -EACCES unless a regular file with an execute bit. */
static int open_exec_one(struct domain *d, const char *path)
{
	struct stat st;
	int fd = path_open(d, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0, NULL);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
		close(fd);
		return -EACCES;
	}
	return fd;
}

int files_open_exec(struct domain *d, const char *path, char *const envp[], char **resolved)
{
	const char *list = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char cand[PATH_MAX];
	bool eacces = false;
	size_t nlen;
	int fd;

	*resolved = NULL;
	if (!path || !*path)
		return -ENOENT;
	if (strchr(path, '/')) {
		fd = open_exec_one(d, path);
		goto out;
	}
	for (int i = 0; envp && envp[i]; i++)
		if (!strncmp(envp[i], "PATH=", 5)) {
			list = envp[i] + 5;
			break;
		}
	nlen = strlen(path);
	if (nlen > NAME_MAX)
		return -ENAMETOOLONG;
	fd = -ENOENT;
	for (const char *p = list;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);

		if (dlen + nlen + 2 <= sizeof(cand)) {
			/* An empty entry means the current directory, like execvp. */
			if (dlen == 0)
				snprintf(cand, sizeof(cand), "%s", path);
			else
				snprintf(cand, sizeof(cand), "%.*s/%s", (int)dlen, p, path);
			fd = open_exec_one(d, cand);
			if (fd >= 0) {
				path = cand;
				break;
			}
			if (fd == -EACCES)
				eacces = true;
		}
		if (!*end)
			break;
		p = end;
	}
	if (fd < 0 && eacces)
		fd = -EACCES;
out:
	if (fd >= 0) {
		char abs[PATH_MAX * 2];

		*resolved = strdup(path);
		if (!*resolved) {
			close(fd);
			return -ENOMEM;
		}
		/* /proc/self/exe reads back the absolute guest path. */
		free(proc_cur(d)->files->exe);
		proc_cur(d)->files->exe = NULL;
		if (path_compose(d, AT_FDCWD, path, abs, sizeof(abs)) == 0)
			proc_cur(d)->files->exe = strdup(abs);
	}
	return fd;
}
