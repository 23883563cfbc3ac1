// Command tool is a second main package that imports nothing local.
package main

func main() {}
