/* guest.h: tiny TAP-ish check helpers shared by the guest test programs (header-only, static). */
#ifndef PDVM_GUEST_H
#define PDVM_GUEST_H

/* Must come before any libc header: the programs use GNU extensions (statx, dup3, pipe2, ...). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_test_no;
static int g_failures;

/* Records one check: prints "ok N - what" or "not ok N - what" (plus errno when failing). */
__attribute__((format(printf, 2, 3), unused))
static int check(int cond, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	g_test_no++;
	printf("%s %d - ", cond ? "ok" : "not ok", g_test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!cond) {
		printf(" (errno %d %s)", saved, strerror(saved));
		g_failures++;
	}
	printf("\n");
	fflush(stdout);
	errno = saved;
	return cond;
}

/* Symbolic errno name ("EFAULT"), or the number for unknown values. */
__attribute__((unused))
static const char *errname(int e)
{
	static char num[4][16];
	static int slot;
	const char *n = e ? strerrorname_np(e) : "0";

	if (n)
		return n;
	slot = (slot + 1) % 4;
	snprintf(num[slot], sizeof(num[slot]), "%d", e);
	return num[slot];
}

/* Prints "what: RESULT", or "what: ENAME" for a call that failed (r < 0,
 * errno set): the lines the comparisons with a native run read. */
__attribute__((unused))
static void show(const char *what, long r)
{
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %ld\n", what, r);
}

/* Checks that a call failed with -1 and a specific errno. */
#define CHECK_ERR(expr, err, what)                                             \
	do {                                                                   \
		errno = 0;                                                     \
		long r_ = (long)(expr);                                        \
		int e_ = errno;                                                \
		check(r_ == -1 && e_ == (err), "%s: want -1/%s got %ld/%s",    \
		      (what), errname(err), r_,                        \
		      errname(e_));                         \
	} while (0)

/* Checks that a call succeeded (result >= 0). */
#define CHECK_OK(expr, what)                                                   \
	do {                                                                   \
		errno = 0;                                                     \
		long r_ = (long)(expr);                                        \
		check(r_ >= 0, "%s (ret %ld)", (what), r_);                    \
	} while (0)

/* Monotonic time in nanoseconds. */
__attribute__((unused))
static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Prints the summary and returns the exit status main should return. */
__attribute__((unused))
static int done_testing(void)
{
	printf("1..%d\n", g_test_no);
	if (g_failures)
		printf("# %d of %d checks FAILED\n", g_failures, g_test_no);
	else
		printf("# all %d checks passed\n", g_test_no);
	fflush(stdout);
	return g_failures ? 1 : 0;
}

#endif
