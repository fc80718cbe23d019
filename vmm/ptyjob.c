/* ptyjob.c: job control on the ptys a domain makes — which session a pty controls, its foreground group, and the INTR/QUIT/SUSP characters written into its master, which the host's line discipline cannot deliver to guest process groups. */
#include <errno.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>

#include "domain.h"
#include "ksignal.h"
#include "process.h"
#include "ptyjob.h"

/* devpts slaves: majors 136-143 (UNIX98_PTY_SLAVE_MAJOR, 2048 ptys). */
#define PTS_MAJOR_FIRST 136
#define PTS_MAJOR_LAST  143

/* The pty number of a slave or master fd, -1 for anything else. */
static int pty_index(int hostfd, bool *master)
{
	struct stat st;
	int n;

	if (fstat(hostfd, &st) < 0 || !S_ISCHR(st.st_mode))
		return -1;
	*master = st.st_rdev == makedev(5, 2);
	if (*master)
		return ioctl(hostfd, TIOCGPTN, &n) < 0 ? -1 : n;
	if (major(st.st_rdev) < PTS_MAJOR_FIRST || major(st.st_rdev) > PTS_MAJOR_LAST)
		return -1;
	return (int)((major(st.st_rdev) - PTS_MAJOR_FIRST) * 256 + minor(st.st_rdev));
}

static struct pty_job *find(struct domain *d, int index)
{
	for (int i = 0; i < MAX_PTYJOBS; i++)
		if (d->ptyjobs[i].index == index && index >= 0)
			return &d->ptyjobs[i];
	return NULL;
}

/* A live process group of session sid. */
static bool group_in(struct domain *d, int pgid, int sid)
{
	for (int i = 0; i < MAX_PROCS; i++)
		if (d->procs[i] && !d->procs[i]->zombie && d->procs[i]->pgid == pgid && d->procs[i]->sid == sid)
			return true;
	return false;
}

long ptyjob_ioctl(struct domain *d, struct process *p, int hostfd, unsigned int cmd, int *val)
{
	bool master;
	int index = pty_index(hostfd, &master);
	struct pty_job *j = index < 0 ? NULL : find(d, index);

	if (index < 0)
		return PTYJOB_NOT_OURS;
	switch (cmd) {
	case TIOCSCTTY:
		/* Linux's tiocsctty: a session leader without a terminal; one
		 * already controlling another session only for root's steal. */
		if (p->sid != p->pid)
			return -EPERM;
		for (int i = 0; i < MAX_PTYJOBS; i++)
			if (d->ptyjobs[i].index >= 0 && d->ptyjobs[i].sid == p->sid)
				return d->ptyjobs[i].index == index ? 0 : -EPERM;
		if (j && j->sid != p->sid && group_in(d, j->fg_pgid, j->sid))
			return -EPERM;
		if (!j)
			for (int i = 0; i < MAX_PTYJOBS && !j; i++)
				if (d->ptyjobs[i].index < 0)
					j = &d->ptyjobs[i];
		if (!j)
			return -ENOMEM;
		*j = (struct pty_job){ .index = index, .sid = p->sid, .fg_pgid = p->pgid };
		return 0;
	case TIOCSPGRP:
		/* tcsetpgrp: only on the caller's own controlling terminal, to a
		 * group of its session. */
		if (!j || j->sid != p->sid)
			return j || !master ? -ENOTTY : PTYJOB_NOT_OURS;
		if (*val < 0)
			return -EINVAL;
		if (!group_in(d, *val, p->sid))
			return -EPERM;
		j->fg_pgid = *val;
		return 0;
	case TIOCGPGRP:
	case TIOCGSID:
		/* Asked of a pty no session of the domain controls: the host's
		 * answer (ENOTTY) stands. */
		if (!j)
			return PTYJOB_NOT_OURS;
		if (!master && j->sid != p->sid)
			return -ENOTTY;
		*val = cmd == TIOCGSID ? j->sid : j->fg_pgid;
		return 0;
	}
	return PTYJOB_NOT_OURS;
}

void ptyjob_typed(struct domain *d, int hostfd, const char *buf, size_t n)
{
	struct termios tio;
	struct pty_job *j;
	bool master;
	int index = pty_index(hostfd, &master);

	/* A master's termios requests act on its slave's settings. */
	if (index < 0 || !master || !(j = find(d, index)) || tcgetattr(hostfd, &tio) < 0 || !(tio.c_lflag & ISIG))
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		int sig = c == _POSIX_VDISABLE ? 0 :
			  c == tio.c_cc[VINTR] ? SIGINT :
			  c == tio.c_cc[VQUIT] ? SIGQUIT :
			  c == tio.c_cc[VSUSP] ? SIGTSTP : 0;

		if (sig) {
			struct ksiginfo info = sig_info_user(d, sig, KSI_KERNEL, 0);

			sig_send_pgrp(d, j->fg_pgid, &info);
		}
	}
}

void ptyjob_init(struct domain *d)
{
	for (int i = 0; i < MAX_PTYJOBS; i++)
		d->ptyjobs[i].index = -1;
}
