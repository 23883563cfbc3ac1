//go:build !unix

package custom

import (
	"os/exec"
)

func setProcessGroup(cmd *exec.Cmd) { cmd.WaitDelay = gracePeriod }

func killProcessGroup(*exec.Cmd) {}
