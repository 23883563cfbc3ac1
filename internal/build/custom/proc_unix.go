//go:build unix

package custom

import (
	"os/exec"
	"syscall"
)

// setProcessGroup runs the command in a process group of its own, so that
// cancelling the build interrupts everything the command started: SIGINT
// first, then, after gracePeriod, the command is killed.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	}
	cmd.WaitDelay = gracePeriod
}

// killProcessGroup kills what a cancelled command left running in its
// group, such as a process it started in the background.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
