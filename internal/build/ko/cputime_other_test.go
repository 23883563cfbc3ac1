//go:build !unix

package ko

import "time"

// cpuTime is not measured on this system.
func cpuTime() time.Duration { return 0 }
