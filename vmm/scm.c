/* scm.c: control messages for a domain — SCM_RIGHTS guest fds sent as their host fds, received host fds turned back into the domain's own descriptions (found by kcmp when the domain already has the file open, so offsets and socket state stay shared); SCM_CREDENTIALS checked as Linux checks them and their pids turned from pdvm's into the guest's. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "domain.h"
#include "epoll.h"
#include "files.h"
#include "posixlock.h"
#include "scm.h"
#include "sock.h"

#define SCM_MAX_FD 253          /* Linux's per-message limit */

/*
 * SCM_CREDENTIALS on a UNIX socket: Linux's scm_check_creds for a process
 * whose real, effective and saved ids are all the domain's and that has no
 * CAP_SYS_ADMIN (any pid) — a domain run as root has CAP_SETUID and
 * CAP_SETGID (any uid, gid) but still only its own pid: another guest pid
 * has no host pid to become. The host gets pdvm's pid, which its own check
 * wants; receivers in the domain turn it back into the sender (scm_to_guest).
 */
static long creds_to_host(struct domain *d, const struct cmsghdr *c, const uint8_t *data, uint8_t *out)
{
	struct ucred uc;

	if (c->cmsg_len != CMSG_LEN(sizeof(uc)))
		return -EINVAL;
	memcpy(&uc, data, sizeof(uc));
	if (uc.uid == (uid_t)-1 || uc.gid == (gid_t)-1)
		return -EINVAL;
	/* Ids the guest's view names (cred_uid_in): none of them is -1 here. */
	uint32_t hu, hg;
	if (!cred_uid_in(&d->cred, uc.uid, &hu) || !cred_gid_in(&d->cred, uc.gid, &hg))
		return -EINVAL;
	uc.uid = hu;
	uc.gid = hg;
	if (uc.pid != proc_cur(d)->pid)
		return -EPERM;
	if (!d->cred.as_root && (uc.uid != d->cred.uid || uc.gid != d->cred.gid))
		return -EPERM;
	uc.pid = getpid();
	memcpy(out, &uc, sizeof(uc));
	return 0;
}

static bool is_unix(struct ofd *sock)
{
	int fam = 0;
	socklen_t l = sizeof(fam);

	return getsockopt(sock->hostfd, SOL_SOCKET, SO_DOMAIN, &fam, &l) == 0 && fam == AF_UNIX;
}

long scm_to_host(struct domain *d, struct ofd *sock, const uint8_t *gctl, size_t glen, uint8_t *hctl,
		 size_t hcap, struct ofd **held, int *nheld)
{
	size_t off = 0, hoff = 0;
	int cap = *nheld;
	*nheld = 0;
	while (off + sizeof(struct cmsghdr) <= glen) {
		struct cmsghdr c;
		memcpy(&c, gctl + off, sizeof(c));
		if (c.cmsg_len < sizeof(c) || c.cmsg_len > glen - off)
			return -EINVAL;
		size_t dlen = c.cmsg_len - CMSG_LEN(0);
		const uint8_t *data = gctl + off + CMSG_LEN(0);
		if (CMSG_SPACE(dlen) > hcap - hoff)
			return -ENOBUFS;
		struct cmsghdr *h = (struct cmsghdr *)(hctl + hoff);
		*h = c;
		if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_RIGHTS) {
			size_t n = dlen / sizeof(int);
			if (n == 0 || n > SCM_MAX_FD || dlen % sizeof(int))
				return -EINVAL;
			for (size_t i = 0; i < n; i++) {
				int gfd;
				memcpy(&gfd, data + i * sizeof(int), sizeof(int));
				struct ofd *o = *nheld < cap ? fd_get(d, gfd) : NULL;
				if (!o)
					return *nheld < cap ? -EBADF : -ETOOMANYREFS;
				held[(*nheld)++] = o;
				memcpy(CMSG_DATA(h) + i * sizeof(int), &o->hostfd, sizeof(int));
			}
		} else if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_CREDENTIALS && is_unix(sock)) {
			long e = creds_to_host(d, &c, data, CMSG_DATA(h));
			if (e)
				return e;
		} else if (c.cmsg_level == SOL_SOCKET && c.cmsg_type != SCM_CREDENTIALS) {
			dom_log(d, "sendmsg: control message type %d is not supported (EOPNOTSUPP)", c.cmsg_type);
			return -EOPNOTSUPP;
		} else {
			memcpy(CMSG_DATA(h), data, dlen);   /* IP_PKTINFO and friends: plain data */
		}
		hoff += CMSG_SPACE(dlen);
		off += CMSG_ALIGN(c.cmsg_len);
	}
	return (long)hoff;
}

/* The domain's description of the file behind host fd `hfd` (a new
 * reference), or NULL. */
static struct ofd *find_open(struct domain *d, int hfd, const struct stat *st)
{
	pid_t me = getpid();
	for (int i = 0; i < MAX_PROCS; i++) {
		struct files *f = d->procs[i] ? d->procs[i]->files : NULL;
		for (int fd = 0; f && fd < f->nfds; fd++) {
			struct ofd *o = f->fds[fd].ofd;
			struct stat s2;
			if (!o || o->hostfd < 0 || fstat(o->hostfd, &s2) || s2.st_ino != st->st_ino ||
			    s2.st_dev != st->st_dev)
				continue;
			if (syscall(SYS_kcmp, me, me, KCMP_FILE, o->hostfd, hfd) == 0)
				return ofd_get(o);
		}
	}
	return NULL;
}

/* A description for a received host fd (taken over). */
static struct ofd *adopt(struct domain *d, int hfd)
{
	struct stat st;
	if (fstat(hfd, &st) < 0) {
		plock_host_close(hfd);
		return NULL;
	}
	struct ofd *o = find_open(d, hfd, &st);
	if (o) {
		plock_host_close(hfd);  /* a file the domain may hold locks on */
		return o;
	}
	char link[PATH_MAX] = "", g[PATH_MAX];
	int fl = fcntl(hfd, F_GETFL);
	host_fd_path(hfd, link, sizeof(link));
	enum ofd_kind kind = OFD_OTHER;
	const char *desc = link;
	if (S_ISSOCK(st.st_mode))
		kind = OFD_SOCKET;
	else if (S_ISFIFO(st.st_mode))
		kind = OFD_PIPE;
	else if (!strcmp(link, "anon_inode:[eventfd]"))
		kind = OFD_EVENTFD;
	else if (!strcmp(link, "anon_inode:[eventpoll]"))
		return ep_new(hfd, fl < 0 ? O_RDWR : fl, link);
	else if ((S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) &&
		 host_to_guest(proc_cur(d)->files, link, g, sizeof(g)) == 0) {
		kind = OFD_FILE;
		desc = g;
	}
	return ofd_new(hfd, fl < 0 ? O_RDWR : fl & ~O_CLOEXEC, kind, desc);
}

/* A received SCM_CREDENTIALS' pid as the guest knows it: pdvm's is a
 * process of the domain (sock_sender_pid, looked up once per message);
 * any other host pid is a process outside the domain, which has no pid in
 * it: 0, as Linux gives for a sender outside the receiver's pid namespace.
 * uid and gid are the host's as the guest's view shows them (cred.h). */
static void creds_to_guest(struct domain *d, struct ofd *sock, uint8_t *data, int *sender)
{
	struct ucred uc;

	memcpy(&uc, data, sizeof(uc));
	if (uc.pid == getpid()) {
		if (*sender < 0)
			*sender = sock_sender_pid(d, sock);
		uc.pid = *sender;
	} else {
		uc.pid = 0;
	}
	uc.uid = cred_uid_out(&d->cred, uc.uid);
	uc.gid = cred_gid_out(&d->cred, uc.gid);
	memcpy(data, &uc, sizeof(uc));
}

size_t scm_to_guest(struct domain *d, struct ofd *sock, const uint8_t *hctl, size_t hlen, uint8_t *gctl,
		    size_t gcap, int cloexec, int *ctrunc)
{
	size_t off = 0, goff = 0;
	int sender = -1;
	while (off + sizeof(struct cmsghdr) <= hlen) {
		struct cmsghdr c;
		memcpy(&c, hctl + off, sizeof(c));
		if (c.cmsg_len < sizeof(c) || c.cmsg_len > hlen - off)
			break;
		size_t clen = c.cmsg_len;
		size_t dlen = c.cmsg_len - CMSG_LEN(0);
		const uint8_t *data = hctl + off + CMSG_LEN(0);
		bool rights = c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_RIGHTS;
		size_t n = rights ? dlen / sizeof(int) : 0, fit = n;
		if (goff + CMSG_LEN(0) > gcap) {
			*ctrunc = 1;
			fit = 0;
		} else if (rights && CMSG_LEN(n * sizeof(int)) > gcap - goff) {
			fit = (gcap - goff - CMSG_LEN(0)) / sizeof(int);
			*ctrunc = 1;
		}
		uint8_t *out = gctl + goff;
		size_t put = 0;
		for (size_t i = 0; i < n; i++) {
			int hfd;
			memcpy(&hfd, data + i * sizeof(int), sizeof(int));
			struct ofd *o = i < fit ? adopt(d, hfd) : NULL;
			if (i >= fit)
				plock_host_close(hfd);
			int gfd = o ? fd_install(d, o, 0, cloexec) : -EMFILE;
			if (gfd < 0) {
				*ctrunc = 1;
				continue;
			}
			memcpy(out + CMSG_LEN(0) + put * sizeof(int), &gfd, sizeof(int));
			put++;
		}
		if (goff + CMSG_LEN(0) <= gcap) {
			size_t len = rights ? CMSG_LEN(put * sizeof(int)) : CMSG_LEN(dlen);
			if (!rights) {
				if (len > gcap - goff) {
					*ctrunc = 1;
					break;
				}
				memcpy(out + CMSG_LEN(0), data, dlen);
				if (c.cmsg_level == SOL_SOCKET && c.cmsg_type == SCM_CREDENTIALS &&
				    dlen >= sizeof(struct ucred))
					creds_to_guest(d, sock, out + CMSG_LEN(0), &sender);
			}
			c.cmsg_len = len;
			memcpy(out, &c, sizeof(c));
			/* The alignment padding after it stays what the caller
			 * put in gctl (the guest's own bytes, sys_net.c). */
			goff += MIN(CMSG_SPACE(len - CMSG_LEN(0)), gcap - goff);
		}
		off += CMSG_ALIGN(clen);
	}
	return goff;
}
