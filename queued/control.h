/*
 * control.h: queued's control socket (run/control.sock), served inside
 * the queue manager (postern-queue, chrooted to the spool root) for
 * posternctl: root and members of group postern-admin only, checked by
 * the peer's uid. Acts on the queue (hold, release, retry, remove,
 * bounce), pauses and resumes delivery and intake, reports counters,
 * hands out a read-only descriptor of a queue file, and asks the root
 * parent to have the daemons reload.
 */
#ifndef POSTERN_CONTROL_H
#define POSTERN_CONTROL_H

#include "queued.h"

#include <stdbool.h>
#include <stdint.h>

struct event_base;

void control_init(struct event_base *base, const struct queued_ctx *ctx);

#endif
