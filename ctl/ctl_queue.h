/*
 * ctl_queue.h: posternctl's queue commands (ctl_queue.c). Each takes
 * its argv from the subcommand's name on and returns posternctl's exit
 * code (queue_list.h: EXIT_*).
 */
#ifndef POSTERN_CTL_QUEUE_H
#define POSTERN_CTL_QUEUE_H

#include "config.h"

#include <stdbool.h>

void ctl_queue_init(const struct config *conf);
int ctl_show(int argc, char **argv);
int ctl_mailq(int argc, char **argv);
int ctl_shape(int argc, char **argv);
bool ctl_is_action(const char *name); /* hold release retry remove bounce */
int ctl_action(int argc, char **argv);
int ctl_pause(int argc, char **argv, bool pause);
int ctl_stats(int argc, char **argv);
int ctl_reload(int argc, char **argv);

#endif
