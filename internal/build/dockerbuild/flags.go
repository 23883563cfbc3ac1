package dockerbuild

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// cliFlag is a `docker build` flag that has an Engine API equivalent.
type cliFlag struct {
	// value says the flag takes a value; a flag without one is a boolean
	// that also accepts =true and =false.
	value bool
	apply func(o *client.ImageBuildOptions, v string, lookup func(string) (string, bool)) error
}

// cliFlags are the `docker build` flags skiff maps onto the Engine API,
// by long name; shortFlags maps short names to long ones.
var cliFlags = map[string]cliFlag{
	"add-host": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.ExtraHosts = append(o.ExtraHosts, v)
		return nil
	}},
	"build-arg": {true, applyBuildArg},
	"cache-from": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.CacheFrom = append(o.CacheFrom, v)
		return nil
	}},
	"cgroup-parent": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.CgroupParent = v
		return nil
	}},
	"compress":   {false, func(*client.ImageBuildOptions, string, func(string) (string, bool)) error { return nil }},
	"cpu-period": {true, intFlag(func(o *client.ImageBuildOptions) *int64 { return &o.CPUPeriod })},
	"cpu-quota":  {true, intFlag(func(o *client.ImageBuildOptions) *int64 { return &o.CPUQuota })},
	"cpu-shares": {true, intFlag(func(o *client.ImageBuildOptions) *int64 { return &o.CPUShares })},
	"cpuset-cpus": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.CPUSetCPUs = v
		return nil
	}},
	"cpuset-mems": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.CPUSetMems = v
		return nil
	}},
	"force-rm": {false, boolFlag(func(o *client.ImageBuildOptions) *bool { return &o.ForceRemove })},
	"isolation": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.Isolation = container.Isolation(v)
		return nil
	}},
	"label": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		k, val, _ := strings.Cut(v, "=")
		if o.Labels == nil {
			o.Labels = map[string]string{}
		}
		o.Labels[k] = val
		return nil
	}},
	"memory":      {true, bytesFlag(func(o *client.ImageBuildOptions) *int64 { return &o.Memory })},
	"memory-swap": {true, swapFlag},
	"network": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.NetworkMode = v
		return nil
	}},
	"no-cache": {false, boolFlag(func(o *client.ImageBuildOptions) *bool { return &o.NoCache })},
	"platform": {true, applyPlatform},
	"progress": {true, func(*client.ImageBuildOptions, string, func(string) (string, bool)) error { return nil }},
	"pull":     {false, boolFlag(func(o *client.ImageBuildOptions) *bool { return &o.PullParent })},
	"quiet":    {false, boolFlag(func(o *client.ImageBuildOptions) *bool { return &o.SuppressOutput })},
	"rm":       {false, boolFlag(func(o *client.ImageBuildOptions) *bool { return &o.Remove })},
	"security-opt": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.SecurityOpt = append(o.SecurityOpt, v)
		return nil
	}},
	"shm-size": {true, bytesFlag(func(o *client.ImageBuildOptions) *int64 { return &o.ShmSize })},
	"squash":   {false, boolFlag(func(o *client.ImageBuildOptions) *bool { return &o.Squash })},
	"tag": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.Tags = append(o.Tags, v)
		return nil
	}},
	"target": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		o.Target = v
		return nil
	}},
	"ulimit": {true, func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		u, err := units.ParseUlimit(v)
		if err != nil {
			return err
		}
		o.Ulimits = append(o.Ulimits, u)
		return nil
	}},
}

var shortFlags = map[string]string{"c": "cpu-shares", "m": "memory", "q": "quiet", "t": "tag"}

// elsewhere are flags that skaffold.yaml sets through a field of its own.
var elsewhere = map[string]string{
	"file":   "docker.dockerfile",
	"f":      "docker.dockerfile",
	"secret": "docker.secrets",
	"ssh":    "docker.ssh",
}

// applyCLIFlags applies docker.cliFlags, which Skaffold hands to the docker
// CLI, to the API request. Flags the API cannot express (buildx's --output,
// --push, --cache-to, ...) are refused with the list of those it can.
// Value-less --build-arg NAME takes NAME from lookup.
func applyCLIFlags(o *client.ImageBuildOptions, flags []string, lookup func(string) (string, bool)) error {
	for i := 0; i < len(flags); i++ {
		arg := flags[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" || arg == "--" {
			return fmt.Errorf("docker.cliFlags: %q is not a flag; write flags and their values as separate items or as --flag=value", arg)
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "--") && len(name) > 1 && !hasValue {
			// -m1g: a short flag with its value attached.
			name, value, hasValue = name[:1], name[1:], true
		}
		if !strings.HasPrefix(arg, "--") {
			if long, ok := shortFlags[name]; ok {
				name = long
			} else if _, ok := elsewhere[name]; !ok {
				return unknownFlag(arg)
			}
		}
		if field, ok := elsewhere[name]; ok {
			return fmt.Errorf("docker.cliFlags: %s: set %s in skaffold.yaml instead", arg, field)
		}
		spec, ok := cliFlags[name]
		if !ok {
			return unknownFlag(arg)
		}
		switch {
		case spec.value && !hasValue:
			if i+1 >= len(flags) {
				return fmt.Errorf("docker.cliFlags: %s needs a value: add it as the next item or write %s=value", arg, arg)
			}
			i++
			value = flags[i]
		case !spec.value && !hasValue:
			value = "true"
		}
		if err := spec.apply(o, value, lookup); err != nil {
			return fmt.Errorf("docker.cliFlags: %s: %w", arg, err)
		}
	}
	return nil
}

func unknownFlag(arg string) error {
	names := supportedCLIFlags()
	for i, n := range names {
		names[i] = "--" + n
	}
	return fmt.Errorf("docker.cliFlags: %s is not supported by skiff yet: skiff builds through the Docker Engine API, not the docker CLI, and maps only the flags the API can express: %s", arg, strings.Join(names, ", "))
}

func applyBuildArg(o *client.ImageBuildOptions, v string, lookup func(string) (string, bool)) error {
	k, val, ok := strings.Cut(v, "=")
	if o.BuildArgs == nil {
		o.BuildArgs = map[string]*string{}
	}
	switch {
	case ok:
		o.BuildArgs[k] = &val
	default:
		if ev, found := lookup(k); found {
			o.BuildArgs[k] = &ev
		} else {
			o.BuildArgs[k] = nil
		}
	}
	return nil
}

func applyPlatform(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
	p, err := parsePlatform(v)
	if err != nil {
		return err
	}
	o.Platforms = append(o.Platforms[:0], p)
	return nil
}

func boolFlag(field func(*client.ImageBuildOptions) *bool) func(*client.ImageBuildOptions, string, func(string) (string, bool)) error {
	return func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*field(o) = b
		return nil
	}
}

func intFlag(field func(*client.ImageBuildOptions) *int64) func(*client.ImageBuildOptions, string, func(string) (string, bool)) error {
	return func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", v)
		}
		*field(o) = n
		return nil
	}
}

func bytesFlag(field func(*client.ImageBuildOptions) *int64) func(*client.ImageBuildOptions, string, func(string) (string, bool)) error {
	return func(o *client.ImageBuildOptions, v string, _ func(string) (string, bool)) error {
		n, err := units.RAMInBytes(v)
		if err != nil {
			return fmt.Errorf("want a size such as 512m or 2g: %w", err)
		}
		*field(o) = n
		return nil
	}
}

// swapFlag is --memory-swap, where -1 means unlimited.
func swapFlag(o *client.ImageBuildOptions, v string, lookup func(string) (string, bool)) error {
	if v == "-1" {
		o.MemorySwap = -1
		return nil
	}
	return bytesFlag(func(o *client.ImageBuildOptions) *int64 { return &o.MemorySwap })(o, v, lookup)
}

// supportedCLIFlags lists the long names of the flags applyCLIFlags
// accepts, sorted.
func supportedCLIFlags() []string {
	names := make([]string, 0, len(cliFlags))
	for n := range cliFlags {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
