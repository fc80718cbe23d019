/* trap.h: the trap decoder — how syscalls and exceptions of the guest reach the VMM. */
#ifndef PDVM_TRAP_H
#define PDVM_TRAP_H

#include "types.h"

struct domain;
struct thread;

/*
 * Guest "kernel" area: supervisor-only pages in the top PML4 slot that the
 * ring0 backend needs (stub code, GDT, IDT, per-vCPU TSS and stack).
 * The pvm backend only uses LSTAR there, at an unmapped address.
 */
#define KERN_BASE       0xffffff8000000000ULL
#define KERN_STUB       (KERN_BASE + 0x0000)
#define KERN_GDT        (KERN_BASE + 0x2000)   /* stub code takes two pages */
#define KERN_IDT        (KERN_BASE + 0x3000)
#define KERN_LSTAR_NONE (KERN_BASE + 0x3ff000)   /* never mapped */
#define KERN_VCPU(i)    (KERN_BASE + 0x400000 + (uint64_t)(i) * 0x2000)  /* TSS page, then stack page */

#define SEL_KCODE 0x10
#define SEL_KDATA 0x18
#define SEL_UDATA 0x2b
#define SEL_UCODE 0x33
#define SEL_TSS   0x40

enum trap_kind {
	TRAP_SYSCALL,           /* regs hold the call; rip is after `syscall` */
	TRAP_EXCEPTION,         /* vector, error_code, cr2 valid */
	TRAP_KICK,              /* left KVM_RUN because of a signal/immediate_exit */
	TRAP_UNKNOWN,           /* an exit the backend does not understand */
};

struct trap {
	enum trap_kind kind;
	int vector;
	uint32_t error_code;
	uint64_t cr2;
	uint32_t exit_reason;
};

struct trap_backend {
	const char *name;               /* what --trap-backend and pdvm info call it */
	const char *host;               /* the host kind it is for, as pdvm info says it */
	bool needs_pt_quarantine;       /* KVM ignores edits of used tables */
	/* The vCPU state this backend's traps need: where a `syscall` goes,
	 * and whether the stub's IDT is installed. Without an IDT (limit 0)
	 * every CPL3 exception on a PVM host ends KVM_RUN as SHUTDOWN. */
	uint64_t lstar;
	bool idt;
	/* CR4.TSD makes a CPL3 rdtsc/rdtscp fault (#GP). A PVM host runs them
	 * natively whatever the guest's CR4 says (measured: replay/README.md). */
	bool tsd;
	/* Decodes the exit of the last KVM_RUN into t->regs (the user view). */
	int (*decode)(struct thread *t, struct trap *tr);
	/* Pushes t->regs as the user state to resume with. */
	int (*resume)(struct thread *t);
	/* After a kick (not a trap): makes t->regs the user state the vCPU
	 * would resume with. A trap already under way at the kick (an
	 * exception KVM had queued for delivery) is taken out of the vCPU and
	 * returned in tr, for the caller to handle as if decoded; else
	 * tr->kind stays TRAP_KICK. -EAGAIN when the vCPU is between states
	 * (inside the ring-0 stub) and must run on a little first. */
	int (*capture)(struct thread *t, struct trap *tr);
};

extern const struct trap_backend trap_backend_pvm;
extern const struct trap_backend trap_backend_ring0;

/* Points t's vCPU's `syscall` at lstar (its exitless entry page, or the
 * backend's own when it has none). 0 or -errno. */
int trap_set_lstar(struct thread *t, uint64_t lstar);

/* Maps the kernel area (stub, GDT, IDT) into the domain. */
int trap_kernel_init(struct domain *d);
/* Restore: reads the kernel area's pages back from mm's tables into
 * d->kpages, so that new address spaces map it too, and rewrites their
 * contents from pdvm's binary (an image supplies none of it). -EINVAL for
 * a kernel page open to user mode or outside memory. */
struct mm;
int trap_kpages_rebuild(struct domain *d, struct mm *mm);
#define CR4_TSD  (1ULL << 2)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
/* The CR4 protections backend b's vCPUs get on this host (SMEP, SMAP). */
uint64_t trap_cr4_protect(struct domain *d, const struct trap_backend *b);
/* Per-vCPU: TSS and kernel stack, sregs, syscall MSRs. */
int trap_vcpu_init(struct domain *d, struct thread *t);
/* Fills tr as exception `vector` with its error code, and CR2 for a #PF.
 * 0 or -errno. */
int trap_exception(struct thread *t, struct trap *tr, int vector, uint32_t error_code);
/* Takes an exception KVM holds queued for delivery out of the vCPU into
 * tr (kind, vector, error code, cr2). 1 if there was one, 0 if not, or
 * -errno. */
int trap_take_queued(struct thread *t, struct trap *tr);
/* Runs a two-instruction probe on vCPU t and picks the backend that
 * matches how the trap arrives. */
const struct trap_backend *trap_probe(struct domain *d, struct thread *t, char *err, size_t errlen);

#endif
