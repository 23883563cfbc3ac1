package status

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"skiff.dev/skiff/internal/kube/typed"
)

const (
	// logLines is how many of a failed container's last log lines an
	// Error shows.
	logLines = 10
	// maxLineLength cuts longer log lines.
	maxLineLength = 500
	// logTimeout bounds reading a log.
	logTimeout = 10 * time.Second
)

// lastLogLines reads the last lines a container wrote. It never fails: when
// the log cannot be read, the one line it returns says why.
func lastLogLines(ctx context.Context, api typed.API, src *logSource) []string {
	ctx, cancel := context.WithTimeout(ctx, logTimeout)
	defer cancel()
	tail, limit := int64(logLines), int64(logLines*maxLineLength)
	data, err := api.Pods(src.namespace).GetLogs(src.pod, &corev1.PodLogOptions{
		Container:  src.container,
		Previous:   src.previous,
		TailLines:  &tail,
		LimitBytes: &limit,
	}).DoRaw(ctx)
	if err != nil {
		return []string{fmt.Sprintf("(the log could not be read: %v)", err)}
	}
	text := strings.TrimRight(string(data), "\n")
	if strings.TrimSpace(text) == "" {
		return []string{"(the container wrote nothing)"}
	}
	lines := strings.Split(text, "\n")
	if len(lines) > logLines {
		lines = lines[len(lines)-logLines:]
	}
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if len(l) > maxLineLength {
			l = l[:maxLineLength] + "..."
		}
		lines[i] = l
	}
	return lines
}
