/* status.h: pdvm's own exit statuses, as docker and runc use them; any other status is the program's. */
#ifndef PDVM_STATUS_H
#define PDVM_STATUS_H

#define EXIT_FAILED      1      /* a command (pause, snapshot, ...) did not do it */
#define EXIT_USAGE       2      /* bad usage of a command */
#define EXIT_BAD_IMAGE   2      /* restore refuses the image */
#define EXIT_PDVM_ERROR  125    /* pdvm itself failed */
#define EXIT_CANNOT_EXEC 126    /* the program exists but cannot run */
#define EXIT_NOT_FOUND   127    /* no such program */
#define EXIT_KILLED      137    /* 128 + SIGKILL: pdvm kill */

#endif
