/* gfilter.h: the operator's seccomp profile over the guest's system calls — plain data the VMM checks before it runs each call. */
#ifndef PDVM_GFILTER_H
#define PDVM_GFILTER_H

#include <stdbool.h>
#include <stdint.h>

/* Ordered as the kernel ranks seccomp results: of several rules that
 * match, the first in this order wins. */
enum gf_action {
	GF_KILL_PROCESS,        /* the process dies of SIGSYS */
	GF_TRAP,                /* SIGSYS (SYS_SECCOMP) to the thread */
	GF_ERRNO,               /* the call fails with the rule's errno, unrun */
	GF_LOG,                 /* runs, and the domain log names it once */
	GF_ALLOW,
	GF_NACTIONS
};

/* libseccomp's comparisons (SCMP_CMP_*), on the 64-bit argument. */
enum gf_op { GF_NE = 1, GF_LT, GF_LE, GF_EQ, GF_GE, GF_GT, GF_MASKED_EQ, GF_NOPS };

#define GF_MAX_RULES 4096
#define GF_MAX_NR    1024       /* x86-64 call numbers below this */

struct gf_arg {
	uint8_t index;          /* 0..5 */
	uint8_t op;             /* enum gf_op */
	uint64_t value, value2; /* value2: MASKED_EQ's expected value (value is the mask) */
};

struct gf_rule {
	uint16_t nr;
	uint8_t action;         /* enum gf_action */
	uint8_t nargs;          /* conditions, all of which must hold */
	uint16_t errno_ret;     /* GF_ERRNO's (and GF_TRAP's si_errno) */
	struct gf_arg args[6];
};

struct gfilter {
	uint8_t def_action;
	uint16_t def_errno;
	uint32_t nrules;
	struct gf_rule *rules;
};

/* Whether every field is in range (an image's filter is anybody's). */
bool gfilter_valid(const struct gfilter *f);
/* The action for call nr with arguments a; *err the errno it carries. */
enum gf_action gfilter_check(const struct gfilter *f, uint64_t nr, const uint64_t a[6], uint16_t *err);
/* A deep copy (NULL on no memory), and its release. */
struct gfilter *gfilter_dup(const struct gfilter *f);
void gfilter_free(struct gfilter *f);

struct thread;
/* Before a call runs (the exit path): true when the filter lets it run;
 * else false and *ret what the call returns, any SIGSYS made pending or
 * the process ended. */
bool gfilter_apply(struct thread *t, uint64_t nr, const uint64_t a[6], long *ret);

#endif
