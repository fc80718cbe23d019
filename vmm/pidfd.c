/* pidfd.c: process fds — the object behind a pidfd and how it becomes readable when its process exits. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "domain.h"
#include "files.h"
#include "pidfd.h"

/*
 * A guest process is no host process, so the host's pidfds cannot stand
 * for it. A pidfd's host fd is an epoll set holding one eventfd, written
 * once the process exits: poll, select and epoll (also the guest's own,
 * which nest the set) see it readable then and not before, and read and
 * write are EINVAL, as on a pidfd, with no check of pdvm's own. What Linux
 * 6.9 and later add is not there: POLLHUP once the process is reaped, and
 * PIDFD_THREAD.
 *
 * Every pidfd is on one list, so an exit finds the pidfds of its pid
 * wherever they are (fd tables, epoll sets, messages in flight). pids are
 * not reused while a pidfd could still name the old process: `reaped`
 * marks it gone for good.
 */
struct pidfd {
	struct domain *d;
	int pid;
	bool exited, reaped;
	int efd;                /* the eventfd in the epoll set */
	struct ofd *o;
	struct pidfd *next;
};

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pidfd *list;

static void pidfd_release(struct ofd *o)
{
	struct pidfd *p = o->priv;
	pthread_mutex_lock(&list_lock);
	for (struct pidfd **pp = &list; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pthread_mutex_unlock(&list_lock);
	close(p->efd);
	free(p);
}

static void signal_exit(struct pidfd *p)
{
	uint64_t one = 1;
	if (!p->exited && write(p->efd, &one, sizeof(one)) == sizeof(one))
		p->exited = true;
}

struct ofd *pidfd_new(struct domain *d, int pid, int flags, bool exited, bool reaped, int *err)
{
	struct pidfd *p = calloc(1, sizeof(*p));
	struct epoll_event ev = { .events = EPOLLIN };
	struct ofd *o = NULL;
	int ep = -1;

	*err = -ENOMEM;
	if (!p)
		return NULL;
	p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->efd < 0 || (ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, p->efd, &ev) < 0 ||
	    ((flags & O_NONBLOCK) && fcntl(ep, F_SETFL, O_NONBLOCK) < 0)) {
		*err = -errno;
		if (ep >= 0)
			close(ep);
	} else {
		/* ofd_new closes ep if it fails. */
		o = ofd_new(ep, O_RDWR | (flags & O_NONBLOCK), OFD_PIDFD, "anon_inode:[pidfd]");
	}
	if (!o) {
		if (p->efd >= 0)
			close(p->efd);
		free(p);
		return NULL;
	}
	*err = 0;
	p->d = d;
	p->pid = pid;
	p->reaped = reaped;
	p->o = o;
	if (exited || reaped)
		signal_exit(p);
	o->priv = p;
	o->release = pidfd_release;
	pthread_mutex_lock(&list_lock);
	p->next = list;
	list = p;
	pthread_mutex_unlock(&list_lock);
	return o;
}

int pidfd_target(const struct ofd *o, bool *exited, bool *reaped)
{
	const struct pidfd *p = o->kind == OFD_PIDFD ? o->priv : NULL;
	if (!p)
		return -EBADF;
	*exited = p->exited;
	*reaped = p->reaped;
	return p->pid;
}

void pidfd_exited(struct domain *d, int pid)
{
	pthread_mutex_lock(&list_lock);
	for (struct pidfd *p = list; p; p = p->next)
		if (p->d == d && p->pid == pid && !p->reaped)
			signal_exit(p);
	pthread_mutex_unlock(&list_lock);
}

void pidfd_reaped(struct domain *d, int pid)
{
	pthread_mutex_lock(&list_lock);
	for (struct pidfd *p = list; p; p = p->next)
		if (p->d == d && p->pid == pid && !p->reaped) {
			signal_exit(p);
			p->reaped = true;
		}
	pthread_mutex_unlock(&list_lock);
}
