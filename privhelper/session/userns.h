/* --private-users on the helper's side (rkt-behaviour.md "private-users"):
 * the UID range of a pod, chosen by the helper (never by the client) and
 * kept in the pod dir as rkt does (`private-users-prepared`, "shift:count"),
 * and the two ways its app trees are shifted into that range: an idmapped
 * lower layer for the overlay, or a chown of the --no-overlay copy. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define SESSION_USERNS_FILE "private-users-prepared"
#define SESSION_USERNS_COUNT 65536u
/* Ranges are multiples of COUNT in [MIN, MAX): above the usual host ids
 * (0..1M: system and login users, subuid ranges usually start lower). */
#define SESSION_USERNS_MIN (SESSION_USERNS_COUNT * 16u)
#define SESSION_USERNS_MAX (SESSION_USERNS_COUNT * 32767u)

struct session_userns {
	uint32_t shift, count; /* count 0: the pod has no user namespace */
};

/* Pure: "shift:count" as written by session_userns_allocate, checked
 * against the bounds above. */
int session_userns_parse(const char *text, struct session_userns *ret, struct rkt_err *err);
/* Picks a range no other live pod (embryo, prepare, prepared, run) uses,
 * under pods/.private-users.lck, and writes it into the pod dir (0640). */
int session_userns_allocate(int pods_fd, int podfd, bool durable, struct session_userns *ret,
			    struct rkt_err *err);
/* The pod's range; count 0 when it has none. */
int session_userns_read(int podfd, struct session_userns *ret, struct rkt_err *err);
/* A user namespace fd whose maps are "0 shift count" (for idmapped
 * mounts; no process stays in it). */
int session_userns_fd(const struct session_userns *u, int *ret_fd, struct rkt_err *err);
/* An idmapped, read-only clone of src at dst (a directory). */
int session_userns_idmap_mount(const char *src, const char *dst, int userns_fd,
			       struct rkt_err *err);
/* lchown every entry beneath path (itself included, one filesystem) into
 * the range; modes (set-id bits too) are put back after the chown. */
int session_userns_shift_tree(const char *path, const struct session_userns *u,
			      struct rkt_err *err);
