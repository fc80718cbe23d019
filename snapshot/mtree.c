/* mtree.c: `pdvm migrate --copy-writable` — the source walks the domain's writable trees (as the domain) and streams directories, files and symlinks, then what changed while paused; the target writes them under its own policy, confined, never following a symlink. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "mtree.h"
#include "restore.h"
#include "sbuf.h"
#include "vmm/clock.h"
#include "vmm/cred.h"
#include "vmm/domain.h"
#include "vmm/files.h"
#include "vmm/process.h"

/* Entry kinds (fixed values of the stream). */
#define MT_DIR          1
#define MT_FILE         2
#define MT_LINK         3
#define MT_GONE         4       /* removed since the first pass */
#define MT_ENTRIES_MAX  (1u << 20)
#define MT_DEPTH_MAX    256
#define MT_CHUNK        (1u << 20)      /* file data per MS_TREE_DATA */
#define MT_TREES_MAX    64
/* A change within this long before the first pass read an entry may share
 * its timestamp (the kernel's coarse clock): such an entry goes again. */
#define MT_RACY_NS      (100 * 1000000ULL)

/* ---- source ---- */

struct ment {
	int tree;               /* index of the writable path */
	char *rel;              /* path below it ("" for a writable file itself) */
	uint8_t kind;
	bool seen;              /* found again by the second pass */
	bool racy;              /* changed as it was read: goes again */
	uint32_t mode;
	uint64_t size, mtime, ctime, ino;
};

struct mtree {
	struct ment *v;
	size_t n, cap;
};

struct walk {
	struct domain *d;
	struct mstream *s;
	struct mtree *old;      /* second pass: what the first sent */
	struct mtree *out;      /* first pass: what goes */
	const char *tree;       /* guest path of the writable path being walked */
	int ti;
	uint8_t *buf;
	uint32_t sent;          /* entries in this pass */
	uint64_t bytes;
	char *err;
	size_t errlen;
};

static uint64_t ns(struct timespec t)
{
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint8_t kind_of(mode_t m)
{
	return S_ISDIR(m) ? MT_DIR : S_ISREG(m) ? MT_FILE : S_ISLNK(m) ? MT_LINK : 0;
}

void mtree_free(struct mtree *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].rel);
	free(t->v);
	free(t);
}

static int ment_cmp(const void *a, const void *b)
{
	const struct ment *x = a, *y = b;
	return x->tree != y->tree ? (x->tree < y->tree ? -1 : 1) : strcmp(x->rel, y->rel);
}

static int record(struct mtree *t, int tree, const char *rel, uint8_t kind, const struct stat *st, bool racy)
{
	if (t->n == MT_ENTRIES_MAX)
		return -E2BIG;
	if (t->n == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 256;
		struct ment *nv = realloc(t->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->v = nv;
		t->cap = nc;
	}
	char *r = strdup(rel);
	if (!r)
		return -ENOMEM;
	t->v[t->n++] = (struct ment){ .tree = tree, .rel = r, .kind = kind, .racy = racy, .mode = st->st_mode & 07777,
				      .size = (uint64_t)st->st_size, .mtime = ns(st->st_mtim),
				      .ctime = ns(st->st_ctim), .ino = (uint64_t)st->st_ino };
	return 0;
}

/* The header of one entry. */
static int send_head(struct walk *w, const char *rel, uint8_t kind, uint32_t mode, uint64_t mtime,
		     const char *target)
{
	struct sbuf b = { 0 };
	sb_str(&b, w->tree);
	sb_str(&b, rel);
	sb_u8(&b, kind);
	sb_u32(&b, mode);
	sb_u64(&b, mtime);
	if (kind == MT_LINK)
		sb_str(&b, target);
	int r = b.oom ? -ENOMEM : b.len > MS_SMALL_MAX ? -ENAMETOOLONG : ms_send(w->s, MS_TREE, b.p, b.len);
	sb_free(&b);
	if (r == -ENAMETOOLONG)
		snprintf(w->err, w->errlen, "%s/%s: its path is too long to copy", w->tree, rel);
	w->sent++;
	return r;
}

/* A file's contents until its end as it reads now (it may grow or shrink
 * meanwhile: the second pass sends it again), then an empty chunk. */
static int send_data(struct walk *w, int fd, const char *rel)
{
	int r = 0;
	for (uint64_t off = 0; !r;) {
		ssize_t n = pread(fd, w->buf, MT_CHUNK, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(w->err, w->errlen, "%s/%s: %s", w->tree, rel, strerror(errno));
			break;
		}
		r = ms_send(w->s, MS_TREE_DATA, w->buf, (size_t)n);
		off += (uint64_t)n;
		w->bytes += (uint64_t)n;
		if (n == 0)
			break;
	}
	return r;
}

/* Whether the domain may read what st describes (and search it, a
 * directory). pdvm's own threads may not change identity here (seccomp),
 * so this is the permission bits as the kernel checks them for the
 * domain's uid and gid, which has no other groups (vmm/cred.c); ACLs are
 * not consulted. */
static bool domain_reads(const struct domain *d, const struct stat *st)
{
	const struct dom_cred *c = &d->cred;
	if (c->as_root || c->own)
		return true;
	mode_t want = S_ISDIR(st->st_mode) ? 5 : 4;
	mode_t m = st->st_uid == c->uid ? st->st_mode >> 6 : st->st_gid == c->gid ? st->st_mode >> 3 : st->st_mode;
	return (m & want) == want;
}

/* Opens name in dirfd for reading, if the domain could. An fd or -errno. */
static int open_as(struct walk *w, int dirfd, const char *name, int flags)
{
	struct stat st;
	int fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = fstat(fd, &st) < 0 ? errno : domain_reads(w->d, &st) ? 0 : EACCES;
	if (e) {
		close(fd);
		return -e;
	}
	return fd;
}

static int walk_dir(struct walk *w, int fd, char *rel, size_t rlen, int depth);

/* One entry, name in dirfd (for a writable file itself: its host path),
 * rel below the writable path: sent if new or changed, recorded, and a
 * directory walked. */
static int visit(struct walk *w, int dirfd, const char *name, char *rel, size_t rlen, int depth)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno; /* gone meanwhile: the next pass says so */
	uint8_t kind = kind_of(st.st_mode);
	if (!kind)
		return 0; /* FIFOs, sockets, devices: nothing to copy */
	int fd = -1, r = 0;
	char target[PATH_MAX];
	if (kind != MT_LINK) {
		fd = open_as(w, dirfd, name, O_RDONLY | O_NONBLOCK | (kind == MT_DIR ? O_DIRECTORY : 0));
		if (fd == -ENOENT)
			return 0;
		if (fd < 0 || fstat(fd, &st) < 0 || kind_of(st.st_mode) != kind) {
			r = fd < 0 ? fd : -ESTALE;
			snprintf(w->err, w->errlen, "%s/%s: %s", w->tree, rel, r == -ESTALE ? "replaced while read" :
				 strerror(-r));
			goto out;
		}
	} else {
		ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
		if (n < 0)
			return errno == ENOENT ? 0 : -errno;
		target[n] = '\0';
	}
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	bool racy = ns(st.st_mtim) + MT_RACY_NS >= ns(now) || ns(st.st_ctim) + MT_RACY_NS >= ns(now);
	bool go = true;
	if (w->old) {
		struct ment key = { .tree = w->ti, .rel = rel };
		struct ment *m = bsearch(&key, w->old->v, w->old->n, sizeof(key), ment_cmp);
		if (m) {
			m->seen = true;
			go = m->racy || m->kind != kind || m->mode != (st.st_mode & 07777) || m->ino != (uint64_t)st.st_ino ||
			     m->mtime != ns(st.st_mtim) || m->ctime != ns(st.st_ctim) ||
			     (kind == MT_FILE && m->size != (uint64_t)st.st_size);
		}
	}
	/* The writable directory itself is there at the target (its policy). */
	if (go && (rel[0] || kind != MT_DIR)) {
		r = send_head(w, rel, kind, st.st_mode & 07777, ns(st.st_mtim), target);
		if (!r && kind == MT_FILE)
			r = send_data(w, fd, rel);
	}
	if (!r && w->out)
		r = record(w->out, w->ti, rel, kind, &st, racy);
	if (!r && kind == MT_DIR) {
		r = walk_dir(w, fd, rel, rlen, depth + 1);
		fd = -1;
	}
out:
	if (fd >= 0)
		close(fd);
	return r;
}

/* The entries of directory fd (taken over), rel its path. */
static int walk_dir(struct walk *w, int fd, char *rel, size_t rlen, int depth)
{
	DIR *dp = depth <= MT_DEPTH_MAX ? fdopendir(fd) : NULL;
	if (!dp) {
		int e = depth > MT_DEPTH_MAX ? ELOOP : errno;
		close(fd);
		snprintf(w->err, w->errlen, "%s/%s: %s", w->tree, rel, e == ELOOP ? "nested too deep" : strerror(e));
		return -e;
	}
	int r = 0;
	struct dirent *e;
	while (!r && (errno = 0, e = readdir(dp))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		size_t nl = strlen(e->d_name), sep = rlen ? 1 : 0;
		if (rlen + sep + nl >= PATH_MAX) {
			snprintf(w->err, w->errlen, "%s/%s/%s: its path is too long to copy", w->tree, rel, e->d_name);
			r = -ENAMETOOLONG;
			break;
		}
		if (sep)
			rel[rlen] = '/';
		memcpy(rel + rlen + sep, e->d_name, nl + 1);
		r = visit(w, dirfd(dp), e->d_name, rel, rlen + sep + nl, depth);
		rel[rlen] = '\0';
	}
	if (!r && errno) {
		r = -errno;
		snprintf(w->err, w->errlen, "%s/%s: %s", w->tree, rel, strerror(errno));
	}
	closedir(dp);
	return r;
}

/* Both passes: every writable path of the domain, then (second pass) what
 * is gone, then MS_TREE_END with the count. */
static int walk_all(struct walk *w)
{
	struct files *f = w->d->init->files;
	char g[PATH_MAX], rel[PATH_MAX];
	int r = 0;
	if (!(w->buf = malloc(MT_CHUNK)))
		return -ENOMEM;
	/* The writable paths are fixed at start: their host paths are read
	 * without the domain lock. */
	for (int i = 0; i < f->nwr && !r; i++) {
		if (host_to_guest(f, f->wr[i].host, g, sizeof(g)) < 0)
			continue;
		/* A private /dev/shm goes with the image. */
		if (w->d->spec->shm_private && !strcmp(g, "/dev/shm"))
			continue;
		w->tree = g;
		w->ti = i;
		rel[0] = '\0';
		r = visit(w, AT_FDCWD, f->wr[i].host, rel, 0, 0);
	}
	for (size_t k = w->old ? w->old->n : 0; k-- > 0 && !r;) {
		/* Children sort after their directory: backwards, they go first. */
		struct ment *m = &w->old->v[k];
		if (m->seen || !m->rel[0] || host_to_guest(f, f->wr[m->tree].host, g, sizeof(g)) < 0)
			continue;
		w->tree = g;
		r = send_head(w, m->rel, MT_GONE, 0, 0, NULL);
	}
	free(w->buf);
	if (r && !*w->err)
		snprintf(w->err, w->errlen, "sending: %s", strerror(-r));
	if (!r) {
		uint8_t b[4];
		for (int k = 0; k < 4; k++)
			b[k] = (uint8_t)(w->sent >> (8 * k));
		r = ms_send(w->s, MS_TREE_END, b, 4);
	}
	return r;
}

int mtree_send(struct domain *d, struct mstream *s, struct mtree **sent, char *err, size_t errlen)
{
	struct mtree *t = calloc(1, sizeof(*t));
	struct walk w = { .d = d, .s = s, .out = t, .err = err, .errlen = errlen };
	*err = '\0';
	int r = t ? walk_all(&w) : -ENOMEM;
	if (r) {
		mtree_free(t);
		t = NULL;
	} else {
		qsort(t->v, t->n, sizeof(*t->v), ment_cmp);
		dom_log(d, "copying the writable paths: %u entries, %llu KiB, the domain running", w.sent,
			(unsigned long long)(w.bytes >> 10));
	}
	*sent = t;
	return r;
}

int mtree_resend(struct domain *d, struct mstream *s, struct mtree *sent, char *err, size_t errlen)
{
	struct walk w = { .d = d, .s = s, .old = sent, .err = err, .errlen = errlen };
	uint64_t t0 = host_mono_ns();
	*err = '\0';
	for (size_t i = 0; i < sent->n; i++)
		sent->v[i].seen = false;
	int r = walk_all(&w);
	if (!r)
		dom_log(d, "copying the writable paths again, paused: %u entries new, changed or gone, %llu KiB, in %.1f ms",
			w.sent, (unsigned long long)(w.bytes >> 10), (double)(host_mono_ns() - t0) / 1e6);
	return r;
}

/* ---- target ---- */

static struct {
	bool on;
	int rootfd;
	struct dom_cred cred;
	char *allowed[MT_TREES_MAX];    /* host paths the operator lets the domain write */
	int nallowed;
	struct { char *g; int fd; bool dir; char *host; } tree[MT_TREES_MAX];
	int ntree;
	int cur;                /* the file being written */
	uint32_t mode;
	uint64_t mtime;
	uint32_t entries;       /* in this pass */
} tg = { .rootfd = -1, .cur = -1 };

bool mtree_msg(enum ms_type t)
{
	return t == MS_TREE || t == MS_TREE_DATA || t == MS_TREE_END;
}

static bool within(const char *a, const char *b)
{
	size_t n = strlen(b);
	if (!strcmp(b, "/"))
		return a[0] == '/';
	return !strncmp(a, b, n) && (a[n] == '\0' || a[n] == '/');
}

void mtree_end(void)
{
	if (tg.cur >= 0)
		close(tg.cur);
	if (tg.rootfd >= 0)
		close(tg.rootfd);
	for (int i = 0; i < tg.nallowed; i++)
		free(tg.allowed[i]);
	for (int i = 0; i < tg.ntree; i++) {
		free(tg.tree[i].g);
		free(tg.tree[i].host);
		close(tg.tree[i].fd);
	}
	memset(&tg, 0, sizeof(tg));
	tg.rootfd = tg.cur = -1;
}

int mtree_begin(int rootfd, const struct restore_opts *o, char *err, size_t errlen)
{
	char oroot[PATH_MAX], p[PATH_MAX * 2], h[PATH_MAX];
	mtree_end();
	tg.cred = o->cred;
	if ((tg.rootfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0)) < 0 || !realpath(o->root ? o->root : "/", oroot)) {
		snprintf(err, errlen, "the domain's root: %s", strerror(errno));
		mtree_end();
		return -errno;
	}
	/* As restore judges the image's writable paths (check_policy). */
	for (char **a = o->writable; a && *a && tg.nallowed < MT_TREES_MAX; a++) {
		snprintf(p, sizeof(p), "%s/%s", oroot, *a);
		if (realpath(p, h) && (tg.allowed[tg.nallowed] = strdup(h)))
			tg.nallowed++;
	}
	tg.on = true;
	return 0;
}

/* A writable path as the source names it: resolved inside the domain's
 * root as the domain would, and allowed by this operator. Its index, or
 * -errno with err. */
static int tree_of(const char *g, char *err, size_t errlen)
{
	char host[PATH_MAX];
	for (int i = 0; i < tg.ntree; i++)
		if (!strcmp(tg.tree[i].g, g))
			return i;
	if (g[0] != '/' || tg.ntree == MT_TREES_MAX) {
		snprintf(err, errlen, "the source sent a writable path this target cannot take (%.64s)", g);
		return -EPROTO;
	}
	struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, tg.rootfd, g, &how, sizeof(how));
	struct stat st;
	bool ok = false;
	if (fd >= 0 && !fstat(fd, &st) && !host_fd_path(fd, host, sizeof(host)))
		for (int i = 0; i < tg.nallowed && !ok; i++)
			ok = within(host, tg.allowed[i]);
	if (!ok) {
		snprintf(err, errlen, "the domain writes to %s, which %s", g, fd < 0 ? "does not exist on the target" :
			 "the target does not let it write (--writable)");
		if (fd >= 0)
			close(fd);
		return -EPERM;
	}
	int i = tg.ntree;
	tg.tree[i].g = strdup(g);
	tg.tree[i].host = strdup(host);
	tg.tree[i].fd = fd;
	tg.tree[i].dir = S_ISDIR(st.st_mode);
	tg.ntree++;
	return tg.tree[i].g && tg.tree[i].host ? i : -ENOMEM;
}

/* A relative path of plain names: no "", ".", ".." component, no leading,
 * trailing or doubled slash. */
static bool rel_ok(const char *rel)
{
	for (const char *p = rel; *p;) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);
		if (n == 0 || n > NAME_MAX || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.') ||
		    (*e == '/' && !e[1]))
			return false;
		p = *e ? e + 1 : e;
	}
	return true;
}

/* The directory rel's last name is in, below tree fd: every component a
 * directory, no symlink followed. An O_PATH fd (name set), or -errno. */
static int parent_of(int treefd, const char *rel, char name[NAME_MAX + 1])
{
	int fd = fcntl(treefd, F_DUPFD_CLOEXEC, 0);
	const char *p = rel, *slash;
	while (fd >= 0 && (slash = strchr(p, '/'))) {
		memcpy(name, p, (size_t)(slash - p));
		name[slash - p] = '\0';
		int nfd = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct stat st;
		if (nfd >= 0 && (fstat(nfd, &st) < 0 || !S_ISDIR(st.st_mode))) {
			close(nfd);
			nfd = -1;
			errno = ENOTDIR;
		}
		int e = errno;
		close(fd);
		fd = nfd;
		errno = e;
		p = slash + 1;
	}
	if (fd < 0)
		return -errno;
	snprintf(name, NAME_MAX + 1, "%s", p);
	return fd;
}

/* Whatever is at name (not a directory with entries). */
static void remove_at(int dfd, const char *name)
{
	if (unlinkat(dfd, name, 0) < 0 && (errno == EISDIR || errno == EPERM))
		unlinkat(dfd, name, AT_REMOVEDIR);
}

/* A regular file at name, opened for writing from empty. */
static int create_file(int dfd, const char *name)
{
	for (int tries = 0; tries < 2; tries++) {
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
		struct stat st;
		if (fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode))
			return fd;
		int e = fd >= 0 ? EEXIST : errno;
		if (fd >= 0)
			close(fd);
		if (tries || (e != ELOOP && e != EISDIR && e != ENXIO && e != EEXIST))
			return -e;
		remove_at(dfd, name); /* a symlink, FIFO or empty directory there */
	}
	return -EEXIST;
}

static int apply_entry(const char *g, const char *rel, uint8_t kind, uint32_t mode, const char *target, char *err,
		       size_t errlen)
{
	char name[NAME_MAX + 1];
	int ti = tree_of(g, err, errlen), r = 0, dfd = -1;
	if (ti < 0)
		return ti;
	if (!rel[0] ? tg.tree[ti].dir || kind != MT_FILE : !tg.tree[ti].dir) {
		snprintf(err, errlen, "the source sent %s/%s as a kind of entry it is not here", g, rel);
		return -EPROTO;
	}
	if (!rel[0]) {
		/* A writable file itself. */
		r = open(tg.tree[ti].host, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		tg.cur = r < 0 ? -1 : r;
		r = r < 0 ? -errno : 0;
		goto out;
	}
	if ((dfd = parent_of(tg.tree[ti].fd, rel, name)) < 0) {
		r = dfd;
		goto out;
	}
	switch (kind) {
	case MT_DIR: {
		struct stat st;
		if (mkdirat(dfd, name, 0700) < 0 && errno == EEXIST &&
		    (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))) {
			remove_at(dfd, name);
			mkdirat(dfd, name, 0700);
		}
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = fd < 0 || fchmod(fd, mode & 01777) < 0 ? -errno : 0;
		if (fd >= 0)
			close(fd);
		break;
	}
	case MT_FILE:
		r = create_file(dfd, name);
		tg.cur = r < 0 ? -1 : r;
		r = r < 0 ? r : 0;
		break;
	case MT_LINK:
		remove_at(dfd, name);
		r = symlinkat(target, dfd, name) < 0 ? -errno : 0;
		break;
	case MT_GONE:
		remove_at(dfd, name);
		break;
	}
out:
	if (dfd >= 0)
		close(dfd);
	if (r)
		snprintf(err, errlen, "writing %s/%s on the target: %s", g, rel, strerror(-r));
	return r;
}

static int recv_entry(const uint8_t *b, size_t n, char *err, size_t errlen)
{
	struct sread rd;
	sr_init(&rd, b, n);
	char *g = sr_str(&rd, PATH_MAX - 1), *rel = sr_str(&rd, PATH_MAX - 1), *target = NULL;
	uint8_t kind = sr_u8(&rd);
	uint32_t mode = sr_u32(&rd);
	uint64_t mtime = sr_u64(&rd);
	if (kind == MT_LINK)
		target = sr_str(&rd, PATH_MAX - 1);
	int r = -EPROTO;
	if (rd.bad || rd.pos != rd.len || !g || !rel || kind < MT_DIR || kind > MT_GONE || mode > 07777 ||
	    (kind == MT_LINK && (!target || !target[0])) || !rel_ok(rel) || tg.cur >= 0 ||
	    ++tg.entries > MT_ENTRIES_MAX) {
		snprintf(err, errlen, "the source sent a malformed writable path entry");
	} else {
		tg.mode = mode;
		tg.mtime = mtime;
		r = cred_enter(&tg.cred);
		if (!r) {
			r = apply_entry(g, rel, kind, mode, target, err, errlen);
			cred_leave(&tg.cred);
		} else {
			snprintf(err, errlen, "taking the domain's identity: %s", strerror(-r));
		}
	}
	free(g);
	free(rel);
	free(target);
	return r;
}

/* The end of the file being written: its mode and time, as at the source. */
static int file_done(char *err, size_t errlen)
{
	struct timespec ts[2] = { { 0, UTIME_OMIT },
				  { (time_t)(tg.mtime / 1000000000ULL), (long)(tg.mtime % 1000000000ULL) } };
	int r = fchmod(tg.cur, tg.mode & 01777) < 0 || futimens(tg.cur, ts) < 0 ? -errno : 0;
	if (close(tg.cur) < 0 && !r)
		r = -errno;
	tg.cur = -1;
	if (r)
		snprintf(err, errlen, "writing a copied file on the target: %s", strerror(-r));
	return r;
}

int mtree_recv(enum ms_type t, const uint8_t *b, size_t n, char *err, size_t errlen)
{
	if (!tg.on) {
		snprintf(err, errlen, "the source sent writable paths, which it did not announce (--copy-writable)");
		return -EPROTO;
	}
	if (t == MS_TREE)
		return recv_entry(b, n, err, errlen);
	if (t == MS_TREE_DATA) {
		if (tg.cur < 0) {
			snprintf(err, errlen, "the source sent file data outside a file");
			return -EPROTO;
		}
		if (n == 0)
			return file_done(err, errlen);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(tg.cur, b + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				snprintf(err, errlen, "writing a copied file on the target: %s",
					 strerror(w < 0 ? errno : EIO));
				return w < 0 ? -errno : -EIO;
			}
			off += (size_t)w;
		}
		return 0;
	}
	struct sread rd;
	sr_init(&rd, b, n);
	uint32_t cnt = sr_u32(&rd);
	if (rd.bad || rd.pos != rd.len || cnt != tg.entries || tg.cur >= 0) {
		snprintf(err, errlen, "the source's writable paths ended short or malformed");
		return -EPROTO;
	}
	tg.entries = 0;
	return 1;
}
