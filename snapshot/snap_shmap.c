/* snap_shmap.c: section `shmaps` — the page cache of MAP_SHARED file mappings (version 3: each file, by path or memfd, and its pages' frames; 1 and 2: private copies by range), rebuilt over the restored page tables so sharing and write-back go on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/domain.h"
#include "vmm/files.h"
#include "snap_state.h"

#define SHMAP_RW 1u            /* the file is written back to */
#define V1_MAX_RANGES 256      /* what versions 1 and 2 could hold */

/* Dirty pages are written back before the image is cut (snapshot.c, before
 * `files` records the files' sizes and times): the file then holds what
 * the image's frames hold, so a restore (here, or from copies of image and
 * files elsewhere) starts from a file and a cache that agree, and a domain
 * killed after the snapshot loses nothing. The frames travel in `memory`
 * like all guest memory; this section says whose they are. */
int snap_put_shmaps(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	struct ofd **v;
	int n = snap_collect_ofds(d, &v);
	if (n < 0)
		return n;
	/* A record with no pages (a call pinned it across the pause) has
	 * nothing to restore. */
	uint64_t nf = 0;
	for (struct pcfile *f = d->pcache.files; f; f = f->next)
		nf += f->npages != 0;
	sb_u64(b, nf);
	for (struct pcfile *f = d->pcache.files; f; f = f->next) {
		if (!f->npages)
			continue;
		sb_str(b, f->path);
		/* A memfd has no path to reopen: the description `files`
		 * carries it with its contents (index in snap_collect_ofds's
		 * order, which `files` writes in). */
		sb_u32(b, f->fd >= 0 ? snap_memfd_ref(v, n, f->fd) : SNAP_MEMFD_ORPHAN);
		sb_u32(b, f->rw ? SHMAP_RW : 0);
		sb_u64(b, f->npages);
		for (struct pcpage *p = f->pages; p; p = p->next) {
			sb_u64(b, p->idx);
			sb_u64(b, p->gpa);
		}
	}
	free(v);
	return b->oom ? -ENOMEM : 0;
}

/* The host fd a cached file is written back through: the memfd `files`
 * made, a fresh memfd for one no fd names any more (nothing could read
 * what goes there), or the file at its path, reopened inside the root. */
static int reopen(struct domain *d, const struct snap_restore *rs, uint32_t ref, const char *path, bool rw)
{
	int fd;
	if (ref == SNAP_MEMFD_ORPHAN) {
		fd = memfd_create("pdvm-orphan", MFD_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	if (ref != SNAP_MEMFD_NONE) {
		fd = fcntl(rs->ofds[ref]->hostfd, F_DUPFD_CLOEXEC, 0);
		return fd < 0 ? -errno : fd;
	}
	if (!(fd = cred_enter(&d->cred))) {
		fd = path_open(d, AT_FDCWD, path, rw ? O_RDWR : O_RDONLY, 0, NULL);
		cred_leave(&d->cred);
	}
	return fd;
}

static int gpa_cmp(const void *a, const void *b)
{
	const struct pcpage *x = *(struct pcpage *const *)a, *y = *(struct pcpage *const *)b;
	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

static struct pcpage *by_gpa(struct pcpage **v, size_t n, gpa_t gpa)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (v[m]->gpa < gpa)
			lo = m + 1;
		else
			hi = m;
	}
	return lo < n && v[lo]->gpa == gpa ? v[lo] : NULL;
}

/* Every VMA_CACHED VMA of every address space must map, page for page,
 * the cached frames of its file from its offset on: counts the mappings,
 * names the VMA's file by the reopened file, and (exact) sets each frame's
 * count of uses — the cache's and one per mapping. A page no mapping maps
 * is refused: nothing could reach it. */
static int rebuild(struct sread *r, struct domain *d, bool exact)
{
	size_t n = (size_t)d->pcache.npages, k = 0;
	struct pcpage **v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (struct pcfile *f = d->pcache.files; f; f = f->next)
		for (struct pcpage *p = f->pages; p; p = p->next)
			v[k++] = p;
	qsort(v, n, sizeof(*v), gpa_cmp);
	const char *bad = NULL;
	for (struct mm *mm = d->mms; mm && !bad; mm = mm->next) {
		for (int i = 0; i < mm->nvmas && !bad; i++) {
			struct vma *a = &mm->vmas[i];
			if (!(a->flags & VMA_CACHED))
				continue;
			gpa_t g = mm_leaf_frame(mm, a->start, FRAME_NONE);
			struct pcpage *p0 = g == FRAME_NONE ? NULL : by_gpa(v, n, g);
			if (!a->file || !(a->flags & MAP_SHARED) || !p0 || p0->idx != a->pgoff / PAGE_SIZE) {
				bad = "shmaps: a cached mapping maps no cached page of its file";
				break;
			}
			struct pcfile *f = p0->file;
			for (gva_t va = a->start; va < a->end; va += PAGE_SIZE) {
				struct pcpage *p = pcache_page(d, f, (a->pgoff + (va - a->start)) / PAGE_SIZE);
				if (!p || mm_leaf_frame(mm, va, FRAME_NONE) != p->gpa) {
					bad = "shmaps: a cached mapping maps another frame than its file's page";
					break;
				}
				p->maps++;
				f->nwmap += (a->flags & VMA_MAYWRITE) != 0;
			}
			/* The VMA's file record names the file as this host
			 * has it (a memfd is a new one). */
			a->file->dev = f->dev;
			a->file->ino = f->ino;
		}
	}
	for (size_t j = 0; j < n && !bad; j++) {
		/* `procs` (several processes) counted each frame's uses beyond
		 * the first: for a cached page, one per mapping. */
		uint32_t had = d->frames.refs ? d->frames.refs[v[j]->gpa / PAGE_SIZE] : 0;
		if (!v[j]->maps)
			bad = "shmaps: a cached page no mapping maps";
		else if (exact && had && had != v[j]->maps)
			bad = "shmaps: a cached page has other mappings than the cached ones";
		else if (exact && frames_set_refs(&d->frames, v[j]->gpa, v[j]->maps))
			bad = "shmaps: out of memory for the cached pages";
	}
	free(v);
	if (bad) {
		sr_fail(r, bad);
		return -1;
	}
	return 0;
}

static int get_v3(struct sread *r, struct domain *d, const struct snap_restore *rs, bool dry, char *err,
		  size_t errlen)
{
	struct frames *fr = &d->frames;
	uint64_t nf = sr_range(r, 0, fr->nframes, "shmaps: file count out of range"), total = 0;
	uint64_t *seen = r->bad ? NULL : calloc((fr->nframes + 63) / 64, sizeof(uint64_t));
	if (!r->bad && !seen)
		return -ENOMEM;
	for (uint64_t i = 0; i < nf && !r->bad; i++) {
		char *path = sr_str(r, PATH_MAX);
		uint32_t ref = sr_u32(r), fl = sr_u32(r);
		uint64_t np = sr_range(r, 1, fr->nframes, "shmaps: page count out of range");
		if (!r->bad && (total += np) > fr->nframes)
			sr_fail(r, "shmaps: more cached pages than frames");
		if (!r->bad && (fl & ~SHMAP_RW))
			sr_fail(r, "shmaps: unknown flags");
		if (!r->bad && ref == SNAP_MEMFD_NONE && (!path || path[0] != '/'))
			sr_fail(r, "shmaps: bad path");
		if (!r->bad && ref < SNAP_MEMFD_ORPHAN &&
		    (ref >= rs->nofds || !rs->ofds[ref] || rs->ofds[ref]->kind != OFD_MEMFD))
			sr_fail(r, "shmaps: the memfd of a mapping is out of range");
		struct pcfile *f = NULL;
		if (!r->bad) {
			/* A check (dry) opens nothing but checks the pages
			 * against the mappings all the same. */
			int fd = dry ? -1 : reopen(d, rs, ref, path, fl & SHMAP_RW), e = 0;
			if (fd < 0 && !dry) {
				snprintf(err, errlen, "cannot reopen %s for its MAP_SHARED mapping: %s", path,
					 strerror(-fd));
				free(path);
				free(seen);
				return fd;
			}
			if (!(f = pcache_adopt_file(d, fd, fl & SHMAP_RW, path, &e))) {
				free(path);
				free(seen);
				return e;
			}
		}
		free(path);
		for (uint64_t j = 0; j < np && !r->bad; j++) {
			uint64_t idx = sr_range(r, 0, UINT64_MAX / PAGE_SIZE, "shmaps: page index out of range");
			uint64_t gpa = sr_range(r, 0, (fr->nframes - 1) * PAGE_SIZE, "shmaps: frame out of range");
			if (r->bad)
				break;
			if (gpa % PAGE_SIZE || !frames_in_use(fr, gpa) || (seen[gpa / PAGE_SIZE / 64] >> (gpa / PAGE_SIZE % 64)) & 1)
				sr_fail(r, "shmaps: a cached page's frame is misaligned, free or twice cached");
			seen[gpa / PAGE_SIZE / 64] |= 1ULL << (gpa / PAGE_SIZE % 64);
			struct pcpage *p;
			if (!r->bad && f && pcache_adopt_page(d, f, idx, gpa, &p))
				sr_fail(r, "shmaps: a file page cached twice");
		}
	}
	free(seen);
	if (!r->bad && r->pos != r->len)
		sr_fail(r, "shmaps section has trailing bytes");
	if (r->bad)
		return -1;
	return rebuild(r, d, true);
}

/* Versions 1 and 2: the first process's shared file mappings as ranges of
 * private copies. Each becomes cached: a page's first copy is the cached
 * frame, a later copy of the same file page gives it the bytes it changed
 * (where it differs from the file) and its mapping points at it. */
static int adopt_range(struct domain *d, struct mm *mm, struct pcfile *f, struct vmfile *vf, gva_t start, gva_t end,
		       uint64_t off)
{
	int e = mm_mark_cached(mm, start, end, vf, off);
	for (gva_t va = start; !e && va < end; va += PAGE_SIZE) {
		uint64_t idx = (off + (va - start)) / PAGE_SIZE;
		gpa_t g = mm_leaf_frame(mm, va, FRAME_NONE);
		struct pcpage *p;
		if (g == FRAME_NONE)
			return -EINVAL;
		if (!pcache_adopt_page(d, f, idx, g, &p)) {
			e = frames_ref(&d->frames, g, 1); /* the cache's use */
		} else if (p && p->gpa != g) {
			/* The bytes this copy changed (it differs from the
			 * file there) go into the cached page. */
			static uint8_t disk[PAGE_SIZE];
			const uint8_t *h = frames_host(&d->frames, g);
			uint8_t *c = frames_host(&d->frames, p->gpa);
			ssize_t got = pread(f->fd, disk, PAGE_SIZE, (off_t)(idx * PAGE_SIZE));
			for (ssize_t b = 0; b < got; b++)
				if (h[b] != disk[b])
					c[b] = h[b];
			frames_touch(&d->frames, p->gpa, PAGE_SIZE);
			if (mm_leaf_frame(mm, va, p->gpa) == FRAME_NONE || frames_ref(&d->frames, p->gpa, 1))
				return -ENOMEM;
			frames_free(&d->frames, g, 1, true);
		} else if (!p) {
			e = -ENOMEM;
		}
	}
	return e;
}

static int get_v1(struct sread *r, struct domain *d, const struct snap_restore *rs, uint32_t version, bool dry,
		  char *err, size_t errlen)
{
	uint64_t n = sr_range(r, 0, V1_MAX_RANGES, "shmaps: count out of range");
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		uint64_t start = sr_range(r, USER_MIN, USER_MAX, "shmaps: start outside user space");
		uint64_t end = sr_range(r, USER_MIN, USER_MAX, "shmaps: end outside user space");
		uint64_t off = sr_u64(r);
		char *path = sr_str(r, PATH_MAX);
		uint32_t ref = version >= 2 ? sr_u32(r) : SNAP_MEMFD_NONE;
		if (!r->bad && (start >= end || (start | end | off) & ~PAGE_MASK || off > UINT64_MAX - (end - start)))
			sr_fail(r, "shmaps: bad range");
		if (!r->bad && (!path || path[0] != '/'))
			sr_fail(r, "shmaps: bad path");
		if (!r->bad && ref < SNAP_MEMFD_ORPHAN &&
		    (ref >= rs->nofds || !rs->ofds[ref] || rs->ofds[ref]->kind != OFD_MEMFD))
			sr_fail(r, "shmaps: the memfd of a mapping is out of range");
		if (r->bad || dry || ref == SNAP_MEMFD_ORPHAN) {
			free(path);
			continue;
		}
		int fd = reopen(d, rs, ref, path, true), e = 0;
		if (fd < 0) {
			snprintf(err, errlen, "cannot reopen %s for its MAP_SHARED mapping: %s", path, strerror(-fd));
			free(path);
			return fd;
		}
		struct vmfile *vf = vmfile_of_fd(proc_cur(d)->files, fd, path);
		struct pcfile *f = vf ? pcache_adopt_file(d, fd, true, path, &e) : NULL;
		if (!vf)
			close(fd);
		if (f)
			e = adopt_range(d, d->init->mm, f, vf, start, end, off);
		vmfile_put(vf);
		if (!f || e) {
			snprintf(err, errlen, "MAP_SHARED mapping of %s: %s", path, strerror(e ? -e : ENOMEM));
			free(path);
			return e ? e : -ENOMEM;
		}
		free(path);
	}
	if (r->bad)
		return -1;
	return dry ? 0 : rebuild(r, d, false);
}

int snap_get_shmaps(struct sread *r, struct domain *d, const struct snap_restore *rs, uint32_t version, bool dry,
		    char *err, size_t errlen)
{
	return version >= 3 ? get_v3(r, d, rs, dry, err, errlen) : get_v1(r, d, rs, version, dry, err, errlen);
}
