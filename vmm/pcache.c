/* pcache.c: the domain's page cache — MAP_SHARED file pages as guest frames shared by every mapping, filled on first use, written back when they change. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "domain.h"
#include "pcache.h"
#include "posixlock.h"

/* Pages of an index range: the whole range when `last` is PC_END. */
#define PC_END (UINT64_MAX / PAGE_SIZE)

static unsigned fhash(uint64_t dev, uint64_t ino)
{
	return (unsigned)((ino * 0x9e3779b97f4a7c15ULL) ^ dev) % PCACHE_FBUCKETS;
}

static uint64_t phash(const struct pcfile *f, uint64_t idx)
{
	uint64_t h = ((uint64_t)(uintptr_t)f >> 4) * 0xff51afd7ed558ccdULL ^ idx * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

struct pcfile *pcache_find(struct domain *d, uint64_t dev, uint64_t ino)
{
	for (struct pcfile *f = d->pcache.fbucket[fhash(dev, ino)]; f; f = f->hnext)
		if (f->dev == dev && f->ino == ino)
			return f;
	return NULL;
}

struct pcpage *pcache_page(struct domain *d, struct pcfile *f, uint64_t idx)
{
	struct pcache *c = &d->pcache;
	if (!c->pbucket)
		return NULL;
	for (struct pcpage *p = c->pbucket[phash(f, idx) & c->pmask]; p; p = p->hnext)
		if (p->file == f && p->idx == idx)
			return p;
	return NULL;
}

/* Keeps the page hash at most one page per bucket on average. */
static int pbucket_grow(struct pcache *c)
{
	if (c->pbucket && c->npages < c->pmask + 1)
		return 0;
	uint64_t n = c->pbucket ? (c->pmask + 1) * 2 : 1024;
	struct pcpage **b = calloc(n, sizeof(*b));
	if (!b)
		return c->pbucket ? 0 : -ENOMEM; /* a full table still works */
	for (uint64_t i = 0; c->pbucket && i <= c->pmask; i++) {
		for (struct pcpage *p = c->pbucket[i], *nx; p; p = nx) {
			nx = p->hnext;
			uint64_t h = phash(p->file, p->idx) & (n - 1);
			p->hnext = b[h];
			b[h] = p;
		}
	}
	free(c->pbucket);
	c->pbucket = b;
	c->pmask = n - 1;
	return 0;
}

static struct pcfile *file_new(struct domain *d, int fd, bool rw, uint64_t dev, uint64_t ino, const char *path)
{
	struct pcfile *f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path ? path : ""))) {
		free(f);
		return NULL;
	}
	f->fd = fd;
	f->rw = rw;
	f->dev = dev;
	f->ino = ino;
	unsigned h = fhash(dev, ino);
	f->hnext = d->pcache.fbucket[h];
	d->pcache.fbucket[h] = f;
	f->next = d->pcache.files;
	d->pcache.files = f;
	d->pcache.nfiles++;
	return f;
}

static void file_free(struct domain *d, struct pcfile *f)
{
	struct pcache *c = &d->pcache;
	for (struct pcfile **pp = &c->fbucket[fhash(f->dev, f->ino)]; *pp; pp = &(*pp)->hnext)
		if (*pp == f) {
			*pp = f->hnext;
			break;
		}
	for (struct pcfile **pp = &c->files; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	c->nfiles--;
	/* The close drops pdvm's host locks on the file: the domain's are
	 * set again. */
	if (f->fd >= 0)
		plock_host_close(f->fd);
	free(f->path);
	free(f);
}

void pcache_gc(struct domain *d, struct pcfile *f)
{
	if (f && !f->npages && !f->pins)
		file_free(d, f);
}

struct pcfile *pcache_attach(struct domain *d, int hostfd, const char *path, bool maywrite, int *err)
{
	struct stat st;
	if (fstat(hostfd, &st) < 0) {
		*err = -errno;
		return NULL;
	}
	struct pcfile *f = pcache_find(d, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (!f || (maywrite && !f->rw)) {
		/* A write-back fd from the first mapping that may write. */
		int fd = fcntl(hostfd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			*err = -errno;
			return NULL;
		}
		if (f) {
			plock_host_close(f->fd);
			f->fd = fd;
			f->rw = true;
		} else if (!(f = file_new(d, fd, maywrite, (uint64_t)st.st_dev, (uint64_t)st.st_ino, path))) {
			close(fd);
			*err = -ENOMEM;
			return NULL;
		}
	}
	f->pins++;
	return f;
}

void pcache_unpin(struct domain *d, struct pcfile *f)
{
	if (!f)
		return;
	f->pins--;
	pcache_gc(d, f);
}

static struct pcpage *page_new(struct domain *d, struct pcfile *f, uint64_t idx, gpa_t gpa)
{
	struct pcache *c = &d->pcache;
	struct pcpage *p = calloc(1, sizeof(*p));
	if (!p || pbucket_grow(c)) {
		free(p);
		return NULL;
	}
	p->file = f;
	p->idx = idx;
	p->gpa = gpa;
	uint64_t h = phash(f, idx) & c->pmask;
	p->hnext = c->pbucket[h];
	c->pbucket[h] = p;
	p->next = f->pages;
	if (f->pages)
		f->pages->prev = p;
	f->pages = p;
	f->npages++;
	c->npages++;
	return p;
}

/* Takes p out of the cache and drops the cache's use of its frame (the
 * page tables' uses, if any are still pending, free it later). */
static void page_drop(struct domain *d, struct pcpage *p)
{
	struct pcache *c = &d->pcache;
	struct pcfile *f = p->file;
	for (struct pcpage **pp = &c->pbucket[phash(f, p->idx) & c->pmask]; *pp; pp = &(*pp)->hnext)
		if (*pp == p) {
			*pp = p->hnext;
			break;
		}
	if (p->prev)
		p->prev->next = p->next;
	else
		f->pages = p->next;
	if (p->next)
		p->next->prev = p->prev;
	f->npages--;
	c->npages--;
	frames_free(&d->frames, p->gpa, 1, true);
	free(p);
}

/* Writes the bytes of p that differ from the file back to it: the file
 * never grows through a mapping (bytes past EOF stay). 0 or -EIO. */
static int page_writeback(struct domain *d, struct pcpage *p)
{
	static __thread uint8_t disk[PAGE_SIZE];
	struct pcfile *f = p->file;
	if (!f->rw || f->fd < 0)
		return 0;
	off_t off = (off_t)(p->idx * PAGE_SIZE);
	ssize_t n = pread(f->fd, disk, PAGE_SIZE, off);
	if (n <= 0)
		return 0; /* past EOF */
	const uint8_t *h = frames_host(&d->frames, p->gpa);
	if (!memcmp(h, disk, (size_t)n))
		return 0;
	return pwrite(f->fd, h, (size_t)n, off) == n ? 0 : -EIO;
}

/* Reads p again from the file; what lies past EOF reads as zero. */
static void page_refresh(struct domain *d, struct pcpage *p)
{
	struct pcfile *f = p->file;
	uint8_t *h = frames_host(&d->frames, p->gpa);
	ssize_t n = f->fd >= 0 ? pread(f->fd, h, PAGE_SIZE, (off_t)(p->idx * PAGE_SIZE)) : -1;
	if (n < 0)
		n = 0;
	if ((size_t)n < PAGE_SIZE)
		memset(h + n, 0, PAGE_SIZE - (size_t)n);
	frames_touch(&d->frames, p->gpa, PAGE_SIZE);
}

/* Calls fn on each cached page of f in [first, last]: by index when the
 * range is the smaller, else along the file's list. fn must not drop. */
static int range_each(struct domain *d, struct pcfile *f, uint64_t first, uint64_t last,
		      int (*fn)(struct domain *, struct pcpage *, void *), void *arg)
{
	int ret = 0;
	if (last - first >= f->npages) {
		for (struct pcpage *p = f->pages; p; p = p->next) {
			int r = p->idx >= first && p->idx <= last ? fn(d, p, arg) : 0;
			if (r && !ret)
				ret = r;
		}
		return ret;
	}
	for (uint64_t i = first; i <= last; i++) {
		struct pcpage *p = pcache_page(d, f, i);
		int r = p ? fn(d, p, arg) : 0;
		if (r && !ret)
			ret = r;
	}
	return ret;
}

void pcache_release(struct domain *d, struct pcfile *f, uint64_t idx, uint64_t n, bool maywrite)
{
	f->pins++;
	for (uint64_t i = 0; i < n; i++) {
		struct pcpage *p = pcache_page(d, f, idx + i);
		if (!p || !p->maps)
			continue;
		if (maywrite && f->nwmap)
			f->nwmap--;
		if (--p->maps)
			continue;
		if (page_writeback(d, p))
			dom_log(d, "MAP_SHARED write-back to %s failed", f->path);
		page_drop(d, p);
	}
	pcache_unpin(d, f);
}

/* Fills n new pages of consecutive indices from the file with one read
 * (their frames are fresh: zero past what the file has). */
#define FILL_BATCH 256
static void fill_run(struct domain *d, struct pcfile *f, struct pcpage **run, int n)
{
	struct iovec iov[FILL_BATCH];
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = frames_host(&d->frames, run[i]->gpa);
		iov[i].iov_len = PAGE_SIZE;
		frames_touch(&d->frames, run[i]->gpa, PAGE_SIZE);
	}
	if (n && f->fd >= 0 && preadv(f->fd, iov, n, (off_t)(run[0]->idx * PAGE_SIZE)) < 0)
		for (int i = 0; i < n; i++)
			memset(iov[i].iov_base, 0, PAGE_SIZE); /* a failed read leaves zeros */
}

int pcache_hold(struct domain *d, struct pcfile *f, uint64_t idx, uint64_t n, bool maywrite)
{
	struct pcpage *run[FILL_BATCH];
	int nrun = 0;
	for (uint64_t i = 0; i < n; i++) {
		struct pcpage *p = pcache_page(d, f, idx + i);
		if (!p) {
			gpa_t gpa = frames_alloc(&d->frames, false, true);
			if (gpa == FRAME_NONE || !(p = page_new(d, f, idx + i, gpa))) {
				if (gpa != FRAME_NONE)
					frames_free(&d->frames, gpa, 1, true);
				fill_run(d, f, run, nrun);
				pcache_release(d, f, idx, i, maywrite);
				return -ENOMEM;
			}
			/* The file's bytes for a run of new pages (of
			 * consecutive indices), in one call. */
			run[nrun++] = p;
			if (nrun == FILL_BATCH) {
				fill_run(d, f, run, nrun);
				nrun = 0;
			}
		} else if (nrun) {
			fill_run(d, f, run, nrun);
			nrun = 0;
		}
		p->maps++;
		f->nwmap += maywrite;
	}
	fill_run(d, f, run, nrun);
	return 0;
}

void pcache_dup(struct domain *d, struct pcfile *f, uint64_t idx, uint64_t n, bool maywrite)
{
	for (uint64_t i = 0; i < n; i++) {
		struct pcpage *p = pcache_page(d, f, idx + i);
		if (p) {
			p->maps++;
			f->nwmap += maywrite;
		}
	}
}

int pcache_install(struct domain *d, struct mm *mm, struct pcfile *f, gva_t va, uint64_t idx, uint64_t n, int prot)
{
	uint64_t flags = pt_prot_flags(prot);
	if (!flags)
		flags = PTE_HELD; /* PROT_NONE: the frame stays, unreachable */
	for (uint64_t i = 0; i < n; i++) {
		struct pcpage *p = pcache_page(d, f, idx + i);
		if (!p)
			return -ENOMEM;
		if (frames_ref(&d->frames, p->gpa, 1))
			return -ENOMEM;
		if (pt_map(&mm->pt, va + i * PAGE_SIZE, p->gpa, PAGE_SIZE, flags, false)) {
			frames_free(&d->frames, p->gpa, 1, true);
			return -ENOMEM;
		}
	}
	return 0;
}

uint64_t pcache_stamp(struct domain *d)
{
	return ++d->pcache.stamp;
}

static int sync_one(struct domain *d, struct pcpage *p, void *arg)
{
	uint64_t stamp = *(uint64_t *)arg;
	if (p->stamp == stamp)
		return 0;
	p->stamp = stamp;
	return page_writeback(d, p);
}

int pcache_sync(struct domain *d, struct pcfile *f, uint64_t idx, uint64_t n, uint64_t stamp, bool wait)
{
	if (!n || !f->rw)
		return 0;
	uint64_t last = n - 1 > PC_END - idx ? PC_END : idx + n - 1;
	int r = range_each(d, f, idx, last, sync_one, &stamp);
	if (!r && wait && f->stamp != stamp) {
		f->stamp = stamp;
		if (fdatasync(f->fd) < 0)
			r = -EIO;
	}
	return r;
}

int pcache_sync_all(struct domain *d, bool wait)
{
	int ret = 0;
	uint64_t stamp = pcache_stamp(d);
	for (struct pcfile *f = d->pcache.files; f; f = f->next) {
		if (!f->rw)
			continue;
		int r = range_each(d, f, 0, PC_END, sync_one, &stamp);
		if (!r && wait && fdatasync(f->fd) < 0)
			r = -EIO;
		if (r && !ret)
			ret = r;
	}
	return ret;
}

static int writeback_one(struct domain *d, struct pcpage *p, void *arg)
{
	(void)arg;
	return page_writeback(d, p);
}

static int refresh_one(struct domain *d, struct pcpage *p, void *arg)
{
	(void)arg;
	page_refresh(d, p);
	return 0;
}

void pcio_begin(struct domain *d, int hostfd, int64_t off, uint64_t len, bool wr, struct pcio *io)
{
	struct stat st;
	io->f = NULL;
	if (!d->pcache.nfiles || !len || fstat(hostfd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	struct pcfile *f = pcache_find(d, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (!f)
		return;
	uint64_t first = 0, last = PC_END;
	if (off < 0) {
		/* The fd's own position; an appending write lands at EOF. */
		int fl = fcntl(hostfd, F_GETFL);
		off = wr && fl >= 0 && (fl & O_APPEND) ? st.st_size : lseek(hostfd, 0, SEEK_CUR);
	}
	if (off >= 0) {
		first = (uint64_t)off / PAGE_SIZE;
		last = len - 1 > UINT64_MAX - (uint64_t)off ? PC_END : ((uint64_t)off + len - 1) / PAGE_SIZE;
	}
	if (f->rw && range_each(d, f, first, last, writeback_one, NULL))
		dom_log(d, "MAP_SHARED write-back to %s failed", f->path);
	f->pins++;
	*io = (struct pcio){ .f = f, .first = first, .last = last, .wr = wr };
}

void pcio_end(struct domain *d, struct pcio *io)
{
	if (!io->f)
		return;
	if (io->wr)
		range_each(d, io->f, io->first, io->last, refresh_one, NULL);
	pcache_unpin(d, io->f);
	io->f = NULL;
}

void pcio_truncate_begin(struct domain *d, int hostfd, int64_t size, struct pcio *io)
{
	struct stat st;
	io->f = NULL;
	if (!d->pcache.nfiles || fstat(hostfd, &st) < 0)
		return;
	int64_t lo = MIN(st.st_size, size), hi = MAX(st.st_size, size);
	pcio_begin(d, hostfd, lo, (uint64_t)(hi - lo), true, io);
}

static void free_all(struct domain *d)
{
	struct pcache *c = &d->pcache;
	while (c->files) {
		struct pcfile *f = c->files;
		while (f->pages) {
			struct pcpage *p = f->pages;
			f->pages = p->next;
			free(p);
		}
		f->npages = 0;
		file_free(d, f);
	}
	free(c->pbucket);
	memset(c, 0, sizeof(*c));
}

void pcache_exit(struct domain *d)
{
	if (pcache_sync_all(d, false))
		dom_log(d, "MAP_SHARED write-back failed at exit");
	free_all(d);
}

void pcache_free(struct domain *d)
{
	free_all(d);
}

struct pcfile *pcache_adopt_file(struct domain *d, int fd, bool rw, const char *path, int *err)
{
	struct stat st;
	if (fd < 0) {
		/* A check of an image: no file, a key nothing else has. */
		struct pcfile *f = file_new(d, -1, false, UINT64_MAX, ++d->pcache.stamp, path);
		*err = f ? 0 : -ENOMEM;
		return f;
	}
	if (fstat(fd, &st) < 0) {
		*err = -errno;
		close(fd);
		return NULL;
	}
	struct pcfile *f = pcache_find(d, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (f) {
		if (rw && !f->rw) {
			plock_host_close(f->fd);
			f->fd = fd;
			f->rw = true;
		} else {
			close(fd);
		}
		return f;
	}
	f = file_new(d, fd, rw, (uint64_t)st.st_dev, (uint64_t)st.st_ino, path);
	if (!f) {
		close(fd);
		*err = -ENOMEM;
	}
	return f;
}

int pcache_adopt_page(struct domain *d, struct pcfile *f, uint64_t idx, gpa_t gpa, struct pcpage **out)
{
	if ((*out = pcache_page(d, f, idx)))
		return -EEXIST;
	*out = page_new(d, f, idx, gpa);
	return *out ? 0 : -ENOMEM;
}
