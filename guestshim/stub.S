/* stub.S: ring-0 trap stub for standard KVM hosts, copied into the guest's kernel area.
 *
 * A guest `syscall` enters ring 0 at LSTAR; an exception enters through the
 * IDT on the per-vCPU TSS stack. Both exit to the VMM with one `out`; the VMM
 * handles the trap, writes an iret frame on the kernel stack, points RSP at
 * it and resumes, so the `iretq` after each `out` returns to user mode with
 * every register as the VMM set it. Nothing else runs at ring 0. */
	.section .rodata
	.balign 4096
	.globl pdvm_stub_start, pdvm_stub_end, pdvm_stub_syscall, pdvm_stub_vectors
pdvm_stub_start:
pdvm_stub_syscall:
	outb %al, $0x10
	iretq

	.balign 16
exc_common:
	outb %al, $0x11
	iretq

	.altmacro
	.macro vecstub n
	.balign 16
	.if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushq $0
	.endif
	pushq $\n
	jmp exc_common
	.endm

	.balign 256
pdvm_stub_vectors:
	.set i, 0
	.rept 256
	vecstub %i
	.set i, i + 1
	.endr
pdvm_stub_end:
	.section .note.GNU-stack,"",@progbits
