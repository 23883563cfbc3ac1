// Command gomod is a fixture: a main package with an embed, an in-module
// import and a kodata directory.
package main

import (
	_ "embed"
	"fmt"

	"example.com/gomod/internal/greet"
)

//go:embed static/hello.txt
var hello string

func main() { fmt.Println(greet.Greet(hello)) }
