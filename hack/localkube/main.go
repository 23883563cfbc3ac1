// Command localkube is skiff's local single-node Kubernetes cluster in one
// binary: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kubelet from k8s.io/kubernetes, plus the small helpers hack/cluster.sh
// needs to set the cluster up and tear it down (certificates, the pause
// image, readiness waits, the local registry ConfigMap, CRI clean-up).
//
// The first argument names the component or helper; the rest are its flags:
//
//	localkube kube-apiserver --etcd-servers=... --secure-port=...
//	localkube pki -dir /var/lib/skiff-localkube/pki -node-ip 10.200.0.1
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // JSON log format, as in the upstream mains
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // client-go metrics, as in the upstream mains
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric, as in the upstream mains
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"

	_ "time/tzdata" // CronJob time zones, as in the upstream mains
)

// components are the upstream Kubernetes commands, each run as its own
// process exactly as its upstream main would.
var components = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
}

// helpers are localkube's own subcommands; each returns an error to print.
var helpers = map[string]func(args []string) error{
	"pki":              runPKI,
	"pause-image":      runPauseImage,
	"wait-http":        runWaitHTTP,
	"wait-ready":       runWaitReady,
	"publish-registry": runPublishRegistry,
	"cri-cleanup":      runCRICleanup,
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name, args := os.Args[1], os.Args[2:]
	switch {
	case name == "etcd":
		// etcdmain.Main reads its flags from args[1:], like os.Args.
		etcdmain.Main(append([]string{name}, args...))
	case components[name] != nil:
		cmd := components[name]()
		cmd.SetArgs(args)
		os.Exit(cli.Run(cmd))
	case helpers[name] != nil:
		if err := helpers[name](args); err != nil {
			fmt.Fprintf(os.Stderr, "localkube %s: %v\n", name, err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "localkube: unknown command %q\n", name)
		usage()
		os.Exit(2)
	}
}

func usage() {
	names := []string{"etcd"}
	for n := range components {
		names = append(names, n)
	}
	for n := range helpers {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: localkube COMMAND [flags]\ncommands: %s\n", strings.Join(names, ", "))
}
