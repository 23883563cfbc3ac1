//go:build unix

package proc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// goneWait bounds the wait for killed processes to be gone (a process
// stuck in the kernel, or an unreaped zombie, is not waited for longer).
const goneWait = time.Second

// setGroup makes the command the leader of a process group of its own.
func setGroup(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
}

// signalGroup sends sig to the command's process group.
func signalGroup(cmd *exec.Cmd, sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		s = syscall.SIGTERM
	}
	err := syscall.Kill(-cmd.Process.Pid, s)
	if errors.Is(err, syscall.ESRCH) {
		return os.ErrProcessDone
	}
	return err
}

// endGroup waits until the group of a command cancelled at `at` is gone,
// killing what is left of it Grace after `at`.
func endGroup(cmd *exec.Cmd, at time.Time) {
	if cmd.Process == nil {
		return
	}
	pgid := cmd.Process.Pid
	if waitGone(pgid, time.Until(at.Add(Grace))) {
		return
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	waitGone(pgid, goneWait)
}

// waitGone waits up to d for process group pgid to have no process left,
// and reports whether it has none.
func waitGone(pgid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if groupGone(pgid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupEmpty reports whether process group pgid has no process left,
// zombies included.
func groupEmpty(pgid int) bool {
	return errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH)
}
