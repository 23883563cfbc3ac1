package debug

import (
	"fmt"
	"time"
)

// relaxedTimeout is the readiness probe timeout of a debugged container,
// Skaffold's: long enough to step through a request.
const relaxedTimeout = 600

// relaxProbes keeps a debugged container's probes from killing or
// holding back an app paused at a breakpoint. By default its liveness and
// startup probes are removed (either restarts a container that stops
// answering, and a paused process answers nothing), and its readiness
// probe gets timeoutSeconds 600; a suspended app waits for its debugger
// before it can answer, so its readiness probe is removed too, or the
// rollout would wait for it. The annotation ProbeTimeoutsAnnotation set
// to "skip" leaves the probes alone, and set to a duration gives every
// probe that timeout instead, as in Skaffold.
func relaxProbes(c map[string]any, annotation string, suspend bool) error {
	kinds := []string{"livenessProbe", "readinessProbe", "startupProbe"}
	switch annotation {
	case "skip":
		return nil
	case "":
	default:
		d, err := time.ParseDuration(annotation)
		if err != nil || d < time.Second {
			return fmt.Errorf("annotation %s: %q is not \"skip\" or a duration of a second or more such as \"10m\"", ProbeTimeoutsAnnotation, annotation)
		}
		for _, k := range kinds {
			if p, ok := c[k].(map[string]any); ok {
				p["timeoutSeconds"] = int64(d / time.Second)
			}
		}
		return nil
	}
	delete(c, "livenessProbe")
	delete(c, "startupProbe")
	if suspend {
		delete(c, "readinessProbe")
	} else if p, ok := c["readinessProbe"].(map[string]any); ok {
		p["timeoutSeconds"] = int64(relaxedTimeout)
	}
	return nil
}
