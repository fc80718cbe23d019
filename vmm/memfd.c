/* memfd.c: anonymous memory files — host memfds the domain owns, their seals against pdvm's shared mappings (page-cache frames written back, vmm/pcache.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "memfd.h"
#include "pcache.h"
#include "process.h"

#define F_SEALS_KNOWN (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC)

bool memfd_is(int fd)
{
	char host[PATH_MAX];
	struct stat st;

	/* Only shmem and hugetlbfs files answer F_GET_SEALS; of those, only a
	 * memfd is unlinked at the top of the internal mount. */
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 0 &&
	       fcntl(fd, F_GET_SEALS) >= 0 && host_fd_path(fd, host, sizeof(host)) == 0 &&
	       !strncmp(host, "/memfd:", 7);
}

struct ofd *memfd_new(const char *name, unsigned int mfd_flags, int *err)
{
	char path[PATH_MAX];
	int fd = memfd_create(name, mfd_flags | MFD_CLOEXEC);
	struct ofd *o;

	if (fd < 0) {
		*err = -errno;
		return NULL;
	}
	/* "/memfd:NAME (deleted)": what /proc/self/fd shows, as on Linux. */
	if (host_fd_path(fd, path, sizeof(path)) < 0)
		strcpy(path, "/memfd:");
	o = ofd_new(fd, O_RDWR, OFD_MEMFD, path);
	*err = o ? 0 : -ENOMEM;
	return o;
}

int memfd_seals(int fd)
{
	int s = fcntl(fd, F_GET_SEALS);

	return s < 0 ? 0 : s;
}

int memfd_mmap_check(int fd, bool writable, bool *maywrite)
{
	*maywrite = true;
	if (!(memfd_seals(fd) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return 0;
	if (writable)
		return -EPERM;
	*maywrite = false;
	return 0;
}

/*
 * Linux refuses F_SEAL_WRITE (EBUSY) while a shared mapping that may write
 * the file exists. pdvm's host memfd has no mappings of its own — the
 * guest's shared mapping maps page-cache frames in guest memory that
 * pcache.c writes back with pwrite — so the host would accept the seal and
 * the next write-back would fail. The cache counts the mappings that may
 * write, in every address space of the domain.
 *
 * F_SEAL_FUTURE_WRITE is where pdvm differs: Linux accepts it and lets the
 * existing mappings go on writing, which a write-back by pwrite cannot do
 * once the seal is there. pdvm answers EBUSY for it too while such a
 * mapping exists, so a program learns at once instead of losing writes;
 * sealed first and mapped after (the usual order), it behaves as on Linux.
 */
int memfd_add_seals_check(struct domain *d, struct ofd *o, unsigned int seals)
{
	int cur = fcntl(o->hostfd, F_GET_SEALS);
	struct stat st;

	/* The host's own answers come first: EPERM for a read-only fd or a
	 * sealed seal, EINVAL for unknown seals or a file with no seals. */
	if (!(seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC)) || (seals & ~F_SEALS_KNOWN) || cur < 0 ||
	    (cur & F_SEAL_SEAL) || (o->flags & O_ACCMODE) == O_RDONLY)
		return 0;
	if (fstat(o->hostfd, &st))
		return 0;
	/* Sealing an executable file against exec seals it against writes
	 * too (W^X; Linux 6.3 on), and the host checks the mappings first. */
	if ((seals & F_SEAL_EXEC) && (st.st_mode & 0111))
		seals |= F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
	if (!(seals & ~(unsigned int)cur & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)))
		return 0;
	struct pcfile *pc = pcache_find(d, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	return pc && pc->nwmap ? -EBUSY : 0;
}

/* The host memory the domain's memfds hold (each file once). They live in
 * the host's shmem, outside the guest's frames: without a bound a guest
 * could fill the host's memory through them. */
static uint64_t memfd_held(struct domain *d)
{
	ino_t seen[64];
	int nseen = 0;
	uint64_t held = 0;

	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *p = d->procs[i];
		bool dup = false;

		if (!p || !p->files)
			continue;
		for (int j = 0; j < i && !dup; j++)
			dup = d->procs[j] && d->procs[j]->files == p->files;
		for (int fd = 0; !dup && fd < p->files->nfds; fd++) {
			struct ofd *o = p->files->fds[fd].ofd;
			struct stat st;
			bool again = false;

			if (!o || o->kind != OFD_MEMFD || fstat(o->hostfd, &st))
				continue;
			for (int k = 0; k < nseen && !again; k++)
				again = seen[k] == st.st_ino;
			if (again)
				continue;
			if (nseen < (int)ARRAY_SIZE(seen))
				seen[nseen++] = st.st_ino;
			held += (uint64_t)st.st_blocks * 512;
		}
	}
	return held;
}

uint64_t memfd_room(struct domain *d, struct ofd *o, uint64_t growth)
{
	uint64_t budget = d->frames.data_limit * PAGE_SIZE, held;

	if (o->kind != OFD_MEMFD || growth == 0)
		return growth;
	held = memfd_held(d);
	return held >= budget ? 0 : MIN(growth, budget - held);
}

uint64_t memfd_write_growth(struct ofd *o, int64_t off, uint64_t len)
{
	struct stat st;
	off_t pos = off;

	if (o->kind != OFD_MEMFD || fstat(o->hostfd, &st))
		return 0;
	if (off < 0)
		pos = (o->flags & O_APPEND) ? st.st_size : lseek(o->hostfd, 0, SEEK_CUR);
	/* Rewriting bytes a fully held file has costs nothing; else count the
	 * whole write (holes inside are not worth finding). */
	if (pos >= 0 && (uint64_t)pos + len <= (uint64_t)st.st_size &&
	    (uint64_t)st.st_blocks * 512 >= (uint64_t)st.st_size)
		return 0;
	return len;
}

uint64_t memfd_map_growth(struct ofd *o, uint64_t len)
{
	struct stat st;
	uint64_t held;

	if (o->kind != OFD_MEMFD || fstat(o->hostfd, &st))
		return 0;
	/* The shared mapping's pages are written back: at worst they fill
	 * the file's holes in the mapped range. */
	held = (uint64_t)st.st_blocks * 512;
	return held >= (uint64_t)st.st_size ? 0 : MIN(len, (uint64_t)st.st_size - held);
}

long memfd_write_room(struct domain *d, struct ofd *o, int64_t off, uint64_t len)
{
	uint64_t g = memfd_write_growth(o, off, len), room = memfd_room(d, o, g);

	if (room >= g)
		return (long)MIN(len, (uint64_t)LONG_MAX);
	return room ? (long)(len - (g - room)) : -ENOSPC;
}
