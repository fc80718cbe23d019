/* procmem.c: another process's memory — ptrace's PEEK/POKE, process_vm_readv/writev, and /proc/PID/mem, whose file offset is the address (gdb reads and writes the inferior through it). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "gio.h"
#include "procfs.h"
#include "procmem.h"
#include "uaccess.h"

int procmem_access(struct domain *d, struct process *p, gva_t addr, void *buf, size_t n, bool write, bool force)
{
	struct process *me = proc_current;
	int r;

	if (!p->mm)
		return -EFAULT;
	/* uaccess works on the current process's memory: be p meanwhile. */
	proc_current = p;
	if (!write) {
		r = copy_from_user(d, buf, addr, n);
	} else if (!force) {
		r = copy_to_user(d, addr, buf, n);
	} else {
		/* Not past what is mapped, nor into a shared mapping the
		 * process cannot write (the file's pages). */
		r = addr >= USER_MAX || n > USER_MAX - addr ? -EFAULT : 0;
		for (gva_t a = addr; !r && a < addr + n;) {
			const struct vma *v = mm_vma_at(p->mm, a);
			if (!v || !(v->prot & (PROT_READ | PROT_WRITE | PROT_EXEC)) ||
			    ((v->flags & MAP_SHARED) && !(v->prot & PROT_WRITE)))
				r = -EFAULT;
			else
				a = v->end;
		}
		if (!r)
			r = mm_poke(d, addr, buf, n);
	}
	proc_current = me;
	return r;
}

int procmem_target(struct domain *d, const char *g)
{
	struct process *p;
	if (strncmp(g, "/proc/", 6))
		return 0;
	const char *r = procfs_rest(d, g, &p);
	return r && !strcmp(r, "mem") ? p->pid : 0;
}

long procmem_io(struct thread *t, struct ofd *o, const struct gseg *seg, int nseg, int64_t off, bool write)
{
	struct domain *d = t->dom;
	static __thread uint8_t page[PAGE_SIZE];
	struct process *p = proc_find(d, o->aux);
	int64_t pos = off >= 0 ? off : (int64_t)lseek(o->hostfd, 0, SEEK_CUR);
	long done = 0;

	if (pos < 0)
		return -EINVAL;
	/* Its process has exited (Linux: the mm is gone): nothing to read. */
	if (!p || p->zombie || !p->mm)
		return 0;
	for (int i = 0; i < nseg; i++) {
		for (size_t k = 0; k < seg[i].len;) {
			uint64_t addr = (uint64_t)pos + (uint64_t)done;
			size_t n = MIN(seg[i].len - k, PAGE_SIZE - (addr & (PAGE_SIZE - 1)));
			long err = 0;
			/* Page by page, stopping at the first that is not
			 * there: a short count, or EIO for none (mem_rw). */
			if (write) {
				if (copy_from_user(d, page, seg[i].base + k, n))
					err = -EFAULT;
				else if (procmem_access(d, p, addr, page, n, true, true))
					err = -EIO;
			} else {
				if (procmem_access(d, p, addr, page, n, false, false))
					err = -EIO;
				else if (copy_to_user(d, seg[i].base + k, page, n))
					err = -EFAULT;
			}
			if (err) {
				if (!done)
					return err;
				goto out;
			}
			k += n;
			done += (long)n;
		}
	}
out:
	if (off < 0)
		lseek(o->hostfd, pos + done, SEEK_SET);
	return done;
}
