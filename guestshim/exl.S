/* exl.S: the exitless syscall entry, copied into each vCPU's page at its LSTAR — posts the call to the slot page after it, waits for the VMM's answer, and takes the exit when none comes.
 *
 * Two variants of one body. On a PVM host (pdvm_exl_*) the page is open to
 * user mode and the code runs at CPL3; on standard KVM (pdvm_exl0_*) it is
 * a supervisor page and the code runs at ring 0, where the ring-0 stub
 * would have run its `out`. Either way it runs on the program's own stack
 * pointer, so it never touches the stack (the red zone may be live; at
 * ring 0 a push would also write a user page, which SMAP forbids). A
 * `syscall` leaves RCX = return address and R11 = RFLAGS; this code may use
 * RAX, RCX and R11 and restores every other register the ABI preserves,
 * RFLAGS included, as Linux's sysret does: at CPL3 by sahf and an
 * overflowing add (OF), for calls made with TF, DF and AC clear (others
 * take the exit), at ring 0 by sysretq itself. The VMM's kick
 * handling (vmm/exl.c) reads the user's state at any instruction here from
 * three regions: before POSTED (registers intact), between POSTED and DONE
 * (the slot holds the call; it was served iff the state is DONE), the DONE
 * tail (served). Keep the labels where those regions change. */
#include "exl_abi.h"

	.altmacro
	.macro exl_entry name, fallback, ring0
	.section .rodata
	.balign 4096
	.globl \name\()_start, \name\()_posted, \name\()_done, \name\()_end
\name\()_start:
	.if !\ring0
	/* TF, DF or AC set at the call: only popf could give them back at
	 * CPL3, and that needs a stack; such rare calls take the exit, which
	 * restores every flag. (sysretq does it at ring 0.) */
	test $EXL_EXIT_FLAGS, %r11d
	jnz 5f
	.endif
	cmp $511, %rax
	ja 5f
	bt %rax, (\name\()_start + EXL_FASTMAP)(%rip)
	jc 6f
5:	jmp *\name\()_fallback(%rip)   /* never answered here: the exit, registers as they are */
6:	mov %rax, (\name\()_start + 4096 + EXL_O_NR)(%rip)
	mov %rdi, (\name\()_start + 4096 + EXL_O_ARGS)(%rip)
	mov %rsi, (\name\()_start + 4096 + EXL_O_ARGS + 8)(%rip)
	mov %rdx, (\name\()_start + 4096 + EXL_O_ARGS + 16)(%rip)
	mov %r10, (\name\()_start + 4096 + EXL_O_ARGS + 24)(%rip)
	mov %r8, (\name\()_start + 4096 + EXL_O_ARGS + 32)(%rip)
	mov %r9, (\name\()_start + 4096 + EXL_O_ARGS + 40)(%rip)
	mov %rcx, (\name\()_start + 4096 + EXL_O_RIP)(%rip)
	mov %r11, (\name\()_start + 4096 + EXL_O_FLAGS)(%rip)
	/* x86 stores are seen in order: the call is there before the state. */
	movl $EXL_ST_POSTED, (\name\()_start + 4096 + EXL_O_STATE)(%rip)
\name\()_posted:
	mov (\name\()_start + 4096 + EXL_O_SPIN)(%rip), %ecx
1:	mov (\name\()_start + 4096 + EXL_O_STATE)(%rip), %eax
	cmp $EXL_ST_DONE, %eax
	je \name\()_done
	cmp $EXL_ST_POSTED, %eax
	jne 3f
	pause
	sub $1, %ecx
	jnc 1b
	/* Not taken in time: withdraw it, unless the VMM took it meanwhile. */
	mov $EXL_ST_POSTED, %eax
	mov $EXL_ST_IDLE, %ecx
	lock cmpxchg %ecx, (\name\()_start + 4096 + EXL_O_STATE)(%rip)
	je 4f
	jmp 1b
3:	cmp $EXL_ST_TAKEN, %eax
	jne 4f
	pause                   /* taken: the answer comes */
	jmp 1b
4:	/* The exit: the registers as the `syscall` left them. */
	movl $EXL_ST_IDLE, (\name\()_start + 4096 + EXL_O_STATE)(%rip)
	mov (\name\()_start + 4096 + EXL_O_NR)(%rip), %rax
	mov (\name\()_start + 4096 + EXL_O_RIP)(%rip), %rcx
	mov (\name\()_start + 4096 + EXL_O_FLAGS)(%rip), %r11
	jmp *\name\()_fallback(%rip)
\name\()_done:
	.if \ring0
	/* The slot is the VMM's and this code's only (a supervisor page), and
	 * the VMM answers no call whose return address is not canonical, so
	 * sysretq cannot fault here at ring 0. */
	mov (\name\()_start + 4096 + EXL_O_FLAGS)(%rip), %r11
	mov (\name\()_start + 4096 + EXL_O_RET)(%rip), %rax
	mov (\name\()_start + 4096 + EXL_O_RIP)(%rip), %rcx
	movl $EXL_ST_IDLE, (\name\()_start + 4096 + EXL_O_STATE)(%rip)
	sysretq
	.else
	mov (\name\()_start + 4096 + EXL_O_FLAGS)(%rip), %r11
	mov %r11d, %eax
	shr $11, %eax
	and $1, %eax            /* AL = OF */
	mov %r11d, %ecx
	mov %cl, %ah            /* AH = SF ZF AF PF CF */
	add $0x7f, %al          /* sets OF iff AL was 1 */
	sahf
	mov (\name\()_start + 4096 + EXL_O_RET)(%rip), %rax
	mov (\name\()_start + 4096 + EXL_O_RIP)(%rip), %rcx
	movl $EXL_ST_IDLE, (\name\()_start + 4096 + EXL_O_STATE)(%rip)
	jmp *%rcx
	.endif
	.balign 8
\name\()_fallback:
	.quad \fallback
\name\()_end:
	.org \name\()_start + EXL_FASTMAP      /* an error if the code runs into its call bitmap */
	.endm

	exl_entry pdvm_exl, EXL_FALLBACK, 0
	exl_entry pdvm_exl0, EXL_FALLBACK0, 1
	.section .note.GNU-stack,"",@progbits
