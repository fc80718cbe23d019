/* dirtier.c: rewrites every word of MIB MiB, pass after pass, each pass first checking that the word still holds the previous pass's value — a page a migration failed to send again shows as stale — until STOPFILE exists. Usage: dirtier MIB STOPFILE */
#include "guest.h"

#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>

static uint64_t word(uint64_t pass, uint64_t i)
{
	return pass * 0x9e3779b97f4a7c15ULL ^ i;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: dirtier MIB STOPFILE\n");
		return 2;
	}
	size_t n = (size_t)atol(argv[1]) << 20, words = n / 8, stale = 0;
	uint64_t *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	struct stat st;
	for (uint64_t pass = 1;; pass++) {
		for (size_t i = 0; i < words; i++) {
			stale += pass > 1 && m[i] != word(pass - 1, i);
			m[i] = word(pass, i);
		}
		if (pass == 1) {
			printf("ready\n");
			fflush(stdout);
		}
		if (stat(argv[2], &st) == 0)
			break;
	}
	printf(stale ? "%zu words stale\n" : "consistent\n", stale);
	return stale != 0;
}
