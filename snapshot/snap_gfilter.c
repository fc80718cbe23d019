/* snap_gfilter.c: section `gfilter` — the operator's seccomp profile over the guest's calls (vmm/gfilter.h), so a restored domain is held to the same profile wherever it lands. */
#include <stdlib.h>

#include "vmm/domain.h"
#include "vmm/gfilter.h"
#include "snap_state.h"

bool snap_has_gfilter(struct domain *d)
{
	return d->gfilter != NULL;
}

int snap_put_gfilter(struct domain *d, struct sbuf *b)
{
	const struct gfilter *f = d->gfilter;
	sb_u64(b, f->def_action);
	sb_u64(b, f->def_errno);
	sb_u64(b, f->nrules);
	for (uint32_t i = 0; i < f->nrules; i++) {
		const struct gf_rule *r = &f->rules[i];
		sb_u64(b, r->nr);
		sb_u64(b, r->action);
		sb_u64(b, r->errno_ret);
		sb_u64(b, r->nargs);
		for (int k = 0; k < r->nargs; k++) {
			sb_u64(b, r->args[k].index);
			sb_u64(b, r->args[k].op);
			sb_u64(b, r->args[k].value);
			sb_u64(b, r->args[k].value2);
		}
	}
	return b->oom ? -1 : 0;
}

/* Every field is range-checked as it is read, and the whole by
 * gfilter_valid: the image is anybody's. */
int snap_get_gfilter(struct sread *r, struct domain *d)
{
	struct gfilter *f = calloc(1, sizeof(*f));
	if (!f) {
		sr_fail(r, "out of memory");
		return -1;
	}
	f->def_action = (uint8_t)sr_range(r, 0, GF_NACTIONS - 1, "seccomp profile: bad default action");
	f->def_errno = (uint16_t)sr_range(r, 0, 511, "seccomp profile: bad default errno");
	f->nrules = (uint32_t)sr_range(r, 0, GF_MAX_RULES, "seccomp profile: too many rules");
	if (!r->bad && f->nrules && !(f->rules = calloc(f->nrules, sizeof(*f->rules))))
		sr_fail(r, "out of memory");
	for (uint32_t i = 0; i < f->nrules && !r->bad; i++) {
		struct gf_rule *x = &f->rules[i];
		x->nr = (uint16_t)sr_range(r, 0, GF_MAX_NR - 1, "seccomp profile: bad call number");
		x->action = (uint8_t)sr_range(r, 0, GF_NACTIONS - 1, "seccomp profile: bad action");
		x->errno_ret = (uint16_t)sr_range(r, 0, 511, "seccomp profile: bad errno");
		x->nargs = (uint8_t)sr_range(r, 0, 6, "seccomp profile: too many conditions");
		for (int k = 0; k < x->nargs && !r->bad; k++) {
			x->args[k].index = (uint8_t)sr_range(r, 0, 5, "seccomp profile: bad argument index");
			x->args[k].op = (uint8_t)sr_range(r, GF_NE, GF_NOPS - 1, "seccomp profile: bad comparison");
			x->args[k].value = sr_u64(r);
			x->args[k].value2 = sr_u64(r);
		}
	}
	if (!r->bad && !gfilter_valid(f))
		sr_fail(r, "seccomp profile: invalid");
	if (!r->bad && r->pos != r->len)
		sr_fail(r, "seccomp profile: trailing bytes");
	if (r->bad) {
		gfilter_free(f);
		return -1;
	}
	gfilter_free(d->gfilter);
	d->gfilter = f;
	return 0;
}
