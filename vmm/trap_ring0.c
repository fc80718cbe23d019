/* trap_ring0.c: the ring0 trap backend, for standard KVM — the guestshim ring-0 stub exits with `out` (or the exitless entry code answers at ring 0, vmm/exl.c). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "domain.h"
#include "exl.h"
#include "trap.h"

#define PORT_SYSCALL   0x10
#define PORT_EXCEPTION 0x11
#define RFLAGS_USER    0x240dd5ULL
#define STUB_IRETQ     (KERN_STUB + 2)  /* the iretq right after the syscall `out` */

static uint64_t *kstack(struct thread *t)
{
	frames_touch(&t->dom->frames, t->kstack_gpa, PAGE_SIZE);
	return frames_host(&t->dom->frames, t->kstack_gpa);
}

static int ring0_decode(struct thread *t, struct trap *tr)
{
	struct kvm_run *run = t->vcpu.run;
	tr->exit_reason = run->exit_reason;
	if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT ||
	    (run->io.port != PORT_SYSCALL && run->io.port != PORT_EXCEPTION)) {
		tr->kind = TRAP_UNKNOWN;
		return 0;
	}
	struct kvm_regs k;
	int r0;
	if ((r0 = vcpu_get_regs(&t->vcpu, &k)))
		return r0;
	t->in_stub = true;
	t->regs = k;
	if (run->io.port == PORT_SYSCALL) {
		tr->kind = TRAP_SYSCALL;
		t->regs.rip = k.rcx;
		t->regs.rflags = k.r11;
		return 0;
	}
	/* Exception frame on this vCPU's stack: vector, error code, RIP, CS,
	 * RFLAGS, RSP, SS — ending at the top of the stack page. */
	uint64_t top = KERN_VCPU(t->vcpu.id) + 2 * PAGE_SIZE;
	if (k.rsp != top - 7 * 8)
		return -EFAULT;
	const uint64_t *f = kstack(t) + (PAGE_SIZE / 8 - 7);
	if ((f[3] & 3) != 3)
		return -EFAULT; /* a fault in the stub itself: a VMM bug */
	t->regs.rip = f[2];
	t->regs.rflags = f[4];
	t->regs.rsp = f[5];
	return trap_exception(t, tr, (int)f[0], (uint32_t)f[1]);
}

static int ring0_resume(struct thread *t)
{
	struct kvm_regs r = t->regs;
	r.rflags = (r.rflags & RFLAGS_USER) | 0x202;
	if (t->in_stub) {
		/* The vCPU waits at ring 0: return to user mode with iretq. */
		uint64_t *f = kstack(t) + (PAGE_SIZE / 8 - 5);
		f[0] = r.rip;
		f[1] = SEL_UCODE;
		f[2] = r.rflags;
		f[3] = r.rsp;
		f[4] = SEL_UDATA;
		r.rip = STUB_IRETQ;
		r.rsp = KERN_VCPU(t->vcpu.id) + 2 * PAGE_SIZE - 5 * 8;
		r.rflags = 0x2;
	}
	int e = vcpu_set_regs(&t->vcpu, &r);
	if (e)
		return e;
	t->in_stub = false;
	return 0;
}

static int ring0_capture(struct thread *t, struct trap *tr)
{
	struct kvm_regs k;
	struct kvm_sregs s;
	int e;
	if ((e = vcpu_get_regs(&t->vcpu, &k)))
		return e;
	if (ioctl(t->vcpu.fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	if ((s.cs.selector & 3) == 3) {
		/* An exception queued at CPL3 would enter the stub at whatever
		 * RIP the VMM resumes at next: it is the trap, now. */
		t->regs = k;
		e = trap_take_queued(t, tr);
		return e < 0 ? e : 0;
	}
	if (k.rip >= EXL_BASE && k.rip < EXL_END) {
		/* Inside its exitless entry code (vmm/exl.c): the user state of
		 * before or after its call; the vCPU is at ring 0 as in the
		 * stub, and resumes to user mode the same way. */
		t->regs = k;
		if (!exl_capture(t))
			return -EAGAIN;
		t->in_stub = true;
		return 0;
	}
	if (k.rip == STUB_IRETQ) {
		/* Kicked before the iretq of a resume: the user state is still
		 * t->regs, and the vCPU waits in the stub as after a trap. */
		t->in_stub = true;
		return 0;
	}
	return -EAGAIN; /* on the way into the stub: let it reach its `out` */
}

const struct trap_backend trap_backend_ring0 = {
	.name = "ring0",
	.host = "a standard KVM host (a guest syscall enters guest ring 0)",
	.lstar = KERN_STUB,
	.idt = true,
	.tsd = true,
	.needs_pt_quarantine = false,
	.decode = ring0_decode,
	.resume = ring0_resume,
	.capture = ring0_capture,
};
