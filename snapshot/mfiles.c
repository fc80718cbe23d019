/* mfiles.c: a migration's pre-stop file check — the source lists the regular files the domain has open (and maps shared) with sizes and CRC-32s, the target checks its own copies and says which differ, before the source pauses anything. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "image.h"
#include "mfiles.h"
#include "mtree.h"
#include "restore.h"
#include "sbuf.h"
#include "vmm/clock.h"
#include "vmm/cred.h"
#include "vmm/domain.h"
#include "vmm/files.h"
#include "vmm/process.h"

#define MF_WRITTEN      1u              /* open for writing: only its existence is checked */
#define MF_FLAGS        MF_WRITTEN
/* A path longer than this does not fit a message with its fields; restore
 * still checks such a file (size), just not before the pause. */
#define MF_PATH_MAX     (MS_SMALL_MAX - 64)
#define MF_CHUNK        (1u << 20)
#define MF_SHOWN        4               /* differing files named in the error */
#define MF_PATHS_MAX    (16u << 20)     /* of paths in a list, in all */

struct mf_file {
	char *path;             /* guest path */
	int fd;                 /* source: a dup of the domain's host fd */
	uint8_t flags;
	uint64_t size;
	uint32_t crc;
};

struct mf_list {
	struct mf_file *v;
	int n, cap;
	size_t bytes;           /* of paths */
};

static void list_free(struct mf_list *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->v[i].path);
		if (l->v[i].fd >= 0)
			close(l->v[i].fd);
	}
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int list_add(struct mf_list *l, char *path, int fd, uint8_t flags)
{
	if (l->n == MF_MAX_FILES)
		return -E2BIG;
	if (l->n == l->cap) {
		int nc = l->cap ? l->cap * 2 : 32;
		struct mf_file *nv = realloc(l->v, (size_t)nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = (struct mf_file){ .path = path, .fd = fd, .flags = flags };
	return 0;
}

/* The CRC-32 and size of what fd holds now. 0 or -errno. */
static int checksum(int fd, uint8_t *buf, uint64_t *size, uint32_t *crc)
{
	uint32_t c = 0;
	uint64_t off = 0;
	for (;;) {
		ssize_t n = pread(fd, buf, MF_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		c = img_crc(c, buf, (size_t)n);
		off += (uint64_t)n;
	}
	*size = off;
	*crc = c;
	return 0;
}

/* ---- source ---- */

/* One host fd of the domain's, if it is a regular file the target must
 * have: by guest path, once (written if any use of it writes). */
static int add_fd(struct domain *d, struct mf_list *l, int hostfd, bool written, bool skip_writable)
{
	struct files *f = proc_cur(d)->files;
	char host[PATH_MAX], g[PATH_MAX];
	struct stat st;
	/* Deleted (nothing to find anywhere: the snapshot says so), or not a
	 * file; /proc and /sys are each host's own; a private /dev/shm comes
	 * with the image. */
	if (fstat(hostfd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink == 0 ||
	    host_fd_path(hostfd, host, sizeof(host)) < 0 || host_to_guest(f, host, g, sizeof(g)) < 0 ||
	    !strncmp(g, "/proc/", 6) || !strncmp(g, "/sys/", 5) || strlen(g) > MF_PATH_MAX ||
	    (d->spec->shm_private && !strncmp(g, "/dev/shm/", 9)) ||
	    (skip_writable && files_host_writable(f, host)))
		return 0;
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].path, g)) {
			l->v[i].flags |= written ? MF_WRITTEN : 0;
			return 0;
		}
	char *p = strdup(g);
	int fd = fcntl(hostfd, F_DUPFD_CLOEXEC, 0);
	int r = !p ? -ENOMEM : fd < 0 ? -errno : list_add(l, p, fd, written ? MF_WRITTEN : 0);
	if (r) {
		free(p);
		if (fd >= 0)
			close(fd);
	}
	return r;
}

/* Every process's open files and the files of shared mappings, under the
 * domain lock (the tables change as the domain runs); dups of their host
 * fds, read after. */
static int collect(struct domain *d, struct mf_list *l, bool skip_writable)
{
	int r = 0;
	dom_lock(d);
	for (int i = 0; i < MAX_PROCS && !r; i++) {
		struct files *f = d->procs[i] ? d->procs[i]->files : NULL;
		for (int fd = 0; f && fd < f->nfds && !r; fd++) {
			struct ofd *o = f->fds[fd].ofd;
			if (o && o->kind == OFD_FILE)
				r = add_fd(d, l, o->hostfd, (o->flags & O_ACCMODE) != O_RDONLY, skip_writable);
		}
	}
	for (struct pcfile *p = d->pcache.files; p && !r; p = p->next)
		if (p->fd >= 0)
			r = add_fd(d, l, p->fd, p->rw, skip_writable);
	dom_unlock(d);
	return r;
}

/* Sends the list: as many entries as fit each MS_FILES, then MS_FILES_END
 * with the count and the domain's root. */
static int send_list(struct domain *d, struct mstream *s, struct mf_list *l, bool copy_writable)
{
	struct sbuf b = { 0 };
	uint32_t inb = 0;
	int r = 0;
	for (int i = 0; i <= l->n && !r; i++) {
		size_t need = i < l->n ? 4 + strlen(l->v[i].path) + 1 + 8 + 4 : SIZE_MAX;
		if (inb && (i == l->n || b.len + need > MS_SMALL_MAX)) {
			for (int k = 0; k < 4; k++)
				b.p[k] = (uint8_t)(inb >> (8 * k)); /* the count, in place */
			r = ms_send(s, MS_FILES, b.p, b.len);
			b.len = 0;
			inb = 0;
		}
		if (r || i == l->n)
			break;
		if (!inb)
			sb_u32(&b, 0);
		sb_str(&b, l->v[i].path);
		sb_u8(&b, l->v[i].flags);
		sb_u64(&b, l->v[i].size);
		sb_u32(&b, l->v[i].crc);
		inb++;
		if (b.oom)
			r = -ENOMEM;
	}
	if (!r) {
		b.len = 0;
		sb_u32(&b, (uint32_t)l->n);
		sb_str(&b, d->spec->root ? d->spec->root : "/");
		sb_u8(&b, copy_writable);
		r = b.oom ? -ENOMEM : ms_send(s, MS_FILES_END, b.p, b.len);
	}
	sb_free(&b);
	return r;
}

/* As migrate.c words a failed stream. */
static const char *stream_why(int r)
{
	return r == -EPROTO ? "malformed stream (not a pdvm migration peer, or a corrupted one)" :
	       r == -ECONNRESET || r == -EPIPE ? "the connection was closed" : strerror(-r);
}

/* What the target said: OK, or its reason. A send that failed because it
 * closed usually has that reason waiting in the socket. */
static int verdict(struct mstream *s, int r, char *err, size_t errlen)
{
	uint8_t b[MS_SMALL_MAX];
	char why[MS_SMALL_MAX];
	enum ms_type t;
	size_t n, pos = 0;
	if (r == -ECONNRESET || r == -EPIPE) {
		struct timeval tv = { 1, 0 };
		setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	} else if (r) {
		snprintf(err, errlen, "sending the open files' list: %s", stream_why(r));
		return r;
	}
	int e = ms_recv(s, &t, b, sizeof(b), &n);
	if (!e && t == MS_FILES_OK && !r)
		return 0;
	if (!e && t == MS_ERROR && !ms_get_str(b, n, &pos, why, sizeof(why)))
		snprintf(err, errlen, "the target gave up: %s", why);
	else if (r)
		snprintf(err, errlen, "sending the open files' list: %s", stream_why(r));
	else if (e)
		snprintf(err, errlen, "waiting for the target to check the open files: %s", stream_why(e));
	else
		snprintf(err, errlen, "protocol error: message %d where the open files' verdict was due", (int)t);
	return r ? r : e ? e : -ECONNABORTED;
}

int mfiles_check(struct domain *d, struct mstream *s, bool copy_writable, struct mtree **tree, char *err,
		 size_t errlen)
{
	*tree = NULL;
	struct mf_list l = { 0 };
	uint64_t t0 = host_mono_ns(), bytes = 0;
	uint8_t *buf = malloc(MF_CHUNK);
	int r = buf ? collect(d, &l, copy_writable) : -ENOMEM;
	/* Read while the domain runs: a file written meanwhile is one it has
	 * open for writing, whose contents are not compared. */
	for (int i = 0; i < l.n && !r; i++)
		if (!(l.v[i].flags & MF_WRITTEN) && (r = checksum(l.v[i].fd, buf, &l.v[i].size, &l.v[i].crc)))
			snprintf(err, errlen, "reading %s: %s", l.v[i].path, strerror(-r));
		else
			bytes += l.v[i].size;
	free(buf);
	if (r) {
		if (!*err)
			snprintf(err, errlen, "listing the open files: %s", strerror(-r));
		ms_send_error(s, err);
	} else if ((r = send_list(d, s, &l, copy_writable)) || !copy_writable ||
		   (r = mtree_send(d, s, tree, err, errlen)) == -ECONNRESET || r == -EPIPE || !r) {
		r = verdict(s, r, err, errlen);
	} else {
		/* The source could not read its own trees: err says why. */
		ms_send_error(s, err);
	}
	if (!r)
		dom_log(d, "open files checked at the target: %d, %llu MiB of them compared, in %.1f ms%s, the domain "
			"running", l.n, (unsigned long long)(bytes >> 20), (double)(host_mono_ns() - t0) / 1e6,
			copy_writable ? " (with the writable paths' first copy)" : "");
	list_free(&l);
	if (r) {
		mtree_free(*tree);
		*tree = NULL;
	}
	return r;
}

/* ---- target ---- */

/* The entries of one MS_FILES into l. 0 or -EPROTO. */
static int get_batch(const uint8_t *b, size_t n, struct mf_list *l)
{
	struct sread rd;
	sr_init(&rd, b, n);
	uint32_t cnt = sr_u32(&rd);
	if (cnt == 0 || cnt > MS_SMALL_MAX / 17)
		return -EPROTO;
	for (uint32_t i = 0; i < cnt && !rd.bad; i++) {
		char *p = sr_str(&rd, MF_PATH_MAX);
		uint8_t fl = sr_u8(&rd);
		uint64_t size = sr_u64(&rd);
		uint32_t crc = sr_u32(&rd);
		if (rd.bad || !p || p[0] != '/' || (fl & ~MF_FLAGS) || (l->bytes += strlen(p)) > MF_PATHS_MAX ||
		    list_add(l, p, -1, fl)) {
			free(p);
			return -EPROTO;
		}
		l->v[l->n - 1].size = size;
		l->v[l->n - 1].crc = crc;
	}
	return rd.bad || rd.pos != rd.len ? -EPROTO : 0;
}

/* Whether host path a is b or lies below it. */
static bool within(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (!strcmp(b, "/"))
		return a[0] == '/';
	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

/* The domain's root here: the source's, inside the operator's. An O_PATH
 * fd, or -errno with err. */
static int open_root(const char *root, const struct restore_opts *o, char *err, size_t errlen)
{
	char mine[PATH_MAX], theirs[PATH_MAX];
	const char *allowed = o->root ? o->root : "/";
	if (!realpath(allowed, mine)) {
		snprintf(err, errlen, "the allowed root %s: %s", allowed, strerror(errno));
		return -errno;
	}
	if (!realpath(root, theirs)) {
		snprintf(err, errlen, "the domain's root %s does not exist on the target", root);
		return -ENOENT;
	}
	if (!within(theirs, mine)) {
		snprintf(err, errlen, "the domain's root %s lies outside the target's allowed root %s (--root)", theirs,
			 mine);
		return -EPERM;
	}
	int fd = open(theirs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		snprintf(err, errlen, "the domain's root %s: %s", theirs, strerror(errno));
	return fd < 0 ? -errno : fd;
}

/* One file, opened inside the root as the domain (symlinks resolved
 * within it, as restore's reopen does). "" when it matches, else what
 * differs into why. */
static void check_one(int rootfd, const struct dom_cred *cred, const struct mf_file *f, uint8_t *buf, char *why,
		      size_t len)
{
	struct open_how how = {
		.flags = (f->flags & MF_WRITTEN ? O_PATH : O_RDONLY | O_NONBLOCK | O_NOCTTY) | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = cred_enter(cred);
	if (!fd) {
		fd = (int)syscall(SYS_openat2, rootfd, f->path, &how, sizeof(how));
		fd = fd < 0 ? -errno : fd;
		cred_leave(cred);
	}
	struct stat st;
	uint64_t size;
	uint32_t crc;
	int r;
	*why = '\0';
	if (fd == -ENOENT)
		snprintf(why, len, "%s: missing", f->path);
	else if (fd < 0)
		snprintf(why, len, "%s: %s", f->path, strerror(-fd));
	else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		snprintf(why, len, "%s: not a regular file", f->path);
	else if (f->flags & MF_WRITTEN)
		; /* it changes as the domain writes it: restore compares the size */
	else if ((uint64_t)st.st_size != f->size)
		snprintf(why, len, "%s: size differs (%llu bytes at the source, %llu here)", f->path,
			 (unsigned long long)f->size, (unsigned long long)st.st_size);
	else if ((r = checksum(fd, buf, &size, &crc)))
		snprintf(why, len, "%s: reading it: %s", f->path, strerror(-r));
	else if (size != f->size || crc != f->crc)
		snprintf(why, len, "%s: content differs (%s)", f->path, size != f->size ? "size" : "same size");
	if (fd >= 0)
		close(fd);
}

/* --copy-writable: the writable paths' first pass, written here. 0 or
 * -errno with err. */
static int recv_trees(struct mstream *s, int rootfd, const struct restore_opts *o, uint8_t *buf, char *err,
		      size_t errlen)
{
	enum ms_type t;
	size_t n;
	int r = mtree_begin(rootfd, o, err, errlen);
	while (!r) {
		if ((r = ms_recv(s, &t, buf, MS_PAGES_MAX, &n))) {
			snprintf(err, errlen, "receiving the writable paths: %s", stream_why(r));
		} else if (!mtree_msg(t)) {
			snprintf(err, errlen, "protocol error: message %d where the writable paths were due", (int)t);
			r = -EPROTO;
		} else if ((r = mtree_recv(t, buf, n, err, errlen)) == 1) {
			return 0;
		}
	}
	mtree_end();
	return r;
}

/* Receives the list: 0, or -errno with err. */
static int recv_list(struct mstream *s, struct mf_list *l, char **root, bool *copy_writable, char *err,
		     size_t errlen)
{
	uint8_t b[MS_SMALL_MAX];
	enum ms_type t;
	size_t n;
	for (;;) {
		int r = ms_recv(s, &t, b, sizeof(b), &n);
		if (r) {
			snprintf(err, errlen, "receiving the open files' list: %s", stream_why(r));
			return r;
		}
		if (t == MS_FILES && !get_batch(b, n, l))
			continue;
		if (t != MS_FILES_END)
			break;
		struct sread rd;
		sr_init(&rd, b, n);
		uint32_t cnt = sr_u32(&rd);
		*root = sr_str(&rd, PATH_MAX - 1);
		uint8_t cw = sr_u8(&rd);
		if (rd.bad || !*root || (*root)[0] != '/' || cnt != (uint32_t)l->n || cw > 1 || rd.pos != rd.len)
			break;
		*copy_writable = cw;
		return 0;
	}
	snprintf(err, errlen, "protocol error: no valid list of the open files from the source");
	return -EPROTO;
}

int mfiles_verify(struct mstream *s, const struct restore_opts *o, char *err, size_t errlen)
{
	struct mf_list l = { 0 };
	char *root = NULL, why[PATH_MAX + 128];
	bool cw = false;
	int r = recv_list(s, &l, &root, &cw, err, errlen), rootfd = -1, bad = 0;
	uint8_t *buf = NULL;
	if (!r && (rootfd = open_root(root, o, err, errlen)) < 0)
		r = rootfd;
	if (!r && !(buf = malloc(MS_PAGES_MAX))) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	if (!r && cw)
		r = recv_trees(s, rootfd, o, buf, err, errlen);
	size_t pos = 0;
	for (int i = 0; i < l.n && !r; i++) {
		check_one(rootfd, &o->cred, &l.v[i], buf, why, sizeof(why));
		if (!*why)
			continue;
		if (bad++ < MF_SHOWN && pos < errlen)
			pos += (size_t)snprintf(err + pos, errlen - pos, "%s%s", bad > 1 ? "; " : "", why);
	}
	if (!r && bad) {
		char list[2048];
		snprintf(list, sizeof(list), "%s", err);
		snprintf(err, errlen, "%s the domain has open differ%s on the target: %s%s",
			 bad == 1 ? "a file" : "files", bad == 1 ? "s" : "", list,
			 bad > MF_SHOWN ? " (and more)" : "");
		r = -ESTALE;
	}
	if (r)
		ms_send_error(s, err);
	else if ((r = ms_send(s, MS_FILES_OK, NULL, 0)))
		snprintf(err, errlen, "answering the source: %s", strerror(-r));
	if (rootfd >= 0)
		close(rootfd);
	free(buf);
	free(root);
	list_free(&l);
	return r;
}
