/*
 * pickup.h: queued's root monitor sends on what the sendmail command
 * left in offline/ while queued was down (pickup.c).
 */
#ifndef POSTERN_PICKUP_H
#define POSTERN_PICKUP_H

#include <sys/types.h>
#include <time.h>

/* monitor_spec.on_tick, arg the struct config: at start and every
 * minute, a pickup process when a file waits and none runs. */
void pickup_tick(time_t now, void *arg);
/* monitor_spec.on_child_exit: the pickup process is done. */
void pickup_child_exit(int ctl, pid_t pid, int status, void *arg);

#endif
