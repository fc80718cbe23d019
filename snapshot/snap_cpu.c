/* snap_cpu.c: threads and their vCPUs in an image — user registers, FPU/XSAVE, XCRs, TSC, restart state. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/domain.h"
#include "vmm/files.h"
#include "snap_state.h"
#include "vmm/trap.h"

#define MSR_IA32_TSC 0x10
#define SCHED_POLICY_RESET 0x40000000 /* SCHED_RESET_ON_FORK; a thread's policy is OTHER (0), BATCH (3) or IDLE (5) */
#define USER_TOP     0x800000000000ULL   /* canonical lower half */

static int get_tsc(struct vcpu *v, uint64_t *tsc)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = MSR_IA32_TSC };
	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	*tsc = m.e.data;
	return 0;
}

/* The user registers in struct kvm_regs's order (KVM's ABI, the same bytes
 * version 1 wrote as the struct), one u64 each. */
#define REG_LIST(X) X(rax) X(rbx) X(rcx) X(rdx) X(rsi) X(rdi) X(rsp) X(rbp) X(r8) X(r9) X(r10) \
	X(r11) X(r12) X(r13) X(r14) X(r15) X(rip) X(rflags)
#define PUT_REG(n) sb_u64(b, t->regs.n);
#define GET_REG(n) t->regs.n = sr_u64(r);
_Static_assert(sizeof(struct kvm_regs) == 18 * 8, "kvm_regs is the 18 registers");

void snap_put_thread(struct sbuf *b, const struct thread *t, const struct kvm_xsave *xs,
		     const struct kvm_xcrs *xcrs, const struct kvm_sregs *sregs, uint64_t tsc,
		     const struct snap_thread_fs *fs)
{
	sb_u32(b, (uint32_t)t->tid);
	REG_LIST(PUT_REG)
	sb_u64(b, t->fs_base);
	sb_u64(b, t->gs_base);
	sb_u64(b, t->clear_child_tid);
	sb_u64(b, t->robust_list);
	sb_u64(b, t->robust_len);
	sb_u64(b, t->sigmask);
	sb_u8(b, t->restart.valid);
	sb_u64(b, t->restart.rip);
	sb_u64(b, t->restart.nr);
	sb_u64(b, t->restart.deadline_ns);
	sb_put(b, xs, sizeof(*xs));
	sb_put(b, xcrs, sizeof(*xcrs));
	/* Informational: segment and control state is rebuilt on restore for
	 * the restoring host's trap backend; CR3 is the mm section's root. */
	sb_put(b, sregs, sizeof(*sregs));
	sb_u64(b, tsc);
	/* Version 2: the thread's name, parent-death signal, nice value and
	 * scheduling policy. */
	sb_put(b, t->comm, TASK_COMM_LEN);
	sb_u64(b, (uint64_t)t->pdeathsig);
	sb_u64(b, (uint64_t)(t->nice + 20));
	sb_u32(b, t->sched_policy);
	/* Version 3: its working directory and umask. */
	sb_u32(b, fs ? fs->kind : SNAP_FS_PROCESS);
	if (fs && fs->kind == SNAP_FS_OWN) {
		sb_u32(b, fs->umask);
		sb_str(b, fs->cwd);
	} else if (fs && fs->kind == SNAP_FS_SHARED) {
		sb_u32(b, fs->share);
	}
}

/* Thread t's fs record; `done` are the threads written before it. */
static int thread_fs(struct domain *d, struct thread *t, struct thread **done, uint32_t ndone,
		     struct snap_thread_fs *fs, char *cwd, size_t len, char *err, size_t errlen)
{
	memset(fs, 0, sizeof(*fs));
	if (!t->fs)
		return 0;
	for (uint32_t j = 0; j < ndone; j++) {
		if (done[j]->fs == t->fs) {
			fs->kind = SNAP_FS_SHARED;
			fs->share = j;
			return 0;
		}
	}
	int r = files_dir_path(d->init->files, t->fs->cwdfd, cwd, len);
	if (r < 0) {
		snprintf(err, errlen, "thread %d: its own working directory %s", t->tid,
			 r == -ENAMETOOLONG ? "is deeper than PATH_MAX: an image names it by path"
					    : "cannot be named inside the root");
		return r;
	}
	fs->kind = SNAP_FS_OWN;
	fs->umask = t->fs->umask;
	fs->cwd = cwd;
	return 0;
}

static int put_thread(struct thread *t, struct sbuf *b, const struct snap_thread_fs *fs,
		      char *err, size_t errlen)
{
	struct kvm_xsave xs;
	struct kvm_xcrs xcrs;
	struct kvm_sregs sregs;
	uint64_t tsc = 0;
	if (ioctl(t->vcpu.fd, KVM_GET_XSAVE, &xs) < 0 || ioctl(t->vcpu.fd, KVM_GET_XCRS, &xcrs) < 0 ||
	    ioctl(t->vcpu.fd, KVM_GET_SREGS, &sregs) < 0 || get_tsc(&t->vcpu, &tsc)) {
		snprintf(err, errlen, "thread %d: reading vCPU state: %s", t->tid, strerror(errno));
		return -EIO;
	}
	snap_put_thread(b, t, &xs, &xcrs, &sregs, tsc, fs);
	return 0;
}

int snap_put_vcpus(struct domain *d, struct sbuf *b, char *err, size_t errlen)
{
	struct thread *done[MAX_THREADS];
	uint32_t n = 0;
	char cwd[PATH_MAX];

	sb_u32(b, (uint32_t)d->nthreads);
	for (int i = 0; i < MAX_THREADS; i++) {
		struct thread *t = d->threads[i];
		struct snap_thread_fs fs;
		if (!t)
			continue;
		int r = thread_fs(d, t, done, n, &fs, cwd, sizeof(cwd), err, errlen);
		if (!r)
			r = put_thread(t, b, &fs, err, errlen);
		if (r)
			return r;
		done[n++] = t;
	}
	return b->oom ? -ENOMEM : 0;
}

/* A version-3 fs record into t (records: the threads read before it). */
static void get_thread_fs(struct sread *r, struct domain *d, struct thread *t, struct thread **records,
			  uint32_t nrec, bool dry, char *err, size_t errlen)
{
	uint32_t kind = sr_u32(r);
	if (r->bad)
		return;
	if (kind == SNAP_FS_SHARED) {
		uint32_t k = sr_u32(r);
		if (!r->bad && (k >= nrec || !records[k]->fs))
			sr_fail(r, "a thread's working directory names no earlier thread's own");
		if (!r->bad && !dry) {
			t->fs = records[k]->fs;
			t->fs->users++;
		}
		return;
	}
	if (kind != SNAP_FS_OWN) {
		if (kind != SNAP_FS_PROCESS)
			sr_fail(r, "a thread's working directory is of an unknown kind");
		return;
	}
	uint32_t um = sr_u32(r);
	char *cwd = sr_str(r, PATH_MAX);
	if (!r->bad && (um > 0777 || !cwd || cwd[0] != '/'))
		sr_fail(r, "a thread's umask or working directory is out of range");
	if (!r->bad && dry) {
		/* Validation only (t is a plain record, never run or
		 * released): any non-NULL value marks it as having one of its
		 * own, for a later SHARED record's check. */
		t->fs = (struct fs *)t;
	} else if (!r->bad) {
		int h = path_lookup(d, AT_FDCWD, cwd, true, true);
		if (h < 0 || !(t->fs = fs_new(h, um))) {
			snprintf(err, errlen, "thread %d: working directory %s: %s", t->tid, cwd,
				 strerror(h < 0 ? -h : ENOMEM));
			sr_fail(r, err);
		}
	}
	free(cwd);
}

/* Fills thread t (with a fresh vCPU, unless dry) from one record. */
static int get_thread(struct sread *r, struct domain *d, struct thread *t, uint32_t version, bool dry,
		      struct thread **records, uint32_t nrec, char *err, size_t errlen)
{
	struct kvm_xsave xs;
	struct kvm_xcrs xcrs;
	struct kvm_sregs sregs;
	t->tid = (int)sr_u32(r);
	REG_LIST(GET_REG)
	t->fs_base = sr_u64(r);
	t->gs_base = sr_u64(r);
	t->clear_child_tid = sr_u64(r);
	t->robust_list = sr_u64(r);
	t->robust_len = sr_u64(r);
	t->sigmask = sr_u64(r);
	t->restart.valid = sr_u8(r);
	t->restart.rip = sr_u64(r);
	t->restart.nr = sr_u64(r);
	t->restart.deadline_ns = sr_u64(r);
	sr_get(r, &xs, sizeof(xs));
	sr_get(r, &xcrs, sizeof(xcrs));
	sr_get(r, &sregs, sizeof(sregs));
	uint64_t tsc = sr_u64(r);
	if (version >= 2) {
		sr_get(r, t->comm, TASK_COMM_LEN);
		t->comm[TASK_COMM_LEN - 1] = 0;
		t->pdeathsig = (int)sr_range(r, 0, NSIG_K, "parent-death signal out of range");
		t->nice = (int)sr_range(r, 0, 39, "nice value out of range") - 20;
		t->sched_policy = sr_u32(r);
		uint32_t pol = t->sched_policy & ~SCHED_POLICY_RESET;
		if (!r->bad && (t->sched_policy & ~(SCHED_POLICY_RESET | 7) || (pol != 0 && pol != 3 && pol != 5)))
			sr_fail(r, "scheduling policy out of range");
	}
	if (version >= 3)
		get_thread_fs(r, d, t, records, nrec, dry, err, errlen);
	if (!r->bad && (t->tid <= 0 || t->tid > 0x3fffffff))
		sr_fail(r, "thread id out of range");
	if (!r->bad && (t->fs_base >= USER_TOP || t->gs_base >= USER_TOP))
		sr_fail(r, "FS or GS base is not a user address");
	if (!r->bad && (xcrs.nr_xcrs > KVM_MAX_XCRS || xcrs.flags))
		sr_fail(r, "bad XCR list");
	for (int i = 0; i < MAX_THREADS && !r->bad; i++)
		if (d->threads[i] && d->threads[i] != t && d->threads[i]->tid == t->tid)
			sr_fail(r, "two threads share an id");
	if (r->bad || dry)
		return r->bad ? -1 : 0;
	int e = trap_vcpu_init(d, t);
	if (e) {
		snprintf(err, errlen, "thread %d: vCPU set-up: %s", t->tid, strerror(-e));
		return e;
	}
	/* XSAVE components outside the guest's XCR0 were never the guest's to
	 * use (PKRU also needs CR4.PKE, which no vCPU has), but a host with PKU
	 * reports PKRU all the same: they are dropped, so that the image loads
	 * on a host without them. KVM checks the rest itself and refuses what
	 * this CPU cannot load: that is an image made on an incompatible CPU. */
	uint64_t xcr0 = 0;
	for (uint32_t i = 0; i < xcrs.nr_xcrs; i++)
		if (xcrs.xcrs[i].xcr == 0)
			xcr0 = xcrs.xcrs[i].value;
	uint64_t bv;
	memcpy(&bv, (const char *)xs.region + 512, 8);  /* XSAVE header: XSTATE_BV */
	bv &= xcr0 | 3;
	memcpy((char *)xs.region + 512, &bv, 8);
	if (ioctl(t->vcpu.fd, KVM_SET_XCRS, &xcrs) < 0 || ioctl(t->vcpu.fd, KVM_SET_XSAVE, &xs) < 0) {
		snprintf(err, errlen, "thread %d: this host's KVM refuses the image's FPU state (XCR0 %#llx, "
			 "components %#llx): %s", t->tid, (unsigned long long)xcr0,
			 (unsigned long long)bv, strerror(errno));
		sr_fail(r, err);
		return -1;
	}
	uint32_t idx = MSR_IA32_TSC;
	kvm_set_msrs(&t->vcpu, &idx, &tsc, 1); /* best effort: rdtsc goes on */
	t->regs_dirty = true;
	t->in_stub = false;
	t->sregs_dirty = true;
	return 0;
}

/* `first` is the domain's first thread, made at set-up: it becomes the
 * first record; the others are created here. */
int snap_get_vcpus(struct sread *r, struct domain *d, uint32_t version, bool dry, char *err, size_t errlen)
{
	struct thread *first = NULL;
	for (int i = 0; i < MAX_THREADS && !first; i++)
		first = d->threads[i];
	uint32_t n = sr_u32(r);
	if (!r->bad && (n == 0 || n > MAX_THREADS))
		sr_fail(r, "thread count out of range");
	if (r->bad || (!first && !dry))
		return -1;
	int ret = 0;
	struct thread *seen = dry ? calloc(n, sizeof(*seen)) : NULL;
	struct thread **records = calloc(n ? n : 1, sizeof(*records));
	if ((dry && !seen) || !records) {
		free(seen);
		free(records);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct thread *t = first;
		if (dry) {
			/* Validation only: records go into plain structs, and the
			 * tid check sees them through d->threads. */
			t = &seen[i];
			d->threads[i] = t;
		} else if (i > 0) {
			int e;
			t = thread_create(d, &e);
			if (!t) {
				snprintf(err, errlen, "creating thread %u: %s", i, strerror(-e));
				ret = e;
				break;
			}
		}
		int e = get_thread(r, d, t, version, dry, records, i, err, errlen);
		if (e) {
			ret = e;
			break;
		}
		records[i] = t;
	}
	if (!ret && !r->bad && r->pos != r->len)
		sr_fail(r, "vcpus section has trailing bytes");
	if (dry) {
		memset(d->threads, 0, sizeof(d->threads));
		free(seen);
	}
	free(records);
	return r->bad ? -1 : ret;
}
