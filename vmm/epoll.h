/* epoll.h: the guest's epoll instances — a host epoll set plus the restored sockets whose restart queues the host cannot see. */
#ifndef PDVM_EPOLL_H
#define PDVM_EPOLL_H

#include <stdbool.h>
#include <stdint.h>

struct ofd;

/* A registered socket with a restart queue: epoll_wait reports it ready
 * (as the host would report data) until the queue is drained. */
struct ep_watch {
	struct ep_watch *next;
	struct ofd *o;          /* a reference; dropped once only we hold it */
	uint32_t events;
	uint64_t data;
};

/*
 * A registration, as Linux keys them: the description and the guest fd it
 * was added through. The host keys its own by the host file and fd, and a
 * description has one host fd, so a second guest fd of one description (a
 * dup, an fd passed on) is registered through a dup of the host fd. Such a
 * dup must not keep the file open: the description, when its last
 * reference goes, takes its registrations with it (ep_target_gone), as
 * Linux drops a file's registrations when it is released. Neither the set
 * nor the target is referenced here; each unlinks from the other.
 */
struct ep_reg {
	struct ep_reg *next_in_set, *next_of_target;
	struct ofd *set, *target;
	int gfd;                /* the guest fd, or -1: restored from an image, fd unknown */
	int hfd;                /* the host fd registered: target->hostfd or a dup */
};

struct epset {
	struct ep_watch *watch;
	struct ep_reg *regs;
};

/* Called when `o`'s last reference goes, before its host fd closes: drops
 * every registration of it (closing their dups). */
void ep_target_gone(struct ofd *o);
/* The description registered in set `ep` through host fd `hfd` (a dup), or
 * NULL: for images, which read the host's list of registrations. */
struct ofd *ep_reg_target(struct ofd *ep, int hfd);

/* A new epoll description around host epoll fd `hfd` (taken over). */
struct ofd *ep_new(int hfd, int flags, const char *desc);

/* Registers `target` in epoll description `ep` (the host set, and a watch
 * when its restart queue is not empty), from an image: through a dup of its
 * host fd when it is registered already. 0 or -errno. */
int ep_register(struct ofd *ep, struct ofd *target, uint32_t events, uint64_t data);

/* Adds a watch of `target`'s restart queue to `ep` (none if it has one). */
int ep_watch_add(struct ofd *ep, struct ofd *target, uint32_t events, uint64_t data);

#endif
