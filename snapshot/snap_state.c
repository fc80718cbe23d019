/* snap_state.c: the domain-wide and memory-map sections — config, ids, clocks, signal state, VMAs, frames, page tables. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/domain.h"
#include "snap_state.h"
#include "vmm/syscall.h"
#include "vmm/trap.h"

#define MAX_STR         4096
#define MAX_LIST        4096
#define MAX_VMAS        (1 << 20)
#define DOM_MAP_ROOT    1ULL       /* domain flags (version 5): cred.map_root */

/* ---- config ---- */

static void put_list(struct sbuf *b, char **v)
{
	uint32_t n = 0;
	while (v && v[n])
		n++;
	sb_u32(b, n);
	for (uint32_t i = 0; i < n; i++)
		sb_str(b, v[i]);
}

static char **get_list(struct sread *r)
{
	uint32_t n = sr_u32(r);
	if (n > MAX_LIST) {
		sr_fail(r, "list too long");
		return NULL;
	}
	char **v = calloc((size_t)n + 1, sizeof(*v));
	if (!v) {
		sr_fail(r, "out of memory");
		return NULL;
	}
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		v[i] = sr_str(r, MAX_STR);
		if (!v[i])
			sr_fail(r, "list holds a missing string");
	}
	return v;
}

/* ---- what every process's record holds, the first one's (section `domain`) too ---- */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
/* Version 1 of `domain` and `procs` wrote exactly these many, uncounted. */
#define V1_SIGACTIONS 64
#define V1_RLIMITS    16

void snap_put_proc_core(struct sbuf *b, const struct process *p)
{
	sb_u64(b, ARRAY_LEN(p->sigactions));
	for (size_t i = 0; i < ARRAY_LEN(p->sigactions); i++) {
		sb_u64(b, p->sigactions[i].handler);
		sb_u64(b, p->sigactions[i].flags);
		sb_u64(b, p->sigactions[i].restorer);
		sb_u64(b, p->sigactions[i].mask);
	}
	sb_u64(b, ARRAY_LEN(p->rlimits));
	for (size_t i = 0; i < ARRAY_LEN(p->rlimits); i++) {
		sb_u64(b, p->rlimits[i].cur);
		sb_u64(b, p->rlimits[i].max);
	}
	sb_u64(b, (uint64_t)p->dumpable);
	sb_u8(b, p->no_new_privs);
	sb_u32(b, p->personality);
}

void snap_get_proc_core(struct sread *r, struct process *p, uint32_t version)
{
	_Static_assert(ARRAY_LEN(p->sigactions) >= V1_SIGACTIONS && ARRAY_LEN(p->rlimits) >= V1_RLIMITS,
		       "a format-1 record fits");
	/* Counted since version 2: a writer with fewer entries leaves the
	 * rest at their defaults; one with more is refused. */
	uint32_t na = version < 2 ? V1_SIGACTIONS :
		(uint32_t)sr_range(r, 0, ARRAY_LEN(p->sigactions), "too many signal handlers");
	for (uint32_t i = 0; i < na && !r->bad; i++) {
		p->sigactions[i].handler = sr_u64(r);
		p->sigactions[i].flags = sr_u64(r);
		p->sigactions[i].restorer = sr_u64(r);
		p->sigactions[i].mask = sr_u64(r);
	}
	uint32_t nl = version < 2 ? V1_RLIMITS :
		(uint32_t)sr_range(r, 0, ARRAY_LEN(p->rlimits), "too many resource limits");
	for (uint32_t i = 0; i < nl && !r->bad; i++) {
		p->rlimits[i].cur = sr_u64(r);
		p->rlimits[i].max = sr_u64(r);
	}
	if (version < 2)
		return; /* dumpable, no_new_privs, personality: proc_new's defaults */
	p->dumpable = (int)sr_range(r, 0, 2, "dumpable out of range");
	uint8_t nnp = sr_u8(r);
	if (nnp > 1)
		sr_fail(r, "no_new_privs is not 0 or 1");
	p->no_new_privs = nnp;
	p->personality = sr_u32(r);
}

#define REPORTED_WORDS (sizeof(((struct domain *)0)->syscalls_reported) / sizeof(uint64_t))

int snap_put_domain(struct domain *d, struct sbuf *b)
{
	const struct domain_spec *c = d->spec;
	sb_str(b, c->name);
	sb_str(b, c->program);
	put_list(b, c->argv);
	put_list(b, c->envp);
	sb_str(b, c->cwd);
	sb_str(b, c->root);
	put_list(b, c->writable);
	sb_u64(b, c->memory);
	sb_str(b, c->log);

	sb_u64(b, (uint64_t)d->pid);
	sb_u64(b, (uint64_t)d->next_tid);
	sb_u64(b, guest_mono_ns(d));
	snap_put_proc_core(b, proc_cur(d));
	sb_u64(b, REPORTED_WORDS);
	for (size_t i = 0; i < REPORTED_WORDS; i++)
		sb_u64(b, d->syscalls_reported[i]);
	sb_u64(b, d->ntraps);
	sb_str(b, d->hostname);         /* version 3 */
	sb_u64(b, d->pids_max);         /* version 4 */
	sb_u64(b, d->cred.map_root ? DOM_MAP_ROOT : 0); /* version 5: the guest's view */
	return b->oom ? -ENOMEM : 0;
}

int snap_get_spec(struct sread *r, struct domain_spec *c)
{
	memset(c, 0, sizeof(*c));
	c->name = sr_str(r, 255);
	c->program = sr_str(r, MAX_STR);
	c->argv = get_list(r);
	c->envp = get_list(r);
	c->cwd = sr_str(r, MAX_STR);
	c->root = sr_str(r, MAX_STR);
	c->writable = get_list(r);
	c->memory = sr_range(r, 16ULL << 20, 64ULL << 30, "memory size out of range");
	c->log = sr_str(r, MAX_STR);
	if (!r->bad && (!c->name || !c->program || !c->root || !c->argv || !c->argv[0]))
		sr_fail(r, "config lacks name, program, root or argv");
	char why[160];
	if (!r->bad && spec_check_name(c->name, why, sizeof(why)))
		sr_fail(r, "the domain name is not a valid name");
	if (!r->bad && c->memory % 4096)
		sr_fail(r, "memory size not page aligned");
	return r->bad ? -1 : 0;
}

/* After snap_get_spec on the same reader. */
int snap_get_domain(struct sread *r, struct domain *d, uint32_t version)
{
	d->pid = (int)sr_range(r, 1, 0x3fffffff, "pid out of range");
	if (d->init)
		d->init->pid = d->init->pgid = d->init->sid = d->fg_pgid = d->pid;
	d->next_tid = (int)sr_range(r, 1, 0x3fffffff, "next tid out of range");
	uint64_t mono = sr_u64(r);
	snap_get_proc_core(r, proc_cur(d), version);
	/* Version 1: eight words, uncounted. */
	uint32_t nw = version < 2 ? 8 : (uint32_t)sr_range(r, 0, REPORTED_WORDS, "too many reported-syscall words");
	for (uint32_t i = 0; i < nw && !r->bad; i++)
		d->syscalls_reported[i] = sr_u64(r);
	d->ntraps = sr_u64(r);
	if (version >= 3) {
		char *h = sr_str(r, SPEC_HOSTNAME_MAX);
		char why[160];
		if (!r->bad && h && *h && spec_check_hostname(h, why, sizeof(why)))
			sr_fail(r, "the host name is not a valid name");
		if (!r->bad && h)
			snprintf(d->hostname, sizeof(d->hostname), "%s", h);
		free(h);
	}
	if (version >= 4)
		d->pids_max = (uint32_t)sr_range(r, 0, UINT32_MAX, "pids limit out of range");
	/* The ids the guest has seen go on as it saw them, whatever the
	 * restoring operator's config says: a view, which grants nothing. */
	if (version >= 5)
		d->cred.map_root = sr_range(r, 0, DOM_MAP_ROOT, "unknown domain flags") & DOM_MAP_ROOT;
	if (!r->bad && r->pos != r->len)
		sr_fail(r, "domain section has trailing bytes");
	if (r->bad)
		return -1;
	/* CLOCK_MONOTONIC goes on from where it stopped: no jump over the time
	 * the domain spent in the image. */
	d->mono_offset_ns = 0;
	d->mono_offset_ns = (int64_t)(mono - guest_mono_ns(d));
	return 0;
}

/* ---- memory map, frames, page tables ---- */

static void put_bitmap(struct sbuf *b, const uint64_t *m, uint64_t nframes)
{
	sb_put(b, m, (nframes + 63) / 64 * 8);
}

static void put_frames(struct sbuf *b, const gpa_t *v, size_t n)
{
	sb_u64(b, n);
	for (size_t i = 0; i < n; i++)
		sb_u64(b, v[i]);
}

int snap_put_mm(struct domain *d, struct sbuf *b)
{
	struct mm *mm = dom_mm(d);
	struct frames *f = mm->frames;
	sb_u64(b, f->size);
	sb_u64(b, f->data_limit);
	sb_u64(b, f->data_used);
	sb_u64(b, f->hint);
	put_bitmap(b, f->used, f->nframes);
	snap_put_mm_map(b, mm);
	return b->oom ? -ENOMEM : 0;
}

/* The files mapped (mm 2, procs 4): a table of each distinct record —
 * guest path, device, inode, whether it was deleted — that VMAs name by
 * index (0: anonymous) with their offset, so that mappings of one file
 * are one record again after a restore. */
#define VMFILE_GONE 1u

struct vmref {
	struct vmfile *f;
	int vma;
};

static int vmref_cmp(const void *a, const void *b)
{
	const struct vmref *x = a, *y = b;
	if (x->f != y->f)
		return (uintptr_t)x->f < (uintptr_t)y->f ? -1 : 1;
	return x->vma - y->vma;
}

static void put_vmas(struct sbuf *b, struct mm *mm)
{
	/* Sorted by record: each distinct one gets the next index. */
	struct vmref *refs = calloc((size_t)mm->nvmas + 1, sizeof(*refs));
	uint32_t *idx = calloc((size_t)mm->nvmas + 1, sizeof(*idx));
	int n = 0;
	if (!refs || !idx) {
		b->oom = true;
		free(refs);
		free(idx);
		return;
	}
	for (int i = 0; i < mm->nvmas; i++)
		if (mm->vmas[i].file)
			refs[n++] = (struct vmref){ mm->vmas[i].file, i };
	qsort(refs, (size_t)n, sizeof(*refs), vmref_cmp);
	uint32_t nfiles = 0;
	for (int k = 0; k < n; k++) {
		if (!k || refs[k].f != refs[k - 1].f)
			nfiles++;
		idx[refs[k].vma] = nfiles;
	}
	sb_u32(b, nfiles);
	for (int k = 0; k < n; k++) {
		if (k && refs[k].f == refs[k - 1].f)
			continue;
		sb_str(b, refs[k].f->path);
		sb_u64(b, refs[k].f->dev);
		sb_u64(b, refs[k].f->ino);
		sb_u32(b, atomic_load(&refs[k].f->gone) ? VMFILE_GONE : 0);
	}
	sb_u32(b, (uint32_t)mm->nvmas);
	for (int i = 0; i < mm->nvmas; i++) {
		sb_u64(b, mm->vmas[i].start);
		sb_u64(b, mm->vmas[i].end);
		sb_u32(b, (uint32_t)mm->vmas[i].prot);
		sb_u32(b, (uint32_t)mm->vmas[i].flags);
		sb_u32(b, idx[i]);
		sb_u64(b, mm->vmas[i].pgoff);
	}
	free(refs);
	free(idx);
}

void snap_put_mm_map(struct sbuf *b, struct mm *mm)
{
	struct frames *f = mm->frames;
	struct pgtable *pt = &mm->pt;
	sb_u64(b, pt->root);
	put_bitmap(b, pt->published, f->nframes);
	put_frames(b, pt->fresh, pt->nfresh);
	put_frames(b, pt->quarantine, pt->nquar);
	sb_u64(b, pt->npending);
	for (size_t i = 0; i < pt->npending; i++) {
		sb_u64(b, pt->pending[i].gpa);
		sb_u64(b, pt->pending[i].n);
	}
	put_vmas(b, mm);
	sb_u64(b, mm->brk_start);
	sb_u64(b, mm->brk_cur);
	sb_u64(b, mm->brk_end);
	sb_u64(b, mm->mmap_base);
	sb_u64(b, mm->stack_top);
	sb_u64(b, mm->root_gen);
	sb_u64(b, mm->flushes);
	sb_u64(b, mm->resyncs);
}

static void put_vmfiles(struct vmfile **tab, uint32_t n)
{
	for (uint32_t k = 0; tab && k < n; k++)
		vmfile_put(tab[k]);
	free(tab);
}

/* The table put_vmas wrote. A file still at its path in the domain's root
 * is named by what it is now (a restore on another host finds other device
 * and inode numbers, as a container's would); one that is not is deleted.
 * 0, or -1 with r->bad. */
static int get_vmfiles(struct sread *r, struct domain *d, struct vmfile ***tabp, uint32_t *np)
{
	uint32_t n = sr_u32(r);
	if (n > MAX_VMAS)
		sr_fail(r, "too many mapped files");
	struct vmfile **tab = r->bad ? NULL : calloc(n ? n : 1, sizeof(*tab));
	if (!tab) {
		if (!r->bad)
			sr_fail(r, "out of memory");
		return -1;
	}
	struct files *fs = d->init ? d->init->files : NULL;
	for (uint32_t k = 0; k < n && !r->bad; k++) {
		char *path = sr_str(r, PATH_MAX - 1);
		uint64_t dev = sr_u64(r), ino = sr_u64(r);
		uint32_t fl = sr_u32(r);
		if (!r->bad && (!path || path[0] != '/' || (fl & ~VMFILE_GONE)))
			sr_fail(r, "a mapped file's record is malformed");
		if (!r->bad) {
			tab[k] = vmfile_new(path, dev, ino, fl & VMFILE_GONE);
			if (!tab[k])
				sr_fail(r, "out of memory");
			else if (!(fl & VMFILE_GONE) && fs)
				vmfile_rebind(tab[k], fs);
		}
		free(path);
	}
	*tabp = tab;
	*np = n;
	if (r->bad) {
		put_vmfiles(tab, n);
		return -1;
	}
	return 0;
}

static bool used(const struct frames *f, uint64_t fr)
{
	return fr < f->nframes && (f->used[fr / 64] & (1ULL << (fr % 64)));
}

static gpa_t *get_frames(struct sread *r, const struct frames *f, size_t *n, size_t *cap)
{
	uint64_t k = sr_range(r, 0, f->nframes, "frame list too long");
	gpa_t *v = calloc(k ? k : 1, sizeof(*v));
	if (!v) {
		sr_fail(r, "out of memory");
		return NULL;
	}
	for (uint64_t i = 0; i < k && !r->bad; i++) {
		v[i] = sr_u64(r);
		if (v[i] % 4096 || !used(f, v[i] / 4096))
			sr_fail(r, "page-table frame list names a frame not in use");
	}
	*n = *cap = k;
	return v;
}

/* Loads the map over the fresh mm of a new domain (its memory already
 * holds the image's frames). */
int snap_get_mm(struct sread *r, struct domain *d, uint32_t version)
{
	struct mm *mm = dom_mm(d);
	struct frames *f = mm->frames;
	size_t words = (f->nframes + 63) / 64;
	if (sr_u64(r) != f->size)
		sr_fail(r, "guest memory size does not match the config");
	f->data_limit = sr_range(r, 0, f->nframes, "data limit out of range");
	f->data_used = sr_range(r, 0, f->data_limit, "data frames out of range");
	f->hint = sr_range(r, 0, f->nframes - 1, "allocator hint out of range");
	sr_get(r, f->used, words * 8);
	if (r->bad)
		return -1;
	if (f->nframes % 64)
		f->used[words - 1] &= (1ULL << (f->nframes % 64)) - 1;
	/* 512 frames per block: eight bitmap words (time-to-running of a lazy
	 * restore must not grow with memory size more than it has to). */
	for (uint64_t b = 0; b < f->nframes / 512; b++) {
		unsigned n = 0;
		for (int k = 0; k < 8; k++)
			n += (unsigned)__builtin_popcountll(f->used[b * 8 + (uint64_t)k]);
		f->block_used[b] = (uint16_t)n;
	}
	if (snap_get_mm_map(r, d, mm, version >= 2))
		return -1;
	if (!r->bad && r->pos != r->len)
		sr_fail(r, "mm section has trailing bytes");
	return r->bad ? -1 : 0;
}

int snap_get_mm_map(struct sread *r, struct domain *d, struct mm *mm, bool with_files)
{
	struct frames *f = mm->frames;
	struct pgtable *pt = &mm->pt;
	size_t words = (f->nframes + 63) / 64;
	pt->root = sr_u64(r);
	if (pt->root % 4096 || !used(f, pt->root / 4096))
		sr_fail(r, "page-table root is not a frame in use");
	sr_get(r, pt->published, words * 8);
	for (size_t i = 0; i < words && !r->bad; i++)
		if (pt->published[i] & ~f->used[i])
			sr_fail(r, "a published page table is not a frame in use");
	free(pt->fresh);
	free(pt->quarantine);
	free(pt->pending);
	pt->pending = NULL;
	pt->npending = pt->cappending = 0;
	pt->fresh = get_frames(r, f, &pt->nfresh, &pt->capfresh);
	pt->quarantine = get_frames(r, f, &pt->nquar, &pt->capquar);
	uint64_t np = sr_range(r, 0, f->nframes, "pending list too long");
	if (!r->bad && np) {
		pt->pending = calloc(np, sizeof(*pt->pending));
		if (!pt->pending)
			sr_fail(r, "out of memory");
		pt->npending = pt->cappending = pt->pending ? np : 0;
	}
	for (uint64_t i = 0; i < pt->npending && !r->bad; i++) {
		pt->pending[i].gpa = sr_u64(r);
		pt->pending[i].n = sr_u64(r);
		uint64_t fr = pt->pending[i].gpa / 4096;
		if (pt->pending[i].gpa % 4096 || pt->pending[i].n == 0 || pt->pending[i].n > 512 ||
		    !used(f, fr) || !used(f, fr + pt->pending[i].n - 1))
			sr_fail(r, "pending frame run out of range");
	}
	struct vmfile **tab = NULL;
	uint32_t nf = 0;
	if (with_files && get_vmfiles(r, d, &tab, &nf))
		return -1;
	uint32_t nv = sr_u32(r);
	if (nv > MAX_VMAS)
		sr_fail(r, "too many memory areas");
	struct vma *v = r->bad ? NULL : calloc(nv ? nv : 1, sizeof(*v));
	if (!v) {
		if (!r->bad)
			sr_fail(r, "out of memory");
		put_vmfiles(tab, nf);
		return -1;
	}
	for (int i = 0; i < mm->nvmas; i++)
		vmfile_put(mm->vmas[i].file);
	free(mm->vmas);
	mm->vmas = v;
	mm->nvmas = (int)nv;
	mm->cap = (int)(nv ? nv : 1);
	gva_t prev = USER_MIN;
	for (uint32_t i = 0; i < nv && !r->bad; i++) {
		v[i].start = sr_u64(r);
		v[i].end = sr_u64(r);
		v[i].prot = (int)sr_u32(r);
		v[i].flags = (int)sr_u32(r);
		if (v[i].start % 4096 || v[i].end % 4096 || v[i].start < prev || v[i].end <= v[i].start ||
		    v[i].end > USER_MAX || (v[i].prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)))
			sr_fail(r, "memory area out of order, misaligned or out of range");
		prev = v[i].end;
		if (!with_files)
			continue;
		uint32_t k = sr_u32(r);
		if (k > nf)
			sr_fail(r, "memory area names a file not in the table");
		v[i].pgoff = sr_u64(r);
		if (v[i].pgoff % 4096 || (!k && v[i].pgoff) || v[i].pgoff > UINT64_MAX - (v[i].end - v[i].start))
			sr_fail(r, "memory area's file offset misaligned or out of range");
		if (!r->bad && k)
			v[i].file = vmfile_get(tab[k - 1]);
	}
	put_vmfiles(tab, nf);
	mm->brk_start = sr_u64(r);
	mm->brk_cur = sr_u64(r);
	mm->brk_end = sr_u64(r);
	mm->mmap_base = sr_u64(r);
	mm->stack_top = sr_u64(r);
	if (mm->brk_start > mm->brk_cur || mm->brk_end > USER_MAX || mm->brk_cur > USER_MAX ||
	    mm->mmap_base > USER_MAX || mm->stack_top > USER_MAX || mm->brk_end % 4096)
		sr_fail(r, "heap or stack bounds out of range");
	mm->root_gen = sr_u64(r);
	/* Generations are domain-wide: never hand this one out again. */
	if (mm->root_gen > d->root_gen)
		d->root_gen = mm->root_gen;
	mm->flushes = sr_u64(r);
	mm->resyncs = sr_u64(r);
	return r->bad ? -1 : 0;
}

/* What the check of an image's page tables learns in its first walk. */
struct pt_walk {
	struct domain *d;
	int budget;             /* bounds the walk on a hostile image with cycles */
	uint64_t *tables;       /* bitmap of page-table frames */
	uint64_t *kernel;       /* bitmap of frames mapped in the kernel area */
	const char *why;
};

static void mark(uint64_t *map, uint64_t from, uint64_t n)
{
	for (uint64_t i = from; i < from + n; i++)
		map[i / 64] |= 1ULL << (i % 64);
}

static bool any_marked(const uint64_t *map, uint64_t from, uint64_t n)
{
	for (uint64_t i = from; i < from + n; i++)
		if (map[i / 64] & (1ULL << (i % 64)))
			return true;
	return false;
}

/* Pass 1 (users == false): every table frame is a frame in use, every leaf
 * inside memory, no 1 GiB pages, no kernel-area page open to user mode;
 * table and kernel frames are marked. Pass 2 (users == true): no user leaf
 * maps a table or kernel frame — the guest could rewrite its own page
 * tables or the trap stub through it. va is the first address t maps. */
static int walk_table(struct pt_walk *w, gpa_t t, int level, gva_t va, bool users)
{
	static const char outside[] = "page tables point outside guest memory or at frames not in use";
	struct frames *f = &w->d->frames;
	if (t % 4096 || t + 4096 > f->size || !used(f, t / 4096) || --w->budget < 0) {
		w->why = outside;
		return -1;
	}
	if (!users)
		mark(w->tables, t / 4096, 1);
	const uint64_t *e = frames_host(f, t);
	uint64_t span = 1ULL << (12 + 9 * (level - 1));
	for (int i = 0; i < 512; i++) {
		if (!(e[i] & (PTE_P | PTE_HELD)))
			continue;
		gpa_t a = e[i] & PTE_ADDR;
		gva_t v = va + (uint64_t)i * span;
		if (level == 4 && i >= 256)
			v |= 0xffff000000000000ULL;     /* canonical upper half */
		bool leaf = level == 1 || (level == 2 && (e[i] & PTE_PS));
		if (level == 3 && (e[i] & PTE_PS)) {
			w->why = "page tables hold a 1 GiB page (pdvm never makes one)";
			return -1;
		}
		if (!leaf) {
			if (walk_table(w, a, level - 1, v, users))
				return -1;
			continue;
		}
		uint64_t sz = level == 2 ? HPAGE_SIZE : PAGE_SIZE;
		if (a % sz || a + sz > f->size) {
			w->why = outside;
			return -1;
		}
		bool kernel = v >= KERN_BASE;
		if (!users && kernel) {
			/* Open to user mode there: only the exitless entry pages
			 * and slots (vmm/exl.h), with exactly their rights. */
			if ((e[i] & PTE_U) && (sz != PAGE_SIZE || !exl_image_pte_ok(v, e[i]))) {
				w->why = "the kernel area is mapped for user mode";
				return -1;
			}
			mark(w->kernel, a / 4096, sz / 4096);
		}
		if (users && !kernel && (e[i] & PTE_U) &&
		    (any_marked(w->tables, a / 4096, sz / 4096) || any_marked(w->kernel, a / 4096, sz / 4096))) {
			w->why = "a user page maps a page-table or kernel-area frame";
			return -1;
		}
	}
	return 0;
}

int snap_vmm_frames(struct domain *d, uint64_t *map)
{
	/* The tables' and the kernel area's frames, marked by the check's
	 * first pass over every process's tables. */
	struct pt_walk w = { .d = d, .tables = map, .kernel = map };
	for (int i = 0; i < MAX_PROCS; i++) {
		struct process *p = d->procs[i];
		w.budget = (int)MIN(d->frames.nframes * 4, (uint64_t)1 << 30);
		if (p && p->mm && walk_table(&w, p->mm->pt.root, 4, 0, false))
			return -1;
	}
	return 0;
}

int snap_check_pgtables(struct domain *d, const char **why)
{
	return snap_check_mm_tables(d, dom_mm(d), why);
}

int snap_check_mm_tables(struct domain *d, struct mm *mm, const char **why)
{
	/* Shared tables are allowed (path copies share subtrees). */
	uint64_t words = (d->frames.nframes + 63) / 64;
	struct pt_walk w = { .d = d, .tables = calloc(words, 8), .kernel = calloc(words, 8) };
	int r = -1;
	if (!w.tables || !w.kernel) {
		w.why = "out of memory checking the page tables";
	} else {
		int budget = (int)MIN(d->frames.nframes * 4, (uint64_t)1 << 30);
		w.budget = budget;
		if (!walk_table(&w, mm->pt.root, 4, 0, false)) {
			w.budget = budget;
			r = walk_table(&w, mm->pt.root, 4, 0, true);
		}
	}
	free(w.tables);
	free(w.kernel);
	if (r)
		*why = w.why;
	return r;
}
