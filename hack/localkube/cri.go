package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	remote "k8s.io/cri-client/pkg"
)

// runCRICleanup stops and removes every pod sandbox of a CRI runtime. The
// runtime then tears down each pod's network (veth, netns) and mounts, which
// it cannot do once it is stopped; hack/cluster.sh down runs this after the
// kubelet is stopped and before containerd is.
func runCRICleanup(args []string) error {
	fs := flag.NewFlagSet("cri-cleanup", flag.ContinueOnError)
	endpoint := fs.String("endpoint", "", "CRI endpoint, e.g. unix:///run/skiff-localkube/containerd/containerd.sock")
	timeout := fs.Duration("timeout", time.Minute, "how long the whole clean-up may take")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *endpoint == "" {
		return fmt.Errorf("need -endpoint")
	}
	runtime, err := remote.NewRemoteRuntimeService(*endpoint, *timeout, nil, nil)
	if err != nil {
		return fmt.Errorf("connecting to the CRI runtime at %s: %w", *endpoint, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	sandboxes, err := runtime.ListPodSandbox(ctx, nil)
	if err != nil {
		return fmt.Errorf("listing pod sandboxes at %s: %w", *endpoint, err)
	}
	var failed []string
	for _, sb := range sandboxes {
		name := sb.Id
		if sb.Metadata != nil {
			name = fmt.Sprintf("%s/%s (%s)", sb.Metadata.Namespace, sb.Metadata.Name, sb.Id)
		}
		if err := runtime.StopPodSandbox(ctx, sb.Id); err != nil {
			failed = append(failed, fmt.Sprintf("stopping %s: %v", name, err))
			continue
		}
		if err := runtime.RemovePodSandbox(ctx, sb.Id); err != nil {
			failed = append(failed, fmt.Sprintf("removing %s: %v", name, err))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d pod sandboxes were not removed: %v", len(failed), len(sandboxes), failed)
	}
	return nil
}
