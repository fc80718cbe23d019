/* snap_epoll.c: epoll sets, eventfds, timerfds and pidfds in an image — read from the host's own fdinfo, rebuilt on restore once every description exists. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/domain.h"
#include "vmm/epoll.h"
#include "vmm/files.h"
#include "vmm/pidfd.h"
#include "snap_state.h"

#define MAX_EP_ITEMS    (1 << 20)
#ifndef TFD_IOC_SET_TICKS       /* linux/timerfd.h, which clashes with sys/timerfd.h */
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

/* The host's fdinfo text of one of our fds (NUL-terminated, malloc'ed). */
static char *fdinfo(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *s = malloc(cap);
	size_t n;
	while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap) {
			char *ns = realloc(s, cap *= 2);
			if (!ns) {
				free(s);
				s = NULL;
			}
			s = ns;
		}
	}
	fclose(f);
	if (s)
		s[len] = '\0';
	return s;
}

/* The next item of an epoll fdinfo text from p on: its target host fd,
 * events and data; the position after it, or NULL at the end. */
static char *next_item(char *p, int *tfd, unsigned *ev, unsigned long long *data)
{
	while (p && (p = strstr(p, "tfd:"))) {
		int ok = sscanf(p, "tfd: %d events: %x data: %llx", tfd, ev, data) == 3;
		p += 4;
		if (ok)
			return p;
	}
	return NULL;
}

/* The interest list, as the host kernel has it: target (description index),
 * events, and the guest's data. Targets outside every fd table are gone
 * for the guest (a closed fd whose description lives on) and are left out. */
static int put_epoll(struct domain *d, struct ofd *o, struct ofd **v, int n, struct sbuf *b)
{
	char *s = fdinfo(o->hostfd);
	if (!s)
		return -errno;
	struct sbuf items = { 0 };
	uint32_t cnt = 0;
	int tfd;
	unsigned ev;
	unsigned long long data;
	for (char *p = next_item(s, &tfd, &ev, &data); p; p = next_item(p, &tfd, &ev, &data)) {
		/* A second fd of one description is registered through a
		 * dup of its host fd (vmm/epoll.h). */
		struct ofd *via = ep_reg_target(o, tfd);
		int k = 0;
		while (k < n && v[k]->hostfd != tfd && v[k] != via)
			k++;
		if (k == n) {
			dom_log(d, "%s: a registered fd no longer open in the domain is left out", o->path);
			continue;
		}
		sb_u32(&items, (uint32_t)k);
		sb_u32(&items, ev);
		sb_u64(&items, data);
		cnt++;
	}
	free(s);
	sb_u32(b, cnt);
	sb_put(b, items.p, items.len);
	bool oom = items.oom;
	sb_free(&items);
	return oom ? -ENOMEM : 0;
}

static uint64_t info_u64(const char *s, const char *key, int base)
{
	const char *p = strstr(s, key);
	return p ? strtoull(p + strlen(key), NULL, base) : 0;
}

static int put_eventfd(struct ofd *o, struct sbuf *b)
{
	char *s = fdinfo(o->hostfd);
	if (!s)
		return -errno;
	sb_u64(b, info_u64(s, "eventfd-count:", 16));
	sb_u32(b, (uint32_t)o->aux);
	free(s);
	return 0;
}

static int put_timerfd(struct ofd *o, struct sbuf *b)
{
	char *s = fdinfo(o->hostfd);
	struct itimerspec v;
	if (!s || timerfd_gettime(o->hostfd, &v) < 0) {
		free(s);
		return -errno;
	}
	unsigned flags = (unsigned)info_u64(s, "settime flags:", 8);
	sb_u32(b, (uint32_t)o->aux);
	sb_u64(b, info_u64(s, "ticks:", 10));
	/* A wall-clock absolute timer keeps its wall-clock deadline; the
	 * others keep the time left, as the guest's monotonic clock skips
	 * the downtime. */
	bool abs_wall = (flags & TFD_TIMER_ABSTIME) && (o->aux == CLOCK_REALTIME || o->aux == CLOCK_REALTIME_ALARM);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t left = v.it_value.tv_sec * 1000000000LL + v.it_value.tv_nsec;
	int64_t when = abs_wall && left ? now.tv_sec * 1000000000LL + now.tv_nsec + left : left;
	sb_u8(b, abs_wall && left);
	sb_u64(b, (uint64_t)when);
	sb_u64(b, (uint64_t)(v.it_interval.tv_sec * 1000000000LL + v.it_interval.tv_nsec));
	free(s);
	return 0;
}

int snap_put_anon(struct domain *d, struct ofd **v, int n, int k, struct sbuf *b, char *err, size_t errlen)
{
	struct ofd *o = v[k];
	int r = o->kind == OFD_EPOLL ? put_epoll(d, o, v, n, b) :
		o->kind == OFD_EVENTFD ? put_eventfd(o, b) : put_timerfd(o, b);
	if (r)
		snprintf(err, errlen, "%s: %s", o->path, strerror(-r));
	return r;
}

void snap_epoll_rewatch(struct domain *d, struct ofd *target)
{
	struct ofd **v;
	int n = snap_collect_ofds(d, &v);
	for (int k = 0; k < n; k++) {
		char *s = v[k]->kind == OFD_EPOLL ? fdinfo(v[k]->hostfd) : NULL;
		int tfd;
		unsigned ev;
		unsigned long long data;
		for (char *p = next_item(s, &tfd, &ev, &data); p; p = next_item(p, &tfd, &ev, &data))
			if (tfd == target->hostfd)
				ep_watch_add(v[k], target, ev, data);
		free(s);
	}
	if (n >= 0)
		free(v);
}

/* ---- restore ---- */

static int get_epoll(struct sread *r, struct snap_restore *rs, int flags, struct ofd **out, const char *desc)
{
	uint32_t cnt = sr_u32(r);
	if (cnt > MAX_EP_ITEMS)
		sr_fail(r, "epoll interest list too long");
	if (r->bad)
		return -1;
	int h = epoll_create1(EPOLL_CLOEXEC);
	if (h < 0)
		return -errno;
	struct ofd *o = ep_new(h, flags, desc);
	if (!o)
		return -ENOMEM;
	for (uint32_t i = 0; i < cnt && !r->bad; i++) {
		struct snap_ep_item it = { o, sr_u32(r), sr_u32(r), sr_u64(r) };
		if (rs->nep == rs->capep) {
			size_t nc = rs->capep ? rs->capep * 2 : 64;
			struct snap_ep_item *ni = realloc(rs->ep, nc * sizeof(*ni));
			if (!ni) {
				ofd_put(o);
				return -ENOMEM;
			}
			rs->ep = ni;
			rs->capep = nc;
		}
		rs->ep[rs->nep++] = it;
	}
	*out = o;
	return 0;
}

static int get_eventfd(struct sread *r, int flags, struct ofd **out, const char *desc)
{
	uint64_t count = sr_u64(r);
	uint32_t aux = sr_u32(r);
	if (count > UINT32_MAX || (aux & ~(uint32_t)EFD_SEMAPHORE))
		sr_fail(r, "eventfd record out of range");
	if (r->bad)
		return -1;
	int h = eventfd((unsigned)count, EFD_CLOEXEC | (int)aux | (flags & O_NONBLOCK ? EFD_NONBLOCK : 0));
	if (h < 0)
		return -errno;
	*out = ofd_new(h, flags, OFD_EVENTFD, desc);
	if (*out)
		(*out)->aux = (int)aux;
	return *out ? 0 : -ENOMEM;
}

static int get_timerfd(struct sread *r, int flags, struct ofd **out, const char *desc)
{
	int clk = (int)sr_u32(r);
	uint64_t ticks = sr_u64(r);
	bool abs_wall = sr_u8(r);
	uint64_t when = sr_u64(r), every = sr_u64(r);
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME &&
	    clk != CLOCK_REALTIME_ALARM && clk != CLOCK_BOOTTIME_ALARM)
		sr_fail(r, "timerfd clock out of range");
	if (when > INT64_MAX || every > INT64_MAX)
		sr_fail(r, "timerfd time out of range");
	if (r->bad)
		return -1;
	int h = timerfd_create(clk, TFD_CLOEXEC | (flags & O_NONBLOCK ? TFD_NONBLOCK : 0));
	if (h < 0)
		return -errno;
	struct itimerspec v = {
		.it_value = { (time_t)(when / 1000000000ULL), (long)(when % 1000000000ULL) },
		.it_interval = { (time_t)(every / 1000000000ULL), (long)(every % 1000000000ULL) },
	};
	int ret = 0;
	if (timerfd_settime(h, abs_wall ? TFD_TIMER_ABSTIME : 0, &v, NULL) < 0)
		ret = -errno;
	/* Expirations not yet read (needs CONFIG_CHECKPOINT_RESTORE). */
	if (!ret && ticks && ioctl(h, TFD_IOC_SET_TICKS, &ticks) < 0)
		ret = -errno;
	if (ret) {
		close(h);
		return ret;
	}
	*out = ofd_new(h, flags, OFD_TIMERFD, desc);
	if (*out)
		(*out)->aux = clk;
	return *out ? 0 : -ENOMEM;
}

int snap_get_anon(struct sread *r, struct snap_restore *rs, enum ofd_kind kind, int flags, struct ofd **out,
		  const char *desc)
{
	return kind == OFD_EPOLL ? get_epoll(r, rs, flags, out, desc) :
	       kind == OFD_EVENTFD ? get_eventfd(r, flags, out, desc) : get_timerfd(r, flags, out, desc);
}

int snap_epoll_finish(struct snap_restore *rs, struct ofd **v, uint32_t n, bool ok, char *err, size_t errlen)
{
	int ret = 0;
	for (size_t i = 0; i < rs->nep && !ret && ok; i++) {
		struct snap_ep_item *it = &rs->ep[i];
		if (it->target >= n || !v[it->target] || v[it->target] == it->ep) {
			snprintf(err, errlen, "epoll set: registered description out of range");
			ret = -EINVAL;
			break;
		}
		ret = ep_register(it->ep, v[it->target], it->events, it->data);
		if (ret)
			snprintf(err, errlen, "epoll set: registering %s: %s", v[it->target]->path, strerror(-ret));
	}
	snap_epoll_release(rs);
	return ret;
}

void snap_epoll_release(struct snap_restore *rs)
{
	free(rs->ep);
	rs->ep = NULL;
	rs->nep = rs->capep = 0;
}

/* ---- pidfds ---- */

/* A pidfd names a pid of the domain's: the pid, and whether its process had
 * exited (the pidfd polls readable) and been reaped (it names nothing).
 * The processes come back with `procs`; a later exit finds the pidfd. */
int snap_put_pidfd(struct ofd *o, struct sbuf *b)
{
	bool exited, reaped;
	int pid = pidfd_target(o, &exited, &reaped);
	if (pid < 0)
		return pid;
	sb_u32(b, (uint32_t)pid);
	sb_u8(b, exited);
	sb_u8(b, reaped);
	return 0;
}

int snap_get_pidfd(struct sread *r, struct domain *d, int flags, struct ofd **out, char *err, size_t errlen)
{
	uint32_t pid = sr_u32(r);
	uint8_t exited = sr_u8(r), reaped = sr_u8(r);
	if (!r->bad && (pid == 0 || pid > 0x3fffffff || exited > 1 || reaped > 1))
		sr_fail(r, "pidfd: pid or state out of range");
	if (r->bad)
		return -1;
	int e;
	*out = pidfd_new(d, (int)pid, flags & O_NONBLOCK, exited, reaped, &e);
	if (!*out)
		snprintf(err, errlen, "pidfd of process %u: %s", pid, strerror(-e));
	return *out ? 0 : e;
}
