/* rr_state.c: what a recording and its replay compare — the domain's memory at exit, and the bytes each write sent. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <zlib.h>

#include "replay/rr.h"
#include "replay/rr_calls.h"
#include "vmm/files.h"
#include "vmm/mm.h"
#include "vmm/uaccess.h"

/* Adds one page (its address, then its bytes) to crc and to *pages. */
static uLong crc_page(uLong crc, gva_t va, const uint8_t *p, struct rr_page **pages, size_t *n, size_t *cap)
{
	crc = crc32(crc, (const Bytef *)&va, sizeof(va));
	crc = crc32(crc, p, PAGE_SIZE);
	if (!pages || !*pages)
		return crc;
	if (*n == *cap) {
		struct rr_page *q = realloc(*pages, 2 * *cap * sizeof(*q));
		if (!q) {
			free(*pages);
			*pages = NULL;    /* the per-page list is a help; the crc stands */
			return crc;
		}
		*pages = q;
		*cap *= 2;
	}
	(*pages)[(*n)++] = (struct rr_page){ va, (uint32_t)crc32(0, p, PAGE_SIZE) };
	return crc;
}

/* The main stack is left out: on a PVM host the guest's rdtsc runs natively
 * and cannot be recorded (CR4.TSD is not honoured, measured), and ld.so
 * leaves the TSC readings of its start-up timer in stack slots that are
 * dead by exit. Every other writable mapping counts. With nonzero, pages
 * that are zero are left out too: anonymous memory is mapped eagerly (a
 * thread's 8 MiB stack is four 2 MiB leaves) and its untouched pages are
 * holes in the memfd — reading them would allocate them (a two-thread
 * recording spent 20 ms hashing zeros). A hole is zero without a look
 * (mincore, once per leaf); a zero page that is not a hole (the VMM read
 * it in one run and not the other) hashes as one does. */
uint32_t rr_memory_crc(struct domain *d, bool nonzero, struct rr_page **pages, size_t *npages)
{
	static const uint8_t zero[PAGE_SIZE];
	struct mm *mm = dom_mm(d);
	uLong crc = crc32(0, NULL, 0);
	size_t n = 0, cap = 1024;
	if (pages) {
		*pages = malloc(cap * sizeof(**pages));
		*npages = 0;
	}
	if (!mm)
		return 0;
	for (int i = 0; i < mm->nvmas; i++) {
		const struct vma *v = &mm->vmas[i];
		if (!(v->prot & PROT_WRITE) || (v->flags & MAP_GROWSDOWN))
			continue;
		for (gva_t va = v->start; va < v->end;) {
			size_t avail;
			const uint8_t *p = mm_user_page_in(mm, va, false, &avail);
			uint64_t run = p ? MIN(avail, v->end - va) & PAGE_MASK : 0;
			if (!run) {
				va += PAGE_SIZE;
				continue;
			}
			unsigned char res[HPAGE_SIZE / PAGE_SIZE];
			bool known = nonzero && run <= HPAGE_SIZE && mincore((void *)p, run, res) == 0;
			for (uint64_t o = 0; o < run; o += PAGE_SIZE) {
				if (nonzero && ((known && !(res[o / PAGE_SIZE] & 1)) || !memcmp(p + o, zero, PAGE_SIZE)))
					continue;
				crc = crc_page(crc, va + o, p + o, pages, &n, &cap);
			}
			va += run;
		}
	}
	if (pages)
		*npages = *pages ? n : 0;
	return (uint32_t)crc;
}

/* crc of n bytes of guest memory at gva, continuing crc. */
static uLong crc_user(struct domain *d, uLong crc, gva_t gva, size_t n)
{
	uint8_t buf[4096];
	while (n) {
		size_t c = n < sizeof(buf) ? n : sizeof(buf);
		if (peek_user(d, buf, gva, c))
			return crc ^ 0xdeadbeef;   /* unreadable: differs from any readable run */
		crc = crc32(crc, buf, (uInt)c);
		gva += c, n -= c;
	}
	return crc;
}

bool rr_last_exit(const struct thread *t, uint64_t nr)
{
	/* The first process's end ends the domain (vmm/domain.h: init). */
	if (t->proc != t->dom->init)
		return false;
	return nr == SYS_exit_group || (nr == SYS_exit && t->proc->nthreads == 1);
}

void rr_classify_thread(const struct thread *t, uint64_t nr, const uint64_t a[6], struct rr_call *c)
{
	rr_classify(nr, a, c);
	if (c->cls != RR_EXECUTE)
		return;
	/* A signal to another thread or process is its delivery's business
	 * (logged there, as from outside; the replay drops the one it would
	 * make), and the call's result depends on whether the target is still
	 * there: answered from the trace. */
	int pid = (int)a[0];
	if ((nr == SYS_kill && pid > 0 && pid != t->proc->pid) || (nr == SYS_tgkill && (int)a[1] != t->tid) ||
	    (nr == SYS_tkill && pid != t->tid))
		c->cls = RR_EMULATE;
}

bool rr_to_stdio(struct domain *d, uint64_t fd)
{
	struct ofd *o = fd < (uint64_t)INT32_MAX ? fd_peek(d, (int)fd) : NULL;
	return o && o->kind == OFD_STDIO;
}

uint32_t rr_sent_crc(struct domain *d, uint64_t nr, const uint64_t a[6], long ret)
{
	if (ret <= 0)
		return 0;
	uLong crc = crc32(0, NULL, 0);
	if (nr == SYS_write || nr == SYS_pwrite64)
		return (uint32_t)crc_user(d, crc, a[1], (size_t)ret);
	if (nr != SYS_writev && nr != SYS_pwritev)
		return 0;
	size_t left = (size_t)ret;
	for (uint64_t i = 0; left && i < a[2] && i < 1024; i++) {
		struct { uint64_t base, len; } v;
		if (peek_user(d, &v, a[1] + i * sizeof(v), sizeof(v)))
			return 0;
		size_t c = v.len < left ? v.len : left;
		crc = crc_user(d, crc, v.base, c);
		left -= c;
	}
	return (uint32_t)crc;
}
