/* vdso.h: the guest's vDSO and vvar page — mapping at exec, TSC calibration, periodic time updates. */
#ifndef PDVM_VDSO_H
#define PDVM_VDSO_H

#include "types.h"

struct domain;
struct thread;

/* Maps the vvar page and the vDSO image into the (new) address space;
 * returns the vDSO's address for AT_SYSINFO_EHDR, or 0 when the vDSO is
 * off (PDVM_VDSO=0) or cannot be mapped — the program then makes system
 * calls, which is always correct. */
gva_t vdso_map(struct domain *d);

/* Writes the first time data (fast path off) after boot and restore; the
 * TSC is measured at the first trap. */
void vdso_calibrate(struct domain *d);

/* At a syscall trap of t: the first one measures the guest TSC against the
 * host's and turns the fast path on if KVM reports a stable TSC (or
 * PDVM_VDSO=force); later ones re-measure every half second and turn it
 * off for good if the TSC moved against the host's. */
void vdso_trap_check(struct domain *d, struct thread *t);

/* Rewrites the time data from the host clocks (the signal thread, about
 * once a second, with the domain lock held). */
void vdso_update(struct domain *d);

#endif
