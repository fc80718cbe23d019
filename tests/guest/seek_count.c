/* seek_count.c: lseek(fd, 1, SEEK_CUR) on a regular file in a tight loop until STOPFILE exists, counting the calls; at the end the file offset must equal the count: a call lost or run twice across a pause, snapshot or restore shows. Usage: seek_count STOPFILE */
#include "guest.h"

#include <fcntl.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 2;
	printf("ready\n");
	fflush(stdout);
	long n = 0;
	for (;;) {
		/* raw: each one is exactly one system call */
		long r;
		__asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_lseek), "D"((long)fd), "S"(1L), "d"((long)SEEK_CUR)
				 : "rcx", "r11", "memory");
		if (r != n + 1) {
			printf("seek_count: call %ld returned %ld\n", n + 1, r);
			return 1;
		}
		n++;
		if (!(n & 1023) && access(argv[1], F_OK) == 0)
			break;
	}
	long off = lseek(fd, 0, SEEK_CUR);
	printf("seek_count: %ld calls, offset %ld: %s\n", n, off, off == n ? "equal" : "DIFFER");
	return off == n ? 0 : 1;
}
