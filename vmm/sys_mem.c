/* sys_mem.c: memory system calls — mmap, munmap, mprotect, mremap, brk, madvise. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "memfd.h"
#include "pcache.h"
#include "syscall.h"
#include "uaccess.h"

#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
#define MAP_TYPE_MASK 0x0f
#define MAP_KNOWN (MAP_TYPE_MASK | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_DENYWRITE | \
		   MAP_EXECUTABLE | MAP_LOCKED | MAP_NORESERVE | MAP_POPULATE | MAP_NONBLOCK | \
		   MAP_STACK | MAP_HUGETLB | MAP_SYNC | MAP_FIXED_NOREPLACE | (0x3fU << 26))

/* Copies file contents into a fresh private mapping. */
static long fill_from_file(struct domain *d, gva_t addr, size_t len, int hostfd, uint64_t off)
{
	size_t chunk = 1 << 20;
	uint8_t *buf = malloc(chunk);
	if (!buf)
		return -ENOMEM;
	long r = 0;
	for (size_t done = 0; done < len;) {
		size_t want = MIN(chunk, len - done);
		ssize_t n = pread(hostfd, buf, want, (off_t)(off + done));
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break; /* beyond EOF the mapping stays zero */
		if (mm_poke(d, addr + done, buf, (size_t)n)) {
			r = -EFAULT;
			break;
		}
		done += (size_t)n;
	}
	free(buf);
	return r;
}

/* What /proc/PID/maps names a mapping of guest fd `fd` by: the record its
 * description made at its first mapping (Linux's vm_file is the description
 * too). /dev/zero maps anonymous memory; NULL then, or when out of memory. */
static struct vmfile *map_name(struct domain *d, int fd, int hostfd)
{
	struct ofd *o = fd_peek(d, fd);
	struct stat st;
	if (!o)
		return NULL;
	if (!o->vmfile) {
		if (fstat(hostfd, &st) < 0 || (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5)))
			return NULL;
		o->vmfile = vmfile_of_fd(proc_cur(d)->files, hostfd, o->path);
	}
	return o->vmfile;
}

static long sys_mmap(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	gva_t addr = a[0];
	size_t len = a[1];
	int prot = (int)a[2], flags = (int)a[3], fd = (int)a[4];
	uint64_t off = a[5];
	if ((unsigned)flags & ~MAP_KNOWN)
		return -EINVAL;
	int type = flags & MAP_TYPE_MASK;
	if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	if (off & ~PAGE_MASK)
		return -EINVAL;
	if (!len)
		return -EINVAL;
	if (flags & MAP_HUGETLB)
		return -ENOMEM; /* no hugetlbfs pool, as on a default Linux */
	prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
	/* The huge page size bits mean nothing without MAP_HUGETLB; a VMA
	 * keeps its own bits there. */
	flags = (int)((unsigned)flags & ~(0x3fu << 26)); /* unsigned: bit 31 is among them */
	int hostfd = -1, accmode = -1;
	bool maywrite = true;
	struct vmfile *file = NULL;
	struct pcfile *pc = NULL;
	if (!(flags & MAP_ANONYMOUS)) {
		hostfd = files_host_fd(d, fd);
		if (hostfd < 0)
			return -EBADF;
		if (fd_peek(d, fd)->kind == OFD_PROCMEM)
			return -ENODEV; /* /proc/PID/mem has no mmap, as on Linux */
		int fl = fcntl(hostfd, F_GETFL);
		if (fl < 0)
			return -EBADF;
		accmode = fl & O_ACCMODE;
		if (accmode == O_WRONLY)
			return -EACCES;
		if (type != MAP_PRIVATE && (prot & PROT_WRITE) && accmode != O_RDWR)
			return -EACCES;
		if (len > UINT64_MAX - off)
			return -EOVERFLOW;
		/* A memfd sealed against writing: no writable shared mapping,
		 * and a read-only one never writes back. */
		int e = type != MAP_PRIVATE ? memfd_mmap_check(hostfd, prot & PROT_WRITE, &maywrite) : 0;
		if (e)
			return e;
		struct ofd *mo = fd_peek(d, fd);
		uint64_t grow = type != MAP_PRIVATE && (prot & PROT_WRITE) && mo ? memfd_map_growth(mo, len) : 0;
		if (grow && memfd_room(d, mo, grow) < grow)
			return -ENOMEM;
		struct statfs sfs;
		if (fstatfs(hostfd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC)
			return -ENOMEM; /* a huge page file (MFD_HUGETLB): no pool, as for MAP_HUGETLB */
		file = map_name(d, fd, hostfd);
		struct stat st;
		if (type != MAP_PRIVATE && fstat(hostfd, &st) == 0 && S_ISREG(st.st_mode)) {
			/* A shared mapping of a file maps the domain's page
			 * cache: every mapping of a page is the same frame,
			 * written back when it changed (msync, the page's last
			 * munmap, exit) when the fd may write. */
			maywrite = maywrite && accmode == O_RDWR;
			int e = 0;
			if (!file || !(pc = pcache_attach(d, hostfd, files_path(d, fd), maywrite, &e)))
				return e ? e : -ENOMEM;
			flags |= VMA_CACHED;
		}
		if (type != MAP_PRIVATE && accmode == O_RDWR && maywrite)
			flags |= VMA_MAYWRITE;
	}
	long r = mm_map_file(d, addr, len, prot, flags, file, off);
	pcache_unpin(d, pc);
	if (r < 0 || hostfd < 0 || pc)
		return r;
	/* A private copy (or a shared mapping of what is no regular file,
	 * which pdvm maps as one). PROT_NONE now may become readable later
	 * (mprotect): fill anyway. */
	long f = fill_from_file(d, (gva_t)r, PAGE_ALIGN(len), hostfd, off);
	if (f < 0) {
		mm_unmap(d, (gva_t)r, len);
		return f;
	}
	return r;
}

static long sys_munmap(struct thread *t, const uint64_t a[6])
{
	return mm_unmap(t->dom, a[0], a[1]);
}

static long sys_mprotect(struct thread *t, const uint64_t a[6])
{
	return mm_protect(t->dom, a[0], a[1], (int)a[2]);
}

static long sys_mremap(struct thread *t, const uint64_t a[6])
{
	return mm_remap(t->dom, a[0], a[1], a[2], (int)a[3], a[4]);
}

static long sys_brk(struct thread *t, const uint64_t a[6])
{
	return mm_brk(t->dom, a[0]);
}

/* MADV_DONTNEED on private anonymous memory: the pages read back as zero.
 * Shared memory keeps its contents (Linux drops only the page-table
 * entries; the pages come back from the file or shmem). */
static uint64_t zap_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	struct domain *d = arg;
	const struct vma *v = mm_vma_at(dom_mm(d), va);
	if ((pte & PTE_P) && !(v && (v->flags & MAP_SHARED))) {
		gpa_t base = pte & PTE_ADDR & (size == HPAGE_SIZE ? HPAGE_MASK : PAGE_MASK);
		/* A punched hole reads as zeros for the guest and gives the
		 * memory back to the host. */
		frames_settle(&d->frames, base, size);
		if (fallocate(d->frames.memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)base,
			      (off_t)size) < 0)
			memset(frames_host(&d->frames, base), 0, size);
		frames_touch(&d->frames, base, size);
	}
	return pte;
}

static long sys_madvise(struct thread *t, const uint64_t a[6])
{
	gva_t addr = a[0];
	size_t len = PAGE_ALIGN(a[1]);
	int advice = (int)a[2];
	if (addr & ~PAGE_MASK || (a[1] && !len) || addr > USER_MAX || len > USER_MAX - addr)
		return -EINVAL;
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_FREE: case MADV_MERGEABLE: case MADV_UNMERGEABLE: case MADV_HUGEPAGE:
	case MADV_NOHUGEPAGE: case MADV_DONTDUMP: case MADV_DODUMP: case MADV_DONTFORK:
	case MADV_DOFORK: case MADV_COLD: case MADV_PAGEOUT:
		return 0;
	case MADV_DONTNEED: {
		/* Only whole pages inside the range: split 2 MiB leaves at the edges. */
		struct domain *d = t->dom;
		if (len > USER_MAX - addr)
			return -EINVAL;
		int r = pt_edit(&dom_mm(d)->pt, addr, len, zap_pte, d);
		mm_commit(d);
		return r;
	}
	default:
		return -EINVAL;
	}
}

static long sys_ok(struct thread *t, const uint64_t a[6])
{
	(void)t, (void)a;
	return 0;
}

static long sys_msync(struct thread *t, const uint64_t a[6])
{
	gva_t addr = a[0];
	size_t len = PAGE_ALIGN(a[1]);
	if (addr & ~PAGE_MASK || a[2] & ~(uint64_t)(MS_ASYNC | MS_SYNC | MS_INVALIDATE) ||
	    ((a[2] & MS_ASYNC) && (a[2] & MS_SYNC)) || (a[1] && !len))
		return -EINVAL;
	if (addr > USER_MAX || len > USER_MAX - addr)
		return -ENOMEM;
	int r = mm_sync(t->dom, addr, addr + len, (a[2] & MS_SYNC) != 0);
	return r == -EIO ? -EIO : 0;
}

/* Whether a guest page is in memory: mapped (its page-table entry present)
 * and its frame in the host's memory. Frames are memfd pages that stay
 * holes until written, so untouched anonymous memory is not resident, as on
 * Linux. */
static bool page_resident(struct domain *d, struct mm *mm, gva_t va)
{
	uint64_t e = pt_lookup(&mm->pt, va, NULL);
	if (!(e & PTE_P))
		return false;
	unsigned char in = 0;
	void *h = frames_host(&d->frames, e & PTE_ADDR);
	return mincore(h, PAGE_SIZE, &in) == 0 && (in & 1);
}

static long sys_mincore(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	gva_t addr = a[0];
	uint64_t len = a[1];
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (addr > USER_MAX || len > USER_MAX - addr)
		return -ENOMEM;
	uint64_t pages = (len + PAGE_SIZE - 1) / PAGE_SIZE;
	if (a[2] > USER_MAX || pages > USER_MAX - a[2])
		return -EFAULT;
	struct mm *mm = dom_mm(d);
	uint8_t vec[256];
	for (uint64_t done = 0; done < pages;) {
		uint64_t n = MIN(pages - done, (uint64_t)sizeof(vec));
		for (uint64_t i = 0; i < n; i++) {
			gva_t va = addr + (done + i) * PAGE_SIZE;
			if (!mm_vma_at(mm, va))
				return -ENOMEM;
			vec[i] = page_resident(d, mm, va);
		}
		if (copy_to_user(d, a[2] + done, vec, n))
			return -EFAULT;
		done += n;
	}
	return 0;
}

const struct syscall_desc sys_mem_table[] = {
	{ SYS_mmap, "mmap", sys_mmap },
	{ SYS_munmap, "munmap", sys_munmap },
	{ SYS_mprotect, "mprotect", sys_mprotect },
	{ SYS_mremap, "mremap", sys_mremap },
	{ SYS_brk, "brk", sys_brk },
	{ SYS_madvise, "madvise", sys_madvise },
	{ SYS_msync, "msync", sys_msync },
	{ SYS_mincore, "mincore", sys_mincore },
	{ SYS_mlock, "mlock", sys_ok },
	{ SYS_munlock, "munlock", sys_ok },
	{ SYS_mlockall, "mlockall", sys_ok },
	{ SYS_munlockall, "munlockall", sys_ok },
	{ -1, NULL, NULL },
};
