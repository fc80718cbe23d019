/* exl_abi.h: the exitless system-call slot — its layout and states, shared by the guest's entry code (guestshim/exl.S, both variants) and the VMM (vmm/exl.c); plain defines, for both. */
#ifndef PDVM_EXL_ABI_H
#define PDVM_EXL_ABI_H

/* A vCPU's slot is the page right after its entry code (EXL_SLOT = EXL_CODE
 * + 4096), so the code finds it RIP-relative, with no register. On a PVM
 * host the guest can write all of it at any time (a user page): the VMM
 * copies a request once and validates the copy. */
#define EXL_ST_IDLE     0       /* nothing asked */
#define EXL_ST_POSTED   1       /* guest: a call is in the slot */
#define EXL_ST_TAKEN    2       /* VMM: serving it (under the domain lock) */
#define EXL_ST_DONE     3       /* VMM: the result is in EXL_O_RET */
#define EXL_ST_SLOW     4       /* VMM: not here, take the exit */

#define EXL_O_STATE     0       /* u32 */
#define EXL_O_SPIN      4       /* u32, VMM: how long the guest waits to be taken */
#define EXL_O_NR        8       /* the call's number (rax) */
#define EXL_O_ARGS      16      /* rdi rsi rdx r10 r8 r9 */
#define EXL_O_RIP       64      /* rcx at the syscall: where it returns */
#define EXL_O_FLAGS     72      /* r11 at the syscall: the user's RFLAGS */
#define EXL_O_RET       80      /* the result (rax) */

/* In the entry code's page (read-only to the guest): a bitmap of the call
 * numbers below 512 the VMM may answer; any other call takes the exit at
 * once, without waiting for an answer that cannot come. */
#define EXL_FASTMAP     0x800

/* RFLAGS bits (TF DF AC) that send a call to the exit on a PVM host: the
 * entry code cannot give them back at CPL3 without a stack. */
#define EXL_EXIT_FLAGS  0x40500

/* Where the entry code jumps to take the exit. PVM: the pvm backend's
 * LSTAR when there is no entry code, never mapped (vmm/trap.h
 * KERN_LSTAR_NONE), so the fetch ends KVM_RUN as a syscall trap with the
 * user's registers. Ring 0: the stub's syscall `out` (KERN_STUB). */
#define EXL_FALLBACK    0xffffff80003ff000
#define EXL_FALLBACK0   0xffffff8000000000

#endif
