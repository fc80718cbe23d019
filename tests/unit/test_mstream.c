/* test_mstream.c: the migration stream over a socketpair — TLS with one key carries messages and two keys do not meet; small messages and files round-trip with their checksums; a flipped bit, a bad header, a truncated stream, an over-long file or name, and string bounds all fail cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "snapshot/mstream.h"
#include "check.h"

/* A file of n pseudo-random bytes (memfd). */
static int data_file(size_t n, unsigned seed)
{
	int fd = memfd_create("mstream-test", MFD_CLOEXEC);
	uint8_t *b = malloc(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		b[i] = (uint8_t)(seed >> 16);
	}
	if (fd < 0 || !b || write(fd, b, n) != (ssize_t)n)
		abort();
	free(b);
	return fd;
}

static bool same_content(int a, int b, size_t n)
{
	uint8_t x[4096], y[4096];
	for (size_t off = 0; off < n;) {
		size_t c = n - off < sizeof(x) ? n - off : sizeof(x);
		if (pread(a, x, c, (off_t)off) != (ssize_t)c || pread(b, y, c, (off_t)off) != (ssize_t)c ||
		    memcmp(x, y, c))
			return false;
		off += c;
	}
	return true;
}

struct sender {
	struct mstream s;
	int file;
	size_t size;
};

/* Sends HELLO, a file, an empty file, DONE (from a thread: a socketpair's
 * buffer is smaller than the file). */
static void *send_all_msgs(void *arg)
{
	struct sender *x = arg;
	uint8_t b[64];
	size_t n = ms_put_str(b, sizeof(b), "name");
	int empty = data_file(0, 1);
	if (ms_send(&x->s, MS_HELLO, b, n) || ms_send_file(&x->s, "memory.bin", x->file, x->size) ||
	    ms_send_file(&x->s, "empty.bin", empty, 0) || ms_send(&x->s, MS_DONE, NULL, 0))
		printf("sender failed\n");
	close(empty);
	return NULL;
}

static void roundtrip(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	struct sender x = { .size = 3 * 1024 * 1024 + 17 };
	x.file = data_file(x.size, 7);
	struct mstream r;
	CHECK(ms_init(&x.s, sv[0], 5000) == 0 && ms_init(&r, sv[1], 5000) == 0);
	pthread_t th;
	pthread_create(&th, NULL, send_all_msgs, &x);

	uint8_t buf[MS_SMALL_MAX];
	enum ms_type t;
	size_t n, pos = 0;
	char name[16];
	CHECK(ms_recv(&r, &t, buf, sizeof(buf), &n) == 0 && t == MS_HELLO);
	CHECK(ms_get_str(buf, n, &pos, name, sizeof(name)) == 0 && !strcmp(name, "name"));
	CHECK(ms_recv(&r, &t, buf, sizeof(buf), &n) == 0 && t == MS_FILE && !strcmp((char *)buf, "memory.bin"));
	CHECK(ms_recv(&r, &t, buf, sizeof(buf), &n) == -EINVAL, "a message while a file's data is pending");
	int out = data_file(0, 0);
	CHECK(ms_recv_file(&r, out, UINT64_MAX) == 0);
	CHECK(lseek(out, 0, SEEK_END) == (off_t)x.size && same_content(out, x.file, x.size), "file content");
	CHECK(ms_recv(&r, &t, buf, sizeof(buf), &n) == 0 && t == MS_FILE && !strcmp((char *)buf, "empty.bin"));
	int out2 = data_file(0, 0);
	CHECK(ms_recv_file(&r, out2, 0) == 0 && lseek(out2, 0, SEEK_END) == 0, "an empty file");
	CHECK(ms_recv(&r, &t, buf, sizeof(buf), &n) == 0 && t == MS_DONE && n == 0);
	CHECK(r.received == x.s.sent, "bytes counted both ways");
	pthread_join(th, NULL);
	close(out);
	close(out2);
	close(x.file);
	close(sv[0]);
	close(sv[1]);
}

/* Sends a small message, then corrupts byte k of what went on the wire
 * before the receiver sees it: every position must be caught. */
static void corrupted(void)
{
	uint8_t wire[256], b[32];
	size_t n = ms_put_str(b, sizeof(b), "payload");
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	struct mstream s, r;
	ms_init(&s, sv[0], 1000);
	ms_send(&s, MS_ERROR, b, n);
	ssize_t len = read(sv[1], wire, sizeof(wire));
	CHECK(len == 24 + (ssize_t)n + 4);
	int caught = 0;
	for (ssize_t k = 0; k < len; k++) {
		int p[2];
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
		wire[k] ^= 0x10;
		if (write(p[0], wire, (size_t)len) != len)
			abort();
		shutdown(p[0], SHUT_WR);
		wire[k] ^= 0x10;
		ms_init(&r, p[1], 1000);
		enum ms_type t;
		uint8_t buf[MS_SMALL_MAX];
		size_t got;
		int e = ms_recv(&r, &t, buf, sizeof(buf), &got);
		caught += e == -EPROTO || e == -ECONNRESET;
		close(p[0]);
		close(p[1]);
	}
	CHECK(caught == len, "%d of %zd flipped bits caught", caught, len);
	/* Cut short: the peer went away. */
	int p[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
	if (write(p[0], wire, 30) != 30)
		abort();
	close(p[0]);
	ms_init(&r, p[1], 1000);
	enum ms_type t;
	uint8_t buf[MS_SMALL_MAX];
	size_t got;
	CHECK(ms_recv(&r, &t, buf, sizeof(buf), &got) == -ECONNRESET);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

/* A file whose data does not match its checksum, and one over the limit. */
static void bad_files(void)
{
	for (int limit = 0; limit < 2; limit++) {
		int sv[2];
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
		struct mstream s, r;
		ms_init(&s, sv[0], 1000);
		ms_init(&r, sv[1], 1000);
		int f = data_file(1000, 3);
		ms_send_file(&s, "x.bin", f, 1000);
		uint8_t wire[2048];
		ssize_t len = read(sv[1], wire, sizeof(wire));
		int p[2];
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p);
		if (!limit)
			wire[len / 2] ^= 1; /* in the data */
		if (write(p[0], wire, (size_t)len) != len)
			abort();
		ms_init(&r, p[1], 1000);
		enum ms_type t;
		uint8_t buf[MS_SMALL_MAX];
		size_t got;
		int out = data_file(0, 0);
		CHECK(ms_recv(&r, &t, buf, sizeof(buf), &got) == 0 && t == MS_FILE);
		int e = ms_recv_file(&r, out, limit ? 999 : UINT64_MAX);
		CHECK(e == (limit ? -EFBIG : -EPROTO), "limit %d: %d", limit, e);
		close(out);
		close(f);
		close(p[0]);
		close(p[1]);
		close(sv[0]);
		close(sv[1]);
	}
	struct mstream s = { .fd = -1 };
	CHECK(ms_send_file(&s, "", 0, 0) == -EINVAL, "an empty name");
	CHECK(ms_send_file(&s, "0123456789012345678901234567890123456789012345678901234567890123", 0, 0) == -EINVAL,
	      "a name over 63");
	uint8_t big[MS_SMALL_MAX + 1] = { 0 };
	CHECK(ms_send(&s, MS_HELLO, big, sizeof(big)) == -EINVAL, "a small message over the limit");
}

static void strings(void)
{
	uint8_t b[16];
	char out[8];
	size_t pos = 0, n = ms_put_str(b, sizeof(b), "abc");
	CHECK(n == 7 && ms_get_str(b, n, &pos, out, sizeof(out)) == 0 && !strcmp(out, "abc") && pos == 7);
	pos = 0;
	CHECK(ms_get_str(b, 6, &pos, out, sizeof(out)) == -EPROTO, "runs past the body");
	pos = 0;
	CHECK(ms_get_str(b, n, &pos, out, 3) == -EPROTO, "longer than the room");
	pos = 8;
	CHECK(ms_get_str(b, n, &pos, out, sizeof(out)) == -EPROTO, "position past the end");
	b[5] = 0;
	pos = 0;
	CHECK(ms_get_str(b, n, &pos, out, sizeof(out)) == -EPROTO, "a NUL inside");
}

struct tls_side {
	struct mstream s;
	struct ms_key k;
	int r;
	char err[300];
};

static void *tls_server(void *arg)
{
	struct tls_side *x = arg;
	uint8_t buf[MS_SMALL_MAX];
	enum ms_type t;
	size_t n;
	x->r = ms_tls(&x->s, true, &x->k, x->err, sizeof(x->err));
	if (!x->r)
		x->r = ms_recv(&x->s, &t, buf, sizeof(buf), &n) || t != MS_GO || n != 5 || memcmp(buf, "hello", 5);
	return NULL;
}

/* TLS with one key on both sides carries messages; different keys fail
 * the handshake on both sides. */
static void tls(void)
{
	for (int same = 1; same >= 0; same--) {
		int sv[2];
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
		struct tls_side srv = { .k = { .len = 32 } }, cli = { .k = { .len = 32 } };
		memset(srv.k.b, 7, 32);
		memset(cli.k.b, same ? 7 : 8, 32);
		ms_init(&srv.s, sv[0], 5000);
		ms_init(&cli.s, sv[1], 5000);
		pthread_t th;
		pthread_create(&th, NULL, tls_server, &srv);
		cli.r = ms_tls(&cli.s, false, &cli.k, cli.err, sizeof(cli.err));
		if (!cli.r)
			cli.r = ms_send(&cli.s, MS_GO, "hello", 5);
		if (!same)
			shutdown(sv[1], SHUT_RDWR); /* a failed client hangs up */
		pthread_join(th, NULL);
		if (same)
			CHECK(cli.r == 0 && srv.r == 0, "same key: %s / %s", cli.err, srv.err);
		else
			CHECK(cli.r != 0 && srv.r != 0 && strstr(srv.err, "--key"), "other key: %d %d %s", cli.r, srv.r,
			      srv.err);
		ms_close(&cli.s);
		ms_close(&srv.s);
	}
}

int main(void)
{
	tls();
	roundtrip();
	corrupted();
	bad_files();
	strings();
	printf("test_mstream: %d checks, %d failed\n", checks, failures);
	return failures != 0;
}
