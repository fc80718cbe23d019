/* sys_evfd.c: eventfd and timerfd as host descriptors — timerfd's absolute times on the shifted monotonic clocks translated to the host's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>

#include "clock.h"
#include "domain.h"
#include "files.h"
#include "syscall.h"
#include "uaccess.h"

static long do_eventfd(struct thread *t, unsigned count, int flags)
{
	if (flags & ~(EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE))
		return -EINVAL;
	if (fd_find_free(t->dom, 0) < 0)
		return -EMFILE;
	int h = eventfd(count, (flags & ~EFD_CLOEXEC) | EFD_CLOEXEC);
	if (h < 0)
		return -errno;
	struct ofd *o = ofd_new(h, O_RDWR | (flags & EFD_NONBLOCK ? O_NONBLOCK : 0), OFD_EVENTFD,
				"anon_inode:[eventfd]");
	if (!o)
		return -ENOMEM;
	o->aux = flags & EFD_SEMAPHORE;
	return fd_install(t->dom, o, 0, flags & EFD_CLOEXEC);
}

static long sys_eventfd(struct thread *t, const uint64_t a[6])
{
	return do_eventfd(t, (unsigned)a[0], 0);
}

static long sys_eventfd2(struct thread *t, const uint64_t a[6])
{
	return do_eventfd(t, (unsigned)a[0], (int)a[1]);
}

static bool clock_ok(int c)
{
	return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC || c == CLOCK_BOOTTIME ||
	       c == CLOCK_REALTIME_ALARM || c == CLOCK_BOOTTIME_ALARM;
}

static long sys_timerfd_create(struct thread *t, const uint64_t a[6])
{
	int clk = (int)a[0], flags = (int)a[1];
	if (!clock_ok(clk) || (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK)))
		return -EINVAL;
	if (fd_find_free(t->dom, 0) < 0)
		return -EMFILE;
	int h = timerfd_create(clk, (flags & TFD_NONBLOCK) | TFD_CLOEXEC);
	if (h < 0)
		return -errno;
	struct ofd *o = ofd_new(h, O_RDWR | (flags & TFD_NONBLOCK ? O_NONBLOCK : 0), OFD_TIMERFD,
				"anon_inode:[timerfd]");
	if (!o)
		return -ENOMEM;
	o->aux = clk;
	return fd_install(t->dom, o, 0, flags & TFD_CLOEXEC);
}

static struct ofd *timerfd_get(struct domain *d, int fd, long *err)
{
	struct ofd *o = fd_get(d, fd);
	*err = o ? -EINVAL : -EBADF;
	if (o && o->kind != OFD_TIMERFD) {
		ofd_put(o);
		o = NULL;
	}
	return o;
}

static long sys_timerfd_settime(struct thread *t, const uint64_t a[6])
{
	struct domain *d = t->dom;
	int flags = (int)a[1];
	struct itimerspec nv, ov;
	long r;
	if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return -EINVAL;
	if (copy_from_user(d, &nv, a[2], sizeof(nv)))
		return -EFAULT;
	struct ofd *o = timerfd_get(d, (int)a[0], &r);
	if (!o)
		return r;
	/* The guest's monotonic clocks run shifted from the host's (a restore
	 * hides its downtime): an absolute time moves by the same shift. */
	if ((flags & TFD_TIMER_ABSTIME) && (nv.it_value.tv_sec || nv.it_value.tv_nsec) &&
	    nv.it_value.tv_nsec >= 0 && nv.it_value.tv_nsec < NSEC_PER_SEC && nv.it_value.tv_sec >= 0) {
		nv.it_value = guest_to_host_time(d, o->aux, nv.it_value);
		if (!nv.it_value.tv_sec && !nv.it_value.tv_nsec)
			nv.it_value.tv_nsec = 1; /* already due: fires at once, as the guest's expired time would */
	}
	r = timerfd_settime(o->hostfd, flags, &nv, &ov) < 0 ? -errno : 0;
	if (!r && a[3] && copy_to_user(d, a[3], &ov, sizeof(ov)))
		r = -EFAULT;
	ofd_put(o);
	return r;
}

static long sys_timerfd_gettime(struct thread *t, const uint64_t a[6])
{
	struct itimerspec v;
	long r;
	struct ofd *o = timerfd_get(t->dom, (int)a[0], &r);
	if (!o)
		return r;
	r = timerfd_gettime(o->hostfd, &v) < 0 ? -errno : 0;
	if (!r && copy_to_user(t->dom, a[1], &v, sizeof(v)))
		r = -EFAULT;
	ofd_put(o);
	return r;
}

const struct syscall_desc sys_evfd_table[] = {
	{ SYS_eventfd, "eventfd", sys_eventfd },
	{ SYS_eventfd2, "eventfd2", sys_eventfd2 },
	{ SYS_timerfd_create, "timerfd_create", sys_timerfd_create },
	{ SYS_timerfd_settime, "timerfd_settime", sys_timerfd_settime },
	{ SYS_timerfd_gettime, "timerfd_gettime", sys_timerfd_gettime },
	{ -1, NULL, NULL },
};
