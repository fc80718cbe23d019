/* oci.h: pdvm as an OCI runtime — the runc command line (create, start, state, kill, delete, run, exec, pause, resume, list, ps, events, features, checkpoint, restore) over pdvm domains. */
#ifndef PDVM_OCI_H
#define PDVM_OCI_H

/* `pdvm-oci ARGS` (pdvm run under that name) or `pdvm oci ARGS`: argv[0]
 * is the runtime's name. Returns the exit status. */
int oci_main(int argc, char **argv);

#endif
