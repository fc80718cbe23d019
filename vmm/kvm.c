/* kvm.c: /dev/kvm plumbing — VM, memory slot, vCPUs, shadow resync. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdbool.h>

#include "kvm.h"

#define MAX_CPUID 256
#define RESYNC_SLOT 31
#define RESYNC_GPA 0xfff00000000ULL /* beyond any guest RAM */

/*
 * The guest's XSAVE features: x87, SSE and AVX only, the XCR0 every vCPU
 * gets (fact 5), and CPUID says the same: PKU/OSPKE, AVX-512 and AMX are
 * not offered, leaf 0xD lists components 0-2 only. That is what a guest on
 * a standard KVM host sees. On a PVM host the guest's `cpuid` runs
 * natively at CPL3 and shows the host CPU whatever this table says
 * (measured), so images from there may still carry PKRU: the restore
 * drops components outside the image's XCR0 (snap_cpu.c). The table's APIC
 * ids are 0, whichever host CPU pdvm asked from.
 */
#define XSAVE_BASELINE 7ULL
#define XSAVE_BASELINE_SIZE 832   /* legacy area, header, AVX upper halves */

static void cpuid_xsave_baseline(struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == 7 && e->index == 0) {
			e->ebx &= ~0xdc230000u;         /* AVX512 F DQ IFMA PF ER CD BW VL */
			e->ecx &= ~0x0000585au;         /* AVX512 VBMI VBMI2 VNNI BITALG VPOPCNTDQ, PKU, OSPKE */
			e->edx &= ~0x03c0010cu;         /* AVX512 4VNNIW 4FMAPS VP2INTERSECT FP16, AMX */
		} else if (e->function == 7 && e->index == 1) {
			e->eax &= ~0x00000020u;         /* AVX512_BF16 */
		} else if (e->function == 0xd && e->index == 0) {
			e->eax &= (uint32_t)XSAVE_BASELINE;
			e->edx = 0;
			e->ebx = e->ecx = XSAVE_BASELINE_SIZE;
		} else if (e->function == 0xd && e->index == 1) {
			e->ecx = e->edx = 0;            /* no supervisor states (IA32_XSS) */
		} else if (e->function == 0xd && e->index >= 3) {
			e->eax = e->ebx = e->ecx = e->edx = 0;
		} else if (e->function == 1) {
			/* KVM_GET_SUPPORTED_CPUID copies the APIC id of the host
			 * CPU pdvm ran on when it asked: a guest's must not vary
			 * with that (a replay compares memory holding it). */
			e->ebx &= 0x00ffffffu;
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = 0;                     /* x2APIC id */
		} else if (e->function == 0x8000001e) {
			e->eax = 0;                     /* extended APIC id */
		}
	}
}

int kvm_vm_create(struct kvm_vm *vm, void *mem, uint64_t size, char *err, size_t errlen)
{
	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm < 0) {
		int e = errno;
		snprintf(err, errlen, "/dev/kvm: %s%s", strerror(e),
			 e == ENOENT ? " (this host has no KVM; tests/nested/vm-run runs pdvm in a VM that has it)" : "");
		return -e;
	}
	int ver = ioctl(vm->kvm, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		snprintf(err, errlen, "KVM API version %d, need %d", ver, KVM_API_VERSION);
		return -EINVAL;
	}
	vm->fd = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		int e = errno;
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(e));
		return -e;
	}
	/* Best effort (Linux 6.0+): without it a kick can leave a triple
	 * fault pending out of sight (see trap_take_queued). */
	struct kvm_enable_cap tfe = { .cap = KVM_CAP_X86_TRIPLE_FAULT_EVENT, .args = { 1 } };
	vm->triple_fault_event = ioctl(vm->kvm, KVM_CHECK_EXTENSION, KVM_CAP_X86_TRIPLE_FAULT_EVENT) > 0 &&
				 ioctl(vm->fd, KVM_ENABLE_CAP, &tfe) == 0;
	vm->run_size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -EINVAL;
	}
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + MAX_CPUID * sizeof(struct kvm_cpuid_entry2));
	if (!vm->cpuid)
		return -ENOMEM;
	vm->cpuid->nent = MAX_CPUID;
	if (ioctl(vm->kvm, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		int e = errno;
		snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
		return -e;
	}
	cpuid_xsave_baseline(vm->cpuid);
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		int e = errno;
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION (%llu MiB): %s",
			 (unsigned long long)(size >> 20), strerror(e));
		return -e;
	}
	vm->mem = mem;
	vm->mem_size = size;
	return 0;
}

uint32_t kvm_cpuid_reg(const struct kvm_vm *vm, uint32_t fn, uint32_t idx, int reg)
{
	for (uint32_t i = 0; vm->cpuid && i < vm->cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		if (e->function == fn && e->index == idx)
			return reg == 0 ? e->eax : reg == 1 ? e->ebx : reg == 2 ? e->ecx : e->edx;
	}
	return 0;
}

void kvm_cpuid_hide_random(struct kvm_vm *vm)
{
	for (uint32_t i = 0; vm->cpuid && i < vm->cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		if (e->function == 1)
			e->ecx &= ~(1u << 30);          /* RDRAND */
		else if (e->function == 7 && e->index == 0)
			e->ebx &= ~(1u << 18);          /* RDSEED */
	}
}

bool kvm_tsc_stable(struct kvm_vm *vm)
{
	struct kvm_clock_data c;

	memset(&c, 0, sizeof(c));
	return ioctl(vm->fd, KVM_GET_CLOCK, &c) == 0 && (c.flags & KVM_CLOCK_TSC_STABLE);
}

int kvm_set_dirty_log(struct kvm_vm *vm, bool on)
{
	struct kvm_userspace_memory_region r = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = vm->mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)vm->mem,
		.flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	vm->dirty_log = on;
	return 0;
}

int kvm_get_dirty_log(struct kvm_vm *vm, uint64_t *bitmap)
{
	size_t words = (vm->mem_size / 4096 + 63) / 64;
	uint64_t *b = calloc(words, 8);
	if (!b)
		return -ENOMEM;
	struct kvm_dirty_log l = { .slot = 0, .dirty_bitmap = b };
	if (ioctl(vm->fd, KVM_GET_DIRTY_LOG, &l) < 0) {
		int e = errno;
		free(b);
		return -e;
	}
	for (size_t i = 0; i < words; i++)
		bitmap[i] |= b[i];
	free(b);
	return 0;
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm > 0)
		close(vm->kvm);
	free(vm->cpuid);
	memset(vm, 0, sizeof(*vm));
	vm->fd = vm->kvm = -1;
}

int kvm_vcpu_create(struct kvm_vm *vm, struct vcpu *v, int id)
{
	v->id = id;
	v->run_size = (size_t)vm->run_size;
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return -errno;
	v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		int e = errno;
		close(v->fd);
		v->fd = -1;
		return -e;
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, vm->cpuid) < 0)
		return -errno;
	int caps = ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	v->sync_regs = caps > 0 && (caps & KVM_SYNC_X86_REGS) && !getenv("PDVM_NO_SYNC_REGS");
	if (v->sync_regs)
		v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	/* XCR0 = x87|SSE|AVX: without it AVX instructions fault (fact 5). */
	struct kvm_xcrs x = { .nr_xcrs = 1 };
	x.xcrs[0].xcr = 0;
	x.xcrs[0].value = 7;
	if (ioctl(v->fd, KVM_SET_XCRS, &x) < 0)
		return -errno;
	return 0;
}

int kvm_vcpu_clear_events(struct vcpu *v)
{
	struct kvm_vcpu_events ev;

	if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	memset(&ev.exception, 0, sizeof(ev.exception));
	memset(&ev.interrupt, 0, sizeof(ev.interrupt));
	ev.nmi.injected = ev.nmi.pending = 0;
	ev.triple_fault.pending = 0;
	ev.exception_has_payload = 0;
	ev.exception_payload = 0;
	return ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? -errno : 0;
}

void kvm_vcpu_destroy(struct vcpu *v)
{
	/* KVM cannot destroy a single vCPU; unmapping and closing lets the
	 * kernel drop it with the VM. */
	if (v->run && v->run != MAP_FAILED)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	v->run = NULL;
}

int kvm_resync(struct kvm_vm *vm)
{
	static uint8_t dummy[4096] __attribute__((aligned(4096)));
	struct kvm_userspace_memory_region z = {
		.slot = RESYNC_SLOT, .guest_phys_addr = RESYNC_GPA,
		.memory_size = sizeof(dummy), .userspace_addr = (uint64_t)(uintptr_t)dummy,
	};
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &z) < 0)
		return -errno;
	z.memory_size = 0;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &z) < 0)
		return -errno;
	return 0;
}

int kvm_set_msrs(struct vcpu *v, const uint32_t *idx, const uint64_t *val, int n)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[8];
	} m;
	memset(&m, 0, sizeof(m));
	if (n > 8)
		return -EINVAL;
	m.h.nmsrs = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		m.e[i].index = idx[i];
		m.e[i].data = val[i];
	}
	int r = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return -errno;
	return r == n ? 0 : -EINVAL;
}

int vcpu_get_regs(struct vcpu *v, struct kvm_regs *r)
{
	if (v->sync_regs) {
		*r = v->run->s.regs.regs;
		return 0;
	}
	return ioctl(v->fd, KVM_GET_REGS, r) < 0 ? -errno : 0;
}

int vcpu_set_regs(struct vcpu *v, const struct kvm_regs *r)
{
	if (v->sync_regs) {
		/* KVM applies them at the next KVM_RUN, before anything else */
		v->run->s.regs.regs = *r;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
		return 0;
	}
	return ioctl(v->fd, KVM_SET_REGS, r) < 0 ? -errno : 0;
}
