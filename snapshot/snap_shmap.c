/* snap_shmap.c: section `shmaps` — MAP_SHARED file mappings (range, file offset, path, and since version 2 the memfd they write back to), reopened on restore so write-back goes on. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/domain.h"
#include "vmm/files.h"
#include "snap_state.h"


int snap_put_shmaps(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	struct ofd **v;
	int n = snap_collect_ofds(d, &v);
	if (n < 0)
		return n;
	sb_u64(b, (uint64_t)dom_mm(d)->nshmaps);
	for (int i = 0; i < dom_mm(d)->nshmaps; i++) {
		const struct shmap *m = &dom_mm(d)->shmaps[i];
		sb_u64(b, m->start);
		sb_u64(b, m->end);
		sb_u64(b, m->off);
		sb_str(b, m->path);
		/* A memfd has no path to reopen: the description `files`
		 * carries it with its contents (index in snap_collect_ofds's
		 * order, which `files` writes in). */
		sb_u32(b, snap_memfd_ref(v, n, m->fd));
	}
	free(v);
	return b->oom ? -ENOMEM : 0;
}

int snap_get_shmaps(struct sread *r, struct domain *d, const struct snap_restore *rs, uint32_t version, bool dry,
		    char *err, size_t errlen)
{
	uint64_t n = sr_range(r, 0, MAX_SHMAPS, "shmaps: count out of range");
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		uint64_t start = sr_range(r, USER_MIN, USER_MAX, "shmaps: start outside user space");
		uint64_t end = sr_range(r, USER_MIN, USER_MAX, "shmaps: end outside user space");
		uint64_t off = sr_u64(r);
		char *path = sr_str(r, PATH_MAX);
		uint32_t ref = version >= 2 ? sr_u32(r) : SNAP_MEMFD_NONE;
		if (!r->bad && (start >= end || (start | end | off) & ~PAGE_MASK))
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
		int fd;
		if (ref != SNAP_MEMFD_NONE) {
			fd = fcntl(rs->ofds[ref]->hostfd, F_DUPFD_CLOEXEC, 0);
			if (fd < 0)
				fd = -errno;
		} else if (!(fd = cred_enter(&d->cred))) {
			fd = path_open(d, AT_FDCWD, path, O_RDWR, 0, NULL);
			cred_leave(&d->cred);
		}
		if (fd < 0) {
			snprintf(err, errlen, "cannot reopen %s for its MAP_SHARED mapping: %s", path, strerror(-fd));
			free(path);
			return fd;
		}
		int e = shmap_add(d, start, end, fd, off, path);
		close(fd);
		free(path);
		if (e) {
			snprintf(err, errlen, "MAP_SHARED mapping: %s", strerror(-e));
			return e;
		}
	}
	return r->bad ? -1 : 0;
}
