/* trace.h: a recording's event stream on disk — versioned, each block lz4-compressed and checksummed, ended by an end record. */
#ifndef PDVM_TRACE_H
#define PDVM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_VERSION 1
/* Header flags: what this stream's writer did that its reader must know.
 * A reader refuses a flag it does not know (a newer pdvm wrote it). */
#define TRACE_F_NONZERO_MEM 1u  /* memory at exit is hashed over its nonzero pages only */
#define TRACE_F_TSC 2u          /* the program's rdtsc/rdtscp trapped: EV_TSC events */
#define TRACE_F_KNOWN (TRACE_F_NONZERO_MEM | TRACE_F_TSC)
#define TRACE_EVENTS "events"   /* the stream's file in the trace directory */
#define TRACE_META "meta.json"  /* how to run it again (replay/rr_meta.c) */

/* Event kinds. Each event is its kind byte and a fixed little-endian body
 * (struct trace_event), then for EV_SYSCALL nwrites times {gva u64, len
 * u32, len bytes}. Kinds are only ever added: a reader refuses one it does
 * not know. */
enum trace_kind {
	EV_SYSCALL = 1,  /* a call's result and the guest memory it wrote */
	EV_EXIT = 2,     /* the domain ended: its status and a hash of its memory */
	EV_END = 3,      /* the stream is complete (written last) */
	EV_PAGES = 4,    /* after EV_EXIT: one write of struct rr_page[] (gva 0), the memory page by page */
	EV_SIGNAL = 5,   /* a signal from outside taken: as EV_SYSCALL with nr the signal, a[0] the
			  * EVS_* flags, a[1] the calls before it, a[2] the interrupted call; writes:
			  * its siginfo (gva 0), then the memory its delivery wrote */
	EV_TSC = 6,      /* a trapped rdtsc (nr 0) or rdtscp (nr 1): as EV_SYSCALL with a[0] the
			  * counter, a[1] rdtscp's TSC_AUX, a[3] the thread's position */
	EV_CREW = 7,     /* a thread's page-table view changed (vmm/crew.h): as EV_SYSCALL with nr
			  * the crew_kind, a[0] the page number, a[1] flags, a[2] a give's number,
			  * a[3] the thread's position, a[4] a drop's pages; writes: a take's gives waited for (gva 0),
			  * a stop's registers (gva 0), XSAVE area (gva 1) and pages (gva each) */
};

#define EVS_INTERRUPTED 1u   /* it interrupted the thread's call a[2] (not completed) */
#define EVS_TAKEN 2u         /* a call took it (sigtimedwait): the next call's event follows */

struct trace_event {
	uint8_t kind;
	uint32_t tid;            /* the guest thread (EV_SYSCALL, EV_EXIT) */
	uint32_t nr;             /* EV_SYSCALL: the call */
	uint64_t a[6];           /* EV_SYSCALL: its arguments */
	int64_t ret;             /* EV_SYSCALL: its result; EV_EXIT: the wait status */
	uint32_t data_crc;       /* EV_SYSCALL: crc32 of what a write-family call sent (0: none); EV_EXIT: of the memory */
	uint64_t count;          /* EV_EXIT, EV_END: calls recorded */
	uint32_t nwrites;        /* EV_SYSCALL: guest memory writes that follow */
};

/* One guest-memory write of an EV_SYSCALL, its bytes pointing into the
 * reader's block (valid until the next trace_read). */
struct trace_write {
	uint64_t gva;
	uint32_t len;
	const uint8_t *data;
};

struct trace_writer;
/* Creates DIR/events (DIR must exist). NULL with why on failure. */
struct trace_writer *trace_create(const char *dir, char *why, size_t n);
/* Appends an event; for EV_SYSCALL, ev->nwrites writes w[]. 0, or -errno. */
int trace_put(struct trace_writer *w, const struct trace_event *ev, const struct trace_write *wr);
/* Sets the header's flags (TRACE_F_*), for what the writer learns late. */
int trace_set_flags(struct trace_writer *w, uint32_t flags);
/* Writes EV_END and closes. 0, or -errno (the trace is then incomplete). */
int trace_finish(struct trace_writer *w, uint64_t count);
/* Closes without EV_END (a recording that failed): replay refuses it. */
void trace_abort(struct trace_writer *w);
uint64_t trace_bytes(const struct trace_writer *w);

struct trace_reader;
/* Opens DIR/events and checks its header. NULL with why. */
struct trace_reader *trace_open(const char *dir, char *why, size_t n);
/* The next event: 1, 0 after EV_END (which it returns first as 1 with
 * kind EV_END), -1 with why for a damaged, truncated or unknown stream.
 * wr (room for TRACE_MAX_WRITES) receives an EV_SYSCALL's writes. */
#define TRACE_MAX_WRITES 4096
int trace_read(struct trace_reader *r, struct trace_event *ev, struct trace_write *wr, char *why, size_t n);
void trace_close(struct trace_reader *r);
/* The header's TRACE_F_* flags. */
uint32_t trace_flags(const struct trace_reader *r);
/* Bytes of the file read so far, and its blocks: for --info. */
uint64_t trace_reader_bytes(const struct trace_reader *r);

#endif
