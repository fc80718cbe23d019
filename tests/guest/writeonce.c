/* writeonce.c: writes each page of a region once, in order, spinning on registers only between writes (no system call, no other store), then waits for STOPFILE and checks that every page holds its write — a migration or snapshot whose dirty tracking missed a write made through a cached translation shows as lost pages. Usage: writeonce PAGES SPIN_US STOPFILE */
#include "guest.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <x86intrin.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: writeonce PAGES SPIN_US STOPFILE\n");
		return 2;
	}
	size_t n = (size_t)atol(argv[1]);
	uint64_t spin = (uint64_t)atol(argv[2]);
	volatile uint64_t *m = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		m[i * 512] = 0; /* every page present (and pre-copied) before the writes */
	/* TSC ticks per microsecond, measured once (the only clock read). */
	int64_t t0 = now_ns();
	uint64_t c0 = __rdtsc();
	while (now_ns() - t0 < 20000000)
		;
	uint64_t per_us = (__rdtsc() - c0) / 20000;
	printf("ready\n");
	fflush(stdout);
	for (size_t i = 0; i < n; i++) {
		m[i * 512] = i + 1;
		uint64_t end = __rdtsc() + spin * per_us;
		while (__rdtsc() < end)
			;
	}
	struct stat st;
	while (stat(argv[3], &st) != 0)
		usleep(10000);
	size_t lost = 0;
	for (size_t i = 0; i < n; i++)
		lost += m[i * 512] != i + 1;
	if (lost)
		printf("lost %zu of %zu writes\n", lost, n);
	else
		printf("all %zu writes there\n", n);
	return lost != 0;
}
