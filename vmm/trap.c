/* trap.c: guest kernel area, per-vCPU trap state, and the backend probe. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "domain.h"
#include "trap.h"

extern const uint8_t pdvm_stub_start[], pdvm_stub_end[], pdvm_stub_vectors[];

#define MSR_STAR        0xc0000081
#define MSR_LSTAR       0xc0000082
#define MSR_CSTAR       0xc0000083
#define MSR_SFMASK      0xc0000084
#define MSR_KERNEL_GS   0xc0000102
#define PROBE_VA        0x1000UL        /* below USER_MIN: never a guest address */

#define KFLAGS_DATA (PTE_P | PTE_W | PTE_A | PTE_D | PTE_NX)
#define KFLAGS_CODE (PTE_P | PTE_A)

/* A kernel-area page: recorded, so that every new mm maps it too, and
 * mapped in every mm there is (each vCPU runs in whichever mm its thread's
 * process has). */
static int map_kernel_page(struct domain *d, gva_t va, uint64_t flags, gpa_t *gpa)
{
	if (d->nkpages == (int)ARRAY_SIZE(d->kpages))
		return -ENOMEM;
	gpa_t f = frames_alloc(&d->frames, false, false);
	if (f == FRAME_NONE)
		return -ENOMEM;
	d->kpages[d->nkpages++] = (struct kpage){ va, f, flags };
	for (struct mm *mm = d->mms; mm; mm = mm->next)
		if (pt_map(&mm->pt, va, f, PAGE_SIZE, flags, false))
			return -ENOMEM;
	frames_touch(&d->frames, f, PAGE_SIZE);
	if (gpa)
		*gpa = f;
	return 0;
}

/* The kernel area's contents come from pdvm's binary, never from an image:
 * stub code, GDT, IDT. */
static void fill_stub_page(struct domain *d, size_t off, gpa_t g)
{
	size_t stub_len = (size_t)(pdvm_stub_end - pdvm_stub_start);
	uint8_t *p = frames_host(&d->frames, g);
	memset(p, 0, PAGE_SIZE);
	if (off < stub_len)
		memcpy(p, pdvm_stub_start + off, MIN(PAGE_SIZE, stub_len - off));
	frames_touch(&d->frames, g, PAGE_SIZE);
}

static void fill_gdt(struct domain *d, gpa_t g)
{
	uint64_t *gdt = frames_host(&d->frames, g);
	memset(gdt, 0, PAGE_SIZE);
	gdt[SEL_KCODE / 8] = 0x00af9b000000ffffULL;
	gdt[SEL_KDATA / 8] = 0x00cf93000000ffffULL;
	gdt[0x20 / 8] = 0x00cffb000000ffffULL;   /* 32-bit user code, unused */
	gdt[SEL_UDATA / 8] = 0x00cff3000000ffffULL;
	gdt[SEL_UCODE / 8] = 0x00affb000000ffffULL;
	/* The TSS descriptor is only read by `ltr`; each vCPU's TR is loaded
	 * with its own base through KVM_SET_SREGS. */
	gdt[SEL_TSS / 8] = 0x0000890000000067ULL;
	frames_touch(&d->frames, g, PAGE_SIZE);
}

static void fill_idt(struct domain *d, gpa_t g)
{
	uint64_t *idt = frames_host(&d->frames, g);
	for (int v = 0; v < 256; v++) {
		uint64_t h = KERN_STUB + (uint64_t)(pdvm_stub_vectors - pdvm_stub_start) + (uint64_t)v * 16;
		/* int3 and into may be raised from user mode, as on Linux. */
		uint64_t type = (v == 3 || v == 4) ? 0xee : 0x8e;
		idt[2 * v] = (h & 0xffff) | ((uint64_t)SEL_KCODE << 16) | (type << 40) |
			     ((h >> 16) & 0xffff) << 48;
		idt[2 * v + 1] = h >> 32;
	}
	frames_touch(&d->frames, g, PAGE_SIZE);
}

int trap_kernel_init(struct domain *d)
{
	size_t stub_len = (size_t)(pdvm_stub_end - pdvm_stub_start);
	gpa_t g;
	for (size_t off = 0; off < stub_len; off += PAGE_SIZE) {
		if (map_kernel_page(d, KERN_STUB + off, KFLAGS_CODE, &g))
			return -ENOMEM;
		fill_stub_page(d, off, g);
	}
	if (map_kernel_page(d, KERN_GDT, KFLAGS_DATA, &g))
		return -ENOMEM;
	fill_gdt(d, g);
	if (map_kernel_page(d, KERN_IDT, KFLAGS_DATA, &g))
		return -ENOMEM;
	fill_idt(d, g);
	return 0;
}

int trap_kpages_rebuild(struct domain *d, struct mm *mm)
{
	size_t stub_pages = (size_t)(pdvm_stub_end - pdvm_stub_start + PAGE_SIZE - 1) / PAGE_SIZE;
	d->nkpages = 0;
	for (gva_t va = KERN_BASE; va < KERN_VCPU(MAX_THREADS); va += PAGE_SIZE) {
		if (va >= KERN_STUB + stub_pages * PAGE_SIZE && va < KERN_GDT)
			continue;
		if (va > KERN_IDT && va < KERN_VCPU(0)) {
			va = KERN_VCPU(0) - PAGE_SIZE;
			continue;
		}
		uint64_t e = pt_lookup(&mm->pt, va, NULL);
		if (!(e & PTE_P))
			continue;
		if ((e & PTE_U) || d->nkpages == (int)ARRAY_SIZE(d->kpages))
			return -EINVAL;
		gpa_t g = e & PTE_ADDR;
		if (g + PAGE_SIZE > d->frames.size)
			return -EINVAL;
		d->kpages[d->nkpages++] = (struct kpage){ va, g, e & ~PTE_ADDR };
		/* Whatever the image held there is replaced by pdvm's own. */
		if (va < KERN_GDT)
			fill_stub_page(d, va - KERN_STUB, g);
		else if (va == KERN_GDT)
			fill_gdt(d, g);
		else if (va == KERN_IDT)
			fill_idt(d, g);
		else
			memset(frames_host(&d->frames, g), 0, PAGE_SIZE);  /* TSS, stack: set per vCPU */
	}
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t dpl, bool code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xfffff;
	s->type = type;
	s->present = 1;
	s->dpl = dpl;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

uint64_t trap_cr4_protect(struct domain *d, const struct trap_backend *b)
{
	/* The ring-0 stub never touches or runs a user page: SMEP and SMAP
	 * make sure nothing at ring 0 ever does, where the CPU has them. On a
	 * PVM host no guest code runs at ring 0. */
	if (!b->idt)
		return 0;
	uint32_t ebx = kvm_cpuid_reg(&d->vm, 7, 0, 1);
	return ((ebx & (1u << 7)) ? CR4_SMEP : 0) | ((ebx & (1u << 20)) ? CR4_SMAP : 0);
}

int trap_vcpu_init(struct domain *d, struct thread *t)
{
	int i = t->vcpu.id;
	struct mm *mm = t->proc ? t->proc->mm : dom_mm(d);
	gpa_t tss;
	uint64_t slot = KERN_VCPU(i);
	uint64_t e;
	/* Reused vCPUs keep their pages. */
	if ((e = pt_lookup(&mm->pt, slot, NULL)) & PTE_P) {
		tss = e & PTE_ADDR;
		t->kstack_gpa = pt_lookup(&mm->pt, slot + PAGE_SIZE, NULL) & PTE_ADDR;
	} else {
		if (map_kernel_page(d, slot, KFLAGS_DATA, &tss) ||
		    map_kernel_page(d, slot + PAGE_SIZE, KFLAGS_DATA, &t->kstack_gpa))
			return -ENOMEM;
	}
	uint8_t *tp = frames_host(&d->frames, tss);
	frames_touch(&d->frames, tss, PAGE_SIZE);
	memset(tp, 0, 104);                     /* no IST stacks, no I/O bitmap */
	uint64_t rsp0 = slot + 2 * PAGE_SIZE;
	memcpy(tp + 4, &rsp0, 8);               /* RSP0 */
	uint16_t iopb = 104;                    /* no I/O bitmap: user `out` faults */
	memcpy(tp + 102, &iopb, 2);

	struct kvm_sregs s;
	if (ioctl(t->vcpu.fd, KVM_GET_SREGS, &s) < 0)
		return -errno;
	seg(&s.cs, SEL_UCODE, 11, 3, true);
	seg(&s.ss, SEL_UDATA, 3, 3, false);
	s.ds = s.es = s.fs = s.gs = s.ss;
	s.fs.base = t->fs_base;
	s.gs.base = t->gs_base;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.unusable = 1;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.selector = SEL_TSS;
	s.tr.base = slot;
	s.tr.limit = 0x67;
	s.tr.type = 11;
	s.tr.present = 1;
	s.gdt.base = KERN_GDT;
	s.gdt.limit = 0x4f;
	/* Before the probe (no backend yet) the stub's full set-up. */
	const struct trap_backend *b = d->trap ? d->trap : &trap_backend_ring0;
	s.idt.base = KERN_IDT;
	s.idt.limit = b->idt ? 0xfff : 0;
	s.cr0 = 0x80050033;
	s.cr3 = mm->pt.root;
	s.cr4 = (1 << 4) | (1 << 5) | (1 << 9) | (1 << 10) | (1 << 18); /* PSE PAE OSFXSR OSXMMEXCPT OSXSAVE */
	s.cr4 |= trap_cr4_protect(d, b);
	/* Recorded or replayed: rdtsc/rdtscp fault, to be logged or answered. */
	d->tsc_trap = d->trap && d->trap->tsd && d->spec->deterministic && d->spec->rr_tsc != RR_TSC_NATIVE;
	if (d->tsc_trap)
		s.cr4 |= CR4_TSD;
	s.efer = 0xd01;
	if (ioctl(t->vcpu.fd, KVM_SET_SREGS, &s) < 0)
		return -errno;
	t->loaded_gen = mm->root_gen;

	/* On a PVM host each vCPU's LSTAR is its exitless entry page
	 * (vmm/exl.c), unless the domain takes the exit for every call. */
	if (d->trap)
		exl_choose(d);
	uint32_t idx[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS };
	uint64_t val[] = { (0x23ULL << 48) | ((uint64_t)SEL_KCODE << 32), d->trap ? exl_lstar(d, t) : b->lstar, KERN_LSTAR_NONE,
			   0x47700 /* TF DF IF IOPL NT AC, like Linux */, 0 };
	int r = kvm_set_msrs(&t->vcpu, idx, val, 5);
	if (r)
		return r;
	t->in_stub = false;
	t->lstar = val[1];
	/* Without its pages (no memory) its LSTAR is the backend's again
	 * (exl_attach), so nothing is lost. An image whose exitless pages are
	 * not what pdvm makes is refused. */
	r = exl_attach(t);
	if (r)
		dom_log(d, "thread %d: no exitless page (vCPU %d): %s", t->tid, t->vcpu.id, strerror(-r));
	return r == -EINVAL ? r : 0;
}

static uint64_t drop_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	(void)pte, (void)va, (void)size, (void)arg;
	return 0;
}

int trap_set_lstar(struct thread *t, uint64_t lstar)
{
	uint32_t idx = MSR_LSTAR;
	int r = kvm_set_msrs(&t->vcpu, &idx, &lstar, 1);
	if (!r)
		t->lstar = lstar;
	return r;
}

int trap_exception(struct thread *t, struct trap *tr, int vector, uint32_t error_code)
{
	tr->kind = TRAP_EXCEPTION;
	tr->vector = vector;
	tr->error_code = error_code;
	tr->cr2 = 0;
	if (vector == 14) {
		struct kvm_sregs s;
		if (ioctl(t->vcpu.fd, KVM_GET_SREGS, &s) < 0)
			return -errno;
		tr->cr2 = s.cr2;
	}
	return 0;
}

int trap_take_queued(struct thread *t, struct trap *tr)
{
	struct kvm_vcpu_events ev;
	if (ioctl(t->vcpu.fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	/* A triple fault is a request inside KVM until the next KVM_RUN turns
	 * it into KVM_EXIT_SHUTDOWN; the exception behind it is the last one. */
	bool tf = (ev.flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT) && ev.triple_fault.pending;
	if (!ev.exception.injected && !ev.exception.pending && !tf)
		return 0;
	int r = trap_exception(t, tr, ev.exception.nr, ev.exception.has_error_code ? ev.exception.error_code : 0);
	if (r)
		return r;
	ev.exception.injected = 0;
	ev.exception.pending = 0;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.triple_fault.pending = 0;
	if (ioctl(t->vcpu.fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	return 1;
}

/*
 * The probe: one `syscall` at CPL3, run with the ring-0 stub fully in place
 * (its IDT, LSTAR at the supervisor-only stub page). How the call comes
 * back tells the host kind (DESIGN.md, "The platform"):
 *
 *   KVM_RUN ends with                    meaning                          backend
 *   IO out on the syscall port           `syscall` entered ring 0 at      ring0
 *                                        LSTAR: a standard KVM host
 *   IO out on the exception port, the    `syscall` stayed at CPL3, the    pvm
 *   stub's frame saying #PF at RIP ==    fetch at the supervisor-only
 *   LSTAR from CS 0x33                   LSTAR faulted, and the IDT
 *                                        delivered it: a PVM host
 *   SHUTDOWN with RIP == LSTAR           the same, as a triple fault      pvm
 *   anything else                        unknown: refused, saying what came back
 */
static const struct trap_backend *probe_classify(struct thread *t, char *err, size_t errlen)
{
	struct kvm_run *run = t->vcpu.run;
	struct trap tr = { .kind = TRAP_UNKNOWN };
	if (run->exit_reason == KVM_EXIT_IO) {
		int r = trap_backend_ring0.decode(t, &tr);
		if (r) {
			snprintf(err, errlen, "probe: reading the stub's trap frame: %s", strerror(-r));
			return NULL;
		}
		t->dom->guest_xcr0 = (t->regs.r13 << 32) | (uint32_t)t->regs.r12;
		if (tr.kind == TRAP_SYSCALL)
			return &trap_backend_ring0;
		if (tr.kind == TRAP_EXCEPTION && tr.vector == 14 && t->regs.rip == KERN_STUB)
			return &trap_backend_pvm;
		snprintf(err, errlen, "probe: a guest syscall came back as port %#x I/O (%s vector %d at RIP %#llx); "
			 "no trap backend fits this host", run->io.port, tr.kind == TRAP_EXCEPTION ? "exception" : "not an",
			 tr.vector, (unsigned long long)t->regs.rip);
		return NULL;
	}
	if (run->exit_reason == KVM_EXIT_SHUTDOWN) {
		struct kvm_regs k;
		int r = vcpu_get_regs(&t->vcpu, &k);
		if (!r && k.rip == KERN_STUB) {
			t->dom->guest_xcr0 = (k.r13 << 32) | (uint32_t)k.r12;
			return &trap_backend_pvm;
		}
		snprintf(err, errlen, "probe: a guest syscall shut the vCPU down at RIP %#llx (not at LSTAR): "
			 "no trap backend fits this host", r ? 0ULL : (unsigned long long)k.rip);
		return NULL;
	}
	snprintf(err, errlen, "probe: a guest syscall ended KVM_RUN with exit %u; no trap backend fits this host",
		 run->exit_reason);
	return NULL;
}

const struct trap_backend *trap_probe(struct domain *d, struct thread *t, char *err, size_t errlen)
{
	/* xor ecx,ecx; xgetbv; mov r12,rax; mov r13,rdx; mov eax,39; syscall; ud2:
	 * the XCR0 the guest's code sees comes back in r12/r13. */
	static const uint8_t code[] = { 0x31, 0xc9, 0x0f, 0x01, 0xd0, 0x49, 0x89, 0xc4, 0x49, 0x89, 0xd5,
					0xb8, 0x27, 0x00, 0x00, 0x00, 0x0f, 0x05, 0x0f, 0x0b };
	gpa_t f = frames_alloc(&d->frames, false, false);
	if (f == FRAME_NONE || pt_map(&dom_mm(d)->pt, PROBE_VA, f, PAGE_SIZE, PTE_P | PTE_U | PTE_A, false)) {
		snprintf(err, errlen, "probe: out of guest memory");
		return NULL;
	}
	memcpy(frames_host(&d->frames, f), code, sizeof(code));
	frames_touch(&d->frames, f, PAGE_SIZE);
	struct kvm_regs r = { .rip = PROBE_VA, .rflags = 0x202, .rax = 39 };
	if (vcpu_set_regs(&t->vcpu, &r) || ioctl(t->vcpu.fd, KVM_RUN, 0) < 0) {
		snprintf(err, errlen, "probe: KVM_RUN: %s", strerror(errno));
		return NULL;
	}
	const struct trap_backend *b = probe_classify(t, err, errlen);
	if (!b)
		return NULL;
	/* The probe page's frame stays allocated: one page, never reused, so
	 * no stale translation of it can matter. */
	if (pt_edit(&dom_mm(d)->pt, PROBE_VA, PAGE_SIZE, drop_pte, NULL)) {
		snprintf(err, errlen, "probe: out of guest memory");
		return NULL;
	}
	return b;
}
