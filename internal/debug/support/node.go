package support

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// InspectEnv carries the inspector options that the wrapper took from
// NODE_OPTIONS of a launcher (npm, yarn, nodemon...) to the app it starts.
const InspectEnv = "SKIFF_NODE_INSPECT"

// launchers are the Node.js programs that start the app rather than being
// it: they run without the inspector, which their node child gets.
var launchers = map[string]bool{
	"npm": true, "npm-cli.js": true, "npx": true, "npx-cli.js": true,
	"yarn": true, "yarn.js": true, "yarn.cjs": true,
	"pnpm": true, "pnpm.js": true, "pnpm.cjs": true,
	"nodemon": true, "nodemon.js": true, "corepack": true, "corepack.js": true,
}

// nodeValueOptions are node's options whose value is the next argument.
var nodeValueOptions = map[string]bool{
	"-r": true, "--require": true, "--import": true, "--loader": true,
	"--experimental-loader": true, "-C": true, "--conditions": true,
	"--title": true, "--input-type": true,
}

// Node is the `node` wrapper that skiff debug puts first on PATH, at self
// (/dbg/nodejs/bin/node): it runs the next node on PATH with args and an
// environment env changed so that only the app listens with the
// inspector. For a launcher script (npm, yarn, nodemon...) it moves
// --inspect options out of NODE_OPTIONS into InspectEnv; for any other
// script it moves them back, so the node the launcher starts for the app
// gets them. It returns the program to exec, its argv and its env.
func Node(self string, args, env []string) (string, []string, []string, error) {
	real, err := realNode(self, getenv(env, "PATH"))
	if err != nil {
		return "", nil, nil, err
	}
	opts := strings.Fields(getenv(env, "NODE_OPTIONS"))
	var inspect, rest []string
	for _, o := range opts {
		if strings.HasPrefix(o, "--inspect") {
			inspect = append(inspect, o)
		} else {
			rest = append(rest, o)
		}
	}
	if launchers[filepath.Base(script(args))] {
		if len(inspect) > 0 {
			env = setenv(env, "NODE_OPTIONS", strings.Join(rest, " "))
			env = setenv(env, InspectEnv, strings.Join(inspect, " "))
		}
	} else if saved := getenv(env, InspectEnv); saved != "" {
		env = setenv(env, "NODE_OPTIONS", strings.TrimSpace(strings.Join(append(rest, saved), " ")))
		env = unsetenv(env, InspectEnv)
	}
	return real, append([]string{real}, args...), env, nil
}

// script returns the script node runs, "" for none (-e, -p, the REPL).
func script(args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-e" || a == "--eval" || a == "-p" || a == "--print" || a == "-":
			return ""
		case a == "--":
			if i+1 < len(args) {
				return args[i+1]
			}
			return ""
		case nodeValueOptions[a]:
			i++
		case !strings.HasPrefix(a, "-"):
			return a
		}
	}
	return ""
}

// realNode finds the node on path that is not the wrapper at self.
func realNode(self, path string) (string, error) {
	selfInfo, _ := os.Stat(self)
	for _, dir := range filepath.SplitList(path) {
		if dir == "" || filepath.Clean(dir) == filepath.Dir(self) {
			continue
		}
		p := filepath.Join(dir, "node")
		info, err := os.Stat(p)
		if err != nil || info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		if selfInfo != nil && os.SameFile(info, selfInfo) {
			continue
		}
		return p, nil
	}
	return "", errors.New("skiff's node wrapper: no node on PATH besides the wrapper " + self + "; the image must have node on its PATH (" + path + ")")
}

func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

func setenv(env []string, key, value string) []string {
	return append(unsetenv(env, key), key+"="+value)
}

func unsetenv(env []string, key string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return out
}
