/* rrtsc.c: the time-stamp counter read by rdtsc and rdtscp — the values differ run to run; where the backend traps them (the ring-0 backend) a replay prints the recording's — and whether CPUID offers RDRAND and RDSEED. Usage: rrtsc [N] */
#include "guest.h"

#include <cpuid.h>
#include <x86intrin.h>

#define FNV_BASIS 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++, v >>= 8)
		h = (h ^ (v & 0xff)) * FNV_PRIME;
	return h;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	uint64_t h = FNV_BASIS, back = 0, first = __rdtsc(), last = first;
	unsigned int aux = 0;

	for (long i = 0; i < n; i++) {
		uint64_t a = __rdtsc(), b = __rdtscp(&aux);
		back += b < a || a < last;
		h = fnv(fnv(h, a), b ^ ((uint64_t)aux << 48));
		last = b;
	}
	printf("%ld reads, tsc_hash %016llx, %llu backwards\n", n, (unsigned long long)h, (unsigned long long)back);
	printf("low bits of the last: %llu\n", (unsigned long long)(last & 0xffff));
	unsigned int a, b, c, d;
	int rdrand = __get_cpuid(1, &a, &b, &c, &d) && (c >> 30 & 1);
	int rdseed = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 18 & 1);
	printf("rdrand offered: %d, rdseed offered: %d\n", rdrand, rdseed);
	return back != 0;
}
