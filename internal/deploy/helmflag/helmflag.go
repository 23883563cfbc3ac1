// Package helmflag reads the helm command-line flags a skaffold.yaml
// passes to helm (deploy.helm.flags: global, install, upgrade) into the
// settings skiff gives the Helm SDK's install and upgrade actions. A flag
// skiff cannot honour is an error that says why and what to do instead,
// never silently dropped.
package helmflag

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Command is the helm command flags are given to.
type Command string

// The commands of deploy.helm.flags.
const (
	Global  Command = "global"
	Install Command = "install"
	Upgrade Command = "upgrade"
)

// Settings are what the flags set. The zero value is helm's defaults,
// except HistoryMax, whose 0 means helm's default of 10.
type Settings struct {
	Atomic, Force, CreateNamespace, NoHooks, SkipCRDs bool
	DisableOpenAPIValidation, SkipSchemaValidation    bool
	CleanupOnFail, ResetValues, ReuseValues           bool
	ResetThenReuseValues, Devel, DependencyUpdate     bool
	TakeOwnership, EnableDNS                          bool
	// PlainHTTP and InsecureSkipTLSVerify are how remote charts are
	// fetched.
	PlainHTTP, InsecureSkipTLSVerify bool
	// Wait is --wait or --wait-for-jobs: skiff's status check waits for
	// the release's workloads after every deploy, so it changes nothing.
	Wait bool
	// Timeout bounds the install or upgrade, hooks included; 0 is helm's
	// 5 minutes.
	Timeout    time.Duration
	HistoryMax int
	// Description is the release's description.
	Description string
	// PostRenderer is the executable (a path, or a name looked up on PATH)
	// helm pipes the rendered manifests through, with PostRendererArgs.
	PostRenderer     string
	PostRendererArgs []string
	// Labels are added to the release's record.
	Labels map[string]string
	// CAFile, CertFile, KeyFile, Username and Password reach the chart
	// repository of a remote chart.
	CAFile, CertFile, KeyFile, Username, Password string
}

// kind is how a flag takes its value.
type kind int

const (
	boolean kind = iota
	text
	duration
	number
)

// flag is one helm flag skiff honours: the commands it is valid for and
// what it sets.
type flag struct {
	kind     kind
	commands []Command
	set      func(s *Settings, v string) error
}

var both = []Command{Install, Upgrade}

func boolFlag(commands []Command, field func(*Settings) *bool) flag {
	return flag{boolean, commands, func(s *Settings, v string) error {
		b, err := strconv.ParseBool(v)
		*field(s) = b
		return err
	}}
}

func textFlag(field func(*Settings) *string) flag {
	return flag{text, both, func(s *Settings, v string) error { *field(s) = v; return nil }}
}

// flags are the flags of helm install and upgrade skiff honours, by name.
var flags = map[string]flag{
	"atomic":                     boolFlag(both, func(s *Settings) *bool { return &s.Atomic }),
	"force":                      boolFlag(both, func(s *Settings) *bool { return &s.Force }),
	"create-namespace":           boolFlag(both, func(s *Settings) *bool { return &s.CreateNamespace }),
	"no-hooks":                   boolFlag(both, func(s *Settings) *bool { return &s.NoHooks }),
	"skip-crds":                  boolFlag(both, func(s *Settings) *bool { return &s.SkipCRDs }),
	"disable-openapi-validation": boolFlag(both, func(s *Settings) *bool { return &s.DisableOpenAPIValidation }),
	"skip-schema-validation":     boolFlag(both, func(s *Settings) *bool { return &s.SkipSchemaValidation }),
	"dependency-update":          boolFlag(both, func(s *Settings) *bool { return &s.DependencyUpdate }),
	"devel":                      boolFlag(both, func(s *Settings) *bool { return &s.Devel }),
	"take-ownership":             boolFlag(both, func(s *Settings) *bool { return &s.TakeOwnership }),
	"enable-dns":                 boolFlag(both, func(s *Settings) *bool { return &s.EnableDNS }),
	"plain-http":                 boolFlag(both, func(s *Settings) *bool { return &s.PlainHTTP }),
	"insecure-skip-tls-verify":   boolFlag(both, func(s *Settings) *bool { return &s.InsecureSkipTLSVerify }),
	"wait":                       boolFlag(both, func(s *Settings) *bool { return &s.Wait }),
	"wait-for-jobs":              boolFlag(both, func(s *Settings) *bool { return &s.Wait }),
	"cleanup-on-fail":            boolFlag([]Command{Upgrade}, func(s *Settings) *bool { return &s.CleanupOnFail }),
	"reset-values":               boolFlag([]Command{Upgrade}, func(s *Settings) *bool { return &s.ResetValues }),
	"reuse-values":               boolFlag([]Command{Upgrade}, func(s *Settings) *bool { return &s.ReuseValues }),
	"reset-then-reuse-values":    boolFlag([]Command{Upgrade}, func(s *Settings) *bool { return &s.ResetThenReuseValues }),
	"description":                textFlag(func(s *Settings) *string { return &s.Description }),
	"post-renderer":              textFlag(func(s *Settings) *string { return &s.PostRenderer }),
	"ca-file":                    textFlag(func(s *Settings) *string { return &s.CAFile }),
	"cert-file":                  textFlag(func(s *Settings) *string { return &s.CertFile }),
	"key-file":                   textFlag(func(s *Settings) *string { return &s.KeyFile }),
	"username":                   textFlag(func(s *Settings) *string { return &s.Username }),
	"password":                   textFlag(func(s *Settings) *string { return &s.Password }),
	"post-renderer-args": {text, both, func(s *Settings, v string) error {
		s.PostRendererArgs = append(s.PostRendererArgs, v)
		return nil
	}},
	"timeout": {duration, both, func(s *Settings, v string) error {
		d, err := time.ParseDuration(v)
		if err == nil && d < 0 {
			err = fmt.Errorf("negative")
		}
		s.Timeout = d
		return err
	}},
	"history-max": {number, []Command{Upgrade}, func(s *Settings, v string) error {
		n, err := strconv.Atoi(v)
		s.HistoryMax = n
		return err
	}},
	"labels": {text, both, func(s *Settings, v string) error {
		for kv := range strings.SplitSeq(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("%q is not key=value", kv)
			}
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			s.Labels[k] = val
		}
		return nil
	}},
	// helm's global flags.
	"debug": boolFlag([]Command{Global}, func(s *Settings) *bool { return new(bool) }),
}

// instead says what to do instead of a flag skiff does not honour.
var instead = map[string]string{
	"kube-context":                  "skiff uses its own kube context: pass --kube-context to skiff",
	"kubeconfig":                    "skiff uses its own kubeconfig: pass --kubeconfig to skiff or set KUBECONFIG",
	"namespace":                     "set the release's namespace, or pass -n to skiff",
	"n":                             "set the release's namespace, or pass -n to skiff",
	"set":                           "put the value in the release's setValues",
	"set-string":                    "put the value in the release's setValues",
	"set-file":                      "put the file in the release's setFiles",
	"f":                             "list the file in the release's valuesFiles",
	"values":                        "list the file in the release's valuesFiles",
	"version":                       "set the release's version",
	"repo":                          "set the release's repo",
	"dry-run":                       "use skiff render to see what would be installed",
	"install":                       "skiff installs a release that is not there and upgrades one that is",
	"recreate-pods":                 "set the release's recreatePods",
	"kube-apiserver":                "skiff connects with its kube context: pass --kube-context to skiff",
	"kube-token":                    "skiff connects with its kube context: pass --kube-context to skiff",
	"kube-as-user":                  "skiff connects with its kube context: pass --kube-context to skiff",
	"kube-as-group":                 "skiff connects with its kube context: pass --kube-context to skiff",
	"kube-ca-file":                  "skiff connects with its kube context: pass --kube-context to skiff",
	"kube-insecure-skip-tls-verify": "skiff connects with its kube context: pass --kube-context to skiff",
	"kube-tls-server-name":          "skiff connects with its kube context: pass --kube-context to skiff",
}

// Parse reads args, the flags deploy.helm.flags gives command, into s.
// "--name value", "--name=value" and, for a boolean flag, "--name" and
// "--name=false" are understood.
func Parse(command Command, args []string, s *Settings) error {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || name == "" {
			return fmt.Errorf("%q is not a flag: skiff passes no arguments to helm; remove it", arg)
		}
		f, ok := flags[name]
		if !ok {
			if why, ok := instead[name]; ok {
				return fmt.Errorf("helm flag %s is not supported by skiff, which installs with the Helm SDK: %s", arg, why)
			}
			return fmt.Errorf("helm flag %s is not supported by skiff, which installs with the Helm SDK; it honours %s", arg, Supported(command))
		}
		if !slices.Contains(f.commands, command) {
			return fmt.Errorf("helm flag --%s is not a flag of helm %s; skiff honours %s there", name, command, Supported(command))
		}
		if !hasValue {
			switch {
			case f.kind == boolean:
				value = "true"
			case i+1 < len(args):
				i++
				value = args[i]
			default:
				return fmt.Errorf("helm flag --%s needs a value", name)
			}
		}
		if err := f.set(s, value); err != nil {
			return fmt.Errorf("helm flag --%s %q: %v", name, value, err)
		}
	}
	return nil
}

// Supported lists the flags skiff honours for command, as "--a, --b".
func Supported(command Command) string {
	var names []string
	for name, f := range flags {
		if slices.Contains(f.commands, command) {
			names = append(names, "--"+name)
		}
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
