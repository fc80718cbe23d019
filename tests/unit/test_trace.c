/* test_trace.c: unit tests for replay/trace.c — events and their memory writes round-trip across blocks; a flipped byte, a cut file, a missing end record, a newer version, an unknown header flag and an unknown event kind are each refused with a reason. */
#include <fcntl.h>
#include <lz4.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay/trace.h"
#include "check.h"

static char dir[] = "/tmp/pdvm-test-trace.XXXXXX";
static char events[4200];

/* Writes n syscall events, each with two writes (one big enough to fill
 * blocks), then the end record unless cut. */
static void write_trace(int n, bool finish)
{
	char why[256];
	unlink(events);
	struct trace_writer *w = trace_create(dir, why, sizeof(why));
	CHECK(w != NULL, "create: %s", why);
	if (!w)
		return;
	static uint8_t big[300000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	for (int i = 0; i < n; i++) {
		struct trace_event ev = { .kind = EV_SYSCALL, .tid = 100, .nr = (uint32_t)i, .ret = -i, .nwrites = 2,
					  .data_crc = 0x1234u + (uint32_t)i };
		for (int k = 0; k < 6; k++)
			ev.a[k] = (uint64_t)i * 10 + (uint64_t)k;
		uint32_t v = (uint32_t)i;
		struct trace_write wr[2] = { { 0x1000u + (uint64_t)i, 4, (const uint8_t *)&v },
					     { 0x200000, (uint32_t)(i % 3 ? 16 : sizeof(big)), big } };
		CHECK(trace_put(w, &ev, wr) == 0, "put %d", i);
	}
	struct trace_event ex = { .kind = EV_EXIT, .tid = 100, .ret = 3, .data_crc = 0xabcd, .count = (uint64_t)n };
	CHECK(trace_put(w, &ex, NULL) == 0, "put exit");
	if (finish)
		CHECK(trace_finish(w, (uint64_t)n) == 0, "finish");
	else
		trace_abort(w);
}

/* Reads the whole trace: the number of events, or -1 with why. */
static int read_all(char *why, size_t n, bool verify)
{
	struct trace_reader *r = trace_open(dir, why, n);
	static struct trace_write wr[TRACE_MAX_WRITES];
	struct trace_event ev;
	int k, count = 0;
	if (!r)
		return -1;
	while ((k = trace_read(r, &ev, wr, why, n)) > 0) {
		if (verify && ev.kind == EV_SYSCALL) {
			uint32_t v;
			memcpy(&v, wr[0].data, 4);
			CHECK(ev.tid == 100 && ev.nr == (uint32_t)count && ev.ret == -count && ev.a[5] == (uint64_t)count * 10 + 5 &&
			      ev.data_crc == 0x1234u + (uint32_t)count, "event %d fields", count);
			CHECK(ev.nwrites == 2 && wr[0].gva == 0x1000u + (uint64_t)count && v == (uint32_t)count, "event %d write", count);
			CHECK(wr[1].len == (count % 3 ? 16u : 300000u) && wr[1].data[299 % wr[1].len] == (uint8_t)((299 % wr[1].len) * 7),
			      "event %d big write", count);
		}
		if (verify && ev.kind == EV_EXIT)
			CHECK(ev.ret == 3 && ev.data_crc == 0xabcd && ev.count == 20, "exit record");
		count++;
	}
	trace_close(r);
	return k < 0 ? -1 : count;
}

static void corrupt_at(long off)
{
	int fd = open(events, O_RDWR);
	uint8_t b;
	CHECK(pread(fd, &b, 1, off) == 1, "read byte");
	b ^= 0x5a;
	CHECK(pwrite(fd, &b, 1, off) == 1, "write byte");
	close(fd);
}

static long file_size(void)
{
	struct stat st;
	return stat(events, &st) ? -1 : (long)st.st_size;
}

int main(void)
{
	char why[256];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(events, sizeof(events), "%s/%s", dir, TRACE_EVENTS);

	write_trace(20, true);
	int n = read_all(why, sizeof(why), true);
	CHECK(n == 22, "round trip: %d events (%s)", n, n < 0 ? why : "");
	long size = file_size();
	CHECK(size > 0 && size < 20 * 300000 / 4, "compressed: %ld bytes for ~2 MB of writes", size);

	char w2[256];
	CHECK(trace_create(dir, w2, sizeof(w2)) == NULL && strstr(w2, "File exists"), "no overwrite: %s", w2);

	corrupt_at(size / 2);
	CHECK(read_all(why, sizeof(why), false) < 0 && strstr(why, "damaged"), "flipped byte: %s", why);
	{
		/* The error sticks: a reader that looks again (replay peeks) is told again. */
		static struct trace_write wr[TRACE_MAX_WRITES];
		struct trace_event ev;
		char w1[256] = "", w3[256] = "";
		struct trace_reader *r = trace_open(dir, w1, sizeof(w1));
		int k;
		while (r && (k = trace_read(r, &ev, wr, w1, sizeof(w1))) > 0)
			;
		CHECK(r && trace_read(r, &ev, wr, w3, sizeof(w3)) < 0 && !strcmp(w1, w3) && strstr(w3, "damaged"),
		      "sticky error: '%s' then '%s'", w1, w3);
		trace_close(r);
	}

	write_trace(20, true);
	CHECK(truncate(events, size - 10) == 0, "truncate");
	CHECK(read_all(why, sizeof(why), false) < 0 && strstr(why, "truncated"), "cut file: %s", why);

	write_trace(20, false);
	CHECK(read_all(why, sizeof(why), false) < 0 && strstr(why, "before its end record"), "no end record: %s", why);

	write_trace(2, true);
	corrupt_at(8); /* the version */
	CHECK(read_all(why, sizeof(why), false) < 0 && strstr(why, "version"), "version: %s", why);

	/* Header flags: a writer says its memory hash skips zero pages; a flag
	 * this pdvm does not know (a newer writer) is refused, an older
	 * trace's 0 is read as such. */
	write_trace(2, true);
	{
		struct trace_reader *r = trace_open(dir, why, sizeof(why));
		CHECK(r && trace_flags(r) == TRACE_F_NONZERO_MEM, "flags of a new trace");
		trace_close(r);
		uint32_t fl = 0;
		int fd = open(events, O_RDWR);
		CHECK(pwrite(fd, &fl, 4, 12) == 4, "clear flags");
		r = trace_open(dir, why, sizeof(why));
		CHECK(r && trace_flags(r) == 0, "flags of an older trace");
		trace_close(r);
		fl = 0x80;
		CHECK(pwrite(fd, &fl, 4, 12) == 4, "set an unknown flag");
		close(fd);
		CHECK(read_all(why, sizeof(why), false) < 0 && strstr(why, "newer pdvm"), "unknown flag: %s", why);
	}

	/* A flag the writer learns late (rdtsc trapped) lands in the header. */
	unlink(events);
	{
		struct trace_writer *w = trace_create(dir, why, sizeof(why));
		CHECK(w && trace_set_flags(w, TRACE_F_NONZERO_MEM | TRACE_F_TSC) == 0, "set flags");
		CHECK(trace_finish(w, 0) == 0, "finish");
		struct trace_reader *r = trace_open(dir, why, sizeof(why));
		CHECK(r && trace_flags(r) == (TRACE_F_NONZERO_MEM | TRACE_F_TSC), "flags set late");
		trace_close(r);
	}

	write_trace(2, true);
	corrupt_at(0);
	CHECK(read_all(why, sizeof(why), false) < 0 && strstr(why, "not a pdvm trace"), "magic: %s", why);

	/* An event kind from a newer pdvm: refused by name (a block made by hand). */
	unlink(events);
	{
		uint8_t raw[16] = { 99 }, comp[64];
		int clen = LZ4_compress_default((const char *)raw, (char *)comp, sizeof(raw), sizeof(comp));
		uint32_t h[4] = { 0x42564450u, sizeof(raw), (uint32_t)clen, (uint32_t)crc32(0, comp, (uInt)clen) };
		uint32_t hdr[2] = { TRACE_VERSION, 0 };
		FILE *f = fopen(events, "w");
		fwrite("PDVMTRC\n", 1, 8, f);
		fwrite(hdr, 1, sizeof(hdr), f);
		fwrite(h, 1, sizeof(h), f);
		fwrite(comp, 1, (size_t)clen, f);
		fclose(f);
		CHECK(read_all(why, sizeof(why), false) < 0 && strstr(why, "kind 99, unknown"), "unknown kind: %s", why);
	}
	/* Two end records: data after the end. */
	unlink(events);
	struct trace_writer *w = trace_create(dir, why, sizeof(why));
	struct trace_event ev = { .kind = EV_END, .count = 0 };
	CHECK(trace_put(w, &ev, NULL) == 0, "put end");
	CHECK(trace_finish(w, 0) == 0, "finish");
	n = read_all(why, sizeof(why), false);
	CHECK(n < 0 && strstr(why, "after its end record"), "two end records: %s", why);

	unlink(events);
	rmdir(dir);
	printf("test_trace: %d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
