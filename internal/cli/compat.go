package cli

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Annotations of flags that skiff accepts for Skaffold's sake: the reason
// a flag has no effect in skiff, and Skaffold's deprecation note. prepare
// reports them when such a flag is given.
const (
	annotationNoEffect   = "skiff/no-effect"
	annotationDeprecated = "skiff/deprecated"
	// annotationEffectIn lists the commands where a flag of the root that
	// has no effect elsewhere has one.
	annotationEffectIn = "skiff/effect-in"
)

// ignoredFlag is a flag of Skaffold v2.24 that changes nothing in skiff.
// skiff accepts it, so that command lines and SKAFFOLD_* variables written
// for Skaffold work, and says at -v info why it has no effect (noEffect).
type ignoredFlag struct {
	name      string
	shorthand string
	// def is the default, whose type is the flag's: bool, int, string,
	// []string or time.Duration.
	def   any
	usage string
	// noEffect says why the flag changes nothing and what skiff does
	// instead.
	noEffect string
	// deprecated is Skaffold's deprecation of the flag; it is hidden.
	deprecated string
	hidden     bool
	// commands are the commands that take it; "" is the root, whose
	// flags every command takes.
	commands []string
	// effectIn are the commands where the flag has an effect after all.
	effectIn []string
}

// Why the flags of ignoredFlags do nothing, where several share a reason.
const (
	noEvents        = "skiff render, test, verify and exec build and deploy nothing, so they record no events"
	noMinikube      = "skiff does not special-case minikube: images are pushed when --push, build.local.push, the global config's local-cluster, a default repo or a local registry the cluster advertises (KEP-1755) says so, else loaded into the local Docker daemon"
	noRemoteConfigs = "skiff does not fetch remote configs (requires[].git), so there is no remote cache"
	noPlatformMagic = "skiff builds for the --platform values given (default the host's) and adds no node affinity or toleration to the manifests"
	noPrune         = "skiff removes no images or containers of builds on cleanup, so there is nothing to keep"
	noCloudRun      = "skiff has no Cloud Run deployer"
	noKpt           = "skiff has no kpt hydration; manifests are rendered in memory"
	noAutoConfig    = "skiff does not generate a config on the fly; without a skaffold.yaml, skiff init writes one"
	noQuestions     = "skiff asks no questions (skiff init only, on a terminal)"
	noSelectorRules = "skiff replaces images and adds labels in the fields it knows of every object; a rules file is not read"
	noSelectorsFile = "skiff's status check follows the workloads it knows (Deployments, StatefulSets, DaemonSets, Jobs, Pods); a selectors file is not read"
	iterativeCheck  = "skiff applies a deploy's manifests in one step and checks their status once after it, which is what the iterative check does for one step"
	fastFailCheck   = "skiff's status check stops at the first failure that cannot recover; --tolerate-failures-until-deadline waits instead"
)

// ignoredFlags are the flags of Skaffold v2.24 that skiff accepts without
// effect (see testdata/skaffold-v2.24-flags.txt).
var ignoredFlags = []ignoredFlag{
	// The root's flags.
	{name: "color", def: 34, usage: "the default output colour as an ANSI code", noEffect: "skiff colours log prefixes on a terminal only and has no default colour", commands: []string{""}},
	{name: "interactive", def: true, usage: "allow prompts", noEffect: noQuestions, commands: []string{""}, effectIn: []string{"init"}},
	{name: "update-check", def: true, usage: "check for a newer version", noEffect: "skiff never checks for updates", commands: []string{""}},
	{name: "timestamps", def: false, usage: "print timestamps in logs", noEffect: "skiff prints no timestamps in its logs", commands: []string{""}},
	{name: "user", shorthand: "u", def: "", usage: "the user of the session, for metrics", noEffect: "skiff collects no metrics", hidden: true, commands: []string{""}},
	{name: "assume-yes", def: false, usage: "skip yes/no confirmations", noEffect: noQuestions, commands: []string{""}, effectIn: []string{"init"}},
	{name: "remote-cache-dir", def: "", usage: "where remote configs are cached", noEffect: noRemoteConfigs, commands: []string{""}},
	{name: "sync-remote-cache", def: "always", usage: "how remote configs are refreshed: always, missing or never", noEffect: noRemoteConfigs, commands: []string{""}},

	{name: "detect-minikube", def: true, usage: "detect a minikube cluster", noEffect: noMinikube, commands: []string{"build", "delete", "deploy", "dev", "debug", "run"}},
	{name: "minikube-profile", def: "", usage: "the minikube profile to build in", noEffect: noMinikube, hidden: true, commands: []string{"build", "dev", "debug", "run"}},
	{name: "rpc-port", def: "", usage: "serve Skaffold's v2 gRPC API (proto.v2.SkaffoldV2Service: Events, GetState, Execute) on 127.0.0.1 at this port (0: a free one, printed)", noEffect: noEvents, commands: []string{"dev", "debug", "build", "run", "deploy", "apply", "test", "verify", "exec"}, effectIn: []string{"dev", "debug", "build", "run", "deploy", "apply"}},
	{name: "rpc-http-port", def: "", usage: "serve Skaffold's v2 HTTP API (/v2/events, /v2/state, /v2/execute) on 127.0.0.1 at this port (0: a free one, printed)", noEffect: noEvents, commands: []string{"dev", "debug", "build", "run", "deploy", "apply", "test", "verify", "exec"}, effectIn: []string{"dev", "debug", "build", "run", "deploy", "apply"}},
	{name: "enable-rpc", def: false, usage: "serve the HTTP API on a free port (printed)", noEffect: noEvents, deprecated: "--rpc-port or --rpc-http-port imply it", commands: []string{"dev", "debug", "build", "run", "deploy", "render", "apply", "test"}, effectIn: []string{"dev", "debug", "build", "run", "deploy", "apply"}},
	{name: "wait-for-connection", def: false, usage: "wait for a client of the event API before exiting", noEffect: "skiff does not wait for a client of the event API before exiting", commands: []string{"dev", "debug", "build", "run", "deploy", "render", "apply", "test"}},
	{name: "event-log-file", def: "", usage: "file to save the events to, as JSON lines", noEffect: noEvents, hidden: true, commands: []string{"dev", "debug", "build", "run", "deploy", "render", "apply", "test", "verify", "exec"}, effectIn: []string{"dev", "debug", "build", "run", "deploy", "apply"}},
	{name: "last-log-file", def: "", usage: "file to save the output to", noEffect: "skiff keeps no log of its own output to save; --event-log-file saves the events", hidden: true, commands: []string{"dev", "debug", "build", "run", "deploy", "render", "apply", "test"}},
	{name: "cloud-run-project", def: "", usage: "GCP project for Cloud Run", noEffect: noCloudRun, commands: []string{"dev", "debug", "run", "deploy", "apply", "delete"}},
	{name: "cloud-run-location", def: "", usage: "GCP region for Cloud Run", noEffect: noCloudRun, commands: []string{"dev", "debug", "run", "deploy", "apply", "delete"}},
	{name: "hydration-dir", def: ".kpt-pipeline", usage: "directory for kpt hydration", noEffect: noKpt, commands: []string{"dev", "debug", "render", "run", "deploy"}},
	{name: "resource-selector-rules-file", def: "", usage: "JSON rules for the objects whose images and labels are replaced", noEffect: noSelectorRules, commands: []string{"dev", "debug", "render", "run", "deploy"}},
	{name: "status-check-selectors", def: "", usage: "JSON selectors of custom resources to status-check", noEffect: noSelectorsFile, commands: []string{"deploy", "run", "dev", "debug", "apply"}},
	{name: "enable-platform-node-affinity", def: false, usage: "add node affinity for the images' platforms", noEffect: noPlatformMagic, commands: []string{"dev", "debug", "render", "run", "deploy"}},
	{name: "enable-gke-arm-node-toleration", def: true, usage: "tolerate GKE ARM node taints", noEffect: noPlatformMagic, hidden: true, commands: []string{"dev", "debug", "render", "run", "deploy"}},
	{name: "check-cluster-node-platforms", def: false, usage: "build for the cluster nodes' platforms", noEffect: noPlatformMagic, commands: []string{"build", "dev", "debug", "run"}},
	{name: "iterative-status-check", def: true, usage: "check status after each deploy step", noEffect: iterativeCheck, commands: []string{"dev", "debug", "deploy", "run", "apply"}},
	{name: "fast-fail-status-check", def: true, usage: "fail the status check at the first error", noEffect: fastFailCheck, hidden: true, commands: []string{"dev", "debug", "deploy", "run", "apply"}},
	{name: "no-prune", def: false, usage: "keep the images and containers of builds on cleanup", noEffect: noPrune, commands: []string{"dev", "debug", "run"}},
	{name: "no-prune-children", def: false, usage: "keep the layers of builds on cleanup", noEffect: noPrune, commands: []string{"dev", "debug", "run"}},
	{name: "auto-create-config", def: true, usage: "create a config when there is none", noEffect: noAutoConfig, commands: []string{"dev", "debug", "run"}},
	{name: "auto", def: false, usage: "run with a generated config", noEffect: noAutoConfig, commands: []string{"dev", "debug", "run"}},
	{name: "build-concurrency", def: -1, usage: "how many artifacts build at once", noEffect: "skiff deploy builds nothing", commands: []string{"deploy"}},
	{name: "toot", def: false, usage: "beep after the deploy", noEffect: "skiff beeps after a deploy (run, dev, deploy --toot); build deploys nothing", commands: []string{"build"}},
	{name: "cleanup", def: true, usage: "delete what was deployed when interrupted (dev)", noEffect: "as in Skaffold, run leaves what it deployed in place; --cleanup is for skiff dev, and skiff delete removes it", commands: []string{"run"}},
	{name: "digest-source", def: "", usage: "where image references come from (render)", noEffect: "--digest-source applies to skiff render; run and dev deploy the images they build", deprecated: "Skaffold deprecates it for run and dev", commands: []string{"dev", "run"}},
	{name: "load-images", def: false, usage: "load the images into the local cluster", noEffect: "skiff does not load images into kind or minikube nodes: it pushes to the cluster's advertised local registry (KEP-1755) or --default-repo, else loads into the local Docker daemon", commands: []string{"deploy"}},
	{name: "set", def: []string{}, usage: "override templated manifest fields (key=value)", noEffect: "skiff does not override templated manifest fields from the command line; set them in skaffold.yaml (manifests.helm.releases[].setValues) or through skaffold.env", commands: []string{"render", "delete", "filter"}},
	{name: "debugging", def: false, usage: "apply debug transforms", noEffect: "skiff filter does not apply skiff debug's transform yet; the manifests are filtered as for skiff run (skiff render --debug prints them as skiff debug deploys them)", commands: []string{"filter"}},
	{name: "protocols", def: []string{}, usage: "debugger protocols, in order of preference", noEffect: "skiff debug speaks each runtime's own protocol (Delve's API for Go, the DevTools protocol for Node.js, DAP through debugpy for Python, JDWP for the JVM); there is no protocol to choose", commands: []string{"debug", "filter"}},
	{name: "post-renderer", def: "", usage: "a program to pass the manifests through first", noEffect: "skiff filter runs no other program; chain them in the shell (other | skiff filter)", commands: []string{"filter"}},
	{name: "set-value-file", def: "", usage: "override templated manifest fields from a .env file", noEffect: "skiff does not override templated manifest fields from a file; set them in skaffold.yaml (manifests.helm.releases[].setValueTemplates) or through skaffold.env", commands: []string{"render", "delete"}},
	{name: "docker-network", def: "", usage: "the Docker network of the verify containers", noEffect: "skiff verify and exec run their containers on the Docker Engine's default network", commands: []string{"verify", "exec"}},
	{name: "env-file", def: "", usage: "a file of environment variables for the verify containers", noEffect: "skiff verify and exec set only the containers' own env", commands: []string{"verify", "exec"}},
	{name: "port-forward", def: []string{}, usage: "port-forward modes while verifying", noEffect: "skiff verify and exec forward no ports", commands: []string{"verify", "exec"}},
	{name: "status-check", def: true, usage: "wait for the deployed resources first", noEffect: "skiff verify runs the verify containers without checking the deployment first", commands: []string{"verify"}},
	{name: "enable-templating", def: false, usage: "expand templated fields in the printed config", noEffect: "skiff diagnose prints templated fields as written; skiff render shows them expanded", commands: []string{"diagnose"}},
}

// addIgnoredFlags adds to fs the flags of ignoredFlags that command takes
// ("" for the root: fs are its persistent flags).
func addIgnoredFlags(fs *pflag.FlagSet, command string) {
	for _, fl := range ignoredFlags {
		if !slices.Contains(fl.commands, command) {
			continue
		}
		usage := fl.usage
		if !slices.Contains(fl.effectIn, command) {
			usage += " (no effect in skiff)"
		}
		switch d := fl.def.(type) {
		case bool:
			fs.BoolP(fl.name, fl.shorthand, d, usage)
		case int:
			fs.IntP(fl.name, fl.shorthand, d, usage)
		case string:
			fs.StringP(fl.name, fl.shorthand, d, usage)
		case []string:
			fs.StringSliceP(fl.name, fl.shorthand, d, usage)
		case time.Duration:
			fs.DurationP(fl.name, fl.shorthand, d, usage)
		default:
			panic(fmt.Sprintf("ignored flag --%s: unhandled default %T", fl.name, fl.def))
		}
		f := fs.Lookup(fl.name)
		f.Hidden = fl.hidden
		setAnnotation(f, annotationNoEffect, fl.noEffect)
		if len(fl.effectIn) > 0 {
			f.Annotations[annotationEffectIn] = fl.effectIn
		}
		if fl.deprecated != "" {
			deprecate(f, fl.deprecated)
		}
	}
}

// deprecate hides f and records Skaffold's deprecation note, which
// prepare prints when the flag is given.
func deprecate(f *pflag.Flag, note string) {
	f.Hidden = true
	setAnnotation(f, annotationDeprecated, note)
}

func setAnnotation(f *pflag.Flag, key, value string) {
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[key] = []string{value}
}

// reportCompatFlags tells, for each flag given (on the command line or
// through the environment, fromEnv), that it is deprecated (warning) or
// has no effect in skiff (info).
func (a *app) reportCompatFlags(cmd *cobra.Command, fromEnv map[string]string) {
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Changed {
			return
		}
		given := "--" + f.Name
		if v, ok := fromEnv[f.Name]; ok {
			given = v + " (--" + f.Name + ")"
		}
		if note := f.Annotations[annotationDeprecated]; len(note) > 0 {
			a.log.Warnf("%s is deprecated: %s", given, note[0])
		}
		if why := f.Annotations[annotationNoEffect]; len(why) > 0 && !slices.Contains(f.Annotations[annotationEffectIn], cmd.Name()) {
			a.log.Infof("%s has no effect in skiff: %s", given, strings.TrimSpace(why[0]))
		}
	})
}
