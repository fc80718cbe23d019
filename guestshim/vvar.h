/* vvar.h: the time data page the VMM keeps for the guest's vDSO (shared by vmm/vdso.c and guestshim/vdso.c). */
#ifndef PDVM_VVAR_H
#define PDVM_VVAR_H

#include <stdint.h>

#define PDVM_VVAR_VERSION 1

/* Seqlock: the VMM makes seq odd, writes, makes it even. Clock values are
 * nanoseconds at guest TSC tsc_base; later, value + ((tsc - tsc_base) *
 * mult >> shift). enabled == 0: the vDSO makes the system call instead. */
struct pdvm_vvar {
	volatile uint32_t seq;
	uint32_t version;
	uint32_t enabled;
	uint32_t shift;
	uint64_t mult;
	uint64_t tsc_base;
	int64_t realtime_ns;
	int64_t monotonic_ns;
	int64_t monotonic_raw_ns;
	int64_t boottime_ns;
	int64_t tai_ns;
};

#endif
