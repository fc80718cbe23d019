/* pgtable.h: VMM-owned x86-64 4-level page tables with copy-on-write paths. */
#ifndef PDVM_PGTABLE_H
#define PDVM_PGTABLE_H

#include "types.h"
#include "frames.h"

#define PTE_P     (1ULL << 0)
#define PTE_W     (1ULL << 1)
#define PTE_U     (1ULL << 2)
#define PTE_A     (1ULL << 5)
#define PTE_D     (1ULL << 6)
#define PTE_PS    (1ULL << 7)
#define PTE_HELD  (1ULL << 9)   /* software: frame kept while PROT_NONE */
#define PTE_NX    (1ULL << 63)
#define PTE_ADDR  0x000ffffffffff000ULL

/*
 * KVM on these hosts shadows a page-table frame once the guest has used it
 * and never notices later edits to it (DESIGN.md fact 6). So a table frame
 * reachable from a root that a vCPU has loaded ("published") is immutable:
 * changing a present entry copies the table and every table above it to
 * fresh frames (a path copy) and yields a new root. Filling an empty entry
 * is safe in place. Retired tables are quarantined until a full resync.
 */
struct pgtable {
	struct frames *fr;
	gpa_t root;
	uint64_t *published;    /* bitmap over frames */
	gpa_t *fresh;           /* tables created since the last publish */
	size_t nfresh, capfresh;
	gpa_t *quarantine;      /* retired published tables */
	size_t nquar, capquar;
	struct { gpa_t gpa; uint64_t n; } *pending;  /* data frames to free after shootdown */
	size_t npending, cappending;
	bool root_changed;
	/* The range pt_edit changed since pt_edits_take (empty: lo >= hi):
	 * what threads' views must drop (vmm/crew.c). */
	gva_t edit_lo, edit_hi;
};

int pt_init(struct pgtable *pt, struct frames *fr);
void pt_destroy(struct pgtable *pt);

/* Leaf flags for a PROT_* combination (user page). 0 for PROT_NONE. */
uint64_t pt_prot_flags(int prot);

/* Maps [va, va+len) to [pa, pa+len) with leaf flags; uses a 2 MiB page where
 * va, pa and the remaining length allow and `huge` is set. The range must be
 * unmapped. Returns 0 or -ENOMEM. */
int pt_map(struct pgtable *pt, gva_t va, gpa_t pa, uint64_t len, uint64_t flags, bool huge);

/* Looks up va. Returns the leaf entry (0 if none) and the page size. */
uint64_t pt_lookup(struct pgtable *pt, gva_t va, uint64_t *pagesize);

/* Changes every leaf in [va, va+len) with fn (splitting 2 MiB pages at the
 * range edges). fn gets the leaf value and returns the new one; returning 0
 * removes the mapping. Returns 0 or -ENOMEM. */
typedef uint64_t (*pt_edit_fn)(uint64_t pte, gva_t va, uint64_t size, void *arg);
int pt_edit(struct pgtable *pt, gva_t va, uint64_t len, pt_edit_fn fn, void *arg);

/* The range edited since the last call, [*lo, *hi) (empty: *lo >= *hi),
 * and starts a new one. */
void pt_edits_take(struct pgtable *pt, gva_t *lo, gva_t *hi);

/* Data frames to free once no vCPU can reach them any more. */
int pt_defer_free(struct pgtable *pt, gpa_t gpa, uint64_t n);

/* After the shootdown: marks the new tables published and frees deferred
 * data frames. Returns true if the quarantine wants a full resync; call
 * pt_release_quarantine after doing it. */
bool pt_publish(struct pgtable *pt);
void pt_release_quarantine(struct pgtable *pt);

/* Frees every table, the quarantine, and the data frames mapped below
 * user_end (the kernel area's frames are shared and stay). The caller has
 * made sure no vCPU can use these tables (resync), then pt_destroy. */
void pt_teardown(struct pgtable *pt, gva_t user_end);

/* True if nothing at all is mapped or held in the 2 MiB region of va. */
bool pt_hole_2m(struct pgtable *pt, gva_t va);

/* Views (vmm/crew.c): tables of their own for the user half, the kernel
 * half's shared with the address space's pt. A view maps no data frame of
 * its own: resetting or retiring one frees only tables (retired ones into
 * pt's quarantine, which a full resync releases). */
void pt_share_kernel(struct pgtable *view, struct pgtable *pt);
void pt_view_reset(struct pgtable *view, struct pgtable *pt);
void pt_view_retire(struct pgtable *view, struct pgtable *pt);

#endif
