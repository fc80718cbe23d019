/* exl.c: exitless system calls — the entry pages and slots in each address space (user pages run at CPL3 on PVM hosts, supervisor pages run at ring 0 on standard KVM), and what a kick finds of a thread inside its entry code. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "domain.h"
#include "exl.h"
#include "trap.h"

extern const uint8_t pdvm_exl_start[], pdvm_exl_posted[], pdvm_exl_done[], pdvm_exl_end[];
extern const uint8_t pdvm_exl0_start[], pdvm_exl0_posted[], pdvm_exl0_done[], pdvm_exl0_end[];

_Static_assert(EXL_FALLBACK == KERN_LSTAR_NONE, "the PVM entry code's exit is the pvm backend's LSTAR");
_Static_assert(EXL_FALLBACK0 == KERN_STUB, "the ring-0 entry code's exit is the stub's syscall `out`");
_Static_assert(EXL_FASTMAP + 64 <= 4096, "the call bitmap in the code page");
_Static_assert(MAX_THREADS_EXL == MAX_THREADS, "one entry page per vCPU id");
_Static_assert(EXL_END - KERN_BASE < (1ULL << 39), "inside the kernel area's PML4 slot");

/* One backend's entry code and the rights of its pages. */
struct exl_variant {
	const uint8_t *start, *posted, *done, *end;
	uint64_t code_flags, slot_flags;
};

static const struct exl_variant variant_pvm = {
	pdvm_exl_start, pdvm_exl_posted, pdvm_exl_done, pdvm_exl_end,
	PTE_P | PTE_U | PTE_A, PTE_P | PTE_U | PTE_W | PTE_A | PTE_D | PTE_NX,
};
/* Ring 0: supervisor pages — user code can neither read the entry code
 * nor touch a slot; SMEP lets ring 0 run the one, SMAP does not concern
 * either. */
static const struct exl_variant variant_ring0 = {
	pdvm_exl0_start, pdvm_exl0_posted, pdvm_exl0_done, pdvm_exl0_end,
	PTE_P | PTE_A, PTE_P | PTE_W | PTE_A | PTE_D | PTE_NX,
};

static const struct exl_variant *variant(const struct domain *d)
{
	return d->trap == &trap_backend_ring0 ? &variant_ring0 : &variant_pvm;
}

void exl_choose(struct domain *d)
{
	/* PDVM_SYSCALL_PATH=exit: the default for domains that name no path
	 * (the test suite's exit-path pass). */
	const char *e = getenv("PDVM_SYSCALL_PATH");
	int path = d->spec->syscall_path;
	if (path == SYSCALL_PATH_AUTO && e && !strcmp(e, "exit"))
		path = SYSCALL_PATH_EXIT;

	d->exl.on = (d->trap == &trap_backend_pvm || d->trap == &trap_backend_ring0) && path != SYSCALL_PATH_EXIT;
}

uint64_t exl_lstar(struct domain *d, struct thread *t)
{
	return d->exl.on && t->vcpu.id >= 0 && t->vcpu.id < MAX_THREADS ? EXL_CODE(t->vcpu.id) : d->trap->lstar;
}

/* What is mapped at va in mm: 0 and *g = FRAME_NONE if nothing, 0 and the
 * frame if a page with exactly these rights, -EINVAL if something else. */
static int mapped(struct mm *mm, gva_t va, uint64_t flags, gpa_t *g)
{
	uint64_t sz = 0, e = pt_lookup(&mm->pt, va, &sz);
	*g = FRAME_NONE;
	if (!(e & PTE_P))
		return 0;
	if (sz != PAGE_SIZE || (e & ~PTE_ADDR & ~(uint64_t)(PTE_A | PTE_D)) != (flags & ~(uint64_t)(PTE_A | PTE_D)) ||
	    (e & PTE_ADDR) + PAGE_SIZE > mm->frames->size)
		return -EINVAL;
	*g = e & PTE_ADDR;
	return 0;
}

static bool owned(struct domain *d, gpa_t g)
{
	uint64_t i = g / PAGE_SIZE;
	return d->exl.owned[i / 64] & (1ULL << (i % 64));
}

static void set_owned(struct domain *d, gpa_t g, bool on)
{
	uint64_t i = g / PAGE_SIZE;
	if (on)
		d->exl.owned[i / 64] |= 1ULL << (i % 64);
	else
		d->exl.owned[i / 64] &= ~(1ULL << (i % 64));
}

static uint64_t set_flags(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	(void)va, (void)size;
	return (pte & PTE_ADDR) | *(const uint64_t *)arg;
}

/* Takes over the entry pages and slots an address space maps when pdvm
 * first attaches a thread to it — an image's (the page-table check let
 * them through with exactly their rights); a new one has none. An image
 * from the other kind of host has the other variant's rights: its pages
 * get this one's (the code is rewritten at attach, a slot holds no call).
 * Each frame once: one mapped twice would be freed twice, or serve two
 * threads one slot: -EINVAL, the image is refused. */
static int adopt(struct domain *d, struct mm *mm)
{
	const struct exl_variant *v = variant(d), *o = v == &variant_pvm ? &variant_ring0 : &variant_pvm;
	mm->exl_adopted = true;
	for (int i = 0; i < 2 * MAX_THREADS; i++) {
		gpa_t g;
		gva_t va = EXL_CODE(i / 2) + (i % 2) * PAGE_SIZE;
		uint64_t want = i % 2 ? v->slot_flags : v->code_flags;
		if (mapped(mm, va, want, &g)) {
			uint64_t other = i % 2 ? o->slot_flags : o->code_flags;
			if (mapped(mm, va, other, &g) || pt_edit(&mm->pt, va, PAGE_SIZE, set_flags, &want))
				return -EINVAL;
		}
		if (g == FRAME_NONE)
			continue;
		if (owned(d, g))
			return -EINVAL;
		set_owned(d, g, true);
	}
	return 0;
}

static int map_one(struct domain *d, struct mm *mm, gva_t va, uint64_t flags, gpa_t *g)
{
	if (mapped(mm, va, flags, g))
		return -EINVAL;
	if (*g != FRAME_NONE)
		return owned(d, *g) ? 0 : -EINVAL;
	*g = frames_alloc(&d->frames, false, false);
	if (*g == FRAME_NONE)
		return -ENOMEM;
	set_owned(d, *g, true);
	memset(frames_host(&d->frames, *g), 0, PAGE_SIZE);
	frames_touch(&d->frames, *g, PAGE_SIZE);
	/* A place this address space never had a mapping: KVM walks the new
	 * entries at the first touch, no flush needed (DESIGN.md, fact 6). */
	if (pt_map(&mm->pt, va, *g, PAGE_SIZE, flags, false)) {
		set_owned(d, *g, false);
		frames_free(&d->frames, *g, 1, false);
		return -ENOMEM;
	}
	return 0;
}

int exl_attach(struct thread *t)
{
	struct domain *d = t->dom;
	int id = t->vcpu.id;
	if (!d->exl.on || id < 0 || id >= MAX_THREADS)
		return 0;
	struct mm *mm = t->proc ? t->proc->mm : dom_mm(d);
	const struct exl_variant *v = variant(d);
	gpa_t code = FRAME_NONE, slot = FRAME_NONE;
	int r = 0;
	if (!d->exl.owned && !(d->exl.owned = calloc((d->frames.nframes + 63) / 64, sizeof(uint64_t))))
		r = -ENOMEM;
	if (!r && !mm->exl_adopted)
		r = adopt(d, mm);
	/* The slot first: code at LSTAR without its slot would fault inside. */
	if (!r)
		r = map_one(d, mm, EXL_SLOT(id), v->slot_flags, &slot);
	if (!r)
		r = map_one(d, mm, EXL_CODE(id), v->code_flags, &code);
	if (r) {
		/* No entry page here: its calls take the backend's way (a
		 * ring-0 `syscall` to a missing page would fault at ring 0). */
		exl_detach(t);
		if (t->lstar != d->trap->lstar)
			trap_set_lstar(t, d->trap->lstar);
		return r;
	}
	/* The code always comes from pdvm's binary (an image's is ignored). */
	uint8_t *c = frames_host(&d->frames, code);
	memset(c, 0xcc, PAGE_SIZE);
	memcpy(c, v->start, (size_t)(v->end - v->start));
	memset(c + EXL_FASTMAP, 0, 64);
	for (unsigned nr = 0; nr < 512; nr++)
		if (exl_fast_nr(nr))
			c[EXL_FASTMAP + nr / 8] |= (uint8_t)(1u << (nr % 8));
	frames_touch(&d->frames, code, PAGE_SIZE);
	uint8_t *s = frames_host(&d->frames, slot);
	uint32_t spin = atomic_load(&d->exl.asleep) ? 0 : EXL_SPIN;
	__atomic_store_n((uint32_t *)(s + EXL_O_STATE), EXL_ST_IDLE, __ATOMIC_RELEASE);
	__atomic_store_n((uint32_t *)(s + EXL_O_SPIN), spin, __ATOMIC_RELAXED);
	frames_touch(&d->frames, slot, PAGE_SIZE);
	if (t->lstar != EXL_CODE(id) && (r = trap_set_lstar(t, EXL_CODE(id))))
		return r;
	d->exl.owner[id] = t;
	d->exl.mm[id] = mm;
	atomic_store(&d->exl.slot[id], s);
	if (atomic_load(&d->exl.nslots) <= id)
		atomic_store(&d->exl.nslots, id + 1);
	return 0;
}

void exl_detach(struct thread *t)
{
	struct domain *d = t->dom;
	int id = t->vcpu.id;
	if (id < 0 || id >= MAX_THREADS || d->exl.owner[id] != t)
		return;
	atomic_store(&d->exl.slot[id], NULL);
	d->exl.owner[id] = NULL;
	d->exl.mm[id] = NULL;
}

void exl_mm_release(struct domain *d, struct mm *mm)
{
	const struct exl_variant *v = variant(d);
	if (!d->exl.owned)
		return;
	for (int i = 0; i < MAX_THREADS; i++) {
		gpa_t s, c;
		/* A thread still attached here (killed by an exec, not yet
		 * gone) is served no more: its slot's frame is freed now. */
		if (d->exl.owner[i] && d->exl.mm[i] == mm)
			exl_detach(d->exl.owner[i]);
		if (!mapped(mm, EXL_SLOT(i), v->slot_flags, &s) && s != FRAME_NONE && owned(d, s)) {
			set_owned(d, s, false);
			frames_free(&d->frames, s, 1, false);
		}
		if (!mapped(mm, EXL_CODE(i), v->code_flags, &c) && c != FRAME_NONE && owned(d, c)) {
			set_owned(d, c, false);
			frames_free(&d->frames, c, 1, false);
		}
	}
}

void exl_free(struct domain *d)
{
	free(d->exl.owned);
	d->exl.owned = NULL;
	for (struct mm *mm = d->mms; mm; mm = mm->next)
		mm->exl_adopted = false;
	for (int i = 0; i < MAX_THREADS; i++) {
		atomic_store(&d->exl.slot[i], NULL);
		d->exl.owner[i] = NULL;
		d->exl.mm[i] = NULL;
	}
	atomic_store(&d->exl.nslots, 0);
}

static uint64_t slot_u64(const uint8_t *s, int off)
{
	return __atomic_load_n((const uint64_t *)(s + off), __ATOMIC_RELAXED);
}

bool exl_capture(struct thread *t)
{
	struct domain *d = t->dom;
	struct kvm_regs *r = &t->regs;
	const struct exl_variant *v = variant(d);
	int id = t->vcpu.id;
	if (!d->exl.on || id < 0 || id >= MAX_THREADS || r->rip < EXL_CODE(id) || r->rip >= EXL_SLOT(id))
		return false;
	uint64_t off = r->rip - EXL_CODE(id);
	uint8_t *s = atomic_load(&d->exl.slot[id]);
	if (off < (uint64_t)(v->posted - v->start) || !s) {
		/* Not posted yet: the registers are the syscall's. */
		r->rip = r->rcx - 2;
		r->rflags = r->r11;
		return true;
	}
	/* The server answers under the domain lock, which the caller holds:
	 * the call is either answered (DONE) or not begun, never half-done.
	 * A posted one is withdrawn, so the server never takes it later. */
	uint32_t st = EXL_ST_POSTED;
	__atomic_compare_exchange_n((uint32_t *)(s + EXL_O_STATE), &st, EXL_ST_IDLE, false,
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	bool served = off >= (uint64_t)(v->done - v->start) || st == EXL_ST_DONE ||
		      (st == EXL_ST_TAKEN && t->exl_done_pending);
	t->exl_done_pending = false;
	uint64_t rip = slot_u64(s, EXL_O_RIP), flags = slot_u64(s, EXL_O_FLAGS);
	/* Answered and not yet back in user code: the end of a call. */
	t->at_call = served;
	if (served) {
		r->rax = slot_u64(s, EXL_O_RET);
		r->rip = rip;
	} else {
		r->rax = slot_u64(s, EXL_O_NR);
		r->rip = rip - 2;
	}
	r->rcx = rip;
	r->r11 = flags;
	r->rflags = flags;
	__atomic_store_n((uint32_t *)(s + EXL_O_STATE), EXL_ST_IDLE, __ATOMIC_RELEASE);
	return true;
}

bool exl_image_pte_ok(uint64_t va, uint64_t pte)
{
	if (va < EXL_BASE || va >= EXL_END || (va & 0xfff))
		return false;
	uint64_t want = ((va - EXL_BASE) & 0x1000) ? variant_pvm.slot_flags : variant_pvm.code_flags;
	return (pte & ~PTE_ADDR & ~(uint64_t)(PTE_A | PTE_D)) == (want & ~(uint64_t)(PTE_A | PTE_D));
}
