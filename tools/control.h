/* control.h: the per-domain control socket (server) and the commands that talk to it (client). */
#ifndef PDVM_CONTROL_H
#define PDVM_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/domain.h"

struct net_spec;
struct control;

/* Directory of the control sockets: $PDVM_RUN_DIR, else /run/pdvm. */
const char *control_dir(void);

/* Starts serving NAME.sock for d on a thread of its own. net: the domain's
 * network as its snapshots record it (NULL: the host's). Fails with -EEXIST
 * when a live domain already has the name (a stale socket is replaced).
 * 0 and *out, or -errno with the reason in err. */
int control_start(struct domain *d, const char *name, const struct net_spec *net, struct control **out,
		  char *err, size_t errlen);
/* The name of a domain a migration is bringing here, claimed while it
 * arrives: `pdvm list` shows it "incoming", other commands are refused. */
int control_start_incoming(const char *name, uint64_t mem_bytes, struct control **out, char *err, size_t errlen);
/* Stops serving and removes the socket (waiting for a snapshot or
 * migration under way). Safe with NULL. */
void control_stop(struct control *c);

/* The hooks of a domain that `pdvm run` or `pdvm restore` runs: its control
 * socket from the start of its threads to their end. A name already served
 * by a live domain stops the start; any other failure only loses control
 * (a warning). */
struct control_attach {
	const struct net_spec *net;
	struct control *ctl;    /* while serving */
};
int control_hook_start(struct domain *d, void *attach);
void control_hook_stop(struct domain *d, void *attach);
#define CONTROL_HOOKS(a) \
	((struct domain_hooks){ .start = control_hook_start, .stop = control_hook_stop, .arg = (a) })

/* The client commands: argv[0] is the command name. Return pdvm's exit status. */
int cmd_list(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
/* tools/restore_cli.c */
int cmd_restore(int argc, char **argv);
int cmd_receive(int argc, char **argv);

#endif
