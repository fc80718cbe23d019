/* uaccess.c: copies between VMM buffers and guest user memory, checked like Linux. */
#include <errno.h>
#include <string.h>

#include "domain.h"
#include "rr.h"
#include "uaccess.h"

/* As the calling thread's access (own: not one, vmm/crew.c). */
static int copy_in(struct domain *d, void *dst, gva_t src, size_t n, bool own)
{
	uint8_t *o = dst;
	if (n && (src >= USER_MAX || n > USER_MAX - src))
		return -EFAULT;
	while (n) {
		size_t avail;
		const uint8_t *p = own ? mm_user_page_in(dom_mm(d), src, false, &avail) :
					 mm_user_page(d, src, false, &avail);
		if (!p)
			return -EFAULT;
		size_t c = MIN(n, avail);
		memcpy(o, p, c);
		o += c, src += c, n -= c;
	}
	return 0;
}

int copy_from_user(struct domain *d, void *dst, gva_t src, size_t n)
{
	return copy_in(d, dst, src, n, false);
}

int peek_user(struct domain *d, void *dst, gva_t src, size_t n)
{
	return copy_in(d, dst, src, n, true);
}

/* VMM writes are invisible to KVM's dirty log: record them. */
static void touch(struct domain *d, const uint8_t *p, size_t n)
{
	frames_touch(&d->frames, (gpa_t)(p - d->frames.host), n);
}

/* A recording logs what the VMM writes for a call (vmm/rr.h). */
static void rr_wrote(struct domain *d, gva_t gva, size_t n)
{
	if (d->rr && n)
		d->rr->wrote(thread_self(), gva, n);
}

int copy_to_user(struct domain *d, gva_t dst, const void *src, size_t n)
{
	const uint8_t *s = src;
	if (n && (dst >= USER_MAX || n > USER_MAX - dst))
		return -EFAULT;
	rr_wrote(d, dst, n);
	while (n) {
		size_t avail;
		uint8_t *p = mm_user_page(d, dst, true, &avail);
		if (!p)
			return -EFAULT;
		size_t c = MIN(n, avail);
		memcpy(p, s, c);
		touch(d, p, c);
		s += c, dst += c, n -= c;
	}
	return 0;
}

int clear_user(struct domain *d, gva_t dst, size_t n)
{
	if (n && (dst >= USER_MAX || n > USER_MAX - dst))
		return -EFAULT;
	rr_wrote(d, dst, n);
	while (n) {
		size_t avail;
		uint8_t *p = mm_user_page(d, dst, true, &avail);
		if (!p)
			return -EFAULT;
		size_t c = MIN(n, avail);
		memset(p, 0, c);
		touch(d, p, c);
		dst += c, n -= c;
	}
	return 0;
}

long strncpy_from_user(struct domain *d, char *dst, gva_t src, size_t max)
{
	size_t len = 0;
	while (len < max) {
		size_t avail;
		const char *p = mm_user_page(d, src + len, false, &avail);
		if (!p)
			return -EFAULT;
		size_t c = MIN(avail, max - len);
		const char *z = memchr(p, 0, c);
		if (z) {
			memcpy(dst + len, p, (size_t)(z - p) + 1);
			return (long)(len + (size_t)(z - p));
		}
		memcpy(dst + len, p, c);
		len += c;
	}
	return -ENAMETOOLONG;
}

void *user_ptr(struct domain *d, gva_t gva, size_t len, bool write)
{
	size_t avail;
	uint8_t *p = mm_user_page(d, gva, write, &avail);
	if (!p || len > avail)
		return NULL;
	if (write) {
		touch(d, p, len);
		rr_wrote(d, gva, len);
	}
	return p;
}
