/* Cilium's reserved numeric identities (pkg/identity/numericidentity.go), shared by the kernel
 * programs and the Swift code (SluiceModel's ReservedIdentity). */
#ifndef SLUICE_IDENTITY_H
#define SLUICE_IDENTITY_H

#define SLUICE_IDENTITY_HOST 1
#define SLUICE_IDENTITY_WORLD 2
#define SLUICE_IDENTITY_UNMANAGED 3
#define SLUICE_IDENTITY_HEALTH 4
#define SLUICE_IDENTITY_INIT 5
#define SLUICE_IDENTITY_REMOTE_NODE 6
#define SLUICE_IDENTITY_KUBE_APISERVER 7
#define SLUICE_IDENTITY_INGRESS 8
#define SLUICE_IDENTITY_WORLD_IPV4 9
#define SLUICE_IDENTITY_WORLD_IPV6 10
/* The first identity handed out for a label set. */
#define SLUICE_IDENTITY_FIRST_ALLOCATED 256

#endif
