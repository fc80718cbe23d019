/* uffd.h: guest memory under userfaultfd — what a lazy restore and a post-copy migration share: registration, zero pages, the filler thread's signals (snapshot/uffd.c). */
#ifndef PDVM_UFFD_H
#define PDVM_UFFD_H

#include <stdbool.h>
#include <stdint.h>

struct frames;

/* A userfaultfd (non-blocking) with all of guest memory registered for
 * missing pages: a touch of a hole waits for the filler. The fd, or -errno. */
int uffd_register_frames(struct frames *f);
/* Every page is in place: holes are plain zero pages again. false if the
 * kernel refused (touches then still come to the fd). */
bool uffd_unregister_frames(int uffd, struct frames *f);
/* A touch of the hole at offset off that nothing fills: a zero page (or,
 * if the page came meanwhile, the toucher woken). */
void uffd_zero_or_wake(int uffd, struct frames *f, uint64_t off);
/* The filler thread takes no signals but seccomp's report (vmm/vfilter.c):
 * it runs inside pdvm's own process, whose signals are the domain's. */
void uffd_thread_signals(void);

#endif
