/* sockpolicy.h: what an unprivileged process may ask of a socket. */
#ifndef PDVM_SOCKPOLICY_H
#define PDVM_SOCKPOLICY_H

/* 0 if a guest may make this socket, else the errno Linux gives a process
 * without CAP_NET_RAW (raw and packet sockets: EPERM). */
int sockpolicy_socket(int family, int type, int proto);
/* 0 if a guest may set this option to val, else the errno Linux gives a
 * process without CAP_NET_ADMIN/CAP_NET_RAW, or ENOPROTOOPT for an option
 * not on the list. */
int sockpolicy_setsockopt(int level, int opt, const void *val, unsigned len);
/* 0 if a guest may read this option: plain data only, nothing that needs
 * privilege or maps memory. */
int sockpolicy_getsockopt(int level, int opt);

#endif
