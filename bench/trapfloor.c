/*
 * trapfloor.c: measures the platform's raw syscall-trap round trip with a minimal KVM guest (no VMM logic), the
 * floor against which pdvm's per-syscall cost is compared. Usage: trapfloor [N]
 *
 * A CPL3 guest loop runs `mov eax, 39; syscall` N times. Two platform kinds:
 *  - PVM-style (the measured hosts here): a CPL3 syscall ends KVM_RUN with KVM_EXIT_SHUTDOWN and RIP == LSTAR;
 *    the round trip is that exit plus KVM_SET_REGS to resume at RCX.
 *  - standard KVM (VMX/SVM, e.g. the nested VM): syscall enters guest ring 0 at LSTAR, where a two-instruction
 *    stub does `out %al, $0x10; sysretq`: the round trip is one KVM_EXIT_IO.
 * It tries the PVM style first and falls back when the first exit is anything else.
 * Prints: "trapfloor: mode=MODE us_per_trap=X traps=N".
 *
 * With BYTES (trapfloor N BYTES), each round trip also carries data the way a read(2) does: before resuming, the
 * host pread()s BYTES of /dev/zero into guest memory. It prints the same N preads into a host buffer, without
 * traps, as the native reference: "trapfloor-data: bytes=B us_per_trap=X native_us_per_read=Y". X - Y is what
 * the platform charges a data-carrying trap beyond a native read (in the nested TCG VM, about the plain floor).
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define KVA 0x40000000ULL /* guest VA == GPA + KVA */
#define MEMSZ (4UL << 20)
#define CODE_OFF 0x10000
#define STUB_OFF 0x20000       /* ring-0 stub page (standard mode), supervisor-only */
#define GDT_OFF 0x5000
#define LSTAR_PVM (KVA + 0x3ff000) /* unmapped: "RIP == LSTAR" marks a syscall */
#define MMIO_GPA 0xd0000000ULL
#define DATA_OFF 0x100000 /* up to 2 MiB of guest memory that data-carrying traps fill */
#define DATA_MAX (2UL << 20)
#define IDX(va, l) (((va) >> (12 + 9 * ((l)-1))) & 0x1ff)

struct vm {
	int kvm, vm, cpu;
	uint8_t *mem;
	struct kvm_run *run;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *what)
{
	printf("trapfloor: mode=none us_per_trap=n/a (%s: %m)\n", what);
	exit(1);
}

/* A VM with 4 MiB at GPA 0 mapped at KVA with user pages, the last page pointing at MMIO_GPA. With standard set,
 * the stub page is supervisor-only and LSTAR points at it, else LSTAR is unmapped. */
static void vm_new(struct vm *v, int standard, long n)
{
	v->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm < 0)
		die("/dev/kvm");
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0)
		die("KVM_CREATE_VM");
	v->mem = mmap(NULL, MEMSZ, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED)
		die("mmap");
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = MEMSZ, .userspace_addr = (uint64_t)v->mem };
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &r))
		die("memslot");
	v->cpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->cpu < 0)
		die("KVM_CREATE_VCPU");
	int sz = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	v->run = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, v->cpu, 0);
	if (v->run == MAP_FAILED)
		die("mmap kvm_run");
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 128 * sizeof(struct kvm_cpuid_entry2));
	c->nent = 128;
	if (ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, c) || ioctl(v->cpu, KVM_SET_CPUID2, c))
		die("cpuid");
	free(c);

	uint64_t *pml4 = (void *)(v->mem + 0x1000), *pdpt = (void *)(v->mem + 0x2000);
	uint64_t *pd = (void *)(v->mem + 0x3000), *pt = (void *)(v->mem + 0x4000);
	pml4[IDX(KVA, 4)] = 0x2000 | 7;
	pdpt[IDX(KVA, 3)] = 0x3000 | 7;
	pd[IDX(KVA, 2)] = 0x4000 | 7;
	for (int i = 0; i < 510; i++)
		pt[i] = (i * 0x1000ULL) | 7;
	pt[511] = MMIO_GPA | 7;
	if (standard) {
		pt[STUB_OFF >> 12] = STUB_OFF | 3; /* present, writable, supervisor */
		/* out %al, $0x10; sysretq */
		static const uint8_t stub[] = { 0xe6, 0x10, 0x48, 0x0f, 0x07 };
		memcpy(v->mem + STUB_OFF, stub, sizeof(stub));
		/* GDT: null, -, kernel code 0x10, kernel data 0x18, user code32 0x20, user data 0x28, user code 0x30 */
		uint64_t *gdt = (void *)(v->mem + GDT_OFF);
		gdt[2] = 0x00209b0000000000ULL;
		gdt[3] = 0x0000930000000000ULL;
		gdt[4] = 0x00cffb000000ffffULL;
		gdt[5] = 0x0000f30000000000ULL;
		gdt[6] = 0x0020fb0000000000ULL;
	}

	struct kvm_sregs s;
	if (ioctl(v->cpu, KVM_GET_SREGS, &s))
		die("KVM_GET_SREGS");
	struct kvm_segment cs = { .limit = 0xfffff, .present = 1, .type = 11, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment ds = { .limit = 0xfffff, .present = 1, .type = 3, .s = 1, .db = 1, .g = 1 };
	cs.selector = 0x33;
	cs.dpl = 3;
	ds.selector = 0x2b;
	ds.dpl = 3;
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.tr.present = 1;
	s.tr.type = 11;
	s.tr.limit = 0x67;
	if (standard) {
		s.gdt.base = KVA + GDT_OFF;
		s.gdt.limit = 8 * 8 - 1;
	}
	s.cr0 = 0x80050033;
	s.cr3 = 0x1000;
	s.cr4 = (1 << 5) | (1 << 9) | (1 << 10) | (1 << 18);
	s.efer = 0xd01;
	if (ioctl(v->cpu, KVM_SET_SREGS, &s))
		die("KVM_SET_SREGS");
	struct kvm_xcrs x = { .nr_xcrs = 1 };
	x.xcrs[0].value = 7;
	ioctl(v->cpu, KVM_SET_XCRS, &x);
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[3];
	} m = { .h.nmsrs = 3 };
	m.e[0].index = 0xc0000081; /* STAR: sysret CS = 0x23 + 16, SS = 0x23 + 8; syscall CS = 0x10 */
	m.e[0].data = (0x23ULL << 48) | (0x10ULL << 32);
	m.e[1].index = 0xc0000082; /* LSTAR */
	m.e[1].data = standard ? KVA + STUB_OFF : LSTAR_PVM;
	m.e[2].index = 0xc0000084; /* SFMASK: IF */
	m.e[2].data = 0x200;
	if (ioctl(v->cpu, KVM_SET_MSRS, &m) != 3)
		die("KVM_SET_MSRS");

	/* mov r12, n; 1: mov eax, 39; syscall; dec r12; jnz 1b; mov rdx, MMIO; mov [rdx], eax; jmp . */
	uint64_t mmio = KVA + 511 * 0x1000ULL;
	uint8_t code[] = { 0x49, 0xbc, 0, 0, 0, 0, 0, 0, 0, 0, 0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0x49, 0xff, 0xcc,
			   0x75, 0xf4, 0x48, 0xba, 0, 0, 0, 0, 0, 0, 0, 0, 0x89, 0x02, 0xeb, 0xfe };
	memcpy(code + 2, &n, 8);
	memcpy(code + 24, &mmio, 8);
	memcpy(v->mem + CODE_OFF, code, sizeof(code));
	struct kvm_regs g = { .rip = KVA + CODE_OFF, .rflags = 0x202, .rsp = KVA + 0x8000 };
	if (ioctl(v->cpu, KVM_SET_REGS, &g))
		die("KVM_SET_REGS");
}

static void vm_free(struct vm *v)
{
	close(v->cpu);
	close(v->vm);
	close(v->kvm);
	munmap(v->mem, MEMSZ);
}

static int data_fd = -1;
static size_t data_len;

/* A data-carrying round trip fills guest memory as a read would. */
static int carry(struct vm *v)
{
	return data_len && pread(data_fd, v->mem + DATA_OFF, data_len, 0) != (ssize_t)data_len ? -1 : 0;
}

/* PVM style: returns traps done, or -1 if the first exit is not a "RIP == LSTAR" shutdown. */
static long run_pvm(struct vm *v, double *secs)
{
	long traps = 0;
	double t0 = now();

	for (;;) {
		if (ioctl(v->cpu, KVM_RUN, 0))
			return traps ? traps : -1;
		if (v->run->exit_reason == KVM_EXIT_MMIO)
			break;
		struct kvm_regs r;
		ioctl(v->cpu, KVM_GET_REGS, &r);
		if (v->run->exit_reason != KVM_EXIT_SHUTDOWN || r.rip != LSTAR_PVM)
			return traps ? traps : -1;
		traps++;
		if (carry(v))
			return -1;
		r.rip = r.rcx;
		r.rflags = r.r11;
		r.rax = 0;
		ioctl(v->cpu, KVM_SET_REGS, &r);
	}
	*secs = now() - t0;
	return traps;
}

/* Standard style: every round trip is one KVM_EXIT_IO on port 0x10. */
static long run_standard(struct vm *v, double *secs)
{
	long traps = 0;
	double t0 = now();

	for (;;) {
		if (ioctl(v->cpu, KVM_RUN, 0))
			return -1;
		if (v->run->exit_reason == KVM_EXIT_MMIO)
			break;
		if (v->run->exit_reason != KVM_EXIT_IO || v->run->io.port != 0x10) {
			struct kvm_regs r;
			ioctl(v->cpu, KVM_GET_REGS, &r);
			fprintf(stderr, "trapfloor: standard: unexpected exit %u at rip %llx\n", v->run->exit_reason,
				(unsigned long long)r.rip);
			return -1;
		}
		traps++;
		if (carry(v))
			return -1;
	}
	*secs = now() - t0;
	return traps;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 20000;
	long bytes = argc > 2 ? strtol(argv[2], NULL, 0) : 0;
	if (n < 1 || bytes < 0 || (size_t)bytes > DATA_MAX) {
		fprintf(stderr, "usage: trapfloor [N [BYTES <= %lu]]\n", DATA_MAX);
		return 2;
	}
	data_len = (size_t)bytes;
	if (data_len && (data_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC)) < 0)
		die("/dev/zero");
	struct vm v;
	double secs = 0;

	vm_new(&v, 0, n);
	long traps = run_pvm(&v, &secs);
	vm_free(&v);
	const char *mode = "pvm";
	if (traps != n) {
		vm_new(&v, 1, n);
		traps = run_standard(&v, &secs);
		vm_free(&v);
		mode = "standard";
	}
	if (traps != n) {
		printf("trapfloor: mode=none us_per_trap=n/a (neither trap style worked)\n");
		return 1;
	}
	printf("trapfloor: mode=%s us_per_trap=%.3f traps=%ld\n", mode, secs * 1e6 / traps, traps);
	if (data_len) {
		char *buf = malloc(data_len);
		double t0 = now();
		for (long i = 0; buf && i < n; i++)
			if (pread(data_fd, buf, data_len, 0) != (ssize_t)data_len)
				die("pread");
		double native = now() - t0;
		free(buf);
		printf("trapfloor-data: bytes=%zu us_per_trap=%.3f native_us_per_read=%.3f\n", data_len,
		       secs * 1e6 / traps, native * 1e6 / n);
	}
	return 0;
}
