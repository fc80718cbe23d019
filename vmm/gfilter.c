/* gfilter.c: the operator's seccomp profile (an OCI config's linux.seccomp, docker's --security-opt seccomp) applied by the VMM to the guest's calls, as the kernel would apply it to a process. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "gfilter.h"
#include "ksignal.h"
#include "process.h"
#include "syscall.h"

#define AUDIT_ARCH_X86_64 0xc000003eu
#define SYS_SECCOMP_CODE  1

bool gfilter_valid(const struct gfilter *f)
{
	/* errno values from 512 are the kernel's restart codes, never a
	 * program's to see. */
	if (f->def_action >= GF_NACTIONS || f->def_errno >= 512 || f->nrules > GF_MAX_RULES ||
	    (f->nrules && !f->rules))
		return false;
	for (uint32_t i = 0; i < f->nrules; i++) {
		const struct gf_rule *r = &f->rules[i];
		if (r->nr >= GF_MAX_NR || r->action >= GF_NACTIONS || r->nargs > 6 || r->errno_ret >= 512)
			return false;
		for (int k = 0; k < r->nargs; k++)
			if (r->args[k].index > 5 || r->args[k].op < GF_NE || r->args[k].op >= GF_NOPS)
				return false;
	}
	return true;
}

static bool holds(const struct gf_arg *c, const uint64_t a[6])
{
	uint64_t v = a[c->index];
	switch (c->op) {
	case GF_NE: return v != c->value;
	case GF_LT: return v < c->value;
	case GF_LE: return v <= c->value;
	case GF_EQ: return v == c->value;
	case GF_GE: return v >= c->value;
	case GF_GT: return v > c->value;
	case GF_MASKED_EQ: return (v & c->value) == c->value2;
	}
	return false;
}

enum gf_action gfilter_check(const struct gfilter *f, uint64_t nr, const uint64_t a[6], uint16_t *err)
{
	enum gf_action best = GF_NACTIONS;
	uint16_t e = 0;
	for (uint32_t i = 0; i < f->nrules; i++) {
		const struct gf_rule *r = &f->rules[i];
		bool all = r->nr == nr;
		for (int k = 0; all && k < r->nargs; k++)
			all = holds(&r->args[k], a);
		if (all && r->action < best) {
			best = r->action;
			e = r->errno_ret;
		}
	}
	if (best == GF_NACTIONS) {
		best = f->def_action;
		e = f->def_errno;
	}
	*err = e;
	return best;
}

struct gfilter *gfilter_dup(const struct gfilter *f)
{
	struct gfilter *c = malloc(sizeof(*c));
	if (!c)
		return NULL;
	*c = *f;
	c->rules = f->nrules ? malloc(f->nrules * sizeof(*c->rules)) : NULL;
	if (f->nrules && !c->rules) {
		free(c);
		return NULL;
	}
	if (f->nrules)
		memcpy(c->rules, f->rules, f->nrules * sizeof(*c->rules));
	return c;
}

void gfilter_free(struct gfilter *f)
{
	if (f) {
		free(f->rules);
		free(f);
	}
}

bool gfilter_apply(struct thread *t, uint64_t nr, const uint64_t a[6], long *ret)
{
	struct domain *d = t->dom;
	uint16_t e;
	enum gf_action act = gfilter_check(d->gfilter, nr, a, &e);
	switch (act) {
	case GF_ALLOW:
		return true;
	case GF_LOG:
		if (nr < GF_MAX_NR && !(d->gfilter_logged[nr / 64] & (1ULL << (nr % 64)))) {
			d->gfilter_logged[nr / 64] |= 1ULL << (nr % 64);
			dom_log(d, "seccomp profile: %s logged (reported once)", syscall_name((int)nr));
		}
		return true;
	case GF_ERRNO:
		*ret = -(long)e;
		return false;
	case GF_TRAP: {
		/* force_sig_seccomp: the call is not made; SIGSYS says which
		 * call, from where. Blocked or ignored, it kills. */
		struct ksiginfo i = { .signo = SIGSYS, .err = e, .code = SYS_SECCOMP_CODE };
		uint64_t rip = t->regs.rip;
		uint32_t nr32 = (uint32_t)nr, arch = AUDIT_ARCH_X86_64;
		memcpy(i.raw, &rip, 8);
		memcpy(i.raw + 8, &nr32, 4);
		memcpy(i.raw + 12, &arch, 4);
		*ret = -ENOSYS;
		if (!sig_force(t, &i))
			break;
		return false;
	}
	default:
		*ret = -ENOSYS;
		break;
	}
	dom_log(d, "seccomp profile: %s kills the process (SIGSYS)", syscall_name((int)nr));
	proc_exit_group(t->proc, SIGSYS);
	return false;
}
