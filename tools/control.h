/* control.h: the per-domain control socket (server) and the commands that talk to it (client). */
#ifndef PDVM_CONTROL_H
#define PDVM_CONTROL_H

#include <stddef.h>

struct domain;

/* Directory of the control sockets: $PDVM_RUN_DIR, else /run/pdvm. */
const char *control_dir(void);

/* Starts serving NAME.sock for d on a thread of its own. Fails with -EEXIST
 * when a live domain already has the name (a stale socket is replaced).
 * 0 or -errno with the reason in err. */
int control_start(struct domain *d, const char *name, char *err, size_t errlen);
/* Stops serving and removes the socket. Safe if control_start failed. */
void control_stop(struct domain *d);

/* The client commands: argv[0] is the command name. Return pdvm's exit status. */
int cmd_list(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);

#endif
