// Command hello is the app the ko builder's tests put into images.
package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// version is set with -ldflags -X main.version=...
var version = "dev"

// extra is set by extra.go, built only with -tags extra.
var extra = ""

const greeting = "hello"

func main() {
	fmt.Println(greeting, version, extra)
	if dir := os.Getenv("KO_DATA_PATH"); dir != "" {
		b, _ := os.ReadFile(filepath.Join(dir, "greeting.txt"))
		fmt.Print(string(b))
	}
}
