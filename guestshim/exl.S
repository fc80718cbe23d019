/* exl.S: the exitless syscall entry, copied into each vCPU's page at its LSTAR on PVM hosts — posts the call to the slot page after it, waits for the VMM's answer, and takes the exit when none comes.
 *
 * It runs at CPL3 on the program's own stack, so it never touches that
 * stack (the red zone may be live). A `syscall` leaves RCX = return address
 * and R11 = RFLAGS; this code may use RAX, RCX and R11 and restores every
 * other register the ABI preserves, RFLAGS included (lahf/sahf, and OF by
 * an overflowing add), as Linux's sysret does. The VMM's kick handling
 * (vmm/exl.c) reads the user's state at any instruction here from the three
 * regions: before POSTED (registers intact), between POSTED and DONE (the
 * slot holds the call; it was served iff the state is DONE), the DONE tail
 * (served). Keep the labels where those regions change. */
#include "exl_abi.h"

#define SLOT(o) (pdvm_exl_start + 4096 + (o))(%rip)

	.section .rodata
	.balign 4096
	.globl pdvm_exl_start, pdvm_exl_posted, pdvm_exl_done, pdvm_exl_end
pdvm_exl_start:
	cmp $511, %rax
	ja 5f
	bt %rax, (pdvm_exl_start + EXL_FASTMAP)(%rip)
	jc 6f
5:	jmp *fallback(%rip)     /* never answered here: the exit, registers as they are */
6:	mov %rax, SLOT(EXL_O_NR)
	mov %rdi, SLOT(EXL_O_ARGS)
	mov %rsi, SLOT(EXL_O_ARGS + 8)
	mov %rdx, SLOT(EXL_O_ARGS + 16)
	mov %r10, SLOT(EXL_O_ARGS + 24)
	mov %r8, SLOT(EXL_O_ARGS + 32)
	mov %r9, SLOT(EXL_O_ARGS + 40)
	mov %rcx, SLOT(EXL_O_RIP)
	mov %r11, SLOT(EXL_O_FLAGS)
	/* x86 stores are seen in order: the call is there before the state. */
	movl $EXL_ST_POSTED, SLOT(EXL_O_STATE)
pdvm_exl_posted:
	mov SLOT(EXL_O_SPIN), %ecx
1:	mov SLOT(EXL_O_STATE), %eax
	cmp $EXL_ST_DONE, %eax
	je pdvm_exl_done
	cmp $EXL_ST_POSTED, %eax
	jne 3f
	pause
	sub $1, %ecx
	jnc 1b
	/* Not taken in time: withdraw it, unless the VMM took it meanwhile. */
	mov $EXL_ST_POSTED, %eax
	mov $EXL_ST_IDLE, %ecx
	lock cmpxchg %ecx, SLOT(EXL_O_STATE)
	je 4f
	jmp 1b
3:	cmp $EXL_ST_TAKEN, %eax
	jne 4f
	pause                   /* taken: the answer comes */
	jmp 1b
4:	/* The exit: the registers as the `syscall` left them. */
	movl $EXL_ST_IDLE, SLOT(EXL_O_STATE)
	mov SLOT(EXL_O_NR), %rax
	mov SLOT(EXL_O_RIP), %rcx
	mov SLOT(EXL_O_FLAGS), %r11
	jmp *fallback(%rip)
pdvm_exl_done:
	mov SLOT(EXL_O_FLAGS), %r11
	mov %r11d, %eax
	shr $11, %eax
	and $1, %eax            /* AL = OF */
	mov %r11d, %ecx
	mov %cl, %ah            /* AH = SF ZF AF PF CF */
	add $0x7f, %al          /* sets OF iff AL was 1 */
	sahf
	mov SLOT(EXL_O_RET), %rax
	mov SLOT(EXL_O_RIP), %rcx
	movl $EXL_ST_IDLE, SLOT(EXL_O_STATE)
	jmp *%rcx
	.balign 8
fallback:
	.quad EXL_FALLBACK
pdvm_exl_end:
	.org pdvm_exl_start + EXL_FASTMAP      /* an error if the code runs into its call bitmap */
	.section .note.GNU-stack,"",@progbits
