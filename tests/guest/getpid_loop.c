/* getpid_loop.c: N raw getpid syscalls (no vDSO, no libc cache): the VMM's trap round trip. Usage: getpid_loop [N] */
#include "guest.h"

#include <sys/syscall.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 100000;
	long pid = 0;

	int64_t t0 = now_ns();
	for (long i = 0; i < n; i++) {
		long r;
		__asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_getpid) : "rcx", "r11", "memory");
		pid |= r;
	}
	int64_t el = now_ns() - t0;
	printf("getpid_loop: %ld calls in %.3f ms, %.3f us/call (pid %ld)\n", n, el / 1e6, n ? el / 1e3 / n : 0.0, pid);
	return pid == getpid() ? 0 : 1;
}
