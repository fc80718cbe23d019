/* read_loop.c: N reads of BYTES from /dev/zero into one buffer: the cost of a trap that carries data (the host
 * writes guest memory before the guest resumes), against native and bench/trapfloor's data floor. Usage: read_loop [N [BYTES [FILE]]] (FILE: /dev/zero; a file is read from offset 0 each time) */
#include "guest.h"

#include <fcntl.h>

static char buf[1 << 20];

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 0) : 2000;
	long len = argc > 2 ? strtol(argv[2], NULL, 0) : 65536;
	if (n < 1 || len < 1 || len > (long)sizeof(buf)) {
		fprintf(stderr, "usage: read_loop [N [BYTES <= %zu [FILE]]]\n", sizeof(buf));
		return 2;
	}
	const char *path = argc > 3 ? argv[3] : "/dev/zero";
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	int64_t t0 = now_ns();
	for (long i = 0; i < n; i++)
		if (pread(fd, buf, (size_t)len, 0) != len) {
			perror("pread");
			return 1;
		}
	int64_t el = now_ns() - t0;
	printf("read_loop: %ld reads of %ld bytes in %.3f ms, %.3f us/read\n", n, len, el / 1e6, el / 1e3 / n);
	return 0;
}
