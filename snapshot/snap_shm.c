/* snap_shm.c: sections `shm` and `tmpfs` — the files of a domain's private tmpfs mounts (its /dev/shm: POSIX shared memory and semaphores; the tmpfs volumes a container has), written out whole and made again on restore. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/domain.h"
#include "snap_state.h"

/* Entry kinds on disk (fixed values: images outlive this enum). */
enum { SHM_END = 0, SHM_DIR = 1, SHM_FILE = 2, SHM_LINK = 3 };

#define SHM_DEPTH_MAX   16
#define SHM_ENTRIES_MAX 100000
/* A tmpfs of the largest --shm-size is 64G; a section is at most 256M,
 * which is what one file may carry here. */
#define SHM_FILE_MAX    (200u << 20)

struct walk {
	struct sbuf *b;
	int n;
	const char *label;      /* the tmpfs as the domain names it, for messages */
	char *err;
	size_t errlen;
};

/* ROOT/guest, the tmpfs as pdvm sees it (in its own mount namespace). */
static int host_dir(const struct domain *d, const char *guest, char *out, size_t len)
{
	const char *root = d->spec->root && strcmp(d->spec->root, "/") ? d->spec->root : "";

	return snprintf(out, len, "%s%s", root, guest) >= (int)len ? -ENAMETOOLONG : 0;
}

static int put_file(struct walk *w, int dfd, const char *name, const char *rel, off_t size)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *buf = NULL;

	if (fd < 0 || size < 0 || (uint64_t)size > SHM_FILE_MAX || !(buf = malloc(size ? (size_t)size : 1))) {
		int e = fd < 0 ? errno : size > SHM_FILE_MAX ? EFBIG : ENOMEM;
		snprintf(w->err, w->errlen, "%s/%s: %s", w->label, rel, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	ssize_t n = pread(fd, buf, (size_t)size, 0);
	close(fd);
	if (n != size) {
		snprintf(w->err, w->errlen, "%s/%s: changed while it was read", w->label, rel);
		free(buf);
		return -EIO;
	}
	sb_u32(w->b, (uint32_t)size);
	sb_put(w->b, buf, (size_t)size);
	free(buf);
	return 0;
}

/* Writes the entries under dfd (the directory `rel`), parents first. */
static int put_tree(struct walk *w, int dfd, const char *rel, int depth)
{
	DIR *dir = fdopendir(dfd);
	struct dirent *e;
	int r = 0;

	if (!dir) {
		close(dfd);
		return -errno;
	}
	while (!r && (e = readdir(dir))) {
		char path[PATH_MAX];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= (int)sizeof(path) ||
		    ++w->n > SHM_ENTRIES_MAX || depth > SHM_DEPTH_MAX) {
			snprintf(w->err, w->errlen, "%s holds too many or too deep entries to carry", w->label);
			r = -E2BIG;
			break;
		}
		if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;       /* gone meanwhile: the guest is stopped, pdvm is not */
		if (S_ISDIR(st.st_mode)) {
			sb_u8(w->b, SHM_DIR);
			sb_str(w->b, path);
			sb_u32(w->b, st.st_mode & 07777);
			int sub = openat(dirfd(dir), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			r = sub < 0 ? -errno : put_tree(w, sub, path, depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			sb_u8(w->b, SHM_FILE);
			sb_str(w->b, path);
			sb_u32(w->b, st.st_mode & 07777);
			r = put_file(w, dirfd(dir), e->d_name, path, st.st_size);
		} else if (S_ISLNK(st.st_mode)) {
			char to[PATH_MAX];
			ssize_t n = readlinkat(dirfd(dir), e->d_name, to, sizeof(to) - 1);
			if (n < 0)
				continue;
			to[n] = '\0';
			sb_u8(w->b, SHM_LINK);
			sb_str(w->b, path);
			sb_str(w->b, to);
		}
		/* FIFOs and sockets in a tmpfs carry no data; not kept. */
	}
	closedir(dir);
	return r;
}

/* One tmpfs's tree, ended by SHM_END. */
static int put_dir(struct domain *d, const char *guest, struct sbuf *b, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	struct walk w = { .b = b, .label = guest, .err = err, .errlen = errlen };
	int fd, r;

	if ((r = host_dir(d, guest, dir, sizeof(dir))) < 0 ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(r < 0 ? -r : errno));
		return r < 0 ? r : -errno;
	}
	r = put_tree(&w, fd, "", 0);
	sb_u8(b, SHM_END);
	return r ? r : b->oom ? -ENOMEM : 0;
}

int snap_put_shm(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	return put_dir(d, "/dev/shm", b, err, errlen);
}

bool snap_has_tmpfs(const struct domain *d)
{
	return d->spec->tmpfs && d->spec->tmpfs[0];
}

/* Section `tmpfs`: how many, then each one's guest path and tree. */
int snap_put_tmpfs(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	uint32_t n = 0;
	for (char **t = d->spec->tmpfs; t && *t; t++)
		n++;
	sb_u64(b, n);
	for (char **t = d->spec->tmpfs; t && *t; t++) {
		sb_str(b, *t);
		int r = put_dir(d, *t, b, err, errlen);
		if (r)
			return r;
	}
	return b->oom ? -ENOMEM : 0;
}

/* A relative path with no empty, "." or ".." component. */
static bool rel_ok(const char *p)
{
	if (!p || !*p || *p == '/')
		return false;
	for (const char *c = p; *c;) {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/' && !*++c)
			return false;
	}
	return true;
}

/* Creates under the tmpfs, never through a symlink (an image may hold
 * "a -> /etc" and then "a/x"). */
static int create_beneath(int dfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW), .mode = mode,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	long r = syscall(SYS_openat2, dfd, rel, &how, sizeof(how));

	return r < 0 ? -errno : (int)r;
}

/* The parent directory of rel (opened beneath dfd) and rel's last name. */
static int parent_of(int dfd, const char *rel, const char **name)
{
	const char *slash = strrchr(rel, '/');
	char dir[PATH_MAX];

	*name = slash ? slash + 1 : rel;
	if (!slash)
		return fcntl(dfd, F_DUPFD_CLOEXEC, 0);
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - rel), rel);
	return create_beneath(dfd, dir, O_PATH | O_DIRECTORY, 0);
}

static int make_entry(int dfd, int kind, const char *rel, uint32_t mode, const uint8_t *data, uint32_t len,
		      const char *to)
{
	const char *name;
	int pfd = parent_of(dfd, rel, &name), fd, r = 0;

	if (pfd < 0)
		return pfd;
	if (kind == SHM_DIR) {
		r = mkdirat(pfd, name, mode & 07777) < 0 ? -errno : 0;
	} else if (kind == SHM_LINK) {
		r = symlinkat(to, pfd, name) < 0 ? -errno : 0;
	} else {
		fd = create_beneath(pfd, name, O_WRONLY | O_CREAT | O_EXCL, mode & 07777);
		if (fd < 0) {
			r = fd;
		} else {
			if (len && write(fd, data, len) != (ssize_t)len)
				r = -EIO;
			close(fd);
		}
	}
	/* The umask may have narrowed it. */
	if (!r && kind != SHM_LINK && fchmodat(pfd, name, mode & 07777, 0) < 0)
		r = -errno;
	close(pfd);
	return r;
}

/* Reads one tree (up to SHM_END) and, unless dry, makes it under the
 * tmpfs at guest. */
static int get_dir(struct sread *r, struct domain *d, const char *guest, bool dry, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int dfd = -1, ret = 0, n = 0;

	if (!dry) {
		if ((ret = host_dir(d, guest, dir, sizeof(dir))) < 0 ||
		    (dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
			ret = ret < 0 ? ret : -errno;
			snprintf(err, errlen, "%s: %s", dir, strerror(-ret));
			return ret;
		}
		/* The files are the domain's, made with its identity. */
		if ((ret = cred_enter(&d->cred))) {
			close(dfd);
			snprintf(err, errlen, "%s: %s", guest, strerror(-ret));
			return ret;
		}
	}
	for (;;) {
		int kind = sr_u8(r);
		if (r->bad || kind == SHM_END)
			break;
		if (kind > SHM_LINK || ++n > SHM_ENTRIES_MAX) {
			sr_fail(r, "shm: bad entry");
			break;
		}
		char *rel = sr_str(r, PATH_MAX - 1), *to = NULL;
		uint32_t mode = 0, len = 0;
		const uint8_t *data = NULL;
		if (kind == SHM_LINK)
			to = sr_str(r, PATH_MAX - 1);
		else
			mode = sr_u32(r);
		if (kind == SHM_FILE)
			data = sr_bytes(r, SHM_FILE_MAX, &len);
		if (!r->bad && (!rel_ok(rel) || (kind == SHM_LINK && (!to || !*to)) || (mode & ~07777u)))
			sr_fail(r, "shm: bad entry path, link or mode");
		if (!r->bad && !dry && !ret) {
			ret = make_entry(dfd, kind, rel, mode, data, len, to);
			if (ret)
				snprintf(err, errlen, "%s/%s: %s", guest, rel, strerror(-ret));
		}
		free(rel);
		free(to);
	}
	if (!dry) {
		cred_leave(&d->cred);
		close(dfd);
	}
	return r->bad ? -1 : ret;
}

int snap_get_shm(struct sread *r, struct domain *d, bool dry, char *err, size_t errlen)
{
	if (!dry && !d->spec->shm_private) {
		snprintf(err, errlen, "the image carries the files of a private /dev/shm and this restore has none "
			 "(it needs root for a mount namespace; --shm-size 0 asks for none)");
		return -EINVAL;
	}
	return get_dir(r, d, "/dev/shm", dry, err, errlen);
}

static bool has(char *const *list, const char *s)
{
	for (; list && *list; list++)
		if (!strcmp(*list, s))
			return true;
	return false;
}

/* Each of the image's tmpfs must be one this restore mounted (--tmpfs):
 * its files go there, or the restore stops rather than lose them. */
int snap_get_tmpfs(struct sread *r, struct domain *d, bool dry, char *err, size_t errlen)
{
	uint32_t n = (uint32_t)sr_range(r, 0, 64, "tmpfs: too many");
	int ret = 0;
	for (uint32_t i = 0; i < n && !r->bad && !ret; i++) {
		char *g = sr_str(r, PATH_MAX - 1);
		if (!r->bad && (!g || g[0] != '/' || !rel_ok(g + 1)))
			sr_fail(r, "tmpfs: bad path");
		if (!r->bad && !dry && !has(d->spec->tmpfs, g)) {
			snprintf(err, errlen, "the image carries the files of a tmpfs on %s and this restore mounts none "
				 "there (--tmpfs %s)", g, g);
			ret = -EINVAL;
		}
		if (!r->bad && !ret)
			ret = get_dir(r, d, g, dry, err, errlen);
		free(g);
	}
	return r->bad ? -1 : ret;
}
