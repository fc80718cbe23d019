/* snap_procs.c: section `procs` — the processes after the first: ids and tree, handlers, pending signals and timers, address space, fd table, zombies, and their threads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/domain.h"
#include "vmm/files.h"
#include "snap_state.h"

/* Ranged fields are u64 (sr_range's unit); flag words and ids in the
 * thread list u32. */
#define PF_ZOMBIE  1u
#define PF_EXECED  2u

/* The pid of the process, listed before p (or the first process), whose
 * address space p shares (vfork); 0 if p's is its own. */
static int mm_owner(struct domain *d, struct process *p, struct process **order, int n)
{
	if (p->mm == d->init->mm)
		return d->init->pid;
	for (int i = 0; i < n && order[i] != p; i++)
		if (order[i]->mm == p->mm)
			return order[i]->pid;
	return 0;
}

int snap_put_procs(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	struct process *order[MAX_PROCS];
	int n = 0, r = 0;
	for (int i = 0; i < MAX_PROCS; i++)
		if (d->procs[i] && d->procs[i] != d->init)
			order[n++] = d->procs[i];
	struct ofd **v;
	int nofd = snap_collect_ofds(d, &v);
	if (nofd < 0)
		return nofd;
	sb_u64(b, (uint64_t)d->fg_pgid);
	sb_u64(b, (uint64_t)d->init->pgid);
	sb_u64(b, (uint64_t)d->init->sid);
	sb_u64(b, (uint64_t)n);
	for (int k = 0; k < n && !r; k++) {
		struct process *p = order[k];
		sb_u64(b, (uint64_t)p->pid);
		sb_u64(b, (uint64_t)p->ppid);
		sb_u64(b, (uint64_t)p->pgid);
		sb_u64(b, (uint64_t)p->sid);
		sb_u64(b, (uint64_t)p->exit_signal);
		sb_u32(b, (uint32_t)p->wstatus);
		sb_u32(b, (p->zombie ? PF_ZOMBIE : 0) | (p->execed ? PF_EXECED : 0));
		sb_u64(b, p->start_ns);
		snap_put_proc_core(b, p);
		snap_put_sigstate(b, p);
		if (p->zombie)
			continue;
		int owner = mm_owner(d, p, order, n);
		sb_u64(b, (uint64_t)owner);
		if (!owner) {
			sb_u64(b, p->mm->vvar_gva);
			sb_u64(b, p->mm->arg_start);
			sb_u64(b, p->mm->arg_end);
			sb_u64(b, p->mm->env_start);
			sb_u64(b, p->mm->env_end);
			snap_put_mm_map(b, p->mm);
		}
		/* cwd and the rest are read through the process's own view. */
		proc_current = p;
		r = snap_put_fdtable(d, b, v, nofd, err, errlen);
		proc_current = NULL;
	}
	int nt = 0;
	for (int i = 0; i < MAX_THREADS; i++)
		nt += d->threads[i] && d->threads[i]->proc != d->init;
	sb_u64(b, (uint64_t)nt);
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *t = d->threads[i];
		if (t && t->proc != d->init) {
			sb_u32(b, (uint32_t)t->tid);
			sb_u32(b, (uint32_t)t->proc->pid);
		}
	}
	/* Frames mapped by several mms (MAP_SHARED across fork). */
	struct frames *f = &d->frames;
	uint64_t nref = 0;
	for (uint64_t i = 0; f->refs && i < f->nframes; i++)
		nref += f->refs[i] != 0;
	sb_u64(b, nref);
	for (uint64_t i = 0; f->refs && i < f->nframes; i++) {
		if (f->refs[i]) {
			sb_u64(b, i);
			sb_u64(b, f->refs[i]);
		}
	}
	free(v);
	return r ? r : b->oom ? -ENOMEM : 0;
}

static int get_one(struct sread *r, struct domain *d, const struct snap_restore *rs, uint32_t version, char *err,
		   size_t errlen)
{
	int pid = (int)sr_range(r, 1, 0x3fffffff, "procs: pid out of range");
	if (!r->bad && proc_find(d, pid))
		sr_fail(r, "procs: two processes share a pid");
	if (r->bad)
		return -1;
	struct process *p = proc_new(d, pid);
	if (!p) {
		snprintf(err, errlen, "too many processes");
		return -ENOMEM;
	}
	p->ppid = (int)sr_range(r, 0, 0x3fffffff, "procs: parent pid out of range");
	p->pgid = (int)sr_range(r, 1, 0x3fffffff, "procs: group out of range");
	p->sid = (int)sr_range(r, 1, 0x3fffffff, "procs: session out of range");
	p->exit_signal = (int)sr_range(r, 0, NSIG_K, "procs: exit signal out of range");
	p->wstatus = (int)sr_u32(r);
	uint32_t fl = sr_u32(r);
	if (fl & ~(PF_ZOMBIE | PF_EXECED))
		sr_fail(r, "procs: unknown process flags");
	p->zombie = fl & PF_ZOMBIE;
	p->execed = fl & PF_EXECED;
	p->start_ns = sr_u64(r);
	snap_get_proc_core(r, p, version);
	snap_get_sigstate(r, p, version);
	if (r->bad || p->zombie)
		return r->bad ? -1 : 0;
	int owner = (int)sr_range(r, 0, 0x3fffffff, "procs: address-space owner out of range");
	if (owner) {
		struct process *o = proc_find(d, owner);
		if (!r->bad && (!o || !o->mm || o == p)) {
			sr_fail(r, "procs: a shared address space names no earlier process");
			return -1;
		}
		if (r->bad)
			return -1;
		p->mm = o->mm;
		p->mm->users++;
	} else {
		gva_t vvar = sr_range(r, 0, USER_MAX - PAGE_SIZE, "procs: vvar address out of range");
		gva_t as = sr_range(r, 0, USER_MAX, "procs: argument strings out of range");
		gva_t ae = sr_range(r, as, USER_MAX, "procs: argument strings out of range");
		gva_t es = sr_range(r, 0, USER_MAX, "procs: environment strings out of range");
		gva_t ee = sr_range(r, es, USER_MAX, "procs: environment strings out of range");
		if (r->bad)
			return -1;
		if (!(p->mm = mm_new_bare(d))) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		p->mm->vvar_gva = vvar;
		p->mm->arg_start = as, p->mm->arg_end = ae;
		p->mm->env_start = es, p->mm->env_end = ee;
		const char *why;
		if (snap_get_mm_map(r, d, p->mm, version >= 4))
			return -1;
		if (snap_check_mm_tables(d, p->mm, &why)) {
			sr_fail(r, why);
			return -1;
		}
	}
	if (!(p->files = files_clone(d->init->files))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	proc_current = p;
	int e = snap_get_fdtable(r, d, rs, err, errlen);
	proc_current = NULL;
	return r->bad ? -1 : e;
}

int snap_get_procs(struct sread *r, struct domain *d, const struct snap_restore *rs, uint32_t version, bool dry,
		   char *err, size_t errlen)
{
	int fg = (int)sr_range(r, 1, 0x3fffffff, "procs: foreground group out of range");
	int pgid = (int)sr_range(r, 1, 0x3fffffff, "procs: group out of range");
	int sid = (int)sr_range(r, 1, 0x3fffffff, "procs: session out of range");
	uint32_t n = (uint32_t)sr_range(r, 0, MAX_PROCS - 1, "procs: too many processes");
	if (r->bad)
		return -1;
	d->fg_pgid = fg;
	d->init->pgid = pgid;
	d->init->sid = sid;
	int e = 0;
	for (uint32_t k = 0; k < n && !e && !r->bad; k++)
		e = get_one(r, d, rs, version, err, errlen);
	if (e || r->bad)
		return r->bad ? -1 : e;
	uint32_t nt = (uint32_t)sr_range(r, 0, MAX_THREADS, "procs: thread count");
	for (uint32_t i = 0; i < nt && !r->bad; i++) {
		int tid = (int)sr_u32(r), pid = (int)sr_u32(r);
		struct process *p = proc_find(d, pid);
		struct thread *t = thread_find(d, tid);
		if (!r->bad && (!p || p == d->init || p->zombie || (!t && !dry)))
			sr_fail(r, "procs: a thread names no live process, or no such thread");
		if (r->bad || !t)
			continue;
		t->proc->nthreads--;
		t->proc = p;
		p->nthreads++;
	}
	struct frames *f = &d->frames;
	uint64_t nref = sr_range(r, 0, f->nframes, "procs: shared frame count out of range");
	for (uint64_t i = 0; i < nref && !r->bad; i++) {
		uint64_t fr = sr_range(r, 0, f->nframes - 1, "procs: shared frame out of range");
		/* A cached file page is mapped once per VMA page: up to the
		 * VMA limit in each process. */
		uint64_t c = sr_range(r, 1, UINT32_MAX - 1, "procs: shared frame count out of range");
		if (!r->bad && !frames_in_use(f, fr * PAGE_SIZE))
			sr_fail(r, "procs: a shared frame is not in use");
		uint32_t have = !r->bad && f->refs ? f->refs[fr] : 0;
		if (!r->bad && (c > UINT32_MAX - 1 - have || frames_set_refs(f, fr * PAGE_SIZE, (uint32_t)(have + c))))
			sr_fail(r, "procs: out of memory for shared frames");
	}
	/* Every live process needs a thread; a zombie has none. */
	for (int i = 0; i < MAX_PROCS && !r->bad && !dry; i++) {
		struct process *p = d->procs[i];
		if (p && !p->zombie && !p->nthreads)
			sr_fail(r, "procs: a live process has no thread");
	}
	if (!r->bad && r->pos != r->len)
		sr_fail(r, "procs section has trailing bytes");
	return r->bad ? -1 : 0;
}
