/* filestate.c: file offsets, one open file description shared by two threads (dup), O_APPEND and lseek'd writes — deterministic output for snapshot/restore tests. */
#include "guest.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

/*
 * Usage: filestate DATA OUTDIR N [PERIOD_MS]
 *
 * Opens DATA read-only as fd r, and d = dup(r): one open file description,
 * one offset. OUTDIR/log.txt is created holding a fixed-width header line
 * and opened again twice: fd a with O_APPEND, fd w plain O_WRONLY.
 * OUTDIR/seq.txt is created and written sequentially through fd s.
 *
 * Step i (1..N):
 *   - main reads CHUNK bytes through r; then a reader thread, woken through a
 *     pipe (it is blocked reading it between steps), reads CHUNK bytes
 *     through d and acknowledges through another pipe;
 *   - a appends "append i\n" (O_APPEND: always at the end, whatever w did);
 *   - w rewrites the header in place: it goes back with lseek(w, -HDR_LEN,
 *     SEEK_CUR) — relative to the offset the last step left — so a lost
 *     offset shows as an lseek error or a misplaced header;
 *   - s writes "seq i\n" at its current offset (no lseek);
 *   - prints one line: i, the offsets of r and d (equal: shared), what each
 *     read (newlines shown as '|'), and the offsets of a, w and s;
 *   - sleeps PERIOD_MS (default 20).
 * Then prints "done" and exits 0 (1 if a system call failed: the line says
 * which). Output and file contents depend only on DATA and the arguments.
 */

#define CHUNK   13
#define HDR_LEN 20

static int r_fd, d_fd, go_pipe[2], ack_pipe[2];
static char thr_buf[CHUNK + 1];
static ssize_t thr_n;

static void die(const char *what)
{
	char msg[200];
	int n = snprintf(msg, sizeof(msg), "filestate: %s: %s\n", what, strerror(errno));

	if (write(1, msg, (size_t)n) < 0 || write(2, msg, (size_t)n) < 0)
		_exit(1);
	_exit(1);
}

static void write_all(int fd, const char *s, size_t n, const char *what)
{
	while (n) {
		ssize_t w = write(fd, s, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			die(what);
		}
		s += w;
		n -= (size_t)w;
	}
}

static ssize_t read_retry(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = read(fd, p, n);
	while (r < 0 && errno == EINTR);
	return r;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		if (errno != EINTR)
			die("nanosleep");
}

static off_t where(int fd, const char *what)
{
	off_t o = lseek(fd, 0, SEEK_CUR);

	if (o < 0)
		die(what);
	return o;
}

/* The reader thread: one CHUNK through d per byte on go_pipe. */
static void *reader(void *arg)
{
	unsigned char b;

	(void)arg;
	for (;;) {
		ssize_t n = read_retry(go_pipe[0], &b, 1);

		if (n < 0)
			die("read go pipe");
		if (n == 0)
			return NULL;
		thr_n = read_retry(d_fd, thr_buf, CHUNK);
		if (thr_n < 0)
			die("read through the dup'ed fd");
		thr_buf[thr_n] = '\0';
		write_all(ack_pipe[1], "k", 1, "write ack pipe");
	}
}

static void visible(char *s)
{
	for (; *s; s++)
		if (*s == '\n')
			*s = '|';
}

static long arg_num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "usage: filestate DATA OUTDIR N [PERIOD_MS]\n");
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	char path[4096], main_buf[CHUNK + 1], line[256], hdr[32];
	long n, period = 20;
	pthread_t th;
	int a_fd, w_fd, s_fd;

	if (argc < 4 || argc > 5) {
		fprintf(stderr, "usage: filestate DATA OUTDIR N [PERIOD_MS]\n");
		return 2;
	}
	n = arg_num(argv[3], 1, 1000000);
	if (argc == 5)
		period = arg_num(argv[4], 0, 100000);

	r_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (r_fd < 0)
		die("open DATA");
	d_fd = dup(r_fd);
	if (d_fd < 0)
		die("dup");

	snprintf(path, sizeof(path), "%s/log.txt", argv[2]);
	w_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w_fd < 0)
		die("open log.txt O_WRONLY");
	snprintf(hdr, sizeof(hdr), "steps %013d\n", 0);
	write_all(w_fd, hdr, HDR_LEN, "write header");
	a_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (a_fd < 0)
		die("open log.txt O_APPEND");
	snprintf(path, sizeof(path), "%s/seq.txt", argv[2]);
	s_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s_fd < 0)
		die("open seq.txt");

	if (pipe2(go_pipe, O_CLOEXEC) < 0 || pipe2(ack_pipe, O_CLOEXEC) < 0)
		die("pipe2");
	if (pthread_create(&th, NULL, reader, NULL))
		die("pthread_create");

	for (long i = 1; i <= n; i++) {
		unsigned char ack;
		ssize_t got = read_retry(r_fd, main_buf, CHUNK);
		int len;

		if (got < 0)
			die("read through the original fd");
		main_buf[got] = '\0';
		visible(main_buf);
		write_all(go_pipe[1], "g", 1, "write go pipe");
		if (read_retry(ack_pipe[0], &ack, 1) != 1)
			die("read ack pipe");
		visible(thr_buf);

		len = snprintf(line, sizeof(line), "append %ld\n", i);
		write_all(a_fd, line, (size_t)len, "write O_APPEND");

		if (lseek(w_fd, -HDR_LEN, SEEK_CUR) != 0)
			die("lseek(w, -HDR_LEN, SEEK_CUR) did not land at 0");
		snprintf(hdr, sizeof(hdr), "steps %013ld\n", i);
		write_all(w_fd, hdr, HDR_LEN, "rewrite header");

		len = snprintf(line, sizeof(line), "seq %ld\n", i);
		write_all(s_fd, line, (size_t)len, "write seq");

		len = snprintf(line, sizeof(line), "%ld r=%lld d=%lld main=[%s] thr=[%s] a=%lld w=%lld s=%lld\n",
			       i, (long long)where(r_fd, "lseek r"), (long long)where(d_fd, "lseek d"),
			       main_buf, thr_buf, (long long)where(a_fd, "lseek a"),
			       (long long)where(w_fd, "lseek w"), (long long)where(s_fd, "lseek s"));
		write_all(1, line, (size_t)len, "write stdout");
		if (i < n && period)
			sleep_ms(period);
	}

	close(go_pipe[1]);
	pthread_join(th, NULL);
	write_all(1, "done\n", 5, "write stdout");
	return 0;
}
