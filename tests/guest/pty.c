/* pty.c: a pseudo-terminal pair from /dev/ptmx — grantpt, unlockpt, ptsname, the slave by path and by TIOCGPTPEER; compared with native. */
#include "guest.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

int main(void)
{
	char buf[16] = "";
	int lock = -1;
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	check(m >= 0, "posix_openpt");
	check(grantpt(m) == 0, "grantpt");
	check(unlockpt(m) == 0, "unlockpt");
	check(ioctl(m, TIOCGPTLCK, &lock) == 0 && lock == 0, "TIOCGPTLCK says unlocked");
	const char *n = ptsname(m);
	check(n && !strncmp(n, "/dev/pts/", 9), "ptsname is under /dev/pts");
	int s = open(n, O_RDWR | O_NOCTTY);
	check(s >= 0 && isatty(s), "the slave opens by its name and is a tty");
	check(write(s, "hi\n", 3) == 3, "write to the slave");
	check(read(m, buf, sizeof(buf) - 1) > 0 && buf[0] == 'h', "the master reads it");
	int p = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	check(p >= 0 && isatty(p), "TIOCGPTPEER gives the slave as a new fd");
	errno = 0;
	check(ioctl(s, TIOCGPTN, &lock) < 0 && errno == ENOTTY, "TIOCGPTN on the slave: ENOTTY");
	return g_failures ? 1 : 0;
}
