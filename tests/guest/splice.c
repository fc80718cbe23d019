/* splice.c: copy_file_range, splice, tee and vmsplice between files, pipes and sockets as an unprivileged program sees them, printed so that a native run and a domain's can be compared line by line. Usage: splice WRITABLE-DIR */
#include "guest.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>

static void *volatile bad_ptr = (void *)8;
#define BAD bad_ptr

static volatile sig_atomic_t sigpipes;

static void on_sigpipe(int sig)
{
	(void)sig;
	sigpipes++;
}

/* The file's bytes from off, n of them, as text. */
static void show_file(const char *what, const char *path, off_t off, size_t n)
{
	char b[128] = "";
	int fd = open(path, O_RDONLY);
	ssize_t r = pread(fd, b, n < sizeof(b) - 1 ? n : sizeof(b) - 1, off);
	close(fd);
	for (ssize_t i = 0; i < r; i++)
		if (!b[i])
			b[i] = '.';     /* a hole */
	printf("%s: \"%.*s\"\n", what, (int)(r < 0 ? 0 : r), b);
}

static void show_pipe(const char *what, int fd)
{
	char b[128];
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	ssize_t r = read(fd, b, sizeof(b));
	fcntl(fd, F_SETFL, fl);
	if (r < 0)
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: \"%.*s\"\n", what, (int)r, b);
}

static int wfd;

/* Writes into the pipe a little later: the blocking calls must wait for it. */
static void *late_writer(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	if (write(wfd, "late", 4) != 4)
		return (void *)1;
	return NULL;
}

static void copy_file_range_checks(void)
{
	static char big[100000];
	loff_t oi, oo;
	int p[2];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	int a = open("a", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (write(a, big, sizeof(big)) != (ssize_t)sizeof(big))
		exit(2);
	lseek(a, 0, SEEK_SET);
	int b = open("b", O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("copy_file_range whole file", copy_file_range(a, NULL, b, NULL, sizeof(big), 0));
	show("positions after", lseek(a, 0, SEEK_CUR) * 1000000 + lseek(b, 0, SEEK_CUR));
	struct stat st;
	fstat(b, &st);
	show("copy's size", st.st_size);
	char back[100];
	show("copy's tail matches", pread(b, back, 100, sizeof(big) - 100) == 100 &&
				     !memcmp(back, big + sizeof(big) - 100, 100));
	show("copy_file_range at EOF", copy_file_range(a, NULL, b, NULL, 10, 0));
	int c = open("c", O_RDWR | O_CREAT | O_TRUNC, 0644);
	oi = 3, oo = 2;
	show("copy_file_range with offsets", copy_file_range(a, &oi, c, &oo, 5, 0));
	printf("offsets after: %lld %lld, position %lld\n", (long long)oi, (long long)oo,
	       (long long)lseek(c, 0, SEEK_CUR));
	show_file("copied bytes", "c", 0, 7);
	show("copy_file_range flags", copy_file_range(a, NULL, c, NULL, 5, 1));
	show("copy_file_range length 0", copy_file_range(a, NULL, c, NULL, 0, 0));
	show("copy_file_range bad fd", copy_file_range(-1, NULL, c, NULL, 5, 0));
	show("copy_file_range bad out fd", copy_file_range(a, NULL, 999, NULL, 5, 0));
	show("copy_file_range bad offset pointer", copy_file_range(a, BAD, c, NULL, 5, 0));
	oi = -1;
	show("copy_file_range negative offset", copy_file_range(a, &oi, c, NULL, 5, 0));
	int ro = open("c", O_RDONLY), wo = open("c", O_WRONLY), ap = open("c", O_WRONLY | O_APPEND);
	show("copy_file_range to a read-only fd", copy_file_range(a, NULL, ro, NULL, 5, 0));
	show("copy_file_range from a write-only fd", copy_file_range(wo, NULL, b, NULL, 5, 0));
	show("copy_file_range to an O_APPEND fd", copy_file_range(a, NULL, ap, NULL, 5, 0));
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	show("copy_file_range from a directory", copy_file_range(dir, NULL, c, NULL, 5, 0));
	if (pipe(p))
		exit(2);
	show("copy_file_range to a pipe", copy_file_range(a, NULL, p[1], NULL, 5, 0));
	oi = 0, oo = 10;
	show("copy_file_range overlapping in one file", copy_file_range(a, &oi, a, &oo, 100, 0));
	oi = 0, oo = 200000;
	show("copy_file_range within one file", copy_file_range(a, &oi, a, &oo, 10, 0));
	int sys = open("/sys/devices/system/cpu/possible", O_RDONLY);
	show("copy_file_range from sysfs", copy_file_range(sys, NULL, c, NULL, 5, 0));
	close(sys), close(dir), close(ro), close(wo), close(ap), close(a), close(b), close(c);
	close(p[0]), close(p[1]);
}

static void splice_checks(void)
{
	int p[2], q[2], f = open("s", O_RDWR | O_CREAT | O_TRUNC, 0644);
	loff_t off;

	if (pipe(p) || pipe(q))
		exit(2);
	if (write(p[1], "hello world", 11) != 11)
		exit(2);
	off = 4;
	show("splice pipe to file", splice(p[0], NULL, f, &off, 5, 0));
	printf("offset after: %lld, position %lld\n", (long long)off, (long long)lseek(f, 0, SEEK_CUR));
	show("splice pipe to file position", splice(p[0], NULL, f, NULL, 3, 0));
	show_file("file", "s", 0, 20);
	off = 4;
	show("splice file to pipe", splice(f, &off, q[1], NULL, 100, 0));
	printf("offset after: %lld\n", (long long)off);
	show("splice pipe to pipe", splice(q[0], NULL, p[1], NULL, 3, 0));
	show_pipe("first pipe holds", p[0]);
	show_pipe("second pipe holds", q[0]);

	show("splice length 0, bad fds", splice(-1, NULL, -1, NULL, 0, 0));
	show("splice bad flags", splice(p[0], NULL, f, NULL, 5, 0x100));
	show("splice bad fd", splice(p[0], NULL, 999, NULL, 5, 0));
	off = 0;
	show("splice offset on the pipe end", splice(p[0], &off, f, NULL, 5, 0));
	show("splice bad offset pointer", splice(p[0], NULL, f, BAD, 5, 0));
	show("splice file to file", splice(f, NULL, f, NULL, 5, 0));
	show("splice a pipe into itself", splice(p[0], NULL, p[1], NULL, 5, 0));
	show("splice empty pipe, SPLICE_F_NONBLOCK", splice(p[0], NULL, f, NULL, 5, SPLICE_F_NONBLOCK));
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	show("splice empty O_NONBLOCK pipe", splice(p[0], NULL, f, NULL, 5, 0));
	fcntl(p[0], F_SETFL, 0);
	int ro = open("s", O_RDONLY), ap = open("s", O_WRONLY | O_APPEND);
	if (write(p[1], "xyz", 3) != 3)
		exit(2);
	show("splice to a read-only file", splice(p[0], NULL, ro, NULL, 3, 0));
	show("splice to an O_APPEND file", splice(p[0], NULL, ap, NULL, 3, 0));
	show("splice from a write-only end", splice(p[1], NULL, f, NULL, 3, 0));

	/* Blocking: the pipe is empty until another thread writes. */
	pthread_t th;
	wfd = p[1];
	show_pipe("drained", p[0]);
	pthread_create(&th, NULL, late_writer, NULL);
	off = 0;
	show("splice waits for data", splice(p[0], NULL, f, &off, 100, 0));
	pthread_join(th, NULL);
	show_file("it wrote", "s", 0, 4);

	/* The end of a pipe: no writer reads 0, no reader is EPIPE and SIGPIPE. */
	int e[2];
	if (pipe(e))
		exit(2);
	close(e[1]);
	show("splice from a pipe with no writer", splice(e[0], NULL, f, NULL, 5, 0));
	close(e[0]);
	if (pipe(e))
		exit(2);
	close(e[0]);
	off = 0;
	show("splice to a pipe with no reader", splice(f, &off, e[1], NULL, 5, 0));
	printf("SIGPIPEs: %d\n", (int)sigpipes);
	close(e[1]);

	/* Sockets: a stream socket pair spliced through a pipe. */
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	if (write(sv[0], "socket data", 11) != 11)
		exit(2);
	show("splice socket to pipe", splice(sv[1], NULL, q[1], NULL, 100, 0));
	show("splice pipe to socket", splice(q[0], NULL, sv[1], NULL, 100, 0));
	char b[64] = "";
	show("socket got", read(sv[0], b, sizeof(b)));
	printf("socket data: %s\n", b);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	show("splice empty non-blocking socket", splice(sv[1], NULL, q[1], NULL, 100, 0));
	close(sv[0]), close(sv[1]);

	/* tee: the bytes stay in the first pipe. */
	if (write(p[1], "tee me", 6) != 6)
		exit(2);
	show("tee", tee(p[0], q[1], 100, 0));
	show_pipe("first pipe holds", p[0]);
	show_pipe("second pipe holds", q[0]);
	show("tee bad flags", tee(p[0], q[1], 100, 0x100));
	show("tee length 0, bad fds", tee(-1, -1, 0, 0));
	show("tee bad fd", tee(p[0], 999, 10, 0));
	show("tee a pipe into itself", tee(p[0], p[1], 10, 0));
	show("tee to a file", tee(p[0], f, 10, 0));
	show("tee empty pipe, SPLICE_F_NONBLOCK", tee(p[0], q[1], 10, SPLICE_F_NONBLOCK));
	pthread_create(&th, NULL, late_writer, NULL);
	show("tee waits for data", tee(p[0], q[1], 100, 0));
	pthread_join(th, NULL);
	show_pipe("second pipe holds", q[0]);
	show_pipe("first pipe holds", p[0]);
	close(f), close(ro), close(ap);
	close(p[0]), close(p[1]), close(q[0]), close(q[1]);
}

static void vmsplice_checks(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *buf = mmap(NULL, 32 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct iovec v[2];
	int p[2];

	if (pipe(p))
		exit(2);
	memcpy(buf, "gift", 4);
	memcpy(buf + pg, "wrapped", 7);
	v[0] = (struct iovec){ buf, 4 };
	v[1] = (struct iovec){ buf + pg, 7 };
	show("vmsplice into a pipe", vmsplice(p[1], v, 2, 0));
	show("vmsplice SPLICE_F_GIFT", vmsplice(p[1], v, 1, SPLICE_F_GIFT));
	char out[32] = "";
	v[0] = (struct iovec){ out, 5 };
	v[1] = (struct iovec){ out + 16, 16 };
	show("vmsplice out of a pipe", vmsplice(p[0], v, 2, 0));
	printf("read: %.5s|%s\n", out, out + 16);
	show("vmsplice empty pipe, SPLICE_F_NONBLOCK", vmsplice(p[0], v, 1, SPLICE_F_NONBLOCK));
	show("vmsplice bad flags", vmsplice(p[1], v, 1, 0x100));
	show("vmsplice bad fd", vmsplice(999, v, 1, 0));
	show("vmsplice too many segments", vmsplice(p[1], v, 1025, 0));
	show("vmsplice bad iovec", vmsplice(p[1], BAD, 1, 0));
	show("vmsplice no segments", vmsplice(p[1], v, 0, 0));
	int f = open("v", O_RDWR | O_CREAT | O_TRUNC, 0644);
	show("vmsplice to a file, no segments", vmsplice(f, v, 0, 0));
	show("vmsplice to a file", vmsplice(f, v, 1, 0));
	v[0] = (struct iovec){ BAD, 4 };
	show("vmsplice bad buffer", vmsplice(p[1], v, 1, 0));
	/* One call moves what the pipe takes (64 KiB), no more. */
	memset(buf, 'z', 32 * pg);
	v[0] = (struct iovec){ buf, 32 * pg };
	show("vmsplice more than the pipe holds", vmsplice(p[1], v, 1, 0));
	v[0] = (struct iovec){ buf, pg };
	show("vmsplice full pipe, SPLICE_F_NONBLOCK", vmsplice(p[1], v, 1, SPLICE_F_NONBLOCK));
	char sink[65536];
	show("drain", read(p[0], sink, sizeof(sink)));
	pthread_t th;
	wfd = p[1];
	v[0] = (struct iovec){ out, sizeof(out) };
	pthread_create(&th, NULL, late_writer, NULL);
	show("vmsplice waits for data", vmsplice(p[0], v, 1, 0));
	pthread_join(th, NULL);
	close(p[1]);
	show("vmsplice from a pipe with no writer", vmsplice(p[0], v, 1, 0));
	close(p[0]);
	if (pipe(p))
		exit(2);
	close(p[0]);
	sigpipes = 0;
	show("vmsplice to a pipe with no reader", vmsplice(p[1], v, 1, 0));
	printf("SIGPIPEs: %d\n", (int)sigpipes);
	close(p[1]);
	close(f);
}

int main(int argc, char **argv)
{
	if (argc != 2 || chdir(argv[1]))
		return 2;
	signal(SIGPIPE, on_sigpipe);
	copy_file_range_checks();
	splice_checks();
	vmsplice_checks();
	return 0;
}
