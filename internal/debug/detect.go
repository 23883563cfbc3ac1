package debug

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// runtimeTypes maps skaffold.yaml's runtimeType values to runtimes.
var runtimeTypes = map[string]Runtime{
	"go": Go, "golang": Go,
	"nodejs": NodeJS, "node": NodeJS, "npm": NodeJS,
	"python": Python,
	"jvm":    JVM, "java": JVM,
}

// commands tells runtimes from the command a container runs.
var commands = []struct {
	rt    Runtime
	match func(cmd string) bool
}{
	{Go, isDlv},
	{NodeJS, isNode},
	{Python, isPython},
	{JVM, func(cmd string) bool { return cmd == "java" }},
}

// envVars tells runtimes from the environment their images set.
var envVars = []struct {
	rt    Runtime
	match func(key string) bool
}{
	{Go, oneOf("GOTRACEBACK", "GODEBUG", "GOGC", "GOMAXPROCS", "KO_DATA_PATH")},
	{NodeJS, oneOf("NODE_VERSION", "NODEJS_VERSION", "NODE_ENV")},
	{Python, func(k string) bool { return strings.HasPrefix(k, "PYTHON") }},
	{JVM, oneOf("JAVA_VERSION", "JAVA_TOOL_OPTIONS")},
}

// buildpackIDs tells runtimes from the ids of the buildpacks that built an
// image (google.go.build, paketo-buildpacks/nodejs, heroku/python...).
var buildpackIDs = []struct {
	rt Runtime
	re *regexp.Regexp
}{
	{Go, regexp.MustCompile(`(^|[./-])go([./-]|$)`)},
	{NodeJS, regexp.MustCompile(`(^|[./-])(nodejs|node-engine|npm|yarn)([./-]|$)`)},
	{Python, regexp.MustCompile(`(^|[./-])(python|pip|cpython)([./-]|$)`)},
	{JVM, regexp.MustCompile(`(^|[./-])(java|jvm|maven|gradle|jdk|jre)([./-]|$)`)},
}

// oneOf matches the keys given.
func oneOf(keys ...string) func(string) bool {
	return func(k string) bool { return slices.Contains(keys, k) }
}

func isDlv(cmd string) bool { return cmd == "dlv" }
func isNode(cmd string) bool {
	return cmd == "node" || cmd == "nodejs" || cmd == "nodemon" || cmd == "npm"
}

// pythonCommand matches python, python3, python3.12.
var pythonCommand = regexp.MustCompile(`^python[0-9.]*$`)

func isPython(cmd string) bool { return pythonCommand.MatchString(cmd) }

// runtime tells the container's runtime: the artifact's runtimeType, else
// the command it runs, its environment, a ko entrypoint, or the
// buildpacks that built its image. The error says what to set.
func (ct *container) runtime(runtimeType string) (Runtime, error) {
	if runtimeType != "" {
		rt, ok := runtimeTypes[strings.ToLower(runtimeType)]
		if !ok {
			return "", fmt.Errorf("skiff debug does not support runtimeType %q; use go, nodejs, python or jvm", runtimeType)
		}
		return rt, nil
	}
	for _, c := range commands {
		if _, ok := findSite(ct.line, c.match); ok {
			return c.rt, nil
		}
	}
	for _, e := range envVars {
		for _, k := range slices.Sorted(maps.Keys(ct.env)) {
			if e.match(k) {
				return e.rt, nil
			}
		}
	}
	if len(ct.line) > 0 && strings.HasPrefix(ct.line[0], "/ko-app/") {
		return Go, nil
	}
	if ct.cnb != nil {
		for _, id := range ct.cnb.buildpacks {
			for _, b := range buildpackIDs {
				if b.re.MatchString(id) {
					return b.rt, nil
				}
			}
		}
	}
	return "", fmt.Errorf("unable to determine runtime (command line %q); set runtimeType (go, nodejs, python or jvm) on the artifact in skaffold.yaml", ct.line)
}
