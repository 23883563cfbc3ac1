package support

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// pythonName matches python, python3, python3.12.
var pythonName = regexp.MustCompile(`^python[0-9.]*$`)

// pythonValueOptions are the interpreter's options whose value is the
// next argument.
var pythonValueOptions = map[string]bool{"-X": true, "-W": true, "--check-hash-based-pycs": true}

// Launcher is the Python launcher at self (/dbg/python/launcher), run as
// `launcher --mode debugpy --port PORT [--wait] -- COMMAND...` (the
// command line of Skaffold's launcher): it runs COMMAND, a python command
// line or a program whose #! line names python, as
// `python -m debugpy --listen 0.0.0.0:PORT [--wait-for-client] ...` with
// debugpy from the lib directory next to it on PYTHONPATH and pydevd's
// compiled speedups off (the support files carry none). lookPath finds
// programs on the container's PATH. It returns the program to exec, its
// argv and its env.
func Launcher(self string, args, env []string, lookPath func(string) (string, error)) (string, []string, []string, error) {
	port, wait, cmd, err := launcherArgs(args)
	if err != nil {
		return "", nil, nil, err
	}
	interp, rest := cmd[0], cmd[1:]
	if !pythonName.MatchString(filepath.Base(interp)) {
		prog, err := lookPath(interp)
		if err != nil {
			return "", nil, nil, fmt.Errorf("skiff's python launcher: %s: %w", interp, err)
		}
		shebang, err := interpreterOf(prog)
		if err != nil {
			return "", nil, nil, err
		}
		interp, rest = shebang, append([]string{prog}, rest...)
	}
	prog, err := lookPath(interp)
	if err != nil {
		return "", nil, nil, fmt.Errorf("skiff's python launcher: %s: %w; the image must have python on its PATH", interp, err)
	}
	argv := []string{interp}
	i := 0
	for ; i < len(rest) && strings.HasPrefix(rest[i], "-") && rest[i] != "-m" && rest[i] != "-c" && rest[i] != "-"; i++ {
		argv = append(argv, rest[i])
		if pythonValueOptions[rest[i]] && i+1 < len(rest) {
			i++
			argv = append(argv, rest[i])
		}
	}
	argv = append(argv, "-Xfrozen_modules=off", "-m", "debugpy", "--listen", "0.0.0.0:"+strconv.Itoa(port))
	if wait {
		argv = append(argv, "--wait-for-client")
	}
	argv = append(argv, rest[i:]...)
	lib := filepath.Join(filepath.Dir(self), "lib")
	if pp := getenv(env, "PYTHONPATH"); pp != "" {
		lib += ":" + pp
	}
	env = setenv(env, "PYTHONPATH", lib)
	env = setenv(env, "PYDEVD_USE_CYTHON", "NO")
	env = setenv(env, "PYDEVD_DISABLE_FILE_VALIDATION", "1")
	return prog, argv, env, nil
}

// launcherArgs parses `--mode debugpy --port PORT [--wait] -- COMMAND...`.
func launcherArgs(args []string) (port int, wait bool, cmd []string, err error) {
	usage := func(why string) error {
		return fmt.Errorf("skiff's python launcher: %s; usage: launcher --mode debugpy --port PORT [--wait] -- COMMAND [ARGS...]", why)
	}
	mode := "debugpy"
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		switch name {
		case "--":
			cmd = args[i+1:]
			i = len(args)
		case "--wait":
			wait = true
		case "--mode", "--port":
			if !hasValue {
				if i+1 >= len(args) {
					return 0, false, nil, usage(name + " needs a value")
				}
				i++
				value = args[i]
			}
			if name == "--mode" {
				mode = value
			} else if port, err = strconv.Atoi(value); err != nil || port <= 0 || port > 65535 {
				return 0, false, nil, usage("--port " + value + " is not a port")
			}
		default:
			return 0, false, nil, usage("unknown option " + a)
		}
	}
	switch {
	case mode != "debugpy":
		return 0, false, nil, usage("mode " + mode + " is not supported, only debugpy")
	case port == 0:
		return 0, false, nil, usage("no --port")
	case len(cmd) == 0:
		return 0, false, nil, usage("no command after --")
	}
	return port, wait, cmd, nil
}

// interpreterOf returns the python interpreter named on prog's #! line.
func interpreterOf(prog string) (string, error) {
	f, err := os.Open(prog)
	if err != nil {
		return "", fmt.Errorf("skiff's python launcher: %w", err)
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if strings.HasPrefix(line, "#!") && len(fields) > 0 {
		interp := fields[0]
		if filepath.Base(interp) == "env" && len(fields) > 1 {
			interp = fields[1]
		}
		if pythonName.MatchString(filepath.Base(interp)) {
			return interp, nil
		}
	}
	return "", fmt.Errorf("skiff's python launcher: %s is not a python program (no python on its #! line); run it as python -m or set the container's command to python", prog)
}

// LookPath is exec.LookPath, what Launcher is given outside tests.
var LookPath = exec.LookPath
