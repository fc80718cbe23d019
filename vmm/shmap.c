/* shmap.c: MAP_SHARED file mappings — the guest works on a copy in its memory; changed pages go back to the file on msync, munmap, remapping and exit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "domain.h"
#include "posixlock.h"
#include "shmap.h"

int shmap_add(struct domain *d, gva_t start, gva_t end, int hostfd, uint64_t off, const char *path)
{
	struct mm *mm = dom_mm(d);
	if (mm->nshmaps == MAX_SHMAPS)
		return -ENOMEM;
	int fd = dup(hostfd);
	if (fd < 0)
		return -errno;
	char *p = strdup(path ? path : "");
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	mm->shmaps[mm->nshmaps++] = (struct shmap){ .start = start, .end = end, .fd = fd, .off = off, .path = p };
	return 0;
}

/* Writes the pages of [start, end) that differ from the file back to it.
 * Only whole pages that exist in the file's range are compared: the file
 * never grows through a mapping (as on Linux, bytes past EOF stay). */
static int sync_range(struct mm *mm, const struct shmap *m, gva_t start, gva_t end)
{
	static __thread uint8_t page[PAGE_SIZE], disk[PAGE_SIZE];
	int ret = 0;

	for (gva_t va = start; va < end; va += PAGE_SIZE) {
		uint64_t foff = m->off + (va - m->start);
		size_t avail;
		void *h = mm_user_page_in(mm, va, false, &avail);
		if (!h)
			continue; /* PROT_NONE or gone: nothing the guest could have written */
		memcpy(page, h, PAGE_SIZE);
		ssize_t n = pread(m->fd, disk, PAGE_SIZE, (off_t)foff);
		if (n <= 0)
			continue; /* past EOF */
		if (!memcmp(page, disk, (size_t)n))
			continue;
		if (pwrite(m->fd, page, (size_t)n, (off_t)foff) != n && !ret)
			ret = -EIO;
	}
	return ret;
}

static int sync_mm(struct mm *mm, gva_t start, gva_t end, bool wait)
{
	int ret = 0;
	for (int i = 0; i < mm->nshmaps; i++) {
		struct shmap *m = &mm->shmaps[i];
		gva_t s = start > m->start ? start : m->start, e = end < m->end ? end : m->end;
		if (s >= e)
			continue;
		int r = sync_range(mm, m, s, e);
		if (!r && wait && fdatasync(m->fd) < 0)
			r = -errno;
		if (r && !ret)
			ret = r;
	}
	return ret;
}

int shmap_sync(struct domain *d, gva_t start, gva_t end, bool wait)
{
	return sync_mm(dom_mm(d), start, end, wait);
}

void shmap_unmap(struct domain *d, gva_t start, gva_t end)
{
	struct mm *mm = dom_mm(d);
	for (int i = 0; i < mm->nshmaps; i++) {
		struct shmap *m = &mm->shmaps[i];
		if (end <= m->start || start >= m->end)
			continue;
		if (shmap_sync(d, start, end, false))
			dom_log(d, "MAP_SHARED write-back to %s failed", m->path);
		if (start <= m->start && end >= m->end) {
			/* Wholly gone (the close drops pdvm's host locks on the
			 * file: the domain's are set again). */
			plock_host_close(m->fd);
			free(m->path);
			mm->shmaps[i--] = mm->shmaps[--mm->nshmaps];
		} else if (start <= m->start) {
			m->off += end - m->start;
			m->start = end;
		} else if (end >= m->end) {
			m->end = start;
		} else if (mm->nshmaps < MAX_SHMAPS) {
			/* A hole in the middle: two mappings. */
			struct shmap hi = *m;
			hi.fd = dup(m->fd);
			hi.path = strdup(m->path);
			hi.off = m->off + (end - m->start);
			hi.start = end;
			m->end = start;
			if (hi.fd >= 0 && hi.path)
				mm->shmaps[mm->nshmaps++] = hi;
			else {
				if (hi.fd >= 0)
					close(hi.fd);
				free(hi.path);
			}
		} else {
			m->end = start; /* no slot for the upper part: it stays a private copy */
			dom_log(d, "MAP_SHARED: too many mappings; part of %s is a private copy now", m->path);
		}
	}
}

void shmap_release_mm(struct mm *mm)
{
	for (int i = 0; i < mm->nshmaps; i++) {
		plock_host_close(mm->shmaps[i].fd);
		free(mm->shmaps[i].path);
	}
	mm->nshmaps = 0;
}

void shmap_exit_mm(struct domain *d, struct mm *mm)
{
	if (mm->nshmaps && sync_mm(mm, 0, USER_MAX, false))
		dom_log(d, "MAP_SHARED write-back failed at exit");
	shmap_release_mm(mm);
}

void shmap_exit(struct domain *d)
{
	shmap_exit_mm(d, dom_mm(d));
}

void shmap_release(struct domain *d)
{
	shmap_release_mm(dom_mm(d));
}
