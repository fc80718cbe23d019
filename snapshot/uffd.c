/* uffd.c: guest memory under userfaultfd — registering it for missing pages, a zero page for a hole nothing fills, and the filler thread's signal mask. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uffd.h"
#include "vmm/frames.h"

int uffd_register_frames(struct frames *f)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_MISSING_SHMEM };
	struct uffdio_register reg = {
		.range = { (uint64_t)(uintptr_t)f->host, f->size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0 || ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

bool uffd_unregister_frames(int uffd, struct frames *f)
{
	struct uffdio_range r = { (uint64_t)(uintptr_t)f->host, f->size };
	if (ioctl(uffd, UFFDIO_UNREGISTER, &r) < 0)
		return false;
	/* The kernel wakes the range's waiters before it takes the memory
	 * out of userfaultfd, and a touch under the per-VMA lock may start
	 * waiting in between: seen on this project's PVM host (6.18), a
	 * post-copied domain's exec stuck in handle_userfault after every
	 * page had come and the filler thread had gone. Wake them once
	 * more: they retry, and fault normally now. */
	ioctl(uffd, UFFDIO_WAKE, &r);
	return true;
}

void uffd_zero_or_wake(int uffd, struct frames *f, uint64_t off)
{
	struct uffdio_zeropage zp = { .range = { (uint64_t)(uintptr_t)f->host + off, 4096 } };
	if (ioctl(uffd, UFFDIO_ZEROPAGE, &zp) < 0) {
		struct uffdio_range w = { (uint64_t)(uintptr_t)f->host + off, 4096 };
		ioctl(uffd, UFFDIO_WAKE, &w);
	}
}

void uffd_thread_signals(void)
{
	sigset_t all;
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
}
