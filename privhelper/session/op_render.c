/* RENDER_REQ: render one image of the helper's own store into the verified
 * tree store (issue 4 "Verified tree store"). Only callers who may run pods
 * may make the helper do this work; the request carries no insecure
 * options, so only signed images render through it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ipc/ipc.h"
#include "policy/policy.h"
#include "privhelper/session/session.h"

#define TREE_ID_MAX 200

/* Root, or a caller whose first matching run rule would let it run a pod
 * of signed images with one of the rule's flavors. */
static int may_render(struct conn *c, struct rkt_err *err)
{
	const struct policy *p = c->cfg->policy;
	struct pod_request q = { .uid = c->peer.uid, .gids = c->peer.gids,
				 .n_gids = c->peer.n_gids, .signed_images = true };
	for (size_t i = 0; i < p->n_rules && !q.stage1; i++)
		for (size_t g = 0; g < p->rules[i].n_gids && !q.stage1; g++)
			for (size_t k = 0; k < c->peer.n_gids; k++)
				if (p->rules[i].gids[g] == c->peer.gids[k]) {
					q.stage1 = p->rules[i].stage1 ? p->rules[i].stage1[0] : "";
					break;
				}
	return policy_check_run(p, &q, NULL, err);
}

int op_render(struct conn *c, struct ipc_msg *m, struct rkt_err *err)
{
	const char *id;
	int r = ipc_msg_get_str(m, IPC_TAG_IMAGE_ID, &id);
	if (r < 0)
		return rkt_error(err, -r, "RENDER_REQ without an image id");
	struct rkt_err rerr = { 0 };
	if (may_render(c, &rerr) < 0)
		return session_reply_errno(c, rerr.code ? rerr.code : EPERM, rerr.msg, err);
	char tree[TREE_ID_MAX];
	bool is_signed = false;
	if (session_render_image(c, id, false, tree, &is_signed, NULL, &rerr) < 0)
		return session_reply_errno(c, rerr.code ? rerr.code : EIO, rerr.msg, err);
	char msg[TREE_ID_MAX + 8];
	snprintf(msg, sizeof msg, "tree=%s", tree);
	return session_reply_errno(c, 0, msg, err);
}
