/* vdso_blob.S: the built vDSO image (guestshim/vdso.c), embedded in pdvm for mapping into guests. */
	.section .rodata
	.balign 4096
	.globl pdvm_vdso_start, pdvm_vdso_end
pdvm_vdso_start:
	.incbin VDSO_SO
pdvm_vdso_end:
	.section .note.GNU-stack,"",@progbits
