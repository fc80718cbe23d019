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

struct epset {
	struct ep_watch *watch;
};

/* A new epoll description around host epoll fd `hfd` (taken over). */
struct ofd *ep_new(int hfd, int flags, const char *desc);

/* Registers `target` in epoll description `ep` (the host set, and a watch
 * when its restart queue is not empty). 0 or -errno. */
int ep_register(struct ofd *ep, struct ofd *target, uint32_t events, uint64_t data);

/* Adds a watch of `target`'s restart queue to `ep` (none if it has one). */
int ep_watch_add(struct ofd *ep, struct ofd *target, uint32_t events, uint64_t data);

#endif
