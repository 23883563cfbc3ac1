package buildpacks

import (
	"fmt"
	"strings"
)

// APIError says that skiff and a builder's lifecycle share no Platform
// API.
type APIError struct {
	Builder   string
	Lifecycle string
	Supported []APIVersion
}

func (e *APIError) Error() string {
	vs := make([]string, len(e.Supported))
	for i, v := range e.Supported {
		vs[i] = v.String()
	}
	lc := "its lifecycle"
	if e.Lifecycle != "" {
		lc = "its lifecycle " + e.Lifecycle
	}
	return fmt.Sprintf("builder %s cannot be used: %s speaks Platform API %s and skiff speaks %s to %s; use a builder whose lifecycle speaks one of those (lifecycle v0.21.14 speaks 0.7 to 0.15; make builder makes one)",
		e.Builder, lc, strings.Join(vs, ", "), minPlatformAPI, maxPlatformAPI)
}

// PullError says that an image the build needs is neither in the Docker
// daemon nor pullable.
type PullError struct {
	// What the image is for: "builder", "run image", "buildpack".
	What string
	Ref  string
	Err  error
}

func (e *PullError) Error() string {
	return fmt.Sprintf("the %s image %s is not in the Docker daemon and cannot be pulled: %v; if this machine is offline, build or load it locally (make builder pushes skiff's offline builder to the local registry) and point the artifact at it (buildpacks.builder / runImage)", e.What, e.Ref, e.Err)
}

func (e *PullError) Unwrap() error { return e.Err }

// DetectResult is what detection said of one buildpack in one group.
type DetectResult struct {
	// Buildpack is id@version.
	Buildpack string
	// Result is pass, fail, skip or err.
	Result string
	// Output is what the buildpack's detect printed, if anything.
	Output []string
}

// DetectGroup is one group detection tried.
type DetectGroup struct {
	Results []DetectResult
}

// DetectError says that no group of buildpacks passed detection.
type DetectError struct {
	// Order is the order the detector tried.
	Order Order
	// Groups are the per-buildpack results the detector reported, one
	// entry per group it tried.
	Groups []DetectGroup
	// Errored is true when a buildpack's detect failed with an error
	// rather than declining.
	Errored bool
}

func (e *DetectError) Error() string {
	var b strings.Builder
	b.WriteString("no buildpack group passed detection")
	if e.Errored {
		b.WriteString(" (a buildpack's detect failed with an error)")
	}
	b.WriteString("; ")
	switch {
	case len(e.Groups) > 0:
		fmt.Fprintf(&b, "groups tried:")
		for i, g := range e.Groups {
			fmt.Fprintf(&b, "\n  group %d:", i+1)
			for _, r := range g.Results {
				fmt.Fprintf(&b, "\n    %s: %s", r.Buildpack, r.Result)
				for _, l := range r.Output {
					fmt.Fprintf(&b, "\n      | %s", l)
				}
			}
		}
	case len(e.Order) > 0:
		b.WriteString("groups tried:")
		for i, g := range e.Order {
			fmt.Fprintf(&b, "\n  group %d: %s", i+1, g)
		}
	default:
		b.WriteString("the builder's order is empty")
	}
	b.WriteString("\ncheck that the artifact's context holds the application these buildpacks build (go.mod, package.json, ...), or choose the buildpacks (buildpacks.buildpacks)")
	return b.String()
}

// BuildpackError says that a buildpack's build failed.
type BuildpackError struct {
	// Buildpack is the failing buildpack, id@version; empty when the
	// lifecycle did not say which of Group it was.
	Buildpack string
	// Group is the group that was building.
	Group Group
	// Tail are the last lines of the build's output.
	Tail []string
}

func (e *BuildpackError) Error() string {
	var b strings.Builder
	if e.Buildpack != "" {
		fmt.Fprintf(&b, "buildpack %s failed to build", e.Buildpack)
	} else {
		fmt.Fprintf(&b, "a buildpack of the group %s failed to build", e.Group)
	}
	writeTail(&b, e.Tail)
	b.WriteString("\nfix the application (or the buildpack) and build again")
	return b.String()
}

// PhaseError says that a lifecycle phase failed for another reason than a
// buildpack's.
type PhaseError struct {
	Phase    string
	ExitCode int
	Tail     []string
}

func (e *PhaseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the lifecycle's %s failed (exit code %d%s)", e.Phase, e.ExitCode, exitCodeMeaning(e.ExitCode))
	writeTail(&b, e.Tail)
	return b.String()
}

// exitCodeMeaning names the lifecycle's exit codes (Platform API,
// "Exit codes").
func exitCodeMeaning(code int) string {
	switch code {
	case 11:
		return ": the lifecycle does not support the Platform API skiff asked for"
	case 12:
		return ": the lifecycle does not support a buildpack's Buildpack API"
	case 32:
		return ": analyzing failed"
	case 42:
		return ": restoring the cache failed"
	case 62:
		return ": exporting the image failed"
	}
	return ""
}

// writeTail quotes the last output lines of a failure.
func writeTail(b *strings.Builder, tail []string) {
	if len(tail) == 0 {
		return
	}
	b.WriteString("; its last output lines:")
	for _, l := range tail {
		fmt.Fprintf(b, "\n  %s", l)
	}
}
