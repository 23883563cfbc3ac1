// Command tool is a second main package, to test ko.main.
package main

import "fmt"

func main() { fmt.Println("tool") }
