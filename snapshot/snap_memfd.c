/* snap_memfd.c: memfds inside `files` — a memfd's name, mode, seals and contents written with its first description, the others reopened on it — and how a shared mapping names the memfd it writes back to. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/domain.h"
#include "vmm/files.h"
#include "vmm/memfd.h"
#include "snap_state.h"

/*
 * A memfd is memory the program owns, not a file of the root: nothing can
 * reopen it, so its bytes travel in the image. Only data extents are
 * written (SEEK_DATA), in pieces; all-zero pieces are left out, as holes
 * read back as zeros. The `files` section is read whole, so the contents
 * of every memfd together are bounded; a bigger one makes the snapshot
 * fail with a message rather than an image restore could not read.
 */
#define MEMFD_IMG_MAX   (128u << 20)
#define MEMFD_PIECE     (1u << 20)
#define MEMFD_SIZE_MAX  (1ULL << 40)   /* a restored file's length (sparse) */
#define MEMFD_NAME_MAX  249
#define PIECES_END      UINT64_MAX
#define SEALS_KNOWN     0x3fu

static bool same_file(int a, int b)
{
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* The name memfd_create was given: the host path is "/memfd:NAME (deleted)". */
static void memfd_name(int fd, char *out, size_t len)
{
	char host[PATH_MAX];
	const char *suffix = " (deleted)";
	*out = 0;
	if (host_fd_path(fd, host, sizeof(host)) < 0 || strncmp(host, "/memfd:", 7))
		return;
	size_t n = strlen(host + 7), s = strlen(suffix);
	if (n >= s && !strcmp(host + 7 + n - s, suffix))
		n -= s;
	snprintf(out, len, "%.*s", (int)MIN(n, (size_t)MEMFD_NAME_MAX), host + 7);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* The data extents of rfd (a description of its own: SEEK_DATA moves it). */
static int put_pieces(int rfd, uint64_t size, const char *name, struct sbuf *b, char *err, size_t errlen)
{
	uint8_t *buf = malloc(MEMFD_PIECE);
	int ret = 0;
	if (!buf)
		return -ENOMEM;
	for (off_t at = 0; (uint64_t)at < size && !ret;) {
		off_t ds = lseek(rfd, at, SEEK_DATA);
		if (ds < 0)
			break;          /* ENXIO: no data after `at` */
		off_t de = lseek(rfd, ds, SEEK_HOLE);
		if (de < 0 || (uint64_t)de > size)
			de = (off_t)size;
		for (off_t p = ds; p < de && !ret; p += MEMFD_PIECE) {
			size_t n = (size_t)MIN((off_t)MEMFD_PIECE, de - p);
			ssize_t got = pread(rfd, buf, n, p);
			if (got != (ssize_t)n) {
				ret = got < 0 ? -errno : -EIO;
				snprintf(err, errlen, "memfd %s: reading its contents: %s", name, strerror(-ret));
			} else if (!all_zero(buf, n)) {
				if (b->len + n > MEMFD_IMG_MAX) {
					snprintf(err, errlen, "memfd %s: its contents (%llu bytes) and the other open files "
						 "are more than an image carries (%u MiB of memfd data)", name,
						 (unsigned long long)size, MEMFD_IMG_MAX >> 20);
					ret = -EFBIG;
					break;
				}
				sb_u64(b, (uint64_t)p);
				sb_u32(b, (uint32_t)n);
				sb_put(b, buf, n);
			}
		}
		at = de;
	}
	sb_u64(b, PIECES_END);
	free(buf);
	return ret;
}

int snap_put_memfd(struct ofd **v, int k, struct sbuf *b, char *err, size_t errlen)
{
	struct ofd *o = v[k];
	uint32_t first = UINT32_MAX;
	for (int j = 0; j < k && first == UINT32_MAX; j++)
		if (v[j]->kind == OFD_MEMFD && same_file(v[j]->hostfd, o->hostfd))
			first = (uint32_t)j;
	off_t pos = lseek(o->hostfd, 0, SEEK_CUR);
	sb_u64(b, (uint64_t)(pos < 0 ? 0 : pos));
	sb_u32(b, first);
	if (first != UINT32_MAX)
		return 0;       /* the contents went with description `first` */
	char name[MEMFD_NAME_MAX + 1], link[32];
	struct stat st;
	memfd_name(o->hostfd, name, sizeof(name));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", o->hostfd);
	int rfd = open(link, O_RDONLY | O_CLOEXEC);
	if (rfd < 0 || fstat(rfd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "memfd %s: %s", name, strerror(e));
		if (rfd >= 0)
			close(rfd);
		return -e;
	}
	sb_str(b, name);
	sb_u32(b, st.st_mode & 07777);
	sb_u32(b, (uint32_t)memfd_seals(rfd));
	sb_u64(b, (uint64_t)st.st_size);
	int r = put_pieces(rfd, (uint64_t)st.st_size, name, b, err, errlen);
	close(rfd);
	return r;
}

/* A new memfd with the image's name, mode, contents and seals, made with
 * the domain's identity as the program's was. */
static int get_contents(struct sread *r, struct domain *d, int flags, struct ofd **out, char *err, size_t errlen)
{
	char *name = sr_str(r, MEMFD_NAME_MAX);
	uint32_t mode = sr_u32(r), seals = sr_u32(r);
	uint64_t size = sr_u64(r);
	if (!r->bad && ((mode & ~07777u) || (seals & ~SEALS_KNOWN) || size > MEMFD_SIZE_MAX))
		sr_fail(r, "memfd: mode, seals or size out of range");
	if (r->bad) {
		free(name);
		return -1;
	}
	int e = cred_enter(&d->cred);
	struct ofd *o = NULL;
	if (!e) {
		/* MFD_EXEC keeps a host's vm.memfd_noexec from sealing an
		 * executable one; a host that does not know it makes it so. */
		o = memfd_new(name ? name : "", MFD_ALLOW_SEALING | ((mode & 0111) ? 0x10u : 0), &e);
		if (!o && e == -EINVAL)
			o = memfd_new(name ? name : "", MFD_ALLOW_SEALING, &e);
		cred_leave(&d->cred);
	}
	if (!o) {
		snprintf(err, errlen, "memfd %s: %s", name ? name : "", strerror(-e));
		free(name);
		return e;
	}
	o->flags = flags;
	int ret = ftruncate(o->hostfd, (off_t)size) < 0 ? -errno : 0;
	for (uint64_t end = 0; !ret && !r->bad;) {
		uint64_t at = sr_u64(r);
		if (at == PIECES_END || r->bad)
			break;
		uint32_t n;
		const uint8_t *p = sr_bytes(r, MEMFD_PIECE, &n);
		if (!r->bad && (at < end || at > size || n > size - at))
			sr_fail(r, "memfd: a piece of its contents lies outside the file or out of order");
		if (r->bad)
			break;
		if (pwrite(o->hostfd, p, n, (off_t)at) != (ssize_t)n)
			ret = -EIO;
		end = at + n;
	}
	if (!ret && !r->bad && fchmod(o->hostfd, mode) < 0)
		ret = -errno;
	if (!ret && !r->bad && seals && fcntl(o->hostfd, F_ADD_SEALS, (int)seals) < 0)
		ret = -errno;
	if (ret)
		snprintf(err, errlen, "memfd %s: restoring its contents: %s", name ? name : "", strerror(-ret));
	free(name);
	if (ret || r->bad) {
		ofd_put(o);
		return r->bad ? -1 : ret;
	}
	*out = o;
	return 0;
}

int snap_get_memfd(struct sread *r, struct domain *d, struct ofd **v, uint32_t k, int flags, struct ofd **out,
		   char *err, size_t errlen)
{
	uint64_t pos = sr_u64(r);
	uint32_t first = sr_u32(r);
	int ret;
	if (r->bad)
		return -1;
	if (first == UINT32_MAX) {
		ret = get_contents(r, d, flags, out, err, errlen);
	} else if (first >= k || !v[first] || v[first]->kind != OFD_MEMFD) {
		sr_fail(r, "memfd: its first description is out of range");
		return -1;
	} else {
		/* Another description of the same file, as the program made
		 * it: an open of /proc/self/fd/N. */
		int fd = cred_enter(&d->cred);
		if (!fd) {
			fd = path_reopen(v[first]->hostfd, flags);
			cred_leave(&d->cred);
		}
		*out = fd < 0 ? NULL : ofd_new(fd, flags, OFD_MEMFD, v[first]->path);
		ret = fd < 0 ? fd : *out ? 0 : -ENOMEM;
		if (ret)
			snprintf(err, errlen, "memfd %s: reopening it: %s", v[first]->path, strerror(-ret));
	}
	if (ret)
		return ret;
	if (lseek((*out)->hostfd, (off_t)pos, SEEK_SET) < 0) {
		snprintf(err, errlen, "memfd %s: seek to %llu: %s", (*out)->path, (unsigned long long)pos,
			 strerror(errno));
		ofd_put(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

uint32_t snap_memfd_ref(struct ofd **v, int n, int fd)
{
	if (!memfd_is(fd))
		return SNAP_MEMFD_NONE;
	for (int k = 0; k < n; k++)
		if (v[k]->kind == OFD_MEMFD && same_file(v[k]->hostfd, fd))
			return (uint32_t)k;
	return SNAP_MEMFD_ORPHAN;
}
