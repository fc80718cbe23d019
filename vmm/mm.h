/* mm.h: the guest's virtual memory map (VMAs) on top of VMM-owned page tables. */
#ifndef PDVM_MM_H
#define PDVM_MM_H

#include <pthread.h>

#include "types.h"
#include "frames.h"
#include "pgtable.h"
#include "pcache.h"
#include "vmfile.h"

/* In vma.flags beside the MAP_* bits (where mmap's huge page size bits
 * would be, which a VMA does not keep): a private mapping that was
 * writable at some time (Linux's VM_ACCOUNT), which never merges with one
 * that never was — ld.so's RELRO stays apart from the read-only data
 * before it. */
#define VMA_ACCOUNT 0x40000000
/* A shared mapping that may be made writable (Linux's VM_MAYWRITE: the
 * file was open for writing and not sealed against it). */
#define VMA_MAYWRITE 0x20000000
/* A shared file mapping whose pages are the page cache's (vmm/pcache.c):
 * every page of it maps the cached frame of its file page. */
#define VMA_CACHED 0x10000000

/* Protection bits: the PROT_* values of <sys/mman.h>. */
struct vma {
	gva_t start, end;
	int prot;
	int flags;              /* MAP_PRIVATE/MAP_SHARED/MAP_ANONYMOUS/MAP_GROWSDOWN... */
	struct vmfile *file;    /* the mapped file (one reference per VMA), NULL: anonymous */
	uint64_t pgoff;         /* file offset of start (0 when anonymous) */
};

struct mm {
	struct mm *next;        /* on d->mms */
	int users;              /* processes using it (vfork shares it) */
	struct frames *frames;  /* guest physical memory: the domain's (d->frames) */
	struct pgtable pt;      /* the address space's page tables */
	struct vma *vmas;       /* sorted, non-overlapping */
	int nvmas, cap;
	gva_t brk_start, brk_cur, brk_end; /* brk_end: page-aligned mapped end */
	gva_t mmap_base;        /* top-down search starts below this */
	gva_t stack_top;
	uint64_t root_gen;      /* bumped at every root switch: frame numbers of
				 * retired roots are reused, so compare this */
	uint64_t flushes;       /* page-table root switches (path copies committed) */
	uint64_t resyncs;       /* full shadow resyncs */
	gva_t vvar_gva;         /* the vDSO's data page here, 0 = none */
	gva_t arg_start, arg_end, env_start, env_end; /* /proc/self/cmdline, environ */
	gva_t auxv_start;       /* the initial stack's auxv, for /proc/PID/auxv (0: unknown) */
	uint64_t auxv_len;
	bool exl_adopted;       /* its exitless pages (an image's) taken over (vmm/exl.c) */
};

struct domain;

/* Guest physical memory of a domain: `memory_limit` bytes of data frames
 * plus room for page tables and the kernel area. */
int mm_frames_init(struct domain *d, uint64_t memory_limit);
/* A new empty address space with the kernel area mapped (users = 1), or
 * NULL on ENOMEM. */
struct mm *mm_new(struct domain *d);
/* Restore: an mm without tables (the image supplies root and map). */
struct mm *mm_new_bare(struct domain *d);
/* fork: a copy of src, every private page copied now. NULL or the copy. */
struct mm *mm_fork(struct domain *d, struct mm *src, int *err);
/* Drops one user; the last frees the frames and tables (after a resync:
 * KVM may still hold shadows of the tables). */
void mm_put(struct domain *d, struct mm *mm);
/* Frames, and the first process with its empty mm (unit tests, restore).
 * mm_destroy ends it all: every mm, the guest memory, and the process
 * records (their files already put). */
int mm_init(struct domain *d, uint64_t memory_limit);
void mm_destroy(struct domain *d);
/* The calling process's address space. */
struct mm *dom_mm(struct domain *d);

/* Maps anonymous zeroed memory. addr==0 or !MAP_FIXED: a free range is
 * chosen. Returns the address or -errno. */
long mm_map(struct domain *d, gva_t addr, size_t len, int prot, int flags);
/* The same, the VMA naming `file` at offset pgoff (a reference is taken;
 * the caller fills the pages). With VMA_CACHED in flags (the file's record
 * pinned in the page cache), the pages are the cache's. */
long mm_map_file(struct domain *d, gva_t addr, size_t len, int prot, int flags, struct vmfile *file,
		 uint64_t pgoff);
/* Names the mapped range [start, end) as `file` from offset pgoff (the
 * loader's ELF segments, mapped first as one anonymous run). 0 or -errno. */
int mm_name_range(struct domain *d, gva_t start, gva_t end, struct vmfile *file, uint64_t pgoff);
long mm_unmap(struct domain *d, gva_t addr, size_t len);
long mm_protect(struct domain *d, gva_t addr, size_t len, int prot);
long mm_remap(struct domain *d, gva_t old, size_t oldlen, size_t newlen, int flags, gva_t newaddr);
long mm_brk(struct domain *d, gva_t brk);
/* The VMA holding addr, or NULL. */
const struct vma *mm_vma_at(struct mm *mm, gva_t addr);
/* The page cache's record of a VMA_CACHED VMA's file, else NULL. */
struct pcfile *mm_vma_pcache(struct domain *d, const struct vma *v);
/* msync: writes back the changed cached pages mapped in [start, end) of
 * the calling process. 0 or -EIO. */
int mm_sync(struct domain *d, gva_t start, gva_t end, bool wait);

/* Restore of images whose shared file mappings were private copies
 * (shmaps 1 and 2): marks [start, end) (shared mappings) VMA_CACHED and
 * VMA_MAYWRITE, naming `file` from pgoff where a VMA names none, with 4 KiB
 * leaves only. 0 or -errno. */
int mm_mark_cached(struct mm *mm, gva_t start, gva_t end, struct vmfile *file, uint64_t pgoff);
/* The 4 KiB frame a page-table entry (present or held) maps at va, or
 * FRAME_NONE; with `to` not FRAME_NONE, the entry maps `to` instead. */
gpa_t mm_leaf_frame(struct mm *mm, gva_t va, gpa_t to);

/* Translates a user address for access (write or read); returns the host
 * pointer and the number of bytes until the end of that page, or NULL. */
void *mm_user_page(struct domain *d, gva_t va, bool write, size_t *avail);
void *mm_user_page_in(struct mm *mm, gva_t va, bool write, size_t *avail);

/* Loader use: writes into guest memory ignoring PROT_WRITE. 0 or -EFAULT. */
int mm_poke(struct domain *d, gva_t dst, const void *src, size_t n);

/* After any change that removed or downgraded a mapping: make every vCPU
 * see the new page tables before returning (TLB shootdown). */
void mm_commit(struct domain *d);

#endif
