/* oci_console.h: a container's terminal for --console-socket (runc's protocol). */
#ifndef PDVM_OCI_CONSOLE_H
#define PDVM_OCI_CONSOLE_H

#include <stddef.h>

/* A new pty: its master (with the window size, if rows and cols) sent to
 * the UNIX socket at socket_path with SCM_RIGHTS, its slave returned.
 * -1 with why in err. */
int oci_console_open(const char *socket_path, unsigned rows, unsigned cols, char *err, size_t n);
/* In the container's process: a new session with slave as its controlling
 * terminal and stdin, stdout, stderr. 0 or -1 (errno). */
int oci_console_attach(int slave);

#endif
