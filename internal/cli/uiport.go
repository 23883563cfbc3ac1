package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The dashboard's port is remembered per project, so that a page left
// open finds skiff again after a restart: --ui without --rpc-http-port
// listens on the port of the project's previous session when it is free.

// uiPortsFile is where the ports are remembered: ~/.skiff/ui-ports.json
// under the environment's HOME; "" when HOME is not set (nothing is
// remembered).
func (a *app) uiPortsFile() string {
	home := environValue(a.environ, "HOME")
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".skiff", "ui-ports.json")
}

// projectKey names the project of this invocation: the absolute path of
// its config file (--filename), or of the working directory when none is
// given; a URL as it is.
func (a *app) projectKey() string {
	f := a.global.filename
	if strings.Contains(f, "://") {
		return f
	}
	if f == "" {
		f = "."
	}
	abs, err := filepath.Abs(f)
	if err != nil {
		return f
	}
	return abs
}

// rememberedUIPort is the port the project's last dashboard listened on,
// 0 when none is known.
func rememberedUIPort(file, project string) int {
	if file == "" {
		return 0
	}
	ports, _ := readUIPorts(file) // an unreadable file remembers nothing
	return ports[project]
}

// rememberUIPort notes that the project's dashboard listens on port.
func rememberUIPort(file, project string, port int) error {
	if file == "" {
		return nil
	}
	ports, err := readUIPorts(file)
	if err != nil {
		ports = map[string]int{} // a corrupt file is replaced
	}
	if ports[project] == port {
		return nil
	}
	ports[project] = port
	b, err := json.MarshalIndent(ports, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("remembering the dashboard's port: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".ui-ports-*")
	if err != nil {
		return fmt.Errorf("remembering the dashboard's port: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("remembering the dashboard's port in %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("remembering the dashboard's port in %s: %w", file, err)
	}
	return nil
}

func readUIPorts(file string) (map[string]int, error) {
	ports := map[string]int{}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return ports, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &ports); err != nil {
		return nil, err
	}
	return ports, nil
}
