/* fscalls.c: mknod/mknodat, chroot, sync/syncfs and mincore as an unprivileged program sees them, printed so that a native run and a domain's can be compared line by line. Usage: fscalls WRITABLE-DIR */
#include "guest.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

int main(int argc, char **argv)
{
	if (argc != 2 || chdir(argv[1]))
		return 2;
	umask(022);
	show("mknod fifo", mknod("fifo", S_IFIFO | 0666, 0));
	struct stat st;
	show("fifo is a fifo, mode 0644", stat("fifo", &st) ? -1 : S_ISFIFO(st.st_mode) && (st.st_mode & 0777) == 0644);
	show("mknod fifo again", mknod("fifo", S_IFIFO | 0600, 0));
	show("mknod regular (type 0)", mknod("plain", 0600, 0));
	show("plain is regular", stat("plain", &st) ? -1 : S_ISREG(st.st_mode));
	show("mknodat socket file", mknodat(AT_FDCWD, "sock", S_IFSOCK | 0600, 0));
	show("mknod char device", mknod("null2", S_IFCHR | 0600, makedev(1, 3)));
	show("mknod block device", mknod("blk", S_IFBLK | 0600, makedev(7, 0)));
	show("mknod char device over an existing name", mknod("plain", S_IFCHR | 0600, makedev(1, 3)));
	show("mknod directory", mknod("dir", S_IFDIR | 0700, 0));
	show("mknod bad type", mknod("bad", 0170000 & 0110000, 0));
	/* EACCES natively, EROFS in a domain (the rest of its root is read-only). */
	show("mknod outside the writable tree fails", mknod("/etc/pdvm-fifo", S_IFIFO | 0600, 0) < 0);
	show("mknod in a missing directory", mknod("missing/fifo", S_IFIFO | 0600, 0));
	show("chroot /", chroot("/"));
	show("chroot missing", chroot("/nonexistent-pdvm"));
	show("chroot a file", chroot("plain"));
	sync();
	show("sync", 0);
	int fd = open(".", O_RDONLY | O_DIRECTORY);
	show("syncfs", syncfs(fd));
	show("syncfs bad fd", syncfs(-1));
	int pfd = open(".", O_PATH);
	show("syncfs O_PATH fd", syncfs(pfd));

	int ffd = open("plain", O_RDWR);
	show("fallocate", fallocate(ffd, 0, 0, 65536));
	show("size after fallocate", fstat(ffd, &st) ? -1 : st.st_size);
	show("fallocate keep size", fallocate(ffd, FALLOC_FL_KEEP_SIZE, 65536, 4096));
	show("fallocate punch hole", fallocate(ffd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
	show("fallocate bad length", fallocate(ffd, 0, 0, 0));
	show("fallocate negative offset", fallocate(ffd, 0, -1, 10));
	show("fallocate read-only fd", fallocate(open("plain", O_RDONLY), 0, 0, 10));
	int pp[2];
	show("fallocate pipe", pipe(pp) ? -1 : fallocate(pp[1], 0, 0, 10));
	show("fallocate bad fd", fallocate(-1, 0, 0, 10));

	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char v[4] = { 9, 9, 9, 9 };
	m[0] = 1;
	m[2 * pg] = 1;
	show("mincore", mincore(m, 4 * pg, v));
	printf("resident: %d %d %d %d\n", v[0] & 1, v[1] & 1, v[2] & 1, v[3] & 1);
	show("mincore unaligned", mincore(m + 1, pg, v));
	show("mincore length 0", mincore(m, 0, v));
	munmap(m + pg, pg);
	show("mincore over a hole", mincore(m, 4 * pg, v));
	show("mincore bad vector", syscall(SYS_mincore, m, pg, (void *)8));
	return 0;
}
