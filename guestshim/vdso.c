/* vdso.c: the guest's vDSO — clock_gettime, gettimeofday and time from the VMM's vvar page and the TSC without a trap; clock_getres and getcpu as system calls. */
#include <stdint.h>

#include "vvar.h"

/* The linker script puts the vvar page just below the vDSO's first page:
 * RIP-relative access, so the vDSO needs no relocations. */
extern const struct pdvm_vvar vvar_page __attribute__((visibility("hidden")));

struct k_timespec { long tv_sec, tv_nsec; };
struct k_timeval { long tv_sec, tv_usec; };

#define CLOCK_REALTIME		0
#define CLOCK_MONOTONIC		1
#define CLOCK_MONOTONIC_RAW	4
#define CLOCK_REALTIME_COARSE	5
#define CLOCK_MONOTONIC_COARSE	6
#define CLOCK_BOOTTIME		7
#define CLOCK_TAI		11

static long sys2(long nr, long a, long b)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Nanoseconds on clock clk, or -1 when the vvar cannot serve it. */
static int64_t vvar_ns(int clk)
{
	const volatile struct pdvm_vvar *v = &vvar_page;
	uint32_t seq;
	int64_t base, ns;

	do {
		seq = v->seq;
		__asm__ volatile("" ::: "memory");
		if (seq & 1)
			continue;
		if (!v->enabled)
			return -1;
		switch (clk) {
		case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE: base = v->realtime_ns; break;
		case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_COARSE: base = v->monotonic_ns; break;
		case CLOCK_MONOTONIC_RAW: base = v->monotonic_raw_ns; break;
		case CLOCK_BOOTTIME: base = v->boottime_ns; break;
		case CLOCK_TAI: base = v->tai_ns; break;
		default: return -1;
		}
		uint64_t d = rdtsc() - v->tsc_base;
		if ((int64_t)d < 0)
			d = 0;
		ns = base + (int64_t)(((unsigned __int128)d * v->mult) >> v->shift);
		__asm__ volatile("" ::: "memory");
	} while ((seq & 1) || seq != v->seq);
	return ns;
}

long __vdso_clock_gettime(int clk, struct k_timespec *ts)
{
	int64_t ns = vvar_ns(clk);

	if (ns < 0)
		return sys2(228 /* clock_gettime */, clk, (long)ts);
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}

long __vdso_gettimeofday(struct k_timeval *tv, void *tz)
{
	int64_t ns = vvar_ns(CLOCK_REALTIME);

	if (ns < 0 || tz)
		return sys2(96 /* gettimeofday */, (long)tv, (long)tz);
	if (tv) {
		tv->tv_sec = ns / 1000000000;
		tv->tv_usec = ns % 1000000000 / 1000;
	}
	return 0;
}

long __vdso_time(long *t)
{
	int64_t ns = vvar_ns(CLOCK_REALTIME);

	if (ns < 0)
		return sys2(201 /* time */, (long)t, 0);
	if (t)
		*t = ns / 1000000000;
	return ns / 1000000000;
}

long __vdso_clock_getres(int clk, struct k_timespec *res)
{
	return sys2(229 /* clock_getres */, clk, (long)res);
}

/* The CPU the host thread runs on is the VMM's to know: a system call. */
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *unused)
{
	long r;

	__asm__ volatile("syscall" : "=a"(r) : "a"(309L /* getcpu */), "D"(cpu), "S"(node), "d"(unused)
			 : "rcx", "r11", "memory");
	return r;
}

long clock_gettime(int, struct k_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));
long gettimeofday(struct k_timeval *, void *) __attribute__((weak, alias("__vdso_gettimeofday")));
long time(long *) __attribute__((weak, alias("__vdso_time")));
long clock_getres(int, struct k_timespec *) __attribute__((weak, alias("__vdso_clock_getres")));
long getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
