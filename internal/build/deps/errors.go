package deps

import (
	"errors"
	"fmt"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// DockerfileError is a problem in a Dockerfile or in what it refers to,
// located at the line of the instruction that has it.
type DockerfileError struct {
	// File is the Dockerfile as the caller named it.
	File string
	// Line is the 1-based line of the instruction, 0 when the problem
	// concerns the whole file.
	Line int
	// Err says what is wrong and what to do about it.
	Err error
}

// Error formats the problem as file:line: message, the way compilers do.
func (e *DockerfileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

// Unwrap returns the underlying error.
func (e *DockerfileError) Unwrap() error { return e.Err }

// fileError locates err at line of file.
func fileError(file string, line int, err error) *DockerfileError {
	return &DockerfileError{File: file, Line: line, Err: err}
}

// buildkitError turns an error of BuildKit's parser into a DockerfileError,
// taking the line from the location BuildKit attached and dropping the
// "dockerfile parse error on line N" prefix that would repeat it.
func buildkitError(file string, err error) *DockerfileError {
	line := 0
	var le *parser.LocationError
	if errors.As(err, &le) {
		for _, loc := range le.Locations {
			if len(loc) > 0 {
				line = loc[0].Start.Line
				break
			}
		}
		err = errors.Unwrap(le)
	}
	if err == nil {
		err = le
	}
	return fileError(file, line, errors.New(err.Error()))
}
