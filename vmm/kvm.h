/* kvm.h: the KVM VM and vCPU objects and their register setup. */
#ifndef PDVM_KVM_H
#define PDVM_KVM_H

#include <linux/kvm.h>

#include "types.h"

struct kvm_vm {
	int kvm, fd;
	void *mem;               /* slot 0: all of guest memory */
	uint64_t mem_size;
	bool dirty_log;          /* slot 0 logs dirty pages */
	struct kvm_cpuid2 *cpuid;
	int run_size;
	int next_slot_probe;
	/* KVM_CAP_X86_TRIPLE_FAULT_EVENT is on: a triple fault that a kick
	 * caught before it became KVM_EXIT_SHUTDOWN shows in the vCPU events
	 * and can be cleared there. */
	bool triple_fault_event;
};

struct vcpu {
	int fd;
	int id;
	struct kvm_run *run;
	size_t run_size;
	bool sync_regs;          /* registers travel in kvm_run (KVM_CAP_SYNC_REGS) */
};

/* Opens /dev/kvm and creates a VM with one memory slot over `mem`.
 * Returns 0 or -errno with the failing step in err. */
int kvm_vm_create(struct kvm_vm *vm, void *mem, uint64_t size, char *err, size_t errlen);
void kvm_vm_destroy(struct kvm_vm *vm);
/* A register (0 eax, 1 ebx, 2 ecx, 3 edx) of the guest's CPUID leaf fn.idx
 * as KVM offers it; 0 if KVM has no such leaf. */
uint32_t kvm_cpuid_reg(const struct kvm_vm *vm, uint32_t fn, uint32_t idx, int reg);
/* The vCPUs made from now on are told there is no RDRAND or RDSEED: a
 * record/replay domain's randomness comes through system calls (a PVM
 * host's guest runs cpuid natively and still sees them: replay/README.md). */
void kvm_cpuid_hide_random(struct kvm_vm *vm);
int kvm_vcpu_create(struct kvm_vm *vm, struct vcpu *v, int id);
void kvm_vcpu_destroy(struct vcpu *v);
/* Drops whatever event a vCPU still holds (a queued or injected exception,
 * a pending triple fault, NMI or interrupt): a vCPU back from the pool must
 * start its new thread clean. 0 or -errno. */
int kvm_vcpu_clear_events(struct vcpu *v);

/* Drops every shadow page table KVM holds (add+delete a dummy memslot):
 * the "full resync" of DESIGN.md fact 6. */
int kvm_resync(struct kvm_vm *vm);

/* General registers of a stopped vCPU. With KVM_CAP_SYNC_REGS they travel
 * in kvm_run and cost no ioctl: two fewer per trap. */
int vcpu_get_regs(struct vcpu *v, struct kvm_regs *r);
int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *r);

/* Turns dirty-page logging of guest memory on or off (DESIGN.md fact 7). */
int kvm_set_dirty_log(struct kvm_vm *vm, bool on);
/* KVM keeps the guest TSC in step with the host's (KVM_CLOCK_TSC_STABLE). */
bool kvm_tsc_stable(struct kvm_vm *vm);
/* ORs the frames the guest wrote since the last call (or since logging
 * started) into bitmap, and clears KVM's log. */
int kvm_get_dirty_log(struct kvm_vm *vm, uint64_t *bitmap);

int kvm_set_msrs(struct vcpu *v, const uint32_t *idx, const uint64_t *val, int n);

#endif
