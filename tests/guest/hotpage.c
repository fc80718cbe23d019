/* hotpage.c: rewrites the same four pages without pause, a system call (an exit) after each write, until STOPFILE exists; then checks that the counters add up to the writes it made — a migration's hot chunk that held back pages it then lost shows as a wrong sum. Usage: hotpage STOPFILE */
#include "guest.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: hotpage STOPFILE\n");
		return 2;
	}
	volatile uint64_t *m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	uint64_t n = 0;
	struct stat st;
	for (;;) {
		m[(n % 4) * 512]++;
		n++;
		syscall(SYS_getpid);
		if (n % 256 == 0 && stat(argv[1], &st) == 0)
			break;
	}
	uint64_t sum = 0;
	for (int i = 0; i < 4; i++)
		sum += m[i * 512];
	if (sum != n) {
		printf("counters add up to %llu, %llu writes made\n", (unsigned long long)sum, (unsigned long long)n);
		return 1;
	}
	printf("consistent\n");
	return 0;
}
