/* vdso.c: maps the guest vDSO with its vvar page and keeps the vvar's time data (TSC base and clock values) current. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <x86intrin.h>

#include "domain.h"
#include "syscall.h"
#include "vdso.h"
#include "../guestshim/vvar.h"

extern const uint8_t pdvm_vdso_start[], pdvm_vdso_end[];

#define MSR_IA32_TSC	0x10
#define NS		1000000000LL
/* Beyond this distance between the TSC-extrapolated and the host's clock,
 * the calibration is wrong and the vDSO hands time back to system calls. */
#define MAX_SKEW_NS	(5 * 1000 * 1000LL)

/* PDVM_VDSO: unset (auto), "0" (no vDSO) or "force" (the TSC even when KVM
 * does not call it stable); read once. */
enum vdso_mode { VDSO_AUTO, VDSO_OFF, VDSO_FORCE };

static enum vdso_mode vdso_mode(void)
{
	static int mode = -1;

	if (mode < 0) {
		const char *e = getenv("PDVM_VDSO");
		mode = !e ? VDSO_AUTO : !strcmp(e, "0") ? VDSO_OFF : !strcmp(e, "force") ? VDSO_FORCE : VDSO_AUTO;
	}
	return (enum vdso_mode)mode;
}

/* The fast path is on: measured, and not turned off since. */
static bool vdso_fast(const struct domain *d)
{
	/* A recording sees time only through calls it logs (vmm/rr.h). */
	return d->vdso_calibrated && !d->vdso_off && !d->spec->deterministic;
}

static uint64_t vvar_pte(uint64_t pte, gva_t va, uint64_t size, void *arg)
{
	(void)va, (void)size;
	return (pte & ~PTE_ADDR) | *(const gpa_t *)arg;
}

gva_t vdso_map(struct domain *d)
{
	size_t len = PAGE_ALIGN((size_t)(pdvm_vdso_end - pdvm_vdso_start));

	d->vvar_gva = 0;
	if (vdso_mode() == VDSO_OFF)
		return 0;
	long a = mm_map(d, 0, PAGE_SIZE + len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS);
	if (a < 0) {
		dom_log(d, "vDSO: cannot map it (%ld): programs make system calls instead", a);
		return 0;
	}
	gva_t base = (gva_t)a + PAGE_SIZE;
	/* The vvar page stays zero (fast path off) until vdso_calibrate. */
	if (mm_poke(d, base, pdvm_vdso_start, (size_t)(pdvm_vdso_end - pdvm_vdso_start)) ||
	    mm_protect(d, base, len, PROT_READ | PROT_EXEC) < 0) {
		mm_unmap(d, (gva_t)a, PAGE_SIZE + len);
		dom_log(d, "vDSO: cannot load it: programs make system calls instead");
		return 0;
	}
	/* One vvar frame for every process: the first mapping's frame is
	 * kept for the domain's life; later ones map it in its place. */
	uint64_t e = pt_lookup(&dom_mm(d)->pt, (gva_t)a, NULL);
	if (!d->frames.pinned) {
		d->frames.pinned = e & PTE_ADDR;
	} else if ((e & PTE_ADDR) != d->frames.pinned) {
		gpa_t own = e & PTE_ADDR;
		if (pt_edit(&dom_mm(d)->pt, (gva_t)a, PAGE_SIZE, vvar_pte, &d->frames.pinned)) {
			mm_unmap(d, (gva_t)a, PAGE_SIZE + len);
			return 0;
		}
		mm_commit(d);
		frames_free(&d->frames, own, 1, true);
	}
	d->vvar_gva = (gva_t)a;
	dom_mm(d)->vvar_gva = (gva_t)a;
	return base;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NS + ts->tv_nsec;
}

static int64_t host_ns(clockid_t c)
{
	struct timespec ts;
	return clock_gettime(c, &ts) ? 0 : ts_ns(&ts);
}

/* The guest TSC read through the vCPU, bracketed by host TSC reads: the
 * tightest of a few tries gives guest - host. */
static bool measure_offset(struct thread *t, int64_t *off)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m;
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 8; i++) {
		memset(&m, 0, sizeof(m));
		m.h.nmsrs = 1;
		m.e.index = MSR_IA32_TSC;
		uint64_t h1 = __rdtsc();
		if (ioctl(t->vcpu.fd, KVM_GET_MSRS, &m) != 1)
			return false;
		uint64_t h2 = __rdtsc();
		if (h2 - h1 < best) {
			best = h2 - h1;
			*off = (int64_t)(m.e.data - (h1 + (h2 - h1) / 2));
		}
	}
	return true;
}

void vdso_calibrate(struct domain *d)
{
	d->vdso_calibrated = false;
	d->vvar_have_base = false;
	if (!d->vvar_gva)
		return;
	/* Time data exists from the start, marked disabled: the vDSO makes
	 * system calls until the first trap has measured the TSC (KVM moves
	 * a vCPU's TSC offset at its first run). */
	vdso_update(d);
}

void vdso_trap_check(struct domain *d, struct thread *t)
{
	if (!d->vvar_gva || d->vdso_off)
		return;
	if (d->vdso_calibrated && (++d->vdso_traps & 255))
		return;
	uint64_t n = host_mono_ns();
	if (d->vdso_calibrated && n - d->vdso_checked_ns < NS / 2)
		return;
	d->vdso_checked_ns = n;
	int64_t off;
	if (!d->vdso_calibrated) {
		int khz = ioctl(t->vcpu.fd, KVM_GET_TSC_KHZ, 0);
		bool force = vdso_mode() == VDSO_FORCE;
		const char *why = khz <= 0 ? "no TSC frequency (KVM_GET_TSC_KHZ)"
				  : !measure_offset(t, &off) ? "cannot read the guest TSC (KVM_GET_MSRS)"
				  : !force && !kvm_tsc_stable(&d->vm) ? "KVM does not report a stable TSC (KVM_CLOCK_TSC_STABLE)"
				  : NULL;
		d->vdso_calibrated = true;
		if (why) {
			dom_log(d, "vDSO: %s: clock_gettime and friends make system calls", why);
			d->vdso_off = true;
			return;
		}
		/* ns = ticks * mult >> 32 */
		d->tsc_mult = (uint64_t)((((unsigned __int128)1000000) << 32) / (unsigned)khz);
		d->tsc_khz = (uint64_t)khz;
		d->tsc_offset = off;
		d->vvar_have_base = false;
		vdso_update(d);
		dom_log(d, "vDSO: time from the TSC (%d kHz%s), no trap per call", khz,
			force ? ", forced on" : "");
		return;
	}
	/* Re-measured now and then: a TSC that moves against the host's
	 * (by over 100 us) turns the fast path off for good. */
	if (!measure_offset(t, &off))
		return;
	int64_t moved = off - d->tsc_offset, limit = (int64_t)d->tsc_khz / 10;
	if ((moved > limit || moved < -limit) && vdso_mode() != VDSO_FORCE) {
		dom_log(d, "vDSO: the guest TSC moved %lld ticks against the host's: "
			"clock_gettime and friends make system calls from now on", (long long)moved);
		d->vdso_off = true;
		vdso_update(d);
		return;
	}
	d->tsc_offset = off;
	vdso_update(d);
}

void vdso_update(struct domain *d)
{
	if (!d->vvar_gva)
		return;
	struct pdvm_vvar v = { .version = PDVM_VVAR_VERSION, .shift = 32, .mult = d->tsc_mult };
	uint64_t h1 = __rdtsc();
	int64_t real = host_ns(CLOCK_REALTIME), mono = host_ns(CLOCK_MONOTONIC);
	int64_t raw = host_ns(CLOCK_MONOTONIC_RAW), boot = host_ns(CLOCK_BOOTTIME);
	int64_t tai = host_ns(CLOCK_TAI);
	uint64_t h2 = __rdtsc();

	v.tsc_base = h1 + (h2 - h1) / 2 + (uint64_t)d->tsc_offset;
	v.realtime_ns = real;
	v.monotonic_ns = mono + d->mono_offset_ns;
	v.monotonic_raw_ns = raw + d->mono_offset_ns;
	v.boottime_ns = boot + d->mono_offset_ns;
	v.tai_ns = tai;
	v.enabled = vdso_fast(d);
	if (v.enabled && d->vvar_have_base) {
		/* Never behind what the guest may already have read from the
		 * old base; and a TSC that wanders off turns the vDSO off. */
		const struct pdvm_vvar *o = &d->vvar_last;
		int64_t ext = o->monotonic_ns +
			      (int64_t)(((unsigned __int128)(v.tsc_base - o->tsc_base) * o->mult) >> o->shift);
		int64_t skew = ext - v.monotonic_ns;
		if (skew > MAX_SKEW_NS || skew < -MAX_SKEW_NS) {
			dom_log(d, "vDSO: the TSC is %lld ns off the host clock: time comes from system calls now",
				(long long)skew);
			d->vdso_off = true;
			v.enabled = 0;
		} else if (skew > 0) {
			v.monotonic_ns += skew;
			v.monotonic_raw_ns += skew;
			v.boottime_ns += skew;
		}
	}
	/* Seqlock: odd while writing (the guest retries), even when done.
	 * The frame is shared by every process's mapping. */
	if (!d->frames.pinned)
		return;
	uint8_t *page = frames_host(&d->frames, d->frames.pinned);
	frames_touch(&d->frames, d->frames.pinned, PAGE_SIZE);
	uint32_t seq = d->vvar_last.seq + 1;
	memcpy(page, &seq, sizeof(seq));
	atomic_thread_fence(memory_order_release);
	v.seq = seq;
	memcpy(page + 8, (const uint8_t *)&v + 8, sizeof(v) - 8);
	atomic_thread_fence(memory_order_release);
	v.seq = ++seq;
	memcpy(page, &seq, sizeof(seq));
	d->vvar_last = v;
	d->vvar_have_base = true;
	d->vvar_updated_ns = (uint64_t)mono;
}

