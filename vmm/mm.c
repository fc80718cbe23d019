/* mm.c: the guest address space — VMAs, eager population, unmap/protect/remap/brk. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "crew.h"
#include "domain.h"
#include "mm.h"
#include "pcache.h"
#include "trap.h"

#define STACK_TOP     USER_MAX
#define MMAP_BASE     0x7ffff0000000UL   /* top-down search starts here */
#define MAX_VMAS      65530              /* Linux's default max_map_count */

int mm_frames_init(struct domain *d, uint64_t limit)
{
	/* Page tables and the kernel area come on top of the guest's limit. */
	return frames_init(&d->frames, limit + limit / 64 + (32UL << 20), limit);
}

struct mm *dom_mm(struct domain *d)
{
	return proc_cur(d)->mm;
}

struct mm *mm_new(struct domain *d)
{
	struct mm *mm = calloc(1, sizeof(*mm));
	if (!mm)
		return NULL;
	mm->frames = &d->frames;
	if (pt_init(&mm->pt, mm->frames)) {
		pt_destroy(&mm->pt);
		free(mm);
		return NULL;
	}
	for (int i = 0; i < d->nkpages; i++) {
		if (pt_map(&mm->pt, d->kpages[i].va, d->kpages[i].gpa, PAGE_SIZE, d->kpages[i].flags, false)) {
			mm->users = 1;
			mm_put(d, mm);
			return NULL;
		}
	}
	mm->users = 1;
	mm->stack_top = STACK_TOP;
	mm->mmap_base = MMAP_BASE;
	mm->root_gen = ++d->root_gen;
	mm->next = d->mms;
	d->mms = mm;
	return mm;
}

struct mm *mm_new_bare(struct domain *d)
{
	struct mm *mm = calloc(1, sizeof(*mm));
	if (!mm)
		return NULL;
	mm->frames = &d->frames;
	mm->pt.fr = &d->frames;
	mm->pt.root = FRAME_NONE;
	mm->pt.published = calloc((d->frames.nframes + 63) / 64, sizeof(uint64_t));
	if (!mm->pt.published) {
		free(mm);
		return NULL;
	}
	mm->users = 1;
	mm->next = d->mms;
	d->mms = mm;
	return mm;
}

int mm_init(struct domain *d, uint64_t limit)
{
	int r = mm_frames_init(d, limit);
	if (r)
		return r;
	if (!d->init && !proc_new(d, d->pid ? d->pid : 1))
		return -ENOMEM;
	d->init->mm = mm_new(d);
	return d->init->mm ? 0 : -ENOMEM;
}

/* Copies one leaf of src (present, or held while PROT_NONE) into dst.
 * Pages that read as zero stay untouched fresh frames. */
static int fork_leaf(struct mm *dst, struct mm *src, gva_t va, uint64_t e, uint64_t sz, bool shared)
{
	bool huge = sz == HPAGE_SIZE;
	if (shared) {
		/* MAP_SHARED: the child maps the very frames. */
		gpa_t base = e & PTE_ADDR & (huge ? HPAGE_MASK : PAGE_MASK);
		int r = frames_ref(dst->frames, base, sz / PAGE_SIZE);
		if (!r && (r = pt_map(&dst->pt, va, base, sz, e & ~PTE_ADDR & ~PTE_PS, huge)))
			frames_free(dst->frames, base, sz / PAGE_SIZE, true);
		return r;
	}
	if (!huge && dst->frames->pinned && (e & PTE_ADDR) == dst->frames->pinned)
		return pt_map(&dst->pt, va, dst->frames->pinned, PAGE_SIZE, e & ~PTE_ADDR, false);
	gpa_t f = frames_alloc(dst->frames, huge, true);
	if (f == FRAME_NONE && huge) {
		/* No free 2 MiB run: copy as 512 small pages. */
		for (uint64_t o = 0; o < HPAGE_SIZE; o += PAGE_SIZE) {
			int r = fork_leaf(dst, src, va + o, (e & ~(PTE_PS | PTE_ADDR)) | ((e & PTE_ADDR) + o),
					  PAGE_SIZE, false);
			if (r)
				return r;
		}
		return 0;
	}
	if (f == FRAME_NONE)
		return -ENOMEM;
	gpa_t from = e & PTE_ADDR & (huge ? HPAGE_MASK : PAGE_MASK);
	static const uint8_t zero[PAGE_SIZE];
	/* A 2 MiB run is mostly untouched (eager stacks): pages that are holes
	 * in the memfd are zero and need no look at all, and reading them
	 * would allocate them. */
	unsigned char res[512];
	bool known = huge && mincore(frames_host(src->frames, from), HPAGE_SIZE, res) == 0;
	for (uint64_t o = 0; o < sz; o += PAGE_SIZE) {
		const uint8_t *sp = frames_host(src->frames, from + o);
		if (known && !(res[o / PAGE_SIZE] & 1))
			continue;
		if (memcmp(sp, zero, PAGE_SIZE)) {
			memcpy(frames_host(dst->frames, f + o), sp, PAGE_SIZE);
			frames_touch(dst->frames, f + o, PAGE_SIZE);
		}
	}
	uint64_t flags = e & ~PTE_ADDR & ~PTE_PS;
	if (pt_map(&dst->pt, va, f, sz, flags, huge)) {
		frames_free(dst->frames, f, sz / PAGE_SIZE, true);
		return -ENOMEM;
	}
	return 0;
}

struct mm *mm_fork(struct domain *d, struct mm *src, int *err)
{
	struct mm *mm = mm_new(d);
	if (!mm) {
		*err = -ENOMEM;
		return NULL;
	}
	mm->vmas = malloc((size_t)(src->nvmas ? src->nvmas : 1) * sizeof(struct vma));
	if (!mm->vmas)
		goto nomem;
	memcpy(mm->vmas, src->vmas, (size_t)src->nvmas * sizeof(struct vma));
	mm->nvmas = mm->cap = src->nvmas;
	for (int i = 0; i < mm->nvmas; i++) {
		struct vma *v = &mm->vmas[i];
		vmfile_get(v->file);
		/* The child's copy maps the same cached pages (fork_leaf
		 * shares their frames): one mapping more each. */
		struct pcfile *pc = mm_vma_pcache(d, v);
		if (pc)
			pcache_dup(d, pc, v->pgoff / PAGE_SIZE, (v->end - v->start) / PAGE_SIZE,
				   v->flags & VMA_MAYWRITE);
	}
	mm->brk_start = src->brk_start, mm->brk_cur = src->brk_cur, mm->brk_end = src->brk_end;
	mm->mmap_base = src->mmap_base;
	mm->stack_top = src->stack_top;
	mm->arg_start = src->arg_start, mm->arg_end = src->arg_end;
	mm->env_start = src->env_start, mm->env_end = src->env_end;
	mm->auxv_start = src->auxv_start, mm->auxv_len = src->auxv_len;
	mm->vvar_gva = src->vvar_gva;
	for (int i = 0; i < src->nvmas; i++) {
		for (gva_t va = src->vmas[i].start; va < src->vmas[i].end;) {
			uint64_t sz = PAGE_SIZE, e = pt_lookup(&src->pt, va, &sz);
			gva_t base = va & ~(sz - 1);
			if ((e & (PTE_P | PTE_HELD)) && !(pt_lookup(&mm->pt, va, NULL) & (PTE_P | PTE_HELD))) {
				*err = fork_leaf(mm, src, base, e, sz, src->vmas[i].flags & MAP_SHARED);
				if (*err) {
					mm_put(d, mm);
					return NULL;
				}
			}
			va = base + sz;
		}
	}
	/* Once the child runs, KVM may shadow these tables, and on PVM hosts
	 * it never notices an edit (DESIGN.md): from now on they change by
	 * path copy, like any used table. */
	pt_publish(&mm->pt);
	return mm;
nomem:
	*err = -ENOMEM;
	mm_put(d, mm);
	return NULL;
}

struct pcfile *mm_vma_pcache(struct domain *d, const struct vma *v)
{
	if (!(v->flags & VMA_CACHED) || !v->file)
		return NULL;
	return pcache_find(d, v->file->dev, v->file->ino);
}

/* VMAs i .. j - 1 go: their cached pages are mapped once less (the last
 * mapping of a page writes it back). */
static void vmas_release(struct domain *d, struct mm *mm, int i, int j)
{
	for (int k = i; k < j; k++) {
		const struct vma *v = &mm->vmas[k];
		struct pcfile *pc = mm_vma_pcache(d, v);
		if (pc)
			pcache_release(d, pc, v->pgoff / PAGE_SIZE, (v->end - v->start) / PAGE_SIZE,
				       v->flags & VMA_MAYWRITE);
	}
}

/* Frees the VMA array and drops the references it holds. */
static void vmas_free(struct mm *mm)
{
	for (int i = 0; i < mm->nvmas; i++)
		vmfile_put(mm->vmas[i].file);
	free(mm->vmas);
	mm->vmas = NULL;
	mm->nvmas = mm->cap = 0;
}

static void mm_unlink(struct domain *d, struct mm *mm)
{
	for (struct mm **pp = &d->mms; *pp; pp = &(*pp)->next) {
		if (*pp == mm) {
			*pp = mm->next;
			break;
		}
	}
}

void mm_put(struct domain *d, struct mm *mm)
{
	if (!mm || --mm->users > 0)
		return;
	vmas_release(d, mm, 0, mm->nvmas);
	exl_mm_release(d, mm);
	mm_unlink(d, mm);
	/* Where KVM never notices edits of a table it has used (PVM hosts),
	 * it may hold shadows of these: drop every shadow before the frames
	 * are reused. Standard KVM tracks its shadows itself. */
	if (d->trap && d->trap->needs_pt_quarantine && kvm_resync(&d->vm) == 0)
		mm->resyncs++;
	pt_teardown(&mm->pt, USER_MAX);
	vmas_free(mm);
	free(mm);
}

void mm_destroy(struct domain *d)
{
	while (d->mms) {
		struct mm *mm = d->mms;
		d->mms = mm->next;
		pt_destroy(&mm->pt);
		vmas_free(mm);
		free(mm);
	}
	frames_destroy(&d->frames);
	for (int i = 0; i < MAX_PROCS; i++)
		if (d->procs[i])
			proc_free(d, d->procs[i]);
}

/* ---- VMA list: a sorted array ---- */

/* Index of the first VMA whose end is above addr. */
static int vma_find(struct mm *mm, gva_t addr)
{
	int lo = 0, hi = mm->nvmas;
	while (lo < hi) {
		int m = (lo + hi) / 2;
		if (mm->vmas[m].end <= addr)
			lo = m + 1;
		else
			hi = m;
	}
	return lo;
}

const struct vma *mm_vma_at(struct mm *mm, gva_t addr)
{
	int i = vma_find(mm, addr);
	return i < mm->nvmas && mm->vmas[i].start <= addr ? &mm->vmas[i] : NULL;
}

static int vma_insert_at(struct mm *mm, int i, struct vma v)
{
	if (mm->nvmas >= MAX_VMAS)
		return -ENOMEM;
	if (mm->nvmas == mm->cap) {
		int nc = mm->cap ? mm->cap * 2 : 64;
		struct vma *n = realloc(mm->vmas, (size_t)nc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		mm->vmas = n;
		mm->cap = nc;
	}
	memmove(&mm->vmas[i + 1], &mm->vmas[i], (size_t)(mm->nvmas - i) * sizeof(v));
	mm->vmas[i] = v;
	mm->nvmas++;
	return 0;
}

/* Whether Linux would make a and the VMA right after it one: adjacent,
 * alike, and the same file at contiguous offsets (or both anonymous). */
static bool vma_mergeable(const struct vma *a, const struct vma *b)
{
	return a->end == b->start && a->prot == b->prot && a->flags == b->flags && a->file == b->file &&
	       (!a->file || a->pgoff + (a->end - a->start) == b->pgoff);
}

/* Merges VMA i with i + 1 if they may be one. */
static bool vma_merge_next(struct mm *mm, int i)
{
	struct vma *a = mm->vmas;
	if (i < 0 || i + 1 >= mm->nvmas || !vma_mergeable(&a[i], &a[i + 1]))
		return false;
	a[i].end = a[i + 1].end;
	vmfile_put(a[i + 1].file);
	memmove(&a[i + 1], &a[i + 2], (size_t)(mm->nvmas - i - 2) * sizeof(*a));
	mm->nvmas--;
	return true;
}

/* Merges what may be merged among VMAs lo .. hi (indices, clamped). */
static void vma_merge_range(struct mm *mm, int lo, int hi)
{
	for (int i = lo < 0 ? 0 : lo; i < hi && i + 1 < mm->nvmas;) {
		if (vma_merge_next(mm, i))
			hi--;
		else
			i++;
	}
}

/* Inserts v (its file reference taken over) and merges it with equal
 * neighbours, as Linux does, so that a grown mapping is one VMA again. */
static int vma_insert(struct mm *mm, struct vma v)
{
	int i = vma_find(mm, v.start);
	int r = vma_insert_at(mm, i, v);
	if (r) {
		vmfile_put(v.file);
		return r;
	}
	vma_merge_next(mm, i);
	vma_merge_next(mm, i - 1);
	return 0;
}

/* Splits the VMA containing addr (if any) so that addr is a boundary; the
 * upper part maps the file from further on. */
static int vma_split(struct mm *mm, gva_t addr)
{
	int i = vma_find(mm, addr);
	if (i == mm->nvmas || mm->vmas[i].start >= addr)
		return 0;
	struct vma hi = mm->vmas[i];
	hi.start = addr;
	if (hi.file)
		hi.pgoff += addr - mm->vmas[i].start;
	int r = vma_insert_at(mm, i + 1, hi);
	if (!r) {
		mm->vmas[i].end = addr;
		vmfile_get(hi.file);
	}
	return r;
}

/* Drops VMAs i .. j - 1 from the list. */
static void vmas_remove(struct mm *mm, int i, int j)
{
	for (int k = i; k < j; k++)
		vmfile_put(mm->vmas[k].file);
	memmove(&mm->vmas[i], &mm->vmas[j], (size_t)(mm->nvmas - j) * sizeof(struct vma));
	mm->nvmas -= j - i;
}

static bool range_free(struct mm *mm, gva_t start, gva_t end)
{
	int i = vma_find(mm, start);
	return i == mm->nvmas || mm->vmas[i].start >= end;
}

/* True if [start, end) is covered by VMAs without holes. */
static bool range_mapped(struct mm *mm, gva_t start, gva_t end)
{
	for (int i = vma_find(mm, start); start < end; i++) {
		if (i == mm->nvmas || mm->vmas[i].start > start)
			return false;
		start = mm->vmas[i].end;
	}
	return true;
}

static gva_t find_free(struct mm *mm, size_t len)
{
	gva_t end = mm->mmap_base;
	for (int i = mm->nvmas - 1; i >= -1; i--) {
		gva_t floor = i >= 0 ? mm->vmas[i].end : USER_MIN;
		if (i >= 0 && mm->vmas[i].start >= end)
			continue;
		if (end > floor && end - floor >= len) {
			gva_t a = end - len;
			/* Large mappings get 2 MiB alignment: huge pages. */
			if (len >= HPAGE_SIZE && (a & HPAGE_MASK) >= floor)
				a &= HPAGE_MASK;
			return a;
		}
		if (i >= 0)
			end = MIN(end, mm->vmas[i].start);
	}
	return 0;
}

/* ---- page population ---- */

static uint64_t unmap_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	struct pgtable *pt = arg;
	(void)va;
	if (pte & (PTE_P | PTE_HELD))
		pt_defer_free(pt, pte & PTE_ADDR & (size == HPAGE_SIZE ? HPAGE_MASK : PAGE_MASK), size / PAGE_SIZE);
	return 0;
}

/* Backs every empty page of [start, end) with a zeroed frame. */
static int populate(struct mm *mm, gva_t start, gva_t end, int prot)
{
	uint64_t flags = pt_prot_flags(prot);
	if (!flags)
		return 0;
	for (gva_t va = start; va < end;) {
		uint64_t sz;
		if (!(va & ~HPAGE_MASK) && va + HPAGE_SIZE <= end && pt_hole_2m(&mm->pt, va)) {
			gpa_t f = frames_alloc(mm->frames, true, true);
			if (f != FRAME_NONE) {
				if (pt_map(&mm->pt, va, f, HPAGE_SIZE, flags, true)) {
					frames_free(mm->frames, f, 512, true);
					return -ENOMEM;
				}
				va += HPAGE_SIZE;
				continue;
			}
		}
		if (pt_lookup(&mm->pt, va, &sz)) {
			va = sz == HPAGE_SIZE ? (va & HPAGE_MASK) + HPAGE_SIZE : va + PAGE_SIZE;
			continue;
		}
		gpa_t f = frames_alloc(mm->frames, false, true);
		if (f == FRAME_NONE)
			return -ENOMEM;
		if (pt_map(&mm->pt, va, f, PAGE_SIZE, flags, false)) {
			frames_free(mm->frames, f, 1, true);
			return -ENOMEM;
		}
		va += PAGE_SIZE;
	}
	return 0;
}

/* Removes VMAs and mappings in [start, end) without committing. */
static int unmap_range(struct domain *d, gva_t start, gva_t end)
{
	struct mm *mm = dom_mm(d);
	if (vma_split(mm, start) || vma_split(mm, end))
		return -ENOMEM;
	int i = vma_find(mm, start), j = i;
	while (j < mm->nvmas && mm->vmas[j].start < end)
		j++;
	vmas_release(d, mm, i, j); /* shared file pages go back first */
	vmas_remove(mm, i, j);
	return pt_edit(&mm->pt, start, end - start, unmap_pte, &mm->pt);
}

/* What of mmap's flags a VMA keeps: what tells mappings apart (Linux's
 * vm_flags); MAP_SHARED_VALIDATE is MAP_SHARED. A private writable
 * mapping is charged (VMA_ACCOUNT) unless MAP_NORESERVE. */
static int vma_flags(int flags, int prot, bool file)
{
	int type = flags & 0x0f;
	int keep = flags & ((file ? 0 : MAP_ANONYMOUS) | MAP_GROWSDOWN | MAP_NORESERVE | VMA_ACCOUNT | VMA_MAYWRITE |
			    VMA_CACHED);
	if (type == MAP_PRIVATE && (prot & PROT_WRITE) && !(flags & MAP_NORESERVE))
		keep |= VMA_ACCOUNT;
	return keep | (type == MAP_SHARED_VALIDATE ? MAP_SHARED : type);
}

/* Adds VMA v (its file reference taken over) with its pages: the cache's
 * for a VMA_CACHED one, fresh zeroed frames otherwise. 0 or -errno, and
 * then nothing of v is left (the caller commits). */
static int vma_add(struct domain *d, struct mm *mm, struct vma v)
{
	struct pcfile *pc = mm_vma_pcache(d, &v);
	uint64_t idx = v.pgoff / PAGE_SIZE, n = (v.end - v.start) / PAGE_SIZE;
	bool mw = v.flags & VMA_MAYWRITE;
	int r;
	if ((v.flags & VMA_CACHED) && !pc)
		r = -ENOMEM; /* the caller pins the file's record */
	else
		r = pc ? pcache_hold(d, pc, idx, n, mw) : 0;
	if (r) {
		vmfile_put(v.file);
		return r;
	}
	r = vma_insert(mm, v);
	if (r) {
		if (pc)
			pcache_release(d, pc, idx, n, mw);
		return r;
	}
	r = pc ? pcache_install(d, mm, pc, v.start, idx, n, v.prot) : populate(mm, v.start, v.end, v.prot);
	if (r)
		unmap_range(d, v.start, v.end);
	return r;
}

long mm_map(struct domain *d, gva_t addr, size_t len, int prot, int flags)
{
	return mm_map_file(d, addr, len, prot, flags, NULL, 0);
}

long mm_map_file(struct domain *d, gva_t addr, size_t len, int prot, int flags, struct vmfile *file,
		 uint64_t pgoff)
{
	struct mm *mm = dom_mm(d);
	if (!len)
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (!len || len > USER_MAX - USER_MIN)
		return -ENOMEM;
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	if (fixed) {
		if (addr & ~PAGE_MASK)
			return -EINVAL;
		if (addr < USER_MIN || addr > USER_MAX - len)
			return fixed && (flags & MAP_FIXED) ? -EPERM : -ENOMEM;
		if (!range_free(mm, addr, addr + len)) {
			if (flags & MAP_FIXED_NOREPLACE)
				return -EEXIST;
			int r = unmap_range(d, addr, addr + len);
			if (r)
				return r;
		}
	} else {
		addr &= PAGE_MASK;
		if (!addr || addr < USER_MIN || addr > USER_MAX - len || !range_free(mm, addr, addr + len))
			addr = find_free(mm, len);
		if (!addr)
			return -ENOMEM;
	}
	struct vma v = { .start = addr, .end = addr + len, .prot = prot, .flags = vma_flags(flags, prot, file != NULL),
			 .file = vmfile_get(file), .pgoff = file ? pgoff : 0 };
	int r = vma_add(d, mm, v);
	mm_commit(d);
	return r ? r : (long)addr;
}

static int check_range(gva_t addr, size_t len, gva_t *end)
{
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (addr > USER_MAX || len > USER_MAX - addr)
		return -EINVAL;
	*end = addr + len;
	return 0;
}

long mm_unmap(struct domain *d, gva_t addr, size_t len)
{
	gva_t end;
	if (!len || check_range(addr, len, &end))
		return -EINVAL;
	int r = unmap_range(d, addr, end);
	mm_commit(d);
	return r;
}

static uint64_t protect_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	uint64_t flags = *(uint64_t *)arg;
	(void)va, (void)size;
	uint64_t addr = pte & PTE_ADDR;
	if (!flags)
		return addr | PTE_HELD | (pte & PTE_PS);
	return addr | flags | (pte & PTE_PS);
}

/* [start, end), all of it mapped, as whole VMAs of their own (mprotect's
 * and naming's first step): the index of the first, or -ENOMEM. */
static int vma_isolate(struct mm *mm, gva_t start, gva_t end)
{
	if (!range_mapped(mm, start, end) || vma_split(mm, start) || vma_split(mm, end))
		return -ENOMEM;
	return vma_find(mm, start);
}

long mm_protect(struct domain *d, gva_t addr, size_t len, int prot)
{
	struct mm *mm = dom_mm(d);
	gva_t end;
	if (check_range(addr, len, &end))
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
	if (addr == end)
		return 0;
	/* A shared mapping of a file not open for writing never becomes
	 * writable (Linux: no VM_MAYWRITE, EACCES). */
	if ((prot & PROT_WRITE) && range_mapped(mm, addr, end))
		for (int k = vma_find(mm, addr); k < mm->nvmas && mm->vmas[k].start < end; k++)
			if ((mm->vmas[k].flags & MAP_SHARED) && mm->vmas[k].file && !(mm->vmas[k].flags & VMA_MAYWRITE))
				return -EACCES;
	int first = vma_isolate(mm, addr, end), i = first;
	if (first < 0)
		return first;
	for (; i < mm->nvmas && mm->vmas[i].start < end; i++) {
		struct vma *v = &mm->vmas[i];
		/* Made writable, a private mapping is charged from now on,
		 * read-only again or not (mprotect_fixup's VM_ACCOUNT). */
		if ((prot & PROT_WRITE) && !(v->prot & PROT_WRITE) && !(v->flags & (MAP_SHARED | MAP_NORESERVE)))
			v->flags |= VMA_ACCOUNT;
		v->prot = prot;
	}
	/* What now matches its neighbours is one VMA again (mprotect_fixup's
	 * vma_merge). */
	vma_merge_range(mm, first - 1, i);
	uint64_t flags = pt_prot_flags(prot);
	int r = pt_edit(&mm->pt, addr, end - addr, protect_pte, &flags);
	if (!r)
		r = populate(mm, addr, end, prot);
	mm_commit(d);
	return r;
}

int mm_name_range(struct domain *d, gva_t start, gva_t end, struct vmfile *file, uint64_t pgoff)
{
	struct mm *mm = dom_mm(d);
	if (start & ~PAGE_MASK || end & ~PAGE_MASK || start >= end)
		return -EINVAL;
	int first = vma_isolate(mm, start, end), i = first;
	if (first < 0)
		return first;
	for (; i < mm->nvmas && mm->vmas[i].start < end; i++) {
		struct vma *v = &mm->vmas[i];
		vmfile_put(v->file);
		v->file = vmfile_get(file);
		v->pgoff = file ? pgoff + (v->start - start) : 0;
		v->flags = vma_flags(v->flags, v->prot, file != NULL);
	}
	vma_merge_range(mm, first - 1, i);
	return 0;
}

long mm_brk(struct domain *d, gva_t brk)
{
	struct mm *mm = dom_mm(d);
	if (brk < mm->brk_start || brk > mm->brk_start + (1UL << 40))
		return (long)mm->brk_cur;
	gva_t nend = PAGE_ALIGN(brk);
	if (nend > mm->brk_end) {
		if (!range_free(mm, mm->brk_end, nend))
			return (long)mm->brk_cur;
		long r = mm_map(d, mm->brk_end, nend - mm->brk_end, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
		if (r < 0)
			return (long)mm->brk_cur;
	} else if (nend < mm->brk_end) {
		if (mm_unmap(d, nend, mm->brk_end - nend))
			return (long)mm->brk_cur;
	}
	mm->brk_end = nend;
	mm->brk_cur = brk;
	return (long)brk;
}

struct moved {
	gva_t va;
	uint64_t pte, size;
};

struct move_list {
	struct moved *m;
	size_t n, cap;
	bool oom;
};

static uint64_t collect_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	struct move_list *l = arg;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		struct moved *p = realloc(l->m, nc * sizeof(*p));
		if (!p) {
			l->oom = true;
			return pte;
		}
		l->m = p;
		l->cap = nc;
	}
	l->m[l->n++] = (struct moved){ va, pte, size };
	return 0;
}

long mm_remap(struct domain *d, gva_t old, size_t oldlen, size_t newlen, int flags, gva_t newaddr)
{
	struct mm *mm = dom_mm(d);
	gva_t oend;
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if (flags & MREMAP_DONTUNMAP)
		return -EINVAL; /* not supported for private anonymous memory here */
	if (check_range(old, oldlen, &oend) || !newlen || !oldlen)
		return -EINVAL;
	newlen = PAGE_ALIGN(newlen);
	if (!newlen || newlen > USER_MAX - USER_MIN)
		return -EINVAL;
	int i = vma_find(mm, old);
	if (i == mm->nvmas || mm->vmas[i].start > old || mm->vmas[i].end < oend)
		return -EFAULT;
	struct vma v = mm->vmas[i];
	/* The file offset at old: a moved or grown file mapping goes on
	 * mapping the file from there. */
	uint64_t voff = v.file ? v.pgoff + (old - v.start) : 0;
	if (!(flags & MREMAP_FIXED)) {
		if (newlen <= oend - old) {
			if (old + newlen < oend) {
				int r = unmap_range(d, old + newlen, oend);
				mm_commit(d);
				if (r)
					return r;
			}
			return (long)old;
		}
		if (old + newlen <= USER_MAX && range_free(mm, oend, old + newlen)) {
			if (vma_split(mm, oend))
				return -ENOMEM;
			int r = vma_add(d, mm, (struct vma){ oend, old + newlen, v.prot, v.flags, vmfile_get(v.file),
							     v.file ? voff + (oend - old) : 0 });
			mm_commit(d);
			return r ? r : (long)old;
		}
		if (!(flags & MREMAP_MAYMOVE))
			return -ENOMEM;
		newaddr = find_free(mm, newlen);
		if (!newaddr)
			return -ENOMEM;
	} else {
		gva_t nend;
		if (check_range(newaddr, newlen, &nend) || newaddr < USER_MIN)
			return -EINVAL;
		if (newaddr < oend && old < nend)
			return -EINVAL;
		int r = unmap_range(d, newaddr, nend);
		if (r)
			return r;
	}
	size_t keep = MIN(newlen, oend - old);
	if (keep < oend - old) {
		int r = unmap_range(d, old + keep, oend);
		if (r)
			return r;
	}
	/* Move the frames: take the leaves out of the old range, put them in
	 * the new one (2 MiB leaves stay huge when both sides are aligned). */
	struct move_list l = { 0 };
	int r = pt_edit(&mm->pt, old, keep, collect_pte, &l);
	if (!r && l.oom)
		r = -ENOMEM;
	for (size_t k = 0; !r && k < l.n; k++) {
		gva_t nva = newaddr + (l.m[k].va - old);
		uint64_t fl = l.m[k].pte & ~PTE_ADDR & ~PTE_PS;
		gpa_t pa = l.m[k].pte & PTE_ADDR;
		if (l.m[k].size == HPAGE_SIZE)
			pa &= HPAGE_MASK;
		r = pt_map(&mm->pt, nva, pa, l.m[k].size, fl, !(nva & ~HPAGE_MASK));
	}
	free(l.m);
	if (!r) {
		if (vma_split(mm, old) || vma_split(mm, old + keep))
			r = -ENOMEM;
		int a = vma_find(mm, old), b = a;
		while (!r && b < mm->nvmas && mm->vmas[b].start < old + keep)
			b++;
		if (!r) {
			/* The new VMA's reference, taken before the old ones go. */
			struct vmfile *file = vmfile_get(v.file);
			vmas_remove(mm, a, b);
			r = vma_insert(mm, (struct vma){ newaddr, newaddr + keep, v.prot, v.flags, file, voff });
		}
	}
	/* The grown part: the file's next pages, or fresh memory. */
	if (!r && newlen > keep)
		r = vma_add(d, mm, (struct vma){ newaddr + keep, newaddr + newlen, v.prot, v.flags, vmfile_get(v.file),
						 v.file ? voff + keep : 0 });
	mm_commit(d);
	return r ? r : (long)newaddr;
}

int mm_sync(struct domain *d, gva_t start, gva_t end, bool wait)
{
	struct mm *mm = dom_mm(d);
	uint64_t stamp = pcache_stamp(d);
	int ret = 0;
	for (int i = vma_find(mm, start); i < mm->nvmas && mm->vmas[i].start < end; i++) {
		const struct vma *v = &mm->vmas[i];
		struct pcfile *pc = mm_vma_pcache(d, v);
		if (!pc)
			continue;
		gva_t s = MAX(start, v->start), e = MIN(end, v->end);
		int r = pcache_sync(d, pc, (v->pgoff + (s - v->start)) / PAGE_SIZE, (e - s) / PAGE_SIZE, stamp, wait);
		if (r && !ret)
			ret = r;
	}
	return ret;
}

static uint64_t keep_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	(void)va, (void)size, (void)arg;
	return pte;
}

int mm_mark_cached(struct mm *mm, gva_t start, gva_t end, struct vmfile *file, uint64_t pgoff)
{
	if (start & ~PAGE_MASK || end & ~PAGE_MASK || start >= end)
		return -EINVAL;
	int i = vma_isolate(mm, start, end);
	if (i < 0)
		return i;
	for (; i < mm->nvmas && mm->vmas[i].start < end; i++) {
		struct vma *v = &mm->vmas[i];
		if (!(v->flags & MAP_SHARED))
			return -EINVAL;
		if (!v->file) {
			v->file = vmfile_get(file);
			v->pgoff = pgoff + (v->start - start);
		}
		v->flags |= VMA_CACHED | VMA_MAYWRITE;
	}
	/* A cached page is one 4 KiB frame: 2 MiB leaves become 512. */
	for (gva_t va = start; va < end; va += PAGE_SIZE) {
		uint64_t sz = PAGE_SIZE;
		if ((pt_lookup(&mm->pt, va, &sz) & (PTE_P | PTE_HELD)) && sz == HPAGE_SIZE &&
		    pt_edit(&mm->pt, va, PAGE_SIZE, keep_pte, NULL))
			return -ENOMEM;
	}
	return 0;
}

static uint64_t repoint_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	(void)va, (void)size;
	return (pte & ~PTE_ADDR) | *(gpa_t *)arg;
}

gpa_t mm_leaf_frame(struct mm *mm, gva_t va, gpa_t to)
{
	uint64_t sz = PAGE_SIZE, e = va < USER_MAX ? pt_lookup(&mm->pt, va, &sz) : 0;
	if (!(e & (PTE_P | PTE_HELD)) || sz != PAGE_SIZE || (e & PTE_ADDR) >= mm->frames->size)
		return FRAME_NONE;
	if (to != FRAME_NONE && pt_edit(&mm->pt, va, PAGE_SIZE, repoint_pte, &to))
		return FRAME_NONE;
	return e & PTE_ADDR;
}

void *mm_user_page(struct domain *d, gva_t va, bool write, size_t *avail)
{
	crew_access(d, va, write);      /* a recording's threads: the caller's view gets the page */
	return mm_user_page_in(dom_mm(d), va, write, avail);
}

void *mm_user_page_in(struct mm *mm, gva_t va, bool write, size_t *avail)
{
	if (va >= USER_MAX)
		return NULL;
	uint64_t sz, e = pt_lookup(&mm->pt, va, &sz);
	if (!(e & PTE_P) || !(e & PTE_U) || (write && !(e & PTE_W)))
		return NULL;
	gpa_t base = e & PTE_ADDR & (sz == HPAGE_SIZE ? HPAGE_MASK : PAGE_MASK);
	if (base + sz > mm->frames->size)
		return NULL;    /* never host memory beyond the guest's */
	uint64_t off = va & (sz - 1);
	*avail = sz - off;
	return frames_host(mm->frames, base + off);
}

int mm_poke(struct domain *d, gva_t dst, const void *src, size_t n)
{
	const uint8_t *s = src;
	while (n) {
		if (dst >= USER_MAX)
			return -EFAULT;
		uint64_t sz, e = pt_lookup(&dom_mm(d)->pt, dst, &sz);
		if (!(e & (PTE_P | PTE_HELD)))
			return -EFAULT;
		gpa_t base = e & PTE_ADDR & (sz == HPAGE_SIZE ? HPAGE_MASK : PAGE_MASK);
		uint64_t off = dst & (sz - 1);
		size_t c = MIN(n, sz - off);
		memcpy(frames_host(&d->frames, base + off), s, c);
		frames_touch(&d->frames, base + off, c);
		s += c, dst += c, n -= c;
	}
	return 0;
}

void mm_commit(struct domain *d)
{
	struct pgtable *pt = &dom_mm(d)->pt;
	/* Threads on views of their own drop what changed before the
	 * frames this change let go are freed (pt_publish). */
	gva_t lo, hi;
	pt_edits_take(pt, &lo, &hi);
	crew_commit(d, lo, hi);
	if (pt->root_changed) {
		dom_mm(d)->root_gen = ++d->root_gen;
		dom_tlb_shootdown(d);
		dom_mm(d)->flushes++;
	}
	bool full = pt_publish(pt);
	if (pt->nquar && (!d->trap || !d->trap->needs_pt_quarantine)) {
		pt_release_quarantine(pt);
	} else if (full) {
		if (kvm_resync(&d->vm) == 0) {
			dom_mm(d)->resyncs++;
			pt_release_quarantine(pt);
		}
	}
}
