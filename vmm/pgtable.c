/* pgtable.c: page tables owned by the VMM; edits to published tables copy the path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pgtable.h"

#define QUARANTINE_MAX 512      /* retired tables before a full resync */
#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U | PTE_A)

static inline unsigned idx(gva_t va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & 0x1ff;
}

static inline uint64_t *tbl(struct pgtable *pt, gpa_t gpa)
{
	/* Also lookups: a table read now is often written next. */
	frames_touch(pt->fr, gpa, PAGE_SIZE);
	return frames_host(pt->fr, gpa);
}

static bool is_pub(struct pgtable *pt, gpa_t gpa)
{
	uint64_t f = gpa / PAGE_SIZE;
	return pt->published[f / 64] & (1ULL << (f % 64));
}

static void set_pub(struct pgtable *pt, gpa_t gpa, bool on)
{
	uint64_t f = gpa / PAGE_SIZE;
	if (on)
		pt->published[f / 64] |= 1ULL << (f % 64);
	else
		pt->published[f / 64] &= ~(1ULL << (f % 64));
}

static int push(void **arr, size_t *n, size_t *cap, size_t elsize)
{
	if (*n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, nc * elsize);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = nc;
	return 0;
}

static gpa_t new_table(struct pgtable *pt)
{
	if (push((void **)&pt->fresh, &pt->nfresh, &pt->capfresh, sizeof(gpa_t)))
		return FRAME_NONE;
	gpa_t t = frames_alloc(pt->fr, false, false);
	if (t != FRAME_NONE)
		pt->fresh[pt->nfresh++] = t;
	return t;
}

/* A table leaves the tree: quarantine it if the guest may have used it. */
static void retire(struct pgtable *pt, gpa_t t)
{
	if (is_pub(pt, t) && !push((void **)&pt->quarantine, &pt->nquar, &pt->capquar, sizeof(gpa_t))) {
		pt->quarantine[pt->nquar++] = t;
		return;
	}
	for (size_t i = 0; i < pt->nfresh; i++) {
		if (pt->fresh[i] == t) {
			pt->fresh[i] = pt->fresh[--pt->nfresh];
			break;
		}
	}
	set_pub(pt, t, false);
	frames_free(pt->fr, t, 1, false);
}

static gpa_t copy_table(struct pgtable *pt, gpa_t old)
{
	gpa_t t = new_table(pt);
	if (t != FRAME_NONE) {
		memcpy(tbl(pt, t), tbl(pt, old), PAGE_SIZE);
		retire(pt, old);
	}
	return t;
}

/* A mutable copy of the table at `level` on va's path (the path above it
 * must exist). Copies published tables from the root down. */
static gpa_t writable_table(struct pgtable *pt, gva_t va, int level)
{
	if (level == 4) {
		if (is_pub(pt, pt->root)) {
			gpa_t r = copy_table(pt, pt->root);
			if (r == FRAME_NONE)
				return FRAME_NONE;
			pt->root = r;
			pt->root_changed = true;
		}
		return pt->root;
	}
	gpa_t parent = writable_table(pt, va, level + 1);
	if (parent == FRAME_NONE)
		return FRAME_NONE;
	uint64_t *pe = &tbl(pt, parent)[idx(va, level + 1)];
	gpa_t child = *pe & PTE_ADDR;
	if (is_pub(pt, child)) {
		gpa_t c = copy_table(pt, child);
		if (c == FRAME_NONE)
			return FRAME_NONE;
		/* parent is unpublished now: editing it in place is safe */
		*pe = c | (*pe & ~PTE_ADDR);
		child = c;
	}
	return child;
}

/* The table at `level` on va's path, or FRAME_NONE if the path is missing. */
static gpa_t walk_to(struct pgtable *pt, gva_t va, int level)
{
	gpa_t t = pt->root;
	for (int l = 4; l > level; l--) {
		uint64_t e = tbl(pt, t)[idx(va, l)];
		if (!(e & PTE_P) || (e & PTE_PS))
			return FRAME_NONE;
		t = e & PTE_ADDR;
	}
	return t;
}

/* Sets an entry; in place when that is invisible-safe, else via a path copy. */
static int set_entry(struct pgtable *pt, gva_t va, int level, uint64_t val)
{
	gpa_t t = walk_to(pt, va, level);
	if (t == FRAME_NONE)
		return -EINVAL;
	uint64_t *e = &tbl(pt, t)[idx(va, level)];
	if (*e == val)
		return 0;
	if (*e != 0 && is_pub(pt, t)) {
		t = writable_table(pt, va, level);
		if (t == FRAME_NONE)
			return -ENOMEM;
		e = &tbl(pt, t)[idx(va, level)];
	}
	*e = val;
	return 0;
}

/* Makes sure the table at `level` exists on va's path; returns it. */
static gpa_t ensure_table(struct pgtable *pt, gva_t va, int level)
{
	gpa_t t = pt->root;
	for (int l = 4; l > level; l--) {
		uint64_t e = tbl(pt, t)[idx(va, l)];
		if (!(e & PTE_P) && !(e & PTE_PS)) {
			gpa_t n = new_table(pt);
			if (n == FRAME_NONE)
				return FRAME_NONE;
			if (set_entry(pt, va, l, n | TABLE_FLAGS))
				return FRAME_NONE;
			/* Added in place under a table vCPUs may be walking right
			 * now: the guest can see it at once, so it is published. */
			if (is_pub(pt, t))
				set_pub(pt, n, true);
			e = n | TABLE_FLAGS;
		} else if (e & PTE_PS) {
			return FRAME_NONE; /* caller splits huge pages first */
		}
		t = e & PTE_ADDR;
	}
	return t;
}

int pt_init(struct pgtable *pt, struct frames *fr)
{
	memset(pt, 0, sizeof(*pt));
	pt->fr = fr;
	pt->edit_lo = UINT64_MAX;
	pt->published = calloc((fr->nframes + 63) / 64, sizeof(uint64_t));
	if (!pt->published)
		return -ENOMEM;
	pt->root = new_table(pt);
	return pt->root == FRAME_NONE ? -ENOMEM : 0;
}

void pt_destroy(struct pgtable *pt)
{
	free(pt->published);
	free(pt->fresh);
	free(pt->quarantine);
	free(pt->pending);
	memset(pt, 0, sizeof(*pt));
}

uint64_t pt_prot_flags(int prot)
{
	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return 0;
	uint64_t f = PTE_P | PTE_U | PTE_A | PTE_D;
	if (prot & PROT_WRITE)
		f |= PTE_W;
	if (!(prot & PROT_EXEC))
		f |= PTE_NX;
	return f;
}

int pt_map(struct pgtable *pt, gva_t va, gpa_t pa, uint64_t len, uint64_t flags, bool huge)
{
	while (len) {
		if (huge && !(va & ~HPAGE_MASK) && !(pa & ~HPAGE_MASK) && len >= HPAGE_SIZE) {
			gpa_t pd = ensure_table(pt, va, 2);
			if (pd == FRAME_NONE)
				return -ENOMEM;
			uint64_t old = tbl(pt, pd)[idx(va, 2)];
			if (set_entry(pt, va, 2, pa | flags | PTE_PS))
				return -ENOMEM;
			if ((old & PTE_P) && !(old & PTE_PS))
				retire(pt, old & PTE_ADDR); /* an empty leaf table */
			va += HPAGE_SIZE, pa += HPAGE_SIZE, len -= HPAGE_SIZE;
			continue;
		}
		if (ensure_table(pt, va, 1) == FRAME_NONE || set_entry(pt, va, 1, pa | flags))
			return -ENOMEM;
		va += PAGE_SIZE, pa += PAGE_SIZE, len -= PAGE_SIZE;
	}
	return 0;
}

uint64_t pt_lookup(struct pgtable *pt, gva_t va, uint64_t *pagesize)
{
	gpa_t t = pt->root;
	for (int l = 4; l >= 1; l--) {
		uint64_t e = tbl(pt, t)[idx(va, l)];
		if (l == 1 || (l == 2 && (e & PTE_PS))) {
			if (pagesize)
				*pagesize = l == 2 ? HPAGE_SIZE : PAGE_SIZE;
			return e;
		}
		if (!(e & PTE_P))
			return 0;
		t = e & PTE_ADDR;
	}
	return 0;
}

/* Replaces a 2 MiB leaf by a table of 512 4 KiB leaves with the same frames. */
static int split_huge(struct pgtable *pt, gva_t va, uint64_t pde)
{
	gpa_t t = new_table(pt);
	if (t == FRAME_NONE)
		return -ENOMEM;
	uint64_t *p = tbl(pt, t);
	uint64_t base = pde & PTE_ADDR & HPAGE_MASK;
	uint64_t fl = pde & ~PTE_ADDR & ~PTE_PS;
	for (int i = 0; i < 512; i++)
		p[i] = (base + i * PAGE_SIZE) | fl;
	return set_entry(pt, va & HPAGE_MASK, 2, t | TABLE_FLAGS);
}

int pt_edit(struct pgtable *pt, gva_t va, uint64_t len, pt_edit_fn fn, void *arg)
{
	gva_t end = va + len;
	pt->edit_lo = MIN(pt->edit_lo, va);
	pt->edit_hi = MAX(pt->edit_hi, end);
	while (va < end) {
		gpa_t pd = walk_to(pt, va, 2);
		if (pd == FRAME_NONE) {
			va = (va + (1ULL << 30)) & ~((1ULL << 30) - 1);
			continue;
		}
		uint64_t pde = tbl(pt, pd)[idx(va, 2)];
		gva_t hend = (va & HPAGE_MASK) + HPAGE_SIZE;
		if (!(pde & (PTE_P | PTE_HELD))) {
			va = hend;
			continue;
		}
		if (pde & PTE_PS) {
			if (!(va & ~HPAGE_MASK) && end >= hend) {
				uint64_t n = fn(pde, va, HPAGE_SIZE, arg);
				if (n != pde && set_entry(pt, va, 2, n))
					return -ENOMEM;
				va = hend;
				continue;
			}
			if (split_huge(pt, va, pde))
				return -ENOMEM;
			continue;
		}
		gpa_t ptab = pde & PTE_ADDR;
		for (; va < end && va < hend; va += PAGE_SIZE) {
			uint64_t e = tbl(pt, ptab)[idx(va, 1)];
			if (!e)
				continue;
			uint64_t n = fn(e, va, PAGE_SIZE, arg);
			if (n != e) {
				if (set_entry(pt, va, 1, n))
					return -ENOMEM;
				ptab = walk_to(pt, va, 1); /* may have been copied */
			}
		}
	}
	return 0;
}

int pt_defer_free(struct pgtable *pt, gpa_t gpa, uint64_t n)
{
	if (push((void **)&pt->pending, &pt->npending, &pt->cappending, sizeof(*pt->pending)))
		return -ENOMEM;
	pt->pending[pt->npending].gpa = gpa;
	pt->pending[pt->npending].n = n;
	pt->npending++;
	return 0;
}

bool pt_publish(struct pgtable *pt)
{
	for (size_t i = 0; i < pt->nfresh; i++)
		set_pub(pt, pt->fresh[i], true);
	pt->nfresh = 0;
	for (size_t i = 0; i < pt->npending; i++)
		frames_free(pt->fr, pt->pending[i].gpa, pt->pending[i].n, true);
	pt->npending = 0;
	pt->root_changed = false;
	return pt->nquar >= QUARANTINE_MAX;
}

void pt_release_quarantine(struct pgtable *pt)
{
	for (size_t i = 0; i < pt->nquar; i++) {
		set_pub(pt, pt->quarantine[i], false);
		frames_free(pt->fr, pt->quarantine[i], 1, false);
	}
	pt->nquar = 0;
}

bool pt_hole_2m(struct pgtable *pt, gva_t va)
{
	gpa_t pd = walk_to(pt, va, 2);
	if (pd == FRAME_NONE)
		return true;
	uint64_t e = tbl(pt, pd)[idx(va, 2)];
	if (!e)
		return true;
	if (e & PTE_PS)
		return false;
	const uint64_t *p = tbl(pt, e & PTE_ADDR);
	for (int i = 0; i < 512; i++)
		if (p[i])
			return false;
	return true;
}

/* Frees the tables under t (and t) and, below user_end, the data frames. */
static void teardown(struct pgtable *pt, gpa_t t, int level, gva_t base, gva_t user_end)
{
	uint64_t *e = frames_host(pt->fr, t);
	uint64_t span = 1ULL << (12 + 9 * (level - 1));
	for (int i = 0; i < 512; i++) {
		uint64_t v = e[i];
		gva_t va = base + (uint64_t)i * span;
		if (level == 4 && i >= 256)
			va |= 0xffff000000000000ULL; /* canonical upper half */
		if (!(v & (PTE_P | PTE_HELD)))
			continue;
		bool leaf = level == 1 || (level == 2 && (v & PTE_PS));
		if (!leaf) {
			teardown(pt, v & PTE_ADDR, level - 1, va, user_end);
			continue;
		}
		if (va < user_end)
			frames_free(pt->fr, v & PTE_ADDR & (level == 2 ? HPAGE_MASK : PAGE_MASK),
				    level == 2 ? 512 : 1, true);
	}
	frames_free(pt->fr, t, 1, false);
}

void pt_teardown(struct pgtable *pt, gva_t user_end)
{
	if (pt->root && pt->root != FRAME_NONE)
		teardown(pt, pt->root, 4, 0, user_end);
	for (size_t i = 0; i < pt->nquar; i++)
		frames_free(pt->fr, pt->quarantine[i], 1, false);
	for (size_t i = 0; i < pt->npending; i++)
		frames_free(pt->fr, pt->pending[i].gpa, pt->pending[i].n, true);
	pt_destroy(pt);
}

void pt_edits_take(struct pgtable *pt, gva_t *lo, gva_t *hi)
{
	*lo = pt->edit_lo;
	*hi = pt->edit_hi;
	pt->edit_lo = UINT64_MAX;
	pt->edit_hi = 0;
}

void pt_share_kernel(struct pgtable *view, struct pgtable *pt)
{
	memcpy(tbl(view, view->root) + 256, tbl(pt, pt->root) + 256, 256 * sizeof(uint64_t));
}

/* Retires the user half's tables under t (a table at `level`). */
static void retire_user(struct pgtable *pt, gpa_t t, int level)
{
	uint64_t *e = tbl(pt, t);
	int n = level == 4 ? 256 : 512;
	for (int i = 0; level > 1 && i < n; i++) {
		if (!(e[i] & PTE_P) || (level == 2 && (e[i] & PTE_PS)))
			continue;
		retire_user(pt, e[i] & PTE_ADDR, level - 1);
	}
	retire(pt, t);
}

void pt_view_reset(struct pgtable *view, struct pgtable *pt)
{
	gpa_t old = view->root;
	gpa_t r = new_table(view);
	if (r == FRAME_NONE)
		return;   /* no memory: the old view stays (its owner's faults say so) */
	retire_user(view, old, 4);
	view->root = r;
	pt_share_kernel(view, pt);
	view->root_changed = true;
}

void pt_view_retire(struct pgtable *view, struct pgtable *pt)
{
	retire_user(view, view->root, 4);
	for (size_t i = 0; i < view->nquar; i++) {
		if (push((void **)&pt->quarantine, &pt->nquar, &pt->capquar, sizeof(gpa_t)))
			frames_free(pt->fr, view->quarantine[i], 1, false); /* as lost: no memory */
		else
			pt->quarantine[pt->nquar++] = view->quarantine[i];
	}
	pt_destroy(view);
}
