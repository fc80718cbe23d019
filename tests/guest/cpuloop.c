/* cpuloop.c: CPU-bound work with no syscalls inside the timed part. Usage: cpuloop [MILLIONS]; prints the time. */
#include "guest.h"

int main(int argc, char **argv)
{
	long millions = argc > 1 ? strtol(argv[1], NULL, 0) : 200;
	uint64_t x = 88172645463325252ULL, acc = 0;
	static uint32_t table[4096]; /* some memory traffic, L1-resident */

	int64_t t0 = now_ns();
	for (long i = 0; i < millions * 1000000L; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		table[x & 4095] += (uint32_t)(x >> 32);
		acc += table[(x >> 20) & 4095];
	}
	int64_t el = now_ns() - t0;
	printf("cpuloop: %ld M iterations in %.3f ms (checksum %016llx)\n", millions, el / 1e6, (unsigned long long)acc);
	return 0;
}
