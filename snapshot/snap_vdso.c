/* snap_vdso.c: section `vdso` — where the vvar page and vDSO are mapped, so that restore can regenerate the time data for the new host. */
#include <errno.h>

#include "vmm/domain.h"
#include "snap_state.h"


int snap_put_vdso(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	(void)err, (void)errlen;
	sb_u64(b, d->vvar_gva);
	return b->oom ? -ENOMEM : 0;
}

int snap_get_vdso(struct sread *r, struct domain *d)
{
	uint64_t gva = sr_range(r, 0, USER_MAX - PAGE_SIZE, "vdso: vvar address outside user space");
	if (!r->bad && (gva & ~PAGE_MASK))
		sr_fail(r, "vdso: vvar address not page-aligned");
	if (r->bad)
		return -1;
	/* The vvar page must be mapped: it is written through the page tables. */
	uint64_t e = gva ? pt_lookup(&dom_mm(d)->pt, gva, NULL) : 0;
	if (gva && !(e & PTE_P)) {
		sr_fail(r, "vdso: the vvar page is not mapped");
		return -1;
	}
	d->vvar_gva = gva;
	dom_mm(d)->vvar_gva = gva;
	d->frames.pinned = e & PTE_ADDR;
	return 0;
}
