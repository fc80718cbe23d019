/* vdsotest.c: time through the vDSO — present in auxv, monotonic over many calls, in step with the system calls, and the fallback for other clocks. */
#include "guest.h"

#include <sched.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <sys/time.h>

static int64_t ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static int64_t sys_ns(int clk)
{
	struct timespec t;
	syscall(SYS_clock_gettime, clk, &t);
	return ns(&t);
}

static int64_t vdso_ns(int clk)
{
	struct timespec t;
	clock_gettime(clk, &t);
	return ns(&t);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct timespec a, b;
	int backwards = 0;

	check(getauxval(AT_SYSINFO_EHDR) != 0, "AT_SYSINFO_EHDR names a vDSO");

	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (ns(&b) < ns(&a))
			backwards++;
		a = b;
	}
	check(backwards == 0, "CLOCK_MONOTONIC never goes backwards over %ld calls (%d did)", n, backwards);

	/* In step with the system call, both ways round (the trap itself
	 * takes up to a few hundred us in an emulated machine). */
	static const int clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME, CLOCK_MONOTONIC_RAW };
	static const char *names[] = { "MONOTONIC", "REALTIME", "BOOTTIME", "MONOTONIC_RAW" };
	for (int c = 0; c < 4; c++) {
		int64_t s1 = sys_ns(clocks[c]), v = vdso_ns(clocks[c]), s2 = sys_ns(clocks[c]);
		check(v >= s1 - 2000000 && v <= s2 + 2000000, "CLOCK_%s: vDSO %lld within [%lld, %lld] +-2ms of the system call",
		      names[c], (long long)v, (long long)s1, (long long)s2);
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	int64_t r = sys_ns(CLOCK_REALTIME);
	check(llabs((int64_t)tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL - r) < 5000000LL,
	      "gettimeofday agrees with CLOCK_REALTIME");
	time_t t1 = time(NULL);
	check(llabs((long long)t1 - r / 1000000000LL) <= 1, "time() agrees with CLOCK_REALTIME");

	/* Clocks the vvar does not carry come from the system call. */
	struct timespec cpu;
	check(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu) == 0, "CLOCK_PROCESS_CPUTIME_ID still works");
	unsigned cpu_no = 99, node = 99;
	check(getcpu(&cpu_no, &node) == 0 && cpu_no < 4096, "getcpu works");

	/* A sleep is measured the same by both. */
	int64_t v0 = vdso_ns(CLOCK_MONOTONIC);
	struct timespec req = { 0, 50 * 1000 * 1000 };
	nanosleep(&req, NULL);
	int64_t dv = vdso_ns(CLOCK_MONOTONIC) - v0;
	check(dv >= 50000000 && dv < 2000000000, "a 50 ms sleep measures %lld ns by the vDSO", (long long)dv);
	return done_testing();
}
