/* Network interfaces a pod's netns needs before any CNI plugin runs. */
#pragma once

/* Brings "lo" up in the caller's current network namespace; 0 or -errno.
 * Used by stage1 for a netns it made and by the helper for a CNI netns. */
int netif_loopback_up(void);
