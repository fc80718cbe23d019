/* exl.h: exitless system calls — each vCPU's entry page at LSTAR and the slot after it, the VMM thread that answers the calls it can without blocking, and the kick's view of a thread caught inside the entry code. */
#ifndef PDVM_EXL_H
#define PDVM_EXL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "types.h"
#include "../guestshim/exl_abi.h"

struct domain;
struct thread;
struct mm;

/* In the kernel half (guest mappings can never go there), open to user
 * mode on a PVM host, supervisor pages under the ring-0 backend: vCPU i's
 * entry code at EXL_CODE(i) (read-only, executable), its
 * slot at EXL_SLOT(i) (writable, not executable). Mapped only in the
 * address space of the thread that has the vCPU, so a process can never
 * post a call as another process's thread. */
#define EXL_BASE        0xffffff8040000000ULL
#define EXL_CODE(i)     (EXL_BASE + (uint64_t)(i) * 0x2000)
#define EXL_SLOT(i)     (EXL_CODE(i) + 0x1000)
#define EXL_END         EXL_CODE(MAX_THREADS_EXL)
#define MAX_THREADS_EXL 256     /* = MAX_THREADS (domain.h) */
/* How many `pause` rounds the entry code waits for the server to take a
 * call before it takes the exit (0 while the server sleeps): ~40 us on the
 * PVM host measured (10 ns a pause), half an exit's cost, and long enough
 * to outlast the domain lock held for a signal's delivery. */
#define EXL_SPIN        4000

enum syscall_path { SYSCALL_PATH_AUTO, SYSCALL_PATH_EXITLESS, SYSCALL_PATH_EXIT };

/* The domain's side: plain runtime state, never in an image (an image
 * holds the pages; a thread caught in the entry code is saved as before
 * or after its call, never in between). */
struct exl_dom {
	bool on;                        /* the vCPUs' LSTAR is their entry page */
	/* Per vCPU id: its slot in the address space it runs in (host view),
	 * and the thread that has it; written under the domain lock, the
	 * slot pointer read by the server without it. */
	_Atomic(uint8_t *) slot[MAX_THREADS_EXL];
	struct thread *owner[MAX_THREADS_EXL];
	struct mm *mm[MAX_THREADS_EXL];   /* the address space the slot is in */
	atomic_int nslots;              /* 1 + the highest id with a slot */
	pthread_t server;
	bool server_started;
	bool filter_inherited;        /* the server's creator is under the vCPU filter */
	atomic_bool stop;
	atomic_int asleep;              /* the server waits for a doorbell (futex) */
	_Atomic uint64_t exit_ns;       /* when an answerable call last took the exit (host monotonic) */
	_Atomic uint64_t woke_ns;       /* when a doorbell last woke the server */
	/* Answerable calls that took the exit while the server was awake:
	 * not taken in time (it lacked a CPU or the domain lock). */
	uint64_t missed;
	uint64_t served, slow, wakeups; /* calls answered in the guest, sent to the exit; doorbells */
	/* Frames of entry pages and slots this domain owns (frees with their
	 * address space), one bit each; an image's are taken over at the
	 * first attach to each address space, and a frame mapped twice
	 * refuses the image. */
	uint64_t *owned;
};

/* Whether the domain runs exitless: a path that is not "exit" (either
 * backend: the pvm one runs the entry code at CPL3, the ring0 one at ring
 * 0). Sets d->exl.on; call once the backend is known. */
void exl_choose(struct domain *d);
/* The LSTAR vCPU t gets: its entry page, or the backend's. */
uint64_t exl_lstar(struct domain *d, struct thread *t);
/* Maps t's entry page and slot in t's address space (reusing what is there:
 * a vCPU back in the same process, a restored image), points t's LSTAR at
 * it and publishes the slot. Without them (no memory) t's LSTAR is the
 * backend's: every call an exit. 0 or -errno. */
int exl_attach(struct thread *t);
/* t leaves its vCPU: its slot is no longer served. */
void exl_detach(struct thread *t);
/* The address space goes: the frames of its entry pages and slots. */
void exl_mm_release(struct domain *d, struct mm *mm);
/* The domain goes, or a restore replaced its memory and address spaces:
 * nothing is owned or served until threads attach again (adopting what the
 * image maps). */
void exl_free(struct domain *d);
/* After a kick with t->regs from the vCPU: a thread inside its entry code
 * is given the user state of before its call (not served: the `syscall`
 * runs again) or after it (served: its result). true if t was there. */
bool exl_capture(struct thread *t);
/* Starts and stops the server thread. */
int exl_start(struct domain *d);
void exl_stop(struct domain *d);
/* A call took the exit: the domain is busy (the server stays awake); if
 * the call is one the server answers and the server sleeps, wake it (the
 * guest's exit is the doorbell). */
void exl_doorbell(struct thread *t, uint64_t nr);
/* Whether this host thread is a domain's exitless server: a handler that
 * would have to wait returns -ERESTART_SYSCALL there instead, untouched
 * by the call, and the call takes the exit (the server never blocks). */
bool exl_serving(void);
/* Whether the server ever answers call nr (exl_serve.c). */
bool exl_fast_nr(uint64_t nr);
/* Whether the server may answer call nr with these arguments for t now
 * (exl_serve.c). */
bool exl_fast_call(struct thread *t, uint64_t nr, const uint64_t a[6]);
/* A restore: whether an image's page-table entry at va (kernel half, open
 * to user mode) is one of the entry pages or slots, with their rights. */
bool exl_image_pte_ok(uint64_t va, uint64_t pte);

#endif
