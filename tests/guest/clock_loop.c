/* clock_loop.c: N clock_gettime(CLOCK_MONOTONIC) calls through libc (the vDSO when there is one). Usage: clock_loop [N] */
#include "guest.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 100000;
	struct timespec ts;
	long acc = 0;

	int64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		acc += ts.tv_nsec & 1;
	}
	int64_t el = now_ns() - t0;
	printf("clock_loop: %ld calls in %.3f ms, %.3f us/call (%ld)\n", n, el / 1e6, n ? el / 1e3 / n : 0.0, acc);
	return 0;
}
