/* sys_memfd.c: memfd_create — an anonymous memory file of the domain's, a host memfd made with its identity. */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "domain.h"
#include "files.h"
#include "memfd.h"
#include "syscall.h"
#include "uaccess.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#define MFD_EXEC        0x0010U
#endif
#define MFD_KNOWN       (MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB | MFD_NOEXEC_SEAL | MFD_EXEC)
#define MFD_HUGE_BITS   (0x3fU << 26)   /* a huge page size, with MFD_HUGETLB only */
/* NAME_MAX less "memfd:": the longest name, its NUL not counted. */
#define MFD_NAME_MAX    249

/*
 * Linux's checks in its order: unknown flags, both MFD_EXEC and
 * MFD_NOEXEC_SEAL (EINVAL), then the name (EFAULT; EINVAL past 249 bytes).
 * The flags go to the host as they are, so MFD_NOEXEC_SEAL and MFD_EXEC
 * work where the host knows them (Linux 6.3 on) and are EINVAL where it
 * does not, as that Linux would say, and vm.memfd_noexec is the host's.
 * An MFD_HUGETLB file is made too; mapping it is ENOMEM (sys_mem.c), as for
 * MAP_HUGETLB, pdvm having no huge page pool to give.
 */
static long sys_memfd_create(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	unsigned int flags = (unsigned int)a[1];
	char name[MFD_NAME_MAX + 1];
	struct ofd *o;
	int err;

	if (flags & ~(MFD_KNOWN | ((flags & MFD_HUGETLB) ? MFD_HUGE_BITS : 0)))
		return -EINVAL;
	if ((flags & MFD_EXEC) && (flags & MFD_NOEXEC_SEAL))
		return -EINVAL;
	long n = strncpy_from_user(d, name, a[0], sizeof(name));
	if (n == -ENAMETOOLONG)
		return -EINVAL;
	if (n < 0)
		return n;
	o = memfd_new(name, flags & ~MFD_CLOEXEC, &err);
	if (!o)
		return err;
	return fd_install(d, o, 0, flags & MFD_CLOEXEC);
}

const struct syscall_desc sys_memfd_table[] = {
	{ SYS_memfd_create, "memfd_create", sys_memfd_create },
	{ -1, NULL, NULL },
};
