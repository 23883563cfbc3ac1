//go:build !unix

package proc

import (
	"os"
	"os/exec"
	"time"
)

// setGroup does nothing where there are no process groups.
func setGroup(*exec.Cmd) {}

// signalGroup kills the command: signals other than kill are not
// delivered here.
func signalGroup(cmd *exec.Cmd, _ os.Signal) error { return cmd.Process.Kill() }

// endGroup has nothing more to do: the command was killed.
func endGroup(*exec.Cmd, time.Time) {}
