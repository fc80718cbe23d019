/* snap_shmap.c: section `shmaps` — MAP_SHARED file mappings (range, file offset, path), reopened on restore so write-back goes on. */
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
	sb_u64(b, (uint64_t)dom_mm(d)->nshmaps);
	for (int i = 0; i < dom_mm(d)->nshmaps; i++) {
		const struct shmap *m = &dom_mm(d)->shmaps[i];
		sb_u64(b, m->start);
		sb_u64(b, m->end);
		sb_u64(b, m->off);
		sb_str(b, m->path);
	}
	return b->oom ? -ENOMEM : 0;
}

int snap_get_shmaps(struct sread *r, struct domain *d, bool dry, char *err, size_t errlen)
{
	uint64_t n = sr_range(r, 0, MAX_SHMAPS, "shmaps: count out of range");
	for (uint64_t i = 0; i < n && !r->bad; i++) {
		uint64_t start = sr_range(r, USER_MIN, USER_MAX, "shmaps: start outside user space");
		uint64_t end = sr_range(r, USER_MIN, USER_MAX, "shmaps: end outside user space");
		uint64_t off = sr_u64(r);
		char *path = sr_str(r, PATH_MAX);
		if (!r->bad && (start >= end || (start | end | off) & ~PAGE_MASK))
			sr_fail(r, "shmaps: bad range");
		if (!r->bad && (!path || path[0] != '/'))
			sr_fail(r, "shmaps: bad path");
		if (r->bad || dry) {
			free(path);
			continue;
		}
		int fd = cred_enter(&d->cred);
		if (!fd) {
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
